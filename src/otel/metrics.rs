//! OTLP metrics: a bridge that, every interval, reads the Prometheus registry behind `/metrics`
//! and pushes the same series as OTLP, cumulative since the process started (or as deltas, see
//! [`super::delta`]).
//!
//! So both paths always agree, there is one set of instruments: the registry. With a state
//! snapshot ([`crate::state`]), the counters and histograms pushed are those of the last snapshot
//! written ([`Metrics::gather_served`]), so OTLP never shows a value a crash could take back.
//! Conversion:
//! counter → monotonic cumulative Sum, gauge → Gauge, histogram → cumulative explicit-bucket
//! Histogram. Names follow OpenTelemetry style — a dotted namespace, the unit in the unit field —
//! chosen so that the collector's Prometheus translation (`prometheus` and
//! `prometheusremotewrite` exporters, `otlptranslator`) gives back exactly our names:
//!
//! | `/metrics` | OTLP name | unit |
//! |---|---|---|
//! | `kafka_security_events_total` | `kafka_security.events` | `{event}` |
//! | `kafka_security_event_delay_seconds` | `kafka_security.event_delay` | `s` |
//! | `kafka_security_consumer_lag_messages` | `kafka_security.consumer_lag_messages` | `{message}` |
//! | `process_resident_memory_bytes` | `process.resident_memory` | `By` |
//!
//! The rule ([`otel_name`]): drop `_total` from counters, turn a `_seconds`/`_bytes` suffix into
//! the unit `s`/`By`, and put a dot after the namespace (`kafka_security`, `process`). The
//! translation splits on `.` and `_`, appends the unit's word unless it is already a token, and
//! `_total` to monotonic sums, which restores the original.
//!
//! Exemplars: counters and the delay histogram carry the trace and span id of the latest sampled
//! event of their series, so a spike in Grafana links to an example trace.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::metrics::v1::{
    exemplar, metric, number_data_point, AggregationTemporality, Exemplar, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
};
use opentelemetry_proto::tonic::resource::v1::Resource;
use parking_lot::Mutex;
use prometheus::proto::{MetricFamily, MetricType};
use tokio_util::sync::CancellationToken;

use super::delta::DeltaState;
use super::settings::MetricsSettings;
use super::traces::SpanRef;
use super::transport::{Client, Payload};
use super::Signal;
use crate::event::{Category, Format, Outcome, SecurityEvent};
use crate::metrics::catalogue::{
    self, Label, AUTHENTICATION, AUTHENTICATION_FAILURES_BY_CLIENT, AUTHORIZATION,
    AUTHORIZATION_DENIALS_BY_PRINCIPAL, EVENTS, EVENT_DELAY,
};
use crate::metrics::internal::{InternalEvent, OtlpDropped, OtlpExportFailed};
use crate::metrics::labels::{
    API, CATEGORY, CLIENT_HOST, DECISION, EVENT_TYPE, FORMAT, LISTENER, MECHANISM, OPERATION,
    OUTCOME, PRINCIPAL, REASON, RESOURCE_NAME, RESOURCE_TYPE, SOURCE,
};
use crate::metrics::{names, Metrics, UNKNOWN};
use crate::parse::ParseError;

/// The OTLP name and unit of a Prometheus metric (see the module docs); units of counted things
/// come from the metric catalogue.
pub fn otel_name(prometheus_name: &str, kind: MetricType) -> (String, &'static str) {
    crate::metrics::catalogue::otlp_name(prometheus_name, kind == MetricType::COUNTER)
}

/// A sampled event's ids, remembered for one series.
#[derive(Debug, Clone, Copy)]
struct Stored {
    span: SpanRef,
    time_unix_nano: u64,
    value: f64,
}

/// Exemplar key: metric name and the label values in label-name order, as `gather()` sorts them.
type Key = (&'static str, Vec<String>);

/// The latest sampled event per series, bounded per metric.
pub struct Exemplars {
    map: Mutex<HashMap<&'static str, HashMap<Vec<String>, Stored>>>,
    capacity: usize,
}

fn sorted_values(pairs: &mut [(Label, String)]) -> Vec<String> {
    pairs.sort_unstable_by_key(|(label, _)| label.key);
    pairs.iter().map(|(_, v)| v.clone()).collect()
}

fn or_unknown(v: &Option<std::borrow::Cow<'_, str>>) -> String {
    v.as_deref().unwrap_or(UNKNOWN).to_string()
}

/// The value `Metrics::record` gives `label` for event `e` of `source`.
fn label_value(label: Label, source: &str, e: &SecurityEvent<'_>) -> String {
    match label {
        SOURCE => source.to_string(),
        FORMAT => e.format.as_str().to_string(),
        CATEGORY => e.category.as_str().to_string(),
        OUTCOME | DECISION => e.outcome.as_str().to_string(),
        EVENT_TYPE => e.event_type.to_string(),
        REASON => e.reason.map_or(UNKNOWN, |r| r.as_str()).to_string(),
        MECHANISM => or_unknown(&e.mechanism),
        LISTENER => or_unknown(&e.listener),
        CLIENT_HOST => or_unknown(&e.client_host),
        OPERATION => or_unknown(&e.operation),
        RESOURCE_TYPE => or_unknown(&e.resource_type),
        RESOURCE_NAME => or_unknown(&e.resource_name),
        API => or_unknown(&e.api),
        PRINCIPAL => or_unknown(&e.principal),
        _ => UNKNOWN.to_string(),
    }
}

impl Exemplars {
    pub fn new(capacity: usize) -> Exemplars {
        Exemplars {
            map: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn put(&self, (name, labels): Key, stored: Stored) {
        let mut map = self.map.lock();
        let series = map.entry(name).or_default();
        if series.len() >= self.capacity && !series.contains_key(&labels) {
            // Series churned past the bound: start over rather than grow.
            series.clear();
        }
        series.insert(labels, stored);
    }

    /// Remembers `span` for each series `Metrics::record` touched with this event (the same
    /// label choices; a value the cardinality guard rewrote simply gets no exemplar).
    pub fn record_event(
        &self,
        span: SpanRef,
        source: &str,
        e: &SecurityEvent<'_>,
        now: SystemTime,
    ) {
        let time_unix_nano = super::nanos(now);
        let one = Stored {
            span,
            time_unix_nano,
            value: 1.0,
        };
        let failed = e.outcome == Outcome::Failure;
        let denied = e.outcome == Outcome::Denied;
        let touched: &[&catalogue::Metric] = match e.category {
            Category::Authentication if failed => {
                &[&EVENTS, &AUTHENTICATION, &AUTHENTICATION_FAILURES_BY_CLIENT]
            }
            Category::Authentication => &[&EVENTS, &AUTHENTICATION],
            Category::Authorization if denied => {
                &[&EVENTS, &AUTHORIZATION, &AUTHORIZATION_DENIALS_BY_PRINCIPAL]
            }
            Category::Authorization => &[&EVENTS, &AUTHORIZATION],
            _ => &[&EVENTS],
        };
        for metric in touched {
            let mut labels: Vec<(Label, String)> = metric
                .labels
                .iter()
                .map(|&label| (label, label_value(label, source, e)))
                .collect();
            self.put((metric.name, sorted_values(&mut labels)), one);
        }
        if let Some(t) = e.event_time {
            let delay = now.duration_since(t).map_or(0.0, |d| d.as_secs_f64());
            let stored = Stored {
                value: delay,
                ..one
            };
            self.put((EVENT_DELAY.name, vec![source.to_string()]), stored);
        }
    }

    /// Remembers `span` for the parse-error series of a rejected record (`format` is the one
    /// tried, `None` when none could be chosen).
    pub fn record_parse_error(
        &self,
        span: SpanRef,
        source: &str,
        format: Option<Format>,
        error: &ParseError,
        now: SystemTime,
    ) {
        let mut labels = [
            (SOURCE, source.to_string()),
            (FORMAT, format.map_or(UNKNOWN, Format::as_str).to_string()),
            (REASON, error.reason().to_string()),
        ];
        self.put(
            (names::PARSE_ERRORS, sorted_values(&mut labels)),
            Stored {
                span,
                time_unix_nano: super::nanos(now),
                value: 1.0,
            },
        );
    }

    fn get(&self, name: &str, labels: &[prometheus::proto::LabelPair]) -> Option<Stored> {
        let map = self.map.lock();
        let series = map.get(name)?;
        // The registry-wide `cluster` label is not part of the key: the same on every series.
        let key: Vec<String> = labels
            .iter()
            .filter(|l| l.name() != crate::metrics::labels::CLUSTER.key)
            .map(|l| l.value().to_string())
            .collect();
        series.get(&key).copied()
    }
}

fn attributes(labels: &[prometheus::proto::LabelPair]) -> Vec<KeyValue> {
    labels
        .iter()
        .map(|l| KeyValue {
            key: l.name().to_string(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(l.value().to_string())),
            }),
            ..Default::default()
        })
        .collect()
}

fn exemplar(stored: Option<Stored>) -> Vec<Exemplar> {
    stored
        .map(|s| Exemplar {
            filtered_attributes: Vec::new(),
            time_unix_nano: s.time_unix_nano,
            span_id: s.span.span_id.to_vec(),
            trace_id: s.span.trace_id.to_vec(),
            value: Some(exemplar::Value::AsDouble(s.value)),
        })
        .into_iter()
        .collect()
}

/// Converts gathered families to OTLP metrics. Returns them and the number of data points.
pub fn convert(
    families: &[MetricFamily],
    start_unix_nano: u64,
    now_unix_nano: u64,
    exemplars: Option<&Exemplars>,
) -> (Vec<Metric>, usize) {
    let mut out = Vec::with_capacity(families.len());
    let mut points = 0;
    for family in families {
        let prom_name = family.name();
        let kind = family.get_field_type();
        let (name, unit) = otel_name(prom_name, kind);
        let series = family.get_metric();
        let ex = |m: &prometheus::proto::Metric| {
            exemplar(exemplars.and_then(|e| e.get(prom_name, m.get_label())))
        };
        let data = match kind {
            MetricType::COUNTER => metric::Data::Sum(Sum {
                data_points: series
                    .iter()
                    .map(|m| {
                        let value = m.get_counter().value();
                        number_point(m, value, (start_unix_nano, now_unix_nano), ex(m))
                    })
                    .collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
                is_monotonic: true,
            }),
            MetricType::GAUGE => metric::Data::Gauge(Gauge {
                data_points: series
                    .iter()
                    .map(|m| number_point(m, m.get_gauge().value(), (0, now_unix_nano), Vec::new()))
                    .collect(),
            }),
            MetricType::HISTOGRAM => metric::Data::Histogram(Histogram {
                data_points: series
                    .iter()
                    .map(|m| histogram_point(m, (start_unix_nano, now_unix_nano), ex(m)))
                    .collect(),
                aggregation_temporality: AggregationTemporality::Cumulative as i32,
            }),
            // The registry holds no summaries or untyped metrics.
            _ => continue,
        };
        points += series.len();
        out.push(Metric {
            name,
            description: family.help().to_string(),
            unit: unit.to_string(),
            metadata: Vec::new(),
            data: Some(data),
        });
    }
    (out, points)
}

/// A counter's or gauge's point over `(start, now)` (a gauge's start is 0: it has none).
fn number_point(
    m: &prometheus::proto::Metric,
    value: f64,
    (start_unix_nano, now_unix_nano): (u64, u64),
    exemplars: Vec<Exemplar>,
) -> NumberDataPoint {
    NumberDataPoint {
        attributes: attributes(m.get_label()),
        start_time_unix_nano: start_unix_nano,
        time_unix_nano: now_unix_nano,
        exemplars,
        flags: 0,
        value: Some(number_value(value)),
    }
}

/// A histogram's point over `(start, now)`, its cumulative buckets turned into per-bucket counts.
fn histogram_point(
    m: &prometheus::proto::Metric,
    (start_unix_nano, now_unix_nano): (u64, u64),
    exemplars: Vec<Exemplar>,
) -> HistogramDataPoint {
    let h = m.get_histogram();
    let count = h.get_sample_count();
    let mut bounds = Vec::with_capacity(h.get_bucket().len());
    let mut counts = Vec::with_capacity(h.get_bucket().len() + 1);
    let mut below = 0u64;
    for b in h.get_bucket() {
        if b.upper_bound().is_infinite() {
            continue;
        }
        bounds.push(b.upper_bound());
        counts.push(b.cumulative_count().saturating_sub(below));
        below = b.cumulative_count();
    }
    counts.push(count.saturating_sub(below));
    HistogramDataPoint {
        attributes: attributes(m.get_label()),
        start_time_unix_nano: start_unix_nano,
        time_unix_nano: now_unix_nano,
        count,
        sum: Some(h.get_sample_sum()),
        bucket_counts: counts,
        explicit_bounds: bounds,
        exemplars,
        flags: 0,
        min: None,
        max: None,
    }
}

/// Whole numbers go as integers (counters and most gauges are), the rest as doubles.
pub(super) fn number_value(v: f64) -> number_data_point::Value {
    if v.fract() == 0.0 && v.abs() < 9.0e15 {
        number_data_point::Value::AsInt(v as i64)
    } else {
        number_data_point::Value::AsDouble(v)
    }
}

/// Pushes the registry every interval, and once more on shutdown.
pub struct MetricExporter {
    pub client: Client,
    pub settings: MetricsSettings,
    pub resource: Arc<Mutex<Resource>>,
    pub metrics: Arc<Metrics>,
    pub exemplars: Option<Arc<Exemplars>>,
    pub start_unix_nano: u64,
    /// The baseline of delta points (unused with cumulative temporality).
    pub delta: DeltaState,
}

impl MetricExporter {
    pub async fn run(mut self, stop: CancellationToken, grace: Duration) {
        let mut ticker = tokio::time::interval(self.settings.interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate: wait a full interval first
        loop {
            tokio::select! {
                biased;
                () = stop.cancelled() => break,
                _ = ticker.tick() => {
                    self.push(self.settings.transport.timeout).await;
                }
            }
        }
        // Final push, so the last interval's counts are not lost.
        if self.push(self.settings.transport.timeout.min(grace)).await {
            tracing::info!("Flushed metrics.");
        } else {
            tracing::warn!("Final metric push failed (counted in kafka_security_otlp_export_failures_total): the last interval's counts did not reach the collector.");
        }
    }

    async fn push(&mut self, timeout: Duration) -> bool {
        let metrics = self.metrics.clone();
        let exemplars = self.exemplars.clone();
        let start = self.start_unix_nano;
        // gather() walks every series: keep it off the async workers.
        let converted = tokio::task::spawn_blocking(move || {
            let families = metrics.gather_served();
            let now = super::nanos(SystemTime::now());
            let (converted, points) = convert(&families, start, now, exemplars.as_deref());
            (converted, points, now)
        })
        .await;
        let Ok((mut metrics, points, now)) = converted else {
            return false;
        };
        let pending = self.delta.apply(&mut metrics, now);
        let request = ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(self.resource.lock().clone()),
                scope_metrics: vec![ScopeMetrics {
                    scope: Some(super::instrumentation_scope()),
                    metrics,
                    schema_url: String::new(),
                }],
                schema_url: String::new(),
            }],
        };
        match self.client.export(Payload::Metrics(request), timeout).await {
            Ok(rejected) => {
                if rejected > 0 {
                    OtlpDropped {
                        signal: Signal::Metrics,
                        count: rejected,
                    }
                    .emit(&self.metrics);
                }
                if let Some(p) = pending {
                    self.delta.commit(p);
                }
                true
            }
            Err(error) => {
                OtlpExportFailed {
                    signal: Signal::Metrics,
                    items: points as u64,
                    endpoint: &self.settings.transport.endpoint,
                    error: &error,
                }
                .emit(&self.metrics);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Format, Origin};
    use crate::metrics::MetricsConfig;

    /// The collector's translation (`otlptranslator.normalizeName` with suffixes, the default of
    /// the `prometheus` and `prometheusremotewrite` exporters), ported to check the round trip
    /// for every metric we register. `tests/it/e2e_otlp.rs` checks the same against the real
    /// collector's Prometheus exporter.
    fn prometheus_name(name: &str, unit: &str, monotonic_counter: bool, gauge: bool) -> String {
        let mut tokens: Vec<String> = name
            .split(|c: char| !c.is_ascii_alphanumeric() && c != ':')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        let main = unit.split('/').next().unwrap_or("");
        let suffix = match main {
            "s" => "seconds".to_string(),
            "By" => "bytes".to_string(),
            "" => String::new(),
            u if u.contains(['{', '}']) => String::new(),
            u => u.to_string(),
        };
        if !suffix.is_empty() && !tokens.contains(&suffix) {
            tokens.push(suffix);
        }
        if monotonic_counter {
            tokens.retain(|t| t != "total");
            tokens.push("total".into());
        }
        if unit == "1" && gauge {
            tokens.retain(|t| t != "ratio");
            tokens.push("ratio".into());
        }
        tokens.join("_")
    }

    fn populated() -> Metrics {
        let m = Metrics::new(&MetricsConfig::default()).unwrap();
        for (category, outcome) in [
            (Category::Authentication, Outcome::Failure),
            (Category::Authorization, Outcome::Denied),
        ] {
            let mut e = SecurityEvent::new(
                Format::Json,
                category,
                outcome,
                "t",
                Origin::Memory,
                SystemTime::now(),
            );
            e.event_time = Some(SystemTime::now());
            m.record("s", &e, SystemTime::now());
        }
        m.record_parse_error("s", None, &crate::parse::ParseError::Empty);
        m.set_source_up("s", true);
        m.record_redelivery("s");
        m.set_consumer_lag("s", "t", 0, 7);
        m.init_otlp_signals();
        m
    }

    #[test]
    fn every_registered_name_round_trips_through_the_prometheus_translation() {
        let m = populated();
        let families = m.registry().gather();
        assert!(families.len() > 12, "{} families", families.len());
        for f in &families {
            let kind = f.get_field_type();
            let (name, unit) = otel_name(f.name(), kind);
            assert!(name.contains('.'), "{name} has no namespace dot");
            assert_eq!(
                prometheus_name(
                    &name,
                    unit,
                    kind == MetricType::COUNTER,
                    kind == MetricType::GAUGE
                ),
                f.name(),
                "OTLP name {name:?} unit {unit:?}"
            );
        }
        assert_eq!(
            otel_name(names::EVENTS, MetricType::COUNTER),
            ("kafka_security.events".into(), "{event}")
        );
        assert_eq!(
            otel_name(names::EVENT_DELAY, MetricType::HISTOGRAM),
            ("kafka_security.event_delay".into(), "s")
        );
        assert_eq!(
            otel_name("process_cpu_seconds_total", MetricType::COUNTER),
            ("process.cpu".into(), "s")
        );
    }

    #[test]
    fn conversion_keeps_values_and_cumulative_histograms() {
        let m = populated();
        for d in [0.003, 0.2, 0.2, 7.0, 1e6] {
            m.registry();
            let mut e = SecurityEvent::new(
                Format::Text,
                Category::Other,
                Outcome::Unknown,
                "x",
                Origin::Memory,
                SystemTime::now(),
            );
            let now = SystemTime::now();
            e.event_time = Some(now - Duration::from_secs_f64(d));
            m.record("h", &e, now);
        }
        let (metrics, points) = convert(&m.registry().gather(), 5, 10, None);
        assert!(points > 10);
        let get = |n: &str| metrics.iter().find(|x| x.name == n).unwrap();
        let Some(metric::Data::Sum(sum)) = &get("kafka_security.events").data else {
            panic!("events is not a sum")
        };
        assert!(sum.is_monotonic);
        assert_eq!(
            sum.aggregation_temporality,
            AggregationTemporality::Cumulative as i32
        );
        let total: i64 = sum
            .data_points
            .iter()
            .map(|p| match p.value {
                Some(number_data_point::Value::AsInt(v)) => v,
                _ => panic!("not an int"),
            })
            .sum();
        assert_eq!(total, 7);
        assert!(sum
            .data_points
            .iter()
            .all(|p| p.start_time_unix_nano == 5 && p.time_unix_nano == 10));
        let Some(metric::Data::Gauge(g)) = &get("kafka_security.consumer_lag_messages").data else {
            panic!("lag is not a gauge")
        };
        assert_eq!(
            g.data_points[0].value,
            Some(number_data_point::Value::AsInt(7))
        );
        let Some(metric::Data::Histogram(h)) = &get("kafka_security.event_delay").data else {
            panic!("delay is not a histogram")
        };
        let p = h
            .data_points
            .iter()
            .find(|p| {
                p.attributes[0].value.as_ref().unwrap().value
                    == Some(any_value::Value::StringValue("h".into()))
            })
            .unwrap();
        assert_eq!(p.count, 5);
        assert_eq!(p.bucket_counts.len(), p.explicit_bounds.len() + 1);
        assert_eq!(p.bucket_counts.iter().sum::<u64>(), 5);
        // 0.003 in the first bucket (≤ 0.005), 1e6 s beyond the last bound (86400).
        assert_eq!(p.bucket_counts[0], 1);
        assert_eq!(*p.bucket_counts.last().unwrap(), 1);
        assert!(p.sum.unwrap() > 1e6);
    }

    const SPAN: SpanRef = SpanRef {
        trace_id: [7; 16],
        span_id: [9; 8],
    };

    /// Records `e` of source `src` in fresh metrics with an exemplar of [`SPAN`]: the names of
    /// the OTLP metrics that then carry one, sorted.
    /// The same with and without the registry-wide `cluster` label.
    fn exemplified(e: &SecurityEvent<'_>) -> Vec<String> {
        let plain = exemplified_in(e, &MetricsConfig::default());
        let with_cluster = MetricsConfig {
            cluster: Some("c1".into()),
            ..MetricsConfig::default()
        };
        assert_eq!(
            exemplified_in(e, &with_cluster),
            plain,
            "with a cluster label"
        );
        plain
    }

    fn exemplified_in(e: &SecurityEvent<'_>, config: &MetricsConfig) -> Vec<String> {
        let m = Metrics::new(config).unwrap();
        let ex = Exemplars::new(100);
        let now = SystemTime::now();
        m.record("src", e, now);
        ex.record_event(SPAN, "src", e, now);
        let (metrics, _) = convert(&m.registry().gather(), 0, 1, Some(&ex));
        let mut with = Vec::new();
        for metric in &metrics {
            let exemplars: Vec<&Exemplar> = match &metric.data {
                Some(metric::Data::Sum(s)) => {
                    s.data_points.iter().flat_map(|p| &p.exemplars).collect()
                }
                Some(metric::Data::Histogram(h)) => {
                    h.data_points.iter().flat_map(|p| &p.exemplars).collect()
                }
                _ => Vec::new(),
            };
            for x in exemplars {
                assert_eq!(x.trace_id, vec![7; 16]);
                assert_eq!(x.span_id, vec![9; 8]);
                with.push(metric.name.clone());
            }
        }
        with.sort();
        with
    }

    #[test]
    fn an_authentication_failure_has_exemplars_on_its_three_series() {
        let mut e = SecurityEvent::new(
            Format::Json,
            Category::Authentication,
            Outcome::Failure,
            "authn",
            Origin::Memory,
            SystemTime::now(),
        );
        e.client_host = Some("10.0.0.9".into());
        e.reason = Some(crate::event::Reason::InvalidCredentials);
        assert_eq!(
            exemplified(&e),
            [
                "kafka_security.authentication",
                "kafka_security.authentication_failures_by_client",
                "kafka_security.events",
            ]
        );
    }

    #[test]
    fn exemplars_land_on_the_series_the_event_counted_in() {
        let mut e = SecurityEvent::new(
            Format::Json,
            Category::Authorization,
            Outcome::Denied,
            "authz",
            Origin::Memory,
            SystemTime::now(),
        );
        e.principal = Some("User:mallory".into());
        e.operation = Some("WRITE".into());
        e.event_time = Some(SystemTime::now() - Duration::from_secs(2));
        assert_eq!(
            exemplified(&e),
            [
                "kafka_security.authorization",
                "kafka_security.authorization_denials_by_principal",
                "kafka_security.event_delay",
                "kafka_security.events",
            ]
        );
        // Bounded: more distinct series than the capacity never grows the map past it.
        let small = Exemplars::new(3);
        let now = SystemTime::now();
        for i in 0..10 {
            let e = SecurityEvent::new(
                Format::Text,
                Category::Other,
                Outcome::Unknown,
                format!("t{i}"),
                Origin::Memory,
                now,
            );
            small.record_event(SPAN, "s", &e, now);
            assert!(small.map.lock()[names::EVENTS].len() <= 3);
        }
    }
}
