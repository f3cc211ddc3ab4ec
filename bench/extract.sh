#!/usr/bin/env bash
# make bench, part 2: questlog extract against DuckDB (1 thread) and the seed's
# separate_events.py in local PySpark, doing the same split of the same events.
# Prints a markdown table and writes it to bench/results/extract.md.
#
# The events: EVENTS (default 1,000,000) of the seed's three shapes, appended by
# build/append_raw --seed (every record of the run gets the same ingest time, so
# DuckDB's constant timestamp column is the same data). DuckDB and Spark read
# them as JSON lines (questlog tail -e). Memory: peak RSS at EVENTS and at
# BIG_EVENTS (default 10,000,000; 0 skips) for questlog.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

BUILD=${BUILD:-build}
EVENTS=${EVENTS:-1000000}
BIG_EVENTS=${BIG_EVENTS:-10000000}
RUNS=${RUNS:-5}
PY=${VENV_PY:-.venv/bin/python}
RESULTS_DIR=bench/results
WORK=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/questlog-extract-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
log() { printf '[bench extract] %s\n' "$*" >&2; }
mkdir -p "$RESULTS_DIR"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

log "appending $EVENTS seed-shaped events"
"$BUILD/append_raw" --seed "$EVENTS" "$WORK/data" >/dev/null
"$BUILD/questlog" tail --data "$WORK/data" -e >"$WORK/events.jsonl"
ts_ms=$("$PY" - "$WORK/data/events/0" <<'PY'
import struct, sys, glob
seg = sorted(glob.glob(sys.argv[1] + "/*.log"))[0]
with open(seg, "rb") as f:
    print(struct.unpack("<q", f.read(24)[16:24])[0])
PY
)

# questlog: RUNS runs, median wall seconds, peak RSS of the last.
q_times=()
for ((i = 0; i < RUNS; i++)); do
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$BUILD/questlog" extract jobs/separate_events.toml \
    --data "$WORK/data" --lake "$WORK/lake" --show 0 2>/dev/null
  read -r secs rss <"$WORK/time"
  q_times+=("$secs")
done
q_secs=$(printf '%s\n' "${q_times[@]}" | median)
q_rss_mb=$((rss / 1024))
q_bytes=$(du -cb "$WORK"/lake/sword_purchases/*.parquet "$WORK"/lake/default_hits/*.parquet | tail -1 | cut -f1)
q_rows=$("$PY" -c "import duckdb,sys; print(duckdb.sql(\"select count(*) from read_parquet('$WORK/lake/*/*.parquet')\").fetchall()[0][0])")

# DuckDB, 1 thread: one read of the JSON lines, the same munge and split, two
# snappy Parquet files. Timed inside Python, from connect to the second COPY.
d_out=$("$PY" - "$WORK" "$ts_ms" "$RUNS" <<'PY'
import statistics, sys, time, os
import duckdb
work, ts_ms, runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
times = []
for _ in range(runs):
    t = time.perf_counter()
    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute(f"""CREATE TEMP TABLE ev AS SELECT * FROM read_json('{work}/events.jsonl',
                    format = 'newline_delimited', union_by_name = true)""")
    for table, kind in (("sword", "purchase_sword"), ("default", "default")):
        con.execute(f"""COPY (SELECT Accept, 'no-cache' AS "Cache-Control", 'moe' AS Host,
                        "User-Agent", event_type, make_timestamp({ts_ms} * 1000) AS timestamp
                        FROM ev WHERE event_type = '{kind}')
                        TO '{work}/duck_{table}.parquet' (FORMAT parquet, COMPRESSION snappy)""")
    con.close()
    times.append(time.perf_counter() - t)
size = sum(os.path.getsize(f"{work}/duck_{t}.parquet") for t in ("sword", "default"))
print(f"{statistics.median(times):.3f} {size} {duckdb.__version__}")
PY
)
read -r d_secs d_bytes d_version <<<"$d_out"

# The seed's job in local PySpark (JVM start included), once.
s_secs="-"
if "$PY" -c 'import pyspark' 2>/dev/null && command -v java >/dev/null; then
  log "running the seed's separate_events.py in local PySpark"
  t0=$(date +%s.%N)
  "$PY" bench/seed_separate_events_local.py "$WORK/events.jsonl" "$WORK/spark" >/dev/null 2>&1
  t1=$(date +%s.%N)
  s_secs=$(echo "$t1 - $t0" | bc -l | xargs printf '%.1f')
fi

big_line=""
if [ "$BIG_EVENTS" -gt 0 ]; then
  log "appending $BIG_EVENTS events for the memory check"
  rm -rf "$WORK/data" "$WORK/lake"
  "$BUILD/append_raw" --seed "$BIG_EVENTS" "$WORK/data" >/dev/null
  /usr/bin/time -f '%e %M' -o "$WORK/time" "$BUILD/questlog" extract jobs/separate_events.toml \
    --data "$WORK/data" --lake "$WORK/lake" --show 0 2>/dev/null
  read -r big_secs big_rss <"$WORK/time"
  big_line="| questlog extract, $BIG_EVENTS events | $big_secs s | $((big_rss / 1024)) MiB peak RSS (goal: at most 256 MiB) |"
fi

ratio() { echo "$1 / $2" | bc -l | xargs printf '%.2f'; }
{
  echo "## extract: the seed's separate_events split of $EVENTS events"
  echo
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(uname -r), $(date -u +%FT%RZ); load average before: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo "Command: \`make bench\` (bench/extract.sh). Median of $RUNS runs, wall clock; DuckDB $d_version with 1 thread, timed from connect to its last COPY; PySpark once, JVM start included."
  echo
  echo "| engine | seconds | rows written | output bytes | questlog is faster by | output vs questlog |"
  echo "|---|---:|---:|---:|---:|---:|"
  echo "| questlog extract jobs/separate_events.toml | $q_secs | $q_rows | $q_bytes | 1.00x | 1.00x |"
  echo "| DuckDB read_json + 2 COPY (1 thread) | $d_secs | $q_rows | $d_bytes | $(ratio "$d_secs" "$q_secs")x | $(ratio "$d_bytes" "$q_bytes")x |"
  if [ "$s_secs" != "-" ]; then
    echo "| seed's separate_events.py, local PySpark | $s_secs | $q_rows | $(du -cb "$WORK"/spark/*/*.parquet | tail -1 | cut -f1) | $(ratio "$s_secs" "$q_secs")x | - |"
  fi
  echo
  echo "| memory | time | peak |"
  echo "|---|---:|---:|"
  echo "| questlog extract, $EVENTS events | $q_secs s | $q_rss_mb MiB peak RSS |"
  [ -n "$big_line" ] && echo "$big_line"
  echo
  echo "Goals (issue 3): at least 2x faster than DuckDB; output at most 1.5x DuckDB's bytes; at most 256 MiB at 10M events."
} | tee "$RESULTS_DIR/extract.md"
