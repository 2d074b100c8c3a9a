// mount -N / umount -N with helpers: mount.TYPE and umount.TYPE scripts, and a real FUSE mount
// (mount.fuse3 and Debian's fuse-overlayfs) made in another mount namespace, held by a `sleep`
// that unshare(1) started (killed in cleanup; the namespace goes with it). The helpers must act
// in that namespace: what they mount is in its mountinfo and never in ours. Root, private mount
// namespace.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { locateHelper } from "../../src/ops/helpers.ts";
import { HELPER_SEARCH_DIRS } from "../../src/plan/fuse.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { daemonsUnder, waitForDaemonsGone } from "../support/fuse-daemons.ts";
import { scriptHelper } from "../support/helper-script.ts";
import { mountsOf, namespaceHolder, namespaceOf } from "../support/namespace-holder.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(() => {
  requireRootNamespace();
  // npm test installs these (scripts/test-deps.sh); without them this file must fail, not skip.
  for (const name of ["mount.fuse3", "mount.fuse", "fuse-overlayfs"]) {
    if (!locateHelper(name, HELPER_SEARCH_DIRS)) throw new Error(`${name} is missing: apt-get install fuse3 fuse-overlayfs`);
  }
  if (!existsSync("/dev/fuse")) throw new Error("/dev/fuse is missing: the kernel has no FUSE");
});

const ws = workspace();
const { cleanups, dir, unmountAfter } = ws;

/**
 * A helper script in dir(name) that writes the mount namespace it runs in to ns.log, then runs
 * `then`; argv() and namespace() read what it logged (undefined when it never ran).
 */
function namespaceRecorder(name: string, helper: string, then: string) {
  const logged = scriptHelper(dir, name, helper, [`readlink /proc/self/ns/mnt > ${join(dir(name), "ns.log")}`, then]);
  const log = join(logged.helpers, "ns.log");
  return { ...logged, namespace: () => (existsSync(log) ? readFileSync(log, "utf8").trim() : undefined) };
}

/** fuse-overlayfs layers in the scratch dir: lower/ holds from-lower; the -o value and the merged dir. */
function fuseLayers(merged: string) {
  const lower = dir("lower");
  writeFileSync(join(lower, "from-lower"), "lower\n");
  return { merged: dir(merged), options: `lowerdir=${lower},upperdir=${dir("upper")},workdir=${dir("work")}` };
}

describe("helpers under -N act in that namespace", () => {
  test("mount -N runs mount.TYPE there (no -N in its argv) and its mount is there only; umount -N runs umount.TYPE there", async () => {
    ws.fresh("ns-ext-helper");
    const t = dir("t");
    const pid = await namespaceHolder(cleanups);
    const mounter = namespaceRecorder("helpers", "mount.nsprobe", `exec ${BINARY} mount -i -t tmpfs -o size=1m "$1" "$2"`);
    const mounted = runCli(["mount", "-N", String(pid), "--helper-dir", mounter.helpers, "-t", "nsprobe", "probe-src", t]);
    expect([mounted.code, mounted.stderr]).toEqual([0, ""]);
    expect(mounter.namespace()).toBe(namespaceOf(pid));
    expect(namespaceOf(pid)).not.toBe(namespaceOf(process.pid));
    expect(mounter.argv()).toEqual(["probe-src", t, "-o", "rw"]);
    expect(mountsOf(pid, t).map((m) => [m.fstype, m.source])).toEqual([["tmpfs", "probe-src"]]);
    expect(mountsUnder(t)).toEqual([]); // never here

    const unmounter = namespaceRecorder("uhelpers", "umount.tmpfs", `exec ${BINARY} umount -i "$1"`);
    const unmounted = runCli(["umount", "-N", String(pid), "--helper-dir", unmounter.helpers, t]);
    expect([unmounted.code, unmounted.stderr]).toEqual([0, ""]);
    expect(unmounter.namespace()).toBe(namespaceOf(pid));
    expect(unmounter.argv()).toEqual([t]);
    expect(mountsOf(pid, t)).toEqual([]);
  });

  test("mount -N with a FUSE type: mount.fuse3 and its fuse-overlayfs daemon run there, the mount is there only; umount -N takes it down", async () => {
    const s = ws.fresh("ns-fuse");
    cleanups.push(() => waitForDaemonsGone(s.dir)); // after the holder's kill: its namespace's daemons end too
    const { merged, options } = fuseLayers("merged");
    const pid = await namespaceHolder(cleanups);
    const mounted = runCli(["mount", "-N", String(pid), "-v", "-t", "fuse3.fuse-overlayfs", "-o", options, "overlay", merged]);
    expect(mounted.code).toBe(0);
    expect(mounted.stderr).toContain(`execve("${locateHelper("mount.fuse3", HELPER_SEARCH_DIRS)}", ["mount.fuse3", "overlay", "${merged}"`);
    expect(mountsOf(pid, merged).map((m) => m.fstype)).toEqual(["fuse.fuse-overlayfs"]);
    expect(mountsUnder(s.dir)).toEqual([]); // never here
    const daemons = daemonsUnder(s.dir);
    expect(daemons).toHaveLength(1);
    expect(namespaceOf(daemons[0]!)).toBe(namespaceOf(pid));
    // the merged view, as the holder's namespace sees it
    expect(readFileSync(`/proc/${pid}/root${merged}/from-lower`, "utf8")).toBe("lower\n");

    expect(runCli(["umount", "-N", String(pid), merged])).toMatchObject({ code: 0, stderr: "" });
    expect(mountsOf(pid, merged)).toEqual([]);
    waitForDaemonsGone(s.dir);
  });

  test("for comparison, util-linux's mount -N runs mount.fuse in the caller's namespace (with -N it ignores): its FUSE mount lands here", async () => {
    const s = ws.fresh("ns-fuse-util-linux");
    cleanups.push(() => waitForDaemonsGone(s.dir));
    const { merged, options } = fuseLayers("merged");
    unmountAfter(merged);
    const pid = await namespaceHolder(cleanups);
    const mounted = Bun.spawnSync(["mount", "-N", String(pid), "-t", "fuse.fuse-overlayfs", "-o", options, "overlay", merged]);
    expect(mounted.exitCode).toBe(0);
    expect(mountsOf(pid, merged)).toEqual([]);
    expect(mountsUnder(merged).map((m) => m.fstype)).toEqual(["fuse.fuse-overlayfs"]);
    expect(daemonsUnder(s.dir).map(namespaceOf)).toEqual([namespaceOf(process.pid)]);
  });

  test("helpers are the namespace's own: a helper dir mounted only here is empty there, and the FUSE mount fails naming the namespace", async () => {
    ws.fresh("ns-helper-missing");
    const { merged, options } = fuseLayers("merged");
    const pid = await namespaceHolder(cleanups);
    // mounted after the holder copied this namespace: there, the dir is the empty one below
    const helpers = dir("helpers");
    expect(runCli(["mount", "-t", "tmpfs", "-o", "size=1m", "helpers", helpers]).code).toBe(0);
    unmountAfter(helpers);
    const fake = namespaceRecorder("helpers", "mount.fuse3", "exit 0");

    const r = runCli(["mount", "-N", String(pid), "--helper-dir", fake.helpers, "-t", "fuse3.fuse-overlayfs", "-o", options, "overlay", merged]);
    expect(r.code).toBe(32);
    expect(r.stderr).toContain(`mount helper mount.fuse3 not found in ${helpers}`);
    expect(r.stderr).toContain(`looked up and run in the filesystem of mount namespace ${namespaceOf(pid)} (-N), not the caller's`);
    expect(fake.namespace()).toBeUndefined();
    expect(mountsOf(pid, merged)).toEqual([]);
    // here the same dir holds it: it runs, in this namespace
    expect(runCli(["mount", "--helper-dir", fake.helpers, "-t", "fuse3.fuse-overlayfs", "-o", options, "overlay", merged]).code).toBe(0);
    expect(fake.namespace()).toBe(namespaceOf(process.pid));
    expect(mountsUnder(merged)).toEqual([]); // the fake mounted nothing
  });
});
