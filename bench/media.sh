#!/usr/bin/env bash
# bench/media.sh: measure the media plane with bench/cmd/mediaload against
# a Carillon built from this tree, on 127.0.0.1, ROUNDS rounds per scenario
# (a fresh server per round). Prints one JSON line per run; the median of
# the rounds goes to docs/benchmarks.md by hand, with this command.
#
# Knobs: ROUNDS [3]  JOINS [50]  FANOUT [250]  KICKS [50]  SESSIONS [100]
# CROSS_NODE_DB [unset]: a postgres:// URL; adds the cross-node kick (API on
# node B, sessions on node A).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
JOINS=${JOINS:-50}
FANOUT=${FANOUT:-250}
KICKS=${KICKS:-50}
SESSIONS=${SESSIONS:-100}
W=$(mktemp -d "${TMPDIR:-/tmp}/carillon-media-bench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
export CARILLON_ROOT_ACCESS_KEY_ID=bench-access-key CARILLON_ROOT_SECRET_ACCESS_KEY=bench-secret-key-not-for-production

go build -o "$W/carillon" ./cmd/carillon
go build -o "$W/mediaload" ./bench/cmd/mediaload

# start PORT [flags...]: a server on 127.0.0.1:PORT; sets PID.
start() {
  local port=$1; shift
  "$W/carillon" serve --addr "127.0.0.1:$port" "$@" >"$W/server-$port.log" 2>&1 &
  PID=$!
  PIDS+=("$PID")
  for _ in $(seq 1 100); do
    curl -fsS "http://127.0.0.1:$port/carillon/health/ready" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "server on $port did not start" >&2; cat "$W/server-$port.log" >&2; exit 1
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }

for r in $(seq 1 "$ROUNDS"); do
  start 18480 --data :memory: --max-attendees 1000
  E=http://127.0.0.1:18480
  "$W/mediaload" -endpoint $E -scenario join -n "$JOINS" -c 1
  "$W/mediaload" -endpoint $E -scenario join -n "$JOINS" -c "$JOINS"
  "$W/mediaload" -endpoint $E -scenario kick -n "$KICKS"
  "$W/mediaload" -endpoint $E -scenario memory -n "$SESSIONS" -server-pid "$PID"
  "$W/mediaload" -endpoint $E -scenario fanout -n "$FANOUT"
  "$W/mediaload" -endpoint $E -scenario caps -n 20
  stop "$PID"
  if [ -n "${CROSS_NODE_DB:-}" ]; then
    start 18481 --database-url "$CROSS_NODE_DB"; A=$PID
    start 18482 --database-url "$CROSS_NODE_DB"; B=$PID
    "$W/mediaload" -endpoint http://127.0.0.1:18481 -kick-endpoint http://127.0.0.1:18482 -scenario kick -n "$KICKS" | sed 's/"kick_ms"/"kick_cross_node_ms"/'
    stop "$A"; stop "$B"
  fi
done
