// The compiled binary end to end: flags, output, exit codes, nothing left behind on failure.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VERSION } from "../../src/version.ts";
import { BINARY, runCli } from "../support/cli.ts";
import { mountsAt, mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => s?.dispose());
const dir = (...parts: string[]) => {
  const p = s.path(...parts);
  mkdirSync(p, { recursive: true });
  return p;
};
const oneLineError = (stderr: string) => {
  const lines = stderr.split("\n").filter(Boolean);
  expect(lines).toHaveLength(1);
  expect(lines[0]!.startsWith("mountkit: ")).toBe(true);
  return lines[0]!;
};

describe("basics", () => {
  test("--version matches package.json", () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dir, "../../package.json"), "utf8"));
    expect(pkg.version).toBe(VERSION);
    const r = runCli(["--version"]);
    expect(r).toEqual({ code: 0, stdout: `mountkit ${VERSION}\n`, stderr: "" });
  });

  test("--help for the program and each command", () => {
    expect(runCli(["--help"]).stdout).toContain("Commands:");
    for (const cmd of ["mount", "umount", "findmnt", "features"]) {
      const r = runCli([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toStartWith(`Usage: mountkit ${cmd}`);
    }
  });

  test("output to a pipe whose reader is gone: the write's EPIPE ends the output quietly, exit 0", () => {
    // `true` exits before the binary has started, so every write(2) of the help text gets EPIPE
    // (Bun ignores SIGPIPE). pipefail makes the pipeline's status the binary's.
    const proc = Bun.spawnSync(["bash", "-c", 'set -o pipefail; "$0" --help | true', BINARY]);
    expect(proc.stderr.toString()).toBe("");
    expect(proc.exitCode).toBe(0);
  });

  test("unknown command or flag, missing operand: one-line error, exit 1", () => {
    for (const args of [["frobnicate"], ["mount", "--frob", "a", "b"], ["mount", "-Z"], ["mount", "tmpfs"], ["umount"], ["findmnt", "a", "b", "c"]]) {
      const r = runCli(args);
      expect(r.code).toBe(1);
      oneLineError(r.stderr);
    }
  });

  test("a long flag's unambiguous beginning, as getopt_long reads it; an ambiguous one is refused, naming the candidates", () => {
    expect(runCli(["findmnt", "--noheadi", "--output=TARGET", "--mountp", "/"])).toMatchObject({ code: 0, stdout: "/\n" });
    const ambiguous = runCli(["mount", "--r", "a", "b"]);
    expect(ambiguous.code).toBe(1);
    expect(oneLineError(ambiguous.stderr)).toMatch(/^mountkit: mount: option --r is ambiguous; possibilities: (--\S+ )+--\S+ \(see 'mountkit mount --help'\)$/);
  });
});

describe("mount and umount", () => {
  test("tmpfs: mount, show, unmount; then 'not mounted' is exit 32", () => {
    s = scratch("cli");
    const t = dir("t");
    expect(runCli(["mount", "-t", "tmpfs", "-o", "size=1m", "-o", "nosuid", "cli-demo", t]).code).toBe(0);
    const shown = JSON.parse(runCli(["findmnt", "--json", t]).stdout);
    expect(shown.filesystems[0]).toMatchObject({ target: t, source: "cli-demo", fstype: "tmpfs" });
    expect(shown.filesystems[0]["vfs-options"]).toContain("nosuid");
    expect(runCli(["umount", t]).code).toBe(0);
    expect(mountsUnder(t)).toEqual([]);
    const again = runCli(["umount", t]);
    expect(again.code).toBe(32);
    expect(oneLineError(again.stderr)).toContain("not mounted");
  });

  test("mount with no operands lists the table as mount(8) does; -t TYPES keeps those types, a no prefix excludes", () => {
    s = scratch("clilist");
    const t = dir("my list");
    const tabbed = dir("tab\there");
    expect(runCli(["mount", "-t", "tmpfs", "-o", "size=1m", "listed src", t]).code).toBe(0);
    expect(runCli(["mount", "-t", "tmpfs", "-o", "size=1m", "back\\slash\tsrc", tabbed]).code).toBe(0);
    // as mount(8): the source as it is, a control character in the mount point as "?"
    const line = `listed src on ${t} type tmpfs (rw,relatime,size=1024k)`;
    const all = runCli(["mount"]);
    expect(all.code).toBe(0);
    expect(all.stdout.split("\n")).toContain(line);
    expect(all.stdout.split("\n")).toContain(`back\\slash\tsrc on ${s.dir}/tab?here type tmpfs (rw,relatime,size=1024k)`);
    const ours = (text: string) => text.split("\n").filter((l) => l.includes(s.dir));
    expect(ours(all.stdout)).toEqual(ours(Bun.spawnSync(["mount"]).stdout.toString())); // util-linux, line for line
    expect(all.stdout).toContain(" type proc (");
    const tmpfsOnly = runCli(["mount", "-t", "tmpfs"]).stdout.split("\n").filter(Boolean);
    expect(tmpfsOnly).toContain(line);
    expect(tmpfsOnly.every((l) => l.includes(" type tmpfs ("))).toBe(true);
    const notTmpfs = runCli(["mount", "-t", "notmpfs"]).stdout;
    expect(notTmpfs).not.toContain(" type tmpfs (");
    expect(notTmpfs).toContain(" type proc (");
    // flags mount(8) takes with the list and has nothing to do with: the same list; options, an operation: a usage error
    for (const flags of [["-v"], ["-n"], ["--fake"], ["-i", "-s", "-c"], ["--no-mtab"], ["-F"], ["-O", "size=1m"], ["--target-prefix", "/x"]]) {
      const listed = runCli(["mount", ...flags, "-t", "tmpfs"]);
      expect([flags, listed.code, listed.stderr]).toEqual([flags, 0, ""]);
      expect(listed.stdout.split("\n").filter(Boolean)).toEqual(tmpfsOnly);
      expect(Bun.spawnSync(["mount", ...flags, "-t", "tmpfs"]).exitCode).toBe(0); // util-linux lists too
    }
    for (const flags of [["-o", "ro"], ["-r"], ["-w"], ["--bind"], ["--make-private"], ["-m"]]) {
      expect([flags, runCli(["mount", ...flags]).code]).toEqual([flags, 1]);
      expect(Bun.spawnSync(["mount", ...flags]).exitCode).toBe(1); // util-linux: bad usage
    }
    expect(runCli(["umount", t, tabbed]).code).toBe(0);
  });

  test("-o X-mount.mkdir[=mode] creates a missing mount point, as mount(8); a failed mount removes it again", () => {
    s = scratch("climkdir");
    const base = dir("base");
    const deep = join(base, "a", "b");
    expect(runCli(["mount", "-t", "tmpfs", "-o", "X-mount.mkdir=0700", "made", deep])).toMatchObject({ code: 0, stderr: "" });
    expect(mountsUnder(deep).map((m) => m.source)).toEqual(["made"]);
    expect(runCli(["umount", deep]).code).toBe(0);
    expect((statSync(join(base, "a")).mode & 0o7777).toString(8)).toBe("700");
    rmSync(join(base, "a"), { recursive: true });

    const failed = runCli(["mount", "-t", "tmpfs", "-o", "X-mount.mkdir,size=nonsense", "bad", deep]);
    expect(failed.code).toBe(32);
    expect(readdirSync(base)).toEqual([]);
    const badMode = runCli(["mount", "-t", "tmpfs", "-o", "X-mount.mkdir=rwx", "bad", deep]);
    expect(badMode.code).toBe(1);
    expect(badMode.stderr).toContain('X-mount.mkdir mode "rwx" is not an octal mode');
    expect(mountsUnder(base)).toEqual([]);
  });

  test("bind -r, remount, propagation flags", () => {
    s = scratch("clibind");
    const src = dir("src");
    const t = dir("t");
    expect(runCli(["mount", "--bind", "-r", src, t]).code).toBe(0);
    expect(mountsUnder(t)[0]!.options).toStartWith("ro");
    expect(runCli(["mount", "-o", "remount,bind,rw", t]).code).toBe(0);
    expect(mountsUnder(t)[0]!.options).toStartWith("rw");
    expect(runCli(["mount", "--make-shared", t]).code).toBe(0);
    expect(mountsUnder(t)[0]!.shared).toBeGreaterThan(0);
    expect(runCli(["umount", "--all-stacked", t]).code).toBe(0);
  });

  test("-o remount names a mount by its source too, as mount(8) finds it in the mount table (umount does the same)", () => {
    s = scratch("cliremountsrc");
    const t = dir("t");
    // a name no path has, unique to this test: no other mount of the table has it as its source
    const name = `remount-src-${s.dir.slice(-6)}`;
    try {
      expect(runCli(["mount", "-t", "tmpfs", name, t]).code).toBe(0);
      const r = runCli(["mount", "-o", "remount,ro", name]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(mountsAt(t)[0]!.options).toStartWith("ro");
    } finally {
      runCli(["umount", "--all-stacked", t]);
    }
    // a name that no mount has stays the kernel's ENOENT, naming it
    const missing = runCli(["mount", "-o", "remount,ro", name]);
    expect(missing.code).toBe(32);
    expect(oneLineError(missing.stderr)).toContain(`ENOENT (No such file or directory) (mount point ${name} does not exist)`);
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("with -o remount, --target names a mount point only and --source a mounted source only, as mount(8) reads them (a name it was not given is never tried)", () => {
    s = scratch("cliremountnamed");
    const t = dir("t");
    const name = `remount-named-${s.dir.slice(-6)}`;
    try {
      expect(runCli(["mount", "-t", "tmpfs", name, t]).code).toBe(0);
      // a mount point with that name does not exist (relative to the working directory): the source is not taken instead
      const asTarget = runCli(["mount", "-o", "remount,ro", "--target", name], { cwd: s.dir });
      expect(asTarget.code).toBe(32);
      expect(oneLineError(asTarget.stderr)).toContain(`ENOENT (No such file or directory) (mount point ${name} does not exist)`);
      // a mount point is no source: refused (exit 1), as mount(8)'s "can't find mount source"
      const asSource = runCli(["mount", "-o", "remount,ro", "--source", t]);
      expect(asSource.code).toBe(1);
      expect(oneLineError(asSource.stderr)).toContain(`remount ${t}: no mount or fstab line has the source ${t}`);
      expect(mountsAt(t)[0]!.options).toStartWith("rw");
      expect(runCli(["mount", "-o", "remount,ro", "--source", name]).code).toBe(0);
      expect(mountsAt(t)[0]!.options).toStartWith("ro");
      expect(runCli(["mount", "-o", "remount,rw", "--target", t]).code).toBe(0);
      expect(mountsAt(t)[0]!.options).toStartWith("rw");
    } finally {
      runCli(["umount", "--all-stacked", t]);
    }
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("-o remount SOURCE TARGET replaces the mount's flags with -o's, as mount(8) (which then reads neither fstab nor the mount table)", () => {
    s = scratch("cliremountpair");
    const t = dir("t");
    try {
      expect(runCli(["mount", "-t", "tmpfs", "-o", "nodev,size=1m", "pair", t]).code).toBe(0);
      const r = runCli(["mount", "-o", "remount,ro,nosuid", "pair", t]);
      expect([r.code, r.stderr]).toEqual([0, ""]);
      expect(mountsAt(t)[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "nosuid"]));
      expect(mountsAt(t)[0]!.options.split(",")).not.toContain("nodev");
      expect(runCli(["mount", "-o", "remount,nodev", "--source", "pair", "--target", t]).code).toBe(0);
      expect(mountsAt(t)[0]!.options.split(",")).toEqual(expect.arrayContaining(["rw", "nodev"]));
      expect(mountsAt(t)[0]!.options.split(",")).not.toContain("nosuid");
      // one operand: the flags not mentioned are kept (the mount table's, as mount(8) reads them)
      expect(runCli(["mount", "-o", "remount,ro", t]).code).toBe(0);
      expect(mountsAt(t)[0]!.options.split(",")).toEqual(expect.arrayContaining(["ro", "nodev"]));
      expect(mountsAt(t)[0]!.superOptions).toContain("size=1024k");
    } finally {
      runCli(["umount", "--all-stacked", t]);
    }
  });

  test("a remount's EINVAL names the option the filesystem refuses, as a new mount's does (before: only that some option was refused)", () => {
    s = scratch("cliremountopt");
    const t = dir("t");
    try {
      expect(runCli(["mount", "-t", "tmpfs", "-o", "size=1m", "x", t]).code).toBe(0);
      for (const [option, said] of [
        ["bogus", "tmpfs: Unknown parameter 'bogus'"],
        ["huge=bogus", "tmpfs: Bad value for 'huge'"],
      ]) {
        const r = runCli(["mount", "-o", `remount,size=2m,${option}`, t]);
        expect(r.code).toBe(32);
        expect(oneLineError(r.stderr)).toBe(`mountkit: remount ${t}: mount(2): EINVAL (Invalid argument) (option ${JSON.stringify(option)} refused by the kernel: ${said})`);
      }
      // nothing changed: the size is the first mount's
      expect(mountsAt(t)[0]!.superOptions).toContain("size=1024k");
    } finally {
      runCli(["umount", "--all-stacked", t]);
    }
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("several --make-* apply in command-line order, as mount(8) applies them", () => {
    s = scratch("climakeorder");
    const [a, b, c] = [dir("a"), dir("b"), dir("c")];
    try {
      expect(runCli(["mount", "-t", "tmpfs", "--make-shared", "x", a]).code).toBe(0);
      expect(runCli(["mount", "--bind", a, b]).code).toBe(0);
      expect(runCli(["mount", "--bind", a, c]).code).toBe(0);
      const group = mountsAt(a)[0]!.shared;
      // slave, then shared: a slave of a's group with a peer group of its own
      expect(runCli(["mount", "--make-slave", "--make-shared", b]).code).toBe(0);
      expect(mountsAt(b)[0]).toMatchObject({ master: group });
      expect(mountsAt(b)[0]!.shared).toBeGreaterThan(0);
      // shared, then slave: a slave alone
      expect(runCli(["mount", "--make-shared", "--make-slave", c]).code).toBe(0);
      expect(mountsAt(c)[0]).toMatchObject({ master: group, shared: undefined });
    } finally {
      for (const t of [c, b, a]) runCli(["umount", "--all-stacked", t]);
    }
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("--dry-run --json prints the plan and mounts nothing", () => {
    s = scratch("clidry");
    const src = dir("src");
    const t = dir("t");
    const r = runCli(["mount", "-n", "--json", "--rbind", "-o", "ro,rprivate", src, t]);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout);
    expect(plan.dryRun).toBe(true);
    // the mount point, as the mount's own --json names it (with one operand: the fstab line's)
    expect(plan.target).toBe(t);
    const fstab = s.path("fstab");
    writeFileSync(fstab, `mk-dry-src ${t} tmpfs size=1m 0 0\n`);
    expect(JSON.parse(runCli(["mount", "-n", "--json", "-T", fstab, "mk-dry-src"]).stdout)).toMatchObject({ dryRun: true, target: t });
    expect(plan.steps.map((st: { args: { flagNames: string } }) => st.args.flagNames)).toEqual([
      "MS_BIND|MS_REC",
      "MS_REC|MS_PRIVATE",
      "MS_RDONLY|MS_REMOUNT|MS_BIND",
    ]);
    expect(plan.steps[0].args).toMatchObject({ source: src, target: t, flags: 0x5000 });
    expect(mountsUnder(t)).toEqual([]);
    const text = runCli(["mount", "--dry-run", "-t", "tmpfs", "-o", "size=1m", "x", t]);
    expect(text.stdout).toBe(`mount("x", ${JSON.stringify(t)}, "tmpfs", 0, "size=1m")\n`);
  });

  test("umount of several targets: 64 when some fail, with a result per target under --json", () => {
    s = scratch("climulti");
    const a = dir("a");
    const b = dir("b");
    runCli(["mount", "-t", "tmpfs", "x", a]);
    const r = runCli(["umount", "--json", a, b]);
    expect(r.code).toBe(64);
    const out = JSON.parse(r.stdout);
    expect(out.results.map((x: { ok: boolean }) => x.ok)).toEqual([true, false]);
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("umount -R", () => {
    s = scratch("clirec");
    const t = dir("t");
    runCli(["mount", "-t", "tmpfs", "x", t]);
    mkdirSync(`${t}/in`);
    runCli(["mount", "-t", "tmpfs", "y", `${t}/in`]);
    expect(runCli(["umount", "-R", t]).code).toBe(0);
    expect(mountsUnder(t)).toEqual([]);
  });
});

describe("bad input: one-line error, the right exit code, nothing mounted", () => {
  const cases: [string, (t: string, d: string) => string[], number, RegExp][] = [
    ["empty type", (t) => ["mount", "-t", "", "x", t], 1, /empty filesystem type/],
    ["unbalanced quote", (t) => ["mount", "-t", "tmpfs", "-o", 'size="1m', "x", t], 1, /unbalanced double quote/],
    ["data longer than a page", (t) => ["mount", "-t", "tmpfs", "-o", `x=${"a".repeat(5000)}`, "x", t], 1, /more than the \d+-byte page/],
    // a missing device or a directory with no type: a mount failure, as mount(8)'s (32), not bad usage
    ["no type", (t) => ["mount", "/dev/nothing", t], 32, /special device \/dev\/nothing does not exist \(with no type given/],
    ["no type, a directory", (t, d) => ["mount", d, t], 32, /no filesystem type given, and .* is no block device or image file/],
    ["target missing", (_t, d) => ["mount", "-t", "tmpfs", "x", `${d}/missing`], 32, /ENOENT.*mount point .* does not exist/],
    ["bind source missing", (t, d) => ["mount", "--bind", `${d}/nosrc`, t], 32, /ENOENT.*source .* does not exist/],
    // a -t starting with "no" is mount(8)'s excluding pattern: -t nosuchfs is "any type but suchfs"
    ["unknown fs type", (t) => ["mount", "-t", "bogusfs", "x", t], 32, /ENODEV/],
    // mount(2)'s EINVAL names no option: the kernel's own word on it, asked through fsconfig
    ["a value the filesystem refuses", (t) => ["mount", "-t", "tmpfs", "-o", "size=1m,huge=bogus", "x", t], 32, /mount\(2\): EINVAL \(Invalid argument\) \(option "huge=bogus" refused by the kernel: tmpfs: Bad value for 'huge'\)$/],
    ["an option the filesystem does not know", (t) => ["mount", "-t", "tmpfs", "-o", "nosuchopt", "x", t], 32, /\(option "nosuchopt" refused by the kernel: tmpfs: Unknown parameter 'nosuchopt'\)$/],
    // t is a plain directory: mount(8)'s "not mount point or bad option", said which
    ["remount of no mount point", (t) => ["mount", "-o", "remount,ro", t], 32, /^mountkit: remount .*: mount\(2\): EINVAL \(Invalid argument\) \(.* is not a mount point: a remount or a propagation change acts on a mount\)$/],
    ["propagation of no mount point", (t) => ["mount", "--make-private", t], 32, /^mountkit: change the propagation of .*: mount\(2\): EINVAL \(Invalid argument\) \(.* is not a mount point: a remount or a propagation change acts on a mount\)$/],
    ["a message that ends in newlines", (t) => ["mount", "-t", "proc", "-o", "hidepid=9", "x", t], 32, /\(option "hidepid=9" refused by the kernel: proc: unknown value of hidepid - 9\)$/],
    ["target path with a newline", (_t, d) => ["mount", "-t", "tmpfs", "x", `${d}/no\nsuch`], 32, /"[^"]*no\\nsuch".*does not exist/],
    // mount(8)'s "bad usage": the type would be ignored (mountkit bound d, silently)
    ["--bind with -t TYPE", (t, d) => ["mount", "--bind", "-t", "tmpfs", d, t], 1, /^mountkit: mount: --bind does not go with -t tmpfs: a bind mount has its source's filesystem/],
    ["MOUNTKIT_STRATEGY invalid", (t) => ["mount", "-t", "tmpfs", "x", t], 1, /MOUNTKIT_STRATEGY/],
  ];
  for (const [name, args, code, message] of cases) {
    test(name, () => {
      s = scratch("clibad");
      const t = dir("t");
      const env = name.startsWith("MOUNTKIT") ? { ...process.env, MOUNTKIT_STRATEGY: "turbo" } : undefined;
      const r = runCli(args(t, s.dir), env ? { env } : {});
      expect(r.code).toBe(code);
      expect(oneLineError(r.stderr)).toMatch(message);
      expect(r.stdout).toBe("");
      expect(mountsUnder(s.dir)).toEqual([]);
    });
  }

  test("a hint names the side at fault: a bind's file/directory mismatch, a relative source that is missing, a dangling symlink mount point", () => {
    s = scratch("clihint");
    dir("d");
    writeFileSync(s.path("f"), "");
    symlinkSync("nowhere", s.path("link"));
    const cases: [string[], RegExp][] = [
      // the kernel's ENOTDIR either way round; d is a directory, so "mount point d is not a directory" misled
      [["--bind", "f", "d"], /mount\(2\): ENOTDIR \(Not a directory\) \(a bind mounts a directory on a directory and a file on a file: source f is no directory, mount point d a directory\)$/],
      [["--bind", "d", "f"], /ENOTDIR .*\(a bind mounts a directory on a directory and a file on a file: source d is a directory, mount point f no directory\)$/],
      [["--bind", "f/x", "d"], /ENOTDIR .*\(a path component of source f\/x is not a directory\)$/],
      // a relative bind source had no hint at all
      [["--bind", "nosrc", "d"], /mount\(2\): ENOENT \(No such file or directory\) \(source nosrc does not exist\)$/],
      [["-t", "ext4", "nodev", "d"], /mount\(2\): ENOENT \(No such file or directory\) \(source nodev does not exist\)$/],
      [["-t", "tmpfs", "x", "link"], /ENOENT .*\(mount point link is a symbolic link to nowhere\)$/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(["mount", ...args], { cwd: s.dir });
      expect([args, r.code]).toEqual([args, 32]);
      expect(oneLineError(r.stderr)).toMatch(message);
    }
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("--json puts the error object on stdout too", () => {
    s = scratch("clijson");
    const r = runCli(["mount", "--json", "-t", "bogusfs", "x", dir("t")]);
    expect(r.code).toBe(32);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, exitCode: 32, error: { kind: "syscall", errnoName: "ENODEV", syscall: "mount(2)" } });
  });
});

describe("awkward paths", () => {
  test("spaces, tabs, backslashes and newlines mount and show in findmnt --json", () => {
    s = scratch("cliawk");
    for (const name of ["with space", "with\ttab", "back\\slash", "new\nline"]) {
      const t = dir(name);
      expect(runCli(["mount", "-t", "tmpfs", `src ${name}`, t]).code).toBe(0);
      const fs = JSON.parse(runCli(["findmnt", "--json", t]).stdout).filesystems;
      expect(fs).toHaveLength(1);
      expect(fs[0].target).toBe(t);
      expect(fs[0].source).toBe(`src ${name}`);
      expect(runCli(["umount", t]).code).toBe(0);
    }
  });
});

describe("findmnt", () => {
  test("--mountinfo FILE reads a saved table; PATH picks the top of a stack", () => {
    s = scratch("clifm");
    const file = join(s.dir, "mountinfo");
    writeFileSync(
      file,
      [
        "1 0 8:1 / / rw - ext4 /dev/sda1 rw",
        "20 1 0:30 / /data rw,nosuid shared:7 - tmpfs one rw",
        "21 20 0:31 / /data rw - tmpfs two rw,size=1024k",
        "22 1 0:32 / /data\\040x rw - tmpfs three rw",
        "",
      ].join("\n"),
    );
    const all = JSON.parse(runCli(["findmnt", "--json", "--mountinfo", file]).stdout).filesystems;
    expect(all.map((m: { target: string }) => m.target)).toEqual(["/", "/data", "/data", "/data x"]);
    const one = JSON.parse(runCli(["findmnt", "--json", "--mountinfo", file, "/data/deep/file"]).stdout).filesystems;
    expect(one).toEqual([
      { id: 21, parent: 20, "maj:min": "0:31", fsroot: "/", target: "/data", source: "two", fstype: "tmpfs", "vfs-options": "rw", "fs-options": "rw,size=1024k", propagation: "private" },
    ]);
  });

  test("-o COLUMNS, -n, -r (the scripting forms: findmnt -rno SOURCE /); an unknown column is bad usage", () => {
    s = scratch("clifmcols");
    const file = join(s.dir, "mountinfo");
    writeFileSync(file, ["1 0 8:1 / / rw - ext4 /dev/sda1 rw", "20 1 0:30 / /my\\040data rw shared:7 - tmpfs my\\040src rw", ""].join("\n"));
    expect(runCli(["findmnt", "--mountinfo", file, "-rno", "SOURCE", "/"]).stdout).toBe("/dev/sda1\n");
    expect(runCli(["findmnt", "--mountinfo", file, "-r", "-o", "target,source,id"]).stdout).toBe("TARGET SOURCE ID\n/ /dev/sda1 1\n/my\\x20data my\\x20src 20\n");
    // every column at least as wide as its header, printed or not (findmnt -F of this table -k prints these bytes)
    expect(runCli(["findmnt", "--mountinfo", file, "-n", "-o", "ID,FSTYPE,PROPAGATION"]).stdout).toBe(" 1 ext4   private\n20 tmpfs  shared\n");
    expect(JSON.parse(runCli(["findmnt", "--mountinfo", file, "-J", "-o", "TARGET,MAJ:MIN", "/my data"]).stdout)).toEqual({
      filesystems: [{ target: "/my data", "maj:min": "0:30" }],
    });
    const bad = runCli(["findmnt", "-o", "TARGET,SIZES"]);
    expect(bad.code).toBe(1);
    expect(oneLineError(bad.stderr)).toMatch(/unknown column: SIZES/);
  });

  test("a malformed line of a saved table is a warning naming the file and line, and is left out (as findmnt -F does); a table of none is exit 1", () => {
    s = scratch("clifmbad");
    const file = join(s.dir, "mountinfo");
    writeFileSync(file, "1 0 8:1 / / rw - ext4 /dev/sda1 rw\nnot a mountinfo line\n");
    const r = runCli(["findmnt", "--mountinfo", file, "-rn", "-o", "TARGET,SOURCE"]);
    expect([r.code, r.stdout]).toEqual([0, "/ /dev/sda1\n"]);
    expect(r.stderr).toBe(`mountkit: findmnt: warning: ${file}: line 2: expected at least 10 space-separated fields, found 4: "not a mountinfo line" (line ignored)\n`);
    writeFileSync(file, "not a mountinfo line\n");
    const none = runCli(["findmnt", "--mountinfo", file]);
    expect([none.code, none.stdout]).toEqual([1, ""]);
    expect(none.stderr).toContain("line 1:");
  });
});

describe("features", () => {
  test("--json names the facts and the strategy; MOUNTKIT_STRATEGY forces it", () => {
    const facts = JSON.parse(runCli(["features", "--json"]).stdout);
    expect(facts).toMatchObject({ mountApi: true, strategy: "fd", strategySource: "kernel" });
    const forced = JSON.parse(runCli(["features", "--json"], { env: { ...process.env, MOUNTKIT_STRATEGY: "legacy" } }).stdout);
    expect(forced).toMatchObject({ strategy: "legacy", strategySource: "environment" });
  });

  test("a MOUNTKIT_STRATEGY that is neither fd nor legacy is bad input: exit 1, one line naming it, nothing done, in every form of mount and umount", () => {
    s = scratch("clistrategy");
    const t = dir("t");
    expect(runCli(["mount", "-t", "tmpfs", "strategy", t]).code).toBe(0);
    const bad = { env: { ...process.env, MOUNTKIT_STRATEGY: "bogus" } };
    const said = 'mountkit: MOUNTKIT_STRATEGY: expected "fd" or "legacy", got "bogus"\n';
    // umount and loop detach took it for each operand's failure (exit 32), and umount -R for an internal error (exit 2)
    const forms = [
      ["umount", t], ["umount", "-R", t], ["umount", "-A", t], ["umount", "--all-stacked", t], ["umount", "-R", t, dir("u")],
      ["mount", "-t", "tmpfs", "x", dir("u")], ["loop", "detach", "/dev/loop999999"], ["loop", "set-capacity", "/dev/loop999999"], ["features"],
    ];
    for (const args of forms) {
      expect({ args, ...runCli(args, bad) }).toEqual({ args, code: 1, stdout: "", stderr: said });
      const json = runCli([...args, "--json"], bad);
      expect({ args, code: json.code, stderr: json.stderr }).toEqual({ args, code: 1, stderr: said });
      expect(JSON.parse(json.stdout)).toEqual({ ok: false, exitCode: 1, error: { kind: "plan", message: said.slice("mountkit: ".length, -1) } });
    }
    expect(mountsUnder(s.dir).map((m) => m.source)).toEqual(["strategy"]);
    expect(runCli(["umount", t]).code).toBe(0);
  });

  test("an operand is refused (it was ignored): exit 1", () => {
    const r = runCli(["features", "extra"]);
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toBe("mountkit: features: takes no operands, got extra (usage: mountkit features [--json] [--options])\n");
  });

  test("an empty operand, or one with a space, is named so that it shows (it read 'got  (usage...')", () => {
    for (const [command, usage] of [
      ["features", "mountkit features [--json] [--options]"],
      ["cleanup", "mountkit cleanup [--temp-dir DIR] [--include-running] [-v] [--json]"],
    ] as const) {
      const r = runCli([command, "", "a b"]);
      expect(r).toMatchObject({ code: 1, stdout: "" });
      expect(r.stderr).toBe(`mountkit: ${command}: takes no operands, got "" "a b" (usage: ${usage})\n`);
    }
  });
});

describe("the single binary", () => {
  test("multi-call: links named mount and umount behave as those commands", () => {
    s = scratch("climulticall");
    const links = dir("bin");
    symlinkSync(BINARY, join(links, "mount"));
    symlinkSync(BINARY, join(links, "umount"));
    const t = dir("t");
    expect(runCli(["-t", "tmpfs", "viaLink", t], { bin: join(links, "mount") }).code).toBe(0);
    expect(mountsUnder(t)[0]!.source).toBe("viaLink");
    expect(runCli([t], { bin: join(links, "umount") }).code).toBe(0);
    expect(mountsUnder(t)).toEqual([]);
    // scripts ask `mount -V` (`umount -V`) which mount they have: the version, not "unknown option" (exit 1)
    for (const flag of ["-V", "--version"]) {
      expect(runCli([flag], { bin: join(links, "mount") })).toEqual({ code: 0, stdout: `mountkit ${VERSION}\n`, stderr: "" });
      expect(runCli(["mount", flag])).toEqual({ code: 0, stdout: `mountkit ${VERSION}\n`, stderr: "" });
      expect(runCli([flag], { bin: join(links, "umount") })).toEqual({ code: 0, stdout: `mountkit ${VERSION}\n`, stderr: "" });
      expect(runCli(["umount", flag])).toEqual({ code: 0, stdout: `mountkit ${VERSION}\n`, stderr: "" });
    }
    // --help names the command as it was invoked (the umount link's said "mountkit umount")
    for (const name of ["mount", "umount"]) {
      const help = runCli(["--help"], { bin: join(links, name) });
      expect(help.code).toBe(0);
      const usage = help.stdout.split("\n").filter((line) => /^(Usage:| {7}\S)/.test(line));
      expect(usage.length).toBeGreaterThan(1);
      for (const line of usage) expect(line).toMatch(new RegExp(`^(Usage:| {6}) ${name} `));
    }
  });

  test("multi-call: as mount(8), -n is --no-mtab (it mounts) and -f is the dry run; mountkit mount -n stays the dry run", () => {
    s = scratch("climount8");
    const links = dir("bin");
    const mount8 = join(links, "mount");
    const umount8 = join(links, "umount");
    symlinkSync(BINARY, mount8);
    symlinkSync(BINARY, umount8);
    const t = dir("t");
    // an init script's line: it must mount, not print a plan
    expect(runCli(["-n", "-t", "tmpfs", "-o", "size=1m", "initScript", t], { bin: mount8 })).toMatchObject({ code: 0, stdout: "", stderr: "" });
    expect(mountsUnder(t).map((m) => m.source)).toEqual(["initScript"]);
    expect(runCli(["-n", "-o", "remount,ro", t], { bin: mount8 }).code).toBe(0);
    expect(mountsUnder(t)[0]!.options.split(",")).toContain("ro");
    expect(runCli(["--no-mtab", t], { bin: umount8 }).code).toBe(0);
    expect(runCli(["-nv", "-t", "tmpfs", "clustered", t], { bin: mount8 }).code).toBe(0);
    expect(runCli(["-n", t], { bin: umount8 }).code).toBe(0);
    expect(mountsUnder(t)).toEqual([]);

    const fake = runCli(["-f", "-v", "-t", "tmpfs", "faked", t], { bin: mount8 });
    expect(fake).toMatchObject({ code: 0, stdout: `mount("faked", ${JSON.stringify(t)}, "tmpfs", 0, NULL)\n` });
    expect(runCli(["--help"], { bin: mount8 }).stdout).toContain("-f, --dry-run");
    const dry = runCli(["mount", "-n", "-t", "tmpfs", "dry", t]);
    expect(dry).toMatchObject({ code: 0, stdout: `mount("dry", ${JSON.stringify(t)}, "tmpfs", 0, NULL)\n` });
    expect(mountsUnder(t)).toEqual([]);
  });

  test("multi-call: mount(8)'s -f is silent unless -v (init scripts record mounts with it), and succeeds on a missing device or a directory given no type; mountkit mount -n prints and checks", () => {
    s = scratch("climount8fake");
    const mount8 = join(dir("bin"), "mount");
    symlinkSync(BINARY, mount8);
    const t = dir("t");
    const plan = `mount("faked", ${JSON.stringify(t)}, "tmpfs", 0, NULL)\n`;
    for (const fake of [["-f"], ["--fake"], ["--dry-run"]]) {
      expect(runCli([...fake, "-t", "tmpfs", "faked", t], { bin: mount8 })).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(runCli([...fake, "-v", "-t", "tmpfs", "faked", t], { bin: mount8 })).toEqual({ code: 0, stdout: plan, stderr: "" });
    }
    for (const fake of [["-n"], ["--dry-run"], ["--fake"]]) {
      expect(runCli(["mount", ...fake, "-t", "tmpfs", "faked", t])).toEqual({ code: 0, stdout: plan, stderr: "" });
    }
    // --json prints the plan either way
    for (const run of [runCli(["-f", "--json", "-t", "tmpfs", "faked", t], { bin: mount8 }), runCli(["mount", "-n", "--json", "-t", "tmpfs", "faked", t])]) {
      expect(run.code).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ ok: true, dryRun: true, steps: [{ op: "mount", args: { source: "faked", target: t, fstype: "tmpfs" } }] });
    }
    // one operand (the fstab line) and -a: as silent
    const fstab = s.path("fstab");
    writeFileSync(fstab, `fstabFaked ${t} tmpfs size=1m 0 0\n`);
    expect(runCli(["-f", "-T", fstab, t], { bin: mount8 })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(runCli(["-f", "-a", "-T", fstab], { bin: mount8 })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(runCli(["-f", "-a", "-v", "-T", fstab], { bin: mount8 }).stdout).toContain(`mount("fstabFaked", ${JSON.stringify(t)}, "tmpfs", 0, "size=1m")`);
    expect(runCli(["mount", "-n", "-a", "-T", fstab]).stdout).toContain(`mount("fstabFaked", ${JSON.stringify(t)}, "tmpfs", 0, "size=1m")`);

    // a missing device, no type: util-linux's mount -f makes nothing and succeeds; the plan reads its type then
    const missing = s.path("no-such-device");
    expect(runCli(["-f", missing, t], { bin: mount8 })).toEqual({ code: 0, stdout: "", stderr: "" });
    writeFileSync(fstab, `${missing} ${t} auto defaults 0 0\n`);
    expect(runCli(["-f", "-T", fstab, t], { bin: mount8 })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(runCli(["-f", "-a", "-T", fstab], { bin: mount8 })).toEqual({ code: 0, stdout: "", stderr: "" });
    const verbose = runCli(["-f", "-v", missing, t], { bin: mount8 });
    expect(verbose.code).toBe(0);
    expect(verbose.stdout).toContain(`mount(${JSON.stringify(missing)}, ${JSON.stringify(t)}, <type from the superblock>`);
    // mountkit's dry run is a check: it reports the missing device, as the mount would
    const checked = runCli(["mount", "-n", missing, t]);
    expect(checked.code).toBe(32);
    expect(oneLineError(checked.stderr)).toContain("does not exist");
    // a directory given no type: util-linux's mount -f reads no type there either, and succeeds; mountkit mount -n refuses it
    const directory = dir("no-device");
    expect(runCli(["-f", directory, t], { bin: mount8 })).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(runCli(["-f", "-v", directory, t], { bin: mount8 }).stdout).toContain(`mount(${JSON.stringify(directory)}, ${JSON.stringify(t)}, <type from the superblock>`);
    expect(oneLineError(runCli(["mount", "-n", directory, t]).stderr)).toContain(`no filesystem type given, and ${directory} is no block device or image file`);
    // what the fake cannot name stays an error, as util-linux's: no device has the label
    expect(runCli(["-f", "LABEL=mountkit-no-such-label", t], { bin: mount8 }).code).toBe(1);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("no type and no source: mount(8) tries each type and exits 32, so does the mount link; mountkit mount refuses the input, exit 1", () => {
    s = scratch("climount8empty");
    const mount8 = join(dir("bin"), "mount");
    symlinkSync(BINARY, mount8);
    const t = dir("t");
    const refusal = `mountkit: mount "" on ${t}: no filesystem type given, and no source to read it from (give one with -t TYPE (or --bind for a bind mount))`;
    for (const typeArgs of [[], ["-t", "auto"], ["-t", "none"]]) {
      // util-linux's on this machine: "wrong fs type, bad option, bad superblock on , ..." after a mount(2) per type
      expect(Bun.spawnSync(["mount", ...typeArgs, "", t]).exitCode).toBe(32);
      const viaLink = runCli([...typeArgs, "", t], { bin: mount8 });
      expect(viaLink.code).toBe(32);
      const own = runCli(["mount", ...typeArgs, "", t]);
      expect(own.code).toBe(1);
      if (typeArgs.length === 0) {
        expect(oneLineError(viaLink.stderr)).toBe(refusal);
        expect(oneLineError(own.stderr)).toBe(refusal);
      }
    }
    // a propagation flag with another on one operand is no change of the mount there: mount(8)
    // mounts "none" on it with no type, which fails
    expect(Bun.spawnSync(["mount", "--make-shared", "-o", "ro", t]).exitCode).toBe(32);
    expect(runCli(["--make-shared", "-o", "ro", t], { bin: mount8 }).code).toBe(32);
    expect(runCli(["mount", "--make-shared", "-o", "ro", t]).code).toBe(1);
    const json = runCli(["--json", "", t], { bin: mount8 });
    expect(json.code).toBe(32);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, exitCode: 32, error: { kind: "plan" } });
    // the fake tries nothing (util-linux's succeeds): the link's keeps refusing the input, exit 1
    expect(runCli(["-f", "", t], { bin: mount8 }).code).toBe(1);
    expect(mountsUnder(t)).toEqual([]);
  });

  test("reads no bunfig.toml, .env, package.json or tsconfig.json from its working directory (a preload there would run as root)", () => {
    const cwd = mkdtempSync(join(tmpdir(), "mountkit-test-cwd-"));
    try {
      const marker = join(cwd, "preloaded");
      writeFileSync(join(cwd, "evil.js"), `require("fs").writeFileSync(${JSON.stringify(marker)}, "ran");\n`);
      writeFileSync(join(cwd, "bunfig.toml"), 'preload = ["./evil.js"]\n[run]\nbun = true\n');
      writeFileSync(join(cwd, ".env"), "MOUNTKIT_STRATEGY=bogus\nMOUNTKIT_TMPDIR=/nonexistent\n");
      writeFileSync(join(cwd, ".env.production"), "MOUNTKIT_STRATEGY=bogus\n");
      writeFileSync(join(cwd, "package.json"), '{"type": "commonjs", "imports": {"#x": "./evil.js"}}\n');
      writeFileSync(join(cwd, "tsconfig.json"), '{"compilerOptions": {"paths": {"*": ["./evil.js"]}}}\n');
      const env = { ...process.env };
      delete env.MOUNTKIT_STRATEGY;
      delete env.MOUNTKIT_TMPDIR;
      const proc = Bun.spawnSync([BINARY, "features", "--json"], { cwd, env });
      expect(proc.stderr.toString()).toBe("");
      expect(proc.exitCode).toBe(0);
      expect(JSON.parse(proc.stdout.toString()).strategySource).toBe("kernel"); // not the .env's MOUNTKIT_STRATEGY
      expect(readdirSync(cwd).sort()).toEqual([".env", ".env.production", "bunfig.toml", "evil.js", "package.json", "tsconfig.json"]);
      // the same files do reach a program that reads them: the test's files are live
      const bun = Bun.spawnSync([process.execPath, "-e", "console.log(process.env.MOUNTKIT_STRATEGY)"], { cwd, env });
      expect(bun.stdout.toString()).toBe("bogus\n");
      expect(readdirSync(cwd)).toContain("preloaded");
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });

  test("runs from a temp dir with an empty environment (no PATH, no bun, node or npm)", () => {
    const home = mkdtempSync(join(tmpdir(), "mountkit-test-bare-"));
    s = scratch("clibare");
    try {
      const bin = join(home, "mountkit");
      copyFileSync(BINARY, bin);
      Bun.spawnSync(["chmod", "755", bin]);
      expect(runCli(["--version"], { bin, env: {} }).stdout).toBe(`mountkit ${VERSION}\n`);
      const t = dir("t");
      expect(runCli(["mount", "-t", "tmpfs", "bare", t], { bin, env: { PATH: "" } }).code).toBe(0);
      expect(mountsUnder(t)[0]!.source).toBe("bare");
      expect(runCli(["umount", t], { bin, env: { PATH: "" } }).code).toBe(0);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
