// Where the default fstab is, as the library resolves it from this process's environment
// (LIBMOUNT_FSTAB) at each use, and how messages name it. No file is read.
import { afterEach, expect, test } from "bun:test";
import { defaultFstab, fstabName } from "../../src/ops/fstab.ts";

const saved = process.env.LIBMOUNT_FSTAB;
afterEach(() => {
  if (saved === undefined) delete process.env.LIBMOUNT_FSTAB;
  else process.env.LIBMOUNT_FSTAB = saved;
});

test("unset: /etc/fstab; set: its value, read again at each use", () => {
  delete process.env.LIBMOUNT_FSTAB;
  expect(defaultFstab()).toBe("/etc/fstab");
  process.env.LIBMOUNT_FSTAB = "/run/a.fstab";
  expect(defaultFstab()).toBe("/run/a.fstab");
  process.env.LIBMOUNT_FSTAB = "/run/b.fstab";
  expect(defaultFstab()).toBe("/run/b.fstab");
  process.env.LIBMOUNT_FSTAB = "";
  expect(defaultFstab()).toBe("");
});

test("messages name the default fstab when no path is given, else the paths given (which win over the variable)", () => {
  process.env.LIBMOUNT_FSTAB = "/run/env.fstab";
  expect(fstabName(undefined)).toBe("/run/env.fstab");
  expect(fstabName([])).toBe("/run/env.fstab");
  expect(fstabName("/srv/t.fstab")).toBe("/srv/t.fstab");
  expect(fstabName(["/srv/a.fstab", "/srv/b.fstab"])).toBe("/srv/a.fstab, /srv/b.fstab");
  // -T "" is a path given: itself, not the default
  expect(fstabName("")).toBe('""');
  process.env.LIBMOUNT_FSTAB = "";
  expect(fstabName(undefined)).toBe('""');
  delete process.env.LIBMOUNT_FSTAB;
  expect(fstabName(undefined)).toBe("/etc/fstab");
});
