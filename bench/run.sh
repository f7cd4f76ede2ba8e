#!/usr/bin/env bash
# npm run bench [-- OPTIONS]: the side-by-side benchmark of issue 5 (see bench/README.md).
# As root: installs what is missing (pgbackrest, rsync, openssh-server, time, lz4), prepares the
# unprivileged user (scripts/setup.sh; default pitr, PITR_TEST_USER overrides), builds, then runs
# the benchmark as that user: PostgreSQL, sshd and our commands refuse root.
# As a normal user: checks the tools and runs it directly.
# Part wan (--only wan) needs root: it builds the namespaces of bench/wan-net.sh (removed on exit,
# also after a failure; a leftover of a killed run is removed first) and runs the bench inside pitrb-m.
# OPTIONS go to bench/main.ts: --only wal|basebackup|scaling|wan, --scaling, --segments N, --scale S, --runs R, --json FILE.
set -euo pipefail
cd "$(dirname "$0")/.."
user="${PITR_TEST_USER:-pitr}"
if [ -n "${npm_lifecycle_event:-}" ]; then invoked="npm run bench${*:+ -- $*}"; else invoked="bash bench/run.sh${*:+ $*}"; fi

missing() {
  local need=()
  command -v pgbackrest >/dev/null 2>&1 || need+=(pgbackrest)
  command -v rsync >/dev/null 2>&1 || need+=(rsync)
  [ -x /usr/sbin/sshd ] || need+=(openssh-server)
  [ -x /usr/bin/time ] || need+=(time)
  command -v lz4 >/dev/null 2>&1 || need+=(lz4) # to check pgBackRest's compressed segments
  command -v zstd >/dev/null 2>&1 || need+=(zstd) # pgBackRest compress-type=zst (part wan)
  echo "${need[*]}"
}

wan=no
for a in "$@"; do case "$a" in wan | --only=wan) wan=yes ;; esac; done

if [ "$(id -u)" -ne 0 ]; then
  if [ "$wan" = yes ]; then echo "bench: part wan builds network namespaces: run bench/run.sh as root" >&2; exit 1; fi
  need=$(missing)
  if [ -n "$need" ]; then echo "bench: missing: $need; as root run: apt-get install -y $need" >&2; exit 1; fi
  export PITR_BENCH_INVOKED_AS="$invoked"
  # Everything the bench starts lives under one pitr-bench-* directory: the test runner's check for
  # processes left behind ignores those, so the bench and npm test can run side by side.
  TMPDIR=$(mktemp -d "${TMPDIR:-/tmp}/pitr-bench-XXXXXX"); export TMPDIR
  trap 'rm -rf "$TMPDIR"' EXIT
  node --import tsx bench/main.ts "$@"
  exit $?
fi

need=$(missing)
if [ -n "$need" ]; then
  echo "bench: installing $need (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $need >/dev/null
fi
bash scripts/setup.sh
[ -d node_modules ] || npm ci
# Our commands run from their compiled dist/; a package that does not build yet is reported
# by the benchmark as "not available" rather than stopping the peers' measurements.
npx tsc -b || echo "bench: tsc -b failed; rows of commands that did not build will read 'not available'" >&2

repo=$(pwd)
results="$repo/bench/results"
mkdir -p "$results"
# The user must be able to read the checkout; if it cannot (a clone under /root), run a copy.
if ! runuser -u "$user" -- test -r "$repo/package.json" -a -x "$repo/node_modules"; then
  copy=$(mktemp -d /tmp/pitrtools-bench.XXXXXX)
  echo "bench: $repo is not readable by $user; running from a copy in $copy"
  cp -a "$repo/." "$copy/"
  chown -R "$user:" "$copy"
  cleanup_copy() { cp -p "$copy"/bench/results/*.json "$results"/ 2>/dev/null || true; rm -rf "$copy"; }
  repo=$copy
else
  # Results are written by the user: it owns bench/results (gitignored), nothing else.
  chown "$user:" "$results"
fi
home=$(getent passwd "$user" | cut -d: -f6)
cd "$repo"
# Everything the bench starts lives under one pitr-bench-* directory: the test runner's check for
# processes left behind ignores those, so the bench and npm test can run side by side.
btmp=$(mktemp -d /tmp/pitr-bench-XXXXXX)
chown "$user:" "$btmp"
trap 'rm -rf "$btmp"; if declare -F cleanup_copy >/dev/null; then cleanup_copy; fi; if [ "$wan" = yes ]; then bash "$repo/bench/wan-net.sh" down; fi' EXIT
netns=()
if [ "$wan" = yes ]; then
  bash bench/wan-net.sh up
  netns=(ip netns exec pitrb-m)
fi
"${netns[@]}" runuser -u "$user" -- env -i PATH="$PATH" HOME="$home" USER="$user" LOGNAME="$user" LANG=C.UTF-8 TMPDIR="$btmp" \
  ${PITR_PG_VERSION:+PITR_PG_VERSION=$PITR_PG_VERSION} ${PITR_BENCH_COMPRESS:+PITR_BENCH_COMPRESS=$PITR_BENCH_COMPRESS} PITR_TEST_KEEP="${PITR_TEST_KEEP:-}" PITR_BENCH_INVOKED_AS="$invoked" \
  node --import tsx bench/main.ts "$@"
