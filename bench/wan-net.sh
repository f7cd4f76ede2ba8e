#!/usr/bin/env bash
# The simulated WAN of the bench's part (wan) (bench/README.md): two network namespaces, a master
# "host" pitrb-m and a standby "host" pitrb-s, joined by two veth pairs, each shaped in both
# directions with tc tbf:
#   link 100:  pitrb-m0 10.214.0.1/30  <->  pitrb-s0 10.214.0.2/30   100 Mbit/s
#   link 1000: pitrb-m1 10.214.0.5/30  <->  pitrb-s1 10.214.0.6/30   1 Gbit/s
# tbf: burst = about 4-5 ms of the rate (64 KiB at 100 Mbit/s, 512 KiB at 1 Gbit/s: well above
# rate/HZ, so the token bucket never starves between timer ticks, and small enough that the rate
# holds over every interval longer than a few ms); latency 50 ms of queue before tbf drops (a
# 625 KB / 6.25 MB queue: a router's, not a bufferbloat's). No delay here: this kernel has no
# netem; bench/delay-relay.ts adds it.
# Usage (root): bash bench/wan-net.sh up | down.   `up` removes a leftover of a killed run first.
set -euo pipefail
M=pitrb-m
S=pitrb-s

down() {
  # Deleting a namespace deletes its veth ends (and with them the peers).
  for ns in "$M" "$S"; do
    if [ -e "/run/netns/$ns" ]; then ip netns del "$ns" || echo "wan-net: cannot delete netns $ns" >&2; fi
  done
}

shape() { # ns dev rate burst
  tc -n "$1" qdisc replace dev "$2" root tbf rate "$3" burst "$4" latency 50ms
}

up() {
  down
  ip netns add "$M"
  ip netns add "$S"
  ip -n "$M" link set lo up
  ip -n "$S" link set lo up
  local i rate burst
  for i in 0 1; do
    if [ "$i" = 0 ]; then rate=100mbit burst=64kb; else rate=1gbit burst=512kb; fi
    ip -n "$M" link add "pitrb-m$i" type veth peer name "pitrb-s$i" netns "$S"
    ip -n "$M" addr add "10.214.0.$((4 * i + 1))/30" dev "pitrb-m$i"
    ip -n "$S" addr add "10.214.0.$((4 * i + 2))/30" dev "pitrb-s$i"
    ip -n "$M" link set "pitrb-m$i" up
    ip -n "$S" link set "pitrb-s$i" up
    shape "$M" "pitrb-m$i" "$rate" "$burst"
    shape "$S" "pitrb-s$i" "$rate" "$burst"
  done
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
