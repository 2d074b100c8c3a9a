/**
 * Fault injection at the syscall seam: make the Nth call of a syscall fail with an errno the
 * kernel cannot be made to return on demand (EBUSY at a chosen step, ECHILD from a helper),
 * while every other call goes to the real kernel.
 */
import { PlanError, shownValue, SyscallError } from "../errors.ts";
import type { Syscalls } from "./seam.ts";

export interface Fault {
  /** 1-based call numbers of this syscall that fail; "always" fails every call */
  readonly calls: readonly number[] | "always";
  readonly errno: number;
  /** when a target/path argument is given, only calls on that path count */
  readonly path?: string;
  /**
   * only calls whose first argument is a descriptor open on this path count (an ioctl on one
   * device, where the calls before it may ask other devices: other processes' too)
   */
  readonly fdPath?: string;
  /** the syscall named in the error; "<name>(2)" by default */
  readonly syscall?: string;
  /**
   * "before" (the default): the call is not made. "after": the real call is made and its
   * result is lost, replaced by the error (a helper that ran, mounted, and whose wait then
   * failed with ECHILD).
   */
  readonly when?: "before" | "after";
}

export type FaultPlan = Partial<Record<keyof Syscalls, Fault | readonly Fault[]>>;

/**
 * A seam and a fault plan as a test or a caller writes them: objects, each fault an object with
 * its calls ("always" or a list of numbers) and an errno. Checked once, when wrapped: a fault of
 * the wrong kind was a TypeError at the first call of its syscall, in the middle of the run.
 */
function checkFaultPlan(real: unknown, faults: unknown): void {
  const action = "inject faults";
  if (typeof real !== "object" || real === null || Array.isArray(real)) throw new PlanError(`${action}: real must be a Syscalls object (libcSyscalls), got ${shownValue(real)}`);
  if (typeof faults !== "object" || faults === null || Array.isArray(faults)) throw new PlanError(`${action}: faults must be an object of faults by syscall, got ${shownValue(faults)}`);
  for (const [name, spec] of Object.entries(faults)) {
    if (spec === undefined) continue;
    const list: readonly unknown[] = Array.isArray(spec) ? spec : [spec];
    list.forEach((fault, i) => {
      const field = Array.isArray(spec) ? `faults.${name}[${i}]` : `faults.${name}`;
      const { calls, errno } = (fault ?? {}) as { calls?: unknown; errno?: unknown };
      const callsOk = calls === "always" || (Array.isArray(calls) && calls.every((n) => Number.isInteger(n)));
      if (typeof fault !== "object" || fault === null || !callsOk || !Number.isInteger(errno)) {
        throw new PlanError(`${action}: ${field} must be a fault {calls: "always" or [numbers], errno}, got ${shownValue(fault)}`);
      }
    });
  }
}

export interface InjectedSyscalls extends Syscalls {
  /** how many times each syscall was called, faulted calls included */
  readonly counts: Record<string, number>;
  /** the calls made, in order: [syscall, ...arguments] */
  readonly log: unknown[][];
}

/** Wrap a seam so the calls the plan names fail; all others are passed through. */
export function injectFaults(real: Syscalls, faults: FaultPlan): InjectedSyscalls {
  checkFaultPlan(real, faults);
  const counts: Record<string, number> = {};
  const log: unknown[][] = [];
  const wrapped: Record<string, unknown> = { counts, log };
  for (const name of Object.keys(real) as (keyof Syscalls)[]) {
    const fn = real[name] as (...args: unknown[]) => unknown;
    const spec = faults[name];
    const list: readonly Fault[] = spec === undefined ? [] : Array.isArray(spec) ? spec : [spec as Fault];
    const matched = list.map(() => 0);
    wrapped[name] = (...args: unknown[]) => {
      log.push([name, ...args]);
      counts[name] = (counts[name] ?? 0) + 1;
      const paths = args.filter((a): a is string => typeof a === "string");
      list.forEach((fault, i) => {
        if (fault.path !== undefined && !paths.includes(fault.path) && !paths.some((p) => fdPathNames(real, p, fault.path!))) return;
        if (fault.fdPath !== undefined && !(typeof args[0] === "number" && fdOpenOn(real, args[0], fault.fdPath))) return;
        const n = (matched[i] = (matched[i] ?? 0) + 1);
        if (fault.calls === "always" || fault.calls.includes(n)) {
          const error = new SyscallError(fault.syscall ?? `${name}(2)`, fault.errno, paths);
          if (fault.when === "after") {
            try {
              fn(...args);
            } catch {
              // the call's own outcome is lost either way
            }
          }
          throw error;
        }
      });
      return fn(...args);
    };
  }
  return wrapped as unknown as InjectedSyscalls;
}

/**
 * Whether path is a /proc/self/fd/N path (a mount point pinned by fd: ops/pinned-target.ts)
 * of the file at wanted: a fault on a path also hits the calls made on it by fd.
 */
function fdPathNames(real: Syscalls, path: string, wanted: string): boolean {
  const fd = /^\/proc\/self\/fd\/\d+(?=\/\.$|$)/.exec(path);
  return fd !== null && real.readlink(fd[0]) === wanted;
}

/** Whether descriptor fd is open on the file at wanted (readlink of /proc/self/fd/N). */
function fdOpenOn(real: Syscalls, fd: number, wanted: string): boolean {
  try {
    return real.readlink(`/proc/self/fd/${fd}`) === wanted;
  } catch {
    return false;
  }
}
