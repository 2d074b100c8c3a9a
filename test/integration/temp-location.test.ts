// The temp mount location: $MOUNTKIT_TMPDIR, else $XDG_RUNTIME_DIR, else $TMPDIR, else /tmp, unless set.
import { afterEach, expect, test } from "bun:test";
import { chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { newTempPath, resetTempMountLocation, setTempMountLocation, tempMountLocation } from "../../src/ops/temp-location.ts";

// the variables the tests change, put back after each
const ENV_NAMES = ["XDG_RUNTIME_DIR", "MOUNTKIT_TMPDIR", "TMPDIR"] as const;
const savedEnv = ENV_NAMES.map((name) => [name, process.env[name]] as const);
afterEach(() => {
  for (const [name, value] of savedEnv) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetTempMountLocation();
});

test("the default is $MOUNTKIT_TMPDIR, else $XDG_RUNTIME_DIR, else $TMPDIR, else /tmp, read once", () => {
  const base = mkdtempSync(join(tmpdir(), "mountkit-test-tempdefault-"));
  try {
    delete process.env.MOUNTKIT_TMPDIR;
    process.env.TMPDIR = `${base}/tmpdir`;
    resetTempMountLocation(); // an earlier test file may have fixed it in this process
    process.env.XDG_RUNTIME_DIR = `${base}/xdg`;
    expect(tempMountLocation()).toBe(`${base}/xdg`);
    process.env.XDG_RUNTIME_DIR = "/elsewhere";
    expect(tempMountLocation()).toBe(`${base}/xdg`); // kept for the process, as containerd does
    resetTempMountLocation();
    process.env.MOUNTKIT_TMPDIR = `${base}/mk`;
    expect(tempMountLocation()).toBe(`${base}/mk`);
    resetTempMountLocation();
    delete process.env.MOUNTKIT_TMPDIR;
    process.env.XDG_RUNTIME_DIR = "";
    // as Go's os.TempDir(), which containerd falls back on
    expect(tempMountLocation()).toBe(`${base}/tmpdir`);
    resetTempMountLocation();
    process.env.TMPDIR = "";
    expect(tempMountLocation()).toBe("/tmp");
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
});

test("$XDG_RUNTIME_DIR of another user (root's shell from su keeps the user's) is passed over for $TMPDIR", () => {
  const base = mkdtempSync(join(tmpdir(), "mountkit-test-tempxdg-"));
  try {
    delete process.env.MOUNTKIT_TMPDIR;
    process.env.TMPDIR = `${base}/tmpdir`;
    mkdirSync(`${base}/user-run`, { mode: 0o700 });
    chownSync(`${base}/user-run`, 65534, 65534);
    process.env.XDG_RUNTIME_DIR = `${base}/user-run`;
    resetTempMountLocation();
    expect(tempMountLocation()).toBe(`${base}/tmpdir`);
    chownSync(`${base}/user-run`, process.geteuid!(), 0);
    resetTempMountLocation();
    expect(tempMountLocation()).toBe(`${base}/user-run`);
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
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

test("newTempPath: a fresh mountkit-<kind> name under the location each time, not created", () => {
  const a = newTempPath("idmap");
  const b = newTempPath("idmap");
  expect(a).toMatch(new RegExp(`^${tempMountLocation()}/mountkit-idmap-${process.pid}-\\d+-[a-z0-9]+$`));
  expect(existsSync(a)).toBe(false);
  expect(a).not.toBe(b);
});
