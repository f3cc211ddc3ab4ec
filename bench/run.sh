#!/usr/bin/env bash
# make bench: questlog serve against nginx (and, if the venv has Flask, the
# seed's Flask app) on loopback, under wrk (keep-alive, -c64) and ab (the seed's
# client: -c1, a new connection per request). Prints one markdown table and
# writes it to bench/results/latest.md. bench/README.md says what is measured.
#
# Everything it starts is a child it stops by pid; everything it writes outside
# bench/results/ lives in one temp dir, removed on exit.
#
# Knobs (environment): QUESTLOG (binary, default build/questlog),
# WRK_SECONDS (10), WRK_ROUNDS (3), WARM_SECONDS (2), AB_N (5000),
# FLASK_AB_N (2000), WRK_RETRIES (2), OTHER_MAX_PCT (10), BENCH_TMPDIR (/var/tmp;
# the fsync rows mean nothing on tmpfs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

QUESTLOG=${QUESTLOG:-build/questlog}
VENV_PY=${VENV_PY:-.venv/bin/python}  # the peer Flask app runs here if it has flask
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_ROUNDS=${WRK_ROUNDS:-3}
WARM_SECONDS=${WARM_SECONDS:-2}
AB_N=${AB_N:-5000}
AB_WARM_N=500
FLASK_AB_N=${FLASK_AB_N:-2000}
WRK_THREADS=2
WRK_CONNS=64
HOST_HEADER="Host: user1.comcast.com"
BODY=$'This is the default response!\n'
RESULTS_DIR=bench/results

for tool in nginx wrk ab curl python3; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (make deps-test installs it)" >&2; exit 1; }
done

WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/questlog-bench.XXXXXX")
declare -a CHILDREN=()

log() { printf '[bench] %s\n' "$*" >&2; }

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
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_port PORT PID: wait up to 15 s for a TCP listener (a bare connect, no
# HTTP request, so nothing is logged); fails early if PID exits.
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
# cpu_ticks PID: user+system clock ticks of PID and its direct children
# (nginx's workers). Pure bash, so taking the sample costs no forks.
cpu_ticks() {
  local root=$1 total=0 f line pid
  local -a a
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    pid=${f#/proc/} pid=${pid%/stat}
    read -r -a a <<<"${line##*) }"
    # after "comm) ": [0]=state [1]=ppid ... [11]=utime [12]=stime
    if [[ $pid == "$root" || ${a[1]} == "$root" ]]; then
      total=$((total + a[11] + a[12]))
    fi
  done
  echo "$total"
}

# children_cpu_s VAR: CPU seconds used by the waited-for children of this shell
# (bash `times`), to measure wrk's own CPU. It must run in this shell, not in
# $(...): a forked subshell starts with no children usage.
children_cpu_s() {
  times >"$WORK/times"
  printf -v "$1" '%s' "$(sed -n 2p "$WORK/times" | awk '{
    t = 0
    for (i = 1; i <= 2; i++) { split($i, p, /[ms]/); t += p[1] * 60 + p[2] }
    printf "%.2f", t }')"
}

# sys_cpu: "busy softirq total" ticks summed over all cores, from /proc/stat.
sys_cpu() {
  awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i
                     print t - $5 - $6, $8, t; exit }' /proc/stat
}

# busy_pct: share of all cores busy over one second (is the machine idle?).
busy_pct() {
  local a b
  a=$(sys_cpu); sleep 1; b=$(sys_cpu)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y)
    printf "%.0f", 100 * (y[1] - x[1]) / (y[3] - x[3]) }'
}

# ------------------------------------------------------------- load clients
to_ms() {  # wrk latency: 512.00us | 1.20ms | 2.01s | 1.50m
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

# Results of the last client run.
R_RPS="" R_P50="" R_P99="" R_OK=0 R_SLACK=0 R_ERR=""

# run_wrk URL SECONDS OUT: keep-alive load. R_OK = responses read that were not
# errors; R_SLACK = requests wrk may have sent but abandoned, one per connection
# at its deadline plus any socket errors: the server may have logged those.
run_wrk() {
  local url=$1 secs=$2 out=$3 rc=0
  timeout $((secs + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${secs}s" --latency \
    -H "$HOST_HEADER" "$url" >"$out" 2>&1 || rc=$?
  R_ERR="" R_RPS="" R_P50="" R_P99="" R_OK=0 R_SLACK=0
  if ((rc != 0)) || ! grep -q ' requests in ' "$out"; then
    R_ERR="wrk failed (rc $rc): $(tail -n1 "$out")"
    return 0
  fi
  local total bad sock
  total=$(awk '/ requests in / {print $1}' "$out")
  bad=$(awk -F: '/Non-2xx or 3xx responses/ {gsub(/ /, "", $2); print $2}' "$out")
  sock=$(awk '/Socket errors/ { gsub(/,/, ""); print $4 + $6 + $8 + $10 }' "$out")
  R_OK=$((total - ${bad:-0}))
  R_SLACK=$((WRK_CONNS + ${sock:-0}))
  R_RPS=$(awk '/^Requests\/sec:/ {print $2}' "$out")
  R_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
  R_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
  ((${bad:-0} == 0)) || R_ERR="$bad responses were not 2xx"
  ((${sock:-0} == 0)) || R_ERR="${R_ERR:+$R_ERR; }$(grep 'Socket errors' "$out" | sed 's/^ *//')"
}

# run_ab URL N OUT: the seed's client, a new connection per request, -c1.
# p50/p99 come from ab's -e CSV (microseconds; its printed table is whole ms).
run_ab() {
  local url=$1 n=$2 out=$3 rc=0
  # -t comes first because it resets -n to 50000; the -n after it wins.
  timeout 150 ab -q -t 120 -n "$n" -c 1 -H "$HOST_HEADER" -e "$out.csv" "$url" >"$out" 2>&1 || rc=$?
  R_ERR="" R_RPS="" R_P50="" R_P99="" R_OK=0 R_SLACK=0
  if ((rc != 0)) || ! grep -q '^Complete requests' "$out"; then
    R_ERR="ab failed (rc $rc): $(tail -n1 "$out")"
    return 0
  fi
  local complete non2xx failed
  complete=$(awk '/^Complete requests:/ {print $3}' "$out")
  non2xx=$(awk '/^Non-2xx responses:/ {print $3}' "$out")
  # "Failed requests" counts Length mismatches too; those were still answered.
  failed=$(awk '/^ +\(Connect:/ { gsub(/[(),]/, ""); print $2 + $4 + $8 }' "$out")
  R_OK=$((complete - ${non2xx:-0} - ${failed:-0}))
  R_RPS=$(awk '/^Requests per second:/ {print $4}' "$out")
  R_P50=$(awk -F, '$1 == "50" {printf "%.3f", $2}' "$out.csv")
  R_P99=$(awk -F, '$1 == "99" {printf "%.3f", $2}' "$out.csv")
  ((complete == n)) || R_ERR="only $complete of $n requests completed"
  ((${non2xx:-0} + ${failed:-0} == 0)) || R_ERR="${R_ERR:+$R_ERR; }$non2xx non-2xx, $failed failed"
  grep -q '^Document Length: *30 bytes' "$out" ||
    R_ERR="${R_ERR:+$R_ERR; }$(grep '^Document Length' "$out" || echo 'no Document Length')"
}

# check_body URL: one GET with curl; succeeds if it is the 30-byte default response.
check_body() {
  local got
  got=$(curl -sS --max-time 5 -H "$HOST_HEADER" -o "$WORK/body" -w '%{http_code}' "$1") || return 1
  [[ $got == 200 ]] && cmp -s "$WORK/body" <(printf '%s' "$BODY")
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ------------------------------------------------------------------ targets
# A target is one running server: T_URL, T_PID, and for questlog T_DATA.
# Per target we keep the 2xx the clients read (OK) and how many more events
# the log may hold (SLACK), for the events check.
declare -A T_URL=() T_PID=() T_DATA=() OK=() SLACK=()
declare -A RPS=() P50=() P99=() ROUND_RPS=() CPU_NOTE=() ALL_RPS=() BUSY_RPS=() BUSY_P50=() BUSY_P99=()
declare -a PROBLEMS=()
QUESTLOG_PENDING=""

# start_questlog KEY DURABILITY: fresh data dir and port; fails if it will not start.
start_questlog() {
  local key=$1 dur=$2 port pid
  port=$(free_port)
  T_DATA[$key]=$WORK/data-$key
  mkdir -p "${T_DATA[$key]}"
  "$QUESTLOG" serve --listen "127.0.0.1:$port" --data "${T_DATA[$key]}" --durability "$dur" \
    >"$WORK/$key.log" 2>&1 &
  pid=$!
  CHILDREN+=("$pid")
  T_PID[$key]=$pid T_URL[$key]="http://127.0.0.1:$port/" OK[$key]=0 SLACK[$key]=0
  if ! wait_port "$port" "$pid"; then
    QUESTLOG_PENDING="$(head -n1 "$WORK/$key.log")"
    QUESTLOG_PENDING=${QUESTLOG_PENDING:-exited without a word}
    log "questlog serve did not start ($QUESTLOG_PENDING); questlog rows are pending"
    stop_pid "$pid" KILL
    return 1
  fi
  if check_body "${T_URL[$key]}"; then
    OK[$key]=1
  else
    PROBLEMS+=("questlog $dur: GET / is not 200 with the 30-byte default body")
  fi
}

# stop_questlog KEY: SIGTERM, then the events check; sets CHECK[KEY].
declare -A CHECK=()
stop_questlog() {
  local key=$1 rc events tail_rc=0 ok=${OK[$1]} slack=${SLACK[$1]} check
  log "$key: SIGTERM, then questlog tail -o beginning -e | wc -l"
  stop_pid "${T_PID[$key]}" TERM
  rc=$STOP_RC
  events=$(timeout 120 "$QUESTLOG" tail --data "${T_DATA[$key]}" -o beginning -e 2>"$WORK/tail.err" | wc -l) ||
    tail_rc=$?
  if ((tail_rc != 0)); then
    check="no (tail failed: $(head -n1 "$WORK/tail.err"))"
  elif ((events == ok)); then
    check="yes ($events)"
  elif ((events > ok && events <= ok + slack)); then
    check="yes ($ok + $((events - ok)) in flight at wrk stop)"
  else
    check="no (logged $events, 2xx $ok)"
  fi
  if ((rc != 0)); then
    check="no: exit $rc on SIGTERM; $check"
    PROBLEMS+=("$key: exit status $rc after SIGTERM (want 0)")
  fi
  CHECK[$key]=$check
  rm -rf "${T_DATA[$key]}"
}

# foreign_ticks: clock ticks used by programs that are not ours (neither this
# script nor anything it started) and not kernel threads: a compiler or a test
# suite sharing the machine. Counts the children they reaped (cutime/cstime), so
# short-lived processes are seen too.
foreign_ticks() {
  local f line pid total=0 p
  local -A ppid=() ticks=()
  local -a a
  for f in /proc/[0-9]*/stat; do
    { read -r line <"$f"; } 2>/dev/null || continue
    pid=${f#/proc/} pid=${pid%/stat}
    read -r -a a <<<"${line##*) }"
    # after "comm) ": [1]=ppid [11]=utime [12]=stime [13]=cutime [14]=cstime
    ppid[$pid]=${a[1]} ticks[$pid]=$((a[11] + a[12] + a[13] + a[14]))
  done
  for pid in "${!ticks[@]}"; do
    [[ $pid == 2 || ${ppid[$pid]} == 2 ]] && continue  # kernel threads
    p=$pid
    while [[ -n $p && $p != 0 && $p != 1 && $p != "$$" ]]; do p=${ppid[$p]:-}; done
    [[ $p == "$$" ]] && continue  # this script and its descendants
    total=$((total + ticks[$pid]))
  done
  echo "$total"
}

# cpu_begin PID / cpu_end PID: bracket a measured client run. cpu_end sets
# CPU_TEXT, CPU-s of server / client / other programs / kernel (what /proc/stat
# counts busy beyond those: softirq outside process context, writeback, the
# ext4 journal), and CPU_BUSY=1 when other programs took more than
# OTHER_MAX_PCT of all the cores' time (and at least 0.1 CPU-s).
OTHER_MAX_PCT=${OTHER_MAX_PCT:-10}
CPU_OTHER=0 CPU_TEXT="" CPU_BUSY=0
cpu_begin() {
  C_T0=$EPOCHREALTIME C_SRV0=$(cpu_ticks "$1") C_SYS0=$(sys_cpu) C_FOR0=$(foreign_ticks)
  children_cpu_s C_CLI0
}
cpu_end() {
  local cli1 srv1 sys1 for1 t1=$EPOCHREALTIME
  children_cpu_s cli1
  sys1=$(sys_cpu) srv1=$(cpu_ticks "$1") for1=$(foreign_ticks)
  read -r CPU_OTHER CPU_BUSY CPU_TEXT < <(awk -v s=$((srv1 - C_SRV0)) -v o=$((for1 - C_FOR0)) \
    -v hz="$(getconf CLK_TCK)" -v c0="$C_CLI0" -v c1="$cli1" -v x="$C_SYS0" -v y="$sys1" \
    -v t0="$C_T0" -v t1="$t1" -v cores="$(nproc)" -v pct="$OTHER_MAX_PCT" \
    'BEGIN { split(x, p); split(y, q); srv = s / hz; cli = c1 - c0; other = o / hz
             kern = (q[1] - p[1]) / hz - srv - cli - other; if (kern < 0) kern = 0
             limit = pct / 100 * cores * (t1 - t0); if (limit < 0.1) limit = 0.1
             busy = (other > limit) ? 1 : 0
             printf "%.1f %d %.1f/%.1f/%.1f/%.1f\n", other, busy, srv, cli, other, kern }')
}

# bench_wrk KEY ROUND: one measured wrk round. A round in which other programs took
# more than OTHER_MAX_PCT of the cores is marked busy ("*") and, while the
# retry budget lasts, taken again; medians use only rounds that were not busy,
# if there are any.
RETRIES_LEFT=${WRK_RETRIES:-2}
BUSY_ROUNDS=0
bench_wrk() {
  local key=$1 round=$2
  while :; do
    log "$key: wrk round $round/$WRK_ROUNDS, ${WRK_SECONDS}s"
    cpu_begin "${T_PID[$key]}"
    run_wrk "${T_URL[$key]}" "$WRK_SECONDS" "$WORK/$key-$round.wrk"
    cpu_end "${T_PID[$key]}"
    OK[$key]=$((OK[$key] + R_OK)) SLACK[$key]=$((SLACK[$key] + R_SLACK))
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
    ROUND_RPS[$key]+="${R_RPS:-} " P50[$key]+="$R_P50 " P99[$key]+="$R_P99 "
    return 0
  done
}

# bench_ab KEY N TRIES: warm-up, then the measured ab run, taken again (up to
# TRIES runs in all) if other programs competed for the cores during it.
declare -a AB_NOTES=()
bench_ab() {
  local key=$1 n=$2 tries=$3 try
  log "$key: ab warm-up -n $AB_WARM_N"
  run_ab "${T_URL[$key]}" "$AB_WARM_N" "$WORK/$key.warm"
  OK[$key]=$((OK[$key] + R_OK))
  [[ -z $R_ERR ]] || PROBLEMS+=("$key ab warm-up: $R_ERR")
  for ((try = 1; try <= tries; try++)); do
    log "$key: ab -n $n -c 1"
    cpu_begin "${T_PID[$key]}"
    run_ab "${T_URL[$key]}" "$n" "$WORK/$key.ab"
    cpu_end "${T_PID[$key]}"
    OK[$key]=$((OK[$key] + R_OK))
    [[ -z $R_ERR ]] || PROBLEMS+=("$key ab: $R_ERR")
    ((CPU_BUSY && try < tries)) || break
    AB_NOTES+=("$key: ${R_RPS:-error} requests/s while other programs took $CPU_OTHER CPU-s (server/ab/other/kernel $CPU_TEXT)")
    log "$key: other programs took $CPU_OTHER CPU-s during ab; taking it again"
  done
  ((CPU_BUSY == 0)) ||
    PROBLEMS+=("$key ab: other programs took $CPU_OTHER CPU-s during the run (server/ab/other/kernel $CPU_TEXT)")
  RPS[$key]=${R_RPS:-error} P50[$key]=${R_P50:--} P99[$key]=${R_P99:--}
}

# ------------------------------------------------------------------ machine
CPU_MODEL=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MACHINE="$(nproc) cores, ${CPU_MODEL:-unknown CPU}, Linux $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src CMakeLists.txt 2>/dev/null && [[ -z $(git ls-files --others --exclude-standard src) ]] ||
  REV="$REV + uncommitted changes"
FS_TYPE=$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
IDLE_BEFORE=$(busy_pct)
log "machine: $MACHINE; ${IDLE_BEFORE}% busy before start; temp dir $WORK ($FS_TYPE)"
[[ $FS_TYPE == tmpfs ]] && log "warning: $WORK is tmpfs, where fsync costs nothing; set BENCH_TMPDIR to a disk"

# ------------------------------------------- servers for the keep-alive runs
NGINX_PREFIX=$WORK/nginx
mkdir -p "$NGINX_PREFIX"
NGINX_PORT=$(free_port)
sed -e "s|@PREFIX@|$NGINX_PREFIX|g" -e "s|@PORT@|$NGINX_PORT|g" bench/nginx.conf.in >"$NGINX_PREFIX/nginx.conf"
nginx -p "$NGINX_PREFIX" -e "$NGINX_PREFIX/error.log" -c "$NGINX_PREFIX/nginx.conf" -g 'daemon off;' \
  >"$NGINX_PREFIX/stdout.log" 2>&1 &
T_PID[nginx]=$!
CHILDREN+=("${T_PID[nginx]}")
T_URL[nginx]="http://127.0.0.1:$NGINX_PORT/" OK[nginx]=0 SLACK[nginx]=0
if ! wait_port "$NGINX_PORT" "${T_PID[nginx]}"; then
  echo "bench: nginx did not start:" >&2
  cat "$NGINX_PREFIX/error.log" "$NGINX_PREFIX/stdout.log" >&2 2>/dev/null || true
  exit 1
fi
check_body "${T_URL[nginx]}" || { echo "bench: nginx does not answer with the 30-byte body" >&2; exit 1; }

# One questlog per durability for the wrk rounds (idle while the others run),
# each on a fresh data dir, so each row gets its own events check.
WRK_KEYS=(nginx)
for dur in write fsync; do
  start_questlog "questlog-$dur-wrk" "$dur" || break
  WRK_KEYS+=("questlog-$dur-wrk")
done

# ---------------------------------------------------------- wrk, interleaved
# Warm each server up, then run the rounds in turn (nginx, write, fsync,
# nginx, ...), so drift on a shared machine hits all of them alike. The table
# shows the median round.
for key in "${WRK_KEYS[@]}"; do
  log "$key: wrk warm-up ${WARM_SECONDS}s"
  run_wrk "${T_URL[$key]}" "$WARM_SECONDS" "$WORK/$key.warm"
  OK[$key]=$((OK[$key] + R_OK)) SLACK[$key]=$((SLACK[$key] + R_SLACK))
  [[ -z $R_ERR ]] || PROBLEMS+=("$key wrk warm-up: $R_ERR")
done
for ((round = 1; round <= WRK_ROUNDS; round++)); do
  for key in "${WRK_KEYS[@]}"; do bench_wrk "$key" "$round"; done
done
for key in "${WRK_KEYS[@]}"; do
  if [[ -z ${ROUND_RPS[$key]:-} || -z ${ROUND_RPS[$key]// /} ]]; then  # every round was busy: use them, say so
    ROUND_RPS[$key]=${BUSY_RPS[$key]:-} P50[$key]=${BUSY_P50[$key]:-} P99[$key]=${BUSY_P99[$key]:-}
    PROBLEMS+=("$key: every wrk round competed with other programs on the machine")
  fi
  # shellcheck disable=SC2086  # word-splitting the per-round lists is the point
  {
    RPS[$key]=$(median ${ROUND_RPS[$key]:-})
    P50[$key]=$(median ${P50[$key]:-})
    P99[$key]=$(median ${P99[$key]:-})
  }
  [[ $key == questlog-* ]] && stop_questlog "$key"
done

# --------------------------------------------------------- ab, one at a time
T_URL[nginx-ab]=${T_URL[nginx]} T_PID[nginx-ab]=${T_PID[nginx]} OK[nginx-ab]=0
bench_ab nginx-ab "$AB_N" 3
stop_pid "${T_PID[nginx]}" TERM
if [[ -z $QUESTLOG_PENDING ]]; then
  for dur in write fsync; do
    start_questlog "questlog-$dur-ab" "$dur" || break
    bench_ab "questlog-$dur-ab" "$AB_N" 3
    stop_questlog "questlog-$dur-ab"
  done
fi

# -------------------------------------------------------------------- Flask
FLASK_NOTE=""
if [[ -x $VENV_PY ]] && "$VENV_PY" -c 'import flask' 2>/dev/null; then
  cat >"$WORK/game_api.py" <<'EOF'
# The seed's game API without Kafka: same routes and bodies; the event is built
# and serialised as the seed does, then dropped.
import json
import sys

from flask import Flask, request

app = Flask(__name__)


def log_event(event):
    event.update(request.headers)
    json.dumps(event).encode()


@app.route("/")
def default_response():
    log_event({"event_type": "default"})
    return "This is the default response!\n"


@app.route("/purchase_a_sword")
def purchase_a_sword():
    log_event({"event_type": "purchase_sword"})
    return "Sword Purchased!\n"


@app.route("/purchase_a_knife")
def purchase_a_knife():
    log_event({"event_type": "purchase_knife", "description": "very sharp knife"})
    return "Knife Purchased!\n"


if __name__ == "__main__":
    app.run(host="127.0.0.1", port=int(sys.argv[1]), threaded=True)  # as `flask run`
EOF
  port=$(free_port)
  "$VENV_PY" "$WORK/game_api.py" "$port" >"$WORK/flask.log" 2>&1 &
  T_PID[flask]=$!
  CHILDREN+=("${T_PID[flask]}")
  T_URL[flask]="http://127.0.0.1:$port/" OK[flask]=0
  if wait_port "$port" "${T_PID[flask]}" && check_body "${T_URL[flask]}"; then
    bench_ab flask "$FLASK_AB_N" 1  # ~30 s a run: never taken again
  else
    FLASK_NOTE="The Flask app did not start: $(tail -n1 "$WORK/flask.log")"
  fi
  stop_pid "${T_PID[flask]}" TERM
else
  FLASK_NOTE="Flask peer skipped: $VENV_PY cannot import flask (tests/requirements.txt does not list it)."
fi
[[ -z $FLASK_NOTE ]] || log "$FLASK_NOTE"
IDLE_AFTER=$(busy_pct)

# ------------------------------------------------------------------- report
fmt_rps() { if [[ $1 =~ ^[0-9.]+$ ]]; then printf '%.0f' "$1"; else printf '%s' "$1"; fi; }
ratio() {  # ratio RPS BASE_RPS
  if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'
  else
    echo "n/a"
  fi
}
row() {  # row KEY SERVER DURABILITY TOOL NGINX_KEY
  local key=$1 tool="ab -c1, new connection per request"
  [[ $4 == wrk ]] && tool="wrk -c$WRK_CONNS keep-alive, median of $WRK_ROUNDS"
  if [[ $2 == questlog && -n $QUESTLOG_PENDING && -z ${RPS[$key]:-} ]]; then
    echo "| $2 | $3 | $tool | pending | pending | pending | pending | pending |"
    return
  fi
  echo "| $2 | $3 | $tool | $(fmt_rps "${RPS[$key]:-error}") | ${P50[$key]:--} | ${P99[$key]:--} |" \
    "$(ratio "${RPS[$key]:-}" "${RPS[$5]:-}") | ${CHECK[$key]:-n/a (no log)} |"
}

report() {
  echo "# questlog benchmark"
  echo
  echo "Machine: $MACHINE. questlog $REV;" \
    "$(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk -v 2>&1 | awk 'NR==1 {print $1, $2}'), ab 2.3;" \
    "data dir on $FS_TYPE. CPU busy in the second before the run: ${IDLE_BEFORE}%, after: ${IDLE_AFTER}%."
  if ((BUSY_ROUNDS > 0)); then
    echo
    echo "Note: $BUSY_ROUNDS wrk round(s) shared the machine with other programs (marked \"*\" below)."
  fi
  if ((IDLE_BEFORE > 20 || IDLE_AFTER > 20)); then
    echo
    echo "**Warning: the machine was not idle (${IDLE_BEFORE}% busy before, ${IDLE_AFTER}% after);" \
      "something else competed for the cores, so these numbers are not comparable.**"
  fi
  echo
  echo "Loopback only; wrk and the server share the $(nproc) cores. wrk: each server warmed up for" \
    "${WARM_SECONDS}s, then $WRK_ROUNDS rounds of ${WRK_SECONDS}s taken in turn (nginx, write, fsync, nginx, ...);" \
    "the table shows the median round. ab: $AB_WARM_N requests of warm-up, then the measured run."
  echo
  echo '```'
  echo "nginx -c bench/nginx.conf.in -g 'daemon off;'   # worker_processes auto, access_log off, return 200"
  echo "build/questlog serve --listen 127.0.0.1:PORT --data FRESH_DIR --durability write|fsync"
  echo "wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s --latency -H '$HOST_HEADER' http://127.0.0.1:PORT/"
  echo "ab -n $AB_N -c 1 -H '$HOST_HEADER' -e p.csv http://127.0.0.1:PORT/"
  [[ -n ${RPS[flask]:-} ]] &&
    echo "ab -n $FLASK_AB_N -c 1 -H '$HOST_HEADER' -e p.csv http://127.0.0.1:PORT/   # Flask dev server, threaded"
  echo "kill -TERM \$SERVER; build/questlog tail --data FRESH_DIR -o beginning -e | wc -l"
  echo '```'
  echo
  echo "| server | durability | tool | requests/s | p50 ms | p99 ms | ratio to nginx (same tool) | events logged == 200s |"
  echo "|---|---|---|---:|---:|---:|---:|---|"
  row nginx nginx - wrk nginx
  row nginx-ab nginx - ab nginx-ab
  row questlog-write-wrk questlog write wrk nginx
  row questlog-write-ab questlog write ab nginx-ab
  row questlog-fsync-wrk questlog fsync wrk nginx
  row questlog-fsync-ab questlog fsync ab nginx-ab
  [[ -n ${RPS[flask]:-} ]] && row flask "Flask dev server (seed app, no Kafka)" - ab nginx-ab
  echo
  if [[ -n $QUESTLOG_PENDING ]]; then
    echo "questlog rows pending: \`questlog serve\` did not start ($QUESTLOG_PENDING)."
  elif [[ ${RPS[questlog-write-wrk]:-} =~ ^[0-9.]+$ ]]; then
    local r verdict="not met"
    r=$(awk -v a="${RPS[questlog-write-wrk]}" -v b="${RPS[nginx]}" 'BEGIN { printf "%.2f", a / b }')
    awk -v r="$r" 'BEGIN { exit !(r >= 0.8) }' && verdict="met"
    echo "Goal: questlog at default durability (write) >= 0.8x nginx requests/s under wrk" \
      "-c$WRK_CONNS keep-alive: **$verdict** (${r}x)."
  fi
  if [[ ${RPS[flask]:-} =~ ^[0-9.]+$ && ${RPS[questlog-write-ab]:-} =~ ^[0-9.]+$ ]]; then
    echo
    awk -v q="${RPS[questlog-write-ab]}" -v f="${RPS[flask]}" \
      'BEGIN { printf "questlog (write) serves %.1fx the requests/s of the seed'"'"'s Flask app under ab -c1.\n", q / f }'
  fi
  [[ -z $FLASK_NOTE ]] || { echo; echo "$FLASK_NOTE"; }
  echo
  echo "wrk requests/s per round (\"*\": other programs on the machine took more than $OTHER_MAX_PCT% of the" \
    "cores during the round, so it was left out of the median and, up to ${WRK_RETRIES:-2} times in all, taken again):"
  for key in "${WRK_KEYS[@]}"; do echo "- $key: ${ALL_RPS[$key]:-}"; done
  echo
  echo "CPU seconds per wrk round, of $(($(nproc) * WRK_SECONDS)) available: server / wrk / other" \
    "programs (should be 0) / kernel outside any process (softirq, writeback, the ext4 journal)."
  echo
  for key in "${WRK_KEYS[@]}"; do echo "- $key: ${CPU_NOTE[$key]}"; done
  echo
  if ((${#AB_NOTES[@]})); then
    echo "ab runs taken again because other programs competed for the cores:"
    echo
    printf -- '- %s\n' "${AB_NOTES[@]}"
    echo
  fi
  echo "Events check: after SIGTERM, \`questlog tail -e | wc -l\` must equal the 2xx answers the" \
    "clients read (warm-up, measured runs and one curl check). wrk stops at its deadline with a" \
    "request in flight on each connection, which the server may log without wrk reading the 200:" \
    "up to $WRK_CONNS per wrk run (plus socket errors) count as \"in flight\". Fewer events than" \
    "2xx would be an acknowledged event lost: \"no\"."
  if ((${#PROBLEMS[@]})); then
    echo
    echo "Problems:"
    printf -- '- %s\n' "${PROBLEMS[@]}"
  fi
}

mkdir -p "$RESULTS_DIR"
# Results belong to one machine and one run: keep them out of git.
[[ -e $RESULTS_DIR/.gitignore ]] || printf '*\n' >"$RESULTS_DIR/.gitignore"
report | tee "$RESULTS_DIR/latest.md"
