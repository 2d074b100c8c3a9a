// mount -a -F's planning: which lines wait for which, and a line written back as fstab text; pure.
import { describe, expect, test } from "bun:test";
import type { BatchEntry } from "../../src/plan/batch-entry.ts";
import { forkDependencies, fstabLineText } from "../../src/plan/fstab-fork.ts";
import { fstabEntry, parseFstab } from "../../src/plan/fstab.ts";

const entries = (text: string): BatchEntry[] => parseFstab(text).map(fstabEntry);

describe("forkDependencies", () => {
  test("a line waits for the earlier lines whose mount point holds its mount point, and for one on the same mount point", () => {
    const deps = forkDependencies(
      entries(
        [
          "tmpfs /srv tmpfs defaults", // 0
          "tmpfs /srv/a tmpfs defaults", // 1: inside 0
          "tmpfs /srv/a/b tmpfs defaults", // 2: inside 0 and 1
          "tmpfs /srvx tmpfs defaults", // 3: a sibling whose name starts the same: independent
          "tmpfs /srv/a tmpfs defaults", // 4: the same mount point as 1, and inside 0
          "tmpfs /opt tmpfs defaults", // 5: independent
        ].join("\n"),
      ),
    );
    expect(deps).toEqual([[], [0], [0, 1], [], [0, 1], []]);
  });

  test("a later line never makes an earlier one wait (file order decides, as in mount -a)", () => {
    expect(forkDependencies(entries("tmpfs /srv/a tmpfs defaults\ntmpfs /srv tmpfs defaults"))).toEqual([[], []]);
  });

  test("a bind's source, an overlay's layers, upper and work dirs inside an earlier mount point make it wait", () => {
    const deps = forkDependencies(
      entries(
        [
          "tmpfs /data tmpfs defaults", // 0
          "tmpfs /layers tmpfs defaults", // 1
          "/data/export /srv/export none bind", // 2: source inside 0
          "overlay /merged overlay lowerdir=/layers/l1:/layers/l2,upperdir=/data/u,workdir=/data/w", // 3: 1 and 0
          "overlay /other overlay lowerdir=/usr:/lib", // 4: nothing mounted by the file
          "server:/export /nfs nfs defaults", // 5: a source that is no path
        ].join("\n"),
      ),
    );
    expect(deps).toEqual([[], [], [0], [0, 1], [], []]);
  });

  test("paths are compared without repeated or trailing slashes; a line on / holds every later one", () => {
    expect(forkDependencies(entries("tmpfs /srv/ tmpfs defaults\ntmpfs //srv//a tmpfs defaults"))).toEqual([[], [0]]);
    expect(forkDependencies(entries("/dev/sda1 / ext4 defaults\ntmpfs /tmp tmpfs defaults\ntmpfs /run tmpfs defaults"))).toEqual([[], [0], [0]]);
  });
});

describe("fstabLineText", () => {
  test("reads back as the same entry: escaped fields, quoted options that hold commas, none and defaults", () => {
    const originals = entries(
      [
        "tmpfs /mnt/with\\040space\\011tab tmpfs size=1m,mode=0700 0 0",
        "/srv/back\\134slash /mnt/b none bind,ro,X-mount.mkdir=0700",
        "\\043hash /mnt/hash tmpfs nofail,x-systemd.requires=a,comment=x",
        'tmpfs /mnt/q tmpfs "uidmap=0:1000:1,1:2000:1",size=2m',
        "tmpfs /mnt/d tmpfs",
      ].join("\n"),
    );
    for (const entry of originals) {
      const [again] = entries(fstabLineText(entry));
      expect(again!.mount).toEqual(entry.mount);
      expect(again!.createTarget).toEqual(entry.createTarget);
      expect(again!.nofail).toBe(entry.nofail);
    }
    expect(fstabLineText(originals[0]!)).toBe("tmpfs /mnt/with\\040space\\011tab tmpfs size=1m,mode=0700 0 0\n");
    expect(fstabLineText(originals[1]!)).toBe("/srv/back\\134slash /mnt/b none bind,ro,X-mount.mkdir=0700 0 0\n");
    expect(fstabLineText(originals[2]!)).toStartWith("\\043hash ");
    expect(fstabLineText(originals[3]!)).toContain('"uidmap=0:1000:1,1:2000:1",size=2m');
  });

  test("an entry with no options is written with defaults (which the kernel never sees)", () => {
    const entry: BatchEntry = { index: 1, where: "line 1", mount: { type: "tmpfs", source: "tmpfs", target: "/x", options: [] }, createTarget: undefined, nofail: false };
    expect(fstabLineText(entry)).toBe("tmpfs /x tmpfs defaults 0 0\n");
  });
});
