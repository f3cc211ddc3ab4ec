#!/usr/bin/env bash
# A real HDFS for development and tests: Apache Hadoop's MiniDFSCluster (one
# namenode, one datanode) in one JVM, loopback only, permissions on.
#
#   scripts/hdfs.sh fetch                       jars into .cache/hadoop-VERSION/libs (Maven, cached),
#                                               scripts/hdfs/HdfsServer.java compiled beside them
#   scripts/hdfs.sh start DIR [RPC_PORT HTTP_PORT]
#                                               start (formatting DIR on its first start), wait until
#                                               it serves; prints DIR/ready (rpc=, http=, datanode=...)
#   scripts/hdfs.sh stop DIR                    stop it (SIGTERM, then SIGKILL after 30 s); data stays
#   scripts/hdfs.sh kill DIR                    SIGKILL it (a fault, for tests)
#   scripts/hdfs.sh datanode DIR stop|start     stop the datanode / start it again on the same port
#   scripts/hdfs.sh namenode DIR stop|start     stop the namenode / start it again on the same ports
#   scripts/hdfs.sh info DIR                    print DIR/ready; fails when it does not serve
#   scripts/hdfs.sh dfs ARGS...                 Hadoop's own shell (`hdfs dfs`), e.g. dfs -ls /tmp
#   scripts/hdfs.sh dfsadmin ARGS...            Hadoop's `hdfs dfsadmin`, e.g. dfsadmin -safemode enter
#
# The namenode serves RPC on 127.0.0.1:RPC_PORT (hdfs://) and HTTP, WebHDFS
# included, on 127.0.0.1:HTTP_PORT; defaults 8020 and 9870 (Hadoop's), or the
# ports DIR was last started with; 0 picks a free port. The datanode takes free
# ports on 127.0.0.1. Logs go to DIR/logs/hdfs.log; DIR/conf has a client
# configuration (core-site.xml, hdfs-site.xml) for it. The user running it is the
# superuser; /tmp is 1777. Only the pid this script started (DIR/pid, whose
# command line names DIR) is ever signalled.
#
# dfs and dfsadmin talk to the cluster in $HDFS_DIR (default: .hdfs at the
# repository root), else hdfs://127.0.0.1:8020; `-fs hdfs://HOST:PORT` right
# after dfs picks another. HADOOP_USER_NAME=NAME runs them as NAME.
#
# HDFS_SET="KEY=VALUE ..." at start sets Hadoop properties on the cluster beyond,
# or instead of, the ones HdfsServer.java sets (bench/hdfs.sh uses it to measure
# Hadoop's default 400 ms retry of a refused file close, where HdfsServer.java
# sets 20 ms). HDFS_DATANODES=N at start runs N datanodes instead of one (the
# datanode commands act on the first).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
version="$(sed -n 's:.*<hadoop.version>\(.*\)</hadoop.version>.*:\1:p' "$here/hdfs/pom.xml")"
cache="${QUESTLOG_CACHE:-$repo/.cache}"
libs="$cache/hadoop-$version/libs"
classes="$cache/hadoop-$version/classes"
conf="$cache/hadoop-$version/conf"
source="$here/hdfs/HdfsServer.java"

die() { echo "hdfs.sh: $*" >&2; exit 1; }

fetch() {
  command -v java >/dev/null || die "java not found (make deps-test installs it)"
  if [ ! -f "$libs/.complete" ]; then
    command -v mvn >/dev/null || die "mvn not found (make deps-test installs it)"
    echo "hdfs.sh: fetching Apache Hadoop $version (MiniDFSCluster) with Maven into $libs" >&2
    rm -rf "$libs"
    mvn -q -B -f "$here/hdfs/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$libs" >&2
    touch "$libs/.complete"
  fi
  # Hadoop's command-line tools read core-site.xml and hdfs-site.xml from the
  # classpath; these are for a cluster on Hadoop's default port (start writes
  # DIR/conf for its own).
  [ -f "$conf/hdfs-site.xml" ] || write_conf "$conf" 8020
  # Hadoop's command-line tools insist on a core-site.xml and hdfs-site.xml on the
  # classpath; theirs are empty: the cluster's address is passed with -D.
  if [ ! -f "$conf/hdfs-site.xml" ]; then
    mkdir -p "$conf"
    echo '<configuration/>' >"$conf/core-site.xml"
    echo '<configuration/>' >"$conf/hdfs-site.xml"
  fi
  # The launcher is compiled again whenever its source changes.
  local sum
  sum="$(sha256sum "$source" | cut -d' ' -f1)"
  [ -f "$classes/.source" ] && [ "$(cat "$classes/.source")" = "$sum" ] && return 0
  command -v javac >/dev/null || die "javac not found (make deps-test installs openjdk-17-jdk-headless)"
  local tmp="$classes.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # -XDignore.symbol.file: no warning for sun.misc.Signal (SIGTERM handling).
  javac -J-XX:-UsePerfData -XDignore.symbol.file -d "$tmp" -cp "$libs/*" "$source"
  echo "$sum" >"$tmp/.source"
  rm -rf "$classes"
  mv "$tmp" "$classes"
}

write_conf() {  # dir rpc_port: client configuration for the namenode at 127.0.0.1:rpc_port
  mkdir -p "$1"
  cat >"$1/core-site.xml.tmp" <<EOF
<configuration>
  <property><name>fs.defaultFS</name><value>hdfs://127.0.0.1:$2</value></property>
</configuration>
EOF
  # One datanode: one replica, and no replacement datanode to look for.
  cat >"$1/hdfs-site.xml.tmp" <<EOF
<configuration>
  <property><name>dfs.replication</name><value>1</value></property>
  <property><name>dfs.client.block.write.replace-datanode-on-failure.policy</name><value>NEVER</value></property>
</configuration>
EOF
  mv "$1/core-site.xml.tmp" "$1/core-site.xml"
  mv "$1/hdfs-site.xml.tmp" "$1/hdfs-site.xml"
}

server_pid() {  # prints the pid of the server of dir $1 if it is alive and ours
  local pidf="$1/pid" pid
  [ -f "$pidf" ] || return 1
  pid="$(cat "$pidf")"
  [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "HdfsServer $1 " || return 1
  echo "$pid"
}

ready_value() {  # dir key: a value from dir/ready
  sed -n "s/^$2=//p" "$1/ready" 2>/dev/null
}

serving() {  # dir pid: the ready file is this process's and WebHDFS answers
  [ "$(ready_value "$1" pid)" = "$2" ] || return 1
  curl -sf -o /dev/null --max-time 5 "http://$(ready_value "$1" http)/webhdfs/v1/?op=GETFILESTATUS"
}

wait_serving() {  # dir pid, 120 s at most
  local dir="$1" pid="$2" i
  for i in $(seq 1 600); do
    # (Just after the fork its command line is still this script's: no server_pid here.)
    [ -d "/proc/$pid" ] || { tail -n 30 "$dir/logs/hdfs.log" >&2 || true
                             die "the HDFS of $dir exited (log in $dir/logs/hdfs.log)"; }
    serving "$dir" "$pid" && return 0
    sleep 0.2
  done
  die "the HDFS of $dir did not serve within 120 s (log in $dir/logs/hdfs.log)"
}

start() {  # dir [rpc_port http_port]
  local dir rpc http pid
  command -v curl >/dev/null || die "curl not found (make deps-test installs it)"
  fetch
  mkdir -p "$1"
  dir="$(cd "$1" && pwd)"
  if ! pid="$(server_pid "$dir")"; then
    if [ $# -ge 3 ]; then rpc="$2"; http="$3"
    elif [ -f "$dir/ports" ]; then read -r rpc http <"$dir/ports"
    else rpc=8020; http=9870; fi
    # java.io.tmpdir: Jetty unpacks the web UI there; it stays inside DIR.
    rm -rf "$dir/tmp"
    mkdir -p "$dir/logs" "$dir/tmp"
    rm -f "$dir/ready"
    echo "hdfs.sh: starting $(date -u +%FT%TZ)" >>"$dir/logs/hdfs.log"
    # setsid: the server outlives the shell that started it and gets no terminal signals.
    # TieredStopAtLevel=1 (C1 only): on two cores, C2's compiler threads took more CPU
    # than serving for the first hundred-odd extracts (1.8 of 2.8 CPU seconds over 20
    # of them), beside the client being measured; C1 alone halves the JVM's CPU.
    setsid java -Xms128m -Xmx768m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
      -Djava.awt.headless=true -Dhdfs.datanodes="${HDFS_DATANODES:-1}" \
      -Djava.io.tmpdir="$dir/tmp" \
      -Dorg.slf4j.simpleLogger.showDateTime=true \
      -Dorg.slf4j.simpleLogger.dateTimeFormat="yyyy-MM-dd'T'HH:mm:ss.SSS" \
      -cp "$classes:$libs/*" HdfsServer "$dir" "$rpc" "$http" ${HDFS_SET:-} \
      >>"$dir/logs/hdfs.log" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$dir/pid"
  fi
  wait_serving "$dir" "$pid"
  # Later starts of DIR keep the ports it has now (0 resolved to the ones picked).
  rpc="$(ready_value "$dir" rpc | sed 's/.*://')"
  http="$(ready_value "$dir" http | sed 's/.*://')"
  echo "$rpc $http" >"$dir/ports"
  write_conf "$dir/conf" "$rpc"
  grep -v '^pid=' "$dir/ready"
}

stop() {  # dir
  local dir="$1" pid i
  pid="$(server_pid "$dir")" || { rm -f "$dir/pid"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 150); do
    [ -d "/proc/$pid" ] || break
    sleep 0.2
  done
  if pid="$(server_pid "$dir")"; then
    echo "hdfs.sh: the HDFS of $dir did not stop within 30 s; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
    while [ -d "/proc/$pid" ]; do sleep 0.05; done
  fi
  rm -f "$dir/pid" "$dir/ready"
}

control() {  # dir command: carried out by the running server; prints its answer
  local dir="$1" pid id req ack i answer
  pid="$(server_pid "$dir")" || die "no HDFS of ours runs in $dir"
  mkdir -p "$dir/control"
  id="$$-$RANDOM"
  req="$dir/control/$id.req"; ack="$dir/control/$id.ack"
  echo "$2" >"$req.tmp"
  mv "$req.tmp" "$req"
  for i in $(seq 1 600); do
    if [ -f "$ack" ]; then
      answer="$(cat "$ack")"; rm -f "$ack"
      [ "$answer" = ok ] || die "$2: ${answer#error: }"
      return 0
    fi
    [ -d "/proc/$pid" ] || die "$2: the HDFS of $dir exited (log in $dir/logs/hdfs.log)"
    sleep 0.1
  done
  die "$2: no answer within 60 s (log in $dir/logs/hdfs.log)"
}

client() {  # class args...: one of Hadoop's command-line tools against the cluster
  local class="$1" dir cp="$conf"
  shift
  fetch
  dir="${HDFS_DIR:-$repo/.hdfs}"
  [ -f "$dir/conf/hdfs-site.xml" ] && cp="$dir/conf"
  # C1 only: these JVMs live a second or two; warnings and errors only.
  exec java -Xmx512m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:-UsePerfData -Djava.awt.headless=true \
    -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    -Dorg.slf4j.simpleLogger.log.org.apache.hadoop.util.NativeCodeLoader=error \
    -cp "$cp:$libs/*" "$class" "$@"
}

dirarg() { cd "$1" 2>/dev/null && pwd || die "no directory $1"; }

cmd="${1:-}"
case "$cmd" in
  fetch) fetch; echo "$libs" ;;
  start)
    [ $# -eq 2 ] || [ $# -eq 4 ] || die "usage: $0 start DIR [RPC_PORT HTTP_PORT]"
    shift; start "$@" ;;
  stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; [ -d "$2" ] || exit 0; stop "$(dirarg "$2")" ;;
  kill)
    [ $# -eq 2 ] || die "usage: $0 kill DIR"
    d="$(dirarg "$2")"
    pid="$(server_pid "$d")" || die "no HDFS of ours runs in $d"
    kill -KILL "$pid"
    while [ -d "/proc/$pid" ]; do sleep 0.05; done ;;
  datanode|namenode)
    [ $# -eq 3 ] && { [ "$3" = stop ] || [ "$3" = start ]; } || die "usage: $0 $cmd DIR stop|start"
    control "$(dirarg "$2")" "$cmd-$3" ;;
  info)
    [ $# -eq 2 ] || die "usage: $0 info DIR"
    d="$(dirarg "$2")"
    pid="$(server_pid "$d")" && serving "$d" "$pid" || die "no HDFS of ours serves in $d"
    grep -v '^pid=' "$d/ready" ;;
  dfs) shift; client org.apache.hadoop.fs.FsShell "$@" ;;
  dfsadmin) shift; client org.apache.hadoop.hdfs.tools.DFSAdmin "$@" ;;
  *) sed -n '2,28p' "$0" >&2; exit 2 ;;
esac
