// tmpcopyup (runc and crun's, podman's default for its tmpfs mounts): a tmpfs mounted over a
// directory of the rootfs starts with a copy of it. Real files of every kind, real tmpfs
// mounts, in the test's private mount namespace, under both strategies: fd (the tmpfs built
// detached, filled, then attached) and legacy (mount(2), then filled). A target swapped for a
// symlink is swapped at the syscall seam right before the chosen call, what the target shows
// during the copy is looked at from the seam, and failures are injected there; everything else
// is the real kernel.
import { beforeAll, describe, expect, test } from "bun:test";
import { existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { PlanError, SyscallError } from "../../src/errors.ts";
import { applyText, planApply } from "../../src/ops/apply.ts";
import { mountAll } from "../../src/ops/batch.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { parseMountInfo } from "../../src/mountinfo/parse.ts";
import type { Strategy } from "../../src/plan/facts.ts";
import { describeStep, formatStep } from "../../src/plan/steps.ts";
import { AT } from "../../src/plan/mount-api-flags.ts";
import { O } from "../../src/sys/fd.ts";
import { fchownat, mknodat, S_IF, utimensat } from "../../src/sys/file-at.ts";
import { injectFaults, type FaultPlan } from "../../src/sys/inject.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { getXattr, listXattrs, setXattr } from "../../src/sys/xattr.ts";
import { runCli } from "../support/cli.ts";
import { mountsAt, mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace, type Scratch } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir, releaseAfter } = ws;
let s: Scratch;
const mountinfoText = () => readFileSync("/proc/self/mountinfo", "utf8");
const fdCount = () => readdirSync("/proc/self/fd").length;
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array) => new TextDecoder().decode(value);

/** An OCI config.json in the scratch dir with these mounts and root.path "rootfs"; its path. */
function config(mounts: object[]): { file: string; text: string } {
  const file = s.path("config.json");
  const body = JSON.stringify({ ociVersion: "1.2.0", root: { path: "rootfs" }, mounts });
  writeFileSync(file, body);
  return { file, text: body };
}

const apply = (c: { file: string; text: string }, options: Parameters<typeof applyText>[1] = {}) => applyText(c.text, { file: c.file, ...options });

/** Set a file's times to the nanosecond (not following a symlink). */
function setTimes(path: string, atimeSec: number, mtimeSec: number): void {
  utimensat(AT.FDCWD, path, { sec: atimeSec, nsec: 111_111_111 }, { sec: mtimeSec, nsec: 222_222_222 }, AT.SYMLINK_NOFOLLOW);
}

/**
 * rootfs/etc with one of each: nested directories with their own modes, a file of another
 * owner, a set-uid file, a symlink out of the rootfs (absolute) and one up out of it
 * (relative), a fifo, a char and a block device node, user.* xattrs on a file and a directory,
 * a trusted.* xattr on a symlink, a sparse file, two hard links, a socket, and a tmpfs mounted
 * below. Every time is set to a known value, directories last.
 */
function imageEtc(): { rootfs: string; etc: string; outside: string } {
  const rootfs = dir("rootfs");
  const etc = dir("rootfs/etc");
  const outside = dir("outside");
  writeFileSync(join(outside, "secret"), "host secret");
  mkdirSync(join(etc, "a/b"), { recursive: true });
  writeFileSync(join(etc, "a/b/deep"), "deep file\n");
  writeFileSync(join(etc, "hostname"), "image\n");
  writeFileSync(join(etc, "owned"), "someone else's");
  fchownat(AT.FDCWD, join(etc, "owned"), 1234, 5678, 0);
  writeFileSync(join(etc, "setuid"), "#!/bin/sh\n");
  fchownat(AT.FDCWD, join(etc, "setuid"), 1000, 1000, 0);
  libcSyscalls.chmod(join(etc, "setuid"), 0o4755);
  symlinkSync(join(outside, "secret"), join(etc, "escape")); // absolute, out of the rootfs
  symlinkSync("../../outside/secret", join(etc, "up")); // relative, up out of it
  mknodat(AT.FDCWD, join(etc, "fifo"), S_IF.FIFO | 0o620, 0, 0);
  mknodat(AT.FDCWD, join(etc, "null"), S_IF.CHR | 0o666, 1, 3);
  mknodat(AT.FDCWD, join(etc, "loop200"), S_IF.BLK | 0o660, 7, 200);
  fchownat(AT.FDCWD, join(etc, "loop200"), 0, 6, 0);
  setXattr(join(etc, "hostname"), "user.origin", bytes("image layer 3"));
  setXattr(join(etc, "a"), "user.empty", new Uint8Array(0));
  libcSyscalls.lchown(join(etc, "up"), 4321, 4321);
  lsetTrusted(join(etc, "up"), "trusted.linkmark", "on the link");
  // sparse: 4 MiB long, 4 KiB of data in the middle
  writeFileSync(join(etc, "sparse"), "");
  const sparse = libcSyscalls.open(join(etc, "sparse"), O.WRONLY | O.CLOEXEC);
  libcSyscalls.ftruncate(sparse, 4 << 20, "sparse");
  libcSyscalls.writeAt(sparse, new Uint8Array(4096).fill(7), 2 << 20, "sparse");
  libcSyscalls.close(sparse);
  writeFileSync(join(etc, "linked"), "one inode, two names");
  linkSync(join(etc, "linked"), join(etc, "linked2"));
  mknodat(AT.FDCWD, join(etc, "sock"), S_IFSOCK | 0o755, 0, 0); // a socket file whose listener is gone
  mkdirSync(join(etc, "mnt"));
  for (const [node, mode] of [["fifo", 0o620], ["null", 0o666], ["loop200", 0o660]] as const) libcSyscalls.chmod(join(etc, node), mode);
  // the directory itself: the tmpfs root takes its owner, mode and xattrs
  fchownat(AT.FDCWD, etc, 10, 20, 0);
  libcSyscalls.chmod(etc, 0o751);
  setXattr(etc, "user.root", bytes("of the directory"));
  libcSyscalls.chmod(join(etc, "a"), 0o750);
  libcSyscalls.chmod(join(etc, "a/b"), 0o701);
  libcSyscalls.chmod(join(etc, "a/b/deep"), 0o640);
  setTimes(join(etc, "mnt"), 1_200_000_000, 1_300_000_000);
  stampTimes(etc);
  // a mount below the directory: its files are not the image's (and not copied)
  libcSyscalls.mount("below", join(etc, "mnt"), "tmpfs", 0, "mode=0711");
  ws.unmountAfter(join(etc, "mnt"));
  writeFileSync(join(etc, "mnt/volume-file"), "from another mount");
  return { rootfs, etc, outside };
}

const S_IFSOCK = 0o140000;
const FILE_ATIME = 1_000_000_000_111_111_111n;
const DIR_ATIME = 1_200_000_000_111_111_111n;

/** Known times on the image's entries, directories last (reading them moves access times: relatime). */
function stampTimes(etc: string): void {
  for (const f of ["hostname", "owned", "setuid", "escape", "up", "fifo", "null", "loop200", "sparse", "linked", "a/b/deep"]) setTimes(join(etc, f), 1_000_000_000, 1_100_000_000);
  for (const d of ["a/b", "a", ""]) setTimes(join(etc, d), 1_200_000_000, 1_300_000_000);
}

/** lsetxattr through an O_PATH fd of the symlink itself (the module's calls follow links). */
function lsetTrusted(link: string, name: string, value: string): void {
  const fd = libcSyscalls.open(link, O.PATH | O.NOFOLLOW | O.CLOEXEC);
  try {
    setXattr(`/proc/self/fd/${fd}`, name, bytes(value));
  } finally {
    libcSyscalls.close(fd);
  }
}

/** A symlink's xattrs (name=value) through an O_PATH fd of the link itself. */
function linkXattrs(link: string): string[] {
  const fd = libcSyscalls.open(link, O.PATH | O.NOFOLLOW | O.CLOEXEC);
  try {
    const at = `/proc/self/fd/${fd}`;
    return listXattrs(at)
      .filter((n) => !n.startsWith("security."))
      .map((n) => `${n}=${text(getXattr(at, n))}`);
  } finally {
    libcSyscalls.close(fd);
  }
}

/** What a copy must keep of each entry, by path below dir (the mount point's contents left out). */
function snapshot(root: string, rel = "", skip: readonly string[] = []): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const st = lstatSync(join(root, rel), { bigint: true });
  out[rel || "."] = describe_(join(root, rel), st);
  if (st.isDirectory() && !skip.includes(rel)) {
    for (const name of readdirSync(join(root, rel)).sort()) Object.assign(out, snapshot(root, rel ? `${rel}/${name}` : name, skip));
  }
  return out;
}

function describe_(path: string, st: BigIntStats): Record<string, unknown> {
  const kind = st.isSymbolicLink() ? "link" : st.isDirectory() ? "dir" : st.isFile() ? "file" : st.isFIFO() ? "fifo" : st.isCharacterDevice() ? "char" : st.isBlockDevice() ? "block" : "socket";
  const base = { kind, mode: (Number(st.mode) & 0o7777).toString(8), uid: st.uid, gid: st.gid, mtimeNs: st.mtimeNs, rdev: st.rdev };
  if (kind === "link") return { ...base, target: readlinkSync(path), xattrs: linkXattrs(path) };
  const xattrs = kind === "file" || kind === "dir" ? listXattrs(path).filter((n) => !n.startsWith("security.")).map((n) => `${n}=${text(getXattr(path, n))}`) : [];
  if (kind === "file") return { ...base, size: st.size, content: Bun.hash(readFileSync(path)).toString(), xattrs };
  return { ...base, xattrs };
}

/** Access times: reading the source during the copy may move them (relatime), so they are compared with what was set. */
function atimes(root: string, paths: readonly string[]): Record<string, bigint> {
  return Object.fromEntries(paths.map((p) => [p, lstatSync(join(root, p), { bigint: true }).atimeNs]));
}

const STRATEGIES: Strategy[] = ["fd", "legacy"];
/** What each strategy makes of tmpcopyup (plan/copy-up.ts): the tmpfs built detached, or mounted then filled. */
const HOW = { fd: "detached", legacy: "mounted" } as const;

/** Run script in rootfs from a process in a mount namespace of its own where etc is no mount point (ours cannot rename it then). */
function fromOtherNamespace(rootfs: string, script: string): void {
  const r = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-euc", `umount -R ${rootfs}/etc* 2>/dev/null || true; cd ${rootfs}; ${script}`]);
  if (r.exitCode !== 0) throw new Error(`swap failed: ${r.stderr.toString()}`);
}

/** rootfs/etc with a file, and a host directory outside the rootfs with one of its own. */
function layout() {
  const rootfs = dir("rootfs");
  const etc = dir("rootfs/etc");
  writeFileSync(join(etc, "passwd"), "root:x:0:0::/root:/bin/sh\n");
  const outside = dir("outside");
  writeFileSync(join(outside, "host-only"), "host file");
  return { rootfs, etc, outside };
}

for (const strategy of STRATEGIES) {
  const facts = probeKernelFacts(strategy);
  const how = HOW[strategy];
  const detached = how === "detached";
  const run = (c: { file: string; text: string }, options: Parameters<typeof applyText>[1] = {}) => apply(c, { facts, ...options });

  describe(`apply: a tmpfs with tmpcopyup over a directory of the rootfs (${strategy}: ${how})`, () => {
    test("starts with identical copies: kinds, owners, modes, times, xattrs, link targets, device numbers, holes", () => {
      s = ws.fresh(`copyup-${strategy}`);
      const { rootfs, etc, outside } = imageEtc();
      const before = snapshot(etc, "", ["mnt"]);
      stampTimes(etc); // again: the snapshot's reads moved access times
      const warnings: string[] = [];
      const c = config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["nosuid", "nodev", "tmpcopyup"] }]);
      const fds = fdCount();
      const batch = releaseAfter(run(c, { warn: (w) => warnings.push(w) }));
      expect(batch.error).toBeUndefined();
      expect(fdCount()).toBe(fds);
      expect(mountsUnder(rootfs).map((m) => [m.mountpoint, m.fstype, m.source])).toEqual([
        [`${etc}/mnt`, "tmpfs", "below"], // under the tmpfs now
        [etc, "tmpfs", "tmpfs"],
      ]);
      // access times first: the snapshot's reads move them
      expect(atimes(etc, ["hostname", "a/b/deep", "escape", "fifo", "null", "a", "a/b", "."])).toEqual({
        hostname: FILE_ATIME,
        "a/b/deep": FILE_ATIME,
        escape: FILE_ATIME,
        fifo: FILE_ATIME,
        null: FILE_ATIME,
        a: DIR_ATIME,
        "a/b": DIR_ATIME,
        ".": DIR_ATIME,
      });

      // everything but the socket; the mount point as an empty directory with its root's attributes
      const { sock, ...expected } = before as Record<string, Record<string, unknown>>;
      expect(sock).toMatchObject({ kind: "socket" });
      expect(snapshot(etc, "", ["mnt"])).toEqual(expected);
      expect(readdirSync(join(etc, "mnt"))).toEqual([]);
      // a symlink stays a symlink, pointing where it pointed, never followed
      expect(readlinkSync(join(etc, "escape"))).toBe(join(outside, "secret"));
      expect(readlinkSync(join(etc, "up"))).toBe("../../outside/secret");
      expect(readFileSync(join(outside, "secret"), "utf8")).toBe("host secret");
      // holes kept: the 4 MiB file takes about its 4 KiB of data in the tmpfs
      expect(lstatSync(join(etc, "sparse")).blocks * 512).toBeLessThanOrEqual(64 * 1024);
      // hard links: separate files, as runc and crun copy them
      expect(lstatSync(join(etc, "linked")).ino).not.toBe(lstatSync(join(etc, "linked2")).ino);
      expect(warnings).toEqual([
        `tmpcopyup of ${etc}: sockets not copied: ${etc}/sock`,
        `tmpcopyup of ${etc}: mount points copied empty, their mounts' files left out: ${etc}/mnt`,
      ]);

      // writes land in the tmpfs; the rootfs directory is as it was once the tmpfs is gone
      writeFileSync(join(etc, "hostname"), "container\n");
      writeFileSync(join(etc, "new"), "new file");
      rmSync(join(etc, "a/b/deep"));
      batch.release();
      expect(mountsUnder(rootfs).map((m) => m.mountpoint)).toEqual([`${etc}/mnt`]);
      unmountAll(join(etc, "mnt"));
      const { mnt: _mnt, ...untouched } = snapshot(etc);
      const { mnt: _mntBefore, ...expectedUntouched } = before;
      expect(untouched).toEqual(expectedUntouched);
      expect(readFileSync(join(etc, "hostname"), "utf8")).toBe("image\n");
      expect(existsSync(join(etc, "new"))).toBe(false);
    });

    test(
      detached
        ? "the target never shows the tmpfs half-filled: during the copy it is the rootfs directory, to this process and to another one"
        : "the target shows the tmpfs half-filled during the copy (what the detached strategy avoids)",
      () => {
        s = ws.fresh(`copyup-unseen-${strategy}`);
        const etc = dir("rootfs/etc");
        for (const name of ["a", "b", "c"]) writeFileSync(join(etc, name), `file ${name}`);
        dir("rootfs/etc/d");
        writeFileSync(join(etc, "d/e"), "file e");
        const all = ["a", "b", "c", "d"];
        /** at each file's data and each directory made: whether a mount is on the target, and what its name lists */
        const seen: { mounted: boolean; names: string[] }[] = [];
        let otherProcess: string | undefined;
        const look = () => {
          seen.push({ mounted: mountsAt(etc).length > 0, names: readdirSync(etc).sort() });
          // a process of its own in this mount namespace, as one in the container's would look
          otherProcess ??= Bun.spawnSync(["cat", "/proc/self/mountinfo"]).stdout.toString();
        };
        const sys: Syscalls = {
          ...libcSyscalls,
          sendfile(...args) {
            look();
            return libcSyscalls.sendfile(...args);
          },
          mkdirat(...args) {
            look();
            return libcSyscalls.mkdirat(...args);
          },
        };
        const batch = releaseAfter(run(config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] }]), { sys }));
        expect(batch.error).toBeUndefined();
        expect(seen).toHaveLength(5); // four files' data, one directory
        const otherSees = parseMountInfo(otherProcess!).some((m) => m.mountpoint === etc);
        if (detached) {
          expect(seen).toEqual(seen.map(() => ({ mounted: false, names: all })));
          expect(otherSees).toBe(false);
        } else {
          expect(seen.every((v) => v.mounted)).toBe(true);
          expect(seen[0]!.names.length).toBeLessThan(all.length); // the first entry copied, at most
          expect(otherSees).toBe(true);
        }
        // and once it is done, the full copy is there
        expect(mountsAt(etc).map((m) => m.fstype)).toEqual(["tmpfs"]);
        expect(readdirSync(etc).sort()).toEqual(all);
      },
    );
  });

  describe(`tmpcopyup (${how}): failures roll the tmpfs back`, () => {
    test("a later entry's failure: no mount left, the rootfs directory as it was", () => {
      s = ws.fresh(`copyup-later-${strategy}`);
      const { rootfs, etc } = imageEtc();
      unmountAll(join(etc, "mnt"));
      const before = mountinfoText();
      const tree = snapshot(etc); // (the rootfs directory itself changes: /data is made, then removed)
      const c = config([
        { destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] },
        { destination: "/data", type: "bind", source: s.path("no-such-source"), options: ["rbind"] },
      ]);
      const outcome = run(c);
      expect(outcome.error?.message).toStartWith("apply: entry 2 (/data): ");
      expect(outcome.results.map((r) => r.status)).toEqual(["rolled-back", "failed"]);
      expect(mountinfoText()).toBe(before);
      expect(snapshot(etc)).toEqual(tree);
      expect(readdirSync(rootfs)).toEqual(["etc"]);
    });

    test("a failure during the copy (the tmpfs too small): the entry named, the tmpfs unmounted, no fd left", () => {
      s = ws.fresh(`copyup-enospc-${strategy}`);
      const rootfs = dir("rootfs");
      const etc = dir("rootfs/etc");
      writeFileSync(join(etc, "small"), "fits");
      writeFileSync(join(etc, "big"), new Uint8Array(512 * 1024).fill(1));
      const before = mountinfoText();
      const tree = snapshot(rootfs);
      const fds = fdCount();
      const outcome = run(config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["size=64k", "tmpcopyup"] }]));
      const err = outcome.error as SyscallError;
      expect(err).toBeInstanceOf(SyscallError);
      expect(err.errno).toBe(Errno.ENOSPC);
      expect(err.message).toMatch(new RegExp(`^apply: entry 1 \\(/etc\\): copy ${etc}/big into the tmpfs on ${etc} \\(tmpcopyup\\): \\w+\\(2\\): ENOSPC`));
      expect(err.hint).toContain("size=");
      expect(mountinfoText()).toBe(before);
      expect(snapshot(rootfs)).toEqual(tree);
      expect(fdCount()).toBe(fds);
    });

    test("a file as the destination: ENOTDIR before anything is mounted, said to be no directory", () => {
      s = ws.fresh(`copyup-file-${strategy}`);
      dir("rootfs/etc");
      writeFileSync(s.path("rootfs/etc/hosts"), "127.0.0.1 localhost\n");
      const before = mountinfoText();
      const outcome = run(config([{ destination: "/etc/hosts", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] }]));
      expect(outcome.error).toBeInstanceOf(SyscallError);
      expect((outcome.error as SyscallError).errno).toBe(Errno.ENOTDIR);
      expect(outcome.error?.hint).toContain("is no directory");
      expect(mountinfoText()).toBe(before);
    });
  });

  describe(`tmpcopyup (${how}): a destination that is or becomes a symlink`, () => {
    test("one already there, pointing out of the rootfs: resolved inside it, nothing of the host read or covered", () => {
      s = ws.fresh(`copyup-link-${strategy}`);
      const { rootfs, etc, outside } = layout();
      rmSync(etc, { recursive: true });
      symlinkSync(outside, etc); // /etc -> a host path: inside the rootfs, that path
      const batch = releaseAfter(run(config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] }])));
      expect(batch.error).toBeUndefined();
      expect(mountsUnder(rootfs).map((m) => m.mountpoint)).toEqual([`${rootfs}${outside}`]);
      expect(readdirSync(`${rootfs}${outside}`)).toEqual([]);
      expect(mountsUnder(outside)).toEqual([]);
      expect(readdirSync(outside)).toEqual(["host-only"]);
    });

    test(
      detached
        ? "swapped in after the target was pinned, before the directory is opened: the pinned directory is read, filled into the tmpfs and covered by it through the pinned fd"
        : "swapped in after the target was pinned, before the directory is opened: the pinned directory is read, and the copy refused once the name leads elsewhere",
      () => {
        s = ws.fresh(`copyup-swap-${strategy}`);
        const { rootfs, etc, outside } = layout();
        let opened: string | undefined;
        const sys: Syscalls = {
          ...libcSyscalls,
          open(path, flags, mode) {
            // the first open through the pinned target's fd is tmpcopyup's of the directory
            const first = opened === undefined && path.startsWith("/proc/self/fd/") && (flags & O.DIRECTORY) !== 0;
            if (first) {
              renameSync(etc, `${etc}-moved`);
              symlinkSync(outside, etc);
            }
            const fd = libcSyscalls.open(path, flags, mode);
            if (first) opened = readlinkSync(`/proc/self/fd/${fd}`);
            return fd;
          },
        };
        const fds = fdCount();
        const outcome = run(config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] }]), { sys });
        expect(opened).toBe(`${etc}-moved`); // the directory that was pinned, not the symlink's
        expect(mountsUnder(outside)).toEqual([]);
        expect(readdirSync(outside)).toEqual(["host-only"]);
        expect(fdCount()).toBe(fds);
        if (detached) {
          // copied through fds and attached on the pinned fd: the name is never looked up again
          expect(outcome.error).toBeUndefined();
          expect(mountsUnder(rootfs).map((m) => [m.mountpoint, m.fstype])).toEqual([[`${etc}-moved`, "tmpfs"]]);
          expect(readFileSync(`${etc}-moved/passwd`, "utf8")).toBe("root:x:0:0::/root:/bin/sh\n");
          fromOtherNamespace(rootfs, "rm etc; mv etc-moved etc"); // back where release() finds it
          outcome.release();
          expect(mountsUnder(rootfs)).toEqual([]);
        } else {
          // mounted on it through the pinned fd; the new mount, looked up again by name to be
          // copied into, is not found there (ELOOP: a symlink): refused and rolled back
          expect(outcome.error).toBeInstanceOf(SyscallError);
          expect((outcome.error as SyscallError).errno).toBe(Errno.ELOOP);
          expect(mountsUnder(rootfs)).toEqual([]);
          rmSync(etc);
          renameSync(`${etc}-moved`, etc);
        }
        expect(readdirSync(etc)).toEqual(["passwd"]);
      },
    );

    test("swapped in while the copy runs: it goes on from the pinned directory into the tmpfs on it; the host's directory is neither read nor covered", () => {
      s = ws.fresh(`copyup-swap-late-${strategy}`);
      const { rootfs, etc, outside } = layout();
      let listed = 0;
      const sys: Syscalls = {
        ...libcSyscalls,
        readDirFd(fd, path) {
          // the copy's first step: right before it, a process in another mount namespace (where
          // etc is no mount point) moves etc aside and puts a symlink to the host directory in its place
          if (++listed === 1) fromOtherNamespace(rootfs, `mv etc etc-moved; ln -s ${outside} etc`);
          return libcSyscalls.readDirFd(fd, path);
        },
      };
      const batch = releaseAfter(run(config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["tmpcopyup"] }]), { sys }));
      expect(listed).toBe(1);
      expect(batch.error).toBeUndefined();
      expect(mountsUnder(rootfs).map((m) => m.mountpoint)).toEqual([`${etc}-moved`]);
      expect(readdirSync(`${etc}-moved`)).toEqual(["passwd"]);
      expect(mountsUnder(outside)).toEqual([]);
      expect(readdirSync(outside)).toEqual(["host-only"]);
      fromOtherNamespace(rootfs, "rm etc; mv etc-moved etc"); // back where release() finds it
      batch.release();
      expect(mountsUnder(rootfs)).toEqual([]);
    });
  });

  describe(`tmpcopyup (${how}): options, dry run, mount`, () => {
    test("ro: filled, then made read-only", () => {
      s = ws.fresh(`copyup-ro-${strategy}`);
      const etc = dir("rootfs/etc");
      writeFileSync(join(etc, "motd"), "hello");
      const batch = releaseAfter(run(config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["ro", "nosuid", "tmpcopyup"] }])));
      expect(batch.error).toBeUndefined();
      const [m] = mountsUnder(etc);
      expect(m?.options.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid"]));
      expect(readFileSync(join(etc, "motd"), "utf8")).toBe("hello");
      expect(() => writeFileSync(join(etc, "motd"), "changed")).toThrow(/EROFS/);
    });

    test("--dry-run shows the open before the tmpfs, the copy and the closes; nothing is mounted or opened", () => {
      s = ws.fresh(`copyup-dry-${strategy}`);
      const etc = dir("rootfs/etc");
      const c = config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=0755", "tmpcopyup"] }]);
      const before = mountinfoText();
      const fds = fdCount();
      const { entries } = planApply(c.text, { file: c.file, facts });
      const steps = entries[0]!.plan.steps;
      expect(steps.map((st) => st.op)).toEqual(detached ? ["copy-up-source", "fs-context", "copy-up", "close", "move_mount", "close"] : ["copy-up-source", "mount", "copy-up", "close"]);
      expect(formatStep(steps[0]!)).toStartWith(`$copyup = open(${JSON.stringify(etc)}, O_RDONLY|O_DIRECTORY|O_CLOEXEC)`);
      expect(formatStep(steps[2]!)).toStartWith(detached ? "copy $copyup into $tmpfs  [" : `copy $copyup into open(${JSON.stringify(etc)}, O_RDONLY|O_DIRECTORY|O_CLOEXEC)`);
      expect(formatStep(steps[2]!)).toContain("the tmpfs root takes the directory's owner, group, xattrs, timestamps]"); // not its mode: mode= says it
      expect(describeStep(steps[2]!)).toMatchObject({ op: "copy-up", args: { from: "$copyup", to: detached ? "$tmpfs" : etc }, root: { mode: false, uid: true, gid: true } });
      if (detached) expect(formatStep(steps[4]!)).toBe(`move_mount($tmpfs, "", AT_FDCWD, ${JSON.stringify(etc)}, MOVE_MOUNT_F_EMPTY_PATH)`);
      expect(mountinfoText()).toBe(before);
      expect(fdCount()).toBe(fds);
    });

    test(`MOUNTKIT_STRATEGY=${strategy} mountkit apply --dry-run --json: the steps of the copy, exit 0, nothing mounted`, () => {
      s = ws.fresh(`copyup-cli-${strategy}`);
      const etc = dir("rootfs/etc");
      const c = config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["ro", "tmpcopyup"] }]);
      const before = mountinfoText();
      const r = runCli(["apply", "--dry-run", "--json", c.file], { env: { ...process.env, MOUNTKIT_STRATEGY: strategy } });
      expect(r.code).toBe(0);
      const steps = JSON.parse(r.stdout).entries[0].steps as { op: string; args?: Record<string, unknown> }[];
      expect(steps.map((st) => st.op)).toEqual(
        detached ? ["copy-up-source", "fs-context", "copy-up", "close", "mount_setattr", "move_mount", "close"] : ["copy-up-source", "mount", "copy-up", "close", "mount"],
      );
      expect(steps[2]!.args).toMatchObject({ from: "$copyup", to: detached ? "$tmpfs" : etc });
      if (detached) expect(steps[4]!.args).toMatchObject({ dfd: "$tmpfs", attrSetNames: "MOUNT_ATTR_RDONLY" });
      expect(mountinfoText()).toBe(before);
    });

    test("mount() at no root: the directory copied into the tmpfs, whose mode is the option's", () => {
      s = ws.fresh(`copyup-mount-${strategy}`);
      const target = dir("target");
      writeFileSync(join(target, "kept"), "kept");
      libcSyscalls.chmod(target, 0o755);
      const plan = mount({ type: "tmpfs", source: "tmpfs", options: ["mode=0700", "tmpcopyup"] }, target, { facts });
      ws.unmountAfter(target);
      expect(plan.steps.some((st) => st.op === "fs-context")).toBe(detached);
      expect(readFileSync(join(target, "kept"), "utf8")).toBe("kept");
      expect(lstatSync(target).mode & 0o7777).toBe(0o700);
    });

    test("an idmapped tmpfs: filled through the idmapped mount, its copies show their originals' owners there", () => {
      s = ws.fresh(`copyup-idmap-${strategy}`);
      const target = dir("target");
      writeFileSync(join(target, "a"), "a");
      fchownat(AT.FDCWD, join(target, "a"), 2001, 2002, 0);
      const plan = mount({ type: "tmpfs", source: "tmpfs", options: ["uidmap=0:0:1,1:2000:3000", "gidmap=0:0:1,1:2000:3000", "tmpcopyup"] }, target, { facts });
      ws.unmountAfter(target);
      expect(plan.steps.find((st) => st.op === "fs-context")).toEqual(detached ? expect.objectContaining({ idmap: "userns", detachInto: "tmpfs" }) : undefined);
      expect(mountsAt(target).map((m) => [m.fstype, m.options.split(",").includes("idmapped")])).toEqual([["tmpfs", true]]);
      const st = lstatSync(join(target, "a"));
      expect([st.uid, st.gid, readFileSync(join(target, "a"), "utf8")]).toEqual([2001, 2002, "a"]);
    });
  });
}

describe("tmpcopyup, detached: a failure at any step closes its fds and leaves nothing mounted", () => {
  const facts = probeKernelFacts("fd");
  test.each([
    ["fsopen", { fsopen: { calls: [1], errno: Errno.ENODEV } }, Errno.ENODEV],
    ["fsconfig CMD_CREATE", { fsconfig: { calls: [3], errno: Errno.ENOMEM } }, Errno.ENOMEM], // after "source" and "size"
    ["fsmount", { fsmount: { calls: [1], errno: Errno.EMFILE } }, Errno.EMFILE],
    ["the copy", { sendfile: { calls: [2], errno: Errno.EIO } }, Errno.EIO],
    ["mount_setattr (ro)", { mountSetattr: { calls: [1], errno: Errno.EPERM } }, Errno.EPERM],
    ["move_mount", { moveMount: { calls: [1], errno: Errno.ENOENT } }, Errno.ENOENT],
  ] as const)("%s", (name, faults, errno) => {
    s = ws.fresh("copyup-fault");
    const rootfs = dir("rootfs");
    const etc = dir("rootfs/etc");
    for (const f of ["a", "b", "c"]) writeFileSync(join(etc, f), `file ${f}`);
    const before = mountinfoText();
    const tree = snapshot(rootfs);
    const fds = fdCount();
    const sys = injectFaults(libcSyscalls, faults as FaultPlan);
    const outcome = apply(config([{ destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["ro", "size=1m", "tmpcopyup"] }]), { facts, sys });
    expect(outcome.error).toBeInstanceOf(SyscallError);
    expect((outcome.error as SyscallError).errno).toBe(errno);
    expect(sys.counts.fsmount ?? 0).toBe(name === "fsopen" || name === "fsconfig CMD_CREATE" ? 0 : 1);
    expect(sys.counts.moveMount ?? 0).toBe(name === "move_mount" ? 1 : 0);
    // every fd closed, so the detached tmpfs is gone with its fd; nothing attached, the rootfs as it was
    expect(fdCount()).toBe(fds);
    expect(mountinfoText()).toBe(before);
    expect(snapshot(rootfs)).toEqual(tree);
  });
});

describe("tmpcopyup: refused where it means nothing", () => {
  test("on anything but a new tmpfs it is refused before any mount", () => {
    s = ws.fresh("copyup-bind");
    const target = dir("target");
    const src = dir("src");
    expect(() => mountAll([{ type: "bind", source: src, target: "/target", options: ["rbind", "tmpcopyup"] }], s.dir)).toThrow(PlanError);
    expect(() => mountAll([{ type: "bind", source: src, target: "/target", options: ["rbind", "tmpcopyup"] }], s.dir)).toThrow(
      `mount all: entry 1: mount ${src} on ${target}: tmpcopyup fills a new tmpfs with a copy of the directory it is mounted over, not a bind mount`,
    );
    expect(mountsUnder(s.dir)).toEqual([]);
  });
});

describe("mountkit features names tmpcopyup's strategy", () => {
  test("detached by default on this kernel; MOUNTKIT_STRATEGY=legacy: mounted", () => {
    expect(runCli(["features"]).stdout).toMatch(/^tmpcopyup +detached: fsmount, filled through its fd, ro, then move_mount$/m);
    const forced = runCli(["features", "--json"], { env: { ...process.env, MOUNTKIT_STRATEGY: "legacy" } });
    expect(JSON.parse(forced.stdout)).toMatchObject({ copyUpStrategy: "mounted" });
  });
});
