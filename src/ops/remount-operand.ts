/**
 * The one operand of a remount or a propagation change (`mount -o remount,ro X`,
 * `mount --make-private X`), as mount(8) takes it: a path is the mount point (the kernel says
 * whether it is one); a block device or a UUID=/LABEL=/PART... tag, the device's latest
 * reachable mount; a name that is no path (a tmpfs's name, srv:/export), the latest reachable
 * mount with that source, as umount finds it.
 */
import { MountFailedError, PlanError, quotePath } from "../errors.ts";
import { deviceTagOf } from "../plan/device-tag.ts";
import { fileType } from "../sys/stat.ts";
import { mountPointOfSource } from "./umount-operand.ts";
import { mountPointOfDevice } from "./unmount.ts";

export function mountPointToChange(operand: string): string {
  const tagged = deviceTagOf(operand) !== undefined;
  const type = tagged ? undefined : fileType(operand);
  if (type === undefined && !tagged) {
    // no such path and no such source: the kernel's ENOENT names the mount point that is missing
    return mountPointOfSource(operand, "remount") ?? operand;
  }
  if (type !== "block" && !tagged) return operand;
  const point = mountPointOfDevice(operand, "remount");
  if (point === undefined) {
    // exit 32, as mount(8) fails it
    throw new MountFailedError(`${quotePath(operand)} is not mounted`, new PlanError(`no mount of ${quotePath(operand)}`), {
      action: `change the mount of ${quotePath(operand)}`,
      hint: "a remount changes a mounted filesystem: mount it first",
    });
  }
  return point;
}

/**
 * mount(8)'s --source X with -o remount: X names what is mounted (a block device, a tag, a
 * tmpfs's name), never a mount point: its latest reachable mount; undefined when nothing
 * mounted has that source.
 */
export function mountPointOfNamedSource(source: string): string | undefined {
  const device = deviceTagOf(source) !== undefined || fileType(source) === "block";
  return device ? mountPointOfDevice(source, "remount") : mountPointOfSource(source, "remount");
}
