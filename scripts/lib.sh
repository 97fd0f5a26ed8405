# shellcheck shell=bash
# lib.sh — what the scripts under scripts/ share. Not run on its own: a script sources it from
# its own directory, so that it works from any working directory:
#
#   # shellcheck source-path=SCRIPTDIR source=lib.sh
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# It sets PROG (the calling script's file name, which prefixes every message), SCRIPT_DIR (the
# calling script's directory, absolute), REPO_DIR (the repository root) and TOOLS_DIR (where
# tools.sh caches the tool binaries and otelcol.sh the collector), and defines:
#   log MSG…       "PROG: MSG" on stderr
#   warn MSG…      "PROG: warning: MSG" on stderr
#   die MSG…       "PROG: error: MSG" on stderr, then exit 1
#   usage          the calling script's header comment (from line 2 to `set -euo …`), on stdout
#   is_uint S      S is a non-negative decimal integer
#   require_secs VAR…  die unless each named variable holds a number of seconds above 0
#   secs_from_env VAR ENV DEFAULT  VAR=$ENV (DEFAULT when unset or empty), then require_secs VAR
#   java_major     the major version of `java` on PATH (8, 17, 21, …); prints nothing when unknown
#   find_go        the go command: $KSE_GO, else $GO, else go on PATH, else /usr/local/go/bin/go;
#                  fails (prints nothing) when there is none, so that the caller can say what
#                  needed Go

# The script that sourced this file, by absolute path (the script may change directory).
KSE_LIB_CALLER="${BASH_SOURCE[1]:-$0}"
KSE_LIB_CALLER="$(cd "$(dirname "$KSE_LIB_CALLER")" && pwd)/$(basename "$KSE_LIB_CALLER")"
PROG="$(basename "$KSE_LIB_CALLER")"
# shellcheck disable=SC2034 # used by the scripts that source this file
{
  SCRIPT_DIR="$(dirname "$KSE_LIB_CALLER")"
  REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  TOOLS_DIR="$REPO_DIR/.cache/tools"
}

log()  { printf '%s: %s\n' "$PROG" "$*" >&2; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die()  { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

usage() {
  sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$KSE_LIB_CALLER"
}

# Points KSE_KAFKA_* at the test broker (scripts/kafka-broker.sh) unless KSE_KAFKA_BOOTSTRAP is
# set already; a broker this starts is stopped when the script exits.
use_test_broker() {
  [[ -z "${KSE_KAFKA_BOOTSTRAP:-}" ]] || return 0
  local stop=0
  "$SCRIPT_DIR/kafka-broker.sh" status >/dev/null 2>&1 || stop=1
  eval "$("$SCRIPT_DIR/kafka-broker.sh" start)"
  if (( stop )); then
    trap '"$SCRIPT_DIR/kafka-broker.sh" stop >/dev/null 2>&1 || true' EXIT
  fi
}
# The `properties:` of a client of the test broker (its super user over SASL/SCRAM), as YAML
# indented by $1 spaces, for the configs bench.sh and soak.sh write.
test_broker_properties() {
  local pad line
  pad="$(printf '%*s' "$1" '')"
  printf '%sproperties:\n' "$pad"
  for line in "bootstrap.servers: \"$KSE_KAFKA_BOOTSTRAP\"" 'security.protocol: SASL_PLAINTEXT' \
    'sasl.mechanism: SCRAM-SHA-256' 'sasl.username: admin' 'sasl.password: "admin-secret"'; do
    printf '%s  %s\n' "$pad" "$line"
  done
}
is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }

require_secs() { # VAR…
  local v
  for v in "$@"; do
    if ! is_uint "${!v}" || (( ${!v} == 0 )); then die "invalid number of seconds $v=${!v}"; fi
  done
}

secs_from_env() { # VAR ENV DEFAULT
  printf -v "$1" '%s' "${!2:-$3}"
  require_secs "$1"
}

java_major() {
  local line major
  line="$(java -version 2>&1 | head -n 1)" || return 0
  major="$(sed -n 's/.*version "\([0-9][0-9]*\)\.\{0,1\}\([0-9]*\).*/\1 \2/p' <<<"$line")"
  # "1.8.0_402" is Java 8; "17.0.10" is Java 17
  if [[ "$major" == "1 "* ]]; then major="${major#1 }"; else major="${major%% *}"; fi
  is_uint "$major" && printf '%s\n' "$major"
  return 0
}

find_go() {
  local override="${KSE_GO:-${GO:-}}"
  if [[ -n "$override" ]]; then printf '%s\n' "$override"; return 0; fi
  if command -v go >/dev/null 2>&1; then command -v go; return 0; fi
  if [[ -x /usr/local/go/bin/go ]]; then printf '%s\n' /usr/local/go/bin/go; return 0; fi
  return 1
}
