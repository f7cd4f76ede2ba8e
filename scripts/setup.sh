#!/usr/bin/env bash
# Prepares a fresh machine for the tests and the demo (idempotent):
#  - as root: installs what is missing (openssh-server for sshd, rsync for the peers) with apt-get,
#    creates the unprivileged user the servers and our commands run as (initdb, postgres and both
#    pitrtools programs refuse root), makes sure sshd will accept that user, and creates the
#    root-owned shared directory /var/tmp/pitrtools-root-owned the ownership tests need.
#  - as a normal user: checks the same things and says what is missing.
# Usage: scripts/setup.sh            (PITR_TEST_USER overrides the user name; default: pitr)
set -euo pipefail
user="${PITR_TEST_USER:-pitr}"
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)

if [ "$(id -u)" -ne 0 ]; then
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: missing packages: ${need[*]}; as root run: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  if [ ! -d /var/tmp/pitrtools-root-owned ] || [ "$(stat -c %u /var/tmp/pitrtools-root-owned)" != 0 ]; then
    echo "setup: /var/tmp/pitrtools-root-owned (root, 1777) is missing; run scripts/setup.sh as root" >&2
    exit 1
  fi
  exit 0
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# sshd refuses to start without its privilege-separation directory.
mkdir -p /run/sshd && chmod 0755 /run/sshd

if ! id "$user" >/dev/null 2>&1; then
  echo "setup: creating user $user"
  useradd --create-home --shell /bin/bash "$user"
fi
# A locked password field ('!') makes a root-started sshd refuse the user even for key logins.
if getent shadow "$user" | cut -d: -f2 | grep -q '^!'; then usermod -p '*' "$user"; fi
home=$(getent passwd "$user" | cut -d: -f6)
mkdir -p "$home" && chown "$user:" "$home" && chmod 0755 "$home"
# A directory another user owns, shared like /tmp (root, 1777, sticky): test/archiver-owned.test.ts
# shows that cmd_archiver and cmd_queue refuse it as l_archivedir (it fails, never skips, without it).
install -d -o root -g root -m 1777 /var/tmp/pitrtools-root-owned
echo "setup: ready (user $user, sshd $(/usr/sbin/sshd -V 2>&1 | head -1 || true))"
