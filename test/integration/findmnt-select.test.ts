// findmnt -M, -S, -T and -f: the same output and exit codes as util-linux findmnt, both run in
// one private mount namespace (unshare -m inside this test's) on the same stacked mounts.
import { beforeAll, expect, test } from "bun:test";
import { BINARY } from "../support/cli.ts";
import { requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);
const ws = workspace();

const MARK = "@@findmnt-select@@";
// Each query runs twice, util-linux's findmnt then ours, printing its output and exit code.
const QUERIES = [
  ["-M", "$D/a"],
  ["-l", "-M", "$D/a"],
  ["-f", "-M", "$D/a"],
  ["-S", "mk-two"],
  ["-n", "-o", "TARGET", "-S", "mk-three"],
  ["-J", "-o", "TARGET,SOURCE,FSTYPE", "-S", "mk-one"],
  ["-M", "$D"],
  ["-S", "mk-none"],
  ["-M", "$D/none"],
  ["-t", "zzz-type"],
  ["-n", "-o", "TARGET", "-t", "nozzz,tmpfs", "-M", "$D/b"],
  ["-n", "-o", "SOURCE", "-t", "notmpfs", "-M", "$D/b"],
  ["-n", "-o", "SOURCE", "-T", "$D/b/deep"],
];

test("-M every mount on the mount point, -S every mount of a source, -f the first, -T the holder; exit 1 and no output for none", () => {
  ws.fresh("findmnt-select");
  const d = ws.dir("d");
  ws.dir("d", "a");
  ws.dir("d", "b");
  const run = (tool: string, args: string[]) => `${tool} ${args.map((a) => `"${a}"`).join(" ")}; echo "exit=$?"; echo ${MARK}`;
  const script = [
    "set -u",
    'mount -t tmpfs mk-one "$D/a"; mount -t tmpfs mk-two "$D/a"; mount -t tmpfs mk-three "$D/b"; mkdir "$D/b/deep"',
    `echo ${MARK}`,
    ...QUERIES.flatMap((args) => [run("findmnt", args), run('"$MK"', ["findmnt", ...args])]),
  ].join("\n");
  const proc = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], { env: { ...process.env, D: d, MK: BINARY } });
  expect(proc.stderr.toString()).toBe("");
  expect(proc.exitCode).toBe(0);
  const outputs = proc.stdout.toString().split(`${MARK}\n`).slice(1, -1);
  expect(outputs).toHaveLength(QUERIES.length * 2);
  for (let i = 0; i < QUERIES.length; i++) {
    const [theirs, ours] = [outputs[2 * i]!, outputs[2 * i + 1]!];
    const query = QUERIES[i]!.join(" ");
    expect([query, ours]).toEqual([query, theirs]);
  }
  // what the queries found, so equal outputs are not two empty ones
  expect(outputs[0]).toContain(`${d}/a mk-one`);
  expect(outputs[0]).toContain(`${d}/a mk-two`);
  expect(outputs[4]).not.toContain("mk-two");
  expect(outputs[8]).toBe(`${d}/b\nexit=0\n`);
  expect(outputs[14]).toBe("exit=1\n");
});

