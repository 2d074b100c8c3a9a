/**
 * What libmount knows of a filesystem type by its name alone: pseudo filesystems (no source
 * device: proc, tmpfs, overlay...) and network filesystems (a source that names a server).
 * mount(8) sets up no loop device for either, whatever the options; findmnt's --real,
 * --pseudo and -D read the first list. Pure.
 */

// libmount's pseudofs[] (util-linux 2.38): types with no real source device. A list, not a
// string split at load: split's first use costs start-up time (docs/bench.md).
const PSEUDO_TYPES = new Set([
  "anon_inodefs", "apparmorfs", "autofs", "bdev", "binder", "binfmt_misc", "bpf", "cgroup",
  "cgroup2", "configfs", "cpuset", "debugfs", "devfs", "devpts", "devtmpfs", "dlmfs", "dmabuf",
  "drm", "efivarfs", "fuse", "fuse.archivemount", "fuse.avfsd", "fuse.dumpfs", "fuse.encfs",
  "fuse.gvfs-fuse-daemon", "fuse.gvfsd-fuse", "fuse.lxcfs", "fuse.rofiles-fuse",
  "fuse.vmware-vmblock", "fuse.xwmfs", "fusectl", "hugetlbfs", "ipathfs", "mqueue", "nfsd", "none",
  "nsfs", "overlay", "pipefs", "proc", "pstore", "ramfs", "resctrl", "rootfs", "rpc_pipefs",
  "securityfs", "selinuxfs", "smackfs", "sockfs", "spufs", "sysfs", "tmpfs", "tracefs", "vboxsf",
  "virtiofs",
]);

/** libmount's mnt_fstype_is_pseudofs: proc, sysfs, tmpfs, overlay and the like. */
export function isPseudoFilesystem(fstype: string): boolean {
  return PSEUDO_TYPES.has(fstype);
}

// libmount's mnt_fstype_is_netfs: these names, and any type starting nfs or 9p.
const NETWORK_TYPES = new Set(["cifs", "smb3", "smbfs", "afs", "ncpfs", "glusterfs", "fuse.sshfs", "fuse.curlftpfs"]);

/** libmount's mnt_fstype_is_netfs: nfs, nfs4, cifs, 9p and the like. */
export function isNetworkFilesystem(fstype: string): boolean {
  return NETWORK_TYPES.has(fstype) || fstype.startsWith("nfs") || fstype.startsWith("9p");
}
