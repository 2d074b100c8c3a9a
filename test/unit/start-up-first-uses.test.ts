// The checks every mount, umount and apply makes are walked by code unit, not matched by a
// regular expression: the first one a process uses costs about 0.6 ms and 20 page faults of the
// binary's start (docs/bench.md). Each walk is compared here with the pattern it stands for.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { quotePath, quoted } from "../../src/errors.ts";
import { isHelperType } from "../../src/plan/external-helper.ts";
import { isWhiteSpace, whiteSpaceFields } from "../../src/white-space.ts";

/** Strings of the characters that matter to the patterns, and of others. */
function samples(count: number, alphabet: readonly string[]): string[] {
  let seed = 12345;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const out: string[] = ["", " ", "a", "-", ".", "a.b", "\u00a0x", "x\u2028"];
  for (let i = 0; i < count; i++) {
    let s = "";
    const length = Math.floor(next() * 8);
    for (let j = 0; j < length; j++) s += alphabet[Math.floor(next() * alphabet.length)];
    out.push(s);
  }
  return out;
}

const ALPHABET = ["a", "Z", "0", "9", "_", "+", "-", ".", "/", " ", "\t", "\n", "\r", "\v", "\f", "\u00a0", "\u1680", "\u2000", "\u200a", "\u200b", "\u2028", "\u202f", "\u205f", "\u3000", "\ufeff", "\u0085", "\u007f", "\u009f", "\u00a1", '"', "\\", "\u0000", "\u001f", "é", "\udc80", "\ud83d\ude00", ":"];

test("isWhiteSpace is the \\s of a regular expression, for every code unit", () => {
  const differ: number[] = [];
  for (let code = 0; code < 0x10000; code++) if (isWhiteSpace(code) !== /\s/.test(String.fromCharCode(code))) differ.push(code);
  expect(differ).toEqual([]);
  expect(isWhiteSpace(Number.NaN)).toBe(false); // charCodeAt past the end
});

test("whiteSpaceFields is trim().split(/\\s+/), but for text with no field", () => {
  for (const s of samples(3000, ALPHABET)) {
    const expected = s.trim() === "" ? [] : s.trim().split(/\s+/);
    expect([s, whiteSpaceFields(s)]).toEqual([s, expected]);
  }
  expect(whiteSpaceFields("         0          0 4294967295\n")).toEqual(["0", "0", "4294967295"]);
});

test("quotePath quotes what /[\\x00-\\x1f\\x7f-\\x9f\"\\\\]|^\\s|\\s$/ finds, and the empty path", () => {
  // eslint-disable-next-line no-control-regex
  const pattern = /[\x00-\x1f\x7f-\x9f"\\]|^\s|\s$/;
  for (const s of samples(3000, ALPHABET)) {
    const expected = s !== "" && !pattern.test(s) ? s : quoted(s);
    expect([s, quotePath(s)]).toEqual([s, expected]);
  }
});

test("isHelperType is /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$/", () => {
  const pattern = /^[A-Za-z0-9_+-][A-Za-z0-9_.+-]*$/;
  for (const s of samples(3000, ALPHABET)) expect([s, isHelperType(s)]).toEqual([s, pattern.test(s)]);
});

/**
 * Runs the CLI from source in a process of its own, with the methods named wrapped before it loads,
 * for each argv; the names of those each run used.
 */
function methodsUsed(runs: readonly (readonly string[])[], setup: (dir: string) => void = () => {}): [string, number, string[]][] {
  const dir = mkdtempSync(join(tmpdir(), "mountkit-start-up-"));
  try {
    setup(dir);
    const script = `
      const used = new Set();
      const wrap = (owner, name, label) => { const o = owner[name]; owner[name] = function (...a) { used.add(label); return o.apply(this, a); }; };
      // regular expressions, by their source
      for (const m of ["exec", "test"]) { const o = RegExp.prototype[m]; RegExp.prototype[m] = function (...a) { used.add(String(this)); return o.apply(this, a); }; }
      for (const m of ["replace", "replaceAll", "match", "matchAll", "split", "search"]) { const o = String.prototype[m]; String.prototype[m] = function (re, ...a) { if (re instanceof RegExp) used.add(String(re)); return o.call(this, re, ...a); }; }
      // JavaScriptCore's methods written in JavaScript, by name
      for (const m of ["map", "filter", "some", "every", "find", "findIndex", "findLast", "findLastIndex", "forEach", "flatMap", "flat", "reduce", "reduceRight"]) wrap(Array.prototype, m, "Array#" + m);
      wrap(Array, "from", "Array.from");
      wrap(Object, "fromEntries", "Object.fromEntries");
      for (const m of ["split", "replace", "replaceAll", "match", "matchAll", "search", "padStart", "padEnd", "repeat"]) wrap(String.prototype, m, "String#" + m);
      const { main } = await import(${JSON.stringify(join(import.meta.dir, "../../src/cli/main.ts"))});
      const io = { out() {}, err(s) { process.stderr.write(s); }, draw() {}, isTerminal: () => false };
      const result = [];
      for (const argv of ${JSON.stringify(runs)}.map((a) => a.map((x) => x.replaceAll("$DIR", ${JSON.stringify(dir)})))) { used.clear(); const code = await main("mountkit", argv, io); result.push([argv[0], code, [...used]]); }
      console.log(JSON.stringify(result));
    `;
    const run = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
    expect(run.stderr.toString()).toBe("");
    return JSON.parse(run.stdout.toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("mount -n, with options or without, uses no regular expression and no method written in JavaScript", () => {
  // each one's first use in a process costs 0.1 to 0.6 ms of a start: docs/bench.md
  expect(methodsUsed([["mount", "-n", "-t", "tmpfs", "none", "/mnt"], ["mount", "-n", "-t", "tmpfs", "-o", "size=1m,nosuid,mode=0755", "none", "/mnt"], ["mount", "-n", "--bind", "-o", "ro", "/tmp", "/mnt"]])).toEqual([
    ["mount", 0, []],
    ["mount", 0, []],
    ["mount", 0, []],
  ]);
});

test("apply -n of a tmpfs and a read-only bind uses no regular expression", () => {
  const runs = methodsUsed([["apply", "-n", "--root", "$DIR/root", "$DIR/list.json"]], (dir) => {
    mkdirSync(join(dir, "root", "a"), { recursive: true });
    mkdirSync(join(dir, "root", "b"));
    writeFileSync(join(dir, "list.json"), JSON.stringify([{ type: "tmpfs", source: "none", target: "/a", options: ["size=1m", "nosuid"] }, { type: "bind", source: "/tmp", target: "/b", options: ["rbind", "ro"] }]));
  });
  expect(runs.map(([command, code, used]) => [command, code, used.filter((name) => name.startsWith("/"))])).toEqual([["apply", 0, []]]);
});
