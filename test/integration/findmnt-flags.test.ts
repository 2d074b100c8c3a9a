// findmnt's flag combinations, saved tables with bad lines, -F FILE alone, PATHs that do not
// exist, -v, -c and -a: the same output and exit codes as util-linux findmnt, both run in one
// private mount namespace (unshare -m inside this test's) on the same scratch mounts.
import { beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../support/cli.ts";
import { findmntBoth, sameAsFindmnt } from "../support/findmnt.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

// util-linux refuses each of these (every one checked by hand first: a combination it took
// with -p would wait for the mount table to change, so none here holds -p unrefused).
const REFUSED = [
  ["-lr"],
  ["-Jr"],
  ["-JP"],
  ["-PJ"],
  ["-Pr"],
  ["-lP"],
  ["-rl"],
  ["-x", "-l"],
  ["-x", "-r"],
  ["-x", "-P"],
  ["-J", "-x", "-r"],
  ["-M", "$D", "-T", "$D"],
  ["-k", "-m"],
  ["-k", "-s"],
  ["-m", "-s"],
  ["-N", "$$", "-k"],
  ["-s", "-p"],
  ["-p", "-x"],
  ["--real", "--pseudo"],
];

// ... and takes these
const ACCEPTED = [
  ["-lJ", "-o", "TARGET,SOURCE", "-M", "$D"],
  ["-Dl", "-o", "TARGET,SOURCE", "-M", "$D"],
  ["-Dr", "-o", "TARGET,SOURCE", "-M", "$D"],
  ["-DJ", "-o", "TARGET,SOURCE", "-M", "$D"],
  ["-DP", "-o", "TARGET,SOURCE", "-M", "$D"],
  ["-r", "-r", "-o", "TARGET,SOURCE", "-M", "$D"],
  ["-yl", "-o", "TARGET,MAJ:MIN,USE%", "-M", "$D"],
  ["-y", "-J", "-o", "TARGET,MAJ:MIN,USE%", "-M", "$D"],
  ["-y", "-r", "-D", "-M", "$D"],
  ["-Rl", "-o", "TARGET,SOURCE", "$D"],
  ["-UR", "-o", "TARGET,SOURCE", "$D"],
  ["-k", "-n", "-o", "SOURCE", "-M", "$D"],
  ["-w", "10", "-n", "-o", "SOURCE", "-M", "$D"],
];

test("flags findmnt holds mutually exclusive are refused with its message and exit 1; the combinations it takes are taken", () => {
  ws.fresh("findmnt-exclusive");
  const d = ws.dir("d");
  const answers = findmntBoth('mount -t tmpfs excl "$D"', [...REFUSED, ...ACCEPTED], { D: d });
  for (const a of answers.slice(0, REFUSED.length)) {
    expect([a.query, a.theirs, a.ours.slice(-7)]).toEqual([a.query, "exit=1\n", "exit=1\n"]);
    expect(a.theirErrors).toStartWith("findmnt: mutually exclusive arguments: ");
    expect([a.query, a.ourErrors]).toEqual([a.query, `mountkit: ${a.theirErrors}`]);
    // with -J mountkit's refusal is a JSON object on stdout too (its --json contract); else nothing
    const stdout = a.ours.slice(0, -7);
    if (a.query.includes("J")) expect(JSON.parse(stdout).error.message).toBe(a.theirErrors.trim().replace(/^findmnt: /, "findmnt: "));
    else expect([a.query, stdout]).toEqual([a.query, ""]);
  }
  for (const a of answers.slice(REFUSED.length)) {
    expect([a.query, a.ours, a.ourErrors]).toEqual([a.query, a.theirs, ""]);
    expect(a.theirs).toContain("exit=0\n");
    expect(a.theirs).toContain("excl");
  }
  expect(answers[0]!.theirErrors).toBe("findmnt: mutually exclusive arguments: --pairs --list --raw --verify\n");
  expect(answers[1]!.theirErrors).toBe("findmnt: mutually exclusive arguments: --json --pairs --raw --verify\n");
});

test("--verify --json stays mountkit's (findmnt refuses the pair); with -J a refusal is a JSON error too", () => {
  ws.fresh("findmnt-verify-json");
  const fstab = join(ws.dir("etc"), "fstab");
  writeFileSync(fstab, `tmpfs ${ws.dir("t")} tmpfs defaults 0 0\n`);
  const verify = Bun.spawnSync([BINARY, "findmnt", "--verify", "--json", "-F", fstab]);
  expect(verify.exitCode).toBe(0);
  expect(JSON.parse(verify.stdout.toString())).toMatchObject({ ok: true, errors: 0 });
  const refused = Bun.spawnSync([BINARY, "findmnt", "-P", "-J"]);
  expect(refused.exitCode).toBe(1);
  expect(JSON.parse(refused.stdout.toString()).error.message).toBe("findmnt: mutually exclusive arguments: --json --pairs --raw --verify");
});

test("--poll is refused, saying mountkit does not watch the table; -w without it is accepted, as findmnt ignores it", () => {
  for (const args of [["-p"], ["--poll=mount", "-w", "100"], ["-l", "-p"]]) {
    const proc = Bun.spawnSync([BINARY, "findmnt", ...args]);
    expect([args.join(" "), proc.exitCode, proc.stdout.toString()]).toEqual([args.join(" "), 1, ""]);
    expect(proc.stderr.toString()).toBe("mountkit: findmnt: --poll is not supported: mountkit does not watch the mount table (util-linux findmnt --poll does)\n");
  }
  const version = Bun.spawnSync([BINARY, "findmnt", "-V"]);
  expect([version.exitCode, version.stdout.toString()]).toEqual([0, `mountkit ${require("../../package.json").version}\n`]);
});

const GOOD = "1 0 8:1 / / rw - ext4 /dev/sda1 rw";
// (-l where findmnt would draw a tree: mountkit lists unless -R)
const SAVED_QUERIES = [
  ["-F", "$S/one-bad", "-l", "-o", "TARGET,SOURCE"],
  ["-F", "$S/one-bad", "-r", "-o", "ID,TARGET"],
  ["-F", "$S/one-bad", "-J", "-l", "-o", "TARGET,SOURCE"],
  ["-F", "$S/commented", "-l", "-o", "ID,TARGET,SOURCE"],
  ["-F", "$S/all-bad"],
  ["-F", "$S/all-bad", "-J"],
  ["-F", "$S/empty"],
  ["-F", "$S/empty", "-J"],
  ["-F", "$S/one-bad", "-t", "zzz"],
  ["-F", "$S/one-bad", "-t", "zzz", "-J"],
  ["-F", "$S/one-bad", "-F", "$S/commented", "-l", "-n", "-o", "ID"],
  ["-F", "$S/one-bad", "-n", "-o", "SOURCE", "-M", "/data"],
  ["-F", "$S/fstab"],
  ["-F", "$S/fstab", "-o", "TARGET,SOURCE,FREQ,PASSNO,VFS-OPTIONS"],
  ["-F", "$S/fstab", "-r", "/a"],
  ["-F", "$S/fstab", "-t", "zzz"],
  ["-F", "$S/none"],
  ["-F", "$S"],
  ["-F", "$S/empty", "-F", "$S/commented", "-l", "-n", "-o", "ID"],
  ["-F", "$S/signed"],
  ["-F", "$S/fstab", "-F", "$S"],
];

test("-F FILE alone: a mountinfo table or an fstab as its first line (of any file, in order) says; a bad line warned about (file and line) and left out; an empty table exit 1: as findmnt", () => {
  ws.fresh("findmnt-saved");
  const s = ws.dir("saved");
  writeFileSync(join(s, "one-bad"), `${GOOD}\nnot a mountinfo line\n20 1 0:30 / /data rw shared:7 - tmpfs data rw\n`);
  writeFileSync(join(s, "commented"), `# a saved table\n\n  ${GOOD}\n\t21 1 0:31 / /c rw - tmpfs c rw\n`);
  writeFileSync(join(s, "all-bad"), "garbage\n");
  writeFileSync(join(s, "empty"), "");
  writeFileSync(join(s, "fstab"), "tmpfs /a tmpfs defaults 0 0\nbad\n/dev/x /b ext4 ro 0 2\n");
  // two numbers to sscanf("%u %u"), the second signed: libmount takes it for mountinfo
  writeFileSync(join(s, "signed"), "1-2 /a tmpfs defaults 0 0\n");
  const answers = findmntBoth(":", SAVED_QUERIES, { S: s });
  for (const a of answers) {
    expect([a.query, a.ours]).toEqual([a.query, a.theirs]);
    expect([a.query, a.ourErrors === ""]).toEqual([a.query, a.theirErrors === ""]);
  }
  const outputs = answers.map((a) => a.theirs);
  // what they found, so that equal outputs are not two empty ones
  expect(outputs[0]).toBe("TARGET SOURCE\n/      /dev/sda1\n/data  data\nexit=0\n");
  expect(answers[0]!.ourErrors).toBe(`mountkit: findmnt: warning: ${s}/one-bad: line 2: expected at least 10 space-separated fields, found 4: "not a mountinfo line" (line ignored)\n`);
  expect(outputs[3]).toBe(`ID TARGET SOURCE\n 1 /      /dev/sda1\n21 /c     c\nexit=0\n`);
  expect(outputs.slice(4, 8)).toEqual(["exit=1\n", "exit=1\n", "exit=1\n", "exit=1\n"]);
  expect(outputs[8]).toBe("exit=0\n"); // a table filtered to nothing is still findmnt's tree
  expect(outputs[10]).toBe(" 1\n20\n 1\n21\nexit=0\n");
  expect(outputs[11]).toBe("data\nexit=0\n");
  expect(outputs[12]).toBe("TARGET SOURCE FSTYPE OPTIONS\n/a     tmpfs  tmpfs  defaults\n/b     /dev/x ext4   ro\nexit=0\n");
  expect(answers[12]!.ourErrors).toContain(`${s}/fstab: line 2: `);
  expect(outputs[15]).toBe("exit=1\n");
  expect(answers[16]!.ourErrors).toBe(`mountkit: findmnt: read ${s}/none: open(2): ENOENT (No such file or directory)\n`);
  // an empty first file tells nothing: the second one's first line says mountinfo
  expect(outputs[18]).toBe(" 1\n21\nexit=0\n");
  expect(outputs[19]).toBe("exit=1\n");
  expect(answers[19]!.ourErrors).toStartWith(`mountkit: findmnt: warning: ${s}/signed: line 1: `);
  // without -s a directory is read as a file, as findmnt reads it, not as a directory of *.fstab
  expect(outputs[20]).toBe("exit=1\n");
  expect(answers[20]!.ourErrors).toBe(`mountkit: findmnt: read ${s}: read(2): EISDIR (Is a directory)\n`);
});

test("-F /dev/stdin and -F <(cmd): the pipe read once, its text a mountinfo table or an fstab: as findmnt", () => {
  ws.fresh("findmnt-piped");
  const s = ws.dir("saved");
  writeFileSync(join(s, "mountinfo"), `# saved\n${GOOD}\nnot a mountinfo line\n20 1 0:30 / /data rw shared:7 - tmpfs data rw\n`);
  writeFileSync(join(s, "fstab"), "# saved\ntmpfs /a tmpfs defaults 0 0\n/dev/x /b ext4 ro 0 2\n");
  const tableQueries = [["-F", "/dev/stdin", "-l"], ["-F", "/dev/stdin", "-J", "-l", "-o", "TARGET,SOURCE"], ["-F", "/dev/stdin", "-n", "-o", "SOURCE", "-M", "/data"]];
  const table = sameAsFindmnt(":", tableQueries, { S: s }, "/", 'cat "$S/mountinfo"');
  // what they found, so that equal outputs are not two empty ones
  expect(table[0]).toBe("TARGET SOURCE    FSTYPE OPTIONS\n/      /dev/sda1 ext4   rw\n/data  data      tmpfs  rw\nexit=0\n");
  expect(table[2]).toBe("data\nexit=0\n");
  const fstabQueries = [["-F", "/dev/stdin"], ["-F", "/dev/stdin", "-J"], ["-F", "/dev/stdin", "-n", "-o", "SOURCE", "-M", "/b"]];
  const fstab = sameAsFindmnt(":", fstabQueries, { S: s }, "/", 'cat "$S/fstab"');
  expect(fstab[0]).toBe("TARGET SOURCE FSTYPE OPTIONS\n/a     tmpfs  tmpfs  defaults\n/b     /dev/x ext4   ro\nexit=0\n");
  expect(fstab[2]).toBe("/dev/x\nexit=0\n");
  // <(cmd) is bash's: a /dev/fd/N pipe, read once as well
  for (const file of ["mountinfo", "fstab"]) {
    const run = (findmnt: string) => Bun.spawnSync(["bash", "-c", `${findmnt} -l -F <(cat "$S/${file}")`], { env: { ...process.env, LC_ALL: "C.UTF-8", S: s } });
    const theirs = run("findmnt");
    const ours = run(`"${BINARY}" findmnt`);
    expect([file, ours.exitCode, ours.stdout.toString()]).toEqual([file, theirs.exitCode, theirs.stdout.toString()]);
    expect([file, ours.exitCode, ours.stdout.toString()]).toEqual([file, 0, file === "mountinfo" ? table[0]!.replace(/exit=0\n$/, "") : fstab[0]!.replace(/exit=0\n$/, "")]);
  }
});

test("--mountinfo FILE reads the table as -F does: a bad line is a warning and the rest is listed", () => {
  ws.fresh("findmnt-mountinfo-bad");
  const file = join(ws.dir("saved"), "mountinfo");
  writeFileSync(file, `${GOOD}\n20 1 0:30 / /data rw - tmpfs\n21 1 0:31 / /c rw - tmpfs c rw\n`);
  const proc = Bun.spawnSync([BINARY, "findmnt", "--mountinfo", file, "-rn", "-o", "TARGET"]);
  expect([proc.exitCode, proc.stdout.toString()]).toEqual([0, "/\n/c\n"]);
  expect(proc.stderr.toString()).toBe(`mountkit: findmnt: warning: ${file}: line 2: expected at least 10 space-separated fields, found 8: "20 1 0:30 / /data rw - tmpfs" (line ignored)\n`);
});

const MISSING_QUERIES = [
  ["$D/none"],
  ["-n", "-o", "TARGET", "$D/none/deeper"],
  ["-J", "$D/none"],
  ["-T", "$D/none"],
  ["--target", "$D/none", "-o", "TARGET"],
  ["-M", "$D/none"],
  ["-n", "-o", "TARGET", "-T", "$D/x"],
];

test("a PATH that does not exist (and is no source) prints nothing and exits 1, -J and -T alike: as findmnt", () => {
  ws.fresh("findmnt-missing");
  const d = ws.dir("d");
  const outputs = sameAsFindmnt('mount -t tmpfs miss "$D"; mkdir "$D/x"', MISSING_QUERIES, { D: d });
  expect(outputs.slice(0, 6)).toEqual(Array(6).fill("exit=1\n"));
  expect(outputs[6]).toBe(`${d}\nexit=0\n`);
});

// Sources that only libmount's reading tells from tags (device-tag.test.ts has the table): a
// tag findmnt -c keeps, or a name it canonicalizes against the working directory, where the setup
// makes a directory of each name.
const TAG_LIKE = ["ID=ata-x", "UUID=", 'LABEL="a', 'LABEL=""', 'LABEL="r"x'];

// A bind mount (fsroot /sub), a tmpfs whose source is a symlink's path, and one whose source is
// a name that is a directory in the working directory ($D). (mount(8) would look a tag up.)
// Mount IDs are the lowest free ones, not made in order: findmnt -R lists a mount's children by
// ID, the table (mountinfo) in the order they were mounted. The mount on r, made and unmounted
// before the bind, usually leaves its ID to the mount on l, so the two orders differ here, as
// they may anywhere another mount's ID was freed meanwhile (in this namespace or any other).
const SOURCE_SETUP = [
  `mount -t tmpfs top "$D"; cd "$D"; mkdir a b l r a2 ${TAG_LIKE.map((n) => `'${n}'`).join(" ")}`,
  'mount -t tmpfs ta a; mkdir a/sub; mount -t tmpfs hole r; mount --bind a/sub b; umount r; ln -s "$D/b" lnk',
  'mount -t tmpfs "$D/lnk" l; mount -t tmpfs a2 r; cd /',
].join("\n");

const SOURCE_QUERIES = [
  ["-v", "-R", "-l", "$D"],
  ["-nvo", "SOURCE,FSROOT", "-M", "$D/b"],
  ["-v", "-J", "-o", "TARGET,SOURCE", "-R", "$D"],
  ["-v", "-P", "-R", "$D"],
  ["-c", "-R", "-l", "-o", "TARGET,SOURCE", "$D"],
  ["-c", "-v", "-r", "-R", "$D"],
  ["-c", "-n", "-o", "SOURCE", "-S", "$D/lnk"],
  ["-c", "-n", "-o", "SOURCE", "-S", "$D/b"],
  ["-a", "-R", "$D"],
  ["-a", "-R", "-l", "$D"],
  ["-s", "-F", "$F", "-c"],
  ["-F", "$F", "-c", "-e", "-o", "TARGET,SOURCE"],
  ["-F", "$F", "-c", "-v"],
  ["-F", "$M", "-c", "-l", "-n", "-o", "TARGET,SOURCE"],
];

test("-v SOURCE without [fsroot], -c SOURCE canonical (a relative name against the working directory, tags kept), -a a tree in ASCII: as findmnt", () => {
  ws.fresh("findmnt-source");
  const d = ws.dir("d");
  const fstab = join(ws.dir("etc"), "fstab");
  const tagLines = TAG_LIKE.map((source, i) => `${source} /t${i} ext4 defaults 0 0\n`).join("");
  writeFileSync(fstab, `${d}/lnk ${d}/lnk/ none bind 0 0\na2 /x tmpfs defaults 0 0\nUUID=0000-feed /y ext4 defaults 0 0\n${tagLines}`);
  const mountinfo = join(ws.dir("etc"), "mountinfo");
  writeFileSync(mountinfo, `1 1 0:1 / / rw - tmpfs root rw\n${TAG_LIKE.map((source, i) => `${30 + i} 1 0:${30 + i} / /t${i} rw - tmpfs ${source} rw\n`).join("")}`);
  const outputs = sameAsFindmnt(SOURCE_SETUP, SOURCE_QUERIES, { D: d, F: fstab, M: mountinfo }, d);
  // what they printed, so that equal outputs are not two empty or trivial ones
  expect(outputs[0]).toMatch(new RegExp(`\n${d}/b +ta +tmpfs `));
  expect(outputs[1]).toBe("ta     /sub\nexit=0\n");
  // (rows by mount ID: that is findmnt's order to compare with, not one these lines may assume)
  for (const row of [`${d}/b +ta\\[/sub\\]`, `${d}/l +${d}/b`, `${d}/r +${d}/a2`]) expect(outputs[4]).toMatch(new RegExp(`\n${row}\n`));
  expect(outputs[6]).toBe(`${d}/b\nexit=0\n`);
  expect(outputs[7]).toBe("exit=1\n");
  expect(outputs[8]).toContain("|-");
  expect(outputs[8]).toContain("`-");
  expect(outputs[10]).toMatch(new RegExp(`${d}/lnk/ +${d}/b +none`));
  expect(outputs[10]).toMatch(new RegExp(`/x +${d}/a2 +tmpfs`));
  expect(outputs[10]).toContain("UUID=0000-feed");
  const tagRows = (i: number) => outputs[i]!.split("\n").filter((row) => /^\/t\d /.test(row)).map((row) => row.split(/ +/).slice(0, 2));
  expect(tagRows(13)).toEqual(tagRows(10));
  expect(tagRows(10)).toEqual([["/t0", "ID=ata-x"], ["/t1", `${d}/UUID=`], ["/t2", `${d}/LABEL="a`], ["/t3", `${d}/LABEL=""`], ["/t4", 'LABEL="r"x']]);
});

test("--verify -v is findmnt's --verify --nofsroot: not verbose (--verbose is)", () => {
  ws.fresh("findmnt-verify-v");
  const fstab = join(ws.dir("etc"), "fstab");
  writeFileSync(fstab, `tmpfs ${ws.dir("t")} tmpfs defaults 0 0\n`);
  const outputs = sameAsFindmnt(":", [["-x", "-v", "-F", "$F"], ["-x", "-F", "$F"]], { F: fstab });
  expect(outputs).toEqual(["Success, no errors or warnings detected\nexit=0\n", "Success, no errors or warnings detected\nexit=0\n"]);
  const verbose = Bun.spawnSync([BINARY, "findmnt", "-x", "--verbose", "-F", fstab]);
  expect(verbose.stdout.toString()).toStartWith(`${ws.dir("t")}\n`);
});
