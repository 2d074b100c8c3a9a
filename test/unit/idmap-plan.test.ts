// Plans of idmapped mounts: pure, asserted step by step.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { MS } from "../../src/plan/flags.ts";
import { bindAttrs, idmappedLayerSteps, planIdmapMount } from "../../src/plan/idmap.ts";
import { pathBelow, sharedLayerParent } from "../../src/plan/idmap-tree.ts";
import { idmapOverlayStrategy } from "../../src/plan/idmap-overlay.ts";
import { AT, MOUNT_ATTR, MOUNT_ATTR_ATIME_MASK, MOVE_MOUNT, OPEN_TREE } from "../../src/plan/mount-api-flags.ts";
import { planMount } from "../../src/plan/mount-plan.ts";
import type { SourceKind } from "../../src/plan/mount-request.ts";
import type { IdmapStep } from "../../src/plan/idmap-steps.ts";
import type { IdMapping } from "../../src/plan/idmap-mapping.ts";
import { describeStep, formatStep, type Step } from "../../src/plan/steps.ts";
import { caught } from "../support/caught.ts";

const facts = factsForVersion("6.18.0");
const legacy = factsForVersion("6.18.0", { strategy: "legacy" });
const MAP = ["uidmap=0:100000:65536", "gidmap=0:100000:65536"];
const USERNS = {
  op: "userns",
  slot: "userns",
  uidmap: [{ containerId: 0, hostId: 100000, size: 65536 }],
  gidmap: [{ containerId: 0, hostId: 100000, size: 65536 }],
};
const TEMP = "/run/user/0/mountkit-idmap-1-1-abc";
const plan = (type: string, source: string, options: string[], target = "/mnt/t", f = facts) =>
  planMount({ type, source, options: [...options, ...MAP] }, target, f, { tempDir: TEMP });
const CLONE = OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC;
/** containerd's idmapped clone is private unless a propagation is asked for */
const PRIVATE = { propagation: MS.PRIVATE };

function tree(path: string, target: string, attrSet: number, slot = "tree", extra: Partial<Record<string, unknown>> = {}) {
  const recursive = extra.recursive ? AT.RECURSIVE : 0;
  return [
    { op: "open_tree", slot, path, flags: CLONE | recursive },
    {
      op: "mount_setattr",
      slot,
      tree: path,
      flags: AT.EMPTY_PATH | recursive,
      attrSet: MOUNT_ATTR.IDMAP | attrSet,
      attrClr: (extra.attrClr as number) ?? 0,
      usernsSlot: "userns",
      ...(extra.propagation === undefined ? {} : { propagation: extra.propagation }),
      // a temp lower is an overlay's layer: its refusal is explained as one
      ...(extra.role === "temp-lower" ? { overlayLayer: true } : {}),
    },
    { op: "move_mount", slot, target, flags: MOVE_MOUNT.F_EMPTY_PATH, role: (extra.role as string) ?? "target" },
    { op: "close", slot },
  ];
}

test("the user namespace step, as --dry-run and -v print it, says what ops/userns.ts does: a child that exits at once, its files opened, the maps written, the zombie reaped", () => {
  const line = formatStep(USERNS as Step);
  // before, it named a waiting child that was killed, which the child no longer is (sys/clone.ts)
  expect(line).toBe(
    '$userns = open("/proc/PID/ns/user") of a clone(CLONE_NEWUSER) child that exits at once, with uid_map "0 100000 65536", setgroups "deny", gid_map "0 100000 65536" written through its /proc files opened beside it; the child, a zombie, then reaped through its pidfd  [cached per process]',
  );
});

describe("binds: one idmapped clone of the source, attributes in the same mount_setattr", () => {
  test("a read-only bind is idmapped (containerd returned before idmapping it)", () => {
    expect(plan("", "/src", ["bind", "ro"]).steps).toEqual([USERNS, ...tree("/src", "/mnt/t", MOUNT_ATTR.RDONLY, "tree", PRIVATE)] as Step[]);
  });

  test("a writable bind; the bind type is a bind too", () => {
    expect(plan("", "/src", ["bind"]).steps).toEqual([USERNS, ...tree("/src", "/mnt/t", 0, "tree", PRIVATE)] as Step[]);
    expect(plan("bind", "/src", []).steps).toEqual([USERNS, ...tree("/src", "/mnt/t", 0, "tree", PRIVATE)] as Step[]);
  });

  test("rbind clones and idmaps recursively; the options are the top mount's alone, as without a mapping", () => {
    const [open, idmap, ...rest] = tree("/src", "/mnt/t", 0, "tree", { recursive: true, ...PRIVATE });
    const top = { op: "mount_setattr", slot: "tree", tree: "/src", flags: AT.EMPTY_PATH, attrSet: MOUNT_ATTR.RDONLY, attrClr: MOUNT_ATTR.NOEXEC, usernsSlot: null };
    const steps = plan("", "/src", ["rbind", "ro", "exec"]).steps;
    expect(steps).toEqual([USERNS, open, idmap, top, ...rest] as Step[]);
    expect(formatStep(steps[3]!)).toBe('mount_setattr($tree, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_RDONLY, attr_clr: MOUNT_ATTR_NOEXEC, userns_fd: 0})');
    // nothing to set: one mount_setattr
    expect(plan("", "/src", ["rbind"]).steps).toEqual([USERNS, ...tree("/src", "/mnt/t", 0, "tree", { recursive: true, ...PRIVATE })] as Step[]);
  });

  test("OCI's idmap on an rbind: the whole tree cloned, its top mount alone idmapped, options in the same call", () => {
    const [open, idmap, ...rest] = tree("/src", "/mnt/t", MOUNT_ATTR.RDONLY, "tree", { recursive: true, attrClr: MOUNT_ATTR.NOEXEC, ...PRIVATE });
    const topOnly = { ...idmap, flags: AT.EMPTY_PATH };
    const steps = plan("", "/src", ["rbind", "ro", "exec", "idmap"]).steps;
    expect(steps).toEqual([USERNS, open, topOnly, ...rest] as Step[]);
    expect(formatStep(steps[1]!)).toBe('$tree = open_tree(AT_FDCWD, "/src", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC|AT_RECURSIVE)');
    expect(formatStep(steps[2]!)).toBe(
      'mount_setattr($tree, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_RDONLY|MOUNT_ATTR_IDMAP, attr_clr: MOUNT_ATTR_NOEXEC, propagation: MS_PRIVATE, userns_fd: $userns})',
    );
  });

  test("ridmap is the default for an rbind (the whole tree); the last of idmap and ridmap wins", () => {
    expect(plan("", "/src", ["rbind", "ro", "ridmap"]).steps).toEqual(plan("", "/src", ["rbind", "ro"]).steps);
    expect(plan("", "/src", ["rbind", "idmap", "ridmap"]).steps).toEqual(plan("", "/src", ["rbind"]).steps);
    expect(plan("", "/src", ["rbind", "ridmap", "idmap"]).steps[2]).toMatchObject({ flags: AT.EMPTY_PATH });
  });

  test("a bind clones one mount: idmap and ridmap plan the same steps as neither", () => {
    const bind = plan("", "/src", ["bind", "ro"]).steps;
    expect(plan("", "/src", ["bind", "ro", "idmap"]).steps).toEqual(bind);
    expect(plan("", "/src", ["bind", "ro", "ridmap"]).steps).toEqual(bind);
  });

  test("idmap or ridmap with X-mount.idmap= picks the scope too", () => {
    const steps = planMount({ type: "", source: "/src", options: ["rbind", "idmap", "X-mount.idmap=b:0:100000:65536"] }, "/mnt/t", facts).steps;
    expect(steps[2]).toMatchObject({ op: "mount_setattr", flags: AT.EMPTY_PATH, attrSet: MOUNT_ATTR.IDMAP });
  });

  test("without a mapping they are refused: alone they would mean the container's user namespace", () => {
    for (const word of ["idmap", "ridmap"]) {
      const err = caught(() => planMount({ type: "", source: "/src", options: ["rbind", word] }, "/mnt/t", facts));
      expect(err).toBeInstanceOf(PlanError);
      expect((err as PlanError).message).toBe(`parse options: ${word}: no mapping to idmap with: give uidmap= and gidmap= (or X-mount.idmap=)`);
    }
  });

  test("a new filesystem has no submounts: idmap and ridmap change nothing", () => {
    const tmpfs = plan("tmpfs", "tmpfs", ["size=1m"]).steps;
    expect(plan("tmpfs", "tmpfs", ["size=1m", "idmap"]).steps).toEqual(tmpfs);
    expect(plan("tmpfs", "tmpfs", ["size=1m", "ridmap"]).steps).toEqual(tmpfs);
  });

  test("propagation changes come after the tree is attached; the clone keeps the source's until then", () => {
    const steps = plan("", "/src", ["bind", "rshared"]).steps;
    expect(steps.map((s) => s.op)).toEqual(["userns", "open_tree", "mount_setattr", "move_mount", "close", "mount"]);
    expect(steps[2]).not.toHaveProperty("propagation");
    expect(steps[5]).toMatchObject({ role: "propagation", target: "/mnt/t", flags: MS.SHARED | MS.REC });
  });

  test("without a propagation word the clone is made private as it is idmapped, as containerd's IDMapMount makes it", () => {
    const [, , setattr] = plan("", "/src", ["bind"]).steps;
    expect(setattr).toMatchObject({ op: "mount_setattr", propagation: MS.PRIVATE });
    expect(formatStep(setattr!)).toBe('mount_setattr($tree, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: MS_PRIVATE, userns_fd: $userns})');
    expect(describeStep(setattr!)).toMatchObject({ args: { propagation: MS.PRIVATE, propagationNames: "MS_PRIVATE" } });
  });

  test("per-mount options: given ones set, negated ones cleared, atime as a mode, rbind recursive", () => {
    const no = { recursive: false, idmapSubmounts: true };
    expect(bindAttrs(MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC)).toEqual({
      attrSet: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID | MOUNT_ATTR.NODEV | MOUNT_ATTR.NOEXEC,
      attrClr: 0,
      ...no,
    });
    expect(bindAttrs(0, MS.RDONLY | MS.NOSUID)).toEqual({ attrSet: 0, attrClr: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID, ...no });
    expect(bindAttrs(MS.NOATIME, MS.NOATIME)).toEqual({ attrSet: MOUNT_ATTR.NOATIME, attrClr: MOUNT_ATTR_ATIME_MASK, ...no });
    expect(bindAttrs(MS.STRICTATIME, MS.STRICTATIME)).toEqual({ attrSet: MOUNT_ATTR.STRICTATIME, attrClr: MOUNT_ATTR_ATIME_MASK, ...no });
    expect(bindAttrs(MS.RELATIME, MS.RELATIME)).toEqual({ attrSet: 0, attrClr: MOUNT_ATTR_ATIME_MASK, ...no });
    expect(bindAttrs(MS.NOSYMFOLLOW | MS.NODIRATIME, MS.NOSYMFOLLOW | MS.NODIRATIME)).toEqual({
      attrSet: MOUNT_ATTR.NOSYMFOLLOW | MOUNT_ATTR.NODIRATIME,
      attrClr: 0,
      ...no,
    });
    expect(bindAttrs(MS.BIND | MS.REC, 0)).toEqual({ attrSet: 0, attrClr: 0, recursive: true, idmapSubmounts: true });
    expect(bindAttrs(MS.BIND | MS.REC, 0, false)).toEqual({ attrSet: 0, attrClr: 0, recursive: true, idmapSubmounts: false });
    const steps = plan("", "/src", ["bind", "rw", "nosuid"]).steps;
    expect(steps[2]).toMatchObject({ attrSet: MOUNT_ATTR.IDMAP | MOUNT_ATTR.NOSUID, attrClr: MOUNT_ATTR.RDONLY });
  });
});

describe("the mappings a plan carries are shared with later plans (parsed once per option text)", () => {
  test("they are frozen: changing a returned plan's mapping throws, and a later plan of the same options is unchanged", () => {
    const userns = (p: ReturnType<typeof plan>) => p.steps.find((step) => step.op === "userns") as Extract<IdmapStep, { op: "userns" }>;
    const first = userns(plan("bind", "/src", ["bind"]));
    const uidmap = first.uidmap as IdMapping[];
    expect(() => (uidmap[0]! as { hostId: number }).hostId = 0).toThrow(TypeError);
    expect(() => uidmap.push({ containerId: 70000, hostId: 0, size: 1 })).toThrow(TypeError);
    expect(() => (first.gidmap as IdMapping[]).splice(0)).toThrow(TypeError);
    expect(userns(plan("bind", "/src", ["bind"])) as unknown).toEqual(USERNS);
  });
});

describe("other filesystems: one mount, made through the fd API and idmapped before it is attached", () => {
  test("tmpfs: the mount step carries the user namespace's slot; dry run shows the fd API's calls", () => {
    const steps = plan("tmpfs", "tmpfs", ["size=1m", "ro", "nosuid", "shared"]).steps;
    expect(steps).toEqual([
      USERNS,
      {
        op: "mount",
        role: "mount",
        source: "tmpfs",
        target: "/mnt/t",
        fstype: "tmpfs",
        flags: MS.RDONLY | MS.NOSUID,
        data: "size=1m",
        inheritFlags: 0,
        undoable: true,
        readOnlyFallback: false,
        idmap: "userns",
      },
      { op: "mount", role: "propagation", source: null, target: "/mnt/t", fstype: null, flags: MS.SHARED, data: null, inheritFlags: 0, undoable: false },
    ] as Step[]);
    expect(formatStep(steps[1]!).split("\n")).toEqual([
      'fsfd = fsopen("tmpfs", FSOPEN_CLOEXEC)',
      'fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "tmpfs", 0)',
      'fsconfig(fsfd, FSCONFIG_SET_STRING, "size", "1m", 0)',
      'fsconfig(fsfd, FSCONFIG_SET_FLAG, "ro", NULL, 0)',
      "fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)",
      "mntfd = fsmount(fsfd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID)",
      'mount_setattr(mntfd, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_IDMAP, userns_fd: $userns})',
      'move_mount(mntfd, "", AT_FDCWD, "/mnt/t", MOVE_MOUNT_F_EMPTY_PATH)',
    ]);
    expect(describeStep(steps[1]!)).toMatchObject({
      syscalls: ["fsopen", "fsconfig", "fsmount", "mount_setattr", "move_mount"],
      idmap: "$userns",
      fsContext: {
        fstype: "tmpfs",
        params: [
          { cmd: "FSCONFIG_SET_STRING", key: "source", value: "tmpfs" },
          { cmd: "FSCONFIG_SET_STRING", key: "size", value: "1m" },
          { cmd: "FSCONFIG_SET_FLAG", key: "ro" },
        ],
        attrFlags: MOUNT_ATTR.RDONLY | MOUNT_ATTR.NOSUID,
        idmap: { attrSet: MOUNT_ATTR.IDMAP, usernsFd: "$userns" },
      },
    });
  });

  const kindOf = (kind: SourceKind) => ({ tempDir: TEMP, sourceKind: () => kind });
  const planWith = (type: string, source: string, options: string[], kind: SourceKind, f = facts) =>
    planMount({ type, source, options: [...options, ...MAP] }, "/mnt/t", f, kindOf(kind));

  test("an image with the loop option (containerd's Mount: the loop device's filesystem, idmapped)", () => {
    const steps = planWith("ext4", "/img", ["loop", "ro", "direct-io", "private"], "file").steps;
    expect(steps).toEqual([
      USERNS,
      expect.objectContaining({ op: "loop-mount", target: "/mnt/t", fstype: "ext4", flags: MS.RDONLY, data: null, idmap: "userns" }),
      { op: "mount", role: "propagation", source: null, target: "/mnt/t", fstype: null, flags: MS.PRIVATE, data: null, inheritFlags: 0, undoable: false },
    ] as Step[]);
    expect(steps[1]).toMatchObject({ loop: { file: "/img", readOnly: true, autoclear: true, directIo: true } });
    expect(formatStep(steps[1]!)).toContain('fsconfig(fsfd, FSCONFIG_SET_STRING, "source", "/dev/loopN", 0)\n');
    expect(describeStep(steps[1]!)).toMatchObject({ syscalls: ["open", "flock", "ioctl", "fsopen", "fsconfig", "fsmount", "mount_setattr", "move_mount", "close"], idmap: "$userns" });
  });

  test("an image file without the loop option, with or without a type, gets its loop device as without the mapping", () => {
    for (const type of ["ext4", "", "auto"]) {
      const steps = planWith(type, "/img", [], "file").steps;
      expect(steps.map((s) => s.op)).toEqual(["userns", "loop-mount"]);
      expect(steps[1]).toMatchObject({ fstype: type === "ext4" ? "ext4" : null, loop: { file: "/img" }, idmap: "userns" });
    }
  });

  test("a block device with no type: its type read from the superblock (the getters of the request reach the planner)", () => {
    const steps = planWith("", "/dev/vdb", [], "block").steps;
    expect(steps.map((s) => s.op)).toEqual(["userns", "probed-mount"]);
    expect(steps[1]).toMatchObject({ source: "/dev/vdb", target: "/mnt/t", idmap: "userns" });
    expect(formatStep(steps[1]!)).toContain("fsfd = fsopen(<type from the superblock>, FSOPEN_CLOEXEC)");
    expect(describeStep(steps[1]!)).toMatchObject({ syscalls: ["open", "pread", "close", "fsopen", "fsconfig", "fsmount", "mount_setattr", "move_mount"], fsContext: { fstype: null } });
    expect(() => planWith("", "/srv/dir", [], "other")).toThrow(/no filesystem type given, and "?\/srv\/dir"? is no block device or image file/);
  });

  test("what the fd API cannot say (MS_I_VERSION, a value or a source past 255 bytes, no fd API): containerd's two stacked mounts", () => {
    const stacked = [USERNS, expect.objectContaining({ op: "mount", role: "mount" }), ...tree("/mnt/t", "/mnt/t", 0, "tree", PRIVATE)] as Step[];
    const iversion = plan("tmpfs", "tmpfs", ["iversion"]).steps;
    expect(iversion).toEqual(stacked);
    expect(iversion[1]).not.toHaveProperty("idmap");
    // fsconfig copies 256 bytes, NUL included
    const long = plan("tmpfs", "tmpfs", [`x=${"v".repeat(256)}`]).steps;
    expect(long).toEqual(stacked);
    expect(plan("tmpfs", "tmpfs", [`x=${"v".repeat(255)}`]).steps[1]).toHaveProperty("idmap", "userns");
    // the source is a value too (fsconfig "source"): one of 256 bytes was given to fsconfig, which said EINVAL
    expect(plan("tmpfs", "s".repeat(256), []).steps).toEqual(stacked);
    expect(plan("tmpfs", "s".repeat(255), []).steps[1]).toHaveProperty("idmap", "userns");
    const noFdApi = planWith("tmpfs", "tmpfs", [], "other", { ...facts, mountApi: false }).steps;
    expect(noFdApi).toEqual(stacked);
  });

  test("loop with bind is refused as without the mapping", () => {
    expect(() => planWith("", "/img", ["bind", "loop"], "file")).toThrow(/loop and bind cannot be combined/);
  });
});

describe("overlay: the fd strategy, lowers as detached idmapped trees handed over by fd", () => {
  const layerSteps = (path: string, slot: string) => [
    { op: "open_tree", slot, path, flags: CLONE },
    { op: "mount_setattr", slot, tree: path, flags: AT.EMPTY_PATH, attrSet: MOUNT_ATTR.IDMAP | MOUNT_ATTR.RDONLY, attrClr: 0, usernsSlot: "userns", overlayLayer: true },
  ];

  const sharedLayer = (path: string, slot: string, parent: string, relative: string) => ({
    op: "open_layer",
    slot,
    tree: "layers",
    parent,
    path,
    relative,
    usernsSlot: "userns",
  });

  test("one layer: its own idmapped read-only clone", () => {
    const steps = plan("overlay", "overlay", ["lowerdir=/var/l1", "upperdir=/u", "workdir=/w"]).steps;
    expect(steps.slice(0, 3)).toEqual([USERNS, ...layerSteps("/var/l1", "layer0")] as Step[]);
  });

  test("the whole sequence: one shared clone, the layers opened in it, one fs context that closes them once CMD_CREATE returns, then propagation; no temp dir", () => {
    const steps = planMount(
      { type: "overlay", source: "overlay", options: ["lowerdir=/l1:/l\\:2::/d", "upperdir=/u", "workdir=/w", "index=off", "ro", "rprivate", ...MAP] },
      "/mnt/t",
      facts,
    ).steps;
    expect(steps).toEqual([
      USERNS,
      { op: "idmap_shared_tree", slot: "layers", path: "/", usernsSlot: "userns" },
      sharedLayer("/l1", "layer0", "/", "l1"),
      sharedLayer("/l:2", "layer1", "/", "l:2"),
      sharedLayer("/d", "layer2", "/", "d"),
      {
        op: "fs-context",
        fstype: "overlay",
        params: [
          { kind: "string", key: "source", value: "overlay" },
          { kind: "flag", key: "ro" },
          { kind: "string", key: "index", value: "off" },
          { kind: "layer", key: "lowerdir+", source: { kind: "handle", handle: "layer0", label: "/l1" } },
          { kind: "layer", key: "lowerdir+", source: { kind: "handle", handle: "layer1", label: "/l:2" } },
          { kind: "layer", key: "datadir+", source: { kind: "handle", handle: "layer2", label: "/d" } },
          { kind: "layer", key: "upperdir", source: { kind: "path", path: "/u" } },
          { kind: "layer", key: "workdir", source: { kind: "path", path: "/w" } },
        ],
        attrFlags: MOUNT_ATTR.RDONLY,
        target: "/mnt/t",
        undoable: true,
        closeAfterCreate: ["layer0", "layer1", "layer2"],
      },
      { op: "mount", role: "propagation", source: null, target: "/mnt/t", fstype: null, flags: MS.PRIVATE | MS.REC, data: null, inheritFlags: 0, undoable: false },
    ] as Step[]);
  });

  test("lowerdir+= layers; an upperdir past fsconfig's value limit goes by O_PATH fd", () => {
    const upper = `/${"u".repeat(300)}`;
    const steps = plan("overlay", "overlay", ["lowerdir+=/a", "lowerdir+=/b", `upperdir=${upper}`, "workdir=/w"]).steps;
    expect(steps.filter((s) => s.op === "open_layer").map((s) => s.op === "open_layer" && s.path)).toEqual(["/a", "/b"]);
    const fsContext = steps.find((s) => s.op === "fs-context");
    expect(fsContext?.op === "fs-context" && fsContext.params.find((p) => p.key === "upperdir")).toEqual({
      kind: "layer",
      key: "upperdir",
      source: { kind: "opath", path: upper, pass: "fd" },
    });
  });

  test("500 layers: one clone of their parent, 500 layers opened in it and 500 lowerdir+ fds, no size limit", () => {
    const snapshots = "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots";
    const layers = Array.from({ length: 500 }, (_, i) => `${snapshots}/${i}/fs`);
    const steps = plan("overlay", "overlay", [`lowerdir=${layers.join(":")}`]).steps;
    expect(steps.filter((s) => s.op === "open_tree")).toHaveLength(0);
    expect(steps.filter((s) => s.op === "idmap_shared_tree")).toEqual([{ op: "idmap_shared_tree", slot: "layers", path: snapshots, usernsSlot: "userns" }]);
    expect(steps.filter((s) => s.op === "open_layer").map((s) => s.op === "open_layer" && s.relative)).toEqual(layers.map((_, i) => `${i}/fs`));
    const fsContext = steps.find((s) => s.op === "fs-context");
    expect(fsContext?.op === "fs-context" && fsContext.closeAfterCreate).toHaveLength(500);
  });

  test("the strategy: fd when the kernel takes layer fds and none is forced, else legacy", () => {
    expect(idmapOverlayStrategy(facts)).toBe("fd");
    expect(idmapOverlayStrategy(legacy)).toBe("legacy");
    // overlay's own fd strategy from 6.8, but detached trees as layers need layer fds
    expect(idmapOverlayStrategy(factsForVersion("6.10.0"))).toBe("legacy");
    expect(idmapOverlayStrategy(factsForVersion("6.10.0", { strategy: "fd" }))).toBe("legacy");
    const options = ["lowerdir=/a:/b", ...MAP];
    expect(planMount({ type: "overlay", source: "o", options }, "/t", factsForVersion("6.10.0"), { tempDir: TEMP }).steps[1]!.op).toBe("mkdir");
    expect(planMount({ type: "overlay", source: "o", options }, "/t", facts).steps[1]!.op).toBe("idmap_shared_tree");
  });

  test("dry run: the shared clone and the layers print as $ handles, the fs context takes them by FSCONFIG_SET_FD", () => {
    const steps = plan("overlay", "overlay", ["lowerdir=/l/1:/l/2", "upperdir=/u", "workdir=/w"]).steps;
    const lines = steps.flatMap((step) => formatStep(step).split("\n"));
    expect(lines).toContain(
      `$layers = open_tree(AT_FDCWD, "/l", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC); mount_setattr($layers, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_RDONLY|MOUNT_ATTR_IDMAP, userns_fd: $userns})  [one clone for the layers below; if refused, one per layer]`,
    );
    expect(lines).toContain(
      `$layer1 = openat2($layers, "2", O_PATH|O_DIRECTORY|O_CLOEXEC, RESOLVE_NO_XDEV|RESOLVE_NO_MAGICLINKS|RESOLVE_BENEATH)  [if it is "/l/2" on the mount of "/l"; else open_tree + mount_setattr of "/l/2"]`,
    );
    expect(lines).toContain(`fsconfig(fsfd, FSCONFIG_SET_FD, "lowerdir+", NULL, $layer0)  [/l/1]`);
    const create = lines.indexOf("fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0)");
    expect(lines.slice(create + 1, create + 4)).toEqual(["close($layer0)", "close($layer1)", "mntfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0)"]);
    expect(lines.some((l) => l.includes("mkdir") || l.includes("umount2"))).toBe(false);
    const described = steps.map(describeStep);
    expect(described.find((d) => d.op === "fs-context")!.closeAfterCreate).toEqual(["$layer0", "$layer1"]);
    const params = described.find((d) => d.op === "fs-context")!.params as unknown[];
    expect(params).toContainEqual({ cmd: "FSCONFIG_SET_FD", key: "lowerdir+", source: { kind: "handle", handle: "layer0", label: "/l/1" } });
    expect(described.find((d) => d.op === "open_layer")).toMatchObject({ syscall: "openat2", args: { dfd: "$layers", path: "1" }, layer: "/l/1" });
    expect(JSON.parse(JSON.stringify(described))).toEqual(described);
  });
});

describe("the layers' shared parent: whole path components, clean absolute paths only", () => {
  const cases: [string[], string | undefined][] = [
    [["/a/x", "/a/y"], "/a"],
    [["/a/x/1", "/a/x/2", "/a/y"], "/a"],
    [["/a", "/a/b"], "/a"],
    [["/a/b", "/a"], "/a"],
    [["/a/b", "/a/b"], "/a/b"],
    [["/ab", "/ac"], "/"],
    [["/x/l", "/x/lm"], "/x"],
    [["/x/lm", "/x/l"], "/x"],
    [["/l1", "/l:2", "/d"], "/"],
    [["/only"], undefined], // one layer: its own clone
    [["relative", "/a"], undefined],
    [["/a/../b", "/a/c"], undefined],
    [["/a/./b", "/a/c"], undefined],
    [["/a//b", "/a/c"], undefined],
    [["/a/b/", "/a/c"], undefined],
    [["/a/b/..", "/a/c"], undefined],
    [["/", "/a"], undefined],
    [["/a/b/.", "/a/c"], undefined],
    [["/a/c", "/a/./b"], undefined], // any layer, not only the first
    [["/a/.hidden", "/a/..b", "/a/c."], "/a"], // names that start or end with dots are names
    [["/a/b", "/a/bc/d"], "/a"],
    [["/a/bc/d", "/a/b"], "/a"],
  ];
  for (const [layers, parent] of cases) {
    test(`${JSON.stringify(layers)} -> ${parent}`, () => expect(sharedLayerParent(layers)).toBe(parent));
  }

  // containerd's TestGetCommonDirectory (core/mount/mount_linux_test.go): where its shared temp
  // mount goes. Two cases differ on purpose (docs/idmap.md): layers with no directory in common
  // but "/" share a clone of "/" (each layer checked to be on its mount, else its own clone),
  // where containerd fails the whole mount; one layer gets its own clone, not one of its parent.
  const snapshots = "/mnt/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots";
  const containerdCommon: [string, string[], string | undefined][] = [
    ["no lowerdirs (containerd: an error)", [], undefined],
    ["normal snapshots", [`${snapshots}/37712/fs`, `${snapshots}/16590/fs`, `${snapshots}/16585/fs`], snapshots],
    ["no common prefix at all (containerd: an error)", ["/completely/different/path/1", "/totally/unrelated/path/2"], "/"],
    ["single dir (containerd: its parent)", [`${snapshots}/16585/fs`], undefined],
    ["snapshots with common prefix in snapshot id", [79, 78, 77, 76, 75, 73].map((id) => `${snapshots}/${id}/fs`), snapshots],
  ];
  for (const [name, layers, parent] of containerdCommon) {
    test(`containerd's common directory: ${name}`, () => expect(sharedLayerParent(layers)).toBe(parent));
  }

  // containerd's TestBuildIDMappedPaths: each layer's path in the idmapped clone of its parent
  const inClone = (clone: string, parent: string, layer: string) => (pathBelow(parent, layer) === "." ? clone : `${clone}/${pathBelow(parent, layer)}`);
  const containerdPaths: [string, string[], string, string, string[]][] = [
    ["basic path rewriting", [`${snapshots}/1/fs`, `${snapshots}/2/fs`], snapshots, "/tmp/idmapped123", ["/tmp/idmapped123/1/fs", "/tmp/idmapped123/2/fs"]],
    ["single layer", [`${snapshots}/1/fs`], `${snapshots}/1/fs`, "/tmp/idmapped789", ["/tmp/idmapped789"]],
    ["single layer with ending slash", [`${snapshots}/1/fs/`], `${snapshots}/1/fs/`, "/tmp/idmapped789", ["/tmp/idmapped789"]],
    [
      "snapshots with common prefix in snapshot id",
      [79, 78, 77, 76, 75, 73].map((id) => `${snapshots}/${id}/fs`),
      snapshots,
      "/tmp/ovl-idmapped1095187461",
      [79, 78, 77, 76, 75, 73].map((id) => `/tmp/ovl-idmapped1095187461/${id}/fs`),
    ],
  ];
  for (const [name, layers, parent, clone, want] of containerdPaths) {
    test(`containerd's idmapped paths: ${name}`, () => expect(layers.map((layer) => inClone(clone, parent, layer))).toEqual(want));
  }

  test("each layer's path below the parent", () => {
    expect(pathBelow("/a", "/a/x/1")).toBe("x/1");
    expect(pathBelow("/a", "/a")).toBe(".");
    expect(pathBelow("/", "/l:2")).toBe("l:2");
  });
});

describe("overlay: the legacy strategy, lowers idmapped read-only in temp dirs", () => {
  const plan = (type: string, source: string, options: string[], target = "/mnt/t") =>
    planMount({ type, source, options: [...options, ...MAP] }, target, legacy, { tempDir: TEMP });
  const overlay = (lowerdir: string, more: string[] = []) =>
    plan("overlay", "overlay", [`lowerdir=${lowerdir}`, "upperdir=/u", "workdir=/w", ...more]).steps;

  const link = (path: string, i: number, below: string) => ({
    op: "link_layer" as const,
    path,
    link: `${TEMP}/${i}`,
    linkTarget: `layers/${below}`,
    via: `${TEMP}/layers/${below}`,
    usernsSlot: "userns",
  });
  /** the overlay's mount(2) on the temp lowers */
  const overlayMount = (lowerdir: string) => ({
    op: "mount" as const,
    role: "mount" as const,
    source: "overlay",
    target: "/mnt/t",
    fstype: "overlay",
    flags: 0,
    data: `lowerdir=${lowerdir},upperdir=/u,workdir=/w`,
    inheritFlags: 0,
    undoable: true,
  });
  const linkedPaths = (steps: readonly Step[]) => steps.filter((s) => s.op === "link_layer").map((s) => s.op === "link_layer" && s.path);

  test("the whole sequence: one temp mount of the layers' parent, each layer a link to its path there (containerd#12092)", () => {
    expect(overlay("/l/1:/l/2")).toEqual([
      USERNS,
      { op: "mkdir", path: TEMP, mode: 0o700 },
      { op: "mkdir", path: `${TEMP}/layers`, mode: 0o700 },
      { op: "idmap_shared_temp", path: "/l", target: `${TEMP}/layers`, usernsSlot: "userns" },
      link("/l/1", 0, "1"),
      link("/l/2", 1, "2"),
      overlayMount(`${TEMP}/0:${TEMP}/1`),
      { op: "release_layer", link: `${TEMP}/0`, retry: "unmount-busy" },
      { op: "release_layer", link: `${TEMP}/1`, retry: "unmount-busy" },
      { op: "release_shared_temp", target: `${TEMP}/layers`, retry: "unmount-busy" },
      { op: "rmdir", path: `${TEMP}/layers` },
      { op: "rmdir", path: TEMP },
    ] as Step[]);
  });

  test("a layer that is the parent of the others links to the shared mount's root", () => {
    const steps = overlay("/l:/l/a");
    expect(steps.filter((s) => s.op === "link_layer")).toEqual([
      { ...link("/l", 0, ""), linkTarget: "layers", via: `${TEMP}/layers` },
      link("/l/a", 1, "a"),
    ]);
  });

  test("one layer, or layers with no clean shared parent: the seed's sequence, each layer its own temp mount", () => {
    expect(overlay("/l1")).toEqual([
      USERNS,
      { op: "mkdir", path: TEMP, mode: 0o700 },
      { op: "mkdir", path: `${TEMP}/0`, mode: 0o700 },
      ...tree("/l1", `${TEMP}/0`, MOUNT_ATTR.RDONLY, "lower0", { role: "temp-lower" }),
      overlayMount(`${TEMP}/0`),
      { op: "unmount_temp", target: `${TEMP}/0`, retry: "unmount-busy" },
      { op: "rmdir", path: `${TEMP}/0` },
      { op: "rmdir", path: TEMP },
    ] as Step[]);
    const unclean = overlay("/a/../b:/c");
    expect(unclean.filter((s) => s.op === "open_tree").map((s) => s.op === "open_tree" && s.path)).toEqual(["/a/../b", "/c"]);
    expect(unclean.some((s) => s.op === "idmap_shared_temp" || s.op === "link_layer")).toBe(false);
  });

  test("every temp lower is read-only, shared or alone; the upper layer is not idmapped", () => {
    const shared = overlay("/a:/b:/c").map(describeStep);
    expect(shared.find((d) => d.op === "idmap_shared_temp")).toMatchObject({ args: { path: "/", attrSetNames: "MOUNT_ATTR_RDONLY|MOUNT_ATTR_IDMAP" } });
    for (const d of shared.filter((d) => d.op === "link_layer")) expect(d).toMatchObject({ fallback: { attrSetNames: "MOUNT_ATTR_RDONLY|MOUNT_ATTR_IDMAP" } });
    const alone = overlay("/a/../b:/c");
    const setattrs = alone.filter((s) => s.op === "mount_setattr");
    expect(setattrs).toHaveLength(2);
    for (const s of setattrs) expect(s.op === "mount_setattr" && s.attrSet & MOUNT_ATTR.RDONLY).toBeTruthy();
    const idmapped = (steps: readonly Step[]) => steps.flatMap((s) => (s.op === "open_tree" || s.op === "idmap_shared_temp" || s.op === "link_layer" ? [s.path] : []));
    expect(idmapped(overlay("/a:/b:/c"))).toEqual(["/", "/a", "/b", "/c"]);
    expect(idmapped(alone)).toEqual(["/a/../b", "/c"]);
  });

  test("an escaped colon is one layer; data-only layers keep their '::'", () => {
    const steps = overlay("/with\\:colon::/data");
    expect(linkedPaths(steps)).toEqual(["/with:colon", "/data"]);
    const mount = steps.find((s) => s.op === "mount");
    expect(mount?.op === "mount" && mount.data).toBe(`lowerdir=${TEMP}/0::${TEMP}/1,upperdir=/u,workdir=/w`);
  });

  test("the other options keep their order; the last lowerdir= counts and only it reaches the kernel", () => {
    const steps = plan("overlay", "overlay", ["index=off", "lowerdir=/old", "lowerdir=/new", "userxattr"]).steps;
    expect(steps.filter((s) => s.op === "open_tree").map((s) => s.op === "open_tree" && s.path)).toEqual(["/new"]);
    expect(linkedPaths(steps)).toEqual([]);
    const mount = steps.find((s) => s.op === "mount");
    expect(mount?.op === "mount" && mount.data).toBe(`lowerdir=${TEMP}/0,index=off,userxattr`);
  });

  test("layers given as lowerdir+= and datadir+= are idmapped like lowerdir= ones", () => {
    const steps = plan("overlay", "overlay", ["lowerdir+=/a", "lowerdir+=/b:c", "datadir+=/d"]).steps;
    expect(linkedPaths(steps)).toEqual(["/a", "/b:c", "/d"]);
    const mount = steps.find((s) => s.op === "mount");
    expect(mount?.op === "mount" && mount.data).toBe(`lowerdir=${TEMP}/0:${TEMP}/1::${TEMP}/2`);
  });

  test("a temp location holding a comma or colon is escaped in the options", () => {
    const steps = planMount({ type: "overlay", source: "o", options: ["lowerdir=/a:/b", ...MAP] }, "/t", legacy, { tempDir: "/tmp/a,b:c" }).steps;
    const mount = steps.find((s) => s.op === "mount");
    expect(mount?.op === "mount" && mount.data).toBe("lowerdir=/tmp/a\\,b\\:c/0:/tmp/a\\,b\\:c/1");
  });

  test("refusals", () => {
    expect(() => plan("overlay", "overlay", ["upperdir=/u"])).toThrow(/needs lowerdir=/);
    expect(() => plan("overlay", "overlay", ["lowerdir=/a\\"])).toThrow(/lone backslash/);
    expect(() => planMount({ type: "overlay", source: "o", options: ["lowerdir=/a", ...MAP] }, "/t", legacy)).toThrow(/needs a temp directory/);
  });

  test("long options are compacted after the idmap step, relative to the temp dir (containerd recomputes them too)", () => {
    const layers = Array.from({ length: 128 }, (_, i) => `/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/${i}/fs`);
    const steps = plan("overlay", "overlay", [`lowerdir=${layers.join(":")}`, "upperdir=/u", "workdir=/w"]).steps;
    const mount = steps.find((s) => s.op === "mount-in-dir");
    expect(mount).toEqual({
      op: "mount-in-dir",
      dir: `${TEMP}/`,
      source: "overlay",
      target: "/mnt/t",
      fstype: "overlay",
      flags: 0,
      data: `lowerdir=${layers.map((_, i) => i).join(":")},upperdir=/u,workdir=/w`,
      undoable: true,
    });
    // the mount comes after every temp lower exists, and before any is removed
    const at = steps.indexOf(mount!);
    expect(steps.slice(0, at).filter((s) => s.op === "link_layer")).toHaveLength(128);
    expect(steps.slice(at).filter((s) => s.op === "release_layer")).toHaveLength(128);
    expect(steps.filter((s) => s.op === "idmap_shared_temp")).toEqual([
      { op: "idmap_shared_temp", path: "/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots", target: `${TEMP}/layers`, usernsSlot: "userns" },
    ]);
  });

  test("a relative upperdir, or options too long even compacted, are refused clearly before any syscall", () => {
    const layers = (n: number) => Array.from({ length: n }, (_, i) => `/l/${i}`).join(":");
    expect(() => plan("overlay", "overlay", [`lowerdir=${layers(1500)}`])).toThrow(
      /overlay options are \d+ bytes with the NUL, more than the 4096-byte page mount\(2\) takes, even with the layers relative to/,
    );
    expect(() => plan("overlay", "overlay", [`lowerdir=${layers(600)}`, "upperdir=rel", "workdir=/w"])).toThrow(/upperdir "?rel"? must be absolute/);
  });
});

describe("refused before any syscall", () => {
  test("a lone uidmap or gidmap", () => {
    expect(() => planMount({ type: "", source: "/s", options: ["bind", "uidmap=0:1:1"] }, "/t", facts)).toThrow(
      /uidmap given without gidmap/,
    );
    expect(() => planMount({ type: "", source: "/s", options: ["bind", "gidmap=0:1:1"] }, "/t", facts)).toThrow(
      /gidmap given without uidmap/,
    );
  });
  test("a bad mapping", () => {
    const bad = { type: "", source: "/s", options: ["bind", "uidmap=0:1:-1", "gidmap=0:1:1"] };
    expect(() => planMount(bad, "/t", facts)).toThrow(/^mount \/s on \/t: uidmap: invalid mapping "0:1:-1": size -1 is negative$/);
  });
  test("remount", () => expect(() => plan("", "", ["remount", "bind"], "/t")).toThrow(/cannot be added by a remount/));
  test("a kernel without mount_setattr", () => {
    expect(() => plan("", "/s", ["bind"], "/t", factsForVersion("5.11.0"))).toThrow(/mount_setattr \(Linux 5.12\)/);
  });
  test("PlanError, exit code 1", () => {
    expect(() => planMount({ type: "", source: "/s", options: ["bind", "uidmap=x", "gidmap=0:1:1"] }, "/t", facts)).toThrow(PlanError);
  });
});

describe("idmapMount's plan", () => {
  test("borrows the caller's fd; recursive and attributes", () => {
    const p = planIdmapMount("/s", "/t", 7, { attrSet: MOUNT_ATTR.RDONLY, recursive: true });
    expect(p.action).toBe("idmap /s onto /t");
    expect(p.steps).toEqual([
      { op: "borrow_fd", slot: "userns", fd: 7, what: "user namespace" },
      ...tree("/s", "/t", MOUNT_ATTR.RDONLY, "tree", { recursive: true }),
    ] as Step[]);
  });
  test("bad arguments", () => {
    expect(() => planIdmapMount("/s", "/t", -1)).toThrow(/invalid user namespace fd/);
    expect(() => planIdmapMount("", "/t", 3)).toThrow(/empty source/);
    expect(() => planIdmapMount("/s", "/t", 3, { attrSet: MOUNT_ATTR.IDMAP })).toThrow(/set by idmapMount itself/);
    expect(() => planIdmapMount("/s", "/t", 3, { attrSet: MOUNT_ATTR.NOATIME })).toThrow(/needs MOUNT_ATTR__ATIME/);
    expect(() => planIdmapMount("/s", "/t", 3, { attrSet: MOUNT_ATTR.NOATIME, attrClr: MOUNT_ATTR_ATIME_MASK })).not.toThrow();
  });
});

test("idmappedLayerSteps: a detached idmapped read-only tree left open in its slot (fd strategy)", () => {
  expect(idmappedLayerSteps("/l0", "layer0")).toEqual([
    { op: "open_tree", slot: "layer0", path: "/l0", flags: CLONE },
    { op: "mount_setattr", slot: "layer0", tree: "/l0", flags: AT.EMPTY_PATH, attrSet: MOUNT_ATTR.IDMAP | MOUNT_ATTR.RDONLY, attrClr: 0, usernsSlot: "userns", overlayLayer: true },
  ] as IdmapStep[]);
});

describe("dry run", () => {
  test("every step prints as C and describes with flag names", () => {
    const steps = plan("overlay", "overlay", ["lowerdir=/l1", "upperdir=/u", "workdir=/w"], "/mnt/t", legacy).steps;
    const lines = steps.map(formatStep);
    expect(lines[0]).toContain('uid_map "0 100000 65536", setgroups "deny", gid_map "0 100000 65536"');
    expect(lines).toContain(`$lower0 = open_tree(AT_FDCWD, "/l1", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC)`);
    expect(lines).toContain(
      `mount_setattr($lower0, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_RDONLY|MOUNT_ATTR_IDMAP, attr_clr: 0, userns_fd: $userns})`,
    );
    expect(lines).toContain(`move_mount($lower0, "", AT_FDCWD, "${TEMP}/0", MOVE_MOUNT_F_EMPTY_PATH)`);
    expect(lines).toContain(`mkdir("${TEMP}", 0700)`);
    expect(lines).toContain(`umount2("${TEMP}/0", 0)  [retry unmount-busy; left mounted read-only if still busy]`);
    expect(lines.at(-1)).toBe(`rmdir("${TEMP}")`);
    const described = steps.map(describeStep);
    expect(described[0]).toMatchObject({ op: "userns", args: { uidmap: "0:100000:65536", gidmap: "0:100000:65536" } });
    expect(described.find((d) => d.op === "mount_setattr")).toMatchObject({
      args: { attrSetNames: "MOUNT_ATTR_RDONLY|MOUNT_ATTR_IDMAP", usernsFd: "$userns", flagNames: "AT_EMPTY_PATH" },
    });
    expect(JSON.parse(JSON.stringify(described))).toEqual(described);
  });
});

test("dry run of a legacy overlay's shared temp mount: the mount, the links and their fallback, the releases", () => {
  const steps = plan("overlay", "overlay", ["lowerdir=/l/1:/l/2", "upperdir=/u", "workdir=/w"], "/mnt/t", legacy).steps;
  const lines = steps.map(formatStep);
  expect(lines).toContain(
    `move_mount(open_tree(AT_FDCWD, "/l", OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC) after mount_setattr({attr_set: MOUNT_ATTR_RDONLY|MOUNT_ATTR_IDMAP, userns_fd: $userns}), "", AT_FDCWD, "${TEMP}/layers", MOVE_MOUNT_F_EMPTY_PATH)  [one temp mount for the layers below; if refused, one per layer]`,
  );
  expect(lines).toContain(
    `symlink("layers/2", "${TEMP}/1")  [if "${TEMP}/layers/2" is "/l/2" on the shared temp mount; else mkdir + open_tree + mount_setattr + move_mount of "/l/2" there]`,
  );
  expect(lines).toContain(`unlink("${TEMP}/0")  [or, for the layer's own temp mount: umount2 (retry unmount-busy; left mounted read-only if still busy) + rmdir]`);
  expect(lines).toContain(`umount2("${TEMP}/layers", 0)  [if attached; retry unmount-busy; left mounted read-only if still busy]`);
  const described = steps.map(describeStep);
  expect(described.find((d) => d.op === "link_layer")).toMatchObject({ syscalls: ["statx", "statx", "symlink"], args: { target: "layers/1", linkpath: `${TEMP}/0` }, layer: "/l/1" });
  expect(described.find((d) => d.op === "release_shared_temp")).toMatchObject({ syscall: "umount2", args: { target: `${TEMP}/layers` }, onlyIfAttached: true });
  expect(JSON.parse(JSON.stringify(described))).toEqual(described);
});

test("plans only ever close fds they opened, each once (a borrowed fd is never closed), and never take a slot still held", () => {
  const overlay = (lowerdir: string) => ["lowerdir=" + lowerdir, "upperdir=/u", "workdir=/w", ...MAP];
  const plans = [
    plan("", "/src", ["bind", "ro"]),
    plan("", "/src", ["bind", "ro", ...MAP]),
    plan("tmpfs", "tmpfs", ["size=1m"]),
    plan("overlay", "overlay", ["lowerdir=/a:/b::/d", "upperdir=/u", "workdir=/w"]),
    plan("overlay", "overlay", ["lowerdir=/a:/b::/d", "upperdir=/u", "workdir=/w"], "/mnt/t", legacy),
    plan("overlay", "overlay", overlay("/l/a:/l/b::/l/d")), // fd: a shared clone
    plan("overlay", "overlay", overlay("/a")), // fd: the layer's own clone
    plan("overlay", "overlay", overlay("/l/a:/l/b::/l/d"), "/mnt/t", legacy),
    planIdmapMount("/s", "/t", 7),
  ];
  for (const p of plans) {
    const opened = new Set<string>();
    const held = new Set<string>();
    for (const step of p.steps) {
      const taken = "slot" in step && step.op !== "close" && step.op !== "mount_setattr" && step.op !== "move_mount" ? step.slot : undefined;
      if (taken !== undefined) {
        expect([step.op, taken, held.has(taken)]).toEqual([step.op, taken, false]);
        held.add(taken);
      }
      if (step.op === "close") held.delete(step.slot);
      if (step.op === "fs-context") for (const slot of step.closeAfterCreate ?? []) held.delete(slot);
      // (an idmap_shared_tree slot is named by no close step: the plan's end releases it)
      if (step.op === "open_tree" || step.op === "open_layer") opened.add(step.slot);
      const closed = step.op === "close" ? [step.slot] : step.op === "fs-context" ? (step.closeAfterCreate ?? []) : [];
      for (const slot of closed) {
        expect([slot, opened.has(slot)]).toEqual([slot, true]);
        opened.delete(slot);
      }
    }
    expect(opened.size).toBe(0);
  }
});

test("planning never mutates the caller's options", () => {
  const options = ["lowerdir=/a:/b", "upperdir=/u", "workdir=/w", ...MAP];
  const copy = [...options];
  planMount({ type: "overlay", source: "o", options }, "/t", facts, { tempDir: TEMP });
  expect(options).toEqual(copy);
});
