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
//! `OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]ENDPOINT`); `OTEL_SDK_DISABLED=true` turns it off unless
//! the file says `enabled: true`. Each signal can be turned off with `OTEL_TRACES_EXPORTER=none`,
//! `OTEL_METRICS_EXPORTER=none` or `otlp.traces.enabled: false` / `otlp.metrics.enabled: false`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::SERVICE_VERSION;
use crate::secret::PropertyValue;

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
    fn parse(s: &str) -> Option<Protocol> {
        match s.trim() {
            "grpc" => Some(Protocol::Grpc),
            "http/protobuf" => Some(Protocol::HttpProtobuf),
            _ => None,
        }
    }

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

impl SamplerName {
    const NAMES: &'static str = "always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio";

    fn parse(s: &str) -> Option<SamplerName> {
        Some(match s.trim() {
            "always_on" => SamplerName::AlwaysOn,
            "always_off" => SamplerName::AlwaysOff,
            "traceidratio" => SamplerName::Traceidratio,
            "parentbased_always_on" => SamplerName::ParentbasedAlwaysOn,
            "parentbased_always_off" => SamplerName::ParentbasedAlwaysOff,
            "parentbased_traceidratio" => SamplerName::ParentbasedTraceidratio,
            _ => return None,
        })
    }
}

/// The `otlp:` config section. Every value is optional; unset values come from the `OTEL_*`
/// environment variables named in each field's doc, then from OpenTelemetry's defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OtlpConfig {
    /// Turn OTLP export on or off. Default: on when an endpoint is set here or in
    /// `OTEL_EXPORTER_OTLP_[TRACES_|METRICS_]ENDPOINT`, else off (`/metrics` works either way).
    pub enabled: Option<bool>,
    /// Base URL of the collector (`OTEL_EXPORTER_OTLP_ENDPOINT`). gRPC: the URL itself
    /// (default `http://localhost:4317`); HTTP: `/v1/traces` and `/v1/metrics` are appended
    /// (default `http://localhost:4318`).
    pub endpoint: Option<String>,
    /// `grpc` or `http/protobuf` (`OTEL_EXPORTER_OTLP_PROTOCOL`). Default `http/protobuf`.
    pub protocol: Option<Protocol>,
    /// Extra request headers, e.g. an API key (`OTEL_EXPORTER_OTLP_HEADERS`). Values may be
    /// `{ env: NAME }` or `{ file: PATH }`; they are never logged.
    #[serde(default)]
    pub headers: BTreeMap<String, PropertyValue>,
    /// Per-request timeout in milliseconds (`OTEL_EXPORTER_OTLP_TIMEOUT`). Default 10000.
    pub timeout_ms: Option<u64>,
    /// `gzip` or `none` (`OTEL_EXPORTER_OTLP_COMPRESSION`). Default none.
    pub compression: Option<Compression>,
    /// TLS settings for `https://` endpoints.
    #[serde(default)]
    pub tls: TlsConfig,
    /// `service.name` of the resource (`OTEL_SERVICE_NAME`). Default `kafka-security-exporter`.
    pub service_name: Option<String>,
    /// More resource attributes (`OTEL_RESOURCE_ATTRIBUTES`, merged; the file wins per key).
    #[serde(default)]
    pub resource_attributes: BTreeMap<String, String>,
    /// Metric export.
    #[serde(default)]
    pub metrics: MetricsSignalConfig,
    /// Trace export.
    #[serde(default)]
    pub traces: TracesSignalConfig,
}

/// `otlp.metrics`: overrides for the metric signal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsSignalConfig {
    /// Default true; `OTEL_METRICS_EXPORTER=none` also turns it off.
    pub enabled: Option<bool>,
    /// Full URL, used as is (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`).
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`.
    pub protocol: Option<Protocol>,
    /// `OTEL_EXPORTER_OTLP_METRICS_HEADERS`; merged over `otlp.headers`.
    #[serde(default)]
    pub headers: BTreeMap<String, PropertyValue>,
    /// `OTEL_EXPORTER_OTLP_METRICS_TIMEOUT`, bounded by `OTEL_METRIC_EXPORT_TIMEOUT` (30000).
    pub timeout_ms: Option<u64>,
    /// `OTEL_EXPORTER_OTLP_METRICS_COMPRESSION`.
    pub compression: Option<Compression>,
    /// `OTEL_EXPORTER_OTLP_METRICS_CERTIFICATE`, `…_CLIENT_CERTIFICATE`, `…_CLIENT_KEY`, `…_INSECURE`.
    pub tls: Option<TlsConfig>,
    /// Milliseconds between pushes (`OTEL_METRIC_EXPORT_INTERVAL`). Default 60000. Each push
    /// carries every series, cumulative since the process started.
    pub interval_ms: Option<u64>,
    /// Attach the trace id of a recently sampled event to counters and histograms
    /// (`OTEL_METRICS_EXEMPLAR_FILTER`: `trace_based` (default) or `always_off`). Needs traces.
    pub exemplars: Option<bool>,
}

/// `otlp.traces`: overrides for the trace signal.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TracesSignalConfig {
    /// Default true; `OTEL_TRACES_EXPORTER=none` also turns it off.
    pub enabled: Option<bool>,
    /// Full URL, used as is (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`).
    pub endpoint: Option<String>,
    /// `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`.
    pub protocol: Option<Protocol>,
    /// `OTEL_EXPORTER_OTLP_TRACES_HEADERS`; merged over `otlp.headers`.
    #[serde(default)]
    pub headers: BTreeMap<String, PropertyValue>,
    /// `OTEL_EXPORTER_OTLP_TRACES_TIMEOUT`, bounded by `OTEL_BSP_EXPORT_TIMEOUT` (30000).
    pub timeout_ms: Option<u64>,
    /// `OTEL_EXPORTER_OTLP_TRACES_COMPRESSION`.
    pub compression: Option<Compression>,
    /// `OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE`, `…_CLIENT_CERTIFICATE`, `…_CLIENT_KEY`, `…_INSECURE`.
    pub tls: Option<TlsConfig>,
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
}

/// Resolved trace-signal settings.
#[derive(Debug, Clone)]
pub struct TracesSettings {
    pub transport: Transport,
    pub sampler: SamplerName,
    pub ratio: f64,
    pub always_sample_negative: bool,
    pub max_queue_size: usize,
    pub max_export_batch_size: usize,
    pub schedule_delay: Duration,
    pub export_timeout: Duration,
}

/// Everything OTLP needs, resolved from the file and the environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Resource attributes, `service.name` first.
    pub resource: Vec<(String, String)>,
    pub metrics: Option<MetricsSettings>,
    pub traces: Option<TracesSettings>,
}

/// Collects problems, each prefixed with where the value came from.
struct Problems(Vec<String>);

impl Problems {
    fn push(&mut self, at: &str, problem: impl std::fmt::Display) {
        self.0.push(format!("{at}: {problem}"));
    }
}

/// One value looked up in the file, then in the signal-specific variable, then the generic one.
/// Returns the value and where it came from (for error messages).
fn pick<T: Clone>(
    env: &dyn Env,
    file_signal: (Option<&T>, String),
    file_generic: (Option<&T>, &str),
    env_names: [&str; 2],
    parse: impl Fn(&str) -> Result<T, String>,
    problems: &mut Problems,
) -> Option<T> {
    if let Some(v) = file_signal.0 {
        return Some(v.clone());
    }
    if let Some(v) = file_generic.0 {
        return Some(v.clone());
    }
    for name in env_names {
        if let Some(text) = env.var(name) {
            match parse(&text) {
                Ok(v) => return Some(v),
                Err(e) => {
                    problems.push(name, e);
                    return None;
                }
            }
        }
    }
    None
}

fn parse_ms(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is not a whole number of milliseconds"))
}

fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("`{s}` is not true or false")),
    }
}

/// Percent-decodes a W3C-baggage-style value (`OTEL_EXPORTER_OTLP_HEADERS`,
/// `OTEL_RESOURCE_ATTRIBUTES`).
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad percent-escape in `{s}`"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{s}` decodes to invalid UTF-8"))
}

/// Parses `key1=value1,key2=value2` (values percent-encoded), as `OTEL_EXPORTER_OTLP_HEADERS` and
/// `OTEL_RESOURCE_ATTRIBUTES` are written.
pub fn parse_key_values(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (k, v) = item
            .split_once('=')
            .ok_or_else(|| format!("`{item}` is not key=value"))?;
        let k = percent_decode(k.trim())?;
        if k.is_empty() {
            return Err(format!("`{item}` has an empty key"));
        }
        out.push((k, percent_decode(v.trim())?));
    }
    Ok(out)
}

/// Checks a header name and value as HTTP and gRPC metadata will need them.
fn check_header(name: &str, value: &str) -> Result<(), String> {
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
    if !valid_name {
        return Err(format!(
            "`{name}` is not a valid header name (letters, digits, `-`, `_`, `.`)"
        ));
    }
    if name.ends_with("-bin") {
        return Err(format!("`{name}`: binary gRPC metadata is not supported"));
    }
    if value.bytes().any(|b| b < 0x20 && b != b'\t' || b == 0x7f) {
        return Err(format!("the value of `{name}` contains control characters"));
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| format!("`{url}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{url}` names no host"));
    }
    url.parse::<hyper::Uri>()
        .map_err(|e| format!("`{url}` is not a valid URL: {e}"))?;
    Ok(())
}

/// Signal names as they appear in variable names and config paths.
#[derive(Clone, Copy)]
enum Signal {
    Metrics,
    Traces,
}

impl Signal {
    fn upper(self) -> &'static str {
        match self {
            Signal::Metrics => "METRICS",
            Signal::Traces => "TRACES",
        }
    }
    fn lower(self) -> &'static str {
        match self {
            Signal::Metrics => "metrics",
            Signal::Traces => "traces",
        }
    }
}

/// The file's transport overrides of one signal, borrowed.
struct SignalFile<'a> {
    endpoint: Option<&'a String>,
    protocol: Option<&'a Protocol>,
    headers: &'a BTreeMap<String, PropertyValue>,
    timeout_ms: Option<&'a u64>,
    compression: Option<&'a Compression>,
    tls: Option<&'a TlsConfig>,
}

fn transport(
    env: &dyn Env,
    file: &OtlpConfig,
    signal: Signal,
    sf: SignalFile<'_>,
    problems: &mut Problems,
) -> Transport {
    let s = signal.lower();
    let up = signal.upper();
    let var = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{up}_{suffix}");
    let generic = |suffix: &str| format!("OTEL_EXPORTER_OTLP_{suffix}");

    let protocol = pick(
        env,
        (sf.protocol, format!("otlp.{s}.protocol")),
        (file.protocol.as_ref(), "otlp.protocol"),
        [&var("PROTOCOL"), &generic("PROTOCOL")],
        |v| {
            Protocol::parse(v).ok_or_else(|| {
                format!("unknown protocol `{v}`; expected `grpc` or `http/protobuf` (http/json is not supported)")
            })
        },
        problems,
    )
    .unwrap_or(Protocol::HttpProtobuf);

    let insecure = pick(
        env,
        (
            sf.tls.and_then(|t| t.insecure.as_ref()),
            format!("otlp.{s}.tls.insecure"),
        ),
        (file.tls.insecure.as_ref(), "otlp.tls.insecure"),
        [&var("INSECURE"), &generic("INSECURE")],
        parse_bool,
        problems,
    )
    .unwrap_or(false);

    // The signal-specific endpoint is used as is; the generic one gets the signal's path (HTTP).
    let signal_endpoint = sf
        .endpoint
        .map(|e| (e.clone(), format!("otlp.{s}.endpoint")))
        .or_else(|| env.var(&var("ENDPOINT")).map(|e| (e, var("ENDPOINT"))));
    let (endpoint, at) = match signal_endpoint {
        Some((e, at)) => (e, at),
        None => {
            let (base, at) = match (&file.endpoint, env.var(&generic("ENDPOINT"))) {
                (Some(e), _) => (e.clone(), "otlp.endpoint".to_string()),
                (None, Some(e)) => (e, generic("ENDPOINT")),
                (None, None) => (
                    match protocol {
                        Protocol::Grpc => "http://localhost:4317".into(),
                        Protocol::HttpProtobuf => "http://localhost:4318".into(),
                    },
                    "default endpoint".into(),
                ),
            };
            match protocol {
                Protocol::Grpc => (base, at),
                Protocol::HttpProtobuf => {
                    let base = base.trim_end_matches('/');
                    (format!("{base}/v1/{s}"), at)
                }
            }
        }
    };
    let endpoint = if protocol == Protocol::Grpc
        && !endpoint.starts_with("http://")
        && !endpoint.starts_with("https://")
    {
        // A scheme-less gRPC endpoint: OTEL_EXPORTER_OTLP_INSECURE picks plain text.
        format!("{}://{endpoint}", if insecure { "http" } else { "https" })
    } else {
        endpoint
    };
    if let Err(e) = check_url(&endpoint) {
        problems.push(&at, e);
    }

    // Headers: generic env < signal env < generic file < signal file, merged by name.
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for name in [generic("HEADERS"), var("HEADERS")] {
        if let Some(text) = env.var(&name) {
            match parse_key_values(&text) {
                Ok(kvs) => {
                    for (k, v) in kvs {
                        headers.insert(k.to_ascii_lowercase(), v);
                    }
                }
                Err(e) => problems.push(&name, e),
            }
        }
    }
    for (at, map) in [
        ("otlp.headers".to_string(), &file.headers),
        (format!("otlp.{s}.headers"), sf.headers),
    ] {
        for (k, v) in map {
            match v.resolve() {
                Ok(secret) => {
                    headers.insert(k.to_ascii_lowercase(), secret.into_exposed());
                }
                Err(e) => problems.push(&format!("{at}.{k}"), e),
            }
        }
    }
    for (k, v) in &headers {
        if let Err(e) = check_header(k, v) {
            problems.push(&format!("otlp {s} headers"), e);
        }
    }

    let timeout_ms = pick(
        env,
        (sf.timeout_ms, format!("otlp.{s}.timeout_ms")),
        (file.timeout_ms.as_ref(), "otlp.timeout_ms"),
        [&var("TIMEOUT"), &generic("TIMEOUT")],
        parse_ms,
        problems,
    )
    .unwrap_or(10_000);
    if timeout_ms == 0 {
        problems.push(&format!("otlp.{s}.timeout_ms"), "must be at least 1");
    }

    let compression = pick(
        env,
        (sf.compression, format!("otlp.{s}.compression")),
        (file.compression.as_ref(), "otlp.compression"),
        [&var("COMPRESSION"), &generic("COMPRESSION")],
        |v| match v.trim() {
            "gzip" => Ok(Compression::Gzip),
            "none" => Ok(Compression::None),
            _ => Err(format!("unknown compression `{v}`; expected gzip or none")),
        },
        problems,
    )
    .unwrap_or(Compression::None);

    let path = |v: &str| Ok::<_, String>(PathBuf::from(v));
    let ca_file = pick(
        env,
        (
            sf.tls.and_then(|t| t.ca_file.as_ref()),
            format!("otlp.{s}.tls.ca_file"),
        ),
        (file.tls.ca_file.as_ref(), "otlp.tls.ca_file"),
        [&var("CERTIFICATE"), &generic("CERTIFICATE")],
        path,
        problems,
    );
    let cert = pick(
        env,
        (
            sf.tls.and_then(|t| t.cert_file.as_ref()),
            format!("otlp.{s}.tls.cert_file"),
        ),
        (file.tls.cert_file.as_ref(), "otlp.tls.cert_file"),
        [&var("CLIENT_CERTIFICATE"), &generic("CLIENT_CERTIFICATE")],
        path,
        problems,
    );
    let key = pick(
        env,
        (
            sf.tls.and_then(|t| t.key_file.as_ref()),
            format!("otlp.{s}.tls.key_file"),
        ),
        (file.tls.key_file.as_ref(), "otlp.tls.key_file"),
        [&var("CLIENT_KEY"), &generic("CLIENT_KEY")],
        path,
        problems,
    );
    for (what, file) in [
        ("CA certificate", &ca_file),
        ("client certificate", &cert),
        ("client key", &key),
    ] {
        if let Some(f) = file {
            if let Err(e) = std::fs::metadata(f) {
                problems.push(
                    &format!("otlp {s} tls"),
                    format!("cannot read the {what} {}: {e}", f.display()),
                );
            }
        }
    }
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            problems.push(
                &format!("otlp {s} tls"),
                "a client certificate needs both cert_file and key_file (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY)",
            );
            None
        }
    };

    Transport {
        endpoint,
        protocol,
        headers: headers.into_iter().collect(),
        timeout: Duration::from_millis(timeout_ms.max(1)),
        compression,
        ca_file,
        client_cert,
    }
}

/// Resolves the file section and the environment. `Ok(None)` when OTLP is off; `Err` lists every
/// problem, each naming the config path or variable it comes from.
pub fn resolve(file: &OtlpConfig, env: &dyn Env) -> Result<Option<Settings>, Vec<String>> {
    let mut problems = Problems(Vec::new());
    let sdk_disabled = match env.var("OTEL_SDK_DISABLED").map(|v| parse_bool(&v)) {
        Some(Ok(b)) => b,
        Some(Err(e)) => {
            problems.push("OTEL_SDK_DISABLED", e);
            false
        }
        None => false,
    };
    let any_endpoint = file.endpoint.is_some()
        || file.metrics.endpoint.is_some()
        || file.traces.endpoint.is_some()
        || [
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ]
        .iter()
        .any(|v| env.var(v).is_some());
    let enabled = file.enabled.unwrap_or(any_endpoint && !sdk_disabled);

    let exporter_on = |var: &str, problems: &mut Problems| match env.var(var) {
        None => true,
        Some(v) => match v.trim() {
            "otlp" => true,
            "none" => false,
            other => {
                problems.push(
                    var,
                    format!("unsupported exporter `{other}`; expected otlp or none"),
                );
                true
            }
        },
    };
    let metrics_on = file
        .metrics
        .enabled
        .unwrap_or_else(|| exporter_on("OTEL_METRICS_EXPORTER", &mut problems));
    let traces_on = file
        .traces
        .enabled
        .unwrap_or_else(|| exporter_on("OTEL_TRACES_EXPORTER", &mut problems));

    // Always resolve both signals, so `check-config` reports every problem even when off.
    let m = &file.metrics;
    let metrics_transport = transport(
        env,
        file,
        Signal::Metrics,
        SignalFile {
            endpoint: m.endpoint.as_ref(),
            protocol: m.protocol.as_ref(),
            headers: &m.headers,
            timeout_ms: m.timeout_ms.as_ref(),
            compression: m.compression.as_ref(),
            tls: m.tls.as_ref(),
        },
        &mut problems,
    );
    let interval_ms = m
        .interval_ms
        .or_else(|| {
            env.var("OTEL_METRIC_EXPORT_INTERVAL")
                .and_then(|v| match parse_ms(&v) {
                    Ok(ms) => Some(ms),
                    Err(e) => {
                        problems.push("OTEL_METRIC_EXPORT_INTERVAL", e);
                        None
                    }
                })
        })
        .unwrap_or(60_000);
    if interval_ms == 0 {
        problems.push("otlp.metrics.interval_ms", "must be at least 1");
    }
    let export_timeout_ms = env
        .var("OTEL_METRIC_EXPORT_TIMEOUT")
        .and_then(|v| match parse_ms(&v) {
            Ok(ms) => Some(ms),
            Err(e) => {
                problems.push("OTEL_METRIC_EXPORT_TIMEOUT", e);
                None
            }
        })
        .unwrap_or(30_000);
    let exemplars = m
        .exemplars
        .or_else(|| {
            env.var("OTEL_METRICS_EXEMPLAR_FILTER")
                .and_then(|v| match v.trim() {
                    "trace_based" | "always_on" => Some(true),
                    "always_off" => Some(false),
                    other => {
                        problems.push(
                            "OTEL_METRICS_EXEMPLAR_FILTER",
                            format!("unknown filter `{other}`; expected trace_based, always_on or always_off"),
                        );
                        None
                    }
                })
        })
        .unwrap_or(true);
    let mut metrics_transport = metrics_transport;
    metrics_transport.timeout = metrics_transport
        .timeout
        .min(Duration::from_millis(export_timeout_ms.max(1)));

    let t = &file.traces;
    let traces_transport = transport(
        env,
        file,
        Signal::Traces,
        SignalFile {
            endpoint: t.endpoint.as_ref(),
            protocol: t.protocol.as_ref(),
            headers: &t.headers,
            timeout_ms: t.timeout_ms.as_ref(),
            compression: t.compression.as_ref(),
            tls: t.tls.as_ref(),
        },
        &mut problems,
    );
    let sampler = t
        .sampler
        .or_else(|| {
            env.var("OTEL_TRACES_SAMPLER").and_then(|v| {
                SamplerName::parse(&v).or_else(|| {
                    problems.push(
                        "OTEL_TRACES_SAMPLER",
                        format!(
                            "unsupported sampler `{v}`; expected one of {}",
                            SamplerName::NAMES
                        ),
                    );
                    None
                })
            })
        })
        .unwrap_or(SamplerName::ParentbasedAlwaysOn);
    let ratio_at = if t.sampler_arg.is_some() {
        "otlp.traces.sampler_arg"
    } else {
        "OTEL_TRACES_SAMPLER_ARG"
    };
    let ratio = t
        .sampler_arg
        .or_else(|| {
            env.var("OTEL_TRACES_SAMPLER_ARG")
                .and_then(|v| match v.trim().parse::<f64>() {
                    Ok(x) => Some(x),
                    Err(_) => {
                        problems.push("OTEL_TRACES_SAMPLER_ARG", format!("`{v}` is not a number"));
                        None
                    }
                })
        })
        .unwrap_or(1.0);
    if !(0.0..=1.0).contains(&ratio) {
        problems.push(ratio_at, format!("{ratio} is not a ratio between 0 and 1"));
    }
    let bsp = |file: Option<u64>, var: &str, default: u64, problems: &mut Problems| {
        file.or_else(|| {
            env.var(var).and_then(|v| match parse_ms(&v) {
                Ok(x) => Some(x),
                Err(e) => {
                    problems.push(var, e);
                    None
                }
            })
        })
        .unwrap_or(default)
    };
    let max_queue_size = bsp(
        t.max_queue_size.map(|x| x as u64),
        "OTEL_BSP_MAX_QUEUE_SIZE",
        2048,
        &mut problems,
    ) as usize;
    let max_export_batch_size = bsp(
        t.max_export_batch_size.map(|x| x as u64),
        "OTEL_BSP_MAX_EXPORT_BATCH_SIZE",
        512,
        &mut problems,
    ) as usize;
    let schedule_delay_ms = bsp(
        t.schedule_delay_ms,
        "OTEL_BSP_SCHEDULE_DELAY",
        5000,
        &mut problems,
    );
    let bsp_timeout_ms = bsp(None, "OTEL_BSP_EXPORT_TIMEOUT", 30_000, &mut problems);
    if max_queue_size == 0 {
        problems.push("otlp.traces.max_queue_size", "must be at least 1");
    }
    if max_export_batch_size == 0 || max_export_batch_size > max_queue_size.max(1) {
        problems.push(
            "otlp.traces.max_export_batch_size",
            format!("must be between 1 and max_queue_size ({max_queue_size})"),
        );
    }
    if schedule_delay_ms == 0 {
        problems.push("otlp.traces.schedule_delay_ms", "must be at least 1");
    }
    let mut traces_transport = traces_transport;
    traces_transport.timeout = traces_transport
        .timeout
        .min(Duration::from_millis(bsp_timeout_ms.max(1)));

    let resource = resource(file, env, &mut problems);

    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    if !enabled || (!metrics_on && !traces_on) {
        return Ok(None);
    }
    Ok(Some(Settings {
        resource,
        metrics: metrics_on.then(|| MetricsSettings {
            transport: metrics_transport,
            interval: Duration::from_millis(interval_ms),
            exemplars: exemplars && traces_on,
        }),
        traces: traces_on.then(|| TracesSettings {
            export_timeout: traces_transport.timeout,
            transport: traces_transport,
            sampler,
            ratio,
            always_sample_negative: t.always_sample_negative.unwrap_or(false),
            max_queue_size,
            max_export_batch_size,
            schedule_delay: Duration::from_millis(schedule_delay_ms),
        }),
    }))
}

/// Resource attributes: `OTEL_RESOURCE_ATTRIBUTES`, then the file's, then `service.name`
/// (file, `OTEL_SERVICE_NAME`, the attribute, or the default), `service.version` and
/// `service.instance.id` (a random UUID per process unless given).
fn resource(file: &OtlpConfig, env: &dyn Env, problems: &mut Problems) -> Vec<(String, String)> {
    let mut attrs: BTreeMap<String, String> = BTreeMap::new();
    if let Some(text) = env.var("OTEL_RESOURCE_ATTRIBUTES") {
        match parse_key_values(&text) {
            Ok(kvs) => attrs.extend(kvs),
            Err(e) => problems.push("OTEL_RESOURCE_ATTRIBUTES", e),
        }
    }
    for (k, v) in &file.resource_attributes {
        attrs.insert(k.clone(), v.clone());
    }
    let service_name = file
        .service_name
        .clone()
        .or_else(|| env.var("OTEL_SERVICE_NAME"))
        .or_else(|| attrs.get("service.name").cloned())
        .unwrap_or_else(|| "kafka-security-exporter".into());
    attrs.remove("service.name");
    attrs
        .entry("service.version".into())
        .or_insert_with(|| SERVICE_VERSION.into());
    attrs
        .entry("service.instance.id".into())
        .or_insert_with(random_uuid);
    let mut out = vec![("service.name".to_string(), service_name)];
    out.extend(attrs);
    out
}

/// A version-4 UUID.
fn random_uuid() -> String {
    let mut b: [u8; 16] = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn file(yaml: &str) -> OtlpConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn off_by_default_and_on_with_an_endpoint() {
        assert!(resolve(&OtlpConfig::default(), &env(&[]))
            .unwrap()
            .is_none());
        let s = resolve(
            &OtlpConfig::default(),
            &env(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")]),
        )
        .unwrap()
        .unwrap();
        let m = s.metrics.unwrap();
        let t = s.traces.unwrap();
        assert_eq!(m.transport.endpoint, "http://collector:4318/v1/metrics");
        assert_eq!(t.transport.endpoint, "http://collector:4318/v1/traces");
        assert_eq!(m.transport.protocol, Protocol::HttpProtobuf);
        assert_eq!(m.interval, Duration::from_secs(60));
        assert_eq!(t.transport.timeout, Duration::from_secs(10));
        assert_eq!(t.sampler, SamplerName::ParentbasedAlwaysOn);
        assert_eq!((t.max_queue_size, t.max_export_batch_size), (2048, 512));
        assert!(m.exemplars);
        // OTEL_SDK_DISABLED wins over the environment, not over the file.
        let disabled = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_SDK_DISABLED", "true"),
        ]);
        assert!(resolve(&OtlpConfig::default(), &disabled)
            .unwrap()
            .is_none());
        assert!(resolve(&file("enabled: true"), &disabled)
            .unwrap()
            .is_some());
        // `enabled: true` alone means the OpenTelemetry default endpoint.
        let s = resolve(&file("enabled: true\nprotocol: grpc"), &env(&[]))
            .unwrap()
            .unwrap();
        assert_eq!(
            s.traces.unwrap().transport.endpoint,
            "http://localhost:4317"
        );
    }

    #[test]
    fn signal_variables_beat_generic_ones_and_the_file_beats_both() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4317"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "1500"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "1000"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b,X-Tenant=t1"),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "x-tenant=t2"),
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "100"),
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "10"),
        ]);
        let s = resolve(&OtlpConfig::default(), &e).unwrap().unwrap();
        let m = s.metrics.unwrap();
        let t = s.traces.unwrap();
        assert_eq!(m.transport.endpoint, "http://generic:4317");
        assert_eq!(t.transport.endpoint, "http://traces:4317");
        assert_eq!(m.transport.protocol, Protocol::Grpc);
        assert_eq!(m.transport.timeout, Duration::from_millis(1500));
        assert_eq!(t.transport.timeout, Duration::from_millis(2500));
        assert_eq!(m.interval, Duration::from_secs(1));
        assert_eq!(
            m.transport.headers,
            vec![
                ("api-key".into(), "a b".into()),
                ("x-tenant".into(), "t1".into())
            ]
        );
        assert_eq!(
            t.transport.headers,
            vec![
                ("api-key".into(), "a b".into()),
                ("x-tenant".into(), "t2".into())
            ]
        );
        assert_eq!(t.sampler, SamplerName::ParentbasedTraceidratio);
        assert_eq!(t.ratio, 0.25);
        assert_eq!((t.max_queue_size, t.max_export_batch_size), (100, 10));

        let f = file(
            r#"
endpoint: http://file:4318
protocol: http/protobuf
headers: {x-tenant: file}
traces:
  sampler: always_off
  endpoint: http://file-traces:9999/custom/path
metrics:
  interval_ms: 250
"#,
        );
        let s = resolve(&f, &e).unwrap().unwrap();
        let m = s.metrics.unwrap();
        let t = s.traces.unwrap();
        assert_eq!(m.transport.endpoint, "http://file:4318/v1/metrics");
        // The file's signal endpoint beats OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and is used as is.
        assert_eq!(t.transport.endpoint, "http://file-traces:9999/custom/path");
        assert_eq!(m.transport.protocol, Protocol::HttpProtobuf);
        assert_eq!(m.interval, Duration::from_millis(250));
        assert_eq!(t.sampler, SamplerName::AlwaysOff);
        assert!(t
            .transport
            .headers
            .contains(&("x-tenant".into(), "file".into())));
    }

    #[test]
    fn signals_turn_off_one_by_one() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_TRACES_EXPORTER", "none"),
        ]);
        let s = resolve(&OtlpConfig::default(), &e).unwrap().unwrap();
        assert!(s.traces.is_none());
        // No traces, so no trace ids to attach.
        assert!(!s.metrics.unwrap().exemplars);
        let s = resolve(&file("metrics: {enabled: false}"), &e).unwrap();
        assert!(s.is_none(), "both signals off means OTLP off");
    }

    #[test]
    fn every_problem_names_its_source() {
        let e = env(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "ten"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
            ("OTEL_TRACES_SAMPLER", "sometimes"),
            ("OTEL_TRACES_SAMPLER_ARG", "1.5"),
            ("OTEL_RESOURCE_ATTRIBUTES", "a=%zz"),
            ("OTEL_METRICS_EXPORTER", "prometheus"),
        ]);
        let problems = resolve(&file("tls: {cert_file: /nonexistent/cert.pem}"), &e)
            .unwrap_err()
            .join("\n");
        for needle in [
            "OTEL_EXPORTER_OTLP_PROTOCOL: unknown protocol `http/json`",
            "OTEL_EXPORTER_OTLP_ENDPOINT: `collector:4318/v1/metrics` must start with http:// or https://",
            "OTEL_EXPORTER_OTLP_TIMEOUT: `ten` is not a whole number",
            "OTEL_EXPORTER_OTLP_HEADERS: `novalue` is not key=value",
            "OTEL_TRACES_SAMPLER: unsupported sampler `sometimes`",
            "OTEL_TRACES_SAMPLER_ARG: 1.5 is not a ratio",
            "OTEL_RESOURCE_ATTRIBUTES: bad percent-escape",
            "OTEL_METRICS_EXPORTER: unsupported exporter `prometheus`",
            "cannot read the client certificate /nonexistent/cert.pem",
            "needs both cert_file and key_file",
        ] {
            assert!(problems.contains(needle), "missing {needle:?} in:\n{problems}");
        }
        let problems = resolve(
            &file("traces: {max_queue_size: 10, max_export_batch_size: 20}\nheaders: {\"bad header\": x}"),
            &env(&[]),
        )
        .unwrap_err()
        .join("\n");
        assert!(
            problems.contains(
                "otlp.traces.max_export_batch_size: must be between 1 and max_queue_size (10)"
            ),
            "{problems}"
        );
        assert!(
            problems.contains("`bad header` is not a valid header name"),
            "{problems}"
        );
    }

    #[test]
    fn scheme_less_grpc_endpoints_follow_insecure() {
        let s = resolve(
            &file("endpoint: collector:4317\nprotocol: grpc\ntls: {insecure: true}"),
            &env(&[]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            s.traces.unwrap().transport.endpoint,
            "http://collector:4317"
        );
        let s = resolve(
            &OtlpConfig::default(),
            &env(&[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ]),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            s.metrics.unwrap().transport.endpoint,
            "https://collector:4317"
        );
    }

    #[test]
    fn resource_attributes_merge_with_service_facts() {
        let e = env(&[
            (
                "OTEL_RESOURCE_ATTRIBUTES",
                "service.name=from-attrs,deployment.environment.name=prod,k8s.pod.name=p%2C1",
            ),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
        ]);
        let s = resolve(&OtlpConfig::default(), &e).unwrap().unwrap();
        let r: BTreeMap<_, _> = s.resource.iter().cloned().collect();
        assert_eq!(s.resource[0], ("service.name".into(), "from-attrs".into()));
        assert_eq!(r["deployment.environment.name"], "prod");
        assert_eq!(r["k8s.pod.name"], "p,1");
        assert_eq!(r["service.version"], SERVICE_VERSION);
        assert_eq!(r["service.instance.id"].len(), 36);
        let mut e2 = e.clone();
        e2.insert("OTEL_SERVICE_NAME".into(), "from-env".into());
        let s = resolve(&OtlpConfig::default(), &e2).unwrap().unwrap();
        assert_eq!(s.resource[0].1, "from-env");
        let s = resolve(
            &file(
                "service_name: from-file\nresource_attributes: {deployment.environment.name: dev}",
            ),
            &e2,
        )
        .unwrap()
        .unwrap();
        let r: BTreeMap<_, _> = s.resource.iter().cloned().collect();
        assert_eq!(s.resource[0].1, "from-file");
        assert_eq!(r["deployment.environment.name"], "dev");
    }

    #[test]
    fn key_values_decode_like_w3c_baggage() {
        assert_eq!(
            parse_key_values(" a=1 , b = x%3Dy ,,").unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), "x=y".into())]
        );
        assert!(parse_key_values("=v").is_err());
        assert!(parse_key_values("a=%F").is_err());
    }
}
