# shellcheck shell=bash disable=SC2034  # its variables are read by the scripts that source it
# bench/lib.sh: what bench/run.sh and bench/kafka.sh share. Sourced from the repo
# root after the script has set BENCH_NAME (the prefix of its messages); then
# bench_start TEMPLATE makes the temp dir and sets the traps.
#
# Child processes: a script starts servers with `... &` and adds their pids to
# CHILDREN; stop_pid stops one, and on exit every one left is stopped by pid.
# A script that has more to stop (kafka.sh's broker) defines cleanup_more.
#
# Targets: a target is one running server, keyed by name: T_URL, T_PID; per
# target, OK / BAD are the 2xx / non-2xx answers the clients read and SLACK how
# many more requests the server may have taken without a client reading the
# answer. T_WRK_SCRIPT, if set for a target, is the wrk Lua script its requests
# come from (bench/post.lua: a POST with a JSON body). bench_wrk/finish_wrk leave RPS/P50/P99[KEY-wrk], bench_ab [KEY-ab].

# ---------------------------------------------------------------- settings
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_ROUNDS=${WRK_ROUNDS:-3}
WARM_SECONDS=${WARM_SECONDS:-2}
AB_N=${AB_N:-5000}
AB_WARM_N=500
WRK_THREADS=2
WRK_CONNS=64
HOST_HEADER="Host: user1.comcast.com"
BODY=$'This is the default response!\n'
RESULTS_DIR=bench/results
OTHER_MAX_PCT=${OTHER_MAX_PCT:-10}
RETRIES_LEFT=${WRK_RETRIES:-2}
BUSY_ROUNDS=0
BROKER_PID=""  # kafka.sh: the broker, ours but not a child (setsid); counted apart

declare -a CHILDREN=() PROBLEMS=() AB_NOTES=()
declare -A T_URL=() T_PID=() OK=() BAD=() SLACK=() T_WRK_SCRIPT=()
declare -A RPS=() P50=() P99=() ROUND_RPS=() ROUND_P50=() ROUND_P99=() ALL_RPS=() CPU_NOTE=() ROUND_US=()
declare -A BUSY_RPS=() BUSY_P50=() BUSY_P99=() AB_CPU=()

log() { printf '[%s] %s\n' "$BENCH_NAME" "$*" >&2; }

need_tools() {  # need_tools TOOL...: exit with one line if one is missing
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$BENCH_NAME: $tool not found (make deps-test installs it)" >&2; exit 1; }
  done
}

# ---------------------------------------------------- processes and cleanup
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
  if declare -F cleanup_more >/dev/null; then cleanup_more; fi
  rm -rf "$WORK"
}

# bench_start TEMPLATE: WORK, a fresh temp dir (BENCH_TMPDIR, default /var/tmp),
# removed on exit after every child is stopped.
bench_start() {
  WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/$1.XXXXXX")
  trap cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

port_free() {  # port_free PORT: nothing listens on it and we may bind it
  python3 -c 'import socket, sys; s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
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

# track_server KEY PORT PID: PID (a child serving 127.0.0.1:PORT) is target KEY.
track_server() {
  CHILDREN+=("$3")
  T_PID[$1]=$3 T_URL[$1]="http://127.0.0.1:$2/" OK[$1]=0 BAD[$1]=0 SLACK[$1]=0
}

# ------------------------------------------------------------ CPU accounting
# cpu_ticks PID: user+system clock ticks of PID and its direct children
# (nginx's workers); 0 for no PID. Pure bash, so taking the sample costs no forks.
cpu_ticks() {
  local root=$1 total=0 f line pid
  local -a a
  [[ -n $root ]] || { echo 0; return; }
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
# (bash `times`), to measure the clients' own CPU. It must run in this shell, not
# in $(...): a forked subshell starts with no children usage.
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

# foreign_ticks: clock ticks used by programs that are not ours (neither this
# script nor anything it started, nor BROKER_PID) and not kernel threads: a
# compiler or a test suite sharing the machine. Counts the children they reaped
# (cutime/cstime), so short-lived processes are seen too.
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
    [[ $pid == 2 || ${ppid[$pid]} == 2 || $pid == "$BROKER_PID" ]] && continue  # kernel threads, broker
    p=$pid
    while [[ -n $p && $p != 0 && $p != 1 && $p != "$$" ]]; do p=${ppid[$p]:-}; done
    [[ $p == "$$" ]] && continue  # this script and its descendants
    total=$((total + ticks[$pid]))
  done
  echo "$total"
}

# cpu_cols: what CPU_TEXT's columns are.
cpu_cols() { if [[ -n $BROKER_PID ]]; then echo server/ab/broker/other/kernel; else echo server/ab/other/kernel; fi; }

# cpu_begin PID / cpu_end PID: bracket a measured client run. cpu_end sets
# CPU_TEXT, CPU-s of server / client / [broker /] other programs / kernel (what
# /proc/stat counts busy beyond those: softirq outside process context,
# writeback, the ext4 journal), and CPU_BUSY=1 when other programs took more
# than OTHER_MAX_PCT of all the cores' time (and at least 0.1 CPU-s).
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
    -v broker="${BROKER_PID:+1}" \
    'BEGIN { split(x, p); split(y, q); srv = s / hz; brk = b / hz; cli = c1 - c0; other = o / hz
             kern = (q[1] - p[1]) / hz - srv - brk - cli - other; if (kern < 0) kern = 0
             limit = pct / 100 * cores * (t1 - t0); if (limit < 0.1) limit = 0.1
             busy = (other > limit) ? 1 : 0
             if (broker) printf "%.1f %d %.1f/%.1f/%.1f/%.1f/%.1f\n", other, busy, srv, cli, brk, other, kern
             else printf "%.1f %d %.1f/%.1f/%.1f/%.1f\n", other, busy, srv, cli, other, kern }')
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

run_wrk() {  # run_wrk URL SECONDS OUT [SCRIPT]: keep-alive load, from a wrk Lua script if given
  local url=$1 secs=$2 out=$3 rc=0
  local -a script=()
  [[ -n ${4:-} ]] && script=(-s "$4")
  timeout $((secs + 30)) wrk -t"$WRK_THREADS" -c"$WRK_CONNS" -d"${secs}s" --latency \
    "${script[@]}" -H "$HOST_HEADER" "$url" >"$out" 2>&1 || rc=$?
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

# run_ab URL N OUT: the seed's client, a new connection per request, -c1.
# p50/p99 come from ab's -e CSV (microseconds; its printed table is whole ms).
run_ab() {
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

# check_body URL: one GET with curl; succeeds if it is the 30-byte default response.
check_body() {
  local got
  got=$(curl -sS --max-time 15 -H "$HOST_HEADER" -o "$WORK/body" -w '%{http_code}' "$1") || return 1
  [[ $got == 200 ]] && cmp -s "$WORK/body" <(printf '%s' "$BODY")
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

tally() {  # tally KEY: add the last client run's counts to KEY
  OK[$1]=$((OK[$1] + R_OK)) BAD[$1]=$((BAD[$1] + R_BAD)) SLACK[$1]=$((SLACK[$1] + R_SLACK))
}

warm_wrk() {  # warm_wrk KEY SECONDS
  log "$1: wrk warm-up ${2}s"
  run_wrk "${T_URL[$1]}" "$2" "$WORK/$1.warm" "${T_WRK_SCRIPT[$1]:-}"
  tally "$1"
  [[ -z $R_ERR ]] || PROBLEMS+=("$1 wrk warm-up: $R_ERR")
}

# bench_wrk KEY ROUND SECONDS: one measured wrk round. A round in which other
# programs took more than OTHER_MAX_PCT of the cores is marked busy ("*") and,
# while the retry budget (WRK_RETRIES) lasts, taken again; medians use only
# rounds that were not busy, if there are any.
bench_wrk() {
  local key=$1 round=$2 secs=$3
  while :; do
    log "$key: wrk round $round, ${secs}s"
    cpu_begin "${T_PID[$key]}"
    run_wrk "${T_URL[$key]}" "$secs" "$WORK/$key-$round.wrk" "${T_WRK_SCRIPT[$key]:-}"
    cpu_end "${T_PID[$key]}"
    tally "$key"
    [[ -z $R_ERR ]] || PROBLEMS+=("$key wrk round $round: $R_ERR")
    ALL_RPS[$key]+="${R_RPS:-error} "
    # The server's CPU per request read, every round: steadier than requests/s on a
    # shared machine (the CPU-s have 0.1 s steps, so a 10 s round is good to ~1%).
    ROUND_US[$key]+="$(awk -v s="${CPU_TEXT%%/*}" -v n="$R_OK" 'BEGIN { if (n > 0) printf "%.2f", s * 1e6 / n }') "
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

# finish_wrk KEY: RPS/P50/P99[KEY-wrk], medians of the rounds that were not
# busy (or of all, said so under Problems).
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

# wrk_in_turn ROUNDS SECONDS KEY...: warm each KEY up (WARM_SECONDS), then take
# ROUNDS measured rounds in turn across the keys (a, b, c, a, ...), so drift on a
# shared machine hits each alike; then each KEY's medians (finish_wrk).
wrk_in_turn() {
  local rounds=$1 secs=$2 key round
  shift 2
  for key in "$@"; do warm_wrk "$key" "$WARM_SECONDS"; done
  for ((round = 1; round <= rounds; round++)); do
    for key in "$@"; do bench_wrk "$key" "$round" "$secs"; done
  done
  for key in "$@"; do finish_wrk "$key"; done
}

# bench_ab KEY N TRIES: AB_WARM_N requests of warm-up, then the measured ab run,
# taken again (up to TRIES runs in all) if other programs competed for the cores
# during it. Sets RPS/P50/P99[KEY-ab] and AB_CPU[KEY].
bench_ab() {
  local key=$1 n=$2 tries=$3 try
  log "$key: ab warm-up -n $AB_WARM_N"
  run_ab "${T_URL[$key]}" "$AB_WARM_N" "$WORK/$key.abwarm"
  tally "$key"
  [[ -z $R_ERR ]] || PROBLEMS+=("$key ab warm-up: $R_ERR")
  for ((try = 1; try <= tries; try++)); do
    log "$key: ab -n $n -c 1"
    cpu_begin "${T_PID[$key]}"
    run_ab "${T_URL[$key]}" "$n" "$WORK/$key.ab"
    cpu_end "${T_PID[$key]}"
    tally "$key"
    [[ -z $R_ERR ]] || PROBLEMS+=("$key ab: $R_ERR")
    ((CPU_BUSY && try < tries)) || break
    AB_NOTES+=("$key: ${R_RPS:-error} requests/s while other programs took $CPU_OTHER CPU-s ($(cpu_cols) $CPU_TEXT)")
    log "$key: other programs took $CPU_OTHER CPU-s during ab; taking it again"
  done
  ((CPU_BUSY == 0)) ||
    PROBLEMS+=("$key ab: other programs took $CPU_OTHER CPU-s during the run ($(cpu_cols) $CPU_TEXT)")
  AB_CPU[$key]=$CPU_TEXT
  RPS[$key-ab]=${R_RPS:-error} P50[$key-ab]=${R_P50:--} P99[$key-ab]=${R_P99:--}
}

# ------------------------------------------------------- machine and report
# describe_machine: MACHINE (cores, CPU, kernel, UTC time) and REV (this
# checkout's commit, "+ uncommitted changes" if src/ or CMakeLists.txt differ).
describe_machine() {
  local cpu_model
  cpu_model=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
  MACHINE="$(nproc) cores, ${cpu_model:-unknown CPU}, Linux $(uname -r), $(date -u +%Y-%m-%dT%H:%MZ)"
  REV=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD -- src CMakeLists.txt 2>/dev/null && [[ -z $(git ls-files --others --exclude-standard src) ]] ||
    REV="$REV + uncommitted changes"
}

wrk_version() { wrk -v 2>&1 | awk 'NR==1 {print $1, $2}'; }

fmt_rps() { if [[ $1 =~ ^[0-9.]+$ ]]; then printf '%.0f' "$1"; else printf '%s' "$1"; fi; }

ratio() {  # ratio RPS BASE_RPS [DECIMALS (2)]
  if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]]; then
    awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%." d "fx", a / b }'
  else
    echo "n/a"
  fi
}

# write_report FILE: the script's report function, to stdout and to
# bench/results/FILE (results belong to one machine and one run: kept out of git).
write_report() {
  mkdir -p "$RESULTS_DIR"
  [[ -e $RESULTS_DIR/.gitignore ]] || printf '*\n' >"$RESULTS_DIR/.gitignore"
  report | tee "$RESULTS_DIR/$1"
}
