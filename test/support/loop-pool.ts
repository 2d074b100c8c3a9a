/**
 * The machine's loop devices, attached or not. The kernel adds one whenever a process asks for a
 * free device (LOOP_CTL_GET_FREE) and every one is bound: tests that attach many at once on a
 * machine with few grow the pool, and restorePool takes back what they grew.
 */
import { existsSync, readdirSync } from "node:fs";
import { Errno } from "../../src/errno.ts";
import { isErrno } from "../../src/errors.ts";
import { O } from "../../src/sys/fd.ts";
import { LOOP_CONTROL_PATH } from "../../src/sys/loop.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";

/** The N of every /sys/block/loopN. */
export function loopPool(): number[] {
  return readdirSync("/sys/block")
    .filter((name) => /^loop\d+$/.test(name))
    .map((name) => Number(name.slice(4)))
    .sort((a, b) => a - b);
}

/**
 * Remove (LOOP_CTL_REMOVE) each device not in before that nothing is attached to; one open a
 * moment (udev's blkid: EBUSY) is asked again for about a second. The devices left beyond
 * before: none once the test's own are detached.
 */
export function restorePool(before: readonly number[]): number[] {
  const control = libcSyscalls.open(LOOP_CONTROL_PATH, O.RDWR | O.CLOEXEC);
  try {
    for (const n of loopPool()) {
      if (before.includes(n) || existsSync(`/sys/block/loop${n}/loop/backing_file`)) continue;
      for (let attempt = 1; ; attempt++) {
        try {
          libcSyscalls.loopCtlRemove(control, n);
          break;
        } catch (err) {
          if (!isErrno(err, Errno.EBUSY) || attempt === 100) break;
          Bun.sleepSync(10);
        }
      }
    }
  } finally {
    libcSyscalls.close(control);
  }
  return loopPool().filter((n) => !before.includes(n));
}
