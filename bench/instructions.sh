#!/usr/bin/env bash
# Instructions per request of `questlog serve` (valgrind's callgrind), a
# measure that does not move with what else runs on the machine, for comparing
# builds: bench/instructions.sh BIN [BIN...] prints, for each binary, the
# instructions of GET / and of GET / with an Idempotency-Key header.
#
# Each server runs under callgrind with one event loop; ab -k -c 4 sends 2,000
# requests of warm-up, callgrind's counters are dumped (and zeroed), then 10,000
# measured requests, and the second dump's total over 10,000 is the figure: start,
# warm-up and stop are left out. Everything it starts is stopped by pid;
# everything it writes lives in one temp dir, removed on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
(($# > 0)) || { echo "usage: bench/instructions.sh BIN [BIN...]" >&2; exit 2; }
for tool in valgrind callgrind_control ab curl python3; do
  command -v "$tool" >/dev/null || { echo "instructions: $tool is missing" >&2; exit 1; }
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/questlog-instr.XXXXXX")
PID=""
cleanup() {
  [[ -n $PID ]] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
N_WARM=2000 N=10000

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# measure BIN [HEADER]: instructions per request.
measure() {
  local bin=$1 header=${2:-} port dir out i
  port=$(free_port) dir=$WORK/data-$RANDOM out=$WORK/cg-$RANDOM
  valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$bin" serve --threads 1 \
    --listen "127.0.0.1:$port" --data "$dir" >"$WORK/serve.log" 2>&1 &
  PID=$!
  for ((i = 0; i < 600; i++)); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
  local -a h=(-H "Host: user1.comcast.com")
  [[ -n $header ]] && h+=(-H "$header")
  ab -q -k -c 4 -n "$N_WARM" "${h[@]}" "http://127.0.0.1:$port/" >/dev/null
  callgrind_control -d "$PID" >/dev/null 2>&1
  ab -q -k -c 4 -n "$N" "${h[@]}" "http://127.0.0.1:$port/" >/dev/null
  callgrind_control -d "$PID" >/dev/null 2>&1
  kill -TERM "$PID"
  wait "$PID" 2>/dev/null || true
  PID=""
  awk -v n="$N" '/^totals:/ { printf "%.0f", $2 / n }' "$out.$(ls "$WORK" | sed -n "s/^$(basename "$out")\.\([0-9]*\)\.2$/\1/p" | head -n1).2"
}

echo "| binary | GET / | GET / with Idempotency-Key |"
echo "|---|---:|---:|"
for bin in "$@"; do
  echo "| $bin | $(measure "$bin") | $(measure "$bin" "Idempotency-Key: order-1234567890") |"
done
