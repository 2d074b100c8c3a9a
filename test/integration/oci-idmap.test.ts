// OCI runtime-spec 1.2's idmap and ridmap on an rbind with uidMappings/gidMappings: idmap
// idmaps the top mount alone (the submounts cloned as they are, their files' owners raw), ridmap
// every mount of the tree. Root, private mount namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chownSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { SyscallError } from "../../src/errors.ts";
import { applyText } from "../../src/ops/apply.ts";
import { closeUsernsFds } from "../../src/ops/idmap.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
afterAll(() => closeUsernsFds());

const ws = workspace();
const MAPPING = [{ containerID: 0, hostID: 100000, size: 65536 }];

/**
 * A bundle whose bind source "vol" holds a file owned by 1000:1000 and a tmpfs submount "sub"
 * holding another, and with withProc a proc submount "proc" (proc cannot be idmapped).
 */
function bundle(label: string, withProc = false) {
  ws.fresh(label);
  const vol = ws.dir("vol");
  const rootfs = ws.dir("rootfs");
  ws.dir("vol", "sub");
  writeFileSync(join(vol, "top-file"), "top");
  chownSync(join(vol, "top-file"), 1000, 1000);
  ws.unmountAfter(join(vol, "sub"));
  mount({ type: "tmpfs", source: "oci-idmap-sub", options: [] }, join(vol, "sub"));
  writeFileSync(join(vol, "sub/sub-file"), "sub");
  chownSync(join(vol, "sub/sub-file"), 1000, 1000);
  if (withProc) {
    ws.dir("vol", "proc");
    ws.unmountAfter(join(vol, "proc"));
    mount({ type: "proc", source: "proc", options: [] }, join(vol, "proc"));
  }
  return { vol, rootfs, dir: ws.dir() };
}

/** config.json text: vol rbound at /v with the mappings and these extra options. */
const config = (extra: string[]) =>
  JSON.stringify({
    ociVersion: "1.2.0",
    root: { path: "rootfs" },
    mounts: [{ destination: "/v", type: "bind", source: "vol", options: ["rbind", ...extra], uidMappings: MAPPING, gidMappings: MAPPING }],
  });

function apply(b: ReturnType<typeof bundle>, extra: string[]) {
  const file = join(b.dir, "config.json");
  writeFileSync(file, config(extra));
  const outcome = applyText(readFileSync(file, "utf8"), { file });
  ws.cleanups.push(() => outcome.release());
  return outcome;
}

/** Which mounts under rootfs/v carry the idmapped flag, by path below the rootfs. */
function idmapped(rootfs: string): Record<string, boolean> {
  return Object.fromEntries(mountsUnder(join(rootfs, "v")).map((m) => [m.mountpoint.slice(rootfs.length), m.options.split(",").includes("idmapped")]));
}

describe("apply: idmap and ridmap on an rbind with a submount", () => {
  test("idmap: the top mount is idmapped, the submount is not; the source's owners are unchanged", () => {
    const b = bundle("idmap-top");
    expect(apply(b, ["idmap"]).error).toBeUndefined();
    expect(idmapped(b.rootfs)).toEqual({ "/v": true, "/v/sub": false });
    expect(statSync(join(b.rootfs, "v/top-file"))).toMatchObject({ uid: 101000, gid: 101000 });
    expect(statSync(join(b.rootfs, "v/sub/sub-file"))).toMatchObject({ uid: 1000, gid: 1000 });
    // through the source, neither is mapped
    expect(statSync(join(b.vol, "top-file"))).toMatchObject({ uid: 1000, gid: 1000 });
    expect(statSync(join(b.vol, "sub/sub-file"))).toMatchObject({ uid: 1000, gid: 1000 });
  });

  test("ridmap: every mount of the tree is idmapped", () => {
    const b = bundle("ridmap");
    expect(apply(b, ["ridmap"]).error).toBeUndefined();
    expect(idmapped(b.rootfs)).toEqual({ "/v": true, "/v/sub": true });
    expect(statSync(join(b.rootfs, "v/top-file"))).toMatchObject({ uid: 101000, gid: 101000 });
    expect(statSync(join(b.rootfs, "v/sub/sub-file"))).toMatchObject({ uid: 101000, gid: 101000 });
    expect(statSync(join(b.vol, "sub/sub-file"))).toMatchObject({ uid: 1000, gid: 1000 });
  });

  test("neither word: the whole tree, as containerd idmaps an rbind", () => {
    const b = bundle("no-word");
    expect(apply(b, []).error).toBeUndefined();
    expect(idmapped(b.rootfs)).toEqual({ "/v": true, "/v/sub": true });
  });

  test("a proc submount: idmap mounts it (proc left unmapped), ridmap is refused by the kernel (EINVAL) and rolled back", () => {
    const b = bundle("proc-sub", true);
    const refused = apply(b, ["ridmap"]);
    expect(refused.error).toBeInstanceOf(SyscallError);
    expect(refused.error).toMatchObject({ syscall: "mount_setattr(2)", errnoName: "EINVAL" });
    expect((refused.error as SyscallError).hint).toContain("add idmap (OCI's word) to idmap the top mount alone");
    expect(mountsUnder(join(b.rootfs, "v"))).toEqual([]);

    expect(apply(b, ["idmap"]).error).toBeUndefined();
    expect(idmapped(b.rootfs)).toEqual({ "/v": true, "/v/sub": false, "/v/proc": false });
    expect(readFileSync(join(b.rootfs, "v/proc/self/status"), "utf8")).toContain("Pid:");
    expect(statSync(join(b.rootfs, "v/top-file")).uid).toBe(101000);
  });

  test("apply --dry-run shows the difference: idmap's mount_setattr without AT_RECURSIVE, ridmap's with it", () => {
    const b = bundle("dry-run");
    const dryRun = (extra: string[]) => {
      const file = join(b.dir, `config-${extra.join("-") || "none"}.json`);
      writeFileSync(file, config(extra));
      const r = runCli(["apply", "-n", file]);
      expect(r).toMatchObject({ code: 0, stderr: "" });
      return r.stdout.split("\n").filter((l) => l.includes("open_tree") || l.includes("mount_setattr")).map((l) => l.trim());
    };
    const source = JSON.stringify(b.vol);
    const openTree = `$tree = open_tree(AT_FDCWD, ${source}, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC|AT_RECURSIVE)`;
    expect(dryRun(["idmap"])).toEqual([openTree, 'mount_setattr($tree, "", AT_EMPTY_PATH, {attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: MS_PRIVATE, userns_fd: $userns})']);
    expect(dryRun(["ridmap"])).toEqual([openTree, 'mount_setattr($tree, "", AT_EMPTY_PATH|AT_RECURSIVE, {attr_set: MOUNT_ATTR_IDMAP, attr_clr: 0, propagation: MS_PRIVATE, userns_fd: $userns})']);
    expect(mountsUnder(b.rootfs)).toEqual([]);
  });
});

describe("mount -o: the same words beside uidmap=/gidmap=", () => {
  test("--rbind -o idmap through the binary: the top mount alone idmapped", () => {
    const b = bundle("cli");
    const dst = ws.dir("dst");
    ws.cleanups.push(() => unmountRecursive(dst)); // the clone holds its submount
    const map = "0:100000:65536";
    const r = runCli(["mount", "--rbind", "-o", `uidmap=${map},gidmap=${map},idmap`, b.vol, dst]);
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(statSync(join(dst, "top-file")).uid).toBe(101000);
    expect(statSync(join(dst, "sub/sub-file")).uid).toBe(1000);
  });

  test("idmap without a mapping is refused before any syscall (exit 1)", () => {
    const b = bundle("cli-refused");
    const dst = ws.dir("dst");
    const r = runCli(["mount", "--rbind", "-o", "idmap", b.vol, dst]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("idmap: no mapping to idmap with: give uidmap= and gidmap= (or X-mount.idmap=)");
    expect(mountsUnder(dst)).toEqual([]);
  });
});
