//! The `otlp:` section of the config file. Its connection settings ([`SignalConfig`]) are one
//! struct, read in four places: `otlp:` itself (every signal) and `otlp.metrics:`,
//! `otlp.traces:`, `otlp.logs:` (one signal, winning over `otlp:`).
//!
//! The four sections are read key by key ([`Section`]) rather than derived with
//! `#[serde(flatten)]`, which would lose `deny_unknown_fields` and the key in error paths: each
//! section still rejects an unknown key by listing every key it accepts, and a bad value is
//! still reported at its full path (`otlp.traces.sampler: unknown variant …`).

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::Deserialize;

use crate::secret::PropertyValue;

/// OTLP transport protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Protocol {
    /// OTLP/gRPC, default port 4317.
    #[serde(rename = "grpc")]
    Grpc,
    /// OTLP/HTTP with protobuf bodies, default port 4318. The OpenTelemetry default.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Grpc => "grpc",
            Protocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// Payload compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    None,
    Gzip,
}

/// TLS files for one connection (PEM).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s) to trust instead of the system roots (`OTEL_EXPORTER_OTLP_CERTIFICATE`).
    pub ca_file: Option<PathBuf>,
    /// Client certificate for mTLS (`OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`); needs `key_file`.
    pub cert_file: Option<PathBuf>,
    /// Client private key for mTLS (`OTEL_EXPORTER_OTLP_CLIENT_KEY`).
    pub key_file: Option<PathBuf>,
    /// gRPC only, for an endpoint written without `http://`/`https://`: `true` connects in
    /// plain text (`OTEL_EXPORTER_OTLP_INSECURE`). Default false (TLS).
    pub insecure: Option<bool>,
}

/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`: which instruments are pushed as deltas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Temporality {
    /// Every sum and histogram cumulative since the process started (the default).
    Cumulative,
    /// Counters (ours and those read from the process) and histograms as the increase since the
    /// last successful push; gauges as they are.
    Delta,
    /// Counters and histograms the exporter itself counts as deltas; counters read from the
    /// process at push time (`process_cpu_seconds_total`…) stay cumulative.
    Lowmemory,
}

impl Temporality {
    pub fn as_str(self) -> &'static str {
        match self {
            Temporality::Cumulative => "cumulative",
            Temporality::Delta => "delta",
            Temporality::Lowmemory => "lowmemory",
        }
    }
}

/// Sampler names of `OTEL_TRACES_SAMPLER`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplerName {
    AlwaysOn,
    AlwaysOff,
    Traceidratio,
    ParentbasedAlwaysOn,
    ParentbasedAlwaysOff,
    ParentbasedTraceidratio,
}

/// How to reach the collector: in `otlp:` for every signal, in `otlp.metrics:`,
/// `otlp.traces:` or `otlp.logs:` for one (the signal's value wins, headers merge by name). Each value falls
/// back on a variable, `OTEL_EXPORTER_OTLP_<SIGNAL>_<NAME>` then `OTEL_EXPORTER_OTLP_<NAME>`
/// (`<NAME>` below), and then on the OpenTelemetry default.
#[derive(Debug, Clone, Default)]
pub struct SignalConfig {
    /// In `otlp:`, turns OTLP export on or off; default: on when an endpoint is set in the file
    /// or in `OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]ENDPOINT` (unless `OTEL_SDK_DISABLED=true`),
    /// else off (`/metrics` works either way). In a signal's section, turns that signal off;
    /// default true, or false with `OTEL_METRICS_EXPORTER=none` / `OTEL_TRACES_EXPORTER=none` /
    /// `OTEL_LOGS_EXPORTER=none`.
    pub enabled: Option<bool>,
    /// Collector URL (`ENDPOINT`). In `otlp:`, the base URL: gRPC uses it as is (default
    /// `http://localhost:4317`), HTTP appends `/v1/traces`, `/v1/metrics`, `/v1/logs` (default
    /// `http://localhost:4318`). In a signal's section, the full URL, used as is.
    pub endpoint: Option<String>,
    /// `grpc` or `http/protobuf` (`PROTOCOL`). Default `http/protobuf`.
    pub protocol: Option<Protocol>,
    /// Extra request headers, e.g. an API key (`HEADERS`); a signal's merge over `otlp.headers`.
    /// Values may be `{ env: NAME }` or `{ file: PATH }`; they are never logged.
    pub headers: BTreeMap<String, PropertyValue>,
    /// Per-request timeout in milliseconds, retries included (`TIMEOUT`). Default 10000,
    /// bounded by `OTEL_METRIC_EXPORT_TIMEOUT` / `OTEL_BSP_EXPORT_TIMEOUT` /
    /// `OTEL_BLRP_EXPORT_TIMEOUT` (30000 each).
    pub timeout_ms: Option<u64>,
    /// `gzip` or `none` (`COMPRESSION`). Default none.
    pub compression: Option<Compression>,
    /// TLS settings for `https://` endpoints (`CERTIFICATE`, `CLIENT_CERTIFICATE`, `CLIENT_KEY`,
    /// `INSECURE`).
    pub tls: Option<TlsConfig>,
}

/// The keys of [`SignalConfig`], then a section's own.
macro_rules! keys {
    ($($own:expr),*) => {
        &[
            "enabled", "endpoint", "protocol", "headers", "timeout_ms", "compression", "tls",
            $($own),*
        ]
    };
}

/// `match key`: a key named like one of the `fields` is read into that field of `$section`;
/// the arms after the list take any other.
macro_rules! read_fields {
    ($section:ident, $key:ident, $map:ident, [$($field:ident),*], $($other:tt)*) => {
        match $key {
            $(stringify!($field) => $section.$field = $map.next_value()?,)*
            $($other)*
        }
    };
}

impl SignalConfig {
    const KEYS: &'static [&'static str] = keys!();

    /// Reads the value of one of [`SignalConfig::KEYS`].
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        read_fields!(
            self,
            key,
            map,
            [enabled, endpoint, protocol, headers, timeout_ms, compression, tls],
            _ => return Err(de::Error::unknown_field(key, Self::KEYS)),
        );
        Ok(())
    }
}

/// The `otlp:` config section. Every value is optional; unset values come from the `OTEL_*`
/// environment variables named in each field's doc, then from OpenTelemetry's defaults.
#[derive(Debug, Clone, Default)]
pub struct OtlpConfig {
    /// `enabled`, `endpoint`, `protocol`, `headers`, `timeout_ms`, `compression`, `tls`: for
    /// every signal, unless a signal's section sets its own.
    pub all: SignalConfig,
    /// `service.name` of the resource (`OTEL_SERVICE_NAME`). Default `kafka-security-exporter`.
    pub service_name: Option<String>,
    /// More resource attributes (`OTEL_RESOURCE_ATTRIBUTES`, merged; the file wins per key).
    pub resource_attributes: BTreeMap<String, String>,
    /// Metric export.
    pub metrics: MetricsSignalConfig,
    /// Trace export.
    pub traces: TracesSignalConfig,
    /// Log export: every security event and detection as a log record.
    pub logs: LogsSignalConfig,
}

/// `otlp.metrics`: the metric signal.
#[derive(Debug, Clone, Default)]
pub struct MetricsSignalConfig {
    /// Overrides of the `otlp:` connection settings (`OTEL_EXPORTER_OTLP_METRICS_*`).
    pub signal: SignalConfig,
    /// Milliseconds between pushes (`OTEL_METRIC_EXPORT_INTERVAL`). Default 60000. Each push
    /// carries every series.
    pub interval_ms: Option<u64>,
    /// `cumulative` (default: every point since the process started), `delta` (counters and
    /// histograms as the increase since the last successful push) or `lowmemory` (delta except
    /// for counters read from the process) (`OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`).
    /// Delta suits backends that require it (Datadog, Dynatrace…); it costs one remembered value
    /// per series, bounded by the same caps as the series.
    pub temporality: Option<Temporality>,
    /// Attach the trace id of a recently sampled event to counters and histograms
    /// (`OTEL_METRICS_EXEMPLAR_FILTER`: `trace_based` (default) or `always_off`). Needs traces.
    pub exemplars: Option<bool>,
}

/// `otlp.traces`: the trace signal.
#[derive(Debug, Clone, Default)]
pub struct TracesSignalConfig {
    /// Overrides of the `otlp:` connection settings (`OTEL_EXPORTER_OTLP_TRACES_*`).
    pub signal: SignalConfig,
    /// `OTEL_TRACES_SAMPLER`. Default `parentbased_always_on`: every event gets a span, and a
    /// record whose `traceparent` says "not sampled" gets none.
    pub sampler: Option<SamplerName>,
    /// Ratio for the `*traceidratio` samplers, 0 to 1 (`OTEL_TRACES_SAMPLER_ARG`). Default 1.
    pub sampler_arg: Option<f64>,
    /// Sample every denial, failure and unparseable record whatever the sampler says.
    /// Default false. The decision is taken after parsing, so it costs nothing extra.
    pub always_sample_negative: Option<bool>,
    /// Spans waiting for export (`OTEL_BSP_MAX_QUEUE_SIZE`, default 2048); beyond, spans are
    /// dropped and counted in `kafka_security_otlp_dropped_total{signal="traces"}`.
    pub max_queue_size: Option<usize>,
    /// Spans per request (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, default 512).
    pub max_export_batch_size: Option<usize>,
    /// Milliseconds between exports of a partial batch (`OTEL_BSP_SCHEDULE_DELAY`, default 5000).
    pub schedule_delay_ms: Option<u64>,
}

/// `otlp.logs`: the log signal.
#[derive(Debug, Clone, Default)]
pub struct LogsSignalConfig {
    /// Overrides of the `otlp:` connection settings (`OTEL_EXPORTER_OTLP_LOGS_*`).
    pub signal: SignalConfig,
    /// Log records waiting for export (`OTEL_BLRP_MAX_QUEUE_SIZE`, default 2048); beyond, records
    /// are dropped and counted in `kafka_security_otlp_dropped_total{signal="logs"}`.
    pub max_queue_size: Option<usize>,
    /// Log records per request (`OTEL_BLRP_MAX_EXPORT_BATCH_SIZE`, default 512).
    pub max_export_batch_size: Option<usize>,
    /// Milliseconds between exports of a partial batch (`OTEL_BLRP_SCHEDULE_DELAY`, default
    /// 1000).
    pub schedule_delay_ms: Option<u64>,
}

/// A config section read key by key: what a derived `#[serde(deny_unknown_fields)]` struct
/// does, for sections that share [`SignalConfig`]'s keys.
trait Section: Default {
    /// The type name serde's messages show (`expected struct OtlpConfig`).
    const NAME: &'static str;
    /// Every key, in the order "unknown field" messages list them.
    const KEYS: &'static [&'static str];
    /// Reads the value of one of `KEYS`.
    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

impl Section for OtlpConfig {
    const NAME: &'static str = "OtlpConfig";
    const KEYS: &'static [&'static str] = keys!(
        "service_name",
        "resource_attributes",
        "metrics",
        "traces",
        "logs"
    );

    fn read<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        read_fields!(
            self,
            key,
            map,
            [service_name, resource_attributes, metrics, traces, logs],
            // Not optional here, as it was before the sections shared their keys: YAML's `~`
            // is an error rather than "no TLS settings".
            "tls" => self.all.tls = Some(map.next_value::<TlsConfig>()?),
            _ => self.all.read(key, map)?,
        );
        Ok(())
    }
}

/// A signal's [`Section`]: its own keys are the names of its `fields`, read into them; the
/// rest are [`SignalConfig`]'s, read into its `signal`.
macro_rules! signal_section {
    ($ty:ident { $($field:ident),* }) => {
        impl Section for $ty {
            const NAME: &'static str = stringify!($ty);
            const KEYS: &'static [&'static str] = keys!($(stringify!($field)),*);

            fn read<'de, A: MapAccess<'de>>(
                &mut self,
                key: &str,
                map: &mut A,
            ) -> Result<(), A::Error> {
                read_fields!(self, key, map, [$($field),*], _ => self.signal.read(key, map)?,);
                Ok(())
            }
        }
    };
}

signal_section!(MetricsSignalConfig {
    interval_ms,
    exemplars,
    temporality
});
signal_section!(TracesSignalConfig {
    sampler,
    sampler_arg,
    always_sample_negative,
    max_queue_size,
    max_export_batch_size,
    schedule_delay_ms
});

/// Reads one key, rejecting those the section does not have. Failing here (not after the key is
/// read) is what puts the key in the error's path, as a derived struct does.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = &'static str;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = &'static str;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field identifier")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        self.0
            .iter()
            .find(|k| **k == key)
            .copied()
            .ok_or_else(|| E::unknown_field(key, self.0))
    }

    fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Self::Value, E> {
        self.visit_str(&String::from_utf8_lossy(key))
    }
}

struct SectionVisitor<S>(PhantomData<S>);

impl<'de, S: Section> Visitor<'de> for SectionVisitor<S> {
    type Value = S;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "struct {}", S::NAME)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<S, A::Error> {
        let mut section = S::default();
        let mut seen = Vec::new();
        while let Some(key) = map.next_key_seed(Key(S::KEYS))? {
            if seen.contains(&key) {
                return Err(de::Error::duplicate_field(key));
            }
            seen.push(key);
            section.read(key, &mut map)?;
        }
        Ok(section)
    }
}

macro_rules! deserialize_section {
    ($($t:ty),*) => {$(
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                d.deserialize_struct(
                    <$t as Section>::NAME,
                    <$t as Section>::KEYS,
                    SectionVisitor::<$t>(PhantomData),
                )
            }
        }
    )*};
}

signal_section!(LogsSignalConfig {
    max_queue_size,
    max_export_batch_size,
    schedule_delay_ms
});

deserialize_section!(
    OtlpConfig,
    MetricsSignalConfig,
    TracesSignalConfig,
    LogsSignalConfig
);
