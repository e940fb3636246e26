#!/usr/bin/env bash
# Brings up the local stack without Docker: Apache Kafka (KRaft, single node) and Apicurio
# Registry from Maven Central jars, and the machine's PostgreSQL and Redis.
#
#   stack/stack.sh up|down|status|logs
#   stack/stack.sh up|down|status --brokers 3     a 3-node KRaft cluster instead of the single broker
#   stack/stack.sh broker <1|2|3> start|kill      one node of the 3-node cluster (kill = kill -9)
#
# The 3-node cluster has its own ports (brokers 19092/19094/19096, controllers 19093/19095/19097)
# and data dirs (kafka3/node-N), so it runs beside the single broker on 9092; point tally at it with
# TALLY_KAFKA_BROKERS=127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096. `down --brokers 3` stops
# only the cluster.
#
# Idempotent: `up` starts only what is not already serving; `down` stops only what `up` started
# (PostgreSQL and Redis that were already running are left alone). All state and logs live
# under $TALLY_STACK_DIR (default: <project>/.stack).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STACK_DIR="${TALLY_STACK_DIR:-$ROOT/.stack}"
KAFKA_VERSION=4.1.2
APICURIO_VERSION=3.0.9
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
REGISTRY_PORT="${TALLY_REGISTRY_PORT:-8081}"
KAFKA_HEAP="${TALLY_KAFKA_HEAP:--Xms256m -Xmx768m}"
REGISTRY_HEAP="${TALLY_REGISTRY_HEAP:--Xms128m -Xmx384m}"

KAFKA_DIR="$STACK_DIR/kafka"
KAFKA3_DIR="$STACK_DIR/kafka3"
KAFKA3_NODES=(1 2 3)
KAFKA3_HEAP="${TALLY_KAFKA3_HEAP:--Xms192m -Xmx512m}"
kafka3_port() { echo $((19090 + 2 * $1)); }            # 19092 19094 19096
kafka3_controller_port() { echo $((19091 + 2 * $1)); } # 19093 19095 19097
KAFKA3_BOOTSTRAP="127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096"
APICURIO_DIR="$STACK_DIR/apicurio"
PIDS="$STACK_DIR/pids"
LOGS="$STACK_DIR/logs"
STARTED="$STACK_DIR/started-by-stack"

say() { printf '[stack] %s\n' "$*"; }
die() { printf '[stack] ERROR: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # wait_for <what> <seconds> <command...>
  local what=$1 secs=$2; shift 2
  local i=0
  until "$@" >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge "$secs" ]; then return 1; fi
    if [ $((i % 10)) -eq 0 ]; then say "  still waiting for $what (${i}s)"; fi
    sleep 1
  done
}

pid_alive() { [ -f "$PIDS/$1.pid" ] && kill -0 "$(cat "$PIDS/$1.pid")" 2>/dev/null; }

as_postgres() { # run psql as the database superuser, whichever way this machine allows
  if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null && id postgres >/dev/null 2>&1; then
    (cd / && runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qAt "$@")
  else
    psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -qAt "$@"
  fi
}

apt_install() {
  command -v apt-get >/dev/null || die "$* is missing and apt-get is not available: install it by hand"
  say "installing $* from Debian packages"
  if [ ! -f "$STACK_DIR/.apt-updated" ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq && touch "$STACK_DIR/.apt-updated"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# ---------------------------------------------------------------- fetch
fetch_jars() {
  command -v java >/dev/null || die "java (17+) is required"
  command -v mvn >/dev/null || die "maven is required to fetch Kafka and Apicurio from Maven Central"
  if [ ! -f "$KAFKA_DIR/libs/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    say "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central (first run only)"
    rm -rf "$KAFKA_DIR/libs"
    mvn -B -q -f "$ROOT/stack/pom.xml" dependency:copy-dependencies -DoutputDirectory="$KAFKA_DIR/libs" \
      >"$LOGS/mvn-kafka.log" 2>&1 || { tail -20 "$LOGS/mvn-kafka.log"; die "could not fetch Kafka jars"; }
  fi
  # A registry already serving (the shared one, another stack dir's) needs no jar here.
  if [ ! -f "$APICURIO_DIR/apicurio-registry-app-$APICURIO_VERSION-runner.jar" ] && ! registry_ready; then
    say "fetching Apicurio Registry $APICURIO_VERSION from Maven Central (first run only)"
    rm -rf "$APICURIO_DIR" && mkdir -p "$APICURIO_DIR"
    # dependency:copy, not a pom dependency: the zip's parent pom is not published on Central.
    mvn -B -q dependency:copy -Dartifact="io.apicurio:apicurio-registry-app:$APICURIO_VERSION:zip:all" \
      -DoutputDirectory="$APICURIO_DIR" >"$LOGS/mvn-apicurio.log" 2>&1 \
      || { tail -20 "$LOGS/mvn-apicurio.log"; die "could not fetch Apicurio Registry"; }
    (cd "$APICURIO_DIR" && unzip -q -o "apicurio-registry-app-$APICURIO_VERSION-all.zip" && rm -f ./*.zip)
  fi
}

# ---------------------------------------------------------------- PostgreSQL
postgres_up() {
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    say "postgres: already serving on 127.0.0.1:5432"
  else
    if ! command -v pg_ctlcluster >/dev/null; then apt_install postgresql postgresql-client; fi
    local ver; ver=$(ls /etc/postgresql | sort -V | tail -1)
    say "postgres: starting cluster $ver/main"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main start 9>&- 2>/dev/null || pg_ctlcluster "$ver" main start 9>&-
    touch "$STARTED/postgres"
    wait_for postgres 30 pg_isready -h 127.0.0.1 -p 5432 || die "postgres did not start"
  fi
  # Roles and databases (idempotent): stack/postgres-init.sql, shared with compose.yaml.
  as_postgres <"$ROOT/stack/postgres-init.sql" >/dev/null
}

# ---------------------------------------------------------------- Redis
redis_up() {
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then
    say "redis: already serving on 127.0.0.1:6379"
    return
  fi
  command -v redis-server >/dev/null || apt_install redis-server
  say "redis: starting"
  mkdir -p "$STACK_DIR/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir "$STACK_DIR/redis" --logfile "$LOGS/redis.log" --pidfile "$PIDS/redis.pid" 9>&-
  touch "$STARTED/redis"
  wait_for redis 20 sh -c 'redis-cli -h 127.0.0.1 -p 6379 ping | grep -q PONG' || die "redis did not start"
}

# ---------------------------------------------------------------- Kafka
kafka_config() {
  mkdir -p "$KAFKA_DIR/config" "$KAFKA_DIR/data"
  cat >"$KAFKA_DIR/config/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=-1
message.max.bytes=10485760
EOF
  cat >"$KAFKA_DIR/config/log4j2.properties" <<EOF
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = $LOGS/kafka-server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
EOF
}

kafka_java() { java -cp "$KAFKA_DIR/libs/*" -Dlog4j2.configurationFile="$KAFKA_DIR/config/log4j2.properties" "$@"; }

kafka_serves_metadata() { # [port]
  local port=${1:-$KAFKA_PORT}
  port_open "$port" && kafka_java org.apache.kafka.tools.TopicCommand \
    --bootstrap-server "127.0.0.1:$port" --list >/dev/null 2>&1
}

kafka_up() {
  if port_open "$KAFKA_PORT"; then
    say "kafka: already serving on 127.0.0.1:$KAFKA_PORT"
    return
  fi
  kafka_config
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    local cluster_id; cluster_id=$(kafka_java kafka.tools.StorageTool random-uuid)
    say "kafka: formatting KRaft storage (cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_DIR/config/server.properties" \
      >"$LOGS/kafka-format.log" 2>&1 || { cat "$LOGS/kafka-format.log"; die "kafka storage format failed"; }
  fi
  say "kafka: starting $KAFKA_VERSION (KRaft broker+controller) on 127.0.0.1:$KAFKA_PORT"
  # shellcheck disable=SC2086
  nohup java $KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$KAFKA_DIR/config/log4j2.properties" \
    -cp "$KAFKA_DIR/libs/*" kafka.Kafka "$KAFKA_DIR/config/server.properties" \
    >"$LOGS/kafka.out" 2>&1 9>&- &
  echo $! >"$PIDS/kafka.pid"
  touch "$STARTED/kafka"
  wait_for "kafka metadata" 90 kafka_serves_metadata || { tail -30 "$LOGS/kafka-server.log" "$LOGS/kafka.out"; die "kafka did not start"; }
  say "kafka: serving metadata"
}

# ---------------------------------------------------------------- Kafka, 3 nodes (--brokers 3)
# Three KRaft nodes, each broker+controller, one quorum of three voters. Topics are replicated
# 3 times with min.insync.replicas 2 by default, so one node may die without stopping writes.
kafka3_config() { # kafka3_config <node>
  local n=$1 dir="$KAFKA3_DIR/node-$1"
  mkdir -p "$dir/data"
  local voters="" i
  for i in "${KAFKA3_NODES[@]}"; do voters+="${voters:+,}$i@127.0.0.1:$(kafka3_controller_port "$i")"; done
  cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=$n
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$(kafka3_port "$n"),CONTROLLER://127.0.0.1:$(kafka3_controller_port "$n")
advertised.listeners=PLAINTEXT://127.0.0.1:$(kafka3_port "$n")
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
default.replication.factor=3
min.insync.replicas=2
auto.create.topics.enable=false
offsets.topic.replication.factor=3
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
share.coordinator.state.topic.replication.factor=3
share.coordinator.state.topic.min.isr=2
group.initial.rebalance.delay.ms=0
# Lets a consumer ask for a session below the 6 s default (TALLY_AGGREGATE_SESSION_TIMEOUT_MS):
# how fast a killed aggregator's partitions are handed over (bench chaos measures it).
group.min.session.timeout.ms=1000
log.retention.hours=-1
message.max.bytes=10485760
EOF
  sed -e "s#$LOGS/kafka-server.log#$LOGS/kafka3-node-$n.log#" "$KAFKA_DIR/config/log4j2.properties" >"$dir/log4j2.properties"
}

kafka3_start_node() { # kafka3_start_node <node>: format once, start, do not wait
  local n=$1 dir="$KAFKA3_DIR/node-$1"
  if pid_alive "kafka3-$n"; then say "kafka3 node $n: already running (pid $(cat "$PIDS/kafka3-$n.pid"))"; return; fi
  port_open "$(kafka3_port "$n")" && die "port $(kafka3_port "$n") is taken by a process this stack dir did not start (another checkout's 3-node cluster? stop it there: stack/stack.sh down --brokers 3)"
  kafka3_config "$n"
  if [ ! -f "$dir/data/meta.properties" ]; then
    kafka_java kafka.tools.StorageTool format -t "$(cat "$KAFKA3_DIR/cluster-id")" -c "$dir/server.properties" \
      >"$LOGS/kafka3-format-$n.log" 2>&1 || { cat "$LOGS/kafka3-format-$n.log"; die "kafka3 node $n: storage format failed"; }
  fi
  say "kafka3 node $n: starting on 127.0.0.1:$(kafka3_port "$n") (controller $(kafka3_controller_port "$n"))"
  # shellcheck disable=SC2086
  nohup java $KAFKA3_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$dir/log4j2.properties" \
    -cp "$KAFKA_DIR/libs/*" kafka.Kafka "$dir/server.properties" \
    >"$LOGS/kafka3-node-$n.out" 2>&1 9>&- &
  echo $! >"$PIDS/kafka3-$n.pid"
}

kafka3_up() {
  kafka_config # writes the log4j template the nodes derive theirs from
  mkdir -p "$KAFKA3_DIR"
  [ -f "$KAFKA3_DIR/cluster-id" ] || kafka_java kafka.tools.StorageTool random-uuid >"$KAFKA3_DIR/cluster-id"
  local n
  # All three first: the quorum needs two voters before any node serves metadata.
  for n in "${KAFKA3_NODES[@]}"; do kafka3_start_node "$n"; done
  for n in "${KAFKA3_NODES[@]}"; do
    wait_for "kafka3 node $n metadata" 120 kafka_serves_metadata "$(kafka3_port "$n")" \
      || { tail -30 "$LOGS/kafka3-node-$n.log" "$LOGS/kafka3-node-$n.out"; die "kafka3 node $n did not start"; }
  done
  say "kafka3: 3 nodes serving; TALLY_KAFKA_BROKERS=$KAFKA3_BOOTSTRAP"
}

kafka3_down() {
  local n
  for n in "${KAFKA3_NODES[@]}"; do stop_pid "kafka3-$n"; done
}

cmd_broker() { # broker <node> start|kill
  local n=${1:-} action=${2:-}
  [[ " ${KAFKA3_NODES[*]} " == *" $n "* ]] || die "usage: stack/stack.sh broker <1|2|3> start|kill"
  mkdir -p "$PIDS" "$LOGS"
  case "$action" in
    kill)
      # A drill that kills nothing must not pass for one: the node must be this stack dir's.
      pid_alive "kafka3-$n" || die "kafka3 node $n is not running from $STACK_DIR (started by another stack dir, or down)"
      say "kafka3 node $n: kill -9 $(cat "$PIDS/kafka3-$n.pid")"
      kill -9 "$(cat "$PIDS/kafka3-$n.pid")"
      rm -f "$PIDS/kafka3-$n.pid" ;;
    start)
      kafka3_start_node "$n"
      wait_for "kafka3 node $n metadata" 120 kafka_serves_metadata "$(kafka3_port "$n")" || die "kafka3 node $n did not start"
      say "kafka3 node $n: serving" ;;
    *) die "usage: stack/stack.sh broker <1|2|3> start|kill" ;;
  esac
}

# ---------------------------------------------------------------- Apicurio Registry
registry_ready() { curl -sf "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7/subjects" >/dev/null; }

registry_up() {
  if registry_ready; then
    say "registry: already serving on 127.0.0.1:$REGISTRY_PORT"
    return
  fi
  port_open "$REGISTRY_PORT" && die "port $REGISTRY_PORT is taken by something that is not a schema registry"
  say "registry: starting Apicurio Registry $APICURIO_VERSION on 127.0.0.1:$REGISTRY_PORT (storage: PostgreSQL db apicurio)"
  # Schemas are kept in PostgreSQL so schema ids survive restarts: records in `votes` carry them forever.
  # shellcheck disable=SC2086
  nohup java $REGISTRY_HEAP -XX:+UseSerialGC \
    -Dquarkus.http.host=127.0.0.1 -Dquarkus.http.port="$REGISTRY_PORT" \
    -Dapicurio.storage.kind=sql -Dapicurio.storage.sql.kind=postgresql \
    -Dapicurio.datasource.url="jdbc:postgresql://127.0.0.1:5432/apicurio" \
    -Dapicurio.datasource.username=apicurio -Dapicurio.datasource.password=apicurio \
    -Dapicurio.datasource.jdbc.initial-size=2 -Dapicurio.datasource.jdbc.min-size=2 \
    -Dapicurio.datasource.jdbc.max-size=10 \
    -Dapicurio.ccompat.max-subjects=1000000 \
    -Dquarkus.log.level=WARN -Dquarkus.log.category.\"io.apicurio\".level=INFO \
    -jar "$APICURIO_DIR/apicurio-registry-app-$APICURIO_VERSION-runner.jar" \
    >"$LOGS/apicurio.log" 2>&1 9>&- &
  echo $! >"$PIDS/apicurio.pid"
  touch "$STARTED/apicurio"
  wait_for "registry /apis/ccompat/v7/subjects" 120 registry_ready || { tail -30 "$LOGS/apicurio.log"; die "registry did not start"; }
  say "registry: serving /apis/ccompat/v7"
}

# ---------------------------------------------------------------- commands
stop_pid() { # stop_pid <name>
  local name=$1
  if pid_alive "$name"; then
    local pid; pid=$(cat "$PIDS/$name.pid")
    say "$name: stopping (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDS/$name.pid" "$STARTED/$name"
}

cmd_up() {
  mkdir -p "$PIDS" "$LOGS" "$STARTED"
  fetch_jars
  postgres_up
  redis_up
  local kafka="127.0.0.1:$KAFKA_PORT"
  if [ "$BROKERS" = 3 ]; then kafka3_up; kafka=$KAFKA3_BOOTSTRAP; else kafka_up; fi
  registry_up
  say "up: kafka $kafka, registry http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7, postgres 127.0.0.1:5432, redis 127.0.0.1:6379"
}

cmd_down() {
  mkdir -p "$PIDS" "$STARTED"
  if [ "$BROKERS" = 3 ]; then kafka3_down; say "down: the 3-node cluster (the rest of the stack is left running)"; return; fi
  stop_pid apicurio
  stop_pid kafka
  if [ -f "$STARTED/redis" ]; then
    say "redis: stopping (started by this script)"
    redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
    rm -f "$STARTED/redis"
  fi
  if [ -f "$STARTED/postgres" ]; then
    local ver; ver=$(ls /etc/postgresql | sort -V | tail -1)
    say "postgres: stopping cluster $ver/main (started by this script)"
    pg_ctlcluster --skip-systemctl-redirect "$ver" main stop 2>/dev/null || true
    rm -f "$STARTED/postgres"
  fi
  say "down"
}

cmd_status() {
  local rc=0
  line() { printf '%-10s %-5s %s\n' "$1" "$2" "$3"; }
  if [ "$BROKERS" = 3 ]; then
    local n
    for n in "${KAFKA3_NODES[@]}"; do
      if kafka_serves_metadata "$(kafka3_port "$n")"; then line "kafka3-$n" up "127.0.0.1:$(kafka3_port "$n")"; else line "kafka3-$n" down "127.0.0.1:$(kafka3_port "$n")"; rc=1; fi
    done
  elif kafka_serves_metadata; then line kafka up "127.0.0.1:$KAFKA_PORT"; else line kafka down "127.0.0.1:$KAFKA_PORT"; rc=1; fi
  if registry_ready; then line registry up "http://127.0.0.1:$REGISTRY_PORT/apis/ccompat/v7"; else line registry down "port $REGISTRY_PORT"; rc=1; fi
  if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then line postgres up 127.0.0.1:5432; else line postgres down 127.0.0.1:5432; rc=1; fi
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then line redis up 127.0.0.1:6379; else line redis down 127.0.0.1:6379; rc=1; fi
  return $rc
}

# One `up`/`down` at a time: concurrent runs (parallel test jobs) must not start two brokers.
with_lock() {
  mkdir -p "$STACK_DIR"
  exec 9>"$STACK_DIR/.lock"
  flock -w 300 9 || die "another stack command holds $STACK_DIR/.lock"
  "$@"
}

BROKERS=1
command=${1:-}
[ $# -gt 0 ] && shift
if [ "$command" != broker ]; then
  while [ $# -gt 0 ]; do
    case "$1" in
      --brokers) BROKERS=${2:-}; shift; [ $# -gt 0 ] && shift ;;
      --brokers=*) BROKERS=${1#--brokers=}; shift ;;
      *) die "unknown option $1" ;;
    esac
  done
  [ "$BROKERS" = 1 ] || [ "$BROKERS" = 3 ] || die "--brokers must be 1 or 3"
fi

case "$command" in
  up) with_lock cmd_up ;;
  down) with_lock cmd_down ;;
  status) cmd_status ;;
  broker) with_lock cmd_broker "$@" ;;
  logs) ls -1 "$LOGS" ;;
  *) echo "usage: stack/stack.sh up|down|status [--brokers 1|3] | broker <1|2|3> start|kill | logs"; exit 2 ;;
esac
