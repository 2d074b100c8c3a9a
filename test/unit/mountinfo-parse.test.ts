import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { MountInfoParseError, decodeMountInfoField, parseMountInfo, parseMountInfoLenient, parseMountInfoLine } from "../../src/mountinfo/index.ts";
import { readLineAt } from "../../src/mountinfo/parse.ts";
import { lookupMount } from "../../src/mountinfo/lookup.ts";
import type { MountInfo } from "../../src/mountinfo/index.ts";

describe("parseMountInfoLine", () => {
  const cases: { name: string; line: string; want: Partial<MountInfo> }[] = [
    {
      name: "no optional fields",
      line: "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resuid=65534",
      want: {
        id: 27,
        parent: 1,
        major: 254,
        minor: 0,
        root: "/",
        mountpoint: "/",
        options: "rw,relatime",
        optional: [],
        fstype: "ext4",
        source: "/dev/vda",
        superOptions: "rw,discard,resuid=65534",
        shared: undefined,
        master: undefined,
        propagateFrom: undefined,
        unbindable: false,
      },
    },
    {
      name: "the man page example: one optional field, a bind of a subdir",
      line: "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue",
      want: { root: "/mnt1", mountpoint: "/mnt/parent", optional: ["master:1"], master: 1, shared: undefined },
    },
    {
      name: "several optional fields with propagate_from",
      line: "71 63 0:40 / /s2 rw,relatime shared:2 master:1 propagate_from:7 - tmpfs tmpfs rw",
      want: {
        optional: ["shared:2", "master:1", "propagate_from:7"],
        shared: 2,
        master: 1,
        propagateFrom: 7,
        unbindable: false,
        fstype: "tmpfs",
      },
    },
    {
      name: "unbindable",
      line: "67 63 0:41 / /ub rw,relatime unbindable - tmpfs tmpfs rw",
      want: { optional: ["unbindable"], unbindable: true, shared: undefined },
    },
    {
      name: "an unknown optional tag is kept but changes nothing",
      line: "67 63 0:41 / /u rw future:9 shared:3 - tmpfs tmpfs rw",
      want: { optional: ["future:9", "shared:3"], shared: 3, master: undefined },
    },
    {
      name: "space, tab, newline and backslash escapes in paths and source",
      line: "70 63 0:44 /a\\040b /m\\011t\\012n\\134x rw - tmpfs my\\040src\\134 rw",
      want: { root: "/a b", mountpoint: "/m\tt\nn\\x", source: "my src\\" },
    },
    {
      name: "escaped fstype",
      line: "70 63 0:44 / /f rw - fuse.my\\040fs src rw",
      want: { fstype: "fuse.my fs" },
    },
    {
      name: "super options with commas are kept as printed",
      line: "66 63 0:40 / /ov rw - overlay overlay rw,lowerdir=/a\\134\\054b:/c,upperdir=/u\\040p,uuid=on",
      want: { superOptions: "rw,lowerdir=/a\\134\\054b:/c,upperdir=/u\\040p,uuid=on" },
    },
    {
      name: "empty source (two spaces before the super options)",
      line: "64 63 0:40 / /e rw,relatime unbindable - tmpfs  rw",
      want: { fstype: "tmpfs", source: "", superOptions: "rw", unbindable: true },
    },
    {
      name: 'a source spelled "-" is not taken for the separator',
      line: "64 63 0:40 / /d rw - tmpfs - rw",
      want: { fstype: "tmpfs", source: "-", superOptions: "rw" },
    },
    {
      name: "fields after the super options are dropped (moby's \"extra fields at the end\")",
      line: "251 15 0:3573 / /mnt/point rw,relatime - aufs none rw,unc=buggy but we cope",
      want: { mountpoint: "/mnt/point", fstype: "aufs", source: "none", superOptions: "rw,unc=buggy" },
    },
    {
      name: "moby's cifs line: a space left unescaped in unc= (Linux <= 3.9)",
      line: "31 21 0:23 / /DATA/foo_bla_bla rw,relatime - cifs //foo/BLA\\040BLA\\040BLA/ rw,sec=ntlm,cache=loose,unc=\\\\foo\\BLA BLA BLA,username=my_login,domain=mydomain.com,uid=12345678,forceuid,gid=12345678,forcegid,addr=10.1.30.10,file_mode=0755,dir_mode=0755,nounix,rsize=61440,wsize=65536,actimeo=1",
      want: { id: 31, parent: 21, mountpoint: "/DATA/foo_bla_bla", fstype: "cifs", source: "//foo/BLA BLA BLA/", superOptions: "rw,sec=ntlm,cache=loose,unc=\\\\foo\\BLA", optional: [] },
    },
    {
      name: 'extra fields and a source spelled "-": the first "-" after the mount options is the separator',
      line: "64 63 0:40 / /d rw - tmpfs - rw x - y",
      want: { fstype: "tmpfs", source: "-", superOptions: "rw" },
    },
    {
      name: "large device numbers",
      line: "5000 4999 259:1048575 / /big rw - xfs /dev/nvme0n1p1 rw",
      want: { id: 5000, parent: 4999, major: 259, minor: 1048575 },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      expect(parseMountInfoLine(c.line)).toMatchObject(c.want);
    });
  }

  const bad: { name: string; line: string; error: RegExp }[] = [
    { name: "too few fields", line: "27 1 254:0 / / rw - ext4 /dev/vda", error: /at least 10 .* found 9/ },
    { name: "missing separator", line: "27 1 254:0 / / rw shared:1 ext4 /dev/vda rw", error: /no "-" separator/ },
    { name: "too few fields after the separator (moby's case)", line: "251 15 0:3573 / /mnt/point rw,relatime some extra fields - aufs none", error: /expected at least 3 fields after "-", found 2/ },
    { name: "non-numeric id", line: "x 1 254:0 / / rw - ext4 /dev/vda rw", error: /bad mount id "x"/ },
    { name: "negative parent", line: "2 -1 254:0 / / rw - ext4 /dev/vda rw", error: /bad parent id "-1"/ },
    { name: "major:minor without colon", line: "2 1 2540 / / rw - ext4 /dev/vda rw", error: /bad major:minor "2540"/ },
    { name: "major:minor with empty minor", line: "2 1 254: / / rw - ext4 /dev/vda rw", error: /bad major:minor/ },
    { name: "bad peer group", line: "2 1 254:0 / / rw shared:x - ext4 /dev/vda rw", error: /bad optional field "shared:x"/ },
    { name: "empty optional field", line: "2 1 254:0 / / rw  - ext4 /dev/vda rw", error: /empty optional field/ },
    { name: "empty mount point", line: "2 1 254:0 /  rw - ext4 /dev/vda rw", error: /empty root or mount point/ },
    { name: "empty fstype", line: "2 1 254:0 / / rw -  /dev/vda rw", error: /empty filesystem type/ },
  ];
  for (const c of bad) {
    test(`rejects: ${c.name}`, () => {
      expect(() => parseMountInfoLine(c.line)).toThrow(c.error);
      expect(() => parseMountInfoLine(c.line)).toThrow(/^parse mountinfo line: /);
    });
  }

  test("the error quotes the line and is a MountInfoParseError", () => {
    let err: unknown;
    try {
      parseMountInfoLine("1 2 3");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MountInfoParseError);
    expect((err as MountInfoParseError).line).toBeUndefined();
    expect((err as Error).message).toBe('parse mountinfo line: expected at least 10 space-separated fields, found 3: "1 2 3"');
  });
});

describe("parseMountInfo", () => {
  const good = [
    "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
    "22 27 0:21 / /proc rw,relatime - proc proc rw",
    "25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684084k",
  ];

  test("parses every line in order and skips blank trailing lines", () => {
    const mounts = parseMountInfo(`${good.join("\n")}\n\n\n`);
    expect(mounts.map((m) => m.mountpoint)).toEqual(["/", "/proc", "/dev/shm"]);
    expect(mounts.map((m) => m.id)).toEqual([27, 22, 25]);
  });

  test("one line with extra fields does not cost the table: the others are read, the odd one too", () => {
    const cifs = "31 27 0:23 / /data rw,relatime - cifs //srv/My\\040Docs rw,unc=\\\\srv\\My Docs,vers=1.0";
    const mounts = parseMountInfo([good[0], cifs, good[1]].join("\n"));
    expect(mounts.map((m) => m.mountpoint)).toEqual(["/", "/data", "/proc"]);
    expect(mounts[1]).toMatchObject({ source: "//srv/My Docs", superOptions: "rw,unc=\\\\srv\\My" });
    // what lookups and unmounts read the table for
    expect(lookupMount(mounts, "/data/file")?.fstype).toBe("cifs");
    expect(lookupMount(mounts, "/proc/self")?.fstype).toBe("proc");
  });

  test("empty text is an empty table", () => {
    expect(parseMountInfo("")).toEqual([]);
    expect(parseMountInfo("\n")).toEqual([]);
  });

  test("names the 1-based line number of a malformed line", () => {
    const text = [good[0], good[1], "", "25 24 0:23 / /dev/shm rw,relatime shared:1 tmpfs tmpfs rw", good[2]].join("\n");
    let err: unknown;
    try {
      parseMountInfo(text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MountInfoParseError);
    expect((err as MountInfoParseError).line).toBe(4);
    expect((err as Error).message).toStartWith('parse mountinfo line 4: no "-" separator');
  });

  test("5,000 lines parse correctly (their speed: the mountinfo-lookup benchmarks, never a timed test)", () => {
    const lines: string[] = ["1 0 8:1 / / rw - ext4 /dev/sda1 rw"];
    for (let i = 2; i <= 5000; i++) {
      lines.push(`${i} 1 0:${i} / /run/containers/c${i}/root\\040dir rw,nosuid shared:${i} - overlay overlay rw,lowerdir=/l${i},upperdir=/u${i}`);
    }
    const text = `${lines.join("\n")}\n`;
    const mounts = parseMountInfo(text);
    expect(mounts).toHaveLength(5000);
    expect(mounts[4999]).toMatchObject({ id: 5000, minor: 5000, shared: 5000, mountpoint: "/run/containers/c5000/root dir" });
  });
});

describe("parseMountInfo reads each line in place exactly as parseMountInfoLine does", () => {
  // parseMountInfo reads well-formed lines without splitting them (faster) and hands any other
  // line to parseMountInfoLine; both must give the same record, or the same refusal.
  const tags = ["", " shared:1", " master:2", " shared:3 master:4 propagate_from:5", " unbindable", " future:x", " :odd", " shared:7 unbindable"];
  const paths = ["/", "/a", "/a\\040b", "/m\\011t\\012n\\134x", "/caf\\303\\251", "/-", "/x:y"];
  const tails = ["- ext4 /dev/vda rw", "- tmpfs  rw", "- tmpfs - rw", "- fuse.my\\040fs src rw,user_id=0", "- tmpfs tmpfs ", "- - - -"];
  const generated: string[] = [];
  let id = 20;
  for (const tag of tags) for (const path of paths) for (const tail of tails) generated.push(`${id++} 1 0:${id % 97} ${path} ${path}/m rw,relatime${tag} ${tail}`);
  const malformed = [
    "27 1 254:0 / / rw - ext4 /dev/vda",
    "27 1 254:0 / / rw shared:1 ext4 /dev/vda rw",
    "251 15 0:3573 / /mnt/point rw,relatime some extra fields - aufs none",
    "x 1 254:0 / / rw - ext4 /dev/vda rw",
    "2 -1 254:0 / / rw - ext4 /dev/vda rw",
    "2 1 2540 / / rw - ext4 /dev/vda rw",
    "2 1 254: / / rw - ext4 /dev/vda rw",
    "2 1 :0 / / rw - ext4 /dev/vda rw",
    "2 1 1:2:3 / / rw - ext4 /dev/vda rw",
    "2 1 254:0 / / rw shared:x - ext4 /dev/vda rw",
    "2 1 254:0 / / rw shared: - ext4 /dev/vda rw",
    "2 1 254:0 / / rw  - ext4 /dev/vda rw",
    "2 1 254:0 /  rw - ext4 /dev/vda rw",
    "2 1 254:0  / rw - ext4 /dev/vda rw",
    "2 1 254:0 / /  - ext4 /dev/vda rw",
    "2 1 254:0 / / rw -  /dev/vda rw",
    "2 1 254:0 / / rw -",
    "2 1 254:0 / / rw - ",
    "2 1 254:0 / / rw - ext4",
    " 1 254:0 / / rw - ext4 /dev/vda rw",
    "1 2 3",
  ];

  function outcome(fn: () => unknown): unknown {
    try {
      return fn();
    } catch (err) {
      return err instanceof MountInfoParseError ? `${err.message} (line ${err.line})` : err;
    }
  }

  test(`${generated.length} well-formed lines: the same records, each read in place`, () => {
    for (const line of generated) {
      expect(readLineAt(line, 0, line.length)).toEqual(parseMountInfoLine(line));
      expect(readLineAt(`x\n${line}\ny`, 2, line.length + 2)).toEqual(parseMountInfoLine(line)); // within a table
      expect(parseMountInfo(line)).toEqual([parseMountInfoLine(line)]);
    }
    expect(parseMountInfo(generated.join("\n"))).toEqual(generated.map((l) => parseMountInfoLine(l)));
  });

  test("this machine's own table: the same records", () => {
    const text = readFileSync("/proc/self/mountinfo", "utf8");
    const lines = text.split("\n").filter((l) => l !== "");
    expect(lines.length).toBeGreaterThan(3);
    expect(parseMountInfo(text)).toEqual(lines.map((l) => parseMountInfoLine(l)));
  });

  test("20,000 seeded random lines, most of them well formed: the same outcome for each", () => {
    let seed = 12345;
    const pick = <T,>(xs: readonly T[]): T => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return xs[(seed >>> 16) % xs.length]!; // the high bits: the low ones of this generator cycle
    };
    const often = <T,>(good: readonly T[], any: readonly T[]): T => (pick([1, 2, 3, 4, 5, 6, 7, 8, 9, 0]) ? pick(good) : pick(any));
    let readInPlace = 0;
    for (let i = 0; i < 20_000; i++) {
      const fields = [
        often(["1", "22"], ["x", "", "-1", "123456789012345678"]),
        often(["1", "3"], ["x", ""]),
        often(["0:5", "254:0"], ["254:", ":0", "2540", "1:2:3", ""]),
        often(["/", "/a"], ["", "-", "/x:y", "/\\303\\251"]),
        often(["/m", "/a\\040b"], ["", "-"]),
        often(["rw", "rw,relatime"], ["", "-"]),
        ...Array.from({ length: pick([0, 0, 1, 2, 3]) }, () => often(["shared:1", "master:2", "unbindable"], ["", "master:x", "shared:", ":1", "future:9", "propagate_from:3"])),
        ...(often([true], [false]) ? ["-"] : []),
        ...Array.from({ length: often([3], [0, 1, 2, 4]) }, () => pick(["tmpfs", "none", "", "-", "rw,size=1k", "fuse.a\\040b"])),
      ];
      const line = fields.join(" ");
      const inPlace = readLineAt(line, 0, line.length);
      const reference = outcome(() => parseMountInfoLine(line));
      if (inPlace === undefined) expect(String(reference)).toStartWith("parse mountinfo line: "); // declined only what is refused
      else expect(inPlace).toEqual(reference as MountInfo); // taken only what is valid, read the same
      if (inPlace !== undefined) readInPlace++;
    }
    expect(readInPlace).toBeGreaterThan(5_000);
  });

  test(`${malformed.length} malformed lines: the same refusal, naming the line`, () => {
    for (const line of malformed) {
      expect(readLineAt(line, 0, line.length)).toBeUndefined();
      const text = `${generated[0]}\n${line}\n`;
      expect(outcome(() => parseMountInfo(text))).toBe(outcome(() => parseMountInfoLine(line, 2)));
      expect(String(outcome(() => parseMountInfo(text)))).toStartWith("parse mountinfo line 2: ");
    }
  });
});

describe("decodeMountInfoField", () => {
  const cases: [string, string][] = [
    ["/plain", "/plain"],
    ["/a\\040b", "/a b"],
    ["\\011\\012\\134", "\t\n\\"],
    ["/h\\043sh", "/h#sh"],
    ["/caf\\303\\251", "/café"], // escaped UTF-8 bytes form one character
    ["/\\303\\251\\040x", "/é x"],
    ["/raw-é\\040", "/raw-é "],
    ["/not\\08", "/not\\08"], // 8 is not octal
    ["/short\\04", "/short\\04"],
    ["/over\\400", "/over\\400"], // above \377
    ["/lone\\", "/lone\\"],
    ["\\134\\134", "\\\\"],
    ["\\134040", "\\040"], // a decoded backslash does not start a new escape
  ];
  for (const [input, want] of cases) {
    test(JSON.stringify(input), () => {
      expect(decodeMountInfoField(input)).toBe(want);
    });
  }
});

describe("parseMountInfoLenient (a saved table, as findmnt -F reads one)", () => {
  test("a bad line is left out and reported with its number; the lines around it are kept", () => {
    const { mounts, problems } = parseMountInfoLenient("1 0 8:1 / / rw - ext4 /dev/sda1 rw\nnot a mountinfo line\n20 1 0:30 / /d rw - tmpfs t rw\n20 x 0:30 / /e rw - tmpfs t rw\n");
    expect(mounts.map((m) => m.mountpoint)).toEqual(["/", "/d"]);
    expect(problems.map((p) => [p.line, p.detail])).toEqual([
      [2, 'expected at least 10 space-separated fields, found 4: "not a mountinfo line"'],
      [4, 'bad parent id "x": "20 x 0:30 / /e rw - tmpfs t rw"'],
    ]);
    expect(problems[0]).toBeInstanceOf(MountInfoParseError);
  });

  test("blank lines, comments and blanks before the first field are skipped, as libmount skips them", () => {
    const { mounts, problems } = parseMountInfoLenient("# saved\n\n   \n  1 0 8:1 / / rw - ext4 /dev/sda1 rw\n\t# indented comment\n\t2 1 0:3 / /x rw - tmpfs x rw");
    expect(problems).toEqual([]);
    expect(mounts.map((m) => [m.id, m.mountpoint])).toEqual([
      [1, "/"],
      [2, "/x"],
    ]);
  });

  test("a whole table parses as parseMountInfo parses it", () => {
    const text = readFileSync("/proc/self/mountinfo", "utf8");
    expect(parseMountInfoLenient(text)).toEqual({ mounts: parseMountInfo(text), problems: [] });
  });
});

describe("mountinfo/ stays pure", () => {
  // Only read.ts may touch the system; the rest must run anywhere, on any text.
  const dir = new URL("../../src/mountinfo/", import.meta.url).pathname;
  const files = ["types.ts", "parse.ts", "lookup.ts", "caller-rows.ts", "findmnt.ts", "findmnt-space.ts", "filesystem-kinds.ts", "table-format.ts", "index.ts"];
  for (const file of files) {
    test(`${file} imports nothing that touches the system`, async () => {
      const src = await Bun.file(dir + file).text();
      const imports = [...src.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"/gm)].map((m) => m[1]);
      for (const spec of imports) {
        // pure: bytes and text, option strings, tags, the error classes (errors.ts imports only errno.ts and control-escapes.ts, which import nothing) and the checks of a caller's values (caller-kinds.ts imports only errors.ts)
        expect(spec).toMatch(/^(\.\/[a-z-]+|\.\.\/(path-text|option-text|tag-spec|errors|caller-kinds))\.ts$/);
        if (file !== "index.ts") expect(spec).not.toBe("./read.ts");
      }
      expect(src).not.toMatch(/\bBun\.(spawn|file|write)|process\.|require\(/);
    });
  }
});
