//! OTLP logs and delta temporality end to end, without a broker: the real exporter binary tails
//! an authorizer log file and pushes to a real OpenTelemetry Collector (built by
//! `scripts/otelcol.sh`), whose file exporters write what it received. The tests read the log
//! records back and compare them field by field with what the input lines say, and read the
//! metric pushes to check that each delta carries only the increase since the previous one.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::support::collector::{Collector, LogSeen, PointSeen};
use crate::support::{wait_until, Exporter};

const WAIT: Duration = Duration::from_secs(30);

/// An authorizer denial line of `User:mallory` on topic `topic` from `host`, at second `s` of
/// 2026-11-26 14:06 UTC (the layout of Kafka's `kafka-authorizer.log`, as in
/// `tests/fixtures/` and `file_source.rs`).
fn denial(s: u32, topic: &str, host: &str) -> String {
    format!(
        "[2026-11-26 14:06:{s:02},000] INFO Principal = User:mallory is Denied operation = WRITE from host = {host} on resource = Topic:LITERAL:{topic} for request = Produce with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n"
    )
}

fn append(path: &Path, text: &str) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The exporter tailing `dir`, pushing every signal to `collector` over HTTP, metrics as deltas
/// every 300 ms; privilege probing fires at 3 denied topics.
fn start(dir: &Path, state: &Path, collector: &Collector) -> Exporter {
    let yaml = format!(
        "sources:\n  - file:\n      name: logs\n      paths: ['{dir}/*.log']\n      start_at: beginning\n      state_dir: '{state}'\n      poll_interval_ms: 50\n\
         detectors:\n  privilege_probing: {{ distinct_resources: 3, window: 10m }}\n\
         otlp:\n  endpoint: {endpoint}\n  service_name: kse-e2e-logs\n  metrics: {{ interval_ms: 300, temporality: delta }}\n  traces: {{ schedule_delay_ms: 100 }}\n  logs: {{ schedule_delay_ms: 100 }}\n",
        dir = dir.display(),
        state = state.display(),
        endpoint = collector.endpoint(false),
    );
    Exporter::start(&yaml)
}

/// 2026-11-26T14:06:<s>Z in Unix nanoseconds.
fn at(s: u64) -> f64 {
    ((1_795_701_960 + s) * 1_000_000_000) as f64
}

fn check_denial(r: &LogSeen, s: u64, topic: &str, host: &str, path: &Path) {
    let expected: BTreeMap<String, String> = [
        ("event.name", "kafka.security.authorization"),
        ("user.name", "User:mallory"),
        ("client.address", host),
        ("network.type", "ipv4"),
        ("network.transport", "tcp"),
        ("network.protocol.name", "kafka"),
        ("error.type", "no_matching_acl"),
        ("kafka.operation", "WRITE"),
        ("kafka.resource.type", "Topic"),
        ("kafka.resource.name", topic),
        ("kafka.resource.pattern_type", "LITERAL"),
        ("kafka.topic", topic),
        ("kafka.api", "Produce"),
        ("kafka_security.source", "logs"),
        ("kafka_security.format", "authorizer_log"),
        ("kafka_security.category", "authorization"),
        ("kafka_security.outcome", "denied"),
        ("kafka_security.event_type", "authorization"),
        ("kafka_security.reason", "no_matching_acl"),
        ("log.file.path", path.to_str().unwrap()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let mut attributes = r.attributes.clone();
    assert!(attributes
        .remove("kafka_security.file.offset")
        .is_some_and(|o| o.parse::<u64>().is_ok()));
    assert_eq!(attributes, expected, "{r:#?}");
    assert_eq!(r.event_name, "kafka.security.authorization");
    assert_eq!((r.severity_number, r.severity_text.as_str()), (13, "WARN"));
    assert_eq!(
        r.body,
        format!("User:mallory was denied WRITE on Topic:{topic} from {host}: no_matching_acl.")
    );
    assert_eq!(r.time, at(s));
    assert!(r.observed_time > r.time);
    assert_eq!(r.resource["service.name"], "kse-e2e-logs");
}

/// The `kafka_security.events` points of source `logs` with outcome denied, in push order.
fn denied_points(collector: &Collector) -> Vec<PointSeen> {
    collector
        .points()
        .into_iter()
        .filter(|p| {
            p.name == "kafka_security.events"
                && p.attributes.get("source").map(String::as_str) == Some("logs")
                && p.attributes.get("outcome").map(String::as_str) == Some("denied")
        })
        .collect()
}

#[test]
fn events_and_detections_reach_a_real_collector_as_log_records_and_metrics_as_deltas() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let collector = Collector::start();
    let file = logs.path().join("kafka-authorizer.log");
    let first = [
        (1, "payments", "10.0.0.9"),
        (2, "orders", "10.0.0.9"),
        (3, "refunds", "10.0.0.10"),
    ];
    for (s, topic, host) in first {
        append(&file, &denial(s, topic, host));
    }
    let exporter = start(logs.path(), state.path(), &collector);

    // Three denials and the privilege-probing detection they make, nothing else.
    wait_until(WAIT, "4 log records", || {
        let r = collector.log_records();
        (r.len() >= 4).then_some(r)
    });
    std::thread::sleep(Duration::from_millis(500)); // nothing more may come
    let records = collector.log_records();
    assert_eq!(records.len(), 4, "{records:#?}");
    let spans = collector.spans();
    for (s, topic, host) in first {
        let r = records
            .iter()
            .find(|r| r.attributes.get("kafka.topic").map(String::as_str) == Some(topic))
            .unwrap_or_else(|| panic!("no record of {topic}: {records:#?}"));
        check_denial(r, s.into(), topic, host, &file);
        // In the trace of the event's span.
        let span = spans
            .iter()
            .find(|sp| sp.span_id == r.span_id)
            .unwrap_or_else(|| panic!("no span {} for {topic}", r.span_id));
        assert_eq!(span.trace_id, r.trace_id);
        assert_eq!(
            span.attributes["kafka_security.resource.name"], topic,
            "the record's span is its event's"
        );
    }
    let detection = records
        .iter()
        .find(|r| r.event_name == "kafka.security.detection")
        .expect("the detection's record");
    assert_eq!(
        detection.attributes["kafka_security.detection.detector"],
        "privilege_probing"
    );
    assert_eq!(
        detection.attributes["kafka_security.detection.subject"],
        "User:mallory"
    );
    assert_eq!(detection.attributes["kafka_security.detection.count"], "3");
    assert_eq!(
        detection.attributes["event.name"],
        "kafka.security.detection"
    );
    // `privilege_probing: { severity: critical }` is the README's example; the default warns.
    assert_eq!(detection.severity_text, "WARN");
    assert_eq!(
        detection.time,
        at(3),
        "the time of the event that made it fire"
    );
    assert!(
        detection
            .body
            .starts_with("Detection privilege_probing (warning, "),
        "{}",
        detection.body
    );
    let detection_span = spans
        .iter()
        .find(|s| s.span_id == detection.span_id)
        .expect("the detection's span");
    assert_eq!(detection_span.name, "kafka.security.detection");
    assert_eq!(detection_span.trace_id, detection.trace_id);

    // Delta metrics: the pushes so far carry the three denials once in all.
    let before = wait_until(WAIT, "the first denials pushed", || {
        let p = denied_points(&collector);
        (p.iter().map(|p| p.value).sum::<f64>() == 3.0).then_some(p)
    });
    for p in &before {
        assert_eq!(p.temporality, 1, "AGGREGATION_TEMPORALITY_DELTA: {p:?}");
        assert!(p.monotonic);
    }
    // Two more denials: a later push carries exactly those two, and the pushes between carry 0.
    append(&file, &denial(4, "payments", "10.0.0.9"));
    append(&file, &denial(5, "payments", "10.0.0.9"));
    exporter.wait_for(WAIT, "5 denials applied", |s| {
        s.sum(
            "kafka_security_events_total",
            &[("source", "logs"), ("outcome", "denied")],
        ) == 5.0
    });
    let after = wait_until(WAIT, "the increase pushed and one push more", || {
        let p = denied_points(&collector);
        let rest = &p[before.len()..];
        let carried = rest.iter().position(|p| p.value != 0.0)?;
        (rest.len() > carried + 1).then(|| p.clone())
    });
    let values: Vec<f64> = after.iter().map(|p| p.value).collect();
    let (first, second) = values.split_at(before.len());
    assert_eq!(first.iter().sum::<f64>(), 3.0, "{values:?}");
    assert_eq!(
        second.iter().sum::<f64>(),
        2.0,
        "the later pushes carry only the increase: {values:?}"
    );
    assert!(second.iter().all(|v| *v <= 2.0), "{values:?}");
    // Consecutive points of the series are contiguous: each starts where the previous ended.
    for pair in after.windows(2) {
        assert_eq!(pair[1].start, pair[0].time, "{pair:?}");
        assert!(pair[1].time > pair[0].time);
    }
    // The two new denials became two records more, and no log record was dropped.
    wait_until(WAIT, "6 log records", || {
        (collector.log_records().len() == 6).then_some(())
    });
    let scrape = exporter.scrape();
    for signal in ["metrics", "traces", "logs"] {
        for metric in [
            "kafka_security_otlp_dropped_total",
            "kafka_security_otlp_export_failures_total",
        ] {
            assert_eq!(
                scrape.value(metric, &[("signal", signal)]),
                0.0,
                "{metric} {signal}"
            );
        }
    }
    let logs = exporter.stop(Duration::from_secs(30));
    assert!(
        logs.iter().any(|l| l["message"] == "Flushed log records."),
        "{logs:#?}"
    );
}
