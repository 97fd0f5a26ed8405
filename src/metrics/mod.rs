//! The metric set: names, the registry, and the one place that records an event.
//!
//! Metric names and label keys are the product's interface and live in [`names`]. The registry is
//! created once in [`Metrics::new`] and passed down; tests build fresh ones.

pub mod capped;

use std::collections::BTreeMap;
use std::time::SystemTime;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry,
};
use serde::Deserialize;

use crate::event::{Category, Format, Outcome, SecurityEvent};
pub use capped::{CapLimits, CappedCounterVec, CappedHistogramVec, OVERFLOW};

/// Metric names. Keep them exactly: dashboards and alerts depend on them.
pub mod names {
    pub const EVENTS: &str = "kafka_security_events_total";
    pub const AUTHENTICATION: &str = "kafka_security_authentication_total";
    pub const AUTHENTICATION_FAILURES_BY_CLIENT: &str =
        "kafka_security_authentication_failures_by_client_total";
    pub const AUTHORIZATION: &str = "kafka_security_authorization_total";
    pub const AUTHORIZATION_DENIALS_BY_PRINCIPAL: &str =
        "kafka_security_authorization_denials_by_principal_total";
    pub const EVENT_DELAY: &str = "kafka_security_event_delay_seconds";
    pub const PARSE_ERRORS: &str = "kafka_security_parse_errors_total";
    pub const SERIES_OVERFLOW: &str = "kafka_security_series_overflow_total";
    pub const CONSUMER_LAG: &str = "kafka_security_consumer_lag_messages";
    pub const SOURCE_UP: &str = "kafka_security_source_up";
    pub const REDELIVERED: &str = "kafka_security_redelivered_records_total";
    pub const BUILD_INFO: &str = "kafka_security_build_info";
    pub const ACL_CHANGES: &str = "kafka_security_acl_changes_total";
    pub const CREDENTIAL_CHANGES: &str = "kafka_security_credential_changes_total";
    pub const CONFIG_CHANGES: &str = "kafka_security_config_changes_total";
    pub const CONNECTIONS_REJECTED: &str = "kafka_security_connections_rejected_total";
    pub const REQUEST_DURATION: &str = "kafka_security_request_duration_seconds";
    pub const LOG_LINES: &str = "kafka_security_log_lines_total";
    pub const CONTROLLER_REPLAYS_SKIPPED: &str = "kafka_security_controller_replays_skipped_total";
    // OTLP export (src/otel).
    pub const OTLP_EXPORT_FAILURES: &str = "kafka_security_otlp_export_failures_total";
    pub const OTLP_DROPPED: &str = "kafka_security_otlp_dropped_total";

    /// Every capped metric, for config validation.
    pub const CAPPED: [&str; 9] = [
        EVENTS,
        AUTHENTICATION,
        AUTHENTICATION_FAILURES_BY_CLIENT,
        AUTHORIZATION,
        AUTHORIZATION_DENIALS_BY_PRINCIPAL,
        ACL_CHANGES,
        CREDENTIAL_CHANGES,
        CONFIG_CHANGES,
        REQUEST_DURATION,
    ];
}

/// Rendered for a field the event does not carry.
pub const UNKNOWN: &str = "unknown";

/// Default limit on distinct label sets per capped metric.
pub const DEFAULT_MAX_SERIES: usize = 10_000;

/// Default delay buckets, in seconds: sub-second pipelines up to a day-old backlog.
pub const DEFAULT_DELAY_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 3600.0,
    86400.0,
];

/// Default request-duration buckets, in seconds: Kafka requests take from well under a
/// millisecond (a cached Metadata) to the 30 s request timeout.
pub const DEFAULT_REQUEST_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The `metrics:` config section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Distinct label sets each capped metric admits before counting new ones in its
    /// `__overflow__` series. Default 10000. Higher costs memory here and in Prometheus.
    #[serde(default = "default_max_series")]
    pub max_series_per_metric: usize,
    /// Per-metric overrides of `max_series_per_metric`, by full metric name.
    #[serde(default)]
    pub max_series: BTreeMap<String, usize>,
    /// Longest label value kept, in bytes; longer values are cut and end in `…`. Default 256.
    #[serde(default = "default_max_label_value_bytes")]
    pub max_label_value_bytes: usize,
    /// Buckets of `kafka_security_event_delay_seconds`, in seconds, ascending.
    /// Default 0.005 s to 1 day.
    #[serde(default = "default_delay_buckets")]
    pub delay_buckets_secs: Vec<f64>,
    /// Buckets of `kafka_security_request_duration_seconds`, in seconds, ascending.
    #[serde(default = "default_request_buckets")]
    pub request_duration_buckets_secs: Vec<f64>,
    /// Adds a `principal` label to `kafka_security_request_duration_seconds` (capped like every
    /// input-derived label). Off by default: a histogram per principal is costly.
    #[serde(default)]
    pub request_duration_by_principal: bool,
}

fn default_request_buckets() -> Vec<f64> {
    DEFAULT_REQUEST_BUCKETS.to_vec()
}

fn default_max_series() -> usize {
    DEFAULT_MAX_SERIES
}
fn default_max_label_value_bytes() -> usize {
    256
}
fn default_delay_buckets() -> Vec<f64> {
    DEFAULT_DELAY_BUCKETS.to_vec()
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            max_series_per_metric: DEFAULT_MAX_SERIES,
            max_series: BTreeMap::new(),
            max_label_value_bytes: default_max_label_value_bytes(),
            delay_buckets_secs: default_delay_buckets(),
            request_duration_buckets_secs: default_request_buckets(),
            request_duration_by_principal: false,
        }
    }
}

impl MetricsConfig {
    /// Every problem with this section, prefixed with its config path.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.max_series_per_metric == 0 {
            problems.push("metrics.max_series_per_metric: must be at least 1".into());
        }
        for (name, n) in &self.max_series {
            if !names::CAPPED.contains(&name.as_str()) {
                problems.push(format!(
                    "metrics.max_series.{name}: not a capped metric; expected one of {}",
                    names::CAPPED.join(", ")
                ));
            } else if *n == 0 {
                problems.push(format!("metrics.max_series.{name}: must be at least 1"));
            }
        }
        if self.max_label_value_bytes < 16 {
            problems.push("metrics.max_label_value_bytes: must be at least 16".into());
        }
        for (key, b) in [
            ("delay_buckets_secs", &self.delay_buckets_secs),
            (
                "request_duration_buckets_secs",
                &self.request_duration_buckets_secs,
            ),
        ] {
            if b.is_empty() {
                problems.push(format!("metrics.{key}: needs at least one bucket"));
            } else if b.windows(2).any(|w| w[0] >= w[1]) || b.iter().any(|x| !x.is_finite()) {
                problems.push(format!(
                    "metrics.{key}: buckets must be finite and strictly ascending"
                ));
            }
        }
        problems
    }

    fn limits(&self, metric: &str) -> CapLimits {
        CapLimits {
            max_series: self
                .max_series
                .get(metric)
                .copied()
                .unwrap_or(self.max_series_per_metric),
            max_label_value_bytes: self.max_label_value_bytes,
        }
    }
}

/// Build facts for `kafka_security_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const REVISION: &str = match option_env!("KSE_GIT_REVISION") {
    Some(r) => r,
    None => "unknown",
};

/// Every metric the exporter emits, registered in one registry.
pub struct Metrics {
    registry: Registry,
    events: CappedCounterVec,
    authentication: CappedCounterVec,
    authentication_failures_by_client: CappedCounterVec,
    authorization: CappedCounterVec,
    denials_by_principal: CappedCounterVec,
    delay: HistogramVec,
    parse_errors: IntCounterVec,
    redelivered: IntCounterVec,
    acl_changes: CappedCounterVec,
    credential_changes: CappedCounterVec,
    config_changes: CappedCounterVec,
    connections_rejected: IntCounterVec,
    request_duration: CappedHistogramVec,
    request_by_principal: bool,
    log_lines: IntCounterVec,
    controller_replays_skipped: IntCounterVec,
    /// Gauge of consumer lag per assigned partition.
    pub consumer_lag: IntGaugeVec,
    /// 1 while a source is connected and assigned, else 0.
    pub source_up: IntGaugeVec,
    otlp_export_failures: IntCounterVec,
    otlp_dropped: IntCounterVec,
}

impl Metrics {
    /// Builds the metric set in a fresh registry. `config` must have passed `problems()`.
    pub fn new(config: &MetricsConfig) -> prometheus::Result<Metrics> {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;

        let build_info = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    names::BUILD_INFO,
                    "Always 1; labels name the exporter's version and source revision.",
                ),
                &["version", "revision"],
            ),
        )?;
        build_info.with_label_values(&[VERSION, REVISION]).set(1);

        let overflow = registered(
            &registry,
            IntCounterVec::new(
            Opts::new(
                names::SERIES_OVERFLOW,
                "Events counted in a metric's __overflow__ series because it reached its label-set limit.",
            ),
            &["metric"],
        ),
        )?;

        let capped = |name: &'static str,
                      help: &'static str,
                      labels: &'static [&'static str],
                      from_input: &'static [bool]| {
            let overflowed = overflow.with_label_values(&[name]);
            CappedCounterVec::new(
                &registry,
                name,
                help,
                labels,
                from_input,
                config.limits(name),
                overflowed,
            )
        };

        let events = capped(
            names::EVENTS,
            "Security events applied, by source, input format, category, outcome and original event type.",
            &["source", "format", "category", "outcome", "event_type"],
            &[false, false, false, false, true],
        )?;
        let authentication = capped(
            names::AUTHENTICATION,
            "Authentication attempts by outcome, SASL mechanism and listener.",
            &["outcome", "mechanism", "listener"],
            &[false, true, true],
        )?;
        let authentication_failures_by_client = capped(
            names::AUTHENTICATION_FAILURES_BY_CLIENT,
            "Failed authentications by client host and reason (capped).",
            &["client_host", "reason"],
            &[true, false],
        )?;
        let authorization = capped(
            names::AUTHORIZATION,
            "Authorization decisions by decision, operation, resource type and API.",
            &["decision", "operation", "resource_type", "api"],
            &[false, true, true, true],
        )?;
        let denials_by_principal = capped(
            names::AUTHORIZATION_DENIALS_BY_PRINCIPAL,
            "Denied authorizations by principal, operation, resource type and resource name (capped).",
            &["principal", "operation", "resource_type", "resource_name"],
            &[true, true, true, true],
        )?;

        let acl_changes = capped(
            names::ACL_CHANGES,
            "ACL changes by action (create, delete), resource type and permission (allow, deny).",
            &["action", "resource_type", "permission"],
            &[false, true, false],
        )?;
        let credential_changes = capped(
            names::CREDENTIAL_CHANGES,
            "Credential changes (SCRAM credentials, delegation tokens) by action and mechanism.",
            &["action", "mechanism"],
            &[false, true],
        )?;
        let config_changes = capped(
            names::CONFIG_CHANGES,
            "Configuration and client-quota changes by resource type.",
            &["resource_type"],
            &[true],
        )?;
        let connections_rejected = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    names::CONNECTIONS_REJECTED,
                    "Connections the broker refused because a connection limit was reached, by limit.",
                ),
                &["reason"],
            ),
        )?;
        let request_labels: &'static [&'static str] = if config.request_duration_by_principal {
            &["api", "principal"]
        } else {
            &["api"]
        };
        let request_duration = CappedHistogramVec::new_histogram(
            &registry,
            HistogramOpts::new(
                names::REQUEST_DURATION,
                "Total time of requests from Kafka's request log, by API.",
            )
            .buckets(config.request_duration_buckets_secs.clone()),
            request_labels,
            &[true, true][..request_labels.len()],
            config.limits(names::REQUEST_DURATION),
            overflow.with_label_values(&[names::REQUEST_DURATION]),
        )?;
        let log_lines = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    names::LOG_LINES,
                    "Broker log entries read (an entry is one log event with its continuation lines), by kind of log and level.",
                ),
                &["file_kind", "level"],
            ),
        )?;
        let controller_replays_skipped = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    names::CONTROLLER_REPLAYS_SKIPPED,
                    "Controller `Replayed …` changes not counted because a restarting controller was replaying records it had already committed.",
                ),
                &["source"],
            ),
        )?;

        let delay = registered(
            &registry,
            HistogramVec::new(
                HistogramOpts::new(
                    names::EVENT_DELAY,
                    "Seconds from an event's own time to the moment it was applied, by source.",
                )
                .buckets(config.delay_buckets_secs.clone()),
                &["source"],
            ),
        )?;

        let parse_errors = registered(
            &registry,
            IntCounterVec::new(
            Opts::new(
                names::PARSE_ERRORS,
                "Records that could not become an event, by source, attempted format and reason.",
            ),
            &["source", "format", "reason"],
        ),
        )?;

        let redelivered = registered(
            &registry,
            IntCounterVec::new(
            Opts::new(
                names::REDELIVERED,
                "Records Kafka delivered again after a failed offset commit that this process had already applied; skipped, so nothing is counted twice.",
            ),
            &["source"],
        ),
        )?;

        let consumer_lag = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    names::CONSUMER_LAG,
                    "Messages between the consumer's position and the partition's high watermark.",
                ),
                &["topic", "partition"],
            ),
        )?;

        let source_up = registered(
            &registry,
            IntGaugeVec::new(
                Opts::new(
                    names::SOURCE_UP,
                    "1 while the source is connected and has joined its consumer group, else 0.",
                ),
                &["source"],
            ),
        )?;

        // OTLP self-metrics: registered always, series created only when OTLP is on.
        let otlp_export_failures = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    names::OTLP_EXPORT_FAILURES,
                    "OTLP export requests that failed after retries (collector down, slow or refusing), by signal.",
                ),
                &["signal"],
            ),
        )?;
        let otlp_dropped = registered(
            &registry,
            IntCounterVec::new(
                Opts::new(
                    names::OTLP_DROPPED,
                    "Spans or metric data points that never reached the collector (queue full, failed export, rejected), by signal.",
                ),
                &["signal"],
            ),
        )?;

        Ok(Metrics {
            registry,
            otlp_export_failures,
            otlp_dropped,
            events,
            authentication,
            authentication_failures_by_client,
            authorization,
            denials_by_principal,
            delay,
            parse_errors,
            redelivered,
            acl_changes,
            credential_changes,
            config_changes,
            connections_rejected,
            request_duration,
            request_by_principal: config.request_duration_by_principal,
            log_lines,
            controller_replays_skipped,
            consumer_lag,
            source_up,
        })
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Records one applied event from `source`. The one place events become numbers.
    pub fn record(&self, source: &str, event: &SecurityEvent<'_>, applied_at: SystemTime) {
        let outcome = event.outcome.as_str();
        self.events.inc(&[
            source,
            event.format.as_str(),
            event.category.as_str(),
            outcome,
            &event.event_type,
        ]);
        match event.category {
            Category::Authentication => {
                self.authentication.inc(&[
                    outcome,
                    or_unknown(&event.mechanism),
                    or_unknown(&event.listener),
                ]);
                if event.outcome == Outcome::Failure {
                    self.authentication_failures_by_client.inc(&[
                        or_unknown(&event.client_host),
                        event.reason.map_or(UNKNOWN, |r| r.as_str()),
                    ]);
                }
            }
            Category::Authorization => {
                let operation = or_unknown(&event.operation);
                let resource_type = or_unknown(&event.resource_type);
                self.authorization.inc(&[
                    outcome,
                    operation,
                    resource_type,
                    or_unknown(&event.api),
                ]);
                if event.outcome == Outcome::Denied {
                    self.denials_by_principal.inc(&[
                        or_unknown(&event.principal),
                        operation,
                        resource_type,
                        or_unknown(&event.resource_name),
                    ]);
                }
            }
            Category::AclChange => {
                self.acl_changes.inc(&[
                    change_action(event),
                    or_unknown(&event.resource_type),
                    match event.permission.as_deref() {
                        Some("ALLOW" | "Allow" | "allow") => "allow",
                        Some("DENY" | "Deny" | "deny") => "deny",
                        _ => UNKNOWN,
                    },
                ]);
            }
            Category::CredentialChange => {
                self.credential_changes
                    .inc(&[change_action(event), or_unknown(&event.mechanism)]);
            }
            Category::ConfigChange => {
                self.config_changes.inc(&[or_unknown(&event.resource_type)]);
            }
            Category::Connection if event.event_type.contains("rejected") => {
                // `max.connections.per.ip` is the only limit Kafka logs (the listener and broker
                // limits block the acceptor silently; reference §4.2).
                let reason = if event.format == Format::ServerLog {
                    "per_ip_limit"
                } else {
                    "other"
                };
                self.connections_rejected.with_label_values(&[reason]).inc();
            }
            _ => {}
        }
        if let Some(t) = event.event_time {
            // Clock skew can put the event in the future: count it as no delay.
            let delay = applied_at
                .duration_since(t)
                .map_or(0.0, |d| d.as_secs_f64());
            self.delay.with_label_values(&[source]).observe(delay);
        }
    }

    /// Records one completed request from Kafka's request log.
    pub fn record_request(&self, api: &str, principal: Option<&str>, seconds: f64) {
        if self.request_by_principal {
            self.request_duration
                .observe(&[api, principal.unwrap_or(UNKNOWN)], seconds);
        } else {
            self.request_duration.observe(&[api], seconds);
        }
    }

    /// Counts one broker log entry.
    pub fn record_log_line(&self, file_kind: &str, level: &str) {
        self.log_lines.with_label_values(&[file_kind, level]).inc();
    }

    /// Counts a controller change skipped as a startup replay.
    pub fn record_controller_replay(&self, source: &str) {
        self.controller_replays_skipped
            .with_label_values(&[source])
            .inc();
    }

    /// Records a record that could not become an event. `format` is `None` when no format could
    /// be chosen.
    pub fn record_parse_error(&self, source: &str, format: Option<&str>, reason: &str) {
        self.parse_errors
            .with_label_values(&[source, format.unwrap_or(UNKNOWN), reason])
            .inc();
    }

    /// Creates a source's per-source integrity counters at 0, so the first skip shows in
    /// `increase()` and dashboards have a series before anything was skipped. Every source can
    /// carry controller log lines; only Kafka sources re-deliver.
    pub fn init_source(&self, source: &str, kafka: bool) {
        self.controller_replays_skipped.with_label_values(&[source]);
        if kafka {
            self.redelivered.with_label_values(&[source]);
        }
    }

    /// Counts a re-delivered record that was skipped.
    pub fn record_redelivery(&self, source: &str) {
        self.redelivered.with_label_values(&[source]).inc();
    }

    /// Sets `kafka_security_source_up{source}`.
    pub fn set_source_up(&self, source: &str, up: bool) {
        self.source_up
            .with_label_values(&[source])
            .set(i64::from(up));
    }

    /// Creates both signals' OTLP series at 0, so dashboards show a flat line, not no data.
    pub fn init_otlp_signals(&self) {
        for signal in ["metrics", "traces"] {
            self.otlp_export_failures.with_label_values(&[signal]);
            self.otlp_dropped.with_label_values(&[signal]);
        }
    }

    /// Counts a failed OTLP export of `signal` (`metrics` or `traces`).
    pub fn record_otlp_export_failure(&self, signal: &str) {
        self.otlp_export_failures.with_label_values(&[signal]).inc();
    }

    /// Counts `n` spans or data points of `signal` that were dropped.
    pub fn record_otlp_dropped(&self, signal: &str, n: u64) {
        self.otlp_dropped.with_label_values(&[signal]).inc_by(n);
    }

    /// Renders the registry in the Prometheus text format.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 * 1024);
        // Encoding into a Vec cannot fail on I/O; a metric family with inconsistent labels would
        // be a programming error caught by the tests.
        if let Err(error) = prometheus::TextEncoder::new().encode(&self.registry.gather(), &mut out)
        {
            tracing::error!(%error, "Failed to render metrics.");
        }
        out
    }
}

/// Creates a collector and registers it, returning a handle.
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    collector: prometheus::Result<C>,
) -> prometheus::Result<C> {
    let collector = collector?;
    registry.register(Box::new(collector.clone()))?;
    Ok(collector)
}

/// The `action` label of a change: from the parsers' event types (`acl_created`,
/// `scram_credential_updated`, `delegation_token_deleted`) or an API name (`CreateAcls`).
fn change_action(event: &SecurityEvent<'_>) -> &'static str {
    let t = event.event_type.to_ascii_lowercase();
    let api = event.api.as_deref().unwrap_or("").to_ascii_lowercase();
    for s in [t.as_str(), api.as_str()] {
        if s.contains("delete") || s.contains("remove") {
            return "delete";
        }
        if s.contains("expire") {
            return "expire";
        }
        if s.contains("create") || s.contains("add") {
            return "create";
        }
        if s.contains("update") || s.contains("modif") || s.contains("alter") || s.contains("set") {
            return "update";
        }
    }
    UNKNOWN
}

fn or_unknown<'s>(field: &'s Option<crate::event::Text<'_>>) -> &'s str {
    match field {
        Some(v) if !v.is_empty() => v,
        _ => UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Origin, Reason};
    use std::borrow::Cow;
    use std::time::Duration;

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
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(text.contains("kafka_security_events_total{category=\"authorization\",event_type=\"io.confluent.kafka.server/authorization\",format=\"confluent_audit\",outcome=\"denied\",source=\"audit\"} 1\n"), "{text}");
        assert!(text.contains("kafka_security_authorization_total{api=\"Produce\",decision=\"denied\",operation=\"WRITE\",resource_type=\"Topic\"} 1\n"));
        assert!(text.contains("kafka_security_authorization_denials_by_principal_total{operation=\"WRITE\",principal=\"User:alice\",resource_name=\"orders\",resource_type=\"Topic\"} 1\n"));
        assert!(text.contains(
            "kafka_security_event_delay_seconds_bucket{source=\"audit\",le=\"0.25\"} 0\n"
        ));
        assert!(text.contains(
            "kafka_security_event_delay_seconds_bucket{source=\"audit\",le=\"0.5\"} 1\n"
        ));
        assert!(text.contains("kafka_security_build_info{revision="));
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
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(text.contains("kafka_security_authentication_total{listener=\"unknown\",mechanism=\"unknown\",outcome=\"failure\"} 1\n"), "{text}");
        assert!(text.contains("kafka_security_authentication_failures_by_client_total{client_host=\"10.1.2.3\",reason=\"invalid_credentials\"} 1\n"));
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
        let text = String::from_utf8(metrics.render()).unwrap();
        let series = text
            .lines()
            .filter(|l| l.starts_with("kafka_security_authorization_denials_by_principal_total{"))
            .count();
        assert_eq!(series, 101);
        assert!(text.contains("kafka_security_authorization_denials_by_principal_total{operation=\"__overflow__\",principal=\"__overflow__\",resource_name=\"__overflow__\",resource_type=\"__overflow__\"} 900\n"));
        assert!(text.contains("kafka_security_series_overflow_total{metric=\"kafka_security_authorization_denials_by_principal_total\"} 900\n"));
        assert!(text.contains("kafka_security_authorization_total{api=\"Produce\",decision=\"denied\",operation=\"WRITE\",resource_type=\"Topic\"} 1000\n"));
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
        };
        assert_eq!(config.problems().len(), 5, "{:?}", config.problems());
    }

    #[test]
    fn a_sources_integrity_counters_start_at_zero() {
        let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
        metrics.init_source("topic", true);
        metrics.init_source("logs", false);
        let text = String::from_utf8(metrics.render()).unwrap();
        for line in [
            "kafka_security_redelivered_records_total{source=\"topic\"} 0\n",
            "kafka_security_controller_replays_skipped_total{source=\"topic\"} 0\n",
            "kafka_security_controller_replays_skipped_total{source=\"logs\"} 0\n",
        ] {
            assert!(text.contains(line), "{line} missing:\n{text}");
        }
        // A file source cannot re-deliver: no series for it.
        assert!(!text.contains("kafka_security_redelivered_records_total{source=\"logs\"}"));
        // Counting afterwards moves the same series.
        metrics.record_redelivery("topic");
        let text = String::from_utf8(metrics.render()).unwrap();
        assert!(text.contains("kafka_security_redelivered_records_total{source=\"topic\"} 1\n"));
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;

    #[test]
    fn request_duration_by_principal_is_opt_in_and_capped() {
        let m = Metrics::new(&MetricsConfig::default()).unwrap();
        m.record_request("Produce", Some("User:a"), 0.002);
        let t = String::from_utf8(m.render()).unwrap();
        assert!(
            t.contains("kafka_security_request_duration_seconds_count{api=\"Produce\"} 1\n"),
            "{t}"
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
        let t = String::from_utf8(m.render()).unwrap();
        assert!(t.contains("kafka_security_request_duration_seconds_count{api=\"Fetch\",principal=\"User:a\"} 1\n"), "{t}");
        assert!(t.contains("kafka_security_request_duration_seconds_count{api=\"__overflow__\",principal=\"__overflow__\"} 2\n"));
        assert!(t.contains("kafka_security_series_overflow_total{metric=\"kafka_security_request_duration_seconds\"} 2\n"));
    }
}
