#!/usr/bin/env bash
# make bench, part 4: questlog extract to HDFS (--lake webhdfs://) against extract
# to the local lake, and against copying the same Parquet bytes to HDFS with
# Hadoop's own shell (scripts/hdfs.sh dfs -put: the ceiling). Prints a markdown
# table and writes it to bench/results/hdfs.md.
#
# The HDFS is a single-node MiniDFSCluster (scripts/hdfs.sh) in a temporary
# directory on free loopback ports, stopped at the end. The events: EVENTS
# (default 1,000,000) of the seed's shapes (build/append_raw --seed), split by
# jobs/separate_events.toml into two tables. RUNS (default 5) runs of each, taken
# in turn (local, HDFS, local, ...) so drift hits both alike; medians of wall time.
# Also: a bare WebHDFS upload of the same two files with curl (both steps, no
# JVM), and how many HDFS runs met the namenode's 0.4 s back-off on a file close.
#
# Every HDFS run is taken on two clusters side by side: one at Hadoop's defaults,
# and scripts/hdfs.sh's own (make hdfs, the tests), whose datanode retries a
# refused close after 20 ms instead of 400 ms
# (dfs.client.block.write.locateFollowingBlock.initial.delay.ms: WebHDFS writes
# are closed by the datanode's own HDFS client). Hadoop 3.5.0's
# dfs.namenode.file.close.num-committed-allowed=1 does not remove the back-off
# here: the namenode still refuses a close before one datanode has reported.
#
# And on a third: two datanodes keeping two replicas (dfs.replication=2, as a
# real cluster keeps at least that many) with HDFS's own answer to that wait,
# dfs.namenode.file.close.num-committed-allowed=1, at Hadoop's 400 ms retry:
# the namenode then closes a file whose last block is committed but not yet
# reported, which it cannot do with one replica.
#
# WARMUP (default 10) untimed runs of each come first: a namenode that has run
# for a while has its request paths compiled (a fresh JVM spends more CPU in
# its JIT compilers than in serving, on the same two cores as the extract).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build}
EVENTS=${EVENTS:-1000000}
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-10}
RESULTS_DIR=bench/results
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/questlog-hdfs-bench.XXXXXX")
HDFS="$WORK/hdfs"
TUNED="$WORK/hdfs-tuned"
REPL="$WORK/hdfs-replicated"
TUNING=dfs.client.block.write.locateFollowingBlock.initial.delay.ms=20  # scripts/hdfs.sh's
DEFAULTS=dfs.client.block.write.locateFollowingBlock.initial.delay.ms=400  # Hadoop's
REPLICATED="dfs.replication=2 dfs.namenode.file.close.num-committed-allowed=1 $DEFAULTS"
cleanup() {
  bash scripts/hdfs.sh stop "$HDFS" >/dev/null 2>&1 || true
  bash scripts/hdfs.sh stop "$TUNED" >/dev/null 2>&1 || true
  bash scripts/hdfs.sh stop "$REPL" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT
log() { printf '[bench hdfs] %s\n' "$*" >&2; }
mkdir -p "$RESULTS_DIR"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc -l | xargs printf '%.3f'; }

log "starting three HDFS clusters: $HDFS (defaults), $TUNED ($TUNING), $REPL (two datanodes: $REPLICATED)"
HDFS_SET=$DEFAULTS bash scripts/hdfs.sh start "$HDFS" 0 0 >/dev/null
bash scripts/hdfs.sh start "$TUNED" 0 0 >/dev/null
HDFS_DATANODES=2 HDFS_SET=$REPLICATED bash scripts/hdfs.sh start "$REPL" 0 0 >/dev/null
read -r _rpc http <"$HDFS/ports"
nn="127.0.0.1:$http"
lake="webhdfs://$nn/bench"
read -r _rpc tuned_http <"$TUNED/ports"
tuned_lake="webhdfs://127.0.0.1:$tuned_http/bench"
read -r _rpc repl_http <"$REPL/ports"
repl_lake="webhdfs://127.0.0.1:$repl_http/bench"
backoffs() { grep -c "is COMMITTED but" "$1/logs/hdfs.log" || true; }

log "appending $EVENTS seed-shaped events"
"$BUILD/append_raw" --seed "$EVENTS" "$WORK/data" >/dev/null
job=jobs/separate_events.toml

extract_to() {  # lake: one run of the job; its stderr is shown when it fails, and the bench stops
  "$BUILD/questlog" extract "$job" --data "$WORK/data" --lake "$1" --show 0 2>"$WORK/err" ||
    { cat "$WORK/err" >&2; exit 1; }
}
timed() {  # lake [cluster_dir]: sets `took` (seconds) and `refused` (1 when the cluster refused a close)
  local before=0 t0
  [ -n "${2:-}" ] && before=$(backoffs "$2")
  t0=$(now)
  extract_to "$1"
  took=$(secs "$t0" "$(now)")
  refused=0
  if [ -n "${2:-}" ] && [ "$(backoffs "$2")" -gt "$before" ]; then refused=1; fi
}

log "warming up: $WARMUP untimed runs to each lake"
for ((i = 0; i < WARMUP; i++)); do
  for to in "$WORK/lake" "$lake" "$tuned_lake" "$repl_lake"; do extract_to "$to"; done
done

local_times=() hdfs_times=() hdfs_backoffs=0 tuned_times=() tuned_backoffs=0
repl_times=() repl_backoffs=0
clean_times=()  # default-cluster runs in which no close was refused
for ((i = 0; i < RUNS; i++)); do
  timed "$WORK/lake"
  local_times+=("$took")
  timed "$lake" "$HDFS"
  hdfs_times+=("$took")
  hdfs_backoffs=$((hdfs_backoffs + refused))
  ((refused)) || clean_times+=("$took")
  timed "$tuned_lake" "$TUNED"
  tuned_times+=("$took")
  tuned_backoffs=$((tuned_backoffs + refused))
  timed "$repl_lake" "$REPL"
  repl_times+=("$took")
  repl_backoffs=$((repl_backoffs + refused))
  log "run $((i + 1)) of $RUNS: local ${local_times[-1]} s, HDFS ${hdfs_times[-1]} s, HDFS with $TUNING ${tuned_times[-1]} s, two replicas ${repl_times[-1]} s"
done
local_secs=$(printf '%s\n' "${local_times[@]}" | median)
hdfs_secs=$(printf '%s\n' "${hdfs_times[@]}" | median)
hdfs_best=$(printf '%s\n' "${hdfs_times[@]}" | sort -g | head -1)
tuned_secs=$(printf '%s\n' "${tuned_times[@]}" | median)
repl_secs=$(printf '%s\n' "${repl_times[@]}" | median)
clean_secs=$( ((${#clean_times[@]})) && printf '%s\n' "${clean_times[@]}" | median || echo)
parts=("$WORK"/lake/sword_purchases/part-*.parquet "$WORK"/lake/default_hits/part-*.parquet)
bytes=$(du -cb "${parts[@]}" | tail -1 | cut -f1)
rows=$("$BUILD/questlog" ls "$lake" | awk 'NR > 2 {n += $1} END {print n}')

# The ceiling: Hadoop's shell puts the same two files (JVM start included).
put_times=()
for ((i = 0; i < RUNS; i++)); do
  t0=$(now)
  HDFS_DIR="$HDFS" bash scripts/hdfs.sh dfs -put -f "${parts[@]}" /bench/ 2>/dev/null
  put_times+=("$(secs "$t0" "$(now)")")
done
put_secs=$(printf '%s\n' "${put_times[@]}" | median)

# The bytes alone over WebHDFS: curl, both steps, one file after the other.
curl_put() {  # local_file hdfs_path
  local loc
  loc=$(curl -sf -o /dev/null -D - -X PUT \
    "http://$nn/webhdfs/v1$2?op=CREATE&overwrite=true&user.name=$(id -un)" |
    sed -n 's/^[Ll]ocation: \(.*\)\r$/\1/p')
  curl -sf -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' -H 'Expect:' \
    --data-binary @"$1" "$loc"
}
curl_times=()
for ((i = 0; i < RUNS; i++)); do
  t0=$(now)
  curl_put "${parts[0]}" /bench/curl-0.parquet
  curl_put "${parts[1]}" /bench/curl-1.parquet
  curl_times+=("$(secs "$t0" "$(now)")")
done
curl_secs=$(printf '%s\n' "${curl_times[@]}" | median)

ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
{
  echo "## extract to HDFS: the seed's separate_events split of $EVENTS events"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r), $(date -u +%FT%RZ); load average before: $(cut -d' ' -f1-3 /proc/loadavg) (a shared machine: other work ran beside it)."
  echo "Command: \`make bench\` (bench/hdfs.sh). HDFS: Hadoop 3.5.0's MiniDFSCluster (scripts/hdfs.sh), one namenode and one datanode on loopback. Median of $RUNS runs after $WARMUP untimed ones, wall clock, local and HDFS runs in turn."
  echo
  echo "| what | seconds | vs extract to the local lake |"
  echo "|---|---:|---:|"
  echo "| questlog extract --lake ./lake (local) | $local_secs | 1.00x |"
  echo "| questlog extract --lake webhdfs://$nn/bench (Hadoop's defaults: $DEFAULTS) | $hdfs_secs | $(ratio "$hdfs_secs" "$local_secs")x |"
  echo "| the same, best of $RUNS | $hdfs_best | $(ratio "$hdfs_best" "$local_secs")x |"
  if [ -n "$clean_secs" ]; then
    echo "| the same, median of the ${#clean_times[@]} runs in which the namenode refused no close (no 0.4 s back-off) | $clean_secs | $(ratio "$clean_secs" "$local_secs")x |"
  else
    echo "| the same, runs in which the namenode refused no close | none of $RUNS | |"
  fi
  echo "| questlog extract --lake webhdfs://... on scripts/hdfs.sh's cluster (make hdfs; $TUNING) | $tuned_secs | $(ratio "$tuned_secs" "$local_secs")x |"
  echo "| questlog extract --lake webhdfs://... on two datanodes keeping two replicas ($REPLICATED) | $repl_secs | $(ratio "$repl_secs" "$local_secs")x |"
  echo "| scripts/hdfs.sh dfs -put of the same 2 files ($bytes bytes; JVM start included) | $put_secs | $(ratio "$put_secs" "$local_secs")x |"
  echo "| curl, WebHDFS CREATE of the same 2 files, both steps, one after the other | $curl_secs | $(ratio "$curl_secs" "$local_secs")x |"
  echo
  echo "Rows on HDFS after the runs (questlog ls): $rows. HDFS runs in which the namenode refused a file's first close (\"is COMMITTED but\" in its log; the datanode then waits 0.4 s, or 20 ms with the setting, and asks again): $hdfs_backoffs of $RUNS at the defaults, $tuned_backoffs of $RUNS with $TUNING, $repl_backoffs of $RUNS on the two datanodes."
  echo "Every run: local ${local_times[*]}; HDFS ${hdfs_times[*]}; HDFS with $TUNING ${tuned_times[*]}; two replicas ${repl_times[*]}; dfs -put ${put_times[*]}; curl ${curl_times[*]}."
  echo
  echo "Goal (issue 10): extract to HDFS within 1.5x of extract to the local lake at 1M events."
} | tee "$RESULTS_DIR/hdfs.md"
