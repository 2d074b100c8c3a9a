import { describe, expect, test } from "bun:test";
import { findmntColumns, rowsTable, shellColumns, shellName, FINDMNT_COLUMNS } from "../../src/mountinfo/findmnt.ts";
import {
  displayWidth,
  findmntJson,
  findmntJsonText,
  findmntOptions,
  findmntRecord,
  findmntSource,
  findmntTable,
  parseMountInfo,
  parseMountInfoLine,
  safeEncode,
} from "../../src/mountinfo/index.ts";

// Lines and outputs below were captured from this host (util-linux 2.38.1).
const line = (s: string) => parseMountInfoLine(s);

describe("findmntRecord", () => {
  test("a plain mount", () => {
    expect(findmntRecord(line("24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,mode=755"))).toEqual({
      id: 24,
      parent: 27,
      "maj:min": "0:6",
      fsroot: "/",
      target: "/dev",
      source: "devtmpfs",
      fstype: "devtmpfs",
      "vfs-options": "rw,relatime",
      "fs-options": "rw,size=12334460k,mode=755",
      propagation: "private",
    });
  });

  test("keys are findmnt's, in its column order", () => {
    expect(Object.keys(findmntRecord(line("1 0 8:1 / / rw - ext4 /dev/sda1 rw")))).toEqual([
      "id",
      "parent",
      "maj:min",
      "fsroot",
      "target",
      "source",
      "fstype",
      "vfs-options",
      "fs-options",
      "propagation",
    ]);
  });

  const cases: { name: string; line: string; want: Record<string, unknown> }[] = [
    {
      name: "a bind of a subdir shows source[fsroot]",
      line: "64 63 0:39 /sub /t/b rw,relatime - tmpfs tmpfs rw,size=1024k",
      want: { fsroot: "/sub", source: "tmpfs[/sub]" },
    },
    {
      name: "a block device bind",
      line: "80 27 254:0 /etc /t/etc rw,relatime - ext4 /dev/vda rw",
      want: { fsroot: "/etc", source: "/dev/vda[/etc]", "maj:min": "254:0" },
    },
    {
      name: "an empty source is null",
      line: "64 63 0:40 / /t/e rw,relatime unbindable - tmpfs  rw",
      want: { source: null, propagation: "private,unbindable" },
    },
    {
      name: "an empty source with an fsroot is just [fsroot]",
      line: "65 63 0:40 /sub /t/eb rw,relatime - tmpfs  rw",
      want: { source: "[/sub]" },
    },
    {
      name: "escaped paths are decoded",
      line: "70 63 0:44 /a\\040b /t/back\\134sl\\012nl rw - tmpfs x\\011y rw",
      want: { fsroot: "/a b", target: "/t/back\\sl\nnl", source: "x\ty[/a b]" },
    },
    {
      name: "options are decoded as libmount does",
      line: "66 63 0:40 / /t/m rw,relatime - overlay overlay rw,lowerdir=/t/lo\\040wer:/t/lo\\134\\054w,uuid=on",
      want: { "fs-options": "rw,lowerdir=/t/lo wer:/t/lo\\,w,uuid=on" },
    },
    {
      name: "shared and slave",
      line: "71 63 0:40 / /t/s2 rw,relatime shared:2 master:1 - tmpfs tmpfs rw",
      want: { propagation: "shared,slave" },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      expect(findmntRecord(line(c.line))).toMatchObject(c.want);
    });
  }

  test("findmntSource is the table's SOURCE cell (empty, not null)", () => {
    expect(findmntSource(line("64 63 0:40 / /t/e rw - tmpfs  rw"))).toBe("");
    expect(findmntSource(line("64 63 0:40 /x /t/e rw - tmpfs src rw"))).toBe("src[/x]");
  });
});

describe("findmntJson", () => {
  test("wraps the records under filesystems, in table order", () => {
    const mounts = parseMountInfo("27 1 254:0 / / rw - ext4 /dev/vda rw\n22 27 0:21 / /proc rw - proc proc rw\n");
    const json = findmntJson(mounts);
    expect(Object.keys(json)).toEqual(["filesystems"]);
    expect(json.filesystems.map((f) => f.target)).toEqual(["/", "/proc"]);
    expect(json.filesystems[1]).toEqual(findmntRecord(mounts[1]!));
  });

  test("findmntJsonText is byte-identical to findmnt -J", () => {
    const mounts = parseMountInfo(
      "22 27 0:21 / /proc rw,relatime - proc proc rw\n" + "64 63 0:40 /s /t/a\\011\\042b rw,relatime shared:3 - tmpfs  rw\n",
    );
    expect(findmntJsonText(mounts)).toBe(
      `{
   "filesystems": [
      {
         "id": 22,
         "parent": 27,
         "maj:min": "0:21",
         "fsroot": "/",
         "target": "/proc",
         "source": "proc",
         "fstype": "proc",
         "vfs-options": "rw,relatime",
         "fs-options": "rw",
         "propagation": "private"
      },{
         "id": 64,
         "parent": 63,
         "maj:min": "0:40",
         "fsroot": "/s",
         "target": "/t/a\\t\\"b",
         "source": "[/s]",
         "fstype": "tmpfs",
         "vfs-options": "rw,relatime",
         "fs-options": "rw",
         "propagation": "shared"
      }
   ]
}
`,
    );
    expect(JSON.parse(findmntJsonText(mounts))).toEqual(findmntJson(mounts));
  });

  test("control characters are escaped as JSON; DEL and non-ASCII stay raw (as findmnt)", () => {
    const text = findmntJsonText(parseMountInfo("68 63 0:44 / /t/c\x01\x08\x0c\x1b\x7f\u00e9\u2028 rw - tmpfs tmpfs rw\n"));
    expect(text).toContain('"target": "/t/c\\u0001\\b\\f\\u001b\x7f\u00e9\u2028",');
  });

  test("an empty list prints nothing, as findmnt does", () => {
    expect(findmntJsonText([])).toBe("");
    expect(findmntJson([])).toEqual({ filesystems: [] });
  });
});

describe("findmntOptions", () => {
  const cases: [vfs: string, fs: string, want: string][] = [
    ["rw,relatime", "rw,size=1024k", "rw,relatime,size=1024k"],
    ["rw,relatime", "rw", "rw,relatime"],
    ["ro,noexec,relatime", "ro", "ro,noexec,relatime"],
    ["ro,nosuid,nodev,relatime", "ro,size=4k,mode=755", "ro,nosuid,nodev,relatime,size=4k,mode=755"],
    // A read-only bind of a writable filesystem.
    ["ro,relatime", "rw,size=1024k", "ro,relatime,size=1024k"],
    // A writable mount of a filesystem whose superblock is read-only: findmnt says "ro".
    ["rw,relatime", "ro", "ro,relatime"],
    ["rw", "rw", "rw"],
    ["rw,relatime", "rw,relatime", "rw,relatime"],
    ["rw,relatime", "rw,lowerdir=/a\\040b,uuid=on", "rw,relatime,lowerdir=/a b,uuid=on"],
    // A quoted value is one option even with "rw" inside it.
    ['rw,nosuid', 'rw,context="a,rw,b"', 'rw,nosuid,context="a,rw,b"'],
  ];
  for (const [vfs, fs, want] of cases) {
    test(`${vfs} + ${fs} -> ${want}`, () => {
      expect(findmntOptions(line(`1 0 0:1 / /x ${vfs} - tmpfs tmpfs ${fs}`))).toBe(want);
    });
  }
});

describe("findmntTable", () => {
  test("matches findmnt -l on this host's mounts", () => {
    const mounts = parseMountInfo(
      [
        "22 27 0:21 / /proc rw,relatime - proc proc rw",
        "24 27 0:6 / /dev rw,relatime - devtmpfs devtmpfs rw,size=12334460k,nr_inodes=3083615,mode=755",
        "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534",
        "28 27 0:25 / /mnt/sandboxing/model_tools_env/v1/python ro,nosuid,nodev,relatime - tmpfs model_tools_unavailable ro,size=4k,mode=755",
        "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu",
      ].join("\n"),
    );
    expect(findmntTable(mounts)).toBe(
      [
        "TARGET                                    SOURCE                  FSTYPE   OPTIONS",
        "/proc                                     proc                    proc     rw,relatime",
        "/dev                                      devtmpfs                devtmpfs rw,relatime,size=12334460k,nr_inodes=3083615,mode=755",
        "/                                         /dev/vda                ext4     rw,relatime,discard,resv_strict,resuid=65534,resgid=65534",
        "/mnt/sandboxing/model_tools_env/v1/python model_tools_unavailable tmpfs    ro,nosuid,nodev,relatime,size=4k,mode=755",
        "/sys/fs/cgroup/cpu                        cgroup                  cgroup   rw,relatime,cpu",
        "",
      ].join("\n"),
    );
  });

  test("escapes control characters, keeps each mount on one line, aligns by display width", () => {
    const mounts = parseMountInfo(
      [
        "63 43 0:39 / /t rw - tmpfs tmpfs rw",
        "64 63 0:40 /sub /t/new\\012line rw - tmpfs  rw",
        "65 63 0:41 / /t/a\\134xb rw - tmpfs x\\134y rw",
        "66 63 0:42 / /t/漢字 rw - tmpfs tmpfs rw",
      ].join("\n"),
    );
    expect(findmntTable(mounts)).toBe(
      [
        "TARGET         SOURCE FSTYPE OPTIONS",
        "/t             tmpfs  tmpfs  rw",
        "/t/new\\x0aline [/sub] tmpfs  rw",
        "/t/a\\x5cxb     x\\y    tmpfs  rw",
        "/t/漢字        tmpfs  tmpfs  rw",
        "",
      ].join("\n"),
    );
  });

  test("an empty list prints nothing, as findmnt does", () => {
    expect(findmntTable([])).toBe("");
  });
});

describe("-v, -c and -y", () => {
  const bind = line("30 1 0:40 /sub /b rw - tmpfs ta rw");
  const linked = line("31 1 0:41 / /l rw - tmpfs /x/lnk rw");
  const tagged = line("32 1 0:42 / /u rw - tmpfs UUID=0000-feed rw");

  test("-v: SOURCE without [fsroot]; -c: a source that is no tag as the function gives it", () => {
    expect(FINDMNT_COLUMNS.SOURCE!.value(bind)).toBe("ta[/sub]");
    expect(findmntColumns({}).SOURCE!.value(bind)).toBe("ta[/sub]");
    expect(findmntColumns({ nofsroot: true }).SOURCE!.value(bind)).toBe("ta");
    const canonical = (p: string) => (p === "/x/lnk" ? "/x/real" : p === "ta" ? "/cwd/ta" : p);
    const c = findmntColumns({ canonical });
    expect([c.SOURCE!.value(linked), c.SOURCE!.value(bind), c.SOURCE!.value(tagged)]).toEqual(["/x/real", "/cwd/ta[/sub]", "UUID=0000-feed"]);
    expect(findmntColumns({ canonical, nofsroot: true }).SOURCE!.value(bind)).toBe("/cwd/ta");
    expect(findmntColumns({ nofsroot: true }).SOURCE!.value(line("33 1 0:43 /s /e rw - tmpfs  rw"))).toBeNull();
    // which sources are tags: parseTagSpec's table (device-tag.test.ts); a /dev/disk link is a path
    const marked = findmntColumns({ canonical: (p) => `canonical:${p}` });
    const shown = (source: string) => marked.SOURCE!.value(line(`34 1 0:44 / /t rw - tmpfs ${source} rw`));
    expect(["LABEL=a", "ID=e", "UUID=", "/dev/disk/by-uuid/b", "srv:/x"].map(shown)).toEqual(["LABEL=a", "ID=e", "canonical:UUID=", "canonical:/dev/disk/by-uuid/b", "canonical:srv:/x"]);
  });

  test("-y: shell names in every format; a table's header runs over a column as wide as its own name (USE%), as libsmartcols prints it", () => {
    expect(["MAJ:MIN", "USE%", "FS-OPTIONS", "TARGET"].map(shellName)).toEqual(["MAJ_MIN", "USE_PCT", "FS_OPTIONS", "TARGET"]);
    const renamed = shellColumns(["TARGET", "MAJ:MIN"], FINDMNT_COLUMNS);
    expect(renamed.columns).toEqual(["TARGET", "MAJ_MIN"]);
    expect(renamed.specs.MAJ_MIN!.value(bind)).toBe("0:40");
    const pct = { ...FINDMNT_COLUMNS, "USE%": { value: () => "0%", right: true } };
    expect(rowsTable([bind], ["USE%", "TARGET"], pct, { shellHeadings: true })).toBe("USE_PCT TARGET\n  0% /b\n");
    expect(rowsTable([bind], ["USE%", "TARGET"], pct)).toBe("USE% TARGET\n  0% /b\n");
  });
});

describe("safeEncode and displayWidth (libsmartcols cells)", () => {
  const enc: [string, string][] = [
    ["/plain path", "/plain path"],
    ["a\nb", "a\\x0ab"],
    ["a\tb", "a\\x09b"],
    ["a\rb\x7fc", "a\\x0db\\x7fc"],
    ["back\\slash", "back\\slash"],
    ["a\\xb", "a\\x5cxb"],
    ["a\\\\x", "a\\\\x5cx"],
    ["é漢字", "é漢字"],
    ["n\u0085l", "n\\xc2\\x85l"],
    ["l\u2028s", "l\\xe2\\x80\\xa8s"],
    ["u\u0378", "u\\xcd\\xb8"], // unassigned
  ];
  for (const [input, want] of enc) {
    test(`encode ${JSON.stringify(input)}`, () => {
      expect(safeEncode(input)).toBe(want);
    });
  }

  const widths: [string, number][] = [
    ["abc", 3],
    ["漢字", 4],
    ["é", 1],
    ["c\u0301m", 2], // combining accent
    ["z\u200bw", 2], // zero width space
    ["a\u00adb", 3], // glibc gives the soft hyphen a column
    ["e\u{1f600}j", 4],
    ["m\u{1f44d}\u{1f3fd}n", 6], // no grapheme clustering: each emoji counts 2
    ["o\u2764p", 3],
    ["\uff21", 2], // fullwidth A
  ];
  for (const [input, want] of widths) {
    test(`width ${JSON.stringify(input)} = ${want}`, () => {
      expect(displayWidth(input)).toBe(want);
    });
  }
});

describe("a listing's OPTIONS, merged once per pair of option texts", () => {
  test("each pair its own merge: the same vfs options with other fs options, and the other way", () => {
    const mounts = [
      line("40 1 0:50 / /a rw,relatime - tmpfs t rw,size=1k"),
      line("41 1 0:51 / /b rw,relatime - tmpfs t ro"),
      line("42 1 0:52 / /c ro,relatime - tmpfs t ro"),
      line("43 1 0:53 / /d rw,relatime - tmpfs t rw,size=1k"),
      line("44 1 0:54 / /e rw,relatime - tmpfs t ro"),
    ];
    const options = findmntColumns({}).OPTIONS!;
    expect(mounts.map((m) => options.value(m))).toEqual(["rw,relatime,size=1k", "ro,relatime", "ro,relatime", "rw,relatime,size=1k", "ro,relatime"]);
    expect(mounts.map((m) => options.value(m))).toEqual(mounts.map(findmntOptions));
  });

  test("past the merges it keeps, still findmntOptions' answer", () => {
    const options = findmntColumns({ nofsroot: true }).OPTIONS!;
    const mounts = Array.from({ length: 9000 }, (_, i) => line(`${i + 2} 1 0:1 / /m${i} rw,nosuid - tmpfs t rw,size=${i % 5000}k`));
    for (const m of [...mounts, ...mounts.slice(0, 10)]) expect(options.value(m)).toBe(findmntOptions(m));
  });
});

test("findmnt -J -o with a column twice prints it twice, as libsmartcols does", () => {
  expect(findmntJsonText([line("1 0 8:1 / / rw - ext4 /dev/sda1 rw")], ["TARGET", "TARGET"])).toBe(
    '{\n   "filesystems": [\n      {\n         "target": "/",\n         "target": "/"\n      }\n   ]\n}\n',
  );
});
