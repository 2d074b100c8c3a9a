/**
 * The loop devices of an erofs loop mount's device= files (plan/erofs-devices.ts): attached
 * one after another right after the image's own, under the same lock, and given back in
 * order. One that fails detaches those attached before it, and its error names the device=
 * option; the caller frees the image's device.
 */
import { SyscallError, quotePath } from "../errors.ts";
import type { LoopMountStep, LoopSetup } from "../plan/loop-step.ts";
import type { AttachedLoop } from "./loop.ts";

export function attachErofsDevices(step: LoopMountStep, attach: (setup: LoopSetup) => AttachedLoop, release: (loop: AttachedLoop) => void): AttachedLoop[] {
  const attached: AttachedLoop[] = [];
  for (const device of step.devices ?? []) {
    if (device.loop === undefined) continue;
    try {
      attached.push(attach(device.loop));
    } catch (err) {
      for (const loop of attached.reverse()) release(loop);
      if (err instanceof SyscallError) err.withDetails(`erofs device=${quotePath(device.path)}`);
      throw err;
    }
  }
  return attached;
}
