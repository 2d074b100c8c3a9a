// Recursive mount attributes on the real kernel: OCI's rro (runc, Docker's read-only binds)
// and util-linux's ro=recursive make the submounts of an rbind read-only too, where ro alone
// leaves them writable. Root, private mount namespace.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { applyText } from "../../src/ops/apply.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll, unmountRecursive } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { runCli } from "../support/cli.ts";
import { errnoOf } from "../support/idmap-overlay.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => {
  unmountRecursive(s.dir);
  s.dispose();
});

/** src/ with a file, and a tmpfs mounted on src/sub holding one; dst/ to mount on. */
function tree(label: string) {
  s = scratch(label);
  const src = s.path("src");
  mkdirSync(join(src, "sub"), { recursive: true });
  writeFileSync(join(src, "file"), "top");
  mount({ type: "tmpfs", source: "sub-tmpfs", options: ["size=1m"] }, join(src, "sub"));
  writeFileSync(join(src, "sub/file"), "sub");
  const dst = s.path("dst");
  mkdirSync(dst);
  return { src, dst };
}

/** Whether a new file can be written in each dir: "ok" or the errno name. */
const writable = (...dirs: string[]) => dirs.map((d) => errnoOf(() => writeFileSync(join(d, "new"), "x")) ?? "ok");
const options = (path: string) => mountsUnder(path).map((m) => [m.mountpoint, m.options.split(",")[0]]);

test("rbind,ro makes only the top read-only (mount(2)); rbind,rro makes the whole tree read-only; the source stays writable", () => {
  const { src, dst } = tree("rro");
  mount({ type: "", source: src, options: ["rbind", "ro"] }, dst);
  expect(writable(dst, join(dst, "sub"))).toEqual(["EROFS", "ok"]);
  unmountRecursive(dst);

  mount({ type: "", source: src, options: ["rbind", "rro"] }, dst);
  expect(options(dst)).toEqual([[dst, "ro"], [join(dst, "sub"), "ro"]]);
  expect(writable(dst, join(dst, "sub"))).toEqual(["EROFS", "EROFS"]);
  expect(writable(src, join(src, "sub"))).toEqual(["ok", "ok"]);
});

test("through the binary: mount --rbind -o ro=recursive,nosuid=recursive; dry run shows the mount_setattr", () => {
  const { src, dst } = tree("ro-recursive-cli");
  const dry = runCli(["mount", "-n", "--rbind", "-o", "ro=recursive,nosuid=recursive", src, dst]);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain(`mount_setattr(AT_FDCWD, "${dst}", AT_RECURSIVE, {attr_set: MOUNT_ATTR_RDONLY|MOUNT_ATTR_NOSUID, attr_clr: 0})`);
  expect(mountsUnder(dst)).toEqual([]);
  expect(runCli(["mount", "--rbind", "-o", "ro=recursive,nosuid=recursive", src, dst])).toMatchObject({ code: 0, stderr: "" });
  for (const m of mountsUnder(dst)) expect(m.options.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid"]));
  expect(mountsUnder(dst)).toHaveLength(2);
  expect(writable(join(dst, "sub"))).toEqual(["EROFS"]);
});

test("mount_setattr failing: the error carries the target, and the rbind (with its submount) is undone", () => {
  const { src, dst } = tree("rro-fail");
  const sys = injectFaults(libcSyscalls, { mountSetattr: { calls: [1], errno: Errno.EPERM, syscall: "mount_setattr(2)" } });
  const err = caught(() => mount({ type: "", source: src, options: ["rbind", "rro"] }, dst, { sys })) as SyscallError;
  expect(err).toBeInstanceOf(SyscallError);
  expect(err.message).toBe(`mount ${src} on ${dst}: mount_setattr(2): EPERM (Operation not permitted)`);
  expect(err.paths).toEqual([dst]);
  expect(mountsUnder(dst)).toEqual([]);
  expect(mountsUnder(src)).toHaveLength(1); // the source's own submount is untouched
});

test("an OCI config.json's rro bind (as Docker writes a read-only volume) is read-only all the way down", () => {
  const { src } = tree("oci-rro");
  const rootfs = s.path("rootfs");
  mkdirSync(join(rootfs, "data"), { recursive: true });
  const config = { ociVersion: "1.1.0", root: { path: rootfs }, mounts: [{ destination: "/data", type: "bind", source: src, options: ["rbind", "rro", "rprivate"] }] };
  const outcome = applyText(JSON.stringify(config));
  try {
    expect(outcome.error).toBeUndefined();
    expect(writable(join(rootfs, "data"), join(rootfs, "data/sub"))).toEqual(["EROFS", "EROFS"]);
  } finally {
    outcome.release();
  }
  expect(mountsUnder(rootfs)).toEqual([]);
  unmountAll(join(src, "sub"));
});
