// The already-mounted test (mount --onlyonce refuses, mount -a skips) with a source named
// relative to the working directory or through a symlink: libmount makes it absolute and
// canonical before comparing it with the mount table, and so must we. Real mounts through the
// binary, run from the scratch dir; root, private mount namespace.
import { beforeAll, expect, test } from "bun:test";
import { symlinkSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { runCli } from "../support/cli.ts";
import { loopDevicesOf } from "../support/resources.ts";
import { mountsAt, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { dir, image, unmountAfter } = ws;

test("--onlyonce --bind of a relative source, or of one through a relative symlink: the second is refused (exit 32), nothing stacked", () => {
  const s = ws.fresh("onlyonce-relative");
  dir("src");
  dir("real");
  symlinkSync("real", s.path("link"));
  const t = dir("t");
  unmountAfter(t);
  const fromScratch = { cwd: s.dir };
  for (const [source, shown] of [
    ["src", "/src"],
    ["./src/", "/src"],
    ["link", "/real"],
  ] as const) {
    expect(runCli(["mount", "--onlyonce", "--bind", source, "t"], fromScratch).code).toBe(0);
    const again = runCli(["mount", "--onlyonce", "--bind", source, "t"], fromScratch);
    expect([source, again.code]).toEqual([source, 32]);
    expect(again.stderr).toContain(`mount ${source} on t: filesystem already mounted`);
    expect(mountsAt(t).map((m) => m.root.slice(-shown.length))).toEqual([shown]);
    expect(runCli(["umount", t]).code).toBe(0);
  }
});

test("--onlyonce -o loop of a relative image path: refused as mounted already, not EBUSY; no second device", () => {
  const s = ws.fresh("onlyonce-relative-loop");
  const img = image();
  const t = dir("t");
  unmountAfter(t);
  const fromScratch = { cwd: s.dir };
  expect(runCli(["mount", "--onlyonce", "-o", "loop", basename(img), t], fromScratch).code).toBe(0);
  const devices = loopDevicesOf(img).sysfs;
  expect(devices).toHaveLength(1);
  const again = runCli(["mount", "--onlyonce", "-o", "loop", basename(img), t], fromScratch);
  expect(again.code).toBe(32);
  expect(again.stderr).toContain("filesystem already mounted");
  expect(loopDevicesOf(img).sysfs).toEqual(devices);
  expect(mountsAt(t)).toHaveLength(1);
});

for (const fork of [false, true]) {
  test(`mount -a${fork ? " -F" : ""} twice: lines with a relative, a relatively symlinked or an absolutely symlinked bind source, and a relative image, are skipped the second time`, () => {
    const s = ws.fresh("mount-a-relative");
    dir("src");
    dir("real");
    symlinkSync("real", s.path("link"));
    dir("real2");
    symlinkSync(s.path("real2"), s.path("abs-link"));
    const img = image();
    const targets = ["b-rel", "b-link", "b-abs-link", "i-rel"].map((name) => dir(name));
    for (const t of targets) unmountAfter(t);
    const fstab = s.path("fstab");
    writeFileSync(
      fstab,
      [
        `src ${targets[0]} none bind 0 0`,
        `link ${targets[1]} none bind 0 0`,
        `${s.path("abs-link")} ${targets[2]} none bind 0 0`,
        `${basename(img)} ${targets[3]} ext4 loop 0 0`,
      ].join("\n") + "\n",
    );
    const mountAll = () => runCli(["mount", "-a", ...(fork ? ["-F"] : []), "-T", fstab, "--json"], { cwd: s.dir });
    const statuses = (run: ReturnType<typeof runCli>) => JSON.parse(run.stdout).entries.map((e: { status: string }) => e.status);

    const first = mountAll();
    expect(first.code).toBe(0);
    expect(statuses(first)).toEqual(["mounted", "mounted", "mounted", "mounted"]);
    const again = mountAll();
    expect(statuses(again)).toEqual(["skipped", "skipped", "skipped", "skipped"]);
    expect([again.code, again.stderr]).toEqual([0, ""]);
    expect(targets.map((t) => mountsAt(t).length)).toEqual([1, 1, 1, 1]);
    expect(loopDevicesOf(img).sysfs).toHaveLength(1);
  });
}
