#!/usr/bin/env bash
# make bench, third part: `questlog serve --kafka` against the seed's own Flask app
# (tests/seed/game_api.py, Flask with kafka-python, on Flask's threaded dev server,
# as `flask run` runs it) on one real Apache Kafka broker (KRaft, loopback), under
# the same wrk and ab runs as bench/run.sh. Then, per server, the 2xx answers the
# clients read against the messages in its topic; then a linger.ms sweep for questlog.
# Prints one markdown report and writes it to bench/results/kafka.md.
#
# Everything it starts (broker, servers) is stopped by pid on exit; everything it
# writes outside bench/results/ lives in one temp dir, removed on exit.
#
# Knobs (environment): QUESTLOG (build/questlog), SYS_PY (/usr/bin/python3: Debian's
# python3-flask and python3-kafka), WRK_SECONDS (10), WRK_ROUNDS (3), WARM_SECONDS (2),
# AB_N (5000), FLASK_AB_N (2000), WRK_RETRIES (2), OTHER_MAX_PCT (10),
# SETTLE_SECONDS (30), SWEEP_LINGER ("0 0.2 1 5"), SWEEP_ROUNDS (3),
# SWEEP_AB_N (2000), SWEEP_WRK_SECONDS (5), BENCH_TMPDIR (/var/tmp), QUESTLOG_REV
# (what the report calls the binary; default: this checkout's commit), SEED_APP
# (tests/seed/game_api.py).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_NAME=bench/kafka
# shellcheck source=bench/lib.sh
source bench/lib.sh

QUESTLOG=${QUESTLOG:-build/questlog}
SYS_PY=${SYS_PY:-/usr/bin/python3}
FLASK_AB_N=${FLASK_AB_N:-2000}
SETTLE_SECONDS=${SETTLE_SECONDS:-30}
SWEEP_LINGER=${SWEEP_LINGER:-0 0.2 1 5}
SWEEP_ROUNDS=${SWEEP_ROUNDS:-3}
SWEEP_AB_N=${SWEEP_AB_N:-2000}
SWEEP_WRK_SECONDS=${SWEEP_WRK_SECONDS:-5}
SEED_APP=${SEED_APP:-tests/seed/game_api.py}

need_tools java kcat wrk ab curl python3
[[ -x $QUESTLOG ]] || { echo "bench/kafka: $QUESTLOG not found (make build)" >&2; exit 1; }
"$QUESTLOG" serve --help 2>&1 | grep -q -- '--kafka' ||
  { echo "bench/kafka: $QUESTLOG has no serve --kafka (rebuild)" >&2; exit 1; }
[[ -f $SEED_APP ]] || { echo "bench/kafka: $SEED_APP (the seed's game_api.py) not found" >&2; exit 1; }
"$SYS_PY" -c 'import flask, kafka' 2>/dev/null ||
  { echo "bench/kafka: $SYS_PY cannot import flask and kafka (apt: python3-flask python3-kafka)" >&2; exit 1; }

bench_start questlog-bench-kafka
KAFKA_DIR=$WORK/kafka
# The broker runs under setsid (scripts/kafka.sh): stopped by the pid in its dir.
cleanup_more() { if [[ -d $KAFKA_DIR ]]; then bash scripts/kafka.sh stop "$KAFKA_DIR" || true; fi; }

# ------------------------------------------------------------------- Kafka
# end_offset TOPIC: the high watermark of partition 0 (topics here have one).
end_offset() {
  local out
  out=$(timeout 30 kcat -b "$BOOT" -Q -t "$1:0:-1" 2>/dev/null || true)
  echo "${out##* }"
}

# topic_count TOPIC: messages in the topic, read back whole with kcat.
topic_count() {
  timeout 120 kcat -b "$BOOT" -C -t "$1" -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l
}

# create_topic TOPIC: the broker auto-creates topics (1 partition) on a metadata
# request; wait up to 30 s until it has its partition and a leader.
create_topic() {
  local i meta
  for ((i = 0; i < 60; i++)); do
    meta=$(timeout 10 kcat -b "$BOOT" -L -t "$1" 2>/dev/null || true)
    [[ $meta == *'with 1 partitions'* && $(end_offset "$1") == 0 ]] && return 0
    sleep 0.5
  done
  echo "bench/kafka: topic $1 was not created within 30 s" >&2
  exit 1
}

# settle TOPIC: wait (at most SETTLE_SECONDS) until the topic's end offset has
# not moved for 3 s: a producer that sends without waiting may still be flushing.
# Sets SETTLED_AFTER (seconds waited).
settle() {
  local t0=$SECONDS last=-1 now same=0
  while ((SECONDS - t0 < SETTLE_SECONDS)); do
    now=$(end_offset "$1")
    if [[ $now == "$last" ]]; then
      same=$((same + 1))
      ((same >= 6)) && break
    else
      same=0 last=$now
    fi
    sleep 0.5
  done
  SETTLED_AFTER=$((SECONDS - t0))
}

# ------------------------------------------------------------------ targets
# Targets (bench/lib.sh); here each also has T_TOPIC, the topic it produces to.
declare -A T_TOPIC=() T_NAME=() CHECK=() MSGS=() AB_BASE=() AB_OK0=()

# serving KEY PORT PID TOPIC WHAT head|tail: PID serves KEY on PORT, producing to
# TOPIC; exits with WHAT and 3 lines of its log (first or last) if it does not start.
serving() {
  local key=$1 port=$2 pid=$3
  track_server "$key" "$port" "$pid"
  T_TOPIC[$key]=$4
  if ! wait_port "$port" "$pid"; then
    echo "bench/kafka: $5 did not start: $("$6" -n3 "$WORK/$key.log")" >&2
    exit 1
  fi
  check_body "${T_URL[$key]}" && OK[$key]=1 ||
    PROBLEMS+=("$key: GET / is not 200 with the 30-byte default body")
}

start_questlog() {  # start_questlog KEY TOPIC [-X prop=value]...
  local key=$1 topic=$2 port
  shift 2
  port=$(free_port)
  create_topic "$topic"
  "$QUESTLOG" serve --listen "127.0.0.1:$port" --kafka "$BOOT" --topic "$topic" "$@" \
    >"$WORK/$key.log" 2>&1 &
  serving "$key" "$port" $! "$topic" "questlog serve --kafka" head
}

start_flask() {  # start_flask KEY TOPIC: the seed's game_api.py under `flask run` (threaded)
  local key=$1 topic=$2 port
  port=$(free_port)
  create_topic "$topic"
  KAFKA_BOOTSTRAP=$BOOT KAFKA_TOPIC=$topic FLASK_APP=$PWD/$SEED_APP \
    "$SYS_PY" -m flask run --host 127.0.0.1 --port "$port" --with-threads >"$WORK/$key.log" 2>&1 &
  serving "$key" "$port" $! "$topic" "the seed's Flask app" tail
}

# count_events KEY: wait for the topic to settle (server still running), count
# its messages, stop the server (SIGTERM; questlog must exit 0) and compare.
# CHECK[KEY] says how the messages compare with the 200s the clients read.
count_events() {
  local key=$1 ok=${OK[$1]} slack=${SLACK[$1]} bad=${BAD[$1]} msgs after rc lost
  settle "${T_TOPIC[$key]}"
  msgs=$(topic_count "${T_TOPIC[$key]}")
  log "$key: ${T_TOPIC[$key]} holds $msgs messages after ${SETTLED_AFTER}s; 2xx read $ok; SIGTERM"
  stop_pid "${T_PID[$key]}" TERM
  rc=$STOP_RC
  after=$(topic_count "${T_TOPIC[$key]}")
  MSGS[$key]=$msgs
  if ((msgs == ok)); then
    CHECK[$key]="100% ($msgs of $ok)"
  elif ((msgs > ok && msgs <= ok + slack)); then
    CHECK[$key]="100% ($ok + $((msgs - ok)) in flight at wrk stop)"
  elif ((msgs > ok)); then
    CHECK[$key]="100%, but $((msgs - ok)) more messages than 200s (in-flight allowance $slack; $bad non-2xx)"
  else
    lost=$((ok - msgs))
    CHECK[$key]="**$lost of $ok 200s not in the topic** ($(awk -v l="$lost" -v o="$ok" 'BEGIN { printf "%.2f", 100 * l / o }')%; up to $((lost + slack)) counting requests in flight at wrk stop)"
  fi
  ((after == msgs)) || CHECK[$key]+="; $after after the server stopped"
  if [[ -n ${AB_BASE[$key]:-} ]]; then
    local ab_ok=$((ok - AB_OK0[$key])) ab_msgs=$((msgs - AB_BASE[$key]))
    if ((ab_msgs == ab_ok)); then
      CHECK[$key]+="; ab runs alone: $ab_msgs messages for $ab_ok 200s (exact)"
    elif ((ab_msgs < ab_ok)); then
      CHECK[$key]+="; ab runs alone: **$((ab_ok - ab_msgs)) of $ab_ok 200s not in the topic**"
    else
      CHECK[$key]+="; ab runs alone: $ab_msgs messages for $ab_ok 200s"
    fi
  fi
  ((bad == 0)) || CHECK[$key]+="; $bad non-2xx answers"
  if [[ $key == questlog* && $rc != 0 ]]; then
    CHECK[$key]="exit $rc on SIGTERM; ${CHECK[$key]}"
    PROBLEMS+=("$key: exit status $rc after SIGTERM (want 0)")
  fi
}

# ------------------------------------------------------------------ machine
describe_machine
REV=${QUESTLOG_REV:-$REV}  # when QUESTLOG was built elsewhere (e.g. from a clean export of a commit)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
IDLE_BEFORE=$(busy_pct)
log "machine: $MACHINE; load $LOAD_BEFORE; ${IDLE_BEFORE}% busy before start; temp dir $WORK"

PEER_VERSIONS=$("$SYS_PY" -c 'import kafka, sys
from importlib.metadata import version
print("Flask %s, Werkzeug %s, kafka-python %s, Python %s" % (version("flask"), version("werkzeug"),
      kafka.__version__, sys.version.split()[0]))')

# ------------------------------------------------------------------- broker
# One broker for the run, in the temp dir, on a free port whose next port (its
# controller listener) is free too.
for ((i = 0; i < 50; i++)); do
  KPORT=$(free_port)
  port_free $((KPORT + 1)) && break
done
log "starting Apache Kafka (KRaft, 1 node) on 127.0.0.1:$KPORT"
BOOT=$(bash scripts/kafka.sh start "$KAFKA_DIR" 1 "$KPORT")
BROKER_PID=$(cat "$KAFKA_DIR/node-1/pid")
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' scripts/kafka/pom.xml)
LIBRDKAFKA_VERSION=$(kcat -V 2>/dev/null | grep -o 'librdkafka [0-9.]*' | head -n1 | cut -d' ' -f2 || true)
log "broker $BOOT (pid $BROKER_PID)"

# ------------------------------------------ the seed's Flask app vs questlog
start_flask flask bench-flask
start_questlog questlog bench-questlog
PAIR=(flask questlog)
wrk_in_turn "$WRK_ROUNDS" "$WRK_SECONDS" "${PAIR[@]}"
# ab leaves nothing in flight, so around the ab runs the count is exact: the
# messages the topic gains must equal the 200s ab read.
for key in "${PAIR[@]}"; do
  settle "${T_TOPIC[$key]}"
  AB_BASE[$key]=$(end_offset "${T_TOPIC[$key]}") AB_OK0[$key]=${OK[$key]}
done
bench_ab questlog "$AB_N" 3
bench_ab flask "$FLASK_AB_N" 1  # tens of seconds a run: never taken again
for key in "${PAIR[@]}"; do count_events "$key"; done

# -------------------------------------------------------- linger.ms sweep
# One questlog per linger.ms, each on its own topic; ab and wrk rounds taken in
# turn across the values, so drift hits each alike; medians per value.
declare -a SWEEP_KEYS=()
i=0
for v in $SWEEP_LINGER; do
  i=$((i + 1))
  start_questlog "linger-$i" "bench-linger-$i" -X "linger.ms=$v"
  T_NAME[linger-$i]=$v
  SWEEP_KEYS+=("linger-$i")
done
declare -A SAB_RPS=() SAB_P50=() SAB_P99=()
for key in "${SWEEP_KEYS[@]}"; do
  run_ab "${T_URL[$key]}" "$AB_WARM_N" "$WORK/$key.abwarm"
  tally "$key"
done
for ((round = 1; round <= SWEEP_ROUNDS; round++)); do
  for key in "${SWEEP_KEYS[@]}"; do
    log "$key (linger.ms=${T_NAME[$key]}): ab -n $SWEEP_AB_N -c 1, round $round"
    run_ab "${T_URL[$key]}" "$SWEEP_AB_N" "$WORK/$key-$round.ab"
    tally "$key"
    [[ -z $R_ERR ]] || PROBLEMS+=("$key ab round $round: $R_ERR")
    SAB_RPS[$key]+="${R_RPS:-error} " SAB_P50[$key]+="${R_P50:--} " SAB_P99[$key]+="${R_P99:--} "
  done
done
wrk_in_turn "$SWEEP_ROUNDS" "$SWEEP_WRK_SECONDS" "${SWEEP_KEYS[@]}"
for key in "${SWEEP_KEYS[@]}"; do
  # shellcheck disable=SC2086
  RPS[$key-ab]=$(median ${SAB_RPS[$key]}) P50[$key-ab]=$(median ${SAB_P50[$key]}) P99[$key-ab]=$(median ${SAB_P99[$key]})
  count_events "$key"
done
IDLE_AFTER=$(busy_pct)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------- report
row() {  # row KEY SERVER TOOL
  local key=$1 tool="ab -c1, new connection per request"
  [[ $3 == wrk ]] && tool="wrk -c$WRK_CONNS keep-alive, median of $WRK_ROUNDS"
  echo "| $2 | $tool | $(fmt_rps "${RPS[$key-$3]:-error}") | ${P50[$key-$3]:--} | ${P99[$key-$3]:--} |" \
    "$(ratio "${RPS[$key-$3]:-}" "${RPS[flask-$3]:-}" 1) |"
}

report() {
  echo "## Kafka: \`questlog serve --kafka\` against the seed's Flask app on the same broker"
  echo
  echo "Machine: $MACHINE. questlog $REV; Apache Kafka $KAFKA_VERSION (1 KRaft node, loopback," \
    "JVM -Xmx768m), librdkafka ${LIBRDKAFKA_VERSION:-?} (kcat's; questlog links the same system library); $PEER_VERSIONS; $(wrk_version), ab 2.3." \
    "Load average before: $LOAD_BEFORE, after: $LOAD_AFTER; CPU busy in the second before the run:" \
    "${IDLE_BEFORE}%, after: ${IDLE_AFTER}%. wrk, the broker's JVM and the server share the $(nproc) cores."
  if ((BUSY_ROUNDS > 0)); then
    echo
    echo "Note: $BUSY_ROUNDS wrk round(s) shared the machine with other programs (marked \"*\" below)."
  fi
  echo
  echo '```'
  echo "scripts/kafka.sh start TMP/kafka 1 PORT             # one broker for the run"
  echo "FLASK_APP=$SEED_APP KAFKA_BOOTSTRAP=127.0.0.1:PORT KAFKA_TOPIC=bench-flask \\"
  echo "  /usr/bin/python3 -m flask run --host 127.0.0.1 --port P1 --with-threads"
  echo "build/questlog serve --listen 127.0.0.1:P2 --kafka 127.0.0.1:PORT --topic bench-questlog"
  echo "wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s --latency -H '$HOST_HEADER' http://127.0.0.1:P/   # ${WARM_SECONDS}s warm-up, $WRK_ROUNDS rounds in turn"
  echo "ab -n $AB_N -c 1 -H '$HOST_HEADER' -e p.csv http://127.0.0.1:P2/   # questlog, after $AB_WARM_N warm-up"
  echo "ab -n $FLASK_AB_N -c 1 -H '$HOST_HEADER' -e p.csv http://127.0.0.1:P1/   # Flask, after $AB_WARM_N warm-up"
  echo "kcat -b 127.0.0.1:PORT -C -t TOPIC -o beginning -e -q | wc -l   # once the end offset is still for 3 s"
  echo '```'
  echo
  echo "| server | tool | requests/s | p50 ms | p99 ms | ratio to Flask (same tool) |"
  echo "|---|---|---:|---:|---:|---:|"
  row flask "seed's game_api.py (Flask dev server, kafka-python)" wrk
  row questlog "questlog serve --kafka (defaults: linger 0, 0.2 ms past 16 in flight)" wrk
  row flask "seed's game_api.py (Flask dev server, kafka-python)" ab
  row questlog "questlog serve --kafka (defaults: linger 0, 0.2 ms past 16 in flight)" ab
  echo
  echo "| server | 2xx answers read | non-2xx | messages in its topic | 200s in the topic |"
  echo "|---|---:|---:|---:|---|"
  for key in flask questlog; do
    echo "| $key | ${OK[$key]} | ${BAD[$key]} | ${MSGS[$key]:-?} | ${CHECK[$key]:-?} |"
  done
  echo
  local r1 r2 v1="not met" v2="not met"
  r1=$(ratio "${RPS[questlog-wrk]:-}" "${RPS[flask-wrk]:-}" 1) r2=$(ratio "${RPS[questlog-ab]:-}" "${RPS[flask-ab]:-}" 1)
  awk -v a="${r1%x}" 'BEGIN { exit !(a + 0 >= 50) }' && v1="met"
  awk -v b="${r2%x}" 'BEGIN { exit !(b + 0 >= 50) }' && v2="met"
  echo "Goal (issue 4): questlog --kafka >= 50x the Flask app's requests/s. wrk -c$WRK_CONNS: $r1, **$v1**." \
    "ab -c1: $r2, **$v2**: one request at a time, questlog waits for Kafka's acknowledgement" \
    "(a loopback round trip) where Flask answers before it sends, and ab opens a connection per request."
  echo
  echo "linger.ms sweep, questlog serve --kafka -X linger.ms=V (one producer with that linger), one server and topic per value, rounds taken in" \
    "turn across the values: ab -n $SWEEP_AB_N -c1 ($SWEEP_ROUNDS rounds, after $AB_WARM_N warm-up) and" \
    "wrk -c$WRK_CONNS -d${SWEEP_WRK_SECONDS}s ($SWEEP_ROUNDS rounds, after ${WARM_SECONDS}s warm-up); medians."
  echo
  echo "| linger.ms | ab -c1 requests/s | ab p50 ms | ab p99 ms | wrk -c$WRK_CONNS requests/s | wrk p50 ms | wrk p99 ms | 200s in the topic |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---|"
  for key in "${SWEEP_KEYS[@]}"; do
    echo "| ${T_NAME[$key]} | $(fmt_rps "${RPS[$key-ab]}") | ${P50[$key-ab]} | ${P99[$key-ab]} |" \
      "$(fmt_rps "${RPS[$key-wrk]}") | ${P50[$key-wrk]} | ${P99[$key-wrk]} | ${CHECK[$key]:-?} |"
  done
  echo
  echo "Per round (\"*\": other programs took more than $OTHER_MAX_PCT% of the cores; left out of the median):"
  for key in "${PAIR[@]}"; do echo "- $key wrk: ${ALL_RPS[$key]:-}"; done
  for key in "${SWEEP_KEYS[@]}"; do
    echo "- linger.ms=${T_NAME[$key]}: ab ${SAB_RPS[$key]}; wrk ${ALL_RPS[$key]:-}"
  done
  echo
  echo "CPU seconds per measured run (server / client / broker / other programs / kernel outside any process):"
  for key in "${PAIR[@]}"; do
    echo "- $key: wrk ${CPU_NOTE[$key]:-}; ab ${AB_CPU[$key]:-}"
  done
  for key in "${SWEEP_KEYS[@]}"; do echo "- linger.ms=${T_NAME[$key]}: wrk ${CPU_NOTE[$key]:-}"; done
  if ((${#AB_NOTES[@]})); then
    echo
    echo "ab runs taken again because other programs competed for the cores:"
    printf -- '- %s\n' "${AB_NOTES[@]}"
  fi
  echo
  echo "Counting: 2xx answers are what the clients read (warm-ups, measured runs, one curl each);" \
    "wrk stops at its deadline with a request in flight on each connection, which the server may" \
    "log without wrk reading the answer, so up to $WRK_CONNS messages per wrk run may exceed the 2xx." \
    "Messages are counted once the topic's end offset has not moved for 3 s (at most ${SETTLE_SECONDS}s)," \
    "with the server still running, and again after it got SIGTERM. ab leaves nothing in flight, so the" \
    "messages a topic gained during the ab runs (end offsets taken once it settled before and after)" \
    "must equal the 200s ab read, exactly."
  if ((${#PROBLEMS[@]})); then
    echo
    echo "Problems:"
    printf -- '- %s\n' "${PROBLEMS[@]}"
  fi
}

write_report kafka.md
