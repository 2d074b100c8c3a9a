#!/bin/sh
# npm run demo: after the build, mount and show a real tmpfs, a read-only bind and a
# propagation change with dist/mountkit, inside a private mount namespace, then clean up.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (mounting needs CAP_SYS_ADMIN)" >&2; exit 1; }
if [ "${MOUNTKIT_DEMO_INSIDE:-}" != 1 ]; then
  # A private mount namespace: nothing the demo mounts can reach the host, and it all goes
  # away with the namespace even if the demo is interrupted.
  MOUNTKIT_DEMO_INSIDE=1 exec unshare --mount --propagation private -- "$0" "$@"
fi

mk=dist/mountkit
demo=$(mktemp -d /tmp/mountkit-demo.XXXXXX)
cleanup() { "$mk" umount -R "$demo/ro" "$demo/tmpfs" 2>/dev/null || true; rmdir "$demo/ro" "$demo/tmpfs" "$demo" 2>/dev/null || true; }
trap cleanup EXIT
mkdir "$demo/tmpfs" "$demo/ro"
step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

echo "mountkit $("$mk" --version | cut -d' ' -f2), kernel $(uname -r), scratch dir $demo"
step "$mk" mount -n -t tmpfs -o size=16m,mode=0755,nosuid,nodev demo "$demo/tmpfs"
step "$mk" mount -v -t tmpfs -o size=16m,mode=0755,nosuid,nodev demo "$demo/tmpfs"
mkdir "$demo/tmpfs/data" && echo "hello from tmpfs" > "$demo/tmpfs/data/greeting"
step "$mk" findmnt "$demo/tmpfs"

step "$mk" mount -v --bind -r "$demo/tmpfs/data" "$demo/ro"
step cat "$demo/ro/greeting"
printf '\n\033[1m$ echo x > %s/ro/new\033[0m\n' "$demo"
if echo x 2>/dev/null > "$demo/ro/new"; then echo "demo: the bind should be read-only" >&2; exit 1; else echo "write refused: the bind is read-only"; fi
step "$mk" findmnt --json "$demo/ro"

step "$mk" mount --make-shared "$demo/tmpfs"
step "$mk" findmnt --json "$demo/tmpfs"
step "$mk" mount --make-private "$demo/tmpfs"

step "$mk" umount -v -R "$demo/ro" "$demo/tmpfs"
step "$mk" findmnt "$demo" || true
echo
echo "demo: done; nothing is left mounted"
