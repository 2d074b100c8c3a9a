// mountkit cleanup: what crashed runs left in the temp mount location, taken down through the
// binary; the directories of mountkit processes still running are left alone. Root, private
// mount namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { tempDirOwner } from "../../src/ops/temp-location.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { runCli, BINARY } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
});

let s: ReturnType<typeof scratch>;
let running: ReturnType<typeof Bun.spawn> | undefined;

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const gone = Bun.spawnSync(["sh", "-c", "echo $$"]);
  return Number(gone.stdout.toString().trim());
}

const tmpfs = (source: string, target: string) => expect(runCli(["mount", "-t", "tmpfs", source, target]).code).toBe(0);

test("tempDirOwner reads the maker's pid from a name; older names have none", () => {
  expect(tempDirOwner("mountkit-mount-4242-a1B2c3")).toBe(4242);
  expect(tempDirOwner("mountkit-idmap-17-3-x9y8z7")).toBe(17);
  expect(tempDirOwner("mountkit-mount-a1B2c3")).toBeUndefined();
  expect(tempDirOwner("other-4242-x")).toBeUndefined();
});

describe("mountkit cleanup", () => {
  afterEach(() => {
    running?.kill();
    running = undefined;
    unmountRecursive(s.dir); // everything under it: umount -R takes a mount point only
    s.dispose();
  });

  test("a dead process's and an old-style directory are unmounted and removed; a running process's is left until --include-running", () => {
    s = scratch("cleanup-cli");
    const location = s.path("tmp");
    mkdirSync(location, { mode: 0o700 }); // 0700 whatever the umask: mountkit refuses a location its group or others may write to
    running = Bun.spawn(["sleep", "60"]);
    const crashed = join(location, `mountkit-mount-${deadPid()}-aaaaaa`);
    mkdirSync(crashed);
    tmpfs("crashed", crashed);
    mkdirSync(join(crashed, "nested"));
    tmpfs("crashed-nested", join(crashed, "nested"));
    const old = join(location, "mountkit-mount-cccccc");
    mkdirSync(join(old, "empty"), { recursive: true });
    const live = join(location, `mountkit-idmap-${running.pid}-1-bbbbbb`);
    mkdirSync(live);
    tmpfs("in-use", live);
    const foreign = join(location, "other-tool");
    mkdirSync(foreign);
    tmpfs("foreign", foreign);

    const first = runCli(["cleanup", "--temp-dir", location, "--json"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    const doc = JSON.parse(first.stdout);
    expect(doc).toMatchObject({ ok: true, exitCode: 0, location, unmounted: 2, running: [live], warnings: [] });
    expect([...doc.removed].sort()).toEqual([crashed, old, join(old, "empty")].sort());
    expect(existsSync(crashed)).toBe(false);
    expect(existsSync(old)).toBe(false);
    expect(mountsUnder(location).map((m) => m.source)).toEqual(["in-use", "foreign"]);

    const text = runCli(["cleanup", "--temp-dir", location, "-v"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toBe(
      `cleanup: ${live}: its process is still running, left alone\n` +
        `cleanup: ${location}: 0 mounts unmounted, 0 directories removed, 1 directory of running processes left alone\n`,
    );

    const all = runCli(["cleanup", "--temp-dir", location, "--include-running", "-v"]);
    expect(all.code).toBe(0);
    expect(all.stderr).toContain(`umount2(${JSON.stringify(live)}`);
    expect(all.stdout).toContain(`cleanup: removed ${live}\n`);
    expect(all.stdout).toEndWith(`cleanup: ${location}: 1 mount unmounted, 1 directory removed\n`);
    expect(mountsUnder(location).map((m) => m.source)).toEqual(["foreign"]);
  });

  test("a stack of two mounts is peeled once: -v shows its two umount2 calls and the one that finds it gone, said as such (its EINVAL), not a second round", () => {
    s = scratch("cleanup-cli-stack");
    const location = s.path("tmp");
    const dead = deadPid();
    const crashed = join(location, `mountkit-mount-${dead}-ffffff`);
    const single = join(location, `mountkit-mount-${dead}-gggggg`);
    mkdirSync(crashed, { recursive: true });
    mkdirSync(single);
    tmpfs("lower", crashed);
    tmpfs("upper", crashed);
    tmpfs("alone", single);
    const run = runCli(["cleanup", "--temp-dir", location, "-v"]);
    expect(run.code).toBe(0);
    const call = (dir: string) => `mountkit: umount2(${JSON.stringify(dir)}, 0)`;
    const gone = (dir: string) => `mountkit: EINVAL: nothing more to unmount at ${JSON.stringify(dir)}`;
    // before, the call that ends the peel was logged as a second unmount of the single mount
    expect(run.stderr.split("\n").filter(Boolean)).toEqual([call(crashed), call(crashed), call(crashed), gone(crashed), call(single), call(single), gone(single)]);
    expect(run.stdout).toEndWith(`cleanup: ${location}: 3 mounts unmounted, 2 directories removed\n`);
    expect(mountsUnder(location)).toEqual([]);
  });

  test("what cannot be removed is a warning and its data stays: exit 32 when nothing was done, 64 when some was", () => {
    s = scratch("cleanup-cli-left");
    const location = s.path("tmp");
    const withFile = join(location, "mountkit-mount-1-dddddd"); // pid 1 runs: needs --include-running
    mkdirSync(withFile, { recursive: true });
    writeFileSync(join(withFile, "keep-me"), "data");
    const left = runCli(["cleanup", "--temp-dir", location, "--include-running"]);
    expect(left.code).toBe(32);
    expect(left.stderr).toMatch(/^mountkit: warning: clean up .*mountkit-mount-1-dddddd.*rmdir\(2\): ENOTEMPTY/);
    expect(readFileSync(join(withFile, "keep-me"), "utf8")).toBe("data");

    const empty = join(location, "mountkit-mount-eeeeee");
    mkdirSync(empty);
    const some = runCli(["cleanup", "--temp-dir", location, "--include-running", "--json"]);
    expect(some.code).toBe(64);
    const doc = JSON.parse(some.stdout);
    expect(doc).toMatchObject({ ok: false, exitCode: 64, removed: [empty] });
    expect(doc.warnings.map((w: { errnoName: string }) => w.errnoName)).toEqual(["ENOTEMPTY"]);
    expect(existsSync(withFile)).toBe(true);
  });

  test("a location that does not exist holds nothing: exit 0, nothing created; an operand is a usage error", () => {
    s = scratch("cleanup-cli-none");
    const nowhere = s.path("nowhere");
    const r = runCli(["cleanup", "--temp-dir", nowhere]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`cleanup: ${nowhere}: 0 mounts unmounted, 0 directories removed\n`);
    expect(existsSync(nowhere)).toBe(false);
    const bad = runCli(["cleanup", "extra"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("cleanup: takes no operands, got extra");
  });

  test("a temp dir made by a mountkit process at work carries its pid: with-mounts' root survives a cleanup run meanwhile", async () => {
    s = scratch("cleanup-cli-with");
    const location = s.path("tmp");
    mkdirSync(location, { mode: 0o700 }); // 0700 whatever the umask: mountkit refuses a location its group or others may write to
    const list = s.path("list.json");
    writeFileSync(list, JSON.stringify([{ type: "tmpfs", source: "at-work", target: "/", options: [] }]));
    const ready = s.path("ready");
    const env = { ...process.env, MOUNTKIT_TMPDIR: location, MOUNTKIT_STRATEGY: "" };
    running = Bun.spawn([BINARY, "with-mounts", list, "--", "sh", "-c", `touch ${ready}; exec sleep 60`], { env });
    for (let i = 0; i < 500 && !existsSync(ready); i++) await Bun.sleep(10);
    expect(existsSync(ready)).toBe(true);
    const [root] = mountsUnder(location).filter((m) => m.source === "at-work");
    expect(root).toBeDefined();
    expect(tempDirOwner(root!.mountpoint.slice(location.length + 1))).toBe(running.pid);

    const r = runCli(["cleanup", "--json"], { env });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ location, unmounted: 0, removed: [], running: [root!.mountpoint] });
    expect(mountsUnder(location).map((m) => m.source)).toEqual(["at-work"]);
    running.kill("SIGTERM"); // with-mounts passes it on, then cleans up after the command
    await running.exited;
    expect(running.signalCode).toBe("SIGTERM"); // the command died of it, then mountkit did
    running = undefined;
    expect(mountsUnder(location)).toEqual([]);
  });
});
