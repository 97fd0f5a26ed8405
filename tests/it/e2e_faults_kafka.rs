//! Issue 17's fault matrix, Kafka rows that need the real broker: a topic deleted while it is
//! consumed. (A broker down at start and DNS failing are in `faults_kafka.rs`; a broker down
//! mid-stream, wrong credentials and rebalances in `e2e_broker_restart.rs` and `e2e_kafka.rs`.)

use std::time::{Duration, Instant};

use crate::support::{
    admin_source, broker_shared, create_topic, delete_topic, poll_until, shared_topic_source,
    unique, Exporter, HeaderProducer,
};

const EVENTS: &str = "kafka_security_events_total";
const UP: &str = "kafka_security_source_up";

/// The topic goes away under the consumer: what was counted stays, `/metrics` serves, `/readyz`
/// and `kafka_security_source_up` say which topic is missing, one WARN says so (the failed commits
/// of its offsets are rate-limited and say the truth), and SIGTERM stops the process within the
/// grace period. When the topic is created again, its new records are counted and the source is
/// ready again.
#[test]
fn e2e_a_topic_deleted_while_consumed_is_reported_and_nothing_counted_is_lost() {
    let (_broker, topic, config) = shared_topic_source("deleted", 2, "text");
    let exporter = Exporter::start(&config);
    let producer = HeaderProducer::new();
    let send = |from: usize, to: usize| {
        for i in from..to {
            producer.send(
                &topic,
                "user-login",
                &format!("User u{i} logged in successfully"),
                &[],
            );
        }
        producer.flush();
    };
    send(0, 20);
    exporter.wait_for(Duration::from_secs(60), "20 events", |s| {
        s.sum(EVENTS, &[("source", "deleted")]) == 20.0
    });
    exporter.assert_ready();

    delete_topic(&topic);
    // librdkafka notices within topic.metadata.propagation.max.ms (30 s) at the latest.
    // (With it, perhaps, "not yet assigned partitions" while the group settles.)
    let why = format!("subscribed topics do not exist: {topic}");
    let mut last = (0, String::new());
    poll_until(Duration::from_secs(90), Duration::from_millis(500), || {
        last = exporter.readyz();
        (last.0 == 503 && last.1.contains("source deleted: ") && last.1.contains(&why))
            .then_some(())
    })
    .unwrap_or_else(|| panic!("/readyz: {} {}\n{:#?}", last.0, last.1, exporter.logs()));
    let s = exporter.scrape();
    assert_eq!(
        s.sum(EVENTS, &[("source", "deleted")]),
        20.0,
        "nothing lost"
    );
    assert_eq!(s.sum(UP, &[("source", "deleted")]), 0.0);

    // Created again: its records are counted from its start, and the source is ready again.
    create_topic(&topic, 2);
    send(20, 25);
    exporter.wait_for(Duration::from_secs(90), "25 events", |s| {
        s.sum(EVENTS, &[("source", "deleted")]) == 25.0
            && s.sum(UP, &[("source", "deleted")]) == 1.0
    });
    exporter.assert_ready();

    let started = Instant::now();
    let logs = exporter.stop(Duration::from_secs(30));
    assert!(
        started.elapsed() < Duration::from_secs(12),
        "{:?}",
        started.elapsed()
    );
    let said = |text: &str| {
        logs.iter()
            .filter(|l| l["message"].as_str().is_some_and(|m| m.contains(text)))
            .count()
    };
    assert_eq!(said("Subscribed topics do not exist"), 1, "{logs:#?}");
    assert_eq!(said("Subscribed topics exist again"), 1, "{logs:#?}");
    // No failed commit claims that records will be counted again: the topic is gone.
    assert_eq!(said("counted again"), 0, "{logs:#?}");
    // No ERROR of the exporter's own (librdkafka's lines about its connections while the group
    // is left at shutdown are its own business).
    let errors: Vec<_> = logs
        .iter()
        .filter(|l| l["level"] == "ERROR")
        .filter(|l| {
            !l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("librdkafka: "))
        })
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

/// A subscribed topic that was never created is reported the same way: `/readyz` names it until
/// it exists, then its records are counted and the source is ready.
#[test]
fn e2e_a_topic_never_created_is_reported_until_it_exists() {
    let _broker = broker_shared();
    let topic = unique("missing");
    let exporter = Exporter::start(&admin_source("missing", &topic, "text"));
    // Also "not yet assigned partitions": a group has nothing to assign without the topic.
    let why = format!("subscribed topics do not exist: {topic}");
    let mut last = (0, String::new());
    poll_until(Duration::from_secs(60), Duration::from_millis(500), || {
        last = exporter.readyz();
        (last.0 == 503 && last.1.contains("source missing: ") && last.1.contains(&why))
            .then_some(())
    })
    .unwrap_or_else(|| panic!("/readyz: {} {}", last.0, last.1));
    create_topic(&topic, 1);
    let producer = HeaderProducer::new();
    for i in 0..3 {
        producer.send(
            &topic,
            "user-login",
            &format!("User m{i} logged in successfully"),
            &[],
        );
    }
    producer.flush();
    exporter.wait_for(Duration::from_secs(90), "3 events, ready", |s| {
        s.sum(EVENTS, &[("source", "missing")]) == 3.0 && s.sum(UP, &[("source", "missing")]) == 1.0
    });
    exporter.assert_ready();
    exporter.stop(Duration::from_secs(30));
}
