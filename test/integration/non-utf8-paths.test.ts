// Paths whose names are not UTF-8 (a Latin-1 "café": 63 61 66 E9), through the binary and the
// library. Bun decodes such bytes as U+FFFD, whose UTF-8 bytes (EF BF BD) name another file: a
// decoy by that name sits beside each real one and must never be touched. The binary is run by
// bash, which builds the arguments from printf escapes: Bun.spawn cannot pass such bytes.
// Root, private mount namespace.
import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from "node:fs";
import { mount } from "../../src/ops/mount.ts";
import { unmount } from "../../src/ops/unmount.ts";
import { readMountInfo } from "../../src/mountinfo/read.ts";
import { lookupMount } from "../../src/mountinfo/lookup.ts";
import { BINARY } from "../support/cli.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => {
  s.dispose();
  // dispose's rmSync cannot enter a directory whose name is not UTF-8 (Bun's node:fs) and
  // says nothing: each test removes what it made below one, and this checks it did
  expect(existsSync(s.dir)).toBe(false);
});

const LATIN1_E = 0xe9;
/** dir/name with the name's bytes: each "\xe9" in name is that byte */
const rawPath = (dir: string, name: string) => Buffer.concat([Buffer.from(`${dir}/`), Buffer.from(name.replace(/\\xe9/g, "\u00e9"), "latin1")]);
/** the same path as mountkit holds it (path-text.ts) */
const heldPath = (dir: string, name: string) => `${dir}/${name.replace(/\\xe9/g, "\uDCE9")}`;
/** the path Bun would have made of it: U+FFFD, written EF BF BD */
const decoyPath = (dir: string, name: string) => `${dir}/${name.replace(/\\xe9/g, "\uFFFD")}`;

interface Run {
  code: number;
  stdout: Buffer;
  stderr: Buffer;
}

/** Run a bash script with $M the binary and $D the scratch dir; it builds raw arguments with printf. */
function sh(script: string, env: Record<string, string> = {}): Run {
  const proc = Bun.spawnSync(["bash", "-c", script], { env: { ...process.env, MOUNTKIT_STRATEGY: "", M: BINARY, D: s.dir, ...env } });
  if (proc.exitCode === null) throw new Error(`bash -c ${script}: killed by ${proc.signalCode}`);
  return { code: proc.exitCode, stdout: proc.stdout, stderr: proc.stderr };
}

const mountinfoBytes = () => readFileSync("/proc/self/mountinfo");
const mountedAt = (path: Buffer) => mountinfoBytes().includes(Buffer.concat([Buffer.from(" "), path, Buffer.from(" ")]));

describe("the binary", () => {
  test("mounts on, finds, lists and unmounts a mount point whose name is not UTF-8; the U+FFFD decoy beside it is never touched", () => {
    s = scratch("non-utf8");
    const real = rawPath(s.dir, "caf\\xe9");
    mkdirSync(real);
    mkdirSync(decoyPath(s.dir, "caf\\xe9"));
    const mounted = sh(`"$M" mount -t tmpfs "$(printf 'sr\\xe9c')" "$D/$(printf 'caf\\xe9')"`);
    expect(mounted.stderr.toString()).toBe("");
    expect(mounted.code).toBe(0);
    expect(mountedAt(real)).toBe(true);
    expect(mountedAt(Buffer.from(decoyPath(s.dir, "caf\\xe9")))).toBe(false);
    expect(readMountInfo().find((m) => m.mountpoint === heldPath(s.dir, "caf\\xe9"))?.source).toBe("sr\uDCE9c");

    // findmnt escapes the byte as util-linux does (\xe9); mount's list prints it as it is
    const found = sh(`"$M" findmnt -n -o TARGET,SOURCE "$D/$(printf 'caf\\xe9')"`);
    expect(found.code).toBe(0);
    expect(found.stdout.toString()).toBe(`${s.dir}/caf\\xe9 sr\\xe9c\n`);
    const listed = sh(`"$M" mount -t tmpfs`);
    expect(listed.stdout.includes(Buffer.concat([Buffer.from([0x73, 0x72, LATIN1_E, 0x63]), Buffer.from(" on "), real, Buffer.from(" type tmpfs")]))).toBe(true);

    const unmounted = sh(`"$M" umount "$D/$(printf 'caf\\xe9')"`);
    expect(unmounted.stderr.toString()).toBe("");
    expect(unmounted.code).toBe(0);
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("an error names the path with its own bytes", () => {
    s = scratch("non-utf8-error");
    mkdirSync(decoyPath(s.dir, "nope\\xe9"));
    const failed = sh(`"$M" mount -t tmpfs x "$D/$(printf 'nope\\xe9')"`);
    expect(failed.code).toBe(32);
    expect(failed.stderr.includes(Buffer.concat([rawPath(s.dir, "nope\\xe9"), Buffer.from(": mount(2): ENOENT")]))).toBe(true);
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("a relative target from a working directory whose name is not UTF-8, made with -m", () => {
    s = scratch("non-utf8-cwd");
    mkdirSync(rawPath(s.dir, "d\\xe9"));
    mkdirSync(decoyPath(s.dir, "d\\xe9"));
    const mounted = sh(`cd "$D/$(printf 'd\\xe9')" && "$M" mount -m -t tmpfs x sub/deeper`);
    expect(mounted.stderr.toString()).toBe("");
    expect(mounted.code).toBe(0);
    const target = Buffer.concat([rawPath(s.dir, "d\\xe9"), Buffer.from("/sub/deeper")]);
    expect(mountedAt(target)).toBe(true);
    expect(readdirSync(decoyPath(s.dir, "d\\xe9"))).toEqual([]);
    expect(sh(`"$M" umount "$D/$(printf 'd\\xe9')/sub/deeper"`).code).toBe(0);
    expect(mountsUnder(s.dir)).toEqual([]);
    rmdirSync(target);
    rmdirSync(Buffer.concat([rawPath(s.dir, "d\\xe9"), Buffer.from("/sub")]));
  });

  test("mount -a and umount -a: an fstab's \\351 escape and a raw byte both name the path's bytes", () => {
    s = scratch("non-utf8-fstab");
    mkdirSync(rawPath(s.dir, "esc\\xe9"));
    mkdirSync(rawPath(s.dir, "raw\\xe9"));
    mkdirSync(decoyPath(s.dir, "esc\\xe9"));
    mkdirSync(decoyPath(s.dir, "raw\\xe9"));
    const fstab = Buffer.concat([
      Buffer.from(`esc ${s.dir}/esc\\351 tmpfs defaults 0 0\nraw `),
      rawPath(s.dir, "raw\\xe9"),
      Buffer.from(" tmpfs defaults 0 0\n"),
    ]);
    writeFileSync(`${s.dir}/fstab`, fstab);
    const mounted = sh(`"$M" mount -a -T "$D/fstab"`);
    expect(mounted.stderr.toString()).toBe("");
    expect(mounted.code).toBe(0);
    expect(mountedAt(rawPath(s.dir, "esc\\xe9"))).toBe(true);
    expect(mountedAt(rawPath(s.dir, "raw\\xe9"))).toBe(true);
    expect(mountsUnder(s.dir)).toHaveLength(2); // nothing on the decoys
    const unmounted = sh(`"$M" umount -a -T "$D/fstab"`);
    expect(unmounted.stderr.toString()).toBe("");
    expect(unmounted.code).toBe(0);
    expect(mountsUnder(s.dir)).toEqual([]);
  });

  test("a temp location named by MOUNTKIT_TMPDIR whose name is not UTF-8 is cleaned, the decoy left", () => {
    s = scratch("non-utf8-env");
    const leftover = "mountkit-zz-999999999-left";
    mkdirSync(Buffer.concat([rawPath(s.dir, "t\\xe9"), Buffer.from(`/${leftover}/inner`)]), { recursive: true });
    mkdirSync(`${decoyPath(s.dir, "t\\xe9")}/${leftover}`, { recursive: true });
    const cleaned = sh(`MOUNTKIT_TMPDIR="$D/$(printf 't\\xe9')" "$M" cleanup`);
    expect(cleaned.stderr.toString()).toBe("");
    expect(cleaned.code).toBe(0);
    expect(readdirSync(rawPath(s.dir, "t\\xe9"))).toEqual([]);
    expect(existsSync(`${decoyPath(s.dir, "t\\xe9")}/${leftover}`)).toBe(true);
  });

  test("with-mounts passes a command argument that is not UTF-8 as its bytes, and its status and signal", () => {
    s = scratch("non-utf8-with-mounts");
    writeFileSync(`${s.dir}/list.json`, JSON.stringify([{ type: "tmpfs", source: "wm", target: "/in", options: [] }]));
    const printed = sh(`"$M" with-mounts --mkdir "$D/list.json" -- sh -c 'printf %s "$1" | od -An -tx1; exit 7' sh "$(printf 'caf\\xe9')"`);
    expect(printed.stderr.toString()).toBe("");
    expect(printed.stdout.toString().trim()).toBe("63 61 66 e9");
    expect(printed.code).toBe(7);
    // mountkit dies of the command's signal: bash (not exec'ing it, a statement follows) reports it
    expect(sh(`"$M" with-mounts --mkdir "$D/list.json" -- sh -c 'kill -TERM $$' "$(printf 'caf\\xe9')"; exit $?`)).toMatchObject({ code: 143 });
    const missing = sh(`"$M" with-mounts --mkdir "$D/list.json" -- "$D/$(printf 'none\\xe9')"`);
    expect(missing.code).toBe(127);
    expect(missing.stderr.includes(Buffer.concat([Buffer.from("mountkit: with-mounts: run "), rawPath(s.dir, "none\\xe9"), Buffer.from(": posix_spawn(3): ENOENT")]))).toBe(true);
    expect(mountsUnder("/tmp").filter((m) => m.source === "wm")).toEqual([]);
  });

  test("with-mounts (started by posix_spawnp for such an argument) passes SIGTERM on to the command, then cleans up", async () => {
    s = scratch("non-utf8-with-mounts-signal");
    const location = s.path("tmp");
    mkdirSync(location, { mode: 0o700 }); // 0700 whatever the umask: mountkit refuses a location its group or others may write to
    writeFileSync(`${s.dir}/list.json`, JSON.stringify([{ type: "tmpfs", source: "wm-signal", target: "/", options: [] }]));
    const ready = s.path("ready");
    // exec: the pid signalled is mountkit's, not bash's
    const script = `exec "$M" with-mounts "$D/list.json" -- sh -c 'touch "$0"; exec sleep 60' "$(printf '${ready}\\xe9')"`;
    const running = Bun.spawn(["bash", "-c", script], { env: { ...process.env, MOUNTKIT_STRATEGY: "", MOUNTKIT_TMPDIR: location, M: BINARY, D: s.dir } });
    const readyPath = Buffer.concat([Buffer.from(ready), Buffer.of(LATIN1_E)]);
    try {
      for (let i = 0; i < 500 && !existsSync(readyPath); i++) await Bun.sleep(10);
      expect(existsSync(readyPath)).toBe(true); // the argument's own bytes reached the command
      expect(mountsUnder(location).map((m) => m.source)).toEqual(["wm-signal"]);
      running.kill("SIGTERM");
      await running.exited;
      expect(running.signalCode).toBe("SIGTERM"); // the command died of it, then mountkit did
    } finally {
      running.kill("SIGKILL");
    }
    expect(mountsUnder(location)).toEqual([]);
    expect(readdirSync(location)).toEqual([]);
  });

  test("mount -a -F refuses, for its line only, a mount point that is not UTF-8 (Bun.spawn cannot pass it)", () => {
    s = scratch("non-utf8-fork");
    mkdirSync(rawPath(s.dir, "raw\\xe9"));
    mkdirSync(decoyPath(s.dir, "raw\\xe9"));
    mkdirSync(`${s.dir}/plain`);
    writeFileSync(`${s.dir}/fstab`, Buffer.concat([Buffer.from("raw "), rawPath(s.dir, "raw\\xe9"), Buffer.from(` tmpfs defaults 0 0\nplain ${s.dir}/plain tmpfs defaults 0 0\n`)]));
    const forked = sh(`"$M" mount -a -F -T "$D/fstab"`);
    expect(forked.code).toBe(64); // some mounted, some not
    expect(forked.stderr.includes(Buffer.concat([rawPath(s.dir, "raw\\xe9"), Buffer.from(" (or a path option) is not UTF-8")]))).toBe(true);
    expect(mountsUnder(s.dir).map((m) => m.mountpoint)).toEqual([`${s.dir}/plain`]);
    expect(sh(`"$M" umount "$D/plain"`).code).toBe(0);
  });
});

test("the library mounts on and unmounts a path that holds a byte as U+DC80 + byte", () => {
  s = scratch("non-utf8-lib");
  const real = rawPath(s.dir, "caf\\xe9");
  mkdirSync(real);
  mkdirSync(decoyPath(s.dir, "caf\\xe9"));
  const target = heldPath(s.dir, "caf\\xe9");
  mount({ type: "tmpfs", source: "lib", options: [] }, target);
  try {
    expect(mountedAt(real)).toBe(true);
    expect(lookupMount(readMountInfo(), `${target}/inside`)?.mountpoint).toBe(target);
  } finally {
    unmount(target);
  }
  expect(mountsUnder(s.dir)).toEqual([]);
});
