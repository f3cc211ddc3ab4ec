#!/usr/bin/env bash
# make bench, third part: `questlog serve --kafka` against the seed's own Flask app
# (game_api.py with kafka-python, on Flask's threaded dev server, as `flask run`
# runs it) on one real Apache Kafka broker (KRaft, loopback), under the same wrk
# and ab runs as bench/run.sh. Then, per server, the 2xx answers the clients read
# against the messages in its topic; then a linger.ms sweep for questlog.
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
# (what the report calls the binary; default: this checkout's commit).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUESTLOG=${QUESTLOG:-build/questlog}
SYS_PY=${SYS_PY:-/usr/bin/python3}
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_ROUNDS=${WRK_ROUNDS:-3}
WARM_SECONDS=${WARM_SECONDS:-2}
AB_N=${AB_N:-5000}
AB_WARM_N=500
FLASK_AB_N=${FLASK_AB_N:-2000}
SETTLE_SECONDS=${SETTLE_SECONDS:-30}
SWEEP_LINGER=${SWEEP_LINGER:-0 0.2 1 5}
SWEEP_ROUNDS=${SWEEP_ROUNDS:-3}
SWEEP_AB_N=${SWEEP_AB_N:-2000}
SWEEP_WRK_SECONDS=${SWEEP_WRK_SECONDS:-5}
WRK_THREADS=2
WRK_CONNS=64
HOST_HEADER="Host: user1.comcast.com"
BODY=$'This is the default response!\n'
RESULTS_DIR=bench/results
SEED_APP=${SEED_APP:-tests/seed/game_api.py}  # missing: the seed's file, verbatim but for its bootstrap

for tool in java kcat wrk ab curl python3; do
  command -v "$tool" >/dev/null || { echo "bench/kafka: $tool not found (make deps-test installs it)" >&2; exit 1; }
done
[[ -x $QUESTLOG ]] || { echo "bench/kafka: $QUESTLOG not found (make build)" >&2; exit 1; }
"$QUESTLOG" serve --help 2>&1 | grep -q -- '--kafka' ||
  { echo "bench/kafka: $QUESTLOG has no serve --kafka (rebuild)" >&2; exit 1; }

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/questlog-bench-kafka.XXXXXX")
KAFKA_DIR=$WORK/kafka
declare -a CHILDREN=()
BROKER_PID=""

log() { printf '[bench/kafka] %s\n' "$*" >&2; }

alive() {  # alive PID: running (a zombie, exited but not yet waited for, is not)
  local s
  { read -r s <"/proc/$1/stat"; } 2>/dev/null || return 1
  s=${s##*) }
  [[ ${s:0:1} != Z ]]
}

# stop_pid PID [SIGNAL]: signal a child, wait up to 15 s for it to exit, then
# SIGKILL it. Sets STOP_RC to its exit status (128+N if it died of signal N).
STOP_RC=0
stop_pid() {
  local pid=$1 sig=${2:-TERM} i
  kill -"$sig" "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || break
    sleep 0.1
  done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null
  STOP_RC=0
  wait "$pid" 2>/dev/null || STOP_RC=$?
  local keep=() p
  for p in "${CHILDREN[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  CHILDREN=("${keep[@]}")
}

cleanup() {
  local p
  for p in "${CHILDREN[@]}"; do stop_pid "$p" TERM; done
  # The broker runs under setsid (scripts/kafka.sh): stopped by the pid in its dir.
  if [[ -d $KAFKA_DIR ]]; then bash scripts/kafka.sh stop "$KAFKA_DIR" || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_free() {  # port_free PORT: nothing listens on it and we may bind it
  python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
}

# wait_port PORT PID: wait up to 15 s for a TCP listener; fails early if PID exits.
wait_port() {
  local port=$1 pid=$2 i
  for ((i = 0; i < 150; i++)); do
    alive "$pid" || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# ------------------------------------------------------------ CPU accounting
cpu_ticks() {  # cpu_ticks PID: user+system ticks of PID and its direct children
  local root=$1 total=0 f line pid
  local -a a
  [[ -n $root ]] || { echo 0; return; }
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    pid=${f#/proc/} pid=${pid%/stat}
    read -r -a a <<<"${line##*) }"
    if [[ $pid == "$root" || ${a[1]} == "$root" ]]; then
      total=$((total + a[11] + a[12]))
    fi
  done
  echo "$total"
}

children_cpu_s() {  # children_cpu_s VAR: CPU-s of this shell's waited-for children (the clients)
  times >"$WORK/times"
  printf -v "$1" '%s' "$(sed -n 2p "$WORK/times" | awk '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
    printf "%.2f", t }')"
}

sys_cpu() {  # "busy softirq total" ticks over all cores, from /proc/stat
  awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i
                     print t - $5 - $6, $8, t; exit }' /proc/stat
}

busy_pct() {  # share of all cores busy over one second
  local a b
  a=$(sys_cpu); sleep 1; b=$(sys_cpu)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y)
    printf "%.0f", 100 * (y[1] - x[1]) / (y[3] - x[3]) }'
}

# foreign_ticks: ticks of programs that are neither this script's descendants nor
# the broker (which scripts/kafka.sh starts under setsid, so it is not a descendant)
# nor kernel threads, including the children they reaped.
foreign_ticks() {
  local f line pid total=0 p
  local -A ppid=() ticks=()
  local -a a
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    pid=${f#/proc/} pid=${pid%/stat}
    read -r -a a <<<"${line##*) }"
    ppid[$pid]=${a[1]} ticks[$pid]=$((a[11] + a[12] + a[13] + a[14]))
  done
  for pid in "${!ticks[@]}"; do
    [[ $pid == 2 || ${ppid[$pid]} == 2 || $pid == "$BROKER_PID" ]] && continue
    p=$pid
    while [[ -n $p && $p != 0 && $p != 1 && $p != "$$" ]]; do p=${ppid[$p]:-}; done
    [[ $p == "$$" ]] && continue
    total=$((total + ticks[$pid]))
  done
  echo "$total"
}

# cpu_begin PID / cpu_end PID: bracket a measured client run. CPU_TEXT is
# server / client / broker / other programs / kernel CPU-s; CPU_BUSY=1 when other
# programs took more than OTHER_MAX_PCT of all the cores' time.
OTHER_MAX_PCT=${OTHER_MAX_PCT:-10}
CPU_OTHER=0 CPU_TEXT="" CPU_BUSY=0
cpu_begin() {
  C_T0=$EPOCHREALTIME C_SRV0=$(cpu_ticks "$1") C_BRK0=$(cpu_ticks "$BROKER_PID") C_SYS0=$(sys_cpu)
  C_FOR0=$(foreign_ticks)
  children_cpu_s C_CLI0
}
cpu_end() {
  local cli1 srv1 brk1 sys1 for1 t1=$EPOCHREALTIME
  children_cpu_s cli1
  sys1=$(sys_cpu) srv1=$(cpu_ticks "$1") brk1=$(cpu_ticks "$BROKER_PID") for1=$(foreign_ticks)
  read -r CPU_OTHER CPU_BUSY CPU_TEXT < <(awk -v s=$((srv1 - C_SRV0)) -v b=$((brk1 - C_BRK0)) \
    -v o=$((for1 - C_FOR0)) -v hz="$(getconf CLK_TCK)" -v c0="$C_CLI0" -v c1="$cli1" \
    -v x="$C_SYS0" -v y="$sys1" -v t0="$C_T0" -v t1="$t1" -v cores="$(nproc)" -v pct="$OTHER_MAX_PCT" \
    'BEGIN { split(x, p); split(y, q); srv = s / hz; brk = b / hz; cli = c1 - c0; other = o / hz
             kern = (q[1] - p[1]) / hz - srv - brk - cli - other; if (kern < 0) kern = 0
             limit = pct / 100 * cores * (t1 - t0); if (limit < 0.1) limit = 0.1
             busy = (other > limit) ? 1 : 0
             printf "%.1f %d %.1f/%.1f/%.1f/%.1f/%.1f\n", other, busy, srv, cli, brk, other, kern }')
}

# ------------------------------------------------------------- load clients
to_ms() {  # wrk latency: 512.00us | 1.20ms | 2.01s | 1.50m
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

# Results of the last client run: R_OK (2xx read), R_BAD (non-2xx read),
# R_SLACK (requests the server may have taken without the client reading the
# answer: one per connection at wrk's deadline, plus socket errors).
R_RPS="" R_P50="" R_P99="" R_OK=0 R_BAD=0 R_SLACK=0 R_ERR=""

run_wrk() {  # run_wrk URL SECONDS OUT
  local url=$1 secs=$2 out=$3 rc=0
  timeout $((secs + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${secs}s" --latency \
    -H "$HOST_HEADER" "$url" >"$out" 2>&1 || rc=$?
  R_ERR="" R_RPS="" R_P50="" R_P99="" R_OK=0 R_BAD=0 R_SLACK=0
  if ((rc != 0)) || ! grep -q ' requests in ' "$out"; then
    R_ERR="wrk failed (rc $rc): $(tail -n1 "$out")"
    R_SLACK=$WRK_CONNS
    return 0
  fi
  local total bad sock
  total=$(awk '/ requests in / {print $1}' "$out")
  bad=$(awk -F: '/Non-2xx or 3xx responses/ {gsub(/ /, "", $2); print $2}' "$out")
  sock=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
  R_OK=$((total - ${bad:-0})) R_BAD=${bad:-0}
  R_SLACK=$((WRK_CONNS + ${sock:-0}))
  R_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  R_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  R_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  ((${bad:-0} == 0)) || R_ERR="$bad responses were not 2xx"
  ((${sock:-0} == 0)) || R_ERR="${R_ERR:+$R_ERR; }$(grep 'Socket errors' "$out" | sed 's/^ *//')"
}

run_ab() {  # run_ab URL N OUT: the seed's client, a new connection per request, -c1
  local url=$1 n=$2 out=$3 rc=0
  # -t comes first because it resets -n to 50000; the -n after it wins.
  timeout 150 ab -q -t 120 -n "$n" -c 1 -H "$HOST_HEADER" -e "$out.csv" "$url" >"$out" 2>&1 || rc=$?
  R_ERR="" R_RPS="" R_P50="" R_P99="" R_OK=0 R_BAD=0 R_SLACK=0
  if ((rc != 0)) || ! grep -q '^Complete requests' "$out"; then
    R_ERR="ab failed (rc $rc): $(tail -n1 "$out")"
    R_SLACK=1
    return 0
  fi
  local complete non2xx failed
  complete=$(awk '/^Complete requests:/ {print $3}' "$out")
  non2xx=$(awk '/^Non-2xx responses:/ {print $3}' "$out")
  # "Failed requests" counts Length mismatches too; those were still answered.
  failed=$(awk '/^ +\(Connect:/ { gsub(/[(),]/, ""); print $2 + $4 + $8 }' "$out")
  R_OK=$((complete - ${non2xx:-0} - ${failed:-0})) R_BAD=${non2xx:-0}
  R_SLACK=${failed:-0}
  R_RPS=$(awk '/^Requests per second:/ {print $4}' "$out")
  R_P50=$(awk -F, '$1 == "50" {printf "%.3f", $2}' "$out.csv")
  R_P99=$(awk -F, '$1 == "99" {printf "%.3f", $2}' "$out.csv")
  ((complete == n)) || R_ERR="only $complete of $n requests completed"
  ((${non2xx:-0} + ${failed:-0} == 0)) || R_ERR="${R_ERR:+$R_ERR; }${non2xx:-0} non-2xx, ${failed:-0} failed"
  grep -q '^Document Length: *30 bytes' "$out" ||
    R_ERR="${R_ERR:+$R_ERR; }$(grep '^Document Length' "$out" || echo 'no Document Length')"
}

check_body() {  # check_body URL: one GET; succeeds if it is the 30-byte default response
  local got
  got=$(curl -sS --max-time 15 -H "$HOST_HEADER" -o "$WORK/body" -w '%{http_code}' "$1") || return 1
  [[ $got == 200 ]] && cmp -s "$WORK/body" <(printf '%s' "$BODY")
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

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
# A target is one running server: T_URL, T_PID, T_TOPIC. Per target, OK/BAD are
# the 2xx/non-2xx the clients read and SLACK how many more requests the server
# may have taken without the client reading the answer.
declare -A T_URL=() T_PID=() T_TOPIC=() T_NAME=() OK=() BAD=() SLACK=()
declare -A RPS=() P50=() P99=() ROUND_RPS=() ROUND_P50=() ROUND_P99=() ALL_RPS=() CPU_NOTE=()
declare -A BUSY_RPS=() BUSY_P50=() BUSY_P99=() CHECK=() MSGS=() AB_BASE=() AB_OK0=()
declare -a PROBLEMS=() AB_NOTES=()

start_questlog() {  # start_questlog KEY TOPIC [-X prop=value]...
  local key=$1 topic=$2 port pid
  shift 2
  port=$(free_port)
  create_topic "$topic"
  "$QUESTLOG" serve --listen "127.0.0.1:$port" --kafka "$BOOT" --topic "$topic" "$@" \
    >"$WORK/$key.log" 2>&1 &
  pid=$!
  CHILDREN+=("$pid")
  T_PID[$key]=$pid T_URL[$key]="http://127.0.0.1:$port/" T_TOPIC[$key]=$topic
  OK[$key]=0 BAD[$key]=0 SLACK[$key]=0
  if ! wait_port "$port" "$pid"; then
    echo "bench/kafka: questlog serve --kafka did not start: $(head -n3 "$WORK/$key.log")" >&2
    exit 1
  fi
  check_body "${T_URL[$key]}" && OK[$key]=1 ||
    PROBLEMS+=("$key: GET / is not 200 with the 30-byte default body")
}

start_flask() {  # start_flask KEY TOPIC: the seed's game_api.py under `flask run` (threaded)
  local key=$1 topic=$2 port pid
  port=$(free_port)
  create_topic "$topic"
  KAFKA_BOOTSTRAP=$BOOT KAFKA_TOPIC=$topic FLASK_APP=$FLASK_APP_FILE \
    "$SYS_PY" -m flask run --host 127.0.0.1 --port "$port" --with-threads >"$WORK/$key.log" 2>&1 &
  pid=$!
  CHILDREN+=("$pid")
  T_PID[$key]=$pid T_URL[$key]="http://127.0.0.1:$port/" T_TOPIC[$key]=$topic
  OK[$key]=0 BAD[$key]=0 SLACK[$key]=0
  if ! wait_port "$port" "$pid"; then
    echo "bench/kafka: the seed's Flask app did not start: $(tail -n3 "$WORK/$key.log")" >&2
    exit 1
  fi
  check_body "${T_URL[$key]}" && OK[$key]=1 ||
    PROBLEMS+=("$key: GET / is not 200 with the 30-byte default body")
}

tally() {  # tally KEY: add the last client run's counts to KEY
  OK[$1]=$((OK[$1] + R_OK)) BAD[$1]=$((BAD[$1] + R_BAD)) SLACK[$1]=$((SLACK[$1] + R_SLACK))
}

warm_wrk() {  # warm_wrk KEY SECONDS
  log "$1: wrk warm-up ${2}s"
  run_wrk "${T_URL[$1]}" "$2" "$WORK/$1.warm"
  tally "$1"
  [[ -z $R_ERR ]] || PROBLEMS+=("$1 wrk warm-up: $R_ERR")
}

# bench_wrk KEY ROUND SECONDS: one measured wrk round; a round in which other
# programs took more than OTHER_MAX_PCT of the cores is marked "*" and, while
# the retry budget lasts, taken again. Medians use the rounds that were not busy.
RETRIES_LEFT=${WRK_RETRIES:-2}
BUSY_ROUNDS=0
bench_wrk() {
  local key=$1 round=$2 secs=$3
  while :; do
    log "$key: wrk round $round, ${secs}s"
    cpu_begin "${T_PID[$key]}"
    run_wrk "${T_URL[$key]}" "$secs" "$WORK/$key-$round.wrk"
    cpu_end "${T_PID[$key]}"
    tally "$key"
    [[ -z $R_ERR ]] || PROBLEMS+=("$key wrk round $round: $R_ERR")
    ALL_RPS[$key]+="${R_RPS:-error} "
    if ((CPU_BUSY)); then
      BUSY_ROUNDS=$((BUSY_ROUNDS + 1))
      ALL_RPS[$key]="${ALL_RPS[$key]% }* "
      CPU_NOTE[$key]+="$CPU_TEXT*  "
      BUSY_P50[$key]+="$R_P50 " BUSY_P99[$key]+="$R_P99 " BUSY_RPS[$key]+="${R_RPS:-} "
      if ((RETRIES_LEFT > 0)); then
        RETRIES_LEFT=$((RETRIES_LEFT - 1))
        log "$key: other programs took $CPU_OTHER CPU-s during that round; taking it again"
        continue
      fi
      return 0
    fi
    CPU_NOTE[$key]+="$CPU_TEXT  "
    ROUND_RPS[$key]+="${R_RPS:-} " ROUND_P50[$key]+="$R_P50 " ROUND_P99[$key]+="$R_P99 "
    return 0
  done
}

# finish_wrk KEY: medians of the rounds that were not busy (or of all, said so).
finish_wrk() {
  local key=$1
  local rounds=${ROUND_RPS[$key]:-}
  if [[ -z ${rounds// /} ]]; then
    ROUND_RPS[$key]=${BUSY_RPS[$key]:-} ROUND_P50[$key]=${BUSY_P50[$key]:-} ROUND_P99[$key]=${BUSY_P99[$key]:-}
    PROBLEMS+=("$key: every wrk round competed with other programs on the machine")
  fi
  # shellcheck disable=SC2086  # word-splitting the per-round lists is the point
  RPS[$key-wrk]=$(median ${ROUND_RPS[$key]:-error}) P50[$key-wrk]=$(median ${ROUND_P50[$key]:--}) \
    P99[$key-wrk]=$(median ${ROUND_P99[$key]:--})
}

# bench_ab KEY N TRIES [WARM]: optional warm-up, then the measured ab run, taken
# again (up to TRIES runs) if other programs competed for the cores during it.
bench_ab() {
  local key=$1 n=$2 tries=$3 warm=${4:-$AB_WARM_N} try
  if ((warm > 0)); then
    log "$key: ab warm-up -n $warm"
    run_ab "${T_URL[$key]}" "$warm" "$WORK/$key.abwarm"
    tally "$key"
    [[ -z $R_ERR ]] || PROBLEMS+=("$key ab warm-up: $R_ERR")
  fi
  for ((try = 1; try <= tries; try++)); do
    log "$key: ab -n $n -c 1"
    cpu_begin "${T_PID[$key]}"
    run_ab "${T_URL[$key]}" "$n" "$WORK/$key.ab"
    cpu_end "${T_PID[$key]}"
    tally "$key"
    [[ -z $R_ERR ]] || PROBLEMS+=("$key ab: $R_ERR")
    ((CPU_BUSY && try < tries)) || break
    AB_NOTES+=("$key: ${R_RPS:-error} requests/s while other programs took $CPU_OTHER CPU-s")
    log "$key: other programs took $CPU_OTHER CPU-s during ab; taking it again"
  done
  ((CPU_BUSY == 0)) ||
    PROBLEMS+=("$key ab: other programs took $CPU_OTHER CPU-s during the run (server/ab/broker/other/kernel $CPU_TEXT)")
  AB_CPU[$key]=$CPU_TEXT
  RPS[$key-ab]=${R_RPS:-error} P50[$key-ab]=${R_P50:--} P99[$key-ab]=${R_P99:--}
}
declare -A AB_CPU=()

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
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MACHINE="$(nproc) cores, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src CMakeLists.txt 2>/dev/null && [[ -z $(git ls-files --others --exclude-standard src) ]] ||
  REV="$REV + uncommitted changes"
REV=${QUESTLOG_REV:-$REV}  # when QUESTLOG was built elsewhere (e.g. from a clean export of a commit)
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
IDLE_BEFORE=$(busy_pct)
log "machine: $MACHINE; load $LOAD_BEFORE; ${IDLE_BEFORE}% busy before start; temp dir $WORK"

# The seed's app: tests/seed/game_api.py (the seed's file with bootstrap and topic
# from KAFKA_BOOTSTRAP/KAFKA_TOPIC, tests/seed/README.md), or else the seed's file
# verbatim but for its bootstrap, which then logs to the seed's topic, events.
if [[ -f $SEED_APP ]]; then
  FLASK_APP_FILE=$PWD/$SEED_APP FLASK_TOPIC=bench-flask
else
  FLASK_APP_FILE=$WORK/game_api.py FLASK_TOPIC=events
  cat >"$FLASK_APP_FILE" <<'EOF'
#!/usr/bin/env python
import json
from kafka import KafkaProducer
from flask import Flask, request

app = Flask(__name__)
producer = KafkaProducer(bootstrap_servers='@BOOTSTRAP@')


def log_to_kafka(topic, event):
    event.update(request.headers)
    producer.send(topic, json.dumps(event).encode())


@app.route("/")
def default_response():
    default_event = {'event_type': 'default'}
    log_to_kafka('events', default_event)
    return "This is the default response!\n"


@app.route("/purchase_a_sword")
def purchase_a_sword():
    purchase_sword_event = {'event_type': 'purchase_sword'}
    log_to_kafka('events', purchase_sword_event)
    return "Sword Purchased!\n"


@app.route("/purchase_a_knife")
def purchase_a_knife():
    purchase_knife_event = {'event_type': 'purchase_knife',
                            'description': 'very sharp knife'}
    log_to_kafka('events', purchase_knife_event)
    return "Knife Purchased!\n"
EOF
fi
"$SYS_PY" -c 'import flask, kafka' 2>/dev/null ||
  { echo "bench/kafka: $SYS_PY cannot import flask and kafka (apt: python3-flask python3-kafka)" >&2; exit 1; }
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
if [[ $FLASK_APP_FILE == "$WORK"/* ]]; then sed -i "s|@BOOTSTRAP@|$BOOT|" "$FLASK_APP_FILE"; fi

# ------------------------------------------ the seed's Flask app vs questlog
start_flask flask "$FLASK_TOPIC"
start_questlog questlog bench-questlog
PAIR=(flask questlog)
for key in "${PAIR[@]}"; do warm_wrk "$key" "$WARM_SECONDS"; done
for ((round = 1; round <= WRK_ROUNDS; round++)); do
  for key in "${PAIR[@]}"; do bench_wrk "$key" "$round" "$WRK_SECONDS"; done
done
for key in "${PAIR[@]}"; do finish_wrk "$key"; done
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
for key in "${SWEEP_KEYS[@]}"; do warm_wrk "$key" "$WARM_SECONDS"; done
for ((round = 1; round <= SWEEP_ROUNDS; round++)); do
  for key in "${SWEEP_KEYS[@]}"; do bench_wrk "$key" "$round" "$SWEEP_WRK_SECONDS"; done
done
for key in "${SWEEP_KEYS[@]}"; do
  finish_wrk "$key"
  # shellcheck disable=SC2086
  RPS[$key-ab]=$(median ${SAB_RPS[$key]}) P50[$key-ab]=$(median ${SAB_P50[$key]}) P99[$key-ab]=$(median ${SAB_P99[$key]})
  count_events "$key"
done
IDLE_AFTER=$(busy_pct)
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ------------------------------------------------------------------- report
fmt_rps() { if [[ $1 =~ ^[0-9.]+$ ]]; then printf '%.0f' "$1"; else printf '%s' "$1"; fi; }
ratio() {  # ratio RPS BASE_RPS
  if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", a / b }'
  else
    echo "n/a"
  fi
}
row() {  # row KEY SERVER TOOL
  local key=$1 tool="ab -c1, new connection per request"
  [[ $3 == wrk ]] && tool="wrk -c$WRK_CONNS keep-alive, median of $WRK_ROUNDS"
  echo "| $2 | $tool | $(fmt_rps "${RPS[$key-$3]:-error}") | ${P50[$key-$3]:--} | ${P99[$key-$3]:--} |" \
    "$(ratio "${RPS[$key-$3]:-}" "${RPS[flask-$3]:-}") |"
}

report() {
  echo "## Kafka: \`questlog serve --kafka\` against the seed's Flask app on the same broker"
  echo
  echo "Machine: $MACHINE. questlog $REV; Apache Kafka $KAFKA_VERSION (1 KRaft node, loopback," \
    "JVM -Xmx768m), librdkafka ${LIBRDKAFKA_VERSION:-?} (kcat's; questlog links the same system library); $PEER_VERSIONS; $(wrk -v 2>&1 | awk 'NR==1 {print $1, $2}'), ab 2.3." \
    "Load average before: $LOAD_BEFORE, after: $LOAD_AFTER; CPU busy in the second before the run:" \
    "${IDLE_BEFORE}%, after: ${IDLE_AFTER}%. wrk, the broker's JVM and the server share the $(nproc) cores."
  if ((BUSY_ROUNDS > 0)); then
    echo
    echo "Note: $BUSY_ROUNDS wrk round(s) shared the machine with other programs (marked \"*\" below)."
  fi
  echo
  echo '```'
  echo "scripts/kafka.sh start TMP/kafka 1 PORT             # one broker for the run"
  echo "FLASK_APP=${FLASK_APP_FILE#"$PWD"/} KAFKA_BOOTSTRAP=127.0.0.1:PORT KAFKA_TOPIC=$FLASK_TOPIC \\"
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
  row questlog "questlog serve --kafka (linger.ms=0)" wrk
  row flask "seed's game_api.py (Flask dev server, kafka-python)" ab
  row questlog "questlog serve --kafka (linger.ms=0)" ab
  echo
  echo "| server | 2xx answers read | non-2xx | messages in its topic | 200s in the topic |"
  echo "|---|---:|---:|---:|---|"
  for key in flask questlog; do
    echo "| $key | ${OK[$key]} | ${BAD[$key]} | ${MSGS[$key]:-?} | ${CHECK[$key]:-?} |"
  done
  echo
  local r1 r2 verdict="not met"
  r1=$(ratio "${RPS[questlog-wrk]:-}" "${RPS[flask-wrk]:-}") r2=$(ratio "${RPS[questlog-ab]:-}" "${RPS[flask-ab]:-}")
  awk -v a="${r1%x}" -v b="${r2%x}" 'BEGIN { exit !(a + 0 >= 50 && b + 0 >= 50) }' && verdict="met"
  echo "Goal (issue 4): questlog --kafka >= 50x the Flask app's requests/s: **$verdict** (wrk -c$WRK_CONNS: $r1, ab -c1: $r2)."
  echo
  echo "linger.ms sweep, questlog serve --kafka -X linger.ms=V, one server and topic per value, rounds taken in" \
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

mkdir -p "$RESULTS_DIR"
report | tee "$RESULTS_DIR/kafka.md"
