//! The broker goes away mid-stream and comes back: the exporter keeps serving /metrics, reports
//! not-ready while it is gone, and catches up afterwards without losing or doubling an event.
//! It restarts the shared broker, so it holds it exclusively (`support::broker_exclusive`).
//! With a state snapshot too: while the group coordinator is gone, a snapshot's commit cannot
//! land, and scrapes must still be answered promptly, from the last snapshot whose commit landed.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{admin_source, broker_exclusive, new_topic, repo_dir, Exporter, TestProducer};

const EVENTS: &str = "kafka_security_events_total";

#[test]
fn a_broker_restart_mid_stream_loses_nothing() {
    broker_restart(false);
}

#[test]
fn a_broker_restart_mid_stream_loses_nothing_with_a_state_snapshot() {
    broker_restart(true);
}

fn broker_restart(snapshot: bool) {
    // The restart must not pull the broker from under a test running in parallel.
    let _broker = broker_exclusive();
    let topic = new_topic("brokerrestart", 3);
    let state = tempfile::tempdir().unwrap();
    let mut config = admin_source("bounce", &topic, "text");
    if snapshot {
        config.push_str(&format!(
            "state_dir: {}
",
            state.path().display()
        ));
    }
    let exporter = Arc::new(Exporter::start(&config));

    let producer = TestProducer::new();
    producer.produce(&topic, Some(b"user-login"), 500, |i| {
        format!("User before{i} logged in successfully")
    });
    exporter.wait_for(Duration::from_secs(60), "the first 500", |s| {
        s.sum(EVENTS, &[]) == 500.0
    });

    // Watch readiness and /metrics while the broker is down.
    let watching = Arc::new(AtomicBool::new(true));
    let saw_not_ready = Arc::new(AtomicBool::new(false));
    let metrics_failed = Arc::new(AtomicBool::new(false));
    // The slowest scrape, and the lowest count after the highest seen (a decrease).
    let slowest = Arc::new(std::sync::Mutex::new((Duration::ZERO, 0.0f64, f64::MAX)));
    let watcher = {
        let (exporter, watching, saw_not_ready, metrics_failed, slowest) = (
            exporter.clone(),
            watching.clone(),
            saw_not_ready.clone(),
            metrics_failed.clone(),
            slowest.clone(),
        );
        std::thread::spawn(move || {
            while watching.load(Ordering::SeqCst) {
                let (status, _) = exporter.readyz();
                if status == 503 {
                    saw_not_ready.store(true, Ordering::SeqCst);
                }
                let started = std::time::Instant::now();
                match crate::support::http_get(exporter.addr, "/metrics", &[]) {
                    Ok((200, _, body)) => {
                        let took = started.elapsed();
                        let count = crate::support::Scrape::parse(&String::from_utf8_lossy(&body))
                            .sum(EVENTS, &[]);
                        let mut s = slowest.lock().unwrap();
                        s.0 = s.0.max(took);
                        if count < s.1 {
                            s.2 = s.2.min(count);
                        }
                        s.1 = s.1.max(count);
                    }
                    _ => metrics_failed.store(true, Ordering::SeqCst),
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };

    // Records produced while the broker restarts are buffered by the (idempotent) producer.
    let during = crate::support::produce_paced(
        &topic,
        Some(b"user-login"),
        300,
        (1, Duration::from_millis(20)),
        |i| format!("User during{i} logged in successfully"),
    );
    // Restart mid-stream: once the first of those records is counted.
    exporter.wait_for(
        Duration::from_secs(30),
        "the first record produced during",
        |s| s.sum(EVENTS, &[]) > 500.0,
    );
    let status = Command::new("bash")
        .arg(repo_dir().join("scripts/kafka-broker.sh"))
        .arg("restart")
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run kafka-broker.sh restart");
    assert!(status.success(), "broker restart failed");
    during.join().unwrap();
    producer.produce(&topic, Some(b"user-login"), 200, |i| {
        format!("User after{i} logged in successfully")
    });

    exporter.wait_for(
        Duration::from_secs(120),
        "all 1000 after the restart",
        |s| s.sum(EVENTS, &[]) >= 1000.0,
    );
    std::thread::sleep(Duration::from_secs(3));
    let s = exporter.scrape();
    watching.store(false, Ordering::SeqCst);
    watcher.join().unwrap();
    assert_eq!(s.sum(EVENTS, &[]), 1000.0);
    assert!(
        saw_not_ready.load(Ordering::SeqCst),
        "/readyz never reported the broker outage"
    );
    assert!(
        !metrics_failed.load(Ordering::SeqCst),
        "/metrics failed during the outage"
    );
    let (took, _, lowest) = *slowest.lock().unwrap();
    eprintln!("slowest scrape: {took:?}");
    // Within Prometheus's default scrape timeout, even while commits wait for a coordinator.
    assert!(took < Duration::from_secs(5), "a scrape took {took:?}");
    assert_eq!(lowest, f64::MAX, "a counter went down to {lowest}");
    exporter.assert_ready();
    Arc::try_unwrap(exporter)
        .ok()
        .expect("watcher is done")
        .stop(Duration::from_secs(30));
}
