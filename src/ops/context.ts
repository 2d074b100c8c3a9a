/**
 * What every operation runs with: the syscall seam, the kernel facts, an optional logger.
 * Callers pass a partial context; missing parts default to the real kernel.
 */
import type { KernelFacts } from "../plan/facts.ts";
import { libcSyscalls, type Syscalls } from "../sys/seam.ts";
import { kernelFacts } from "./features.ts";
import type { RetryPolicy } from "./retry.ts";

export interface OpsContext {
  readonly sys: Syscalls;
  readonly facts: KernelFacts;
  /** receives one line per syscall made, for -v */
  readonly log: ((line: string) => void) | undefined;
  /** the EBUSY policy for unmounts a plan makes (temp mounts); UNMOUNT_BUSY when undefined */
  readonly unmountRetry?: RetryPolicy | undefined;
}

export interface OpsOptions {
  sys?: Syscalls;
  facts?: KernelFacts;
  log?: (line: string) => void;
  unmountRetry?: RetryPolicy;
}

export function opsContext(options: OpsOptions = {}): OpsContext {
  return {
    sys: options.sys ?? libcSyscalls,
    facts: options.facts ?? kernelFacts(),
    log: options.log,
    unmountRetry: options.unmountRetry,
  };
}
