/**
 * How a loop device request names its own parts in errors and hints: a loop mount by its
 * options (loop=, offset=, sizelimit=), `loop attach` by its operand and flags (DEV, --offset,
 * --sizelimit), so each message tells the user what to change in what they typed. The wording
 * of the messages that depend on it (a device over an overlapping range, another device than
 * the one asked, a named device that cannot be used) lives here too, once. Pure.
 */
import { quotePath } from "../errors.ts";
import { describeLoopRange, type LoopRange } from "./loop-reuse.ts";

export interface LoopRequestTerms {
  /** the device the request named: "loop=/dev/loop3", "DEV /dev/loop3" */
  namedDevice(device: string): string;
  /** how to ask for a free device instead: "give loop alone", "give no DEV" */
  readonly freeDevice: string;
  /** how to ask for that device: "give loop=/dev/loop3", "give /dev/loop3 as DEV" */
  thisDevice(device: string): string;
  /** the range asked, as the request gave it: "offset 4096, sizelimit 0", "--offset 4096, --sizelimit 0" */
  askedRange(range: LoopRange): string;
  /** how to ask for the range a device has: "ask for the same offset= and sizelimit=" */
  readonly sameRange: string;
  /** what the request does with a device: "mount /dev/loop3", "use /dev/loop3" */
  use(device: string): string;
}

/** mount -o loop[=DEV],offset=,sizelimit= (and fstab, apply: the same options) */
export const MOUNT_LOOP_TERMS: LoopRequestTerms = {
  namedDevice: (device) => `loop=${device}`,
  freeDevice: "give loop alone",
  thisDevice: (device) => `give loop=${device}`,
  askedRange: describeLoopRange,
  sameRange: "ask for the same offset= and sizelimit=",
  use: (device) => `mount ${device}`,
};

/** mountkit loop attach [--offset N] [--sizelimit N] [DEV] FILE (losetup's), and attachLoop() */
export const ATTACH_LOOP_TERMS: LoopRequestTerms = {
  namedDevice: (device) => `DEV ${device}`,
  freeDevice: "give no DEV",
  thisDevice: (device) => `give ${device} as DEV`,
  askedRange: (range) => `--offset ${range.offset}, --sizelimit ${range.sizeLimit}`,
  sameRange: "give the same --offset and --sizelimit",
  use: (device) => `use ${device}`,
};

/** A problem and what to do about it. */
export interface LoopProblem {
  readonly why: string;
  readonly hint: string;
}

/** file is attached to device over a range (attached) that overlaps the one asked: two caches over one part of it. */
export function overlappingLoopProblem(file: string, device: string, attached: LoopRange, asked: LoopRange, terms: LoopRequestTerms): LoopProblem {
  return {
    why: `${quotePath(file)} is attached to ${device} over a range (${describeLoopRange(attached)}) that overlaps the one asked (${terms.askedRange(asked)})`,
    hint: `two loop devices over one part of a file corrupt what is mounted through them: ${terms.use(device)} itself, ${terms.sameRange}, or detach it (mountkit loop detach ${device})`,
  };
}

/** file is attached to device already, and the request named another device (asked) over it. */
export function otherLoopDeviceProblem(file: string, device: string, asked: string, terms: LoopRequestTerms): LoopProblem {
  return {
    why: `${quotePath(file)} is attached to ${device} already, and ${terms.namedDevice(asked)} asks for another device over it`,
    hint: `${terms.thisDevice(device)}, or ${terms.freeDevice}, to ${terms.use(device)}; or detach ${device} first`,
  };
}

/**
 * Why the kernel would not bind a file to a named device (EBUSY from LOOP_CONFIGURE or
 * LOOP_SET_FD), as ops/loop-busy.ts tells it: attached to a file (its name when known); attached
 * to none but held open exclusively (O_EXCL) by another process, a claim the kernel's bind needs
 * (loop_configure's bd_prepare_to_claim); or attached to none and not held, so released as it was
 * tried (a detach in progress).
 */
export type BusyLoopState = { readonly attachedTo: string | undefined } | "held-exclusively" | "released";

/**
 * The hint for a named device the kernel would not bind (EBUSY), by why (state); without one,
 * both causes are named, neither being known.
 */
export function busyLoopDeviceHint(device: string, terms: LoopRequestTerms, state?: BusyLoopState): string {
  if (state === "held-exclusively") {
    return `${device} is attached to no file, but another process holds it open exclusively (O_EXCL), which keeps the kernel from attaching one: name another device, or wait until that process closes it (fuser -v ${device} names it)`;
  }
  if (state === "released") return `${device} was being detached by another process as it was tried, and is free now: try again`;
  if (state !== undefined) {
    // to another file, or to this one (loop attach DEV FILE twice)
    const file = state.attachedTo === undefined ? "a file" : quotePath(state.attachedTo);
    return `${device} is in use, attached to ${file} already: name a free device, or ${terms.freeDevice} for one`;
  }
  return `${device} is busy: attached to a file, or held open exclusively (O_EXCL) by another process: name a free device, or ${terms.freeDevice} for one`;
}

/**
 * The hint for a free device that could not be had: held, each device found attached to no file
 * but held open exclusively (O_EXCL) by another process, the first the one LOOP_CTL_GET_FREE
 * gives (it gives a held device again and again: the kernel counts it free); why, what kept
 * any other device from being had ("the kernel would not add one (...)").
 */
export function heldFreeLoopDevicesHint(held: readonly string[], why: string): string {
  const devices = held.length === 1 ? held[0]! : `${held.slice(0, -1).join(", ")} and ${held.at(-1)!}`;
  const [holds, closes, names] = held.length === 1 ? ["is attached to no file, but another process holds it", "that process closes it", "names it"] : ["are attached to no file, but other processes hold them", "they are closed", "names them"];
  return `${devices} ${holds} open exclusively (O_EXCL), which keeps the kernel from attaching one, and LOOP_CTL_GET_FREE gives ${held[0]} as the free device each time; no other device could be had (${why}): wait until ${closes} (fuser -v ${held.join(" ")} ${names}), or detach a loop device not in use`;
}

/**
 * What the ask to add a named device came to (losetup DEV FILE: ops/loop-add.ts): the kernel
 * added it, had it already (EEXIST), or was not asked or would not (why: "ioctl(LOOP_CTL_ADD): EINVAL").
 */
export type NamedLoopAdd = { readonly outcome: "added" } | { readonly outcome: "exists" } | { readonly outcome: "not-added"; readonly why: string };

/** The hint for a named device that does not exist (ENOENT), after the ask to add it (added) when one was made. */
export function missingLoopDeviceHint(device: string, terms: LoopRequestTerms, added?: NamedLoopAdd): string {
  const noNode = "but /dev has no node for it: a static /dev, as in a container (mount devtmpfs on /dev, or mknod it)";
  if (added?.outcome === "added") return `the kernel added ${device} (LOOP_CTL_ADD), ${noNode}`;
  if (added?.outcome === "exists") return `the kernel has ${device} (LOOP_CTL_ADD: EEXIST), ${noNode}`;
  const why = added === undefined ? "" : `, and it could not be added (${added.why})`;
  return `there is no ${device}${why}: name an existing loop device, or ${terms.freeDevice} for a free one`;
}

/** Said with the error of an attach that failed after it added its named device, which could not be removed again (why: the removal's error). */
export function addedLoopDeviceLeft(device: string, why: string): string {
  return `${device} was added for this attach (LOOP_CTL_ADD) and is left: its removal failed (${why}), another process has it open or attached`;
}

/** The hint for a name that is no loop device, refused before any syscall. */
export function notLoopDeviceHint(terms: LoopRequestTerms): string {
  return `name one as /dev/loopN, or ${terms.freeDevice} for a free one`;
}
