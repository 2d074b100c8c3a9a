/**
 * The fstab forms of mount and umount, as util-linux does them. mount -a and umount -a: in file
 * order (unmounting in reverse), each line on its own (no rollback: a failed line does not undo
 * the others), already-mounted lines skipped, `nofail` failures as warnings. mount X: the one
 * line for X.
 */
import { BatchError, isErrno, MountkitError, PlanError, quotePath, shownValue, SyscallError } from "../errors.ts";
import { Errno } from "../errno.ts";
import type { BatchEntry } from "../plan/batch-entry.ts";
import { optionalPath, optionalString, requireOptionsObject, requirePath, requireStringList } from "../plan/caller-input.ts";
import {
  findFstabLine,
  findFstabPair,
  fstabEntry,
  lineName,
  matchFstype,
  OPTIONS_MODES,
  optionsMatch,
  selectFstab,
  withCommandLineOptions,
  type FstabSelection,
  type OptionsMode,
} from "../plan/fstab.ts";
import type { Plan } from "../plan/steps.ts";
import { planEntries, type PlannedEntry } from "./apply.ts";
import { hasTransform } from "../plan/activation.ts";
import { planEntry } from "../plan/batch-plan.ts";
import { opsContext, type OpsOptions } from "./context.ts";
import { defaultFstab, environmentNote, fstabName, readFstabOrDefault, realOrAbsolutePath, type FstabPaths } from "./fstab-read.ts";
import { kernelRefusal } from "./fs-params.ts";
import { checkLoopBackingFiles } from "./loop.ts";
import { planEnv, readyToRun } from "./mount.ts";
import { runEntries, type BatchOptions, type BatchOutcome } from "./batch.ts";
import { mountOn, planOn } from "./mount.ts";
import { canonicalPrefix, placeInPrefix, resolveInRoot } from "./resolve.ts";
import { withCreatedTarget } from "./targets.ts";
import type { UnmountOptions } from "./unmount.ts";
import { unmountAt } from "./umount-operand.ts";
import { helperUnmounter } from "./umount-helper.ts";

// the reading of fstab files, for the callers that mount or unmount their lines too
export { defaultFstab, fstabName, readFstab, type FstabPaths } from "./fstab-read.ts";

export interface FstabOptions {
  /**
   * the fstab to read; by default $LIBMOUNT_FSTAB, else /etc/fstab, where a missing default
   * has no lines (as libmount reads it: `mount -a` on a host without one mounts nothing, exit
   * 0); a file given that is missing is an error
   */
  file?: FstabPaths;
  /** mount -t: only these types (libmount list syntax: "tmpfs,proc", "nonfs") */
  types?: string;
  /** mount -O: only lines whose options match (libmount syntax: "noauto", "+nofail") */
  testOptions?: string;
  /** mount -a -o: options added after each selected line's own (-O matches the line's alone) */
  options?: readonly string[];
  /** --options-mode: how those combine with a line's (after them by default) */
  optionsMode?: OptionsMode;
  /** --target-prefix: every mount point inside this directory (resolved in it, as in a root) */
  targetPrefix?: string;
}

/**
 * A library caller's fstab options: an object, each field of its kind, checked before the file
 * is read (a number as types was a TypeError at the first line, a list as testOptions too).
 */
function checkFstabOptions(options: unknown, action: string): void {
  requireOptionsObject(options, action);
  if (options === undefined) return;
  const o = options as { [K in keyof (FstabOptions & FstabMountOptions)]?: unknown };
  if (Array.isArray(o.file)) o.file.forEach((file, i) => requirePath(file, `file[${i}]`, action));
  else optionalPath(o.file, "file", action);
  optionalString(o.types, "types", action);
  optionalString(o.testOptions, "testOptions", action);
  optionalString(o.type, "type", action);
  if (o.options !== undefined) requireStringList(o.options, "options", action);
  if (o.optionsMode !== undefined && !OPTIONS_MODES.includes(o.optionsMode as OptionsMode)) {
    throw new PlanError(`${action}: optionsMode must be one of ${OPTIONS_MODES.join(", ")}, got ${shownValue(o.optionsMode)}`);
  }
  optionalPath(o.targetPrefix, "targetPrefix", action);
}

/** The lines mount -a would mount, and those it leaves out. No syscall beyond reading the file. */
export function selectFstabFile(options: FstabOptions = {}): FstabSelection {
  const selection = selectFstab(readFstabOrDefault(options.file), { types: options.types, options: options.testOptions }, fstabName(options.file));
  const extra = options.options ?? [];
  const mode = options.optionsMode ?? "prepend";
  if (extra.length === 0 && mode !== "ignore") return selection;
  return { ...selection, entries: selection.entries.map((entry) => withCommandLineOptions(entry, extra, mode)) };
}

/**
 * mount -a: every selected line, in file order. Lines already mounted are skipped; a failure
 * leaves the other lines mounted; nofail lines fail with a warning. A line that cannot be
 * planned (its device not found, a type the kernel lacks) fails alone, in its turn; only a
 * line that breaks fstab's syntax refuses the file (a PlanError, thrown). The outcome's error is a
 * BatchError of the failed lines (exit 64 when some mounted, 32 when none did).
 */
export function mountFstab(options: FstabOptions & BatchOptions = {}): BatchOutcome & { selection: FstabSelection } {
  checkFstabOptions(options, "mount -a");
  const selection = selectFstabFile(options);
  const outcome = runEntries(selection.entries, fstabRoot(options), { ...options, action: "mount -a", keepGoing: true, skipMounted: true, mountAllRules: true });
  return Object.assign(outcome, { selection });
}

/** A line of mount -a's dry run: its plan, or why it could not be planned. */
export type FstabLinePlan = { readonly planned: PlannedEntry } | { readonly entry: BatchEntry; readonly error: MountkitError };

/**
 * mount -a --dry-run: each selected line planned on its own, as mount -a meets it, so a line
 * that cannot be planned (its device not found, a type the kernel lacks) fails alone. A line
 * that breaks fstab's syntax still refuses the whole file (a PlanError).
 */
export function planFstab(options: FstabOptions & OpsOptions = {}): { selection: FstabSelection; lines: FstabLinePlan[] } {
  checkFstabOptions(options, "mount -a");
  const selection = selectFstabFile(options);
  const root = fstabRoot(options);
  const ctx = opsContext(options);
  const lines = selection.entries.flatMap((entry): FstabLinePlan[] => {
    // containerd's transforms plan temp mounts around the line: planned as apply plans them
    if (hasTransform(entry.mount.type)) return planEntries([entry], root, options, "mount -a").map((planned) => ({ planned }));
    try {
      const target = resolveInRoot(root, entry.mount.target, ctx.sys);
      const plan = readyToRun(planEntry(entry, target, ctx.facts, planEnv(ctx)), ctx);
      checkLoopBackingFiles(plan, ctx);
      const refusal = kernelRefusal(entry, plan, ctx);
      if (refusal !== undefined) throw new PlanError(`${entry.where}: ${entry.mount.type} on ${quotePath(target)}: ${refusal}`);
      return [{ planned: { entry, target, plan } }];
    } catch (err) {
      if (!(err instanceof MountkitError)) throw err;
      if (err instanceof SyscallError) return [{ entry, error: err.withAction(`mount -a: ${entry.where}: ${err.action ?? `resolve ${quotePath(entry.mount.target)}`}`) }];
      err.message = `mount -a: ${err.message.startsWith(`${entry.where}: `) ? "" : `${entry.where}: `}${err.message}`;
      return [{ entry, error: err }];
    }
  });
  return { selection, lines };
}

/** Where mount -a resolves the lines' mount points: in --target-prefix (which must exist), else "/". */
export function fstabRoot(options: Pick<FstabOptions, "targetPrefix">): string {
  return options.targetPrefix === undefined ? "/" : canonicalPrefix(options.targetPrefix);
}

/** mount X with one operand: the fstab to look X up in, and what the command line adds. */
export interface FstabMountOptions extends OpsOptions {
  /** the fstab (files or directories); by default $LIBMOUNT_FSTAB, else /etc/fstab */
  file?: FstabPaths;
  /** -t: replaces the line's type */
  type?: string;
  /** command-line options, after the line's own: the last one wins, as in mount(8) */
  options?: readonly string[];
  /** --options-mode: how the command line's options combine with the line's */
  optionsMode?: OptionsMode;
  /** --target-prefix: the line's mount point inside this directory (resolved in it, as in a root) */
  targetPrefix?: string;
}

/**
 * What `mount X` mounts, as mount(8) does with one operand: the fstab line whose mount point
 * (else whose source) is X, with the command line's options after the line's (or as
 * optionsMode says). With {source, target} (mount --options-source-force SOURCE TARGET), the
 * line with both, mounted from that source on that target. A PlanError when no line is found.
 */
export function fstabRequest(operand: string | { readonly source: string; readonly target: string }, options: FstabMountOptions = {}): BatchEntry {
  if (typeof operand === "string") requirePath(operand, "operand", "mount");
  else if (typeof operand === "object" && operand !== null) {
    requirePath(operand.source, "source", "mount");
    requirePath(operand.target, "target", "mount");
  } else throw new PlanError(`mount: expected a mount point or source, or {source, target}, got ${shownValue(operand)}`);
  checkFstabOptions(options, "mount");
  const lines = readFstabOrDefault(options.file);
  const line = typeof operand === "string" ? findFstabLine(lines, operand, realOrAbsolutePath) : findFstabPair(lines, operand.source, operand.target, realOrAbsolutePath);
  if (line === undefined) {
    const what = typeof operand === "string" ? quotePath(operand) : `${quotePath(operand.source)} on ${quotePath(operand.target)}`;
    const hint = typeof operand === "string" ? "give both SOURCE and TARGET, or add a line for it to the fstab" : "leave out --options-source-force, or add a line with that source and mount point";
    const note = environmentNote(options.file);
    throw new PlanError(`mount: ${what}: can't find in ${fstabName(options.file)}`, { hint: note === undefined ? hint : `${hint}; ${note}` });
  }
  // a relative mount point named as written (`mount rel`, the line `src rel ...`): where it
  // names from here, as util-linux mounts it; mount -a, which has no such operand, refuses it
  const placedLine = typeof operand === "string" && operand === line.target && !line.target.startsWith("/") ? { ...line, target: realOrAbsolutePath(line.target) } : line;
  const entry = withCommandLineOptions(fstabEntry(placedLine), options.options ?? [], options.optionsMode);
  // The command line's source, target and type win over the line's, as libmount applies a line.
  const placed = typeof operand === "string" ? entry.mount : { ...entry.mount, source: operand.source, target: operand.target };
  const typed = options.type === undefined ? placed : { ...placed, type: options.type };
  return typed === entry.mount ? entry : { ...entry, mount: typed };
}

/** The plan `mount X` would run, and its mount point; nothing is created or mounted. */
export function planFromFstab(operand: Parameters<typeof fstabRequest>[0], options: FstabMountOptions = {}): { plan: Plan; target: string } {
  const entry = fstabRequest(operand, options);
  const { target } = placedTarget(entry.mount.target!, options);
  return { plan: planOn(entry.mount, target, options), target };
}

/**
 * mount X from the fstab (fstabRequest). A line's X-mount.mkdir creates the missing mount
 * point first, and removes what it created again (rmdir only) when the mount fails.
 */
export function mountFromFstab(operand: Parameters<typeof fstabRequest>[0], options: FstabMountOptions = {}): { plan: Plan; target: string } {
  const entry = fstabRequest(operand, options);
  const { root, target } = placedTarget(entry.mount.target!, options);
  const run = (stop = options.stop) => mountOn(entry.mount, target, { ...options, targetRoot: root, stop });
  return { plan: entry.createTarget ? withCreatedTarget(entry.mount, target, entry.createTarget, options.log, run, root, opsContext(options).stop) : run(), target };
}

/** Where a line's mount point is mounted: inside --target-prefix (the root) when one is given. */
function placedTarget(target: string, options: FstabMountOptions): { root: string; target: string } {
  return options.targetPrefix === undefined ? { root: "/", target } : placeInPrefix(options.targetPrefix, target, options.sys);
}

export interface FstabUnmountResult {
  readonly line: number;
  /** the file of the line, when the lines come from more than one */
  readonly file?: string;
  readonly target: string;
  /** remounted-read-only: busy, with readOnlyWhenBusy (umount -a -r) */
  readonly status: "unmounted" | "not-mounted" | "remounted-read-only" | "failed";
  readonly error?: MountkitError;
}

/**
 * umount -a -T FILE: the fstab's mount points in reverse file order, each one unmounted if
 * something is mounted there (noauto lines included: they may have been mounted by hand; swap
 * lines and lines outside -t or -O left out). Every failure (a line whose mount point is
 * relative among them) is reported in one BatchError.
 */
export function unmountFstab(options: FstabOptions & UnmountOptions & { readOnlyWhenBusy?: boolean } = {}): { results: FstabUnmountResult[]; error: BatchError | undefined } {
  checkFstabOptions(options, "umount -a");
  const lines = readFstabOrDefault(options.file).filter(
    (l) => l.fstype !== "swap" && l.target !== "swap" && matchFstype(l.fstype, options.types) && optionsMatch(l.options, options.testOptions),
  );
  const results: FstabUnmountResult[] = [];
  const errors: MountkitError[] = [];
  const viaHelper = helperUnmounter(options);
  for (const l of [...lines].reverse()) {
    const line = { line: l.line, ...(l.file === undefined ? {} : { file: l.file }) };
    let target = l.target;
    try {
      // refused as mount -a refuses it (a path relative to wherever umount runs names no mount
      // point of the file's), but here the other lines are still unmounted: a shutdown's umount -a
      if (!l.target.startsWith("/")) throw new PlanError(`mount point ${quotePath(l.target)} is not an absolute path`);
      target = resolveInRoot("/", l.target, options.sys);
      // as umount TARGET takes it: -r, and its type's umount.TYPE helper with externalHelpers
      results.push({ ...line, target, status: unmountAt(target, options, viaHelper) });
    } catch (err) {
      if (!(err instanceof MountkitError)) throw err;
      if (isErrno(err, Errno.ENOENT)) {
        results.push({ ...line, target, status: "not-mounted" }); // no such mount point
        continue;
      }
      if (err instanceof SyscallError) err.withAction(`umount -a: ${lineName(l)}: ${err.action ?? `unmount ${quotePath(target)}`}`);
      else err.message = `umount -a: ${lineName(l)}: ${err.message}`;
      errors.push(err);
      results.push({ ...line, target, status: "failed", error: err });
    }
  }
  const unmounted = results.filter((r) => r.status === "unmounted").length;
  return { results, error: errors.length ? new BatchError("umount -a", errors, unmounted) : undefined };
}
