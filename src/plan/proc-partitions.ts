/**
 * /proc/partitions: "major minor  #blocks  name", a blank line, then one block device per
 * line; the kernel lists every device with a size (an attached loop device, not a free one). Pure.
 */

/** The device names, in the kernel's order. */
export function partitionNames(text: string): string[] {
  const names: string[] = [];
  for (const line of text.split("\n").slice(1)) {
    const name = line.trim().split(/\s+/)[3];
    if (name) names.push(name);
  }
  return names;
}
