//! OpenTelemetry: OTLP metrics, traces and logs, pushed to a collector over gRPC or
//! HTTP/protobuf.
//!
//! - [`settings`]: the `otlp:` config section and the standard `OTEL_*` variables, resolved.
//! - [`metrics`]: the bridge from the Prometheus registry to OTLP (same series, same values,
//!   names that translate back to ours), with exemplars; [`delta`]: delta temporality.
//! - [`traces`]: one span per processed record, joined to the producer's trace through the
//!   record's `traceparent` header; sampling.
//! - [`logs`]: one log record per security event and per detection, in its span's trace.
//! - [`batch`]: the bounded queue and batching exporter spans and log records share.
//! - [`transport`]: the gRPC and HTTP clients (TLS, headers, gzip, retries within a deadline).
//!
//! [`Otel::start`] spawns one exporter task per signal and returns the [`Handle`] the pipeline
//! calls for each record ([`Handle::observe`]) and detection ([`Handle::detection`]). Nothing
//! here can block event processing: spans and log records go through bounded queues with
//! `try_send`, metrics are read from the registry's atomics, and every export has a deadline.
//! Failed exports count in `kafka_security_otlp_export_failures_total{signal}`, lost spans,
//! points and log records in `kafka_security_otlp_dropped_total{signal}`.

pub mod batch;
pub mod delta;
pub mod logs;
pub mod metrics;
pub mod settings;
pub mod traces;
pub mod transport;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use parking_lot::{Mutex, RwLock};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

pub use settings::{OtlpConfig, Settings};

use self::batch::Parts;
use self::delta::DeltaState;
use self::logs::Logger;
use self::metrics::{Exemplars, MetricExporter};
use self::traces::{Outcome, Tracer};
use self::transport::{Client, ClientError};
use crate::event::{Format, Origin, SecurityEvent};
use crate::metrics::Metrics;
use crate::parse::{ParseError, TraceHeaders};

/// `InstrumentationScope.name` of everything we emit.
pub const SCOPE_NAME: &str = "kafka-security-exporter";

/// `service.version` of the resource and the version of the instrumentation scope.
pub const SERVICE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Series per metric that keep an exemplar; beyond, the store starts over.
const EXEMPLAR_SERIES: usize = 4096;

/// The `signal` label of the OTLP self-metrics (defined with the metric catalogue).
pub use crate::metrics::Signal;

/// The instrumentation scope of every export request.
fn instrumentation_scope() -> InstrumentationScope {
    InstrumentationScope {
        name: SCOPE_NAME.into(),
        version: SERVICE_VERSION.into(),
        attributes: Vec::new(),
        dropped_attributes_count: 0,
    }
}

pub(crate) fn nanos(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

fn string_kv(key: &str, value: &str) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value.to_string())),
        }),
        ..Default::default()
    }
}

/// What the pipeline holds: the tracer and the exemplar store (both absent when traces are off),
/// the logger (absent when logs are off), and the Kafka cluster ids learnt so far.
pub struct Handle {
    tracer: Option<Tracer>,
    logger: Option<Logger>,
    exemplars: Option<Arc<Exemplars>>,
    /// Per source, the cluster id its consumer reported.
    cluster_ids: RwLock<Vec<(String, String)>>,
    base_resource: Vec<(String, String)>,
    resource: Arc<Mutex<Resource>>,
}

impl Handle {
    /// True when records should be observed at all (traces or logs on).
    pub fn active(&self) -> bool {
        self.tracer.is_some() || self.logger.is_some()
    }

    /// The cluster id the consumer of `source` reported, from the locked list.
    fn cluster<'c>(ids: &'c [(String, String)], source: &str) -> Option<&'c str> {
        ids.iter()
            .find(|(s, _)| s == source)
            .map(|(_, id)| id.as_str())
    }

    /// The span (and exemplars) and the log record of one processed record. `parsed` is the
    /// event, or the format tried and the reason it was rejected (which gets a span only: it is
    /// no security event).
    pub fn observe(
        &self,
        source: &str,
        origin: &Origin<'_>,
        trace_context: Option<&TraceHeaders<'_>>,
        started: SystemTime,
        parsed: Result<&SecurityEvent<'_>, (Option<Format>, &ParseError)>,
    ) {
        if !self.active() {
            return;
        }
        let now = SystemTime::now();
        let outcome = match parsed {
            Ok(e) => Outcome::Event(e),
            Err((format, error)) => Outcome::Rejected(format, error),
        };
        let cluster_ids = self.cluster_ids.read();
        let cluster = Self::cluster(&cluster_ids, source);
        let read = traces::Read {
            origin,
            trace_context,
            started,
        };
        let span = self
            .tracer
            .as_ref()
            .and_then(|t| t.observe(source, &read, &outcome, cluster, now));
        if let (Some(logger), Outcome::Event(e)) = (&self.logger, &outcome) {
            logger.event(source, e, span, cluster);
        }
        drop(cluster_ids);
        let Some(span) = span else { return };
        if let Some(ex) = &self.exemplars {
            match outcome {
                Outcome::Event(e) => ex.record_event(span, source, e, now),
                Outcome::Rejected(format, error) => {
                    ex.record_parse_error(span, source, format, error, now)
                }
            }
        }
    }

    /// The span of one detection (see [`traces::Tracer::detection`]), when traces are on, and
    /// its log record, in the span's trace, when logs are on.
    pub fn detection(&self, source: &str, detection: &crate::detect::Detection) {
        if !self.active() {
            return;
        }
        let now = SystemTime::now();
        let cluster_ids = self.cluster_ids.read();
        let cluster = Self::cluster(&cluster_ids, source);
        let span = self
            .tracer
            .as_ref()
            .map(|t| t.detection(source, detection, cluster, now));
        if let Some(logger) = &self.logger {
            logger.detection(source, detection, span, cluster, now);
        }
    }

    /// Records the Kafka cluster id a source's consumer reported: on that source's spans as
    /// `kafka.cluster.id`, and in the resource when every source agrees.
    pub fn set_cluster_id(&self, source: &str, cluster_id: &str) {
        let mut ids = self.cluster_ids.write();
        ids.retain(|(s, _)| s != source);
        ids.push((source.to_string(), cluster_id.to_string()));
        let mut attrs = self.base_resource.clone();
        let first = &ids[0].1;
        if ids.iter().all(|(_, id)| id == first) {
            attrs.push(("kafka.cluster.id".into(), first.clone()));
        }
        *self.resource.lock() = resource(&attrs);
    }
}

fn resource(attrs: &[(String, String)]) -> Resource {
    Resource {
        attributes: attrs.iter().map(|(k, v)| string_kv(k, v)).collect(),
        dropped_attributes_count: 0,
        entity_refs: Vec::new(),
    }
}

/// Running OTLP exporters.
pub struct Otel {
    pub handle: Arc<Handle>,
    tasks: TaskTracker,
    stop: CancellationToken,
}

impl Otel {
    /// Starts the exporter task of each enabled signal and pre-initialises the self-metrics.
    /// `group_ids` names each Kafka source's consumer group. Fails only on a client that cannot
    /// be built (unreadable TLS files); an unreachable collector is retried at each export.
    pub fn start(
        settings: Settings,
        metrics: Arc<Metrics>,
        group_ids: Vec<(String, String)>,
        grace: Duration,
    ) -> Result<Otel, ClientError> {
        metrics.init_otlp_signals();
        let shared_resource = Arc::new(Mutex::new(resource(&settings.resource)));
        let tasks = TaskTracker::new();
        let stop = CancellationToken::new();
        let start_unix_nano = process_start_unix_nano();

        let parts = |client| Parts {
            client,
            resource: shared_resource.clone(),
            metrics: metrics.clone(),
        };
        let mut tracer = None;
        let mut exemplars = None;
        let mut span_exporter = None;
        if let Some(t) = settings.traces.clone() {
            let client = Client::new(&t.transport)?;
            tracing::info!(endpoint = %t.transport.endpoint, protocol = t.transport.protocol.as_str(), sampler = ?t.sampler, ratio = t.ratio, "Exporting traces over OTLP.");
            let (tr, exporter) = traces::pipeline(t, parts(client), group_ids.clone());
            tracer = Some(tr);
            span_exporter = Some(exporter);
        }
        let mut logger = None;
        let mut log_exporter = None;
        if let Some(l) = settings.logs.clone() {
            let client = Client::new(&l.transport)?;
            tracing::info!(endpoint = %l.transport.endpoint, protocol = l.transport.protocol.as_str(), "Exporting security events and detections as OTLP logs.");
            let (lg, exporter) = logs::pipeline(l, parts(client), group_ids);
            logger = Some(lg);
            log_exporter = Some(exporter);
        }
        let mut metric_exporter = None;
        if let Some(m) = settings.metrics.clone() {
            let client = Client::new(&m.transport)?;
            tracing::info!(endpoint = %m.transport.endpoint, protocol = m.transport.protocol.as_str(), interval = ?m.interval, temporality = m.temporality.as_str(), "Exporting metrics over OTLP.");
            if m.exemplars && tracer.is_some() {
                exemplars = Some(Arc::new(Exemplars::new(EXEMPLAR_SERIES)));
            }
            metric_exporter = Some(MetricExporter {
                client,
                resource: shared_resource.clone(),
                metrics: metrics.clone(),
                exemplars: exemplars.clone(),
                start_unix_nano,
                delta: DeltaState::new(m.temporality),
                settings: m,
            });
        }
        if let Some(e) = span_exporter {
            tasks.spawn(e.run(stop.clone(), grace));
        }
        if let Some(e) = log_exporter {
            tasks.spawn(e.run(stop.clone(), grace));
        }
        if let Some(e) = metric_exporter {
            tasks.spawn(e.run(stop.clone(), grace));
        }
        tasks.close();
        Ok(Otel {
            handle: Arc::new(Handle {
                tracer,
                logger,
                exemplars,
                cluster_ids: RwLock::new(Vec::new()),
                base_resource: settings.resource,
                resource: shared_resource,
            }),
            tasks,
            stop,
        })
    }

    /// Flushes queued spans and log records and pushes the metrics one last time, bounded by
    /// `grace`.
    pub async fn shutdown(self, grace: Duration) {
        self.stop.cancel();
        // Each exporter bounds its flush by `grace`; this bounds the whole.
        if tokio::time::timeout(grace + Duration::from_secs(1), self.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!(?grace, "OTLP flush did not finish within the grace period.");
        }
    }
}

/// The process start time, for the start of cumulative series (now, if /proc is unavailable).
fn process_start_unix_nano() -> u64 {
    #[cfg(target_os = "linux")]
    if let Ok(stat) = std::fs::read_to_string("/proc/self/stat") {
        // Field 22 (starttime, clock ticks since boot) follows the `(comm)` field, which may
        // itself contain spaces and parentheses: count from its last `)`.
        let boot = std::fs::read_to_string("/proc/stat").ok().and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("btime "))
                .and_then(|v| v.trim().parse::<u64>().ok())
        });
        let ticks = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(19))
            .and_then(|v| v.parse::<u64>().ok());
        if let (Some(boot), Some(ticks)) = (boot, ticks) {
            // USER_HZ is 100 on every Linux architecture we ship for.
            return (boot * 1_000_000_000).saturating_add(ticks * 10_000_000);
        }
    }
    nanos(SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_start_is_in_the_recent_past() {
        let start = process_start_unix_nano();
        let now = nanos(SystemTime::now());
        assert!(start <= now);
        assert!(
            now - start < 3_600 * 1_000_000_000,
            "started {} s ago",
            (now - start) / 1_000_000_000
        );
    }
}
