// The setup a batch shares between entries: the kernel facts, the mount table read once, and each tag's device found once.
import { expect, test } from "bun:test";
import { openBatchShared } from "../../src/ops/batch-shared.ts";
import { deviceTagOf } from "../../src/plan/device-tag.ts";
import { factsForVersion } from "../../src/plan/facts.ts";

const facts = factsForVersion("6.18.0");

test("the mount table is read once per batch, on first use only", () => {
  let reads = 0;
  const shared = openBatchShared(facts, () => {
    reads++;
    return [];
  });
  expect(shared.mountTableReads).toBe(0);
  shared.mountTable();
  shared.mountTable();
  expect(reads).toBe(1);
  expect(shared.mountTableReads).toBe(1);
  expect(shared.facts).toBe(facts);
});

test("each tag's device is looked for once per batch, a tag no device has included", () => {
  const asked: string[] = [];
  const shared = openBatchShared(facts, () => [], (tag) => {
    asked.push(`${tag.name}=${tag.value}`);
    return tag.value === "root" ? "/dev/vda1" : undefined;
  });
  const root = deviceTagOf("LABEL=root")!;
  const missing = deviceTagOf("UUID=0a1b")!;
  for (let i = 0; i < 3; i++) {
    expect(shared.deviceOfTag(root)).toBe("/dev/vda1");
    expect(shared.deviceOfTag(missing)).toBeUndefined();
  }
  // the link form names the same tag
  expect(shared.deviceOfTag(deviceTagOf("/dev/disk/by-label/root")!)).toBe("/dev/vda1");
  expect(asked).toEqual(["LABEL=root", "UUID=0a1b"]);
});
