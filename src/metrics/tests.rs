//! Unit tests of the metric set. Values are read from the registry's families and compared
//! exactly, series by series.

use super::*;
use crate::event::{ChangeAction, Origin, Permission, Reason, Rejection};
use prometheus::proto::{MetricFamily, MetricType};
use std::borrow::Cow;
use std::time::Duration;

/// The series of `name` whose labels are exactly `labels` (in any order), with its family's type.
fn series<'f>(
    families: &'f [MetricFamily],
    name: &str,
    labels: &[(&str, &str)],
) -> Option<(MetricType, &'f prometheus::proto::Metric)> {
    let family = families.iter().find(|f| f.name() == name)?;
    let kind = family.get_field_type();
    family
        .get_metric()
        .iter()
        .map(|m| (kind, m))
        .find(|(_, m)| {
            let got = m.get_label();
            got.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| got.iter().any(|l| l.name() == *k && l.value() == *v))
        })
}

/// A counter's or gauge's value, a histogram's sample count; `None` when the series is absent.
fn value(metrics: &Metrics, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let families = metrics.registry().gather();
    let (kind, m) = series(&families, name, labels)?;
    Some(match kind {
        MetricType::COUNTER => m.get_counter().value(),
        MetricType::GAUGE => m.get_gauge().value(),
        _ => m.get_histogram().get_sample_count() as f64,
    })
}

/// The cumulative count of a histogram series' bucket `le`.
fn bucket(metrics: &Metrics, name: &str, labels: &[(&str, &str)], le: f64) -> Option<u64> {
    let families = metrics.registry().gather();
    let (_, m) = series(&families, name, labels)?;
    m.get_histogram()
        .get_bucket()
        .iter()
        .find(|b| b.upper_bound() == le)
        .map(|b| b.cumulative_count())
}

/// How many series `name` has.
fn count_series(metrics: &Metrics, name: &str) -> usize {
    metrics
        .registry()
        .gather()
        .iter()
        .find(|f| f.name() == name)
        .map_or(0, |f| f.get_metric().len())
}

/// The `kafka_security_authorization_total` series of [`denial`].
const DENIED_WRITE: [(&str, &str); 4] = [
    ("api", "Produce"),
    ("decision", "denied"),
    ("operation", "WRITE"),
    ("resource_type", "Topic"),
];

fn denial(principal: &str) -> SecurityEvent<'_> {
    let mut e = SecurityEvent::new(
        Format::ConfluentAudit,
        Category::Authorization,
        Outcome::Denied,
        "io.confluent.kafka.server/authorization",
        Origin::Memory,
        SystemTime::now(),
    );
    e.principal = Some(Cow::Borrowed(principal));
    e.operation = Some("WRITE".into());
    e.resource_type = Some("Topic".into());
    e.resource_name = Some("orders".into());
    e.api = Some("Produce".into());
    e
}

#[test]
fn an_authorization_denial_feeds_three_metrics() {
    let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
    let mut e = denial("User:alice");
    let now = SystemTime::now();
    e.event_time = Some(now - Duration::from_millis(300));
    metrics.record("audit", &e, now);
    assert_eq!(
        value(
            &metrics,
            names::EVENTS,
            &[
                ("category", "authorization"),
                ("event_type", "io.confluent.kafka.server/authorization"),
                ("format", "confluent_audit"),
                ("outcome", "denied"),
                ("source", "audit"),
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(&metrics, names::AUTHORIZATION, &DENIED_WRITE),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            names::AUTHORIZATION_DENIALS_BY_PRINCIPAL,
            &[
                ("operation", "WRITE"),
                ("principal", "User:alice"),
                ("resource_name", "orders"),
                ("resource_type", "Topic"),
            ]
        ),
        Some(1.0)
    );
    let source = [("source", "audit")];
    assert_eq!(bucket(&metrics, names::EVENT_DELAY, &source, 0.25), Some(0));
    assert_eq!(bucket(&metrics, names::EVENT_DELAY, &source, 0.5), Some(1));
    assert_eq!(
        value(
            &metrics,
            names::BUILD_INFO,
            &[("revision", REVISION), ("version", VERSION)]
        ),
        Some(1.0)
    );
}

#[test]
fn authentication_failures_count_by_client_and_reason() {
    let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
    let mut e = SecurityEvent::new(
        Format::Text,
        Category::Authentication,
        Outcome::Failure,
        "user-login",
        Origin::Memory,
        SystemTime::now(),
    );
    e.client_host = Some("10.1.2.3".into());
    e.reason = Some(Reason::InvalidCredentials);
    metrics.record("app", &e, SystemTime::now());
    assert_eq!(
        value(
            &metrics,
            names::AUTHENTICATION,
            &[
                ("listener", "unknown"),
                ("mechanism", "unknown"),
                ("outcome", "failure")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &metrics,
            names::AUTHENTICATION_FAILURES_BY_CLIENT,
            &[
                ("client_host", "10.1.2.3"),
                ("reason", "invalid_credentials")
            ]
        ),
        Some(1.0)
    );
}

#[test]
fn a_flood_of_principals_is_capped_and_counted() {
    let config = MetricsConfig {
        max_series: [(names::AUTHORIZATION_DENIALS_BY_PRINCIPAL.to_string(), 100)].into(),
        ..MetricsConfig::default()
    };
    let metrics = Metrics::new(&config).unwrap();
    let now = SystemTime::now();
    for i in 0..1000 {
        let p = format!("User:attacker-{i}");
        metrics.record("audit", &denial(&p), now);
    }
    assert_eq!(
        count_series(&metrics, names::AUTHORIZATION_DENIALS_BY_PRINCIPAL),
        101
    );
    assert_eq!(
        value(
            &metrics,
            names::AUTHORIZATION_DENIALS_BY_PRINCIPAL,
            &[
                ("operation", OVERFLOW),
                ("principal", OVERFLOW),
                ("resource_name", OVERFLOW),
                ("resource_type", OVERFLOW),
            ]
        ),
        Some(900.0)
    );
    assert_eq!(
        value(
            &metrics,
            names::SERIES_OVERFLOW,
            &[("metric", names::AUTHORIZATION_DENIALS_BY_PRINCIPAL)]
        ),
        Some(900.0)
    );
    assert_eq!(
        value(&metrics, names::AUTHORIZATION, &DENIED_WRITE),
        Some(1000.0)
    );
}

#[test]
fn config_problems_are_all_reported() {
    let config = MetricsConfig {
        max_series_per_metric: 0,
        max_series: [("nope_total".to_string(), 5)].into(),
        max_label_value_bytes: 1,
        delay_buckets_secs: vec![1.0, 0.5],
        request_duration_buckets_secs: vec![],
        request_duration_by_principal: false,
        cluster: Some(String::new()),
    };
    assert_eq!(config.problems().len(), 6, "{:?}", config.problems());
    assert!(config.problems().contains(
        &"metrics.max_series.nope_total: not a capped metric; expected one of \
          kafka_security_events_total, kafka_security_authentication_total, \
          kafka_security_authentication_failures_by_client_total, \
          kafka_security_authorization_total, \
          kafka_security_authorization_denials_by_principal_total, \
          kafka_security_log_injection_total, \
          kafka_security_acl_changes_total, kafka_security_credential_changes_total, \
          kafka_security_config_changes_total, kafka_security_request_duration_seconds, \
          kafka_security_detections_total"
            .to_string()
    ));
}

#[test]
fn a_sources_integrity_counters_start_at_zero() {
    let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
    metrics.init_source("topic", true, &[]);
    metrics.init_source("logs", false, &[]);
    let topic = [("source", "topic")];
    let logs = [("source", "logs")];
    assert_eq!(value(&metrics, names::REDELIVERED, &topic), Some(0.0));
    assert_eq!(
        value(&metrics, names::CONTROLLER_REPLAYS_SKIPPED, &topic),
        Some(0.0)
    );
    assert_eq!(
        value(&metrics, names::CONTROLLER_REPLAYS_SKIPPED, &logs),
        Some(0.0)
    );
    // A file source cannot re-deliver: no series for it.
    assert_eq!(value(&metrics, names::REDELIVERED, &logs), None);
    // Counting afterwards moves the same series.
    metrics.record_redelivery("topic");
    assert_eq!(value(&metrics, names::REDELIVERED, &topic), Some(1.0));
}

#[test]
fn request_duration_by_principal_is_opt_in_and_capped() {
    let m = Metrics::new(&MetricsConfig::default()).unwrap();
    m.record_request("Produce", Some("User:a"), 0.002);
    assert_eq!(
        value(&m, names::REQUEST_DURATION, &[("api", "Produce")]),
        Some(1.0)
    );

    let config = MetricsConfig {
        request_duration_by_principal: true,
        max_series: [(names::REQUEST_DURATION.to_string(), 2)].into(),
        ..MetricsConfig::default()
    };
    let m = Metrics::new(&config).unwrap();
    for p in ["User:a", "User:b", "User:c", "User:d"] {
        m.record_request("Fetch", Some(p), 0.2);
    }
    assert_eq!(
        value(
            &m,
            names::REQUEST_DURATION,
            &[("api", "Fetch"), ("principal", "User:a")]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            names::REQUEST_DURATION,
            &[("api", OVERFLOW), ("principal", OVERFLOW)]
        ),
        Some(2.0)
    );
    assert_eq!(
        value(
            &m,
            names::SERIES_OVERFLOW,
            &[("metric", names::REQUEST_DURATION)]
        ),
        Some(2.0)
    );
}

#[test]
fn two_sources_on_one_partition_keep_their_own_lag() {
    let m = Metrics::new(&MetricsConfig::default()).unwrap();
    m.set_consumer_lag("audit-a", "audit", 0, 7);
    m.set_consumer_lag("audit-b", "audit", 0, 1200);
    let a = [
        ("source", "audit-a"),
        ("topic", "audit"),
        ("partition", "0"),
    ];
    let b = [
        ("source", "audit-b"),
        ("topic", "audit"),
        ("partition", "0"),
    ];
    assert_eq!(value(&m, names::CONSUMER_LAG, &a), Some(7.0));
    assert_eq!(value(&m, names::CONSUMER_LAG, &b), Some(1200.0));
    // A revoke in one source leaves the other's series alone.
    m.remove_consumer_lag("audit-a", "audit", 0);
    assert_eq!(value(&m, names::CONSUMER_LAG, &a), None);
    assert_eq!(value(&m, names::CONSUMER_LAG, &b), Some(1200.0));
    // Removing a series that is already gone is a no-op.
    m.remove_consumer_lag("audit-a", "audit", 0);
    assert_eq!(count_series(&m, names::CONSUMER_LAG), 1);
}

#[test]
fn changes_and_rejections_are_labelled_from_what_the_parser_set() {
    let m = Metrics::new(&MetricsConfig::default()).unwrap();
    let change = |category, event_type: &'static str, action| {
        let mut e = SecurityEvent::new(
            Format::ControllerLog,
            category,
            Outcome::Success,
            event_type,
            Origin::Memory,
            SystemTime::now(),
        );
        e.action = action;
        e
    };
    let mut acl = change(
        Category::AclChange,
        "acl_created",
        Some(ChangeAction::Create),
    );
    acl.resource_type = Some("Topic".into());
    acl.permission = Some(Permission::Allow);
    m.record("c", &acl, SystemTime::now());
    // The event type is not read: an unset action is `unknown`.
    let scram = change(Category::CredentialChange, "scram_credential_deleted", None);
    m.record("c", &scram, SystemTime::now());
    assert_eq!(
        value(
            &m,
            names::ACL_CHANGES,
            &[
                ("action", "create"),
                ("permission", "allow"),
                ("resource_type", "Topic")
            ]
        ),
        Some(1.0)
    );
    assert_eq!(
        value(
            &m,
            names::CREDENTIAL_CHANGES,
            &[("action", "unknown"), ("mechanism", "unknown")]
        ),
        Some(1.0)
    );

    // A connection counts as rejected only when the parser said by which limit.
    let mut refused = change(Category::Connection, "connection_rejected", None);
    m.record("c", &refused, SystemTime::now());
    assert_eq!(count_series(&m, names::CONNECTIONS_REJECTED), 0);
    refused.rejection = Some(Rejection::PerIpLimit);
    m.record("c", &refused, SystemTime::now());
    assert_eq!(
        value(
            &m,
            names::CONNECTIONS_REJECTED,
            &[("reason", "per_ip_limit")]
        ),
        Some(1.0)
    );
}

/// How many series `name` has.
fn series_count(metrics: &Metrics, name: &str) -> usize {
    metrics
        .registry()
        .gather()
        .iter()
        .find(|f| f.name() == name)
        .map_or(0, |f| f.get_metric().len())
}

#[test]
fn closed_label_sets_start_at_zero_with_their_source() {
    use crate::parse::Input;
    let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
    assert_eq!(series_count(&metrics, names::PARSE_ERRORS), 0);
    metrics.init_source("audit", true, &[Input::Auto, Input::Json]);
    metrics.init_source("broker", false, &[Input::BrokerLog]);
    metrics.init_source("authz", false, &[Input::AuthorizerLog]);
    let reasons = ParseError::REASONS.len();
    // audit: unknown, confluent_audit, ocsf, json, text; broker: the four logs; authz: one.
    assert_eq!(
        series_count(&metrics, names::PARSE_ERRORS),
        (5 + 4 + 1) * reasons
    );
    for (source, format) in [
        ("audit", "unknown"),
        ("audit", "ocsf"),
        ("audit", "json"),
        ("broker", "controller_log"),
        ("authz", "authorizer_log"),
    ] {
        let labels = [
            ("source", source),
            ("format", format),
            ("reason", "invalid_json"),
        ];
        assert_eq!(
            value(&metrics, names::PARSE_ERRORS, &labels),
            Some(0.0),
            "{labels:?}"
        );
    }
    assert_eq!(
        value(
            &metrics,
            names::PARSE_ERRORS,
            &[
                ("source", "authz"),
                ("format", "server_log"),
                ("reason", "empty")
            ]
        ),
        None
    );
    // Log lines per kind × level, rejected connections per reason, ACL changes per action ×
    // Kafka resource type × permission, credential changes per action × mechanism.
    assert_eq!(series_count(&metrics, names::LOG_LINES), 5 * 6);
    assert_eq!(
        value(
            &metrics,
            names::LOG_LINES,
            &[("file_kind", "authorizer"), ("level", "INFO")]
        ),
        Some(0.0)
    );
    assert_eq!(
        value(
            &metrics,
            names::CONNECTIONS_REJECTED,
            &[("reason", "per_ip_limit")]
        ),
        Some(0.0)
    );
    assert_eq!(series_count(&metrics, names::ACL_CHANGES), 2 * 6 * 2);
    assert_eq!(
        value(
            &metrics,
            names::ACL_CHANGES,
            &[
                ("action", "create"),
                ("resource_type", "Topic"),
                ("permission", "allow")
            ]
        ),
        Some(0.0)
    );
    assert_eq!(series_count(&metrics, names::CREDENTIAL_CHANGES), 4 * 3);
    // A later event moves the series created at 0; the capped metrics admitted them.
    metrics.record_parse_error("audit", Some(Format::Json), &ParseError::Empty);
    assert_eq!(
        value(
            &metrics,
            names::PARSE_ERRORS,
            &[("source", "audit"), ("format", "json"), ("reason", "empty")]
        ),
        Some(1.0)
    );
    assert_eq!(metrics.acl_changes.admitted(), 24);
}

#[test]
fn the_cluster_label_is_on_every_series_when_set() {
    let config = MetricsConfig {
        cluster: Some("MwTDkQeNYTZqM_InrhQX_A".into()),
        ..MetricsConfig::default()
    };
    let metrics = Metrics::new(&config).unwrap();
    metrics.set_source_up("s", true);
    let text = String::from_utf8(metrics.render()).unwrap();
    let samples: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(samples.len() > 2, "{text}");
    for line in samples {
        assert!(
            line.contains("cluster=\"MwTDkQeNYTZqM_InrhQX_A\""),
            "{line}"
        );
    }
    assert_eq!(
        value(
            &metrics,
            names::SOURCE_UP,
            &[("source", "s"), ("cluster", "MwTDkQeNYTZqM_InrhQX_A")]
        ),
        Some(1.0)
    );
}

#[test]
fn a_cut_written_as_it_renders_is_the_rendered_text_in_pieces_of_bounded_size() {
    let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
    let now = SystemTime::now();
    for i in 0..3000 {
        metrics.record("audit", &denial(&format!("User:attacker-{i}")), now);
    }
    let cut = metrics.cut();
    let whole = cut.render();
    assert!(
        whole.len() > 4 * crate::metrics::capped::SPILL,
        "{}",
        whole.len()
    );

    /// Records the size of every write.
    #[derive(Default)]
    struct Pieces {
        text: Vec<u8>,
        largest: usize,
        writes: usize,
    }
    impl std::io::Write for Pieces {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.text.extend_from_slice(buf);
            self.largest = self.largest.max(buf.len());
            self.writes += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut pieces = Pieces::default();
    cut.write_to(&mut pieces).unwrap();
    assert_eq!(
        String::from_utf8(pieces.text).unwrap(),
        String::from_utf8(whole).unwrap()
    );
    assert!(pieces.writes > 4, "{} writes", pieces.writes);
    // A piece ends after the series that took it past the mark.
    assert!(
        pieces.largest < crate::metrics::capped::SPILL + 4096,
        "{}",
        pieces.largest
    );

    /// Fails every write.
    struct Closed;
    impl std::io::Write for Closed {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let error = cut.write_to(&mut Closed).unwrap_err();
    assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe);
}
