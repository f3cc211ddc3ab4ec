#!/usr/bin/env bash
# Delta Lake's Spark jars (delta-spark and what it needs beyond pyspark) for the
# Delta venv's pyspark (.venv-delta, `make venv-delta`), from Maven Central.
#
#   scripts/delta-spark.sh          fetch once (cached), print the jars comma-separated,
#                                   for spark.jars
#   scripts/delta-spark.sh dir      fetch once, print the directory holding the jars
#
# The jars land in .cache/delta-spark-VERSION/jars (VERSION from delta-spark/pom.xml);
# a stamp (.complete, holding the pyspark version it was filtered against) makes a
# second run do nothing. Any jar whose artifactId pyspark's own jars/ directory
# already has is dropped, as scripts/spark-kafka.sh does. PYTHON picks the
# interpreter whose pyspark counts (default: the repo's .venv-delta).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
version="$(sed -n 's:.*<delta.version>\(.*\)</delta.version>.*:\1:p' "$here/delta-spark/pom.xml")"
cache="${QUESTLOG_CACHE:-$repo/.cache}"
jars="$cache/delta-spark-$version/jars"
python="${PYTHON:-$repo/.venv-delta/bin/python}"

die() { echo "delta-spark.sh: $*" >&2; exit 1; }

artifact() {  # delta-storage-4.0.0.jar -> delta-storage; delta-spark_2.13-4.0.0.jar -> delta-spark_2.13
  basename "$1" | sed -E 's/-[0-9]+(\.[0-9]+)+([.-][A-Za-z0-9_.]+)*\.jar$//'
}

fetch() {
  [ -x "$python" ] || die "$python is missing (make venv-delta makes it)"
  local pyspark pyjars
  pyspark="$("$python" -c 'import importlib.metadata as m, importlib.util as u, os; print(m.version("pyspark"), os.path.join(u.find_spec("pyspark").submodule_search_locations[0], "jars"))')" \
    || die "$python has no pyspark (make venv-delta sets up .venv-delta)"
  pyjars="${pyspark#* }"; pyspark="${pyspark%% *}"
  [ -f "$jars/.complete" ] && [ "$(cat "$jars/.complete")" = "pyspark $pyspark" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (make deps-test installs it)"
  [ -d "$pyjars" ] || die "pyspark's jars directory $pyjars is missing"
  echo "delta-spark.sh: fetching delta-spark $version with Maven into $jars" >&2
  rm -rf "$jars"
  mvn -q -B -f "$here/delta-spark/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$jars" >&2
  local have j
  have="$(for j in "$pyjars"/*.jar; do artifact "$j"; done | sort -u)"
  for j in "$jars"/*.jar; do
    if grep -qxF "$(artifact "$j")" <<<"$have"; then
      echo "delta-spark.sh: pyspark already ships $(artifact "$j"); dropping $(basename "$j")" >&2
      rm -f "$j"
    fi
  done
  ls "$jars"/delta-spark_*.jar >/dev/null 2>&1 || die "no delta-spark jar in $jars"
  echo "pyspark $pyspark" >"$jars/.complete"
}

case "${1:-jars}" in
  jars) fetch; ls "$jars"/*.jar | paste -sd, - ;;
  dir) fetch; echo "$jars" ;;
  *) sed -n '2,13p' "$0" >&2; exit 2 ;;
esac
