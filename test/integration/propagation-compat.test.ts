// Propagation changes beside util-linux mount(8): each case runs twice on the same mounts, once
// per tool, each in a private mount namespace of its own (unshare -m inside this test's), and
// compares the exit code and what is mounted under the scratch dir, with its propagation.
import { beforeAll, expect, test } from "bun:test";
import { runToolIn, type ToolOutcome } from "../support/mounts-left.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

// mountinfo's optional fields (shared:N master:N unbindable) without their numbers, "private" when none
const PRINT_EXIT_AND_PROPAGATION = [
  'echo "exit=$?"',
  `awk -v d="$D" '$5 == d || index($5, d "/") == 1 {
     p = ""; for (i = 7; $i != "-"; i++) { f = $i; sub(":[0-9]+$", "", f); p = p (p == "" ? "" : ",") f }
     sub("^" d, "D", $5); print $5, $(NF-1), (p == "" ? "private" : p) }' /proc/self/mountinfo`,
].join("\n");

/** setup then `TOOL args` in a private namespace of its own (cwd $D); what it left and said. */
const runIn = (dir: string, setup: string, tool: string, args: readonly string[]): Outcome => runToolIn(dir, setup, tool, args, PRINT_EXIT_AND_PROPAGATION);
type Outcome = ToolOutcome;

/**
 * The case run by util-linux mount, by `mountkit mount` and by the binary through a link named
 * mount; util-linux's outcome, after checking that ours left the same mounts with the same
 * exit code.
 */
function beside(setup: string, args: readonly string[]): Outcome {
  const d = ws.dir("d");
  const util = runIn(d, setup, "mount", args);
  for (const ours of ['"$MK" mount', `mkdir -p "$D/.bin"; ln -sf "$MK" "$D/.bin/mount"; "$D/.bin/mount"`]) {
    const outcome = runIn(d, setup, ours, args);
    expect([ours, args.join(" "), outcome.code, outcome.left]).toEqual([ours, args.join(" "), util.code, util.left]);
  }
  return util;
}

// a is a tmpfs mount point, c a plain directory
const SETUP = "mkdir -p a c; mount -t tmpfs ta a";

test("--make-* with -t TYPE and one operand mounts a new TYPE filesystem (source none) there, then changes its propagation (before: -t was dropped, and the mount below changed)", () => {
  ws.fresh("propagation-typed");
  expect(beside(SETUP, ["-t", "tmpfs", "--make-shared", "a"]).left).toEqual(["D/a ta private", "D/a none shared"]);
  expect(beside(SETUP, ["-t", "tmpfs", "--make-unbindable", "c"]).left).toEqual(["D/a ta private", "D/c none unbindable"]);
  expect(beside(SETUP, ["-t", "tmpfs", "-o", "size=1m", "--make-shared", "c"]).left).toEqual(["D/a ta private", "D/c none shared"]);
  // with no type, or -t none or auto, it stays a change of the mount that is there
  for (const type of [[], ["-t", "none"], ["-t", "auto"]]) {
    expect(beside(SETUP, [...type, "--make-shared", "a"]).left).toEqual(["D/a ta shared"]);
  }
});

test("source none is no source: --make-* none DIR, -o shared none DIR change DIR's propagation (before: special device none does not exist)", () => {
  ws.fresh("propagation-none");
  for (const args of [
    ["--make-shared", "none", "a"],
    ["--make-shared", "--source", "none", "a"],
    ["-o", "shared", "none", "a"],
    ["-t", "none", "-o", "shared", "none", "a"],
  ]) {
    const util = beside(SETUP, args);
    expect([args.join(" "), util.code, util.left]).toEqual([args.join(" "), 0, ["D/a ta shared"]]);
  }
  // a file named none in the working directory is no image to mount: the word is what counts
  // (util-linux makes it the path of that file, and fails on it: "not a block device", exit 32)
  const ours = runIn(ws.dir("d"), `${SETUP}; touch none`, '"$MK" mount', ["--make-shared", "none", "a"]);
  expect([ours.code, ours.left]).toEqual([0, ["D/a ta shared"]]);
  // ...and a directory that is no mount point fails as --make-shared DIR does (exit 32)
  expect(beside(SETUP, ["--make-shared", "none", "c"]).code).toBe(32);
});

test("an fstab line `none DIR none shared` changes DIR's propagation, under -a and by its mount point", () => {
  ws.fresh("propagation-fstab");
  const setup = `${SETUP}; mount --make-private a; echo "none $D/a none shared 0 0" > "$D/fstab"`;
  expect(beside(setup, ["-a", "-T", "fstab"]).left).toEqual(["D/a ta shared"]);
  expect(beside(setup, ["-T", "fstab", `a`]).left).toEqual(["D/a ta shared"]);
});

test("a bind of an unbindable mount is EINVAL, as util-linux's; the hint names the unbindable mount (before: the generic causes)", () => {
  ws.fresh("propagation-unbindable");
  const setup = `${SETUP}; mkdir -p a/s b; mount --make-unbindable a`;
  for (const args of [["--bind", "a", "b"], ["--rbind", "a/s", "b"], ["--bind", "-o", "ro", "a/s", "b"]]) {
    const util = beside(setup, args);
    expect([args.join(" "), util.code, util.left]).toEqual([args.join(" "), 32, ["D/a ta unbindable"]]);
    const ours = runIn(ws.dir("d"), setup, '"$MK" mount', args);
    expect(ours.stderr).toMatch(/: mount\(2\): EINVAL \(Invalid argument\) \(.*a\/?s? is on an unbindable mount \(.*\/d\/a\): it cannot be bound \(--make-private .*\/d\/a first\)\)\n$/);
  }
  // an unbindable mount below an rbind's source is left out of the copy, as util-linux leaves it
  const below = beside(`${SETUP}; mkdir -p a/u b; mount -t tmpfs tu a/u; mount --make-unbindable a/u`, ["--rbind", "a", "b"]);
  expect([below.code, below.left]).toEqual([0, ["D/a ta private", "D/a/u tu unbindable", "D/b ta private"]]);
});
