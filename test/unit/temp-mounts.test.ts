// Option rewrites for temp mounts: new lists, the caller's never changed.
import { expect, test } from "bun:test";
import type { Mount } from "../../src/plan/mount-request.ts";
import { readonlyMounts, removeVolatileOption } from "../../src/plan/temp-mounts.ts";

const overlay: Mount = { type: "overlay", source: "overlay", options: ["volatile", "lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w", "index=off"] };
const tmpfs: Mount = { type: "tmpfs", source: "t", target: "/x", options: ["rw", "size=1m", "ro", "volatile"] };

test("removeVolatileOption drops volatile from overlays only, copying every list", () => {
  const input = [overlay, tmpfs];
  const snapshot = structuredClone(input);
  const out = removeVolatileOption(input);
  expect(out[0]!.options).toEqual(["lowerdir=/l1:/l2", "upperdir=/u", "workdir=/w", "index=off"]);
  expect(out[1]!.options).toEqual(tmpfs.options);
  expect(out[1]!.options).not.toBe(tmpfs.options);
  expect(input).toEqual(snapshot);
});

test("readonlyMounts: overlay upperdir becomes the top lowerdir; others end with a single ro", () => {
  const input = [overlay, tmpfs];
  const snapshot = structuredClone(input);
  const out = readonlyMounts(input);
  expect(out[0]!.options).toEqual(["volatile", "lowerdir=/u:/l1:/l2", "index=off"]);
  expect(out[1]).toEqual({ type: "tmpfs", source: "t", target: "/x", options: ["size=1m", "volatile", "ro"] });
  expect(input).toEqual(snapshot);
  expect(readonlyMounts([{ type: "overlay", source: "o", options: ["lowerdir=/a:/b"] }])[0]!.options).toEqual(["lowerdir=/a:/b"]);
});
