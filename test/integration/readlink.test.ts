// readlink(2) on the seam: a link's target, or the errno (no exception for the common case).
import { afterEach, expect, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { SyscallError } from "../../src/errors.ts";
import { linkReader } from "../../src/ops/resolve.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { READLINK_MAX } from "../../src/sys/readlink.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { scratch } from "../support/root.ts";

let s: ReturnType<typeof scratch>;
afterEach(() => s.dispose());

test("readlink gives a link's target, EINVAL for a directory, ENOENT and ENOTDIR for missing paths", () => {
  s = scratch("readlink");
  mkdirSync(s.path("dir"));
  writeFileSync(s.path("file"), "");
  symlinkSync("../some/where é", s.path("link"));
  expect(libcSyscalls.readlink(s.path("link"))).toBe("../some/where é");
  expect(libcSyscalls.readlink(s.path("dir"))).toBe(Errno.EINVAL);
  expect(libcSyscalls.readlink(s.path("missing"))).toBe(Errno.ENOENT);
  expect(libcSyscalls.readlink(s.path("file", "below"))).toBe(Errno.ENOTDIR);
  const long = "x/".repeat(READLINK_MAX / 2 - 1) + "y"; // 4095 bytes: the longest a link may be
  symlinkSync(long, s.path("long"));
  expect(libcSyscalls.readlink(s.path("long"))).toBe(long);
});

test("rootPath's reader: null for what is not a link, the errno named otherwise", () => {
  s = scratch("reader");
  mkdirSync(s.path("dir"));
  expect(linkReader(libcSyscalls)(s.path("dir"))).toBeNull();
  const sys = injectFaults(libcSyscalls, {});
  const eacces = { ...sys, readlink: () => Errno.EACCES };
  expect(() => linkReader(eacces)(s.path("dir"))).toThrow(SyscallError);
  expect(() => linkReader(eacces)(s.path("dir"))).toThrow(/resolve .*dir: readlink\(2\): EACCES/);
});
