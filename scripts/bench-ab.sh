#!/usr/bin/env bash
# A/B comparison of two builds of examples/authorizer_lines on a VM whose speed drifts: the two
# binaries run alternately, so both see the same drift, and the minimum and median ns/line of
# each are printed.
#
# Usage: scripts/bench-ab.sh BIN_A BIN_B [RUNS] [ROUNDS] [MODE]
#   MODE is passed on to the example: matching, framed or framed-layout (default: the `line` loop).
#   e.g. cp target/release/examples/authorizer_lines /tmp/before   (then change, rebuild)
#        scripts/bench-ab.sh /tmp/before target/release/examples/authorizer_lines 10
set -euo pipefail
a=${1:?BIN_A}
b=${2:?BIN_B}
runs=${3:-10}
rounds=${4:-2000}
mode=${5:-}
ns() { "$1" "$rounds" ${mode:+"$mode"} | sed -n 's/.*(\([0-9]*\) ns\/line).*/\1/p'; }
declare -a A B
for _ in $(seq "$runs"); do
  A+=("$(ns "$a")")
  B+=("$(ns "$b")")
done
report() {
  local name=$1; shift
  local sorted
  mapfile -t sorted < <(printf '%s\n' "$@" | sort -n)
  local n=${#sorted[@]}
  echo "$name: min ${sorted[0]} ns/line, median ${sorted[$(((n - 1) / 2))]} ns/line (runs: ${sorted[*]})"
}
report "A $a" "${A[@]}"
report "B $b" "${B[@]}"
