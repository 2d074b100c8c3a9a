// The --json and exit-code contract of every command (README.md, "--json and exit codes"): run
// each command through its success and each way it fails, with --json and without. Under
// --json stdout is exactly one JSON document (util-linux's for findmnt and loop list, else
// mountkit's {ok, exitCode, ...}) or, where findmnt prints nothing, empty; a failure is the
// document's `error`, whose fields are the same everywhere and whose message (and hint) is the
// stderr line; stderr and the exit code are the text mode's. Root, private mount namespace; the
// built binary.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { constants as osConstants } from "node:os";
import { oneLine } from "../../src/cli/output.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { BINARY, runCli, type CliResult } from "../support/cli.ts";
import { detachLoopDevicesOf } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace, scratch } from "../support/root.ts";

let s: ReturnType<typeof scratch>;
let f: Fixtures;

beforeAll(() => {
  requireRootNamespace();
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm test builds it (npm run build)`);
  s = scratch("json-contract");
  f = fixtures(s.dir);
});

afterAll(() => {
  try {
    if (f) {
      cleanState();
      detachLoopDevicesOf(f.image);
    }
  } finally {
    s?.dispose();
  }
});

interface Fixtures {
  dir: string;
  /** empty directories to mount on */
  t: string;
  u1: string;
  u2: string;
  src: string;
  missing: string;
  /** apply's root, and lists: one tmpfs; a tmpfs then a bind of a missing source; not JSON */
  root: string;
  good: string;
  bad: string;
  garbage: string;
  /** line 1 a tmpfs on u1, line 2 a bind of a missing source on u2; a line that does not parse */
  fstab: string;
  badFstab: string;
  /** mount.mkjson, which says its argv on stdout; "fail" in its options: exit 5; "hold": a writer keeps its mount busy */
  helpers: string;
  /** umount.tmpfs, which says its argv on stdout and exits 7 */
  umountHelpers: string;
  image: string;
  /** cleanup's temp location */
  temp: string;
  /** a link named mount */
  mountLink: string;
  /** the loop device a case attached in its setup */
  device?: string;
}

function fixtures(dir: string): Fixtures {
  const p = (...parts: string[]) => join(dir, ...parts);
  for (const d of ["t", "u1", "u2", "src", "root/a", "root/b", "helpers", "umount-helpers", "tmp"]) mkdirSync(p(d), { recursive: true });
  const list = (entries: object[]) => JSON.stringify(entries);
  writeFileSync(p("good.json"), list([{ type: "tmpfs", source: "json-a", target: "/a", options: [] }]));
  writeFileSync(p("bad.json"), list([{ type: "tmpfs", source: "json-a", target: "/a", options: [] }, { type: "bind", source: p("missing"), target: "/b", options: ["rbind"] }]));
  writeFileSync(p("garbage.json"), "not json\n");
  writeFileSync(p("fstab"), `json-u1 ${p("u1")} tmpfs defaults 0 0\n${p("missing")} ${p("u2")} none bind 0 0\n`);
  writeFileSync(p("bad.fstab"), "just two\n");
  const script = (path: string, lines: string[]) => {
    writeFileSync(path, ["#!/bin/sh", ...lines, ""].join("\n"));
    chmodSync(path, 0o755);
  };
  script(p("helpers", "mount.mkjson"), [
    'echo "mount.mkjson says $*"',
    'case "$*" in *fail*) exit 5;; esac',
    `${BINARY} mount -i -t tmpfs mkjson "$2" || exit 1`,
    // a file open for writing on the new mount: mount_setattr(ro) and umount2 both say EBUSY
    'case "$*" in *hold*) exec 3>>"$2/busy"; sleep 30 >&3 2>/dev/null </dev/null & echo $! > "$2.holder"; exec 3>&-;; esac',
    "exit 0",
  ]);
  script(p("umount-helpers", "umount.tmpfs"), ['echo "umount.tmpfs says $*"', "exit 7"]);
  writeFileSync(p("img"), "");
  truncateSync(p("img"), 4 << 20);
  symlinkSync(BINARY, p("mount"));
  return {
    dir,
    t: p("t"),
    u1: p("u1"),
    u2: p("u2"),
    src: p("src"),
    missing: p("missing"),
    root: p("root"),
    good: p("good.json"),
    bad: p("bad.json"),
    garbage: p("garbage.json"),
    fstab: p("fstab"),
    badFstab: p("bad.fstab"),
    helpers: p("helpers"),
    umountHelpers: p("umount-helpers"),
    image: p("img"),
    temp: p("tmp"),
    mountLink: p("mount"),
  };
}

/** Back to the fixtures as made: holders stopped, every mount of a case unmounted, the temp location empty. */
function cleanState(): void {
  for (const target of [f.t, f.u1, f.u2]) {
    const holder = `${target}.holder`;
    if (!existsSync(holder)) continue;
    try {
      process.kill(Number(readFileSync(holder, "utf8").trim()));
    } catch {
      // gone already
    }
    rmSync(holder);
  }
  for (const target of [f.t, f.u1, f.u2, join(f.root, "a"), join(f.root, "b")]) unmountAll(target);
  expect(mountsUnder(f.dir)).toEqual([]);
  for (const entry of readdirSync(f.temp)) rmSync(join(f.temp, entry), { recursive: true }); // mounts under it: none (checked above)
}

type Stdout =
  /** mountkit's document: {ok, exitCode, ...}, `error` when it failed */
  | "result"
  /** mountkit's document for a report (bench, findmnt --verify): what failed is in its own fields */
  | "report"
  /** util-linux's documents */
  | "findmnt"
  | "losetup"
  /** nothing, as findmnt -J prints when it finds nothing */
  | "empty";

interface Case {
  name: string;
  /** the command line, --json in it */
  args: () => string[];
  /** the same in text mode (default: args without --json); null: none is the same */
  textArgs?: (() => string[]) | null;
  bin?: () => string;
  code: number;
  stdout: Stdout;
  /** what the document's error (or, for "report", the whole document) must match; a function when it names a fixture */
  expected?: Record<string, unknown> | (() => Record<string, unknown>);
  /** a helper's stdout line: on stderr under --json, on stdout in text mode */
  helperSays?: () => string;
  /** the command's own fields (the document, --json run) */
  fields?: (doc: Record<string, unknown>) => void;
  setup?: () => void;
  /** after each run, before cleanState */
  teardown?: () => void;
}

const KINDS = ["plan", "syscall", "helper", "batch", "mount", "internal"];
const KIND_FIELDS: Record<string, string[]> = {
  // a plan error that a syscall found (an input file that cannot be read) carries that call's fields
  plan: ["syscall", "errno", "errnoName", "paths", "details"],
  internal: [],
  syscall: ["syscall", "errno", "errnoName", "paths", "details"],
  helper: ["helper", "argv", "exitStatus", "output"],
  batch: ["succeeded", "errors"],
  mount: ["cause"],
};

/** The error object, the same fields everywhere: kind, message, hint?, cleanupErrors?, and its kind's own. */
function expectErrorObject(e: Record<string, unknown>): void {
  expect(KINDS).toContain(e.kind as string);
  const kind = e.kind as string;
  expect(Object.keys(e).filter((k) => !["kind", "message", "hint", "cleanupErrors", ...KIND_FIELDS[kind]!].includes(k))).toEqual([]);
  expect(typeof e.message).toBe("string");
  if ("hint" in e) expect(typeof e.hint).toBe("string");
  for (const c of (e.cleanupErrors as unknown[] | undefined) ?? []) if (typeof c !== "string") expectErrorObject(c as Record<string, unknown>);
  if (kind === "syscall" || (kind === "plan" && "syscall" in e)) {
    expect([typeof e.syscall, typeof e.errno, e.errnoName]).toEqual(["string", "number", expect.stringMatching(/^E[A-Z0-9]+$/)]);
    expect((e.paths as unknown[]).every((p) => typeof p === "string")).toBe(true);
  }
  if (kind === "helper") {
    expect([typeof e.helper, Array.isArray(e.argv), typeof e.output]).toEqual(["string", true, "string"]);
    expect(e.exitStatus === null || typeof e.exitStatus === "number").toBe(true);
  }
  if (kind === "batch") {
    expect(typeof e.succeeded).toBe("number");
    expect((e.errors as unknown[]).length).toBeGreaterThan(0);
    for (const each of e.errors as Record<string, unknown>[]) expectErrorObject(each);
  }
  if (kind === "mount") expectErrorObject(e.cause as Record<string, unknown>);
}

/** A failure's one stderr line: "mountkit: MESSAGE (HINT)" (or "mountkit: warning: ..."); a batch's, one per failure. */
function expectSaidOnStderr(e: Record<string, unknown>, stderr: string): void {
  if (e.kind === "batch") {
    for (const each of e.errors as Record<string, unknown>[]) expectSaidOnStderr(each, stderr);
    return;
  }
  const hint = typeof e.hint === "string" ? ` (${oneLine(e.hint)})` : "";
  const line = `${oneLine(e.message as string)}${hint}`;
  expect(stderr.includes(`mountkit: ${line}`) || stderr.includes(`mountkit: warning: ${line}`)).toBe(true);
}

/** Check a --json run against its case; the document, when there is one. */
function expectJsonRun(c: Case, r: CliResult): Record<string, unknown> | undefined {
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: c.code, stderr: expect.any(String) });
  if (c.stdout === "empty") {
    expect(r.stdout).toBe("");
    return undefined;
  }
  const doc = JSON.parse(r.stdout) as Record<string, unknown>; // the whole of stdout: one document
  expect(r.stdout.endsWith("}\n")).toBe(true);
  if (c.stdout === "findmnt") expect(Array.isArray(doc.filesystems)).toBe(true);
  if (c.stdout === "losetup") expect(Array.isArray(doc.loopdevices)).toBe(true);
  if (c.stdout === "findmnt" || c.stdout === "losetup") return doc;
  expect([doc.ok, doc.exitCode]).toEqual([c.code === 0, c.code]);
  // each operand's or entry's error, and cleanup's warnings, are error objects too
  const items = (field: unknown) => (Array.isArray(field) ? (field.filter((x) => typeof x === "object") as Record<string, unknown>[]) : []);
  for (const item of [...items(doc.results), ...items(doc.entries)]) if (item.error !== undefined) expectErrorObject(item.error as Record<string, unknown>);
  for (const warning of items(doc.warnings)) expectErrorObject(warning);
  const expected = typeof c.expected === "function" ? c.expected() : c.expected;
  if (c.stdout === "report") {
    if (expected) expect(structuredClone(doc)).toMatchObject(expected);
    return doc;
  }
  if (c.code === 0) {
    expect(doc.error).toBeUndefined();
    return doc;
  }
  const error = doc.error as Record<string, unknown>;
  expectErrorObject(error);
  expectSaidOnStderr(error, r.stderr);
  if (expected) expect(structuredClone(error)).toMatchObject(expected); // (toMatchObject leaves its matchers in what it was given)
  return doc;
}

function run(c: Case, args: () => string[]): CliResult {
  c.setup?.();
  try {
    return runCli(args(), c.bin ? { bin: c.bin() } : {});
  } finally {
    c.teardown?.();
    cleanState();
  }
}

/** The case with --json, then (when there is one) in text mode: the same exit code and stderr. */
function check(c: Case): void {
  const json = run(c, c.args);
  const doc = expectJsonRun(c, json);
  if (c.fields) c.fields(doc!);
  if (c.textArgs === null) return;
  const text = run(c, c.textArgs ?? (() => c.args().filter((a) => a !== "--json")));
  expect(text.code).toBe(json.code);
  if (c.helperSays) {
    const line = `${c.helperSays()}\n`;
    expect(json.stderr).toContain(line);
    expect(text.stdout).toContain(line);
    expect(json.stderr.replace(line, "")).toBe(text.stderr);
  } else {
    expect(json.stderr).toBe(text.stderr);
  }
}

const mounted = (target: string) => () => expect(runCli(["mount", "-t", "tmpfs", "json-setup", target]).code).toBe(0);
const syscallError = (syscall: string, errnoName: string) => ({ kind: "syscall", syscall, errnoName });
const usage = (message: string | RegExp) => ({ kind: "plan", message: typeof message === "string" ? message : expect.stringMatching(message) });
/** bad input a syscall found: a plan error (exit 1) carrying that call's fields */
const unreadable = (message: string, path: string) => ({ ...usage(message), syscall: "open(2)", errno: 2, errnoName: "ENOENT", paths: [path] });

/**
 * mount -a's entries, real run, -F and dry run alike, and umount -a's results: each fstab line
 * named by `line` (its number), as `ignored` names it; one -T file: no `file` (cli-batch.test.ts
 * has several files, each entry's `file`).
 */
const fstabLines = (field: "entries" | "results", lines: number[]) => (doc: Record<string, unknown>) => {
  const items = doc[field] as Record<string, unknown>[];
  expect(items.map((e) => [e.line, "index" in e, "file" in e])).toEqual(lines.map((line) => [line, false, false]));
};

const CASES: Record<string, Case[]> = {
  mount: [
    { name: "success", args: () => ["mount", "--json", "-t", "tmpfs", "json-t", f.t], code: 0, stdout: "result" },
    { name: "--json after the operands", args: () => ["mount", "-t", "tmpfs", "json-t", f.t, "--json"], code: 0, stdout: "result" },
    { name: "dry run", args: () => ["mount", "-n", "--json", "-t", "tmpfs", "json-t", f.t], code: 0, stdout: "result" },
    { name: "unknown flag", args: () => ["mount", "--json", "--bogus", "x", f.t], code: 1, stdout: "result", expected: usage("mount: unknown option --bogus") },
    { name: "unknown flag, --json after it", args: () => ["mount", "-Z", "x", f.t, "--json"], code: 1, stdout: "result", expected: usage("mount: unknown option -Z") },
    { name: "--json given a value", args: () => ["mount", "--json=1", "-t", "tmpfs", "x", f.t], textArgs: null, code: 1, stdout: "result", expected: usage("mount: option --json takes no value") },
    { name: "missing operands (the list of mounts has no --json form)", args: () => ["mount", "--json"], textArgs: null, code: 1, stdout: "result", expected: usage("mount: the list of mounts has no --json form") },
    { name: "a flag missing its value", args: () => ["mount", "--json", "--source", "x", "--target"], code: 1, stdout: "result", expected: usage("mount: option --target needs a value") },
    { name: "too many operands", args: () => ["mount", "--json", "-t", "tmpfs", "a", "b", "c"], code: 1, stdout: "result", expected: usage("mount: too many operands: c") },
    { name: "--json after -- is an operand", args: () => ["mount", "-t", "tmpfs", "--", "x", f.t, "--json"], textArgs: () => ["mount", "-t", "tmpfs", "--", "x", f.t, "--json"], code: 1, stdout: "empty" },
    { name: "an option refused before any syscall", args: () => ["mount", "--json", "-t", "tmpfs", "-o", "verity.hashdevice=/x", "x", f.t], code: 1, stdout: "result", expected: usage(/verity.hashdevice=\/x: mountkit does not set up dm-verity/) },
    { name: "an option the kernel refuses", args: () => ["mount", "--json", "-t", "tmpfs", "-o", "size=abc", "x", f.t], code: 32, stdout: "result", expected: syscallError("mount(2)", "EINVAL") },
    { name: "a missing source", args: () => ["mount", "--json", "--bind", f.missing, f.t], code: 32, stdout: "result", expected: () => ({ ...syscallError("mount(2)", "ENOENT"), paths: [f.missing, f.t] }) },
    { name: "an unknown type", args: () => ["mount", "--json", "-t", "jsonnosuchfs", "x", f.t], code: 32, stdout: "result", expected: syscallError("mount(2)", "ENODEV") },
    {
      name: "a mount.TYPE helper that fails: its status; its stdout on stderr",
      args: () => ["mount", "--json", "-t", "mkjson", "-o", "fail", "--helper-dir", f.helpers, "x", f.t],
      helperSays: () => `mount.mkjson says x ${f.t} -o rw,fail`,
      code: 5,
      stdout: "result",
      expected: { kind: "helper", helper: "mount.mkjson", exitStatus: 5 },
    },
    {
      name: "a mount.TYPE helper that mounts: its stdout on stderr",
      args: () => ["mount", "--json", "-t", "mkjson", "--helper-dir", f.helpers, "x", f.t],
      helperSays: () => `mount.mkjson says x ${f.t} -o rw`,
      code: 0,
      stdout: "result",
    },
    { name: "through a link named mount", bin: () => f.mountLink, args: () => ["--json", "--bogus"], code: 1, stdout: "result", expected: usage("mount: unknown option --bogus") },
  ],
  "mount -a": [
    { name: "one line fails: 64", args: () => ["mount", "--json", "-a", "-T", f.fstab], code: 64, stdout: "result", expected: { kind: "batch", succeeded: 1 }, fields: fstabLines("entries", [1, 2]) },
    { name: "one line fails, -F: 64", args: () => ["mount", "--json", "-a", "-F", "-T", f.fstab], code: 64, stdout: "result", expected: { kind: "batch", succeeded: 1 }, fields: fstabLines("entries", [1, 2]) },
    { name: "dry run", args: () => ["mount", "--json", "-a", "-n", "-T", f.fstab], code: 0, stdout: "result", fields: fstabLines("entries", [1, 2]) },
    { name: "an fstab line that does not parse", args: () => ["mount", "--json", "-a", "-T", f.badFstab], code: 1, stdout: "result", expected: { kind: "plan", hint: "nothing was mounted" } },
    { name: "an fstab that cannot be read", args: () => ["mount", "--json", "-a", "-T", f.missing], code: 1, stdout: "result", expected: () => unreadable(`read ${f.missing}: open(2): ENOENT (No such file or directory)`, f.missing) },
    { name: "an operand", args: () => ["mount", "--json", "-a", "x"], code: 1, stdout: "result", expected: usage("mount -a: takes no operands, got x") },
  ],
  umount: [
    { name: "-a: one line mounted, one not", setup: () => mounted(f.u1)(), args: () => ["umount", "--json", "-a", "-T", f.fstab], code: 0, stdout: "result", fields: fstabLines("results", [2, 1]) },
    { name: "one operand unmounted", setup: () => mounted(f.u1)(), args: () => ["umount", "--json", f.u1], code: 0, stdout: "result" },
    { name: "not mounted", args: () => ["umount", "--json", f.u1], code: 32, stdout: "result", expected: { ...syscallError("umount2(2)", "EINVAL"), hint: "not mounted" } },
    { name: "some operands unmounted, one not: 64", setup: () => mounted(f.u1)(), args: () => ["umount", "--json", f.u1, f.u2], code: 64, stdout: "result", expected: { kind: "batch", succeeded: 1, errors: [syscallError("umount2(2)", "EINVAL")] } },
    { name: "two not mounted: a batch error of both", args: () => ["umount", "--json", f.u1, f.u2], code: 32, stdout: "result", expected: { kind: "batch", succeeded: 0 } },
    { name: "-R of what is no mount point", args: () => ["umount", "--json", "-R", f.u1], code: 1, stdout: "result", expected: () => usage(`unmount ${f.u1}: not mounted`) },
    { name: "missing operand", args: () => ["umount", "--json"], code: 1, stdout: "result", expected: usage("umount: missing TARGET operand") },
    { name: "unknown flag", args: () => ["umount", "--bogus", "--json", f.u1], code: 1, stdout: "result", expected: usage("umount: unknown option --bogus") },
    {
      name: "an umount.TYPE helper that fails: its status; its stdout on stderr",
      setup: () => mounted(f.u1)(),
      args: () => ["umount", "--json", "--helper-dir", f.umountHelpers, f.u1],
      helperSays: () => `umount.tmpfs says ${f.u1}`,
      code: 7,
      stdout: "result",
      expected: { kind: "helper", helper: "umount.tmpfs", exitStatus: 7 },
    },
  ],
  apply: [
    { name: "success", args: () => ["apply", "--json", "--root", f.root, f.good], code: 0, stdout: "result", fields: (doc) => expect(doc).toMatchObject({ format: "containerd", root: f.root }) },
    { name: "dry run: the root as the run names it", args: () => ["apply", "--json", "-n", "--root", f.root, f.bad], code: 0, stdout: "result", fields: (doc) => expect(doc).toMatchObject({ dryRun: true, format: "containerd", root: f.root }) },
    { name: "an entry fails: all rolled back, 32", args: () => ["apply", "--json", "--root", f.root, f.bad], code: 32, stdout: "result", expected: syscallError("mount(2)", "ENOENT") },
    { name: "--keep-going, an entry fails: 64", args: () => ["apply", "--keep-going", "--root", f.root, f.bad, "--json"], code: 64, stdout: "result", expected: { kind: "batch", succeeded: 1 } },
    { name: "not JSON", args: () => ["apply", "--json", "--root", f.root, f.garbage], code: 1, stdout: "result", expected: usage(/invalid JSON at line 1, column 1/) },
    { name: "a missing FILE", args: () => ["apply", "--json", f.missing], code: 1, stdout: "result", expected: () => unreadable(`read ${f.missing}: open(2): ENOENT (No such file or directory)`, f.missing) },
    { name: "missing operand", args: () => ["apply", "--json"], code: 1, stdout: "result", expected: usage("apply: expected one FILE (or - for stdin), got 0") },
    { name: "unknown flag", args: () => ["apply", "--json", "--bogus", f.good], code: 1, stdout: "result", expected: usage("apply: unknown option --bogus") },
  ],
  "with-mounts (no --json: a refused command line with one is answered in JSON)": [
    { name: "--json is no with-mounts option", args: () => ["with-mounts", "--json", f.good, "--", "true"], textArgs: null, code: 1, stdout: "result", expected: usage("with-mounts: unknown option --json") },
    { name: "missing COMMAND", args: () => ["with-mounts", f.good], code: 1, stdout: "empty" },
  ],
  findmnt: [
    { name: "the mount holding a path", args: () => ["findmnt", "--json", f.dir], code: 0, stdout: "findmnt" },
    { name: "-J in a cluster", args: () => ["findmnt", "-Jno", "TARGET", f.dir], textArgs: () => ["findmnt", "-no", "TARGET", f.dir], code: 0, stdout: "findmnt" },
    { name: "nothing found: nothing printed, as findmnt", args: () => ["findmnt", "--json", "-M", f.u1], code: 1, stdout: "empty" },
    { name: "unknown flag, -J in a cluster", args: () => ["findmnt", "-Jb", "--bogus"], textArgs: () => ["findmnt", "-b", "--bogus"], code: 1, stdout: "result", expected: usage("findmnt: unknown option --bogus") },
    { name: "unknown column", args: () => ["findmnt", "--json", "-o", "BOGUS"], code: 1, stdout: "result", expected: usage(/^findmnt: unknown column: BOGUS/) },
    { name: "exclusive flags", args: () => ["findmnt", "-J", "-r"], textArgs: null, code: 1, stdout: "result", expected: usage(/^findmnt: mutually exclusive arguments/) },
    { name: "a saved table that cannot be read", args: () => ["findmnt", "--json", "--mountinfo", f.missing], code: 1, stdout: "result", expected: () => unreadable(`findmnt: read ${f.missing}: open(2): ENOENT (No such file or directory)`, f.missing) },
    { name: "SOURCE TARGET that finds nothing: nothing printed, as findmnt", args: () => ["findmnt", f.u1, "--json", f.u2], code: 1, stdout: "empty" },
    { name: "three operands", args: () => ["findmnt", f.u1, "--json", f.u2, f.u1], code: 1, stdout: "result", expected: usage("findmnt: give at most two operands: a SOURCE and a TARGET, or one PATH") },
    { name: "an operand with -S", args: () => ["findmnt", "-S", "tmpfs", "--json", f.u2], code: 1, stdout: "result", expected: usage(/^findmnt: options --target and --source can't be used together/) },
    { name: "--verify finds an error: a report, exit 1", args: () => ["findmnt", "--verify", "--json", "-F", f.fstab], code: 1, stdout: "report", expected: { errors: 1, parseErrors: [] } },
    { name: "--verify of an fstab that cannot be read", args: () => ["findmnt", "--verify", "--json", "-F", f.missing], code: 1, stdout: "result", expected: () => unreadable(`read ${f.missing}: open(2): ENOENT (No such file or directory)`, f.missing) },
  ],
  loop: [
    { name: "attach", args: () => ["loop", "attach", "--json", f.image], teardown: () => detachLoopDevicesOf(f.image), code: 0, stdout: "result" },
    { name: "attach a missing file", args: () => ["loop", "attach", "--json", f.missing], code: 32, stdout: "result", expected: syscallError("open(2)", "ENOENT") },
    { name: "attach without FILE", args: () => ["loop", "attach", "--json"], code: 1, stdout: "result", expected: usage(/^loop attach: give FILE, or DEV FILE/) },
    { name: "attach --autoclear", args: () => ["loop", "attach", "--json", "--autoclear", f.image], code: 1, stdout: "result", expected: usage("loop attach: --autoclear would detach the device at once") },
    { name: "attach --offset that is no size", args: () => ["loop", "attach", "--offset", "abc", f.image, "--json"], code: 1, stdout: "result", expected: usage(/^offset: "abc" is not a size/) },
    {
      name: "detach one attached and one missing: 64",
      setup: () => void (f.device = runCli(["loop", "attach", f.image]).stdout.trim()),
      args: () => ["loop", "detach", "--json", f.device ?? "/dev/loop-none", "/dev/loop999999"],
      teardown: () => detachLoopDevicesOf(f.image),
      textArgs: () => ["loop", "detach", f.device ?? "/dev/loop-none", "/dev/loop999999"],
      code: 64,
      stdout: "result",
      expected: { kind: "batch", succeeded: 1, errors: [syscallError("open(2)", "ENOENT")] },
    },
    { name: "detach what is no loop device", args: () => ["loop", "detach", "--json", "/dev/null"], code: 32, stdout: "result", expected: { kind: "mount", cause: { kind: "plan" } } },
    { name: "detach without DEV", args: () => ["loop", "detach", "--json"], code: 1, stdout: "result", expected: usage("loop detach: missing DEV operand") },
    {
      name: "set-capacity of one attached and one missing: 64",
      setup: () => void (f.device = runCli(["loop", "attach", f.image]).stdout.trim()),
      args: () => ["loop", "set-capacity", "--json", f.device ?? "/dev/loop-none", "/dev/loop999999"],
      teardown: () => detachLoopDevicesOf(f.image),
      textArgs: () => ["loop", "set-capacity", f.device ?? "/dev/loop-none", "/dev/loop999999"],
      code: 64,
      stdout: "result",
      expected: { kind: "batch", succeeded: 1, errors: [syscallError("open(2)", "ENOENT")] },
    },
    { name: "set-capacity without DEV", args: () => ["loop", "set-capacity", "--json"], code: 1, stdout: "result", expected: usage("loop set-capacity: missing DEV operand") },
    { name: "attach -e (cryptoloop, gone)", args: () => ["loop", "attach", "--json", "-e", "aes", f.image], code: 1, stdout: "result", expected: usage(/^loop attach: -e\/-E\/--encryption: loop device encryption is not supported/) },
    { name: "list", args: () => ["loop", "list", "--json", f.image], code: 0, stdout: "losetup" },
    { name: "list with two FILEs", args: () => ["loop", "list", "--json", f.image, f.image], code: 1, stdout: "result", expected: usage(/^loop list: give at most one FILE or DEV/) },
    { name: "--json before the subcommand", args: () => ["loop", "--json", "list"], textArgs: null, code: 1, stdout: "result", expected: { kind: "plan", hint: expect.stringMatching(/^options go after attach, detach, set-capacity or list/) } },
    { name: "an unknown subcommand", args: () => ["loop", "frob", "--json"], code: 1, stdout: "result", expected: usage('loop: expected attach, detach, set-capacity or list, got "frob"') },
  ],
  features: [
    { name: "success", args: () => ["features", "--json"], code: 0, stdout: "result" },
    { name: "an operand", args: () => ["features", "--json", "extra"], code: 1, stdout: "result", expected: usage("features: takes no operands, got extra") },
    { name: "unknown flag", args: () => ["features", "--bogus", "--json"], code: 1, stdout: "result", expected: usage("features: unknown option --bogus") },
  ],
  bench: [
    { name: "a short run", args: () => ["bench", "--json", "-w", "tmpfs", "-d", "0.05"], code: 0, stdout: "report", expected: { interrupted: null, leftovers: [] } },
    { name: "--list", args: () => ["bench", "--json", "--list"], code: 0, stdout: "result" },
    { name: "a bad --duration", args: () => ["bench", "--json", "--duration", "abc"], code: 1, stdout: "result", expected: usage(/^bench: --duration takes decimal seconds/) },
    { name: "an unknown workload", args: () => ["bench", "--json", "-w", "nosuchworkload"], code: 1, stdout: "result", expected: { kind: "plan" } },
  ],
  cleanup: [
    { name: "nothing to clean", args: () => ["cleanup", "--json", "--temp-dir", f.temp], code: 0, stdout: "result" },
    {
      name: "nothing could be done: 32",
      setup: () => writeFileSync(join(mkdirp(join(f.temp, "mountkit-mount-1-aaaaaa")), "keep"), "data"),
      args: () => ["cleanup", "--json", "--include-running", "--temp-dir", f.temp],
      code: 32,
      stdout: "result",
      expected: syscallError("rmdir(2)", "ENOTEMPTY"),
    },
    {
      name: "some done, some left: 64 (-v: its log on stderr either way)",
      setup: () => {
        writeFileSync(join(mkdirp(join(f.temp, "mountkit-mount-1-aaaaaa")), "keep"), "data");
        mkdirp(join(f.temp, "mountkit-mount-1-bbbbbb"));
        mkdirp(join(f.temp, "mountkit-mount-1-cccccc/x"));
        writeFileSync(join(f.temp, "mountkit-mount-1-cccccc/x/keep"), "data");
      },
      args: () => ["cleanup", "--json", "-v", "--include-running", "--temp-dir", f.temp],
      code: 64,
      stdout: "result",
      expected: { kind: "batch", succeeded: 1 },
    },
    { name: "an operand", args: () => ["cleanup", "--json", "extra"], code: 1, stdout: "result", expected: usage("cleanup: takes no operands, got extra") },
  ],
  "mountkit itself": [
    { name: "--json before the command", args: () => ["--json", "mount", "x", f.t], textArgs: null, code: 1, stdout: "result", expected: { ...usage('unknown command "--json"'), hint: expect.stringMatching(/^options go after the command/) } },
    { name: "an unknown command", args: () => ["frobnicate", "--json"], code: 1, stdout: "result", expected: usage('unknown command "frobnicate"') },
  ],
};

function mkdirp(dir: string): string {
  mkdirSync(dir, { recursive: true });
  return dir;
}

for (const [command, cases] of Object.entries(CASES)) {
  describe(command, () => {
    for (const c of cases) test(c.name, () => check(c));
  });
}

/** Run the binary without waiting; stdout and stderr read to their end. */
/** The run's result; a death by a signal as a shell reports it (128+N), with the signal's name. */
async function runAsync(args: string[], onStart?: (proc: Bun.Subprocess) => void): Promise<CliResult & { signal: string | null }> {
  const proc = Bun.spawn([BINARY, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, MOUNTKIT_STRATEGY: "" } });
  onStart?.(proc);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const signal = proc.signalCode === null ? null : String(proc.signalCode);
  const code = proc.exitCode ?? 128 + (osConstants.signals as Record<string, number>)[signal!]!;
  return { code, stdout, stderr, signal };
}

describe("failures that take time: --json and text mode run side by side", () => {
  test("a rollback that fails too: a writer keeps the helper's mount busy, so mount_setattr(ro) and the umount2 undoing it say EBUSY (exit 32, the undo's error in cleanupErrors)", async () => {
    const c: Case = { name: "rollback", args: () => [], code: 32, stdout: "result", expected: { ...syscallError("mount_setattr(2)", "EBUSY"), cleanupErrors: [syscallError("umount2(2)", "EBUSY")] } };
    const line = (target: string) => ["mount", "-t", "mkjson", "-o", "hold,rro", "--helper-dir", f.helpers, "x", target];
    try {
      // umount2 is retried on EBUSY for 2.5 s: both runs at once, on two targets
      const [json, text] = await Promise.all([runAsync([...line(f.u1), "--json"]), runAsync(line(f.u2))]);
      const doc = expectJsonRun(c, json)!;
      // what the rollback could not undo is still there, and named
      expect(mountsUnder(f.u1).map((m) => m.source)).toEqual(["mkjson"]);
      expect((doc.error as { cleanupErrors: { paths: string[] }[] }).cleanupErrors[0]!.paths).toEqual([f.u1]);
      expect(text.code).toBe(json.code);
      expect(text.stdout).toBe(`mount.mkjson says x ${f.u2} -o rw,hold\n`);
      expect(json.stderr.replace(`mount.mkjson says x ${f.u1} -o rw,hold\n`, "")).toBe(text.stderr.replaceAll(f.u2, f.u1));
    } finally {
      cleanState();
    }
  });

  test("bench stopped by SIGINT: one document, ok false, exitCode 130, and it dies of SIGINT in both modes (a shell's 130)", async () => {
    // once it is in its own mount namespace (its signal handlers are set before that), SIGINT
    const ownNamespace = readlinkSync("/proc/self/ns/mnt");
    const stopLater = (proc: Bun.Subprocess) => {
      const poll = setInterval(() => {
        let ns: string | undefined;
        try {
          ns = readlinkSync(`/proc/${proc.pid}/ns/mnt`);
        } catch {
          ns = undefined; // not started yet, or gone
        }
        if (ns === undefined || ns === ownNamespace) return;
        clearInterval(poll);
        proc.kill("SIGINT");
      }, 10);
      void proc.exited.then(() => clearInterval(poll));
    };
    const args = ["bench", "-w", "tmpfs", "-d", "5"];
    const [json, text] = await Promise.all([runAsync([...args, "--json"], stopLater), runAsync(args, stopLater)]);
    const doc = expectJsonRun({ name: "bench", args: () => [], code: 130, stdout: "report" }, json)!;
    expect(doc).toMatchObject({ interrupted: "SIGINT", leftovers: [] });
    expect([json.signal, text.signal]).toEqual(["SIGINT", "SIGINT"]);
    expect([text.code, text.stderr]).toEqual([130, json.stderr]);
    expect(json.stderr).toBe("mountkit: bench: stopped by SIGINT; everything it mounted was removed\n");
  });
});

describe("a reader that goes away (SIGPIPE, EPIPE): the work is done and the status is the command's", () => {
  /** `BINARY ARGS | READER` in bash with pipefail: the binary's status (its reader's is 0). */
  const piped = (args: string[], reader: string) => {
    const proc = Bun.spawnSync(["bash", "-c", `set -o pipefail; "$0" "$@" | ${reader}`, BINARY, ...args], { env: { ...process.env, MOUNTKIT_STRATEGY: "" } });
    return { code: proc.exitCode, stderr: proc.stderr.toString() };
  };

  test("mount --json | true: mounted, exit 0, nothing on stderr", () => {
    try {
      expect(piped(["mount", "--json", "-t", "tmpfs", "json-pipe", f.t], "true")).toEqual({ code: 0, stderr: "" });
      expect(mountsUnder(f.t).map((m) => m.source)).toEqual(["json-pipe"]);
    } finally {
      cleanState();
    }
  });

  test("apply --json | head -c1: every entry mounted, exit 0", () => {
    try {
      expect(piped(["apply", "--json", "--root", f.root, f.good], "head -c1 >/dev/null")).toEqual({ code: 0, stderr: "" });
      expect(mountsUnder(f.root).map((m) => m.source)).toEqual(["json-a"]);
    } finally {
      cleanState();
    }
  });

  test("findmnt --json | head -c1: exit 0; umount --json of what is not mounted | true: exit 32 and its error line", () => {
    expect(piped(["findmnt", "--json"], "head -c1 >/dev/null")).toEqual({ code: 0, stderr: "" });
    expect(piped(["umount", "--json", f.u1], "true")).toEqual({ code: 32, stderr: `mountkit: unmount ${f.u1}: umount2(2): EINVAL (Invalid argument) (not mounted)\n` });
  });
});
