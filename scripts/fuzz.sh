#!/usr/bin/env bash
# Runs the libFuzzer targets of BUILD (fuzz/*_fuzz.cpp, built with QUESTLOG_FUZZ=ON)
# for SECONDS each, one after another: scripts/fuzz.sh BUILD SECONDS [TARGET...].
# Each starts from its seed corpus (fuzz/corpus/<target>, replayed first, so every
# crash input kept there is a regression test) and keeps what it finds in
# BUILD/corpus/<target>; a crash leaves its input in BUILD/crashes/ and fails the run.
# Seconds run are added up per target in BUILD/fuzz-seconds.
set -euo pipefail

build=$1
seconds=$2
shift 2
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cpp; do t=$(basename "$f" .cpp); targets+=("${t%_fuzz}"); done
fi

mkdir -p "$build/crashes"
status=0
for t in "${targets[@]}"; do
  mkdir -p "$build/corpus/$t"
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  log="$build/fuzz-$t.log"
  start=$(date +%s)
  if "./$build/${t}_fuzz" "${dict[@]}" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=1536 \
       -max_len=16384 -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
       "$build/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
  fi
  elapsed=$(( $(date +%s) - start ))
  echo "$t $elapsed" >>"$build/fuzz-seconds"
  total=$(awk -v t="$t" '$1 == t { s += $2 } END { print s }' "$build/fuzz-seconds")
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  echo "fuzz $t: $result, ${elapsed}s, $runs runs (${total}s in all here; log $log)"
  if [ $result = FAILED ]; then grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >&2; fi
done
exit $status
