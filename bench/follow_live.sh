#!/usr/bin/env bash
# make bench, issue 11 (b): live end-to-end latency. `questlog serve` under a steady
# load at a fixed rate (h2load --rps, RATES events/s, default 20,000 and 50,000; the
# seed's mix of routes: 2/5 GET /, 2/5 /purchase_a_sword, 1/5 /purchase_a_knife) while a
# follower of jobs/swords_stream.toml (purchase_sword events to a Delta table) commits
# every second on the same cores; bench/follow_live_probe.py sends a tagged
# /purchase_a_sword every 20 ms and polls the table with deltalake (delta-rs): the
# latency from each 200 to the row readable there (p50, p99, max). Three followers:
#   - questlog extract --follow --trigger 1s on the embedded log (serve and the
#     follower on one data dir);
#   - the same on Kafka (serve --kafka, one broker, one partition);
#   - Spark Structured Streaming in local[2] on that topic (bench/spark_swords_stream.py
#     --live-delta: readStream Kafka, filter, writeStream Delta with a checkpoint,
#     1-second trigger), under .venv-delta (pyspark and delta-spark 4.1.0).
# Each follower is started once and measured at each rate in turn: LIVE_WARM seconds of
# load, then LIVE_SECONDS of load with the probe; then up to PROBE_WAIT seconds for the
# last probes. A probe missing at the end is reported (the follower did not keep up).
# Prints a markdown table and writes it to bench/results/follow_live.md.
#
# Knobs (environment): RATES ("20000 50000"), LIVE_WARM (5), LIVE_SECONDS (20),
# LIVE_CONNS (100: h2load connections to serve on the embedded log, each at
# RATE/LIVE_CONNS requests/s), KAFKA_CONNS (800: the same to serve --kafka, whose 200
# waits for Kafka's acknowledgement), PROBE_WAIT (20), SPARK (1; 0 skips Spark),
# BENCH_TMPDIR (/var/tmp), BUILD (build).
# Everything it starts is stopped by pid on exit; everything it writes outside
# bench/results/ lives in one temp dir, removed on exit. Loopback only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_NAME=bench/follow_live
# shellcheck source=bench/lib.sh
source bench/lib.sh

BUILD=${BUILD:-build}
QUESTLOG=$BUILD/questlog
RATES=${RATES:-20000 50000}
LIVE_WARM=${LIVE_WARM:-5}
LIVE_SECONDS=${LIVE_SECONDS:-20}
LIVE_CONNS=${LIVE_CONNS:-100}
KAFKA_CONNS=${KAFKA_CONNS:-800}
PROBE_WAIT=${PROBE_WAIT:-20}
SPARK=${SPARK:-1}
PY=.venv/bin/python
DELTA_PY=.venv-delta/bin/python
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}

need_tools h2load java curl
[[ -x $QUESTLOG ]] || { echo "$BENCH_NAME: $QUESTLOG not found (make build)" >&2; exit 1; }
bench_start questlog-follow-live
KAFKA_DIR=$WORK/kafka
cleanup_more() { if [[ -d $KAFKA_DIR ]]; then bash scripts/kafka.sh stop "$KAFKA_DIR" >/dev/null 2>&1 || true; fi; }

describe_machine
BUSY_BEFORE=$(busy_pct)
log "machine: $MACHINE; ${BUSY_BEFORE}% busy before start"

declare -a ROWS=()

# start_serve KEY ARGS...: questlog serve on a free port; sets URL.
start_serve() {
  local key=$1 port pid
  shift
  port=$(free_port)
  "$QUESTLOG" serve --listen "127.0.0.1:$port" "$@" >"$WORK/$key-serve.log" 2>&1 &
  pid=$!
  CHILDREN+=("$pid")
  SERVE_PID=$pid URL="http://127.0.0.1:$port"
  wait_port "$port" "$pid" || { cat "$WORK/$key-serve.log" >&2; exit 1; }
}

# start_follower KEY JOB ARGS...: extract --follow --trigger 1s, until its `following` line.
start_follower() {
  local key=$1 job=$2 i
  shift 2
  "$QUESTLOG" extract "$job" --lake "$WORK/lake-$key" --follow --trigger 1s "$@" \
    2>"$WORK/$key-follow.log" &
  FOLLOWER=$!
  CHILDREN+=("$FOLLOWER")
  for ((i = 0; i < 300; i++)); do
    grep -qs '^questlog: following ' "$WORK/$key-follow.log" && return 0
    alive "$FOLLOWER" || break
    sleep 0.1
  done
  echo "$BENCH_NAME: the $key follower did not start:" >&2
  cat "$WORK/$key-follow.log" >&2
  exit 1
}

# The load's routes, in the order each h2load connection cycles through them.
URLS=$WORK/urls
set_urls() { printf '%s\n' "$URL/" "$URL/purchase_a_sword" "$URL/" "$URL/purchase_a_sword" "$URL/purchase_a_knife" >"$URLS"; }

# measure LABEL KEY TABLE CONNS: each rate in turn, h2load's load on CONNS connections and
# the probe; a row each.
measure() {
  local label=$1 key=$2 table=$3 conns=$4 rate per h2 probe_rc got ok total note probe i
  set_urls
  for rate in $RATES; do
    per=$(awk -v r="$rate" -v c="$conns" 'BEGIN { printf "%.2f", r / c }')
    log "$label at $rate events/s: h2load --rps $per -c $conns, ${LIVE_WARM}s warm-up, then ${LIVE_SECONDS}s with the probe"
    h2load --h1 -t 2 -c "$conns" --rps "$per" --warm-up-time "$LIVE_WARM" -D "$LIVE_SECONDS" \
      -i "$URLS" >"$WORK/$key-$rate.h2load" 2>&1 &
    h2=$!
    CHILDREN+=("$h2")
    sleep "$LIVE_WARM"  # the warm-up is a duration, not a wait for anything
    probe_rc=0
    probe=$("$PY" bench/follow_live_probe.py "$URL/purchase_a_sword" "$table" "$LIVE_SECONDS" \
      --wait "$PROBE_WAIT" 2>"$WORK/$key-$rate.probe.err") || probe_rc=$?
    for ((i = 0; i < 300; i++)); do alive "$h2" || break; sleep 0.1; done  # -D ends it
    stop_pid "$h2" TERM
    got=$(awk '/^finished in/ { print $4 }' "$WORK/$key-$rate.h2load")
    read -r total ok < <(awk '/^requests:/ { t = $2 } /^status codes:/ { o = $3 } END { print t + 0, o + 0 }' \
      "$WORK/$key-$rate.h2load")
    note=""
    [[ -n $got ]] || { note="h2load failed: $(tail -n1 "$WORK/$key-$rate.h2load")"; got=-; }
    if [[ $got != - ]]; then
      ((ok == total)) || note="h2load: $((total - ok)) of $total not 2xx"
      awk -v g="$got" -v r="$rate" 'BEGIN { exit !(g < 0.95 * r) }' && note="${note:+$note; }the machine sustained $(printf '%.0f' "$got") of $rate"
    fi
    if ((probe_rc != 0)); then
      note="${note:+$note; }$(tail -n1 "$WORK/$key-$rate.probe.err")"
      PROBLEMS+=("$label at $rate events/s: $(tail -n1 "$WORK/$key-$rate.probe.err")")
    fi
    [[ -n $probe ]] || probe="probes - found - p50 - p99 - max - p50_first_quarter - p50_last_quarter - versions - files_per_version - rows_per_version - gap_p50 - gap_max - commit_p50 - commit_p99 - read_p50 - read_max -"
    log "$label at $rate: h2load $got req/s; $probe"
    # shellcheck disable=SC2086  # the probe's line is name value pairs
    ROWS+=("$(row "$label" "$rate" "$got" "$conns" $probe)|${note:--}|")
  done
}

# row LABEL RATE ACHIEVED CONNS probes P found F p50 A p99 B max C ... (the probe's line:
#     name value pairs)
row() {
  local -A v=()
  local label=$1 rate=$2 got=$3 conns=$4
  shift 4
  while (($# >= 2)); do v[$1]=$2; shift 2; done
  printf '| %s | %s | %s (-c%s) | %s of %s | %s | %s | %s | %s / %s | %s | %s / %s | %s / %s ' "$label" "$rate" \
    "$(fmt_rps "$got")" "$conns" "${v[found]}" "${v[probes]}" "${v[p50]}" "${v[p99]}" "${v[max]}" \
    "${v[p50_first_quarter]}" "${v[p50_last_quarter]}" "${v[rows_per_version]}" \
    "${v[commit_p50]}" "${v[commit_p99]}" "${v[read_p50]}" "${v[read_max]}"
}

# ------------------------------------------------------------ embedded log
log "questlog serve + extract --follow on the embedded log"
start_serve embedded --data "$WORK/data"
start_follower embedded jobs/swords_stream.toml --data "$WORK/data"
measure "questlog, embedded log" embedded "$WORK/lake-embedded/sword_purchases" "$LIVE_CONNS"
stop_pid "$FOLLOWER" TERM
((STOP_RC == 0)) || PROBLEMS+=("embedded follower: exit $STOP_RC on SIGTERM")
stop_pid "$SERVE_PID" TERM

# ------------------------------------------------------------------- Kafka
log "starting a Kafka broker"
BOOT=$(bash scripts/kafka.sh start "$KAFKA_DIR" 1 "$(free_port)")
TOPIC=follow-live
start_serve kafka --kafka "$BOOT" --topic "$TOPIC"
# The topic is made by the first event (the broker auto-creates it).
[[ $(curl -sS -o /dev/null -w '%{http_code}' "$URL/") == 200 ]] ||
  { echo "$BENCH_NAME: serve --kafka did not answer 200" >&2; exit 1; }
mkdir -p "$WORK/jobs"
sed "s/^topic = \"events\"/topic = \"$TOPIC\"/" jobs/swords_stream.toml >"$WORK/jobs/swords_stream.toml"
start_follower kafka "$WORK/jobs/swords_stream.toml" --kafka "$BOOT"
measure "questlog, Kafka (1 partition)" kafka "$WORK/lake-kafka/sword_purchases" "$KAFKA_CONNS"
stop_pid "$FOLLOWER" TERM
((STOP_RC == 0)) || PROBLEMS+=("Kafka follower: exit $STOP_RC on SIGTERM")

# ------------------------------------------------------------------- Spark
if ((SPARK)) && [[ -x $DELTA_PY && -x $JAVA_HOME/bin/java ]]; then
  log "Spark Structured Streaming local[2], Kafka -> Delta (.venv-delta)"
  jars=$(bash scripts/delta-spark.sh),$(SPARK_KAFKA_VERSION=4.1.1 PYTHON=$DELTA_PY bash scripts/spark-kafka.sh)
  venv_bin=$(cd "$(dirname "$DELTA_PY")" && pwd)
  # The driver is python (pyspark starts its JVM, which exits when the driver does).
  env -u SPARK_HOME -u PYTHONPATH JAVA_HOME="$JAVA_HOME" PATH="$venv_bin:$JAVA_HOME/bin:$PATH" \
    SPARK_LOCAL_IP=127.0.0.1 PYSPARK_PYTHON="$venv_bin/python" \
    PYSPARK_SUBMIT_ARGS="--master local[2] --jars $jars --conf spark.driver.host=127.0.0.1 --conf spark.driver.bindAddress=127.0.0.1 --conf spark.local.dir=$WORK/spark-local pyspark-shell" \
    "$venv_bin/python" bench/spark_swords_stream.py "$BOOT" "$TOPIC" "$WORK/lake-spark" --live-delta \
    >"$WORK/spark.out" 2>"$WORK/spark.err" &
  SPARK_PID=$!
  CHILDREN+=("$SPARK_PID")
  for ((i = 0; i < 1800; i++)); do
    grep -qs '^ready' "$WORK/spark.out" && break
    alive "$SPARK_PID" || break
    sleep 0.1
  done
  if grep -qs '^ready' "$WORK/spark.out"; then
    measure "Spark local[2], Kafka -> Delta" spark "$WORK/lake-spark/sword_purchases" "$KAFKA_CONNS"
    alive "$SPARK_PID" ||
      PROBLEMS+=("Spark exited during the run: $(grep -m1 -E 'Error|Exception' "$WORK/spark.err" || tail -n1 "$WORK/spark.err")")
  else
    PROBLEMS+=("Spark did not start: $(grep -m1 -E 'Error|Exception' "$WORK/spark.err" || tail -n1 "$WORK/spark.err")")
  fi
  stop_pid "$SPARK_PID" TERM
fi
stop_pid "$SERVE_PID" TERM
BUSY_AFTER=$(busy_pct)

report() {
  echo "## extract --follow, live: from the 200 to the row readable by deltalake"
  echo
  echo "Machine: $MACHINE. questlog $REV. CPU busy in the second before the run: ${BUSY_BEFORE}%, after: ${BUSY_AFTER}%."
  echo "Load: h2load --h1 -t2 -cN --rps RATE/N (2/5 GET /, 2/5 /purchase_a_sword, 1/5 /purchase_a_knife; N=$LIVE_CONNS to the embedded log, $KAFKA_CONNS to serve --kafka),"
  echo "${LIVE_WARM}s warm-up then ${LIVE_SECONDS}s measured; a tagged /purchase_a_sword every 20 ms (bench/follow_live_probe.py),"
  echo "polled with deltalake. Followers commit every second (questlog: --trigger 1s; Spark: processingTime 1 second)."
  echo "Seconds. p50 first / last quarter: of the first and the last quarter of the probes (growing: the follower falls behind); rows/version: rows each version added;"
  echo "to commit: from the 200 to the commit file's mtime (the writer's side); poll: one poll of the probe that found a version (update_incremental and reading its new files: the reader's side)."
  echo
  echo "| follower | events/s asked | achieved (h2load) | probes found | p50 | p99 | max | p50 first / last quarter | rows/version | to commit p50 / p99 | poll p50 / max | notes |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
  if ((${#PROBLEMS[@]})); then
    echo
    echo "Problems:"
    printf -- '- %s\n' "${PROBLEMS[@]}"
  fi
}
write_report follow_live.md
for p in "${PROBLEMS[@]}"; do [[ $p == Spark* ]] || exit 1; done
