// The C floor of the benchmarks builds both ways, warning-free: the mountbench program (npm run
// bench) and the shared object whose operations run inside a Bun process (npm run
// bench:in-process). No mount is made: the shared object is only asked for its modes.
import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dlopen, ptr } from "bun:ffi";
import { MOUNTBENCH_CFLAGS, MOUNTBENCH_SOURCE } from "../../scripts/bench/harness.ts";

/** The benchmarks' own flags, with warnings as errors. */
function cc(args: readonly string[]): void {
  const run = Bun.spawnSync(["cc", ...MOUNTBENCH_CFLAGS, "-Werror", ...args, MOUNTBENCH_SOURCE], { stderr: "pipe" });
  expect(run.stderr.toString()).toBe("");
  expect(run.exitCode).toBe(0);
}

/** argv for mountbench_select: pointers to NUL-terminated copies, alive for the call. */
function argv(strings: readonly string[]): { array: BigUint64Array; keep: Uint8Array[] } {
  const keep = strings.map((s) => new TextEncoder().encode(`${s}\0`));
  const array = new BigUint64Array(keep.length);
  keep.forEach((b, i) => (array[i] = BigInt(ptr(b))));
  return { array, keep };
}

test("mountbench.c builds as the program and as the in-process shared object", () => {
  const dir = mkdtempSync(join(tmpdir(), "mountkit-mountbench-"));
  try {
    cc(["-o", join(dir, "mountbench")]);
    cc(["-shared", "-fPIC", "-DMOUNTBENCH_SHARED", "-o", join(dir, "mountbench.so")]);
    const usage = Bun.spawnSync([join(dir, "mountbench")], { stderr: "pipe" });
    expect(usage.exitCode).toBe(2);
    expect(usage.stderr.toString()).toContain("idmap-bind");

    const floor = dlopen(join(dir, "mountbench.so"), {
      mountbench_select: { args: ["i32", "ptr"], returns: "i32" },
      mountbench_end: { args: [], returns: "void" },
    });
    try {
      const unknown = argv(["no-such-mode", "/x"]);
      expect(floor.symbols.mountbench_select(unknown.keep.length, unknown.array)).toBe(-1);
      const tooFew = argv(["bind", "/only-a-source"]);
      expect(floor.symbols.mountbench_select(tooFew.keep.length, tooFew.array)).toBe(-1);
      const tmpfs = argv(["tmpfs", "/not/mounted/here"]); // selected and prepared, never run
      expect(floor.symbols.mountbench_select(tmpfs.keep.length, tmpfs.array)).toBe(0);
      floor.symbols.mountbench_end();
    } finally {
      floor.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  expect(existsSync(dir)).toBe(false);
});
