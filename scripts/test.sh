#!/usr/bin/env bash
# The test command (npm test): prepares the machine, builds, type-checks and runs every test.
# Servers (initdb/pg_ctl, sshd) and our own commands refuse root, so when started as root the
# suite runs as the unprivileged user that scripts/setup.sh prepares (default: pitr).
# Arguments are passed to scripts/run-tests.mjs (test file filters, --unit, --e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
[ -d node_modules ] || npm ci
# Server binaries for the majors under test (Debian's 15 is on the machine; others come from npm).
versions="${PITR_PG_VERSIONS:-15,18}"
bash scripts/install-pg-versions.sh ${versions//,/ }
npx tsc -b
npx tsc -p tsconfig.test.json
if [ "$(id -u)" -ne 0 ]; then exec node scripts/run-tests.mjs "$@"; fi

user="${PITR_TEST_USER:-pitr}"
repo=$(pwd)
# The user must be able to read the checkout (a clone under /root is not readable by others):
# if it cannot, run from a copy the user owns.
if ! runuser -u "$user" -- test -r "$repo/package.json" -a -x "$repo/node_modules"; then
  copy=$(mktemp -d /tmp/pitrtools-test.XXXXXX)
  echo "test: $repo is not readable by $user; running from a copy in $copy"
  cp -a "$repo/." "$copy/"
  chown -R "$user:" "$copy"
  repo=$copy
  trap 'rm -rf "$copy"' EXIT
fi
home=$(getent passwd "$user" | cut -d: -f6)
cd "$repo"
runuser -u "$user" -- env -i PATH="$PATH" HOME="$home" USER="$user" LOGNAME="$user" LANG=C.UTF-8 \
  CI="${CI:-}" PITR_PG_VERSIONS="$versions" PITR_TEST_KEEP="${PITR_TEST_KEEP:-}" \
  node scripts/run-tests.mjs "$@"
