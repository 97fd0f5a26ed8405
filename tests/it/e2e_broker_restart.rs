//! The broker goes away mid-stream and comes back: the exporter keeps serving /metrics, reports
//! not-ready while it is gone, and catches up afterwards without losing or doubling an event.
//! It restarts the shared broker, so it holds it exclusively (`support::broker_exclusive`).

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::support::{admin_source, broker_exclusive, new_topic, repo_dir, Exporter, TestProducer};

const EVENTS: &str = "kafka_security_events_total";

#[test]
fn a_broker_restart_mid_stream_loses_nothing() {
    // The restart must not pull the broker from under a test running in parallel.
    let _broker = broker_exclusive();
    let topic = new_topic("brokerrestart", 3);
    let config = admin_source("bounce", &topic, "text");
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
    let watcher = {
        let (exporter, watching, saw_not_ready, metrics_failed) = (
            exporter.clone(),
            watching.clone(),
            saw_not_ready.clone(),
            metrics_failed.clone(),
        );
        std::thread::spawn(move || {
            while watching.load(Ordering::SeqCst) {
                let (status, _) = exporter.readyz();
                if status == 503 {
                    saw_not_ready.store(true, Ordering::SeqCst);
                }
                match crate::support::http_get(exporter.addr, "/metrics", &[]) {
                    Ok((200, _, _)) => {}
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
    exporter.assert_ready();
    Arc::try_unwrap(exporter)
        .ok()
        .expect("watcher is done")
        .stop(Duration::from_secs(30));
}
