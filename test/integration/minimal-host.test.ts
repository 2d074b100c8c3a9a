// The binary on a minimal host, as an init script runs it: a chroot with only the binary, its
// libraries, /proc and a few /dev nodes; no /etc, /tmp, /sys, shell or util-linux; an empty
// environment. Root, private namespace.
import { beforeAll, expect, test } from "bun:test";
import { minimalRoot, type MinimalRoot, type MinimalRootOptions } from "../support/minimal-root.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();

function root(label: string, options?: MinimalRootOptions): MinimalRoot {
  const s = ws.fresh(label);
  const r = minimalRoot(s.path("root"), options);
  ws.cleanups.push(r.dispose);
  return r;
}

test("mount -a and umount -a without /etc/fstab: nothing to do, exit 0, as mount(8); -T of a missing file is an error", () => {
  const r = root("no-fstab");
  expect(r.run(["mount", "-a"])).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(r.run(["mount", "-a", "-v"])).toEqual({ code: 0, stdout: "", stderr: "" });
  expect(r.run(["umount", "-a"])).toEqual({ code: 0, stdout: "", stderr: "" });
  const json = r.run(["mount", "-a", "--json"]);
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, fstab: "/etc/fstab" });
  // mount DIR: "can't find in /etc/fstab", as mount(8)
  expect(r.run(["mount", "/mnt"])).toMatchObject({ code: 1, stderr: expect.stringContaining("mount: /mnt: can't find in /etc/fstab") });
  // a file asked for by name must exist
  expect(r.run(["mount", "-a", "-T", "/etc/fstab"])).toMatchObject({ code: 1, stderr: expect.stringContaining("ENOENT") });
  // findmnt --fstab and --verify check a file: its absence is their error, as findmnt's
  expect(r.run(["findmnt", "-s"]).code).toBe(1);
  expect(r.run(["findmnt", "--verify"]).code).toBe(1);
});
