// findmnt -R, -U, -P as pure functions; test/integration/findmnt-select.test.ts compares the
// same outputs with util-linux findmnt byte for byte.
import { describe, expect, test } from "bun:test";
import {
  ASCII_TREE,
  flattenForest,
  overmounted,
  rootMount,
  selectionForest,
  submountForest,
  treePrefixes,
  uniqueTargets,
} from "../../src/mountinfo/findmnt-tree.ts";
import { findmntJsonTreeText, findmntPairs, findmntTable } from "../../src/mountinfo/findmnt.ts";
import { parseMountInfo } from "../../src/mountinfo/index.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";

// id parent target source: a root, /a (with /a/x, whose /a/x/z, then /a/y mounted before /a/x),
// /b, and /c holding a stack of two.
const table = parseMountInfo(
  [
    "1 1 0:1 / / rw - tmpfs root rw",
    "2 1 0:2 / /a rw - tmpfs ta rw",
    "5 2 0:5 / /a/y rw - tmpfs tay rw",
    "3 2 0:3 / /a/x rw - tmpfs tax rw",
    "4 3 0:4 / /a/x/z rw - tmpfs taxz rw",
    "6 1 0:6 / /b rw - tmpfs tb rw",
    "7 1 0:7 / /c rw - tmpfs tc rw",
    "8 7 0:8 / /c rw - tmpfs tc2 rw",
  ].join("\n") + "\n",
);
const byId = (id: number) => table.find((m) => m.id === id)!;
const ids = (mounts: readonly MountInfo[]) => mounts.map((m) => m.id);

describe("submountForest (findmnt -R)", () => {
  test("a mount and everything below it, children by mount ID, depth first", () => {
    expect(ids(flattenForest(submountForest(table, [byId(2)])))).toEqual([2, 3, 4, 5]);
    expect(ids(flattenForest(submountForest(table, [byId(1)])))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  test("a selected mount already below an earlier one is printed once; the root's own parent is no loop", () => {
    const forest = submountForest(table, [byId(7), byId(8), byId(6)]);
    expect(forest.map((n) => n.mount.id)).toEqual([7, 6]);
    expect(ids(flattenForest(forest))).toEqual([7, 8, 6]);
  });

  test("a table whose parents form a cycle still ends", () => {
    const cyclic = parseMountInfo("1 2 0:1 / /x rw - tmpfs a rw\n2 1 0:2 / /x/y rw - tmpfs b rw\n");
    expect(ids(flattenForest(submountForest(cyclic, cyclic)))).toEqual([1, 2]);
  });

  test("nothing selected, nothing printed", () => {
    expect(submountForest(table, [])).toEqual([]);
  });
});

describe("treePrefixes", () => {
  test("the TARGET column's branches as libsmartcols draws them", () => {
    expect(treePrefixes(submountForest(table, [byId(1)]))).toEqual(["", "├─", "│ ├─", "│ │ └─", "│ └─", "├─", "└─", "  └─"]);
  });

  test("findmntTable puts them before TARGET, wherever it is, and widens the column", () => {
    const forest = submountForest(table, [byId(2)]);
    const text = findmntTable(flattenForest(forest), ["SOURCE", "TARGET"], { treePrefixes: treePrefixes(forest) });
    expect(text).toBe("SOURCE TARGET\nta     /a\ntax    ├─/a/x\ntaxz   │ └─/a/x/z\ntay    └─/a/y\n");
    // raw output (--tree -r) escapes the branches with the cell, every byte past ASCII and the space
    const raw = findmntTable(flattenForest(forest), ["TARGET", "SOURCE"], { raw: true, headings: false, treePrefixes: treePrefixes(forest) });
    expect(raw).toBe("/a ta\n\\xe2\\x94\\x9c\\xe2\\x94\\x80/a/x tax\n\\xe2\\x94\\x82\\x20\\xe2\\x94\\x94\\xe2\\x94\\x80/a/x/z taxz\n\\xe2\\x94\\x94\\xe2\\x94\\x80/a/y tay\n");
    const ascii = findmntTable(flattenForest(forest), ["TARGET"], { raw: true, headings: false, treePrefixes: treePrefixes(forest, ASCII_TREE) });
    expect(ascii).toBe("/a\n|-/a/x\n|\\x20`-/a/x/z\n`-/a/y\n");
  });

  test("drawn in every TARGET column, as findmnt draws -o TARGET,SOURCE,TARGET", () => {
    const forest = submountForest(table, [byId(3)]);
    const text = findmntTable(flattenForest(forest), ["TARGET", "SOURCE", "TARGET"], { treePrefixes: treePrefixes(forest) });
    expect(text).toBe("TARGET   SOURCE TARGET\n/a/x     tax    /a/x\n└─/a/x/z taxz   └─/a/x/z\n");
    const pairs = findmntPairs(flattenForest(forest), ["TARGET", "TARGET"], { treePrefixes: treePrefixes(forest, ASCII_TREE) });
    expect(pairs).toBe('TARGET="/a/x" TARGET="/a/x"\nTARGET="\\x60-/a/x/z" TARGET="\\x60-/a/x/z"\n');
  });

  test("findmntPairs escapes them in TARGET's value as it escapes the value (--tree -P)", () => {
    const forest = submountForest(table, [byId(2)]);
    const pairs = findmntPairs(flattenForest(forest), ["SOURCE", "TARGET"], { treePrefixes: treePrefixes(forest) });
    expect(pairs.split("\n")[2]).toBe('SOURCE="taxz" TARGET="\\xe2\\x94\\x82 \\xe2\\x94\\x94\\xe2\\x94\\x80/a/x/z"');
  });
});

describe("selectionForest (findmnt's tree, --tree)", () => {
  const ids2 = (forest: ReturnType<typeof selectionForest>) => ids(flattenForest(forest));

  test("everything selected: the whole tree from the root, children by mount ID", () => {
    const forest = selectionForest(table, () => true);
    expect(forest.map((n) => n.mount.id)).toEqual([1]);
    expect(ids2(forest)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(treePrefixes(forest)).toEqual(["", "├─", "│ ├─", "│ │ └─", "│ └─", "├─", "└─", "  └─"]);
  });

  test("a mount not selected is left out, its selected children hung below the nearest selected mount above", () => {
    const forest = selectionForest(table, (m) => m.id !== 2 && m.id !== 3);
    expect(ids2(forest)).toEqual([1, 4, 5, 6, 7, 8]);
    expect(treePrefixes(forest)).toEqual(["", "├─", "├─", "├─", "└─", "  └─"]);
    // the root left out: its children at the top, each a tree of its own
    const tops = selectionForest(table, (m) => m.id !== 1);
    expect(tops.map((n) => n.mount.id)).toEqual([2, 6, 7]);
    expect(treePrefixes(tops)).toEqual(["", "├─", "│ └─", "└─", "", "", "└─"]);
  });

  test("nothing selected, no tree; an empty table has no root", () => {
    expect(selectionForest(table, () => false)).toEqual([]);
    expect(selectionForest([], () => true)).toEqual([]);
    expect(rootMount([])).toBeUndefined();
  });

  test("the root: the smallest parent ID, then up the parents the table holds (a messy table)", () => {
    const messy = parseMountInfo("30 25 0:1 / / rw - tmpfs root rw\n40 3 0:2 / /a rw - tmpfs a rw\n3 30 0:3 / /b rw - tmpfs b rw\n41 40 0:4 / /a/x rw - tmpfs ax rw\n");
    expect(rootMount(messy)?.id).toBe(30);
    expect(ids2(selectionForest(messy, () => true))).toEqual([30, 3, 40, 41]);
  });

  test("mounts the walk never reaches (their parent is not in the table) start trees of their own, in table order", () => {
    const orphans = parseMountInfo(
      ["30 25 0:1 / / rw - tmpfs root rw", "31 30 0:2 / /a rw - tmpfs a rw", "50 99 0:3 / /o rw - tmpfs o rw", "51 50 0:4 / /o/x rw - tmpfs ox rw", "32 30 0:5 / /b rw - tmpfs b rw", "60 98 0:6 / /p rw - tmpfs p rw"].join("\n") + "\n",
    );
    const forest = selectionForest(orphans, () => true);
    expect(forest.map((n) => n.mount.id)).toEqual([30, 50, 60]);
    expect(ids2(forest)).toEqual([30, 31, 32, 50, 51, 60]);
    // as util-linux 2.38: a mount listed before its unreached parent is drawn twice
    const childFirst = parseMountInfo("52 50 0:4 / /o/y rw - tmpfs oy rw\n30 25 0:1 / / rw - tmpfs root rw\n50 99 0:3 / /o rw - tmpfs o rw\n");
    expect(ids2(selectionForest(childFirst, () => true))).toEqual([30, 52, 50, 52]);
  });

  test("a cycle of parents ends", () => {
    const cyclic = parseMountInfo("1 0 0:1 / / rw - tmpfs r rw\n2 3 0:2 / /x rw - tmpfs a rw\n3 2 0:3 / /x/y rw - tmpfs b rw\n");
    expect(ids2(selectionForest(cyclic, () => true))).toEqual([1, 2, 3]);
  });
});

describe("overmounted (findmnt --shadowed)", () => {
  test("a mount with a mount made on it at its own mount point; not the top of a stack, not a mount hidden from above", () => {
    const hidden = parseMountInfo(
      ["1 1 0:1 / / rw - tmpfs root rw", "2 1 0:2 / /c rw - tmpfs c1 rw", "3 2 0:3 / /c rw - tmpfs c2 rw", "4 1 0:4 / /h/x rw - tmpfs hx rw", "5 1 0:5 / /h rw - tmpfs h rw"].join("\n") + "\n",
    );
    const shadowed = overmounted(hidden);
    expect(hidden.filter(shadowed).map((m) => m.id)).toEqual([1, 2]); // the root is its own parent on "/", as libmount finds
    expect(table.filter(overmounted(table)).map((m) => m.id)).toEqual([1, 7]);
  });
});

describe("findmntJsonTreeText", () => {
  test("children nested under their mount, 6 more spaces a level", () => {
    const forest = submountForest(table, [byId(3), byId(6)]);
    expect(findmntJsonTreeText(forest, ["TARGET", "ID"])).toBe(
      [
        "{",
        '   "filesystems": [',
        "      {",
        '         "target": "/a/x",',
        '         "id": 3,',
        '         "children": [',
        "            {",
        '               "target": "/a/x/z",',
        '               "id": 4',
        "            }",
        "         ]",
        "      },{",
        '         "target": "/b",',
        '         "id": 6',
        "      }",
        "   ]",
        "}",
        "",
      ].join("\n"),
    );
    expect(findmntJsonTreeText([], ["TARGET"])).toBe("");
  });
});

describe("uniqueTargets (findmnt -U)", () => {
  test("an over-mounted mount is left out, its children given its parent", () => {
    const stacked = parseMountInfo(
      ["1 1 0:1 / / rw - tmpfs root rw", "2 1 0:2 / /c rw - tmpfs tc rw", "3 2 0:3 / /c rw - tmpfs tc2 rw", "4 3 0:4 / /c rw - tmpfs tc3 rw", "5 4 0:5 / /c/d rw - tmpfs td rw"].join("\n") + "\n",
    );
    const unique = uniqueTargets(stacked);
    expect(unique.map((m) => [m.id, m.parent])).toEqual([
      [1, 1],
      [4, 1],
      [5, 4],
    ]);
    expect(treePrefixes(submountForest(unique, [unique[0]!]))).toEqual(["", "└─", "  └─"]);
    // no stack: the same records
    const flat = uniqueTargets(table.filter((m) => m.id !== 7));
    expect(flat.every((m) => table.includes(m))).toBe(true);
  });
});

describe("findmntPairs (findmnt -P, -y)", () => {
  test("NAME=\"value\", with what a shell would expand escaped as \\xHH; empty values kept", () => {
    const [m] = parseMountInfo('9 1 0:9 / /q/a\\040$v`"\\134 rw - tmpfs  rw\n');
    expect(findmntPairs([m!], ["TARGET", "SOURCE", "MAJ:MIN"])).toBe('TARGET="/q/a \\x24v\\x60\\x22\\x5c" SOURCE="" MAJ:MIN="0:9"\n');
    expect(findmntPairs([m!], ["MAJ:MIN", "VFS-OPTIONS"], { shell: true })).toBe('MAJ_MIN="0:9" VFS_OPTIONS="rw"\n');
  });

  test("non-ASCII and control characters by UTF-8 byte", () => {
    const [m] = parseMountInfo("9 1 0:9 / /漢\\011 rw - tmpfs x rw\n");
    expect(findmntPairs([m!], ["TARGET"])).toBe('TARGET="/\\xe6\\xbc\\xa2\\x09"\n');
  });
});
