/**
 * A process of its own (`bun FILE SOURCE TARGET`), so that a stop signal its watch fails to
 * catch ends it and not the test runner: mount -o bind,ro of SOURCE on TARGET with a stop made
 * from a signal watch whose lookup finds no sigignore (a libc without it), SIGTERM raised right
 * after the bind's mount(2) and again as the undo's umount2(2) is made. Prints what it saw as
 * JSON: the run's RunStopped reason (or the error), and the signal release() reported.
 */
import { mount, RunStopped } from "../../src/index.ts";
import { probeKernelFacts } from "../../src/ops/features.ts";
import type { StopRequests } from "../../src/ops/stop.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { SIGNALS, signalsNamed } from "../../src/sys/signal-numbers.ts";
import { libcSymbol, watchSignals } from "../../src/sys/signal-watch.ts";

const [source, target] = process.argv.slice(2);
if (source === undefined || target === undefined) throw new Error("usage: bun stop-without-sigignore.ts SOURCE TARGET");

const watch = watchSignals(Object.values(signalsNamed("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM")), (name) => (name === "sigignore" ? 0n : libcSymbol(name)));
const stop: StopRequests = {
  arm: () => watch.arm(),
  requested: () => {
    const signal = watch.pending();
    return signal === undefined ? undefined : Object.entries(SIGNALS).find(([, n]) => n === signal)![0];
  },
};
// the signal raised by the kernel at a chosen call, as the CLI's tests raise it under strace
const sys: Syscalls = {
  ...libcSyscalls,
  mount(...args) {
    libcSyscalls.mount(...args);
    process.kill(process.pid, "SIGTERM");
  },
  umount2(...args) {
    process.kill(process.pid, "SIGTERM");
    libcSyscalls.umount2(...args);
  },
};

let outcome: string;
try {
  mount({ type: "bind", source, options: ["bind", "ro"] }, target, { stop, sys, facts: probeKernelFacts("legacy") });
  outcome = "mounted";
} catch (err) {
  outcome = err instanceof RunStopped ? `stopped by ${err.reason}, cleanup errors: ${err.cleanupErrors.length}` : `failed: ${String(err)}`;
}
const released = watch.release();
console.log(JSON.stringify({ outcome, released }));
