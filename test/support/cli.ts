/**
 * Running the compiled binary (npm test builds it first). A missing binary fails the test.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

export const BINARY = resolve(import.meta.dir, "../../dist/mountkit");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: readonly string[], options: { bin?: string; env?: Record<string, string>; stdin?: string; cwd?: string } = {}): CliResult {
  const bin = options.bin ?? BINARY;
  if (!existsSync(bin)) throw new Error(`${bin} is missing: npm test builds it (npm run build)`);
  const proc = Bun.spawnSync([bin, ...args], {
    env: options.env ?? { ...process.env, MOUNTKIT_STRATEGY: "" },
    stdin: options.stdin === undefined ? "ignore" : Buffer.from(options.stdin),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  if (proc.exitCode === null) throw new Error(`${bin} ${args.join(" ")}: killed by ${proc.signalCode}`);
  return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

export function binaryIn(dir: string, name: string): string {
  return join(dir, name);
}
