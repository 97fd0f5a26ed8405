#!/usr/bin/env bash
# soak.sh — the exporter under a steady load for minutes: RSS, scrape latency and exact counts.
#
# Usage: scripts/soak.sh [--minutes N] [--rate R] [--lines L] [--rotate-secs S] [--out FILE]
#   --minutes N  how long the load runs (default 10)
#   --rate R     Confluent audit events a second produced to a 4-partition topic of the test
#                broker by Kafka's ProducerPerformance (default 20000)
#   --lines L    authorizer decisions a second appended to a tailed log that is rotated every
#                minute, as log4j's RollingFileAppender does (default 1000)
#   --rotate-secs S  rotate the tailed log every S seconds instead (default 60)
#   --out FILE   where the report is also written (default .cache/soak/soak.md)
#
# The exporter (a release build, or KSE_SOAK_BIN) reads both: a Kafka source `audit` and a file
# source `files` with checkpoints. Every second the run scrapes /metrics, timing it, and reads
# the exporter's RSS. When the load stops it waits until the exporter has counted exactly what
# was produced (the topic's end offsets) and written, checks 10 s more that nothing is counted
# twice, and stops the exporter with SIGTERM. It prints per minute: events/s from each source,
# RSS (min–max) and scrape latency (p50 / p99 / max); then the counts, the RSS after warm-up
# against the last minute, and PASS or FAIL (exit 1 on FAIL: a count off, an unclean stop).
# Starts the test broker (scripts/kafka-broker.sh) when it is not running, and stops it after.
# The suite runs a one-minute soak (tests/it/e2e_soak.rs) for its verdict.
#
# Environment (all optional):
#   KSE_SOAK_BIN       an exporter binary to use instead of building the release one
#   KSE_SOAK_PAYLOADS  a file of audit events (one a line) instead of examples/audit_events'
#   KSE_SOAK_DIR       work directory (default .cache/soak)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"

MINUTES=10 RATE=20000 LINES=1000 ROTATE=60 OUT=""
while (( $# > 0 )); do
  case "$1" in
    --minutes) MINUTES="${2:?--minutes needs a number}"; shift;;
    --rate) RATE="${2:?--rate needs a number}"; shift;;
    --lines) LINES="${2:?--lines needs a number}"; shift;;
    --rotate-secs) ROTATE="${2:?--rotate-secs needs a number}"; shift;;
    --out) OUT="${2:?--out needs a file}"; shift;;
    -h|--help) usage; exit 0;;
    *) die "unknown argument $1 (see --help)";;
  esac
  shift
done
for v in MINUTES RATE LINES ROTATE; do
  if ! is_uint "${!v}" || (( ${!v} < 1 )); then die "$v must be a number of at least 1 (got ${!v})"; fi
done
WORK="${KSE_SOAK_DIR:-$REPO_DIR/.cache/soak}"
OUT="${OUT:-$WORK/soak.md}"
rm -rf "$WORK/logs" "$WORK/state"
mkdir -p "$WORK/logs" "$WORK/state"

use_test_broker

BIN="${KSE_SOAK_BIN:-}"
if [[ -z "$BIN" ]]; then
  log "building the release exporter (nice -n 10) …"
  nice -n 10 cargo build --release --quiet --bin kafka-security-exporter
  BIN="$REPO_DIR/target/release/kafka-security-exporter"
fi
PAYLOADS="${KSE_SOAK_PAYLOADS:-}"
if [[ -z "$PAYLOADS" ]]; then
  log "building examples/audit_events (nice -n 10) …"
  nice -n 10 cargo build --release --quiet --example audit_events
  # ProducerPerformance keeps its payloads in the tool JVM's heap: 20,000 distinct events.
  PAYLOADS="$WORK/payloads.jsonl"
  "$REPO_DIR/target/release/examples/audit_events" 20000 >"$PAYLOADS"
fi
[[ -s "$PAYLOADS" ]] || die "no audit events in $PAYLOADS"

TOPIC="soak-$(date +%s)-$$"
"$SCRIPT_DIR/kafka-broker.sh" admin org.apache.kafka.tools.TopicCommand --create --topic "$TOPIC" \
  --partitions 4 >/dev/null
cat >"$WORK/exporter.yaml" <<YAML
sources:
  - kafka:
      name: audit
      group_id: $TOPIC
      topics:
        - name: $TOPIC
          format: confluent_audit
$(test_broker_properties 6)
  - file:
      name: files
      paths:
        - $WORK/logs/*.log
        - $WORK/logs/*.log.*
      state_dir: $WORK/state
YAML
log "soak: $MINUTES min, $RATE events/s to $TOPIC, $LINES lines/s tailed …"
python3 "$SCRIPT_DIR/soak/soak.py" "$BIN" "$WORK/exporter.yaml" "$MINUTES" "$RATE" "$LINES" \
  "$TOPIC" "$WORK/logs" "$PAYLOADS" "$SCRIPT_DIR/kafka-broker.sh" "$OUT" "$ROTATE"
