// Batch output: -v lines, the progress line on a terminal, --json per entry.
import { expect, test } from "bun:test";
import { batchReporter, entryJson, PROGRESS_MIN_ENTRIES } from "../../src/cli/batch-output.ts";
import type { EntryResult } from "../../src/ops/batch.ts";

function io(terminal: boolean) {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), errIsTerminal: terminal } };
}
const result = (i: number): EntryResult => ({ index: i, where: `entry ${i}`, target: `/r/m${i}`, status: "mounted", timeMs: 0.25 });

test("a progress line on a terminal for batches over a few dozen entries, cleared at the end", () => {
  const t = io(true);
  const r = batchReporter(t.io, { verbose: false, json: false, label: "apply" });
  const total = PROGRESS_MIN_ENTRIES + 1;
  for (let i = 1; i <= total; i++) r.onEntry(result(i), i, total);
  r.finish();
  expect(t.err[0]).toBe(`\r\x1b[Kmountkit: apply: 1/${total} entries`);
  expect(t.err.at(-2)).toBe(`\r\x1b[Kmountkit: apply: ${total}/${total} entries`);
  expect(t.err.at(-1)).toBe("\r\x1b[K");
  expect(t.out).toEqual([]);
});

test("no progress line off a terminal, for small batches, or with --json", () => {
  for (const [terminal, total, json] of [[false, 100, false], [true, PROGRESS_MIN_ENTRIES, false], [true, 100, true]] as const) {
    const t = io(terminal);
    const r = batchReporter(t.io, { verbose: false, json, label: "apply" });
    for (let i = 1; i <= total; i++) r.onEntry(result(i), i, total);
    r.finish();
    expect(t.err).toEqual([]);
  }
});

test("-v: one line per entry on stdout, no progress line", () => {
  const t = io(true);
  const r = batchReporter(t.io, { verbose: true, json: false, label: "apply" });
  for (let i = 1; i <= 50; i++) r.onEntry(result(i), i, 50);
  r.finish();
  expect(t.out).toHaveLength(50);
  expect(t.out[2]).toBe("apply: [3/50] entry 3: /r/m3: mounted (0.25 ms)\n");
  expect(t.err).toEqual([]);
});

test("an entry in --json: target, ok, error, time", () => {
  expect(entryJson(result(1))).toEqual({ index: 1, where: "entry 1", target: "/r/m1", ok: true, status: "mounted", timeMs: 0.25 });
  expect(entryJson({ ...result(2), status: "rolled-back" }).ok).toBe(false);
});
