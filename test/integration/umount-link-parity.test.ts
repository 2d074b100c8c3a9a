// A link named umount beside util-linux umount (2.38) on bad and edge inputs: each case runs
// twice on the same setup, once per tool, each in a private mount namespace of its own (unshare
// -m inside this test's), and the exit statuses must agree, and so must the mounts left under
// the scratch dir. Where mountkit differs on purpose (README, umount), the case says how.
// Loop devices are attached to this test's own image only and detached after each run.
import { beforeAll, expect, test } from "bun:test";
import { chmodSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../support/cli.ts";
import { PRINT_EXIT_AND_MOUNTS_LEFT, runToolIn, withAnyLoopDevice } from "../support/mounts-left.ts";
import { NO_SUCH_PID } from "../support/processes.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

interface Case {
  name: string;
  /** shell lines run first, in $D; they may set L (a loop device) and P (a process to kill) */
  setup: string;
  args: string[];
  /** run as nobody (util-linux's umount is setuid root: it checks the table first) */
  unprivileged?: true;
  /** an ext4 image `img` in $D */
  image?: true;
  /** a documented difference: the link's exit status where util-linux's is `util` */
  differs?: { util: number; link: number };
  /** a documented difference in what is left (the exit statuses agree) */
  leftDiffers?: true;
}

/** our tmpfs: a size no mount of the machine has, for -a -O to pick it alone */
const MINE = "mkdir m; mount -t tmpfs -o size=1028k tm m";
/** a process whose working directory is in m, once it is there */
const BUSY = `(cd m && exec sleep 600) & P=$!; while [ "$(readlink /proc/$P/cwd)" != "$D/m" ]; do sleep 0.01; done`;
const LOOP = "L=$(losetup -f --show img)";
const PICK_MINE = ["-t", "tmpfs", "-O", "size=1028k"];

const CASES: Case[] = [
  { name: "a directory that is no mount point", setup: "mkdir m", args: ["m"] },
  { name: "a path that does not exist", setup: "", args: ["nosuch"] },
  { name: "an empty operand", setup: "", args: [""] },
  { name: "a path through a file", setup: "touch f", args: ["f/x"] },
  { name: "a dangling symlink", setup: "ln -s nowhere s", args: ["s"] },
  { name: "busy (a cwd in it)", setup: `${MINE}; ${BUSY}`, args: ["m"] },
  { name: "busy, -l", setup: `${MINE}; ${BUSY}`, args: ["-l", "m"] },
  { name: "busy, -f", setup: `${MINE}; ${BUSY}`, args: ["-f", "m"] },
  { name: "busy, -r: remounted read-only", setup: `${MINE}; ${BUSY}`, args: ["-r", "m"] },
  { name: "a mount with a mount on it", setup: `${MINE}; mkdir m/a; mount -t tmpfs ta m/a`, args: ["m"] },
  { name: "-R on a tree", setup: `${MINE}; mkdir m/a m/b; mount -t tmpfs ta m/a; mount -t tmpfs tb m/b; mkdir m/a/x; mount -t tmpfs tx m/a/x`, args: ["-R", "m"] },
  { name: "-R, a busy child", setup: `${MINE}; mkdir m/a; mount -t tmpfs ta m/a; (cd m/a && exec sleep 600) & P=$!; while [ "$(readlink /proc/$P/cwd)" != "$D/m/a" ]; do sleep 0.01; done`, args: ["-R", "m"] },
  { name: "-R, no mount point", setup: "mkdir m", args: ["-R", "m"] },
  { name: "-R, no such path", setup: "", args: ["-R", "nosuch"] },
  // util-linux adds the operands' codes (README, umount: several operands)
  { name: "two operands, one bad", setup: MINE, args: ["m", "nosuch"], differs: { util: 32, link: 64 } },
  { name: "two operands, both bad", setup: "mkdir m", args: ["m", "nosuch"], differs: { util: 64, link: 32 } },
  { name: "a file that is a bind mount", setup: "touch f g; mount --bind g f", args: ["f"] },
  { name: "-d on a loop mount", setup: `mkdir m; ${LOOP}; mount "$L" m`, args: ["-d", "m"], image: true },
  { name: "-d on the loop device", setup: `mkdir m; ${LOOP}; mount "$L" m`, args: ["-d", "$L"], image: true },
  { name: "the source device instead of the mount point", setup: `mkdir m; ${LOOP}; mount "$L" m`, args: ["$L"], image: true },
  { name: "a device that is not mounted", setup: LOOP, args: ["$L"], image: true },
  { name: "the image file of a loop mount", setup: "mkdir m; mount -o loop img m", args: ["img"], image: true },
  { name: "-c", setup: MINE, args: ["-c", "m"] },
  { name: "-n", setup: MINE, args: ["-n", "m"] },
  { name: "a trailing slash", setup: MINE, args: ["m/"] },
  { name: "an absolute path", setup: MINE, args: ["$D/m"] },
  { name: "a symlink to the mount point", setup: `${MINE}; ln -s m s`, args: ["s"] },
  { name: "-A: the mount and its bind", setup: `${MINE}; mkdir n; mount --bind m n`, args: ["-A", "m"] },
  { name: "-A, no such path", setup: "", args: ["-A", "nosuch"] },
  { name: "-O without -a", setup: MINE, args: ["-O", "ro", "m"] },
  { name: "-q, not mounted", setup: "mkdir m", args: ["-q", "m"] },
  { name: "--fake", setup: MINE, args: ["--fake", "m"] },
  // util-linux's fake skips the call and its check (README, umount --fake)
  { name: "--fake, not mounted", setup: "mkdir m", args: ["--fake", "m"], differs: { util: 0, link: 32 } },
  { name: "an unknown option", setup: MINE, args: ["--bogus", "m"] },
  { name: "no operands", setup: "", args: [] },
  { name: "an option without its value", setup: "", args: ["-t"] },
  { name: "-R with -r", setup: MINE, args: ["-R", "-r", "m"] },
  { name: "-a with -A", setup: MINE, args: ["-a", "-A", "m"] },
  { name: "-a with an operand", setup: MINE, args: ["-a", "m"] },
  // umount(8) 2.38 has no -T; the link reads that fstab (README, multi-call)
  { name: "-a -T FSTAB", setup: `${MINE}; : > fstab`, args: ["-a", "-T", "fstab"], differs: { util: 1, link: 0 } },
  { name: "-N, no such process", setup: MINE, args: ["-N", NO_SUCH_PID, "m"] },
  { name: "-N, no namespace file", setup: MINE, args: ["-N", "/etc/passwd", "m"] },
  { name: "-a -t proc: /proc goes, and the table with it", setup: "", args: ["-a", "-t", "proc"] },
  { name: "-a -O, one busy, one not", setup: `${MINE}; mkdir n; mount -t tmpfs -o size=1028k tn n; ${BUSY}`, args: ["-a", ...PICK_MINE] },
  { name: "-a -O, a ramfs on one", setup: `${MINE}; mkdir m/a; mount -t ramfs ra m/a; mkdir n; mount -t tmpfs -o size=1028k tn n`, args: ["-a", ...PICK_MINE] },
  { name: "-a -l -O, a ramfs on it", setup: `${MINE}; mkdir m/a; mount -t ramfs ra m/a`, args: ["-a", "-l", ...PICK_MINE] },
  { name: "-a -r -O, a ramfs on it", setup: `${MINE}; mkdir m/a; mount -t ramfs ra m/a`, args: ["-a", "-r", ...PICK_MINE] },
  // umount2 of m would take the ramfs on top, which util-linux does (README, multi-call)
  { name: "-a -O, covered by a ramfs", setup: `${MINE}; mount -t ramfs ra m`, args: ["-a", ...PICK_MINE], leftDiffers: true },
  { name: "unprivileged, mounted", setup: MINE, args: ["m"], unprivileged: true },
  { name: "unprivileged, not mounted", setup: "mkdir m", args: ["m"], unprivileged: true },
  { name: "unprivileged, no such path", setup: "", args: ["nosuch"], unprivileged: true },
  { name: "unprivileged, -q not mounted", setup: "mkdir m", args: ["-q", "m"], unprivileged: true },
  { name: "unprivileged, a device that is not mounted", setup: LOOP, args: ["$L"], unprivileged: true, image: true },
  { name: "unprivileged, -R not mounted", setup: "mkdir m", args: ["-R", "m"], unprivileged: true },
  // the fake answers EPERM as the kernel would (README, umount --fake)
  { name: "unprivileged, --fake", setup: MINE, args: ["--fake", "m"], unprivileged: true, differs: { util: 0, link: 32 } },
];

/** After the tool and the print: the busy process ends, and the loop devices of $D/img go. */
const RELEASE = ['[ -n "${P:-}" ] && kill "$P"', '[ -e img ] && for l in $(losetup -n -O NAME -j "$D/img"); do losetup -d "$l"; done', "true"].join("\n");
const AS_NOBODY = "setpriv --reuid=nobody --regid=nogroup --clear-groups";

test.each(CASES.map((c) => [c.name, c] as const))("%s", (_name, c) => {
  const s = ws.fresh("umount-link-parity");
  if (c.image) ws.image("img");
  const link = join(ws.dir("bin"), "umount");
  symlinkSync(BINARY, link);
  if (c.unprivileged) chmodSync(s.dir, 0o755);
  const run = (tool: string) => runToolIn(s.dir, c.setup, c.unprivileged ? `${AS_NOBODY} ${tool}` : tool, c.args, `${PRINT_EXIT_AND_MOUNTS_LEFT}\n${RELEASE}`, true);
  const util = run("umount");
  const ours = run(`"${link}"`);
  const expected = c.differs ?? { util: util.code, link: util.code };
  expect({ util: util.code, link: ours.code, stderr: ours.stderr }).toEqual({ ...expected, stderr: ours.stderr });
  if (!c.leftDiffers) expect(withAnyLoopDevice(ours.left)).toEqual(withAnyLoopDevice(util.left));
  else expect(withAnyLoopDevice(ours.left)).not.toEqual(withAnyLoopDevice(util.left));
});
