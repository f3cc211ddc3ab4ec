#!/usr/bin/env bash
# make bench, issue 11 (a): catch-up. A log pre-filled with EVENTS served-shaped
# events (default 1,000,000, keyed as serve keys them), and `extract --follow`
# of jobs/swords_stream.toml (purchase_sword events to a Delta table, 1-second
# trigger) timed from its start until the table's txn covers the whole log, on
# the embedded log and on a one-partition Kafka topic holding the same records;
# against Spark Structured Streaming in local mode doing the same job
# (bench/spark_swords_stream.py: readStream Kafka, filter, writeStream Parquet
# with a checkpoint, 1-second trigger) until its query has read the whole topic.
# Prints a markdown table and writes it to bench/results/follow.md.
#
# Spark writes Parquet, not Delta: no delta-spark release supports the venv's
# pyspark (README, "Delta Lake tables"). FOLLOW_BENCH_SPARK=0 leaves Spark out
# (its rows print "-"), to time questlog's followers alone.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build}
EVENTS=${EVENTS:-1000000}
PY=${VENV_PY:-.venv/bin/python}
JAVA_HOME=${JAVA_HOME:-/usr/lib/jvm/java-17-openjdk-amd64}
RESULTS_DIR=bench/results
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/questlog-follow-bench.XXXXXX")
KAFKA_DIR=$WORK/kafka
FOLLOWER=""
cleanup() {
  if [[ -n $FOLLOWER ]]; then kill "$FOLLOWER" 2>/dev/null || true; fi
  if [[ -d $KAFKA_DIR ]]; then bash scripts/kafka.sh stop "$KAFKA_DIR" >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[bench follow] %s\n' "$*" >&2; }
mkdir -p "$RESULTS_DIR"
now() { date +%s.%N; }

log "appending $EVENTS keyed, seed-shaped events"
"$BUILD/append_raw" --keyed --seed "$EVENTS" "$WORK/data" >/dev/null

# Runs a follower of JOB into LAKE with ARGS until its table's txn reaches
# EVENTS; prints seconds.
follow_until_caught_up() {
  local job=$1 lake=$2
  shift 2
  local t0 t1
  t0=$(now)
  "$BUILD/questlog" extract "$job" --lake "$lake" --follow --trigger 1s "$@" \
    2>"$lake.err" &
  FOLLOWER=$!
  until grep -qs "\"version\":$EVENTS[,}]" "$lake"/sword_purchases/_delta_log/*.json; do
    kill -0 "$FOLLOWER" 2>/dev/null || { cat "$lake.err" >&2; exit 1; }
    sleep 0.02
  done
  t1=$(now)
  kill -TERM "$FOLLOWER"
  wait "$FOLLOWER"
  FOLLOWER=""
  echo "$t1 - $t0" | bc -l | xargs printf '%.2f'
}

log "questlog extract --follow, embedded log"
q_embedded=$(follow_until_caught_up jobs/swords_stream.toml "$WORK/lake-embedded" --data "$WORK/data")

log "starting a Kafka broker and producing the same records"
port=$((39500 + RANDOM % 400 * 2))
BOOT=$(bash scripts/kafka.sh start "$KAFKA_DIR" 1 "$port")
TOPIC=follow-bench
"$BUILD/questlog" tail --data "$WORK/data" -e -K $'\t' |
  kcat -b "$BOOT" -t "$TOPIC" -P -K $'\t'
# The same job on the bench's topic (same stem: the same txn appIds' shape).
mkdir -p "$WORK/jobs"
sed "s/^topic = \"events\"/topic = \"$TOPIC\"/" jobs/swords_stream.toml >"$WORK/jobs/swords_stream.toml"

log "questlog extract --follow, Kafka"
q_kafka=$(follow_until_caught_up "$WORK/jobs/swords_stream.toml" "$WORK/lake-kafka" --kafka "$BOOT")

s_total=- s_query=-
if [[ ${FOLLOW_BENCH_SPARK:-1} != 0 ]] && "$PY" -c 'import pyspark' 2>/dev/null &&
  [[ -x $JAVA_HOME/bin/java ]]; then
  log "Spark Structured Streaming, local[2]"
  jars=$(bash scripts/spark-kafka.sh)
  venv_bin=$(cd "$(dirname "$PY")" && pwd)
  read -r s_total s_query < <(env -u SPARK_HOME JAVA_HOME="$JAVA_HOME" PATH="$venv_bin:$JAVA_HOME/bin:$PATH" \
    PYSPARK_PYTHON="$venv_bin/python" PYSPARK_DRIVER_PYTHON="$venv_bin/python" "$venv_bin/spark-submit" \
    --master 'local[2]' --jars "$jars" --conf spark.ui.enabled=false \
    bench/spark_swords_stream.py "$BOOT" "$TOPIC" "$WORK/spark" "$EVENTS" 2>"$WORK/spark.err" ||
    { tail -20 "$WORK/spark.err" >&2; echo "- -"; })
fi

rate() { [[ $2 == - ]] && echo - || printf '%.0f' "$(echo "$1 / $2" | bc -l)"; }
ratio() { [[ $1 == - || $2 == - ]] && echo - || printf '%.1fx' "$(echo "$1 / $2" | bc -l)"; }
{
  echo "| catch-up of $EVENTS events to the swords table, 1 s trigger | seconds | events/s | vs Spark (whole run) |"
  echo "|---|---:|---:|---:|"
  echo "| questlog extract --follow, embedded log -> Delta | $q_embedded | $(rate "$EVENTS" "$q_embedded") | $(ratio "$s_total" "$q_embedded") |"
  echo "| questlog extract --follow, Kafka (1 partition) -> Delta | $q_kafka | $(rate "$EVENTS" "$q_kafka") | $(ratio "$s_total" "$q_kafka") |"
  echo "| Spark Structured Streaming local[2], Kafka -> Parquet + checkpoint, whole run | $s_total | $(rate "$EVENTS" "$s_total") | $(ratio "$s_total" "$s_total") |"
  echo "| same, from the query's start (JVM and session already up) | $s_query | $(rate "$EVENTS" "$s_query") | |"
} | tee "$RESULTS_DIR/follow.md"
