#!/usr/bin/env bash
# bench-replay.sh — end-to-end broker-log throughput: generate a realistic broker log directory
# (authorizer decisions, failed logins, controller changes, request-log lines) and time
# `kafka-security-exporter replay` over it (read + frame + parse + record).
#
# Usage: scripts/bench-replay.sh [LINES] [RUNS]
#   LINES  corpus size (default 2000000; the corpus is cached in .cache/bench)
#   RUNS   runs of each variant (default 1). The variants — every detector off and every
#          detector on (defaults), for each thread count of KSE_BENCH_THREADS (default
#          "1 <cores>": one thread, and one per core) — run alternately so all see the
#          same machine drift.
# Prints, per run, wall seconds, CPU seconds (user + system), entries/s and MiB/s, and the median
# of each variant; record the figures in BENCHMARKS.md with the command. On a shared machine the
# CPU seconds are the steadier figure.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LINES="${1:-2000000}"
RUNS="${2:-1}"
DIR=".cache/bench/replay-$LINES"
LOGS="$DIR/logs"
if [[ ! -f "$DIR/.done" ]]; then
  rm -rf "$DIR"; mkdir -p "$LOGS"
  python3 - "$LOGS" "$LINES" <<'PY'
import sys, random
d, n = sys.argv[1], int(sys.argv[2])
random.seed(7)
users = ["alice", "bob", "carol", "svc-orders", "svc-billing", "CN=app1,OU=eng,O=Acme"]
topics = ["orders", "payments", "customers", "audit-trail", "inventory"]
files = {k: open(f"{d}/{k}", "w") for k in ["kafka-authorizer.log", "server.log", "controller.log", "kafka-request.log"]}
for i in range(n):
    t = f"2026-11-26 {(i // 3600000) % 24:02d}:{(i // 60000) % 60:02d}:{(i // 1000) % 60:02d},{i % 1000:03d}"
    u, top, h = random.choice(users), random.choice(topics), f"10.0.{i % 7}.{i % 250}"
    r = i % 20
    if r < 14:
        op, api = random.choice([("WRITE", "Produce"), ("READ", "Fetch"), ("DESCRIBE", "Metadata")])
        if r % 3 == 0:
            files["kafka-authorizer.log"].write(f"[{t}] INFO Principal = User:{u} is Denied operation = {op} from host = {h} on resource = Topic:LITERAL:{top} for request = {api} with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n")
        else:
            files["kafka-authorizer.log"].write(f"[{t}] DEBUG Principal = User:{u} is Allowed operation = {op} from host = {h} on resource = Topic:LITERAL:{top} for request = {api} with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl[resourceType=TOPIC, resourceName={top}, patternType=LITERAL, principal=User:{u}, host=*, operation={op}, permissionType=ALLOW]) (kafka.authorizer.logger)\n")
    elif r < 17:
        files["server.log"].write(f"[{t}] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /{h} (channelId=10.0.0.1:9092-{h}:{30000 + i % 30000}-0-{i}) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512) (org.apache.kafka.common.network.Selector)\n")
    elif r < 18:
        files["controller.log"].write(f"[{t}] INFO [QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=TOPIC, name='{top}') which set configuration retention.ms to {i} (org.apache.kafka.controller.ConfigurationControlManager)\n")
    else:
        files["kafka-request.log"].write(f'[{t}] DEBUG Completed request:{{"isForwarded":false,"requestHeader":{{"requestApiKey":0,"requestApiVersion":11,"correlationId":{i},"clientId":"{u}-client","requestApiKeyName":"PRODUCE"}},"request":{{}},"response":{{"errorCode":0}},"connection":"10.0.0.1:9092-{h}:5000-0-1","totalTimeMs":{i % 97}.5,"principal":"User:{u}","listener":"SASL_SSL"}} (kafka.request.logger)\n')
for f in files.values():
    f.close()
PY
  touch "$DIR/.done"
fi
# KSE_BENCH_BIN: a release binary built elsewhere (then nothing is built here)
BIN="${KSE_BENCH_BIN:-target/release/kafka-security-exporter}"
[[ -n "${KSE_BENCH_BIN:-}" ]] || cargo build --release --quiet
bytes=$(cat "$LOGS"/*.log | wc -c)
THREADS="${KSE_BENCH_THREADS:-1 $(nproc)}"
# one replay with --detectors $1 --threads $2; prints "wall cpu" seconds
run() {
  /usr/bin/time -f '%e %U %S' -o "$DIR/time.txt" "$BIN" replay --progress never --detectors "$1" \
    --threads "$2" "$LOGS" >"$DIR/exposition-$1-$2.txt" 2>"$DIR/summary-$1-$2.txt"
  read -r wall user sys <"$DIR/time.txt"
  echo "$wall $(echo "$user + $sys" | bc -l)"
}
report() {
  local name=$1; shift
  local run wall cpu
  local -a walls=() cpus=()
  for run in "$@"; do
    read -r wall cpu <<<"$run"
    walls+=("$wall"); cpus+=("$cpu")
    printf '  %s: %d lines, %.1f MiB in %.2f s wall, %.2f s CPU = %.0f lines/s, %.1f MiB/s\n' \
      "$name" "$LINES" "$(echo "$bytes/1048576" | bc -l)" "$wall" "$cpu" \
      "$(echo "$LINES/$wall" | bc -l)" "$(echo "$bytes/1048576/$wall" | bc -l)"
  done
  local median_wall median_cpu
  median_wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n "$(((${#walls[@]} + 1) / 2))p")
  median_cpu=$(printf '%s\n' "${cpus[@]}" | sort -n | sed -n "$(((${#cpus[@]} + 1) / 2))p")
  printf 'replay, %s: median %.2f s wall = %.0f lines/s; median %.2f s CPU = %.0f lines/CPU-s\n' \
    "$name" "$median_wall" "$(echo "$LINES/$median_wall" | bc -l)" "$median_cpu" \
    "$(echo "$LINES/$median_cpu" | bc -l)"
}
declare -A RESULTS
for _ in $(seq "$RUNS"); do
  for t in $THREADS; do
    for d in off on; do
      RESULTS["$d $t"]+="$(run "$d" "$t");"
    done
  done
done
first=${THREADS%% *}
head -1 "$DIR/summary-on-$first.txt"
sed -n '/^Detections/,$p' "$DIR/summary-on-$first.txt" | head -20
for t in $THREADS; do
  for d in off on; do
    IFS=';' read -r -a runs <<<"${RESULTS["$d $t"]%;}"
    report "detectors $d, --threads $t" "${runs[@]}"
  done
done
# Every thread count gives the same exposition, but for the process's own metrics and the sum
# of event delays, which are measured from each run's start.
same() { grep -v 'process_\|^kafka_security_event_delay_seconds_sum' "$1"; }
for d in off on; do
  for t in $THREADS; do
    if ! diff -q <(same "$DIR/exposition-$d-$first.txt") <(same "$DIR/exposition-$d-$t.txt") \
      >/dev/null; then
      echo "DIFFERENT: detectors $d, --threads $t differs from --threads $first" >&2
      exit 1
    fi
  done
done
