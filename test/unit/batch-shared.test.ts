// The setup a batch shares between entries: the kernel facts, and the mount table read once.
import { expect, test } from "bun:test";
import { openBatchShared } from "../../src/ops/batch-shared.ts";
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
