#!/usr/bin/env bash
# bench/sfu.sh: video forwarding through Carillon against a bare pion
# forwarder built the same way (bench/cmd/sfuceiling), driven identically by
# bench/cmd/sfuload: 1 publisher, SUBS subscribers, on 127.0.0.1. Each round
# runs both targets (alternating which goes first), each in a fresh server
# process; the clients run on the same machine. Prints the JSON lines and
# then the Markdown summary (medians, Carillon/ceiling ratios per round);
# the meeting-size rounds are printed as JSON lines (read them by hand).
#
# Knobs: ROUNDS [5]  SUBS [10]  PPS [1000,2500] (fixed phases: the publisher's packets/s)
# SWEEP [1000,1500,2000,2500,3000,4000,5000] (max phase, per subscriber, 5 s a step)
# DURATION [10s]  PAYLOAD [1000]
# AUDIO_ROUNDS [3]: rounds of the meeting-size scenario (Carillon only:
# 1 camera at 100 packets/s + audio-only attendees added until loss > 1 %).
# AUDIO_STEPS [10,20,40,60,80,100,130,160]: its attendee counts.
# RESULTS [unset]: also keep the JSON lines in this file.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
SUBS=${SUBS:-10}
PPS=${PPS:-1000,2500}
SWEEP=${SWEEP:-1000,1500,2000,2500,3000,4000,5000}
DURATION=${DURATION:-10s}
PAYLOAD=${PAYLOAD:-1000}
W=$(mktemp -d "${TMPDIR:-/tmp}/carillon-sfu-bench.XXXXXX")
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$W"; }
trap cleanup EXIT
export CARILLON_ROOT_ACCESS_KEY_ID=bench-access-key CARILLON_ROOT_SECRET_ACCESS_KEY=bench-secret-key-not-for-production

go build -o "$W/carillon" ./cmd/carillon
go build -o "$W/sfuload" ./bench/cmd/sfuload
go build -o "$W/sfuceiling" ./bench/cmd/sfuceiling

# wait_ready URL: until the server answers.
wait_ready() {
  for _ in $(seq 1 100); do
    curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
    # the ceiling answers plain HTTP with 4xx (not a WebSocket): up is up
    curl -s -o /dev/null -w '%{http_code}' "$1" 2>/dev/null | grep -q '^[1-5]' && return 0
    sleep 0.1
  done
  echo "server at $1 did not start" >&2; exit 1
}
LOAD=(-subs "$SUBS" -pps "$PPS" -sweep "$SWEEP" -duration "$DURATION" -payload "$PAYLOAD")

carillon() {
  "$W/carillon" serve --addr 127.0.0.1:18480 --data :memory: --max-attendees 1000 >"$W/carillon.log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  wait_ready http://127.0.0.1:18480/carillon/health/ready
  "$W/sfuload" -endpoint http://127.0.0.1:18480 -server-pid "$pid" "${LOAD[@]}" | sed "s/^{/{\"round\":$1,/" | tee -a "$W/results.jsonl"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}
ceiling() {
  "$W/sfuceiling" -addr 127.0.0.1:18490 >"$W/ceiling.log" 2>&1 &
  local pid=$!; PIDS+=("$pid")
  wait_ready http://127.0.0.1:18490/
  "$W/sfuload" -ceiling ws://127.0.0.1:18490/ -server-pid "$pid" "${LOAD[@]}" | sed "s/^{/{\"round\":$1,/" | tee -a "$W/results.jsonl"
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then ceiling "$r"; carillon "$r"; else carillon "$r"; ceiling "$r"; fi
done
for r in $(seq 1 "${AUDIO_ROUNDS:-3}"); do
  "$W/carillon" serve --addr 127.0.0.1:18480 --data :memory: --max-attendees 1000 >"$W/carillon.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_ready http://127.0.0.1:18480/carillon/health/ready
  "$W/sfuload" -scenario audio -endpoint http://127.0.0.1:18480 -server-pid "$pid" -step-duration 5s \
    -attendees "${AUDIO_STEPS:-10,20,40,60,80,100,130,160}" | sed "s/^{/{\"round\":$r,/" | tee -a "$W/audio.jsonl"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
[ -n "${RESULTS:-}" ] && cp "$W/results.jsonl" "$RESULTS" && cp "$W/audio.jsonl" "${RESULTS%.jsonl}-audio.jsonl"
echo
"$W/sfuload" -report "$W/results.jsonl"
