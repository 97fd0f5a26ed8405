//! The detectors on a library of generated scenarios ([`crate::support::scenarios`]): broker
//! logs and a Confluent audit file in event time, replayed with `replay` (every file of a run
//! merged by event time), asserting the exact detections — detector, subject, how many
//! detections and the events behind them — and nothing else. Each attack runs inside benign
//! noise; a benign day and a benign week (with learning) raise nothing at all.

use clap::Parser;
use kafka_security_exporter::replay::{self, ReplayArgs, ReplayOptions};

use crate::support::scenarios::{
    Scenario, AUTHORIZER_LOG, DAY, HOUR, MINUTE, MONDAY, POPULATION, SECOND,
};

#[derive(clap::Parser)]
struct W {
    #[command(flatten)]
    a: ReplayArgs,
}

/// (detector, subject, detections, events behind them).
type Row = (String, String, u64, u64);

/// What a replay of `s` with `detectors` (the YAML body of the `detectors:` section) detected,
/// sorted; and how many entries or records were unreadable.
fn detect(s: &Scenario, detectors: &str) -> (Vec<Row>, u64) {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    s.write(&logs);
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, format!("detectors:\n{detectors}")).unwrap();
    let w = W::try_parse_from([
        "replay",
        "--config",
        config.to_str().unwrap(),
        "--progress",
        "never",
        logs.to_str().unwrap(),
    ])
    .unwrap();
    let options = ReplayOptions::from_args(&w.a).unwrap();
    let replayed = replay::replay(&options).unwrap();
    assert_eq!(replayed.detections_dropped, 0);
    assert!(
        replayed.stats.events > 200,
        "too few events: {:?}",
        replayed.stats
    );
    let mut rows: Vec<Row> = replayed
        .detections
        .iter()
        .map(|r| {
            (
                r.detector.as_str().to_string(),
                r.subject.clone(),
                r.detections,
                r.events,
            )
        })
        .collect();
    rows.sort();
    (rows, replayed.stats.rejected)
}

fn rows(want: &[(&str, &str, u64, u64)]) -> Vec<Row> {
    let mut v: Vec<Row> = want
        .iter()
        .map(|(d, s, n, e)| (d.to_string(), s.to_string(), *n, *e))
        .collect();
    v.sort();
    v
}

/// Replays `s` with `detectors` and asserts exactly `want`, every line readable.
fn assert_detects(s: &Scenario, detectors: &str, want: &[(&str, &str, u64, u64)]) {
    let (got, rejected) = detect(s, detectors);
    assert_eq!(got, rows(want));
    assert_eq!(rejected, 0, "every generated line is readable");
}

/// Default thresholds and windows; the 3-day learning period keeps first-seen detectors quiet in
/// scenarios of a few hours.
const DEFAULTS: &str = "  enabled: true\n";
/// First-seen detectors learn for an hour (the population shows itself in the first ten
/// minutes).
const LEARN_1H: &str = "  learning_period: 1h\n";

fn morning(seed: u64, hours: u64) -> Scenario {
    let mut s = Scenario::new(seed, MONDAY + 9 * HOUR, hours * HOUR);
    s.noise(1);
    s
}

#[test]
fn brute_force_from_a_new_host() {
    let mut s = morning(1, 2);
    let mut t = s.start + 50 * MINUTE;
    for _ in 0..25 {
        s.failed_login(t, "203.0.113.66");
        t += s.between(3 * SECOND, 7 * SECOND);
    }
    // 25 failures in about two minutes: one detection at the 20th; the counter starts over.
    assert_detects(&s, DEFAULTS, &[("brute_force", "203.0.113.66", 1, 20)]);
}

#[test]
fn password_spraying_one_host_many_users() {
    let mut s = morning(2, 2);
    let users = [
        "User:admin",
        "User:kafka",
        "User:alice",
        "User:bob",
        "User:orders-svc",
        "User:payments-svc",
        "User:connect",
        "User:analytics",
        "User:reporting",
        "User:root",
        "User:test",
        "User:svc-backup",
    ];
    let mut t = s.start + 40 * MINUTE;
    for user in users {
        s.audit_login(t, user, "198.51.100.7", false);
        t += 2 * MINUTE;
    }
    // Twelve users in 22 minutes, one attempt each: too slow for brute force, one detection at
    // the 10th distinct user.
    assert_detects(
        &s,
        DEFAULTS,
        &[("password_spraying", "198.51.100.7", 1, 10)],
    );
}

#[test]
fn credential_stuffing_under_heavy_legitimate_traffic() {
    let mut s = Scenario::new(3, MONDAY + 9 * HOUR, 2 * HOUR);
    s.noise(10);
    let hosts: Vec<String> = (10..25).map(|i| format!("192.0.2.{i}")).collect();
    let mut t = s.start + 60 * MINUTE;
    for _round in 0..3 {
        for host in &hosts {
            s.failed_login(t, host);
            t += 12 * SECOND;
        }
    }
    // 15 hosts, 3 failures each, in 9 minutes: no host stands out; the 30th failure (15 hosts
    // by then) fires once, the 15 after it are not 30 again.
    assert_detects(&s, DEFAULTS, &[("credential_stuffing", "all", 1, 30)]);
}

#[test]
fn slow_brute_force_one_failure_a_minute_for_hours() {
    let mut s = Scenario::new(4, MONDAY + 6 * HOUR, 5 * HOUR);
    s.noise(1);
    let mut t = s.start + 30 * MINUTE;
    for _ in 0..180 {
        s.failed_login(t, "203.0.113.200");
        t += s.between(55 * SECOND, 65 * SECOND);
    }
    assert_detects(
        &s,
        DEFAULTS,
        &[("slow_brute_force", "203.0.113.200", 1, 100)],
    );
}

#[test]
fn privilege_probing_a_principal_enumerates_topics() {
    let mut s = morning(5, 2);
    let topics = [
        "payments",
        "inventory",
        "orders",
        "orders-dlq",
        "connect-configs",
        "connect-offsets",
        "_schemas",
        "hr-salaries",
        "finance-ledger",
        "customers-pii",
        "audit-archive",
        "secrets-rotation",
        "admin-commands",
        "billing-invoices",
    ];
    let mut t = s.start + 70 * MINUTE;
    for topic in topics {
        s.authz(
            t,
            ("User:intern", "10.30.0.17"),
            "DESCRIBE",
            ("Topic", topic),
            "Metadata",
            false,
        );
        t += 10 * SECOND;
    }
    assert_detects(&s, DEFAULTS, &[("privilege_probing", "User:intern", 1, 10)]);
}

#[test]
fn a_guessed_password_failures_in_server_log_then_success_in_the_audit_log() {
    let mut s = morning(6, 2);
    let attacker = "203.0.113.45";
    let mut t = s.start + 45 * MINUTE;
    for _ in 0..12 {
        s.failed_login(t, attacker);
        t += 30 * SECOND;
    }
    // The right password, then the stolen session at work.
    t += MINUTE;
    s.audit_login(t, "User:payments-svc", attacker, true);
    for i in 0..5 {
        s.audit_authz(
            t + (i + 1) * 5 * SECOND,
            ("User:payments-svc", attacker),
            "Fetch",
            "Read",
            "payments",
            true,
        );
    }
    // The audit file is the oldest on disk: only the event-time merge tells this story.
    assert_detects(&s, DEFAULTS, &[("success_after_failures", attacker, 1, 12)]);
}

#[test]
fn a_new_principal_after_learning() {
    let mut s = morning(7, 4);
    let t = s.start + 2 * HOUR;
    s.audit_login(t, "User:svc-exfil", "10.20.4.41", true);
    for (i, topic) in ["orders", "payments", "customers-pii"].iter().enumerate() {
        let at = t + (i as u64 + 1) * 20 * SECOND;
        s.audit_authz(
            at,
            ("User:svc-exfil", "10.20.4.41"),
            "Fetch",
            "Read",
            topic,
            true,
        );
        s.authz(
            at + 5,
            ("User:svc-exfil", "10.20.4.41"),
            "READ",
            ("Topic", topic),
            "Fetch",
            true,
        );
    }
    assert_detects(&s, LEARN_1H, &[("new_principal", "User:svc-exfil", 1, 1)]);
}

#[test]
fn a_known_principal_from_a_new_host() {
    let mut s = morning(8, 4);
    let principal = POPULATION[1].principal;
    assert_eq!(principal, "User:payments-svc");
    let t = s.start + 2 * HOUR + 13 * MINUTE;
    s.audit_login(t, principal, "10.99.0.7", true);
    s.audit_authz(
        t + 3 * SECOND,
        (principal, "10.99.0.7"),
        "Fetch",
        "Read",
        "payments",
        true,
    );
    s.authz(
        t + 4 * SECOND,
        (principal, "10.99.0.7"),
        "READ",
        ("Topic", "payments"),
        "Fetch",
        true,
    );
    assert_detects(
        &s,
        LEARN_1H,
        &[("new_client_for_principal", "User:payments-svc", 1, 1)],
    );
}

#[test]
fn a_silenced_authorizer_logger() {
    let mut s = morning(9, 3);
    let t = s.start + 90 * MINUTE;
    s.broker_logger_set(t, "kafka.authorizer.logger", "ERROR");
    s.silence(AUTHORIZER_LOG, t + 200);
    // The entries the stream wrote in the 30-minute window (3-minute buckets, SPEC's window
    // rule) ending with its last entry.
    let times = s.times(AUTHORIZER_LOG);
    let bucket = 3 * MINUTE;
    let last = *times.last().unwrap() / bucket;
    let steady = times.iter().filter(|&&at| at / bucket + 9 >= last).count() as u64;
    assert!(steady >= 30, "the authorizer wrote steadily ({steady})");
    assert_detects(
        &s,
        DEFAULTS,
        &[
            ("log_tampering", "kafka.authorizer.logger", 1, 1),
            ("log_tampering", AUTHORIZER_LOG, 1, steady),
        ],
    );
}

#[test]
fn log_injection_through_a_group_id() {
    let mut s = morning(10, 2);
    s.injected_denial(
        s.start + 60 * MINUTE,
        "User:mallory",
        "203.0.113.9",
        "payments-consumers",
    );
    // The split entry and the one after it are one injected decision: it is counted (the
    // second entry's forged first line is not) and fires once, for the principal who wrote it.
    let (got, rejected) = detect(&s, DEFAULTS);
    assert_eq!(got, rows(&[("log_injection", "User:mallory", 1, 1)]));
    assert_eq!(rejected, 0);
}

#[test]
fn a_benign_day_raises_nothing() {
    let s = Scenario::benign(11, MONDAY, DAY);
    assert_detects(&s, DEFAULTS, &[]);
}

#[test]
fn a_benign_week_with_learning_raises_nothing() {
    let s = Scenario::benign(12, MONDAY, 7 * DAY);
    assert_detects(&s, "  learning_period: 1d\n", &[]);
}
