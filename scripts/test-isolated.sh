#!/usr/bin/env bash
# Runs a command (jest) so that two test runs on one machine never collide:
# - in a private network namespace, so the run has its own loopback (all of 127.0.0.0/8) and the suites' fixed
#   ports and 127.x addresses are the run's alone (`unshare -n` as root, `unshare -rn` otherwise);
# - with TMPDIR set to a fresh directory of its own, which must be empty when the command ends (tests remove their
#   temp directories; a leftover fails the run and is listed), and is removed afterwards.
# Usage: scripts/test-isolated.sh <command> [args...]
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

# Already inside an isolated run (e.g. `make e2e` from a shell this script started): just run.
if [ "${INFERGATE_ISOLATED:-}" = 1 ]; then
  exec "$@"
fi

run_dir=$(mktemp -d "${TMPDIR:-/tmp}/infergate-run-XXXXXX")
trap 'rm -rf "$run_dir"' EXIT

# The probe brings lo up too: a namespace whose loopback stays down would fail every test, so it is no fallback.
netns=()
if unshare -n sh -c 'ip link set lo up' 2>/dev/null; then
  netns=(unshare -n)
elif unshare -rn sh -c 'ip link set lo up' 2>/dev/null; then
  netns=(unshare -rn)
else
  echo "test-isolated: WARNING: cannot create a network namespace (needs unshare and ip, as root or with user" \
    "namespaces); running in the host's network, where a second test run at the same time can collide" >&2
fi

status=0
if [ "${#netns[@]}" -gt 0 ]; then
  INFERGATE_ISOLATED=1 TMPDIR="$run_dir" "${netns[@]}" sh -c 'ip link set lo up && exec "$@"' sh "$@" || status=$?
else
  INFERGATE_ISOLATED=1 TMPDIR="$run_dir" "$@" || status=$?
fi

# ts-node's compile cache (piscina workers loaded from TypeScript) is a cache, not a test's leftover.
leftover=$(find "$run_dir" -mindepth 1 -maxdepth 1 ! -name 'v8-compile-cache-*' -printf '  %f\n' | sort)
if [ -n "$leftover" ]; then
  echo "test-isolated: the run left these in its TMPDIR (tests must remove their temp directories):" >&2
  echo "$leftover" >&2
  [ "$status" -ne 0 ] || status=1
fi
exit "$status"
