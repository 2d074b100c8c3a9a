// findmnt --tree, -i, --shadowed, --vfs-all and -C: the same output and exit codes as util-linux
// findmnt, both run in one private mount namespace (unshare -m inside this test's) on the same
// scratch mounts; where mountkit means otherwise by design (its list by default, --shadowed
// where 2.38.1's list ignores it), fixed expectations say what it prints.
import { beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { findmntBoth, sameAsFindmnt } from "../support/findmnt.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

/** A two-column table as findmnt aligns one (the first column as wide as its widest cell), then the exit line. */
function twoColumns(rows: readonly (readonly [string, string])[], header: readonly [string, string] = ["TARGET", "SOURCE"]): string {
  const width = Math.max(...[header, ...rows].map((r) => r[0].length));
  return `${[header, ...rows].map(([a, b]) => `${a.padEnd(width)} ${b}`).join("\n")}\nexit=0\n`;
}

// Under $D: a (holding a/sub), b a bind of a/sub2, stack a stack of three (s1 under s2 under
// s3), hid/x hidden by a later mount on hid (hidden, not over-mounted), ro read-only, and lnk a
// symlink to a/sub. Rows' order in a tree is by mount ID, which the kernel may reuse: no
// assertion here takes it from the order of mounting.
const SETUP = [
  'mount -t tmpfs top "$D"; cd "$D"; mkdir a b stack hid ro',
  "mount -t tmpfs ta a; mkdir a/sub a/sub2; mount -t tmpfs tb a/sub; mount --bind a/sub2 b",
  "mount -t tmpfs s1 stack; mount -t tmpfs s2 stack; mount -t tmpfs s3 stack",
  "mkdir hid/x; mount -t tmpfs hx hid/x; mount -t tmpfs hh hid",
  'mount -t tmpfs -o ro,noexec,nosuid rot ro; ln -s "$D/a/sub" lnk; cd /',
].join("\n");

const TREE_QUERIES = [
  ["--tree"],
  ["--tree", "-o", "TARGET,SOURCE,ID", "-t", "tmpfs"],
  ["--tree", "-l", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
  ["--tree", "-r", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
  ["--tree", "-P", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
  ["--tree", "-J", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
  ["--tree", "-D", "-o", "SOURCE,FSTYPE,TARGET", "-t", "tmpfs"],
  ["--tree", "-U", "-a", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
  ["--tree", "-o", "SOURCE,ID", "-t", "tmpfs"],
  ["--tree", "-o", "TARGET,SOURCE", "-M", "$D/stack"],
  ["--tree", "-J", "-o", "TARGET,SOURCE", "-M", "$D/stack"],
  ["--tree", "-f", "-d", "backward", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
  ["--tree", "-o", "TARGET,SOURCE", "-S", "s2"],
  ["--tree", "-t", "zzz"],
  ["--tree", "-J", "-t", "zzz"],
  ["--tree", "-M", "$D/none"],
  ["--tree", "-R", "-l", "-o", "TARGET,SOURCE", "-M", "$D/a"],
  ["--tree", "-R", "-M", "$D/none"],
  // where findmnt's exit status follows its layout: -R and -m that find nothing are lists
  ["-R", "-t", "zzz"],
  ["-R", "-J", "-t", "zzz"],
  ["-m", "-t", "zzz"],
  ["-R", "-l", "-o", "TARGET,ID"],
  // the tree drawn in each TARGET column
  ["--tree", "-o", "TARGET,SOURCE,TARGET", "-t", "tmpfs"],
  ["--tree", "-r", "-o", "TARGET,SOURCE,TARGET", "-t", "tmpfs"],
  ["--tree", "-P", "-o", "TARGET,SOURCE,TARGET", "-t", "tmpfs"],
  ["-R", "-o", "TARGET,TARGET", "-M", "$D/a"],
];

test("--tree draws findmnt's tree of the mounts chosen, in every format; -d and -f change nothing there; an empty tree is exit 0: as findmnt", () => {
  ws.fresh("findmnt-tree-option");
  const d = ws.dir("d");
  const outputs = sameAsFindmnt(SETUP, TREE_QUERIES, { D: d });
  // what they drew, so that equal outputs are not two empty or trivial ones
  // s2 drawn under s1 and s3 under s2, s1 as deep as the host's mounts above $D put it; whether
  // s1's branch goes on to a later sibling of its ("│ ") goes by mount ID
  const s1 = new RegExp(`\n((?:│ |  )*)([├└])─${d}/stack +s1 `).exec(outputs[0]!);
  expect(s1).not.toBeNull();
  const belowS1 = `${s1![1]}${s1![2] === "├" ? "│ " : "  "}`;
  expect(outputs[0]).toMatch(new RegExp(`\n${belowS1}└─${d}/stack +s2 `));
  expect(outputs[0]).toMatch(new RegExp(`\n${belowS1}  └─${d}/stack +s3 `));
  // the root is no tmpfs: $D at the top, or under the tmpfs holding it (/tmp may be one)
  expect(outputs[1]).toMatch(new RegExp(`\n((│ |  )*[├└]─)?${d} +top +\\d+\n`));
  expect(outputs[2]).toContain(`└─${d}/`); // -l is overruled
  expect(outputs[3]).toContain(`\\xe2\\x94\\x94\\xe2\\x94\\x80${d}/`);
  expect(outputs[4]).toMatch(new RegExp(`TARGET="(\\\\xe2\\\\x94\\\\x82 |  )+\\\\xe2\\\\x94\\\\x94\\\\xe2\\\\x94\\\\x80${d}/stack" SOURCE="s2"`)); // "│ " or "  ", then "└─"
  expect(outputs[5]).toContain('"children": [');
  expect(outputs[6]).toMatch(new RegExp(`\nrot +tmpfs +[├└]─${d}/ro\n`));
  expect(outputs[7]).toMatch(new RegExp(`\n([| ] )*[|\`]-${d}/stack +s3\n`));
  expect(outputs[8]).not.toContain("─");
  expect(outputs[9]).toBe(twoColumns([[`${d}/stack`, "s1"], [`└─${d}/stack`, "s2"], [`  └─${d}/stack`, "s3"]]));
  expect(outputs[11]).toBe(outputs[2]); // the whole tree, as without -d and -f
  expect(outputs[12]).toBe(twoColumns([[`${d}/stack`, "s2"]]));
  expect(outputs.slice(13, 16)).toEqual(["exit=0\n", '{\n   "filesystems": [\n\n   ]\n}\nexit=0\n', "exit=0\n"]);
  expect(outputs[16]).toBe(twoColumns([[`${d}/a`, "ta"], [`└─${d}/a/sub`, "tb"]]));
  expect(outputs.slice(17, 21)).toEqual(["exit=1\n", "exit=1\n", "exit=1\n", "exit=1\n"]);
});

// Saved tables: a messy one (the smallest parent ID is not the root's), mounts whose parent is
// not in the table, one listed before its parent (util-linux 2.38 draws it twice), a root that
// is its own parent, and two files (no tree).
const SAVED = {
  messy: "30 25 0:1 / / rw - tmpfs root rw\n40 3 0:2 / /a rw - tmpfs a rw\n3 30 0:3 / /b rw - tmpfs b rw\n41 40 0:4 / /a/x rw - tmpfs ax rw\n",
  orphans: "30 25 0:1 / / rw - tmpfs root rw\n31 30 0:2 / /a rw - tmpfs a rw\n50 99 0:3 / /o rw - tmpfs o rw\n51 50 0:4 / /o/x rw - tmpfs ox rw\n32 30 0:5 / /b rw - tmpfs b rw\n",
  childfirst: "52 50 0:4 / /o/y rw - tmpfs oy rw\n30 25 0:1 / / rw - tmpfs root rw\n50 99 0:3 / /o rw - tmpfs o rw\n",
  selfparent: "30 30 0:1 / / rw - tmpfs root rw\n31 30 0:2 / /a rw - tmpfs a rw\n32 31 0:3 / /a rw - tmpfs a2 rw\n",
};

const SAVED_QUERIES = [
  ["--tree", "-F", "$S/messy", "-o", "TARGET,SOURCE,ID,PARENT"],
  ["--tree", "-F", "$S/orphans", "-o", "TARGET,SOURCE"],
  ["--tree", "-F", "$S/orphans", "-o", "TARGET,SOURCE", "-i", "-S", "root"],
  ["--tree", "-F", "$S/orphans", "-o", "TARGET,SOURCE", "-i", "-S", "ox"],
  ["--tree", "-F", "$S/childfirst", "-o", "TARGET,SOURCE"],
  ["--tree", "-F", "$S/selfparent", "-o", "TARGET,SOURCE"],
  ["--tree", "-F", "$S/selfparent", "-o", "TARGET,SOURCE", "--shadowed"],
  ["-F", "$S/selfparent", "-l", "-o", "TARGET,SOURCE", "--shadowed", "-t", "tmpfs"],
  ["--tree", "-F", "$S/orphans", "-F", "$S/messy", "-o", "TARGET,SOURCE"],
];

test("--tree of a saved table: findmnt's root (up a messy table's parents), unreached mounts as trees of their own, two files a list: as findmnt", () => {
  ws.fresh("findmnt-tree-saved");
  const s = ws.dir("saved");
  for (const [name, text] of Object.entries(SAVED)) writeFileSync(join(s, name), text);
  const outputs = sameAsFindmnt(":", SAVED_QUERIES, { S: s });
  expect(outputs[0]).toBe("TARGET     SOURCE ID PARENT\n/          root   30     25\n└─/b       b       3     30\n  └─/a     a      40      3\n    └─/a/x ax     41     40\nexit=0\n");
  expect(outputs[1]).toBe("TARGET SOURCE\n/      root\n├─/a   a\n└─/b   b\n/o     o\n└─/o/x ox\nexit=0\n");
  expect(outputs[2]).toBe("TARGET SOURCE\n/a     a\n/b     b\n/o     o\n└─/o/x ox\nexit=0\n");
  expect(outputs[4]).toBe("TARGET SOURCE\n/      root\n/o/y   oy\n/o     o\n└─/o/y oy\nexit=0\n");
  expect(outputs[6]).toBe("TARGET SOURCE\n/      root\n└─/a   a\nexit=0\n"); // the root its own parent on "/", as libmount finds it
  expect(outputs[8]).toStartWith("TARGET SOURCE\n/      root\n/a     a\n/o     o\n");
});

const INVERT_QUERIES = [
  ["-i", "-l", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-O", "ro"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "--real"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "--pseudo"],
  ["-i", "-D", "-o", "SOURCE,FSTYPE,TARGET"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-S", "s2"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "s2"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "s2", "$D/stack"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "$D/stack"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-T", "$D/stack"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-T", "$D/a/sub2"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-M", "$D/stack"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-M", "$D/lnk"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-T", "$D/none"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-f", "-d", "backward", "-t", "tmpfs"],
  ["-i", "-R", "-l", "-o", "TARGET,SOURCE", "-t", "notmpfs"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-U", "-t", "tmpfs"],
  ["-i", "-l", "-o", "TARGET,SOURCE", "-t", "tmpfs", "--shadowed"],
  ["-i", "--tree", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
  // with nothing to filter by: findmnt's tree finds nothing, its lists print every mount
  ["-i"],
  ["-i", "-J", "-o", "TARGET"],
  ["-i", "-l", "-o", "TARGET"],
  ["-i", "-f", "-o", "TARGET"],
];

test("-i inverts findmnt's own match: types, options, kinds, sources, mount points exactly (a PATH as a source first): as findmnt", () => {
  ws.fresh("findmnt-invert");
  const d = ws.dir("d");
  const outputs = sameAsFindmnt(SETUP, INVERT_QUERIES, { D: d });
  const rows = (i: number) => outputs[i]!.split("\n").filter((row) => row.startsWith(`${d}`) || row.startsWith("/")).map((row) => row.split(/ +/).slice(0, 2).join(" "));
  // what they found, so that equal outputs are not two empty ones
  expect(rows(0)).not.toContainEqual(`${d}/stack s1`);
  expect(rows(0).length).toBeGreaterThan(0);
  expect(rows(1)).not.toContainEqual(`${d}/ro rot`);
  expect(rows(1)).toContainEqual(`${d}/a ta`);
  expect(rows(5)).toEqual(rows(6)); // s2 as an operand is a source, as -S s2
  expect(rows(5)).toContainEqual(`${d}/stack s1`);
  expect(rows(5)).not.toContainEqual(`${d}/stack s2`);
  // a directory as an operand is no source: every mount; -T a mount point exactly, not the holder
  expect(rows(8)).toContainEqual(`${d}/stack s3`);
  expect(rows(9).filter((r) => r.startsWith(`${d}/stack `))).toEqual([]);
  expect(rows(10)).toContainEqual(`${d}/a ta`); // a/sub2 is no mount point: no mount is on it
  expect(rows(12)).not.toContainEqual(`${d}/a/sub tb`); // -M DIR canonical: the symlink's target (with -C, not)
  expect(outputs[18]).toContain("└─");
  expect(outputs.slice(19, 21)).toEqual(["exit=0\n", '{\n   "filesystems": [\n\n   ]\n}\nexit=0\n']);
  expect(rows(21).filter((r) => r === `${d}/stack`)).toHaveLength(3); // -i ignored: the whole table
  expect(outputs[22]).toMatch(/^TARGET\n\S+\nexit=0\n$/);
});

test("--shadowed: only over-mounted mounts, in every format; util-linux 2.38.1's list without another filter lists all, mountkit does not", () => {
  ws.fresh("findmnt-shadowed");
  const d = ws.dir("d");
  const queries = [
    ["--shadowed", "--tree", "-o", "TARGET,SOURCE"],
    ["--shadowed", "-l", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
    ["--shadowed", "-r", "-n", "-o", "SOURCE", "-M", "$D/stack"],
    ["--shadowed", "-J", "-l", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
    ["--shadowed", "-R", "-o", "TARGET,SOURCE", "-M", "$D/stack"],
    ["--shadowed", "-U", "-l", "-o", "TARGET,SOURCE", "-t", "tmpfs"],
    ["--shadowed", "-n", "-o", "SOURCE", "-M", "$D/hid/x"],
    // with a PATH: the over-mounted mounts on the mount point holding it (its holder never is one)
    ["--shadowed", "-l", "-o", "TARGET,SOURCE", "-T", "$D/stack"],
    ["--shadowed", "-l", "-o", "TARGET,SOURCE", "$D/stack"],
    ["--shadowed", "-J", "-o", "SOURCE", "-T", "$D/stack"],
    ["--shadowed", "-l", "-o", "TARGET,SOURCE", "-T", "$D/a/sub"],
  ];
  const outputs = sameAsFindmnt(SETUP, queries, { D: d });
  expect(outputs[0]).toMatch(new RegExp(`\n${d}/stack +s1\n└─${d}/stack +s2\n`));
  expect(outputs[2]).toBe("s1\ns2\nexit=0\n");
  expect(outputs[5]).not.toContain(`${d}/stack`); // -U leaves nothing over-mounted
  expect(outputs[6]).toBe("exit=1\n"); // hidden from above, not over-mounted
  expect(outputs[7]).toBe(twoColumns([[`${d}/stack`, "s1"], [`${d}/stack`, "s2"]]));
  expect(outputs[8]).toBe(outputs[7]);
  expect(outputs[10]).toBe("exit=1\n"); // a/sub's stack is one mount
  // the list with no other filter: findmnt 2.38.1 prints every mount (its whole-table shortcut
  // skips the test), mountkit only the over-mounted ones, as findmnt's tree shows them
  const [list] = findmntBoth(SETUP, [["--shadowed", "-l", "-n", "-o", "TARGET,SOURCE"]], { D: d });
  expect(list!.theirs).toMatch(new RegExp(`\n${d}/stack +s3\n`));
  const ours = list!.ours.split("\n").filter((row) => row.startsWith(`${d}/`)).map((row) => row.replace(/ +/, " "));
  expect(ours).toEqual([`${d}/stack s1`, `${d}/stack s2`]);
  const theirTree = outputs[0]!.split("\n").filter((row) => row.includes(`${d}/`)).map((row) => row.replace(/^[│├└─ ]+/, "").replace(/ +/, " "));
  expect(ours).toEqual(theirTree);
});

// An fstab with flags of every kind libmount's map holds, the options mount(8) reads as flags
// (user, owner), a line whose options are "0", and one without options at all.
const FSTAB = [
  "tmpfs /a tmpfs defaults,user,noatime 0 0",
  "/dev/x /b ext4 ro,nosuid,size=3,x-foo 0 2",
  "srv:/e /c nfs owner,sync 0 0",
  "LABEL=l /d ext4 rw,rbind,shared 0 0",
  "none /e tmpfs 0 0",
  "x /f tmpfs",
  "x /g tmpfs rw,nodev,noatime,nodiratime,sync,dirsync,lazytime,nosymfollow,mand,silent,iversion,strictatime,ro=1,noexec=,users,nouser 0 0",
].join("\n");

const VFS_QUERIES = [
  ["--vfs-all", "-o", "TARGET,VFS-OPTIONS,OPTIONS", "-R", "$D"],
  ["--vfs-all", "-J", "-o", "TARGET,VFS-OPTIONS", "-M", "$D/ro"],
  ["--vfs-all", "-P", "-o", "VFS-OPTIONS", "-M", "/"],
  ["--vfs-all", "-l", "-o", "+VFS-OPTIONS"],
  ["--vfs-all", "-s", "-F", "$F", "-o", "TARGET,VFS-OPTIONS"],
  ["-s", "-F", "$F", "-i", "-t", "ext4", "-o", "TARGET"],
  ["-s", "-F", "$F", "-i", "/dev/x", "-o", "TARGET"],
  ["-s", "-F", "$F", "-i", "/b", "-o", "TARGET"],
  ["-s", "-F", "$F", "-i", "-M", "/b", "-o", "TARGET"],
  ["-s", "-F", "$F", "-i", "-T", "/b", "-o", "TARGET"],
  ["-s", "-F", "$F", "-i", "-o", "TARGET"],
  ["-s", "-F", "$F", "--shadowed", "-t", "ext4", "-o", "TARGET"],
  ["-s", "-F", "$F", "--shadowed", "-i", "-t", "ext4", "-o", "TARGET"],
  ["-F", "$F", "--tree", "-o", "TARGET"],
];

test("--vfs-all names every flag of libmount's map; -s -i, --shadowed and --tree on an fstab: as findmnt", () => {
  ws.fresh("findmnt-vfs-all");
  const d = ws.dir("d");
  const fstab = join(ws.dir("etc"), "fstab");
  writeFileSync(fstab, `${FSTAB}\n`);
  const outputs = sameAsFindmnt(SETUP, VFS_QUERIES, { D: d, F: fstab });
  expect(outputs[0]).toMatch(new RegExp(`[├└]─${d}/ro        ro,noexec,nosuid,dev,async,loud,nomand,atime,noiversion,diratime,relatime,nostrictatime,nolazytime,symfollow ro,nosuid,noexec,relatime\n`));
  expect(outputs[4]).toContain("/a     rw,noexec,nosuid,nodev,async,loud,nomand,noatime,");
  expect(outputs[4]).toContain("/d     rw,exec,suid,dev,async,bind,rbind,loud,nomand,atime,noiversion,diratime,norelatime,nostrictatime,nolazytime,runbindable,rprivate,rslave,shared,rshared,symfollow\n");
  expect(outputs[4]).toContain("/f     \n");
  expect(outputs.slice(5, 10)).toEqual([
    "TARGET\n/a\n/c\n/e\n/f\n/g\nexit=0\n",
    "TARGET\n/a\n/c\n/d\n/e\n/f\n/g\nexit=0\n",
    "TARGET\n/a\n/b\n/c\n/d\n/e\n/f\n/g\nexit=0\n",
    "TARGET\n/a\n/c\n/d\n/e\n/f\n/g\nexit=0\n",
    "TARGET\n/a\n/c\n/d\n/e\n/f\n/g\nexit=0\n",
  ]);
  expect(outputs[11]).toBe("exit=1\n");
  expect(outputs[13]).toBe("TARGET\n/a\n/b\n/c\n/d\n/e\n/f\n/g\nexit=0\n");
});

const NOCANON_QUERIES = [
  ["-C", "-M", "stack"],
  ["-C", "-o", "TARGET,SOURCE", "-M", "$D/stack//"],
  ["-C", "-o", "TARGET,SOURCE", "-M", "$D/../d/stack"],
  ["-o", "TARGET,SOURCE", "-M", "$D/../d/stack"],
  ["-C", "-o", "TARGET,SOURCE", "-T", "$D/lnk"],
  ["-o", "TARGET,SOURCE", "-T", "$D/lnk"],
  ["-C", "-o", "TARGET,SOURCE", "-T", "$D/../d/a/sub2"],
  ["-C", "-o", "TARGET,SOURCE", "-T", "$D/none/x"],
  ["-C", "-n", "-o", "SOURCE", "-T", "./b"],
  ["-C", "-o", "TARGET,SOURCE", "-S", "$D/vda"],
  ["-C", "-o", "TARGET,SOURCE", "$D/vda"],
  ["-C", "-i", "-l", "-o", "TARGET,SOURCE", "-M", "$D/lnk"],
  ["-C", "-l", "-o", "TARGET,SOURCE", "-U", "-t", "tmpfs"],
  ["-C", "-c"],
  ["-C", "-e"],
  ["-c", "-C", "-J"],
];

test("-C compares paths and sources as given (no symlink resolved, no .. folded, no device's other name), -c and -e refused with it: as findmnt", () => {
  ws.fresh("findmnt-nocanonicalize");
  const d = ws.dir("d");
  // vda: a symlink to the root's block device, for a source given by another name
  const setup = `${SETUP}\nln -s "$(findmnt -nvo SOURCE /)" "$D/vda"`;
  const answers = findmntBoth(setup, NOCANON_QUERIES, { D: d }, d);
  for (const a of answers.slice(0, -3)) {
    expect([a.query, a.ours]).toEqual([a.query, a.theirs]);
    expect([a.query, a.ourErrors]).toEqual([a.query, ""]);
  }
  const outputs = answers.map((a) => a.theirs);
  expect(outputs[0]).toBe("exit=1\n"); // a relative mount point is none
  expect(outputs[1]).toBe(twoColumns([[`${d}/stack`, "s1"], [`${d}/stack`, "s2"], [`${d}/stack`, "s3"]]));
  expect(outputs.slice(2, 4)).toEqual(["exit=1\n", outputs[1]!]);
  expect(outputs[4]).toBe(twoColumns([[d, "top"]]));
  expect(outputs[5]).toBe(twoColumns([[`${d}/a/sub`, "tb"]]));
  expect(outputs[6]).toBe(twoColumns([[d, "top"]]));
  expect(outputs[7]).toBe("exit=1\n");
  expect(outputs[8]).toBe("ta[/sub2]\nexit=0\n");
  expect(outputs.slice(9, 11)).toEqual(["exit=1\n", "exit=1\n"]);
  expect(outputs[11]).toContain(`${d}/a/sub`);
  for (const a of answers.slice(-3)) {
    expect([a.query, a.theirs, a.ours.slice(-7)]).toEqual([a.query, "exit=1\n", "exit=1\n"]);
    expect([a.query, a.ourErrors]).toEqual([a.query, `mountkit: ${a.theirErrors}`]);
  }
  expect(answers.at(-3)!.theirErrors).toBe("findmnt: mutually exclusive arguments: --nocanonicalize --canonicalize\n");
  expect(answers.at(-2)!.theirErrors).toBe("findmnt: mutually exclusive arguments: --nocanonicalize --evaluate\n");
});
