#!/usr/bin/env bash
# What a stopped node costs a client: starts 3 `raftlab node` processes,
# SIGSTOPs one follower (it still accepts connections, as the kernel does
# that, but never answers), runs N `raftlab client put`s one after another
# and prints their mean, median and longest wall time, and how many took
# over 900 ms. Then it removes everything it made.
#
#   scripts/stopped-node.sh [RAFTLAB_BINARY] [N]     (default target/release/raftlab, 30)
#
# Ports BASE+1..BASE+3 (BASE=27100 unless set) must be free.
set -euo pipefail
BIN=${1:-target/release/raftlab}
N=${2:-30}
BASE=${BASE:-27100}
D=$(mktemp -d)
P="1=127.0.0.1:$((BASE + 1)),2=127.0.0.1:$((BASE + 2)),3=127.0.0.1:$((BASE + 3))"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        kill -9 "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT
for i in 1 2 3; do
    "$BIN" node --id "$i" --peers "$P" --data-dir "$D" 2>"$D/n$i.log" &
    PIDS+=($!)
done
for _ in $(seq 100); do
    "$BIN" client --peers "$P" --data-dir "$D" put up 1 >/dev/null 2>&1 && break
    sleep 0.2
done
LEADER=$("$BIN" client --peers "$P" --data-dir "$D" status | awk '$3 == "Leader" { print $1 }')
FOLLOWER=$((LEADER % 3 + 1))
kill -STOP "${PIDS[$((FOLLOWER - 1))]}"
TIMES=()
FAILS=0
for i in $(seq "$N"); do
    start=$(date +%s%N)
    "$BIN" client --peers "$P" --data-dir "$D" put "k$i" v >/dev/null 2>&1 || FAILS=$((FAILS + 1))
    TIMES+=($((($(date +%s%N) - start) / 1000000)))
done
printf '%s\n' "${TIMES[@]}" | sort -n | awk -v n="$N" -v fails="$FAILS" -v stopped="$FOLLOWER" '
    { t[NR] = $1; sum += $1; if ($1 > 900) slow++ }
    END { printf "n%d stopped: %d puts, %d failed: mean %d ms, median %d ms, max %d ms, %d over 900 ms\n",
          stopped, n, fails, sum / n, t[int((n + 1) / 2)], t[n], slow }'
