/**
 * A minimal host for the binary, as an init script meets one: a chroot holding only
 * /mountkit (the built binary, bound onto an empty file), the shared libraries `ldd` names,
 * /proc, and a /dev with null and zero (or the host's /dev bound, for loop devices). No /etc,
 * /tmp, /sys, /bin/sh or util-linux; commands run with an empty environment. The root is a
 * tmpfs mounted on a directory of the test's scratch dir; dispose() takes it all down.
 */
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { BINARY, type CliResult } from "./cli.ts";

export interface MinimalRootOptions {
  /** mount proc on /proc (default true) */
  proc?: boolean;
  /** "nodes": a tmpfs with null and zero (default); "host": the host's /dev bound (loop devices) */
  dev?: "nodes" | "host";
  /** files to write in the root (path in the root: text), before a remount read-only */
  files?: Record<string, string>;
  /** remount the root read-only once it is built */
  readOnly?: boolean;
}

export interface MinimalRoot {
  readonly dir: string;
  /** /mountkit ARGS in the chroot, environment empty but for env */
  run(args: readonly string[], env?: Record<string, string>): CliResult;
  /** Unmount the root and everything under it (lazily: a test's failure must not leave it). */
  dispose(): void;
}

const CHROOT = "/usr/sbin/chroot";

function sh(argv: string[]): void {
  const r = Bun.spawnSync(argv, { stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.toString()}`);
}

/** The libraries the binary loads, as ldd resolves them (the vdso has no file). */
function sharedLibraries(): string[] {
  const out = Bun.spawnSync(["ldd", BINARY]).stdout.toString();
  return [...out.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

export function minimalRoot(dir: string, options: MinimalRootOptions = {}): MinimalRoot {
  mkdirSync(dir, { recursive: true });
  const dispose = () => void Bun.spawnSync(["umount", "-R", "-l", dir]);
  sh(["mount", "-t", "tmpfs", "-o", "mode=755,size=16m", "minimal-root", dir]);
  try {
    writeFileSync(join(dir, "mountkit"), "");
    sh(["mount", "--bind", BINARY, join(dir, "mountkit")]);
    for (const lib of sharedLibraries()) {
      mkdirSync(join(dir, dirname(lib)), { recursive: true });
      copyFileSync(lib, join(dir, lib));
    }
    mkdirSync(join(dir, "proc"));
    mkdirSync(join(dir, "dev"));
    mkdirSync(join(dir, "mnt"));
    if (options.proc ?? true) sh(["mount", "-t", "proc", "proc", join(dir, "proc")]);
    if (options.dev === "host") sh(["mount", "--bind", "/dev", join(dir, "dev")]);
    else {
      sh(["mount", "-t", "tmpfs", "-o", "mode=755,size=64k", "minimal-dev", join(dir, "dev")]);
      sh(["mknod", "-m", "666", join(dir, "dev/null"), "c", "1", "3"]);
      sh(["mknod", "-m", "666", join(dir, "dev/zero"), "c", "1", "5"]);
    }
    for (const [path, text] of Object.entries(options.files ?? {})) {
      mkdirSync(join(dir, dirname(path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    if (options.readOnly) sh(["mount", "-o", "remount,ro", dir]);
  } catch (err) {
    dispose();
    throw err;
  }
  return {
    dir,
    run(args, env = {}) {
      const proc = Bun.spawnSync([CHROOT, dir, "/mountkit", ...args], { env, stdin: "ignore" });
      if (proc.exitCode === null) throw new Error(`chroot /mountkit ${args.join(" ")}: killed by ${proc.signalCode}`);
      return { code: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
    },
    dispose,
  };
}
