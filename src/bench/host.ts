/**
 * The host as workloads see it: kernel facts and the commands on it.
 */
import { accessSync, constants } from "node:fs";
import { join } from "node:path";
import { kernelFacts } from "../ops/features.ts";
import type { BenchHost } from "./workload.ts";

/** Directories searched after PATH: mount helpers live in sbin, which PATH may lack. */
const SBIN = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

export function benchHost(path: string | undefined = process.env.PATH): BenchHost {
  const dirs = [...(path ?? "").split(":").filter((d) => d.startsWith("/")), ...SBIN];
  const found = new Map<string, string | undefined>();
  return {
    facts: kernelFacts(),
    which(command) {
      if (!found.has(command)) found.set(command, findExecutable(command, dirs));
      return found.get(command);
    },
  };
}

function findExecutable(command: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}
