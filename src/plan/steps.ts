/**
 * A plan is data: the ordered steps an operation will take, each naming the syscall it makes
 * and its arguments. `--dry-run --json` prints it, tests assert it, ops/ executes it.
 * A new feature adds its own step kinds here and a runner for them in ops/steps/.
 */
import { PlanError, shownValue } from "../errors.ts";
import { requireObject, requireString, requireStringList } from "./caller-input.ts";
import { formatFlags, MNT } from "./flags.ts";
import { cString, formatMountCall, mountCallArgs, type MountCall } from "./mount-call.ts";
import { describeIdmapStep, formatIdmapStep, isIdmapStep, type IdmapStep } from "./idmap-steps.ts";
import { describeFsContextStep, formatFsContextStep, type FsContextStep } from "./fs-context-step.ts";
import { formatIdmappedNewMount, idmappedNewMountDescription, newMountSyscalls } from "./idmapped-new-mount.ts";
import { describeMountInDirStep, formatMountInDirStep, type MountInDirStep } from "./mount-in-dir-step.ts";
import { describeLoopMountStep, formatLoopMountStep, type LoopMountStep } from "./loop-step.ts";
import { describeErofsFileMountStep, formatErofsFileMountStep, type ErofsFileMountStep } from "./erofs-file-step.ts";
import { formatMountFallback } from "./read-only-fallback.ts";
import { formatOtherTypes } from "./type-list.ts";
import { describeProbedMountStep, formatProbedMountStep, type ProbedMountStep } from "./probe-step.ts";
import { describeSetOwnerStep, formatSetOwnerStep, type SetOwnerStep } from "./mountpoint-owner.ts";
import { describeSetTreeAttrsStep, formatSetTreeAttrsStep, type SetTreeAttrsStep } from "./recursive-attrs.ts";
import { describeCopyUpSourceStep, describeCopyUpStep, formatCopyUpSourceStep, formatCopyUpStep, type CopyUpSourceStep, type CopyUpStep } from "./copy-up.ts";

/** mount(2): a new mount, a remount or a propagation change. */
export interface MountStep extends MountCall {
  readonly op: "mount";
  /** why the step exists: the first mount, the propagation change, the read-only remount... */
  readonly role: "mount" | "bind" | "remount" | "bind-remount" | "propagation" | "move";
  /**
   * Flag bits copied at run time from the mount's current statfs flags (mapped ST_* -> MS_*):
   * a remount keeps what it does not change, and inside a user namespace the locked flags.
   */
  readonly inheritFlags: number;
  /** true when a later failure must undo this step: unmount what it mounted, or move it back */
  readonly undoable: boolean;
  /** a write-protected source is mounted read-only instead (plan/read-only-fallback.ts) */
  readonly readOnlyFallback?: boolean;
  /** a type list's types after fstype, each tried when the kernel refuses the one before (plan/type-list.ts) */
  readonly otherTypes?: readonly string[];
  /** role "mount" only: made idmapped with the user namespace in this slot, through the fd API (plan/idmapped-new-mount.ts) */
  readonly idmap?: string;
}

/** umount2(2). */
export interface UnmountStep {
  readonly op: "umount2";
  readonly target: string;
  readonly flags: number;
}

/**
 * Run a mount helper (mount.fuse3 SOURCE TARGET -o OPT ... -t SUBTYPE): execve of an argv,
 * never a shell. ops/ locates the helper and runs it (ops/fuse-mount.ts).
 */
export interface HelperStep {
  readonly op: "helper";
  readonly role: "mount";
  /**
   * the helper's name: one of plan/fuse.ts's allowed FUSE helpers, or, when the caller runs
   * util-linux's helpers, a mount.TYPE found in the helper dirs (plan/external-helper.ts)
   */
  readonly helper: string;
  /** absolute path of the helper; null in a plan until ops/ has located it */
  readonly path: string | null;
  /** argv, argv[0] being the helper's name */
  readonly argv: readonly string[];
  readonly target: string;
  /** "mount overlay on /x": named in the helper's errors */
  readonly action: string;
  /** true when a later failure must unmount what this step mounted */
  readonly undoable: boolean;
  /** Which kind of helper, and so how it runs (ops/fuse-mount.ts): see HelperKind. */
  readonly helperKind: HelperKind;
}

/**
 * "fuse": a FUSE helper (plan/fuse.ts), run as containerd runs it: its output is kept for its
 * error (and written out after it succeeded where the caller chose its own stdout and stderr).
 * "external": util-linux's external mount.TYPE helper (plan/external-helper.ts), run as mount(8)
 * runs it: its stdin, stdout and stderr are what the caller chose (OpsOptions.helperStdio).
 */
export type HelperKind = "fuse" | "external";

export type Step =
  | MountStep
  | UnmountStep
  | HelperStep
  | IdmapStep
  | FsContextStep
  | MountInDirStep
  | LoopMountStep
  | ErofsFileMountStep
  | ProbedMountStep
  | SetOwnerStep
  | SetTreeAttrsStep
  | CopyUpSourceStep
  | CopyUpStep;

export interface Plan {
  /** "mount tmpfs on /x": what the plan does, used as the action in error messages */
  readonly action: string;
  readonly steps: readonly Step[];
}

/** The mount steps that make a new filesystem's mount: a type given, read from the device, or a loop device's. */
export function isNewFilesystemMount(step: Step): step is Extract<Step, { op: "mount" | "probed-mount" | "loop-mount" }> {
  return (step.op === "mount" && step.role === "mount") || step.op === "probed-mount" || step.op === "loop-mount";
}

/** A step as printed by --dry-run --json: syscall, arguments, flags as a number and as names. */
export function describeStep(step: Step): Record<string, unknown> {
  requireObject(step, "step", "describe step", "a step of a plan (an object)");
  if (isIdmapStep(step)) return describeIdmapStep(step);
  switch (step.op) {
    case "mount":
      return {
        op: step.op,
        role: step.role,
        ...(step.idmap === undefined ? { syscall: "mount" } : { syscalls: newMountSyscalls(step.idmap), ...idmappedNewMountDescription(step, step.idmap) }),
        args: mountCallArgs(step),
        ...(step.inheritFlags ? { inheritFlags: step.inheritFlags, inheritFlagNames: formatFlags(step.inheritFlags) } : {}),
        ...(step.readOnlyFallback ? { readOnlyFallback: true } : {}),
        ...(step.otherTypes ? { otherTypes: step.otherTypes } : {}),
        undoable: step.undoable,
      };
    case "umount2":
      return {
        op: step.op,
        syscall: "umount2",
        args: { target: step.target, flags: step.flags, flagNames: formatFlags(step.flags, MNT, "MNT_") },
      };
    case "helper":
      return {
        op: step.op,
        role: step.role,
        syscall: "execve",
        args: { helper: step.helper, path: step.path, argv: step.argv, target: step.target },
        undoable: step.undoable,
      };
    case "fs-context":
      return describeFsContextStep(step);
    case "mount-in-dir":
      return describeMountInDirStep(step);
    case "loop-mount":
      return describeLoopMountStep(step);
    case "erofs-file-mount":
      return describeErofsFileMountStep(step);
    case "probed-mount":
      return describeProbedMountStep(step);
    case "set-owner":
      return describeSetOwnerStep(step);
    case "set-tree-attrs":
      return describeSetTreeAttrsStep(step);
    case "copy-up-source":
      return describeCopyUpSourceStep(step);
    case "copy-up":
      return describeCopyUpStep(step);
  }
  throw unknownOp(step, "describe step");
}

/** A caller's object whose op no step has: undefined was returned (describeStep) or a TypeError part-way. */
function unknownOp(step: object, action: string): PlanError {
  return new PlanError(`${action}: step.op must be a step's op ("mount", "umount2", "helper", ...), got ${shownValue((step as { op?: unknown }).op)}`);
}

/** One line per step, C-like: mount("tmpfs", "/x", "tmpfs", MS_NOSUID, "size=1m") */
export function formatStep(step: Step): string {
  requireObject(step, "step", "format step", "a step of a plan (an object)");
  if (isIdmapStep(step)) return formatIdmapStep(step);
  switch (step.op) {
    case "mount": {
      const inherit = step.inheritFlags ? `  [+ current ${formatFlags(step.inheritFlags)}]` : "";
      const types = step.otherTypes ? `\n${formatOtherTypes(step.otherTypes)}` : "";
      const fallback = step.readOnlyFallback ? `\n${formatMountFallback(step.source!)}` : "";
      const call = step.idmap === undefined ? formatMountCall(step) : formatIdmappedNewMount(step, step.idmap);
      return `${call}${inherit}${types}${fallback}`;
    }
    case "umount2":
      return `umount2(${cString(step.target)}, ${formatFlags(step.flags, MNT, "MNT_")})`;
    case "helper":
      return formatExec(step.path ?? `<${step.helper} not located>`, step.argv);
    case "fs-context":
      return formatFsContextStep(step);
    case "mount-in-dir":
      return formatMountInDirStep(step);
    case "loop-mount":
      return formatLoopMountStep(step);
    case "erofs-file-mount":
      return formatErofsFileMountStep(step);
    case "probed-mount":
      return formatProbedMountStep(step);
    case "set-owner":
      return formatSetOwnerStep(step);
    case "set-tree-attrs":
      return formatSetTreeAttrsStep(step);
    case "copy-up-source":
      return formatCopyUpSourceStep(step);
    case "copy-up":
      return formatCopyUpStep(step);
  }
  throw unknownOp(step, "format step");
}

/** execve("/usr/sbin/mount.fuse3", ["mount.fuse3", "overlay", "/x", ...]): how a helper run prints. */
export function formatExec(path: string, argv: readonly string[]): string {
  requireString(path, "path", "format exec");
  requireStringList(argv, "argv", "format exec");
  const shown = path.startsWith("<") ? path : JSON.stringify(path);
  return `execve(${shown}, [${argv.map((a) => JSON.stringify(a)).join(", ")}])`;
}

