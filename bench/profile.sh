#!/usr/bin/env bash
# bench/profile.sh SCENARIO C [SECONDS] [extra carload args...]
# Profiles Carillon (durable store in a temp dir) while carload drives one
# scenario, and prints the top of the CPU profile. The profile is kept in
# $PROFILE_OUT (default /tmp/carillon-<scenario>-c<C>.pprof).
# Example: bench/profile.sh batch-except 32 10 -meetings 32
set -euo pipefail
cd "$(dirname "$0")/.."
S=${1:?scenario}
C=${2:?concurrency}
SECS=${3:-10}
shift 3 || shift $#
W=$(mktemp -d "${TMPDIR:-/tmp}/carillon-prof.XXXXXX")
PPROF_PORT=${PPROF_PORT:-16060}
PROFILE_OUT=${PROFILE_OUT:-/tmp/carillon-$S-c$C.pprof}
export CARILLON_ROOT_ACCESS_KEY_ID=bench-access-key
export CARILLON_ROOT_SECRET_ACCESS_KEY=bench-secret-key-not-for-production
export CARILLON_PPROF_ADDR=127.0.0.1:$PPROF_PORT
go build -o "$W/carillonprof" ./bench/cmd/carillonprof
go build -o "$W/carload" ./bench/cmd/carload
"$W/carillonprof" serve --addr 127.0.0.1:0 --log-level warn --data "$W/data" ${CARILLON_FLAGS:-} >"$W/out" 2>"$W/err" &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true; rm -rf "$W"' EXIT
EP=""
for _ in $(seq 1 300); do
  EP=$(grep -m1 -o 'Endpoint: http://127\.0\.0\.1:[0-9]*' "$W/out" 2>/dev/null | cut -d' ' -f2 || true)
  [ -n "$EP" ] && break
  sleep 0.1
done
[ -n "$EP" ] || { cat "$W/err" >&2; exit 1; }
M=1
[ "$S" = batch-except ] && M=$C
if [ "$S" != create-attendee ]; then
  "$W/carload" -endpoint "$EP" -scenario populate -meetings "$M" -attendees 250 -ids-out "$W/ids.json" -wait-ready 30s "$@"
  IDS=(-ids-in "$W/ids.json")
else
  IDS=()
fi
# Load runs 2 s longer than the profile, which starts after a 1 s warm-up.
"$W/carload" -endpoint "$EP" -scenario "$S" -c "$C" -warmup 1s -d "$((SECS + 2))s" "${IDS[@]}" "$@" &
LP=$!
sleep 1
curl -sf -o "$PROFILE_OUT" "http://127.0.0.1:$PPROF_PORT/debug/pprof/profile?seconds=$SECS"
wait $LP || true
go tool pprof -top -nodecount=${TOP:-30} "$W/carillonprof" "$PROFILE_OUT" 2>/dev/null
echo "--- cumulative"
go tool pprof -top -cum -nodecount=${TOP:-30} "$W/carillonprof" "$PROFILE_OUT" 2>/dev/null
