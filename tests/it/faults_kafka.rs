//! Issue 17's fault matrix, Kafka rows without a broker: a bootstrap server whose name does not
//! resolve (DNS failing). The broker rows that need one (down at start and mid-stream, wrong
//! credentials, a topic deleted while consumed, a rebalance) are in `e2e_kafka.rs`,
//! `e2e_broker_restart.rs` and `e2e_faults_kafka.rs`.

use std::time::{Duration, Instant};

use crate::support::{poll_until, Exporter};

/// `kafka.invalid` never resolves (RFC 2606 reserves `.invalid`): what a DNS outage, or a typo in
/// `bootstrap.servers`, looks like. `/metrics` serves, `/readyz` says why the source is not
/// ready, the source is down in `kafka_security_source_up`, the error is logged rate-limited, and
/// SIGTERM stops the process within the grace period.
#[test]
fn a_bootstrap_server_that_does_not_resolve_is_not_ready_and_says_why() {
    let yaml = "shutdown: {grace_period_secs: 4}\nsources:\n  - kafka:\n      name: nodns\n      group_id: g\n      topics:\n        - name: events\n          format: auto\n      properties:\n        bootstrap.servers: \"kafka.invalid:9092\"\n";
    let exporter = Exporter::start(yaml);
    let mut last = (0, String::new());
    let body = poll_until(Duration::from_secs(30), Duration::from_millis(200), || {
        last = exporter.readyz();
        (last.0 == 503 && last.1.contains("resolve")).then(|| last.1.clone())
    })
    .unwrap_or_else(|| panic!("still {}: {}", last.0, last.1));
    assert!(body.contains("source nodns"), "{body}");
    assert!(body.contains("kafka.invalid"), "{body}");
    let s = exporter.scrape();
    assert_eq!(
        s.get("kafka_security_source_up", &[("source", "nodns")]),
        Some(0.0)
    );
    let about_it = |logs: &[serde_json::Value]| {
        logs.iter()
            .filter(|l| matches!(l["level"].as_str(), Some("WARN" | "ERROR")))
            .filter(|l| l.to_string().contains("kafka.invalid"))
            .count()
    };
    let before = about_it(&exporter.logs());
    assert!(before >= 1, "the failure is logged");
    // librdkafka retries with a backoff growing to 10 s: several attempts in 15 s, each of which
    // it logs, and each of which fails the same way.
    std::thread::sleep(Duration::from_secs(15));
    let started = Instant::now();
    let logs = exporter.stop(Duration::from_secs(10));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(about_it(&logs), before, "rate-limited: {logs:#?}");
}

/// No broker listens at the bootstrap address (a broker down at start, a wrong port): `/metrics`
/// serves, `/readyz` says the source is not connected, the source is down in
/// `kafka_security_source_up`, the reconnect attempts are logged rate-limited, and SIGTERM stops
/// the process within the grace period.
#[test]
fn a_broker_down_at_start_is_not_ready_and_says_why() {
    let port = crate::support::free_port(); // nothing listens there
    let yaml = format!("shutdown: {{grace_period_secs: 4}}\nsources:\n  - kafka:\n      name: nobroker\n      group_id: g\n      topics:\n        - name: events\n          format: auto\n      properties:\n        bootstrap.servers: \"127.0.0.1:{port}\"\n");
    let exporter = Exporter::start(&yaml);
    let mut last = (0, String::new());
    let body = poll_until(Duration::from_secs(30), Duration::from_millis(200), || {
        last = exporter.readyz();
        (last.0 == 503 && last.1.contains("not connected to any broker")).then(|| last.1.clone())
    })
    .unwrap_or_else(|| panic!("still {}: {}", last.0, last.1));
    assert!(body.contains("source nobroker"), "{body}");
    let s = exporter.scrape();
    assert_eq!(
        s.get("kafka_security_source_up", &[("source", "nobroker")]),
        Some(0.0)
    );
    let about_it = |logs: &[serde_json::Value]| {
        logs.iter()
            .filter(|l| matches!(l["level"].as_str(), Some("WARN" | "ERROR")))
            .filter(|l| l.to_string().contains(&format!("127.0.0.1:{port}")))
            .count()
    };
    let before = about_it(&exporter.logs());
    assert!(before >= 1, "the failure is logged: {:#?}", exporter.logs());
    // librdkafka reconnects with a backoff growing to 10 s: several attempts in 15 s.
    std::thread::sleep(Duration::from_secs(15));
    let started = Instant::now();
    let logs = exporter.stop(Duration::from_secs(10));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(about_it(&logs), before, "rate-limited: {logs:#?}");
}
