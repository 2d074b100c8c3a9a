// The words a loop request's errors and hints use for its own parts: a mount's options, or
// loop attach's flags and DEV operand (src/plan/loop-request-terms.ts), from one place.
import { describe, expect, test } from "bun:test";
import {
  addedLoopDeviceLeft,
  ATTACH_LOOP_TERMS,
  busyLoopDeviceHint,
  missingLoopDeviceHint,
  MOUNT_LOOP_TERMS,
  notLoopDeviceHint,
  otherLoopDeviceProblem,
  overlappingLoopProblem,
} from "../../src/plan/loop-request-terms.ts";

const attached = { offset: 0, sizeLimit: 8 << 20 };
const asked = { offset: 4096, sizeLimit: 0 };

describe("a loop mount speaks of its options (loop=, offset=, sizelimit=)", () => {
  test("an overlapping range, another device than the one attached, a named device unusable", () => {
    expect(overlappingLoopProblem("/img", "/dev/loop3", attached, asked, MOUNT_LOOP_TERMS)).toEqual({
      why: "/img is attached to /dev/loop3 over a range (offset 0, sizelimit 8388608) that overlaps the one asked (offset 4096, sizelimit 0)",
      hint: "two loop devices over one part of a file corrupt what is mounted through them: mount /dev/loop3 itself, ask for the same offset= and sizelimit=, or detach it (mountkit loop detach /dev/loop3)",
    });
    expect(otherLoopDeviceProblem("/img", "/dev/loop3", "/dev/loop5", MOUNT_LOOP_TERMS)).toEqual({
      why: "/img is attached to /dev/loop3 already, and loop=/dev/loop5 asks for another device over it",
      hint: "give loop=/dev/loop3, or give loop alone, to mount /dev/loop3; or detach /dev/loop3 first",
    });
    expect(busyLoopDeviceHint("/dev/loop5", MOUNT_LOOP_TERMS, { attachedTo: "/other.img" })).toBe("/dev/loop5 is in use, attached to /other.img already: name a free device, or give loop alone for one");
    expect(missingLoopDeviceHint("/dev/loop5", MOUNT_LOOP_TERMS)).toBe("there is no /dev/loop5: name an existing loop device, or give loop alone for a free one");
    expect(notLoopDeviceHint(MOUNT_LOOP_TERMS)).toBe("name one as /dev/loopN, or give loop alone for a free one");
  });
});

describe("loop attach speaks of its flags and operand (--offset, --sizelimit, DEV), never of mount options", () => {
  test("the same problems", () => {
    const texts = [
      overlappingLoopProblem("/img", "/dev/loop3", attached, asked, ATTACH_LOOP_TERMS),
      otherLoopDeviceProblem("/img", "/dev/loop3", "/dev/loop5", ATTACH_LOOP_TERMS),
    ];
    expect(texts).toEqual([
      {
        why: "/img is attached to /dev/loop3 over a range (offset 0, sizelimit 8388608) that overlaps the one asked (--offset 4096, --sizelimit 0)",
        hint: "two loop devices over one part of a file corrupt what is mounted through them: use /dev/loop3 itself, give the same --offset and --sizelimit, or detach it (mountkit loop detach /dev/loop3)",
      },
      {
        why: "/img is attached to /dev/loop3 already, and DEV /dev/loop5 asks for another device over it",
        hint: "give /dev/loop3 as DEV, or give no DEV, to use /dev/loop3; or detach /dev/loop3 first",
      },
    ]);
    const hints = [busyLoopDeviceHint("/dev/loop5", ATTACH_LOOP_TERMS, { attachedTo: undefined }), missingLoopDeviceHint("/dev/loop5", ATTACH_LOOP_TERMS), notLoopDeviceHint(ATTACH_LOOP_TERMS)];
    expect(hints).toEqual([
      "/dev/loop5 is in use, attached to a file already: name a free device, or give no DEV for one",
      "there is no /dev/loop5: name an existing loop device, or give no DEV for a free one",
      "name one as /dev/loopN, or give no DEV for a free one",
    ]);
    for (const text of [...texts.flatMap((t) => [t.why, t.hint]), ...hints]) expect(text).not.toMatch(/loop=|offset=|sizelimit=|mount \/dev/);
  });
});

describe("a named device that does not exist (ENOENT), after the ask to add it (loop attach DEV FILE)", () => {
  test("added but no node, there already but no node, not added and why; the device added said to be left", () => {
    expect(missingLoopDeviceHint("/dev/loop5", ATTACH_LOOP_TERMS, { outcome: "added" })).toBe(
      "the kernel added /dev/loop5 (LOOP_CTL_ADD), but /dev has no node for it: a static /dev, as in a container (mount devtmpfs on /dev, or mknod it)",
    );
    expect(missingLoopDeviceHint("/dev/loop5", ATTACH_LOOP_TERMS, { outcome: "exists" })).toBe(
      "the kernel has /dev/loop5 (LOOP_CTL_ADD: EEXIST), but /dev has no node for it: a static /dev, as in a container (mount devtmpfs on /dev, or mknod it)",
    );
    expect(missingLoopDeviceHint("/dev/loop5", ATTACH_LOOP_TERMS, { outcome: "not-added", why: "ioctl(LOOP_CTL_ADD): EINVAL" })).toBe(
      "there is no /dev/loop5, and it could not be added (ioctl(LOOP_CTL_ADD): EINVAL): name an existing loop device, or give no DEV for a free one",
    );
    expect(addedLoopDeviceLeft("/dev/loop5", "ioctl(LOOP_CTL_REMOVE): EBUSY")).toBe(
      "/dev/loop5 was added for this attach (LOOP_CTL_ADD) and is left: its removal failed (ioctl(LOOP_CTL_REMOVE): EBUSY), another process has it open or attached",
    );
  });
});

describe("a named device the kernel would not bind (EBUSY): the hint says why, as the device's state told", () => {
  test("attached (to a file named or not), attached to none but held exclusively, released meanwhile, or not told", () => {
    expect(busyLoopDeviceHint("/dev/loop5", ATTACH_LOOP_TERMS, { attachedTo: "/a.img" })).toBe("/dev/loop5 is in use, attached to /a.img already: name a free device, or give no DEV for one");
    expect(busyLoopDeviceHint("/dev/loop5", ATTACH_LOOP_TERMS, { attachedTo: undefined })).toBe("/dev/loop5 is in use, attached to a file already: name a free device, or give no DEV for one");
    // not "attached": no file is; a free device another process claimed (O_EXCL) is refused the same way
    expect(busyLoopDeviceHint("/dev/loop5", MOUNT_LOOP_TERMS, "held-exclusively")).toBe(
      "/dev/loop5 is attached to no file, but another process holds it open exclusively (O_EXCL), which keeps the kernel from attaching one: name another device, or wait until that process closes it (fuser -v /dev/loop5 names it)",
    );
    expect(busyLoopDeviceHint("/dev/loop5", MOUNT_LOOP_TERMS, "released")).toBe("/dev/loop5 was being detached by another process as it was tried, and is free now: try again");
    expect(busyLoopDeviceHint("/dev/loop5", MOUNT_LOOP_TERMS)).toBe(
      "/dev/loop5 is busy: attached to a file, or held open exclusively (O_EXCL) by another process: name a free device, or give loop alone for one",
    );
  });
});
