// The hot path's shared objects: callers that pass no options share one context (rebuilt when
// the kernel facts are reset), callers that pass any get their own; shared empty lists are frozen.
import { expect, test } from "bun:test";
import { NO_OPTIONS, opsContext } from "../../src/ops/context.ts";
import { kernelFacts, resetKernelFacts } from "../../src/ops/features.ts";
import { classifyOptions } from "../../src/plan/options.ts";
import { factsForVersion } from "../../src/plan/facts.ts";
import { libcSyscalls } from "../../src/sys/seam.ts";

test("no options: one shared context, on the real seam and the cached facts", () => {
  const a = opsContext();
  expect(opsContext({})).toBe(a);
  expect(opsContext(NO_OPTIONS)).toBe(a);
  expect(a.sys).toBe(libcSyscalls);
  expect(a.facts).toBe(kernelFacts());
  expect(a.log).toBeUndefined();
  resetKernelFacts();
  const b = opsContext();
  expect(b).not.toBe(a);
  expect(b.facts).toBe(kernelFacts());
});

test("any option gives a context of its own", () => {
  const facts = factsForVersion("5.4.0");
  const log = () => {};
  expect(opsContext({ facts }).facts).toBe(facts);
  expect(opsContext({ log }).log).toBe(log);
  expect(opsContext({ log })).not.toBe(opsContext({ log }));
  expect(Object.isFrozen(NO_OPTIONS)).toBe(true);
});

test("classification without data, propagation or userspace options shares frozen empty lists", () => {
  const c = classifyOptions(["bind", "ro"]);
  expect(c.data).toEqual([]);
  expect(Object.isFrozen(c.data)).toBe(true);
  expect(Object.isFrozen(c.propagation)).toBe(true);
  expect(Object.isFrozen(c.userspace)).toBe(true);
  const d = classifyOptions(["size=1m", "x-foo", "rshared"]);
  expect(d.data).toEqual(["size=1m"]);
  expect(d.userspace).toEqual(["x-foo"]);
  expect(d.propagation.length).toBe(1);
});
