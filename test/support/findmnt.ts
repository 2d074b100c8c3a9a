/**
 * util-linux findmnt beside ours: each query run by both, one after the other, in one private
 * mount namespace (unshare -m inside the test's) after the same setup, so both see the same
 * scratch mounts and the namespace, and every mount in it, dies with the shell.
 */
import { expect } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { textFromBytes } from "../../src/path-text.ts";
import { BINARY } from "./cli.ts";

const MARK = "@@findmnt-both@@";

/** One query's answers: util-linux's and ours, stdout then "exit=N", and each one's stderr. */
export interface FindmntAnswers {
  readonly query: string;
  readonly theirs: string;
  readonly ours: string;
  readonly theirErrors: string;
  readonly ourErrors: string;
}

/**
 * Run each query with util-linux findmnt, then with ours (in the shell's working directory
 * cwd, "/" unless given), after setup; the setup must print nothing on stderr. Arguments are
 * expanded by the shell inside double quotes ("$D/a": the env's D). With input (a shell
 * command), each run reads that command's output from a pipe on its stdin. With link (the path
 * of a link to the binary named findmnt), ours is that link rather than `mountkit findmnt`.
 */
export function findmntBoth(setup: string, queries: readonly (readonly string[])[], env: Record<string, string>, cwd = "/", input?: string, link?: string): FindmntAnswers[] {
  const errors = mkdtempSync(join(tmpdir(), "mk-findmnt-both-"));
  try {
    const piped = input === undefined ? "" : `${input} | `;
    const run = (tool: string, args: readonly string[], err: string) => `${piped}${tool} ${args.map((a) => `"${a}"`).join(" ")} 2>"$ERRS/${err}"; echo "exit=$?"; echo ${MARK}`;
    const steps = queries.flatMap((args, i) => [run("findmnt", args, `${i}.theirs`), link === undefined ? run('"$MK"', ["findmnt", ...args], `${i}.ours`) : run('"$LINK"', args, `${i}.ours`)]);
    const script = ["set -u", setup, `cd "${cwd}"`, `echo ${MARK}`, ...steps].join("\n");
    const proc = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], {
      env: { ...process.env, LC_ALL: "C.UTF-8", ...env, MK: BINARY, LINK: link ?? "", ERRS: errors },
    });
    expect(proc.stderr.toString()).toBe("");
    expect(proc.exitCode).toBe(0);
    // decoded keeping each byte that is not UTF-8 distinct (not all as U+FFFD), so a wrong byte shows
    const outputs = textFromBytes(proc.stdout).split(`${MARK}\n`).slice(1, -1);
    expect(outputs).toHaveLength(queries.length * 2);
    return queries.map((args, i) => ({
      query: args.join(" "),
      theirs: outputs[2 * i]!,
      ours: outputs[2 * i + 1]!,
      theirErrors: readFileSync(join(errors, `${i}.theirs`), "utf8"),
      ourErrors: readFileSync(join(errors, `${i}.ours`), "utf8"),
    }));
  } finally {
    rmSync(errors, { recursive: true, force: true });
  }
}

/**
 * findmntBoth, expecting the same output and exit code from both, and stderr from both or from
 * neither (its words are each tool's own); returns util-linux's outputs.
 */
export function sameAsFindmnt(setup: string, queries: readonly (readonly string[])[], env: Record<string, string>, cwd?: string, input?: string): string[] {
  const answers = findmntBoth(setup, queries, env, cwd, input);
  for (const a of answers) {
    expect([a.query, a.ours]).toEqual([a.query, a.theirs]);
    expect([a.query, a.ourErrors === ""]).toEqual([a.query, a.theirErrors === ""]);
  }
  return answers.map((a) => a.theirs);
}
