#!/usr/bin/env bash
# Runs a command from this checkout as the unprivileged user (default pitr) when called as root,
# or directly otherwise. PostgreSQL, sshd and pitrtools refuse root. When the user cannot read the
# checkout (a clone under /root, say), the command runs from a copy the user owns, removed after.
# Usage: scripts/as-user.sh VAR=value ... -- command args...   (VARs are passed through)
set -euo pipefail
cd "$(dirname "$0")/.."
vars=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do vars+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
if [ "$(id -u)" -ne 0 ]; then exec env "${vars[@]}" "$@"; fi

user="${PITR_TEST_USER:-pitr}"
repo=$(pwd)
if ! runuser -u "$user" -- test -r "$repo/package.json" -a -x "$repo/node_modules"; then
  copy=$(mktemp -d /tmp/pitrtools-run.XXXXXX)
  echo "as-user: $repo is not readable by $user; running from a copy in $copy"
  cp -a "$repo/." "$copy/"
  chown -R "$user:" "$copy"
  chmod 0755 "$copy"
  repo=$copy
  trap 'rm -rf "$copy"' EXIT
fi
home=$(getent passwd "$user" | cut -d: -f6)
cd "$repo"
# Not exec: the trap above must remove the copy afterwards.
runuser -u "$user" -- env -i PATH="$PATH" HOME="$home" USER="$user" LOGNAME="$user" LANG=C.UTF-8 \
  TERM="${TERM:-dumb}" "${vars[@]}" "$@"
