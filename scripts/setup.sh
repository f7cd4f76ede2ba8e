#!/usr/bin/env bash
# Prepares a fresh machine for the tests and the demo (idempotent):
#  - as root: installs what is missing (openssh-server for sshd, rsync for the peers) with apt-get,
#    creates the unprivileged user the servers and our commands run as (initdb, postgres and both
#    pitrtools programs refuse root), makes sure sshd will accept that user, and creates the
#    root-owned shared directory /var/tmp/pitrtools-root-owned the ownership tests need.
#    It also builds the slow link that test/archiver-slow-slave.test.ts ships over (see below).
#  - as a normal user: checks the same things and says what is missing.
# Usage: scripts/setup.sh            (PITR_TEST_USER overrides the user name; default: pitr)
set -euo pipefail
user="${PITR_TEST_USER:-pitr}"
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh-keygen >/dev/null 2>&1 || need+=(openssh-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
{ command -v ip && command -v tc && command -v nsenter; } >/dev/null 2>&1 || need+=(iproute2 util-linux)
command -v setcap >/dev/null 2>&1 || need+=(libcap2-bin)
# test/patroni.test.ts: Debian's Patroni 3.0 and etcd 3.4 (the test starts its own etcd as $user).
[ -x /usr/bin/patroni ] || need+=(patroni)
[ -x /usr/bin/etcd ] || need+=(etcd-server)

# The slow link (a real 2 Mbit/s path to a slave whose SSH connection stays alive): a network
# namespace pitr-slow joined to the root namespace by a veth pair, 10.213.0.1/30 on our end
# (pitr-slow0) and 10.213.0.2/30 inside (pitr-slow1), with a tbf qdisc on pitr-slow0 so that what
# the master sends to the slave is limited to 2 Mbit/s (netem is not in every kernel; tbf is).
# The tests run as $user and cannot enter a namespace, so a copy of nsenter with
# cap_sys_admin, runnable only by root and group $user, lets them start their own sshd inside it
# (`$SLOW_NSENTER --net=/run/netns/pitr-slow -- /usr/sbin/sshd ...`); the capability is dropped when
# nsenter execs sshd, which then runs as $user with none. Nothing here touches an address outside
# the namespace and the veth pair it creates.
SLOW_NS=pitr-slow
SLOW_NSENTER=/usr/local/lib/pitrtools/nsenter

if [ "$(id -u)" -ne 0 ]; then
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: missing packages: ${need[*]}; as root run: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  if [ ! -d /var/tmp/pitrtools-root-owned ] || [ "$(stat -c %u /var/tmp/pitrtools-root-owned)" != 0 ]; then
    echo "setup: /var/tmp/pitrtools-root-owned (root, 1777) is missing; run scripts/setup.sh as root" >&2
    exit 1
  fi
  if [ ! -e "/run/netns/$SLOW_NS" ] || [ ! -x "$SLOW_NSENTER" ]; then
    echo "setup: the slow link (netns $SLOW_NS, $SLOW_NSENTER) is missing; the slow-slave tests fail until root runs: bash scripts/setup.sh" >&2
  fi
  exit 0
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# etcd-server's package may start a system etcd on 2379/2380: the test runs its own on free ports,
# and a machine that runs our tests needs none.
if [ -x /usr/bin/etcd ]; then
  if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
    systemctl disable --now etcd >/dev/null 2>&1 || true
  elif [ -x /etc/init.d/etcd ]; then
    /etc/init.d/etcd stop >/dev/null 2>&1 || true
    update-rc.d etcd disable >/dev/null 2>&1 || true
  fi
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

# The slow link (see the top): each step checks before it adds, so a second run changes nothing.
if [ ! -e "/run/netns/$SLOW_NS" ] && ! ip netns add "$SLOW_NS"; then
  echo "setup: cannot create network namespace $SLOW_NS (needs CAP_NET_ADMIN: a privileged container or a VM); the slow-slave tests need it" >&2
  exit 1
fi
ip link show pitr-slow0 >/dev/null 2>&1 || ip link add pitr-slow0 type veth peer name pitr-slow1 netns "$SLOW_NS"
ip addr replace 10.213.0.1/30 dev pitr-slow0
ip link set pitr-slow0 up
ip -n "$SLOW_NS" addr replace 10.213.0.2/30 dev pitr-slow1
ip -n "$SLOW_NS" link set pitr-slow1 up
ip -n "$SLOW_NS" link set lo up
tc qdisc replace dev pitr-slow0 root tbf rate 2mbit burst 32kbit latency 400ms
install -d -o root -g root -m 0755 "$(dirname "$SLOW_NSENTER")"
install -o root -g "$user" -m 0750 "$(command -v nsenter)" "$SLOW_NSENTER"
setcap cap_sys_admin+ep "$SLOW_NSENTER"

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
