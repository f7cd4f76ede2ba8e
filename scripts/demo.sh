#!/usr/bin/env bash
# npm run demo [-- --keep] [-- --pg 18] [-- --scale 20]
#   Builds a master, three standby hosts and their sshd on this machine under one temp dir, runs the
#   whole pitrtools story through the real commands, and stops everything at the end.
# npm run demo -- --stop DIR   stops and removes what a `--keep` run left in DIR.
# As root it first prepares the machine (scripts/setup.sh: openssh-server, the user pitr) and runs
# the demo as that user: PostgreSQL and pitrtools refuse root.
set -euo pipefail
cd "$(dirname "$0")/.."
user="${PITR_TEST_USER:-pitr}"
as_user() { if [ "$(id -u)" -eq 0 ]; then runuser -u "$user" -- "$@"; else "$@"; fi; }

if [ "${1:-}" = "--stop" ]; then
  dir="${2:?usage: npm run demo -- --stop DIR}"
  [ -f "$dir/demo.json" ] || { echo "demo: $dir/demo.json not found: not a kept demo" >&2; exit 2; }
  pgctl=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).pgCtl)' "$dir/demo.json")
  for d in $(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).pgdata.join(" "))' "$dir/demo.json"); do
    as_user "$pgctl" -D "$d" -m fast stop >/dev/null 2>&1 && echo "demo: stopped PostgreSQL in $d" || true
  done
  # sshd runs in the foreground (-D) and writes no pid file: find the listeners by their config path.
  for p in $(pgrep -f -- "-f $dir/.*/sshd_config" || true); do
    kill "$p" 2>/dev/null && echo "demo: stopped sshd $p" || true
  done
  rm -rf "$dir" && echo "demo: removed $dir"
  exit 0
fi

bash scripts/setup.sh
[ -d node_modules ] || npm ci
[ -f packages/archiver/dist/bin/cmd_archiver.js ] || npx tsc -b
for a in "$@"; do case "$a" in 14|16|17|18) bash scripts/install-pg-versions.sh "$a" ;; esac; done
exec bash scripts/as-user.sh NO_COLOR="${NO_COLOR:-}" -- node --import tsx scripts/demo/main.ts "$@"
