//! Issue 17's fault matrix, Kafka rows without a broker: a bootstrap server whose name does not
//! resolve (DNS failing), and one where no broker listens (a broker down at start). The broker
//! rows that need one (down mid-stream, wrong credentials, a topic deleted while consumed, a
//! rebalance) are in `e2e_kafka.rs`, `e2e_broker_restart.rs` and `e2e_faults_kafka.rs`.

use std::time::{Duration, Instant};

use crate::support::{free_port, poll_until, Exporter};

/// Runs a Kafka source `name` whose `bootstrap.servers` is `bootstrap` (which never answers) and
/// checks the row: `/metrics` serves, `/readyz` is 503 naming the source and saying `why`, the
/// source is down in `kafka_security_source_up`, the failure is logged (WARN or ERROR lines
/// naming `bootstrap`) and rate-limited — librdkafka retries with a backoff growing to 10 s, so
/// 15 s more bring several attempts, each failing the same way, and no new line — and SIGTERM
/// stops the process within the grace period. Returns the body of `/readyz`.
fn unreachable_source_row(name: &str, bootstrap: &str, why: &str) -> String {
    let yaml = format!("shutdown: {{grace_period_secs: 4}}\nsources:\n  - kafka:\n      name: {name}\n      group_id: g\n      topics:\n        - name: events\n          format: auto\n      properties:\n        bootstrap.servers: \"{bootstrap}\"\n");
    let exporter = Exporter::start(&yaml);
    let mut last = (0, String::new());
    let body = poll_until(Duration::from_secs(30), Duration::from_millis(200), || {
        last = exporter.readyz();
        (last.0 == 503 && last.1.contains(why)).then(|| last.1.clone())
    })
    .unwrap_or_else(|| panic!("still {}: {}", last.0, last.1));
    assert!(body.contains(&format!("source {name}")), "{body}");
    let s = exporter.scrape();
    assert_eq!(
        s.get("kafka_security_source_up", &[("source", name)]),
        Some(0.0)
    );
    let about_it = |logs: &[serde_json::Value]| {
        logs.iter()
            .filter(|l| matches!(l["level"].as_str(), Some("WARN" | "ERROR")))
            .filter(|l| l.to_string().contains(bootstrap))
            .count()
    };
    let before = about_it(&exporter.logs());
    assert!(before >= 1, "the failure is logged: {:#?}", exporter.logs());
    std::thread::sleep(Duration::from_secs(15));
    let started = Instant::now();
    let logs = exporter.stop(Duration::from_secs(10));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(about_it(&logs), before, "rate-limited: {logs:#?}");
    body
}

/// `kafka.invalid` never resolves (RFC 2606 reserves `.invalid`): what a DNS outage, or a typo in
/// `bootstrap.servers`, looks like. `/readyz` says the name does not resolve, and which.
#[test]
fn a_bootstrap_server_that_does_not_resolve_is_not_ready_and_says_why() {
    let body = unreachable_source_row("nodns", "kafka.invalid:9092", "resolve");
    assert!(body.contains("kafka.invalid"), "{body}");
}

/// No broker listens at the bootstrap address (a broker down at start, a wrong port): `/readyz`
/// says the source is not connected.
#[test]
fn a_broker_down_at_start_is_not_ready_and_says_why() {
    let port = free_port(); // nothing listens there
    unreachable_source_row(
        "nobroker",
        &format!("127.0.0.1:{port}"),
        "not connected to any broker",
    );
}
