//! Spans: one per processed record (consume → parse → record), built directly as OTLP protobuf
//! after the record is applied, queued without blocking, and exported in batches.
//!
//! - Trace context: a Kafka record's W3C `traceparent`/`tracestate` headers make the span a child
//!   of the producer's span ([`TraceContext::parse`]); other records start a new trace.
//! - Sampling ([`Sampler`]): the `OTEL_TRACES_SAMPLER` family, decided per record; with
//!   `always_sample_negative`, denials, failures and unparseable records are always kept (decided
//!   after parsing, which is why spans are built at the end rather than started up front).
//! - Names and attributes: `process <topic>` (kind CONSUMER) for Kafka records, following the
//!   messaging semantic conventions (`messaging.system=kafka`, `messaging.destination.name`,
//!   `messaging.kafka.offset`, `messaging.consumer.group.name`…); `process <file name>` (kind
//!   INTERNAL, `log.file.path`) for log-file entries; `client.address`, `client.port` (when
//!   the input names the client's port) and `error.type` from the general conventions; the rest
//!   under `kafka_security.*`. Denials, failures and parse errors
//!   set status ERROR.
//! - Queue: bounded (`max_queue_size`); a full queue drops the span and counts it in
//!   `kafka_security_otlp_dropped_total{signal="traces"}`. Event processing never waits.

use std::time::SystemTime;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span::SpanKind, status::StatusCode, ResourceSpans, ScopeSpans, Span, Status,
};

use super::batch::{self, BatchExporter, Parts, Queue};
use super::settings::{SamplerName, TracesSettings};
use super::transport::Payload;
use super::{nanos, Signal};
use crate::detect::Detection;
use crate::event::{Category, Format, Origin, SecurityEvent};
use crate::parse::{ParseError, TraceHeaders};

/// The name of a detection's span.
pub const DETECTION_SPAN: &str = "kafka.security.detection";

/// Longest attribute value kept, in bytes; longer values (client-chosen names) are cut at a
/// character boundary and end in `…`.
pub const MAX_ATTRIBUTE_BYTES: usize = 512;

/// A W3C trace context read from a record's headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    pub sampled: bool,
    /// The `tracestate` header, passed on unchanged when valid, else empty.
    pub trace_state: String,
}

fn hex_bytes<const N: usize>(s: &[u8]) -> Option<[u8; N]> {
    if s.len() != 2 * N {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in s.chunks_exact(2).enumerate() {
        let digit = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            _ => None, // W3C: lowercase only
        };
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

impl TraceContext {
    /// Parses `traceparent` (and `tracestate`) as W3C Trace Context level 1 says: version 00 is
    /// exactly `00-<32 hex>-<16 hex>-<2 hex>`, a higher version may append `-…`, version `ff`,
    /// upper-case hex and all-zero ids are invalid. `None` for an invalid header: the span then
    /// starts a new trace, as the spec asks. An invalid `tracestate` is dropped on its own.
    pub fn parse(traceparent: &[u8], tracestate: Option<&[u8]>) -> Option<TraceContext> {
        let tp = traceparent.trim_ascii();
        if tp.len() < 55 {
            return None;
        }
        let version = hex_bytes::<1>(&tp[0..2])?[0];
        if version == 0xff || tp[2] != b'-' || tp[35] != b'-' || tp[52] != b'-' {
            return None;
        }
        if (version == 0 && tp.len() != 55) || (tp.len() > 55 && tp[55] != b'-') {
            return None;
        }
        let trace_id = hex_bytes::<16>(&tp[3..35])?;
        let span_id = hex_bytes::<8>(&tp[36..52])?;
        let flags = hex_bytes::<1>(&tp[53..55])?[0];
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        let trace_state = tracestate
            .and_then(|ts| std::str::from_utf8(ts.trim_ascii()).ok())
            .filter(|ts| {
                ts.len() <= 512
                    && ts.split(',').filter(|m| !m.trim().is_empty()).count() <= 32
                    && ts.bytes().all(|b| (0x20..0x7f).contains(&b))
                    && ts
                        .split(',')
                        .filter(|m| !m.trim().is_empty())
                        .all(|m| m.contains('='))
            })
            .unwrap_or_default()
            .to_string();
        Some(TraceContext {
            trace_id,
            span_id,
            sampled: flags & 1 == 1,
            trace_state,
        })
    }
}

/// The configured sampler (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`).
#[derive(Debug, Clone, Copy)]
pub struct Sampler {
    name: SamplerName,
    /// Trace ids whose low 63 bits are below this are sampled by the ratio samplers.
    threshold: u64,
    ratio_is_one: bool,
}

impl Sampler {
    pub fn new(name: SamplerName, ratio: f64) -> Sampler {
        let ratio = ratio.clamp(0.0, 1.0);
        Sampler {
            name,
            threshold: (ratio * (1u64 << 63) as f64) as u64,
            ratio_is_one: ratio >= 1.0,
        }
    }

    fn ratio(&self, trace_id: &[u8; 16]) -> bool {
        if self.ratio_is_one {
            return true;
        }
        // The low 8 bytes of a W3C trace id are random; the same trace gets the same answer
        // in every process that uses this rule.
        let low = u64::from_be_bytes(trace_id[8..16].try_into().expect("8 bytes")) >> 1;
        low < self.threshold
    }

    /// True when the span of a record with this parent and trace id is sampled.
    pub fn should_sample(&self, parent: Option<&TraceContext>, trace_id: &[u8; 16]) -> bool {
        use SamplerName::*;
        match (self.name, parent) {
            (AlwaysOn, _) => true,
            (AlwaysOff, _) => false,
            (Traceidratio, _) => self.ratio(trace_id),
            (ParentbasedAlwaysOn | ParentbasedAlwaysOff | ParentbasedTraceidratio, Some(p)) => {
                p.sampled
            }
            (ParentbasedAlwaysOn, None) => true,
            (ParentbasedAlwaysOff, None) => false,
            (ParentbasedTraceidratio, None) => self.ratio(trace_id),
        }
    }

    /// False when no record can ever be sampled by the sampler alone.
    pub fn never(&self) -> bool {
        self.name == SamplerName::AlwaysOff
    }
}

/// A random, non-zero id.
fn random_id<const N: usize>() -> [u8; N] {
    loop {
        let mut out = [0u8; N];
        for chunk in out.chunks_mut(8) {
            let r = fastrand::u64(..).to_be_bytes();
            chunk.copy_from_slice(&r[..chunk.len()]);
        }
        if out != [0u8; N] {
            return out;
        }
    }
}

/// Where and when a record (or log entry) was read, for its span.
pub struct Read<'r, 'a> {
    pub origin: &'r Origin<'a>,
    pub trace_context: Option<&'r TraceHeaders<'a>>,
    /// When it was read: the span's start.
    pub started: SystemTime,
}

/// What became of a record, for its span.
pub enum Outcome<'e, 'a> {
    Event(&'e SecurityEvent<'a>),
    Rejected(Option<Format>, &'e ParseError),
}

/// The sampled identity of one span, for exemplars.
#[derive(Debug, Clone, Copy)]
pub struct SpanRef {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
}

pub(super) fn cut(s: &str) -> String {
    if s.len() <= MAX_ATTRIBUTE_BYTES {
        return s.to_string();
    }
    let mut end = MAX_ATTRIBUTE_BYTES - '…'.len_utf8();
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

pub(super) fn kv(key: &'static str, value: any_value::Value) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue { value: Some(value) }),
        ..Default::default()
    }
}

pub(super) fn text(key: &'static str, value: &str) -> KeyValue {
    kv(key, any_value::Value::StringValue(cut(value)))
}

pub(super) fn int(key: &'static str, value: i64) -> KeyValue {
    kv(key, any_value::Value::IntValue(value))
}

/// The hot-path half of tracing: samples, builds spans, queues them. Shared by every source.
pub struct Tracer {
    sampler: Sampler,
    always_sample_negative: bool,
    queue: Queue<Span>,
    /// Consumer group of each Kafka source, for `messaging.consumer.group.name`.
    group_ids: Vec<(String, String)>,
}

impl Tracer {
    /// Samples and, when sampled, builds and queues the span of one processed record.
    /// Returns the span's ids when it was sampled (and queued or counted as dropped).
    pub fn observe(
        &self,
        source: &str,
        record: &Read<'_, '_>,
        outcome: &Outcome<'_, '_>,
        cluster_id: Option<&str>,
        end: SystemTime,
    ) -> Option<SpanRef> {
        let negative = match outcome {
            Outcome::Event(e) => e.outcome.is_negative(),
            Outcome::Rejected(..) => true,
        };
        let forced = self.always_sample_negative && negative;
        if !forced && self.sampler.never() {
            return None;
        }
        let parent = record
            .trace_context
            .and_then(|h| TraceContext::parse(h.traceparent, h.tracestate));
        let trace_id = parent.as_ref().map_or_else(random_id::<16>, |p| p.trace_id);
        if !forced && !self.sampler.should_sample(parent.as_ref(), &trace_id) {
            return None;
        }
        let ids = SpanRef {
            trace_id,
            span_id: random_id::<8>(),
        };
        let mut span = self.build(source, record, outcome, parent, ids, end);
        if let Some(id) = cluster_id {
            span.attributes.push(text("kafka.cluster.id", id));
        }
        self.queue.push(span);
        Some(ids)
    }

    /// Queues the span of one detection, `kafka.security.detection`: a root span (kind
    /// INTERNAL) at `now`, always kept whatever the sampler says (detections are few and are
    /// the point), with the detection's attributes. Returns its ids.
    pub fn detection(
        &self,
        source: &str,
        d: &Detection,
        cluster_id: Option<&str>,
        now: SystemTime,
    ) -> SpanRef {
        let ids = SpanRef {
            trace_id: random_id::<16>(),
            span_id: random_id::<8>(),
        };
        let mut attributes = detection_attributes(source, d);
        if let Some(id) = cluster_id {
            attributes.push(text("kafka.cluster.id", id));
        }
        let span = Span {
            trace_id: ids.trace_id.to_vec(),
            span_id: ids.span_id.to_vec(),
            trace_state: String::new(),
            parent_span_id: Vec::new(),
            flags: 0x1 | 0x100,
            name: DETECTION_SPAN.to_string(),
            kind: SpanKind::Internal as i32,
            start_time_unix_nano: nanos(now),
            end_time_unix_nano: nanos(now),
            attributes,
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: None,
        };
        self.queue.push(span);
        ids
    }

    fn build(
        &self,
        source: &str,
        record: &Read<'_, '_>,
        outcome: &Outcome<'_, '_>,
        parent: Option<TraceContext>,
        ids: SpanRef,
        end: SystemTime,
    ) -> Span {
        let mut attributes = Vec::with_capacity(24);
        let group = group_of(&self.group_ids, source);
        let (name, kind) = origin_attributes(record.origin, group, &mut attributes);
        attributes.push(text("kafka_security.source", source));
        let status = outcome_attributes(outcome, &mut attributes);
        let (parent_span_id, trace_state, parent_flags) = match parent {
            Some(p) => (p.span_id.to_vec(), p.trace_state, true),
            None => (Vec::new(), String::new(), false),
        };
        Span {
            trace_id: ids.trace_id.to_vec(),
            span_id: ids.span_id.to_vec(),
            trace_state,
            parent_span_id,
            // Bit 0x100: "has_is_remote is known", 0x200: the parent is remote.
            flags: 0x1 | 0x100 | if parent_flags { 0x200 } else { 0 },
            name,
            kind: kind as i32,
            start_time_unix_nano: nanos(record.started.min(end)),
            end_time_unix_nano: nanos(end),
            attributes,
            dropped_attributes_count: 0,
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status,
        }
    }
}

/// The span's name and kind, and the attributes that say where the record was read (`group`:
/// the consumer group of the source, for a Kafka record). Log records carry the same attributes.
pub(super) fn origin_attributes(
    origin: &Origin<'_>,
    group: Option<&str>,
    attributes: &mut Vec<KeyValue>,
) -> (String, SpanKind) {
    match origin {
        Origin::Kafka {
            topic,
            partition,
            offset,
        } => {
            attributes.push(text("messaging.system", "kafka"));
            attributes.push(text("messaging.operation.name", "process"));
            attributes.push(text("messaging.operation.type", "process"));
            attributes.push(text("messaging.destination.name", topic));
            attributes.push(text(
                "messaging.destination.partition.id",
                &partition.to_string(),
            ));
            attributes.push(int("messaging.kafka.offset", *offset));
            if let Some(group) = group {
                attributes.push(text("messaging.consumer.group.name", group));
            }
            (format!("process {}", cut(topic)), SpanKind::Consumer)
        }
        Origin::File { path, offset } => {
            attributes.push(text("log.file.path", path));
            attributes.push(int(
                "kafka_security.file.offset",
                i64::try_from(*offset).unwrap_or(i64::MAX),
            ));
            let file_name = path.rsplit(['/', '\\']).next().unwrap_or(path);
            (format!("process {}", cut(file_name)), SpanKind::Internal)
        }
        Origin::Memory => ("process".to_string(), SpanKind::Internal),
    }
}

/// A detection's attributes (`kafka_security.detection.*`), on its span and its log record.
pub(super) fn detection_attributes(source: &str, d: &Detection) -> Vec<KeyValue> {
    let millis = |t: SystemTime| i64::try_from(crate::detect::millis(t)).unwrap_or(i64::MAX);
    vec![
        text("kafka_security.source", source),
        text("kafka_security.detection.detector", d.detector.as_str()),
        text("kafka_security.detection.technique", d.detector.technique()),
        text("kafka_security.detection.tactic", d.detector.tactic()),
        text("kafka_security.detection.severity", d.severity.as_str()),
        text("kafka_security.detection.subject", &d.subject),
        int(
            "kafka_security.detection.count",
            i64::try_from(d.count).unwrap_or(i64::MAX),
        ),
        int(
            "kafka_security.detection.first_event_unix_ms",
            millis(d.first_event),
        ),
        int(
            "kafka_security.detection.last_event_unix_ms",
            millis(d.last_event),
        ),
        text("kafka_security.detection.detail", &d.detail),
    ]
}

/// The consumer group of `source`, when it is a Kafka source.
pub(super) fn group_of<'g>(group_ids: &'g [(String, String)], source: &str) -> Option<&'g str> {
    group_ids
        .iter()
        .find(|(s, _)| s == source)
        .map(|(_, g)| g.as_str())
}

/// The attributes of what became of the record, and the span's status: ERROR for denials,
/// failures and parse errors.
fn outcome_attributes(outcome: &Outcome<'_, '_>, attributes: &mut Vec<KeyValue>) -> Option<Status> {
    match outcome {
        Outcome::Event(e) => {
            event_attributes(e, attributes);
            if !e.outcome.is_negative() {
                return None;
            }
            let reason = e.reason.map_or(e.outcome.as_str(), |r| r.as_str());
            attributes.push(text("error.type", reason));
            Some(Status {
                code: StatusCode::Error as i32,
                message: format!("{} {}: {reason}", e.category.as_str(), e.outcome.as_str()),
            })
        }
        Outcome::Rejected(format, error) => {
            if let Some(f) = format {
                attributes.push(text("kafka_security.format", f.as_str()));
            }
            attributes.push(text("error.type", error.reason()));
            Some(Status {
                code: StatusCode::Error as i32,
                message: cut(&format!("parse error: {error}")),
            })
        }
    }
}

fn event_attributes(e: &SecurityEvent<'_>, out: &mut Vec<KeyValue>) {
    out.push(text("kafka_security.format", e.format.as_str()));
    out.push(text("kafka_security.category", e.category.as_str()));
    out.push(text("kafka_security.outcome", e.outcome.as_str()));
    out.push(text("kafka_security.event_type", &e.event_type));
    if e.category == Category::Authorization {
        out.push(text("kafka_security.decision", e.outcome.as_str()));
    }
    let optional = [
        ("kafka_security.principal", &e.principal),
        ("client.address", &e.client_host),
        ("kafka_security.client_id", &e.client_id),
        ("kafka_security.listener", &e.listener),
        ("kafka_security.mechanism", &e.mechanism),
        ("kafka_security.operation", &e.operation),
        ("kafka_security.resource.type", &e.resource_type),
        ("kafka_security.resource.name", &e.resource_name),
        ("kafka_security.resource.pattern_type", &e.pattern_type),
        ("kafka_security.api", &e.api),
        ("kafka_security.cluster.id", &e.cluster_id),
        ("kafka_security.broker.id", &e.broker_id),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            out.push(text(key, v));
        }
    }
    if let (Some(_), Some(port)) = (&e.client_host, e.client_port) {
        out.push(int("client.port", i64::from(port)));
    }
    if let Some(r) = e.reason {
        out.push(text("kafka_security.reason", r.as_str()));
    }
    if let Some(t) = e.event_time {
        out.push(int(
            "kafka_security.event_time_unix_nano",
            i64::try_from(nanos(t)).unwrap_or(i64::MAX),
        ));
    }
}

/// Creates the tracer (hot path) and its exporter (a task to spawn).
pub fn pipeline(
    settings: TracesSettings,
    parts: Parts,
    group_ids: Vec<(String, String)>,
) -> (Tracer, BatchExporter<Span>) {
    let (queue, exporter) = batch::pipeline(
        Signal::Traces,
        &settings.transport,
        settings.batch.clone(),
        parts,
        request,
    );
    let tracer = Tracer {
        sampler: Sampler::new(settings.sampler, settings.ratio),
        always_sample_negative: settings.always_sample_negative,
        queue,
        group_ids,
    };
    (tracer, exporter)
}

/// One export request of `spans`.
fn request(resource: Resource, spans: Vec<Span>) -> Payload {
    Payload::Traces(ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(resource),
            scope_spans: vec![ScopeSpans {
                scope: Some(super::instrumentation_scope()),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;
    use crate::otel::transport::Client;
    use parking_lot::Mutex;
    use std::sync::Arc;
    use std::time::Duration;

    const TP: &[u8] = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn traceparent_parses_per_w3c() {
        let c = TraceContext::parse(TP, Some(b"congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")).unwrap();
        assert_eq!(
            c.trace_id,
            hex_bytes::<16>(b"4bf92f3577b34da6a3ce929d0e0e4736").unwrap()
        );
        assert_eq!(c.span_id, hex_bytes::<8>(b"00f067aa0ba902b7").unwrap());
        assert!(c.sampled);
        assert_eq!(c.trace_state, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7");
        let unsampled = TraceContext::parse(
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            None,
        )
        .unwrap();
        assert!(!unsampled.sampled);
        // A future version may carry more fields after a dash.
        assert!(TraceContext::parse(
            b"01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            None
        )
        .is_some());
        for bad in [
            &b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra"[..],
            b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            b"00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            b"00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            b"",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0é".as_bytes(),
        ] {
            assert!(
                TraceContext::parse(bad, None).is_none(),
                "{:?} should be invalid",
                String::from_utf8_lossy(bad)
            );
        }
        // A bad tracestate is dropped; the parent stays.
        let c = TraceContext::parse(TP, Some(b"no-equals-sign")).unwrap();
        assert_eq!(c.trace_state, "");
        let c = TraceContext::parse(TP, Some(&[b'a'; 600])).unwrap();
        assert_eq!(c.trace_state, "");
    }

    #[test]
    fn samplers_follow_the_spec() {
        let parent = |sampled| TraceContext {
            trace_id: [1; 16],
            span_id: [2; 8],
            sampled,
            trace_state: String::new(),
        };
        let id = [0x55; 16];
        let on = Sampler::new(SamplerName::ParentbasedAlwaysOn, 1.0);
        assert!(on.should_sample(None, &id));
        assert!(on.should_sample(Some(&parent(true)), &id));
        assert!(!on.should_sample(Some(&parent(false)), &id));
        let off = Sampler::new(SamplerName::ParentbasedAlwaysOff, 1.0);
        assert!(!off.should_sample(None, &id));
        assert!(off.should_sample(Some(&parent(true)), &id));
        assert!(Sampler::new(SamplerName::AlwaysOn, 0.0).should_sample(Some(&parent(false)), &id));
        assert!(!Sampler::new(SamplerName::AlwaysOff, 1.0).should_sample(Some(&parent(true)), &id));

        // The ratio samplers keep about `ratio` of random trace ids, deterministically per id.
        let quarter = Sampler::new(SamplerName::Traceidratio, 0.25);
        let kept = (0..20_000)
            .filter(|_| quarter.should_sample(None, &random_id::<16>()))
            .count();
        assert!(
            (4_400..5_600).contains(&kept),
            "kept {kept} of 20000 at 0.25"
        );
        let some_id = random_id::<16>();
        assert_eq!(
            quarter.should_sample(None, &some_id),
            quarter.should_sample(None, &some_id)
        );
        let none = Sampler::new(SamplerName::ParentbasedTraceidratio, 0.0);
        assert!(!none.should_sample(None, &[0xff; 16]));
        assert!(!none.should_sample(None, &[0x00; 16]));
        assert!(none.should_sample(Some(&parent(true)), &id));
        let all = Sampler::new(SamplerName::Traceidratio, 1.0);
        assert!(all.should_sample(None, &[0xff; 16]));
    }

    fn tracer(sampler: &str, negative: bool) -> (Tracer, BatchExporter<Span>, Arc<Metrics>) {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_TRACES_SAMPLER", sampler),
        ];
        let mut settings = super::super::settings::resolve(&Default::default(), &env)
            .unwrap()
            .unwrap()
            .traces
            .unwrap();
        settings.always_sample_negative = negative;
        let metrics = Arc::new(Metrics::new(&crate::metrics::MetricsConfig::default()).unwrap());
        let parts = Parts {
            client: Client::new(&settings.transport).unwrap(),
            resource: Arc::new(Mutex::new(Resource::default())),
            metrics: metrics.clone(),
        };
        let (t, e) = pipeline(settings, parts, vec![("audit".into(), "group-1".into())]);
        (t, e, metrics)
    }

    #[test]
    fn log_file_entries_get_root_spans_and_negative_ones_can_be_forced() {
        use crate::event::{Format, Outcome as EventOutcome};
        let (t, mut exporter, _) = tracer("parentbased_always_off", true);
        let origin = Origin::File {
            path: "/var/log/kafka/kafka-authorizer.log".into(),
            offset: 1234,
        };
        let read = Read {
            origin: &origin,
            trace_context: None,
            started: SystemTime::now(),
        };
        let mut denied = SecurityEvent::new(
            Format::AuthorizerLog,
            Category::Authorization,
            EventOutcome::Denied,
            "authorization",
            origin.clone(),
            SystemTime::now(),
        );
        denied.principal = Some("User:mallory".into());
        denied.client_host = Some("10.0.0.9".into());
        denied.client_port = Some(54321);
        let allowed = SecurityEvent::new(
            Format::AuthorizerLog,
            Category::Authorization,
            EventOutcome::Allowed,
            "authorization",
            origin.clone(),
            SystemTime::now(),
        );
        let observe = |e: &SecurityEvent<'_>| {
            t.observe("files", &read, &Outcome::Event(e), None, SystemTime::now())
        };
        // The sampler says no; only the denial is kept, because negative outcomes are forced.
        assert!(observe(&allowed).is_none());
        assert!(observe(&denied).is_some());
        let span = exporter.rx.try_recv().expect("one span queued");
        assert!(exporter.rx.try_recv().is_err());
        assert_eq!(span.name, "process kafka-authorizer.log");
        assert_eq!(span.kind, SpanKind::Internal as i32);
        assert!(span.parent_span_id.is_empty());
        assert_eq!(span.status.unwrap().code, StatusCode::Error as i32);
        let attr = |k: &str| {
            span.attributes
                .iter()
                .find(|a| a.key == k)
                .and_then(|a| a.value.clone())
                .and_then(|v| v.value)
        };
        assert_eq!(
            attr("log.file.path"),
            Some(any_value::Value::StringValue(
                "/var/log/kafka/kafka-authorizer.log".into()
            ))
        );
        assert_eq!(
            attr("kafka_security.file.offset"),
            Some(any_value::Value::IntValue(1234))
        );
        assert_eq!(attr("messaging.system"), None);
        assert_eq!(
            attr("client.address"),
            Some(any_value::Value::StringValue("10.0.0.9".into()))
        );
        assert_eq!(attr("client.port"), Some(any_value::Value::IntValue(54321)));
    }

    #[test]
    fn a_detection_is_one_span_with_its_attributes_whatever_the_sampler() {
        use crate::detect::{Detector, Severity};
        let (t, mut exporter, _) = tracer("always_off", false);
        let at = |s| std::time::UNIX_EPOCH + Duration::from_secs(s);
        let d = Detection {
            detector: Detector::BruteForce,
            severity: Severity::Critical,
            subject: "10.0.0.9".into(),
            first_event: at(1_000),
            last_event: at(1_100),
            count: 20,
            detail: "20 failed logins in 5m from 10.0.0.9".into(),
        };
        t.detection("broker", &d, Some("MwTDkQ"), SystemTime::now());
        let span = exporter.rx.try_recv().expect("one span queued");
        assert_eq!(span.name, DETECTION_SPAN);
        let attr = |k: &str| {
            span.attributes
                .iter()
                .find(|a| a.key == k)
                .and_then(|a| a.value.clone())
                .and_then(|v| v.value)
        };
        let s = |v: &str| Some(any_value::Value::StringValue(v.into()));
        let i = |v: i64| Some(any_value::Value::IntValue(v));
        assert_eq!(attr("kafka_security.detection.detector"), s("brute_force"));
        assert_eq!(attr("kafka_security.detection.technique"), s("T1110.001"));
        assert_eq!(
            attr("kafka_security.detection.tactic"),
            s("credential_access")
        );
        assert_eq!(attr("kafka_security.detection.severity"), s("critical"));
        assert_eq!(attr("kafka_security.detection.subject"), s("10.0.0.9"));
        assert_eq!(attr("kafka_security.detection.count"), i(20));
        assert_eq!(
            attr("kafka_security.detection.first_event_unix_ms"),
            i(1_000_000)
        );
        assert_eq!(
            attr("kafka_security.detection.last_event_unix_ms"),
            i(1_100_000)
        );
        assert_eq!(attr("kafka.cluster.id"), s("MwTDkQ"));
    }

    #[test]
    fn a_full_queue_drops_and_counts_instead_of_waiting() {
        let (t, exporter, metrics) = tracer("always_on", false);
        let origin = Origin::Memory;
        let read = Read {
            origin: &origin,
            trace_context: None,
            started: SystemTime::now(),
        };
        let e = SecurityEvent::new(
            crate::event::Format::Text,
            Category::Other,
            crate::event::Outcome::Unknown,
            "x",
            Origin::Memory,
            SystemTime::now(),
        );
        let n = exporter.batch.max_queue_size + 10;
        for _ in 0..n {
            t.observe("s", &read, &Outcome::Event(&e), None, SystemTime::now());
        }
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(
            text.contains("kafka_security_otlp_dropped_total{signal=\"traces\"} 10"),
            "{text}"
        );
    }

    #[test]
    fn long_attribute_values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(400);
        let c = cut(&long);
        assert!(c.len() <= MAX_ATTRIBUTE_BYTES);
        assert!(c.ends_with('…'));
        assert_eq!(cut("short"), "short");
    }
}
