#!/bin/sh
# Example notify hook: submits a pitrtools alert to Nagios as a passive service check result.
#
#   notify_ok:       /usr/local/lib/node_modules/pitrtools/scripts/nagios-passive-hook.sh
#   notify_warning:  /usr/local/lib/node_modules/pitrtools/scripts/nagios-passive-hook.sh
#   notify_critical: /usr/local/lib/node_modules/pitrtools/scripts/nagios-passive-hook.sh
#
# (installed with the tarball as $(npm root -g)/pitrtools/scripts/nagios-passive-hook.sh; the path
# above is that with npm's usual prefix /usr/local)
#
# pitrtools runs it without a shell, appends the message as the last argument and sets
# PITR_LEVEL (OK|WARNING|CRITICAL), PITR_EVENT, PITR_MESSAGE, PITR_HOST, PITR_ROLE and, where they
# apply, PITR_SLAVE and PITR_SEGMENT. This script uses only those variables.
#
# Delivery: with NSCA_HOST set, the result goes through send_nsca (host<TAB>service<TAB>code<TAB>output
# on stdin); otherwise a PROCESS_SERVICE_CHECK_RESULT line is appended to Nagios' external command
# file (NAGIOS_CMD, default /var/lib/nagios4/rw/nagios.cmd) on this host.
# NAGIOS_HOST (default: PITR_HOST) and NAGIOS_SERVICE (default: pitrtools-<role>) name the service.
set -eu
case "${PITR_LEVEL:-UNKNOWN}" in
  OK) code=0 ;; WARNING) code=1 ;; CRITICAL) code=2 ;; *) code=3 ;;
esac
host="${NAGIOS_HOST:-${PITR_HOST:-$(hostname)}}"
service="${NAGIOS_SERVICE:-pitrtools-${PITR_ROLE:-unknown}}"
# Nagios reads one line per result: fold newlines and drop the field separator from the text.
output=$(printf '%s' "PITR ${PITR_LEVEL:-UNKNOWN} - ${PITR_EVENT:-event}: ${PITR_MESSAGE:-}" | tr '\n;' '  ')

if [ -n "${NSCA_HOST:-}" ]; then
  printf '%s\t%s\t%s\t%s\n' "$host" "$service" "$code" "$output" |
    "${SEND_NSCA:-send_nsca}" -H "$NSCA_HOST" ${NSCA_CONFIG:+-c "$NSCA_CONFIG"}
else
  cmdfile="${NAGIOS_CMD:-/var/lib/nagios4/rw/nagios.cmd}"
  [ -p "$cmdfile" ] || [ -f "$cmdfile" ] || { echo "nagios-passive-hook: $cmdfile not found (set NAGIOS_CMD or NSCA_HOST)" >&2; exit 1; }
  printf '[%s] PROCESS_SERVICE_CHECK_RESULT;%s;%s;%s;%s\n' "$(date +%s)" "$host" "$service" "$code" "$output" >> "$cmdfile"
fi
