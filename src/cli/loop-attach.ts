/**
 * A command line's attach of one loop device (mountkit loop attach, a link named losetup):
 * attachLoop under the stop signals' watch (stop-watch.ts), so that a signal during the attach
 * detaches the device again and ends the command by that signal, where its default action left
 * the device attached for good and its name never printed.
 */
import { quotePath } from "../errors.ts";
import { attachLoop, type AttachLoopOptions, type LoopAttachment } from "../ops/loop.ts";
import { RunStopped } from "../ops/stop.ts";
import type { Io } from "./output.ts";
import { SignalExit } from "./signal-exit.ts";
import { signalNumber, stopWatch, stoppedBy } from "./stop-watch.ts";

/**
 * attachLoop(file, options) watched: the attachment, and the stop signal that came once it was
 * made (the device stands: the caller prints its name, then ends by that signal: endedBy); or
 * the end by a signal that stopped it (said as `label: stopped by SIG...`), or that came as it
 * failed (the failure said first, by report). A failure without a signal is thrown.
 */
export function attachWatched(file: string, options: AttachLoopOptions, io: Io, label: string, report: (err: unknown) => void): { loop: LoopAttachment; signal: number | undefined } | SignalExit {
  const stop = stopWatch();
  let loop: LoopAttachment;
  try {
    loop = attachLoop(file, { ...options, stop });
  } catch (err) {
    const signal = stop.release();
    if (err instanceof RunStopped) {
      // -L that found file on a device already attached nothing: that device stays, as it was
      const what = err.reusedDevice === undefined ? "the device it had attached was detached" : `nothing was attached: ${quotePath(file)} was on ${err.reusedDevice} already, which stays`;
      return stoppedBy(io, signalNumber(err.reason)!, label, what, err);
    }
    if (signal === undefined) throw err;
    report(err);
    return new SignalExit(signal);
  }
  return { loop, signal: stop.release() };
}
