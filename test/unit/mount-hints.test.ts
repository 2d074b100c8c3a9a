// Which failures get the privilege hint: a mount call's EPERM/EACCES made by a user other than root.
import { expect, test } from "bun:test";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { mountHint } from "../../src/ops/hints.ts";

const m = { type: "ext4", source: "/no/such/image", options: ["loop"] };

test("as root, EPERM or EACCES is no missing privilege: no hint says to run as root", () => {
  if (process.geteuid?.() !== 0) throw new Error("this test runs as root (npm test)");
  for (const [syscall, errno] of [["mount(2)", Errno.EPERM], ["open(2)", Errno.EPERM], ["readlink(2)", Errno.EACCES], ["fsconfig(2)", Errno.EACCES]] as const) {
    expect([syscall, mountHint(new SyscallError(syscall, errno, ["/x"]), m, "/")]).toEqual([syscall, undefined]);
  }
});

test("the privilege hint is for a mount call only, and only when the user is not root", () => {
  const realEuid = process.geteuid;
  process.geteuid = () => 65534;
  try {
    expect(mountHint(new SyscallError("mount(2)", Errno.EPERM, ["/x"]), m, "/")).toMatch(/needs CAP_SYS_ADMIN/);
    expect(mountHint(new SyscallError("open_tree(2)", Errno.EPERM, ["/x"]), m, "/")).toMatch(/needs CAP_SYS_ADMIN/);
    expect(mountHint(new SyscallError("open(2)", Errno.EPERM, ["/x"]), m, "/")).toBeUndefined();
  } finally {
    process.geteuid = realEuid;
  }
});

test("EMFILE names the process's RLIMIT_NOFILE (as /proc/self/limits says it) and how to raise it; ENFILE the system's table", () => {
  const limit = /^Max open files\s+(\S+)/m.exec(require("node:fs").readFileSync("/proc/self/limits", "utf8"))![1];
  expect(mountHint(new SyscallError("openat2(2)", Errno.EMFILE, ["/x"]), m, "/")).toBe(
    `more files open than RLIMIT_NOFILE (${limit}) allows; an idmapped overlay holds one per lower layer until it is made: raise it (ulimit -n, prlimit --nofile)`,
  );
  expect(mountHint(new SyscallError("open(2)", Errno.ENFILE, ["/x"]), m, "/")).toBe("the system's table of open files is full (fs.file-max)");
});

test("EINVAL of an idmap's mount_setattr that the refusal explainer could not place: the idmap fallback, not 'wrong fs type'", () => {
  const idmapped = (options: string[]) => ({ type: "bind", source: "/src", options: [...options, "uidmap=0:1000:1", "gidmap=0:1000:1"] });
  const setattr = new SyscallError("mount_setattr(2)", Errno.EINVAL, ["/x"]);
  expect(mountHint(setattr, idmapped(["bind"]), "/x")).toBe("the filesystem does not support idmapped mounts, or the mapping is refused");
  expect(mountHint(setattr, idmapped(["rbind"]), "/x")).toStartWith("the filesystem does not support idmapped mounts, or the mapping is refused; rbind idmaps every mount in /src's tree");
  expect(mountHint(setattr, idmapped(["rbind"]), "/x")).toContain("add idmap (OCI's word) to idmap the top mount alone");
  // OCI's idmap: the top mount alone was being idmapped, so no submount is to blame
  expect(mountHint(setattr, idmapped(["rbind", "idmap"]), "/x")).toBe("the filesystem does not support idmapped mounts, or the mapping is refused");
  expect(mountHint(setattr, { type: "bind", source: "/src", options: ["bind"] }, "/x")).toStartWith("wrong fs type");
});
