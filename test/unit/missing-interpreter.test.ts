// What a file needs to run, read from its head: the #! line's interpreter, an ELF file's loader.
import { expect, test } from "bun:test";
import { openSync, readSync, closeSync } from "node:fs";
import { neededInterpreter } from "../../src/cli/commands/missing-interpreter.ts";

const text = (s: string) => new TextEncoder().encode(s);

test("#!: the first word after it, spaces allowed before it", () => {
  expect(neededInterpreter(text("#!/bin/sh -e\necho hi\n"))?.path).toBe("/bin/sh");
  expect(neededInterpreter(text("#! /usr/bin/env python3\n"))?.path).toBe("/usr/bin/env");
  expect(neededInterpreter(text("#!/bin/bash"))?.path).toBe("/bin/bash"); // no newline
  expect(neededInterpreter(text("#!\n"))).toBeUndefined();
});

test("neither #! nor ELF: none named (execvp's /bin/sh runs it)", () => {
  expect(neededInterpreter(text("echo hi\n"))).toBeUndefined();
  expect(neededInterpreter(new Uint8Array(0))).toBeUndefined();
  expect(neededInterpreter(text("\x7fELF"))).toBeUndefined(); // too short for a header
});

test("ELF: PT_INTERP of the running (dynamically linked) runtime", () => {
  const fd = openSync(process.execPath, "r");
  const head = new Uint8Array(4096);
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const expected = process.arch === "x64" ? "/lib64/ld-linux-x86-64.so.2" : expect.stringMatching(/^\/lib.*ld-linux/);
  expect(neededInterpreter(head)).toEqual({ path: expected, what: "its dynamic linker (ELF interpreter)" });
});
