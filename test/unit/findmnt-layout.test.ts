// A link named findmnt as findmnt(8): its layout (tree or list), its default columns, its flags
// (util-linux findmnt's alone, so their beginnings mean what they mean there), and its default
// output for a fixed table, byte for byte as util-linux 2.38.1's findmnt -F prints it.
// test/integration/findmnt-link-parity.test.ts runs the link beside util-linux findmnt.
import { describe, expect, test } from "bun:test";
import { parseArgs } from "../../src/cli/args.ts";
import { FINDMNT8_FLAGS, FINDMNT_FLAGS, refuseExclusiveFlags } from "../../src/cli/commands/findmnt-flags.ts";
import { defaultColumns, findmntLayout, type FindmntDialect, type LayoutFacts } from "../../src/cli/commands/findmnt-layout.ts";
import { findmntColumns, findmntJsonTreeText, findmntTable, RECORD_COLUMNS } from "../../src/mountinfo/findmnt.ts";
import { ASCII_TREE, flattenForest, selectionForest, treePrefixes } from "../../src/mountinfo/findmnt-tree.ts";
import { parseMountInfo } from "../../src/mountinfo/index.ts";
import { caught } from "../support/caught.ts";

const LINK: FindmntDialect = "findmnt(8)";

/** The layout of argv under a dialect; a search when it gives an operand, -T, -M or -S; listAll when it filters nothing. */
function layoutOf(argv: string[], dialect: FindmntDialect, facts: Partial<LayoutFacts> = {}) {
  const args = parseArgs("findmnt", argv, dialect === LINK ? FINDMNT8_FLAGS : FINDMNT_FLAGS);
  const search = args.operands.length > 0 || ["target", "mountpoint", "source"].some((f) => args.flags.has(f));
  const listAll = !search && !["types", "options", "shadowed", "real", "pseudo", "df"].some((f) => args.flags.has(f));
  const { tree, drawsTree, submounts } = findmntLayout(args, { treeable: true, search, listAll, ...facts }, dialect);
  return { tree, drawsTree, submounts };
}

describe("findmntLayout", () => {
  test("findmnt(8): its tree unless -l, -r, -P, -D, -m, -f or a search (without -R) lists; --tree draws it anyway; -J changes nothing", () => {
    const tree = { tree: true, drawsTree: true, submounts: false };
    const list = { tree: false, drawsTree: false, submounts: false };
    for (const argv of [[], ["-J"], ["-t", "tmpfs"], ["-J", "-O", "ro"], ["-R"], ["-i"], ["-U"], ["-a"], ["--tree", "-l"], ["--tree", "/mnt"], ["--tree", "-J", "-M", "/mnt"]]) {
      expect({ argv, layout: layoutOf(argv, LINK) }).toEqual({ argv, layout: tree });
    }
    for (const argv of [["-l"], ["-J", "-l"], ["-r"], ["-P"], ["-D"], ["-m"], ["-f"], ["/mnt"], ["-J", "/mnt"], ["-T", "/mnt"], ["-M", "/mnt"], ["-S", "tmpfs"], ["src", "/mnt"]]) {
      expect({ argv, layout: layoutOf(argv, LINK) }).toEqual({ argv, layout: list });
    }
    // -R with a search: each mount found with its submounts, drawn as a tree unless a list is asked for
    expect(layoutOf(["-R", "/mnt"], LINK)).toEqual({ tree: true, drawsTree: true, submounts: true });
    expect(layoutOf(["-J", "-R", "-M", "/mnt"], LINK)).toEqual({ tree: true, drawsTree: true, submounts: true });
    expect(layoutOf(["-l", "-R", "/mnt"], LINK)).toEqual({ tree: false, drawsTree: false, submounts: true });
    // a table of two files is no tree, --tree or not
    expect(layoutOf(["--tree"], LINK, { treeable: false })).toEqual(list);
  });

  test("mountkit findmnt: the same decision, but it draws the tree only where --tree or -R asks", () => {
    expect(layoutOf([], "mountkit")).toEqual({ tree: true, drawsTree: false, submounts: false });
    expect(layoutOf(["-J", "-t", "tmpfs"], "mountkit")).toEqual({ tree: true, drawsTree: false, submounts: false });
    expect(layoutOf(["--tree"], "mountkit")).toEqual({ tree: true, drawsTree: true, submounts: false });
    expect(layoutOf(["-R"], "mountkit")).toEqual({ tree: true, drawsTree: true, submounts: false });
    expect(layoutOf(["-R", "/mnt"], "mountkit")).toEqual({ tree: true, drawsTree: true, submounts: true });
    expect(layoutOf(["-l"], "mountkit")).toEqual({ tree: false, drawsTree: false, submounts: false });
  });
});

describe("defaultColumns", () => {
  test("findmnt(8): TARGET, SOURCE, FSTYPE, OPTIONS in every format; mountkit findmnt --json: its record's ten", () => {
    for (const json of [false, true]) expect(defaultColumns(LINK, json)).toEqual(["TARGET", "SOURCE", "FSTYPE", "OPTIONS"]);
    expect(defaultColumns("mountkit", false)).toEqual(["TARGET", "SOURCE", "FSTYPE", "OPTIONS"]);
    expect(defaultColumns("mountkit", true)).toEqual(RECORD_COLUMNS);
  });
});

describe("FINDMNT8_FLAGS: util-linux findmnt's flags alone", () => {
  // util-linux 2.38.1 findmnt's long options (findmnt --help)
  const UTIL_LINUX = [
    "fstab", "mtab", "kernel", "poll", "timeout", "all", "ascii", "bytes", "nocanonicalize", "canonicalize", "df", "direction", "evaluate",
    "tab-file", "first-only", "invert", "json", "list", "task", "noheadings", "options", "output", "output-all", "pairs", "pseudo",
    "shadowed", "submounts", "raw", "real", "source", "target", "tree", "mountpoint", "types", "uniq", "notruncate", "nofsroot", "shell",
    "verify", "verbose", "vfs-all", "help", "version",
  ];

  test("the same long names as findmnt's, no more", () => {
    expect(FINDMNT8_FLAGS.map((f) => f.long).sort()).toEqual(UTIL_LINUX.slice().sort());
    expect(FINDMNT8_FLAGS.flatMap((f) => f.aliases ?? [])).toEqual([]);
  });

  test("a long flag's beginning means what it means to findmnt: --mo is --mountpoint, --he --help", () => {
    const flagsOf = (argv: string[]) => [...parseArgs("findmnt", argv, FINDMNT8_FLAGS).flags.keys()];
    expect(flagsOf(["--mo", "/mnt"])).toEqual(["mountpoint"]);
    expect(flagsOf(["--mount=/mnt"])).toEqual(["mountpoint"]);
    for (const help of ["--h", "--he", "--hel"]) expect(flagsOf([help])).toEqual(["help"]);
    // ambiguous to findmnt too
    expect((caught(() => parseArgs("findmnt", ["--ver"], FINDMNT8_FLAGS)) as Error).message).toMatch(/ambiguous/);
    // mountkit findmnt's own are not there
    for (const flag of ["--mountinfo", "--helper-dir"]) expect((caught(() => parseArgs("findmnt", [flag, "x"], FINDMNT8_FLAGS)) as Error).message).toMatch(/unknown option/);
    // mountkit findmnt keeps them, and with them the ambiguity
    expect((caught(() => parseArgs("findmnt", ["--mo", "/mnt"], FINDMNT_FLAGS)) as Error).message).toMatch(/ambiguous/);
  });

  test("-J with --verify refused, as findmnt refuses it; mountkit findmnt's own report takes it", () => {
    const argv = ["-J", "--verify"];
    expect((caught(() => refuseExclusiveFlags(parseArgs("findmnt", argv, FINDMNT8_FLAGS), LINK)) as Error).message).toBe("findmnt: mutually exclusive arguments: --json --pairs --raw --verify");
    expect(() => refuseExclusiveFlags(parseArgs("findmnt", argv, FINDMNT_FLAGS), "mountkit")).not.toThrow();
  });
});

describe("the link's default output of a fixed table, as util-linux findmnt -F prints it", () => {
  const table = parseMountInfo(
    [
      "1 0 254:0 / / rw,relatime - ext4 /dev/vda rw",
      "2 1 0:2 / /a rw,nosuid - tmpfs ta rw,size=1024k",
      "3 2 0:3 / /a/x ro,relatime - tmpfs tax ro",
      "4 1 0:2 /sub /b rw,nosuid - tmpfs ta rw,size=1024k",
    ].join("\n") + "\n",
  );
  const forest = selectionForest(table, () => true);

  test("the tree, in the four columns", () => {
    expect(findmntTable(flattenForest(forest), defaultColumns(LINK, false), { treePrefixes: treePrefixes(forest) })).toBe(
      [
        "TARGET   SOURCE   FSTYPE OPTIONS",
        "/        /dev/vda ext4   rw,relatime",
        "├─/a     ta       tmpfs  rw,nosuid,size=1024k",
        "│ └─/a/x tax      tmpfs  ro,relatime",
        "└─/b     ta[/sub] tmpfs  rw,nosuid,size=1024k",
        "",
      ].join("\n"),
    );
    expect(findmntTable(flattenForest(forest), ["TARGET", "ID"], { treePrefixes: treePrefixes(forest, ASCII_TREE), asciiOnly: true })).toBe(
      ["TARGET   ID", "/         1", "|-/a      2", "| `-/a/x  3", "`-/b      4", ""].join("\n"),
    );
  });

  test("-J: the four keys, each mount's children nested under it", () => {
    expect(findmntJsonTreeText(forest, defaultColumns(LINK, true), findmntColumns({}))).toBe(
      [
        "{",
        '   "filesystems": [',
        "      {",
        '         "target": "/",',
        '         "source": "/dev/vda",',
        '         "fstype": "ext4",',
        '         "options": "rw,relatime",',
        '         "children": [',
        "            {",
        '               "target": "/a",',
        '               "source": "ta",',
        '               "fstype": "tmpfs",',
        '               "options": "rw,nosuid,size=1024k",',
        '               "children": [',
        "                  {",
        '                     "target": "/a/x",',
        '                     "source": "tax",',
        '                     "fstype": "tmpfs",',
        '                     "options": "ro,relatime"',
        "                  }",
        "               ]",
        "            },{",
        '               "target": "/b",',
        '               "source": "ta[/sub]",',
        '               "fstype": "tmpfs",',
        '               "options": "rw,nosuid,size=1024k"',
        "            }",
        "         ]",
        "      }",
        "   ]",
        "}",
        "",
      ].join("\n"),
    );
  });
});
