/**
 * statfs(2)'s f_type, the superblock magic (linux/magic.h), as the filesystem type names
 * mountinfo shows for it. Several names share a magic (ext2/3/4 are one driver, devtmpfs is a
 * tmpfs). A magic that is not here names no type: the caller reads mountinfo. Pure.
 */
const TYPES_OF_MAGIC: ReadonlyMap<number, readonly string[]> = new Map([
  [0x01021994, ["tmpfs", "devtmpfs", "rootfs"]],
  [0x858458f6, ["ramfs", "rootfs"]],
  [0xef53, ["ext2", "ext3", "ext4"]],
  [0x58465342, ["xfs"]],
  [0x9123683e, ["btrfs"]],
  [0xf2f52010, ["f2fs"]],
  [0x73717368, ["squashfs"]],
  [0xe0f5e1e2, ["erofs"]],
  [0x4d44, ["vfat", "msdos"]],
  [0x9660, ["iso9660"]],
  [0x794c7630, ["overlay"]],
  [0x9fa0, ["proc"]],
  [0x62656572, ["sysfs"]],
  [0x1cd1, ["devpts"]],
  [0x63677270, ["cgroup2"]],
  [0x27e0eb, ["cgroup"]],
  [0x19800202, ["mqueue"]],
  [0x958458f6, ["hugetlbfs"]],
  [0xcafe4a11, ["bpf"]],
  [0x74726163, ["tracefs"]],
  [0x64626720, ["debugfs"]],
  [0x73636673, ["securityfs"]],
  [0x62656570, ["configfs"]],
  [0x6165676c, ["pstore"]],
  [0x6e736673, ["nsfs"]],
]);

/** The type names a superblock magic stands for, or undefined when it is not known here. */
export function typesOfMagic(magic: number): readonly string[] | undefined {
  return TYPES_OF_MAGIC.get(magic);
}
