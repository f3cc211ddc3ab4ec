#!/usr/bin/env bash
# Spark's Kafka connector for the venv's pyspark (local mode), from Maven Central.
#
#   scripts/spark-kafka.sh          fetch once (cached), print the jars comma-separated,
#                                   for spark.jars or spark-submit's jars option
#   scripts/spark-kafka.sh dir      fetch once, print the directory holding the jars
#
# The jars land in .cache/spark-kafka-VERSION/jars (VERSION from spark-kafka/pom.xml, or
# SPARK_KAFKA_VERSION for another pyspark, with PYTHON set to it: 4.1.1 for .venv-delta's
# pyspark 4.1.0, since Maven Central lacks spark-token-provider-kafka-0-10 4.1.0);
# a stamp (.complete, holding the pyspark version it was filtered against) makes a
# second run do nothing. Any jar whose artifactId pyspark's own jars/ directory
# already has is dropped, so the classpath never holds two versions of one library.
# PYTHON picks the interpreter whose pyspark counts (default: the repo's .venv).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
version="${SPARK_KAFKA_VERSION:-$(sed -n 's:.*<spark.version>\(.*\)</spark.version>.*:\1:p' "$here/spark-kafka/pom.xml")}"
cache="${QUESTLOG_CACHE:-$repo/.cache}"
jars="$cache/spark-kafka-$version/jars"
python="${PYTHON:-$repo/.venv/bin/python}"

die() { echo "spark-kafka.sh: $*" >&2; exit 1; }

artifact() {  # kafka-clients-3.9.2.jar -> kafka-clients; spark-sql-kafka-0-10_2.13-4.2.0.jar -> spark-sql-kafka-0-10_2.13
  basename "$1" | sed -E 's/-[0-9]+(\.[0-9]+)+([.-][A-Za-z0-9_.]+)*\.jar$//'
}

fetch() {
  [ -x "$python" ] || python="$(command -v python3)" || die "no python with pyspark (set PYTHON)"
  local pyspark pyjars
  pyspark="$("$python" -c 'import importlib.metadata as m, importlib.util as u, os; print(m.version("pyspark"), os.path.join(u.find_spec("pyspark").submodule_search_locations[0], "jars"))')" \
    || die "$python has no pyspark (make test sets up .venv)"
  pyjars="${pyspark#* }"; pyspark="${pyspark%% *}"
  [ -f "$jars/.complete" ] && [ "$(cat "$jars/.complete")" = "pyspark $pyspark" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (make deps-test installs it)"
  [ -d "$pyjars" ] || die "pyspark's jars directory $pyjars is missing"
  echo "spark-kafka.sh: fetching spark-sql-kafka-0-10 $version with Maven into $jars" >&2
  rm -rf "$jars"
  mvn -q -B -f "$here/spark-kafka/pom.xml" dependency:copy-dependencies \
    -Dspark.version="$version" -DincludeScope=runtime -DoutputDirectory="$jars" >&2
  local have j
  have="$(for j in "$pyjars"/*.jar; do artifact "$j"; done | sort -u)"
  for j in "$jars"/*.jar; do
    if grep -qxF "$(artifact "$j")" <<<"$have"; then
      echo "spark-kafka.sh: pyspark already ships $(artifact "$j"); dropping $(basename "$j")" >&2
      rm -f "$j"
    fi
  done
  ls "$jars"/spark-sql-kafka-0-10_*.jar >/dev/null 2>&1 || die "no spark-sql-kafka jar in $jars"
  echo "pyspark $pyspark" >"$jars/.complete"
}

case "${1:-jars}" in
  jars) fetch; ls "$jars"/*.jar | paste -sd, - ;;
  dir) fetch; echo "$jars" ;;
  *) sed -n '2,14p' "$0" >&2; exit 2 ;;
esac
