// A NUL byte in a string the FFI layer passes to C: C reads the string as ending there, so the
// call would act on another path (an unmount of the parent, a mount on it), with fewer options,
// or run another program. Every such call is refused (EINVAL, naming the call and the path)
// before it is made; nothing is mounted, unmounted or run.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { AT, FSCONFIG, FSOPEN_CLOEXEC, MOVE_MOUNT, OPEN_TREE } from "../../src/plan/mount-api-flags.ts";
import { libcSyscalls as sys } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { mountsAt, mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => s?.dispose());

/** The EINVAL of a call refused before it was made: its name, the path, the argument that held the NUL. */
function expectRefused(err: unknown, syscall: string, argument: string, path: string): void {
  expect(err).toBeInstanceOf(SyscallError);
  const e = err as SyscallError;
  expect([e.syscall, e.errnoName]).toEqual([syscall, "EINVAL"]);
  expect(e.paths).toContain(path);
  expect(e.message).toContain(`not called: its ${argument} holds a NUL byte`);
}

test("mount(2) and umount2(2): a NUL in any string is refused, not cut to the mount point before it", () => {
  s = scratch("nul");
  const t = s.path("t");
  mkdirSync(t);
  const cut = `${t}\0/below`; // C would read t
  expectRefused(caught(() => sys.mount("tmpfs", cut, "tmpfs", 0, null)), "mount(2)", "target", cut);
  expectRefused(caught(() => sys.mount(`nul\0src`, t, "tmpfs", 0, null)), "mount(2)", "source", t);
  expectRefused(caught(() => sys.mount("nul", t, "tmpfs\0x", 0, null)), "mount(2)", "filesystem type", t);
  // the options past the NUL were dropped: a tmpfs of the default size, not nr_inodes=1
  expectRefused(caught(() => sys.mount("nul", t, "tmpfs", 0, "mode=700\0,nr_inodes=1")), "mount(2)", "data", t);
  expect(mountsUnder(s.dir)).toEqual([]);

  sys.mount("nul", t, "tmpfs", 0, null);
  try {
    // umount2 of t's mount through a path that is not t
    expectRefused(caught(() => sys.umount2(cut, 0)), "umount2(2)", "path", cut);
    expect(mountsAt(t)).toHaveLength(1);
  } finally {
    sys.umount2(t, 0);
  }
});

test("the fd mount API (open_tree, move_mount, fsopen, fsconfig, mount_setattr): a NUL is refused before the call", () => {
  s = scratch("nul");
  const t = s.path("t");
  mkdirSync(t);
  const cut = `${t}\0x`;
  expectRefused(caught(() => sys.openTree(AT.FDCWD, cut, OPEN_TREE.CLONE | OPEN_TREE.CLOEXEC)), "open_tree(2)", "path", cut);
  expectRefused(caught(() => sys.mountSetattr(AT.FDCWD, cut, 0, 0, 0, 0, 0)), "mount_setattr(2)", "path", cut);
  expect(caught(() => sys.fsopen("tmpfs\0x", FSOPEN_CLOEXEC))).toMatchObject({ syscall: "fsopen(2)", errnoName: "EINVAL" });
  const fsfd = sys.fsopen("tmpfs", FSOPEN_CLOEXEC);
  try {
    expectRefused(caught(() => sys.fsconfig(fsfd, FSCONFIG.SET_STRING, "mode", "700\0x", 0)), "fsconfig(2)", "value", "700\0x");
    expectRefused(caught(() => sys.fsconfig(fsfd, FSCONFIG.SET_STRING, "mode\0x", "700", 0)), "fsconfig(2)", "key", "mode\0x");
    sys.fsconfig(fsfd, FSCONFIG.CMD_CREATE, null, null, 0);
    const mfd = sys.fsmount(fsfd, 0, 0);
    try {
      expectRefused(caught(() => sys.moveMount(mfd, "", AT.FDCWD, cut, MOVE_MOUNT.F_EMPTY_PATH)), "move_mount(2)", "to path", cut);
    } finally {
      sys.close(mfd);
    }
  } finally {
    sys.close(fsfd);
  }
  expect(mountsUnder(s.dir)).toEqual([]);
});

test("statfs, statx and readlink of a path holding a NUL: refused, not answered for the path cut short", () => {
  s = scratch("nul");
  writeFileSync(s.path("file"), "x");
  symlinkSync("file", s.path("link"));
  const cut = `${s.path("link")}\0x`; // C would read the link
  expectRefused(caught(() => sys.readlink(cut)), "readlink(2)", "path", cut);
  expectRefused(caught(() => sys.statfs(`${s.dir}\0x`)), "statfs(2)", "path", `${s.dir}\0x`);
  expectRefused(caught(() => sys.statxMountId(`${s.dir}\0x`)), "statx(2)", "path", `${s.dir}\0x`);
  expectRefused(caught(() => sys.statxNode(AT.FDCWD, cut, 0)), "statx(2)", "path", cut);
  expectRefused(caught(() => sys.statxOwnership(cut)), "statx(2)", "path", cut);
});

test("a mount made from a directory thread, and posix_spawn: a NUL is refused before the thread starts or the child runs", () => {
  s = scratch("nul");
  const t = s.path("t");
  mkdirSync(t);
  expectRefused(caught(() => sys.mountInDir(s.dir, "nul", "t\0x", "tmpfs", 0, null)), "mount(2)", "target", "t\0x");
  expectRefused(caught(() => sys.mountInDir(s.dir, "nul", "t", "tmpfs", 0, "mode=700\0x")), "mount(2)", "data", "t");
  expect(mountsUnder(s.dir)).toEqual([]);

  // /bin/sh ran as /bin/sh, and the argument past the NUL was lost
  const made = s.path("made");
  expectRefused(caught(() => sys.runProcess(`/bin/sh\0-not-a-shell`, ["sh", "-c", `: > ${made}`], [])), "posix_spawn(3)", "path", "/bin/sh\0-not-a-shell");
  expectRefused(caught(() => sys.runProcess("/bin/sh", ["sh", "-c", `: > ${made}\0; exit 3`], [])), "posix_spawn(3)", "argv[2]", "/bin/sh");
  expectRefused(caught(() => sys.runProcess("/bin/sh", ["sh", "-c", "true"], ["A=1\0B=2"])), "posix_spawn(3)", "env[0]", "/bin/sh");
  expect(readdirSync(s.dir)).toEqual(["t"]);
  expect(Errno.EINVAL).toBe(22);
});
