// bind+ro inside a user namespace keeps the source's locked flags (containerd's
// getUnprivilegedMountFlags, with its index-vs-value bug fixed and ST_* mapped to MS_*).
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);
let s: ReturnType<typeof scratch>;
afterEach(() => s.dispose());

function inUserNamespace(src: string, dst: string, mode?: string) {
  const script = join(import.meta.dir, "../support/userns-bind-ro.ts");
  const proc = Bun.spawnSync(
    ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private", process.execPath, script, src, dst, ...(mode ? [mode] : [])],
    { stderr: "pipe" },
  );
  if (proc.exitCode !== 0) throw new Error(`unshare failed (${proc.exitCode}): ${proc.stderr.toString()}`);
  return JSON.parse(proc.stdout.toString());
}

test("bind+ro of a nosuid,nodev,noexec,noatime mount works inside a user namespace", () => {
  s = scratch("userns");
  const src = s.path("src");
  const dst = s.path("dst");
  mkdirSync(src);
  mkdirSync(dst);
  mount({ type: "tmpfs", source: "locked", options: ["nosuid", "nodev", "noexec", "noatime"] }, src);
  try {
    const fixed = inUserNamespace(src, dst);
    expect(fixed.inUserNamespace).toBe(true);
    expect(fixed.ok).toBe(true);
    const options = (fixed.line as string).split(" ")[5]!.split(",");
    expect(options).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec", "noatime"]));

    // Without the locked flags (what containerd's index-vs-value loop computed) the kernel refuses.
    const unfixed = inUserNamespace(src, dst, "--pretend-initial-userns");
    expect(unfixed).toEqual({ ok: false, inUserNamespace: true, errno: "EPERM" });
  } finally {
    unmountAll(src);
  }
});
