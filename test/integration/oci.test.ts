// apply of an OCI config.json shaped like `runc spec` output, in a runtime bundle layout
// (bundle/config.json, bundle/rootfs). Real proc, tmpfs, devpts, mqueue, sysfs, cgroup2 and
// binds, in the test's private mount namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Errno } from "../../src/errno.ts";
import { exitCodeFor, ExitCode, SyscallError } from "../../src/errors.ts";
import { applyText, planApply } from "../../src/ops/apply.ts";
import type { BatchOutcome } from "../../src/ops/batch.ts";
import { mount } from "../../src/ops/mount.ts";
import { unmountAll, unmountRecursive } from "../../src/ops/unmount.ts";
import { ROOT_READONLY_NOT_APPLIED } from "../../src/plan/apply-input.ts";
import { withMountsFromText } from "../../src/ops/with-mounts.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { runCli } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

const FIXTURE = join(import.meta.dir, "../fixtures/oci-bundle/config.json");
let s: ReturnType<typeof scratch>;
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
  s.dispose();
});
const mountinfoText = () => readFileSync("/proc/self/mountinfo", "utf8");

/** A bundle as runtimes see it: config.json, rootfs/ (with /var/run -> /run), bind sources. */
function bundle(configText?: string) {
  s = scratch("oci");
  const dir = s.dir;
  const config = join(dir, "config.json");
  if (configText === undefined) copyFileSync(FIXTURE, config);
  else writeFileSync(config, configText);
  const rootfs = join(dir, "rootfs");
  for (const d of ["etc", "var", "proc", "sys"]) mkdirSync(join(rootfs, d), { recursive: true });
  symlinkSync("/run", join(rootfs, "var/run")); // as in most distribution images
  writeFileSync(join(dir, "hostname"), "runc\n");
  mkdirSync(join(dir, "data/sub"), { recursive: true });
  writeFileSync(join(dir, "data/file"), "data");
  mkdirSync(join(dir, "secrets"));
  writeFileSync(join(dir, "secrets/token"), "t0ken");
  // a submount in the data source: rbind must bring it along
  mount({ type: "tmpfs", source: "data-sub", options: [] }, join(dir, "data/sub"));
  cleanups.push(() => unmountAll(join(dir, "data/sub")));
  return { dir, config, rootfs };
}

/** A config.json text with these mounts and root.path "rootfs". */
const configWith = (mounts: object[]) => JSON.stringify({ ociVersion: "1.0.2", root: { path: "rootfs" }, mounts });

/** Every path under dir with its kind, without following links: the tree a rollback restores. */
function tree(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix))
    .sort()
    .flatMap((name) => {
      const rel = join(prefix, name);
      const st = lstatSync(join(dir, rel));
      const kind = st.isSymbolicLink() ? "link" : st.isDirectory() ? "dir" : "file";
      return [`${kind} ${rel}`, ...(kind === "dir" ? tree(dir, rel) : [])];
    });
}

const releaseAfter = <T extends BatchOutcome>(b: T): T => {
  cleanups.push(() => b.release());
  return b;
};

describe("apply an OCI config.json from a runc bundle", () => {
  test("every mount lands inside rootfs with its options; release restores table and tree", () => {
    const b = bundle();
    const before = mountinfoText();
    const treeBefore = tree(b.rootfs);
    const outcome = releaseAfter(applyText(readFileSync(b.config, "utf8"), { file: b.config }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.root).toBe(b.rootfs);

    const rel = (p: string) => p.slice(b.rootfs.length) || "/";
    const mounts = mountsUnder(b.rootfs);
    expect(mounts.map((m) => [rel(m.mountpoint), m.fstype])).toEqual([
      ["/proc", "proc"],
      ["/dev", "tmpfs"],
      ["/dev/pts", "devpts"],
      ["/dev/shm", "tmpfs"],
      ["/dev/mqueue", "mqueue"],
      ["/sys", "sysfs"],
      ["/sys/fs/cgroup", "cgroup2"],
      ["/etc/hostname", mounts[7]!.fstype],
      ["/data", mounts[8]!.fstype],
      ["/data/sub", "tmpfs"], // rbind brought the submount
      ["/run/secrets", mounts[10]!.fstype], // /var/run -> /run, resolved inside rootfs
    ]);
    const at = (p: string) => mounts.find((m) => rel(m.mountpoint) === p)!;
    const opts = (p: string) => at(p).options.split(",");
    expect(opts("/dev")).toEqual(["rw", "nosuid"]); // strictatime: the kernel prints neither relatime nor noatime
    expect(at("/dev").superOptions).toContain("size=65536k");
    expect(at("/dev").superOptions).toContain("mode=755");
    expect(opts("/dev/pts")).toEqual(expect.arrayContaining(["nosuid", "noexec"]));
    expect(at("/dev/pts").superOptions).toBe("rw,gid=5,mode=620,ptmxmode=666");
    expect(at("/dev/shm").superOptions).toBe("rw,size=65536k"); // tmpfs does not print its default mode
    expect(statSync(join(b.rootfs, "dev/shm")).mode & 0o7777).toBe(0o1777);
    expect(opts("/dev/mqueue")).toEqual(expect.arrayContaining(["nosuid", "nodev", "noexec"]));
    expect(opts("/sys")).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec"]));
    expect(opts("/sys/fs/cgroup")).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev", "noexec", "relatime"]));
    expect(opts("/etc/hostname")).toEqual(expect.arrayContaining(["ro", "nosuid"]));
    expect(opts("/data")).toContain("nosuid");
    expect(at("/data").shared).toBeUndefined(); // rprivate
    expect(opts("/run/secrets")).toEqual(expect.arrayContaining(["ro", "nosuid", "nodev"]));

    expect(readFileSync(join(b.rootfs, "etc/hostname"), "utf8")).toBe("runc\n");
    expect(readFileSync(join(b.rootfs, "proc/self/status"), "utf8")).toContain("Pid:");
    expect(existsSync(join(b.rootfs, "sys/kernel"))).toBe(true);
    expect(readFileSync(join(b.rootfs, "run/secrets/token"), "utf8")).toBe("t0ken");
    expect(mountsUnder("/run/secrets")).toEqual([]); // never the host's /run
    expect(existsSync("/run/secrets/token")).toBe(false);

    outcome.release();
    expect(mountinfoText()).toBe(before);
    expect(tree(b.rootfs)).toEqual(treeBefore); // created targets (dev, etc/hostname, run/...) gone
  });

  test("runc's own cgroup entry (cgroup v1, no controllers) fails on this host; everything is rolled back", () => {
    // The host mounts each cgroup v1 controller on its own hierarchy under /sys/fs/cgroup; a
    // "cgroup" mount naming no controllers asks for all of them in one hierarchy, which the
    // kernel refuses (EBUSY). runc does not mount it either: it bind-mounts the host's
    // hierarchies. That is runtime policy, not a mount; see docs/apply.md.
    const text = readFileSync(FIXTURE, "utf8").replace('"type": "cgroup2"', '"type": "cgroup"');
    const b = bundle(text);
    const before = mountinfoText();
    const treeBefore = tree(b.rootfs);
    const outcome = applyText(text, { file: b.config });
    cleanups.push(() => outcome.release());
    expect(outcome.error).toBeInstanceOf(SyscallError);
    const err = outcome.error as SyscallError;
    expect(err.errno).toBe(Errno.EBUSY);
    expect(err.message).toStartWith(`apply: entry 7 (/sys/fs/cgroup): mount cgroup on ${b.rootfs}/sys/fs/cgroup: mount(2): EBUSY`);
    expect(outcome.results.map((r) => r.status)).toEqual([...Array(6).fill("rolled-back"), "failed"]);
    expect(mountinfoText()).toBe(before);
    expect(tree(b.rootfs)).toEqual(treeBefore);
  });

  test("dry run: every entry's plan, nothing mounted or created", () => {
    const b = bundle();
    const before = mountinfoText();
    const treeBefore = tree(b.rootfs);
    const { request, entries } = planApply(readFileSync(b.config, "utf8"), { file: b.config });
    expect(request.input.format).toBe("oci");
    expect(entries.map((e) => e.target.slice(b.rootfs.length))).toEqual([
      "/proc",
      "/dev",
      "/dev/pts",
      "/dev/shm",
      "/dev/mqueue",
      "/sys",
      "/sys/fs/cgroup",
      "/etc/hostname",
      "/data",
      "/run/secrets",
    ]);
    expect(entries[7]!.plan.steps.map((st) => st.op === "mount" && st.role)).toEqual(["bind", "bind-remount"]);
    expect(mountinfoText()).toBe(before);
    expect(tree(b.rootfs)).toEqual(treeBefore);
  });

  test("a config without root.path and no --root is refused before anything is made (no fallback to this system's /); with --root it mounts there", () => {
    const b = bundle(JSON.stringify({ ociVersion: "1.0.2", mounts: [{ destination: "/mountkit-oci-no-root", type: "tmpfs", source: "tmpfs" }] }));
    const before = mountinfoText();
    expect(() => applyText(readFileSync(b.config, "utf8"), { file: b.config })).toThrow(
      `apply ${b.config}: the OCI config has no "root" (root.path), and no --root was given`,
    );
    expect(existsSync("/mountkit-oci-no-root")).toBe(false);
    expect(mountinfoText()).toBe(before);
    // the same document with an explicit root goes there
    const outcome = applyText(readFileSync(b.config, "utf8"), { file: b.config, root: b.rootfs });
    cleanups.push(() => outcome.release());
    expect(outcome.results.map((r) => r.status)).toEqual(["mounted"]);
    expect(mountsUnder(b.rootfs).map((m) => m.mountpoint)).toEqual([`${b.rootfs}/mountkit-oci-no-root`]);
  });

  test("root.readonly is said not to be applied, on stderr, by a real run and a dry run; the mounts are made and the root stays writable", () => {
    const b = bundle(JSON.stringify({ ociVersion: "1.0.2", root: { path: "rootfs", readonly: true }, mounts: [{ destination: "/tmp", type: "tmpfs", source: "tmpfs" }] }));
    const warning = `mountkit: apply: ${ROOT_READONLY_NOT_APPLIED}\n`;
    expect(runCli(["apply", "-n", b.config])).toMatchObject({ code: 0, stderr: warning });
    const before = mountinfoText();
    const run = runCli(["apply", b.config]);
    cleanups.push(() => unmountRecursive(b.rootfs));
    expect(run).toMatchObject({ code: 0, stderr: warning });
    expect(mountsUnder(b.rootfs).map((m) => m.mountpoint)).toEqual([`${b.rootfs}/tmp`]);
    writeFileSync(join(b.rootfs, "etc/still-writable"), "x");
    unmountRecursive(b.rootfs);
    expect(mountinfoText()).toBe(before);
  });

  test("a relative destination (deprecated, still valid) is relative to the container's /: mounted inside rootfs", () => {
    const b = bundle(
      configWith([
        { destination: "etc/relative", type: "tmpfs", source: "tmpfs" },
        { destination: "data", type: "bind", source: "data", options: ["rbind", "ro"] },
      ]),
    );
    const before = mountinfoText();
    const outcome = releaseAfter(applyText(readFileSync(b.config, "utf8"), { file: b.config }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.results.map((r) => r.where)).toEqual(["entry 1 (etc/relative)", "entry 2 (data)"]);
    expect(mountsUnder(b.rootfs).map((m) => m.mountpoint)).toEqual([`${b.rootfs}/etc/relative`, `${b.rootfs}/data`, `${b.rootfs}/data/sub`]);
    expect(readFileSync(join(b.rootfs, "data/file"), "utf8")).toBe("data");
    outcome.release();
    expect(mountinfoText()).toBe(before);
  });

  test("runc's tmpcopyup: the tmpfs on /etc starts with what the rootfs has there; release leaves the rootfs as it was", () => {
    const b = bundle(
      JSON.stringify({
        ociVersion: "1.0.2",
        root: { path: "rootfs" },
        mounts: [
          { destination: "/proc", type: "proc", source: "proc" },
          { destination: "/etc", type: "tmpfs", source: "tmpfs", options: ["nosuid", "tmpcopyup"] },
        ],
      }),
    );
    writeFileSync(join(b.rootfs, "etc/hostname"), "image\n");
    const before = mountinfoText();
    const treeBefore = tree(b.rootfs);
    const outcome = releaseAfter(applyText(readFileSync(b.config, "utf8"), { file: b.config }));
    expect(outcome.error).toBeUndefined();
    expect(mountsUnder(b.rootfs).map((m) => [m.mountpoint.slice(b.rootfs.length), m.fstype])).toEqual([
      ["/proc", "proc"],
      ["/etc", "tmpfs"],
    ]);
    expect(readFileSync(join(b.rootfs, "etc/hostname"), "utf8")).toBe("image\n");
    writeFileSync(join(b.rootfs, "etc/hostname"), "container\n");
    outcome.release();
    expect(mountinfoText()).toBe(before);
    expect(tree(b.rootfs)).toEqual(treeBefore);
    expect(readFileSync(join(b.rootfs, "etc/hostname"), "utf8")).toBe("image\n");
  });
});

describe("a read-only tmpfs or /dev with mounts inside it (runc mounts it read-write, then read-only once every mount stands)", () => {
  /** /dev a read-only tmpfs, with /dev/pts and /dev/shm/x inside it (their mount points made in it). */
  const readOnlyDev = () =>
    configWith([
      { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "strictatime", "mode=755", "size=1m", "ro"] },
      { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666"] },
      { destination: "/dev/shm/x", type: "tmpfs", source: "shm", options: ["nosuid", "nodev", "noexec", "size=64k", "ro"] },
      { destination: "/ro-data", type: "bind", source: "data", options: ["rbind", "ro"] },
    ]);

  test("the mount points inside are made, then the tmpfs is read-only with its other flags as asked; release restores table and tree", () => {
    const b = bundle(readOnlyDev());
    const before = mountinfoText();
    const treeBefore = tree(b.rootfs);
    const outcome = releaseAfter(applyText(readFileSync(b.config, "utf8"), { file: b.config }));
    expect(outcome.error).toBeUndefined();
    expect(outcome.results.map((r) => r.status)).toEqual(["mounted", "mounted", "mounted", "mounted"]);
    const rel = (p: string) => p.slice(b.rootfs.length);
    const opts = Object.fromEntries(mountsUnder(b.rootfs).map((m) => [rel(m.mountpoint), m.options]));
    expect(opts["/dev"]).toBe("ro,nosuid"); // strictatime kept: the kernel prints neither relatime nor noatime
    expect(opts["/dev/pts"]).toBe("rw,nosuid,noexec,relatime");
    expect(opts["/dev/shm/x"]).toBe("ro,nosuid,nodev,noexec,relatime");
    expect(opts["/ro-data"]).toBe("ro,relatime");
    outcome.release();
    expect(mountinfoText()).toBe(before);
    expect(tree(b.rootfs)).toEqual(treeBefore);
  });

  /** readOnlyDev applied with the read-only remount of /dev at the end failing (EBUSY) */
  const failingAtTheEnd = (keepGoing: boolean) => {
    const b = bundle(readOnlyDev());
    const before = { mountinfo: mountinfoText(), tree: tree(b.rootfs) };
    // the second mount(2) on ROOT/dev: the first is the tmpfs itself
    const sys = injectFaults(libcSyscalls, { mount: { calls: [2], errno: Errno.EBUSY, path: join(b.rootfs, "dev") } });
    const outcome = applyText(readFileSync(b.config, "utf8"), { file: b.config, sys, keepGoing });
    cleanups.push(() => outcome.release());
    const expectAsBefore = () => expect({ mountinfo: mountinfoText(), tree: tree(b.rootfs) }).toEqual(before);
    return { b, outcome, expectAsBefore };
  };

  test("the read-only remount at the end fails: everything is rolled back, the entry named, exit 32", () => {
    const { b, outcome, expectAsBefore } = failingAtTheEnd(false);
    expect(outcome.error).toBeInstanceOf(SyscallError);
    expect(outcome.error!.message).toStartWith(`apply: entry 1 (/dev): make ${b.rootfs}/dev read-only: mount(2): EBUSY`);
    expect(exitCodeFor(outcome.error)).toBe(ExitCode.mountFailed);
    expect(outcome.results.map((r) => r.status)).toEqual(["failed", "rolled-back", "rolled-back", "rolled-back"]);
    expectAsBefore();
  });

  test("--keep-going: the read-only remount at the end fails: that entry and those inside it come off, the others stay (exit 64)", () => {
    const { b, outcome, expectAsBefore } = failingAtTheEnd(true);
    expect(exitCodeFor(outcome.error)).toBe(ExitCode.someFailed);
    expect(outcome.results.map((r) => r.status)).toEqual(["failed", "rolled-back", "rolled-back", "mounted"]);
    expect(mountsUnder(b.rootfs).map((m) => m.mountpoint.slice(b.rootfs.length))).toEqual(["/ro-data", "/ro-data/sub"]);
    outcome.release();
    expectAsBefore();
  });

  test("with-mounts -r in a temp root: a tmpfs with a mount inside it, runc's config too (its /dev holds /dev/pts)", async () => {
    const b = bundle(
      JSON.stringify({
        mounts: [
          { destination: "/proc", type: "proc", source: "proc" },
          { destination: "/dev", type: "tmpfs", source: "tmpfs", options: ["nosuid", "mode=755"] },
          { destination: "/dev/pts", type: "devpts", source: "devpts", options: ["newinstance", "ptmxmode=0666"] },
          { destination: "/dev/shm", type: "tmpfs", source: "shm", options: ["nosuid", "nodev"] },
        ],
      }),
    );
    const seen = await withMountsFromText(readFileSync(b.config, "utf8"), { file: b.config, readonly: true }, (root) =>
      mountsUnder(root).map((m) => [m.mountpoint.slice(root.length), m.options.split(",")[0]]),
    );
    expect(seen).toEqual([
      ["/proc", "ro"],
      ["/dev", "ro"],
      ["/dev/pts", "ro"],
      ["/dev/shm", "ro"],
    ]);
  });
});
