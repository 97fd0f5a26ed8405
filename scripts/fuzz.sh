#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers, the log framer, the layout compiler and the config
# loaders (the targets in fuzz/fuzz_targets/), with cargo-fuzz and libFuzzer.
#
# Usage: scripts/fuzz.sh [--seed] [--minimize] [--cpu] SECONDS [TARGET…]
#   Builds every target once, then runs each TARGET (default: all) for SECONDS of wall time, one
#   after the other at nice 10, and prints a table of CPU seconds, executions, corpus size and
#   crashes per target. Exits 1 when any target crashed (panic, timeout over 10 s, over 2 GiB
#   RSS).
#   --cpu       SECONDS of CPU time (user + system) instead of wall time: each target runs until
#               it has had that much, however busy the machine is (at most 20 × SECONDS of wall
#               time, after which the table shows the CPU it got)
#   --seed      add seeds from tests/fixtures/ (whole files and their lines) and README.md's
#               YAML examples to each corpus first; done anyway for an empty corpus
#   --minimize  minimize each corpus after its run (libFuzzer -set_cover_merge=1: the fewest
#               inputs that keep every feature), as committed
#
# Corpora live in fuzz/corpus/TARGET/ (committed, minimized); crashing inputs in
# fuzz/artifacts/TARGET/ (not committed: replay one with
# `fuzz/target/x86_64-unknown-linux-gnu/release/TARGET FILE`, then make it a regression test
# next to the parser). Needs a nightly toolchain (`rustup toolchain install nightly`) and
# cargo-fuzz (`cargo install cargo-fuzz`). Built with debug assertions, so integer overflow
# panics, and without a sanitizer: the crate forbids unsafe code, and a sanitizer would halve
# the executions per second.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

seed=0
minimize=0
cpu_budget=0
while [[ ${1:-} == --* ]]; do
  case $1 in
    --seed) seed=1 ;;
    --minimize) minimize=1 ;;
    --cpu) cpu_budget=1 ;;
    --help) usage; exit 0 ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift
done
[[ $# -ge 1 ]] || { usage >&2; exit 2; }
secs=$1
shift
require_secs secs

FUZZ_DIR="$REPO_DIR/fuzz"
mapfile -t ALL < <(sed -n 's/^name = "\(.*\)"$/\1/p' "$FUZZ_DIR/Cargo.toml" | grep -v '^kafka-security')
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${ALL[@]}")
for t in "${targets[@]}"; do
  [[ -f "$FUZZ_DIR/fuzz_targets/$t.rs" ]] || die "no fuzz target '$t' (targets: ${ALL[*]})"
done

cargo +nightly --version >/dev/null 2>&1 \
  || die "cargo-fuzz needs a nightly toolchain: rustup toolchain install nightly"
cargo fuzz --version >/dev/null 2>&1 || die "cargo-fuzz is not installed: cargo install cargo-fuzz"

# The fixtures that seed each target (globs under tests/fixtures/).
seeds_of() {
  case $1 in
    authorizer) echo "broker_logs/authorizer_* vendors/aiven_authorizer.log layouts/*" ;;
    aiven) echo "vendors/aiven_authorizer.log broker_logs/authorizer_assembled.log" ;;
    qubership | zk_change | sniff | log4j | shipped)
      echo "broker_logs/* layouts/* vendors/aiven_authorizer.log vendors/msk_cloudwatch_firehose.json" ;;
    server_log) echo "broker_logs/server_*" ;;
    controller_log) echo "broker_logs/controller_*" ;;
    request_log) echo "broker_logs/request_*" ;;
    json) echo "json_events/* vendors/msk_cloudwatch_firehose.json" ;;
    audit) echo "confluent_audit/*" ;;
    ocsf) echo "vendors/redpanda_audit.jsonl" ;;
    text) echo "text_events/*" ;;
    layout) echo "layouts/* broker_logs/server_kafka44_real.log" ;;
    config | web_config) echo "" ;;
  esac
}

# A seed file named by its content's hash, as libFuzzer names corpus entries.
add_seed() {
  local dir=$1 file
  file="$dir/$(sha1sum | cut -c1-40)"
  [[ -e "$file" ]] || cat >"$file"
}
seed_lines() {
  local dir=$1 file=$2 line
  # Whole files are seeds of multi-line entries; their lines (at most 200 a file) of one line.
  head -c 65536 "$file" | add_seed "$dir"
  while IFS= read -r line; do
    printf '%s\n' "$line" | add_seed "$dir"
  done < <(head -n 200 "$file")
}
seed() {
  local t=$1 dir="$FUZZ_DIR/corpus/$1" glob file
  mkdir -p "$dir"
  for glob in $(seeds_of "$t"); do
    for file in "$REPO_DIR"/tests/fixtures/$glob; do
      [[ -f $file ]] && seed_lines "$dir" "$file"
    done
  done
  case $t in
    config | web_config)
      # README.md's YAML examples, each block one seed.
      awk -v dir="$dir" '/^```yaml/{n++; f=sprintf("%s/readme-%03d", dir, n); on=1; next}
        /^```/{on=0} on{print > f}' "$REPO_DIR/README.md" ;;
    layout)
      # Each sniffed layout's pattern, a NUL byte, then lines in Kafka's layout.
      local p
      for p in '[%d] %p %m (%c)%n' '%d %p %m (%c) [%t]%n' '[%p] %d [%t] %c %M - %m%n' \
        '%d{ISO8601} [%t] %-5p %c %x - %m%n' '%d{ISO8601} %-5p [%t] %c - %m%n' \
        '[%d][%p][category=%c] %m%n' '[%d] %p (%t:%c) %m%n' \
        'log4j.appender.x.layout.ConversionPattern=%d{ABSOLUTE} %5p %c{1}:%L - %m%n'; do
        { printf '%s\0' "$p"; head -n 20 "$REPO_DIR/tests/fixtures/layouts/log4j1_ttcc_iso8601.log"; } | add_seed "$dir"
      done ;;
  esac
}

log "building ${#ALL[@]} targets (nightly, release, debug assertions, no sanitizer)"
(cd "$FUZZ_DIR" && nice -n 10 cargo +nightly fuzz build --release --debug-assertions --sanitizer none)
BIN_DIR="$FUZZ_DIR/target/x86_64-unknown-linux-gnu/release"
CLK_TCK=$(getconf CLK_TCK)

declare -a rows
crashed=0
for t in "${targets[@]}"; do
  corpus="$FUZZ_DIR/corpus/$t"
  artifacts="$FUZZ_DIR/artifacts/$t"
  mkdir -p "$corpus" "$artifacts"
  if [[ $seed == 1 ]] || [[ -z "$(ls -A "$corpus")" ]]; then
    seed "$t"
  fi
  before=$(find "$artifacts" -type f | wc -l)
  out="$FUZZ_DIR/artifacts/$t.log"
  log "fuzzing $t for ${secs}s (log: ${out#"$REPO_DIR"/})"
  status=ok
  fuzz_args=("$corpus" -timeout=10 -rss_limit_mb=2048 -max_len=16384 -print_final_stats=1
    -artifact_prefix="$artifacts/")
  if [[ $cpu_budget == 1 ]]; then
    # Stopped with SIGINT once its CPU time reaches the budget: libFuzzer then prints its final
    # stats and exits with its -interrupted_exitcode (72), which is not a crash.
    nice -n 10 "$BIN_DIR/$t" "${fuzz_args[@]}" -max_total_time=$((secs * 20)) >"$out" 2>&1 &
    pid=$!
    ticks=0
    while kill -0 "$pid" 2>/dev/null; do
      ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo "$ticks")
      if (( ticks >= secs * CLK_TCK )); then kill -INT "$pid"; break; fi
      sleep 2
    done
    rc=0
    wait "$pid" || rc=$?
    [[ $rc == 0 || $rc == 72 ]] || status=CRASH
    cpu=$(( ticks / CLK_TCK ))
  else
    # CPU seconds (user + system) beside the wall-clock budget: on a busy machine a target gets
    # less CPU than its SECONDS.
    cpu_file=$(mktemp)
    { TIMEFORMAT='%U %S'; time nice -n 10 "$BIN_DIR/$t" "${fuzz_args[@]}" \
      -max_total_time="$secs" >"$out" 2>&1 || status=CRASH; } 2>"$cpu_file"
    read -r user sys <"$cpu_file" || true
    rm -f "$cpu_file"
    cpu=$(awk -v u="${user:-0}" -v s="${sys:-0}" 'BEGIN { printf "%.0f", u + s }')
  fi
  if [[ $minimize == 1 ]]; then
    tmp=$(mktemp -d)
    nice -n 10 "$BIN_DIR/$t" -set_cover_merge=1 "$tmp" "$corpus" >>"$out" 2>&1
    rm -rf "$corpus" && mv "$tmp" "$corpus"
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out" | tail -1)
  crashes=$(($(find "$artifacts" -type f | wc -l) - before))
  [[ $status == ok && $crashes == 0 ]] || { status=CRASH; crashed=1; }
  rows+=("$(printf '%-15s %8s %8s %12s %9s %8s %8s  %s' "$t" "$secs" "$cpu" "${execs:-?}" "${rate:-?}" \
    "$(find "$corpus" -type f | wc -l)" "$crashes" "$status")")
done

printf '%-15s %8s %8s %12s %9s %8s %8s  %s\n' target seconds cpu_s executions exec/s corpus crashes status
printf '%s\n' "${rows[@]}"
if [[ $crashed == 1 ]]; then
  die "crashes: see fuzz/artifacts/TARGET/ and the logs beside them"
fi
