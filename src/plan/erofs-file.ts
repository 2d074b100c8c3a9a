/**
 * containerd's erofs mount handler (plugins/mount/erofs), for the erofs mounts its mount
 * manager makes: the temp mounts of a mount list (plan/activation.ts), such as the layer
 * images of containerd's erofs snapshotter (`{type: erofs, options: [ro, loop]}`). The image
 * is mounted from the file itself, with no loop device (erofs's file-backed mounts, Linux
 * 6.12+); where the kernel says ENOTBLK (an older one, or one built without
 * CONFIG_EROFS_FS_BACKED_BY_FILE) the loop mount planned for it runs instead, the image and
 * each device= file on a loop device of its own (plan/erofs-devices.ts), and the refusal is
 * remembered for the process (ops/erofs-file.ts), as containerd remembers it.
 *
 * The loop mount is kept, with no try, where the try cannot work or would mount something else:
 *   - a kernel before 6.12 (facts.erofsFileBacked), or one that said ENOTBLK already;
 *   - a source that is no regular file (a block device, the loop handler's device);
 *   - a device= that is no regular file: a file-backed erofs opens its devices as files (a
 *     block device there is EINVAL on 6.18), a loop-backed one as block devices;
 *   - offset=, sizelimit=, loop=/dev/loopN, direct-io: only a loop device does them;
 *   - data with the device= paths longer than the page mount(2) copies (the loop devices'
 *     names are shorter);
 *   - an idmapped mount, a type read from the superblock, a type list, a mount helper.
 * Pure.
 */
import type { ErofsFileMountStep } from "./erofs-file-step.ts";
import { DEVICE_OPTION, dataWithDevices, isRegularFile } from "./erofs-devices.ts";
import { MIN_PAGE_SIZE, type KernelFacts } from "./facts.ts";
import type { LoopMountStep } from "./loop-step.ts";
import type { PlanEnv } from "./mount-request.ts";
import { dataSize, tokenizeOptions } from "./options.ts";
import type { Plan } from "./steps.ts";

/** The type containerd's erofs mount handler takes. */
export const EROFS_HANDLER_TYPE = "erofs";

/**
 * plan with its erofs loop mount made an erofs-file-mount step (the loop mount its fallback),
 * or plan itself where the try is left out (above). refused: the kernel said ENOTBLK already.
 */
export function withErofsFileBacked(plan: Plan, facts: KernelFacts, env: PlanEnv, refused: boolean): Plan {
  if (!facts.erofsFileBacked || refused) return plan;
  const index = plan.steps.findIndex((step) => step.op === "loop-mount");
  const step = plan.steps[index];
  if (step === undefined || step.op !== "loop-mount" || !fileBackable(step, facts, env)) return plan;
  const steps = [...plan.steps];
  steps[index] = fileBackedStep(step);
  return { action: plan.action, steps };
}

function fileBackedStep(step: LoopMountStep): ErofsFileMountStep {
  return {
    op: "erofs-file-mount",
    source: step.loop.file,
    target: step.target,
    fstype: EROFS_HANDLER_TYPE,
    flags: step.flags,
    data: fileBackedData(step),
    fallback: step,
    undoable: step.undoable,
  };
}

/** The loop mount's data with its device= files named as given, not by their loop devices. */
function fileBackedData(step: LoopMountStep): string | null {
  if (step.devices === undefined) return step.data;
  return dataWithDevices(step.data, step.devices, step.devices.flatMap((d) => (d.loop === undefined ? [] : [d.path])));
}

function fileBackable(step: LoopMountStep, facts: KernelFacts, env: PlanEnv): boolean {
  const { loop } = step;
  if (step.fstype !== EROFS_HANDLER_TYPE || step.otherTypes !== undefined || step.idmap !== undefined || step.helper !== undefined) return false;
  if (loop.offset !== 0 || loop.sizeLimit !== 0 || loop.directIo || loop.device !== undefined || loop.partscan || loop.sectorSize) return false;
  if (!isRegularFile(loop.file, env) || !allDevicesFiles(step)) return false;
  const data = fileBackedData(step);
  // within the smallest page, the page size is not asked (the facts read it lazily)
  return data === null || dataSize(data) <= MIN_PAGE_SIZE || dataSize(data) <= facts.pageSize;
}

/**
 * Whether every device= of the loop mount names a regular file, as the planner found them
 * (plan/erofs-devices.ts): its devices each with a loop device, or no device= at all (the
 * planner leaves the items in the data when none of them is a file).
 */
function allDevicesFiles(step: LoopMountStep): boolean {
  if (step.devices !== undefined) return step.devices.every((d) => d.loop !== undefined);
  return step.data === null || !tokenizeOptions(step.data).some((item) => item.startsWith(DEVICE_OPTION));
}
