// unmountMounts' answers that need no mount: an empty list, and an empty root with mounts.
import { expect, test } from "bun:test";
import { Errno } from "../../src/errno.ts";
import { PlanError } from "../../src/errors.ts";
import { unmountMounts } from "../../src/ops/unmount.ts";
import { injectFaults } from "../../src/sys/inject.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";

test("an empty list is a no-op, whatever the root (containerd's UnmountMounts returns nil)", () => {
  // any umount2 would fail: none is made
  const sys = injectFaults(libcSyscalls, { umount2: { calls: "always", errno: Errno.EPERM } });
  expect(unmountMounts([], "", { sys })).toBe(0);
  expect(unmountMounts([], "/no/such/root", { sys })).toBe(0);
  expect(sys.log).toEqual([]);
});

test("mounts under an empty root are still refused, before any unmount", () => {
  const err = caught(() => unmountMounts([{ type: "tmpfs", source: "t", options: [] }], ""));
  expect(err).toBeInstanceOf(PlanError);
  expect((err as PlanError).message).toBe("unmount mounts: empty root path");
});
