// unmountBeneath (ops/unmount-beneath.ts), the one way mountkit unmounts a mount point below a
// directory held open: a root's targets (links followed inside the root) and the temp location's
// cleanup (no link followed). A directory on the way swapped for a symlink to a host directory,
// before or after the way is opened, never sends the unmount out of the held directory. The swap
// is made at the syscall seam, right before the chosen call; everything else is the real kernel.
import { beforeAll, describe, expect, test } from "bun:test";
import { renameSync, symlinkSync } from "node:fs";
import { SyscallError } from "../../src/errors.ts";
import { unmount } from "../../src/ops/unmount.ts";
import { heldDir, unmountBeneath, type HeldDir, type LinksOnTheWay } from "../../src/ops/unmount-beneath.ts";
import { O } from "../../src/sys/fd.ts";
import { libcSyscalls, type Syscalls } from "../../src/sys/seam.ts";
import { caught } from "../support/caught.ts";
import { fdsInto } from "../support/resources.ts";
import { mountsUnder, requireRootNamespace } from "../support/root.ts";
import { workspace } from "../support/workspace.ts";

beforeAll(requireRootNamespace);

const ws = workspace();
const { cleanups, dir } = ws;

/**
 * A held directory with a tmpfs "inside" on a/t, and a host directory outside it with a tmpfs
 * "host" on t: what a redirected unmount would take. Both unmounted after the test, wherever
 * the swap moved them.
 */
function layout(label: string) {
  const s = ws.fresh(label);
  const path = dir("held");
  dir("held/a/t");
  const outside = dir("outside");
  dir("outside/t");
  libcSyscalls.mount("inside", `${path}/a/t`, "tmpfs", 0, "size=64k");
  libcSyscalls.mount("host", `${outside}/t`, "tmpfs", 0, "size=64k");
  cleanups.push(() => {
    for (const m of [...mountsUnder(s.dir)].reverse()) unmount(m.mountpoint);
  });
  const held: HeldDir = heldDir(libcSyscalls.open(path, O.PATH | O.DIRECTORY | O.CLOEXEC), path);
  cleanups.push(() => libcSyscalls.close(held.fd));
  /** a/ moved aside, and a symlink to link in its place */
  const swapFor = (link: string) => () => {
    renameSync(`${path}/a`, `${path}/a-moved`);
    symlinkSync(link, `${path}/a`);
  };
  const mounts = () => mountsUnder(s.dir).map((m) => [m.mountpoint.slice(s.dir.length), m.source]);
  return { held, outside, swapFor, mounts, dir: s.dir };
}

/** The real seam, with swap run once right before the first call of `call`. */
function swapBefore(call: "umount2" | "open" | "openat2", swap: () => void): Syscalls {
  let swapped = false;
  const before = () => {
    if (!swapped) swap();
    swapped = true;
  };
  return {
    ...libcSyscalls,
    umount2(path, flags) {
      if (call === "umount2") before();
      return libcSyscalls.umount2(path, flags);
    },
    open(path, flags, mode) {
      if (call === "open") before();
      return libcSyscalls.open(path, flags, mode);
    },
    openat2(dfd, path, flags, resolve) {
      if (call === "openat2") before();
      return libcSyscalls.openat2(dfd, path, flags, resolve);
    },
  };
}

/** The call that opens the way to the mount point under each policy. */
const OPENS_THE_WAY = { "in-root": "openat2", "no-links": "open" } as const;

for (const links of ["in-root", "no-links"] as LinksOnTheWay[]) {
  describe(`unmountBeneath, ${links}`, () => {
    test("without a swap: the mount point below the held directory is unmounted, and one in it directly; no fd left", () => {
      const { held, mounts, dir } = layout(`beneath-plain-${links}`);
      libcSyscalls.mount("top", `${held.path}/a`, "tmpfs", 0, "size=64k");
      // a/t is under the mount on a now: unmount that first, through the held directory's fd
      unmountBeneath(held, "a", `${held.path}/a`, 0, libcSyscalls, links);
      unmountBeneath(held, "a/t", `${held.path}/a/t`, 0, libcSyscalls, links);
      expect(mounts()).toEqual([["/outside/t", "host"]]);
      expect(fdsInto(dir)).toEqual([held.fd]);
    });

    test("a/ swapped for a symlink to the host directory after it was opened: the mount that was there goes, the host's stays", () => {
      const { held, outside, swapFor, mounts, dir } = layout(`beneath-after-${links}`);
      unmountBeneath(held, "a/t", `${held.path}/a/t`, 0, swapBefore("umount2", swapFor(outside)), links);
      // before, umount2 by path followed the link: the host's mount went, the held one stayed
      expect(mounts()).toEqual([["/outside/t", "host"]]);
      expect(fdsInto(dir)).toEqual([held.fd]);
    });

    test("a/ swapped for a symlink to the host directory before it is opened: refused, nothing unmounted, the error names the path", () => {
      const { held, outside, swapFor, mounts, dir } = layout(`beneath-before-${links}`);
      const target = `${held.path}/a/t`;
      const err = caught(() => unmountBeneath(held, "a/t", target, 0, swapBefore(OPENS_THE_WAY[links], swapFor(outside)), links));
      expect(err).toBeInstanceOf(SyscallError);
      if (links === "in-root") {
        // the link's target looked up inside the held directory, where there is none
        expect(err).toMatchObject({ syscall: "openat2(2)", errnoName: "ENOENT", paths: [target] });
      } else {
        expect(err).toMatchObject({ syscall: "open(2)", errnoName: "ENOTDIR", paths: [`${held.path}/a`] });
      }
      expect(mounts()).toEqual([
        ["/held/a-moved/t", "inside"],
        ["/outside/t", "host"],
      ]);
      expect(fdsInto(dir)).toEqual([held.fd]);
    });

    test(`a/ swapped for a symlink that stays inside the held directory: ${links === "in-root" ? "followed there" : "refused all the same"}`, () => {
      const { held, swapFor, mounts } = layout(`beneath-inside-${links}`);
      const sys = swapBefore(OPENS_THE_WAY[links], swapFor("a-moved"));
      if (links === "in-root") {
        unmountBeneath(held, "a/t", `${held.path}/a/t`, 0, sys, links);
        expect(mounts()).toEqual([["/outside/t", "host"]]);
      } else {
        expect(caught(() => unmountBeneath(held, "a/t", `${held.path}/a/t`, 0, sys, links))).toMatchObject({ errnoName: "ENOTDIR" });
        expect(mounts()).toEqual([
          ["/held/a-moved/t", "inside"],
          ["/outside/t", "host"],
        ]);
      }
    });
  });
}
