#!/usr/bin/env bash
# check-ship.sh — static checks of what we ship besides the binary: the Prometheus rules
# (promtool check + unit tests, pint), the Helm chart (helm lint --strict, helm template with
# default values and with every switch on), the chart's copies of alerts/ and dashboards/, and the
# Dockerfile (hadolint), and the rendered objects against Kubernetes' schemas (kubeconform -strict,
# for the oldest Kubernetes the chart supports and the newest release).
# The Rust tests go further (tests/it/alert_rules.rs, dashboards.rs, helm_chart.rs, e2e_prometheus.rs).
#
# Usage: scripts/check-ship.sh
# Needs: promtool (Debian package prometheus); helm, pint, hadolint, kubeconform and its schemas
# from scripts/tools.sh
# (built or fetched if missing).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$REPO_DIR"
CHART=helm/kafka-security-exporter
KUBE_VERSION=1.30.0

command -v promtool >/dev/null 2>&1 || die "promtool not found: apt-get install prometheus"
bash scripts/tools.sh helm pint hadolint kubeconform k8s-schemas
BIN="$(bash scripts/tools.sh --print-bin)"

log "chart copies of alerts/ and dashboards/"
bash scripts/sync-chart.sh --check

log "promtool check rules"
promtool check rules alerts/*.rules.yml
log "promtool test rules"
promtool test rules alerts/tests/*.yml

log "pint lint"
"$BIN/pint" --no-color lint --fail-on=warning alerts/*.rules.yml

log "helm lint --strict (default values, every switch on)"
"$BIN/helm" lint --strict "$CHART" --kube-version "$KUBE_VERSION"
"$BIN/helm" lint --strict "$CHART" --kube-version "$KUBE_VERSION" -f "$CHART/ci/all-on-values.yaml"

log "helm template (default values, every switch on)"
"$BIN/helm" template kse "$CHART" --kube-version "$KUBE_VERSION" >/dev/null
"$BIN/helm" template kse "$CHART" --kube-version "$KUBE_VERSION" -f "$CHART/ci/all-on-values.yaml" >/dev/null

log "kubeconform -strict (default values, every switch on; oldest and newest Kubernetes)"
for dir in .cache/tools/k8s-schemas/v*; do
  v="${dir##*/v}"
  for values in "" "-f $CHART/ci/all-on-values.yaml"; do
    # shellcheck disable=SC2086 # $values is zero or two words
    "$BIN/helm" template kse "$CHART" --kube-version "$v" $values \
      | "$BIN/kubeconform" -strict -summary -kubernetes-version "$v" \
          -schema-location "$dir/{{ .ResourceKind }}{{ .KindSuffix }}.json" -
  done
done

log "hadolint Dockerfile"
"$BIN/hadolint" --no-color Dockerfile

log "all passed"
