// findmnt -M, -S, -T and -f: the same output and exit codes as util-linux findmnt, both run in
// one private mount namespace (unshare -m inside this test's) on the same stacked mounts.
import { beforeAll, expect, test } from "bun:test";
import { readdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { BINARY } from "../support/cli.ts";
import { sameAsFindmnt } from "../support/findmnt.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

// Each query runs twice, util-linux's findmnt then ours, printing its output and exit code.
const QUERIES = [
  ["-M", "$D/a"],
  ["-l", "-M", "$D/a"],
  ["-f", "-M", "$D/a"],
  ["-S", "mk-two"],
  ["-n", "-o", "TARGET", "-S", "mk-three"],
  ["-J", "-o", "TARGET,SOURCE,FSTYPE", "-S", "mk-one"],
  ["-M", "$D"],
  ["-S", "mk-none"],
  ["-M", "$D/none"],
  ["-t", "zzz-type"],
  ["-n", "-o", "TARGET", "-t", "nozzz,tmpfs", "-M", "$D/b"],
  ["-n", "-o", "SOURCE", "-t", "notmpfs", "-M", "$D/b"],
  ["-n", "-o", "SOURCE", "-T", "$D/b/deep"],
  // an operand that is no path but a source, or a block device: every mount of it, as -S
  ["-n", "-o", "TARGET,SOURCE", "srv:/exp"],
  ["-J", "-o", "TARGET,SOURCE", "srv:/exp"],
  ["-f", "-n", "-o", "TARGET", "srv:/exp"],
  ["-n", "-o", "TARGET", "mk-two"],
  ["-n", "-o", "TARGET,SOURCE", "-t", "notmpfs", "srv:/exp"],
  ["-n", "-o", "TARGET,SOURCE", "$BLK"],
  ["-l", "-o", "TARGET,SOURCE", "-R", "srv:/exp"],
  // an empty type list (an unset variable's) matches no type
  ["-n", "-o", "TARGET", "-t", "", "-M", "$D/b"],
  ["-n", "-o", "TARGET", "-i", "-t", "", "-M", "$D/b"],
  // an empty PATH (an unset variable's) names "/", to findmnt as to libmount
  ["-n", "-o", "TARGET", "-M", ""],
  ["-n", "-o", "TARGET", "-T", ""],
  ["-n", "-o", "TARGET", ""],
  ["-n", "-o", "TARGET", "-t", "tmpfs", "-M", ""],
];

test("-M every mount on the mount point, -S every mount of a source, -f the first, -T the holder; exit 1 and no output for none", () => {
  ws.fresh("findmnt-select");
  const d = ws.dir("d");
  ws.dir("d", "a");
  ws.dir("d", "b");
  ws.dir("d", "c");
  ws.dir("d", "e");
  const setup = [
    'mount -t tmpfs mk-one "$D/a"; mount -t tmpfs mk-two "$D/a"; mount -t tmpfs mk-three "$D/b"; mkdir "$D/b/deep"',
    // a tmpfs's source is any name: a server's export, and a block device's path (no device is touched)
    'mount -t tmpfs srv:/exp "$D/c"; mkdir "$D/c/in"; mount -t tmpfs mk-in "$D/c/in"; mount -t tmpfs srv:/exp "$D/e"; mount -t tmpfs "$BLK" "$D/b/deep"',
  ].join("\n");
  const blk = blockDevice();
  const outputs = sameAsFindmnt(setup, QUERIES, { D: d, BLK: blk });
  // what the queries found, so equal outputs are not two empty ones
  expect(outputs[0]).toContain(`${d}/a mk-one`);
  expect(outputs[0]).toContain(`${d}/a mk-two`);
  expect(outputs[2]).not.toContain("mk-two");
  expect(outputs[4]).toBe(`${d}/b\nexit=0\n`);
  expect(outputs[7]).toBe("exit=1\n");
  expect(outputs[13]).toBe(`${d}/c srv:/exp\n${d}/e srv:/exp\nexit=0\n`);
  expect(outputs[15]).toBe(`${d}/c\nexit=0\n`);
  expect(outputs[16]).toBe(`${d}/a\nexit=0\n`);
  expect(outputs[17]).toBe("exit=1\n");
  expect(outputs[18]).toContain(`${d}/b/deep ${blk}\n`);
  expect(outputs[19]).toContain(`${d}/c/in`);
  expect(outputs[20]).toBe("exit=1\n");
  expect(outputs[21]).toContain(`\n${d}/b\n`);
  for (const i of [22, 23, 24]) expect(outputs[i]).toBe("/\nexit=0\n");
  expect(outputs[25]).toBe("exit=1\n");
});

/** A block device node of this system, for a tmpfs to take its name as source: findmnt then looks DEVICE up as a source. */
function blockDevice(): string {
  const name = ["loop0", ...readdirSync("/dev")].find((n) => {
    try {
      return statSync(`/dev/${n}`).isBlockDevice();
    } catch {
      return false;
    }
  });
  if (name === undefined) throw new Error("findmnt-select: no block device node in /dev");
  return `/dev/${name}`;
}

// A tree under $D: a (with a/x, whose a/x/z, and a/y), b, and c holding a stack of two; names
// a shell would expand, quotes, non-ASCII and a name that is not UTF-8 (Latin-1 "café") under q.
// Mount IDs are the lowest free ones: a mount on b, made before a/x and unmounted after it,
// usually leaves its ID to a/y, so findmnt's tree (children by ID) has a/y before a/x, where the
// table (mountinfo, in the order of mounting) has a/x first. Another mount's freed ID can do the
// same at any time, so no assertion here takes the rows' order from the order of mounting.
const TREE_SETUP = [
  'mount -t tmpfs -o size=1m top "$D"',
  'mkdir "$D/a" "$D/b" "$D/c" "$D/q"',
  'mount -t tmpfs -o size=2m,noexec ta "$D/a"; mkdir "$D/a/x" "$D/a/y"',
  'mount -t tmpfs hole "$D/b"; mount -t tmpfs tax "$D/a/x"; umount "$D/b"',
  'mount -t tmpfs tay "$D/a/y"; mkdir "$D/a/x/z"; mount -t tmpfs taxz "$D/a/x/z"',
  'mount -t tmpfs tb "$D/b"; mount -t tmpfs tc "$D/c"; mount -t tmpfs tc2 "$D/c"',
  'mount -t tmpfs tq "$D/q"; cd "$D/q"; for n in "a b" \'d$v\' \'bq`x\' \'q"d\' "t\tb" "漢字" \'b\\s\' "$(printf \'caf\\351\')"; do mkdir "$n"; mount -t tmpfs "s $n" "$n"; done; cd /',
  'mount -t tmpfs "" "$D/b"',
].join("\n");

const TREE_QUERIES = [
  ["-R", "-o", "TARGET,SOURCE,ID", "$D"],
  ["-R", "-n", "-o", "SOURCE,TARGET", "$D/a"],
  ["-R", "-o", "ID,SOURCE", "$D"],
  ["-R", "-l", "-o", "TARGET,SOURCE", "$D"],
  ["-R", "-r", "-n", "-o", "TARGET,SOURCE", "$D/a"],
  ["-R", "-J", "-o", "TARGET,SOURCE,ID", "$D"],
  ["-R", "-J", "-o", "ID,SOURCE", "$D/a"],
  ["-R", "-J", "-l", "-o", "TARGET,ID", "$D/a"],
  ["-R", "-f", "-o", "TARGET,SOURCE", "-M", "$D/c"],
  ["-R", "-P", "-o", "TARGET,SOURCE", "$D/a"],
  ["-R", "-o", "TARGET,SOURCE", "-t", "proc", "$D/a"],
  ["-R", "-o", "TARGET,SOURCE", "-S", "tax"],
  ["-R", "-U", "-o", "TARGET,SOURCE,ID", "$D"],
  ["-R", "-U", "-l", "-o", "TARGET,SOURCE", "$D"],
  ["-U", "-n", "-o", "SOURCE", "-M", "$D/c"],
  ["-P", "-o", "TARGET,SOURCE,FSTYPE,MAJ:MIN,VFS-OPTIONS", "-R", "$D/q"],
  ["-P", "-y", "-o", "TARGET,MAJ:MIN,VFS-OPTIONS,FS-OPTIONS", "$D/a"],
  ["-P", "-M", "$D/b"],
  ["-P", "-M", "$D/nothing"],
  ["-l", "-n", "-o", "TARGET", "-O", "+noexec", "-R"],
  ["-n", "-o", "SOURCE", "-O", "size=2048k,rw", "-M", "$D/a"],
  ["-n", "-o", "SOURCE", "-O", "nosize", "-M", "$D/a"],
  ["-n", "-o", "SOURCE", "-O", "noexec", "-t", "notmpfs", "-M", "$D/a"],
  ["-k", "-u", "-n", "-o", "SOURCE", "$D/a/y"],
  ["-m", "-n", "-o", "SOURCE", "$D/a/y"],
];

test("-R the tree below a mount (drawn, listed, nested in JSON), -P/-y pairs, -O options, -U over-mounts: as findmnt", () => {
  ws.fresh("findmnt-tree");
  const d = ws.dir("d");
  const outputs = sameAsFindmnt(TREE_SETUP, TREE_QUERIES, { D: d });
  // what they found, so that equal outputs are not two empty or trivial ones
  // (a/x/z under a/x under a, c's stack last in c; whether a and a/x have later siblings goes by
  // mount ID, so each branch may go on ("│ ") or not)
  expect(outputs[0]).toMatch(new RegExp(`\n(│ |  ){2}└─${d}/a/x/z +taxz `));
  expect(outputs[0]).toMatch(new RegExp(`\n(│ |  )└─${d}/c +tc2 `));
  expect(outputs[5]).toContain(`"children": [`);
  expect(outputs[5]).toContain(`"source": "s caf\uDCE9"`); // JSON: the byte as it is, as findmnt -J writes it
  expect(outputs[6]).not.toContain("children");
  expect(outputs[12]).not.toContain(" tc ");
  expect(outputs[15]).toContain(`SOURCE="s d\\x24v"`);
  expect(outputs[15]).toContain(`\\xe6\\xbc\\xa2`);
  expect(outputs[15]).toContain(`SOURCE="s caf\\xe9"`); // the byte itself, not U+FFFD's \xef\xbf\xbd
  expect(outputs[16]).toContain(`MAJ_MIN="`);
  expect(outputs[17]).toContain(`SOURCE=""`);
  expect(outputs[18]).toBe("exit=1\n");
  // the literal noexec, then what is below it (a/x/z after a/x, a/y before or after the two);
  // the whole table's noexec mounts come too (a systemd host's /proc, /sys, /run): ours only
  const noexec = outputs[19]!.split("\n").filter((row) => !row.startsWith("/") || row.startsWith(`${d}/`));
  expect(noexec.join("\n")).toMatch(new RegExp(`^${d}/a\n(${d}/a/y\n)?${d}/a/x\n${d}/a/x/z\n(${d}/a/y\n)?exit=0\n$`));
  expect(noexec).toContain(`${d}/a/y`);
  expect(outputs[20]).toBe("ta\nexit=0\n");
  expect(outputs[21]).toBe("exit=1\n");
});

const LOCALE_QUERIES = [
  ["-R", "-o", "TARGET,SOURCE,ID", "$D"],
  ["-R", "-l", "-o", "TARGET,SOURCE", "$D/q"],
  ["-o", "TARGET,SOURCE,FSTYPE", "-M", "$D/q/漢字"],
  ["-R", "-J", "-o", "TARGET,SOURCE", "$D/q"],
  ["-R", "-P", "-o", "TARGET", "$D/q"],
];

test("outside a UTF-8 locale (none set, C, POSIX, one not installed) a table escapes every byte past ASCII and a tree is drawn in ASCII: as findmnt", () => {
  ws.fresh("findmnt-locale");
  const d = ws.dir("d");
  const locales: Record<string, string>[] = [{ LC_ALL: "", LC_CTYPE: "", LANG: "" }, { LC_ALL: "C" }, { LC_ALL: "", LC_CTYPE: "POSIX" }, { LC_ALL: "", LC_CTYPE: "", LANG: "xx_YY.UTF-8" }];
  for (const locale of locales) {
    const outputs = sameAsFindmnt(TREE_SETUP, LOCALE_QUERIES, { D: d, ...locale });
    expect(outputs[0]).toContain("|-");
    expect(outputs[0]).toContain("`-");
    expect(outputs[1]).toContain(`${d}/q/\\xe6\\xbc\\xa2\\xe5\\xad\\x97 s \\xe6`);
    expect(outputs[3]).toContain("漢字"); // JSON as it is, whatever the locale
  }
  // and in a UTF-8 locale the characters themselves, for contrast
  const utf8 = sameAsFindmnt(TREE_SETUP, LOCALE_QUERIES.slice(0, 2), { D: d, LC_ALL: "", LC_CTYPE: "C.UTF-8" });
  expect(utf8[0]).toContain("├─");
  expect(utf8[1]).toContain(`${d}/q/漢字`);
});

// An fstab with escapes, tags, a line without options, swap, and options of every kind libmount sorts.
const FSTAB = [
  "# comment",
  "UUID=abcd-1234 / ext4 defaults,noatime 0 1",
  "/dev/sdb1 /mnt/my\\040data xfs ro,nosuid,user,size=1g 0 2",
  "tmpfs /tmp tmpfs mode=1777,nosuid,X-mount.mkdir",
  "none /swap swap sw",
  "",
  "LABEL=root /srv ext4 noauto,x-systemd.automount,relatime,data=ordered 1 2",
  "/dev/vda /vda ext4",
  '/dev/vdb /x ext4 rw,defaults,ro,nofail,_netdev,comment=x,X-mount.mkdir=0700,sync,dirsync,lazytime,nosymfollow,iversion,mand,bind,rbind,sw,owner,auto,users,nodev,loop,offset=3,errors=remount-ro,strictatime,norelatime,silent,private,rshared,slave,uidmap=0:1:1,context="a,b" 0 0',
].join("\n");

const FSTAB_QUERIES = [
  ["-s", "-F", "$F"],
  ["-s", "-F", "$F", "-o", "TARGET,VFS-OPTIONS,FS-OPTIONS,FREQ,PASSNO"],
  ["-s", "-F", "$F", "-J", "-o", "TARGET,OPTIONS,VFS-OPTIONS,FS-OPTIONS,FREQ,PASSNO,ID,PARENT,MAJ:MIN,FSROOT,PROPAGATION"],
  ["-s", "-F", "$F", "-o", "ID,PARENT,MAJ:MIN,FSROOT,PROPAGATION,SOURCE"],
  ["-s", "-F", "$F", "-e", "-o", "SOURCE,TARGET"],
  ["-s", "-F", "$F", "-t", "ext4"],
  ["-s", "-F", "$F", "-O", "+noauto"],
  ["-s", "-F", "$F", "-O", "noauto"],
  ["-s", "-F", "$F", "-S", "/dev/sdb1"],
  ["-s", "-F", "$F", "-S", "UUID=abcd-1234"],
  ["-s", "-F", "$F", "-M", "/srv"],
  ["-s", "-F", "$F", "/srv"],
  ["-s", "-F", "$F", "/dev/sdb1"],
  ["-s", "-F", "$F", "/nothing"],
  ["-s", "-F", "$F", "-P"],
  ["-s", "-F", "$F", "-y", "-P", "-o", "TARGET,MAJ:MIN,FREQ"],
  ["-s", "-F", "$F", "-J"],
  ["-s", "-F", "$F", "-r", "-o", "TARGET,ID,SOURCE,FREQ"],
  ["-s", "-F", "$F", "-o", "+FREQ"],
  ["-s", "-F", "$F", "-f", "-n"],
  ["-o", "TARGET,FREQ,PASSNO", "-M", "$D"],
  ["-J", "-o", "TARGET,FREQ", "-M", "$D"],
  ["-s", "-F", "$F", "-n", "-o", "SOURCE", "-M", ""],
];

test("-s an fstab's lines (-F FILE, -e, VFS-/FS-OPTIONS, FREQ, PASSNO), chosen by PATH, -M, -S, -t, -O, -f: as findmnt -s", () => {
  ws.fresh("findmnt-fstab");
  const d = ws.dir("d");
  const fstab = join(ws.dir("etc"), "fstab");
  writeFileSync(fstab, `${FSTAB}\n`);
  const outputs = sameAsFindmnt('mount -t tmpfs tmp "$D"', FSTAB_QUERIES, { D: d, F: fstab });
  expect(outputs[0]).toContain("\n/            UUID=abcd-1234 ext4   defaults,noatime\n/mnt/my data /dev/sdb1      xfs ");
  expect(outputs[4]).not.toContain("UUID="); // -e: no device has it
  expect(outputs[4]).toContain("/dev/sdb1");
  expect(outputs[1]).toMatch(/\/mnt\/my data +ro,nosuid +size=1g +0 +2\n/);
  expect(outputs[2]).toContain('"fs-options": "sw,errors=remount-ro');
  expect(outputs[5]).not.toContain("xfs");
  expect(outputs[10]).toContain("LABEL=root");
  expect(outputs[13]).toBe("exit=1\n");
  expect(outputs[16]).toContain('"source": "UUID=abcd-1234"');
  expect(outputs[20]).toMatch(/FREQ PASSNO\n.* +\nexit=0/);
  expect(outputs[22]).toBe("UUID=abcd-1234\nexit=0\n");
});

test("-s with a bad fstab line: a warning naming it, the other lines printed (as findmnt ignores it); a missing fstab: exit 1 naming open(2)", () => {
  ws.fresh("findmnt-fstab-bad");
  const fstab = join(ws.dir("etc"), "fstab");
  writeFileSync(fstab, "tmpfs /a tmpfs defaults\nonly-two /fields\ntmpfs /b tmpfs size=1m 0 x\ntmpfs /c tmpfs\n");
  const proc = Bun.spawnSync([BINARY, "findmnt", "-s", "-F", fstab, "-rn", "-o", "TARGET"]);
  expect(proc.exitCode).toBe(0);
  expect(proc.stdout.toString()).toBe("/a\n/c\n");
  expect(proc.stderr.toString()).toBe(
    `mountkit: findmnt: warning: ${fstab}: line 2: 2 fields, expected at least 3 (source, target, type) (line ignored)\n` +
      `mountkit: findmnt: warning: ${fstab}: line 3: pass number "x" is not a number (line ignored)\n`,
  );
  const missing = Bun.spawnSync([BINARY, "findmnt", "-s", "-F", `${fstab}.none`]);
  expect([missing.exitCode, missing.stdout.toString()]).toEqual([1, ""]);
  expect(missing.stderr.toString()).toBe(`mountkit: read ${fstab}.none: open(2): ENOENT (No such file or directory)\n`);
});

// Filesystems of every kind findmnt -D keeps or leaves out, tmpfs of known sizes and use, a stack.
const DF_SETUP = [
  'mount -t tmpfs -o size=1m top "$D"',
  'cd "$D"; mkdir a b s p sy r ov l u w x',
  "mount -t tmpfs -o size=1204224 ta a; head -c 700000 /dev/zero > a/f", // 1.1M (findmnt rounds 1.148M down), 684K used
  "mount -t tmpfs -o size=300m tb b; head -c 3000000 /dev/zero > b/f",
  "mount -t tmpfs -o size=64k s1 s; mount -t tmpfs -o size=128k s2 s",
  "mount -t proc pr p; mount -t sysfs sy sy; mount -t ramfs ra r",
  "mount -t overlay ovl -o lowerdir=l,upperdir=u,workdir=w ov; cd /",
].join("\n");

const DF_QUERIES = [
  ["-D", "-R", "$D"],
  ["-D", "-M", "$D/a"],
  ["-D", "-b", "-M", "$D/a"],
  ["-D", "-n", "-M", "$D/b"],
  ["-D", "-o", "+ID", "-M", "$D/a"],
  ["-J", "-D", "-M", "$D/a"],
  ["-J", "-b", "-o", "TARGET,SIZE,USED,AVAIL,USE%", "-R", "$D"],
  ["-P", "-y", "-D", "-M", "$D/b"],
  ["-r", "-D", "-M", "$D/a"],
  ["-o", "SOURCE,SIZE,USED,USE%", "-M", "$D/s"],
  ["-o", "TARGET,USE%,SIZE", "-M", "$D/p"],
  ["-D", "-M", "$D/p"],
  ["-D", "-A", "-M", "$D/p"],
  ["-D", "-o", "TARGET,FSTYPE"],
  ["-D", "-A", "-o", "TARGET,FSTYPE"],
  ["--real", "-l", "-o", "TARGET,FSTYPE"],
  ["--pseudo", "-l", "-o", "TARGET,FSTYPE"],
  ["--real", "-t", "proc"],
  ["-l", "-t", "zzz"],
  ["-t", "zzz"],
  ["-J", "-t", "zzz"],
  ["-r", "-O", "zzz"],
  ["-J", "-l", "-t", "zzz"],
  ["-Jno", "SOURCE", "-M", "$D/a"],
  ["-n", "-t", "ext4", "$D/a"],
  ["-n", "-O", "ro", "-T", "$D/a/f"],
  ["-s", "-F", "$F", "-o", "TARGET,SIZE,USE%"],
  ["-s", "-F", "$F", "-D"],
  ["-s", "-F", "$F", "-J", "-b", "-o", "TARGET,SIZE"],
  ["-s", "-F", "$F", "-t", "zzz"],
  // -D takes a tmpfs before --real or --pseudo is asked
  ["-D", "--real", "-o", "TARGET,FSTYPE", "-R", "$D"],
  ["-D", "--real", "-n", "-o", "TARGET", "-M", "$D/a"],
  ["-D", "--pseudo", "-n", "-o", "TARGET", "-M", "$D/a"],
  ["-s", "-F", "$F", "-D", "--real", "-o", "TARGET"],
  // an empty type list matches no line: nothing listed, nothing verified
  ["-s", "-F", "$F", "-t", ""],
  ["-x", "-F", "$F", "-t", ""],
];

test("-D as df (pseudo filesystems left out, tmpfs kept; -A all), SIZE USED AVAIL USE% (-b bytes), --real, --pseudo, and the exit code of a list that finds nothing: as findmnt", () => {
  ws.fresh("findmnt-df");
  const d = ws.dir("d");
  const fstab = join(ws.dir("etc"), "fstab");
  writeFileSync(fstab, `ta ${d}/a tmpfs defaults 0 0\npr ${d}/p proc defaults 0 0\nnone ${d}/gone tmpfs defaults 0 0\n`);
  const outputs = sameAsFindmnt(DF_SETUP, DF_QUERIES, { D: d, F: fstab });
  // what they found, so that equal outputs are not two empty or trivial ones
  expect(outputs[1]).toBe(`SOURCE FSTYPE  SIZE  USED AVAIL USE% TARGET\nta     tmpfs   1.1M  684K  492K  58% ${d}/a\nexit=0\n`);
  expect(outputs[0]).toMatch(new RegExp(`\npr +proc +0 +0 +0 +- ${d}/p\n`)); // -R: below the mount, pseudo ones too
  expect(outputs[2]).toContain(" 1204224 ");
  expect(outputs[6]).toContain('"size": 1204224,');
  expect(outputs[9]).toBe("SOURCE  SIZE USED USE%\ns1      128K    0   0%\ns2      128K    0   0%\nexit=0\n"); // a stack: statfs of the mount point, the top's figures for each; SIZE widened to 5
  expect(outputs[11]).toBe("exit=1\n");
  for (const kept of [`${d}/a `, `${d}/b `, `${d}/s `]) expect(outputs[13]).toContain(kept);
  for (const left of [`${d}/p `, `${d}/sy `, `${d}/r `, `${d}/ov `]) expect(outputs[13]).not.toContain(left);
  expect(outputs[14]).toContain(`${d}/ov `);
  expect(outputs[15]).not.toContain(" tmpfs");
  expect(outputs[16]).toContain(`${d}/ov `);
  expect(outputs.slice(17, 23)).toEqual(["exit=0\n", "exit=1\n", "exit=0\n", '{\n   "filesystems": [\n\n   ]\n}\nexit=0\n', "exit=1\n", "exit=1\n"]);
  expect(outputs[23]).toBe(`{\n   "filesystems": [\n      {\n         "source": "ta"\n      }\n   ]\n}\nexit=0\n`);
  expect(outputs[24]).toBe("exit=1\n"); // the mount holding it is tmpfs: not the ext4 one above it
  expect(outputs[25]).toBe("exit=1\n");
  expect(outputs[26]).toMatch(new RegExp(`\n${d}/gone +\n`)); // no statfs: empty cells
  expect(outputs[27]).not.toContain(`${d}/p`);
  expect(outputs[29]).toBe("exit=1\n");
  expect(outputs[30]).toMatch(new RegExp(`\n${d}/a +tmpfs\n`));
  expect(outputs[30]).toContain(`${d}/p `); // -R: everything below the tmpfs found
  expect(outputs.slice(31, 33)).toEqual([`${d}/a\nexit=0\n`, `${d}/a\nexit=0\n`]);
  expect(outputs[33]).toBe(`TARGET\n${d}/a\n${d}/gone\nexit=0\n`);
  expect(outputs.slice(34)).toEqual(["exit=1\n", "Success, no errors or warnings detected\nexit=0\n"]);
});

test("a relative PATH whose absolute form is past PATH_MAX (from a working directory 4000 bytes deep): the mount holding it, as findmnt -T finds it", () => {
  const s = ws.fresh("findmnt-long");
  // the working directory: under PATH_MAX, so that the binary can start in it
  let cwd = s.dir;
  while (cwd.length < 4000) cwd = join(cwd, "d".repeat(60));
  ws.dir(...cwd.slice(s.dir.length + 1).split("/"));
  const relative = `${"x".repeat(100)}/${"y".repeat(100)}/t`;
  const inCwd = (argv: string[]) => Bun.spawnSync(argv, { cwd, env: { ...process.env, MOUNTKIT_STRATEGY: "" } });
  expect(inCwd(["mkdir", "-p", relative]).exitCode).toBe(0);
  ws.cleanups.push(() => void inCwd(["rm", "-rf", "x".repeat(100)])); // rmSync cannot reach past PATH_MAX
  expect(inCwd([BINARY, "mount", "-t", "tmpfs", "mk-long", relative]).exitCode).toBe(0);
  ws.cleanups.push(() => void inCwd([BINARY, "umount", relative]));
  const found = inCwd([BINARY, "findmnt", "-n", "-o", "SOURCE,FSTYPE", relative]);
  // realpath(3) says ENAMETOOLONG: it printed nothing and exited 1, as for a missing path
  expect([found.exitCode, found.stdout.toString()]).toEqual([0, "mk-long tmpfs\n"]);
  expect(Bun.spawnSync(["findmnt", "-n", "-o", "SOURCE,FSTYPE", "-T", relative], { cwd }).stdout.toString()).toBe("mk-long tmpfs\n");
});
