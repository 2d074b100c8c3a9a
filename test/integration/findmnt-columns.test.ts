// findmnt's device columns (UUID, LABEL, PARTUUID, PARTLABEL, SOURCES), OPT-FIELDS, TID,
// --output-all, -S MAJ:MIN, SOURCE TARGET operands and -d: the same output and exit codes as
// util-linux findmnt, both run in one private mount namespace (unshare -m inside this test's)
// on loop devices of ext4 images this test makes (detached after it, whatever happens).
import { beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../support/cli.ts";
import { findmntBoth, sameAsFindmnt } from "../support/findmnt.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

/**
 * The environment of both tools: findmnt's libblkid keeps what it probed in a cache file
 * (/run/blkid/blkid.tab) and trusts an entry for 2 s, so a loop device reused from an earlier
 * test (this host's, or another's) could answer with the old image's UUID; a cache of the
 * test's own starts empty. (mountkit keeps none.)
 */
function both(env: Record<string, string>): Record<string, string> {
  return { ...env, BLKID_FILE: join(ws.dir("blkid"), "blkid.tab") };
}

const UUID_A = "6d6b6a01-2222-4333-8444-555555555501";
const UUID_B = "6d6b6a01-2222-4333-8444-555555555502";

// Two filesystems, labels with a space and non-ASCII; a bind of a subdirectory of one; a tmpfs
// with no source, a shared one (its OPT-FIELDS), and a stack of two. Each image is attached
// once, so every UUID is carried by one device (SOURCES lists one).
const SETUP = [
  'LA=$(losetup -f --show "$A"); LB=$(losetup -f --show "$B")',
  'MA=$(cat "/sys/class/block/${LA#/dev/}/dev")',
  'mount -t tmpfs top "$D"; cd "$D"; mkdir a b bind e sh s',
  'mount "$LA" a; mkdir -p a/sub; mount -o ro "$LB" b; mount --bind a/sub bind',
  'mount -t tmpfs "" e; mount -t tmpfs tsh sh; mount --make-shared sh',
  'mount -t tmpfs s1 s; mount -t tmpfs s2 s; cd /',
].join("\n");

const COLUMNS = "TARGET,SOURCE,UUID,LABEL,PARTUUID,PARTLABEL,OPT-FIELDS,SOURCES";

const QUERIES = [
  ["-o", COLUMNS, "-R", "$D"],
  ["-J", "-o", COLUMNS, "-R", "$D"],
  ["-P", "-o", COLUMNS, "-R", "$D"],
  ["-r", "-n", "-o", COLUMNS, "-R", "$D"],
  ["-y", "-l", "-o", "TARGET,OPT-FIELDS,UUID", "-R", "$D"],
  ["-n", "-o", "UUID,LABEL", "-M", "$D/bind"],
  ["-n", "-o", "+UUID", "-D", "-M", "$D/b"],
  // -S and the operand: a tag, MAJ:MIN (sscanf's reading: blanks, a leading zero, text after it)
  ["-n", "-o", "TARGET", "-S", `UUID=${UUID_B}`],
  ["-n", "-o", "TARGET", "-S", "LABEL=ünï b"],
  ["-n", "-o", "TARGET,SOURCE", "-S", "$MA"],
  ["-n", "-o", "TARGET,SOURCE", "-S", " 0$MA"],
  ["-n", "-o", "TARGET,SOURCE", "-S", "${MA}x"],
  ["-n", "-o", "TARGET", "$MA"],
  ["-n", "-o", "TARGET", "-S", "0:0"],
  // SOURCE TARGET: that source on exactly that mount point; for MAJ:MIN, else on the one holding TARGET
  ["-n", "-o", "TARGET,SOURCE", "$LA", "$D/a"],
  ["-n", "-o", "TARGET,SOURCE", "$LA", "$D/a/"],
  ["-n", "-o", "TARGET", "$LA", "$D/a/sub"],
  ["-n", "-o", "TARGET", "$MA", "$D/a/sub"],
  ["-n", "-o", "TARGET", "$MA", "$D/bind"],
  ["-n", "-o", "TARGET", "$LB", "$D/a"],
  ["-o", "TARGET,SOURCE", "s2", "$D/s"],
  ["-S", "s1", "$D/s"],
  ["-M", "$D/s", "s1"],
  ["-T", "$D/s", "s1"],
  // -d backward: the table from its end
  ["-d", "backward", "-n", "-o", "SOURCE", "-M", "$D/s"],
  ["-d", "backward", "-f", "-n", "-o", "SOURCE", "-t", "tmpfs", "-R", "$D"],
  ["-d", "backward", "-R", "-o", "TARGET,SOURCE", "$D"],
  ["-d", "forward", "-f", "-n", "-o", "SOURCE", "-M", "$D/s"],
  ["-d", "sideways"],
  // --output-all: TID is the task whose table is read, so -N $$ gives both the shell's
  ["--output-all", "-N", "$$", "-R", "$D"],
  ["--output-all", "-J", "-N", "$$", "-M", "$D/a"],
  ["--output-all", "-P", "-y", "-N", "$$", "-M", "$D/sh"],
  ["--output-all", "-o", "+TARGET", "-r", "-N", "$$", "-M", "$D/bind"],
  ["--output-all", "-o", "TARGET,ID", "-M", "$D/bind"],
  ["--output-all", "-D", "-N", "$$", "-M", "$D/b"],
  ["-o", "TARGET,ACTION", "-M", "$D"],
  ["-o", "OLD-TARGET", "-M", "$D"],
  // an fstab's lines: a tag's own value, what the device a line names holds
  ["-s", "-F", "$F", "--output-all"],
  ["-s", "-F", "$F", "-J", "-o", "SOURCE,UUID,LABEL,SOURCES,TID,OPT-FIELDS"],
  ["-s", "-F", "$F", "-e", "-o", "SOURCE,UUID,LABEL,SOURCES"],
  ["-s", "-F", "$F", "-n", "-o", "TARGET", "tq", "/q"],
  ["-s", "-F", "$F", "-n", "-o", "TARGET", "-d", "backward"],
];

test("UUID, LABEL, PARTUUID, PARTLABEL, OPT-FIELDS, SOURCES; --output-all; -S MAJ:MIN; SOURCE TARGET; -d: as findmnt", () => {
  ws.fresh("findmnt-columns");
  const d = ws.dir("d");
  const a = ws.image("a", 8, ["-L", "lab el", "-U", UUID_A]);
  const b = ws.image("b", 8, ["-L", "ünï b", "-U", UUID_B]);
  const fstab = join(ws.dir("etc"), "fstab");
  writeFileSync(fstab, `UUID=${UUID_A} /a ext4 defaults 0 1\nLABEL="ünï b" /b ext4 ro 0 2\ntq /q tmpfs defaults 0 0\nUUID=0000-none /n ext4 noauto 0 0\n`);
  const answers = findmntBoth(SETUP, QUERIES, both({ D: d, A: a, B: b, F: fstab }));
  for (const x of answers) {
    expect([x.query, x.ours]).toEqual([x.query, x.theirs]);
    expect([x.query, x.ourErrors === ""]).toEqual([x.query, x.theirErrors === ""]);
  }
  const outputs = answers.map((x) => x.theirs);
  // what they printed, so that equal outputs are not two empty or trivial ones (siblings go
  // in mount ID order, so a may be the last of $D's children)
  expect(outputs[0]).toMatch(new RegExp(`\n[├└]─${d}/a +/dev/loop\\d+ +${UUID_A} lab el +/dev/loop\\d+\n`));
  expect(outputs[0]).toContain(`${UUID_B} ünï b`);
  expect(outputs[1]).toContain('"sources": [\n                   null\n               ]');
  expect(outputs[2]).toMatch(/OPT-FIELDS="shared:\d+"/);
  expect(outputs[5]).toBe(`${UUID_A} lab el\nexit=0\n`);
  expect(outputs[7]).toBe(`${d}/b\nexit=0\n`);
  expect(outputs[9]).toMatch(new RegExp(`^${d}/a +/dev/loop\\d+\n${d}/bind /dev/loop\\d+\\[/sub\\]\nexit=0\n$`));
  expect([outputs[10], outputs[11]]).toEqual([outputs[9], outputs[9]]);
  expect(outputs[12]).toBe(`${d}/a\n${d}/bind\nexit=0\n`);
  expect(outputs[14]).toMatch(new RegExp(`^${d}/a /dev/loop\\d+\nexit=0\n$`));
  expect(outputs.slice(16, 18)).toEqual(["exit=1\n", `${d}/a\nexit=0\n`]);
  expect(outputs[20]).toMatch(new RegExp(`^TARGET +SOURCE\n${d}/s s2\nexit=0\n$`));
  expect(answers[21]!.ourErrors).toBe("mountkit: findmnt: options --target and --source can't be used together with command line element that is not an option\n");
  expect(outputs[24]).toBe("s2\ns1\nexit=0\n");
  expect(outputs[30]).toContain('"tid": ');
  expect(outputs[33]).toMatch(new RegExp(`^TARGET +ID\n${d}/bind +\\d+\nexit=0\n$`));
  expect(answers[35]!.ourErrors).toBe("mountkit: findmnt: ACTION column is requested, but --poll is not enabled (mountkit has no --poll: it does not watch the mount table)\n");
  expect(outputs[38]).toContain(`"uuid": "${UUID_A}"`);
  expect(outputs[39]).toMatch(new RegExp(`\n/dev/loop\\d+ +${UUID_A} lab el +/dev/loop\\d+\n`));
});

test("SOURCES: every device carrying the UUID, one line each in a table (the other cells empty), \\x0a-joined by -P, an array in -J", () => {
  ws.fresh("findmnt-sources");
  const d = ws.dir("d");
  const image = ws.image("a", 8, ["-U", UUID_A]);
  // the image attached twice: two devices carry its UUID
  const setup = ['L1=$(losetup -f --show "$A"); L2=$(losetup -f --show "$A")', 'mount -t tmpfs top "$D"; mkdir "$D/one" "$D/two"; mount -o ro "$L1" "$D/one"; mount -t tmpfs two "$D/two"'].join("\n");
  const queries = [
    ["-J", "-o", "TARGET,SOURCES", "-M", "$D/one"],
    ["-n", "-o", "SOURCES,ID", "-M", "$D/one"],
    ["-P", "-o", "SOURCES", "-M", "$D/one"],
    ["-n", "-o", "SOURCE", "-M", "$D/one"],
    // in a tree, the rows the cell adds continue its branch line when it has a later sibling
    ["-R", "-o", "TARGET,SOURCES", "$D"],
  ];
  const answers = findmntBoth(setup, queries, both({ D: d, A: image }));
  // findmnt lists them in the order of libblkid's cache, mountkit in the kernel's
  // (/proc/partitions): the same devices
  const sources = (json: string) => (JSON.parse(json.replace(/exit=\d+\n$/, "")) as { filesystems: { sources: string[] }[] }).filesystems[0]!.sources;
  const theirs = sources(answers[0]!.theirs);
  const ours = sources(answers[0]!.ours);
  expect(theirs).toHaveLength(2);
  expect(ours.slice().sort()).toEqual(theirs.slice().sort());
  const mounted = answers[3]!.ours.split("\n")[0]!;
  expect(ours).toContain(mounted);
  const id = answers[1]!.theirs.split("\n")[0]!.split(/ +/).pop();
  expect(answers[1]!.ours).toBe(`${ours[0]} ${id}\n${ours[1]} \nexit=0\n`);
  expect(answers[2]!.ours).toBe(`SOURCES="${ours[0]}\\x0a${ours[1]}"\nexit=0\n`);
  // the same shapes as findmnt's, devices aside
  const shape = (text: string) => text.replaceAll(/\/dev\/loop\d+/g, "DEV").replace(/\d+\n/, "ID\n");
  for (const x of answers) expect([x.query, shape(x.ours)]).toEqual([x.query, shape(x.theirs)]);
  // siblings come in mount ID order, and IDs are global: one's may be above two's when other
  // processes freed a lower one in between (findmnt's order is the same, checked above)
  const tree = shape(answers[4]!.ours);
  if (tree.indexOf(`${d}/one`) < tree.indexOf(`${d}/two`)) expect(tree).toMatch(new RegExp(`\n├─${d}/one +DEV\n│ +DEV\n└─${d}/two +two\n`));
  else expect(tree).toMatch(new RegExp(`\n├─${d}/two +two\n└─${d}/one +DEV\n {2,}DEV\n`));
});

test("-s matches a source through its device, as findmnt's libmount: a tag line by the device, its other tag or its image file, a device line by a tag; -C and a pseudo filesystem's line by the text only", () => {
  ws.fresh("findmnt-fstab-sources");
  const image = ws.image("a", 8, ["-L", "lab el", "-U", UUID_A]);
  const fstab = join(ws.dir("etc"), "fstab");
  // the fstab names the attached device, so the setup writes it
  const setup = [
    'LA=$(losetup -f --show "$A")',
    `printf '%s\\n' "UUID=${UUID_A} /u ext4 defaults 0 0" 'LABEL=lab\\040el /l ext4 defaults 0 0' "$LA /dl ext4 defaults 0 0" "$A /t tmpfs defaults 0 0" "UUID=${UUID_B} /ub ext4 defaults 0 0" '/nonexist-mk/img /m ext4 defaults 0 0' > "$F"`,
  ].join("\n");
  const queries = [
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-S", "LABEL=lab el"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-S", `UUID=${UUID_A}`],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-S", "$LA"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "$LA"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "$A"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-S", "$AD/./$AN"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-i", "-S", "LABEL=lab el"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-C", "-S", "LABEL=lab el"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-S", `UUID=${UUID_B}`],
    // a wanted source that resolves to no device: its text alone
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-S", "LABEL=mk-none"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-S", "/nonexist-mk/img"],
    ["-s", "-F", "$F", "-n", "-o", "TARGET", "-S", "/nonexist-mk/../nonexist-mk/img"],
  ];
  // the image by a path that is not canonical
  const slash = image.lastIndexOf("/");
  const outputs = sameAsFindmnt(setup, queries, both({ A: image, AD: image.slice(0, slash), AN: image.slice(slash + 1), F: fstab }));
  expect(outputs.slice(0, 4)).toEqual(Array(4).fill("/u\n/l\n/dl\nexit=0\n"));
  expect(outputs.slice(4)).toEqual([
    "/u\n/l\n/t\nexit=0\n",
    "/u\n/l\nexit=0\n",
    "/t\n/ub\n/m\nexit=0\n",
    "/l\nexit=0\n",
    "/ub\nexit=0\n",
    "exit=1\n",
    "/m\nexit=0\n",
    "exit=1\n",
  ]);
});

test("TID: the task whose table is read (this process for the live one, -N's, a /proc/PID file's, a saved file's numbered directory), as findmnt", () => {
  const s = ws.fresh("findmnt-tid");
  const numbered = join(s.path("saved"), "4242");
  mkdirSync(numbered, { recursive: true });
  writeFileSync(join(numbered, "mountinfo"), "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n");
  writeFileSync(s.path("saved", "mountinfo"), "1 0 8:1 / / rw - ext4 /dev/sda1 rw\n");
  const queries = [
    ["-F", `${numbered}/mountinfo`, "-n", "-o", "TID,TARGET"],
    ["-F", `${s.path("saved")}/mountinfo`, "-n", "-o", "TARGET,TID"],
    ["-F", "/proc/$$/mountinfo", "-n", "-o", "TID", "-M", "/"],
    ["-N", "$$", "-J", "-o", "TID", "-M", "/"],
  ];
  const outputs = sameAsFindmnt(":", queries, {});
  expect(outputs[0]).toBe("4242 /\nexit=0\n");
  expect(outputs[1]).toBe("/      \nexit=0\n");
  // a PID, right-aligned in TID's 4-wide column: a 3-digit PID (a fresh CI machine's) gets a leading space
  const pidOutput = outputs[2] ?? "";
  expect(pidOutput).toMatch(/^ *[1-9]\d*\nexit=0\n$/);
  expect(pidOutput.indexOf("\n")).toBeGreaterThanOrEqual(4);
  // the live table: the process printing it (another for each run, so not compared with findmnt's)
  const live = Bun.spawnSync([BINARY, "findmnt", "-J", "-o", "TID,TARGET", "-M", "/"]);
  expect(live.exitCode).toBe(0);
  expect(JSON.parse(live.stdout.toString())).toEqual({ filesystems: [{ tid: live.pid, target: "/" }] });
});
