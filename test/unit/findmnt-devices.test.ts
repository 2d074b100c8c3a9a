// findmnt's device columns (UUID, LABEL, PARTUUID, PARTLABEL, SOURCES) and cells of several
// lines, as pure functions over handed-in device reads; test/integration/findmnt-columns.test.ts
// compares the same outputs with util-linux findmnt on loop devices.
import { describe, expect, test } from "bun:test";
import { deviceColumns, type DeviceIds, type SourceDevices } from "../../src/mountinfo/findmnt-devices.ts";
import { FINDMNT_COLUMNS, findmntJsonText, rowsPairs, rowsTable, type Columns } from "../../src/mountinfo/findmnt.ts";
import { submountForest, treeContinuations, treePrefixes } from "../../src/mountinfo/findmnt-tree.ts";
import { parseMountInfo } from "../../src/mountinfo/index.ts";
import type { TagSpec } from "../../src/tag-spec.ts";
import type { MountInfo } from "../../src/mountinfo/types.ts";

// /dev/sdb1 and /dev/sdc1 carry one filesystem UUID (a copied image), /dev/sdd another; the
// reads a test makes are counted, so a column asks each source once per listing at most
const IDS: Record<string, DeviceIds> = {
  "/dev/sdb1": { uuid: "1111-aa", label: "data disk", partuuid: "p-1", partlabel: "part one" },
  "/dev/sdc1": { uuid: "1111-aa", label: "data disk" },
  "/dev/sdd": { uuid: "2222-bb" },
};

function devices(): SourceDevices & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    idsOf: (spec) => {
      asked.push(spec);
      if (spec === "LABEL=data disk") return IDS["/dev/sdb1"]!;
      return IDS[spec] ?? {};
    },
    carrying: (tag: TagSpec) => Object.keys(IDS).filter((d) => (tag.name === "UUID" ? IDS[d]!.uuid === tag.value : IDS[d]!.label === tag.value)),
  };
}

const table = parseMountInfo(
  [
    "1 1 0:1 / / rw - tmpfs root rw",
    "2 1 8:17 / /data rw shared:4 master:2 - ext4 /dev/sdb1 rw",
    "3 2 8:17 /sub /data/b rw - ext4 /dev/sdb1 rw",
    "4 1 8:48 / /d rw - ext4 /dev/sdd rw",
    "5 1 0:5 / /e rw - tmpfs  rw",
    "6 1 0:6 / /t rw - tmpfs UUID=feed rw",
  ].join("\n") + "\n",
);
const byId = (id: number) => table.find((m) => m.id === id)!;

function specs(evaluate = false): Columns<MountInfo> {
  return { ...FINDMNT_COLUMNS, ...deviceColumns((m: MountInfo) => m.source, FINDMNT_COLUMNS.SOURCE!, devices(), evaluate) };
}

describe("deviceColumns", () => {
  test("UUID, LABEL, PARTUUID, PARTLABEL: what the source's device holds; empty where it holds none or is no device", () => {
    const s = specs();
    const cells = (m: MountInfo) => ["UUID", "LABEL", "PARTUUID", "PARTLABEL"].map((c) => s[c]!.value(m));
    expect(cells(byId(2))).toEqual(["1111-aa", "data disk", "p-1", "part one"]);
    expect(cells(byId(4))).toEqual(["2222-bb", null, null, null]);
    expect(cells(byId(1))).toEqual([null, null, null, null]);
    expect(cells(byId(5))).toEqual([null, null, null, null]); // no source: nothing asked
  });

  test("a source that is the tag asked for answers it as written; another tag is read through its device", () => {
    const s = specs();
    expect(s.UUID!.value(byId(6))).toBe("feed");
    const row = { ...byId(6), source: "LABEL=data disk" };
    expect([s.LABEL!.value(row), s.UUID!.value(row)]).toEqual(["data disk", "1111-aa"]);
  });

  test("SOURCES: every device carrying a /dev source's UUID, a bind's too (no [fsroot]); else the SOURCE cell, [] for none", () => {
    const s = specs();
    expect(s.SOURCES!.value(byId(2))).toEqual(["/dev/sdb1", "/dev/sdc1"]);
    expect(s.SOURCES!.value(byId(3))).toEqual(["/dev/sdb1", "/dev/sdc1"]);
    expect(s.SOURCES!.value(byId(1))).toEqual(["root"]);
    expect(s.SOURCES!.value(byId(5))).toEqual([]);
    // a tag: as written, unless -e asks for the devices carrying it
    expect(s.SOURCES!.value(byId(6))).toEqual(["UUID=feed"]);
    expect(specs(true).SOURCES!.value({ ...byId(6), source: "LABEL=data disk" })).toEqual(["/dev/sdb1", "/dev/sdc1"]);
    expect(specs(true).SOURCES!.value(byId(6))).toEqual(["UUID=feed"]); // none carries it
  });

  test("UUID and PARTUUID widen to findmnt's 36 (a vfat serial is 9), the others as wide as their cells", () => {
    const d: SourceDevices = { idsOf: () => ({ uuid: "1A2B-3C4D", label: "L", partuuid: "1a2b3c4d-02" }), carrying: () => [] };
    const s = { ...FINDMNT_COLUMNS, ...deviceColumns((m: MountInfo) => m.source, FINDMNT_COLUMNS.SOURCE!, d, false) };
    expect(rowsTable([byId(4)], ["UUID", "LABEL", "PARTUUID", "PARTLABEL"], s)).toBe(
      `UUID${" ".repeat(33)}LABEL PARTUUID${" ".repeat(29)}PARTLABEL\n1A2B-3C4D${" ".repeat(28)}L     1a2b3c4d-02${" ".repeat(26)}\n`,
    );
  });
});

describe("a cell of several lines (SOURCES)", () => {
  const s = specs();
  const rows = [byId(2), byId(5), byId(4)];

  test("a table: a row below for each further line, the other cells there empty (padded but the last)", () => {
    expect(rowsTable(rows, ["ID", "SOURCES", "TARGET"], s)).toBe(
      ["ID SOURCES   TARGET", " 2 /dev/sdb1 /data", "   /dev/sdc1 ", " 5           /e", " 4 /dev/sdd  /d", ""].join("\n"),
    );
    expect(rowsTable(rows, ["SOURCES", "ID"], s, { headings: false })).toBe(["/dev/sdb1  2", "/dev/sdc1 ", "           5", "/dev/sdd   4", ""].join("\n"));
  });

  test("-r and -P: one line per mount, the lines joined by \\x0a", () => {
    expect(rowsTable(rows, ["SOURCES", "ID"], s, { raw: true, headings: false })).toBe("/dev/sdb1\\x0a/dev/sdc1 2\n 5\n/dev/sdd 4\n");
    expect(rowsPairs(rows, ["SOURCES"], s)).toBe('SOURCES="/dev/sdb1\\x0a/dev/sdc1"\nSOURCES=""\nSOURCES="/dev/sdd"\n');
  });

  test("-J: an array, four spaces in from its key; no device and no source is [null], as libsmartcols writes it", () => {
    expect(findmntJsonText(rows, ["SOURCES", "ID"], s)).toBe(
      [
        "{",
        '   "filesystems": [',
        "      {",
        '         "sources": [',
        '             "/dev/sdb1", "/dev/sdc1"',
        "         ],",
        '         "id": 2',
        "      },{",
        '         "sources": [',
        "             null",
        "         ],",
        '         "id": 5',
        "      },{",
        '         "sources": [',
        '             "/dev/sdd"',
        "         ],",
        '         "id": 4',
        "      }",
        "   ]",
        "}",
        "",
      ].join("\n"),
    );
  });

  test("in a tree the TARGET column's lines go on down the added rows, as libsmartcols draws them", () => {
    const forest = submountForest(table, [byId(1)]);
    const order = [1, 2, 3, 4, 5, 6];
    expect(treePrefixes(forest)).toEqual(["", "├─", "│ └─", "├─", "├─", "└─"]);
    expect(treeContinuations(forest)).toEqual(["│ ", "│ ", "│   ", "│ ", "│ ", "  "]);
    const text = rowsTable(order.map(byId), ["TARGET", "SOURCES"], s, { treePrefixes: treePrefixes(forest), treeContinuations: treeContinuations(forest) });
    expect(text).toBe(
      [
        "TARGET      SOURCES",
        "/           root",
        "├─/data     /dev/sdb1",
        "│           /dev/sdc1",
        "│ └─/data/b /dev/sdb1",
        "│           /dev/sdc1",
        "├─/d        /dev/sdd",
        "├─/e        ",
        "└─/t        UUID=feed",
        "",
      ].join("\n"),
    );
  });
});

test("OPT-FIELDS: the mountinfo line's optional fields as written, one space apart; empty for none", () => {
  expect(FINDMNT_COLUMNS["OPT-FIELDS"]!.value(byId(2))).toBe("shared:4 master:2");
  expect(FINDMNT_COLUMNS["OPT-FIELDS"]!.value(byId(1))).toBeNull();
});
