// ROOT ONLY. A link named findmnt beside util-linux findmnt (2.38.1 here): each row runs both, one
// after the other, in one private mount namespace (unshare -m inside this test's) holding a few
// scratch mounts of the test's own, and compares stdout byte for byte, the exit status, and
// stderr said or not (its words are each tool's own). The rows are where the output is fixed:
// the scratch subtree (-R, -T, -M, a PATH), a saved mountinfo table read by both (-F FILE), and
// the namespace's whole table, which nothing changes between the two runs. A row with `differs`
// is a difference kept on purpose (README, findmnt: "A link named findmnt").
import { beforeAll, describe, expect, test } from "bun:test";
import { symlinkSync, writeFileSync } from "node:fs";
import { VERSION } from "../../src/version.ts";
import { BINARY } from "../support/cli.ts";
import { findmntBoth, type FindmntAnswers } from "../support/findmnt.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

// $D a tmpfs holding a (a tmpfs, holding n: the tree's depth), b (a bind of src, "top[/src]"),
// and stack (two tmpfs mounts on one mount point, a directory x in the top one); $D and n of a
// size no host mount has, for -O to pick them alone.
const SETUP = [
  'mount -t tmpfs -o size=1028k mk-top "$D"; cd "$D"; mkdir a b src stack',
  "mount -t tmpfs mk-a a; mkdir a/n; mount -t tmpfs -o size=1028k mk-n a/n; mkdir a/n/deep",
  "mount --bind src b; mount -t tmpfs mk-s1 stack; mount -t tmpfs mk-s2 stack; mkdir stack/x; cd /",
].join("\n");

// A saved table: a root, /proc, /sys holding cgroup2, /mnt holding /mnt/a (holding /mnt/a/n)
// and /mnt/b, a bind of /mnt's /src.
const MOUNTINFO = [
  "21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw",
  "22 21 0:20 / /proc rw,nosuid,nodev,noexec,relatime shared:2 - proc proc rw",
  "23 21 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:3 - sysfs sysfs rw",
  "24 23 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate",
  "25 21 0:23 / /mnt rw,relatime - tmpfs scratch rw,size=1024k",
  "26 25 0:24 / /mnt/a rw,relatime - tmpfs ta rw,size=2048k",
  "27 26 0:25 / /mnt/a/n ro,relatime - tmpfs tn ro",
  "28 25 0:23 /src /mnt/b rw,relatime - tmpfs scratch rw,size=1024k",
].join("\n");

interface Row {
  args: readonly string[];
  /** a difference kept on purpose: util-linux's stdout and status (checked), and the link's */
  differs?: { util: { stdout: RegExp; code: number }; link: { stdout: RegExp; code: number } };
}

const F = ["-F", "$MI"];
const ROWS: readonly Row[] = [
  // the default layout: findmnt's tree of the whole table, or of a filter of it; a list where it lists
  { args: [] },
  { args: ["-J"] },
  { args: ["-t", "tmpfs", "-O", "size=1028k"] },
  { args: ["-J", "-t", "tmpfs", "-O", "size=1028k"] },
  { args: [...F] },
  { args: [...F, "-J"] },
  { args: [...F, "-a"] },
  { args: [...F, "-t", "tmpfs"] },
  { args: [...F, "-J", "-t", "tmpfs"] },
  { args: [...F, "-R"] },
  { args: [...F, "-U"] },
  { args: [...F, "-i", "-t", "tmpfs"] },
  { args: [...F, "-o", "TARGET,ID"] },
  { args: [...F, "-o", "ID,SOURCE"] }, // no TARGET to draw in: the rows in tree order
  { args: [...F, "-J", "-o", "ID,TARGET"] },
  { args: [...F, "-J", "-o", "ID,SOURCE"] },
  { args: [...F, "-J", "-o", "+PROPAGATION"] },
  { args: [...F, "-J", "--output-all"] },
  { args: [...F, "-y", "-J", "-o", "TARGET,MAJ:MIN"] },
  { args: [...F, "-l"] },
  { args: [...F, "-J", "-l"] },
  { args: [...F, "-r"] },
  { args: [...F, "-P"] },
  { args: [...F, "-f"] },
  { args: [...F, "-d", "backward", "-l"] },
  { args: [...F, "-M", "/mnt/a"] },
  { args: [...F, "-J", "/mnt/a"] },
  { args: [...F, "-J", "-R", "-M", "/mnt"] },
  // a tree of nothing: exit 0, -J an empty array; a list of nothing: exit 1
  { args: [...F, "-t", "nosuch"] },
  { args: [...F, "-J", "-t", "nosuch"] },
  { args: [...F, "-l", "-t", "nosuch"] },
  // --tree of a search: the mounts findmnt's match takes (a PATH a source only, -T a mount point exactly)
  { args: [...F, "--tree", "/mnt/a"] },
  { args: [...F, "--tree", "scratch"] },
  { args: [...F, "--tree", "-T", "/mnt/a/n/x"] },
  { args: [...F, "--tree", "-l", "-S", "scratch"] },

  // the scratch subtree of the live table
  { args: ["-R", "$D"] },
  { args: ["-J", "-R", "$D"] },
  { args: ["-J", "$D"] },
  // a PATH as findmnt matches it: a source, then a mount point exactly (a directory that is none: exit 1)
  { args: ["$D/a/n/deep"] },
  { args: ["-J", "$D/a/n"] },
  { args: ["$D/stack"] },
  { args: ["-f", "$D/stack"] },
  { args: ["-d", "backward", "-f", "$D/stack"] },
  { args: ["-R", "$D/stack"] },
  { args: ["-t", "tmpfs", "$D/a/n/deep"] },
  // -T: a mount point exactly, else the mount point holding PATH, each mount on it
  { args: ["-J", "-T", "$D/a/n/deep"] },
  { args: ["-T", "$D/stack/x"] },
  { args: ["--shadowed", "-T", "$D/stack/x"] },
  { args: ["-J", "-M", "$D/stack"] },
  { args: ["-J", "/proc"] },
  { args: ["-J", "-o", "TARGET,SIZE", "-b", "-R", "$D"] },
  { args: ["-J", "-o", "TARGET,ID,PARENT,MAJ:MIN,FSROOT,USE%,FREQ", "-R", "$D"] },
  { args: ["-l", "-R", "$D"] },
  { args: ["-r", "-R", "$D"] },
  { args: ["-P", "-R", "$D"] },
  { args: ["-D", "-R", "$D"] },
  { args: ["--tree", "$D/a"] },
  { args: ["--tree", "-T", "$D/stack"] },
  { args: ["--tree", "-J", "-M", "$D/stack"] },
  { args: ["-S", "mk-a"] },
  { args: ["$D/nosuch"] },
  { args: ["-J", "-T", "$D/nosuch"] },

  // long flags and their beginnings, read against findmnt's flags alone
  { args: ["--mo", "$D/a"] },
  { args: ["--mount", "$D/a", "--j"] },
  { args: ["--tr", "-M", "$D/a"] },
  { args: ["--sub", "--mountp=$D/a"] },
  { args: ["--ver"] }, // ambiguous to findmnt too: --verbose, --verify, --version
  { args: ["--mountinfo", "$MI"] }, // mountkit findmnt's, not findmnt's
  { args: ["--helper-dir", "/", "-x"] },
  // refused: exit 1 and nothing on stdout, -J or not
  { args: ["-J", "--bogus"] },
  { args: ["-J", "-x", "-F", "/dev/null"] },
  { args: ["-J", "-o", "BOGUS"] },
  { args: ["-J", "-F", "$D/nosuch"] },
  { args: ["-J", "-d", "sideways"] },

  // kept on purpose: --help and -V are mountkit's
  ...["--h", "--he", "--hel", "-h"].map((flag) => ({ args: [flag], differs: { util: { stdout: /^\nUsage:\n findmnt \[options\]\n/, code: 0 }, link: { stdout: /^Usage: findmnt \[/, code: 0 } } })),
  { args: ["-V"], differs: { util: { stdout: /^findmnt from util-linux 2\.38\.1\n$/, code: 0 }, link: { stdout: new RegExp(`^mountkit ${VERSION.replace(/\./g, "\\.")}\n$`), code: 0 } } },
];

/** A tool's stdout and exit status, as findmntBoth gives them. */
function parse(output: string): { stdout: string; code: number } {
  const at = output.lastIndexOf("exit=");
  return { stdout: output.slice(0, at), code: Number(output.slice(at + 5)) };
}

let answers: FindmntAnswers[] = [];

describe("a link named findmnt beside util-linux findmnt", () => {
  beforeAll(() => {
    const s = ws.fresh("findmnt-link");
    const d = ws.dir("d");
    ws.dir("bin");
    const link = s.path("bin", "findmnt");
    symlinkSync(BINARY, link);
    const mi = s.path("mountinfo");
    writeFileSync(mi, `${MOUNTINFO}\n`);
    answers = findmntBoth(SETUP, ROWS.map((r) => r.args), { D: d, MI: mi }, "/", undefined, link);
  });

  test.each(ROWS.map((row, i) => [row.args.join(" ") || "(no arguments)", row, i] as const))("%s", (_name, row, i) => {
    const a = answers[i]!;
    const util = parse(a.theirs);
    const link = parse(a.ours);
    if (row.differs) {
      expect({ args: row.args, ...util }).toMatchObject({ args: row.args, code: row.differs.util.code, stdout: expect.stringMatching(row.differs.util.stdout) });
      expect({ args: row.args, ...link }).toMatchObject({ args: row.args, code: row.differs.link.code, stdout: expect.stringMatching(row.differs.link.stdout) });
      return;
    }
    expect({ args: row.args, ...link }).toEqual({ args: row.args, ...util });
    expect({ args: row.args, said: a.ourErrors !== "" }).toEqual({ args: row.args, said: a.theirErrors !== "" });
  });

  test("what the rows drew: trees with depth, -J's four keys nested under children", () => {
    const out = (args: readonly string[]) => parse(answers[ROWS.findIndex((r) => r.args === args)]!.theirs).stdout;
    const byArgs = (...args: string[]) => ROWS.find((r) => r.args.join(" ") === args.join(" "))!.args;
    expect(out(byArgs(...F))).toContain("  │ └─/mnt/a/n ");
    const tree = JSON.parse(out(byArgs("-J", "-R", "$D"))) as { filesystems: { children: { children?: unknown[] }[] }[] };
    expect(Object.keys(tree.filesystems[0]!)).toEqual(["target", "source", "fstype", "options", "children"]);
    expect(tree.filesystems[0]!.children.some((c) => c.children !== undefined)).toBe(true);
    expect(out(byArgs("-R", "$D"))).toMatch(/\n│ └─\S+\/a\/n +mk-n +tmpfs /);
    // the whole table: a tree, the root at the top
    expect(out(byArgs())).toMatch(/^TARGET +SOURCE +FSTYPE +OPTIONS\n\/ .*\n[├└]─\//);
    expect(out(byArgs("--mo", "$D/a"))).toMatch(/\/a +mk-a +tmpfs /);
  });
});
