// The SigIgn mask of /proc/PID/status, read as signal numbers (proc(5): bit N-1 for signal N).
import { expect, test } from "bun:test";
import { parseIgnoredSignals } from "../../src/sys/ignored-signals.ts";

test("SigIgn's bits are the ignored signals; none, or no such line, is none", () => {
  const status = (mask: string) => `Name:\tsh\nSigPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t${mask}\nSigCgt:\t0000000000010002\n`;
  expect(parseIgnoredSignals(status("0000000000000006"))).toEqual([2, 3]); // a script's background job: SIGINT, SIGQUIT
  expect(parseIgnoredSignals(status("0000000000000001"))).toEqual([1]); // nohup: SIGHUP
  expect(parseIgnoredSignals(status("0000000001001000"))).toEqual([13, 25]); // Bun's own: SIGPIPE, SIGXFSZ
  expect(parseIgnoredSignals(status("8000000000000000"))).toEqual([64]);
  expect(parseIgnoredSignals(status("0000000000000000"))).toEqual([]);
  expect(parseIgnoredSignals("Name:\tsh\n")).toEqual([]);
});
