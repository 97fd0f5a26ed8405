//! End to end: the real Prometheus (Debian package `prometheus`) scrapes the real exporter running
//! its demo, with the shipped rules loaded (a copy whose `for:` are 5 s). Then:
//! - every dashboard query and every recording rule returns data;
//! - the brute-force and denial alerts reach pending or firing;
//! - no dashboard query or rule names a metric or label the exporter does not emit (checked
//!   against the live /metrics), and every rule evaluates without error.
//!
//! The demo runs with OTEL_EXPORTER_OTLP_ENDPOINT at a closed port so the OTLP failure series
//! exist, and the test writes a few malformed records into the demo's mock cluster so the parse
//! error series do. It takes about a minute and a half.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value as Json;
use serde_yaml_ng::Value as Yaml;

use crate::support::prometheus::{self, api, query};
use crate::support::{http_get, poll_until, promql, repo_dir, start_demo, wait_until, Scrape};

const JOB: &str = "kafka-security-exporter";
/// Alerts the demo's scenario must raise (pending or firing): its brute-force burst, its denials,
/// and the ACL and SCRAM changes in the broker logs it writes.
const SCENARIO_ALERTS: [&str; 7] = [
    "KafkaSecurityBruteForce",
    "KafkaSecurityPrincipalDenied",
    "KafkaSecurityPrivilegeProbing",
    "KafkaSecuritySensitiveResourceDenied",
    "KafkaSecurityAdminOperationDenied",
    "KafkaSecurityAclChanged",
    "KafkaSecurityCredentialChanged",
];
/// How long to wait for every query to have data before failing with the list of those without.
const DEADLINE: Duration = Duration::from_secs(100);

/// A few records no parser accepts, into the demo's JSON topic.
fn produce_malformed(bootstrap: &str) {
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    let producer: ThreadedProducer<DefaultProducerContext> = rdkafka::ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .create()
        .expect("producer for the mock cluster");
    for i in 0..5 {
        let payload = format!("{{\"event_type\": \"login\", \"user\": \"broken-{i}\"");
        producer
            .send(BaseRecord::<(), str>::to("app-security-events").payload(&payload))
            .map_err(|(e, _)| e)
            .expect("queue a malformed record");
    }
    producer
        .flush(Duration::from_secs(10))
        .expect("malformed records delivered");
}

/// One query a dashboard or a rule makes.
#[derive(Debug, Clone)]
struct Query {
    /// "dashboards/x.json: panel "T" A" or "rule job:…".
    origin: String,
    /// As written (Grafana variables and all).
    raw: String,
}

fn dashboard_queries() -> (Vec<Query>, Vec<(String, String)>) {
    let mut queries = Vec::new();
    let mut custom = Vec::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_dir().join("dashboards"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    for path in files {
        let d: Json = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for v in d["templating"]["list"].as_array().unwrap() {
            if v["type"] == "textbox" || v["type"] == "constant" {
                custom.push((
                    v["name"].as_str().unwrap().to_string(),
                    v["query"].as_str().unwrap().to_string(),
                ));
            }
            // Query variables beyond job and instance (cluster, principal, …) at "All".
            let name = v["name"].as_str().unwrap();
            if v["type"] == "query" && !["job", "instance"].contains(&name) {
                custom.push((
                    name.to_string(),
                    v["allValue"].as_str().unwrap().to_string(),
                ));
            }
        }
        let mut panels: Vec<&Json> = Vec::new();
        for p in d["panels"].as_array().unwrap() {
            panels.push(p);
            panels.extend(p["panels"].as_array().into_iter().flatten());
        }
        for p in panels {
            for t in p["targets"].as_array().into_iter().flatten() {
                queries.push(Query {
                    origin: format!(
                        "{file}: panel {:?} {}",
                        p["title"].as_str().unwrap_or(""),
                        t["refId"].as_str().unwrap_or("")
                    ),
                    raw: t["expr"].as_str().unwrap().to_string(),
                });
            }
        }
        for a in d["annotations"]["list"].as_array().unwrap() {
            if let Some(e) = a["expr"].as_str() {
                queries.push(Query {
                    origin: format!("{file}: annotation {:?}", a["name"].as_str().unwrap_or("")),
                    raw: e.to_string(),
                });
            }
        }
    }
    (queries, custom)
}

/// (name, expr, is_alert) of every shipped rule.
fn shipped_rules() -> Vec<(String, String, bool)> {
    let doc: Yaml = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo_dir().join("alerts/kafka-security.rules.yml")).unwrap(),
    )
    .unwrap();
    let mut out = Vec::new();
    for g in doc["groups"].as_sequence().unwrap() {
        for r in g["rules"].as_sequence().unwrap() {
            let is_alert = r.get("alert").is_some();
            let name = r["alert"]
                .as_str()
                .or(r["record"].as_str())
                .unwrap()
                .to_string();
            out.push((name, r["expr"].as_str().unwrap().to_string(), is_alert));
        }
    }
    out
}

/// Metric name -> label names, as the exporter emits them (plus what Prometheus adds).
fn emitted(scrape: &Scrape) -> BTreeMap<String, BTreeSet<String>> {
    let mut m: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for s in &scrape.samples {
        let labels = m.entry(s.name.clone()).or_default();
        labels.extend(s.labels.keys().cloned());
    }
    for labels in m.values_mut() {
        labels.insert("job".into());
        labels.insert("instance".into());
        // The target label a ServiceMonitor adds; the rules keep it for Alertmanager routes.
        labels.insert("namespace".into());
    }
    m.insert(
        "up".into(),
        ["job", "instance"].into_iter().map(String::from).collect(),
    );
    m
}

/// Problems of one expression: metrics the exporter does not emit, labels they do not have.
fn static_problems(
    origin: &str,
    expr: &str,
    emitted: &BTreeMap<String, BTreeSet<String>>,
    recorded: &BTreeMap<String, BTreeSet<String>>,
    alert_labels: &BTreeSet<String>,
) -> Vec<String> {
    let refs = match promql::refs(expr) {
        Ok(r) => r,
        Err(e) => return vec![format!("{origin}: {e}")],
    };
    let all_labels: BTreeSet<&String> = emitted.values().flatten().chain(alert_labels).collect();
    let mut out = Vec::new();
    for s in &refs.selectors {
        let labels = if s.name == "ALERTS" {
            alert_labels
        } else if let Some(l) = emitted.get(&s.name).or(recorded.get(&s.name)) {
            l
        } else {
            out.push(format!(
                "{origin}: metric {} is not emitted by the exporter",
                s.name
            ));
            continue;
        };
        for (label, _, _) in &s.matchers {
            if !labels.contains(label) {
                out.push(format!("{origin}: {} has no label {label}", s.name));
            }
        }
    }
    for label in &refs.grouping_labels {
        if !all_labels.contains(label) {
            out.push(format!(
                "{origin}: no metric has the label {label} (by/on/without)"
            ));
        }
    }
    out
}

#[test]
fn prometheus_proves_every_panel_and_rule_on_the_demo() {
    let t0 = Instant::now();
    let (_demo, metrics_addr, bootstrap) = start_demo(
        &["--rate", "100", "--duration-secs", "240"],
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")],
    );
    let dir = tempfile::tempdir().unwrap();
    let (_prom, prom) = prometheus::start(
        dir.path(),
        metrics_addr,
        JOB,
        &prometheus::shipped_rules_with_short_for(),
    );
    // The malformed records go in once the demo consumes its JSON topic and Prometheus scrapes.
    wait_until(
        Duration::from_secs(30),
        "the demo consuming JSON records and Prometheus scraping it",
        || {
            let (_, _, body) = http_get(metrics_addr, "/metrics", &[]).ok()?;
            let s = Scrape::parse(std::str::from_utf8(&body).ok()?);
            let consuming = s.sum("kafka_security_events_total", &[("format", "json")]) > 0.0;
            let scraped = query(prom, &format!("up{{job=\"{JOB}\"}} == 1")) == Ok(1);
            (consuming && scraped).then_some(())
        },
    );
    produce_malformed(&bootstrap);

    let (dashboard_queries, custom) = dashboard_queries();
    let rules = shipped_rules();
    let recorded: BTreeMap<String, BTreeSet<String>> = rules
        .iter()
        .filter(|(_, _, alert)| !alert)
        .map(|(name, expr, _)| {
            // A recording rule's labels: its outer `by (…)`.
            let labels = promql::refs(expr)
                .map(|r| r.grouping_labels)
                .unwrap_or_default();
            (name.clone(), labels)
        })
        .collect();
    let mut alert_labels: BTreeSet<String> =
        ["alertname", "alertstate", "severity", "job", "instance"]
            .into_iter()
            .map(String::from)
            .collect();
    for (_, expr, alert) in &rules {
        if *alert {
            alert_labels.extend(
                promql::refs(expr)
                    .map(|r| r.grouping_labels)
                    .unwrap_or_default(),
            );
        }
    }

    let mut checks: Vec<Query> = dashboard_queries.clone();
    for (name, _, alert) in &rules {
        if !alert {
            checks.push(Query {
                origin: format!("recording rule {name}"),
                raw: name.clone(),
            });
        }
    }

    // Poll until every query has data and the scenario's alerts are active, or the deadline.
    let mut lacking: Vec<String> = Vec::new();
    let mut alert_states: BTreeMap<String, String> = BTreeMap::new();
    let mut missing_alerts: Vec<&str> = Vec::new();
    let poll = Duration::from_secs(3);
    let done = poll_until(DEADLINE.saturating_sub(t0.elapsed()), poll, || {
        let elapsed = t0.elapsed().as_secs().max(30);
        let range = format!("{elapsed}s");
        let vars = promql::GrafanaVars {
            job: JOB,
            instance: &metrics_addr.to_string(),
            rate_interval: "10s",
            interval: "2s",
            range: &range,
            custom: custom.clone(),
        };
        lacking = Vec::new();
        for q in &checks {
            let expr = vars.apply(&q.raw);
            match query(prom, &expr) {
                Ok(0) => lacking.push(format!("{}: no data for {expr}", q.origin)),
                Ok(_) => {}
                Err(e) => lacking.push(format!("{}: query failed ({e}) for {expr}", q.origin)),
            }
        }
        alert_states = BTreeMap::new();
        for a in api(prom, "/api/v1/alerts")["data"]["alerts"]
            .as_array()
            .unwrap()
        {
            let name = a["labels"]["alertname"].as_str().unwrap().to_string();
            let state = a["state"].as_str().unwrap().to_string();
            let entry = alert_states.entry(name).or_insert(state.clone());
            if state == "firing" {
                *entry = state;
            }
        }
        missing_alerts = SCENARIO_ALERTS
            .iter()
            .copied()
            .filter(|a| !alert_states.contains_key(*a))
            .collect();
        (lacking.is_empty() && missing_alerts.is_empty()).then_some(())
    });
    if done.is_none() {
        for a in &missing_alerts {
            lacking.push(format!("alert {a}: never pending or firing"));
        }
    }

    // The brute force is attributed to the demo's attacker.
    if alert_states.contains_key("KafkaSecurityBruteForce") {
        let n = query(
            prom,
            r#"ALERTS{alertname="KafkaSecurityBruteForce", client_host="203.0.113.66"}"#,
        )
        .unwrap();
        if n == 0 {
            lacking.push("alert KafkaSecurityBruteForce: not for client_host 203.0.113.66".into());
        }
    }

    // Every rule evaluated without error.
    let mut problems = Vec::new();
    for g in api(prom, "/api/v1/rules")["data"]["groups"]
        .as_array()
        .unwrap()
    {
        for r in g["rules"].as_array().unwrap() {
            if r["health"] == "err" {
                problems.push(format!("rule {}: {}", r["name"], r["lastError"]));
            }
        }
    }
    let loaded = api(prom, "/api/v1/rules")["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rules"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(
        loaded,
        rules.len(),
        "prometheus loaded {loaded} of {} rules",
        rules.len()
    );

    // Static check against the exporter's live metrics.
    let (status, _, body) = http_get(metrics_addr, "/metrics", &[]).expect("scrape the demo");
    assert_eq!(status, 200);
    let emitted = emitted(&Scrape::parse(std::str::from_utf8(&body).unwrap()));
    for q in &dashboard_queries {
        problems.extend(static_problems(
            &q.origin,
            &q.raw,
            &emitted,
            &recorded,
            &alert_labels,
        ));
    }
    for (name, expr, alert) in &rules {
        let kind = if *alert { "alert" } else { "recording rule" };
        problems.extend(static_problems(
            &format!("{kind} {name}"),
            expr,
            &emitted,
            &recorded,
            &alert_labels,
        ));
    }
    problems.sort();
    problems.dedup();

    println!(
        "checked {} dashboard queries, {} recording rules and {} alerts in {:.0?}; alerts: {alert_states:?}",
        dashboard_queries.len(),
        recorded.len(),
        rules.len() - recorded.len(),
        t0.elapsed()
    );
    let mut report = String::new();
    if !problems.is_empty() {
        report.push_str(&format!(
            "\nreferences to what the exporter does not emit, or rule errors ({}):\n  {}",
            problems.len(),
            problems.join("\n  ")
        ));
    }
    if !lacking.is_empty() {
        report.push_str(&format!(
            "\nno data after {:.0?} ({}):\n  {}",
            t0.elapsed(),
            lacking.len(),
            lacking.join("\n  ")
        ));
    }
    assert!(report.is_empty(), "{report}");
}

#[test]
fn the_static_check_names_unknown_metrics_and_labels() {
    let emitted: BTreeMap<String, BTreeSet<String>> = [(
        "kafka_security_authentication_total".to_string(),
        ["outcome", "mechanism", "listener", "job", "instance"]
            .into_iter()
            .map(String::from)
            .collect(),
    )]
    .into();
    let recorded = [(
        "job_outcome:kafka_security_authentication:rate5m".to_string(),
        ["job", "outcome"].into_iter().map(String::from).collect(),
    )]
    .into();
    let alert_labels = ["alertname", "job"].into_iter().map(String::from).collect();
    let found = static_problems(
        "q",
        r#"sum by (reason) (rate(kafka_security_authentication_total{outcome="failure", principal="x"}[5m])) + job_outcome:kafka_security_authentication:rate5m + nope_total + ALERTS{alertname="A"}"#,
        &emitted,
        &recorded,
        &alert_labels,
    );
    assert_eq!(
        found,
        [
            "q: kafka_security_authentication_total has no label principal",
            "q: metric nope_total is not emitted by the exporter",
            "q: no metric has the label reason (by/on/without)",
        ]
    );
}
