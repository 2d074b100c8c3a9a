// A helper program for tests that run mount helpers: an sh script in a dir of its own that
// logs its argv, then does what the test says.
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * The dir `makeDir(name)` holding one sh script, `helper`, that first writes its argv to
 * argv.log, one item per line, then runs `body`; argv() reads that log (undefined when the
 * helper never ran).
 */
export function scriptHelper(makeDir: (name: string) => string, name: string, helper: string, body: readonly string[]) {
  const helpers = makeDir(name);
  const log = join(helpers, "argv.log");
  writeFileSync(join(helpers, helper), ["#!/bin/sh", `printf '%s\\n' "$@" > ${log}`, ...body, ""].join("\n"));
  chmodSync(join(helpers, helper), 0o755);
  return { helpers, argv: () => (existsSync(log) ? readFileSync(log, "utf8").split("\n").slice(0, -1) : undefined) };
}
