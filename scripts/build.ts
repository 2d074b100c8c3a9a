/**
 * npm run build: compile src/cli/main.ts into the standalone dist/mountkit (bytecode, minified).
 * Extra entry points (Worker files) are added here as features need them.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const outfile = join(root, "dist", "mountkit");
mkdirSync(join(root, "dist"), { recursive: true });

/** The JIT policy the binary starts with (Bun.unsafe.setJITPolicy): 1 is JavaScriptCore's normal one. */
export const JIT_POLICY = 10;

export const EXTRA_ENTRYPOINTS: string[] = [
  "src/sys/dir-thread-worker.ts", // the thread that makes compacted overlay mounts (src/sys/dir-thread.ts)
];

const proc = Bun.spawnSync(
  [
    process.execPath,
    "build",
    "--compile",
    "--bytecode",
    "--minify",
    "--format=esm",
    // Each command's module in its own chunk, loaded when the command runs: measured, it took
    // about 1.5 ms off `--version` and 1 ms off a mount (one bundle was loaded whole).
    "--splitting",
    // JavaScriptCore's tier-up thresholds x10 for the binary: a command runs its code a handful
    // of times, and compiling it (baseline JIT, which also starts the JIT's worker thread) cost
    // 1-2 ms of a mount, umount or apply (docs/bench.md). Long runs still tier up, 10x later;
    // the bench engine sets the normal policy before measuring (src/bench/run.ts).
    `--compile-jit-policy=${JIT_POLICY}`,
    // A compiled Bun program reads bunfig.toml and .env from its working directory by default:
    // run as root from a directory someone else can write, a bunfig.toml `preload` would run
    // their code as root and a .env would set MOUNTKIT_* for them. mountkit reads neither.
    "--no-compile-autoload-bunfig",
    "--no-compile-autoload-dotenv",
    "--no-compile-autoload-tsconfig",
    "--no-compile-autoload-package-json",
    "--sourcemap=none",
    `--outfile=${outfile}`,
    join(root, "src/cli/main.ts"),
    ...EXTRA_ENTRYPOINTS.map((e) => join(root, e)),
  ],
  { stdout: "inherit", stderr: "inherit", cwd: root },
);
if (proc.exitCode !== 0) {
  console.error(`build: bun build --compile failed (exit ${proc.exitCode})`);
  process.exit(1);
}
console.log(`build: ${outfile}`);
