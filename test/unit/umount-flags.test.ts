import { describe, expect, test } from "bun:test";
import { PlanError } from "../../src/errors.ts";
import { MNT } from "../../src/plan/flags.ts";
import { checkUmountFlags } from "../../src/plan/umount-flags.ts";
import { caught } from "../support/caught.ts";

describe("checkUmountFlags: what umount2 refuses with EINVAL whatever the target", () => {
  test("each flag alone, and FORCE|DETACH, NOFOLLOW with any: accepted", () => {
    for (const flags of [0, MNT.FORCE, MNT.DETACH, MNT.EXPIRE, MNT.NOFOLLOW, MNT.FORCE | MNT.DETACH, MNT.EXPIRE | MNT.NOFOLLOW, MNT.DETACH | MNT.NOFOLLOW]) {
      expect(() => checkUmountFlags(flags, "unmount /t")).not.toThrow();
    }
  });

  test("MNT_EXPIRE with MNT_FORCE or MNT_DETACH: refused, the pair named", () => {
    const err = caught(() => checkUmountFlags(MNT.EXPIRE | MNT.DETACH, "unmount /t"));
    expect(err).toBeInstanceOf(PlanError);
    expect((err as PlanError).message).toBe("unmount /t: MNT_EXPIRE goes alone, not with MNT_DETACH (umount2 refuses the pair: EINVAL)");
    expect(caught(() => checkUmountFlags(MNT.EXPIRE | MNT.FORCE | MNT.DETACH, "x"))).toMatchObject({ message: expect.stringContaining("not with MNT_FORCE|MNT_DETACH") });
  });

  test("a bit umount2 does not know (UMOUNT_UNUSED, the top bit, too): refused, the bit named", () => {
    const err = caught(() => checkUmountFlags(MNT.DETACH | 0x10, "unmount /t")) as PlanError;
    expect(err.message).toBe("unmount /t: umount2 takes no flag 0x10");
    expect(err.hint).toBe("its flags are MNT_FORCE|MNT_DETACH|MNT_EXPIRE|MNT_NOFOLLOW");
    expect((caught(() => checkUmountFlags(0x80000000, "x")) as PlanError).message).toBe("x: umount2 takes no flag 0x80000000");
  });
});
