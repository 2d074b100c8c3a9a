// The kernel facts the fd-based idmapped overlay (containerd#11354) rests on, shown with the
// bare building blocks: a detached, idmapped, read-only tree is accepted as a `lowerdir+` layer
// by fd, and it must stay open until FSCONFIG_CMD_CREATE. mount() uses them through
// plan/idmap-overlay.ts (idmap-overlay-fd.test.ts). Root, private mount namespace.
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { chownSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { opsContext } from "../../src/ops/context.ts";
import { closeUsernsFds, openIdmappedTree, usernsFd } from "../../src/ops/idmap.ts";
import { runIdmapStep } from "../../src/ops/idmap-run.ts";
import { handleFd, releaseHandles } from "../../src/ops/plan-handles.ts";
import type { PlanRun } from "../../src/ops/run-plan.ts";
import { idMappingPair } from "../../src/plan/idmap-mapping.ts";
import { idmappedLayerSteps } from "../../src/plan/idmap.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { FSCONFIG, FSMOUNT_CLOEXEC, FSOPEN_CLOEXEC, MOVE_MOUNT } from "../../src/sys/mount-api.ts";
import { libcSyscalls as sys } from "../../src/sys/seam.ts";
import { cacheUserns } from "../support/idmap-overlay.ts";
import { fdChanges, openFds } from "../support/resources.ts";
import { mountTable, mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);
afterAll(() => closeUsernsFds());

const MAP = "0:100000:65536,65536:0:1";
let s: ReturnType<typeof scratch>;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

test("a detached idmapped read-only tree is accepted by fsconfig(FSCONFIG_SET_FD, \"lowerdir+\")", () => {
  s = scratch("fd-layer");
  cleanups.push(() => s.dispose());
  const mk = (name: string) => {
    const p = s.path(name);
    mkdirSync(p, { recursive: true });
    return p;
  };
  const [lower0, lower1, upper, work, merged] = ["lower0", "lower1", "upper", "work", "merged"].map(mk) as [string, string, string, string, string];
  writeFileSync(`${lower0}/top`, "top");
  chownSync(`${lower0}/top`, 1000, 2000);
  writeFileSync(`${lower1}/bottom`, "bottom");
  chownSync(`${lower1}/bottom`, 0, 0);
  cleanups.push(() => unmountAll(merged));

  const userns = usernsFd(MAP, MAP);
  cleanups.push(() => sys.close(userns));
  const fds = openFds();
  const mountsBefore = mountTable().length;
  const trees = [openIdmappedTree(lower0, userns), openIdmappedTree(lower1, userns)];
  // the trees are detached: the mount table has not grown
  expect(mountTable().length).toBe(mountsBefore);
  for (const fd of trees) expect(readlinkSync(`/proc/self/fd/${fd}`)).toBe("/");

  const fsfd = sys.fsopen("overlay", FSOPEN_CLOEXEC);
  let mfd = -1;
  try {
    for (const tree of trees) sys.fsconfig(fsfd, FSCONFIG.SET_FD, "lowerdir+", null, tree);
    sys.fsconfig(fsfd, FSCONFIG.SET_STRING, "upperdir", upper, 0);
    sys.fsconfig(fsfd, FSCONFIG.SET_STRING, "workdir", work, 0);
    sys.fsconfig(fsfd, FSCONFIG.CMD_CREATE, null, null, 0);
    mfd = sys.fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
    sys.moveMount(mfd, "", -100, merged, MOVE_MOUNT.F_EMPTY_PATH);
  } finally {
    if (mfd >= 0) sys.close(mfd);
    sys.close(fsfd);
    // the overlay keeps its own references: the caller's tree fds are closed right away
    for (const fd of trees) sys.close(fd);
  }
  expect(fdChanges(fds)).toEqual([]);

  // the merged view shows the mapped owners of both layers
  expect(statSync(`${merged}/top`)).toMatchObject({ uid: 101000, gid: 102000 });
  expect(statSync(`${merged}/bottom`)).toMatchObject({ uid: 100000, gid: 100000 });
  expect(readFileSync(`${merged}/bottom`, "utf8")).toBe("bottom");
  // the mount table gained only the overlay, which lists each layer as lowerdir+=/
  expect(mountTable().length).toBe(mountsBefore + 1);
  const [overlay] = mountsUnder(merged);
  expect(overlay!.fstype).toBe("overlay");
  expect(overlay!.superOptions).toContain("lowerdir+=/");
  // writes go to the upper layer; the lower layers are untouched
  writeFileSync(`${merged}/new`, "n");
  expect(readFileSync(`${upper}/new`, "utf8")).toBe("n");
  expect(statSync(`${lower0}/top`)).toMatchObject({ uid: 1000, gid: 2000 });
});

test("a tree fd must stay open until FSCONFIG_CMD_CREATE: closed earlier, overlay cannot clone the layer", () => {
  s = scratch("fd-layer-early-close");
  cleanups.push(() => s.dispose());
  const lower = s.path("lower");
  mkdirSync(lower);
  const userns = usernsFd(MAP, MAP);
  cleanups.push(() => sys.close(userns));
  const fds = openFds();
  const fsfd = sys.fsopen("overlay", FSOPEN_CLOEXEC);
  try {
    for (let i = 0; i < 2; i++) {
      const tree = openIdmappedTree(lower, userns);
      sys.fsconfig(fsfd, FSCONFIG.SET_FD, "lowerdir+", null, tree); // accepted...
      sys.close(tree); // ...but the detached tree dissolves when its last fd closes
    }
    let errno: number | undefined;
    try {
      sys.fsconfig(fsfd, FSCONFIG.CMD_CREATE, null, null, 0);
    } catch (err) {
      errno = (err as { errno?: number }).errno;
    }
    expect(errno).toBe(Errno.EINVAL); // the kernel logs "overlayfs: failed to clone lowerpath"
  } finally {
    sys.close(fsfd);
  }
  expect(fdChanges(fds)).toEqual([]);
});

test("idmappedLayerSteps run as plan steps; the layer's fd is a plan handle for fsconfig; the close step empties it", () => {
  s = scratch("fd-layer-steps");
  cleanups.push(() => s.dispose());
  const [lower, upper, work, merged] = ["lower", "upper", "work", "merged"].map((n) => {
    const p = s.path(n);
    mkdirSync(p);
    return p;
  }) as [string, string, string, string];
  writeFileSync(`${lower}/f`, "f");
  chownSync(`${lower}/f`, 3, 4);
  cleanups.push(() => unmountAll(merged));
  const ctx = opsContext();
  const run: PlanRun = { rollback: [], handles: [], undoWanted: true };
  cacheUserns(MAP); // before counting: the userns step borrows it
  const fds = openFds();
  const pair = idMappingPair(MAP, MAP, 4096, "test");
  runIdmapStep({ op: "userns", slot: "userns", uidmap: pair.uidmap, gidmap: pair.gidmap }, ctx, run);
  for (const step of idmappedLayerSteps(lower, "layer0")) runIdmapStep(step, ctx, run);
  const fsfd = sys.fsopen("overlay", FSOPEN_CLOEXEC);
  try {
    sys.fsconfig(fsfd, FSCONFIG.SET_FD, "lowerdir+", null, handleFd(run, "layer0"));
    sys.fsconfig(fsfd, FSCONFIG.SET_STRING, "upperdir", upper, 0);
    sys.fsconfig(fsfd, FSCONFIG.SET_STRING, "workdir", work, 0);
    sys.fsconfig(fsfd, FSCONFIG.CMD_CREATE, null, null, 0);
    runIdmapStep({ op: "close", slot: "layer0" }, ctx, run);
    const mfd = sys.fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
    sys.moveMount(mfd, "", -100, merged, MOVE_MOUNT.F_EMPTY_PATH);
    sys.close(mfd);
  } finally {
    sys.close(fsfd);
  }
  expect(() => handleFd(run, "layer0")).toThrow(/plan handle \$layer0 is empty/);
  expect(run.handles.map((h) => [h.name, h.owned])).toEqual([["userns", false]]); // the close step took the tree
  releaseHandles(run, sys); // the plan's end: the borrowed namespace stays open
  expect(statSync(`${merged}/f`)).toMatchObject({ uid: 100003, gid: 100004 });
  expect(fdChanges(fds)).toEqual([]);
});

test("openIdmappedTree: read-only by default, the fd is the caller's; a bad namespace closes it", () => {
  s = scratch("tree");
  cleanups.push(() => s.dispose());
  const src = s.path("src");
  mkdirSync(src);
  const userns = usernsFd(MAP, MAP);
  cleanups.push(() => sys.close(userns));
  const fds = openFds();
  const fd = openIdmappedTree(src, userns);
  expect(fdChanges(fds)).toEqual([`+${fd} /`]); // a detached tree reads as "/"
  // attached where we can see it, it shows read-only and idmapped
  const at = s.path("at");
  mkdirSync(at);
  sys.moveMount(fd, "", -100, at, MOVE_MOUNT.F_EMPTY_PATH);
  sys.close(fd);
  cleanups.push(() => unmountAll(at));
  expect(mountsUnder(at)[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "idmapped"]));
  expect(() => openIdmappedTree(src, 0)).toThrow(/^open idmapped tree of .*: mount_setattr\(2\)/);
  expect(fdChanges(fds)).toEqual([]);
});
