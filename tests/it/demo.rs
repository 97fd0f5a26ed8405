//! The embedded demo (README command 1): mock cluster, generator and the real pipeline.

use std::time::Duration;

use crate::support::{http_get, Exporter, Scrape};

#[test]
fn the_demo_shows_every_format_and_a_brute_force_burst() {
    let dir = tempfile::tempdir().unwrap();
    let exporter = Exporter::spawn(&["demo", "--rate", "200", "--duration-secs", "60"], dir);
    let s = exporter.wait_for(
        Duration::from_secs(45),
        "events of every format and the burst",
        |s| {
            ["confluent_audit", "json", "text"]
                .iter()
                .all(|f| s.sum("kafka_security_events_total", &[("format", f)]) > 20.0)
                && s.sum(
                    "kafka_security_authentication_failures_by_client_total",
                    &[
                        ("client_host", "203.0.113.66"),
                        ("reason", "invalid_credentials"),
                    ],
                ) >= 30.0
                // The broker-log side: the demo's rotating log directory, tailed.
                && ["authorizer", "server", "controller", "request"].iter().all(|k| {
                    s.sum("kafka_security_log_lines_total", &[("file_kind", k)]) > 0.0
                })
                && s.sum("kafka_security_acl_changes_total", &[]) > 0.0
                && s.sum("kafka_security_credential_changes_total", &[]) > 0.0
                && s.sum("kafka_security_config_changes_total", &[]) > 0.0
                && s.sum("kafka_security_connections_rejected_total", &[]) > 0.0
                && s.sum("kafka_security_request_duration_seconds_count", &[]) > 0.0
                && s.sum(
                    "kafka_security_events_total",
                    &[("format", "authorizer_log"), ("outcome", "denied")],
                ) > 0.0
        },
    );
    assert!(
        s.sum(
            "kafka_security_authorization_denials_by_principal_total",
            &[]
        ) > 0.0
    );
    assert!(
        s.sum(
            "kafka_security_authorization_total",
            &[("decision", "allowed")]
        ) > 0.0
    );
    assert_eq!(
        s.sum("kafka_security_parse_errors_total", &[]),
        0.0,
        "the demo's own events all parse"
    );
    // Parse errors are exposed at 0 from the start (per source, format and reason), and every
    // series names its cluster.
    assert!(
        s.get(
            "kafka_security_parse_errors_total",
            &[
                ("source", "demo"),
                ("format", "json"),
                ("reason", "invalid_json")
            ]
        ) == Some(0.0)
    );
    let clusters: std::collections::BTreeSet<Option<&String>> = s
        .samples
        .iter()
        .map(|sample| sample.labels.get("cluster"))
        .collect();
    assert_eq!(clusters.len(), 1, "{clusters:?}");
    assert!(clusters.iter().all(Option::is_some), "{clusters:?}");
    for source in ["demo", "demo-broker-logs"] {
        let up = s.value("kafka_security_source_up", &[("source", source)]);
        assert_eq!(up, 1.0, "source {source}");
    }
    exporter.assert_ready();

    // gzip is served when asked for, and decodes to the same exposition format.
    let (status, headers, body) =
        http_get(exporter.addr, "/metrics", &[("Accept-Encoding", "gzip")]).unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        headers.get("content-encoding").map(String::as_str),
        Some("gzip")
    );
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&body[..]), &mut text).unwrap();
    let decoded = Scrape::parse(&text);
    assert_eq!(decoded.kind("kafka_security_events_total"), Some("counter"));
    assert!(!decoded.series("process_resident_memory_bytes").is_empty());
    exporter.stop(Duration::from_secs(20));
}
