import { expect, test } from "bun:test";
import { formatLoopTable, loopListJson } from "../../src/cli/loop-list-output.ts";
import type { LoopDevice } from "../../src/ops/loop-list.ts";

const device = (over: Partial<LoopDevice>): LoopDevice => ({
  device: "/dev/loop0",
  number: 0,
  backingFile: "/x.img",
  offset: 0,
  sizeLimit: 0,
  autoclear: false,
  readOnly: false,
  directIo: false,
  sectorSize: 512,
  ...over,
});

test("losetup --list's table: numbers and flags right-aligned, names left, the last column unpadded", () => {
  const table = formatLoopTable([
    device({ offset: 4096 }),
    device({ device: "/dev/loop12", number: 12, backingFile: "/images/a longer name.img", sizeLimit: 1048576, readOnly: true, autoclear: true, directIo: true, sectorSize: 4096 }),
  ]);
  expect(table.split("\n")).toEqual([
    "NAME        SIZELIMIT OFFSET AUTOCLEAR RO BACK-FILE                 DIO LOG-SEC",
    "/dev/loop0          0   4096         0  0 /x.img                      0     512",
    "/dev/loop12   1048576      0         1  1 /images/a longer name.img   1    4096",
    "",
  ]);
});

test("no device: nothing at all, as losetup prints; --json: an empty list", () => {
  expect(formatLoopTable([])).toBe("");
  expect(loopListJson([])).toEqual({ loopdevices: [] });
});

test("--json uses losetup's key names and types", () => {
  expect(loopListJson([device({ directIo: true })])).toEqual({
    loopdevices: [{ name: "/dev/loop0", sizelimit: 0, offset: 0, autoclear: false, ro: false, "back-file": "/x.img", dio: true, "log-sec": 512 }],
  });
});
