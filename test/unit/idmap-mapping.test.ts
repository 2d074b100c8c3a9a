// uidmap=/gidmap= parsing: containerd's rejections, the kernel's map_write rules, the pair rule.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import {
  checkMapFileSize,
  idMapFileText,
  idMappingPair,
  mappingPairKey,
  MAX_MAPPINGS,
  parseIdMappings,
} from "../../src/plan/idmap-mapping.ts";

describe("valid mappings", () => {
  const cases: [string, [number, number, number][]][] = [
    ["0:1000:100", [[0, 1000, 100]]],
    ["0:100000:65536,65536:200000:1000", [[0, 100000, 65536], [65536, 200000, 1000]]],
    ["0:1000:100,100:2000:200", [[0, 1000, 100], [100, 2000, 200]]],
    ["1000:0:100,5000:2000:100,10000:3000:100", [[1000, 0, 100], [5000, 2000, 100], [10000, 3000, 100]]],
    // leading zeros: strconv.Atoi accepts them, so containerd users may have them
    ["007:0100:01", [[7, 100, 1]]],
    // the largest ranges the kernel accepts: first + size up to 4294967295
    ["0:0:4294967295", [[0, 0, 4294967295]]],
    ["4294967294:0:1", [[4294967294, 0, 1]]],
    // adjacent ranges touch but do not overlap
    ["0:10:5,5:15:5", [[0, 10, 5], [5, 15, 5]]],
  ];
  for (const [text, want] of cases) {
    test(text, () => {
      expect(parseIdMappings("uidmap", text).map((m) => [m.containerId, m.hostId, m.size])).toEqual(want);
    });
  }
});

describe("rejected before any syscall", () => {
  // [value, what the message says]. The first group is every case containerd rejects
  // (core/mount/mount_idmapped_linux.go parseIDMapping and its tests); the second is what
  // containerd passes on and the kernel refuses with a bare EINVAL after a process exists.
  const containerd: [string, RegExp][] = [
    ["", /empty mapping/],
    ["0:1000", /expected container-id:host-id:size/],
    ["0:1000:1:1", /expected container-id:host-id:size/],
    ["0-1000-1", /expected container-id:host-id:size/],
    ["0:1000:1,", /"".*expected container-id/], // trailing comma: an empty mapping
    [",0:1000:1", /expected container-id/],
    ["a:1000:1", /container id "a" is not a decimal number/],
    ["0:b:1", /host id "b" is not a decimal number/],
    ["0:1000:c", /size "c" is not a decimal number/],
    ["0:1000:", /size "" is not a decimal number/],
    [":1000:1", /container id "" is not a decimal number/],
    ["0x10:1000:1", /not a decimal number/],
    ["1.5:1000:1", /not a decimal number/],
    [" 0:1000:1", /not a decimal number/],
    ["+1:1000:1", /not a decimal number/], // Atoi takes "+1"; a sign is no id
    ["99999999999999999999:0:1", /out of range/], // Atoi overflow
    ["0:99999999999999999999:1", /host id .* out of range/],
    ["0:0:99999999999999999999", /size .* out of range/],
    // containerd's own test cases
    ["0:-1:100", /host id -1 is negative/],
    ["-1:1000:100", /container id -1 is negative/],
    ["0:1000:-1", /size -1 is negative/],
    ["0:1000:-1,100:1000:100", /size -1 is negative/],
  ];
  const kernel: [string, RegExp][] = [
    ["0:1000:0", /size is 0/],
    ["4294967295:0:1", /out of range/], // (u32)-1 is no id
    ["0:4294967295:1", /out of range/],
    ["1:0:4294967295", /container range .* passes the largest id/],
    ["0:1:4294967295", /host range .* passes the largest id/],
    ["0:1000:100,50:5000:10", /container id ranges overlap/],
    ["0:1000:100,100:1050:10", /host id ranges overlap/],
    ["0:1000:1,0:2000:1", /container id ranges overlap/],
    ["10:1000:10,0:2000:11", /container id ranges overlap/], // order does not matter
  ];
  for (const [text, message] of [...containerd, ...kernel]) {
    test(JSON.stringify(text), () => {
      expect(() => parseIdMappings("gidmap", text)).toThrow(PlanError);
      expect(() => parseIdMappings("gidmap", text)).toThrow(message);
      expect(() => parseIdMappings("gidmap", text)).toThrow(/^gidmap: invalid mapping/);
    });
  }

  test(`more than ${MAX_MAPPINGS} mappings`, () => {
    const many = (n: number) => Array.from({ length: n }, (_, i) => `${i}:${1000 + i}:1`).join(",");
    expect(parseIdMappings("uidmap", many(MAX_MAPPINGS))).toHaveLength(MAX_MAPPINGS);
    expect(() => parseIdMappings("uidmap", many(MAX_MAPPINGS + 1))).toThrow(/341 mappings, the kernel accepts at most 340/);
  });

  test("a map file of a page or more (the kernel takes one write shorter than a page)", () => {
    const big = Array.from({ length: 340 }, (_, i) => `${4000000000 + i}:${4000000000 + i}:1`).join(",");
    const mappings = parseIdMappings("uidmap", big);
    expect(Buffer.byteLength(idMapFileText(mappings))).toBeGreaterThan(4096);
    expect(() => checkMapFileSize("uidmap", mappings, 4096)).toThrow(/bytes as a map file/);
    expect(() => checkMapFileSize("uidmap", mappings, 65536)).not.toThrow();
  });
});

describe("the uidmap/gidmap pair", () => {
  test("a lone uidmap or gidmap is refused (containerd silently mounts without idmap)", () => {
    expect(() => idMappingPair("0:1:1", undefined, 4096, "mount /a on /b")).toThrow(
      "mount /a on /b: uidmap given without gidmap: an idmapped mount needs both",
    );
    expect(() => idMappingPair(undefined, "0:1:1", 4096, "mount /a on /b")).toThrow(/gidmap given without uidmap/);
    try {
      idMappingPair("0:1:1", undefined, 4096, "x");
    } catch (err) {
      expect((err as PlanError).hint).toContain("containerd ignores a lone uidmap");
    }
  });

  test("both parsed; the map file text has one line per mapping", () => {
    const pair = idMappingPair("0:100000:65536,65536:200000:1", "0:100000:65536", 4096, "x");
    expect(idMapFileText(pair.uidmap)).toBe("0 100000 65536\n65536 200000 1\n");
    expect(idMapFileText(pair.gidmap)).toBe("0 100000 65536\n");
  });

  test("the cache key is the same for the same mappings however spelled", () => {
    const a = mappingPairKey(idMappingPair("0:100:1", "0:100:1", 4096, "x"));
    const b = mappingPairKey(idMappingPair("00:0100:001", "0:100:1", 4096, "x"));
    const c = mappingPairKey(idMappingPair("0:100:1", "0:101:1", 4096, "x"));
    expect(a).toBe(b);
    expect(a).not.toBe(c);
  });
});
