// umount -R, -A, a source name as operand, and several operands, beside util-linux umount: each
// case runs twice on the same mounts, once per tool, each in its own private mount namespace
// (unshare -m inside this test's), and compares what is left mounted and the exit code.
import { beforeAll, expect, test } from "bun:test";
import { BINARY } from "../support/cli.ts";
import { requireRootNamespace } from "../support/root.ts";
import { exitAndMountsLeft, PRINT_EXIT_AND_MOUNTS_LEFT, runToolIn, type ToolOutcome } from "../support/mounts-left.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

/** setup then `TOOL args` in a private namespace of its own; what it left and said. */
const runIn = (dir: string, setup: string, tool: string, args: readonly string[]): Outcome => runToolIn(dir, setup, tool, args);
type Outcome = ToolOutcome;

/** The case run by util-linux umount and by ours; both outcomes, after checking they left the same mounts. */
function beside(setup: string, args: readonly string[]): { util: Outcome; ours: Outcome } {
  const d = ws.dir("d");
  const util = runIn(d, setup, "umount", args);
  const ours = runIn(d, setup, '"$MK" umount', args);
  expect([args.join(" "), ours.left]).toEqual([args.join(" "), util.left]);
  return { util, ours };
}

// w holds two mounts but is none itself; s is a stack (low, then high) with a mount on each.
const TREE = [
  "mkdir -p w/a w/b w/c s",
  "mount -t tmpfs t1 w/a; mount -t tmpfs t2 w/b",
  "mount -t tmpfs low s; mkdir s/x; mount -t tmpfs lowx s/x",
  "mount -t tmpfs high s; mkdir s/y; mount -t tmpfs highy s/y",
].join("\n");

test("-R DIR that is no mount point unmounts nothing: 'not mounted', exit 1; a missing path is 'not found', exit 1; -q says nothing", () => {
  ws.fresh("umount-compat-r");
  for (const [args, message] of [
    [["-R", "w"], /^mountkit: unmount w: not mounted\n$/],
    [["-R", "w/c"], /^mountkit: unmount w\/c: not mounted\n$/],
    [["-R", "zz"], /^mountkit: unmount zz: not found: realpath\(3\): ENOENT \(No such file or directory\)\n$/],
    [["-A", "zz"], /^mountkit: unmount zz: not found: realpath\(3\): ENOENT/],
    [["-A", "-R", "zz"], /^mountkit: unmount zz: not found: realpath\(3\): ENOENT/],
    [["-A", "w"], /^mountkit: unmount w: not mounted\n$/],
    [["-q", "-R", "zz"], /^$/],
    [["-q", "-A", "w"], /^$/],
  ] as const) {
    const { util, ours } = beside(TREE, args);
    expect([args.join(" "), ours.code]).toEqual([args.join(" "), 1]);
    expect(util.code).toBe(1);
    expect(ours.stderr).toMatch(message);
    expect(ours.left).toContain("D/w/a t1"); // nothing under w went
  }
});

test("-R on a stack removes the top mount and what is mounted on it; the covered mount and its mounts stay", () => {
  ws.fresh("umount-compat-stack");
  const { ours } = beside(TREE, ["-R", "s"]);
  expect(ours.code).toBe(0);
  expect(ours.left).toEqual(["D/w/a t1", "D/w/b t2", "D/s low", "D/s/x lowx"]);
  // again: the mount that was covered goes, with its own
  const again = beside(`${TREE}\numount s/y s`, ["-R", "s"]);
  expect(again.ours.left).toEqual(["D/w/a t1", "D/w/b t2"]);
  // -A -R takes each mount of the filesystem with what is on it, never a mount it covers
  const all = beside(TREE, ["-A", "-R", "s"]);
  expect(all.ours.code).toBe(0);
  expect(all.ours.left).toEqual(["D/w/a t1", "D/w/b t2", "D/s low", "D/s/x lowx"]);
});

test("a name that is no path is a mount's source: the latest mount of srv:/exp, of a tmpfs name; none left: no mount point (exit 32)", () => {
  ws.fresh("umount-compat-source");
  const setup = "mkdir -p r q p; mount -t tmpfs srv:/exp r; mount -t tmpfs srv:/exp q; mount -t tmpfs tmpA p";
  for (const args of [["srv:/exp"], ["tmpA"], ["srv:/exp", "srv:/exp"], ["-A", "tmpA"], ["-A", "srv:/exp"]]) {
    const { util, ours } = beside(setup, args);
    expect([args.join(" "), ours.code, ours.stderr]).toEqual([args.join(" "), 0, ""]);
    expect(util.code).toBe(0);
  }
  expect(beside(setup, ["srv:/exp"]).ours.left).toEqual(["D/r srv:/exp", "D/p tmpA"]); // the latest
  const none = beside(setup, ["srv:/exp", "srv:/exp", "srv:/exp"]);
  expect(none.ours.code).toBe(64); // two went (util-linux: 32, its sum of 0, 0 and 32)
  expect(none.util.code).toBe(32);
  expect(none.ours.stderr).toBe("mountkit: unmount srv:/exp: umount2(2): ENOENT (No such file or directory)\n");
  const nothing = beside(setup, ["nosuch:/x"]);
  expect([nothing.ours.code, nothing.util.code]).toEqual([32, 32]);
  // -R takes a mount point only, as umount(8): a source name is not found there
  const recursive = beside(setup, ["-R", "tmpA"]);
  expect([recursive.ours.code, recursive.util.code]).toEqual([1, 1]);
  expect(recursive.ours.stderr).toContain("unmount tmpA: not found");
});

test("the latest mount of a source is covered: the latest reachable one goes (util-linux refuses, exit 1); all covered: refused, named", () => {
  ws.fresh("umount-compat-covered");
  const d = ws.dir("d");
  const setup = "mkdir -p r q; mount -t tmpfs srv:/exp r; mount -t tmpfs srv:/exp q; mount -t tmpfs cover q";
  expect(runIn(d, setup, '"$MK" umount', ["srv:/exp"])).toEqual({ code: 0, stderr: "", left: ["D/q srv:/exp", "D/q cover"] });
  expect(runIn(d, setup, "umount", ["srv:/exp"]).code).toBe(1);
  const hidden = runIn(d, `${setup}; mount -t tmpfs cover r`, '"$MK" umount', ["srv:/exp"]);
  expect(hidden.code).toBe(32);
  expect(hidden.stderr).toBe(`mountkit: unmount srv:/exp: it is mounted only under other mounts (on ${d}/r, ${d}/q) (unmount what is mounted over it first, or name the mount point)\n`);
  expect(hidden.left).toHaveLength(4);
});

test("several operands: 0 all went, 64 some did, else the failures' codes ORed (util-linux sums them: 64 for two failures)", () => {
  ws.fresh("umount-compat-codes");
  const cases: [string[], number, number][] = [
    [["w/a", "w/b"], 0, 0],
    [["w/a", "w/nonexist"], 64, 32],
    [["w/nonexist", "w/c"], 32, 64],
    [["w/c", "w/c", "w/c"], 32, 96],
    [["-R", "w/a", "w/c"], 64, 1],
    [["-R", "w/c", "w/nonexist"], 1, 2],
    // the stack twice (high's tree, then low's), an operand on a mount an earlier one took (gone: not found)
    [["-R", "s/y", "s", "s", "w/a", "w/b"], 0, 0],
    [["-R", "s", "s/y"], 64, 1],
    // s/x is hidden under high: not found from here; util-linux finds it in its table, and its umount fails
    [["-R", "w/c", "s/x"], 1, 33],
  ];
  for (const [args, ours, theirs] of cases) {
    const outcome = beside(TREE, args);
    expect([args.join(" "), outcome.ours.code, outcome.util.code]).toEqual([args.join(" "), ours, theirs]);
  }
  // a usage failure and a mount failure: both bits, as util-linux (1 + 32)
  const busy = beside(`${TREE}\nexec 3<w/a/.`, ["-R", "w/c", "w/a"]);
  expect([busy.ours.code, busy.util.code]).toEqual([33, 33]);
});

test("a mount locked in a new user namespace (MNT_LOCKED): umount2's EINVAL is said as such, not 'not mounted' (util-linux's word), exit 32; -q does not hide it", () => {
  const d = ws.fresh("umount-compat-locked").dir;
  // mounts made here are copied into the new user namespace's mount namespace, locked there
  const setup = `cd "$D" && mkdir -p m s/x && mount -t tmpfs lm m && mount -t tmpfs ls s && mkdir s/x && mount -t tmpfs lsx s/x`;
  const run = (args: string) => {
    const script = `${setup} && unshare --user --map-root-user --mount sh -c '"$MK" umount ${args}; echo "exit=$?"'`;
    const proc = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], { env: { ...process.env, D: d, MK: BINARY } });
    return { stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
  };
  const locked = "it is mounted, but locked: it was copied in from a more privileged mount namespace (MNT_LOCKED), which alone can unmount it";
  for (const args of ["m", "--all-stacked m", "-q m"]) {
    const target = args.split(" ").at(-1);
    expect([args, run(args)]).toEqual([args, { stdout: "exit=32\n", stderr: `mountkit: unmount ${target}: umount2(2): EINVAL (Invalid argument) (${locked})\n` }]);
  }
  // -R and -A name the mount umount2 refused: for -R s, s/x, tried before s (util-linux names s/x too, "not mounted")
  expect(run("-R s")).toEqual({ stdout: "exit=32\n", stderr: `mountkit: unmount s recursively: unmount ${d}/s/x: umount2(2): EINVAL (Invalid argument) (${locked})\n` });
  expect(run("-A m")).toEqual({ stdout: "exit=32\n", stderr: `mountkit: unmount m: unmount ${d}/m: umount2(2): EINVAL (Invalid argument) (${locked})\n` });
  // through a path that resolves to one too; a directory that is none stays "not mounted", which -q hides
  expect(run("s/x/..").stderr).toContain(`(${locked})`);
  expect(run(".").stderr).toBe("mountkit: unmount .: umount2(2): EINVAL (Invalid argument) (not mounted)\n");
  expect(run("-q .")).toEqual({ stdout: "exit=32\n", stderr: "" });
});

/**
 * outer run in a private mount namespace, then inner and `TOOL args` in a new user namespace's
 * mount namespace, where outer's mounts are locked (MNT_LOCKED) and inner's are not.
 */
function runLocked(dir: string, outer: string, inner: string, tool: string, args: string): Outcome & { stdout: string } {
  const run = `${tool} ${args} >"$D/.stdout" 2>"$D/.stderr"`;
  // setup failures end the script (set -e); the tool's own do not
  const innerScript = ["set -eu", inner, "set +e", run, PRINT_EXIT_AND_MOUNTS_LEFT, 'echo "@@stdout"; cat "$D/.stdout"', `cat "$D/.stderr" >&2; rm "$D/.stdout" "$D/.stderr"`].join("\n");
  const script = ["set -eu", `cd "$D"`, outer, 'exec unshare --user --map-root-user --mount sh -c "$INNER"'].join("\n");
  const proc = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], { env: { ...process.env, D: dir, MK: BINARY, INNER: innerScript } });
  expect([proc.exitCode, proc.stdout.toString()]).toEqual([0, expect.stringContaining("@@stdout\n")]);
  const [table, stdout] = proc.stdout.toString().split("@@stdout\n") as [string, string];
  return { ...exitAndMountsLeft(table), stderr: proc.stderr.toString(), stdout };
}

test("-R (and -A) where a locked mount stays (MNT_LOCKED) and the mounts on it (or its binds) do not: those go, the locked one is named, exit 32, as util-linux", () => {
  const d = ws.fresh("umount-compat-locked-tree").dir;
  const locked = "it is mounted, but locked: it was copied in from a more privileged mount namespace (MNT_LOCKED), which alone can unmount it";
  const refusal = (path: string) => `unmount ${d}/${path}: umount2(2): EINVAL (Invalid argument)`;
  const refused = (action: string, path: string) => `mountkit: ${action}: ${refusal(path)} (${locked})\n`;
  const beside = (outer: string, inner: string, args: string) => ({ util: runLocked(d, outer, inner, "umount", args), ours: runLocked(d, outer, inner, '"$MK" umount', args) });

  // A and A/b locked; c on A/b and d on c made in the user namespace: c and d go, A/b is refused, A stays
  const tree = "mkdir -p A; mount -t tmpfs la A; mkdir A/b; mount -t tmpfs lb A/b";
  const onB = "mkdir A/b/c; mount -t tmpfs lc A/b/c; mkdir A/b/c/d; mount -t tmpfs ld A/b/c/d";
  for (const args of ["-R A", "-R A/b", "-A -R A"]) {
    const { util, ours } = beside(tree, onB, args);
    expect([args, ours.left, ours.code]).toEqual([args, util.left, util.code]);
    expect([args, ours.left, ours.code]).toEqual([args, ["D/A la", "D/A/b lb"], 32]);
    expect(util.stderr).toBe(`umount: ${d}/A/b: not mounted.\n`);
    const action = args === "-A -R A" ? `unmount ${d}/A recursively` : `unmount ${args.slice(3)} recursively`;
    expect([args, ours.stderr]).toEqual([args, refused(action, "A/b")]);
  }

  // only the top locked, everything on it made in the user namespace: all that goes, the top is refused
  const { util, ours } = beside("mkdir -p A; mount -t tmpfs la A", "mkdir A/b; mount -t tmpfs lb A/b; mkdir A/b/c; mount -t tmpfs lc A/b/c", "-R A");
  expect([ours.left, ours.code]).toEqual([util.left, util.code]);
  expect([ours.left, ours.stderr]).toEqual([["D/A la"], refused("unmount A recursively", "A")]);

  // a locked mount and an unlocked sibling under the top: mountkit takes all it can (the sibling's
  // tree too) and reports the locked one; util-linux stops at its first failure, which may come
  // before the sibling, so it leaves as much or more
  const siblings = beside(`${tree}; mkdir A/x`, `mount -t tmpfs lx A/x; mkdir A/x/y; mount -t tmpfs ly A/x/y; ${onB}`, "-R A");
  expect([siblings.ours.code, siblings.util.code]).toEqual([32, 32]);
  expect(siblings.ours.left).toEqual(["D/A la", "D/A/b lb"]);
  expect(siblings.util.left).toEqual(expect.arrayContaining(siblings.ours.left));
  expect(siblings.ours.stderr).toBe(refused("unmount A recursively", "A/b"));

  // -A: the binds of a locked mount made in the user namespace go, the locked one is refused
  const binds = beside("mkdir -p M N O; mount -t tmpfs lm M", "mount --bind M N; mount --bind M O", "-A M");
  expect([binds.ours.left, binds.ours.code]).toEqual([binds.util.left, binds.util.code]);
  expect([binds.ours.left, binds.ours.code, binds.ours.stderr]).toEqual([["D/M lm"], 32, refused("unmount M", "M")]);

  // --all-stacked (mountkit's own): the mounts stacked on a locked one in the user namespace go, the locked one is refused
  const stacked = runLocked(d, "mkdir -p S; mount -t tmpfs ls S", "mount -t tmpfs s1 S; mount -t tmpfs s2 S", '"$MK" umount', "--all-stacked S");
  expect([stacked.left, stacked.code, stacked.stderr]).toEqual([["D/S ls"], 32, refused("unmount S", "S")]);

  // --json: the failure, its errno and path, and how many mounts went
  const json = runLocked(d, tree, onB, '"$MK" umount', "--json -R A");
  expect([json.code, json.stderr]).toEqual([32, refused("unmount A recursively", "A/b")]);
  const report = JSON.parse(json.stdout) as { exitCode: number; results: { target: string; ok: boolean; unmounted: number; error: Record<string, unknown> }[] };
  expect(report.exitCode).toBe(32);
  expect(report.results).toEqual([
    {
      target: "A",
      ok: false,
      unmounted: 2,
      error: {
        kind: "batch",
        message: `unmount A recursively: ${refusal("A/b")}`,
        hint: locked,
        succeeded: 2,
        errors: [{ kind: "syscall", message: refusal("A/b"), hint: locked, syscall: "umount2(2)", errno: 22, errnoName: "EINVAL", paths: [`${d}/A/b`] }],
      },
    },
  ]);
});
