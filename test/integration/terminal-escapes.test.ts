// Paths come from places others write (an fstab, a container's config, a directory listing)
// and reach stderr in messages: their control characters must not reach the terminal as
// they are (ESC [ ... recolours it, moves the cursor or rewrites the title; a newline or a
// carriage return fakes a line). The binary, as a user runs it. Root, private mount namespace.
import { afterEach, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { BINARY, runCli } from "../support/cli.ts";
import { requireRootNamespace, scratch } from "../support/root.ts";

beforeAll(requireRootNamespace);

let s: ReturnType<typeof scratch>;
afterEach(() => s.dispose());

/** Every C0 control but tab and the newline ending a line, DEL, and the C1 controls (U+0080-U+009F, CSI among them). */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/;

/** The lines of text: none holds a control character, and every line ends with the newline. */
function expectTerminalSafe(text: string) {
  expect(text).not.toMatch(CONTROL);
  expect(text.endsWith("\n")).toBe(true);
}

test("mount -a: an fstab mount point with \\033 and \\012 escapes is printed escaped, one line per failure, on stderr and with -v", () => {
  s = scratch("escapes-fstab");
  const target = `${s.dir}/no\\033]0;owned\\007\\033[2J\\012mountkit:\\040fake\\040line\\015\\302\\233`;
  const fstab = s.path("fstab");
  writeFileSync(fstab, `tmpfs ${target} tmpfs defaults 0 0\n`);
  const r = runCli(["mount", "-a", "-T", fstab]);
  expect(r.code).toBe(32);
  expectTerminalSafe(r.stderr);
  expect(r.stderr.split("\n")).toHaveLength(2);
  expect(r.stderr).toStartWith("mountkit: mount -a: line 1 (");
  expect(r.stderr).toContain("mount(2): ENOENT");

  const verbose = runCli(["mount", "-a", "-v", "-T", fstab]);
  expect(verbose.code).toBe(32);
  expectTerminalSafe(verbose.stderr);
  expectTerminalSafe(verbose.stdout);
  expect(verbose.stdout.split("\n")).toHaveLength(2);
  expect(verbose.stderr.split("\n")).toHaveLength(2);
});

test("apply: a target with control characters in a mount list is printed escaped, in the error and the -v lines", () => {
  s = scratch("escapes-apply");
  const list = s.path("list.json");
  writeFileSync(list, JSON.stringify([{ type: "tmpfs", source: "x", target: "/missing\u001b[31m\nfake\r\u009b", options: [] }]));
  const r = runCli(["apply", "--root", s.dir, "-v", list]);
  expect(r.code).toBe(32);
  expectTerminalSafe(r.stderr);
  expect(r.stderr).toContain("openat2(2): ENOENT");
  expectTerminalSafe(r.stdout);
  expect(r.stdout.split("\n")).toHaveLength(2);

  // the dry run's syscalls on stdout, and --json, which stays JSON (the \u escapes decode to the path)
  const dry = runCli(["apply", "--root", s.dir, "-n", list]);
  expect(dry.code).toBe(0);
  expectTerminalSafe(dry.stdout);
  expect(dry.stdout).toContain("missing\\u001b[31m\\nfake\\r\\u009b");
  const json = runCli(["apply", "--root", s.dir, "-n", "--json", list]);
  expect(json.code).toBe(0);
  expectTerminalSafe(json.stdout);
  expect(json.stdout).toContain(JSON.stringify(`${s.dir}/missing\u001b[31m\nfake\r`).slice(1, -1));
  expect(JSON.stringify(JSON.parse(json.stdout))).toContain("\u009b");
});

test("cleanup -v: a planted mountkit-* directory named with a newline and ESC is one quoted line", () => {
  s = scratch("escapes-cleanup");
  const location = s.path("tmp");
  mkdirSync(`${location}/mountkit-mount-1x\nmountkit: fake\u001b[2J`, { recursive: true });
  const r = runCli(["cleanup", "--temp-dir", location, "-v"]);
  expect(r.code).toBe(0);
  expectTerminalSafe(r.stdout);
  expect(r.stdout.split("\n")).toEqual([`cleanup: removed "${location}/mountkit-mount-1x\\nmountkit: fake\\u001b[2J"`, `cleanup: ${location}: 0 mounts unmounted, 1 directory removed`, ""]);
});

test("a byte that is not UTF-8 reads the same in a path quoted for a tab as in one left unquoted: 0x9b as \\x9b, 0xe9 as itself", () => {
  s = scratch("escapes-held");
  // printf's \233 \351: the bytes 0x9b (CSI to an 8-bit terminal) and 0xe9 (Latin-1 é), not UTF-8
  const script = '"$M" mount -t tmpfs x "$D/tab\t$(printf "\\233\\351")"; "$M" mount -t tmpfs x "$D/plain$(printf "\\233\\351")"';
  const proc = Bun.spawnSync(["sh", "-c", script], { env: { ...process.env, M: BINARY, D: s.dir } });
  const lines = proc.stderr.toString("latin1").split("\n");
  expect(lines).toHaveLength(3);
  // quoted (JSON.stringify wrote \udc9b\udce9 here) and unquoted alike
  expect(lines[0]).toStartWith(`mountkit: mount x on "${s.dir}/tab\\t\\x9b\xe9": mount(2): ENOENT`);
  expect(lines[1]).toStartWith(`mountkit: mount x on ${s.dir}/plain\\x9b\xe9: mount(2): ENOENT`);
  expect(proc.stderr.includes(0x9b)).toBe(false);
});
