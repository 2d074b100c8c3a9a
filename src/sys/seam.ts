/**
 * The syscall seam: everything ops/ asks of the kernel goes through one Syscalls object.
 * libcSyscalls is the real one; tests wrap it (sys/inject.ts) to fail a chosen call with a
 * chosen errno while every other call stays real. Later features add their calls here.
 */
import { mount, umount2 } from "./mount.ts";
import { statfs, statxMountId, type Statfs } from "./stat.ts";

export interface Syscalls {
  /** mount(source, target, fstype, flags, data) */
  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null): void;
  /** umount2(target, flags) */
  umount2(target: string, flags: number): void;
  /** statfs(path): magic and ST_* flags */
  statfs(path: string): Statfs;
  /** statx(path, STATX_MNT_ID).stx_mnt_id */
  statxMountId(path: string): number;
}

export const libcSyscalls: Syscalls = { mount, umount2, statfs, statxMountId };

export type { Statfs };
