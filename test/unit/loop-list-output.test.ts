import { expect, test } from "bun:test";
import { DEFAULT_LOOP_COLUMNS, formatLoopTable, loopColumns, loopListJson, needsBackingIdentity } from "../../src/cli/loop-list-output.ts";
import { UsageError } from "../../src/cli/args.ts";
import { caught } from "../support/caught.ts";
import { loopDevice as device } from "../support/loop-device.ts";

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

test("-O: the columns named, any case, repeats kept, in their order; +LIST adds to the default ones; an unknown one is a usage error", () => {
  expect(loopColumns(undefined)).toEqual(DEFAULT_LOOP_COLUMNS);
  expect(loopColumns("name,ro,Name")).toEqual(["NAME", "RO", "NAME"]);
  expect(loopColumns("+partscan,maj:min")).toEqual([...DEFAULT_LOOP_COLUMNS, "PARTSCAN", "MAJ:MIN"]);
  const err = caught(() => loopColumns("NAME,FOO")) as UsageError;
  expect(err).toBeInstanceOf(UsageError);
  expect(err.message).toBe("loop list: unknown column: FOO");
  expect(needsBackingIdentity(loopColumns("NAME,BACK-INO"))).toBe(true);
  expect(needsBackingIdentity(DEFAULT_LOOP_COLUMNS)).toBe(false);
});

test("every column as losetup 2.38 writes it: device numbers as %3u:%-3u and %8u:%-3u, a value not known an empty cell; -n keeps the widths", () => {
  const columns = loopColumns("NAME,BACK-INO,BACK-MAJ:MIN,MAJ:MIN,PARTSCAN");
  const devices = [device({ backingInode: 2154529, backingDevice: "254:0", partscan: true }), device({ device: "/dev/loop1", number: 1, majorMinor: "7:1" })];
  expect(formatLoopTable(devices, columns).split("\n")).toEqual([
    "NAME       BACK-INO BACK-MAJ:MIN MAJ:MIN PARTSCAN",
    "/dev/loop0  2154529      254:0     7:0          1",
    "/dev/loop1                         7:1          0",
    "",
  ]);
  // the header counts for the widths even when left out, as libsmartcols counts it
  expect(formatLoopTable([device({})], ["OFFSET", "NAME"], true)).toBe("     0 /dev/loop0\n");
  expect(loopListJson(devices, columns).loopdevices).toEqual([
    { name: "/dev/loop0", "back-ino": 2154529, "back-maj:min": "254:0", "maj:min": "7:0", partscan: true },
    { name: "/dev/loop1", "back-ino": null, "back-maj:min": null, "maj:min": "7:1", partscan: false },
  ]);
});

test("a backing file's name is escaped as losetup's table escapes it (libsmartcols): a newline makes no row, an ESC never reaches the terminal; widths by terminal columns", () => {
  const names = ["/c/café", "/c/a\nb", "/c/tab\tx", "/c/e\x1b[1mx", "/c/b\\x41", "/c/caf\udce9"];
  const devices = names.map((backingFile, n) => device({ device: `/dev/loop${n}`, number: n, backingFile }));
  // losetup 2.38 -l -O NAME,BACK-FILE,RO for the same files, in C.UTF-8
  expect(formatLoopTable(devices, ["NAME", "BACK-FILE", "RO"]).split("\n")).toEqual([
    "NAME       BACK-FILE    RO",
    "/dev/loop0 /c/café       0",
    "/dev/loop1 /c/a\\x0ab     0",
    "/dev/loop2 /c/tab\\x09x   0",
    "/dev/loop3 /c/e\\x1b[1mx  0",
    "/dev/loop4 /c/b\\x5cx41   0",
    "/dev/loop5 /c/caf\\xe9    0",
    "",
  ]);
  // outside a UTF-8 locale (LANG=C) every byte past ASCII is escaped too
  expect(formatLoopTable([devices[0]!], ["BACK-FILE"], true, true)).toBe("/c/caf\\xc3\\xa9\n");
});
