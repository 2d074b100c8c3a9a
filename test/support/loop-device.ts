/** A loop device as `loop list` describes one, for the tests of its output (and the losetup link's). */
import type { LoopDevice } from "../../src/ops/loop-list.ts";

/** /dev/loop0 (7:0) on /x.img, from its start, every flag off, 512-byte sectors; with over's fields. */
export function loopDevice(over: Partial<LoopDevice> = {}): LoopDevice {
  return {
    device: "/dev/loop0",
    number: 0,
    backingFile: "/x.img",
    offset: 0,
    sizeLimit: 0,
    autoclear: false,
    readOnly: false,
    directIo: false,
    sectorSize: 512,
    partscan: false,
    majorMinor: "7:0",
    ...over,
  };
}
