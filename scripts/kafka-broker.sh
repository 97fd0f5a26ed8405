#!/usr/bin/env bash
# kafka-broker.sh — a real single-node Apache Kafka 4.x (KRaft, combined broker+controller)
# for the kafka-security-exporter tests. Jars come from Maven Central via `mvn`.
#
# Usage: scripts/kafka-broker.sh <command> [args…]
#   fetch                 download the Kafka jars into the cache (no-op when already cached)
#   start                 fetch if needed, format a fresh state dir, start the broker on
#                         127.0.0.1, wait until it answers an authenticated request, then print
#                         `export KSE_KAFKA_…=…` lines on stdout (also written to <state>/env).
#                         Idempotent: a healthy broker already started by this script is reused.
#   stop                  SIGTERM, wait (KSE_KAFKA_STOP_TIMEOUT_SECS), then SIGKILL. Logs are kept.
#   restart               stop the running broker gracefully and start it again on the SAME state
#                         dir (no format: topics, offsets, ACLs, SCRAM users are kept), wait until
#                         it answers as `start` does and print the same export lines (new PID).
#                         Also brings back a stopped broker whose state dir is still there.
#   status                exit 0 and print facts if running; exit 3 if stopped
#   env                   print the export lines of the running broker (eval "$(… env)")
#   logs-dir              print the broker's log directory (server.log, kafka-authorizer.log, …)
#   admin <Class> args…   run a Kafka tool class as the super user admin; --bootstrap-server and
#                         --command-config (or --producer.config/--consumer.config for the console
#                         clients) are added unless given, e.g.
#                           admin org.apache.kafka.tools.TopicCommand --create --topic orders
#                           admin org.apache.kafka.tools.AclCommand --add --allow-principal User:alice --operation Write --topic orders
#                           admin kafka.admin.ConfigCommand --alter --entity-type users --entity-name carol \
#                                 --add-config 'SCRAM-SHA-256=[password=carol-secret]'
#   run <Class> args…     run any class on the Kafka classpath, nothing added (use the client
#                         configs $KSE_KAFKA_ALICE_CONFIG / $KSE_KAFKA_BOB_CONFIG to act as a user)
#
# Users (SCRAM-SHA-256, created at format time): admin/admin-secret (super user),
# alice/alice-secret, bob/bob-secret. Only SCRAM-SHA-256 is enabled on the client listener.
#
# Environment (all optional):
#   KSE_CACHE_DIR                   jar cache root              (default <repo>/.cache)
#   KSE_KAFKA_STATE_DIR             broker state dir            (default <repo>/.cache/kafka-run)
#   KSE_KAFKA_VERSION               Kafka version               (default: <kafka.version> of scripts/kafka/pom.xml)
#   KSE_KAFKA_PORT                  SASL_PLAINTEXT listener     (default 19092)
#   KSE_KAFKA_CONTROLLER_PORT       controller listener         (default 19093)
#   KSE_KAFKA_MAX_LIFETIME_SECS     broker is killed after this (default 3600)
#   KSE_KAFKA_START_TIMEOUT_SECS    readiness wait              (default 90)
#   KSE_KAFKA_STOP_TIMEOUT_SECS     graceful stop wait          (default 30)
#   KSE_KAFKA_HEAP                  broker -Xmx                 (default 512m)
#   KSE_KAFKA_AUTHORIZER_LOG_LEVEL  kafka.authorizer.logger     (default INFO; DEBUG logs allowed ops)
#   KSE_KAFKA_REQUEST_LOG_LEVEL     kafka.request.logger        (default WARN; DEBUG logs requests)
#   KSE_KAFKA_LOG_ROLL_SECS         roll every log file every N seconds (1-59) instead of hourly,
#                                   renaming to <file>.yyyy-MM-dd-HH-mm-ss, so tests see real
#                                   log4j2 rename rotations (default: unset = stock hourly rollover)
#   KSE_MVN_TIMEOUT_SECS            bound on the mvn download   (default 900)
#
# State dir layout: data/ (log.dirs), logs/ (kafka.logs.dir), config/ (server.properties,
# log4j2.xml, admin|alice|bob.properties), broker.out (JVM stdout/stderr), broker.pid, env.
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
KAFKA_CONF_DIR="$SCRIPT_DIR/kafka"
POM="$KAFKA_CONF_DIR/pom.xml"

pom_kafka_version() {
  sed -n 's:.*<kafka\.version>\([^<]*\)</kafka\.version>.*:\1:p' "$POM" | head -n 1
}

[[ -f "$POM" ]] || die "missing $POM"
KAFKA_VERSION="${KSE_KAFKA_VERSION:-$(pom_kafka_version)}"
[[ -n "$KAFKA_VERSION" ]] || die "cannot read <kafka.version> from $POM"
CACHE_DIR="${KSE_CACHE_DIR:-$REPO_DIR/.cache}"
LIBS_DIR="$CACHE_DIR/kafka-$KAFKA_VERSION/libs"
LIBS_MARKER="$LIBS_DIR/.kse-complete"
STATE_DIR="${KSE_KAFKA_STATE_DIR:-$REPO_DIR/.cache/kafka-run}"
DATA_DIR="$STATE_DIR/data"
LOGS_DIR="$STATE_DIR/logs"
CONF_DIR="$STATE_DIR/config"
PID_FILE="$STATE_DIR/broker.pid"
WRAPPER_PID_FILE="$STATE_DIR/wrapper.pid"
OUT_FILE="$STATE_DIR/broker.out"
ENV_FILE="$STATE_DIR/env"
SERVER_PROPS="$CONF_DIR/server.properties"
ADMIN_CONFIG="$CONF_DIR/admin.properties"

HOST=127.0.0.1
PORT="${KSE_KAFKA_PORT:-19092}"
CONTROLLER_PORT="${KSE_KAFKA_CONTROLLER_PORT:-19093}"
BOOTSTRAP="$HOST:$PORT"
MAX_LIFETIME="${KSE_KAFKA_MAX_LIFETIME_SECS:-3600}"
START_TIMEOUT="${KSE_KAFKA_START_TIMEOUT_SECS:-90}"
STOP_TIMEOUT="${KSE_KAFKA_STOP_TIMEOUT_SECS:-30}"
MVN_TIMEOUT="${KSE_MVN_TIMEOUT_SECS:-900}"
HEAP="${KSE_KAFKA_HEAP:-512m}"
AUTHORIZER_LOG_LEVEL="${KSE_KAFKA_AUTHORIZER_LOG_LEVEL:-INFO}"
REQUEST_LOG_LEVEL="${KSE_KAFKA_REQUEST_LOG_LEVEL:-WARN}"
LOG_ROLL_SECS="${KSE_KAFKA_LOG_ROLL_SECS:-}"

MECHANISM=SCRAM-SHA-256
SCRAM_LOGIN_MODULE=org.apache.kafka.common.security.scram.ScramLoginModule
USERS=(admin alice bob)
declare -A PASSWORDS=([admin]=admin-secret [alice]=alice-secret [bob]=bob-secret)
# static PLAIN user of the controller listener (SCRAM is not possible there); a super user
CONTROLLER_USER=controller
CONTROLLER_PASSWORD=controller-secret

# ---------------------------------------------------------------------------- checks

validate_settings() {
  local v
  for v in PORT CONTROLLER_PORT; do
    if ! is_uint "${!v}" || (( ${!v} < 1 || ${!v} > 65535 )); then die "invalid port $v=${!v}"; fi
  done
  [[ "$PORT" != "$CONTROLLER_PORT" ]] || die "KSE_KAFKA_PORT and KSE_KAFKA_CONTROLLER_PORT must differ (both $PORT)"
  require_secs MAX_LIFETIME START_TIMEOUT STOP_TIMEOUT MVN_TIMEOUT
  [[ "$HEAP" =~ ^[0-9]+[kKmMgG]?$ ]] || die "invalid KSE_KAFKA_HEAP=$HEAP (e.g. 512m)"
  if [[ -n "$LOG_ROLL_SECS" ]] && { ! is_uint "$LOG_ROLL_SECS" || (( LOG_ROLL_SECS < 1 || LOG_ROLL_SECS > 59 )); }; then
    die "invalid KSE_KAFKA_LOG_ROLL_SECS=$LOG_ROLL_SECS (1-59 seconds)"
  fi
  for v in AUTHORIZER_LOG_LEVEL REQUEST_LOG_LEVEL; do
    case "${!v}" in
      OFF|FATAL|ERROR|WARN|INFO|DEBUG|TRACE|ALL) ;;
      *) die "invalid log level $v=${!v} (OFF|ERROR|WARN|INFO|DEBUG|TRACE)";;
    esac
  done
}

require_java() {
  command -v java >/dev/null 2>&1 || die "java not found on PATH: Kafka $KAFKA_VERSION needs Java 17+ (e.g. apt-get install openjdk-17-jre-headless)"
  local line major
  line="$(java -version 2>&1 | head -n 1)"
  major="$(java_major)"
  [[ -n "$major" ]] || die "cannot parse Java version from: $line"
  (( major >= 17 )) || die "Kafka $KAFKA_VERSION needs Java 17+, found: $line"
}

require_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 not found on PATH${2:+: $2}"
}

# true when something accepts TCP connections on 127.0.0.1:$1
port_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" >/dev/null 2>&1
}

# ---------------------------------------------------------------------------- locking

# take an exclusive lock on file $1 (fd 9) waiting at most $2 s; no-op without flock
take_lock() {
  command -v flock >/dev/null 2>&1 || return 0
  mkdir -p "$(dirname "$1")"
  exec 9>"$1"
  flock -w "$2" 9 || die "timed out after $2 s waiting for lock $1 (another $PROG running?)"
}

# ---------------------------------------------------------------------------- fetch

pom_digest() { sha256sum "$POM" | cut -d' ' -f1; }

libs_complete() {
  [[ -f "$LIBS_MARKER" ]] \
    && [[ "$(cat "$LIBS_MARKER")" == "kafka=$KAFKA_VERSION pom=$(pom_digest)" ]] \
    && [[ -f "$LIBS_DIR/kafka_2.13-$KAFKA_VERSION.jar" ]]
}

cmd_fetch() {
  libs_complete && { log "Kafka $KAFKA_VERSION jars cached in $LIBS_DIR"; return 0; }
  take_lock "$CACHE_DIR/kafka-$KAFKA_VERSION.lock" "$MVN_TIMEOUT"
  # another process may have finished the download while we waited for the lock
  libs_complete && { log "Kafka $KAFKA_VERSION jars cached in $LIBS_DIR"; return 0; }
  require_cmd mvn "install Maven (apt-get install maven) to download Kafka from Maven Central"
  require_java
  local tmp="$LIBS_DIR.tmp.$$" start=$SECONDS rc=0
  rm -rf "$tmp"
  mkdir -p "$tmp"
  log "downloading Kafka $KAFKA_VERSION (kafka_2.13, kafka-tools, log4j2) from Maven Central with mvn …"
  timeout --kill-after=10 "$MVN_TIMEOUT" \
    mvn -q -B -f "$POM" dependency:copy-dependencies \
      -Dkafka.version="$KAFKA_VERSION" -DoutputDirectory="$tmp" -DincludeScope=runtime 9>&- \
    >"$tmp.mvn.log" 2>&1 || rc=$?
  if (( rc != 0 )); then
    tail -n 40 "$tmp.mvn.log" >&2 || true
    rm -rf "$tmp" "$tmp.mvn.log"
    (( rc == 124 )) && die "mvn did not finish within $MVN_TIMEOUT s (KSE_MVN_TIMEOUT_SECS)"
    die "mvn dependency:copy-dependencies failed (exit $rc) for Kafka $KAFKA_VERSION; see output above"
  fi
  rm -f "$tmp.mvn.log"
  local jar
  for jar in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" "kafka-clients-$KAFKA_VERSION.jar"; do
    [[ -f "$tmp/$jar" ]] || { rm -rf "$tmp"; die "mvn finished but $jar is missing"; }
  done
  compgen -G "$tmp/log4j-slf4j-impl-*.jar" >/dev/null || { rm -rf "$tmp"; die "log4j-slf4j-impl missing: the broker would log nothing"; }
  rm -rf "$LIBS_DIR"
  mv "$tmp" "$LIBS_DIR"
  printf 'kafka=%s pom=%s\n' "$KAFKA_VERSION" "$(pom_digest)" >"$LIBS_MARKER"
  log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars into $LIBS_DIR in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------------------- java helpers

# command prefix to run a Kafka command-line class (short-lived JVM, WARN logging to stderr)
JAVA_TOOL=(java -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true
  -Duser.timezone=UTC -Dlog4j2.configurationFile="$KAFKA_CONF_DIR/tools-log4j2.xml"
  -cp "$LIBS_DIR/*")

# pid of the broker started by this script if it is alive, else fail
broker_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  is_uint "$pid" || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # guard against pid reuse: it must be our kafka.Kafka with our server.properties
  if [[ -r "/proc/$pid/cmdline" ]]; then
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline")"
    [[ "$cmdline" == *kafka.Kafka*"$SERVER_PROPS"* ]] || return 1
  fi
  printf '%s\n' "$pid"
}

# one authenticated round trip: list topics as admin
broker_answers() {
  [[ -f "$ADMIN_CONFIG" ]] || return 1
  timeout --kill-after=5 "${1:-30}" \
    "${JAVA_TOOL[@]}" org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" \
      --command-config "$ADMIN_CONFIG" --list 9>&- >/dev/null 2>&1
}

show_diagnostics() {
  local f
  for f in "$OUT_FILE" "$LOGS_DIR/server.log"; do
    [[ -f "$f" ]] || continue
    printf '%s: ----- last 40 lines of %s -----\n' "$PROG" "$f" >&2
    tail -n 40 "$f" >&2 || true
  done
}

# ---------------------------------------------------------------------------- env

user_config() { printf '%s/%s.properties\n' "$CONF_DIR" "$1"; }

write_env() {
  local pid="$1" cluster_id="$2" u U
  {
    printf 'export KSE_KAFKA_BOOTSTRAP=%q\n' "$BOOTSTRAP"
    printf 'export KSE_KAFKA_CONTROLLER_BOOTSTRAP=%q\n' "$HOST:$CONTROLLER_PORT"
    printf 'export KSE_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT\n'
    printf 'export KSE_KAFKA_SASL_MECHANISM=%q\n' "$MECHANISM"
    printf 'export KSE_KAFKA_VERSION=%q\n' "$KAFKA_VERSION"
    printf 'export KSE_KAFKA_CLUSTER_ID=%q\n' "$cluster_id"
    printf 'export KSE_KAFKA_STATE_DIR=%q\n' "$STATE_DIR"
    printf 'export KSE_KAFKA_LOGS_DIR=%q\n' "$LOGS_DIR"
    printf 'export KSE_KAFKA_LOG_ROLL_SECS=%q\n' "$(grep -o 'schedule="0/[0-9]*' "$CONF_DIR/log4j2.xml" 2>/dev/null | head -1 | sed 's|.*/||')"
    printf 'export KSE_KAFKA_DATA_DIR=%q\n' "$DATA_DIR"
    printf 'export KSE_KAFKA_LIBS_DIR=%q\n' "$LIBS_DIR"
    printf 'export KSE_KAFKA_PID=%q\n' "$pid"
    for u in "${USERS[@]}"; do
      U="${u^^}"
      printf 'export KSE_KAFKA_%s_USER=%q\n' "$U" "$u"
      printf 'export KSE_KAFKA_%s_PASSWORD=%q\n' "$U" "${PASSWORDS[$u]}"
      printf 'export KSE_KAFKA_%s_CONFIG=%q\n' "$U" "$(user_config "$u")"
    done
  } >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

# ---------------------------------------------------------------------------- start

# sed-escape a replacement value (for the `s|…|…|` commands below)
sed_repl() { printf '%s' "$1" | sed -e 's/[\\|&]/\\&/g'; }

render() { # template dest NAME=value…
  local template="$1" dest="$2" kv args=()
  shift 2
  for kv in "$@"; do
    args+=(-e "s|@${kv%%=*}@|$(sed_repl "${kv#*=}")|g")
  done
  sed "${args[@]}" "$template" >"$dest"
  ! grep -n '@[A-Z_]*@' "$dest" >&2 || die "unrendered placeholder in $dest"
}

# Kafka Uuid string: 16 random bytes, base64url without padding, not starting with '-'
new_cluster_id() {
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ ${#id} -eq 22 && "$id" != -* ]] && { printf '%s\n' "$id"; return; }
  done
}

# number of "Kafka Server started" lines in server.log and its rotated server.log.<hour> files
started_count() {
  local n
  n="$(cat "$LOGS_DIR"/server.log* 2>/dev/null | grep -c 'Kafka Server started' || true)"
  printf '%s\n' "${n:-0}"
}

wait_ready() { # pid timeout [fresh|N]: also wait for a startup line in server.log* ("fresh":
               # any, N: more than the N lines a previous run of the broker left)
  local pid="$1" deadline=$((SECONDS + $2)) left started="${3:-}"
  [[ "$started" == fresh ]] && started=0
  while :; do
    kill -0 "$pid" 2>/dev/null || { show_diagnostics; die "the broker (pid $pid) exited during startup; see $OUT_FILE and $LOGS_DIR/server.log"; }
    left=$((deadline - SECONDS))
    (( left > 0 )) || return 1
    # "Kafka Server started" may already sit in a rotated server.log.<hour> file
    if port_open "$PORT" && { ! is_uint "$started" || (( $(started_count) > started )); }; then
      broker_answers "$(( left < 30 ? left : 30 ))" && return 0
    fi
    sleep 1
  done
}

cmd_start() {
  validate_settings
  mkdir -p "$STATE_DIR"
  take_lock "$STATE_DIR/.lock" $((START_TIMEOUT + STOP_TIMEOUT + 120))

  local pid running_roll
  if pid="$(broker_pid)"; then
    # A broker started without the log-roll period asked for would make rotation tests wait in
    # vain: start a fresh one with it.
    running_roll="$(grep -o 'schedule="0/[0-9]*' "$CONF_DIR/log4j2.xml" 2>/dev/null | head -1 | sed 's|.*/||' || true)"
    if [[ -n "$LOG_ROLL_SECS" && "$running_roll" != "$LOG_ROLL_SECS" ]]; then
      local rolls="hourly"
      [[ -z "$running_roll" ]] || rolls="every $running_roll s"
      log "broker (pid $pid) rolls its logs $rolls, not every $LOG_ROLL_SECS s (KSE_KAFKA_LOG_ROLL_SECS): stopping it to start afresh"
      stop_pid "$pid" || die "could not stop broker pid $pid"
    fi
  fi
  if pid="$(broker_pid)"; then
    log "broker already running (pid $pid) on $BOOTSTRAP; checking health …"
    [[ -f "$LIBS_MARKER" ]] || die "broker pid $pid is running but the jars in $LIBS_DIR are gone"
    if wait_ready "$pid" "$START_TIMEOUT"; then
      log "broker (pid $pid) is healthy; reusing it"
      cat "$ENV_FILE"
      return 0
    fi
    show_diagnostics
    die "broker pid $pid is running but did not answer on $BOOTSTRAP within $START_TIMEOUT s; run '$0 stop' first"
  fi

  cmd_fetch
  require_java
  local p
  for p in "$PORT" "$CONTROLLER_PORT"; do
    ! port_open "$p" || die "port $p on 127.0.0.1 is already in use (another Kafka?); set KSE_KAFKA_PORT / KSE_KAFKA_CONTROLLER_PORT to free ports"
  done

  # fresh state: only our own sub-paths are removed, never the state dir itself
  rm -rf "$DATA_DIR" "$LOGS_DIR" "$CONF_DIR" "$OUT_FILE" "$ENV_FILE" "$PID_FILE" "$WRAPPER_PID_FILE" \
    "$STATE_DIR/format.out"
  mkdir -p "$DATA_DIR" "$LOGS_DIR" "$CONF_DIR"

  render "$KAFKA_CONF_DIR/server.properties.template" "$SERVER_PROPS" \
    "PORT=$PORT" "CONTROLLER_PORT=$CONTROLLER_PORT" "DATA_DIR=$DATA_DIR" \
    "ADMIN_USER=admin" "ADMIN_PASSWORD=${PASSWORDS[admin]}" \
    "CONTROLLER_USER=$CONTROLLER_USER" "CONTROLLER_PASSWORD=$CONTROLLER_PASSWORD"
  cp "$KAFKA_CONF_DIR/log4j2.xml" "$CONF_DIR/log4j2.xml"
  if [[ -n "$LOG_ROLL_SECS" ]]; then
    # log4j2's cron has a seconds field: roll every N s, names down to the second.
    sed -i \
      -e "s|<TimeBasedTriggeringPolicy modulate=\"true\" interval=\"1\"/>|<CronTriggeringPolicy schedule=\"0/$LOG_ROLL_SECS * * * * ?\" evaluateOnStartup=\"false\"/>|" \
      -e 's|%d{yyyy-MM-dd-HH}|%d{yyyy-MM-dd-HH-mm-ss}|' \
      "$CONF_DIR/log4j2.xml"
    grep -q CronTriggeringPolicy "$CONF_DIR/log4j2.xml" || die "could not set the log roll interval in $CONF_DIR/log4j2.xml"
  fi
  local u scram_args=()
  for u in "${USERS[@]}"; do
    render "$KAFKA_CONF_DIR/client.properties.template" "$(user_config "$u")" \
      "MECHANISM=$MECHANISM" "LOGIN_MODULE=$SCRAM_LOGIN_MODULE" "USER=$u" "PASSWORD=${PASSWORDS[$u]}"
    scram_args+=(--add-scram "$MECHANISM=[name=$u,password=${PASSWORDS[$u]}]")
  done

  local cluster_id
  cluster_id="$(new_cluster_id)"
  printf '%s\n' "$cluster_id" >"$STATE_DIR/cluster-id"
  log "formatting KRaft storage in $DATA_DIR (cluster id $cluster_id) …"
  if ! timeout --kill-after=5 60 "${JAVA_TOOL[@]}" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$SERVER_PROPS" "${scram_args[@]}" 9>&- >"$STATE_DIR/format.out" 2>&1; then
    cat "$STATE_DIR/format.out" >&2
    die "kafka.tools.StorageTool format failed"
  fi

  launch_broker "$cluster_id" fresh
}

# run the JVM on the existing state dir, wait until ready, write + print the env file.
# $1 cluster id; $2 `fresh` (just formatted) or the number of "Kafka Server started" lines
# already in server.log* (a restart waits for one more).
launch_broker() {
  local cluster_id="$1" started="$2" pid
  log "starting Kafka $KAFKA_VERSION on $BOOTSTRAP (controller 127.0.0.1:$CONTROLLER_PORT, max lifetime $MAX_LIFETIME s) …"
  # `timeout` bounds the broker's lifetime (SIGTERM, then SIGKILL 20 s later) and puts it
  # in its own process group; the inner sh records the JVM's own pid before exec.
  # broker.out is appended to: `start` removed it, `restart` keeps the previous run's output.
  local start=$SECONDS
  rm -f "$PID_FILE" "$WRAPPER_PID_FILE"
  # shellcheck disable=SC2016 # expanded by the inner sh
  timeout --kill-after=20 "$MAX_LIFETIME" \
    sh -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    java -Xms128m -Xmx"$HEAP" \
      -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
      -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError \
      -Djava.awt.headless=true -Duser.timezone=UTC \
      -Dkafka.logs.dir="$LOGS_DIR" \
      -Dlog4j2.configurationFile="$CONF_DIR/log4j2.xml" \
      -Dkse.authorizer.log.level="$AUTHORIZER_LOG_LEVEL" \
      -Dkse.request.log.level="$REQUEST_LOG_LEVEL" \
      -cp "$LIBS_DIR/*" kafka.Kafka "$SERVER_PROPS" \
    </dev/null >>"$OUT_FILE" 2>&1 9>&- &
  local wrapper=$!
  printf '%s\n' "$wrapper" >"$WRAPPER_PID_FILE"

  # the inner sh writes the JVM pid almost at once
  local i
  for ((i = 0; i < 100; i++)); do
    [[ -s "$PID_FILE" ]] && break
    kill -0 "$wrapper" 2>/dev/null || break
    sleep 0.1
  done
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  is_uint "$pid" || { show_diagnostics; die "the broker JVM did not start; see $OUT_FILE"; }

  if ! wait_ready "$pid" "$START_TIMEOUT" "$started"; then
    show_diagnostics
    log "stopping the broker that did not become ready …"
    stop_pid "$pid" || true
    die "broker did not become ready on $BOOTSTRAP within $START_TIMEOUT s (KSE_KAFKA_START_TIMEOUT_SECS); logs in $LOGS_DIR"
  fi
  write_env "$pid" "$cluster_id"
  log "broker ready (pid $pid) after $((SECONDS - start)) s; logs in $LOGS_DIR"
  cat "$ENV_FILE"
}

# ---------------------------------------------------------------------------- stop / status

stop_pid() { # pid
  local pid="$1" deadline
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker (pid $pid) still alive after $STOP_TIMEOUT s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.2; done
    ! kill -0 "$pid" 2>/dev/null || { log "broker (pid $pid) survived SIGKILL"; return 1; }
  fi
  # the lifetime wrapper exits with its child; make sure it is gone
  local wrapper
  wrapper="$(cat "$WRAPPER_PID_FILE" 2>/dev/null || true)"
  if is_uint "$wrapper" && kill -0 "$wrapper" 2>/dev/null \
      && [[ "$(cat "/proc/$wrapper/comm" 2>/dev/null)" == timeout ]]; then
    deadline=$((SECONDS + 5))
    while kill -0 "$wrapper" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
    kill -KILL "$wrapper" 2>/dev/null || true
  fi
  rm -f "$PID_FILE" "$WRAPPER_PID_FILE"
}

cmd_stop() {
  validate_settings
  mkdir -p "$STATE_DIR"
  take_lock "$STATE_DIR/.lock" $((START_TIMEOUT + STOP_TIMEOUT + 120))
  local pid
  if ! pid="$(broker_pid)"; then
    rm -f "$PID_FILE" "$WRAPPER_PID_FILE"
    log "broker not running"
    return 0
  fi
  log "stopping broker (pid $pid) …"
  local start=$SECONDS
  stop_pid "$pid" || die "could not stop broker pid $pid"
  log "broker stopped in $((SECONDS - start)) s; logs kept in $LOGS_DIR"
}

# stop the running broker gracefully and start it again on the same state dir: no format,
# so topics, offsets, ACLs and SCRAM users survive. The listener ports are those the broker
# was started with (read from the env file), whatever KSE_KAFKA_PORT says now.
cmd_restart() {
  validate_settings
  [[ -f "$SERVER_PROPS" && -f "$ENV_FILE" && -f "$STATE_DIR/cluster-id" ]] \
    || die "no broker state in $STATE_DIR to restart; run '$0 start' first"
  [[ -f "$DATA_DIR/meta.properties" ]] \
    || die "$DATA_DIR is not a formatted KRaft log dir; run '$0 start' (formats a fresh one)"
  mkdir -p "$STATE_DIR"
  take_lock "$STATE_DIR/.lock" $((START_TIMEOUT + 2 * STOP_TIMEOUT + 120))

  local bootstrap ctrl_bootstrap
  bootstrap="$(sed -n 's/^export KSE_KAFKA_BOOTSTRAP=//p' "$ENV_FILE")"
  ctrl_bootstrap="$(sed -n 's/^export KSE_KAFKA_CONTROLLER_BOOTSTRAP=//p' "$ENV_FILE")"
  if [[ "$bootstrap" == "$HOST:"* && "$ctrl_bootstrap" == "$HOST:"* ]] \
      && is_uint "${bootstrap##*:}" && is_uint "${ctrl_bootstrap##*:}"; then
    PORT="${bootstrap##*:}"
    CONTROLLER_PORT="${ctrl_bootstrap##*:}"
    BOOTSTRAP="$HOST:$PORT"
  else
    log "cannot read the listener ports from $ENV_FILE; assuming $BOOTSTRAP"
  fi
  libs_complete || die "Kafka $KAFKA_VERSION jars are not cached in $LIBS_DIR (different KSE_KAFKA_VERSION?)"
  require_java

  local pid start=$SECONDS
  if pid="$(broker_pid)"; then
    log "restarting broker (pid $pid) on $BOOTSTRAP: stopping it gracefully …"
    stop_pid "$pid" || die "could not stop broker pid $pid"
    log "broker stopped in $((SECONDS - start)) s"
  else
    log "broker not running; starting it again on the existing state in $STATE_DIR"
    rm -f "$PID_FILE" "$WRAPPER_PID_FILE"
  fi

  # the old JVM has exited; give the kernel a moment to release the listeners
  local p deadline=$((SECONDS + 15))
  for p in "$PORT" "$CONTROLLER_PORT"; do
    while port_open "$p"; do
      (( SECONDS < deadline )) || die "port $p on 127.0.0.1 is still in use after the broker stopped (another Kafka?)"
      sleep 0.2
    done
  done

  local cluster_id
  cluster_id="$(cat "$STATE_DIR/cluster-id")"
  printf '%s: ----- restart at %s -----\n' "$PROG" "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" >>"$OUT_FILE"
  launch_broker "$cluster_id" "$(started_count)"
  log "restart took $((SECONDS - start)) s"
}

cmd_status() {
  local pid
  if pid="$(broker_pid)"; then
    local listening=no
    port_open "$PORT" && listening=yes
    printf 'running pid=%s bootstrap=%s listening=%s logs=%s\n' "$pid" "$BOOTSTRAP" "$listening" "$LOGS_DIR"
    return 0
  fi
  printf 'stopped logs=%s\n' "$LOGS_DIR"
  return 3
}

cmd_env() {
  broker_pid >/dev/null || die "broker not running (start it with '$0 start')"
  cat "$ENV_FILE"
}

# ---------------------------------------------------------------------------- admin / run

# true if the cached jar $1 contains class $2 (jar directories store names uncompressed)
jar_has_class() {
  [[ -f "$LIBS_DIR/$1" ]] && LC_ALL=C grep -qaF "${2//.//}.class" "$LIBS_DIR/$1"
}

# map short aliases and pre-4.x class names to the classes of this Kafka version
resolve_class() {
  local c="$1" base quiet=no
  case "$c" in
    topics)           c=org.apache.kafka.tools.TopicCommand ;;
    acls)             c=org.apache.kafka.tools.AclCommand ;;
    configs)          c=kafka.admin.ConfigCommand quiet=yes ;;
    console-producer) c=org.apache.kafka.tools.ConsoleProducer ;;
    console-consumer) c=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
    consumer-groups)  c=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
    storage)          c=kafka.tools.StorageTool ;;
  esac
  if [[ "$c" == kafka.admin.* ]]; then
    base="${c#kafka.admin.}"
    if ! jar_has_class "kafka_2.13-$KAFKA_VERSION.jar" "$c" \
        && jar_has_class "kafka-tools-$KAFKA_VERSION.jar" "org.apache.kafka.tools.$base"; then
      [[ "$quiet" == yes ]] || log "note: $c moved to org.apache.kafka.tools.$base in Kafka $KAFKA_VERSION; using that"
      c="org.apache.kafka.tools.$base"
    fi
  fi
  printf '%s\n' "$c"
}

cmd_admin() {
  (( $# >= 1 )) || die "usage: $PROG admin <MainClass> [args…]"
  [[ -f "$ADMIN_CONFIG" ]] || die "no $ADMIN_CONFIG: start the broker first ('$0 start')"
  libs_complete || die "Kafka jars not cached: run '$0 fetch' (or start)"
  local class a have_bootstrap=no have_config=no config_flag=--command-config
  class="$(resolve_class "$1")"
  shift
  for a in "$@"; do
    case "$a" in
      --bootstrap-server|--bootstrap-server=*|--bootstrap-controller|--bootstrap-controller=*|--broker-list) have_bootstrap=yes;;
      --command-config|--command-config=*|--producer.config|--producer.config=*|--consumer.config|--consumer.config=*|--config-file) have_config=yes;;
    esac
  done
  # the console/verifiable clients took --producer.config/--consumer.config before 4.2 (KIP-1147)
  local major="${KAFKA_VERSION%%.*}" minor="${KAFKA_VERSION#*.}"
  minor="${minor%%.*}"
  if ! is_uint "$major" || ! is_uint "$minor" || (( major < 4 || (major == 4 && minor < 2) )); then
    case "$class" in
      *.ConsoleProducer|*.VerifiableProducer) config_flag=--producer.config;;
      *.ConsoleConsumer|*.ConsoleShareConsumer|*.VerifiableConsumer) config_flag=--consumer.config;;
    esac
  fi
  # prefer the address the running broker was started with (its KSE_KAFKA_PORT may differ)
  local bootstrap="$BOOTSTRAP" extra=()
  if [[ -f "$ENV_FILE" ]]; then
    bootstrap="$(sed -n 's/^export KSE_KAFKA_BOOTSTRAP=//p' "$ENV_FILE")"
    [[ -n "$bootstrap" ]] || bootstrap="$BOOTSTRAP"
  fi
  [[ "$have_bootstrap" == yes ]] || extra+=(--bootstrap-server "$bootstrap")
  [[ "$have_config" == yes ]] || extra+=("$config_flag" "$ADMIN_CONFIG")
  exec "${JAVA_TOOL[@]}" "$class" "${extra[@]}" "$@"
}

cmd_run() {
  (( $# >= 1 )) || die "usage: $PROG run <MainClass> [args…]"
  libs_complete || die "Kafka jars not cached: run '$0 fetch' (or start)"
  local class
  class="$(resolve_class "$1")"
  shift
  exec "${JAVA_TOOL[@]}" "$class" "$@"
}

main() {
  local cmd="${1:-}"
  (( $# > 0 )) && shift
  case "$cmd" in
    fetch)    validate_settings; cmd_fetch ;;
    start)    cmd_start ;;
    stop)     cmd_stop ;;
    restart)  cmd_restart ;;
    status)   cmd_status ;;
    env)      cmd_env ;;
    logs-dir) printf '%s\n' "$LOGS_DIR" ;;
    admin)    cmd_admin "$@" ;;
    run)      cmd_run "$@" ;;
    -h|--help|help) usage ;;
    "") usage >&2; exit 2 ;;
    *) log "unknown command: $cmd"; usage >&2; exit 2 ;;
  esac
}

main "$@"
