// The mount API constants have one source of truth: the pure module plans use. The FFI layer
// re-exports it rather than keeping a copy (the values themselves are checked against the C
// headers by test/integration/struct-layout.test.ts).
import { expect, test } from "bun:test";
import * as pure from "../../src/plan/mount-api-flags.ts";
import * as sysApi from "../../src/sys/mount-api.ts";

test("src/sys/mount-api.ts re-exports the plan's constants, not a copy of them", () => {
  for (const name of ["AT", "OPEN_TREE", "MOVE_MOUNT", "FSCONFIG", "MOUNT_ATTR"] as const) {
    expect([name, sysApi[name] === pure[name]]).toEqual([name, true]);
  }
  for (const name of ["FSOPEN_CLOEXEC", "FSMOUNT_CLOEXEC", "MOUNT_ATTR_ATIME_MASK", "MOUNT_ATTR_SIZE"] as const) {
    expect([name, sysApi[name]]).toEqual([name, pure[name]]);
  }
  expect(pure.AT_FDCWD).toBe(pure.AT.FDCWD);
});

test("every MOUNT_ATTR entry is one bit, so flags print by name", () => {
  for (const [name, bit] of Object.entries(pure.MOUNT_ATTR)) {
    expect([name, bit > 0 && (bit & (bit - 1)) === 0]).toEqual([name, true]);
  }
  expect(pure.MOUNT_ATTR_ATIME_MASK).toBe(pure.MOUNT_ATTR.NOATIME | pure.MOUNT_ATTR.STRICTATIME | 0x40);
});
