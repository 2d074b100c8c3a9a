/**
 * The erofs-file-mount step (plan/erofs-file.ts): mount an erofs image from the file itself,
 * no loop device (Linux 6.12+), and where the kernel answers ENOTBLK, run the loop mount the
 * image would have had instead:
 *
 *   mount("/l/layer.erofs", "/tmp/.../1", "erofs", MS_RDONLY, "device=/l/blob.erofs")
 *   on ENOTBLK: the loop-mount step (plan/loop-step.ts), the image and each device= file on a
 *   loop device of its own
 * Pure.
 */
import { formatLoopMountStep, describeLoopMountStep, type LoopMountStep } from "./loop-step.ts";
import { formatMountCall, mountCallArgs, type MountCall } from "./mount-call.ts";

export interface ErofsFileMountStep extends MountCall {
  readonly op: "erofs-file-mount";
  /** the image file */
  readonly source: string;
  readonly fstype: "erofs";
  /** the loop mount's data with its device= files as given */
  readonly data: string | null;
  /** what is mounted when the kernel says ENOTBLK: the loop mount as planned */
  readonly fallback: LoopMountStep;
  /** true when a later failure must unmount what this step mounted */
  readonly undoable: boolean;
}

/** The errno of a kernel that mounts erofs from block devices only. */
export const FILE_BACKED_REFUSAL = "ENOTBLK";

export function describeErofsFileMountStep(step: ErofsFileMountStep): Record<string, unknown> {
  return {
    op: step.op,
    syscall: "mount",
    args: mountCallArgs(step),
    fallbackOn: FILE_BACKED_REFUSAL,
    fallback: describeLoopMountStep(step.fallback),
    undoable: step.undoable,
  };
}

export function formatErofsFileMountStep(step: ErofsFileMountStep): string {
  const fallback = formatLoopMountStep(step.fallback)
    .split("\n")
    .map((line) => `  ${line}`);
  return [
    `${formatMountCall(step)}   (erofs from the image file itself, Linux 6.12+: no loop device)`,
    `on ${FILE_BACKED_REFUSAL} (this kernel mounts erofs from block devices only; remembered for the process), loop devices instead:`,
    ...fallback,
  ].join("\n");
}
