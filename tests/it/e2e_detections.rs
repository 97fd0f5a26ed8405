//! End to end on the real Kafka 4.x broker: a brute force (25 logins with a wrong password from
//! 127.0.0.1), then a login with the right password. The real exporter tails the broker's own
//! log files with its detectors on; the real Prometheus scrapes it with the shipped rules (a copy
//! whose `for:` are 5 s). The exporter must expose `kafka_security_detections_total` for
//! `brute_force` and `success_after_failures` on subject `127.0.0.1`, and a `KafkaSecurity…`
//! detection alert must fire for each, carrying `detector` and `subject`.
//!
//! The test holds the broker exclusively: every client of the suite connects from 127.0.0.1, so
//! another test's failed logins or denials meanwhile would change the counts. Even so the number
//! of failed logins depends on client retries; it is counted from the lines the broker appended
//! to its files during the test (by inode, across rotations), and the expected detections
//! follow from it: one `brute_force` (every failure falls inside one 5-minute window, so later
//! crossings of 20 are suppressed repeats), one
//! `success_after_failures`.
//!
//! A second test silences the broker's authorizer logger at runtime, as an intruder would
//! (`kafka-configs --entity-type broker-loggers … kafka.authorizer.logger=ERROR`, which hides every denial, a KIP-412
//! `IncrementalAlterConfigs` the broker applies itself and logs in `server.log`), and expects
//! exactly one `log_tampering` detection on `kafka.authorizer.logger`.
//!
//! Kafka logs a successful SASL login only at DEBUG, so the "success" the broker shows is the
//! first authorization decision of the authenticated session: alice, now logged in, is denied
//! Produce on a topic she has no ACL for. The test waits until the exporter has read every
//! failure before it logs in, since the exporter reads `server.log` and `kafka-authorizer.log`
//! independently.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use crate::support::prometheus::{self, api};
use crate::support::{
    appended, broker, broker_exclusive, client_config, new_topic, run_script, snapshot, wait_until,
    Exporter, Scrape,
};

const JOB: &str = "kafka-security-exporter";
const DETECTIONS: &str = "kafka_security_detections_total";
const HOST: &str = "127.0.0.1";
const FAILED: &str = "Failed authentication with /127.0.0.1 ";

/// One login as alice with a wrong password: the client gives up after its first attempt (no
/// reconnect within the metadata timeout).
fn wrong_password() {
    let mut cc = client_config("alice", "not-alice-secret");
    cc.set("reconnect.backoff.ms", "10000")
        .set("reconnect.backoff.max.ms", "10000");
    let consumer: BaseConsumer = cc.create().unwrap();
    let err = consumer.fetch_metadata(None, Duration::from_secs(3));
    assert!(err.is_err(), "a wrong password must not log in");
}

/// Logs in as alice with her password and produces to `topic`, which she has no ACL for: the
/// broker logs the denial.
fn right_password_then_denied_produce(topic: &str) {
    let producer: ThreadedProducer<DefaultProducerContext> = client_config("alice", "alice-secret")
        .set("enable.idempotence", "false")
        .set("message.timeout.ms", "5000")
        .set("acks", "1")
        .create()
        .unwrap();
    let _ = producer.send(BaseRecord::<(), [u8]>::to(topic).payload(b"x"));
    let _ = producer.flush(Duration::from_secs(6));
}

/// The firing alerts' label sets.
fn firing(prom: std::net::SocketAddr) -> Vec<HashMap<String, String>> {
    api(prom, "/api/v1/alerts")["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["state"] == "firing")
        .map(|a| {
            a["labels"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .collect()
}

#[test]
fn a_brute_force_then_the_right_password_fires_in_prometheus() {
    let _broker = broker_exclusive();
    let logs = broker().logs_dir.clone();
    let topic = new_topic("detect", 1);
    let state = tempfile::tempdir().unwrap();
    let detector_state = state.path().join("detectors");
    std::fs::create_dir_all(&detector_state).unwrap();
    let exporter = Exporter::start(&format!(
        "sources:\n  - file:\n      name: broker\n      paths: ['{}/*.log*']\n      start_at: end\n      state_dir: '{}'\n      poll_interval_ms: 100\n      rotate_wait_secs: 2\nstate_dir: '{}'\n",
        logs.display(),
        state.path().display(),
        detector_state.display(),
    ));
    wait_until(
        Duration::from_secs(20),
        "the file source to be ready",
        || (exporter.readyz().0 == 200).then_some(()),
    );
    let prom_dir = tempfile::tempdir().unwrap();
    let (_prom, prom) = prometheus::start(
        prom_dir.path(),
        exporter.addr,
        JOB,
        &prometheus::shipped_rules_with_short_for(),
    );
    // The first poll has placed every file at its end; from here on, what the broker appends
    // is what the exporter must see.
    std::thread::sleep(Duration::from_millis(500));
    let before = snapshot(&logs);

    let attempts: Vec<_> = (0..25)
        .map(|_| std::thread::spawn(wrong_password))
        .collect();
    for a in attempts {
        a.join().unwrap();
    }
    let failures = wait_until(
        Duration::from_secs(30),
        "the broker to log the failed logins",
        || {
            let n = appended_lines(&logs, &before, FAILED);
            (n >= 25).then_some(n)
        },
    );
    // Every failure read before the login that ends them.
    let failed = |s: &Scrape| {
        s.sum(
            "kafka_security_authentication_failures_by_client_total",
            &[("client_host", HOST)],
        )
    };
    exporter.wait_for(Duration::from_secs(30), "every failed login", |s| {
        failed(s) >= appended_lines(&logs, &before, FAILED) as f64
    });
    right_password_then_denied_produce(&topic);

    let failures = failures.max(appended_lines(&logs, &before, FAILED));
    let detections = |s: &Scrape, detector: &str| {
        s.sum(DETECTIONS, &[("detector", detector), ("subject", HOST)])
    };
    let s = exporter.wait_for(
        Duration::from_secs(30),
        "brute_force and success_after_failures on 127.0.0.1",
        |s| detections(s, "success_after_failures") >= 1.0,
    );
    eprintln!(
        "{failures} failed logins: brute_force {}, success_after_failures {}",
        detections(&s, "brute_force"),
        detections(&s, "success_after_failures")
    );
    assert_eq!(
        failed(&s),
        failures as f64,
        "the exporter read exactly the failures the broker logged"
    );
    assert_eq!(detections(&s, "brute_force"), 1.0);
    // Every further crossing of 20 within the window is a suppressed repeat (counted at the
    // exporter's next 10-second tick).
    let repeats = ((failures / 20) - 1) as f64;
    exporter.wait_for(
        Duration::from_secs(20),
        "the suppressed brute_force repeats",
        |s| {
            s.sum(
                "kafka_security_detections_suppressed_total",
                &[("detector", "brute_force")],
            ) == repeats
        },
    );
    assert_eq!(detections(&s, "success_after_failures"), 1.0);

    let mut alerts = Vec::new();
    let fired =
        crate::support::poll_until(Duration::from_secs(60), Duration::from_millis(500), || {
            alerts = firing(prom);
            let on = |detector: &str| {
                alerts.iter().any(|a| {
                    a.get("alertname")
                        .is_some_and(|n| n.starts_with("KafkaSecurity"))
                        && a.get("detector").map(String::as_str) == Some(detector)
                        && a.get("subject").map(String::as_str) == Some(HOST)
                })
            };
            (on("brute_force") && on("success_after_failures")).then_some(())
        });
    assert!(
        fired.is_some(),
        "no firing KafkaSecurity… alert for brute_force and success_after_failures on {HOST}; firing: {alerts:#?}"
    );
    exporter.stop(Duration::from_secs(15));
}

const AUTHORIZER_LOGGER: &str = "kafka.authorizer.logger";

/// `kafka.admin.ConfigCommand` on the broker's loggers (node 1), as the super user.
fn broker_loggers(args: &[&str]) -> String {
    let mut all = vec![
        "admin",
        "kafka.admin.ConfigCommand",
        "--entity-type",
        "broker-loggers",
        "--entity-name",
        "1",
    ];
    all.extend_from_slice(args);
    let out = run_script("kafka-broker", &all);
    assert!(out.status.success(), "ConfigCommand {args:?} failed");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The authorizer logger's level now (`kafka.authorizer.logger=INFO sensitive=false …`).
fn authorizer_level() -> String {
    let described = broker_loggers(&["--describe"]);
    described
        .split_whitespace()
        .find_map(|w| w.strip_prefix("kafka.authorizer.logger="))
        .unwrap_or_else(|| panic!("no {AUTHORIZER_LOGGER} in:\n{described}"))
        .to_string()
}

/// Sets the authorizer logger back to its level when dropped, even when the test fails.
struct RestoreLevel(String);

impl Drop for RestoreLevel {
    fn drop(&mut self) {
        broker_loggers(&[
            "--alter",
            "--add-config",
            &format!("{AUTHORIZER_LOGGER}={}", self.0),
        ]);
    }
}

#[test]
fn silencing_the_authorizer_logger_is_log_tampering() {
    let _broker = broker_exclusive();
    let logs = broker().logs_dir.clone();
    let state = tempfile::tempdir().unwrap();
    let exporter = Exporter::start(&format!(
        "sources:\n  - file:\n      name: broker\n      paths: ['{}/*.log*']\n      start_at: end\n      state_dir: '{}'\n      poll_interval_ms: 100\n",
        logs.display(),
        state.path().display(),
    ));
    wait_until(
        Duration::from_secs(20),
        "the file source to be ready",
        || (exporter.readyz().0 == 200).then_some(()),
    );
    std::thread::sleep(Duration::from_millis(500));
    let _restore = RestoreLevel(authorizer_level());
    broker_loggers(&[
        "--alter",
        "--add-config",
        &format!("{AUTHORIZER_LOGGER}=ERROR"),
    ]);
    assert_eq!(authorizer_level(), "ERROR", "the broker applied the change");

    let tampering = |s: &Scrape| {
        s.sum(
            DETECTIONS,
            &[
                ("detector", "log_tampering"),
                ("subject", AUTHORIZER_LOGGER),
            ],
        )
    };
    let s = exporter.wait_for(
        Duration::from_secs(30),
        "log_tampering on kafka.authorizer.logger",
        |s| tampering(s) >= 1.0,
    );
    assert_eq!(tampering(&s), 1.0);
    assert_eq!(
        s.sum(DETECTIONS, &[("detector", "log_tampering")]),
        1.0,
        "nothing else is tampering"
    );
    exporter.stop(Duration::from_secs(15));
}

/// Lines appended to the files of `dir` since `before` (new files: all of theirs) containing
/// `needle`.
fn appended_lines(dir: &Path, before: &HashMap<u64, u64>, needle: &str) -> usize {
    appended(dir, before)
        .iter()
        .flat_map(|(_, text)| text.lines())
        .filter(|l| l.contains(needle))
        .count()
}
