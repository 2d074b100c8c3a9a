/**
 * What `mount -o remount X` changes, and with which options, as mount(8) 2.38 reads it: with X's
 * fstab line, the line's mount point and its options then -o's (as --options-mode combines
 * them), and those alone; else the mount X names (remount-operand.ts), each per-mount flag the
 * options do not mention keeping its value (mount(8) reads them from the mount table).
 */
import { PlanError, quotePath } from "../errors.ts";
import { findFstabLine, fstabEntry, remountOptions, type FstabOperandRole, type OptionsMode } from "../plan/fstab.ts";
import type { Mount } from "../plan/mount-request.ts";
import { readFstabSkippingBadLines, realOrAbsolutePath, type FstabPaths } from "./fstab-read.ts";
import { mountPointOfNamedSource, mountPointToChange } from "./remount-operand.ts";

export interface RemountRequestOptions {
  /** the command line's options (remount among them) */
  readonly options: readonly string[];
  /** what the operand may name: --target and --source give it one role, as in mount(8) */
  readonly by: FstabOperandRole;
  /** whether the fstab is read (--options-source without fstab, or with disable, reads none) */
  readonly readsFstab: boolean;
  /** -T: the fstab; by default $LIBMOUNT_FSTAB, else /etc/fstab */
  readonly file?: FstabPaths | undefined;
  readonly optionsMode?: OptionsMode | undefined;
  /** a bad fstab line, skipped */
  readonly warn?: ((message: string) => void) | undefined;
}

export interface RemountRequest {
  readonly m: Mount;
  readonly target: string;
  /** the options are all the remount gets: no flag kept from the mount (OpsOptions.remountReplaces) */
  readonly replaces: boolean;
}

export function remountRequest(operand: string, request: RemountRequestOptions): RemountRequest {
  const line = request.readsFstab ? remountLine(operand, request) : undefined;
  if (line !== undefined) return { m: remountOf(line.options), target: line.target, replaces: true };
  // no line: the mount's own flags are the base (mount(8) reads the mount table's options),
  // which --options-mode ignore leaves out, as mount(8) does; append and replace keep them
  // here, where mount(8)'s would let the table's options win over -o's, or drop the remount
  return { m: remountOf(request.options), target: mountPointOf(operand, request), replaces: request.optionsMode === "ignore" };
}

/**
 * `mount -o remount X` as mount(8) does it with an fstab line for X (the first naming it as a
 * mount point, else as a source; by only one of them with mount(8)'s --target or --source): the
 * line's mount point, and the remount's options (plan/fstab.ts remountOptions). undefined when
 * no line names X: the mount's own flags are then the remount's base. Bad lines are skipped, each
 * said through warn.
 */
function remountLine(operand: string, options: RemountRequestOptions): { target: string; options: readonly string[] } | undefined {
  const { lines, problems } = readFstabSkippingBadLines(options.file);
  for (const problem of problems) options.warn?.(`${problem}: ignored`);
  const line = findFstabLine(lines, operand, realOrAbsolutePath, options.by);
  if (line === undefined) return undefined;
  const { mount } = fstabEntry(line);
  return { target: mount.target!, options: remountOptions(mount.options, options.options, options.optionsMode) };
}

function mountPointOf(operand: string, request: RemountRequestOptions): string {
  if (request.by === "target") return operand;
  if (request.by === "either") return mountPointToChange(operand);
  const point = mountPointOfNamedSource(operand);
  if (point !== undefined) return point;
  // mount(8): "can't find mount source X in /etc/fstab", exit 1
  throw new PlanError(`remount ${quotePath(operand)}: no mount${request.readsFstab ? " or fstab line" : ""} has the source ${quotePath(operand)}`, {
    hint: "--source names what is mounted, a device, tag or tmpfs's name: name the mount point with --target",
  });
}

/** A remount request: no type or source of its own (the mount keeps them). */
function remountOf(options: readonly string[]): Mount {
  return { type: "", source: "", options };
}
