#!/usr/bin/env bash
# A real Apache Kafka for development and tests: KRaft (no ZooKeeper), loopback only.
#
#   scripts/kafka.sh fetch                      jars into .cache/kafka-VERSION/libs (Maven, cached)
#   scripts/kafka.sh start DIR [NODES] [PORT]   format and start NODES (1 or 3) brokers, wait
#                                               until all are up; prints the bootstrap list
#   scripts/kafka.sh stop DIR                   stop every node of DIR (SIGTERM, then SIGKILL)
#   scripts/kafka.sh kill DIR N                 SIGKILL node N (a fault, for tests)
#   scripts/kafka.sh pause DIR N                SIGSTOP node N: it hangs, connections stay open
#   scripts/kafka.sh resume DIR N               SIGCONT node N
#   scripts/kafka.sh start-node DIR N           start node N again, wait until it serves
#   scripts/kafka.sh bootstrap DIR              print the bootstrap list
#
# Node N (1-based) listens for clients on 127.0.0.1:PORT+2(N-1) and for the
# controller quorum on the port after it. Every node is both broker and
# controller. With 3 nodes, new topics get replication factor 3 and
# min.insync.replicas=2. Only pids this script started (DIR/node-N/pid, whose
# command line names DIR) are ever signalled.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
version="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$here/kafka/pom.xml")"
cache="${QUESTLOG_CACHE:-$repo/.cache}"
libs="$cache/kafka-$version/libs"

die() { echo "kafka.sh: $*" >&2; exit 1; }

fetch() {
  [ -f "$libs/.complete" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (make deps-test installs it)"
  command -v java >/dev/null || die "java not found (make deps-test installs it)"
  echo "kafka.sh: fetching Apache Kafka $version with Maven into $libs" >&2
  rm -rf "$libs"
  mvn -q -B -f "$here/kafka/pom.xml" dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

node_pid() {  # prints the pid of node dir $1 if it is alive and ours
  local pidf="$1/pid" pid
  [ -f "$pidf" ] || return 1
  pid="$(cat "$pidf")"
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$1/server.properties" || return 1
  echo "$pid"
}

write_config() {  # dir nodes port
  local dir="$1" nodes="$2" port="$3" voters="" n
  for n in $(seq 1 "$nodes"); do
    voters+="${voters:+,}$n@127.0.0.1:$((port + 2 * (n - 1) + 1))"
  done
  local rf=1 isr=1
  [ "$nodes" -ge 3 ] && rf=3 && isr=2
  for n in $(seq 1 "$nodes"); do
    local nd="$dir/node-$n" p=$((port + 2 * (n - 1)))
    mkdir -p "$nd/data" "$nd/logs"
    cat >"$nd/server.properties" <<EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$p,CONTROLLER://127.0.0.1:$((p + 1))
advertised.listeners=PLAINTEXT://127.0.0.1:$p
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$nd/data
num.partitions=1
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
# A killed node is fenced (and its partitions get new leaders) after 3 s, not 9.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
EOF
    echo "127.0.0.1:$p" >"$nd/listener"
  done
  echo "$nodes" >"$dir/nodes"
}

bootstrap() {
  local dir="$1" out="" n
  for n in $(seq 1 "$(cat "$dir/nodes")"); do out+="${out:+,}$(cat "$dir/node-$n/listener")"; done
  echo "$out"
}

launch() {  # dir n
  local nd="$1/node-$2"
  if node_pid "$nd" >/dev/null; then return 0; fi
  : >"$nd/logs/stdout.log"
  # setsid: the broker outlives the shell that started it and gets no terminal signals.
  setsid java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" -Dkafka.logs.dir="$nd/logs" \
    -cp "$libs/*" kafka.Kafka "$nd/server.properties" \
    >>"$nd/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$nd/pid"
}

wait_serving() {  # dir n: until node n answers metadata with itself in it, 90 s at most
  local nd="$1/node-$2" listener i
  listener="$(cat "$nd/listener")"
  for i in $(seq 1 450); do
    node_pid "$nd" >/dev/null || { tail -n 20 "$nd/logs/server.log" "$nd/logs/stdout.log" >&2 || true
                                   die "node $2 exited (logs in $nd/logs)"; }
    if kcat -b "$listener" -L -m 1 2>/dev/null | grep -q "broker $2 at"; then return 0; fi
    sleep 0.2
  done
  die "node $2 at $listener did not start within 90 s (logs in $nd/logs)"
}

start() {  # dir [nodes] [port]
  local dir nodes="${2:-1}" port="${3:-9092}" n
  [ "$nodes" = 1 ] || [ "$nodes" = 3 ] || die "NODES must be 1 or 3"
  command -v kcat >/dev/null || die "kcat not found (make deps-test installs it)"
  fetch
  mkdir -p "$1"
  dir="$(cd "$1" && pwd)"
  if [ ! -f "$dir/cluster.id" ]; then
    write_config "$dir" "$nodes" "$port"
    local id
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | cut -c1-22)"
    for n in $(seq 1 "$nodes"); do
      java -cp "$libs/*" -Dlog4j2.configurationFile="$here/kafka/log4j2.properties" \
        -Dkafka.logs.dir="$dir/node-$n/logs" kafka.tools.StorageTool format --ignore-formatted \
        --cluster-id="$id" --config="$dir/node-$n/server.properties" >/dev/null
    done
    echo "$id" >"$dir/cluster.id"
  fi
  nodes="$(cat "$dir/nodes")"
  for n in $(seq 1 "$nodes"); do launch "$dir" "$n"; done
  for n in $(seq 1 "$nodes"); do wait_serving "$dir" "$n"; done
  bootstrap "$dir"
}

stop() {  # dir
  local dir="$1" n pid pids=()
  [ -f "$dir/nodes" ] || return 0
  for n in $(seq 1 "$(cat "$dir/nodes")"); do
    if pid="$(node_pid "$dir/node-$n")"; then kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); fi
  done
  for i in $(seq 1 150); do
    local alive=0
    for pid in "${pids[@]}"; do [ -d "/proc/$pid" ] && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for n in $(seq 1 "$(cat "$dir/nodes")"); do
    if pid="$(node_pid "$dir/node-$n")"; then kill -KILL "$pid" 2>/dev/null || true; fi
    rm -f "$dir/node-$n/pid"
  done
}

cmd="${1:-}"
case "$cmd" in
  fetch) fetch; echo "$libs" ;;
  start) [ $# -ge 2 ] || die "usage: $0 start DIR [NODES] [PORT]"; start "$2" "${3:-1}" "${4:-9092}" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; stop "$(cd "$2" 2>/dev/null && pwd || echo "$2")" ;;
  kill)
    [ $# -eq 3 ] || die "usage: $0 kill DIR N"
    d="$(cd "$2" && pwd)"
    pid="$(node_pid "$d/node-$3")" || die "node $3 of $d is not running"
    kill -KILL "$pid"
    while [ -d "/proc/$pid" ]; do sleep 0.05; done ;;
  pause|resume)
    [ $# -eq 3 ] || die "usage: $0 $cmd DIR N"
    d="$(cd "$2" && pwd)"
    pid="$(node_pid "$d/node-$3")" || die "node $3 of $d is not running"
    if [ "$cmd" = pause ]; then kill -STOP "$pid"; else kill -CONT "$pid"; fi ;;
  start-node)
    [ $# -eq 3 ] || die "usage: $0 start-node DIR N"
    d="$(cd "$2" && pwd)"; launch "$d" "$3"; wait_serving "$d" "$3" ;;
  bootstrap) bootstrap "$(cd "$2" && pwd)" ;;
  *) sed -n '2,18p' "$0" >&2; exit 2 ;;
esac
