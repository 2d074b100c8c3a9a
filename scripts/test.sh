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
# The tests run helper scripts and programs they write into their scratch directories under
# $TMPDIR (else /tmp): on a noexec mount some 80 of them fail, each with posix_spawn's EACCES.
tmp=${TMPDIR:-/tmp}
case ",$(findmnt -n -o VFS-OPTIONS -T "$tmp" 2>/dev/null)," in
*,noexec,*)
  echo "npm test: $tmp is on a noexec mount, and the tests run programs they write there: set TMPDIR to a directory that allows exec" >&2
  exit 1
  ;;
esac

scripts/test-deps.sh
node_modules/.bin/tsc --noEmit -p .
"$BUN" scripts/build.ts

# --propagation private: mounts made inside never propagate back to the host's namespace.
# --timeout: bun test reads no timeout from bunfig.toml, and its own 5 s is too close to the
# tests that wait out EBUSY retries (about 3 s here, more on a slower machine).
run_tests() { unshare --mount --propagation private -- "$BUN" test --timeout 60000 "$@"; }
# On a terminal, as it is. Elsewhere (CI keeps only the end of a long log) each failed test's
# report is printed again after the summary, so the end shows what failed and why.
[ -t 1 ] && [ -t 2 ] && { run_tests "$@"; exit; }
log=$(mktemp /tmp/npm-test-log.XXXXXX)
trap 'rm -f "$log" "$log.status"' EXIT
# (|| keeps set -e from ending the group at a failure before its status is kept)
{ status=0; run_tests "$@" 2>&1 || status=$?; echo "$status" >"$log.status"; } | tee "$log"
status=$(cat "$log.status")
if [ "$status" != 0 ]; then
  echo
  echo "npm test: the failed tests' reports again:"
  # A test's report is what bun printed since the previous test's result line, under its file's name.
  awk '/^[^ ].*\.test\.ts:$/ { file = $0; n = 0; next }
       /^\((pass|skip|todo)\) / { n = 0; next }
       /^\(fail\) / { print file; for (i = 0; i < n; i++) print buf[i]; print; print ""; n = 0; next }
       { buf[n++] = $0 }' "$log" | tail -n 400
fi
exit "$status"
