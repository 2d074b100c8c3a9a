/**
 * -N NS on mount and umount: the command moves into that mount namespace before it reads
 * fstab, mountinfo or any path, as mount(8) -N does (ops/enter-namespace.ts).
 */
import { enterMountNamespace } from "../ops/enter-namespace.ts";
import { has, last, type ParsedArgs } from "./args.ts";
import { stderrMessages, type Io } from "./output.ts";

/** Enter the namespace -N names, if any; -v says which. */
export function enterAskedNamespace(args: ParsedArgs, io: Io): void {
  const ns = last(args, "namespace");
  if (ns === undefined) return;
  const log = has(args, "verbose") ? stderrMessages(io) : undefined;
  const { previous, current } = enterMountNamespace(ns, log === undefined ? {} : { log });
  log?.(`in mount namespace ${current} (was ${previous})`);
}
