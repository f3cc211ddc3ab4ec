#!/usr/bin/env bash
# make bench: questlog serve against nginx on loopback, under wrk (keep-alive,
# -c64) and ab (the seed's client: -c1, a new connection per request). Prints one
# markdown table and writes it to bench/results/latest.md. bench/README.md says
# what is measured. (The seed's Flask app is measured by bench/kafka.sh, on a
# real broker.)
#
# Everything it starts is a child it stops by pid; everything it writes outside
# bench/results/ lives in one temp dir, removed on exit.
#
# Knobs (environment): QUESTLOG (binary, default build/questlog),
# WRK_SECONDS (10), WRK_ROUNDS (3), WARM_SECONDS (2), AB_N (5000),
# WRK_RETRIES (2), OTHER_MAX_PCT (10), BENCH_TMPDIR (/var/tmp;
# the fsync rows mean nothing on tmpfs), QUESTLOG_BASELINE (another questlog
# binary, e.g. a build of an earlier commit: its write rows are measured beside
# this one's, in the same rounds, with the server's CPU per request).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BENCH_NAME=bench
# shellcheck source=bench/lib.sh
source bench/lib.sh

QUESTLOG=${QUESTLOG:-build/questlog}
FSYNC_FLOOR=${FSYNC_FLOOR:-build/fsync_floor}
QUESTLOG_BASELINE=${QUESTLOG_BASELINE:-}
SERVE_BIN=$QUESTLOG  # what start_questlog runs

need_tools nginx wrk ab curl python3
bench_start questlog-bench

# ------------------------------------------------------------------ targets
# Targets (bench/lib.sh); questlog's also have T_DATA, its data dir. OK/SLACK
# feed the events check.
declare -A T_DATA=() CHECK=()
QUESTLOG_PENDING=""

# start_questlog KEY DURABILITY [ROUTES]: fresh data dir and port; fails if it will not start.
start_questlog() {
  local key=$1 dur=$2 port pid
  local -a routes=()
  [[ -n ${3:-} ]] && routes=(--routes "$3")
  port=$(free_port)
  T_DATA[$key]=$WORK/data-$key
  mkdir -p "${T_DATA[$key]}"
  "$SERVE_BIN" serve --listen "127.0.0.1:$port" --data "${T_DATA[$key]}" --durability "$dur" \
    "${routes[@]}" >"$WORK/$key.log" 2>&1 &
  pid=$!
  track_server "$key" "$port" "$pid"
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

# ------------------------------------------------------------------ machine
describe_machine
FS_TYPE=$(findmnt -no FSTYPE -T "$WORK" 2>/dev/null || stat -f -c %T "$WORK")
IDLE_BEFORE=$(busy_pct)
log "machine: $MACHINE; ${IDLE_BEFORE}% busy before start; temp dir $WORK ($FS_TYPE)"
[[ $FS_TYPE == tmpfs ]] && log "warning: $WORK is tmpfs, where fsync costs nothing; set BENCH_TMPDIR to a disk"
# The disk's floor for --durability fsync (bench/fsync_floor.cpp), in the same temp dir.
log "fdatasync floor: $FSYNC_FLOOR $WORK 2000 4096"
FLOOR=$("$FSYNC_FLOOR" "$WORK" 2000 4096 2>&1) || FLOOR="fsync_floor failed: $FLOOR"

# ------------------------------------------- servers for the keep-alive runs
NGINX_PREFIX=$WORK/nginx
mkdir -p "$NGINX_PREFIX"
NGINX_PORT=$(free_port)
sed -e "s|@PREFIX@|$NGINX_PREFIX|g" -e "s|@PORT@|$NGINX_PORT|g" bench/nginx.conf.in >"$NGINX_PREFIX/nginx.conf"
nginx -p "$NGINX_PREFIX" -e "$NGINX_PREFIX/error.log" -c "$NGINX_PREFIX/nginx.conf" -g 'daemon off;' \
  >"$NGINX_PREFIX/stdout.log" 2>&1 &
track_server nginx "$NGINX_PORT" $!
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
if [[ -n $QUESTLOG_BASELINE && -z $QUESTLOG_PENDING ]]; then
  SERVE_BIN=$QUESTLOG_BASELINE
  start_questlog questlog-base-wrk write && WRK_KEYS+=(questlog-base-wrk)
  SERVE_BIN=$QUESTLOG
fi

# A route with a path parameter and a JSON body (issue 12): wrk POSTs the example
# game's 200-byte inventory snapshot (bench/post.lua, config/inventory.json) to
# /inventory/alice, of config/guild_game.toml for questlog; nginx answers the
# same requests from the same process as above.
POST_PATH=inventory/alice POST_BODY=$'Inventory saved!\n'
T_URL[nginx-post]=${T_URL[nginx]}$POST_PATH T_PID[nginx-post]=${T_PID[nginx]}
OK[nginx-post]=0 BAD[nginx-post]=0 SLACK[nginx-post]=0 T_WRK_SCRIPT[nginx-post]=bench/post.lua
# check_post URL: one POST of the body with curl; succeeds on 200 with POST_BODY.
check_post() {
  local got
  got=$(curl -sS --max-time 15 -H "$HOST_HEADER" -H 'Content-Type: application/json' \
    --data-binary @config/inventory.json -o "$WORK/body" -w '%{http_code}' "$1") || return 1
  [[ $got == 200 ]] && cmp -s "$WORK/body" <(printf '%s' "$POST_BODY")
}
check_post "${T_URL[nginx-post]}" || { echo "bench: nginx does not answer POST /$POST_PATH" >&2; exit 1; }
WRK_KEYS+=(nginx-post)
if [[ -z $QUESTLOG_PENDING ]] && start_questlog questlog-post write config/guild_game.toml; then
  T_URL[questlog-post]+=$POST_PATH T_WRK_SCRIPT[questlog-post]=bench/post.lua
  if check_post "${T_URL[questlog-post]}"; then
    OK[questlog-post]=$((OK[questlog-post] + 1))
  else
    PROBLEMS+=("questlog: POST /$POST_PATH is not 200 with the body of config/guild_game.toml")
  fi
  WRK_KEYS+=(questlog-post)
fi

# ---------------------------------------------------------- wrk, interleaved
# Rounds in turn (nginx, write, fsync, nginx POST, questlog POST, nginx, ...); the
# table shows the median round.
wrk_in_turn "$WRK_ROUNDS" "$WRK_SECONDS" "${WRK_KEYS[@]}"
for key in "${WRK_KEYS[@]}"; do
  [[ $key == questlog-* ]] && stop_questlog "$key"
done

# --------------------------------------------------------- ab, one at a time
T_URL[nginx-ab]=${T_URL[nginx]} T_PID[nginx-ab]=${T_PID[nginx]} OK[nginx-ab]=0 BAD[nginx-ab]=0 SLACK[nginx-ab]=0
bench_ab nginx-ab "$AB_N" 3
stop_pid "${T_PID[nginx]}" TERM
if [[ -z $QUESTLOG_PENDING ]]; then
  for dur in write fsync; do
    start_questlog "questlog-$dur-ab" "$dur" || break
    bench_ab "questlog-$dur-ab" "$AB_N" 3
    stop_questlog "questlog-$dur-ab"
    if [[ $dur == write && -n $QUESTLOG_BASELINE ]]; then
      SERVE_BIN=$QUESTLOG_BASELINE
      start_questlog questlog-base-ab write && bench_ab questlog-base-ab "$AB_N" 3 && stop_questlog questlog-base-ab
      SERVE_BIN=$QUESTLOG
    fi
  done
fi
IDLE_AFTER=$(busy_pct)

# ------------------------------------------------------------------- report
row() {  # row KEY SERVER DURABILITY TOOL(wrk|ab) NGINX_KEY [LABEL]
  local key=$1 tool="ab -c1, new connection per request"
  [[ $4 == wrk ]] && tool="wrk -c$WRK_CONNS keep-alive, median of $WRK_ROUNDS"
  [[ -n ${6:-} ]] && tool=$6
  if [[ $2 == questlog && -n $QUESTLOG_PENDING && -z ${RPS[$key-$4]:-} ]]; then
    echo "| $2 | $3 | $tool | pending | pending | pending | pending | pending |"
    return
  fi
  echo "| $2 | $3 | $tool | $(fmt_rps "${RPS[$key-$4]:-error}") | ${P50[$key-$4]:--} | ${P99[$key-$4]:--} |" \
    "$(ratio "${RPS[$key-$4]:-}" "${RPS[$5-$4]:-}") | ${CHECK[$key]:-n/a (no log)} |"
}

report() {
  echo "# questlog benchmark"
  echo
  echo "Machine: $MACHINE. questlog $REV;" \
    "$(nginx -v 2>&1 | sed 's/^nginx version: //'), $(wrk_version), ab 2.3;" \
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
    "${WARM_SECONDS}s, then $WRK_ROUNDS rounds of ${WRK_SECONDS}s taken in turn (nginx, write, fsync, nginx POST, questlog POST, nginx, ...);" \
    "the table shows the median round. ab: $AB_WARM_N requests of warm-up, then the measured run."
  echo
  echo '```'
  echo "nginx -c bench/nginx.conf.in -g 'daemon off;'   # worker_processes auto, access_log off, return 200"
  echo "build/questlog serve --listen 127.0.0.1:PORT --data FRESH_DIR --durability write|fsync"
  echo "wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s --latency -H '$HOST_HEADER' http://127.0.0.1:PORT/"
  echo "build/questlog serve --listen 127.0.0.1:PORT --data FRESH_DIR --routes config/guild_game.toml   # the POST rows"
  echo "wrk -t$WRK_THREADS -c$WRK_CONNS -d${WRK_SECONDS}s --latency -s bench/post.lua -H '$HOST_HEADER' http://127.0.0.1:PORT/$POST_PATH"
  echo "ab -n $AB_N -c 1 -H '$HOST_HEADER' -e p.csv http://127.0.0.1:PORT/"
  echo "kill -TERM \$SERVER; build/questlog tail --data FRESH_DIR -o beginning -e | wc -l"
  echo '```'
  echo
  echo "The disk's fdatasync floor (p50, p99, mean, CPU per write), before the servers started (\`build/fsync_floor DIR 2000 4096\`:" \
    "4 KiB written then made durable, 2000 times; append = at the end of a growing file," \
    "overwrite = into a file already written with zeros and synced, dsync = the same as one" \
    "pwritev2(RWF_DSYNC)):"
  echo
  echo '```'
  echo "$FLOOR"
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
  local post="wrk -c$WRK_CONNS keep-alive, POST /inventory/{player} with a 200-byte JSON body, median of $WRK_ROUNDS"
  row nginx-post nginx - wrk nginx-post "$post"
  row questlog-post questlog write wrk nginx-post "$post"
  if [[ -n $QUESTLOG_BASELINE ]]; then
    row questlog-base-wrk "questlog baseline" write wrk nginx
    row questlog-base-ab "questlog baseline" write ab nginx-ab
  fi
  echo
  if [[ -n $QUESTLOG_BASELINE ]]; then
    local us us_base ab_us ab_us_base
    # shellcheck disable=SC2086  # word-splitting the per-round lists is the point
    us=$(median ${ROUND_US[questlog-write-wrk]:-0}) us_base=$(median ${ROUND_US[questlog-base-wrk]:-0})
    ab_us=$(awk -v s="${AB_CPU[questlog-write-ab]%%/*}" -v n="$AB_N" 'BEGIN { printf "%.1f", s * 1e6 / n }')
    ab_us_base=$(awk -v s="${AB_CPU[questlog-base-ab]%%/*}" -v n="$AB_N" 'BEGIN { printf "%.1f", s * 1e6 / n }')
    echo "Against the baseline \`$QUESTLOG_BASELINE\` (write): wrk -c$WRK_CONNS" \
      "$(ratio "${RPS[questlog-write-wrk-wrk]:-}" "${RPS[questlog-base-wrk-wrk]:-}") its requests/s," \
      "server CPU per request $us µs against $us_base µs (median of every round, busy ones too; per round:" \
      "${ROUND_US[questlog-write-wrk]:-}/ ${ROUND_US[questlog-base-wrk]:-}); ab -c1" \
      "$(ratio "${RPS[questlog-write-ab-ab]:-}" "${RPS[questlog-base-ab-ab]:-}") its requests/s," \
      "server CPU per request $ab_us µs against $ab_us_base µs."
    echo
  fi
  if [[ -n $QUESTLOG_PENDING ]]; then
    echo "questlog rows pending: \`questlog serve\` did not start ($QUESTLOG_PENDING)."
  elif [[ ${RPS[questlog-write-wrk-wrk]:-} =~ ^[0-9.]+$ ]]; then
    local r verdict="not met"
    r=$(awk -v a="${RPS[questlog-write-wrk-wrk]}" -v b="${RPS[nginx-wrk]}" 'BEGIN { printf "%.2f", a / b }')
    awk -v r="$r" 'BEGIN { exit !(r >= 0.8) }' && verdict="met"
    echo "Goal: questlog at default durability (write) >= 0.8x nginx requests/s under wrk" \
      "-c$WRK_CONNS keep-alive: **$verdict** (${r}x)."
  fi
  if [[ ${RPS[questlog-post-wrk]:-} =~ ^[0-9.]+$ && ${RPS[nginx-post-wrk]:-} =~ ^[0-9.]+$ ]]; then
    local rp verdict_post="not met"
    rp=$(awk -v a="${RPS[questlog-post-wrk]}" -v b="${RPS[nginx-post-wrk]}" 'BEGIN { printf "%.2f", a / b }')
    awk -v r="$rp" 'BEGIN { exit !(r >= 0.8) }' && verdict_post="met"
    echo
    echo "Goal: the same on a route with a path parameter and a 200-byte JSON body (POST" \
      "/inventory/{player}), against nginx answering the same requests: **$verdict_post** (${rp}x)."
  fi
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

write_report latest.md
