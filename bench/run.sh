#!/usr/bin/env bash
# bench/run.sh: build carload, ceiling and Carillon, measure them back to back
# (alternating, ROUNDS rounds) and write docs/benchmarks.md.
#
# Everything runs on 127.0.0.1; every load loop is bounded by -d. Knobs
# (environment variables, defaults in brackets):
#   ROUNDS [3]  D [5s]  WARMUP [1s]  CONCS ["1 32"]
#   SCENARIOS ["get-attendee list-attendees create-attendee update-attendee-capabilities batch-except"]
#   PHASES ["main big scale"]   BIG_ATTENDEES [10000]
#   SCALE_MEETINGS [1000]  SCALE_ATTENDEES [250]
#   OUT [docs/benchmarks.md]  KEEP [0: delete the work dir at the end]
#   BENCH_DIR [a fresh mktemp -d under $TMPDIR]: binaries, data dirs, logs
# With the defaults it takes about 12 minutes on a 2-core machine.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

ROUNDS=${ROUNDS:-3}
D=${D:-5s}
WARMUP=${WARMUP:-1s}
CONCS=${CONCS:-"1 32"}
SCENARIOS=${SCENARIOS:-"get-attendee list-attendees create-attendee update-attendee-capabilities batch-except"}
PHASES=${PHASES:-"main big scale"}
BIG_ATTENDEES=${BIG_ATTENDEES:-10000}
SCALE_MEETINGS=${SCALE_MEETINGS:-1000}
SCALE_ATTENDEES=${SCALE_ATTENDEES:-250}
OUT=${OUT:-docs/benchmarks.md}
KEEP=${KEEP:-0}
ENVLINE="ROUNDS=$ROUNDS D=$D WARMUP=$WARMUP CONCS=\"$CONCS\" PHASES=\"$PHASES\" BIG_ATTENDEES=$BIG_ATTENDEES SCALE_MEETINGS=$SCALE_MEETINGS SCALE_ATTENDEES=$SCALE_ATTENDEES"

W=${BENCH_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/carillon-bench.XXXXXX")}
mkdir -p "$W/bin" "$W/logs"
RESULTS=$W/results.jsonl
COMMANDS=$W/commands.txt
FACTS=$W/facts.txt
: >"$RESULTS"
: >"$COMMANDS"
: >"$FACTS"

# Credentials shared by the servers and carload (not the development ones).
export CARILLON_ROOT_ACCESS_KEY_ID=bench-access-key
export CARILLON_ROOT_SECRET_ACCESS_KEY=bench-secret-key-not-for-production

PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do
    kill "$p" 2>/dev/null || true
  done
  for p in "${PIDS[@]}"; do
    wait "$p" 2>/dev/null || true
  done
  if [ "$KEEP" = 0 ]; then rm -rf "$W"; else echo "work dir kept: $W" >&2; fi
}
trap cleanup EXIT

log() { echo "[$(date -u +%H:%M:%S)] $*" >&2; }
HZ=$(getconf CLK_TCK)

echo "go build -o \$W/bin/carload ./bench/cmd/carload && go build -o \$W/bin/ceiling ./bench/cmd/ceiling && go build -o \$W/bin/carillon ./cmd/carillon" >>"$COMMANDS"
log "building into $W/bin"
go build -o "$W/bin/carload" ./bench/cmd/carload
go build -o "$W/bin/ceiling" ./bench/cmd/ceiling
go build -o "$W/bin/carillon" ./cmd/carillon
go build -o "$W/bin/benchreport" ./bench/cmd/benchreport

fact() { printf '%s\t%s\n' "$1" "$2" >>"$FACTS"; }
fact "date (UTC)" "$(date -u '+%Y-%m-%d %H:%M:%S')"
fact "git commit" "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- cmd internal 2>/dev/null || echo " + uncommitted changes in cmd/ internal/ (diff sha256 $(git diff HEAD -- cmd internal | sha256sum | cut -c1-12))")"
fact "nproc" "$(nproc)"
fact "CPU" "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
fact "memory" "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
fact "kernel" "$(uname -srm)"
fact "go" "$(go version)"
fact "data dir filesystem" "$(df -T "$W" | awk 'NR==2 {print $2 " on " $1}')"
fact "load average at start" "$(cut -d' ' -f1-3 /proc/loadavg)"
fact "parameters" "$ENVLINE"

# ---------------------------------------------------------------- helpers

# start_server NAME CMD... : starts a server whose stdout prints
# "Endpoint: http://..." and sets SRV_PID and SRV_EP.
start_server() {
  local name=$1
  shift
  "$@" >"$W/logs/$name.out" 2>"$W/logs/$name.err" &
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  SRV_EP=""
  for _ in $(seq 1 300); do
    SRV_EP=$(grep -m1 -o 'Endpoint: http://127\.0\.0\.1:[0-9]*' "$W/logs/$name.out" 2>/dev/null | cut -d' ' -f2 || true)
    [ -n "$SRV_EP" ] && break
    if ! kill -0 "$SRV_PID" 2>/dev/null; then
      cat "$W/logs/$name.err" >&2
      echo "server $name exited" >&2
      exit 1
    fi
    sleep 0.1
  done
  [ -n "$SRV_EP" ] || { echo "server $name printed no endpoint" >&2; exit 1; }
  log "$name: pid $SRV_PID at $SRV_EP"
}

stop_server() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# record_cmd NAME-FOR-EP EP ARGS...: logs the carload command with the
# endpoint replaced by a variable name.
record_cmd() {
  local var=$1 ep=$2
  shift 2
  echo "carload $*" | sed -e "s#$ep#\$$var#g" -e "s#$W#\$W#g" >>"$COMMANDS"
}

# populate VAR EP PID IDSFILE MEETINGS ATTENDEES
populate() {
  local var=$1 ep=$2 ids=$4 m=$5 n=$6
  local args=(-endpoint "$ep" -scenario populate -meetings "$m" -attendees "$n" -ids-out "$ids" -wait-ready 30s)
  record_cmd "$var" "$ep" "${args[@]}"
  timeout 1200 "$W/bin/carload" "${args[@]}"
}

# measure PHASE TARGET ROUND VAR EP PID CARLOAD-ARGS...: one timed run,
# appended to results.jsonl with the server's CPU per request.
measure() {
  local phase=$1 target=$2 round=$3 var=$4 ep=$5 pid=$6
  shift 6
  local args=(-endpoint "$ep" -d "$D" -warmup "$WARMUP" -json "$@")
  record_cmd "$var" "$ep" "${args[@]}"
  local t0 t1 rc=0 out
  t0=$(cpu_ticks "$pid")
  out=$(timeout 300 "$W/bin/carload" "${args[@]}" 2>>"$W/logs/carload.err") || rc=$?
  t1=$(cpu_ticks "$pid")
  tail -1 "$W/logs/carload.err" | sed "s/^/  $target r$round: /" >&2
  if [ -z "$out" ]; then
    out=$(jq -nc --arg e "$(tail -1 "$W/logs/carload.err")" '{requests:0,requests_total:0,first_error:$e,errors:{"carload-failed":1}}')
  fi
  echo "$out" | jq -c --arg phase "$phase" --arg target "$target" --argjson round "$round" --argjson rc "$rc" \
    --argjson ticks "$((t1 - t0))" --argjson hz "$HZ" \
    '. + {phase:$phase, target:$target, round:$round, rc:$rc,
          server_cpu_us_per_req: (if (.requests_total // 0) > 0 then $ticks * 1000000 / $hz / .requests_total else 0 end)}' >>"$RESULTS"
}

fresh_carillon() { # NAME [extra flags]: durable store in a fresh directory
  local name=$1
  shift
  rm -rf "$W/data-$name"
  # --log-level warn: no access-log line per request, as in the runs
  # recorded before the access log existed (figures stay comparable).
  echo "carillon serve --addr 127.0.0.1:0 --log-level warn --data \$W/data-$name $*   # \$CARILLON" >>"$COMMANDS"
  start_server "$name" "$W/bin/carillon" serve --addr 127.0.0.1:0 --log-level warn --data "$W/data-$name" "$@"
}

# ---------------------------------------------------------------- ceiling

echo "ceiling -addr 127.0.0.1:0   # \$CEILING" >>"$COMMANDS"
start_server ceiling "$W/bin/ceiling" -addr 127.0.0.1:0
CEIL_PID=$SRV_PID
CEIL_EP=$SRV_EP

# ---------------------------------------------------------------- main phase

if [[ " $PHASES " == *" main "* ]]; then
  for s in $SCENARIOS; do
    fresh_carillon "main-$s"
    CAR_PID=$SRV_PID
    CAR_EP=$SRV_EP
    for c in $CONCS; do
      m=1
      [ "$s" = batch-except ] && m=$c
      car_args=(-scenario "$s" -c "$c")
      ceil_args=(-scenario "$s" -c "$c" -setup=false -meetings "$m" -attendees 250)
      if [ "$s" != create-attendee ]; then
        ids="$W/ids-$s-$c.json"
        log "populate $s c=$c: $m meeting(s) x 250"
        populate CARILLON "$CAR_EP" "$CAR_PID" "$ids" "$m" 250 >&2
        car_args+=(-ids-in "$ids")
      fi
      for r in $(seq 1 "$ROUNDS"); do
        log "main $s c=$c round $r"
        if [ $((r % 2)) = 1 ]; then
          measure main ceiling "$r" CEILING "$CEIL_EP" "$CEIL_PID" "${ceil_args[@]}"
          measure main carillon "$r" CARILLON "$CAR_EP" "$CAR_PID" "${car_args[@]}"
        else
          measure main carillon "$r" CARILLON "$CAR_EP" "$CAR_PID" "${car_args[@]}"
          measure main ceiling "$r" CEILING "$CEIL_EP" "$CEIL_PID" "${ceil_args[@]}"
        fi
      done
    done
    stop_server "$CAR_PID"
    rm -rf "$W/data-main-$s"
  done
fi

# ---------------------------------------------------------------- big phase

if [[ " $PHASES " == *" big "* ]]; then
  fresh_carillon big --max-attendees "$BIG_ATTENDEES"
  CAR_PID=$SRV_PID
  CAR_EP=$SRV_EP
  log "populate: 1 x 250 and 1 x $BIG_ATTENDEES"
  populate CARILLON "$CAR_EP" "$CAR_PID" "$W/ids-small.json" 1 250 >&2
  populate CARILLON "$CAR_EP" "$CAR_PID" "$W/ids-big.json" 1 "$BIG_ATTENDEES" >&2
  for r in $(seq 1 "$ROUNDS"); do
    log "big round $r"
    small=(-scenario batch-except -c 1 -ids-in "$W/ids-small.json")
    big=(-scenario batch-except -c 1 -ids-in "$W/ids-big.json")
    if [ $((r % 2)) = 1 ]; then
      measure big small "$r" CARILLON "$CAR_EP" "$CAR_PID" "${small[@]}"
      measure big big "$r" CARILLON "$CAR_EP" "$CAR_PID" "${big[@]}"
    else
      measure big big "$r" CARILLON "$CAR_EP" "$CAR_PID" "${big[@]}"
      measure big small "$r" CARILLON "$CAR_EP" "$CAR_PID" "${small[@]}"
    fi
  done
  stop_server "$CAR_PID"
  rm -rf "$W/data-big"
fi

# ---------------------------------------------------------------- scale phase

if [[ " $PHASES " == *" scale "* ]]; then
  fresh_carillon empty
  E_PID=$SRV_PID
  E_EP=$SRV_EP
  fresh_carillon loaded
  L_PID=$SRV_PID
  L_EP=$SRV_EP
  populate CARILLON "$E_EP" "$E_PID" "$W/ids-empty.json" 1 "$SCALE_ATTENDEES" >&2
  log "populate loaded: $SCALE_MEETINGS x $SCALE_ATTENDEES"
  populate CARILLON "$L_EP" "$L_PID" "$W/ids-loaded.json" "$SCALE_MEETINGS" "$SCALE_ATTENDEES" >&2
  sleep 2
  for t in empty loaded; do
    pid=$E_PID
    [ $t = loaded ] && pid=$L_PID
    jq -nc --arg t "$t" --argjson kb "$(rss_kb "$pid")" '{phase:"rss", target:$t, rss_kb:$kb, note:"after populating, before the timed runs"}' >>"$RESULTS"
  done
  for op in get-attendee batch-except; do
    for r in $(seq 1 "$ROUNDS"); do
      log "scale $op round $r"
      e=(-scenario "$op" -c 1 -ids-in "$W/ids-empty.json")
      l=(-scenario "$op" -c 1 -ids-in "$W/ids-loaded.json")
      if [ $((r % 2)) = 1 ]; then
        measure scale empty "$r" CARILLON "$E_EP" "$E_PID" "${e[@]}"
        measure scale loaded "$r" CARILLON "$L_EP" "$L_PID" "${l[@]}"
      else
        measure scale loaded "$r" CARILLON "$L_EP" "$L_PID" "${l[@]}"
        measure scale empty "$r" CARILLON "$E_EP" "$E_PID" "${e[@]}"
      fi
    done
  done
  for t in empty loaded; do
    pid=$E_PID
    [ $t = loaded ] && pid=$L_PID
    jq -nc --arg t "$t" --argjson kb "$(rss_kb "$pid")" '{phase:"rss", target:$t, rss_kb:$kb, note:"after the timed runs"}' >>"$RESULTS"
  done
  stop_server "$E_PID"
  stop_server "$L_PID"
fi

stop_server "$CEIL_PID"

fact "load average at end" "$(cut -d' ' -f1-3 /proc/loadavg)"
awk '!seen[$0]++' "$COMMANDS" >"$COMMANDS.uniq"
{
  echo "# the whole run (this file was written by it):"
  echo "$ENVLINE bench/run.sh"
  echo "# which ran, with \$W its work dir and \$CEILING / \$CARILLON the endpoints the servers printed:"
  cat "$COMMANDS.uniq"
} >"$COMMANDS.final"
mkdir -p "$(dirname "$OUT")"
"$W/bin/benchreport" -results "$RESULTS" -facts "$FACTS" -commands "$COMMANDS.final" -out "$OUT"
cp "$RESULTS" "$W/results.copy.jsonl" 2>/dev/null || true
log "wrote $OUT"
