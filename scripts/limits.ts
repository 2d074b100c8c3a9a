/**
 * bun scripts/limits.ts [CHECK...]: mountkit at the kernel's and the system's limits, at a scale
 * the tests do not reach (they stay under 3 s each). Each check runs the built binary
 * (dist/mountkit; npm run build) in a private mount namespace on a scratch dir, says what it
 * saw, how long it took (wall time) and its peak memory (max RSS, through GNU time where it is
 * installed; util-linux beside it where it has the command), and leaves nothing behind. Root only; the script re-runs itself under
 * `unshare --mount --propagation private`. The checks, all by default:
 *
 *   mount-max   the namespace filled with binds up to 10 under fs.mount-max (the sysctl itself
 *               is the host's and is never changed), then apply of 20 entries: ENOSPC at the
 *               first that does not fit, everything rolled back; --keep-going keeps what fits;
 *               findmnt of the full table; umount -R of the fill
 *   umount      umount of 4000 mount points in a table of 8000 (util-linux beside it), -R of
 *               1000 of them (each with a mount on it) in a table of 8000 (util-linux beside it),
 *               and -R of one tree of 20000 (util-linux's takes minutes at that size: 2000 beside it)
 *   findmnt     findmnt, --json and -R of a saved 50 MB mountinfo (--mountinfo), util-linux's -F
 *               (-l, and -J -l) beside it
 *   fstab       an fstab of 100 000 lines (all but 5 noauto): mount -a, umount -a, findmnt --verify
 *   apply       apply of a 20 MB list (18 000 tmpfs entries), its rollback when the last one fails
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { mount } from "../src/ops/mount.ts";
import { unmountRecursive } from "../src/ops/unmount.ts";

const ROOT = resolve(import.meta.dir, "..");
const BINARY = join(ROOT, "dist/mountkit");
const CHECKS: Record<string, (dir: string) => void> = { "mount-max": mountMax, umount: umountMany, findmnt: findmntBig, fstab: fstabBig, apply: applyBig };

function main(): void {
  if (process.getuid?.() !== 0) throw new Error("limits: run as root");
  if (readlinkSync("/proc/self/ns/mnt") === readlinkSync(`/proc/${process.ppid}/ns/mnt`) && process.env.MOUNTKIT_LIMITS_NS !== "1") {
    const run = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "--", process.execPath, import.meta.path, ...process.argv.slice(2)], {
      env: { ...process.env, MOUNTKIT_LIMITS_NS: "1" },
      stdio: ["inherit", "inherit", "inherit"],
    });
    process.exit(run.exitCode ?? 1);
  }
  const wanted = process.argv.slice(2);
  const unknown = wanted.filter((name) => !(name in CHECKS));
  if (unknown.length > 0) throw new Error(`limits: unknown check ${unknown.join(", ")}; the checks: ${Object.keys(CHECKS).join(", ")}`);
  for (const name of wanted.length > 0 ? wanted : Object.keys(CHECKS)) {
    const dir = mkdtempSync(join(tmpdir(), `mountkit-limits-${name}-`));
    console.log(`== ${name}`);
    try {
      CHECKS[name]!(dir);
    } finally {
      // never a recursive delete through a mount point: what is still mounted there stays
      unmountRecursive(dir, { lazy: true });
      if (mountsUnder(dir) === 0) rmSync(dir, { recursive: true, force: true });
      else console.log(`   left ${dir} in place: ${mountsUnder(dir)} mounts under it`);
    }
  }
}

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  seconds: number;
  /** the process's peak resident memory, where GNU time can tell it */
  maxRssMb: number | undefined;
}

// A child's own rusage counts this process's memory (ru_maxrss is carried across the exec of a
// vfork'd child, and this process holds the 50 MB table it wrote): GNU time, small, measures it.
const GNU_TIME = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;
const RSS_MARK = "limits-max-rss-kb=";

function run(argv: string[], options: { quiet?: boolean; stdin?: string } = {}): Ran {
  const started = performance.now();
  const measured = GNU_TIME === undefined ? argv : [GNU_TIME, "-f", `${RSS_MARK}%M`, ...argv];
  const proc = Bun.spawnSync(measured, { stdin: options.stdin === undefined ? "ignore" : Buffer.from(options.stdin), stdout: "pipe", stderr: "pipe" });
  const seconds = (performance.now() - started) / 1000;
  let stderr = proc.stderr.toString();
  let maxRssMb: number | undefined;
  const mark = stderr.lastIndexOf(RSS_MARK);
  if (GNU_TIME !== undefined && mark >= 0) {
    maxRssMb = Number(stderr.slice(mark + RSS_MARK.length).trim()) / 1024;
    stderr = stderr.slice(0, mark);
  }
  const ran = { code: proc.exitCode ?? 128, stdout: proc.stdout.toString(), stderr, seconds, maxRssMb };
  if (!options.quiet && ran.stderr !== "") console.log(`   ${ran.stderr.trimEnd().split("\n").slice(0, 3).join("\n   ").slice(0, 400)}`);
  return ran;
}

function say(what: string, ran: Ran): void {
  const memory = ran.maxRssMb === undefined ? "" : `, max RSS ${ran.maxRssMb.toFixed(0)} MB`;
  console.log(`   ${what}: exit ${ran.code}, ${ran.seconds.toFixed(2)} s${memory}`);
}

const mountCount = () => readFileSync("/proc/self/mountinfo", "utf8").split("\n").length - 1;
const mountsUnder = (dir: string) => readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.split(" ")[4]?.startsWith(`${dir}/`)).length;

/** count bind mounts of source at dir/d0 ... through the library (a tmpfs at dir first, so one umount -R takes them). */
function binds(dir: string, count: number, source: string): string[] {
  mkdirSync(dir, { recursive: true });
  run(["mount", "-t", "tmpfs", "limits", dir]);
  const points: string[] = [];
  for (let i = 0; i < count; i++) {
    const point = `${dir}/d${i}`;
    mkdirSync(point);
    mount({ type: "bind", source, options: [] }, point);
    points.push(point);
  }
  return points;
}

function mountMax(dir: string): void {
  const max = Number(readFileSync("/proc/sys/fs/mount-max", "utf8"));
  const source = join(dir, "src");
  mkdirSync(source);
  const started = performance.now();
  binds(join(dir, "fill"), max - mountCount() - 1 - 10, source);
  console.log(`   filled to ${mountCount()} mounts of fs.mount-max ${max} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const root = join(dir, "root");
  mkdirSync(root);
  const list = join(dir, "list.json");
  writeFileSync(list, JSON.stringify(Array.from({ length: 20 }, (_, i) => ({ type: "tmpfs", source: `e${i}`, target: `/m${i}`, options: [] }))));
  const before = mountCount();
  say(`apply of 20 entries, room for about ${max - before} (mountinfo lists the mounts below our root only)`, run([BINARY, "apply", "--mkdir", "--root", root, list]));
  console.log(`   mounts after: ${mountCount() - before} more than before (0 expected)`);
  say("apply --keep-going", run([BINARY, "apply", "--keep-going", "--mkdir", "--root", root, list], { quiet: true }));
  console.log(`   mounts after: ${mountCount() - before} more than before`);
  say(`findmnt of ${mountCount()} mounts`, run([BINARY, "findmnt"], { quiet: true }));
  say(`umount -R of the ${mountsUnder(join(dir, "fill")) + 1} fill mounts`, run([BINARY, "umount", "-R", join(dir, "fill")]));
}

function umountMany(dir: string): void {
  const source = join(dir, "src");
  mkdirSync(source);
  // each in a table of 8000 and some: the other's 4000 stay while it runs
  const ours = binds(join(dir, "a"), 4000, source);
  const theirs = binds(join(dir, "b"), 4000, source);
  say(`util-linux umount of 4000 operands, ${mountCount()} mounts`, run(["umount", ...theirs]));
  binds(join(dir, "c"), 4000, source);
  say(`mountkit umount of 4000 operands, ${mountCount()} mounts`, run([BINARY, "umount", ...ours]));
  // -R of 1000 operands, each with a mount on it (source/n seen through each bind), in a table of 8000
  mkdirSync(join(source, "n"));
  const nested = (name: string) => {
    const points = binds(join(dir, name), 1000, source);
    for (const point of points) mount({ type: "bind", source, options: [] }, join(point, "n"));
    return points;
  };
  const ourTrees = nested("ra");
  const theirTrees = nested("rb");
  say(`util-linux umount -R of 1000 operands (2000 mounts), ${mountCount()} mounts`, run(["umount", "-R", ...theirTrees]));
  nested("rc");
  say(`mountkit umount -R of 1000 operands (2000 mounts), ${mountCount()} mounts`, run([BINARY, "umount", "-R", ...ourTrees]));
  unmountRecursive(join(dir, "rc"));
  unmountRecursive(join(dir, "c"));
  run(["umount", join(dir, "a"), join(dir, "b"), join(dir, "ra"), join(dir, "rb")]);
  binds(join(dir, "tree"), 20_000, source);
  say(`mountkit umount -R of a tree of 20001 (${mountCount()} mounts)`, run([BINARY, "umount", "-R", join(dir, "tree")]));
  binds(join(dir, "small"), 2000, source);
  say(`util-linux umount -R of a tree of 2001 (${mountCount()} mounts)`, run(["umount", "-R", join(dir, "small")]));
}

function findmntBig(dir: string): void {
  const file = join(dir, "mountinfo");
  const lines = ["1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw"];
  let size = 0;
  for (let i = 0, id = 2; size < 50 * 1024 * 1024; i++, id++) {
    const parent = i % 100 === 0 ? 1 : id - 1;
    const line = `${id} ${parent} 0:${id % 5000} / /srv/containers/c${Math.floor(i / 100)}/rootfs/layer${i % 100}/mnt rw,nosuid,nodev,relatime shared:${id} - tmpfs tmpfs rw,size=65536k,mode=755`;
    lines.push(line);
    size += line.length + 1;
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
  console.log(`   ${lines.length} lines, ${(size / 1024 / 1024).toFixed(0)} MB`);
  for (const extra of [[], ["--json"], ["-R"], ["-M", "/srv/containers/c3000/rootfs/layer5/mnt"]]) {
    say(`mountkit findmnt --mountinfo FILE ${extra.join(" ")}`, run([BINARY, "findmnt", "--mountinfo", file, ...extra], { quiet: true }));
  }
  say("util-linux findmnt -l -F FILE", run(["findmnt", "-l", "-F", file], { quiet: true }));
  // the fields of mountkit's --json (util-linux's tree, -F without -l, takes hours at this size)
  const fields = "ID,PARENT,MAJ:MIN,FSROOT,TARGET,SOURCE,FSTYPE,VFS-OPTIONS,FS-OPTIONS,PROPAGATION";
  say(`util-linux findmnt -J -l -o ${fields} -F FILE`, run(["findmnt", "-J", "-l", "-o", fields, "-F", file], { quiet: true }));
}

function fstabBig(dir: string): void {
  const file = join(dir, "fstab");
  mkdirSync(join(dir, "m"));
  const lines = Array.from({ length: 100_000 }, (_, i) => `tmpfs ${dir}/m/d${i} tmpfs noauto,size=1m 0 0`);
  for (let i = 0; i < 5; i++) {
    mkdirSync(join(dir, `a${i}`));
    lines.push(`tmpfs ${dir}/a${i} tmpfs size=1m 0 0`);
  }
  writeFileSync(file, `${lines.join("\n")}\n`);
  say("mount -a of 100 005 lines (5 mount)", run([BINARY, "mount", "-a", "-T", file]));
  console.log(`   mounted: ${mountsUnder(dir)}`);
  say("umount -a", run([BINARY, "umount", "-a", "-T", file]));
  console.log(`   mounted: ${mountsUnder(dir)}`);
  say("findmnt --verify (100 000 warnings: the noauto targets do not exist)", run([BINARY, "findmnt", "--verify", "-F", file], { quiet: true }));
}

function applyBig(dir: string): void {
  const options = ["size=1m", "mode=755", "nosuid", "nodev", "noexec", ...Array.from({ length: 40 }, (_, j) => `x-comment${j}=abcdefghij`)];
  const entries = [];
  let size = 0;
  for (let i = 0; size < 20 * 1024 * 1024; i++) {
    const entry = { type: "tmpfs", source: "tmpfs", target: `/m/d${i}`, options };
    size += JSON.stringify(entry).length;
    entries.push(entry);
  }
  const list = join(dir, "list.json");
  writeFileSync(list, JSON.stringify(entries));
  const root = join(dir, "root");
  mkdirSync(root);
  run(["mount", "-t", "tmpfs", "limits", root]);
  console.log(`   ${entries.length} entries, ${(size / 1024 / 1024).toFixed(0)} MB`);
  say("apply --dry-run", run([BINARY, "apply", "-n", "--mkdir", "--root", root, list], { quiet: true }));
  say("apply", run([BINARY, "apply", "--mkdir", "--root", root, list]));
  console.log(`   mounted: ${mountsUnder(root)}`);
  say("umount -R of the root", run([BINARY, "umount", "-R", root]));
  run(["mount", "-t", "tmpfs", "limits", root]);
  writeFileSync(list, JSON.stringify([...entries, { type: "bind", source: join(dir, "nonexistent"), target: "/m/bad", options: ["bind"] }]));
  say("apply whose last entry fails (all rolled back)", run([BINARY, "apply", "--mkdir", "--root", root, list]));
  console.log(`   mounted: ${mountsUnder(root)}`);
}

main();
