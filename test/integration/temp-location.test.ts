// The temp mount location: $XDG_RUNTIME_DIR, else the system temp dir, unless set.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newTempPath, resetTempMountLocation, setTempMountLocation, tempMountLocation } from "../../src/ops/temp-location.ts";

const savedXdg = process.env.XDG_RUNTIME_DIR;
afterEach(() => {
  if (savedXdg === undefined) delete process.env.XDG_RUNTIME_DIR;
  else process.env.XDG_RUNTIME_DIR = savedXdg;
  resetTempMountLocation();
});

test("the default follows $XDG_RUNTIME_DIR, else the system temp dir", () => {
  process.env.XDG_RUNTIME_DIR = "/run/user/4242";
  expect(tempMountLocation()).toBe("/run/user/4242");
  process.env.XDG_RUNTIME_DIR = "";
  expect(tempMountLocation()).toBe(tmpdir());
  delete process.env.XDG_RUNTIME_DIR;
  expect(tempMountLocation()).toBe(tmpdir());
});

test("set creates the dir 0700 and keeps its canonical path; it wins over the environment", () => {
  const base = mkdtempSync(join(tmpdir(), "mountkit-test-temploc-"));
  try {
    symlinkSync(base, `${base}-link`);
    setTempMountLocation(`${base}-link/a/b`);
    expect(tempMountLocation()).toBe(`${base}/a/b`);
    expect(statSync(`${base}/a/b`).mode & 0o777).toBe(0o700);
    process.env.XDG_RUNTIME_DIR = "/elsewhere";
    expect(tempMountLocation()).toBe(`${base}/a/b`);
    resetTempMountLocation();
    expect(tempMountLocation()).toBe("/elsewhere");
  } finally {
    rmSync(`${base}-link`, { force: true });
    rmSync(base, { recursive: true, force: true });
  }
});

test("newTempPath: a fresh name under the location each time, not created", () => {
  process.env.XDG_RUNTIME_DIR = "/run/user/7";
  const a = newTempPath("ovl-idmapped");
  const b = newTempPath("ovl-idmapped");
  expect(a).toMatch(new RegExp(`^/run/user/7/ovl-idmapped-${process.pid}-\\d+-[a-z0-9]+$`));
  expect(a).not.toBe(b);
});
