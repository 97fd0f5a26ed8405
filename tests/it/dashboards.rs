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

#[test]
fn the_five_dashboards_exist_with_fixed_uids_and_titles() {
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
        // Variables: datasource first, then job, then instance (dashboard-linter template-*-rule).
        let vars = d["templating"]["list"].as_array().unwrap();
        let names: Vec<&str> = vars.iter().map(|v| v["name"].as_str().unwrap()).collect();
        if names.len() < 3 || names[..3] != ["datasource", "job", "instance"] {
            p(format!(
                "variables must start datasource, job, instance; got {names:?}"
            ));
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
                    if !q.starts_with("label_values(kafka_security_build_info")
                        || !q.ends_with(&format!(", {name})"))
                    {
                        p(format!("variable {name}: expected label_values(kafka_security_build_info…, {name}), got {q:?}"));
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

/// dashboard-linter's target rules: job and instance matchers on every selector, rates over
/// $__rate_interval, counters only under a range function.
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
        if COUNTER_SUFFIXES.iter().any(|suf| s.name.ends_with(suf)) && !s.ranged {
            p(format!("counter {} used without rate()/increase()", s.name));
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
        r#"sum(rate(kafka_security_events_total{job=~"$job"}[5m])) + kafka_security_parse_errors_total{job=~"$job", instance=~"$instance"}"#,
        &mut |m| found.push(m),
    );
    assert_eq!(
        found,
        [
            "kafka_security_events_total lacks instance=~\"$instance\"",
            "counter kafka_security_parse_errors_total used without rate()/increase()",
            "rate() must use [$__rate_interval]",
        ]
    );
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
