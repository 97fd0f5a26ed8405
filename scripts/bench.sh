#!/usr/bin/env bash
# bench.sh — the exporter side by side with what a user would pick instead, on the same inputs,
# in one run, printed as one table of ratios (exporter / reference) and written to a file.
#
# Usage: scripts/bench.sh [--quick] [--runs N] [--out FILE]
#   --quick    a tiny version of the same (seconds): 5,000 events, 20,000 lines, one run. The test
#              suite runs it (tests/it/e2e_bench.rs) as a smoke test, with no thresholds.
#   --runs N   runs of each measurement, alternated so the exporter and its reference see the
#              same machine drift; medians are reported (default 3, quick 1)
#   --out FILE where the table is also written (default .cache/bench/bench.md, quick:
#              .cache/bench/bench-quick.md)
#
# Rows:
#   kafka   300k Confluent audit CloudEvents (the demo generator's, examples/audit_events.rs) on a
#           4-partition topic of the test broker (scripts/kafka-broker.sh): the exporter from
#           process start until /metrics counts them all, vs Kafka's ConsumerPerformance on the
#           same topic (its own nMsg.sec: group join to last record; and its whole process).
#   output  the same, with the OCSF output topic on (output.kafka): from process start until the
#           output topic has acknowledged every event, against the exporter without it (issue 16:
#           at most 25% slower).
#   steady  the exporter's CPU (cores) while Kafka's ProducerPerformance produces 50k events/s,
#           against the 0.3-core goal of issue 14.
#   replay  `kafka-security-exporter replay` over a 1M-line mixed broker log
#           (scripts/bench/gen_broker_log.py) vs mtail --one_shot with scripts/bench/broker_log.mtail
#           (counting the same decisions and failed logins), vs `wc -l` and `grep -c` (the I/O floor);
#           and with `--threads <cores>` vs mtail, its exposition checked equal to one thread's.
#
# Installs what it needs: mtail from the Debian package (apt-get) when missing, the broker via
# scripts/kafka-broker.sh (left running when it was already up, else stopped at the end), a
# release build of the exporter and of examples/audit_events. When a reference cannot be
# installed it says which one and exits non-zero (full mode) or leaves its rows out with a line
# saying so (quick mode).
#
# Environment (all optional):
#   KSE_BENCH_BIN           an exporter binary to use instead of building the release one
#   KSE_BENCH_AUDIT_CORPUS  a file of audit events (one a line) instead of the generated one
#   KSE_BENCH_DIR           work directory (default .cache/bench)
#   KSE_KAFKA_*             passed to scripts/kafka-broker.sh
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"

COMMAND="scripts/bench.sh${*:+ $*}"
QUICK=0
RUNS=""
OUT=""
while (( $# > 0 )); do
  case "$1" in
    --quick) QUICK=1;;
    --runs) RUNS="${2:?--runs needs a number}"; shift;;
    --out) OUT="${2:?--out needs a file}"; shift;;
    -h|--help) usage; exit 0;;
    *) die "unknown argument $1 (see --help)";;
  esac
  shift
done
WORK="${KSE_BENCH_DIR:-$REPO_DIR/.cache/bench}"
mkdir -p "$WORK"
if (( QUICK )); then
  EVENTS=5000 LINES=20000 STEADY_RATE=2000 STEADY_WINDOW=3 STEADY_WARMUP=1
  RUNS="${RUNS:-1}" OUT="${OUT:-$WORK/bench-quick.md}"
else
  EVENTS=300000 LINES=1000000 STEADY_RATE=50000 STEADY_WINDOW=10 STEADY_WARMUP=5
  RUNS="${RUNS:-3}" OUT="${OUT:-$WORK/bench.md}"
fi
if ! is_uint "$RUNS" || (( RUNS < 1 )); then die "--runs must be a number of at least 1 (got $RUNS)"; fi
PARTITIONS=4

# ---------------------------------------------------------------------------- tools

MISSING=()
if ! command -v mtail >/dev/null 2>&1; then
  log "mtail missing: apt-get install -y mtail …"
  sudo=()
  (( EUID == 0 )) || sudo=(sudo -n)
  if ! { "${sudo[@]}" apt-get install -y -qq mtail >/dev/null 2>&1 \
      || { "${sudo[@]}" apt-get update -qq >/dev/null 2>&1 && "${sudo[@]}" apt-get install -y -qq mtail >/dev/null 2>&1; }; }; then
    MISSING+=(mtail)
  fi
fi
if (( ${#MISSING[@]} > 0 )); then
  msg="reference missing: ${MISSING[*]} (apt-get install mtail failed); its rows are left out"
  (( QUICK )) || die "$msg"
  warn "$msg"
fi

use_test_broker
broker() { "$SCRIPT_DIR/kafka-broker.sh" "$@"; }

BIN="${KSE_BENCH_BIN:-}"
if [[ -z "$BIN" ]]; then
  log "building the release exporter and examples/audit_events (nice -n 10) …"
  nice -n 10 cargo build --release --quiet --bin kafka-security-exporter --example audit_events
  BIN="$REPO_DIR/target/release/kafka-security-exporter"
fi
[[ -x "$BIN" ]] || die "no exporter binary at $BIN"

CORPUS="${KSE_BENCH_AUDIT_CORPUS:-}"
if [[ -z "$CORPUS" ]]; then
  CORPUS="$WORK/audit-$EVENTS.jsonl"
  if [[ ! -s "$CORPUS" ]]; then
    GEN="$REPO_DIR/target/release/examples/audit_events"
    if [[ ! -x "$GEN" ]]; then
      log "building examples/audit_events, which writes the audit corpus (nice -n 10) …"
      nice -n 10 cargo build --release --quiet --example audit_events
    fi
    "$GEN" "$EVENTS" >"$CORPUS"
  fi
fi
[[ -s "$CORPUS" ]] || die "no audit corpus at $CORPUS"
LOG="$WORK/mixed-$LINES.log"
[[ -s "$LOG" ]] || python3 "$SCRIPT_DIR/bench/gen_broker_log.py" "$LOG" "$LINES"

# ---------------------------------------------------------------------------- helpers

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
# a / b: rates as whole numbers, ratios with three significant digits; "n/a" for b = 0
div() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "n/a"; else if (a / b >= 100) printf "%.0f", a / b; else printf "%.3g", a / b}'; }
# `timed OUTFILE cmd…`: runs cmd with stdout to OUTFILE; prints "wall user+sys" seconds (wall
# from a nanosecond clock: `wc -l` over a small file takes milliseconds)
timed() {
  local out=$1 t0 t1; shift
  t0=$(date +%s%N)
  /usr/bin/time -f '%U %S' -o "$WORK/time.txt" "$@" >"$out" 2>>"$WORK/stderr.txt"
  t1=$(date +%s%N)
  awk -v ns=$(( t1 - t0 )) '{printf "%.4f %.2f\n", ns / 1e9, $1 + $2}' "$WORK/time.txt"
}
exporter_config() { # group topic
  cat <<YAML
sources:
  - kafka:
      name: bench
      group_id: $1
      topics:
        - name: $2
          format: confluent_audit
$(test_broker_properties 6)
YAML
}
exporter_output_config() { # group topic output-topic
  exporter_config "$1" "$2"
  cat <<YAML
output:
  kafka:
    topic: $3
    schema: ocsf
$(test_broker_properties 4)
YAML
}
new_topic() { # name
  broker admin org.apache.kafka.tools.TopicCommand --create --topic "$1" --partitions "$PARTITIONS" >/dev/null 2>>"$WORK/stderr.txt"
}
# ProducerPerformance keeps its payload file in a 256 MiB heap (kafka-broker.sh's tool JVM) and
# sends payloads picked from it at random: 20,000 distinct events are plenty and fit.
head -n 20000 "$CORPUS" >"$WORK/payloads.jsonl"
produce() { # topic count rate
  broker admin org.apache.kafka.tools.ProducerPerformance --topic "$1" --num-records "$2" \
    --payload-file "$WORK/payloads.jsonl" --throughput "$3" --command-property acks=1 --command-property linger.ms=10 --command-property batch.size=262144 \
    >"$WORK/produce.txt" 2>>"$WORK/stderr.txt"
}
: >"$WORK/stderr.txt"
STAMP="$(date +%s)-$$"

# ---------------------------------------------------------------------------- kafka path

TOPIC="bench-audit-$EVENTS-$STAMP"
log "kafka: producing $EVENTS audit events to $TOPIC ($PARTITIONS partitions) …"
new_topic "$TOPIC"
produce "$TOPIC" "$EVENTS" -1
OUT_TOPIC="bench-ocsf-$STAMP"
new_topic "$OUT_TOPIC"
declare -a EXP_RATE EXP_CPU EXP_RSS CP_RATE CP_FETCH CP_PROC OUT_RATE OUT_CPU
for i in $(seq "$RUNS"); do
  exporter_config "bench-exp-$STAMP-$i" "$TOPIC" >"$WORK/exporter-$i.yaml"
  line="$(python3 "$SCRIPT_DIR/bench/until_counted.py" "$BIN" "$WORK/exporter-$i.yaml" "$EVENTS" 120)"
  wall="$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' <<<"$line")"
  EXP_RATE+=("$(div "$EVENTS" "$wall")")
  EXP_CPU+=("$(sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p' <<<"$line")")
  EXP_RSS+=("$(sed -n 's/.*peak_rss_mib=\([0-9]*\).*/\1/p' <<<"$line")")
  read -r cp_wall _ < <(timed "$WORK/cp.txt" "$SCRIPT_DIR/kafka-broker.sh" admin org.apache.kafka.tools.ConsumerPerformance \
    --topic "$TOPIC" --num-records "$EVENTS" --group "bench-cp-$STAMP-$i" --timeout 60000)
  # start.time, end.time, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec
  IFS=',' read -r -a cp < <(tail -n 1 "$WORK/cp.txt")
  [[ "${cp[4]// /}" == "$EVENTS" ]] || die "ConsumerPerformance read ${cp[4]:-nothing} of $EVENTS records: $(tail -n 2 "$WORK/cp.txt")"
  CP_RATE+=("${cp[5]// /}")
  CP_FETCH+=("${cp[9]// /}")
  CP_PROC+=("$(div "$EVENTS" "$cp_wall")")
  log "kafka run $i: exporter $line; ConsumerPerformance nMsg.sec ${cp[5]// /} (rebalance ${cp[6]// /} ms), process ${cp_wall} s"
  exporter_output_config "bench-out-$STAMP-$i" "$TOPIC" "$OUT_TOPIC" >"$WORK/exporter-out-$i.yaml"
  out_line="$(UNTIL_COUNTED=kafka_security_output_events_total python3 "$SCRIPT_DIR/bench/until_counted.py" "$BIN" "$WORK/exporter-out-$i.yaml" "$EVENTS" 120)"
  OUT_RATE+=("$(div "$EVENTS" "$(sed -n 's/.*wall_s=\([0-9.]*\).*/\1/p' <<<"$out_line")")")
  OUT_CPU+=("$(sed -n 's/.*cpu_s=\([0-9.]*\).*/\1/p' <<<"$out_line")")
  log "kafka run $i, output topic on: exporter $out_line"
done

STEADY_TOPIC="bench-steady-$STAMP"
log "steady: exporter CPU while $STEADY_RATE events/s are produced to $STEADY_TOPIC …"
new_topic "$STEADY_TOPIC"
exporter_config "bench-steady-$STAMP" "$STEADY_TOPIC" >"$WORK/steady.yaml"
produce "$STEADY_TOPIC" $(( STEADY_RATE * (STEADY_WARMUP + STEADY_WINDOW + 10) )) "$STEADY_RATE" &
producer=$!
steady="$(python3 "$SCRIPT_DIR/bench/until_counted.py" "$BIN" "$WORK/steady.yaml" 0 120 steady "$STEADY_WINDOW" "$STEADY_WARMUP")"
kill "$producer" 2>/dev/null || true
wait "$producer" 2>/dev/null || true
STEADY_CORES="$(sed -n 's/.*cores=\([0-9.]*\).*/\1/p' <<<"$steady")"
STEADY_EVENTS="$(sed -n 's/.*events=\([0-9]*\).*/\1/p' <<<"$steady")"
log "steady: $steady"

# ---------------------------------------------------------------------------- replay path

log "replay: $LINES-line mixed broker log $LOG …"
cat "$LOG" >/dev/null # every tool reads it from the page cache
mkdir -p "$WORK/mtail-progs"
cp "$SCRIPT_DIR/bench/broker_log.mtail" "$WORK/mtail-progs/"
declare -a RP RPN MT WC GR
CORES="$(nproc)"
for _ in $(seq "$RUNS"); do
  read -r w _ < <(timed "$WORK/replay.prom" "$BIN" replay --progress never "$LOG")
  RP+=("$(div "$LINES" "$w")")
  if (( CORES > 1 )); then
    read -r w _ < <(timed "$WORK/replay-threads.prom" "$BIN" replay --progress never --threads "$CORES" "$LOG")
    RPN+=("$(div "$LINES" "$w")")
  fi
  if [[ " ${MISSING[*]} " != *" mtail "* ]]; then
    read -r w _ < <(timed "$WORK/mtail.prom" mtail --one_shot --one_shot_format=prometheus \
      --port 0 --progs "$WORK/mtail-progs" --logs "$LOG")
    MT+=("$(div "$LINES" "$w")")
  fi
  read -r w _ < <(timed "$WORK/wc.txt" wc -l "$LOG")
  WC+=("$(div "$LINES" "$w")")
  read -r w _ < <(timed "$WORK/grep.txt" grep -c 'kafka.authorizer.logger' "$LOG")
  GR+=("$(div "$LINES" "$w")")
done
# one thread or several, the same exposition (but for the process's own metrics and the sum of
# event delays, which are measured from each run's start)
same() { grep -v 'process_\|^kafka_security_event_delay_seconds_sum' "$1"; }
if (( CORES > 1 )); then
  cmp -s <(same "$WORK/replay.prom") <(same "$WORK/replay-threads.prom") ||
    die "replay --threads $CORES gave another exposition than one thread: $WORK/replay.prom, $WORK/replay-threads.prom"
fi
# the same counts from both tools, or the comparison means nothing
sum() { grep -E "^$2(\{| )" "$1" | awk '{s += $NF} END {printf "%d", s}'; }
exp_auth="$(sum "$WORK/replay.prom" kafka_security_authorization_total)"
if [[ " ${MISSING[*]} " != *" mtail "* ]]; then
  mt_auth="$(sum "$WORK/mtail.prom" kafka_authorization_total)"
  [[ "$exp_auth" == "$mt_auth" ]] || die "replay counted $exp_auth authorizer decisions, mtail $mt_auth: the two do not do the same work"
fi

# ---------------------------------------------------------------------------- table

m() { median "$@"; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }
{
  echo "Command: \`$COMMAND\` ($(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo "Machine: $(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p' | head -n 1), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "Versions: $("$BIN" --version 2>/dev/null | head -n 1), Kafka $(basename "$(dirname "${KSE_KAFKA_LIBS_DIR:-kafka-unknown/libs}")" | sed 's/^kafka-//') ($(java -version 2>&1 | head -n 1)), $(command -v mtail >/dev/null && mtail --version 2>&1 | head -n 1 | cut -d' ' -f1-3 || echo 'mtail missing'), $(wc --version | head -n 1), $(grep --version | head -n 1)"
  echo "Runs: $RUNS of each, alternated; medians. Kafka: $EVENTS audit events of $(awk '{s += length($0)} END {printf "%d", s / NR}' "$CORPUS") B on $PARTITIONS partitions. Replay: $LINES lines, $(( $(wc -c <"$LOG") / 1048576 )) MiB."
  echo
  row measurement exporter reference "reference value" "ratio (exporter / reference)"
  row --- --- --- --- ---
  row "kafka: start → all counted (events/s)" "$(m "${EXP_RATE[@]}") (CPU $(m "${EXP_CPU[@]}") s, peak RSS $(m "${EXP_RSS[@]}") MiB)" "ConsumerPerformance nMsg.sec (join → last record)" "$(div "$(m "${CP_RATE[@]}")" 1)" "$(div "$(m "${EXP_RATE[@]}")" "$(m "${CP_RATE[@]}")")"
  row "kafka: start → all counted (events/s)" "$(m "${EXP_RATE[@]}")" "ConsumerPerformance whole process (JVM start → exit)" "$(div "$(m "${CP_PROC[@]}")" 1)" "$(div "$(m "${EXP_RATE[@]}")" "$(m "${CP_PROC[@]}")")"
  row "kafka: start → all counted (events/s)" "$(m "${EXP_RATE[@]}")" "ConsumerPerformance fetch.nMsg.sec (fetching only)" "$(div "$(m "${CP_FETCH[@]}")" 1)" "$(div "$(m "${EXP_RATE[@]}")" "$(m "${CP_FETCH[@]}")")"
  row "kafka, OCSF output topic on: start → all acknowledged by it (events/s)" "$(m "${OUT_RATE[@]}") (CPU $(m "${OUT_CPU[@]}") s)" "the exporter without it (issue 16: ratio ≥ 0.75)" "$(m "${EXP_RATE[@]}")" "$(div "$(m "${OUT_RATE[@]}")" "$(m "${EXP_RATE[@]}")")"
  row "kafka: steady $STEADY_RATE events/s (cores; $STEADY_EVENTS events in ${STEADY_WINDOW} s)" "$STEADY_CORES" "goal of issue 14 (cores)" "0.3" "$(div "$STEADY_CORES" 0.3)"
  if (( ${#MT[@]} > 0 )); then
    row "replay: mixed broker log (lines/s)" "$(m "${RP[@]}")" "mtail --one_shot" "$(m "${MT[@]}")" "$(div "$(m "${RP[@]}")" "$(m "${MT[@]}")")"
    if (( ${#RPN[@]} > 0 )); then
      row "replay --threads $CORES: mixed broker log (lines/s)" "$(m "${RPN[@]}")" "mtail --one_shot" "$(m "${MT[@]}")" "$(div "$(m "${RPN[@]}")" "$(m "${MT[@]}")")"
    fi
  fi
  row "replay: mixed broker log (lines/s)" "$(m "${RP[@]}")" "wc -l" "$(m "${WC[@]}")" "$(div "$(m "${RP[@]}")" "$(m "${WC[@]}")")"
  row "replay: mixed broker log (lines/s)" "$(m "${RP[@]}")" "grep -c" "$(m "${GR[@]}")" "$(div "$(m "${RP[@]}")" "$(m "${GR[@]}")")"
  (( ${#MT[@]} > 0 )) || echo "mtail: reference missing (apt-get install mtail failed); its row is left out."
} | tee "$OUT"
log "table written to $OUT"
