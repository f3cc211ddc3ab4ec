#!/usr/bin/env bash
# Installs the Debian packages questlog needs to build, test and benchmark.
# Idempotent: packages already present are left alone, and apt-get runs only
# when something is missing.
set -euo pipefail

build_pkgs=(cmake ninja-build g++ make pkg-config libboost1.81-dev libtomlplusplus-dev
            libcli11-dev libfmt-dev libsimdjson-dev libsnappy-dev libzstd-dev libgtest-dev librdkafka-dev
            libcurl4-openssl-dev)
test_pkgs=(libgtest-dev googletest libbenchmark-dev clang-format curl apache2-utils wrk
           nginx python3 python3-venv openjdk-17-jre-headless openjdk-17-jdk-headless maven kcat
           python3-flask python3-kafka nghttp2-client)
# libFuzzer and the sanitizer runtimes for the fuzz targets (clang, not gcc, builds them).
fuzz_pkgs=(clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
case "${1:-build}" in
  build) ;;
  test|bench) want+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
  fuzz) want+=("${fuzz_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|fuzz]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
