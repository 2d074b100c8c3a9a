/**
 * The per-test workspace of the integration tests: a scratch dir (fresh), directories in it
 * (dir), and cleanups that run after each test, newest first (unmountAfter, cleanups). The
 * scratch dir's own check for leaked mounts runs last.
 */
import { afterEach } from "bun:test";
import { mkdirSync } from "node:fs";
import type { MountedBatch } from "../../src/ops/batch.ts";
import { resetTempMountLocation, setTempMountLocation } from "../../src/ops/temp-location.ts";
import { unmountAll } from "../../src/ops/unmount.ts";
import { detachLoopDevicesOf, makeExt4Image } from "./resources.ts";
import { scratch } from "./root.ts";

export type Scratch = ReturnType<typeof scratch>;

export function workspace() {
  let current: Scratch | undefined;
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    current = undefined;
    // Every cleanup runs (a leaked scratch dir must not follow a failed check); the first failure is reported.
    let first: unknown;
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        cleanup();
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  });
  const here = (): Scratch => {
    if (!current) throw new Error("workspace: call fresh() first in this test");
    return current;
  };
  return {
    cleanups,
    /** A new scratch dir for this test; disposed (and checked for leaks) after it. */
    fresh(label: string): Scratch {
      const s = scratch(label);
      current = s;
      cleanups.push(() => s.dispose());
      return s;
    },
    /** mkdir -p of a path in this test's scratch dir. */
    dir(...parts: string[]): string {
      const p = here().path(...parts);
      mkdirSync(p, { recursive: true });
      return p;
    },
    /**
     * An ext4 image in this test's scratch dir (makeExt4Image's arguments); every loop device
     * still bound to it is detached after the test, whatever the test did.
     */
    image(name = "img", sizeMiB = 8, extra: string[] = [], fsSize?: string): string {
      const path = makeExt4Image(here().path(name), sizeMiB, extra, fsSize);
      cleanups.push(() => detachLoopDevicesOf(path));
      return path;
    },
    /**
     * A temp mount location of this test's own (tmp in its scratch dir), the library's until
     * the test ends: what mountkit leaves there is this test's alone, where the default (/tmp)
     * may hold other processes' mountkit-* dirs. The binary takes it as MOUNTKIT_TMPDIR.
     */
    tempLocation(): string {
      const location = setTempMountLocation(here().path("tmp"));
      cleanups.push(() => resetTempMountLocation());
      return location;
    },
    /** Release a batch's mounts after the test (release() is idempotent: a test may release it first); the batch itself. */
    releaseAfter<T extends MountedBatch>(batch: T): T {
      cleanups.push(() => batch.release());
      return batch;
    },
    /**
     * This process's umask for the rest of the test (the binary it starts inherits it), the
     * machine's restored after it: a mode the kernel takes the umask from is then the test's own.
     */
    umask(mask: number): void {
      const saved = process.umask(mask);
      cleanups.push(() => void process.umask(saved));
    },
    /** Unmount everything stacked on path after the test (register parents before children). */
    unmountAfter(path: string): void {
      cleanups.push(() => unmountAll(path));
    },
  };
}
