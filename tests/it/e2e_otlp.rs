//! OpenTelemetry end to end: records (with and without W3C `traceparent` headers) go through the
//! real Kafka broker into the real exporter binary, which pushes OTLP to a real OpenTelemetry
//! Collector (built by `scripts/otelcol.sh` with the collector builder). The collector writes
//! what it received to JSON files (file exporter) and re-exposes the metrics in the Prometheus
//! format (prometheus exporter); the tests read both and compare with `/metrics`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use crate::support::collector::{latest, Collector, PointSeen, SpanSeen};
use crate::support::pki::Pki;
use crate::support::{
    broker_shared, create_topic, repo_dir, source_config, unique, wait_until, Exporter,
    HeaderProducer, Scrape,
};

const EVENTS: &str = "kafka_security_events_total";
const METRIC_EXPORT_FAILED: &str =
    "Metric export failed; the next push carries the cumulative values again.";

const PARENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";
const UNSAMPLED_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// The same workload for both protocols: 3 logins without headers, 2 denials whose records
/// carry a sampled `traceparent` (one with `tracestate`), 1 failed login whose `traceparent` says
/// "not sampled", 1 unparseable JSON record.
fn produce_workload(text: &str, json: &str) {
    let p = HeaderProducer::new();
    for _ in 0..3 {
        p.send(text, "user-login", "User alice logged in successfully", &[]);
    }
    p.send(
        text,
        "access-denied",
        "User mallory denied access to payments-db",
        &[
            (
                "traceparent",
                &format!("00-{PARENT_TRACE}-{PARENT_SPAN}-01"),
            ),
            ("tracestate", "vendor=opaque-value"),
        ],
    );
    p.send(
        text,
        "access-denied",
        "User mallory denied access to payments-db",
        &[(
            "traceparent",
            "00-11111111111111111111111111111111-2222222222222222-01",
        )],
    );
    p.send(
        text,
        "user-login",
        "User bob failed to log in from 10.0.0.7",
        &[(
            "traceparent",
            &format!("00-{UNSAMPLED_TRACE}-b7ad6b7169203331-00"),
        )],
    );
    p.send(json, "k", "{not json", &[]);
    p.flush();
}

/// Waits for the exporter to have applied the whole workload.
fn wait_applied(exporter: &Exporter, source: &str) -> Scrape {
    exporter.wait_for(Duration::from_secs(60), "the workload", |s| {
        s.sum(EVENTS, &[("source", source)]) == 6.0
            && s.sum("kafka_security_parse_errors_total", &[("source", source)]) == 1.0
    })
}

/// Checks the spans of the workload.
fn check_spans(spans: &[SpanSeen], text: &str, json: &str, group: &str, service: &str) {
    // 3 logins + 2 denials + 1 parse error; the unsampled parent's record has none.
    assert_eq!(spans.len(), 6, "spans: {spans:#?}");
    assert!(
        spans.iter().all(|s| s.trace_id != UNSAMPLED_TRACE),
        "a span joined an unsampled trace"
    );
    for s in spans {
        assert_eq!(s.resource["service.name"], service);
        assert!(s.resource.contains_key("service.instance.id"));
        assert!(s.resource.contains_key("service.version"));
        assert_eq!(s.kind, 5, "SPAN_KIND_CONSUMER: {s:?}");
        assert_eq!(s.attributes["messaging.system"], "kafka");
        assert_eq!(s.attributes["messaging.operation.type"], "process");
        assert_eq!(s.attributes["messaging.consumer.group.name"], group);
        assert!(s.attributes["messaging.kafka.offset"]
            .parse::<i64>()
            .is_ok());
        assert!(s
            .attributes
            .contains_key("messaging.destination.partition.id"));
        assert_eq!(
            s.name,
            format!("process {}", s.attributes["messaging.destination.name"])
        );
    }
    let logins: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.attributes
                .get("kafka_security.event_type")
                .map(String::as_str)
                == Some("user-login")
        })
        .collect();
    assert_eq!(logins.len(), 3);
    for s in &logins {
        assert_eq!(s.name, format!("process {text}"));
        assert_eq!(s.parent_span_id, "", "no traceparent, no parent");
        assert_eq!(s.attributes["kafka_security.principal"], "alice");
        assert_eq!(s.attributes["kafka_security.category"], "authentication");
        assert_eq!(s.attributes["kafka_security.outcome"], "success");
        assert_eq!(s.status_code, 0, "unset status: {s:?}");
        assert!(!s.attributes.contains_key("error.type"));
    }
    let joined = spans
        .iter()
        .find(|s| s.trace_id == PARENT_TRACE)
        .expect("the span joined the record's trace");
    assert_eq!(joined.parent_span_id, PARENT_SPAN);
    assert_eq!(joined.trace_state, "vendor=opaque-value");
    assert_eq!(joined.attributes["kafka_security.decision"], "denied");
    assert_eq!(joined.attributes["kafka_security.principal"], "mallory");
    assert_eq!(
        joined.attributes["kafka_security.resource.name"],
        "payments-db"
    );
    assert_eq!(joined.status_code, 2, "STATUS_CODE_ERROR: {joined:?}");
    assert!(joined.status_message.contains("denied"), "{joined:?}");
    assert!(joined.attributes.contains_key("error.type"));
    let second = spans
        .iter()
        .find(|s| s.trace_id == "11111111111111111111111111111111")
        .expect("second traced record");
    assert_eq!(second.parent_span_id, "2222222222222222");
    assert_eq!(second.trace_state, "");
    let bad = spans
        .iter()
        .find(|s| s.name == format!("process {json}"))
        .expect("the unparseable record's span");
    assert_eq!(bad.status_code, 2);
    assert_eq!(bad.attributes["error.type"], "invalid_json");
    assert!(bad.status_message.starts_with("parse error"), "{bad:?}");
    let ids: BTreeSet<_> = spans.iter().map(|s| &s.span_id).collect();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");
}

/// `kafka_security_*` counter and histogram samples (and gauges when `gauges`), labels that the
/// collector adds removed and `le` normalised, for comparing two expositions.
fn comparable(s: &Scrape, gauges: bool) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for x in &s.samples {
        if !x.name.starts_with("kafka_security_") {
            continue;
        }
        let histogram_or_counter = x.name.ends_with("_total")
            || x.name.ends_with("_bucket")
            || x.name.ends_with("_sum")
            || x.name.ends_with("_count");
        if !histogram_or_counter && !gauges {
            continue;
        }
        let labels: Vec<String> = x
            .labels
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "job" | "instance") && !k.starts_with("otel_scope_")
            })
            .map(|(k, v)| {
                if k == "le" {
                    format!("le={}", v.parse::<f64>().unwrap())
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        out.insert(format!("{}{{{}}}", x.name, labels.join(",")), x.value);
    }
    out
}

fn check_metrics(points: &[PointSeen], source: &str, service: &str, spans: &[SpanSeen]) {
    let events = latest(points, "kafka_security.events");
    let mine: Vec<_> = events
        .values()
        .filter(|p| p.attributes["source"] == source)
        .collect();
    assert_eq!(mine.iter().map(|p| p.value).sum::<f64>(), 6.0, "{mine:#?}");
    for p in &mine {
        assert_eq!(p.kind, "sum");
        assert!(p.monotonic);
        assert_eq!(p.temporality, 2, "cumulative");
        assert_eq!(p.unit, "{event}");
        assert!(p.start > 0.0);
        assert_eq!(p.resource["service.name"], service);
    }
    let denied = mine
        .iter()
        .find(|p| p.attributes["outcome"] == "denied")
        .expect("denied series");
    assert_eq!(denied.value, 2.0);
    let delay = latest(points, "kafka_security.event_delay");
    let d = delay
        .values()
        .find(|p| p.attributes["source"] == source)
        .expect("delay histogram of the source");
    assert_eq!((d.kind, d.unit.as_str(), d.value), ("histogram", "s", 6.0));
    // Exemplars point at spans we exported.
    let span_traces: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    let exemplar_traces: Vec<&String> = points
        .iter()
        .filter(|p| p.name == "kafka_security.events" && p.attributes["source"] == source)
        .flat_map(|p| &p.exemplar_traces)
        .collect();
    assert!(
        !exemplar_traces.is_empty(),
        "no exemplars on kafka_security.events"
    );
    for t in exemplar_traces {
        assert!(
            span_traces.contains(t.as_str()),
            "exemplar trace {t} is no exported span"
        );
    }
    let denied_exemplars = &latest(points, "kafka_security.authorization_denials_by_principal")
        .values()
        .find(|p| p.attributes["principal"] == "mallory")
        .expect("denials by principal")
        .exemplar_traces
        .clone();
    assert!(
        denied_exemplars
            .iter()
            .all(|t| t == PARENT_TRACE || t == "11111111111111111111111111111111"),
        "{denied_exemplars:?}"
    );
    // Self-metrics: present at 0 for both signals.
    let failures = latest(points, "kafka_security.otlp_export_failures");
    for signal in ["metrics", "traces"] {
        assert!(failures.values().any(|p| p.attributes["signal"] == signal));
    }
}

fn end_to_end(grpc: bool) {
    let _broker = broker_shared();
    let text = unique("otel-text");
    let json = unique("otel-json");
    create_topic(&text, 2);
    create_topic(&json, 1);
    let group = unique("otel-group");
    let collector = Collector::start();
    let source = if grpc { "otel_grpc" } else { "otel_http" };
    let mut yaml = source_config(
        source,
        &group,
        &[(&text, "text"), (&json, "json")],
        "admin",
        "admin-secret",
    );
    let service;
    let exporter = if grpc {
        // Everything from the config file; short intervals.
        service = "kse-e2e-grpc";
        yaml.push_str(&format!(
            "otlp:\n  endpoint: {}\n  protocol: grpc\n  service_name: {service}\n  compression: gzip\n  metrics: {{interval_ms: 300}}\n  traces: {{schedule_delay_ms: 100}}\n",
            collector.endpoint(true)
        ));
        Exporter::start(&yaml)
    } else {
        // Everything from the standard variables; intervals so long that only the flush on
        // shutdown can deliver.
        service = "kse-e2e-http";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, &yaml).unwrap();
        let endpoint = collector.endpoint(false);
        Exporter::spawn_with_env(
            &["run", "--config", path.to_str().unwrap()],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_SERVICE_NAME", service),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment.name=e2e",
                ),
                ("OTEL_METRIC_EXPORT_INTERVAL", "600000"),
                ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
            ],
            dir,
        )
    };
    produce_workload(&text, &json);
    let before = wait_applied(&exporter, source);

    if grpc {
        wait_until(Duration::from_secs(30), "6 spans", || {
            (collector.spans().len() >= 6).then_some(())
        });
        std::thread::sleep(Duration::from_millis(500)); // nothing more may come
        check_spans(&collector.spans(), &text, &json, &group, service);
        // The pushed metrics and the collector's Prometheus translation match /metrics exactly.
        wait_until(
            Duration::from_secs(30),
            "the collector's Prometheus view to match /metrics",
            || {
                let ours = comparable(&exporter.scrape(), true);
                let theirs = comparable(&collector.prometheus(), true);
                (ours == theirs && ours.keys().any(|k| k.starts_with(EVENTS))).then_some(())
            },
        );
        let points = collector.points();
        check_metrics(&points, source, service, &collector.spans());
        // The cluster id reaches the resource once the consumer has fetched it.
        wait_until(
            Duration::from_secs(30),
            "kafka.cluster.id in the resource",
            || {
                collector
                    .points()
                    .last()
                    .and_then(|p| p.resource.get("kafka.cluster.id").cloned())
            },
        );
        exporter.stop(Duration::from_secs(30));
    } else {
        // Nothing was pushed yet (600 s intervals)…
        std::thread::sleep(Duration::from_millis(500));
        assert!(collector.spans().is_empty(), "spans before the flush");
        let logs = exporter.stop(Duration::from_secs(30));
        assert!(
            logs.iter().any(|l| l["message"] == "Flushed spans."),
            "{logs:#?}"
        );
        // …and the flush on shutdown delivered everything.
        let spans = wait_until(Duration::from_secs(10), "flushed spans", || {
            let s = collector.spans();
            (s.len() >= 6).then_some(s)
        });
        check_spans(&spans, &text, &json, &group, service);
        assert_eq!(spans[0].resource["deployment.environment.name"], "e2e");
        let points = wait_until(Duration::from_secs(10), "flushed metrics", || {
            let p = collector.points();
            (!p.is_empty()).then_some(p)
        });
        check_metrics(&points, source, service, &spans);
        let theirs = comparable(&collector.prometheus(), false);
        let ours = comparable(&before, false);
        assert_eq!(
            ours, theirs,
            "counters and histograms: /metrics (left) vs collector (right)"
        );
    }
}

#[test]
fn traces_and_metrics_reach_a_real_collector_over_grpc() {
    end_to_end(true);
}

#[test]
fn traces_and_metrics_reach_a_real_collector_over_http_and_flush_on_shutdown() {
    end_to_end(false);
}

/// Mutual TLS to the collector over both protocols, configured through the standard
/// variables: the exporter verifies the collector against `OTEL_EXPORTER_OTLP_CERTIFICATE` and
/// presents `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`. Without the client certificate, or trusting
/// another CA, nothing is delivered and the failures are counted and logged.
#[test]
fn otlp_over_mutual_tls_with_both_protocols() {
    let _broker = broker_shared();
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(pki_dir.path());
    let collector = Collector::start_with(Some(pki.clone()));
    let producer = HeaderProducer::new();
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let spawn = |protocol: &str, source: &str, topic: &str, tls: &[(&str, String)]| {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        let yaml = source_config(
            source,
            &unique("otel-tls-group"),
            &[(topic, "text")],
            "admin",
            "admin-secret",
        );
        std::fs::write(&config, yaml).unwrap();
        let endpoint = collector.endpoint(protocol == "grpc");
        let mut env = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ];
        env.extend(tls.iter().map(|(k, v)| (*k, v.as_str())));
        Exporter::spawn_with_env(&["run", "--config", config.to_str().unwrap()], &env, dir)
    };
    let full = |ca: &PathBuf| {
        vec![
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(ca)),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                path(&pki.client_cert),
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.client_key)),
        ]
    };
    for protocol in ["grpc", "http/protobuf"] {
        let tag = if protocol == "grpc" { "grpc" } else { "http" };
        let topic = unique(&format!("otel-tls-{tag}"));
        create_topic(&topic, 1);
        let source = format!("otel_tls_{tag}");

        // Right CA and a client certificate: spans and metrics arrive, no failure.
        let exporter = spawn(protocol, &source, &topic, &full(&pki.ca));
        for i in 0..3 {
            producer.send(
                &topic,
                "user-login",
                &format!("User tls{i} logged in successfully"),
                &[],
            );
        }
        producer.flush();
        exporter.wait_for(Duration::from_secs(60), "3 events", |s| {
            s.sum(EVENTS, &[("source", &source)]) == 3.0
        });
        wait_until(Duration::from_secs(30), "3 spans over TLS", || {
            let n = collector
                .spans()
                .iter()
                .filter(|s| s.attributes.get("messaging.destination.name") == Some(&topic))
                .count();
            (n == 3).then_some(())
        });
        wait_until(Duration::from_secs(30), "the count pushed over TLS", || {
            let events = latest(&collector.points(), "kafka_security.events");
            let sum: f64 = events
                .values()
                .filter(|p| p.attributes.get("source") == Some(&source))
                .map(|p| p.value)
                .sum();
            (sum == 3.0).then_some(())
        });
        let scrape = exporter.scrape();
        for signal in ["metrics", "traces"] {
            assert_eq!(
                scrape.value(
                    "kafka_security_otlp_export_failures_total",
                    &[("signal", signal)]
                ),
                0.0,
                "{protocol} {signal}"
            );
        }
        exporter.stop(Duration::from_secs(30));

        // No client certificate: the collector refuses the handshake.
        // Trusting another CA: the exporter refuses the collector.
        let mut no_client_cert = full(&pki.ca);
        no_client_cert.truncate(1);
        for (case, tls) in [
            ("no client certificate", no_client_cert),
            ("another CA", full(&pki.other_ca)),
        ] {
            let exporter = spawn(protocol, &format!("{source}_bad"), &topic, &tls);
            let scrape = exporter.wait_for(Duration::from_secs(30), case, |s| {
                s.value(
                    "kafka_security_otlp_export_failures_total",
                    &[("signal", "metrics")],
                ) >= 2.0
            });
            assert_eq!(
                scrape.sum(EVENTS, &[("source", &format!("{source}_bad"))]),
                3.0,
                "{protocol}, {case}: counting goes on"
            );
            let logs = exporter.stop(Duration::from_secs(30));
            let errors: Vec<String> = logs
                .iter()
                .filter(|l| l["message"].as_str() == Some(METRIC_EXPORT_FAILED))
                .map(|l| l["error"].as_str().unwrap_or("").to_string())
                .collect();
            eprintln!("{protocol}, {case}: {errors:?}");
            assert!(!errors.is_empty(), "{protocol}, {case}: nothing logged");
            // A refused server certificate names the reason. A refused client certificate is
            // seen, under TLS 1.3, only as the collector closing the connection.
            if case == "another CA" {
                assert!(
                    errors.iter().all(|e| e.contains("certificate")),
                    "{protocol}, {case}: not a certificate error: {errors:?}"
                );
            }
        }
        let delivered = latest(&collector.points(), "kafka_security.events");
        assert!(
            !delivered
                .values()
                .any(|p| p.attributes.get("source") == Some(&format!("{source}_bad"))),
            "{protocol}: a push without a valid TLS setup was accepted"
        );
    }
}

/// Resident memory now (VmRSS), in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap()
        * 1024
}

#[test]
fn a_collector_outage_is_counted_bounded_and_recovered_from() {
    let _broker = broker_shared();
    let topic = unique("otel-outage");
    create_topic(&topic, 2);
    let mut collector = Collector::start();
    let source = "outage";
    let mut yaml = source_config(
        source,
        &unique("otel-outage-group"),
        &[(&topic, "text")],
        "admin",
        "admin-secret",
    );
    yaml.push_str(&format!(
        "otlp:\n  endpoint: {}\n  protocol: grpc\n  timeout_ms: 500\n  metrics: {{interval_ms: 300}}\n  traces: {{schedule_delay_ms: 100, max_queue_size: 1024, max_export_batch_size: 256}}\n",
        collector.endpoint(true)
    ));
    let exporter = Exporter::start(&yaml);
    let producer = HeaderProducer::new();
    let send = |n: usize| {
        for i in 0..n {
            producer.send(
                &topic,
                "user-login",
                &format!("User u{} logged in successfully", i % 50),
                &[],
            );
        }
        producer.flush();
    };

    // Warm up with the collector up.
    send(500);
    exporter.wait_for(Duration::from_secs(60), "500 events", |s| {
        s.sum(EVENTS, &[("source", source)]) == 500.0
    });
    wait_until(Duration::from_secs(30), "500 spans", || {
        (collector.spans().len() >= 500).then_some(())
    });
    let rss_before = rss_bytes(exporter.pid());

    // Collector crashes; events keep coming and keep being counted.
    collector.kill();
    for round in 1..=4 {
        send(5_000);
        exporter.wait_for(Duration::from_secs(120), "events during the outage", |s| {
            s.sum(EVENTS, &[("source", source)]) == 500.0 + 5_000.0 * round as f64
        });
    }
    let during = exporter.wait_for(Duration::from_secs(30), "failures counted", |s| {
        s.value(
            "kafka_security_otlp_export_failures_total",
            &[("signal", "metrics")],
        ) > 0.0
            && s.value(
                "kafka_security_otlp_export_failures_total",
                &[("signal", "traces")],
            ) > 0.0
    });
    let dropped_spans = during.value("kafka_security_otlp_dropped_total", &[("signal", "traces")]);
    // 20 000 spans could not be delivered: each one is either still queued or being sent
    // (≤ 1024 + 256) or counted.
    assert!(
        dropped_spans >= 20_000.0 - 1024.0 - 256.0,
        "dropped spans counted: {dropped_spans}"
    );
    assert!(
        during.value(
            "kafka_security_otlp_dropped_total",
            &[("signal", "metrics")]
        ) > 0.0
    );
    let rss_after = rss_bytes(exporter.pid());
    eprintln!(
        "RSS before the outage {} MiB, after 20 000 events during it {} MiB",
        rss_before >> 20,
        rss_after >> 20
    );
    assert!(
        rss_after < rss_before + (24 << 20),
        "memory grew during the outage: {} -> {} MiB",
        rss_before >> 20,
        rss_after >> 20
    );

    // The collector comes back on the same ports: export resumes.
    collector.launch();
    send(100);
    let total = 500.0 + 20_000.0 + 100.0;
    exporter.wait_for(Duration::from_secs(60), "events after the outage", |s| {
        s.sum(EVENTS, &[("source", source)]) == total
    });
    wait_until(
        Duration::from_secs(30),
        "new spans after the outage",
        || (collector.spans().len() >= 100).then_some(()),
    );
    // Cumulative metrics lose nothing: the first push after the outage carries every event,
    // including those counted while the collector was down.
    wait_until(Duration::from_secs(30), "the full count pushed", || {
        let events = latest(&collector.points(), "kafka_security.events");
        let sum: f64 = events
            .values()
            .filter(|p| p.attributes["source"] == source)
            .map(|p| p.value)
            .sum();
        (sum == total).then_some(())
    });
    // The collector is gone at shutdown: the final push fails, and the log says so rather than
    // claiming a flush.
    collector.kill();
    let logs = exporter.stop(Duration::from_secs(30));
    let said = |start: &str| {
        logs.iter()
            .any(|l| l["message"].as_str().is_some_and(|m| m.starts_with(start)))
    };
    assert!(said("Final metric push failed"), "{logs:#?}");
    assert!(!said("Flushed metrics."), "{logs:#?}");
}

#[test]
fn the_readme_otlp_example_is_valid() {
    let readme = std::fs::read_to_string(repo_dir().join("README.md")).unwrap();
    let section = &readme[readme
        .find("## OpenTelemetry")
        .expect("OpenTelemetry section")..];
    let start = section.find("```yaml\notlp:\n").expect("otlp example") + "```yaml\n".len();
    let end = start + section[start..].find("```").expect("block end");
    let root: serde_yaml_ng::Value = serde_yaml_ng::from_str(&section[start..end]).unwrap();
    let otlp: kafka_security_exporter::otel::OtlpConfig =
        serde_yaml_ng::from_value(root["otlp"].clone())
            .unwrap_or_else(|e| panic!("README otlp example: {e}"));
    assert_eq!(otlp.traces.sampler_arg, Some(0.05));
    assert_eq!(otlp.traces.always_sample_negative, Some(true));
}
