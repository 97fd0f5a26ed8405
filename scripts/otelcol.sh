#!/usr/bin/env bash
# otelcol.sh — the OpenTelemetry Collector the OTLP tests run: built with the collector builder
# (ocb, go.opentelemetry.io/collector/cmd/builder) from the Go module proxy, from the manifest
# scripts/otelcol/manifest.yaml (OTLP receiver; file, debug and prometheus exporters), cached
# under .cache/tools/ so that a second run does nothing.
#
# Usage: scripts/otelcol.sh build|path|start|stop|status|env
#   build    build the collector unless the cached binary for this manifest exists; prints its path
#   path     same as build (the tests call it)
#   start    run it in the background on 127.0.0.1 with a config that writes what it receives to
#            $KSE_OTELCOL_STATE_DIR/{traces,metrics}.json and serves it in the Prometheus format;
#            prints `export KSE_OTELCOL_…=` lines (endpoints, files, pid)
#   stop     stop the collector started by `start`
#   status   exit 0 while it runs
#   env      print the export lines of the running collector
#
# Environment (all optional):
#   KSE_OTELCOL_GRPC_PORT   OTLP/gRPC port     (default 4317)
#   KSE_OTELCOL_HTTP_PORT   OTLP/HTTP port     (default 4318)
#   KSE_OTELCOL_PROM_PORT   Prometheus port    (default 8889)
#   KSE_OTELCOL_STATE_DIR   pid, config, output files (default .cache/otelcol-run)
#   KSE_GO (or GO)          the go command     (default: go on PATH, else /usr/local/go/bin/go)
#   KSE_OTELCOL_BUILD_TIMEOUT_SECS  bound on the build (default 1800)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MANIFEST="$SCRIPT_DIR/otelcol/manifest.yaml"
OCB_VERSION="v0.161.0"
STATE_DIR="${KSE_OTELCOL_STATE_DIR:-$REPO_DIR/.cache/otelcol-run}"
GRPC_PORT="${KSE_OTELCOL_GRPC_PORT:-4317}"
HTTP_PORT="${KSE_OTELCOL_HTTP_PORT:-4318}"
PROM_PORT="${KSE_OTELCOL_PROM_PORT:-8889}"

# the go command, or die saying why it is needed
go_or_die() {
  find_go || die "no Go toolchain (KSE_GO, go on PATH or /usr/local/go/bin/go); the collector is built from the Go module proxy and needs Go 1.24+"
}

# The cached binary's path: keyed by the manifest and the Go version, so a change to either
# rebuilds.
binary_path() {
  local go key
  go="$(go_or_die)"
  key="$( { cat "$MANIFEST"; "$go" version; printf '%s\n' "$OCB_VERSION"; } | sha256sum | cut -c1-16)"
  printf '%s\n' "$TOOLS_DIR/otelcol-kse-$key/otelcol-kse"
}

build() {
  local bin go dir ocb_dir ocb tmp
  bin="$(binary_path)"
  if [[ -x "$bin" ]]; then printf '%s\n' "$bin"; return 0; fi
  mkdir -p "$TOOLS_DIR"
  # One build at a time (parallel test binaries may all ask).
  exec 9>"$TOOLS_DIR/otelcol.lock"
  flock 9
  if [[ -x "$bin" ]]; then printf '%s\n' "$bin"; return 0; fi
  secs_from_env BUILD_TIMEOUT KSE_OTELCOL_BUILD_TIMEOUT_SECS 1800
  go="$(go_or_die)"
  ocb_dir="$TOOLS_DIR/ocb-$OCB_VERSION"
  ocb="$ocb_dir/builder"
  if [[ ! -x "$ocb" ]]; then
    log "installing the collector builder $OCB_VERSION (go install) …"
    mkdir -p "$ocb_dir"
    GOBIN="$ocb_dir" timeout "$BUILD_TIMEOUT" "$go" install "go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION" >&2 \
      || die "go install go.opentelemetry.io/collector/cmd/builder@$OCB_VERSION failed"
  fi
  dir="$(dirname "$bin")"
  tmp="$dir.tmp"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  sed "s#PLACEHOLDER_OUTPUT#$tmp#" "$MANIFEST" >"$tmp/manifest.yaml"
  log "building the OpenTelemetry Collector from $MANIFEST (first time only; several minutes) …"
  local t0=$SECONDS
  PATH="$(dirname "$go"):$PATH" timeout "$BUILD_TIMEOUT" nice -n 10 "$ocb" --config "$tmp/manifest.yaml" --ldflags="-s -w" >"$tmp/build.log" 2>&1 || {
    tail -n 40 "$tmp/build.log" >&2
    die "the collector build failed (log: $tmp/build.log)"
  }
  [[ -x "$tmp/otelcol-kse" ]] || die "the builder produced no binary (log: $tmp/build.log)"
  rm -rf "$dir"
  mkdir -p "$dir"
  mv "$tmp/otelcol-kse" "$tmp/manifest.yaml" "$tmp/build.log" "$dir/"
  rm -rf "$tmp"
  log "built $dir/otelcol-kse in $((SECONDS - t0)) s"
  printf '%s\n' "$dir/otelcol-kse"
}

write_config() {
  cat >"$STATE_DIR/config.yaml" <<EOF
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:$GRPC_PORT
      http:
        endpoint: 127.0.0.1:$HTTP_PORT
exporters:
  file/traces:
    path: $STATE_DIR/traces.json
    flush_interval: 100ms
  file/metrics:
    path: $STATE_DIR/metrics.json
    flush_interval: 100ms
  prometheus:
    endpoint: 127.0.0.1:$PROM_PORT
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [file/traces]
    metrics:
      receivers: [otlp]
      exporters: [file/metrics, prometheus]
EOF
}

print_env() {
  cat <<EOF
export KSE_OTELCOL_PID=$(cat "$STATE_DIR/pid")
export KSE_OTELCOL_GRPC_ENDPOINT=http://127.0.0.1:$GRPC_PORT
export KSE_OTELCOL_HTTP_ENDPOINT=http://127.0.0.1:$HTTP_PORT
export KSE_OTELCOL_PROMETHEUS=http://127.0.0.1:$PROM_PORT/metrics
export KSE_OTELCOL_TRACES_FILE=$STATE_DIR/traces.json
export KSE_OTELCOL_METRICS_FILE=$STATE_DIR/metrics.json
EOF
}

running() { [[ -f "$STATE_DIR/pid" ]] && kill -0 "$(cat "$STATE_DIR/pid")" 2>/dev/null; }

start() {
  local bin i
  bin="$(build)"
  mkdir -p "$STATE_DIR"
  if running; then log "already running (pid $(cat "$STATE_DIR/pid"))"; print_env; return 0; fi
  write_config
  "$bin" --config "$STATE_DIR/config.yaml" >"$STATE_DIR/collector.log" 2>&1 </dev/null &
  echo $! >"$STATE_DIR/pid"
  for ((i = 0; i < 300; i++)); do
    if ! running; then tail -n 30 "$STATE_DIR/collector.log" >&2; die "the collector exited at start"; fi
    if grep -q "Everything is ready" "$STATE_DIR/collector.log"; then print_env; return 0; fi
    sleep 0.1
  done
  tail -n 30 "$STATE_DIR/collector.log" >&2
  die "the collector did not become ready within 30 s"
}

stop() {
  running || { rm -f "$STATE_DIR/pid"; return 0; }
  local pid i
  pid="$(cat "$STATE_DIR/pid")"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$STATE_DIR/pid"; return 0; }
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$STATE_DIR/pid"
}

case "${1:-}" in
  build|path) build ;;
  start) start ;;
  stop) stop ;;
  status) running ;;
  env) running || die "not running"; print_env ;;
  -h|--help|"") usage ;;
  *) die "unknown command '$1' (build|path|start|stop|status|env)" ;;
esac
