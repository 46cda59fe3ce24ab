#!/usr/bin/env bash
# A real Apache Kafka broker (KRaft; 3.9 by default, or 4.x) assembled from Maven
# Central jars, for development, tests and CI on machines without Docker.
#
#   scripts/kafka.sh jars                 resolve the broker jars (idempotent)
#   scripts/kafka.sh start [--cluster]    start one node on 127.0.0.1:9092 (or three
#                                         on 19092/29092/39092); no-op when running
#   scripts/kafka.sh stop  [--cluster]    stop by pid (SIGTERM, then SIGKILL)
#   scripts/kafka.sh status [--cluster]   exit 0 when running
#   scripts/kafka.sh node start|stop|kill N
#                                         one cluster node (1-3): start it again, stop
#                                         it cleanly (SIGTERM: controlled shutdown) or
#                                         SIGKILL it, by its pid
#   scripts/kafka.sh start|stop|status --secure
#                                         one secured node (scripts/kafka/secure.sh):
#                                         SASL_SSL (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN)
#                                         on 9192, mTLS on 9193, SASL_SSL OAUTHBEARER on
#                                         9194, ACLs enforced; prints how to connect
#
# Environment: KAFKA_VERSION (the broker's version, default 3.9.1; 3.x or 4.x: its jars
# go to .kafka-libs/<version>, a node directory is started only by the version that
# formatted it), KAFKA_HOME_DIR (state, default <repo>/.kafka), KAFKA_PORT (9092),
# KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), KAFKA_CLUSTER_PORTS (broker ports of the three
# cluster nodes, comma-separated, default 19092,29092,39092; each controller listens on
# its broker port + 1), KAFKA_READY_TIMEOUT (seconds, 90). The secure node:
# KAFKA_SECURE_PORTS (SASL_SSL,mTLS,OAUTHBEARER,controller; default 9192,9193,9194,9195),
# KAFKA_SECURE_USERS (principals given SCRAM and PLAIN passwords and client
# certificates; default "admin runstream"; admin is the super user),
# KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS (how long the first member of an empty group
# waits for others: 0 on the single and secure nodes, for quick tests; Kafka's own
# default of 3000 on the cluster, which stands for an operator's platform),
# KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS (the smallest session timeout a group member may ask
# for; Kafka's default 6000; docs/operations.md's fast failover lowers it).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
home=${KAFKA_HOME_DIR:-$root/.kafka}
kafka_version=${KAFKA_VERSION:-3.9.1}
ready_timeout=${KAFKA_READY_TIMEOUT:-90}
group_delay=${KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS:-0}
min_session=${KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS:-6000}

die() { echo "kafka.sh: $*" >&2; exit 1; }

[[ "$kafka_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "KAFKA_VERSION must be X.Y.Z, got '$kafka_version'"
kafka_major=${kafka_version%%.*}
case "$kafka_major" in 3 | 4) ;; *) die "KAFKA_VERSION $kafka_version: only Kafka 3.x and 4.x are supported" ;; esac
libs=$root/.kafka-libs/$kafka_version

jars() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || die "mvn not found: Maven is needed to resolve the Kafka jars"
  command -v java >/dev/null || die "java not found: Java 17 is needed to run the broker"
  rm -rf "$libs"
  # The logging backend follows the major version (profiles kafka3, kafka4 in the POM).
  mvn -B -q -f "$root/scripts/kafka/pom.xml" -P "kafka$kafka_major" -Dkafka.version="$kafka_version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs" >&2
  touch "$libs/.complete"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

java_opts() { # <node dir> <heap> <gc>: sets JAVA_OPTS_ARR
  # Kafka 3.x logs through reload4j (log4j 1 configuration), 4.x through log4j2.
  local logging=-Dlog4j.configuration="file:$root/scripts/kafka/log4j.properties"
  [ "$kafka_major" -ge 4 ] && logging=-Dlog4j2.configurationFile="file:$root/scripts/kafka/log4j2.properties"
  JAVA_OPTS_ARR=("-Xms$2" "-Xmx$2" "$3" -Dkafka.logs.dir="$1/logs" "$logging" -cp "$libs/*")
}

write_props() { # <node dir> <node id> <port> <controller port> <voters> <extra>
  write_node_props "$1" "$2" "$5" \
"listeners=PLAINTEXT://127.0.0.1:$3,CONTROLLER://127.0.0.1:$4
advertised.listeners=PLAINTEXT://127.0.0.1:$3
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
$6"
}

write_node_props() { # <node dir> <node id> <voters> <listeners and extra settings>
  local dir=$1
  mkdir -p "$dir/data" "$dir/logs"
  cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=$2
controller.quorum.voters=$3
log.dirs=$dir/data
auto.create.topics.enable=false
group.initial.rebalance.delay.ms=$group_delay
group.min.session.timeout.ms=$min_session
log.cleaner.dedupe.buffer.size=2097152
log.cleaner.backoff.ms=1000
num.network.threads=2
num.io.threads=2
background.threads=2
num.partitions=1
$4
PROPS
}

format_once() { # <node dir> <cluster id> [StorageTool format options...]
  local dir=$1 id=$2
  shift 2
  if [ ! -f "$dir/data/meta.properties" ]; then
    java_opts "$dir" 256m -XX:+UseSerialGC
    java "${JAVA_OPTS_ARR[@]}" kafka.tools.StorageTool format \
      -t "$id" -c "$dir/server.properties" "$@" >"$dir/logs/format.out" 2>&1 \
      || { cat "$dir/logs/format.out" >&2; die "formatting $dir failed"; }
    echo "$kafka_version" >"$dir/kafka.version"
  fi
  check_version "$dir"
}

check_version() { # <node dir>: data formatted by another version is not started with this one
  local formatted
  [ -f "$1/kafka.version" ] || return 0 # formatted before versions were recorded: 3.9
  formatted=$(cat "$1/kafka.version")
  [ "$formatted" = "$kafka_version" ] \
    || die "$1 holds Kafka $formatted data; KAFKA_VERSION is $kafka_version: use another KAFKA_HOME_DIR, or remove it"
}

launch() { # <node dir> <heap> <gc>
  local dir=$1
  java_opts "$dir" "$2" "$3"
  nohup java "${JAVA_OPTS_ARR[@]}" kafka.Kafka "$dir/server.properties" \
    >"$dir/logs/broker.out" 2>&1 </dev/null &
  echo $! >"$dir/broker.pid"
}

wait_ready() { # <node dir> <port>
  local deadline=$((SECONDS + ready_timeout))
  until port_open "$2"; do
    if ! pid_alive "$1/broker.pid"; then
      tail -n 50 "$1/logs/broker.out" >&2; die "broker in $1 exited during start"
    fi
    if [ $SECONDS -ge $deadline ]; then
      tail -n 50 "$1/logs/broker.out" >&2; die "broker in $1 not ready on port $2 after ${ready_timeout}s"
    fi
    sleep 0.5
  done
}

stop_dirs() { # <node dir>... : SIGTERM all together, then SIGKILL stragglers
  local pids=() d
  for d in "$@"; do
    if pid_alive "$d/broker.pid"; then pids+=("$(cat "$d/broker.pid")"); fi
  done
  if [ ${#pids[@]} -gt 0 ]; then
    kill -TERM "${pids[@]}" 2>/dev/null || true
    local deadline=$((SECONDS + 30)) p alive
    while :; do
      alive=()
      for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive+=("$p"); done
      [ ${#alive[@]} -eq 0 ] && break
      if [ $SECONDS -ge $deadline ]; then kill -KILL "${alive[@]}" 2>/dev/null || true; break; fi
      sleep 0.5
    done
  fi
  for d in "$@"; do rm -f "$d/broker.pid"; done
}

single_port=${KAFKA_PORT:-9092}
single_cport=${KAFKA_CONTROLLER_PORT:-$((single_port + 1))}
single_dir=$home/single

start_single() {
  check_version "$single_dir"
  if pid_alive "$single_dir/broker.pid" && port_open "$single_port"; then
    echo "kafka: already running on 127.0.0.1:$single_port (pid $(cat "$single_dir/broker.pid"))"
    return 0
  fi
  port_open "$single_port" && die "port $single_port is taken by a process this script did not start"
  jars
  write_props "$single_dir" 1 "$single_port" "$single_cport" "1@127.0.0.1:$single_cport" \
"offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1"
  [ -f "$single_dir/cluster.id" ] || new_cluster_id "$single_dir" >/dev/null
  format_once "$single_dir" "$(cat "$single_dir/cluster.id")"
  launch "$single_dir" 512m -XX:+UseG1GC
  wait_ready "$single_dir" "$single_port"
  echo "kafka: ready on 127.0.0.1:$single_port (pid $(cat "$single_dir/broker.pid"), data $single_dir)"
}

new_cluster_id() { # <dir>: generate and remember a cluster id
  mkdir -p "$1/logs"
  local id
  java_opts "$1" 128m -XX:+UseSerialGC
  id=$(java "${JAVA_OPTS_ARR[@]}" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -n 1)
  [ -n "$id" ] || die "could not generate a cluster id"
  echo "$id" >"$1/cluster.id"
  echo "$id"
}

cluster_dirs=("$home/cluster/node1" "$home/cluster/node2" "$home/cluster/node3")
IFS=, read -r -a cluster_ports <<<"${KAFKA_CLUSTER_PORTS:-19092,29092,39092}"
[ ${#cluster_ports[@]} -eq 3 ] || die "KAFKA_CLUSTER_PORTS needs three ports, got '${KAFKA_CLUSTER_PORTS:-}'"
cluster_list() { echo "127.0.0.1:${cluster_ports[0]},127.0.0.1:${cluster_ports[1]},127.0.0.1:${cluster_ports[2]}"; }

write_cluster_node() { # <node number 1-3>
  local i=$1 voters="" n
  for n in 1 2 3; do voters+="${voters:+,}$n@127.0.0.1:$((cluster_ports[n - 1] + 1))"; done
  # Controlled shutdown stays on (the default): a SIGTERM moves leadership away first,
  # as in an operator's rolling restart. A SIGKILL is the unclean loss of a broker.
  write_props "${cluster_dirs[$((i - 1))]}" "$i" "${cluster_ports[$((i - 1))]}" \
    "$((cluster_ports[i - 1] + 1))" "$voters" \
"default.replication.factor=3
min.insync.replicas=2
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2"
}

start_cluster() {
  local all=1 i
  group_delay=${KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS:-3000}
  for i in 1 2 3; do check_version "${cluster_dirs[$((i - 1))]}"; done
  for i in 1 2 3; do pid_alive "${cluster_dirs[$((i - 1))]}/broker.pid" || all=0; done
  if [ $all -eq 1 ]; then echo "kafka: cluster already running on $(cluster_list)"; return 0; fi
  stop_dirs "${cluster_dirs[@]}"
  jars
  mkdir -p "$home/cluster"
  [ -f "$home/cluster/cluster.id" ] || new_cluster_id "$home/cluster" >/dev/null
  local id
  id=$(cat "$home/cluster/cluster.id")
  for i in 1 2 3; do
    write_cluster_node "$i"
    format_once "${cluster_dirs[$((i - 1))]}" "$id"
  done
  # All three together: one alone waits for a quorum forever.
  for i in 1 2 3; do launch "${cluster_dirs[$((i - 1))]}" 384m -XX:+UseSerialGC; done
  for i in 1 2 3; do wait_ready "${cluster_dirs[$((i - 1))]}" "${cluster_ports[$((i - 1))]}"; done
  echo "kafka: cluster ready on $(cluster_list)"
}

node_cmd() { # <start|stop|kill> <node number>
  local action=$1 i=${2:-}
  case "$i" in 1 | 2 | 3) ;; *) die "node: expected a node number 1-3, got '$i'" ;; esac
  local dir=${cluster_dirs[$((i - 1))]} port=${cluster_ports[$((i - 1))]}
  [ -f "$dir/data/meta.properties" ] || die "node $i has no data in $dir: start the cluster first"
  case "$action" in
    start)
      if pid_alive "$dir/broker.pid"; then echo "kafka: node $i already running"; return 0; fi
      port_open "$port" && die "port $port is taken by a process this script did not start"
      check_version "$dir"
      launch "$dir" 384m -XX:+UseSerialGC
      wait_ready "$dir" "$port"
      echo "kafka: node $i ready on 127.0.0.1:$port (pid $(cat "$dir/broker.pid"))"
      ;;
    stop)
      stop_dirs "$dir"
      echo "kafka: node $i stopped"
      ;;
    kill)
      if pid_alive "$dir/broker.pid"; then
        local pid
        pid=$(cat "$dir/broker.pid")
        kill -KILL "$pid" 2>/dev/null || true
        while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
      fi
      rm -f "$dir/broker.pid"
      echo "kafka: node $i killed"
      ;;
    *) die "node: expected start, stop or kill, got '$action'" ;;
  esac
}

# The secured node lives in its own file; it uses the helpers above.
# shellcheck source=kafka/secure.sh
source "$root/scripts/kafka/secure.sh"

cmd=${1:-}
mode=${2:-}
case "$cmd:$mode" in
  jars:) jars ;;
  start:) start_single ;;
  start:--cluster) start_cluster ;;
  start:--secure) start_secure ;;
  stop:--secure) stop_dirs "$secure_dir"; echo "kafka: secure node stopped" ;;
  status:--secure) pid_alive "$secure_dir/broker.pid" && port_open "${secure_ports[0]}" ;;
  stop:) stop_dirs "$single_dir"; echo "kafka: stopped" ;;
  stop:--cluster) stop_dirs "${cluster_dirs[@]}"; echo "kafka: cluster stopped" ;;
  status:) pid_alive "$single_dir/broker.pid" && port_open "$single_port" ;;
  status:--cluster) for d in "${cluster_dirs[@]}"; do pid_alive "$d/broker.pid" || exit 1; done ;;
  node:start | node:stop | node:kill) node_cmd "$mode" "${3:-}" ;;
  *) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2; exit 2 ;;
esac
