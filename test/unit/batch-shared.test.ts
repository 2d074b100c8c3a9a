// The setup a batch shares between entries: made once per key, released newest first.
import { expect, test } from "bun:test";
import { openBatchShared } from "../../src/ops/batch-shared.ts";
import { factsForVersion } from "../../src/plan/facts.ts";

const facts = factsForVersion("6.18.0");

test("shared() makes a resource once per key and release() frees them newest first", () => {
  const events: string[] = [];
  const shared = openBatchShared(facts, () => []);
  const make = (key: string) => () => {
    events.push(`make ${key}`);
    return { value: `ns-${key}`, release: () => events.push(`release ${key}`) };
  };
  expect(shared.shared("idmap:0:1000:1", make("a"))).toBe("ns-a");
  expect(shared.shared("idmap:0:1000:1", make("a"))).toBe("ns-a");
  expect(shared.shared("idmap:0:2000:1", make("b"))).toBe("ns-b");
  expect(shared.release()).toEqual([]);
  expect(events).toEqual(["make a", "make b", "release b", "release a"]);
  expect(shared.release()).toEqual([]); // nothing twice
});

test("a make() that throws is not cached; a failing release is returned, the others still run", () => {
  const shared = openBatchShared(facts, () => []);
  let tries = 0;
  const flaky = () => {
    if (++tries === 1) throw new Error("first try fails");
    return { value: tries };
  };
  expect(() => shared.shared("k", flaky)).toThrow("first try fails");
  expect(shared.shared("k", flaky)).toBe(2);
  const released: string[] = [];
  shared.shared("bad", () => ({ value: 0, release: () => { throw new Error("cannot release"); } }));
  shared.shared("good", () => ({ value: 0, release: () => released.push("good") }));
  const failures = shared.release();
  expect(failures.map((f) => (f as Error).message)).toEqual(["cannot release"]);
  expect(released).toEqual(["good"]);
});

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
