#!/usr/bin/env bash
# Prepares a fresh machine for the tests and the demo (idempotent):
#  - as root: installs what is missing (openssh-server for sshd, rsync for the peers) with apt-get,
#    creates the unprivileged user the servers and our commands run as (initdb, postgres and both
#    pitrtools programs refuse root), and makes sure sshd will accept that user.
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
# A small filesystem for the "disk full on the slave" test (test/archiver-remote-causes.test.ts only):
# 8 MiB of tmpfs, less than one 16 MiB WAL segment, owned by the test user, 0700. That test fails
# (never skips) when it is missing.
small_fs=/var/lib/pitr-rig/small-fs
mkdir -p "$small_fs" && chmod 0755 /var/lib/pitr-rig
if ! mountpoint -q "$small_fs"; then
  mount -t tmpfs -o size=8m,mode=0700 pitr-small-fs "$small_fs" \
    || echo "setup: WARNING: cannot mount an 8 MiB tmpfs at $small_fs: the disk-full test will fail" >&2
fi
chown "$user:" "$small_fs" && chmod 0700 "$small_fs"
echo "setup: ready (user $user, sshd $(/usr/sbin/sshd -V 2>&1 | head -1 || true))"
