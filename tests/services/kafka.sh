#!/usr/bin/env bash
# tests/services/kafka.sh — owns a real single-node Kafka broker (KRaft,
# broker+controller in one JVM) for e2e tests and benchmarks (DESIGN.md §9).
# The jars come from Maven Central (tests/services/kafka/pom.xml) and are
# cached; librdkafka's mock cluster is no substitute because it does not
# write transaction markers, so exactly-once can only be proven here.
#
# Usage: kafka.sh fetch              # resolve the jars into the cache
#        kafka.sh start  DIR         # env: KAFKA_PORT (default: a free port)
#        kafka.sh stop   DIR
#        kafka.sh status DIR
# Env:   SLUICE_CACHE   cache root (default $HOME/.cache/sluice); jars go to
#                       $SLUICE_CACHE/kafka-<version>/libs
#        KAFKA_VERSION  default: <kafka.version> in kafka/pom.xml
#        KAFKA_HEAP_OPTS (default -Xmx512m -Xms128m), KAFKA_JVM_OPTS (extra)
#
# fetch: `mvn dependency:copy-dependencies` into the cache; a no-op when the
#   cache is complete (marker file .complete).
# start: fetches if needed, writes DIR/server.properties and
#   DIR/log4j.properties (logs go to DIR/logs, never to the terminal),
#   formats DIR/data with kafka.tools.StorageTool on first use, starts
#   kafka.Kafka in the background and waits (90 s) until the port answers AND
#   a Metadata request returns this broker and an active controller. Writes
#   DIR/env.sh (KAFKA_BOOTSTRAP=127.0.0.1:<port>, KAFKA_PORT, KAFKA_DIR).
#   Running start on a DIR whose broker is already running REUSES it (note,
#   exit 0, env.sh kept). A stopped DIR restarts on its existing data.
# stop: SIGTERM (controlled shutdown), SIGKILL after 20 s; no-op if stopped.
set -euo pipefail
SLUICE_SCRIPT=kafka.sh
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { echo "usage: $0 fetch | $0 start|stop|status DIR" >&2; exit 2; }
[[ $# -ge 1 ]] || usage
CMD="$1"
case "$CMD" in
    fetch) [[ $# -eq 1 ]] || usage ;;
    start|stop|status) [[ $# -eq 2 ]] || usage ;;
    *) usage ;;
esac

POM="$SLUICE_SERVICES_DIR/kafka/pom.xml"
if [[ -z "${KAFKA_VERSION:-}" ]]; then
    KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n1)"
    [[ -n "$KAFKA_VERSION" ]] || die "cannot read <kafka.version> from $POM"
fi
CACHE_ROOT="${SLUICE_CACHE:-$HOME/.cache/sluice}"
KAFKA_HOME="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS="$KAFKA_HOME/libs"

do_fetch() {
    command -v java >/dev/null || die "java not found; run tests/services/deps.sh"
    maven_fetch "Kafka $KAFKA_VERSION" "$POM" "$KAFKA_HOME" "kafka_2.13-$KAFKA_VERSION.jar" \
        -Dkafka.version="$KAFKA_VERSION"
}

if [[ "$CMD" == fetch ]]; then do_fetch; exit 0; fi

if [[ "$CMD" != start && ! -d "$2" ]]; then
    log "$2 does not exist; nothing to do"; exit 0
fi
DIR="$(abs_dir "$2")"
PIDFILE="$DIR/kafka.pid"
PROPS="$DIR/server.properties"

broker_pid() {
    local pid
    if pid="$(read_pid "$PIDFILE")"; then echo "$pid"; return 0; fi
    # pid file lost: the JVM started with exactly this DIR's server.properties
    pid="$(pgrep -f -- "kafka\.Kafka $PROPS\$" | head -n1 || true)"
    pid_alive "$pid" && echo "$pid"
}

# metadata_probe PORT — one Kafka Metadata v1 request over a raw socket; true
# when the broker answers with itself (node 1 on PORT) and an active
# controller. Plain python3, so it works before the venv exists.
metadata_probe() {
    "$(sluice_python)" - "$1" <<'EOF' 2>/dev/null
import socket, struct, sys
port = int(sys.argv[1])
cid = b"sluice-probe"
# header v1: api_key=3 (Metadata), api_version=1, correlation_id, client_id
req = struct.pack(">hhih", 3, 1, 7, len(cid)) + cid + struct.pack(">i", -1)  # all topics
s = socket.create_connection(("127.0.0.1", port), timeout=3)
s.settimeout(3)
s.sendall(struct.pack(">i", len(req)) + req)
def recv(n):
    b = b""
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c: raise EOFError
        b += c
    return b
size, = struct.unpack(">i", recv(4))
buf = recv(size)
corr, nbrokers = struct.unpack_from(">ii", buf, 0)
off, brokers = 8, []
for _ in range(nbrokers):
    node, hl = struct.unpack_from(">ih", buf, off); off += 6
    host = buf[off:off + hl].decode(); off += hl
    bport, rl = struct.unpack_from(">ih", buf, off); off += 6
    off += max(rl, 0)
    brokers.append((node, host, bport))
controller, = struct.unpack_from(">i", buf, off)
ok = corr == 7 and (1, "127.0.0.1", port) in brokers and controller >= 0
sys.exit(0 if ok else 1)
EOF
}

do_stop() {
    local pid
    if ! pid="$(broker_pid)"; then
        log "not running in $DIR"
        rm -f "$PIDFILE"
        return 0
    fi
    log "stopping kafka (pid $pid)"
    stop_pid "$pid" 20 kafka
    rm -f "$PIDFILE"
    log "stopped"
}

do_status() {
    local pid
    if pid="$(broker_pid)"; then echo "running pid=$pid"; else echo "stopped"; return 3; fi
}

prop() { sed -n "s/^$1=//p" "$2" 2>/dev/null | head -n1; }

do_start() {
    local pid
    if pid="$(broker_pid)"; then
        [[ -s "$DIR/env.sh" ]] || die "kafka (pid $pid) runs in $DIR but $DIR/env.sh is missing; stop it first"
        log "already running in $DIR (pid $pid); reusing it (see $DIR/env.sh)"
        return 0
    fi
    command -v java >/dev/null || die "java not found; run tests/services/deps.sh"
    do_fetch

    local port="${KAFKA_PORT:-}" cport="" p
    # restart: keep the controller port of the existing quorum when possible
    if [[ -f "$DIR/.initialized" ]]; then
        cport="$(prop controller.quorum.voters "$PROPS" | sed -n 's/.*:\([0-9]*\)$/\1/p')"
        if [[ -n "$cport" ]] && port_in_use "$cport"; then cport=""; fi
    fi
    if [[ -z "$port" || -z "$cport" ]]; then
        { read -r p; [[ -n "$port" ]] || port="$p"; read -r p; [[ -n "$cport" ]] || cport="$p"; } < <(free_ports 2)
        if [[ "$port" == "$cport" ]]; then cport="$(free_ports 3 | grep -vx "$port" | head -n1)"; fi
    fi
    [[ "$port" =~ ^[0-9]+$ ]] || die "KAFKA_PORT must be a number, got '$port'"
    ! port_in_use "$port" || die "port $port on 127.0.0.1 is already in use"

    mkdir -p "$DIR/data" "$DIR/logs"
    cat >"$PROPS" <<EOF
# generated by tests/services/kafka.sh — single-node KRaft test broker
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DIR/data
num.partitions=1
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
delete.topic.enable=true
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=24
EOF
    cat >"$DIR/log4j.properties" <<'EOF'
# generated by tests/services/kafka.sh — everything into ${kafka.logs.dir}
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.kafka.authorizer.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.storage.internals.log=WARN
log4j.logger.kafka.log.LogCleaner=WARN
EOF
    cat >"$DIR/log4j-tools.properties" <<'EOF'
# generated by tests/services/kafka.sh — one-shot tools log to stderr
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF

    local heap="${KAFKA_HEAP_OPTS:--Xmx512m -Xms128m}"
    local -a jvm
    # shellcheck disable=SC2206  # word splitting of the option strings is intended
    jvm=($heap -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExplicitGCInvokesConcurrent
         -XX:-UsePerfData -Djava.awt.headless=true
         "-Dlog4j.configuration=file:$DIR/log4j.properties" "-Dkafka.logs.dir=$DIR/logs"
         ${KAFKA_JVM_OPTS:-} -cp "$LIBS/*")

    if [[ ! -f "$DIR/.initialized" ]]; then
        rm -rf "$DIR/data"; mkdir -p "$DIR/data"
        # a cluster id starting with "-" would be read by StorageTool as an option
        local cluster_id
        cluster_id="$("$(sluice_python)" -c 'import base64,uuid; print(next(i for i in iter(lambda: base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="), None) if not i.startswith("-")))')"
        log "formatting $DIR/data (cluster id $cluster_id)"
        # short-lived JVM: C1 only starts faster
        if ! java -Xmx256m -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
                "-Dlog4j.configuration=file:$DIR/log4j-tools.properties" \
                -cp "$LIBS/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" \
                </dev/null >"$DIR/format.log" 2>&1; then
            show_log "$DIR/format.log"
            die "kafka.tools.StorageTool format failed"
        fi
        touch "$DIR/.initialized"
    fi

    log "starting kafka $KAFKA_VERSION on 127.0.0.1:$port (controller $cport, dir $DIR)"
    : >"$DIR/kafka.out"
    setsid java "${jvm[@]}" kafka.Kafka "$PROPS" </dev/null >>"$DIR/kafka.out" 2>&1 &
    pid=$!
    echo "$pid" >"$PIDFILE"
    local start=$SECONDS
    if ! wait_for_port 127.0.0.1 "$port" 90 "$pid" ||
       ! wait_until $((90 - (SECONDS - start))) "broker metadata on port $port" "$pid" metadata_probe "$port"; then
        show_log "$DIR/kafka.out" 20; show_log "$DIR/logs/server.log"
        stop_pid "$pid" 10 kafka
        rm -f "$PIDFILE"
        die "kafka did not become ready (waited $((SECONDS - start))s of 90; logs in $DIR)"
    fi
    write_env "$DIR/env.sh" \
        KAFKA_BOOTSTRAP="127.0.0.1:$port" KAFKA_PORT="$port" KAFKA_DIR="$DIR"
    log "ready after $((SECONDS - start))s: 127.0.0.1:$port (pid $pid); env in $DIR/env.sh"
}

case "$CMD" in
    start) do_start ;;
    stop) do_stop ;;
    status) do_status ;;
esac
