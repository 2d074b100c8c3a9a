#!/bin/sh
# npm test: type-check, build the binary, then run every test as root inside a private mount
# namespace, so no mount made by a test can reach the host. Fails loudly when it cannot.
set -eu
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
  echo "npm test: the integration tests mount real filesystems and must run as root" >&2
  exit 1
fi
BUN=node_modules/.bin/bun
if ! "$BUN" --version >/dev/null 2>&1; then
  echo "npm test: $BUN does not run; install dependencies with 'npm ci'" >&2
  exit 1
fi
command -v unshare >/dev/null || { echo "npm test: unshare (util-linux) is missing" >&2; exit 1; }

scripts/test-deps.sh
node_modules/.bin/tsc --noEmit -p .
"$BUN" scripts/build.ts

# --propagation private: mounts made inside never propagate back to the host's namespace.
exec unshare --mount --propagation private -- "$BUN" test "$@"
