// PARTUUID= and PARTLABEL=: partition tables written by sfdisk (GPT with 512- and 4096-byte
// sectors, MBR with an extended partition) read by plan/partition-table.ts, checked against
// what sfdisk --json says it wrote; and the scan of ops/block-devices.ts over a sysfs tree.
// This kernel is built without partition table support (no CONFIG_EFI_PARTITION or
// CONFIG_MSDOS_PARTITION: a loop device attached with LO_FLAGS_PARTSCAN gets no loopNpM), so
// the sysfs a partition would have is the one thing faked: a directory tree in the scratch dir
// laid out as the kernel lays it out, with the image file as the disk.
import { describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { partitionDevices, partitionOf, scanForTag, scanPartitionTables } from "../../src/ops/block-devices.ts";
import { deviceTagOf } from "../../src/plan/device-tag.ts";
import { partitionIds } from "../../src/plan/partition-table.ts";
import { PROBE_BYTES } from "../../src/plan/superblock.ts";
import { workspace } from "../support/workspace.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { attachLoop, detachLoop } from "../../src/ops/loop.ts";
import { loopDevicesOf } from "../support/resources.ts";

const ws = workspace();

interface SfdiskTable {
  partitiontable: { label: string; id: string; sectorsize: number; partitions: { node: string; uuid?: string; name?: string }[] };
}

/**
 * A disk image partitioned by sfdisk from script, and sfdisk's own account of it. sfdisk takes
 * a file's sectors as 512 bytes: for 4096, it partitions a loop device with that sector size.
 */
function partitioned(path: string, sizeMiB: number, script: string, sectorSize = 512): { bytes: Uint8Array; table: SfdiskTable["partitiontable"] } {
  writeFileSync(path, "");
  const truncate = Bun.spawnSync(["truncate", "-s", `${sizeMiB}M`, path]);
  expect(truncate.exitCode).toBe(0);
  let disk = path;
  if (sectorSize !== 512) {
    const attach = Bun.spawnSync(["losetup", "--sector-size", String(sectorSize), "-f", "--show", path]);
    if (attach.exitCode !== 0) throw new Error(`losetup: ${attach.stderr.toString()}`);
    disk = attach.stdout.toString().trim();
  }
  try {
    const write = Bun.spawnSync(["sfdisk", "-q", disk], { stdin: Buffer.from(script) });
    if (write.exitCode !== 0) throw new Error(`sfdisk: ${write.stderr.toString()}`);
    const json = Bun.spawnSync(["sfdisk", "--json", disk]);
    expect(json.exitCode).toBe(0);
    const table = (JSON.parse(json.stdout.toString()) as SfdiskTable).partitiontable;
    expect(table.sectorsize).toBe(sectorSize);
    return { bytes: new Uint8Array(readFileSync(path).subarray(0, PROBE_BYTES)), table };
  } finally {
    if (disk !== path) detachLoop(disk);
    expect(loopDevicesOf(path).sysfs).toEqual([]);
  }
}

describe("partition tables, as sfdisk wrote them", () => {
  for (const sectorSize of [512, 4096]) {
    test(`GPT with ${sectorSize}-byte sectors: each entry's GUID (blkid's lower case) and name`, () => {
      const s = ws.fresh(`gpt-${sectorSize}`);
      const uuid = crypto.randomUUID();
      const { bytes, table } = partitioned(s.path("disk.img"), 64, `label: gpt\nsize=16M, name="mk-alpha", uuid=${uuid}\nsize=16M, name="beta part ü"\nsize=8M\n`, sectorSize);
      expect(table.label).toBe("gpt");
      expect(partitionIds(bytes, 1)).toEqual({ uuid, label: "mk-alpha" });
      table.partitions.forEach((p, i) => {
        expect(partitionIds(bytes, i + 1)).toEqual({ uuid: p.uuid!.toLowerCase(), ...(p.name ? { label: p.name } : {}) });
      });
      expect(partitionIds(bytes, 2)!.label).toBe("beta part ü");
      expect(partitionIds(bytes, 4)).toBeUndefined(); // an unused entry
      expect(partitionIds(bytes, 129)).toBeUndefined(); // past the table
    });
  }

  test("MBR: the disk signature and the number, primary and logical, as blkid prints PARTUUID; no label", () => {
    const s = ws.fresh("mbr");
    const disk = s.path("disk.img");
    // numbered lines: partition 5 is the first logical one, inside extended partition 2
    const script = `label: dos\nlabel-id: 0x1a2b3c4d\n${disk}1 : size=8M\n${disk}2 : size=12M, type=5\n${disk}5 : size=4M\n`;
    const { bytes, table } = partitioned(disk, 32, script);
    expect(table.id).toBe("0x1a2b3c4d");
    expect(table.partitions.map((p) => p.node.slice(disk.length))).toEqual(["1", "2", "5"]);
    expect(partitionIds(bytes, 1)).toEqual({ uuid: "1a2b3c4d-01" });
    expect(partitionIds(bytes, 5)).toEqual({ uuid: "1a2b3c4d-05" });
    expect(partitionIds(bytes, 3)).toBeUndefined(); // an empty primary slot
  });

  test("no table: a filesystem image, or nothing at all", () => {
    expect(partitionIds(new Uint8Array(PROBE_BYTES), 1)).toBeUndefined();
    expect(partitionIds(new Uint8Array(100), 1)).toBeUndefined();
  });
});

describe("the scan for PARTUUID= and PARTLABEL=", () => {
  /** A sysfs tree as the kernel makes it for disk `name` with partitions 1..count, and /dev holding the image. */
  function layout(image: string, name: string, count: number) {
    const root = ws.dir("layout");
    const devices = `${root}/sys/devices/virtual/block/${name}`;
    mkdirSync(`${root}/sys/class/block`, { recursive: true });
    mkdirSync(`${root}/dev`, { recursive: true });
    symlinkSync(image, `${root}/dev/${name}`);
    symlinkSync(`../../devices/virtual/block/${name}`, `${root}/sys/class/block/${name}`);
    mkdirSync(devices, { recursive: true });
    const partitions: string[] = [];
    for (let n = 1; n <= count; n++) {
      mkdirSync(`${devices}/${name}p${n}`);
      writeFileSync(`${devices}/${name}p${n}/partition`, `${n}\n`);
      symlinkSync(`../../devices/virtual/block/${name}/${name}p${n}`, `${root}/sys/class/block/${name}p${n}`);
      partitions.push(`${root}/dev/${name}p${n}`);
    }
    return { sysfs: `${root}/sys`, dev: `${root}/dev`, devices: [`${root}/dev/${name}`, ...partitions] };
  }

  test("finds the partition by its GUID (either case) and its name; a whole disk is no partition", () => {
    const s = ws.fresh("scan-gpt");
    const uuid = crypto.randomUUID();
    partitioned(s.path("disk.img"), 64, `label: gpt\nsize=16M, name="mk-root"\nsize=16M, name="mk-data", uuid=${uuid}\n`);
    const tree = layout(s.path("disk.img"), "loop9", 2);
    const find = (spec: string) => scanPartitionTables(deviceTagOf(spec)!, tree.devices, tree);
    expect(partitionOf(tree.devices[0]!, tree)).toBeUndefined();
    expect(partitionOf(tree.devices[2]!, tree)).toEqual({ disk: `${tree.dev}/loop9`, number: 2 });
    expect(find(`PARTUUID=${uuid.toUpperCase()}`)).toBe(tree.devices[2]);
    expect(find(`PARTLABEL=mk-root`)).toBe(tree.devices[1]);
    expect(find(`PARTLABEL="mk-data"`)).toBe(tree.devices[2]);
    expect(find(`PARTLABEL=mk-none`)).toBeUndefined();
  });

  test("an MBR disk: PARTUUID=signature-NN", () => {
    const s = ws.fresh("scan-mbr");
    partitioned(s.path("disk.img"), 32, "label: dos\nlabel-id: 0x0badcafe\nsize=8M\nsize=8M\n");
    const tree = layout(s.path("disk.img"), "loop8", 2);
    expect(scanPartitionTables(deviceTagOf("PARTUUID=0badcafe-02")!, tree.devices, tree)).toBe(tree.devices[2]);
    expect(scanPartitionTables(deviceTagOf("PARTUUID=0badcafe-03")!, tree.devices, tree)).toBeUndefined();
  });

  test("on this host's real devices: a PARTUUID nobody has is found nowhere, with every device read", () => {
    expect(partitionDevices().length).toBeGreaterThan(0);
    expect(scanForTag(deviceTagOf(`PARTUUID=${crypto.randomUUID()}`)!)).toBeUndefined();
  });
});

describe("loop attach -P (LO_FLAGS_PARTSCAN)", () => {
  for (const strategy of ["fd", "legacy"] as const) {
    test(`asks the kernel to scan the image's partitions (${strategy === "fd" ? "LOOP_CONFIGURE" : "LOOP_SET_STATUS64"}); without it, no scan`, () => {
      const s = ws.fresh(`partscan-${strategy}`);
      partitioned(s.path("disk.img"), 32, "label: gpt\nsize=8M\n");
      const facts = probeKernelFacts(strategy);
      for (const partscan of [true, false]) {
        const loop = attachLoop(s.path("disk.img"), { partscan, facts });
        try {
          const name = loop.device.slice("/dev/".length);
          expect(readFileSync(`/sys/block/${name}/loop/partscan`, "utf8").trim()).toBe(partscan ? "1" : "0");
        } finally {
          loop.close();
          detachLoop(loop.device);
        }
      }
      expect(loopDevicesOf(s.path("disk.img")).sysfs).toEqual([]);
    });
  }
});
