/**
 * What every operation runs with: the syscall seam, the kernel facts, an optional logger.
 * Callers pass a partial context; missing parts default to the real kernel.
 */
import type { KernelFacts } from "../plan/facts.ts";
import { libcSyscalls, type Syscalls } from "../sys/seam.ts";
import { kernelFacts } from "./features.ts";

export interface OpsContext {
  readonly sys: Syscalls;
  readonly facts: KernelFacts;
  /** receives one line per syscall made, for -v */
  readonly log: ((line: string) => void) | undefined;
}

export interface OpsOptions {
  sys?: Syscalls;
  facts?: KernelFacts;
  log?: (line: string) => void;
}

/** The options of a caller that passed none: shared, so a call allocates nothing for them. */
export const NO_OPTIONS: OpsOptions = Object.freeze({});

// The context of callers that pass nothing, reused while the cached kernel facts stay the same:
// the hot path of a mount allocates as little as it can (docs/bench.md has the measurements).
let defaultContext: OpsContext | undefined;

export function opsContext(options: OpsOptions = NO_OPTIONS): OpsContext {
  if (options.sys === undefined && options.facts === undefined && options.log === undefined) {
    const facts = kernelFacts();
    if (defaultContext === undefined || defaultContext.facts !== facts) {
      defaultContext = { sys: libcSyscalls, facts, log: undefined };
    }
    return defaultContext;
  }
  return { sys: options.sys ?? libcSyscalls, facts: options.facts ?? kernelFacts(), log: options.log };
}
