#!/bin/sh
# Debian packages the tests use (cc compiles the struct-layout checks against the C headers;
# sfdisk writes the partition tables PARTUUID= and PARTLABEL= are found in; bindfs is a libfuse
# daemon that refuses options it does not know, beside fuse-overlayfs, which ignores them;
# mkfs.xfs makes the xfs image of containerd's TestLookupWithXFS; mkfs.erofs the multi-device erofs
# images of test/integration/erofs-devices.test.ts).
# Installed when missing (npm test runs as root); a package that cannot be had fails the run.
set -eu
need=""
for pair in cc:gcc strace:strace mkfs.ext4:e2fsprogs losetup:mount mount.fuse3:fuse3 fusermount3:fuse3 fuse-overlayfs:fuse-overlayfs bindfs:bindfs sfdisk:fdisk mkfs.xfs:xfsprogs mkfs.erofs:erofs-utils; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/sbin/$cmd" ] || [ -x "/sbin/$cmd" ] || need="$need $pkg"
done
# ...and the headers cc compiles them against: gcc only recommends libc6-dev, which an apt set
# not to install recommends (or a cc that came without it) leaves out.
for pair in /usr/include/stdio.h:libc6-dev /usr/include/linux/mount.h:linux-libc-dev; do
  file=${pair%%:*}; pkg=${pair#*:}
  [ -f "$file" ] || need="$need $pkg"
done
if [ -n "$need" ]; then
  echo "npm test: installing$need" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq $need >&2 || {
    echo "npm test: could not install$need" >&2
    exit 1
  }
fi
# FUSE mounts (test/integration/fuse.test.ts) need the kernel's FUSE device too.
if [ ! -c /dev/fuse ]; then
  modprobe fuse 2>/dev/null || true
  [ -c /dev/fuse ] || { echo "npm test: /dev/fuse is missing (the kernel has no FUSE)" >&2; exit 1; }
fi
