/**
 * A real probe of what this kernel's overlayfs accepts, for `mountkit features`: the version
 * table in plan/facts.ts decides plans, and a backported or patched kernel can differ from it.
 * Nothing is mounted: the fs context is configured with "/" as a layer and closed unused.
 */
import { isErrno, SyscallError } from "../errors.ts";
import { Errno } from "../errno.ts";
import { FSCONFIG, FSOPEN_CLOEXEC } from "../sys/mount-api.ts";
import { requireSyscalls } from "../plan/caller-input.ts";
import { libcSyscalls, type Syscalls } from "../sys/seam.ts";
import { closeQuietly } from "./plan-handles.ts";

export type OverlayProbe =
  | { readonly probed: true; readonly lowerdirAppend: boolean; readonly layerFd: boolean }
  | { readonly probed: false; readonly reason: string };

export function probeOverlay(sys: Syscalls = libcSyscalls): OverlayProbe {
  // a seam without fsopen answered "not probed: TypeError ...", as if the kernel had said so
  if (sys !== libcSyscalls) requireSyscalls(sys, "fsopen", "probe overlay");
  let fsfd: number;
  try {
    fsfd = sys.fsopen("overlay", FSOPEN_CLOEXEC);
  } catch (err) {
    if (isErrno(err, Errno.ENODEV)) return { probed: false, reason: "no overlay filesystem in this kernel" };
    if (isErrno(err, Errno.EPERM)) return { probed: false, reason: "fsopen needs CAP_SYS_ADMIN (run as root)" };
    return { probed: false, reason: err instanceof SyscallError ? err.message : String(err) };
  }
  try {
    const accepts = (set: () => void): boolean => {
      try {
        set();
        return true;
      } catch (err) {
        if (err instanceof SyscallError) return false;
        throw err;
      }
    };
    const lowerdirAppend = accepts(() => sys.fsconfig(fsfd, FSCONFIG.SET_STRING, "lowerdir+", "/", 0));
    const root = sys.openPath("/");
    let layerFd: boolean;
    try {
      layerFd = accepts(() => sys.fsconfig(fsfd, FSCONFIG.SET_FD, "lowerdir+", null, root));
    } finally {
      closeQuietly(sys, root);
    }
    return { probed: true, lowerdirAppend, layerFd };
  } finally {
    closeQuietly(sys, fsfd);
  }
}
