//! End to end against the real Apache Kafka 4.x broker (SASL/SCRAM, StandardAuthorizer) started by
//! `scripts/kafka-broker.sh`: real records in, the real exporter binary, exact values out.

use std::time::Duration;

use crate::support::{
    broker_shared, new_topic, poll_until, produce_paced, shared_topic_source, source_config,
    unique, Exporter, TestProducer,
};

const EVENTS: &str = "kafka_security_events_total";

fn audit_authorization(
    principal: &str,
    method: &str,
    op: &str,
    topic: &str,
    granted: bool,
    host: &str,
) -> String {
    // Shape of a real CP 7.x event (snake_case request fields, \u003d escapes, empty authority).
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg","type":"io.confluent.kafka.server/authorization","datacontenttype":"application/json","subject":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg/topic={topic}","time":"2023-02-21T10:26:58.886604Z","route":"confluent-audit-log-events","data":{{"serviceName":"crn:///kafka\u003dEyVCDzKYSc2vXhyD-z9PXg","methodName":"{method}","resourceName":"crn:///kafka\u003dEyVCDzKYSc2vXhyD-z9PXg/topic\u003d{topic}","authenticationInfo":{{"principal":"{principal}","principalResourceId":""}},"authorizationInfo":{{"granted":{granted},"operation":"{op}","resourceType":"Topic","resourceName":"{topic}","patternType":"LITERAL"}},"request":{{"correlation_id":"53","client_id":"console-producer"}},"requestMetadata":{{"client_address":"/{host}"}}}}}}"#,
        id = unique("ev"),
    )
}

fn audit_authentication(principal: &str, ok: bool) -> String {
    let result = if ok {
        r#"{"status":"SUCCESS","message":""}"#
    } else {
        r#"{"status":"UNAUTHENTICATED","message":"Authentication failed"}"#
    };
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg","type":"io.confluent.kafka.server/authentication","time":"2023-02-21T10:26:58.886604Z","data":{{"methodName":"kafka.Authentication","serviceName":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg","authenticationInfo":{{"principal":"{principal}","metadata":{{"mechanism":"SASL_SSL/PLAIN","identifier":"K1"}}}},"result":{result}}}}}"#,
        id = unique("ev"),
    )
}

#[test]
fn audit_json_and_text_events_are_counted_exactly() {
    let _broker = broker_shared();
    let audit = new_topic("audit", 3);
    let app = new_topic("app", 3);
    let text = new_topic("text", 3);
    let producer = TestProducer::new();
    for _ in 0..5 {
        producer.send(
            &audit,
            None,
            audit_authorization(
                "User:alice",
                "kafka.Produce",
                "Write",
                "orders",
                false,
                "172.21.0.1",
            )
            .as_bytes(),
        );
    }
    for _ in 0..3 {
        producer.send(
            &audit,
            None,
            audit_authorization(
                "User:bob",
                "kafka.Fetch",
                "Read",
                "orders",
                true,
                "172.21.0.2",
            )
            .as_bytes(),
        );
    }
    producer.send(
        &audit,
        None,
        audit_authentication("User:bob", true).as_bytes(),
    );
    producer.send(
        &audit,
        None,
        audit_authentication("User:mallory", false).as_bytes(),
    );
    for _ in 0..3 {
        producer.send(&app, Some(b"carol"), br#"{"timestamp":"2025-03-18T10:15:30Z","event_type":"login","user":"carol","ip":"10.0.0.1","outcome":"success"}"#);
    }
    producer.send(&app, Some(b"eve"), br#"{"timestamp":"2025-03-18T10:15:31Z","event_type":"login","user":"eve","ip":"10.9.9.9","outcome":"failure"}"#);
    producer.send(&app, None, b"{not json");
    for _ in 0..2 {
        producer.send(
            &text,
            Some(b"user-login"),
            b"User JohnDoe logged in successfully",
        );
    }
    producer.send(
        &text,
        Some(b"user-login"),
        b"User mallory failed to log in from 10.6.6.6",
    );
    producer.send(&text, Some(b"user-login"), b"\xff\xfe not utf-8");
    producer.flush();

    let group = unique("group");
    let config = source_config(
        "e2e",
        &group,
        &[
            (&audit, "confluent_audit"),
            (&app, "json"),
            // The text topic by regex subscription.
            (&format!("^{text}$"), "text"),
        ],
        "admin",
        "admin-secret",
    );
    let exporter = Exporter::start(&config);
    let s = exporter.wait_for(Duration::from_secs(60), "all 19 records", |s| {
        s.sum(EVENTS, &[]) + s.sum("kafka_security_parse_errors_total", &[]) >= 19.0
    });

    let authz = "io.confluent.kafka.server/authorization";
    let authn = "io.confluent.kafka.server/authentication";
    let ev = |format, category, outcome, event_type| {
        s.value(
            EVENTS,
            &[
                ("source", "e2e"),
                ("format", format),
                ("category", category),
                ("outcome", outcome),
                ("event_type", event_type),
            ],
        )
    };
    assert_eq!(ev("confluent_audit", "authorization", "denied", authz), 5.0);
    assert_eq!(
        ev("confluent_audit", "authorization", "allowed", authz),
        3.0
    );
    assert_eq!(
        ev("confluent_audit", "authentication", "success", authn),
        1.0
    );
    assert_eq!(
        ev("confluent_audit", "authentication", "failure", authn),
        1.0
    );
    assert_eq!(ev("json", "authentication", "success", "login"), 3.0);
    assert_eq!(ev("json", "authentication", "failure", "login"), 1.0);
    assert_eq!(ev("text", "authentication", "success", "user-login"), 2.0);
    assert_eq!(ev("text", "authentication", "failure", "user-login"), 1.0);
    assert_eq!(s.sum(EVENTS, &[]), 17.0);

    assert_eq!(
        s.value(
            "kafka_security_authorization_total",
            &[
                ("decision", "denied"),
                ("operation", "WRITE"),
                ("resource_type", "Topic"),
                ("api", "Produce")
            ]
        ),
        5.0
    );
    assert_eq!(
        s.value(
            "kafka_security_authorization_total",
            &[
                ("decision", "allowed"),
                ("operation", "READ"),
                ("resource_type", "Topic"),
                ("api", "Fetch")
            ]
        ),
        3.0
    );
    assert_eq!(
        s.value(
            "kafka_security_authorization_denials_by_principal_total",
            &[
                ("principal", "User:alice"),
                ("operation", "WRITE"),
                ("resource_type", "Topic"),
                ("resource_name", "orders")
            ]
        ),
        5.0
    );
    assert_eq!(
        s.sum(
            "kafka_security_authorization_denials_by_principal_total",
            &[]
        ),
        5.0
    );
    assert_eq!(
        s.sum(
            "kafka_security_authentication_total",
            &[("outcome", "success")]
        ),
        6.0
    );
    assert_eq!(
        s.sum(
            "kafka_security_authentication_total",
            &[("outcome", "failure")]
        ),
        3.0
    );
    assert_eq!(
        s.value(
            "kafka_security_authentication_total",
            &[
                ("outcome", "failure"),
                ("mechanism", "PLAIN"),
                ("listener", "SASL_SSL")
            ]
        ),
        1.0
    );
    assert_eq!(
        s.sum(
            "kafka_security_authentication_failures_by_client_total",
            &[("client_host", "10.6.6.6")]
        ),
        1.0
    );
    assert_eq!(
        s.value(
            "kafka_security_authentication_failures_by_client_total",
            &[
                ("client_host", "10.6.6.6"),
                ("reason", "invalid_credentials")
            ]
        ),
        1.0
    );
    assert_eq!(
        s.sum(
            "kafka_security_authentication_failures_by_client_total",
            &[("client_host", "10.9.9.9")]
        ),
        1.0
    );
    assert_eq!(
        s.value(
            "kafka_security_parse_errors_total",
            &[
                ("source", "e2e"),
                ("format", "json"),
                ("reason", "invalid_json")
            ]
        ),
        1.0
    );
    assert_eq!(
        s.value(
            "kafka_security_parse_errors_total",
            &[
                ("source", "e2e"),
                ("format", "text"),
                ("reason", "invalid_utf8")
            ]
        ),
        1.0
    );
    assert_eq!(
        s.value("kafka_security_source_up", &[("source", "e2e")]),
        1.0
    );
    // Every event with an event time fed the delay histogram: audit (10), JSON (4), text (3, from
    // the record timestamp).
    assert_eq!(
        s.value(
            "kafka_security_event_delay_seconds_count",
            &[("source", "e2e")]
        ),
        17.0
    );
    exporter.assert_ready();
    exporter.stop(Duration::from_secs(30));
}

/// Stops the exporter (SIGTERM) while records keep arriving, starts it again in the same group,
/// and checks that the first run's count plus the second's equals what was produced.
#[test]
fn a_graceful_restart_mid_stream_neither_loses_nor_doubles() {
    let (_broker, topic, config) = shared_topic_source("restart", 3, "text");
    const TOTAL: usize = 3000;

    let producer = produce_paced(
        &topic,
        Some(b"user-login"),
        TOTAL,
        (50, Duration::from_millis(60)),
        |i| format!("User u{i} logged in successfully"),
    );

    let first = Exporter::start(&config);
    first.wait_for(Duration::from_secs(60), "the first 300 events", |s| {
        s.sum(EVENTS, &[]) >= 300.0
    });
    let logs = first.stop(Duration::from_secs(30));
    let applied_first = logs
        .iter()
        .rev()
        .find(|l| l["message"] == "Source stopped.")
        .and_then(|l| l["records"].as_u64())
        .expect("the first run logs how many records it applied") as f64;
    assert!(
        !producer.is_finished(),
        "the first run must stop mid-stream"
    );

    let second = Exporter::start(&config);
    producer.join().unwrap();
    let expected = TOTAL as f64 - applied_first;
    let s = second.wait_for(Duration::from_secs(90), "the rest of the stream", |s| {
        s.sum(EVENTS, &[]) >= expected
    });
    // Give a double-count a chance to show.
    std::thread::sleep(Duration::from_secs(3));
    let s2 = second.scrape();
    assert_eq!(s.sum(EVENTS, &[]), expected);
    assert_eq!(
        s2.sum(EVENTS, &[]),
        expected,
        "counted more than was left after the restart"
    );
    assert_eq!(applied_first + s2.sum(EVENTS, &[]), TOTAL as f64);
    assert!(applied_first >= 300.0 && applied_first < TOTAL as f64);
    second.stop(Duration::from_secs(30));
}

#[test]
fn a_wrong_password_is_a_clear_error_and_not_ready() {
    let _broker = broker_shared();
    let topic = new_topic("badpw", 1);
    let config = source_config(
        "badpw",
        &unique("group"),
        &[(&topic, "auto")],
        "alice",
        "not-alices-password",
    );
    let exporter = Exporter::start(&config);
    let mut last = (0, String::new());
    let body = poll_until(Duration::from_secs(30), Duration::from_millis(200), || {
        last = exporter.readyz();
        (last.0 == 503 && last.1.contains("authentication failed")).then(|| last.1.clone())
    })
    .unwrap_or_else(|| panic!("still {}: {}", last.0, last.1));
    assert!(body.contains("source badpw"), "{body}");
    let logs = exporter.logs();
    let error = logs
        .iter()
        .find(|l| l["message"] == "Kafka rejected the exporter's credentials; check the source's sasl.* properties.")
        .unwrap_or_else(|| panic!("no credentials error in {logs:#?}"));
    assert_eq!(error["level"], "ERROR");
    assert!(
        error["reason"].as_str().unwrap().contains("SCRAM-SHA-256"),
        "{error}"
    );
    let s = exporter.scrape();
    assert_eq!(
        s.get("kafka_security_source_up", &[("source", "badpw")]),
        Some(0.0)
    );
    // /metrics and /healthz keep serving.
    let (status, _, _) = crate::support::http_get(exporter.addr, "/healthz", &[]).unwrap();
    assert_eq!(status, 200);
    exporter.stop(Duration::from_secs(30));
}

/// A second replica joins the group mid-stream: the first commits its revoked partitions before
/// handing them over, so the two replicas' counts add up to exactly what was produced. The fault
/// matrix's row, asserted: both stay ready, the first logs `Partitions revoked.` with
/// `committed=true`, and the lag series of a revoked partition leave its exposition (each
/// partition's lag is reported by exactly one replica).
#[test]
fn a_rebalance_to_a_second_replica_neither_loses_nor_doubles() {
    let (_broker, topic, config_a) = shared_topic_source("replica", 4, "text");
    const TOTAL: usize = 4000;

    // No key: records spread over every partition, so both replicas get some. About 16 s of
    // production, so replica B joins while it runs.
    let producer = produce_paced(&topic, None, TOTAL, (25, Duration::from_millis(100)), |i| {
        format!("User r{i} failed to log in from 10.1.1.{}", i % 200)
    });

    let a = Exporter::start(&config_a);
    a.wait_for(
        Duration::from_secs(60),
        "replica A to start counting",
        |s| s.sum(EVENTS, &[]) >= 200.0,
    );
    let b = Exporter::start(&config_a);
    b.wait_for(
        Duration::from_secs(60),
        "replica B to get partitions",
        |s| s.sum(EVENTS, &[]) > 0.0,
    );
    producer.join().unwrap();
    let mut total = 0.0;
    poll_until(Duration::from_secs(90), Duration::from_millis(200), || {
        total = a.scrape().sum(EVENTS, &[]) + b.scrape().sum(EVENTS, &[]);
        (total >= TOTAL as f64).then_some(())
    })
    .unwrap_or_else(|| panic!("only {total} of {TOTAL} counted"));
    std::thread::sleep(Duration::from_secs(3));
    let (sa, sb) = (a.scrape(), b.scrape());
    assert_eq!(
        sa.sum(EVENTS, &[]) + sb.sum(EVENTS, &[]),
        TOTAL as f64,
        "A {} + B {}",
        sa.sum(EVENTS, &[]),
        sb.sum(EVENTS, &[])
    );
    assert_eq!(
        sa.sum(
            "kafka_security_authentication_failures_by_client_total",
            &[]
        ) + sb.sum(
            "kafka_security_authentication_failures_by_client_total",
            &[]
        ),
        TOTAL as f64
    );
    assert_eq!(a.readyz().0, 200);
    assert_eq!(b.readyz().0, 200);
    let revoked: Vec<_> = a
        .logs()
        .into_iter()
        .filter(|l| l["message"] == "Partitions revoked.")
        .collect();
    assert!(!revoked.is_empty(), "A never handed partitions over");
    assert!(
        revoked.iter().all(|l| l["committed"] == true),
        "{revoked:#?}"
    );
    // Lag is reported with the statistics (every 5 s): wait until all four partitions are.
    let lagging = |s: &crate::support::Scrape| -> Vec<String> {
        s.series("kafka_security_consumer_lag_messages")
            .iter()
            .map(|x| x.labels["partition"].clone())
            .collect()
    };
    let mut last = (Vec::new(), Vec::new());
    poll_until(Duration::from_secs(30), Duration::from_millis(500), || {
        last = (lagging(&a.scrape()), lagging(&b.scrape()));
        (last.0.len() + last.1.len() == 4).then_some(())
    })
    .unwrap_or_else(|| panic!("lag series of A and B: {last:?}"));
    assert!(
        last.0.iter().all(|p| !last.1.contains(p)),
        "a partition's lag reported by both replicas: {last:?}"
    );
    a.stop(Duration::from_secs(30));
    b.stop(Duration::from_secs(30));
}

/// A large backlog is consumed with memory bounded by the prefetch cap, not by the backlog.
#[test]
fn a_backlog_is_consumed_in_bounded_memory() {
    let (_broker, topic, config) = shared_topic_source("backlog", 3, "json");
    const N: usize = 100_000;
    let filler = "x".repeat(900);
    TestProducer::new().produce(&topic, None, N, |i| {
        format!(
            r#"{{"event_type":"login","user":"u{}","ip":"10.2.{}.{}","outcome":"success","pad":"{filler}"}}"#,
            i % 1000,
            i % 7,
            i % 250
        )
    });

    let exporter = Exporter::start(&config);
    let s = exporter.wait_for(Duration::from_secs(120), "the whole backlog", |s| {
        s.sum(EVENTS, &[]) >= N as f64
    });
    assert_eq!(s.sum(EVENTS, &[]), N as f64);
    let peak = exporter.peak_rss_bytes();
    // ~100 MB of backlog; the prefetch cap (queued.max.messages.kbytes=16384) keeps the process
    // far below that. Measured 56 MiB (debug build); the bound leaves room for allocator noise.
    assert!(
        peak < 120 * 1024 * 1024,
        "peak RSS {} MiB while consuming a 100 MB backlog",
        peak >> 20
    );
    eprintln!(
        "peak RSS while consuming a {N}-record (~100 MB) backlog: {} MiB",
        peak >> 20
    );
    exporter.stop(Duration::from_secs(30));
}
