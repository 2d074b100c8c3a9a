// fstab parsing and mount -a selection, as util-linux does them; pure.
import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import {
  combineOptions,
  decodeFstabField,
  defaultFstabPath,
  findFstabLine,
  findFstabPair,
  matchFstype,
  matchOptions,
  parseFstab,
  remountOptions,
  selectFstab,
  sourceFromTag,
  withCommandLineOptions,
} from "../../src/plan/fstab.ts";

const FSTAB = [
  "# /etc/fstab: static file system information.",
  "",
  "   # an indented comment",
  "proc            /proc          proc    defaults        0 0",
  "tmpfs\t/mnt/with\\040space\ttmpfs\tsize=1m,mode=0700\t0\t0",
  "/srv/data       /mnt/data      none    bind,ro,X-mount.mkdir=0700",
  "tmpfs           /mnt/later     tmpfs   noauto,size=2m  0 0",
  "tmpfs           /mnt/optional  tmpfs   nofail,x-mount.mkdir",
  "UUID=1234-abcd  /boot          vfat    umask=0077      0 2",
  "/dev/sda2       none           swap    sw              0 0",
  "tmpfs           /mnt/bare      tmpfs",
].join("\n");

describe("parseFstab", () => {
  const lines = parseFstab(FSTAB);

  test("comments and blank lines are skipped; lines keep their numbers", () => {
    expect(lines.map((l) => l.line)).toEqual([4, 5, 6, 7, 8, 9, 10, 11]);
  });

  test("fields are decoded; missing options mean defaults, missing numbers 0", () => {
    expect(lines[1]).toEqual({
      line: 5,
      source: "tmpfs",
      spec: "tmpfs",
      target: "/mnt/with space",
      fstype: "tmpfs",
      options: ["size=1m", "mode=0700"],
      mntops: "size=1m,mode=0700",
      freq: 0,
      passno: 0,
    });
    expect(lines[7]).toMatchObject({ target: "/mnt/bare", options: ["defaults"], mntops: undefined, freq: 0, passno: 0 });
    expect(lines[5]).toMatchObject({ source: "/dev/disk/by-uuid/1234-abcd", spec: "UUID=1234-abcd", passno: 2 });
  });

  test("too few fields, too many, bad numbers: every bad line named, nothing returned", () => {
    let err: unknown;
    try {
      parseFstab("tmpfs /a tmpfs\n/dev/x /y\n# fine\ntmpfs /b tmpfs defaults 0 0 extra\ntmpfs /c tmpfs defaults x", "my.fstab");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PlanError);
    expect((err as Error).message).toBe(
      "read my.fstab: 3 bad entries: line 2: 2 fields, expected at least 3 (source, target, type); " +
        "line 4: 7 fields, expected at most 6; line 5: dump frequency \"x\" is not a number",
    );
  });

  test("an unbalanced quote in the options is refused with its line", () => {
    expect(() => parseFstab('tmpfs /a tmpfs context="x 0 0')).toThrow(/line 1: parse options: unbalanced/);
  });
});

describe("octal escapes and tags", () => {
  test.each([
    ["/mnt/a\\040b", "/mnt/a b"],
    ["tab\\011here", "tab\there"],
    ["back\\134slash", "back\\slash"],
    ["nl\\012", "nl\n"],
    ["\\303\\251t\\303\\251", "été"],
    ["not\\9escape", "not\\9escape"],
    ["short\\04", "short\\04"],
  ])("%j -> %j", (field, decoded) => {
    expect(decodeFstabField(field)).toBe(decoded);
  });

  test.each([
    ["LABEL=root", "/dev/disk/by-label/root"],
    ['LABEL="my disk"', "/dev/disk/by-label/my\\x20disk"],
    ["PARTUUID=abc-1", "/dev/disk/by-partuuid/abc-1"],
    ["PARTLABEL=a/b", "/dev/disk/by-partlabel/a\\x2fb"],
    ["/dev/sda1", "/dev/sda1"],
    ["tmpfs", "tmpfs"],
  ])("%j -> %j", (spec, path) => {
    expect(sourceFromTag(spec)).toBe(path);
  });
});

describe("mount -a selection", () => {
  const lines = parseFstab(FSTAB);

  test("noauto and swap are left out; X-mount.mkdir and nofail are read", () => {
    const { entries, skipped } = selectFstab(lines);
    expect(entries.map((e) => e.mount.target)).toEqual(["/proc", "/mnt/with space", "/mnt/data", "/mnt/optional", "/boot", "/mnt/bare"]);
    expect(skipped).toEqual([
      { line: 7, target: "/mnt/later", reason: "noauto" },
      { line: 10, target: "none", reason: "swap" },
    ]);
    const data = entries.find((e) => e.mount.target === "/mnt/data")!;
    expect(data).toMatchObject({ index: 6, where: "line 6 (/mnt/data)", createTarget: { mode: 0o700 }, nofail: false });
    expect(data.mount.type).toBe(""); // "none" + bind: a bind
    const optional = entries.find((e) => e.mount.target === "/mnt/optional")!;
    expect(optional).toMatchObject({ createTarget: { mode: 0o755 }, nofail: true });
  });

  test("-t and -O filter", () => {
    expect(selectFstab(lines, { types: "tmpfs" }).entries.map((e) => e.index)).toEqual([5, 8, 11]);
    expect(selectFstab(lines, { types: "notmpfs,vfat" }).entries.map((e) => e.index)).toEqual([4, 6]);
    expect(selectFstab(lines, { options: "+nofail" }).entries.map((e) => e.index)).toEqual([8]);
    // libmount: "noX" means "X is absent", so "nofail" alone matches every line without "fail"
    expect(selectFstab(lines, { options: "nofail" }).entries.map((e) => e.index)).toEqual([4, 5, 6, 8, 9, 11]);
    expect(selectFstab(lines, { types: "tmpfs", options: "nonofail" }).entries.map((e) => e.index)).toEqual([5, 11]);
  });

  test("the command line's options (mount -a -o) go after each line's own; its mkdir and nofail count; none: the entry as it was", () => {
    const [proc, spaced] = selectFstab(lines).entries;
    expect(withCommandLineOptions(proc!, [])).toBe(proc!);
    const merged = withCommandLineOptions(spaced!, ["ro", "X-mount.mkdir=0750", "nofail", "size=2m"]);
    expect(merged.mount.options).toEqual(["size=1m", "mode=0700", "ro", "X-mount.mkdir=0750", "nofail", "size=2m"]);
    expect(merged).toMatchObject({ createTarget: { mode: 0o750 }, nofail: true, where: spaced!.where, index: spaced!.index });
    expect(spaced!.mount.options).toEqual(["size=1m", "mode=0700"]); // never the caller's arrays
    expect(() => withCommandLineOptions(proc!, ["X-mount.mkdir=rwx"])).toThrow(/line 4 \(\/proc\): X-mount.mkdir mode "rwx" is not an octal mode/);
  });

  test("--options-mode: prepend (the default) and append order them; replace keeps the line's, ignore the command line's", () => {
    const line = ["size=1m", "nofail"];
    const given = ["size=2m", "ro"];
    expect(combineOptions(line, given)).toEqual(["size=1m", "nofail", "size=2m", "ro"]);
    expect(combineOptions(line, given, "append")).toEqual(["size=2m", "ro", "size=1m", "nofail"]);
    expect(combineOptions(line, given, "replace")).toEqual(line);
    expect(combineOptions(line, given, "ignore")).toEqual(given);
    // ignore drops the line's options even with none given, and its nofail and mkdir with them
    const optional = selectFstab(lines).entries.find((e) => e.mount.target === "/mnt/optional")!;
    expect(optional).toMatchObject({ nofail: true, createTarget: { mode: 0o755 } });
    const ignored = withCommandLineOptions(optional, [], "ignore");
    expect(ignored.mount.options).toEqual([]);
    expect(ignored).toMatchObject({ nofail: false, createTarget: undefined });
    expect(withCommandLineOptions(optional, [], "replace")).toBe(optional);
  });

  test("a relative mount point and a bad mkdir mode are refused by line", () => {
    const bad = parseFstab("tmpfs rel tmpfs defaults\ntmpfs /x tmpfs X-mount.mkdir=rwx");
    expect(() => selectFstab(bad, {}, "f")).toThrow(
      /mount -a f: 2 bad entries: line 1: mount point rel is not an absolute path; line 2: X-mount.mkdir mode "rwx" is not an octal mode/,
    );
  });
});

describe("libmount matching", () => {
  test.each([
    ["ext4", undefined, true],
    ["ext4", "ext4", true],
    ["ext4", "xfs,ext4", true],
    ["ext4", "xfs", false],
    ["ext4", "noext4", false],
    ["xfs", "noext4", true],
    ["nfs", "nonfs,tmpfs", false],
    ["tmpfs", "nonfs,tmpfs", false],
    ["ext4", "nonfs,tmpfs", true],
    ["tmpfs", "xfs,notmpfs", false],
  ])("type %s against %j: %p", (type, pattern, expected) => {
    expect(matchFstype(type, pattern)).toBe(expected);
  });

  test.each([
    [["xxx", "yyy", "zzz"], "nozzz", false],
    [["xxx", "yyy", "zzz"], "xxx,noeee", true],
    [["bar", "zzz"], "nofoo", true],
    [["nofoo", "bar"], "nofoo", true],
    [["nofoo", "bar"], "+nofoo", true],
    [["bar", "zzz"], "+nofoo", false],
    [["bar", "zzz"], "", true],
    [[], "+", true],
    [[], "foo", false],
    [[], "nofoo", true],
    [["size=1m"], "size", true],
    [["size=1m"], "size=2m", false],
  ])("options %j against %j: %p", (options, pattern, expected) => {
    expect(matchOptions(options, pattern)).toBe(expected);
  });
});

describe("the line for one operand (mount X)", () => {
  const lines = parseFstab(
    [
      "tmpfs           /mnt/scratch   tmpfs   size=1m",
      "/srv/data       /mnt/data      none    bind",
      "tmpfs           /mnt/scratch   tmpfs   size=2m", // the earlier line for the same mount point wins, as libmount reads fstab forward
      "UUID=1234-abcd  /boot          vfat    umask=0077",
      "/dev/sda2       none           swap    sw",
      "/srv/other      /mnt/other/    none    bind",
    ].join("\n"),
  );
  // the caller's realpath: /link names /mnt, a trailing slash goes; anything else is itself
  const canonical = (path: string) => path.replace(/^\/link(?=\/|$)/, "/mnt").replace(/(.)\/$/, "$1");
  const find = (operand: string) => findFstabLine(lines, operand, canonical)?.line;

  test("by mount point, the first line that names it (util-linux 2.38's mount takes the first)", () => {
    expect(find("/mnt/scratch")).toBe(1);
    expect(find("/mnt/data")).toBe(2);
  });

  test("by mount point through its canonical path, on either side", () => {
    expect(find("/link/data")).toBe(2);
    expect(find("/mnt/other")).toBe(6);
  });

  test("else by source, a tag as its /dev/disk link", () => {
    expect(find("/srv/data")).toBe(2);
    expect(find("tmpfs")).toBe(1); // the first of the lines with that source
    expect(find("UUID=1234-abcd")).toBe(4);
    expect(find("/dev/disk/by-uuid/1234-abcd")).toBe(4);
  });

  test("a mount point wins over a source; swap lines and unknown names are not found", () => {
    const both = parseFstab(["/x /y none bind", "/z /x none bind"].join("\n"));
    expect(findFstabLine(both, "/x", (p) => p)?.line).toBe(2);
    expect(find("/dev/sda2")).toBeUndefined();
    expect(find("none")).toBeUndefined();
    expect(find("/mnt/nowhere")).toBeUndefined();
  });

  test("--target and --source: by that one only (libmount's swapmatch off)", () => {
    const both = parseFstab(["/x /y none bind", "/z /x none bind"].join("\n"));
    expect(findFstabLine(both, "/x", (p) => p, "source")?.line).toBe(1);
    expect(findFstabLine(both, "/z", (p) => p, "target")).toBeUndefined();
    expect(findFstabLine(both, "/z", (p) => p, "source")?.line).toBe(2);
    expect(findFstabLine(both, "/y", (p) => p, "source")).toBeUndefined();
    expect(findFstabLine(both, "/y", (p) => p, "target")?.line).toBe(1);
  });
});

describe("remountOptions (mount -o remount X with X's line)", () => {
  const line = ["bind", "size=1m", "X-mount.mkdir", "X-mount.idmap=u:0:1:1", "nodev"];
  test("the line's options, then -o's (or as the mode says); replace: the line's alone, still a remount", () => {
    expect(remountOptions(["size=1m", "nodev"], ["remount", "ro"])).toEqual(["size=1m", "nodev", "remount", "ro"]);
    expect(remountOptions(["size=1m", "nodev"], ["remount", "ro"], "append")).toEqual(["remount", "ro", "size=1m", "nodev"]);
    expect(remountOptions(["size=1m", "nodev"], ["remount", "ro"], "ignore")).toEqual(["remount", "ro"]);
    expect(remountOptions(["size=1m", "nodev"], ["remount", "ro"], "replace")).toEqual(["size=1m", "nodev", "remount"]);
  });

  test("the line's bind goes unless -o binds (bind or rbind); its X-mount.* words go, -o's stay", () => {
    expect(remountOptions(line, ["remount", "ro"])).toEqual(["size=1m", "nodev", "remount", "ro"]);
    expect(remountOptions(line, ["remount", "bind", "ro"])).toEqual(["bind", "size=1m", "nodev", "remount", "bind", "ro"]);
    expect(remountOptions(line, ["remount", "rbind"])).toEqual(["bind", "size=1m", "nodev", "remount", "rbind"]);
    expect(remountOptions(["rbind"], ["remount", "X-mount.mode=0700"])).toEqual(["rbind", "remount", "X-mount.mode=0700"]);
  });
});

describe("findFstabPair (mount --options-source-force SOURCE TARGET)", () => {
  const pairs = parseFstab(["tmpfs /mnt/a tmpfs size=1m", "other /mnt/a tmpfs size=2m", "tmpfs /mnt/b tmpfs size=3m", "UUID=1234 /mnt/c ext4 ro", "tmpfs /mnt/a tmpfs size=4m"].join("\n"));
  const canonical = (p: string) => p.replace("/link", "/mnt");
  const find = (source: string, target: string) => findFstabPair(pairs, source, target, canonical)?.line;

  test("the first line with both the source and the mount point; a tag matches as written or as its /dev/disk link", () => {
    expect(find("tmpfs", "/mnt/a")).toBe(1);
    expect(find("other", "/mnt/a")).toBe(2);
    expect(find("tmpfs", "/link/b")).toBe(3); // the mount point compared canonical too
    expect(find("UUID=1234", "/mnt/c")).toBe(4);
  });

  test("one side alone is not enough", () => {
    expect(find("other", "/mnt/b")).toBeUndefined();
    expect(find("nothing", "/mnt/a")).toBeUndefined();
    expect(find("tmpfs", "/mnt/none")).toBeUndefined();
  });
});

describe("defaultFstabPath (LIBMOUNT_FSTAB, as libmount's mnt_get_fstab_path)", () => {
  test("unset: /etc/fstab; set: its value, a directory's too", () => {
    expect(defaultFstabPath(undefined, false)).toBe("/etc/fstab");
    expect(defaultFstabPath("/run/fstab", false)).toBe("/run/fstab");
    expect(defaultFstabPath("/etc/fstab.d", false)).toBe("/etc/fstab.d");
    expect(defaultFstabPath("relative/fstab", false)).toBe("relative/fstab");
  });

  test("set but empty is the path \"\" (no file), not the default: util-linux reads it so", () => {
    expect(defaultFstabPath("", false)).toBe("");
  });

  test("a setuid or setgid process ignores it, as libmount's safe_getenv", () => {
    expect(defaultFstabPath("/home/user/fstab", true)).toBe("/etc/fstab");
    expect(defaultFstabPath("", true)).toBe("/etc/fstab");
    expect(defaultFstabPath(undefined, true)).toBe("/etc/fstab");
  });
});
