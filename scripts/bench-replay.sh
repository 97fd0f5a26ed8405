#!/usr/bin/env bash
# bench-replay.sh — end-to-end broker-log throughput: generate a realistic broker log directory
# (authorizer decisions, failed logins, controller changes, request-log lines) and time
# `kafka-security-exporter replay` over it (read + frame + parse + record, one thread).
#
# Usage: scripts/bench-replay.sh [LINES] [RUNS]
#   LINES  corpus size (default 2000000; the corpus is cached in .cache/bench)
#   RUNS   runs of each variant (default 1). The two variants, every detector off and every
#          detector on (defaults), run alternately so both see the same machine drift.
# Prints entries/s and MiB/s per run and the median of each variant; record the figures in
# BENCHMARKS.md with the command.
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
# one replay with --detectors $1; prints its seconds
run() {
  local start end
  start=$(date +%s.%N)
  "$BIN" replay --progress never --detectors "$1" "$LOGS" >/dev/null 2>"$DIR/summary-$1.txt"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}
report() {
  local name=$1; shift
  local secs
  for secs in "$@"; do
    printf '  %s: %d lines, %.1f MiB in %.2f s = %.0f lines/s, %.1f MiB/s\n' "$name" \
      "$LINES" "$(echo "$bytes/1048576" | bc -l)" "$secs" "$(echo "$LINES/$secs" | bc -l)" \
      "$(echo "$bytes/1048576/$secs" | bc -l)"
  done
  local sorted
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  local median=${sorted[$(((${#sorted[@]} - 1) / 2))]}
  printf 'replay, detectors %s: median %.2f s = %.0f lines/s\n' "$name" "$median" "$(echo "$LINES/$median" | bc -l)"
}
declare -a OFF ON
for _ in $(seq "$RUNS"); do
  OFF+=("$(run off)")
  ON+=("$(run on)")
done
head -1 "$DIR/summary-on.txt"
sed -n '/^Detections/,$p' "$DIR/summary-on.txt" | head -20
report off "${OFF[@]}"
report on "${ON[@]}"
