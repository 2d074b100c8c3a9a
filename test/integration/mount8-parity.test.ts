// ROOT ONLY. The binary through a link named mount beside util-linux mount(8) (2.38.1 here), on
// bad and edge inputs: each row runs util-linux's mount and the link, each in a private mount
// namespace of its own on a fresh scratch dir with the same setup, and compares exit statuses
// (mount(8): 0 ok, 1 usage or permissions, 2 system error, 4 internal bug, 32 mount failure, 64
// some mounted) and what was left mounted. A row with `link` is a difference kept on purpose
// (README, Exit codes, "Through a link named mount"); `says` is what the link's one line must
// name (the syscall, errno and path where a call failed).
import { beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../support/cli.ts";
import { runToolIn, withAnyLoopDevice } from "../support/mounts-left.ts";
import { NO_SUCH_PID } from "../support/processes.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { callNumber, signalledAt, STATX_OF_NO_TYPE } from "../support/signal-at-call.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

interface Row {
  /** what the row tries */
  name: string;
  /** shell lines run first in the scratch dir, which holds dirs d, d2, e, m1, m2, files f and small (one byte), and img with image */
  setup?: string;
  args: readonly string[];
  /** an 8 MiB ext4 image at ./img */
  image?: true;
  /** run as nobody (setpriv) */
  nobody?: true;
  /** util-linux mount's exit status on this machine */
  util: number;
  /** the link's, where it differs on purpose: why, as the README says it */
  link?: { code: number; why: string };
  /** what the link's stderr says */
  says?: RegExp;
}

const LONG_NAME = "a".repeat(300);
const NOT_A_LOOP_DEVICE = "/dev/mountkit-no-such-loop";

const ROWS: readonly Row[] = [
  // a single mount that the kernel or the host refuses: 32 in both
  { name: "mount point missing", args: ["-t", "tmpfs", "x", "nosuch"], util: 32, says: /mount\(2\): ENOENT .*mount point nosuch does not exist/ },
  { name: "device missing, -t ext4", args: ["-t", "ext4", "/dev/mountkit-no-such-dev", "d"], util: 32, says: /mount\(2\): ENOENT .*\/dev\/mountkit-no-such-dev does not exist/ },
  { name: "a directory bound onto a file", args: ["--bind", "d", "f"], util: 32, says: /mount\(2\): ENOTDIR .*mount point f no directory/ },
  { name: "a file bound onto a directory", args: ["--bind", "f", "d"], util: 32, says: /mount\(2\): ENOTDIR .*source f is no directory/ },
  { name: "unknown tmpfs option", args: ["-t", "tmpfs", "-o", "nosuchopt", "x", "d"], util: 32, says: /mount\(2\): EINVAL .*nosuchopt/ },
  { name: "bad tmpfs value", args: ["-t", "tmpfs", "-o", "size=abc", "x", "d"], util: 32, says: /mount\(2\): EINVAL .*size=abc/ },
  { name: "unknown filesystem type", args: ["-t", "bogusfs", "x", "d"], util: 32, says: /mount\(2\): ENODEV .*bogusfs/ },
  { name: "remount of no mount point", args: ["-o", "remount", "d"], util: 32, says: /remount d: mount\(2\): EINVAL .*d is not a mount point/ },
  { name: "remount of a missing path", args: ["-o", "remount", "nosuch"], util: 32, says: /ENOENT .*nosuch does not exist/ },
  { name: "remount with a bad value", setup: "mount -t tmpfs x m1", args: ["-o", "remount,size=abc", "m1"], util: 32, says: /remount m1: mount\(2\): EINVAL .*size=abc/ },
  { name: "bind of a missing source", args: ["--bind", "nosuch", "d"], util: 32, says: /mount\(2\): ENOENT .*source nosuch does not exist/ },
  { name: "rbind of a missing source", args: ["--rbind", "nosuch", "d"], util: 32, says: /mount\(2\): ENOENT .*source nosuch does not exist/ },
  { name: "move of no mount point", args: ["--move", "d", "d2"], util: 32, says: /move d to d2: mount\(2\): EINVAL .*d is not a mount point/ },
  { name: "move onto a missing path", setup: "mount -t tmpfs x m1", args: ["--move", "m1", "nosuch"], util: 32, says: /mount\(2\): ENOENT .*nosuch does not exist/ },
  { name: "--make-private of no mount point", args: ["--make-private", "d"], util: 32, says: /mount\(2\): EINVAL .*d is not a mount point/ },
  { name: "--make-private of a missing path", args: ["--make-private", "nosuch"], util: 32, says: /mount\(2\): ENOENT .*nosuch does not exist/ },
  { name: "a name past NAME_MAX", args: ["-t", "tmpfs", "x", `d/${LONG_NAME}`], util: 32, says: /mount\(2\): ENAMETOOLONG/ },
  { name: "-o loop on a directory", args: ["-o", "loop", "d", "m1"], util: 32, says: /open\(2\): EISDIR .*d is not a regular file/ },
  { name: "/dev/null, no type", args: ["/dev/null", "d"], util: 32, says: /\/dev\/null is no block device/ },
  { name: "a one-byte file as ext4", args: ["-t", "ext4", "small", "d"], util: 32, says: /mount\(2\): ENOTBLK .*small/ },
  { name: "an image of zeroes, no type", setup: "truncate -s 64K zeros", args: ["zeros", "d"], util: 32, says: /no superblock/ },
  { name: "a name that is no device, -t ext4", args: ["-t", "ext4", "x", "d"], util: 32, says: /mount\(2\): ENOENT .*source x does not exist/ },
  { name: "overlay of a missing lower layer", setup: "mkdir u w", args: ["-t", "overlay", "ov", "-o", "lowerdir=nosuch,upperdir=u,workdir=w", "d"], util: 32, says: /ENOENT .*nosuch/ },
  { name: "not root", nobody: true, args: ["-t", "tmpfs", "x", "d"], util: 32, says: /mount\(2\): EPERM/ },

  // usage: 1 in both
  { name: "too many operands", args: ["-t", "tmpfs", "x", "d", "e"], util: 1, says: /too many operands/ },
  { name: "unknown flag", args: ["--nosuchflag", "x", "d"], util: 1, says: /unknown option --nosuchflag/ },
  { name: "-t with no value", args: ["-t"], util: 1, says: /-t needs a value/ },
  { name: "--bind with -t ext4", args: ["--bind", "-t", "ext4", "d", "d2"], util: 1 },
  { name: "-L with -U", args: ["-L", "a", "-U", "b", "d"], util: 1 },
  { name: "one operand no fstab line names", setup: ": > fstab", args: ["-T", "fstab", "-t", "tmpfs", "d"], util: 1, says: /can't find in fstab/ },
  { name: "one operand, -T of a missing fstab", args: ["-T", "nosuchfstab", "d"], util: 1, says: /read nosuchfstab: open\(2\): ENOENT/ },
  { name: "-L of a label no device has", args: ["-L", "mountkit-no-such-label", "d"], util: 1, says: /no block device has LABEL/ },
  { name: "-U of a UUID no device has", args: ["-U", "00000000-dead-beef-0000-000000000000", "d"], util: 1, says: /no block device has UUID/ },
  { name: "the image mounted there already", image: true, setup: "mount img m1", args: ["img", "m1"], util: 1, says: /img is already mounted on m1/ },

  // what works: 0 in both
  { name: "relative mount point", args: ["-t", "tmpfs", "x", "d"], util: 0 },
  { name: "the image mounted elsewhere already", image: true, setup: "mount img m1", args: ["img", "m2"], util: 0 },
  { name: "X-mount.mkdir of a missing mount point", args: ["-t", "tmpfs", "-o", "X-mount.mkdir", "x", "new/sub"], util: 0 },
  { name: "write-protected image: read-only fallback", image: true, setup: "mkdir r; mv img r/; mount --bind -o ro r r", args: ["r/img", "m1"], util: 0, says: /WARNING: source write-protected, mounted read-only/ },

  // input that names nothing: mount(8) makes the call and exits 32, and so does the link
  { name: "empty source and mount point", args: ["", ""], util: 32, says: /empty target path/ },
  { name: "empty mount point", args: ["d", ""], util: 32, says: /empty target path/ },
  { name: "empty mount point, -t tmpfs", args: ["-t", "tmpfs", "x", ""], util: 32, says: /empty target path/ },
  { name: "empty --target", args: ["-t", "tmpfs", "--target", "", "x"], util: 32, says: /empty target path/ },
  { name: "remount of an empty path", args: ["-o", "remount", ""], util: 32, says: /empty target path/ },
  { name: "--make-private of an empty path", args: ["--make-private", ""], util: 32, says: /empty target path/ },
  { name: "move of an empty path", args: ["--move", "", "d"], util: 32, says: /a move needs the mount point to move/ },
  { name: "empty source, no type", args: ["", "d"], util: 32, says: /no source to read it from/ },
  { name: "-o loop of an empty path", args: ["-o", "loop", "", "d"], util: 32, says: /a loop mount needs the image file/ },
  { name: "-t ''", args: ["-t", "", "x", "d"], util: 32, says: /empty filesystem type/ },
  { name: "loop= that is no loop device", image: true, args: ["-o", `loop=${NOT_A_LOOP_DEVICE}`, "img", "d"], util: 32, says: /is not a loop device/ },
  { name: "--target-prefix of a missing directory", args: ["--target-prefix", "nosuch", "-t", "tmpfs", "x", "d"], util: 32, says: /--target-prefix nosuch: no such directory: realpath\(3\): ENOENT/ },
  // mount(8)'s fake sets up loop devices, and fails there too
  { name: "-f -o loop of an empty path", args: ["-f", "-o", "loop", "", "d"], util: 32 },
  { name: "-f, loop= that is no loop device", image: true, args: ["-f", "-o", `loop=${NOT_A_LOOP_DEVICE}`, "img", "d"], util: 32 },

  // -N: a namespace that cannot be entered is mount(8)'s system error, 2
  { name: "-N of no process", args: ["-N", NO_SUCH_PID, "-t", "tmpfs", "x", "d"], util: 2, says: new RegExp(`open\\(2\\): ENOENT .*no process ${NO_SUCH_PID}`) },
  { name: "-N of a missing file", args: ["-N", "nosuch", "-t", "tmpfs", "x", "d"], util: 2, says: /open\(2\): ENOENT/ },
  { name: "-N of a file that is no namespace", args: ["-N", "f", "-t", "tmpfs", "x", "d"], util: 2, says: /setns\(2\): EINVAL .*f is not a mount namespace file/ },

  // mount -a: 0, 32 (none mounted), 64 (some)
  { name: "-a, one line of two fails", setup: "printf 'a %s/m1 tmpfs defaults 0 0\\nb %s/nosuch tmpfs defaults 0 0\\n' \"$D\" \"$D\" > fstab", args: ["-a", "-T", "fstab"], util: 64, says: /line 2 .*mount\(2\): ENOENT/ },
  { name: "-a, every line fails", setup: "printf 'b %s/nosuch tmpfs defaults 0 0\\n' \"$D\" > fstab", args: ["-a", "-T", "fstab"], util: 32, says: /line 1 .*mount\(2\): ENOENT/ },
  { name: "-a, a line's device missing", setup: "printf '/dev/mountkit-no-such-dev %s/m1 ext4 defaults 0 0\\n' \"$D\" > fstab", args: ["-a", "-T", "fstab"], util: 32 },
  { name: "-a, nofail line's device missing", setup: "printf '/dev/mountkit-no-such-dev %s/m1 ext4 nofail 0 0\\n' \"$D\" > fstab", args: ["-a", "-T", "fstab"], util: 0 },
  { name: "-a, the line mounted already", setup: "printf 'b %s/m1 tmpfs defaults 0 0\\n' \"$D\" > fstab; mount -t tmpfs b m1", args: ["-a", "-T", "fstab"], util: 0 },
  { name: "-a -T of a missing fstab", args: ["-a", "-T", "nosuchfstab"], util: 1, says: /open\(2\): ENOENT/ },
  { name: "-a --target-prefix of a missing directory", setup: "printf 'b /m1 tmpfs defaults 0 0\\n' > fstab", args: ["-a", "-T", "fstab", "--target-prefix", "nosuch"], util: 32, says: /realpath\(3\): ENOENT/ },

  // kept on purpose
  { name: "-f of an empty source", args: ["-f", "", "d"], util: 0, link: { code: 1, why: "the fake refuses a mount of nothing, which no later mount could make" } },
  { name: "-f of an empty mount point", args: ["-f", "d", ""], util: 0, link: { code: 1, why: "the fake refuses a mount on nothing" } },
  { name: "-f -t ''", args: ["-f", "-t", "", "x", "d"], util: 0, link: { code: 1, why: "the fake refuses a type that names nothing" } },
  { name: "--target-prefix ''", args: ["--target-prefix", "", "-t", "tmpfs", "x", "d"], util: 32, link: { code: 1, why: "an empty path is refused, never read as the working directory or no prefix" } },
  { name: "-w of a write-protected image", image: true, setup: "mkdir r; mv img r/; mount --bind -o ro r r", args: ["-w", "r/img", "m1"], util: 0, link: { code: 32, why: "-w asks for read-write: refused, where util-linux 2.38 mounts it read-only" }, says: /open\(2\): EROFS .*r\/img/ },
  { name: "--move with -o ro", setup: "mount -t tmpfs x m1", args: ["--move", "-o", "ro", "m1", "m2"], util: 0, link: { code: 1, why: "an option a move ignores is refused" } },
  { name: "an unbalanced double quote", args: ["-t", "tmpfs", "-o", 'size="1m', "x", "d"], util: 0, link: { code: 1, why: "refused, where util-linux 2.38 mounts it" } },
  { name: "verity.* on tmpfs", args: ["-t", "tmpfs", "-o", "verity.roothash=ab", "x", "d"], util: 0, link: { code: 1, why: "refused: mountkit sets up no dm-verity, and dropping it would mount unprotected" } },
  { name: "uid= of an unknown user", args: ["-t", "tmpfs", "-o", "uid=mountkit-no-such-user", "x", "d"], util: 32, link: { code: 1, why: "refused before the mount, as util-linux 2.39" } },
  { name: "-a with an operand", setup: ": > fstab", args: ["-a", "-T", "fstab", "d"], util: 0, link: { code: 1, why: "refused, where util-linux ignores the operand" } },
  { name: "-a, a line breaking fstab's syntax", setup: "printf 'a\\nb %s/m1 tmpfs defaults 0 0\\n' \"$D\" > fstab", args: ["-a", "-T", "fstab"], util: 0, link: { code: 1, why: "the whole file refused (docs/apply.md), where util-linux skips the line" } },
  { name: "-a, a relative mount point", setup: "printf 'a m1 tmpfs defaults 0 0\\n' > fstab", args: ["-a", "-T", "fstab"], util: 0, link: { code: 1, why: "the whole file refused (docs/apply.md)" } },
  { name: "-a, a nofail line the kernel refuses", setup: "printf 'a %s/m1 tmpfs nofail,nosuchopt 0 0\\n' \"$D\" > fstab", args: ["-a", "-T", "fstab"], util: 32, link: { code: 0, why: "nofail makes any failure of its line a warning (docs/apply.md)" } },
];

/** A fresh dir for one tool's run of a row, set up as the row says. */
function rowDir(row: Row, index: number, tool: string): string {
  const d = ws.dir(`${index}-${tool}`);
  for (const sub of ["d", "d2", "e", "m1", "m2"]) ws.dir(`${index}-${tool}`, sub);
  writeFileSync(join(d, "f"), "");
  writeFileSync(join(d, "small"), "x");
  if (row.image) ws.image(`${index}-${tool}/img`);
  return d;
}

describe("the link named mount beside util-linux mount(8)", () => {
  test.each(ROWS.map((row, index) => [row.name, row, index] as const))("%s", (_name, row, index) => {
    const s = ws.fresh(`mount8-parity-${index}`);
    const link = join(s.dir, "mount");
    symlinkSync(BINARY, link);
    // nobody reaches the dirs (mkdtemp made the scratch dir 0700)
    const setup = [...(row.nobody ? [`chmod 755 "${s.dir}" . d`] : []), row.setup ?? "true"].join("\n");
    const as = (tool: string) => (row.nobody ? `setpriv --reuid=65534 --regid=65534 --clear-groups ${tool}` : tool);
    const util = runToolIn(rowDir(row, index, "util"), setup, as("mount"), row.args);
    const ours = runToolIn(rowDir(row, index, "link"), setup, as(JSON.stringify(link)), row.args);
    const shown = row.args.map((a) => JSON.stringify(a)).join(" ");
    // what each said, shown where a status is not the row's
    expect([shown, "util-linux", util.code, util.stderr]).toEqual([shown, "util-linux", row.util, expect.any(String)]);
    expect([shown, "link", ours.code, ours.stderr]).toEqual([shown, "link", row.link?.code ?? row.util, expect.any(String)]);
    if (row.says !== undefined) expect(ours.stderr).toMatch(row.says);
    // what util-linux's left, or where the link fails on purpose, what the setup mounted alone
    const expected = ours.code === util.code || ours.code === 0 ? util.left : runToolIn(rowDir(row, index, "setup"), setup, "true", []).left;
    expect(withAnyLoopDevice(ours.left)).toEqual(withAnyLoopDevice(expected));
  });
});

test("an internal error (a bug, no mount failure) exits 4 through the link, mount(8)'s internal mount bug, mount -a too; mountkit mount keeps 2", () => {
  const s = ws.fresh("mount8-parity-bug");
  const link = join(s.dir, "mount");
  symlinkSync(BINARY, link);
  const t = ws.dir("t");
  writeFileSync(join(t, "kept"), "kept\n");
  const mountArgs = ["-t", "tmpfs", "-o", "size=1m,tmpcopyup", "bug", t];
  const fstab = s.path("fstab");
  writeFileSync(fstab, `bug ${t} tmpfs size=1m,tmpcopyup 0 0\n`);
  for (const [bin, argv, code] of [
    [link, mountArgs, 4],
    [BINARY, ["mount", ...mountArgs], 2],
    [link, ["-a", "-T", fstab], 4],
    [BINARY, ["mount", "-a", "-T", fstab], 2],
  ] as const) {
    // the copy's first look at the directory under the new tmpfs, by its fd: a run that mounts, undone
    const when = callNumber(s.path("trace-first"), argv, "statx", /^statx\(\d+, "", [A-Z_|]*AT_EMPTY_PATH, STATX_BASIC_STATS/, undefined, bin);
    expect(Bun.spawnSync(["umount", t]).exitCode).toBe(0);
    const run = signalledAt(s.path(`trace-${code}`), argv, { syscall: "statx", when, pokeExit: STATX_OF_NO_TYPE }, undefined, { bin });
    expect({ exit: run.exitCode, stderr: run.stderr }).toEqual({ exit: code, stderr: "mountkit: statx(2): unknown file type in stx_mode 170755\n" });
    expect(mountsUnder(t)).toEqual([]);
    expect(readdirSync(t)).toEqual(["kept"]);
  }
});
