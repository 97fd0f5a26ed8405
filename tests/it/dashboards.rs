//! The Grafana dashboards in dashboards/: the conventions of STYLE.md and the rules of
//! grafana/dashboard-linter (which the Go module proxy does not serve, so they are applied here),
//! and the chart's copies being identical to them. That every query returns data against the real
//! exporter is tests/it/e2e_prometheus.rs.

use crate::support::promql;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use serde_json::Value;

use crate::support::repo_dir;

/// (file name, dashboard) for every dashboard.
fn dashboards() -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(repo_dir().join("dashboards")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let v: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", path.display()));
            out.push((path.file_name().unwrap().to_string_lossy().into_owned(), v));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Every panel, rows' nested panels included.
fn panels(d: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in d["panels"].as_array().unwrap() {
        out.push(p);
        if let Some(inner) = p["panels"].as_array() {
            out.extend(inner);
        }
    }
    out
}

const COUNTER_SUFFIXES: [&str; 4] = ["_total", "_bucket", "_count", "_sum"];

/// Every metric the exporter emits that a dashboard may query (histograms by family name), the
/// detectors' included: a query naming anything else shows nothing.
const EXPORTER_METRICS: [&str; 23] = [
    "kafka_security_acl_changes_total",
    "kafka_security_authentication_failures_by_client_total",
    "kafka_security_authentication_total",
    "kafka_security_authorization_denials_by_principal_total",
    "kafka_security_authorization_total",
    "kafka_security_build_info",
    "kafka_security_config_changes_total",
    "kafka_security_connections_rejected_total",
    "kafka_security_consumer_lag_messages",
    "kafka_security_controller_replays_skipped_total",
    "kafka_security_credential_changes_total",
    "kafka_security_detections_total",
    "kafka_security_detector_overflow_total",
    "kafka_security_event_delay_seconds",
    "kafka_security_events_total",
    "kafka_security_log_lines_total",
    "kafka_security_otlp_dropped_total",
    "kafka_security_otlp_export_failures_total",
    "kafka_security_parse_errors_total",
    "kafka_security_redelivered_records_total",
    "kafka_security_request_duration_seconds",
    "kafka_security_series_overflow_total",
    "kafka_security_source_up",
];

#[test]
fn the_six_dashboards_exist_with_fixed_uids_and_titles() {
    let found: BTreeMap<String, String> = dashboards()
        .iter()
        .map(|(_, d)| {
            (
                d["uid"].as_str().unwrap().to_string(),
                d["title"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want: BTreeMap<String, String> = [
        ("kse-overview", "Kafka Security / Overview"),
        ("kse-authentication", "Kafka Security / Authentication"),
        ("kse-authorization", "Kafka Security / Authorization"),
        ("kse-changes", "Kafka Security / Changes"),
        ("kse-detections", "Kafka Security / Detections"),
        ("kse-exporter", "Kafka Security / Exporter health"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(found, want);
}

#[test]
fn every_dashboard_follows_the_conventions() {
    let mut problems = Vec::new();
    for (file, d) in dashboards() {
        let mut p = |msg: String| problems.push(format!("{file}: {msg}"));
        if d["schemaVersion"].as_u64().unwrap_or(0) < 39 {
            p("schemaVersion below 39 (Grafana 10.4+)".into());
        }
        if d["description"].as_str().unwrap_or("").is_empty() {
            p("no dashboard description".into());
        }
        let tags: Vec<&str> = d["tags"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if !tags.contains(&"kafka-security") {
            p("missing tag kafka-security (the dashboard links find each other by it)".into());
        }
        // Links between the dashboards, keeping time and variables.
        let links = d["links"].as_array().unwrap();
        if !links.iter().any(|l| {
            l["type"] == "dashboards"
                && l["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|t| t == "kafka-security"))
                && l["keepTime"] == true
                && l["includeVars"] == true
        }) {
            p("no dashboards link by tag kafka-security with keepTime and includeVars".into());
        }
        // Alert annotations from the shipped alerts.
        let annotations = d["annotations"]["list"].as_array().unwrap();
        if !annotations.iter().any(|a| {
            a["expr"]
                .as_str()
                .is_some_and(|e| e.contains("ALERTS{") && e.contains("KafkaSecurity"))
                && a["enable"] == true
        }) {
            p("no enabled annotation of KafkaSecurity alerts".into());
        }
        // Variables: datasource first, then job, then instance (dashboard-linter template-*-rule),
        // then cluster (two Kafka clusters behind one job must not merge).
        let vars = d["templating"]["list"].as_array().unwrap();
        let names: Vec<&str> = vars.iter().map(|v| v["name"].as_str().unwrap()).collect();
        if names.len() < 4 || names[..4] != ["datasource", "job", "instance", "cluster"] {
            p(format!(
                "variables must start datasource, job, instance, cluster; got {names:?}"
            ));
        }
        let uid = d["uid"].as_str().unwrap_or("");
        let wanted: &[&str] = match uid {
            "kse-overview" => &["principal", "client_host"],
            "kse-authentication" => &["client_host"],
            "kse-authorization" => &["principal"],
            "kse-detections" => &["detector", "subject"],
            _ => &[],
        };
        for w in wanted {
            if !names.contains(w) {
                p(format!("no {w} variable"));
            }
        }
        for v in vars {
            let name = v["name"].as_str().unwrap();
            match v["type"].as_str().unwrap() {
                "datasource" => {
                    if v["query"] != "prometheus" {
                        p(format!(
                            "variable {name}: datasource type must be prometheus"
                        ));
                    }
                }
                "query" => {
                    if v["datasource"]["uid"] != "${datasource}" {
                        p(format!(
                            "variable {name}: datasource must be ${{datasource}}"
                        ));
                    }
                    if v["refresh"] != 2 {
                        p(format!(
                            "variable {name}: refresh must be 2 (on time range change)"
                        ));
                    }
                    if v["multi"] != true || v["includeAll"] != true || v["allValue"] != ".+" {
                        p(format!(
                            "variable {name}: multi, includeAll and allValue \".+\" expected"
                        ));
                    }
                    let q = v["query"]["query"].as_str().unwrap_or("");
                    let scoped = name == "job" || q.contains("job=~\"$job\"");
                    if !q.starts_with("label_values(kafka_security_")
                        || !q.ends_with(&format!(", {name})"))
                        || !scoped
                    {
                        p(format!("variable {name}: expected label_values(kafka_security_…{{job=~\"$job\"…}}, {name}), got {q:?}"));
                    }
                }
                "textbox" | "constant" | "custom" => {}
                other => p(format!("variable {name}: unexpected type {other}")),
            }
        }
        // Panels.
        let mut ids = BTreeSet::new();
        let mut cells: BTreeMap<(i64, i64), String> = BTreeMap::new();
        for panel in panels(&d) {
            let title = panel["title"].as_str().unwrap_or("").to_string();
            let id = panel["id"].as_i64().unwrap_or(-1);
            if !ids.insert(id) {
                p(format!("panel {title:?}: duplicate id {id}"));
            }
            let g = &panel["gridPos"];
            let (x, y, w, h) = (
                g["x"].as_i64().unwrap(),
                g["y"].as_i64().unwrap(),
                g["w"].as_i64().unwrap(),
                g["h"].as_i64().unwrap(),
            );
            if x < 0 || w < 1 || x + w > 24 || h < 1 {
                p(format!(
                    "panel {title:?}: gridPos out of the 24-column grid"
                ));
            }
            for cx in x..x + w {
                for cy in y..y + h {
                    if let Some(other) = cells.insert((cx, cy), title.clone()) {
                        p(format!("panel {title:?} overlaps {other:?}"));
                    }
                }
            }
            if panel["type"] == "row" {
                continue;
            }
            if title.is_empty() {
                p(format!("panel {id}: no title"));
            }
            if panel["description"].as_str().unwrap_or("").is_empty() {
                p(format!("panel {title:?}: no description"));
            }
            if panel["datasource"]["uid"] != "${datasource}" {
                p(format!(
                    "panel {title:?}: datasource must be ${{datasource}}"
                ));
            }
            if panel["fieldConfig"]["defaults"]["unit"]
                .as_str()
                .unwrap_or("")
                .is_empty()
            {
                p(format!("panel {title:?}: no unit"));
            }
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                p(format!("panel {title:?}: no queries"));
            }
            if panel["type"] == "table" {
                for problem in table_link_problems(panel) {
                    p(format!("table {title:?}: {problem}"));
                }
            }
            for t in &targets {
                if t["datasource"]["uid"] != "${datasource}" {
                    p(format!(
                        "panel {title:?}: query {} datasource must be ${{datasource}}",
                        t["refId"]
                    ));
                }
                let expr = t["expr"].as_str().unwrap_or("");
                problems_of_query(expr, &mut |m| {
                    p(format!("panel {title:?} query {}: {m}", t["refId"]))
                });
            }
        }
        for a in annotations.iter().filter(|a| a["expr"].is_string()) {
            if a["datasource"]["uid"] != "${datasource}" {
                p("alert annotation datasource must be ${datasource}".into());
            }
        }
    }
    assert!(
        problems.is_empty(),
        "dashboard problems:\n  {}",
        problems.join("\n  ")
    );
}

/// A table's data links: at least one, each keeping the time range and the cluster; a
/// `principal`, `client_host` or `subject` column links to the view filtered on the cell's value.
fn table_link_problems(panel: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let fc = &panel["fieldConfig"];
    let mut links: Vec<&Value> = fc["defaults"]["links"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    let mut linked_columns = BTreeSet::new();
    for o in fc["overrides"].as_array().into_iter().flatten() {
        for prop in o["properties"].as_array().into_iter().flatten() {
            if prop["id"] == "links" {
                linked_columns.insert(o["matcher"]["options"].as_str().unwrap_or("").to_string());
                links.extend(prop["value"].as_array().into_iter().flatten());
            }
        }
    }
    if links.is_empty() {
        out.push("no data link".into());
    }
    for l in &links {
        let url = l["url"].as_str().unwrap_or("");
        if !url.starts_with("/d/kse-")
            || !url.contains("${__url_time_range}")
            || !url.contains("var-cluster=${cluster}")
        {
            out.push(format!(
                "link {url:?} must open /d/kse-… keeping ${{__url_time_range}} and var-cluster=${{cluster}}"
            ));
        }
    }
    let exprs: String = panel["targets"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["expr"].as_str())
        .collect();
    for column in ["principal", "client_host", "subject"] {
        let shown = exprs.contains(&format!("by ({column}"))
            || exprs.contains(&format!(", {column})"))
            || exprs.contains(&format!(", {column},"));
        if shown && !linked_columns.contains(column) {
            out.push(format!("column {column} has no link to its filtered view"));
        }
    }
    for (column, var) in [
        ("principal", "var-principal=${__value.raw}"),
        ("client_host", "var-client_host=${__value.raw}"),
        ("subject", "var-subject=${__value.raw}"),
    ] {
        if linked_columns.contains(column)
            && !links
                .iter()
                .any(|l| l["url"].as_str().unwrap_or("").contains(var))
        {
            out.push(format!("column {column} must link with {var}"));
        }
    }
    out
}

/// dashboard-linter's target rules: job and instance matchers on every selector, rates over
/// $__rate_interval, counters only under a range function — or in `(x unless x offset W)`, which
/// counts a series born inside the window (every range over a counter must sit beside one), and
/// only metrics the exporter emits.
fn problems_of_query(expr: &str, p: &mut dyn FnMut(String)) {
    if expr.is_empty() {
        p("empty expression".into());
        return;
    }
    let refs = match promql::refs(expr) {
        Ok(r) => r,
        Err(e) => return p(e),
    };
    for s in &refs.selectors {
        let has = |label: &str, value: &str| {
            s.matchers
                .iter()
                .any(|(l, op, v)| l == label && op == "=~" && v == value)
        };
        if !has("job", "$job") {
            p(format!("{} lacks job=~\"$job\"", s.name));
        }
        // ALERTS of aggregated alerts carry no instance.
        if s.name != "ALERTS" && !has("instance", "$instance") {
            p(format!("{} lacks instance=~\"$instance\"", s.name));
        }
        let counter = COUNTER_SUFFIXES.iter().any(|suf| s.name.ends_with(suf));
        if counter && !s.ranged && !expr.contains(&format!(" unless {}", s.name)) {
            p(format!("counter {} used without rate()/increase()", s.name));
        }
        let family = COUNTER_SUFFIXES
            .iter()
            .filter(|suf| **suf != "_total")
            .find_map(|suf| s.name.strip_suffix(suf))
            .unwrap_or(&s.name);
        if s.name.starts_with("kafka_security_") && !EXPORTER_METRICS.contains(&family) {
            p(format!("{} is not a metric the exporter emits", s.name));
        }
    }
    // Ranges over counters also count the series born inside them.
    let range = regex::Regex::new(
        r"\b(?:increase|rate)\((kafka_security_\w+(?:_total|_count|_bucket)(?:\{[^}]*\})?)\[([^\]]+)\]\)",
    )
    .expect("valid regex");
    for m in range.captures_iter(expr) {
        let born = format!("({sel} unless {sel} offset {w})", sel = &m[1], w = &m[2]);
        if !expr.contains(&born) {
            p(format!("{} without {born}", &m[0]));
        }
    }
    for f in ["rate", "irate"] {
        if refs.functions.contains(f) {
            // every range given to rate/irate is $__rate_interval
            let mut rest = expr;
            while let Some(i) = rest.find(&format!("{f}(")) {
                rest = &rest[i + f.len() + 1..];
                let close = rest.find(']').unwrap_or(rest.len());
                let open = rest.find('[').unwrap_or(rest.len());
                if open >= close || &rest[open + 1..close] != "$__rate_interval" {
                    p(format!("{f}() must use [$__rate_interval]"));
                }
            }
        }
    }
}

#[test]
fn the_query_checks_catch_what_they_claim() {
    let mut found = Vec::new();
    problems_of_query(
        r#"sum(rate(kafka_security_events_total{job=~"$job"}[5m])) + kafka_security_parse_errors_total{job=~"$job", instance=~"$instance"} + kafka_security_nope{job=~"$job", instance=~"$instance"}"#,
        &mut |m| found.push(m),
    );
    assert_eq!(
        found,
        [
            "kafka_security_events_total lacks instance=~\"$instance\"",
            "counter kafka_security_parse_errors_total used without rate()/increase()",
            "kafka_security_nope is not a metric the exporter emits",
            "rate(kafka_security_events_total{job=~\"$job\"}[5m]) without (kafka_security_events_total{job=~\"$job\"} unless kafka_security_events_total{job=~\"$job\"} offset 5m)",
            "rate() must use [$__rate_interval]",
        ]
    );
    let mut found = Vec::new();
    problems_of_query(
        r#"sum((kafka_security_detections_total{job=~"$job", instance=~"$instance"} unless kafka_security_detections_total{job=~"$job", instance=~"$instance"} offset $__range) or increase(kafka_security_detections_total{job=~"$job", instance=~"$instance"}[$__range]))"#,
        &mut |m| found.push(m),
    );
    assert_eq!(found, Vec::<String>::new());
}

#[test]
fn the_chart_carries_identical_copies_of_dashboards_and_alerts() {
    let chart = repo_dir().join("helm/kafka-security-exporter/files");
    let mut problems = Vec::new();
    for (src, dst, ext) in [
        ("dashboards", "dashboards", ".json"),
        ("alerts", "alerts", ".rules.yml"),
    ] {
        let list = |dir: PathBuf| -> BTreeSet<String> {
            std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(ext))
                .collect()
        };
        let sources = list(repo_dir().join(src));
        let copies = list(chart.join(dst));
        assert!(!sources.is_empty(), "no {ext} files in {src}/");
        for name in sources.symmetric_difference(&copies) {
            problems.push(format!(
                "{name} is in only one of {src}/ and the chart's files/{dst}/"
            ));
        }
        for name in sources.intersection(&copies) {
            let a = std::fs::read(repo_dir().join(src).join(name)).unwrap();
            let b = std::fs::read(chart.join(dst).join(name)).unwrap();
            if a != b {
                problems.push(format!("files/{dst}/{name} differs from {src}/{name}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "the chart's copies are stale; run scripts/sync-chart.sh:\n  {}",
        problems.join("\n  ")
    );
}
