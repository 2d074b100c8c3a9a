// findmnt's own match (a link named findmnt's), -i, --shadowed and --vfs-all as pure functions; test/integration/findmnt-more.test.ts
// compares the command's output with util-linux findmnt's.
import { describe, expect, test } from "bun:test";
import { findmntMatches, invertedMatches, operandMayBeTarget } from "../../src/mountinfo/findmnt-invert.ts";
import { optionTextBits, vfsOptionsAll } from "../../src/mountinfo/findmnt-vfs-options.ts";
import { selectFstabRows } from "../../src/mountinfo/findmnt-fstab.ts";
import { findmntColumns, findmntTable } from "../../src/mountinfo/findmnt.ts";
import { parseMountInfo } from "../../src/mountinfo/index.ts";
import { MS } from "../../src/plan/flags.ts";
import { parseFstab } from "../../src/plan/fstab.ts";

describe("invertedMatches (findmnt -i)", () => {
  const rows = [1, 2, 3, 4, 5, 6];
  const even = (n: number) => n % 2 === 0;
  const small = (n: number) => n < 4;

  test("a row is found when any one test turns it down", () => {
    expect(invertedMatches(rows, [[even]])).toEqual([1, 3, 5]);
    expect(invertedMatches(rows, [[even, small]])).toEqual([1, 3, 4, 5, 6]);
    expect(invertedMatches(rows, [[]])).toEqual([]); // no test: everything matches, nothing is found
  });

  test("the next attempt only when one finds nothing", () => {
    const all = () => true;
    expect(invertedMatches(rows, [[all], [even]])).toEqual([1, 3, 5]);
    expect(invertedMatches(rows, [[even], [small]])).toEqual([1, 3, 5]);
    expect(invertedMatches(rows, [[all], [all]])).toEqual([]);
  });

  test("findmntMatches: the rows passing every test of the first attempt that finds any", () => {
    expect(findmntMatches(rows, [[even, small]])).toEqual([2]);
    expect(findmntMatches(rows, [[]])).toEqual(rows); // no test: everything is found
    expect(findmntMatches(rows, [[() => false], [even]])).toEqual([2, 4, 6]);
    expect(findmntMatches(rows, [[even], [small]])).toEqual([2, 4, 6]);
    expect(findmntMatches(rows, [[() => false]])).toEqual([]);
  });

  test("a tag operand is never looked up again as a mount point", () => {
    expect(["LABEL=x", "UUID=1", "PARTLABEL=p", "PARTUUID=u"].map(operandMayBeTarget)).toEqual([false, false, false, false]);
    expect(["/mnt", "ID=x", "tmpfs"].map(operandMayBeTarget)).toEqual([true, true, true]);
  });
});

describe("selectFstabRows -i and --shadowed (findmnt -s)", () => {
  const lines = parseFstab("tmpfs /a tmpfs defaults 0 0\n/dev/x /b ext4 ro 0 2\nsrv:/e /c nfs sync 0 0\n");
  const targets = (query: Parameters<typeof selectFstabRows>[1]) => selectFstabRows(lines, query).map((l) => l.target);

  test("the lines a filter turns down; a PATH as a source first, as findmnt matches its operand", () => {
    expect(targets({ invert: true, types: "ext4" })).toEqual(["/a", "/c"]);
    expect(targets({ invert: true, path: "/dev/x" })).toEqual(["/a", "/c"]);
    // no line has the source /b: every line is found so, and findmnt looks no further
    expect(targets({ invert: true, path: "/b" })).toEqual(["/a", "/b", "/c"]);
    expect(targets({ invert: true, mountpoint: "/b" })).toEqual(["/a", "/c"]);
    expect(targets({ invert: true, mountpoint: "/b", source: "/dev/x" })).toEqual(["/a", "/c"]);
    expect(targets({ invert: true, kinds: (t) => t === "nfs" })).toEqual(["/a", "/b"]);
    expect(targets({ invert: true, types: "ext4", backward: true, firstOnly: true })).toEqual(["/c"]);
  });

  test("nothing to invert without a filter: every line, as findmnt -s -i lists them", () => {
    expect(targets({ invert: true })).toEqual(["/a", "/b", "/c"]);
  });

  test("--shadowed: no fstab line is over-mounted; inverted, every line", () => {
    expect(targets({ shadowed: true })).toEqual([]);
    expect(targets({ shadowed: true, invert: true })).toEqual(["/a", "/b", "/c"]);
  });
});

describe("vfsOptionsAll (findmnt --vfs-all)", () => {
  test("every flag of libmount's map, the defaults too, in the map's order", () => {
    expect(vfsOptionsAll("rw,relatime")).toBe("rw,exec,suid,dev,async,loud,nomand,atime,noiversion,diratime,relatime,nostrictatime,nolazytime,symfollow");
    expect(vfsOptionsAll("ro,nosuid,noexec,relatime,size=4k")).toBe(
      "ro,noexec,nosuid,dev,async,loud,nomand,atime,noiversion,diratime,relatime,nostrictatime,nolazytime,symfollow",
    );
    expect(vfsOptionsAll("rw,nodev,noatime,nodiratime,sync,dirsync,lazytime,nosymfollow,mand,silent,iversion,strictatime")).toBe(
      "rw,exec,suid,nodev,sync,dirsync,silent,mand,noatime,iversion,nodiratime,norelatime,strictatime,lazytime,nosymfollow",
    );
  });

  test("an entry prints when any of its bits is set: rbind's MS_REC brings the r-propagations", () => {
    expect(vfsOptionsAll("rw,rbind,shared")).toBe(
      "rw,exec,suid,dev,async,bind,rbind,loud,nomand,atime,noiversion,diratime,norelatime,nostrictatime,nolazytime,runbindable,rprivate,rslave,shared,rshared,symfollow",
    );
  });

  test("the last of a pair wins; an option with a value is no flag; user, users, owner, group as mount(8) reads them", () => {
    expect(optionTextBits("ro,rw")).toBe(0);
    expect(optionTextBits("rw,ro")).toBe(MS.RDONLY);
    expect(optionTextBits("ro=1,noexec=")).toBe(MS.NOEXEC);
    expect(optionTextBits("user")).toBe(MS.NOEXEC | MS.NOSUID | MS.NODEV);
    expect(optionTextBits("users,nouser")).toBe(MS.NOEXEC | MS.NOSUID | MS.NODEV);
    expect(optionTextBits("owner")).toBe(MS.NOSUID | MS.NODEV);
    expect(optionTextBits("group,defaults,x-foo,user=joe")).toBe(MS.NOSUID | MS.NODEV);
    expect(vfsOptionsAll(undefined)).toBeNull();
  });

  test("findmntColumns({ vfsAll }): VFS-OPTIONS from the mount's options, merged (a superblock's ro too)", () => {
    const mounts = parseMountInfo("9 1 0:9 / /m rw,nosuid - tmpfs t ro,size=4k\n");
    const text = findmntTable(mounts, ["VFS-OPTIONS"], { headings: false, raw: true });
    expect(text).toBe("rw,nosuid\n");
    const all = findmntColumns({ vfsAll: true })["VFS-OPTIONS"]!.value(mounts[0]!);
    expect(all).toBe("ro,exec,nosuid,dev,async,loud,nomand,atime,noiversion,diratime,norelatime,nostrictatime,nolazytime,symfollow");
  });
});
