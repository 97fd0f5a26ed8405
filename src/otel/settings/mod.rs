//! The `otlp:` config section and the standard `OTEL_*` environment variables, resolved into one
//! [`Settings`] value.
//!
//! Precedence, per value: the config file, then the signal-specific environment variable
//! (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`), then the generic one (`OTEL_EXPORTER_OTLP_ENDPOINT`),
//! then the OpenTelemetry default. This is the OpenTelemetry rule that explicit configuration
//! (code, or a declarative configuration file) wins over the environment; the environment fills
//! whatever the file leaves unset, so a Kubernetes operator injecting `OTEL_*` variables works
//! with an `otlp:`-less config.
//!
//! OTLP is off unless the file says `otlp.enabled: true` or an endpoint is set (in the file or in
//! `OTEL_EXPORTER_OTLP_[TRACES_|METRICS_|LOGS_]ENDPOINT`); `OTEL_SDK_DISABLED=true` turns it off
//! unless the file says `enabled: true`. Each signal can be turned off with
//! `OTEL_TRACES_EXPORTER=none`, `OTEL_METRICS_EXPORTER=none`, `OTEL_LOGS_EXPORTER=none` or
//! `otlp.<signal>.enabled: false`.
//!
//! - `file`: the `otlp:` section; one [`SignalConfig`] for the connection settings of
//!   `otlp:`, `otlp.metrics:`, `otlp.traces:` and `otlp.logs:`.
//! - `table`: one row per setting (config key, variable, parser) and the one lookup that
//!   applies the precedence above.
//! - `resolve`: the rows of each signal, the checks across values, the resource.
//! - `text`: parsers of the variables' text, URL and header checks.

mod file;
mod resolve;
mod table;
#[cfg(test)]
mod tests;
mod text;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

pub use file::{
    Compression, LogsSignalConfig, MetricsSignalConfig, OtlpConfig, Protocol, SamplerName,
    SignalConfig, Temporality, TlsConfig, TracesSignalConfig,
};
pub use resolve::resolve;
pub use text::parse_key_values;

/// Where the standard variables come from: the process environment, or a map in tests.
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

/// The process environment. Empty values count as unset, as the OpenTelemetry spec says.
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty())
    }
}

impl Env for BTreeMap<String, String> {
    fn var(&self, name: &str) -> Option<String> {
        self.get(name).cloned().filter(|v| !v.trim().is_empty())
    }
}

/// A fixed list of variables (tests, benches); the first of a name counts.
impl<const N: usize> Env for [(&str, &str); N] {
    fn var(&self, name: &str) -> Option<String> {
        self.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.trim().is_empty())
    }
}

/// How to reach the collector for one signal.
#[derive(Clone)]
pub struct Transport {
    /// gRPC: the server URL; HTTP: the full URL to POST to.
    pub endpoint: String,
    pub protocol: Protocol,
    /// Header names lowercased; values may be secrets and are never logged.
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
    pub compression: Compression,
    pub ca_file: Option<PathBuf>,
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field(
                "headers",
                &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("timeout", &self.timeout)
            .field("compression", &self.compression)
            .field("ca_file", &self.ca_file)
            .field("client_cert", &self.client_cert)
            .finish()
    }
}

/// Resolved metric-signal settings.
#[derive(Debug, Clone)]
pub struct MetricsSettings {
    pub transport: Transport,
    pub interval: Duration,
    pub exemplars: bool,
    pub temporality: Temporality,
}

/// A batch processor's settings (spans: `OTEL_BSP_*`, log records: `OTEL_BLRP_*`).
#[derive(Debug, Clone)]
pub struct Batching {
    /// Items waiting for export; beyond, new ones are dropped and counted.
    pub max_queue_size: usize,
    /// Items per export request.
    pub max_export_batch_size: usize,
    /// Time between exports of a partial batch.
    pub schedule_delay: Duration,
    /// Bound on one export request, retries included.
    pub export_timeout: Duration,
}

/// Resolved trace-signal settings.
#[derive(Debug, Clone)]
pub struct TracesSettings {
    pub transport: Transport,
    pub sampler: SamplerName,
    pub ratio: f64,
    pub always_sample_negative: bool,
    pub batch: Batching,
}

/// Resolved log-signal settings.
#[derive(Debug, Clone)]
pub struct LogsSettings {
    pub transport: Transport,
    pub batch: Batching,
}

/// Everything OTLP needs, resolved from the file and the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Resource attributes, `service.name` first.
    pub resource: Vec<(String, String)>,
    pub metrics: Option<MetricsSettings>,
    pub traces: Option<TracesSettings>,
    pub logs: Option<LogsSettings>,
}
