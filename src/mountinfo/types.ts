/**
 * One line of /proc/<pid>/mountinfo, as proc_pid_mountinfo(5) documents it.
 *
 * root, mountpoint, source and fstype are decoded (the kernel's `\NNN` octal escapes are
 * undone); options and superOptions are kept exactly as the kernel printed them, so that a
 * comma inside an escaped value cannot be mistaken for an option separator.
 */
export interface MountInfo {
  /** mount id; unique while mounted, reused after unmount (never order by it) */
  readonly id: number;
  /** id of the parent mount; the mount itself when it is the root of its tree */
  readonly parent: number;
  /** st_dev of the filesystem */
  readonly major: number;
  readonly minor: number;
  /** the directory of the filesystem that forms the root of this mount ("/" unless a bind of a subdir) */
  readonly root: string;
  /** where it is mounted, relative to the reading process's root */
  readonly mountpoint: string;
  /** per-mount (vfs) options, field 6, e.g. "rw,nosuid,relatime" */
  readonly options: string;
  /** the optional fields as printed, e.g. ["shared:1", "master:2"] */
  readonly optional: readonly string[];
  readonly fstype: string;
  /** the mount source; "" when the kernel was given an empty one */
  readonly source: string;
  /** per-superblock options, e.g. "rw,size=1024k" */
  readonly superOptions: string;
  /** peer group of a shared mount */
  readonly shared?: number | undefined;
  /** peer group this mount receives propagation from (it is a slave) */
  readonly master?: number | undefined;
  /** nearest dominant peer group reachable from this mount's namespace */
  readonly propagateFrom?: number | undefined;
  readonly unbindable: boolean;
}
