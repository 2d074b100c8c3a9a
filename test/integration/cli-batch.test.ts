// The built binary (dist/mountkit, made by npm test): apply, with-mounts, mount -a, umount -a.
// Exit codes, output and what is left in the mount table. Root, private mount namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT_READONLY_NOT_APPLIED } from "../../src/plan/apply-input.ts";
import { unmountRecursive } from "../../src/ops/unmount.ts";
import { loopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

const BIN = join(import.meta.dir, "../../dist/mountkit");
const FIXTURE = join(import.meta.dir, "../fixtures/oci-bundle/config.json");

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run npm test (it builds the binary first)`);
});

let s: ReturnType<typeof scratch>;
afterEach(() => {
  // everything under the scratch dir, which is no mount point: the library's containerd semantics (umount -R takes a mount point)
  unmountRecursive(s.dir);
  s.dispose();
});
const mountinfoText = () => readFileSync("/proc/self/mountinfo", "utf8");

function run(argv: string[], options: { stdin?: string; env?: Record<string, string>; cwd?: string } = {}) {
  const r = Bun.spawnSync([BIN, ...argv], {
    stdin: options.stdin === undefined ? "ignore" : Buffer.from(options.stdin),
    env: { ...process.env, ...options.env },
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  return { code: r.exitCode, out: r.stdout.toString(), err: r.stderr.toString() };
}

function list(dir: string, mounts: unknown[]): string {
  const file = join(dir, "list.json");
  writeFileSync(file, JSON.stringify(mounts, null, 2));
  return file;
}

describe("mountkit apply", () => {
  test("a containerd list: mounted in order; --json has a result per entry", () => {
    s = scratch("cli-apply");
    const root = s.path("root");
    mkdirSync(root);
    const file = list(s.dir, [
      { type: "tmpfs", source: "first", target: "/a", options: ["size=1m"] },
      { type: "tmpfs", source: "second", target: "/a/b", options: [] },
    ]);
    const r = run(["apply", "--root", root, "--mkdir", "--json", file]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc).toMatchObject({ ok: true, exitCode: 0, format: "containerd", root, mounted: 2, failed: 0 });
    expect(doc.entries.map((e: { target: string; ok: boolean }) => [e.target, e.ok])).toEqual([
      [`${root}/a`, true],
      [`${root}/a/b`, true],
    ]);
    expect(typeof doc.entries[0].timeMs).toBe("number");
    expect(mountsUnder(root).map((m) => m.source)).toEqual(["first", "second"]);
  });

  test("-v prints each entry as it is mounted", () => {
    s = scratch("cli-verbose");
    const root = s.path("root");
    mkdirSync(root);
    const file = list(s.dir, [{ type: "tmpfs", source: "x", target: "/x", options: [] }]);
    const r = run(["apply", "-v", "--mkdir", "--root", root, file]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(new RegExp(`^apply: \\[1/1\\] entry 1: ${root}/x: mounted \\(\\d+\\.\\d+ ms\\)\\n$`));
  });

  test("a failing entry: exit 32, one line naming it, everything rolled back", () => {
    s = scratch("cli-fail");
    const root = s.path("root");
    mkdirSync(`${root}/a`, { recursive: true });
    const file = list(s.dir, [
      { type: "tmpfs", source: "a", target: "/a", options: [] },
      { type: "tmpfs", source: "b", target: "/missing", options: [] },
    ]);
    const before = mountinfoText();
    const r = run(["apply", "--root", root, "--json", file]);
    expect(r.code).toBe(32);
    expect(r.err).toBe(
      `mountkit: apply: entry 2: mount b on ${root}/missing: openat2(2): ENOENT (No such file or directory) (mount point ${root}/missing does not exist)\n`,
    );
    const doc = JSON.parse(r.out);
    expect(doc.entries.map((e: { status: string }) => e.status)).toEqual(["rolled-back", "failed"]);
    expect(doc.error.errnoName).toBe("ENOENT");
    expect(mountinfoText()).toBe(before);
  });

  test("a target that resolves into a link cycle only once an earlier entry is mounted: exit 32, rolled back", () => {
    s = scratch("cli-latecycle");
    const root = s.path("root");
    mkdirSync(`${root}/x`, { recursive: true });
    const cyclic = s.path("cyclic"); // bound on /x by entry 1: /x/a then loops
    mkdirSync(cyclic);
    symlinkSync("b", `${cyclic}/a`);
    symlinkSync("a", `${cyclic}/b`);
    const file = list(s.dir, [
      { type: "bind", source: cyclic, target: "/x", options: ["bind"] },
      { type: "tmpfs", source: "late", target: "/x/a/sub", options: [] },
    ]);
    const before = mountinfoText();
    const r = run(["apply", "--root", root, "--json", file]);
    expect(r.err).toMatch(/^mountkit: apply: entry 2: resolve .*a link cycle.*\n$/);
    expect(r.code).toBe(32);
    const doc = JSON.parse(r.out);
    expect(doc.exitCode).toBe(32);
    expect(doc.entries.map((e: { status: string }) => e.status)).toEqual(["rolled-back", "failed"]);
    expect(doc.error).toMatchObject({ kind: "mount", cause: { kind: "plan" } });
    expect(mountinfoText()).toBe(before);
    // the same cycle present before any mount is bad input: exit 1
    const direct = list(s.dir, [{ type: "tmpfs", source: "early", target: "/a/sub", options: [] }]);
    const early = run(["apply", "--root", cyclic, direct]);
    expect(early.err).toMatch(/a link cycle/);
    expect(early.code).toBe(1);
  });

  test("a target that cannot be resolved (a name past NAME_MAX): exit 32 before any mount, the entry named with readlink(2)'s errno", () => {
    s = scratch("cli-apply-name-max");
    mkdirSync(join(s.dir, "a"));
    const long = `/${"n".repeat(300)}`;
    const file = list(s.dir, [
      { type: "tmpfs", source: "first", target: "/a", options: [] },
      { type: "tmpfs", source: "second", target: long, options: [] },
    ]);
    const r = run(["apply", "--root", s.dir, file]);
    expect(r.code).toBe(32);
    // it said "resolve ...: readlink(2): ENAMETOOLONG" without naming the entry
    expect(r.err).toBe(`mountkit: apply: entry 2: resolve ${s.dir}${long}: readlink(2): ENAMETOOLONG (File name too long)\n`);
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("a nofail entry's failure is a warning: the others mounted, exit 0, status warning", () => {
    s = scratch("cli-nofail");
    const root = s.path("root");
    mkdirSync(`${root}/a`, { recursive: true });
    mkdirSync(`${root}/c`);
    const file = list(s.dir, [
      { type: "tmpfs", source: "a", target: "/a", options: [] },
      { type: "bind", source: s.path("no-such-source"), target: "/c", options: ["rbind", "nofail"] },
      { type: "tmpfs", source: "c", target: "/c", options: ["size=1m", "nofail"] },
    ]);
    const r = run(["apply", "--root", root, "--json", file]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).entries.map((e: { status: string }) => e.status)).toEqual(["mounted", "warning", "mounted"]);
    expect(r.err).toMatch(/^mountkit: warning: apply: entry 2: mount .*no-such-source on .*: ENOENT/);
    expect(mountsUnder(root).map((m) => m.source)).toEqual(["a", "c"]);
  });

  test("a nofail entry whose options the kernel refuses: it fails alone in its turn, a warning naming the option; without nofail the batch is refused", () => {
    s = scratch("cli-nofail-refused");
    const root = s.path("root");
    for (const d of ["a", "b", "c"]) mkdirSync(`${root}/${d}`, { recursive: true });
    const entries = (bOptions: string[]) => [
      { type: "tmpfs", source: "a", target: "/a", options: [] },
      { type: "tmpfs", source: "b", target: "/b", options: bOptions },
      { type: "tmpfs", source: "c", target: "/c", options: ["size=1m"] },
    ];
    const refused = `option "size=bogus" refused by the kernel: tmpfs: Bad value for 'size'`;
    const nofail = list(s.dir, entries(["size=bogus", "nofail"]));
    const dry = run(["apply", "--dry-run", "--root", root, nofail]);
    expect(dry.code).toBe(0);
    expect(dry.err).toBe(`mountkit: apply: entry 2: ${refused}; nofail: it will fail alone, a warning\n`);
    const r = run(["apply", "--root", root, "--json", nofail]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).entries.map((e: { status: string }) => e.status)).toEqual(["mounted", "warning", "mounted"]);
    expect(r.err).toMatch(/^mountkit: warning: apply: entry 2: mount b on .*\/b: .*EINVAL.*Bad value for 'size'/);
    expect(mountsUnder(root).map((m) => m.source)).toEqual(["a", "c"]);
    for (const d of ["c", "a"]) expect(run(["umount", `${root}/${d}`]).code).toBe(0);

    const plain = run(["apply", "--root", root, list(s.dir, entries(["size=bogus"]))]);
    expect(plain.code).toBe(1);
    expect(plain.err).toContain(refused);
    expect(mountsUnder(root)).toEqual([]);
  });

  test("a bind whose source is missing, onto a target apply created: the hint names the source, not the (removed) target", () => {
    s = scratch("cli-nosource");
    const root = s.path("root");
    mkdirSync(root);
    const file = list(s.dir, [{ type: "bind", source: s.path("no-such-source"), target: "/q", options: ["rbind"] }]);
    const r = run(["apply", "--root", root, "--mkdir", file]);
    expect(r.code).toBe(32);
    expect(r.err).toEndWith(`(source ${s.path("no-such-source")} does not exist)\n`);
    expect(existsSync(`${root}/q`)).toBe(false); // the target it made is gone again
  });

  test("--keep-going: what can be mounted stays; exit 64", () => {
    s = scratch("cli-keep");
    const root = s.path("root");
    mkdirSync(`${root}/a`, { recursive: true });
    mkdirSync(`${root}/c`);
    const file = list(s.dir, ["a", "missing", "c"].map((d) => ({ type: "tmpfs", source: d, target: `/${d}`, options: [] })));
    const r = run(["apply", "--keep-going", "--root", root, file]);
    expect(r.code).toBe(64);
    expect(r.err).toMatch(/^mountkit: apply: entry 2: mount missing on .*: ENOENT/);
    expect(mountsUnder(root).map((m) => m.source)).toEqual(["a", "c"]);
  });

  test("bad input: exit 1, the entry or position named, nothing mounted", () => {
    s = scratch("cli-bad");
    const root = s.path("root");
    mkdirSync(root);
    const before = mountinfoText();
    const bad = run(["apply", "--root", root, "-"], { stdin: '[{"type": "tmpfs", "source": "a", "target": "/a"},\n {"type": tmpfs}]' });
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/^mountkit: apply stdin: invalid JSON at line 2, column 11: /);
    const missing = run(["apply", "--root", root, "-"], { stdin: JSON.stringify([{ type: "tmpfs", source: "a", target: "/a" }, { type: "tmpfs", target: "/b" }]) });
    expect(missing.code).toBe(1);
    expect(missing.err).toBe('mountkit: apply stdin: entry 2: missing "source" (nothing was mounted)\n');
    const option = run(["apply", "--mkdir", "--root", root, "-"], {
      stdin: JSON.stringify([{ type: "tmpfs", source: "a", target: "/a" }, { type: "tmpfs", source: "b", target: "/b", options: ["nosiud"] }]),
    });
    expect(option.code).toBe(1);
    expect(option.err).toContain(`entry 2: tmpfs on /b: option "nosiud" refused by the kernel: tmpfs: Unknown parameter 'nosiud'`);
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(root)).toEqual([]);
  });

  test("an OCI bundle's config.json: root.path taken from the bundle", () => {
    s = scratch("cli-oci");
    const bundle = s.dir;
    copyFileSync(FIXTURE, join(bundle, "config.json"));
    mkdirSync(join(bundle, "rootfs/etc"), { recursive: true });
    writeFileSync(join(bundle, "hostname"), "box\n");
    mkdirSync(join(bundle, "data"));
    mkdirSync(join(bundle, "secrets"));
    const r = run(["apply", join(bundle, "config.json")]);
    expect(r.err).toBe(`mountkit: apply: ${ROOT_READONLY_NOT_APPLIED}\n`); // runc's config asks for a read-only root
    expect(r.code).toBe(0);
    expect(mountsUnder(join(bundle, "rootfs"))).toHaveLength(10);
    expect(readFileSync(join(bundle, "rootfs/etc/hostname"), "utf8")).toBe("box\n");
  });

  test("--dry-run --json names the root the entries would be mounted under, canonical, as the real run's root does: --root through a link, an OCI root.path from the bundle; nothing mounted or made", () => {
    s = scratch("cli-dry-root");
    const root = s.path("root");
    mkdirSync(root);
    symlinkSync(root, s.path("root-link"));
    const file = list(s.dir, [{ type: "tmpfs", source: "dry-root", target: "/a", options: ["size=1m"] }]);
    const dry = run(["apply", "-n", "--json", "--root", s.path("root-link"), file]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true, root, entries: [{ target: `${root}/a` }] });
    expect(readdirSync(root)).toEqual([]); // the target /a is not created either
    const real = run(["apply", "--mkdir", "--json", "--root", s.path("root-link"), file]);
    expect(real.code).toBe(0);
    expect(JSON.parse(real.out).root).toBe(root);

    // an OCI config's root.path ("rootfs") is relative to the bundle, here named through a link
    const bundle = s.path("bundle");
    mkdirSync(join(bundle, "rootfs/etc"), { recursive: true });
    copyFileSync(FIXTURE, join(bundle, "config.json"));
    symlinkSync(bundle, s.path("bundle-link"));
    const oci = run(["apply", "-n", "--json", join(s.path("bundle-link"), "config.json")]);
    expect(oci.code).toBe(0);
    expect(JSON.parse(oci.out)).toMatchObject({ dryRun: true, format: "oci", root: join(bundle, "rootfs") });
    expect(readdirSync(join(bundle, "rootfs"))).toEqual(["etc"]);
    expect(mountsUnder(s.dir).map((m) => m.source)).toEqual(["dry-root"]); // the real run's, alone
  });

  test("--dry-run prints each entry's syscalls and mounts nothing", () => {
    s = scratch("cli-dry");
    const root = s.path("root");
    mkdirSync(root);
    const file = list(s.dir, [{ type: "bind", source: "/", target: "/host", options: ["rbind", "ro"] }]);
    const r = run(["apply", "-n", "--root", root, file]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      `# entry 1: ${root}/host\n` +
        `mount("/", "${root}/host", NULL, MS_BIND|MS_REC, NULL)\n` +
        `mount(NULL, "${root}/host", NULL, MS_RDONLY|MS_REMOUNT|MS_BIND, NULL)\n`,
    );
    expect(mountsUnder(root)).toEqual([]);
    // a dry run refuses what the real run would refuse
    const bad = list(s.dir, [{ type: "tmpfs", source: "t", target: "/t", options: ["siz=1m"] }]);
    const refused = run(["apply", "-n", "--root", root, bad]);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain(`option "siz=1m" refused by the kernel`);
  });

  test("--dry-run: an image the loop attach would refuse (missing, a directory) fails it, exit 32, as mount -n; for a nofail entry a warning", () => {
    s = scratch("cli-dry-image");
    const root = s.path("root");
    mkdirSync(`${root}/b`, { recursive: true });
    const missing = s.path("none.img");
    const r = run(["apply", "-n", "--root", root, list(s.dir, [{ type: "ext4", source: missing, target: "/b", options: ["loop"] }])]);
    expect(r).toMatchObject({ code: 32, out: "" });
    expect(r.err).toBe(`mountkit: apply: entry 1: mount ${missing} on ${root}/b: statx(2): ENOENT (No such file or directory) (${missing} does not exist)\n`);
    const json = run(["apply", "-n", "--json", "--root", root, list(s.dir, [{ type: "ext4", source: s.dir, target: "/b", options: ["loop"] }])]);
    expect(json.code).toBe(32);
    expect(JSON.parse(json.out).error).toMatchObject({ kind: "plan", message: `apply: entry 1: mount ${s.dir} on ${root}/b: ${s.dir} is a directory, not a regular file or block device to attach to a loop device` });
    const nofail = run(["apply", "-n", "--root", root, list(s.dir, [{ type: "ext4", source: missing, target: "/b", options: ["loop", "nofail"] }])]);
    expect(nofail.code).toBe(0);
    expect(nofail.out).toStartWith(`# entry 1: ${root}/b\n`);
    expect(nofail.err).toBe(`mountkit: apply: entry 1: mount ${missing} on ${root}/b: statx(2): ENOENT (No such file or directory) (${missing} does not exist); nofail: it will fail alone, a warning\n`);
    expect(loopDevicesOf(missing)).toEqual({ sysfs: [], losetup: [] });
  });
});

describe("mountkit with-mounts", () => {
  const env = () => ({ MOUNTKIT_TMPDIR: s.path("tmp") });

  test("runs the command on the mounts and exits with its status; nothing left behind", () => {
    s = scratch("cli-with");
    const src = s.path("src");
    mkdirSync(src);
    writeFileSync(`${src}/hello`, "hi");
    const file = list(s.dir, [
      { type: "tmpfs", source: "wm-root", options: [] },
      { type: "bind", source: src, target: "/in", options: ["bind", "ro"] },
    ]);
    const before = mountinfoText();
    const r = run(["with-mounts", file, "--", "sh", "-c", 'cat "$MOUNTKIT_ROOT/in/hello"; echo " $1"; exit 7', "sh", "{}"], { env: env() });
    expect(r.err).toBe("");
    expect(r.code).toBe(7);
    expect(r.out).toMatch(new RegExp(`^hi ${s.path("tmp")}/mountkit-mount-\\d+-\\w+\\n$`));
    expect(mountinfoText()).toBe(before);
    expect(readdirSync(s.path("tmp"))).toEqual([]);
  });

  test("a command killed by a signal: mountkit dies of it too, after cleaning up; one that cannot start gives 127", () => {
    s = scratch("cli-withsig");
    const file = list(s.dir, [{ type: "tmpfs", source: "t", options: [] }]);
    const killed = Bun.spawnSync([BIN, "with-mounts", file, "--", "sh", "-c", "kill -TERM $$"], { stdin: "ignore", env: { ...process.env, ...env() } });
    expect(killed.signalCode).toBe("SIGTERM");
    expect(killed.exitCode).toBeNull();
    expect(readdirSync(s.path("tmp"))).toEqual([]);
    const missing = run(["with-mounts", file, "--", "/nonexistent/command"], { env: env() });
    expect(missing.code).toBe(127);
    expect(missing.err).toMatch(/^mountkit: with-mounts: run \/nonexistent\/command: /);
    expect(readdirSync(s.path("tmp"))).toEqual([]);
  });

  test("when the mounts fail the command does not run: exit 32", () => {
    s = scratch("cli-withfail");
    const file = list(s.dir, [{ type: "bind", source: s.path("no-such-source"), options: ["bind"] }]);
    const marker = s.path("ran");
    const r = run(["with-mounts", file, "--", "touch", marker], { env: env() });
    expect(r.code).toBe(32);
    expect(existsSync(marker)).toBe(false);
    expect(readdirSync(s.path("tmp"))).toEqual([]);
  });

  test("-r: every mount read-only while the command runs", () => {
    s = scratch("cli-withro");
    const src = s.path("src");
    mkdirSync(src);
    const file = list(s.dir, [{ type: "bind", source: src, options: ["rbind", "rw"] }]);
    const r = run(["with-mounts", "-r", file, "--", "sh", "-c", 'touch "$MOUNTKIT_ROOT/x" 2>/dev/null && exit 0 || exit 9'], { env: env() });
    expect(r.code).toBe(9);
    expect(existsSync(`${src}/x`)).toBe(false);
    expect(run(["with-mounts", file, "--", "sh", "-c", 'touch "$MOUNTKIT_ROOT/x"'], { env: env() }).code).toBe(0);
    expect(existsSync(`${src}/x`)).toBe(true);
  });

  test("usage errors: exit 1", () => {
    s = scratch("cli-withuse");
    expect(run(["with-mounts", "x.json"]).code).toBe(1);
    expect(run(["with-mounts", "--", "true"]).code).toBe(1);
  });
});

describe("mountkit mount -a / umount -a", () => {
  function fstab(lines: string[]): string {
    const file = s.path("fstab");
    writeFileSync(file, `${lines.join("\n")}\n`);
    return file;
  }

  test("escapes, noauto, X-mount.mkdir, nofail; a second run finds them mounted; umount -a undoes", () => {
    s = scratch("cli-fstab");
    const d = s.dir;
    mkdirSync(`${d}/src`);
    const file = fstab([
      "# comment",
      "",
      `tmpfs ${d}/with\\040space tmpfs size=1m,X-mount.mkdir 0 0`,
      `tmpfs ${d}/later tmpfs noauto,X-mount.mkdir 0 0`,
      `${d}/src ${d}/bound none bind,ro,X-mount.mkdir=0700 0 0`,
      `tmpfs ${d}/absent tmpfs nofail 0 0`,
    ]);
    const first = run(["mount", "-a", "-T", file, "--json"]);
    expect(first.code).toBe(0);
    const doc = JSON.parse(first.out);
    expect(doc.entries.map((e: { where: string; status: string }) => [e.where, e.status])).toEqual([
      [`line 3 (${d}/with space)`, "mounted"],
      [`line 5 (${d}/bound)`, "mounted"],
      [`line 6 (${d}/absent)`, "warning"],
    ]);
    expect(doc.ignored).toEqual([{ line: 4, target: `${d}/later`, reason: "noauto" }]);
    expect(first.err).toMatch(/^mountkit: warning: mount -a: line 6 .*ENOENT/);
    expect(mountsUnder(d).map((m) => m.mountpoint)).toEqual([`${d}/with space`, `${d}/bound`]);
    expect(existsSync(`${d}/later`)).toBe(false);

    const again = run(["mount", "-a", "-T", file, "-t", "tmpfs,none", "--json"]);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.out).entries.map((e: { status: string }) => e.status)).toEqual(["skipped", "skipped", "warning"]);
    expect(mountsUnder(d)).toHaveLength(2);

    const down = run(["umount", "-a", "-T", file, "-v"]);
    expect(down.code).toBe(0);
    expect(down.out.split("\n").filter(Boolean)).toEqual([
      `umount -a: line 6: ${d}/absent: not mounted`,
      `umount -a: line 5: ${d}/bound: unmounted`,
      `umount -a: line 4: ${d}/later: not mounted`,
      `umount -a: line 3: ${d}/with space: unmounted`,
    ]);
    expect(mountsUnder(d)).toEqual([]);
  });

  test("-T DIR reads its *.fstab files in version order, -T repeated reads each in turn; lines are named by file (--json: file and line, in the real run and the dry run, as umount -a's results)", () => {
    s = scratch("cli-fstab-dir");
    const d = s.dir;
    const dir = s.path("fstab.d");
    mkdirSync(dir);
    mkdirSync(`${dir}/sub.fstab`); // a directory, not a file: left out
    writeFileSync(`${dir}/b10.fstab`, `b10 ${d}/m/b10 tmpfs X-mount.mkdir\n`);
    writeFileSync(`${dir}/b2.fstab`, `b2 ${d}/m/b2 tmpfs X-mount.mkdir\nb2-later ${d}/m/b2-later tmpfs noauto\n`);
    writeFileSync(`${dir}/.hidden.fstab`, `hidden ${d}/m/hidden tmpfs X-mount.mkdir\n`);
    writeFileSync(`${dir}/notes.txt`, "this is no fstab line\n");
    symlinkSync(`${dir}/b2.fstab`, `${dir}/c-link.fstab`); // a link to a regular file counts, as libmount follows it
    const extra = fstab([`extra ${d}/m/extra tmpfs X-mount.mkdir`]);

    const dry = run(["mount", "-a", "-T", dir, "-T", extra, "--dry-run", "--json"]);
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.out);
    expect(planned.entries.map((e: { where: string }) => e.where)).toEqual([
      `${dir}/b2.fstab: line 1 (${d}/m/b2)`,
      `${dir}/b10.fstab: line 1 (${d}/m/b10)`,
      `${dir}/c-link.fstab: line 1 (${d}/m/b2)`,
      `${extra}: line 1 (${d}/m/extra)`,
    ]);
    const lines = [
      [`${dir}/b2.fstab`, 1],
      [`${dir}/b10.fstab`, 1],
      [`${dir}/c-link.fstab`, 1],
      [extra, 1],
    ];
    expect(planned.entries.map((e: { file: string; line: number }) => [e.file, e.line])).toEqual(lines);
    expect(planned.ignored).toEqual([
      { line: 2, file: `${dir}/b2.fstab`, target: `${d}/m/b2-later`, reason: "noauto" },
      { line: 2, file: `${dir}/c-link.fstab`, target: `${d}/m/b2-later`, reason: "noauto" },
    ]);
    expect(mountsUnder(d)).toEqual([]);

    const up = run(["mount", "-a", "-T", dir, "-T", extra, "--json"]);
    expect(up.code).toBe(0);
    const doc = JSON.parse(up.out);
    expect(doc.fstab).toEqual([dir, extra]);
    expect(doc.entries.map((e: { status: string }) => e.status)).toEqual(["mounted", "mounted", "skipped", "mounted"]);
    expect(doc.entries.map((e: { file: string; line: number }) => [e.file, e.line])).toEqual(lines);
    expect(mountsUnder(d).map((m) => m.source)).toEqual(["b2", "b10", "extra"]);

    // one operand: the first line for it across the files; -T with one file keeps "line N" alone
    run(["umount", `${d}/m/b2`]);
    const single = run(["mount", "-T", dir, "-T", extra, `${d}/m/b2`, "-v"]);
    expect(single.code).toBe(0);
    expect(mountsUnder(d).map((m) => m.source)).toEqual(["b10", "extra", "b2"]);

    const down = run(["umount", "-a", "-T", dir, "-T", extra, "--json"]);
    expect(down.code).toBe(0);
    const results = JSON.parse(down.out).results;
    expect(results.map((r: { file: string; line: number; status: string }) => [r.file, r.line, r.status])).toEqual([
      [extra, 1, "unmounted"],
      [`${dir}/c-link.fstab`, 2, "not-mounted"],
      [`${dir}/c-link.fstab`, 1, "unmounted"],
      [`${dir}/b10.fstab`, 1, "unmounted"],
      [`${dir}/b2.fstab`, 2, "not-mounted"],
      [`${dir}/b2.fstab`, 1, "not-mounted"],
    ]);
    expect(mountsUnder(d)).toEqual([]);
  });

  test("-T: a bad line is named by its file; a missing path or an empty directory", () => {
    s = scratch("cli-fstab-dir-bad");
    const d = s.dir;
    const dir = s.path("fstab.d");
    mkdirSync(dir);
    const empty = run(["mount", "-a", "-T", dir, "--json"]);
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.out).entries).toEqual([]);

    writeFileSync(`${dir}/a.fstab`, `a ${d}/a tmpfs X-mount.mkdir\n`);
    writeFileSync(`${dir}/b.fstab`, "only-two fields\n");
    const bad = run(["mount", "-a", "-T", dir]);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`${dir}/b.fstab`);
    expect(bad.err).toContain("line 1: 2 fields");
    expect(mountsUnder(d)).toEqual([]);
    expect(existsSync(`${d}/a`)).toBe(false);

    const missing = run(["mount", "-a", "-T", `${d}/nowhere`, "-T", dir]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain(`read ${d}/nowhere: open(2): ENOENT (No such file or directory)`);
    expect(mountsUnder(d)).toEqual([]);
  });

  test("-F (a process per line, in parallel): a line inside another line's mount point still waits for it", () => {
    s = scratch("cli-fstab-fork");
    const d = s.dir;
    const file = fstab([`outer ${d}/outer tmpfs X-mount.mkdir`, `inner ${d}/outer/inner tmpfs X-mount.mkdir`]);
    const r = run(["mount", "-a", "-F", "-T", file]);
    expect([r.code, r.err]).toEqual([0, ""]);
    expect(mountsUnder(d).map((m) => m.source)).toEqual(["outer", "inner"]);
    expect(run(["umount", "-a", "-T", file]).code).toBe(0);
    expect(mountsUnder(d)).toEqual([]);
  });

  test("umount -a -O: only the fstab lines whose options match", () => {
    s = scratch("cli-umount-test-opts");
    const d = s.dir;
    for (const name of ["kept", "gone"]) mkdirSync(`${d}/${name}`);
    const file = fstab([`kept ${d}/kept tmpfs defaults,x-keep`, `gone ${d}/gone tmpfs defaults`]);
    expect(run(["mount", "-a", "-T", file]).code).toBe(0);
    const down = run(["umount", "-a", "-T", file, "-O", "nox-keep", "-v"]);
    expect(down.code).toBe(0);
    expect(down.out).toBe(`umount -a: line 2: ${d}/gone: unmounted\n`);
    expect(mountsUnder(d).map((m) => m.source)).toEqual(["kept"]);
    expect(run(["umount", "-a", "-T", file, "-O", "x-keep"]).code).toBe(0);
    expect(mountsUnder(d)).toEqual([]);
  });

  test("umount -a: a line whose mount point is relative is named as a failure, and the other lines are still unmounted (exit 64: some went)", () => {
    s = scratch("cli-umount-relative");
    const d = s.dir;
    mkdirSync(`${d}/one`);
    const mounted = fstab([`one ${d}/one tmpfs defaults`]);
    expect(run(["mount", "-a", "-T", mounted]).code).toBe(0);
    const file = fstab([`one ${d}/one tmpfs defaults`, "rel relative/dir tmpfs defaults"]);
    const down = run(["umount", "-a", "-T", file]);
    expect(down.code).toBe(64);
    expect(down.err).toBe("mountkit: umount -a: line 2: mount point relative/dir is not an absolute path\n");
    expect(mountsUnder(d)).toEqual([]);
  });

  test("mount -a -o, -r: after each selected line's options (-O matches the line's alone), as mount(8) -a; --bind is refused", () => {
    s = scratch("cli-fstab-o");
    const d = s.dir;
    const file = fstab([`one ${d}/one tmpfs size=1m,X-mount.mkdir`, `two ${d}/two tmpfs size=1m,x-two,X-mount.mkdir`]);
    const mounted = run(["mount", "-a", "-T", file, "-O", "nox-two", "-o", "nosuid,size=2m", "-r"]);
    expect(mounted).toMatchObject({ code: 0, err: "" });
    const [one, ...others] = mountsUnder(d);
    expect(others).toEqual([]);
    expect(one).toMatchObject({ mountpoint: `${d}/one`, source: "one" });
    expect(one!.options.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid"]));
    expect(one!.superOptions).toContain("size=2048k");
    expect(run(["mount", "-a", "-T", file, "--bind"])).toMatchObject({ code: 1, err: expect.stringContaining("mount -a: --bind names one mount") });
    expect(run(["umount", "-a", "-T", file]).code).toBe(0);
    expect(mountsUnder(d)).toEqual([]);
  });

  test("X-mount.mkdir: a created dir that cannot be removed after a failed mount is kept and named (never a recursive delete)", () => {
    s = scratch("cli-fstab-mkdir-cleanup");
    const d = s.dir;
    // a FUSE helper that leaves a file in its target, then fails
    mkdirSync(`${d}/helpers`);
    writeFileSync(`${d}/helpers/mount.fuse3`, '#!/bin/sh\necho keep > "$2/left-by-helper"\necho "helper: no" >&2\nexit 1\n', { mode: 0o755 });
    const file = fstab([`src ${d}/made/m fuse3.fake X-mount.mkdir 0 0`]);
    const r = run(["mount", "-a", "-T", file, "--helper-dir", `${d}/helpers`]);
    expect(r.code).toBe(32);
    expect(r.err).toContain("helper: no");
    expect(r.err).toContain(`remove created mount point ${d}/made/m: rmdir(2): ENOTEMPTY`);
    // the parent it created is empty but for the kept dir: not removed either (ENOTEMPTY), and the file is intact
    expect(r.err).toContain(`remove created mount point ${d}/made: rmdir(2): ENOTEMPTY`);
    expect(readFileSync(`${d}/made/m/left-by-helper`, "utf8")).toBe("keep\n");
    expect(mountsUnder(d)).toEqual([]);
  });

  test("mount -a -w: a line's ro is overridden, as -o rw would", () => {
    s = scratch("cli-fstab-w");
    const d = s.dir;
    const file = fstab([`rw-now ${d}/m tmpfs ro,size=1m,X-mount.mkdir`]);
    expect(run(["mount", "-a", "-T", file, "-w"])).toMatchObject({ code: 0, err: "" });
    const [m, ...others] = mountsUnder(d);
    expect(others).toEqual([]);
    expect(m!.options.split(",")).toContain("rw");
    expect(m!.superOptions.split(",")).toContain("rw");
    writeFileSync(`${d}/m/written`, "x");
    expect(run(["umount", "-a", "-T", file]).code).toBe(0);
    expect(run(["mount", "-a", "-T", file]).code).toBe(0);
    expect(mountsUnder(d)[0]!.options.split(",")).toContain("ro");
    expect(run(["umount", "-a", "-T", file]).code).toBe(0);
    expect(mountsUnder(d)).toEqual([]);
  });

  test("exit 64 when some lines fail, 32 when all do", () => {
    s = scratch("cli-fstabfail");
    const d = s.dir;
    mkdirSync(`${d}/ok`);
    const some = run(["mount", "-a", "-T", fstab([`tmpfs ${d}/ok tmpfs defaults`, `tmpfs ${d}/nope tmpfs defaults`])]);
    expect(some.code).toBe(64);
    expect(some.err).toMatch(/^mountkit: mount -a: line 2 .*ENOENT/);
    run(["umount", "-a", "-T", s.path("fstab")]);
    const all = run(["mount", "-a", "-T", fstab([`tmpfs ${d}/nope tmpfs defaults`])]);
    expect(all.code).toBe(32);
  });

  test("mount with one operand mounts its fstab line: by mount point (the first line wins, as in mount(8)), or by source; -o goes after the line's options", () => {
    s = scratch("cli-fstab1");
    const d = s.dir;
    mkdirSync(`${d}/src`);
    mkdirSync(`${d}/t`);
    const file = fstab([`tmpfs ${d}/t tmpfs size=1m,mode=0700`, `tmpfs ${d}/t tmpfs size=2m`, `${d}/src ${d}/bound none bind,X-mount.mkdir`]);

    const byTarget = run(["mount", "-T", file, `${d}/t`, "--json"]);
    expect(byTarget.code).toBe(0);
    expect(JSON.parse(byTarget.out).target).toBe(`${d}/t`);
    expect(mountsUnder(d).map((m) => [m.mountpoint, m.fstype, m.superOptions.split(",").slice(1, 3)])).toEqual([[`${d}/t`, "tmpfs", ["size=1024k", "mode=700"]]]);
    expect(run(["umount", `${d}/t`]).code).toBe(0);

    expect(run(["mount", "-T", file, "-o", "size=4m", `${d}/t/`]).code).toBe(0); // the canonical path matches too
    expect(mountsUnder(d).map((m) => m.superOptions.split(",")[1])).toEqual(["size=4096k"]);
    expect(run(["umount", `${d}/t`]).code).toBe(0);

    const bySource = run(["mount", "-T", file, "-r", `${d}/src`]);
    expect(bySource).toEqual({ code: 0, out: "", err: "" });
    expect(mountsUnder(d).map((m) => [m.mountpoint, m.options.split(",")[0]])).toEqual([[`${d}/bound`, "ro"]]);
    expect(run(["umount", `${d}/bound`]).code).toBe(0);
  });

  test("mount with one operand naming a line's relative mount point as written: mounted where it names from the working directory, as mount(8); mount -a refuses the line", () => {
    s = scratch("cli-fstab-relative");
    const d = s.dir;
    mkdirSync(`${d}/rel`);
    const file = fstab(["relsrc rel tmpfs size=1m"]);
    expect(run(["mount", "-T", file, "rel"], { cwd: d })).toEqual({ code: 0, out: "", err: "" });
    expect(mountsUnder(d).map((m) => [m.mountpoint, m.source])).toEqual([[`${d}/rel`, "relsrc"]]);
    expect(run(["umount", `${d}/rel`]).code).toBe(0);
    const all = run(["mount", "-a", "-T", file], { cwd: d });
    expect([all.code, all.err]).toEqual([1, expect.stringContaining("line 1: mount point rel is not an absolute path")]);
    expect(mountsUnder(d)).toEqual([]);
  });

  test("mount with one operand: --dry-run prints the line's plan; a name in no line is exit 1; a failed mount removes the mount point X-mount.mkdir made", () => {
    s = scratch("cli-fstab1b");
    const d = s.dir;
    const file = fstab([`tmpfs ${d}/made tmpfs X-mount.mkdir,size=1m`, `tmpfs ${d}/bad tmpfs X-mount.mkdir,nosuchoption=1`]);

    const dry = run(["mount", "-T", file, "-n", "--json", `${d}/made`]);
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.out).steps.map((step: { syscall: string; args: { data: string } }) => [step.syscall, step.args.data])).toEqual([["mount", "size=1m"]]);
    expect(existsSync(`${d}/made`)).toBe(false);

    const missing = run(["mount", "-T", file, `${d}/elsewhere`]);
    expect(missing.code).toBe(1);
    expect(missing.err).toBe(`mountkit: mount: ${d}/elsewhere: can't find in ${file} (give both SOURCE and TARGET, or add a line for it to the fstab)\n`);

    const failed = run(["mount", "-T", file, `${d}/bad`]);
    expect(failed.code).toBe(32);
    expect(failed.err).toMatch(/mount\(2\): EINVAL/);
    expect(existsSync(`${d}/bad`)).toBe(false);
    expect(mountsUnder(d)).toEqual([]);

    expect(run(["mount", "-T", file, `${d}/made`]).code).toBe(0);
    expect(mountsUnder(d).map((m) => m.mountpoint)).toEqual([`${d}/made`]);

    // X-mount.mkdir failing part-way (a name longer than 255 bytes): the parent it made goes too
    const tooLong = `${d}/parent/${"x".repeat(300)}`;
    const partWay = run(["mount", "-T", fstab([`tmpfs ${tooLong} tmpfs X-mount.mkdir`]), tooLong]);
    expect(partWay.code).not.toBe(0);
    expect(partWay.err).toMatch(/mkdir\(2\): ENAMETOOLONG/);
    expect(existsSync(`${d}/parent`)).toBe(false);
  });

  test("a line with too few fields refuses the whole file: exit 1, nothing mounted", () => {
    s = scratch("cli-fstabbad");
    const d = s.dir;
    mkdirSync(`${d}/a`);
    const r = run(["mount", "-a", "-T", fstab([`tmpfs ${d}/a tmpfs defaults`, `tmpfs ${d}/b`])]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(`mountkit: read ${d}/fstab: line 2: 2 fields, expected at least 3 (source, target, type) (nothing was mounted)\n`);
    expect(mountsUnder(d)).toEqual([]);
  });
});
