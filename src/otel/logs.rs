//! OTLP logs: every normalized security event and every detection as one log record, for the
//! centralized logging system (OpenSearch, Splunk, Loki… behind a collector) to keep and search.
//!
//! One record per event, built after the event was recorded (next to its span), queued without
//! blocking and exported in batches by the batch processor traces use ([`super::batch`]): a full
//! queue drops the record and counts it in `kafka_security_otlp_dropped_total{signal="logs"}`.
//! Records that could not be parsed are no security events and get no record (they are counted
//! in `kafka_security_parse_errors_total` and get a span).
//!
//! A record:
//! - `event_name` and the `event.name` attribute: `kafka.security.<category>`
//!   ([`event_name`]: `kafka.security.authentication`, `….authorization`, `….acl_change`,
//!   `….credential_change`, `….config_change`, `….resource_change`, `….connection`,
//!   `….other`), or `kafka.security.detection`.
//! - Severity from the outcome: denials and failures WARN, everything else INFO; a detection
//!   WARN (`warning`) or ERROR (`critical`).
//! - Time: the event's own time when it has one (unset otherwise); observed time: when it was
//!   read. A detection's time is that of the event that made it fire.
//! - Body: one sentence for people (`User:mallory was denied WRITE on Topic:payments from
//!   10.0.0.9.`); input text in it has its control characters replaced, so a name cannot forge
//!   a line. The attributes carry every value exactly.
//! - Attributes, general conventions first: `user.name` (the principal as the input wrote it,
//!   `User:alice`, the same as the `principal` label), `client.address`, `client.port` (an
//!   integer, when the input names the client's port beside its address), `network.type`
//!   (`ipv4`/`ipv6` when the client address is an IP), `network.transport=tcp` and
//!   `network.protocol.name=kafka` for clients seen by a broker, `error.type` (the reason of a
//!   denial or failure); then `kafka.*` (`kafka.operation`, `kafka.resource.type`,
//!   `kafka.resource.name`, `kafka.resource.pattern_type`, `kafka.topic` for a topic resource,
//!   `kafka.api`, `kafka.client.id`, `kafka.listener`, `kafka.authentication.mechanism`,
//!   `kafka.acl.permission`, `kafka.config.key`, `kafka.cluster.id`, `kafka.broker.id`); then
//!   the exporter's own (`kafka_security.source`, `.format`, `.category`, `.outcome`,
//!   `.event_type`, `.reason`, `.action`, `.rejection`) and where it was read, as on spans
//!   (`messaging.*` for a Kafka record, `log.file.path` for a file). A detection carries the
//!   `kafka_security.detection.*` attributes of its span.
//! - Trace context: the trace and span id of the event's (or detection's) span when it has one,
//!   so a log backend links to the trace.

use std::borrow::Cow;
use std::net::IpAddr;
use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use opentelemetry_proto::tonic::resource::v1::Resource;

use super::batch::{self, BatchExporter, Parts, Queue};
use super::settings::LogsSettings;
use super::traces::{self, cut, text, SpanRef};
use super::transport::Payload;
use super::{nanos, Signal};
use crate::detect::{Detection, Severity};
use crate::event::{Category, ChangeAction, Format, Outcome, SecurityEvent};

/// `event.name` of a detection's record.
pub const DETECTION_EVENT: &str = "kafka.security.detection";

/// `event.name` of an event's record: `kafka.security.` and its category.
pub fn event_name(category: Category) -> &'static str {
    match category {
        Category::Authentication => "kafka.security.authentication",
        Category::Authorization => "kafka.security.authorization",
        Category::AclChange => "kafka.security.acl_change",
        Category::CredentialChange => "kafka.security.credential_change",
        Category::ConfigChange => "kafka.security.config_change",
        Category::ResourceChange => "kafka.security.resource_change",
        Category::Connection => "kafka.security.connection",
        Category::Other => "kafka.security.other",
    }
}

/// Severity of an event's record: WARN for denials and failures, else INFO.
pub fn event_severity(outcome: Outcome) -> (SeverityNumber, &'static str) {
    if outcome.is_negative() {
        (SeverityNumber::Warn, "WARN")
    } else {
        (SeverityNumber::Info, "INFO")
    }
}

/// Severity of a detection's record.
pub fn detection_severity(severity: Severity) -> (SeverityNumber, &'static str) {
    match severity {
        Severity::Warning => (SeverityNumber::Warn, "WARN"),
        Severity::Critical => (SeverityNumber::Error, "ERROR"),
    }
}

/// The hot-path half: builds records and queues them. Shared by every source.
pub struct Logger {
    queue: Queue<LogRecord>,
    /// Consumer group of each Kafka source, for `messaging.consumer.group.name`.
    group_ids: Vec<(String, String)>,
}

/// Creates the logger (hot path) and its exporter (a task to spawn).
pub fn pipeline(
    settings: LogsSettings,
    parts: Parts,
    group_ids: Vec<(String, String)>,
) -> (Logger, BatchExporter<LogRecord>) {
    let (queue, exporter) = batch::pipeline(
        Signal::Logs,
        &settings.transport,
        settings.batch,
        parts,
        request,
    );
    (Logger { queue, group_ids }, exporter)
}

/// One export request of `records`.
fn request(resource: Resource, records: Vec<LogRecord>) -> Payload {
    Payload::Logs(ExportLogsServiceRequest {
        resource_logs: vec![ResourceLogs {
            resource: Some(resource),
            scope_logs: vec![ScopeLogs {
                scope: Some(super::instrumentation_scope()),
                log_records: records,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

impl Logger {
    /// Queues the record of one event of `source`, in the trace of `span` when it has one.
    pub fn event(
        &self,
        source: &str,
        e: &SecurityEvent<'_>,
        span: Option<SpanRef>,
        cluster_id: Option<&str>,
    ) {
        let group = traces::group_of(&self.group_ids, source);
        self.queue
            .push(event_record(source, group, e, span, cluster_id));
    }

    /// Queues the record of one detection, in the trace of its span when it has one.
    pub fn detection(
        &self,
        source: &str,
        d: &Detection,
        span: Option<SpanRef>,
        cluster_id: Option<&str>,
        now: SystemTime,
    ) {
        self.queue
            .push(detection_record(source, d, span, cluster_id, now));
    }
}

/// A record with its time, severity, body, attributes and trace context.
fn record(
    (time, observed): (Option<SystemTime>, SystemTime),
    (severity, severity_text): (SeverityNumber, &str),
    name: &str,
    body: String,
    attributes: Vec<KeyValue>,
    span: Option<SpanRef>,
) -> LogRecord {
    LogRecord {
        time_unix_nano: time.map_or(0, nanos),
        observed_time_unix_nano: nanos(observed),
        severity_number: severity as i32,
        severity_text: severity_text.to_string(),
        body: Some(AnyValue {
            value: Some(any_value::Value::StringValue(body)),
        }),
        attributes,
        dropped_attributes_count: 0,
        // Bit 0x1: the span was sampled (every span we export is).
        flags: u32::from(span.is_some()),
        trace_id: span.map_or_else(Vec::new, |s| s.trace_id.to_vec()),
        span_id: span.map_or_else(Vec::new, |s| s.span_id.to_vec()),
        event_name: name.to_string(),
    }
}

/// The record of one event (see the module docs).
pub fn event_record(
    source: &str,
    group: Option<&str>,
    e: &SecurityEvent<'_>,
    span: Option<SpanRef>,
    cluster_id: Option<&str>,
) -> LogRecord {
    let name = event_name(e.category);
    let mut attributes = Vec::with_capacity(24);
    attributes.push(text("event.name", name));
    general_attributes(e, &mut attributes);
    kafka_attributes(e, cluster_id, &mut attributes);
    attributes.push(text("kafka_security.source", source));
    attributes.push(text("kafka_security.format", e.format.as_str()));
    attributes.push(text("kafka_security.category", e.category.as_str()));
    attributes.push(text("kafka_security.outcome", e.outcome.as_str()));
    attributes.push(text("kafka_security.event_type", &e.event_type));
    let closed = [
        ("kafka_security.reason", e.reason.map(|r| r.as_str())),
        ("kafka_security.action", e.action.map(ChangeAction::as_str)),
        ("kafka_security.rejection", e.rejection.map(|r| r.as_str())),
    ];
    for (key, value) in closed {
        if let Some(v) = value {
            attributes.push(text(key, v));
        }
    }
    traces::origin_attributes(&e.origin, group, &mut attributes);
    record(
        (e.event_time, e.observed_time),
        event_severity(e.outcome),
        name,
        body(e),
        attributes,
        span,
    )
}

/// `user.name`, `client.address`, `client.port`, `network.*`, `error.type`.
fn general_attributes(e: &SecurityEvent<'_>, out: &mut Vec<KeyValue>) {
    if let Some(p) = &e.principal {
        out.push(text("user.name", p));
    }
    if let Some(host) = &e.client_host {
        out.push(text("client.address", host));
        if let Some(port) = e.client_port {
            out.push(traces::int("client.port", i64::from(port)));
        }
        match host.parse::<IpAddr>() {
            Ok(IpAddr::V4(_)) => out.push(text("network.type", "ipv4")),
            Ok(IpAddr::V6(_)) => out.push(text("network.type", "ipv6")),
            Err(_) => {}
        }
        // The client of a broker spoke the Kafka protocol over TCP; an application's event
        // does not say how its client connected.
        let broker_seen = matches!(
            e.format,
            Format::AuthorizerLog | Format::ServerLog | Format::RequestLog | Format::ConfluentAudit
        );
        if broker_seen {
            out.push(text("network.transport", "tcp"));
            out.push(text("network.protocol.name", "kafka"));
        }
    }
    if e.outcome.is_negative() {
        out.push(text(
            "error.type",
            e.reason.map_or(e.outcome.as_str(), |r| r.as_str()),
        ));
    }
}

/// The `kafka.*` attributes.
fn kafka_attributes(e: &SecurityEvent<'_>, cluster_id: Option<&str>, out: &mut Vec<KeyValue>) {
    let optional = [
        ("kafka.operation", &e.operation),
        ("kafka.resource.type", &e.resource_type),
        ("kafka.resource.name", &e.resource_name),
        ("kafka.resource.pattern_type", &e.pattern_type),
        ("kafka.api", &e.api),
        ("kafka.client.id", &e.client_id),
        ("kafka.listener", &e.listener),
        ("kafka.authentication.mechanism", &e.mechanism),
        ("kafka.config.key", &e.config_key),
        ("kafka.broker.id", &e.broker_id),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            out.push(text(key, v));
        }
    }
    if e.resource_type.as_deref() == Some("Topic") {
        if let Some(topic) = &e.resource_name {
            out.push(text("kafka.topic", topic));
        }
    }
    if let Some(p) = e.permission {
        out.push(text("kafka.acl.permission", p.as_str()));
    }
    // The event's own cluster id, else the one the source's consumer reported.
    if let Some(id) = e.cluster_id.as_deref().or(cluster_id) {
        out.push(text("kafka.cluster.id", id));
    }
}

/// Input text for a sentence: cut like attributes, control characters replaced.
fn clean(s: &str) -> Cow<'_, str> {
    if s.len() <= 128 && !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut s = cut(s);
    if s.len() > 128 {
        let mut end = 128 - '…'.len_utf8();
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    Cow::Owned(
        s.chars()
            .map(|c| if c.is_control() { '\u{fffd}' } else { c })
            .collect(),
    )
}

/// The body of an event's record: one sentence.
pub fn body(e: &SecurityEvent<'_>) -> String {
    fn field<'f>(f: &'f Option<Cow<'_, str>>) -> Option<Cow<'f, str>> {
        f.as_deref().map(clean)
    }
    let who = field(&e.principal).unwrap_or(Cow::Borrowed("An unknown principal"));
    let resource = match (field(&e.resource_type), field(&e.resource_name)) {
        (Some(t), Some(n)) => format!(" on {t}:{n}"),
        (None, Some(n)) => format!(" on {n}"),
        (Some(t), None) => format!(" on a {t}"),
        (None, None) => String::new(),
    };
    let from = field(&e.client_host).map_or(String::new(), |h| format!(" from {h}"));
    let why = e
        .reason
        .map_or(String::new(), |r| format!(": {}", r.as_str()));
    let outcome = e.outcome.as_str();
    let done = match e.action {
        Some(ChangeAction::Create) => "created",
        Some(ChangeAction::Update) => "updated",
        Some(ChangeAction::Delete) => "deleted",
        Some(ChangeAction::Expire) => "expired",
        None => "changed",
    };
    let failed = if e.outcome.is_negative() {
        format!(" ({outcome}{why})")
    } else {
        String::new()
    };
    match (e.category, e.outcome) {
        (Category::Authentication, Outcome::Success) => {
            let with = field(&e.mechanism).map_or(String::new(), |m| format!(" with {m}"));
            format!("{who} authenticated{with}{from}.")
        }
        (Category::Authentication, Outcome::Failure) => {
            let with = field(&e.mechanism).map_or(String::new(), |m| format!(" with {m}"));
            format!("{who} failed to authenticate{with}{from}{why}.")
        }
        (Category::Authorization, Outcome::Allowed | Outcome::Denied) => {
            let op = field(&e.operation).unwrap_or(Cow::Borrowed("an operation"));
            let verdict = if e.outcome == Outcome::Denied {
                "denied"
            } else {
                "allowed"
            };
            format!("{who} was {verdict} {op}{resource}{from}{why}.")
        }
        (Category::AclChange, _) => format!("{who} {done} an ACL{resource}{from}{failed}."),
        (Category::CredentialChange, _) => {
            format!("{who} {done} credentials{resource}{from}{failed}.")
        }
        (Category::ConfigChange, _) => {
            let key = field(&e.config_key).map_or(String::new(), |k| format!(" {k}"));
            format!("{who} {done} the configuration{key}{resource}{from}{failed}.")
        }
        (Category::ResourceChange, _) => {
            format!("{who} {done} a resource{resource}{from}{failed}.")
        }
        (Category::Connection, _) => {
            let host = field(&e.client_host).unwrap_or(Cow::Borrowed("an unknown host"));
            let refused = e
                .rejection
                .map_or(String::new(), |r| format!(": {}", r.as_str()));
            match e.outcome {
                Outcome::Failure | Outcome::Denied => {
                    format!("A connection from {host} was refused{refused}{why}.")
                }
                _ => format!("A connection from {host} was {outcome}."),
            }
        }
        _ => {
            let what = clean(&e.event_type);
            let by = field(&e.principal).map_or(String::new(), |p| format!(" by {p}"));
            format!(
                "{} event `{what}`{by}{resource}{from}: {outcome}.",
                e.category.as_str()
            )
        }
    }
}

/// The record of one detection.
pub fn detection_record(
    source: &str,
    d: &Detection,
    span: Option<SpanRef>,
    cluster_id: Option<&str>,
    now: SystemTime,
) -> LogRecord {
    let mut attributes = vec![text("event.name", DETECTION_EVENT)];
    attributes.extend(traces::detection_attributes(source, d));
    if let Some(id) = cluster_id {
        attributes.push(text("kafka.cluster.id", id));
    }
    let body = format!(
        "Detection {} ({}, {}) on {}: {}.",
        d.detector.as_str(),
        d.severity.as_str(),
        d.detector.technique(),
        clean(&d.subject),
        clean(d.detail.trim_end_matches('.')),
    );
    record(
        (Some(d.last_event), now),
        detection_severity(d.severity),
        DETECTION_EVENT,
        body,
        attributes,
        span,
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use parking_lot::Mutex;

    use super::*;
    use crate::detect::Detector;
    use crate::event::{Origin, Permission, Reason};
    use crate::metrics::{Metrics, MetricsConfig};
    use crate::otel::transport::Client;

    fn attrs(r: &LogRecord) -> BTreeMap<String, String> {
        r.attributes
            .iter()
            .map(|kv| {
                let v = match kv.value.as_ref().and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => s.clone(),
                    Some(any_value::Value::IntValue(i)) => i.to_string(),
                    other => panic!("{other:?}"),
                };
                (kv.key.clone(), v)
            })
            .collect()
    }

    fn body_of(r: &LogRecord) -> &str {
        match r.body.as_ref().and_then(|b| b.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    const SPAN: SpanRef = SpanRef {
        trace_id: [7; 16],
        span_id: [9; 8],
    };

    fn denial() -> SecurityEvent<'static> {
        let at = UNIX_EPOCH + Duration::from_secs(1_764_165_960);
        let mut e = SecurityEvent::new(
            Format::AuthorizerLog,
            Category::Authorization,
            Outcome::Denied,
            "authorization",
            Origin::Kafka {
                topic: "broker-logs".into(),
                partition: 2,
                offset: 41,
            },
            at + Duration::from_secs(1),
        );
        e.event_time = Some(at);
        e.principal = Some("User:mallory".into());
        e.client_host = Some("10.0.0.9".into());
        e.client_port = Some(54321);
        e.operation = Some("WRITE".into());
        e.resource_type = Some("Topic".into());
        e.resource_name = Some("payments".into());
        e.pattern_type = Some("LITERAL".into());
        e.api = Some("Produce".into());
        e.reason = Some(Reason::NoMatchingAcl);
        e
    }

    #[test]
    fn a_denial_maps_to_the_semantic_conventions() {
        let e = denial();
        let r = event_record("audit", Some("g1"), &e, Some(SPAN), Some("MwTDkQ"));
        let expected: BTreeMap<String, String> = [
            ("event.name", "kafka.security.authorization"),
            ("user.name", "User:mallory"),
            ("client.address", "10.0.0.9"),
            ("client.port", "54321"),
            ("network.type", "ipv4"),
            ("network.transport", "tcp"),
            ("network.protocol.name", "kafka"),
            ("error.type", "no_matching_acl"),
            ("kafka.operation", "WRITE"),
            ("kafka.resource.type", "Topic"),
            ("kafka.resource.name", "payments"),
            ("kafka.resource.pattern_type", "LITERAL"),
            ("kafka.topic", "payments"),
            ("kafka.api", "Produce"),
            ("kafka.cluster.id", "MwTDkQ"),
            ("kafka_security.source", "audit"),
            ("kafka_security.format", "authorizer_log"),
            ("kafka_security.category", "authorization"),
            ("kafka_security.outcome", "denied"),
            ("kafka_security.event_type", "authorization"),
            ("kafka_security.reason", "no_matching_acl"),
            ("messaging.system", "kafka"),
            ("messaging.operation.name", "process"),
            ("messaging.operation.type", "process"),
            ("messaging.destination.name", "broker-logs"),
            ("messaging.destination.partition.id", "2"),
            ("messaging.kafka.offset", "41"),
            ("messaging.consumer.group.name", "g1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(attrs(&r), expected);
        // The port is an integer attribute, as the semantic conventions type it.
        let port = r.attributes.iter().find(|kv| kv.key == "client.port");
        assert_eq!(
            port.and_then(|kv| kv.value.as_ref()?.value.clone()),
            Some(any_value::Value::IntValue(54321))
        );
        assert_eq!(r.event_name, "kafka.security.authorization");
        assert_eq!(r.severity_number, SeverityNumber::Warn as i32);
        assert_eq!(r.severity_text, "WARN");
        assert_eq!(r.time_unix_nano, 1_764_165_960_000_000_000);
        assert_eq!(r.observed_time_unix_nano, 1_764_165_961_000_000_000);
        assert_eq!(
            (r.trace_id.clone(), r.span_id.clone()),
            (vec![7; 16], vec![9; 8])
        );
        assert_eq!(r.flags, 1);
        assert_eq!(
            body_of(&r),
            "User:mallory was denied WRITE on Topic:payments from 10.0.0.9: no_matching_acl."
        );
    }

    #[test]
    fn severity_and_sentence_follow_the_outcome() {
        let mut ok = SecurityEvent::new(
            Format::Json,
            Category::Authentication,
            Outcome::Success,
            "login",
            Origin::Memory,
            UNIX_EPOCH,
        );
        ok.principal = Some("alice".into());
        ok.mechanism = Some("SCRAM-SHA-256".into());
        ok.client_host = Some("2001:db8::1".into());
        let r = event_record("app", None, &ok, None, None);
        let a = attrs(&r);
        assert_eq!(
            (r.severity_number, r.severity_text.as_str()),
            (SeverityNumber::Info as i32, "INFO")
        );
        assert_eq!(
            body_of(&r),
            "alice authenticated with SCRAM-SHA-256 from 2001:db8::1."
        );
        assert_eq!(a["network.type"], "ipv6");
        assert_eq!(a["kafka.authentication.mechanism"], "SCRAM-SHA-256");
        // An application's event says nothing of the transport; no failure, no error.type; no
        // port named, none written.
        for absent in [
            "network.transport",
            "error.type",
            "kafka.cluster.id",
            "client.port",
        ] {
            assert!(!a.contains_key(absent), "{absent}");
        }
        // No span, no trace context; no event time, no timestamp.
        assert!(r.trace_id.is_empty() && r.span_id.is_empty() && r.flags == 0);
        assert_eq!(r.time_unix_nano, 0);

        let mut failed = ok.clone();
        failed.outcome = Outcome::Failure;
        failed.reason = Some(Reason::InvalidCredentials);
        failed.client_host = Some("db-host.internal".into());
        let r = event_record("app", None, &failed, None, None);
        assert_eq!(r.severity_number, SeverityNumber::Warn as i32);
        assert_eq!(attrs(&r)["error.type"], "invalid_credentials");
        assert!(!attrs(&r).contains_key("network.type"), "a host name");
        assert_eq!(
            body_of(&r),
            "alice failed to authenticate with SCRAM-SHA-256 from db-host.internal: invalid_credentials."
        );

        let mut acl = SecurityEvent::new(
            Format::ControllerLog,
            Category::AclChange,
            Outcome::Success,
            "acl_created",
            Origin::File {
                path: "/var/log/kafka/controller.log".into(),
                offset: 7,
            },
            UNIX_EPOCH,
        );
        acl.action = Some(ChangeAction::Create);
        acl.permission = Some(Permission::Deny);
        acl.principal = Some("User:admin".into());
        acl.resource_type = Some("Group".into());
        acl.resource_name = Some("payments-*".into());
        acl.cluster_id = Some("own-id".into());
        let r = event_record("files", None, &acl, None, Some("consumer-id"));
        let a = attrs(&r);
        assert_eq!(r.event_name, "kafka.security.acl_change");
        assert_eq!(a["kafka.acl.permission"], "deny");
        assert_eq!(a["kafka_security.action"], "create");
        assert_eq!(a["kafka.cluster.id"], "own-id", "the event's own id wins");
        assert_eq!(a["log.file.path"], "/var/log/kafka/controller.log");
        assert!(!a.contains_key("kafka.topic"));
        assert_eq!(
            body_of(&r),
            "User:admin created an ACL on Group:payments-*."
        );
    }

    #[test]
    fn input_text_cannot_forge_lines_in_the_body() {
        let mut e = denial();
        e.principal = Some("User:x\n[2026-01-01] INFO Principal = User:admin is Allowed".into());
        e.resource_name = Some("a".repeat(1000).into());
        let r = event_record("s", None, &e, None, None);
        let body = body_of(&r);
        assert!(!body.contains('\n'), "{body}");
        assert!(body.starts_with("User:x\u{fffd}[2026-01-01]"), "{body}");
        assert!(body.len() < 400, "{} bytes", body.len());
        // The attribute keeps the exact value (cut at 512 bytes like every attribute).
        assert!(attrs(&r)["user.name"].contains('\n'));
    }

    #[test]
    fn every_category_has_a_name_and_a_sentence() {
        for category in Category::ALL {
            for outcome in Outcome::ALL {
                let e = SecurityEvent::new(
                    Format::Json,
                    category,
                    outcome,
                    "t",
                    Origin::Memory,
                    UNIX_EPOCH,
                );
                let name = event_name(category);
                assert_eq!(name, format!("kafka.security.{}", category.as_str()));
                let b = body(&e);
                assert!(
                    b.ends_with('.') && b.len() > 10,
                    "{category:?} {outcome:?}: {b}"
                );
            }
        }
    }

    #[test]
    fn a_detection_is_a_record_in_its_span_trace_with_its_severity() {
        let at = |s| UNIX_EPOCH + Duration::from_secs(s);
        let d = Detection {
            detector: Detector::BruteForce,
            severity: Severity::Critical,
            subject: "10.0.0.9".into(),
            first_event: at(1_000),
            last_event: at(1_100),
            count: 20,
            detail: "20 failed logins in 5m from 10.0.0.9".into(),
        };
        let r = detection_record("broker", &d, Some(SPAN), Some("MwTDkQ"), at(1_200));
        let a = attrs(&r);
        assert_eq!(r.event_name, DETECTION_EVENT);
        assert_eq!(a["event.name"], DETECTION_EVENT);
        assert_eq!(
            (r.severity_number, r.severity_text.as_str()),
            (SeverityNumber::Error as i32, "ERROR")
        );
        assert_eq!(r.time_unix_nano, 1_100_000_000_000);
        assert_eq!(r.observed_time_unix_nano, 1_200_000_000_000);
        assert_eq!(r.trace_id, vec![7; 16]);
        assert_eq!(a["kafka_security.detection.detector"], "brute_force");
        assert_eq!(a["kafka_security.detection.technique"], "T1110.001");
        assert_eq!(a["kafka_security.detection.count"], "20");
        assert_eq!(a["kafka.cluster.id"], "MwTDkQ");
        assert_eq!(
            body_of(&r),
            "Detection brute_force (critical, T1110.001) on 10.0.0.9: 20 failed logins in 5m from 10.0.0.9."
        );
        let warning = Detection {
            severity: Severity::Warning,
            ..d
        };
        let r = detection_record("broker", &warning, None, None, at(1_200));
        assert_eq!(r.severity_number, SeverityNumber::Warn as i32);
        assert!(r.trace_id.is_empty());
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_BLRP_MAX_QUEUE_SIZE", "4"),
            ("OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", "2"),
        ];
        let settings = crate::otel::settings::resolve(&Default::default(), &env)
            .unwrap()
            .unwrap()
            .logs
            .unwrap();
        let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).unwrap());
        let parts = Parts {
            client: Client::new(&settings.transport).unwrap(),
            resource: Arc::new(Mutex::new(Resource::default())),
            metrics: metrics.clone(),
        };
        let (logger, mut exporter) = pipeline(settings, parts, Vec::new());
        let e = denial();
        for _ in 0..7 {
            logger.event("s", &e, None, None);
        }
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(
            text.contains("kafka_security_otlp_dropped_total{signal=\"logs\"} 3"),
            "{text}"
        );
        let queued = std::iter::from_fn(|| exporter.rx.try_recv().ok()).count();
        assert_eq!(queued, 4);
    }
}
