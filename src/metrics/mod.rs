//! The metric set: the catalogue, the registry, and the one place that records an event.
//!
//! Every metric — name, kind, help, labels, buckets — is defined once in [`catalogue`]; [`names`]
//! and [`labels`] are its names and label keys for code that reads the registry. The registry is
//! created once in [`Metrics::new`] and passed down; tests build fresh ones. What happens to the
//! exporter itself (a rejected record, a failed export) is an [`internal`] event.

pub mod capped;
pub mod catalogue;
pub mod durable;
mod files;
pub mod internal;
pub mod output;

use std::collections::BTreeMap;
use std::time::SystemTime;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry};
use serde::Deserialize;

use crate::build_info::{REVISION, VERSION};
use crate::detect::{self, Detection, Detector};
use crate::event::{Category, ChangeAction, Format, Outcome, Permission, Rejection, SecurityEvent};
use crate::parse::broker_log;
use crate::parse::log4j::Level;
use crate::parse::Input;
use crate::parse::ParseError;
use crate::telemetry::{self, DropReason};
pub use capped::{CapLimits, CappedCounterVec, CappedHistogramVec, OVERFLOW};
pub use catalogue::labels;
use catalogue::{Kind, Metric, Origin};

/// Metric names, from the [`catalogue`]. Keep them exactly: dashboards and alerts depend on them.
pub mod names {
    use super::catalogue as c;

    pub const EVENTS: &str = c::EVENTS.name;
    pub const AUTHENTICATION: &str = c::AUTHENTICATION.name;
    pub const AUTHENTICATION_FAILURES_BY_CLIENT: &str = c::AUTHENTICATION_FAILURES_BY_CLIENT.name;
    pub const AUTHORIZATION: &str = c::AUTHORIZATION.name;
    pub const AUTHORIZATION_DENIALS_BY_PRINCIPAL: &str = c::AUTHORIZATION_DENIALS_BY_PRINCIPAL.name;
    pub const LOG_INJECTION: &str = c::LOG_INJECTION.name;
    pub const EVENT_DELAY: &str = c::EVENT_DELAY.name;
    pub const PARSE_ERRORS: &str = c::PARSE_ERRORS.name;
    pub const SERIES_OVERFLOW: &str = c::SERIES_OVERFLOW.name;
    pub const CONSUMER_LAG: &str = c::CONSUMER_LAG.name;
    pub const SOURCE_UP: &str = c::SOURCE_UP.name;
    pub const REDELIVERED: &str = c::REDELIVERED.name;
    pub const BUILD_INFO: &str = c::BUILD_INFO.name;
    pub const CLOCK_JUMPS: &str = c::CLOCK_JUMPS.name;
    pub const ACL_CHANGES: &str = c::ACL_CHANGES.name;
    pub const CREDENTIAL_CHANGES: &str = c::CREDENTIAL_CHANGES.name;
    pub const CONFIG_CHANGES: &str = c::CONFIG_CHANGES.name;
    pub const CONNECTIONS_REJECTED: &str = c::CONNECTIONS_REJECTED.name;
    pub const REQUEST_DURATION: &str = c::REQUEST_DURATION.name;
    pub const LOG_LINES: &str = c::LOG_LINES.name;
    pub const UNRECOGNIZED_LINES: &str = c::UNRECOGNIZED_LINES.name;
    pub const CHECKPOINT_FAILURES: &str = c::CHECKPOINT_FAILURES.name;
    pub const PARTIAL_LINES: &str = c::PARTIAL_LINES.name;
    pub const LOG_LAYOUT_STREAMS: &str = c::LOG_LAYOUT_STREAMS.name;
    pub const LOG_FILES_SKIPPED: &str = c::LOG_FILES_SKIPPED.name;
    pub const CONTROLLER_REPLAYS_SKIPPED: &str = c::CONTROLLER_REPLAYS_SKIPPED.name;
    pub const OTLP_EXPORT_FAILURES: &str = c::OTLP_EXPORT_FAILURES.name;
    pub const OTLP_DROPPED: &str = c::OTLP_DROPPED.name;
    pub const OUTPUT_EVENTS: &str = c::OUTPUT_EVENTS.name;
    pub const OUTPUT_DROPPED: &str = c::OUTPUT_DROPPED.name;
    pub const DETECTIONS: &str = c::DETECTIONS.name;
    pub const DETECTOR_OVERFLOW: &str = c::DETECTOR_OVERFLOW.name;
    pub const DETECTIONS_SUPPRESSED: &str = c::DETECTIONS_SUPPRESSED.name;
    pub const DETECTOR_STATE_FAILURES: &str = c::DETECTOR_STATE_FAILURES.name;
    pub const STATE_SNAPSHOT_FAILURES: &str = c::STATE_SNAPSHOT_FAILURES.name;
    pub const STATE_COMMIT_FAILURES: &str = c::STATE_COMMIT_FAILURES.name;
    pub const EXPORTER_LOG_LINES_DROPPED: &str = c::EXPORTER_LOG_LINES_DROPPED.name;
    pub const WEB_CONFIG_RELOAD_FAILURES: &str = c::WEB_CONFIG_RELOAD_FAILURES.name;
    pub const WEB_CONFIG_LAST_RELOAD_SUCCESSFUL: &str = c::WEB_CONFIG_LAST_RELOAD_SUCCESSFUL.name;
}

/// The `signal` label of the OTLP self-metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Metrics,
    Traces,
    Logs,
}

impl Signal {
    pub const ALL: [Signal; 3] = [Signal::Metrics, Signal::Traces, Signal::Logs];

    pub fn as_str(self) -> &'static str {
        match self {
            Signal::Metrics => "metrics",
            Signal::Traces => "traces",
            Signal::Logs => "logs",
        }
    }
}

/// Rendered for a field the event does not carry.
pub const UNKNOWN: &str = "unknown";

/// Every log4j level, for the log-line series created at 0.
const LEVELS: [Level; 6] = [
    Level::Trace,
    Level::Debug,
    Level::Info,
    Level::Warn,
    Level::Error,
    Level::Fatal,
];

/// Kafka's ACL resource types as the parsers name them (`ResourceType` in Kafka): the
/// `resource_type` values an ACL change's series is created at 0 with.
pub const KAFKA_RESOURCE_TYPES: [&str; 6] = [
    "Topic",
    "Group",
    "Cluster",
    "TransactionalId",
    "DelegationToken",
    "User",
];

/// The credential mechanisms the parsers name: the `mechanism` values a credential change's
/// series is created at 0 with.
pub const CREDENTIAL_MECHANISMS: [&str; 3] = ["SCRAM-SHA-256", "SCRAM-SHA-512", "delegation-token"];

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
    /// The `cluster` label every series carries, so two clusters behind one Prometheus job do
    /// not merge. Default (with `run`): the Kafka cluster id of the first Kafka source, asked
    /// once at startup (5 s at most), else `default`. `replay` adds the label only when this is
    /// set. The `--cluster` flag of `run` overrides it.
    #[serde(default)]
    pub cluster: Option<String>,
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
            cluster: None,
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
            if !catalogue::find(name).is_some_and(Metric::capped) {
                let capped: Vec<&str> = catalogue::capped().map(|m| m.name).collect();
                problems.push(format!(
                    "metrics.max_series.{name}: not a capped metric; expected one of {}",
                    capped.join(", ")
                ));
            } else if *n == 0 {
                problems.push(format!("metrics.max_series.{name}: must be at least 1"));
            }
        }
        if let Some(cluster) = &self.cluster {
            if cluster.is_empty() || cluster.len() > self.max_label_value_bytes {
                problems.push(format!(
                    "metrics.cluster: must be 1 to {} bytes (metrics.max_label_value_bytes)",
                    self.max_label_value_bytes
                ));
            }
        }
        if self.max_label_value_bytes < 16 {
            problems.push("metrics.max_label_value_bytes: must be at least 16".into());
        }
        for buckets in catalogue::ALL.iter().filter_map(|m| m.buckets) {
            let (key, b) = (buckets.config_key, (buckets.read)(self));
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

/// Every metric the exporter emits, registered in one registry.
pub struct Metrics {
    /// Every family, the capped ones as collectors: what `gather()` shows.
    registry: Registry,
    /// Every family but the capped ones, which render themselves (see [`capped`]).
    rest: Registry,
    /// The registry-wide `cluster` label's value, which the capped families render themselves.
    cluster: Option<String>,
    events: CappedCounterVec,
    authentication: CappedCounterVec,
    authentication_failures_by_client: CappedCounterVec,
    authorization: CappedCounterVec,
    denials_by_principal: CappedCounterVec,
    log_injection: CappedCounterVec,
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
    /// `log_lines` children by `file_kind` and level, looked up once each: the counter every
    /// broker-log entry moves costs no label hashing.
    log_line_children: [std::sync::OnceLock<prometheus::IntCounter>; broker_log::FILE_KINDS * 6],
    unrecognized_lines: IntCounterVec,
    checkpoint_failures: IntCounterVec,
    partial_lines: IntCounterVec,
    log_layout_streams: IntGaugeVec,
    log_files_skipped: IntGaugeVec,
    clock_jumps: IntCounterVec,
    controller_replays_skipped: IntCounterVec,
    consumer_lag: IntGaugeVec,
    source_up: IntGaugeVec,
    otlp_export_failures: IntCounterVec,
    otlp_dropped: IntCounterVec,
    output: output::OutputMetrics,
    detections: CappedCounterVec,
    detector_overflow: IntCounterVec,
    detections_suppressed: IntCounterVec,
    detector_state_failures: IntCounterVec,
    /// `kafka_security_series_overflow_total`, whose children the capped families hold.
    series_overflow: IntCounterVec,
    state_snapshot_failures: IntCounterVec,
    state_commit_failures: IntCounterVec,
    /// What a crash must not lose: restored histogram baselines and the last durable cut.
    durable: durable::Durable,
    web_config_reload_failures: IntCounterVec,
    web_config_last_reload_successful: IntGaugeVec,
    /// Rate limits of the per-record warnings of [`internal`] events.
    limits: internal::Limits,
}

impl Metrics {
    /// Builds the metric set in a fresh registry. `config` must have passed `problems()`.
    pub fn new(config: &MetricsConfig) -> prometheus::Result<Metrics> {
        use catalogue as c;
        let new_registry = || match &config.cluster {
            Some(cluster) => Registry::new_custom(
                None,
                Some([(labels::CLUSTER.key.to_string(), cluster.clone())].into()),
            ),
            None => Ok(Registry::new()),
        };
        let (registry, rest) = (new_registry()?, new_registry()?);
        #[cfg(target_os = "linux")]
        for r in [&registry, &rest] {
            r.register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))?;
        }
        let r = Registrar::new(&registry, &rest, config)?;
        r.gauge(&c::BUILD_INFO)?
            .with_label_values(&[VERSION, REVISION])
            .set(1);
        let log_drops = LogDrops::new()?;
        registry.register(Box::new(log_drops.clone()))?;
        rest.register(Box::new(log_drops))?;
        Ok(Metrics {
            events: r.capped_counter(&c::EVENTS)?,
            authentication: r.capped_counter(&c::AUTHENTICATION)?,
            authentication_failures_by_client: r
                .capped_counter(&c::AUTHENTICATION_FAILURES_BY_CLIENT)?,
            authorization: r.capped_counter(&c::AUTHORIZATION)?,
            denials_by_principal: r.capped_counter(&c::AUTHORIZATION_DENIALS_BY_PRINCIPAL)?,
            log_injection: r.capped_counter(&c::LOG_INJECTION)?,
            acl_changes: r.capped_counter(&c::ACL_CHANGES)?,
            credential_changes: r.capped_counter(&c::CREDENTIAL_CHANGES)?,
            config_changes: r.capped_counter(&c::CONFIG_CHANGES)?,
            connections_rejected: r.counter(&c::CONNECTIONS_REJECTED)?,
            request_duration: r.capped_histogram(&c::REQUEST_DURATION)?,
            request_by_principal: config.request_duration_by_principal,
            log_lines: r.counter(&c::LOG_LINES)?,
            log_line_children: std::array::from_fn(|_| std::sync::OnceLock::new()),
            unrecognized_lines: r.counter(&c::UNRECOGNIZED_LINES)?,
            checkpoint_failures: r.counter(&c::CHECKPOINT_FAILURES)?,
            partial_lines: r.counter(&c::PARTIAL_LINES)?,
            log_layout_streams: r.gauge(&c::LOG_LAYOUT_STREAMS)?,
            log_files_skipped: r.gauge(&c::LOG_FILES_SKIPPED)?,
            clock_jumps: r.counter(&c::CLOCK_JUMPS)?,
            controller_replays_skipped: r.counter(&c::CONTROLLER_REPLAYS_SKIPPED)?,
            delay: r.histogram(&c::EVENT_DELAY)?,
            parse_errors: r.counter(&c::PARSE_ERRORS)?,
            redelivered: r.counter(&c::REDELIVERED)?,
            consumer_lag: r.gauge(&c::CONSUMER_LAG)?,
            source_up: r.gauge(&c::SOURCE_UP)?,
            // OTLP self-metrics: registered always, series created only when OTLP is on.
            otlp_export_failures: r.counter(&c::OTLP_EXPORT_FAILURES)?,
            otlp_dropped: r.counter(&c::OTLP_DROPPED)?,
            output: output::OutputMetrics::new(
                r.counter(&c::OUTPUT_EVENTS)?,
                r.counter(&c::OUTPUT_DROPPED)?,
            ),
            // Detector metrics: registered always, series created when the detectors start.
            detections: r.capped_counter(&c::DETECTIONS)?,
            detector_overflow: r.counter(&c::DETECTOR_OVERFLOW)?,
            detections_suppressed: r.counter(&c::DETECTIONS_SUPPRESSED)?,
            detector_state_failures: r.counter(&c::DETECTOR_STATE_FAILURES)?,
            series_overflow: r.overflow.clone(),
            state_snapshot_failures: r.counter(&c::STATE_SNAPSHOT_FAILURES)?,
            state_commit_failures: r.counter(&c::STATE_COMMIT_FAILURES)?,
            durable: durable::Durable::default(),
            // Web config self-metrics: series created when a web config file is set.
            web_config_reload_failures: r.counter(&c::WEB_CONFIG_RELOAD_FAILURES)?,
            web_config_last_reload_successful: r.gauge(&c::WEB_CONFIG_LAST_RELOAD_SUCCESSFUL)?,
            limits: internal::Limits::new(),
            registry,
            rest,
            cluster: config.cluster.clone(),
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
        let action = event.action.map_or(UNKNOWN, |a| a.as_str());
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
                    action,
                    or_unknown(&event.resource_type),
                    event.permission.map_or(UNKNOWN, Permission::as_str),
                ]);
            }
            Category::CredentialChange => {
                self.credential_changes
                    .inc(&[action, or_unknown(&event.mechanism)]);
            }
            Category::ConfigChange => {
                self.config_changes.inc(&[or_unknown(&event.resource_type)]);
            }
            Category::Connection => {
                if let Some(rejection) = event.rejection {
                    self.connections_rejected
                        .with_label_values(&[rejection.as_str()])
                        .inc();
                }
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

    /// Counts one broker log entry suspected of carrying a forged line or field, by the
    /// principal whose entry it was (`None`: not known).
    pub fn record_log_injection(&self, principal: Option<&str>) {
        self.log_injection.inc(&[principal.unwrap_or(UNKNOWN)]);
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

    /// Counts a controller change skipped as a startup replay.
    pub fn record_controller_replay(&self, source: &str) {
        self.controller_replays_skipped
            .with_label_values(&[source])
            .inc();
    }

    /// Records a record that could not become an event. `format` is `None` when no format could
    /// be chosen.
    pub fn record_parse_error(&self, source: &str, format: Option<Format>, error: &ParseError) {
        self.parse_errors
            .with_label_values(&[
                source,
                format.map_or(UNKNOWN, Format::as_str),
                error.reason(),
            ])
            .inc();
    }

    /// Creates at 0 the closed label sets a source that reads `inputs` can move, so its first
    /// event shows in `increase()` and dashboards have a series before anything happened:
    /// its integrity counters (every source can carry controller log lines; only Kafka sources
    /// re-deliver), its parse errors per format it may try × reason, and — for inputs that can
    /// carry them — log lines per kind × level, rejected connections per reason, ACL changes per
    /// action × Kafka resource type × permission and credential changes per action × mechanism.
    /// Input-derived label sets (principals, hosts) cannot be created ahead; nor can
    /// `kafka_security_authentication_total`, whose mechanism and listener come from input.
    pub fn init_source(&self, source: &str, kafka: bool, inputs: &[Input]) {
        self.controller_replays_skipped.with_label_values(&[source]);
        if kafka {
            self.redelivered.with_label_values(&[source]);
        }
        let mut formats: Vec<Option<Format>> = Vec::new();
        let (mut logs, mut changes, mut connections) = (false, false, false);
        for &input in inputs {
            let possible: &[Option<Format>] = match input {
                // Detected per record; a record too large or empty names no format.
                Input::Auto => &[
                    None,
                    Some(Format::ConfluentAudit),
                    Some(Format::Ocsf),
                    Some(Format::Json),
                    Some(Format::Text),
                ],
                // Routed per entry by its logger.
                Input::BrokerLog => &[
                    Some(Format::AuthorizerLog),
                    Some(Format::ServerLog),
                    Some(Format::ControllerLog),
                    Some(Format::RequestLog),
                ],
                other => &[other.format()],
            };
            for f in possible {
                if !formats.contains(f) {
                    formats.push(*f);
                }
            }
            logs |= input.is_log();
            changes |= !matches!(
                input,
                Input::AuthorizerLog | Input::ServerLog | Input::RequestLog
            );
            connections |= matches!(input, Input::ServerLog | Input::BrokerLog | Input::Auto);
        }
        for format in formats {
            for reason in ParseError::REASONS {
                self.parse_errors.with_label_values(&[
                    source,
                    format.map_or(UNKNOWN, Format::as_str),
                    reason,
                ]);
            }
        }
        if logs {
            for format in [
                None,
                Some(Format::AuthorizerLog),
                Some(Format::ServerLog),
                Some(Format::ControllerLog),
                Some(Format::RequestLog),
            ] {
                for level in LEVELS {
                    self.log_lines
                        .with_label_values(&[broker_log::file_kind(format), level.as_str()]);
                }
            }
        }
        if connections {
            for rejection in Rejection::ALL {
                self.connections_rejected
                    .with_label_values(&[rejection.as_str()]);
            }
        }
        if changes {
            for action in [ChangeAction::Create, ChangeAction::Delete] {
                for resource_type in KAFKA_RESOURCE_TYPES {
                    for permission in [Permission::Allow, Permission::Deny] {
                        self.acl_changes.init(&[
                            action.as_str(),
                            resource_type,
                            permission.as_str(),
                        ]);
                    }
                }
            }
            for action in ChangeAction::ALL {
                for mechanism in CREDENTIAL_MECHANISMS {
                    self.credential_changes.init(&[action.as_str(), mechanism]);
                }
            }
        }
    }

    /// Creates the detector self-metrics at 0 for the detectors that are on.
    pub fn init_detectors(&self, detectors: &[Detector]) {
        for d in detectors {
            self.detector_overflow.with_label_values(&[d.as_str()]);
            self.detections_suppressed.with_label_values(&[d.as_str()]);
        }
        if !detectors.is_empty() {
            self.detector_state_failures
                .with_label_values(&[] as &[&str]);
        }
    }

    /// Counts one detection; emit [`internal::DetectionRaised`] instead. A subject the detector
    /// itself tracked beyond its cap ([`detect::OVERFLOW`]) is recorded in the overflow series.
    pub(super) fn record_detection(&self, d: &Detection) {
        let values = [
            d.detector.as_str(),
            d.detector.technique(),
            d.severity.as_str(),
            d.subject.as_str(),
        ];
        if d.subject == detect::OVERFLOW {
            self.detections.inc_overflow(&values);
        } else {
            self.detections.inc(&values);
        }
    }

    /// Adds `n` events `detector` tracked under its overflow subject.
    pub fn record_detector_overflow(&self, detector: Detector, n: u64) {
        self.detector_overflow
            .with_label_values(&[detector.as_str()])
            .inc_by(n);
    }

    /// Adds `n` repeat detections of `detector` that were suppressed.
    pub fn record_detections_suppressed(&self, detector: Detector, n: u64) {
        self.detections_suppressed
            .with_label_values(&[detector.as_str()])
            .inc_by(n);
    }

    /// Counts a failed save of the detector state; emit [`internal::DetectorStateFailed`].
    pub(super) fn record_detector_state_failure(&self) {
        self.detector_state_failures
            .with_label_values(&[] as &[&str])
            .inc();
    }

    /// Creates the web config self-metrics: no failure yet, the loaded configuration in force.
    pub fn init_web_config(&self) {
        self.web_config_reload_failures
            .with_label_values(&[] as &[&str]);
        self.web_config_last_reload_successful
            .with_label_values(&[] as &[&str])
            .set(1);
    }

    /// Records the outcome of a web config reload; emit [`internal::WebConfigReloaded`] or
    /// [`internal::WebConfigReloadFailed`].
    pub(super) fn record_web_config_reload(&self, ok: bool) {
        if !ok {
            self.web_config_reload_failures
                .with_label_values(&[] as &[&str])
                .inc();
        }
        self.web_config_last_reload_successful
            .with_label_values(&[] as &[&str])
            .set(i64::from(ok));
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

    /// Sets the consumer lag of a partition `source` is assigned.
    pub fn set_consumer_lag(&self, source: &str, topic: &str, partition: i32, lag: i64) {
        self.consumer_lag
            .with_label_values(&[source, topic, &partition.to_string()])
            .set(lag);
    }

    /// Drops the lag series of a partition `source` no longer holds; other sources' series of
    /// the same partition stay.
    pub fn remove_consumer_lag(&self, source: &str, topic: &str, partition: i32) {
        // Absent when no statistics arrived while it was assigned: nothing to remove.
        let _ = self
            .consumer_lag
            .remove_label_values(&[source, topic, &partition.to_string()]);
    }

    /// Creates every signal's OTLP series at 0, so dashboards show a flat line, not no data.
    pub fn init_otlp_signals(&self) {
        for signal in Signal::ALL {
            self.otlp_export_failures
                .with_label_values(&[signal.as_str()]);
            self.otlp_dropped.with_label_values(&[signal.as_str()]);
        }
    }

    /// Counts a failed OTLP export of `signal`; emit [`internal::OtlpExportFailed`] instead.
    pub(super) fn record_otlp_export_failure(&self, signal: Signal) {
        self.otlp_export_failures
            .with_label_values(&[signal.as_str()])
            .inc();
    }

    /// Counts `n` spans, data points or log records of `signal` that were dropped; emit
    /// [`internal::OtlpDropped`] instead.
    pub(super) fn record_otlp_dropped(&self, signal: Signal, n: u64) {
        self.otlp_dropped
            .with_label_values(&[signal.as_str()])
            .inc_by(n);
    }

    /// Renders the registry (live, restored baselines added) in the Prometheus text format.
    pub fn render(&self) -> Vec<u8> {
        self.cut().render()
    }
}

/// `kafka_security_exporter_log_lines_dropped_total`: the process's output drops
/// ([`telemetry::dropped_lines`]), read when the registry is gathered. The count belongs to the
/// process (its stderr and stdout), like the `process_*` metrics, so every registry shows it.
#[derive(Clone)]
struct LogDrops {
    counter: IntCounterVec,
    /// Held while the counter catches up, so two gathers at once do not both add the delta.
    sync: std::sync::Arc<parking_lot::Mutex<()>>,
}

impl LogDrops {
    fn new() -> prometheus::Result<LogDrops> {
        let m = &catalogue::EXPORTER_LOG_LINES_DROPPED;
        let keys: Vec<&str> = m.labels.iter().map(|l| l.key).collect();
        let counter = IntCounterVec::new(opts(m), &keys)?;
        for reason in DropReason::ALL {
            counter.with_label_values(&[reason.as_str()]);
        }
        Ok(LogDrops {
            counter,
            sync: std::sync::Arc::new(parking_lot::Mutex::new(())),
        })
    }
}

impl prometheus::core::Collector for LogDrops {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.counter.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        let _sync = self.sync.lock();
        for reason in DropReason::ALL {
            let series = self.counter.with_label_values(&[reason.as_str()]);
            let total = telemetry::dropped_lines(reason);
            if total > series.get() {
                series.inc_by(total - series.get());
            }
        }
        self.counter.collect()
    }
}

/// Registers catalogue entries with `config`'s caps and buckets: every family in `registry`,
/// all but the capped ones in `rest` too. Capped families share the
/// `kafka_security_series_overflow_total` family.
struct Registrar<'a> {
    registry: &'a Registry,
    rest: &'a Registry,
    config: &'a MetricsConfig,
    overflow: IntCounterVec,
}

impl<'a> Registrar<'a> {
    fn new(
        registry: &'a Registry,
        rest: &'a Registry,
        config: &'a MetricsConfig,
    ) -> prometheus::Result<Self> {
        let mut r = Registrar {
            registry,
            rest,
            config,
            overflow: IntCounterVec::new(opts(&catalogue::SERIES_OVERFLOW), &[])?,
        };
        r.overflow = r.registered(IntCounterVec::new(
            opts(&catalogue::SERIES_OVERFLOW),
            &keys(&catalogue::SERIES_OVERFLOW, config),
        ))?;
        Ok(r)
    }

    fn counter(&self, m: &'static Metric) -> prometheus::Result<IntCounterVec> {
        debug_assert!(m.kind == Kind::Counter && !m.capped(), "{}", m.name);
        self.registered(IntCounterVec::new(opts(m), &keys(m, self.config)))
    }

    fn gauge(&self, m: &'static Metric) -> prometheus::Result<IntGaugeVec> {
        debug_assert!(m.kind == Kind::Gauge && !m.capped(), "{}", m.name);
        self.registered(IntGaugeVec::new(opts(m), &keys(m, self.config)))
    }

    fn histogram(&self, m: &'static Metric) -> prometheus::Result<HistogramVec> {
        debug_assert!(m.kind == Kind::Histogram && !m.capped(), "{}", m.name);
        self.registered(HistogramVec::new(
            self.histogram_opts(m),
            &keys(m, self.config),
        ))
    }

    fn capped_counter(&self, m: &'static Metric) -> prometheus::Result<CappedCounterVec> {
        debug_assert!(m.kind == Kind::Counter && m.capped(), "{}", m.name);
        let labels = m.labels_for(self.config);
        CappedCounterVec::new(
            self.registry,
            m.name,
            m.help,
            &labels.iter().map(|l| l.key).collect::<Vec<_>>(),
            &from_input(&labels),
            self.config.limits(m.name),
            self.overflow.with_label_values(&[m.name]),
        )
    }

    fn capped_histogram(&self, m: &'static Metric) -> prometheus::Result<CappedHistogramVec> {
        debug_assert!(m.kind == Kind::Histogram && m.capped(), "{}", m.name);
        let labels = m.labels_for(self.config);
        let buckets = m
            .buckets
            .map_or(&prometheus::DEFAULT_BUCKETS[..], |b| (b.read)(self.config));
        CappedHistogramVec::new_histogram(
            self.registry,
            m.name,
            m.help,
            buckets,
            &labels.iter().map(|l| l.key).collect::<Vec<_>>(),
            &from_input(&labels),
            self.config.limits(m.name),
            self.overflow.with_label_values(&[m.name]),
        )
    }

    fn histogram_opts(&self, m: &Metric) -> HistogramOpts {
        let opts = HistogramOpts::new(m.name, m.help);
        match m.buckets {
            Some(b) => opts.buckets((b.read)(self.config).to_vec()),
            None => opts,
        }
    }

    /// Registers a created collector in both registries, returning a handle.
    fn registered<C: prometheus::core::Collector + Clone + 'static>(
        &self,
        collector: prometheus::Result<C>,
    ) -> prometheus::Result<C> {
        let collector = collector?;
        self.registry.register(Box::new(collector.clone()))?;
        self.rest.register(Box::new(collector.clone()))?;
        Ok(collector)
    }
}

fn opts(m: &Metric) -> Opts {
    Opts::new(m.name, m.help)
}

fn keys(m: &Metric, config: &MetricsConfig) -> Vec<&'static str> {
    m.labels_for(config).iter().map(|l| l.key).collect()
}

fn from_input(labels: &[catalogue::Label]) -> Vec<bool> {
    labels.iter().map(|l| l.origin == Origin::Input).collect()
}

fn or_unknown<'s>(field: &'s Option<crate::event::Text<'_>>) -> &'s str {
    match field {
        Some(v) if !v.is_empty() => v,
        _ => UNKNOWN,
    }
}

#[cfg(test)]
mod tests;
