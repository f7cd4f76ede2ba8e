#!/usr/bin/env bash
# Part of npm test when it starts as root (as CI does): every program must refuse root with one
# clear line and exit 2 — the test suite itself runs unprivileged and cannot prove this.
set -uo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "check-root-guard: not root, nothing to check"; exit 0; }
fail=0
seg=000000010000000000000001
check() {
  local what="$1"; shift
  local out code
  out=$("$@" 2>&1 </dev/null); code=$?
  if [ "$code" -eq 2 ] && grep -q 'must not run as root' <<<"$out"; then
    echo "check-root-guard: ok: $what refuses root (exit 2)"
  else
    echo "check-root-guard: FAILED: $what as root exited $code: $out"; fail=1
  fi
}
check "cmd_archiver -F (sh front end)" packages/archiver/bin/cmd_archiver -C etc/cmd_archiver.ini.sample -F "pg_wal/$seg"
check "cmd_archiver -I" node packages/archiver/bin/cmd_archiver.js -C etc/cmd_archiver.ini.sample -I
check "cmd_queue" node packages/archiver/bin/cmd_queue.js -C etc/cmd_archiver.ini.sample --once
check "cmd_standby -B" node packages/standby/bin/cmd_standby.js -C etc/cmd_standby.ini.sample -B
check "cmd_standby --restore" node packages/standby/bin/cmd_standby.js -C etc/cmd_standby.ini.sample --restore "$seg" pg_wal/RECOVERYXLOG
exit $fail
