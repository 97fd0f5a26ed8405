#!/usr/bin/env bash
# sync-chart.sh — copies the single sources alerts/*.rules.yml and dashboards/*.json into the Helm
# chart (helm/kafka-security-exporter/files/), which cannot read files outside itself.
#
# Usage: scripts/sync-chart.sh           copy (and delete chart copies whose source is gone)
#        scripts/sync-chart.sh --check   change nothing; exit 1 listing every copy that differs
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FILES="$REPO_DIR/helm/kafka-security-exporter/files"
CHECK=0
case "${1:-}" in
  --check) CHECK=1 ;;
  "") ;;
  -h|--help) usage; exit 0 ;;
  *) log "unknown argument $1"; exit 64 ;;
esac

# source dir, glob, chart dir
pairs=("alerts|*.rules.yml|alerts" "dashboards|*.json|dashboards")
stale=()
for pair in "${pairs[@]}"; do
  IFS='|' read -r src glob dst <<<"$pair"
  mkdir -p "$FILES/$dst"
  shopt -s nullglob
  for f in "$REPO_DIR/$src"/$glob; do
    copy="$FILES/$dst/$(basename "$f")"
    if ! cmp -s "$f" "$copy"; then
      stale+=("${copy#"$REPO_DIR"/} differs from ${f#"$REPO_DIR"/}")
      (( CHECK )) || cp "$f" "$copy"
    fi
  done
  for copy in "$FILES/$dst"/$glob; do
    if [[ ! -e "$REPO_DIR/$src/$(basename "$copy")" ]]; then
      stale+=("${copy#"$REPO_DIR"/} has no source in $src/")
      (( CHECK )) || rm -f "$copy"
    fi
  done
  shopt -u nullglob
done

if (( ${#stale[@]} == 0 )); then
  log "the chart copies of alerts/ and dashboards/ are up to date"
  exit 0
fi
if (( CHECK )); then
  log "the chart copies are out of date (run scripts/sync-chart.sh):"
  printf '  %s\n' "${stale[@]}" >&2
  exit 1
fi
log "updated"
printf '  %s\n' "${stale[@]}" >&2
