// Overlay options, escaping, compaction and the two strategies' plans. Pure: no root needed.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion, type KernelFacts } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import type { FsContextStep } from "../../src/plan/fs-context-step.ts";
import { MOUNT_ATTR } from "../../src/plan/mount-api-flags.ts";
import type { MountInDirStep } from "../../src/plan/mount-in-dir-step.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import { cleanPath, compactLayers, longestCommonPrefix, parentDir } from "../../src/plan/overlay-compaction.ts";
import {
  escapeLowerdir,
  joinLowerdirValue,
  overlayDataItems,
  parseOverlayOptions,
  splitLowerdirValue,
  unescapeOverlayPath,
} from "../../src/plan/overlay-options.ts";
import { describeStep, formatStep, type MountStep } from "../../src/plan/steps.ts";

const fd = factsForVersion("6.18.0", { strategy: "fd" });
const legacy = factsForVersion("6.18.0", { strategy: "legacy" });
const plan = (options: string[], facts: KernelFacts = fd, target = "/merged") =>
  planMount({ type: "overlay", source: "overlay", options }, target, facts);

describe("lowerdir parsing", () => {
  test("colons separate layers; a backslash escapes the next character", () => {
    expect(splitLowerdirValue("/a:/b:/c")).toEqual({ lowerdirs: ["/a", "/b", "/c"], datadirs: [] });
    expect(splitLowerdirValue("/a\\:b:/c")).toEqual({ lowerdirs: ["/a:b", "/c"], datadirs: [] });
    expect(splitLowerdirValue("/a\\\\:/c")).toEqual({ lowerdirs: ["/a\\", "/c"], datadirs: [] });
    expect(splitLowerdirValue("/a\\,b")).toEqual({ lowerdirs: ["/a,b"], datadirs: [] });
  });

  test("'::' starts the data-only layers, which must come last", () => {
    expect(splitLowerdirValue("/l1:/l2::/d1::/d2")).toEqual({ lowerdirs: ["/l1", "/l2"], datadirs: ["/d1", "/d2"] });
    expect(() => splitLowerdirValue("/l1::/d1:/l2")).toThrow(/cannot follow data-only/);
    expect(() => splitLowerdirValue("/l1:::/d1")).toThrow(PlanError);
  });

  test("empty layers are refused", () => {
    expect(() => splitLowerdirValue("")).toThrow(/empty layer/);
    expect(() => splitLowerdirValue("/a:")).toThrow(/empty layer/);
    expect(() => splitLowerdirValue(":/a")).toThrow(/empty layer/);
    expect(() => splitLowerdirValue("::/data")).toThrow(/empty layer/);
    expect(() => splitLowerdirValue("/a\\::")).toThrow(/empty layer/);
  });

  // One parser serves every planner (overlay, idmapped overlay); these are the cases both had.
  const table: [string, string[], string[]][] = [
    ["/a", ["/a"], []],
    ["/with\\:colon:/b", ["/with:colon", "/b"], []], // the seed split this into three layers
    ["/back\\\\slash:/b", ["/back\\slash", "/b"], []],
    ["/a:/b::/data1::/data2", ["/a", "/b"], ["/data1", "/data2"]],
    ["/a::/data", ["/a"], ["/data"]],
    ["/e\\:x::/d\\:y", ["/e:x"], ["/d:y"]],
  ];
  for (const [value, lowerdirs, datadirs] of table) {
    test(`${value}: split, and joined back to the same value`, () => {
      expect(splitLowerdirValue(value)).toEqual({ lowerdirs, datadirs });
      expect(joinLowerdirValue(lowerdirs, datadirs)).toBe(value);
    });
  }

  test("':::' and a lone trailing backslash are refused with a hint (the kernel would drop the backslash silently)", () => {
    for (const value of ["/a:::/b", "/x\\:y:::/b"]) expect(() => splitLowerdirValue(value)).toThrow(/':::'|empty layer/);
    const err = (() => {
      try {
        splitLowerdirValue("/a:/b\\");
      } catch (e) {
        return e as PlanError;
      }
    })();
    expect(err).toBeInstanceOf(PlanError);
    expect(err!.message).toBe('overlay: lowerdir="/a:/b\\\\" ends with a lone backslash');
    expect(err!.hint).toContain("'\\:'");
  });

  test("a refused value of hundreds of layers is cut short in the message", () => {
    const value = `${Array.from({ length: 500 }, (_, i) => `/layer/${i}`).join(":")}:`;
    expect(() => splitLowerdirValue(value)).toThrow(/^overlay: lowerdir="\/layer\/0:.{150,}\.\.\." has an empty layer/);
  });

  test("escape then split gives the paths back, whatever they hold", () => {
    const paths = ["/plain", "/with:colon", "/with,comma", "/with\\backslash", "/x\\:y", "/sp ace"];
    expect(splitLowerdirValue(joinLowerdirValue(paths, [])).lowerdirs).toEqual(paths);
    expect(splitLowerdirValue(joinLowerdirValue(paths.slice(0, 2), paths.slice(2)))).toEqual({
      lowerdirs: paths.slice(0, 2),
      datadirs: paths.slice(2),
    });
    expect(escapeLowerdir("/a:b,c\\d")).toBe("/a\\:b\\,c\\\\d");
    expect(unescapeOverlayPath("/u\\,p\\:x\\\\")).toBe("/u,p:x\\");
  });

  test("options become a config; other options stay as data, in order; input untouched", () => {
    const options = Object.freeze(["index=on", "lowerdir=/a\\:1:/b", "upperdir=/u\\,1", "workdir=/w", "volatile", "metacopy=on"]);
    const config = parseOverlayOptions(options);
    expect(config).toEqual({
      lowerdirs: ["/a:1", "/b"],
      datadirs: [],
      upperdir: "/u,1",
      workdir: "/w",
      other: ["index=on", "volatile", "metacopy=on"],
    });
    expect(overlayDataItems(config)).toEqual(["lowerdir=/a\\:1:/b", "upperdir=/u\\,1", "workdir=/w", "index=on", "volatile", "metacopy=on"]);
  });

  test("a later lowerdir= replaces the earlier; lowerdir+= and datadir+= append raw paths", () => {
    expect(parseOverlayOptions(["lowerdir=/x", "lowerdir=/y:/z"]).lowerdirs).toEqual(["/y", "/z"]);
    const c = parseOverlayOptions(["lowerdir+=/a:b", "lowerdir+=/c", "datadir+=/d"]);
    expect([c.lowerdirs, c.datadirs]).toEqual([["/a:b", "/c"], ["/d"]]);
  });

  test("a lowerdir+= after a data-only layer is refused, as the kernel refuses it (and ':' after '::' in lowerdir=)", () => {
    expect(() => parseOverlayOptions(["lowerdir+=/a", "datadir+=/d", "lowerdir+=/b"])).toThrow(/regular layers cannot follow data-only layers/);
    expect(() => parseOverlayOptions(["lowerdir=/a::/d", "lowerdir+=/b"])).toThrow(PlanError);
    expect(parseOverlayOptions(["lowerdir+=/a", "datadir+=/d", "datadir+=/e"]).datadirs).toEqual(["/d", "/e"]);
  });
});

describe("compaction", () => {
  test("longest common prefix compares strings, as containerd does", () => {
    expect(longestCommonPrefix([])).toBe("");
    expect(longestCommonPrefix(["/a/b"])).toBe("/a/b");
    expect(longestCommonPrefix(["/s/12/fs", "/s/13/fs", "/s/1/fs"])).toBe("/s/1");
    expect(longestCommonPrefix(["/x", "/y"])).toBe("/");
    expect(longestCommonPrefix(["a", "b"])).toBe("");
  });

  // containerd's TestLongestCommonPrefix (core/mount/mount_linux_test.go), case by case
  const containerdPrefixes: [string[], string][] = [
    [[], ""],
    [["foo"], "foo"],
    [["foo", "bar"], ""],
    [["foo", "foo"], "foo"],
    [["foo", "foobar"], "foo"],
    [["foo", "", "foobar"], ""],
  ];
  for (const [strings, want] of containerdPrefixes) {
    test(`containerd: longestCommonPrefix(${JSON.stringify(strings)}) is ${JSON.stringify(want)}`, () => expect(longestCommonPrefix(strings)).toBe(want));
  }

  test("parentDir is Go's path.Dir", () => {
    expect(parentDir("/s/1")).toBe("/s");
    expect(parentDir("/s/snapshots/")).toBe("/s/snapshots");
    expect(parentDir("/a")).toBe("/");
    expect(parentDir("a")).toBe(".");
    expect(parentDir("a/b")).toBe("a");
    expect(cleanPath("/a//b/./c/../d/")).toBe("/a/b/d");
    expect(cleanPath("../a/..")).toBe("..");
  });

  const config = (lowerdirs: string[], datadirs: string[] = []) => parseOverlayOptions([`lowerdir=${joinLowerdirValue(lowerdirs, datadirs)}`]);

  test("containerd's layout: layers relative to the snapshots directory", () => {
    const root = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots";
    const c = compactLayers(config([`${root}/12/fs`, `${root}/13/fs`, `${root}/1/fs`], [`${root}/200/fs`]));
    expect(c?.dir).toBe(`${root}/`);
    expect(c?.config.lowerdirs).toEqual(["12/fs", "13/fs", "1/fs"]);
    expect(c?.config.datadirs).toEqual(["200/fs"]);
  });

  // containerd's TestCompactLowerdirOption: [options, the directory, the layers after it] (undefined: not compacted)
  const containerdCompactions: [string[], string | undefined, string[] | undefined][] = [
    [["workdir=a"], undefined, undefined], // no lowerdir
    [["workdir=a", "lowerdir=b"], undefined, undefined], // one layer
    [["lowerdir=/snapshots/1/fs:/snapshots/10/fs"], "/snapshots/", ["1/fs", "10/fs"]],
    [["lowerdir=/snapshots/1/fs:/snapshots/10/fs:/snapshots/2/fs"], "/snapshots/", ["1/fs", "10/fs", "2/fs"]],
    [["lowerdir=/snapshots/1/fs:/other_snapshots/1/fs"], undefined, undefined], // the common dir is "/"
    [["lowerdir=a:aaa"], undefined, undefined], // the common dir is "."
  ];
  for (const [options, dir, lowerdirs] of containerdCompactions) {
    test(`containerd: compacting ${JSON.stringify(options)}`, () => {
      const c = compactLayers(parseOverlayOptions(options));
      expect(c?.dir).toBe(dir);
      expect(c?.config.lowerdirs).toEqual(lowerdirs);
      // containerd's options after it: the other options, then the relative lowerdir=
      if (c) expect(overlayDataItems(c.config)).toEqual([`lowerdir=${lowerdirs!.join(":")}`]);
    });
  }

  test("no compaction: one layer, no common prefix, a parent of '/' or '.'", () => {
    expect(compactLayers(config(["/a/b/c"]))).toBeUndefined();
    expect(compactLayers(config(["a/x", "b/y"]))).toBeUndefined(); // prefix ""
    expect(compactLayers(config(["/a1", "/a2"]))).toBeUndefined(); // parent "/"
    expect(compactLayers(config(["x1", "x2"]))).toBeUndefined(); // parent "."
  });

  test("a layer that is the common directory itself, or an uncleaned path, is left alone", () => {
    expect(compactLayers(config(["/s/d/", "/s/d/x"]))).toBeUndefined(); // "/s/d/" is the common directory
    expect(compactLayers(config(["/s/d", "/s/d/x"]))?.config.lowerdirs).toEqual(["d", "d/x"]);
    expect(compactLayers(config(["/s//d/1", "/s//d/2"]))).toBeUndefined(); // "/s/d/" is no prefix
  });

  test("relative layers compact relative to a relative directory", () => {
    const c = compactLayers(config(["snap/1/fs", "snap/2/fs"]));
    expect(c).toEqual({ dir: "snap/", config: expect.objectContaining({ lowerdirs: ["1/fs", "2/fs"] }) });
  });
});

/** n layers under one long root, each at least 80 bytes. */
function layers(n: number, root = `/var/lib/a-long-container-runtime-root/${"x".repeat(40)}/snapshots`): string[] {
  return Array.from({ length: n }, (_, i) => `${root}/${i + 1}/fs`);
}

describe("fd strategy", () => {
  test("one fsconfig per option and per layer, flags split into sb flags and mount attributes", () => {
    const [step, propagation] = plan(["lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w", "index=off", "volatile", "ro", "nosuid", "noatime", "rshared"]).steps as [
      FsContextStep,
      MountStep,
    ];
    expect(step.op).toBe("fs-context");
    expect(step.params).toEqual([
      { kind: "string", key: "source", value: "overlay" },
      { kind: "flag", key: "ro" },
      { kind: "string", key: "index", value: "off" },
      { kind: "flag", key: "volatile" },
      { kind: "layer", key: "lowerdir+", source: { kind: "path", path: "/l1" } },
      { kind: "layer", key: "lowerdir+", source: { kind: "path", path: "/l2" } },
      { kind: "layer", key: "upperdir", source: { kind: "path", path: "/u" } },
      { kind: "layer", key: "workdir", source: { kind: "path", path: "/w" } },
    ]);
    expect(step.attrFlags).toBe(MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NOATIME);
    expect(propagation).toMatchObject({ op: "mount", role: "propagation", flags: MS.SHARED | MS.REC });
  });

  test("500 layers of long paths: 500 lowerdir+ parameters, no size limit", () => {
    const paths = layers(500);
    expect(paths.every((p) => p.length >= 80)).toBe(true);
    const step = plan([`lowerdir=${paths.join(":")}`]).steps[0] as FsContextStep;
    const lowers = step.params.filter((p) => p.key === "lowerdir+");
    expect(lowers.length).toBe(500);
    expect(lowers.map((p) => (p.kind === "layer" && p.source.kind === "path" ? p.source.path : ""))).toEqual(paths);
  });

  test("an upperdir or workdir holding a backslash goes by O_PATH fd (overlay would unescape the string); a lower does not", () => {
    const step = plan(["lowerdir=/l\\\\1", "upperdir=/u\\\\p", "workdir=/w\\\\k"]).steps[0] as FsContextStep;
    const sources = step.params.filter((p) => p.kind === "layer").map((p) => (p.kind === "layer" ? p.source : undefined));
    expect(sources).toEqual([
      { kind: "path", path: "/l\\1" },
      { kind: "opath", path: "/u\\p", pass: "fd" },
      { kind: "opath", path: "/w\\k", pass: "fd" },
    ]);
  });

  test("a path past fsconfig's 256-byte value limit (NUL counted) is passed as an O_PATH fd", () => {
    const at255 = `/${"a".repeat(254)}`; // 255 bytes + NUL = 256: fits
    const at256 = `/${"b".repeat(255)}`;
    const step = plan([`lowerdir=${at255}:${at256}`, `upperdir=${at256}/u`, `workdir=/w`]).steps[0] as FsContextStep;
    const sources = step.params.filter((p) => p.kind === "layer").map((p) => (p.kind === "layer" ? p.source : undefined));
    expect(sources).toEqual([
      { kind: "path", path: at255 },
      { kind: "opath", path: at256, pass: "fd" },
      { kind: "opath", path: `${at256}/u`, pass: "fd" },
      { kind: "path", path: "/w" },
    ]);
    // Kernels before 6.15 take no O_PATH fds: the fd's /proc/self/fd path is passed instead.
    const old = plan([`lowerdir=${at256}`], factsForVersion("6.8.0")).steps[0] as FsContextStep;
    expect(old.params.at(-1)).toEqual({ kind: "layer", key: "lowerdir+", source: { kind: "opath", path: at256, pass: "proc-path" } });
  });

  test("a flag the fd API cannot express is refused with a hint", () => {
    expect(() => plan(["lowerdir=/l", "iversion"])).toThrow(/MS_I_VERSION has no equivalent/);
  });

  test("dry run: one line per syscall, and JSON names every command", () => {
    const step = plan(["lowerdir=/l1", "upperdir=/u", "workdir=/w", "nodev"]).steps[0]!;
    expect(formatStep(step).split("\n")).toEqual([
      'fsfd = fsopen("overlay", FSOPEN_CLOEXEC)',
      'fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "overlay", 0)',
      'fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", "/l1", 0)',
      'fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", "/u", 0)',
      'fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", "/w", 0)',
      "fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "mntfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV)",
      'move_mount(mntfd, "", AT_FDCWD, "/merged", MOVE_MOUNT_F_EMPTY_PATH)',
    ]);
    expect(describeStep(step)).toMatchObject({
      op: "fs-context",
      params: [
        { cmd: "FSCONFIG_SET_STRING", key: "source", value: "overlay" },
        { cmd: "FSCONFIG_SET_STRING", key: "lowerdir+", source: { kind: "path", path: "/l1" } },
        { cmd: "FSCONFIG_SET_STRING", key: "upperdir" },
        { cmd: "FSCONFIG_SET_STRING", key: "workdir" },
      ],
      attrFlagNames: "MOUNT_ATTR_NODEV",
    });
  });

  test("remounts and binds of an overlay stay plain mount(2) calls", () => {
    expect(plan(["remount", "ro"]).steps[0]!.op).toBe("mount");
    expect(planMount({ type: "overlay", source: "/x", options: ["bind"] }, "/m", fd).steps[0]!.op).toBe("mount");
  });
});

describe("legacy strategy", () => {
  test("short options: one mount(2), layers escaped for the kernel", () => {
    const [step] = plan(["lowerdir=/a\\:b:/c", "upperdir=/u,x", "workdir=/w"], legacy).steps as MountStep[];
    expect(step).toEqual({
      op: "mount",
      role: "mount",
      source: "overlay",
      target: "/merged",
      fstype: "overlay",
      flags: 0,
      data: "lowerdir=/a\\:b:/c,upperdir=/u\\,x,workdir=/w",
      inheritFlags: 0,
      undoable: true,
    });
  });

  test("options packed into one entry, as containerd joins them (its TestFUSEHelper's shape): the same mount as one entry each", () => {
    const packed = ["lowerdir=/l2:/l1,upperdir=/u,workdir=/w,index=off,ro"];
    const apart = ["lowerdir=/l2:/l1", "upperdir=/u", "workdir=/w", "index=off", "ro"];
    for (const facts of [legacy, fd]) expect(plan(packed, facts).steps).toEqual(plan(apart, facts).steps);
    expect((plan(packed, legacy).steps[0] as MountStep).data).toBe("lowerdir=/l2:/l1,upperdir=/u,workdir=/w,index=off");
  });

  test("from pagesize-512 bytes on: compacted, mounted from the common directory", () => {
    const paths = layers(128);
    const step = plan([`lowerdir=${paths.join(":")}`, "upperdir=/u", "workdir=/w"], legacy).steps[0] as MountInDirStep;
    expect(step.op).toBe("mount-in-dir");
    expect(step.dir).toBe(`${paths[0]!.slice(0, paths[0]!.indexOf("/1/fs"))}/`);
    expect(step.data).toBe(`lowerdir=${paths.map((_, i) => `${i + 1}/fs`).join(":")},upperdir=/u,workdir=/w`);
    expect(formatStep(step)).toContain('[thread] unshare(CLONE_FS); chdir("/var/lib/');
  });

  test("500 layers compact under one page", () => {
    const step = plan([`lowerdir=${layers(500).join(":")}`], legacy).steps[0] as MountInDirStep;
    expect(step.op).toBe("mount-in-dir");
    expect(Buffer.byteLength(step.data!) + 1).toBeLessThanOrEqual(4096);
  });

  test("just under the threshold: no compaction", () => {
    // lowerdir= (9) + 3571 bytes + NUL = 3581 < 4096 - 512
    const a = `/r/${"a".repeat(1780)}`;
    const b = `/r/${"b".repeat(1780)}`;
    expect(plan([`lowerdir=${a}:${b}`], legacy).steps[0]!.op).toBe("mount");
    expect(plan([`lowerdir=${a}x:${b}x:/r/c`], legacy).steps[0]!.op).toBe("mount-in-dir");
  });

  test("when compaction cannot fit a page: a clear PlanError that suggests the fd strategy", () => {
    const scattered = Array.from({ length: 100 }, (_, i) => `/${"d".repeat(40)}${i}/fs`); // common parent "/"
    let error: unknown;
    try {
      plan([`lowerdir=${scattered.join(":")}`], legacy);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(PlanError);
    expect((error as PlanError).message).toMatch(/more than the 4096-byte page mount\(2\) takes, the layers share no parent/);
    expect((error as PlanError).hint).toMatch(/MOUNTKIT_STRATEGY=fd/);
    const long = Array.from({ length: 500 }, (_, i) => `/common/${"n".repeat(30)}${i}/fs`);
    expect(() => plan([`lowerdir=${long.join(":")}`], legacy)).toThrow(/even with the layers relative to \/common\//);
  });

  test("compaction needs an absolute upperdir and workdir (the thread's cwd is elsewhere)", () => {
    expect(() => plan([`lowerdir=${layers(128).join(":")}`, "upperdir=up", "workdir=/w"], legacy)).toThrow(/upperdir up must be absolute/);
  });

  test("the caller's options are never mutated", () => {
    const options = [`lowerdir=${layers(128).join(":")}`, "upperdir=/u", "workdir=/w"];
    const copy = [...options];
    plan(options, legacy);
    plan(options, fd);
    expect(options).toEqual(copy);
  });
});
