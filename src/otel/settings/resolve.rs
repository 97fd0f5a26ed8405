//! Resolution of the `otlp:` section and the `OTEL_*` variables into [`Settings`]: each signal's
//! rows of the [table](super::table), then the checks that span several values (a batch no
//! larger than the queue, a client certificate with its key, a timeout within the exporter's).
//! Spans and log records share the batch processor's checks ([`batching`]).
//!
//! The endpoint alone puts the signal's variable before the file's generic value, because a
//! signal endpoint is a full URL while a generic one gets the signal's path.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::file::{Compression, OtlpConfig, Protocol, SamplerName, SignalConfig, Temporality};
use super::table::*;
use super::text::{check_header, check_url, parse_key_values};
use super::{Batching, Env, LogsSettings, MetricsSettings, Settings, TracesSettings, Transport};
use crate::otel::{Signal, SERVICE_VERSION};

/// Where one signal's settings are read: the file's sections and the environment.
struct Scope<'a> {
    env: &'a dyn Env,
    signal: Signal,
    /// `otlp.<signal>:`'s connection settings.
    own: &'a SignalConfig,
    /// `otlp:`'s.
    all: &'a SignalConfig,
}

impl<'a> Scope<'a> {
    fn of(file: &'a OtlpConfig, env: &'a dyn Env, signal: Signal) -> Scope<'a> {
        let own = match signal {
            Signal::Metrics => &file.metrics.signal,
            Signal::Traces => &file.traces.signal,
            Signal::Logs => &file.logs.signal,
        };
        Scope {
            env,
            signal,
            own,
            all: &file.all,
        }
    }

    /// `otlp.<signal>`.
    fn prefix(&self) -> String {
        format!("otlp.{}", self.signal.as_str())
    }

    /// `otlp.<signal>.<key>`.
    fn path(&self, key: &str) -> String {
        format!("{}.{key}", self.prefix())
    }

    /// The file values and the variables of a connection setting, the signal's first.
    #[allow(clippy::type_complexity)]
    fn levels<T>(&self, s: &Connection<T>) -> ([(Option<&'a T>, String); 2], [String; 2]) {
        let files = [
            ((s.file)(self.own), self.path(s.key)),
            ((s.file)(self.all), format!("otlp.{}", s.key)),
        ];
        (files, [signal_var(self.signal, s.var), generic_var(s.var)])
    }

    fn get<T: Clone>(&self, s: &Connection<T>, problems: &mut Problems) -> Option<T> {
        let (files, vars) = self.levels(s);
        lookup(self.env, &files, &vars, s.parse, problems).map(|f| f.value)
    }

    /// A setting of the signal alone, in `section` (the signal's part of the file).
    fn own<C, T: Clone>(&self, s: &Own<C, T>, section: &C, problems: &mut Problems) -> Option<T> {
        s.get(self.env, section, &self.prefix(), problems)
            .map(|f| f.value)
    }
}

/// The URL to send one signal to: the signal's endpoint as is, else the generic one (with the
/// signal's path for HTTP), else the default; a scheme-less gRPC endpoint gets the scheme
/// `OTEL_EXPORTER_OTLP_INSECURE` implies.
fn endpoint(
    scope: &Scope<'_>,
    protocol: Protocol,
    insecure: bool,
    problems: &mut Problems,
) -> String {
    let ([signal_file, generic_file], [signal_var, generic_var]) = scope.levels(&ENDPOINT);
    let (env, parse) = (scope.env, ENDPOINT.parse);
    let found = match lookup(env, &[signal_file], &[signal_var], parse, problems) {
        Some(signal) => signal,
        None => {
            let generic = lookup(env, &[generic_file], &[generic_var], parse, problems);
            let Found { value: base, at } = generic.unwrap_or_else(|| Found {
                value: match protocol {
                    Protocol::Grpc => "http://localhost:4317".into(),
                    Protocol::HttpProtobuf => "http://localhost:4318".into(),
                },
                at: "default endpoint".into(),
            });
            let value = match protocol {
                Protocol::Grpc => base,
                Protocol::HttpProtobuf => {
                    let base = base.trim_end_matches('/');
                    format!("{base}/v1/{}", scope.signal.as_str())
                }
            };
            Found { value, at }
        }
    };
    let has_scheme = found.value.starts_with("http://") || found.value.starts_with("https://");
    let endpoint = if protocol == Protocol::Grpc && !has_scheme {
        let scheme = if insecure { "http" } else { "https" };
        format!("{scheme}://{}", found.value)
    } else {
        found.value
    };
    if let Err(e) = check_url(&endpoint) {
        problems.push(&found.at, e);
    }
    endpoint
}

/// Headers, merged by (lowercased) name: generic variable < signal variable < `otlp.headers`
/// < `otlp.<signal>.headers`.
fn headers(scope: &Scope<'_>, problems: &mut Problems) -> Vec<(String, String)> {
    let (key, var) = HEADERS;
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for name in [generic_var(var), signal_var(scope.signal, var)] {
        if let Some(text) = scope.env.var(&name) {
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
        (format!("otlp.{key}"), &scope.all.headers),
        (scope.path(key), &scope.own.headers),
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
            problems.push(&format!("otlp {} headers", scope.signal.as_str()), e);
        }
    }
    headers.into_iter().collect()
}

/// The CA file and the client certificate and key, each checked for readability.
fn tls_files(
    scope: &Scope<'_>,
    problems: &mut Problems,
) -> (Option<PathBuf>, Option<(PathBuf, PathBuf)>) {
    let ca_file = scope.get(&CA_FILE, problems);
    let cert = scope.get(&CERT_FILE, problems);
    let key = scope.get(&KEY_FILE, problems);
    let at = format!("otlp {} tls", scope.signal.as_str());
    for (what, file) in [
        ("CA certificate", &ca_file),
        ("client certificate", &cert),
        ("client key", &key),
    ] {
        if let Some(f) = file {
            if let Err(e) = std::fs::metadata(f) {
                problems.push(&at, format!("cannot read the {what} {}: {e}", f.display()));
            }
        }
    }
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            problems.push(
                &at,
                "a client certificate needs both cert_file and key_file (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY)",
            );
            None
        }
    };
    (ca_file, client_cert)
}

/// How to reach the collector for one signal.
fn transport(scope: &Scope<'_>, problems: &mut Problems) -> Transport {
    let protocol = scope
        .get(&PROTOCOL, problems)
        .unwrap_or(Protocol::HttpProtobuf);
    let insecure = scope.get(&INSECURE, problems).unwrap_or(false);
    let endpoint = endpoint(scope, protocol, insecure, problems);
    let headers = headers(scope, problems);
    let timeout_ms = scope.get(&TIMEOUT, problems).unwrap_or(10_000);
    if timeout_ms == 0 {
        problems.push(&scope.path(TIMEOUT.key), "must be at least 1");
    }
    let compression = scope
        .get(&COMPRESSION, problems)
        .unwrap_or(Compression::None);
    let (ca_file, client_cert) = tls_files(scope, problems);
    Transport {
        endpoint,
        protocol,
        headers,
        timeout: Duration::from_millis(timeout_ms.max(1)),
        compression,
        ca_file,
        client_cert,
    }
}

/// The metric signal's settings, exemplars as configured (the caller turns them off without
/// traces).
fn metrics(file: &OtlpConfig, env: &dyn Env, problems: &mut Problems) -> MetricsSettings {
    let m = &file.metrics;
    let scope = Scope::of(file, env, Signal::Metrics);
    let mut transport = transport(&scope, problems);
    let interval_ms = scope.own(&INTERVAL, m, problems).unwrap_or(60_000);
    if interval_ms == 0 {
        problems.push(&scope.path(INTERVAL.key), "must be at least 1");
    }
    let export_timeout_ms = scope
        .own(&METRIC_EXPORT_TIMEOUT, m, problems)
        .unwrap_or(30_000);
    let exemplars = scope.own(&EXEMPLARS, m, problems).unwrap_or(true);
    let temporality = scope
        .own(&TEMPORALITY, m, problems)
        .unwrap_or(Temporality::Cumulative);
    transport.timeout = transport
        .timeout
        .min(Duration::from_millis(export_timeout_ms.max(1)));
    MetricsSettings {
        transport,
        interval: Duration::from_millis(interval_ms),
        exemplars,
        temporality,
    }
}

/// The rows of a batch processor's settings in a signal's section `C`.
struct BatchRows<C: 'static> {
    queue: &'static Own<C, usize>,
    batch: &'static Own<C, usize>,
    delay: &'static Own<C, u64>,
    timeout: &'static Own<C, u64>,
    /// The spec's default schedule delay (5000 ms for spans, 1000 ms for log records).
    default_delay_ms: u64,
}

/// A batch processor's settings, checked together; bounds the transport's timeout by the
/// processor's export timeout.
fn batching<C>(
    scope: &Scope<'_>,
    rows: BatchRows<C>,
    section: &C,
    transport: &mut Transport,
    problems: &mut Problems,
) -> Batching {
    let max_queue_size = scope.own(rows.queue, section, problems).unwrap_or(2048);
    let max_export_batch_size = scope.own(rows.batch, section, problems).unwrap_or(512);
    let schedule_delay_ms = scope
        .own(rows.delay, section, problems)
        .unwrap_or(rows.default_delay_ms);
    let timeout_ms = scope.own(rows.timeout, section, problems).unwrap_or(30_000);
    if max_queue_size == 0 {
        problems.push(&scope.path(rows.queue.key), "must be at least 1");
    }
    if max_export_batch_size == 0 || max_export_batch_size > max_queue_size.max(1) {
        problems.push(
            &scope.path(rows.batch.key),
            format!("must be between 1 and max_queue_size ({max_queue_size})"),
        );
    }
    if schedule_delay_ms == 0 {
        problems.push(&scope.path(rows.delay.key), "must be at least 1");
    }
    transport.timeout = transport
        .timeout
        .min(Duration::from_millis(timeout_ms.max(1)));
    Batching {
        max_queue_size,
        max_export_batch_size,
        schedule_delay: Duration::from_millis(schedule_delay_ms),
        export_timeout: transport.timeout,
    }
}

/// The trace signal's settings, the span processor's included.
fn traces(file: &OtlpConfig, env: &dyn Env, problems: &mut Problems) -> TracesSettings {
    let t = &file.traces;
    let scope = Scope::of(file, env, Signal::Traces);
    let mut transport = transport(&scope, problems);
    let sampler = scope
        .own(&SAMPLER, t, problems)
        .unwrap_or(SamplerName::ParentbasedAlwaysOn);
    let (ratio, ratio_at) = match SAMPLER_ARG.get(env, t, &scope.prefix(), problems) {
        Some(Found { value, at }) => (value, at),
        None => (1.0, SAMPLER_ARG.var.to_string()),
    };
    if !(0.0..=1.0).contains(&ratio) {
        problems.push(&ratio_at, format!("{ratio} is not a ratio between 0 and 1"));
    }
    let rows = BatchRows {
        queue: &MAX_QUEUE_SIZE,
        batch: &MAX_EXPORT_BATCH_SIZE,
        delay: &SCHEDULE_DELAY,
        timeout: &BSP_EXPORT_TIMEOUT,
        default_delay_ms: 5000,
    };
    let batch = batching(&scope, rows, t, &mut transport, problems);
    TracesSettings {
        transport,
        sampler,
        ratio,
        always_sample_negative: t.always_sample_negative.unwrap_or(false),
        batch,
    }
}

/// The log signal's settings, the log record processor's included.
fn logs(file: &OtlpConfig, env: &dyn Env, problems: &mut Problems) -> LogsSettings {
    let scope = Scope::of(file, env, Signal::Logs);
    let mut transport = transport(&scope, problems);
    let rows = BatchRows {
        queue: &BLRP_MAX_QUEUE_SIZE,
        batch: &BLRP_MAX_EXPORT_BATCH_SIZE,
        delay: &BLRP_SCHEDULE_DELAY,
        timeout: &BLRP_EXPORT_TIMEOUT,
        default_delay_ms: 1000,
    };
    let batch = batching(&scope, rows, &file.logs, &mut transport, problems);
    LogsSettings { transport, batch }
}

/// Whether OTLP is on at all: `otlp.enabled`, else on when an endpoint is set anywhere unless
/// `OTEL_SDK_DISABLED=true`.
fn enabled(file: &OtlpConfig, env: &dyn Env, problems: &mut Problems) -> bool {
    let sdk_disabled = SDK_DISABLED
        .get(env, file, "otlp", problems)
        .is_some_and(|f| f.value);
    let endpoint_vars = [
        generic_var(ENDPOINT.var),
        signal_var(Signal::Metrics, ENDPOINT.var),
        signal_var(Signal::Traces, ENDPOINT.var),
        signal_var(Signal::Logs, ENDPOINT.var),
    ];
    let sections = [
        &file.all,
        &file.metrics.signal,
        &file.traces.signal,
        &file.logs.signal,
    ];
    let any_endpoint = sections.iter().any(|c| c.endpoint.is_some())
        || endpoint_vars.iter().any(|v| env.var(v).is_some());
    file.all.enabled.unwrap_or(any_endpoint && !sdk_disabled)
}

/// Resolves the file section and the environment. `Ok(None)` when OTLP is off; `Err` lists every
/// problem, each naming the config path or variable it comes from.
pub fn resolve(file: &OtlpConfig, env: &dyn Env) -> Result<Option<Settings>, Vec<String>> {
    let mut problems = Problems(Vec::new());
    let enabled = enabled(file, env, &mut problems);
    let metrics_on = METRICS_EXPORTER
        .get(env, &file.metrics, "otlp.metrics", &mut problems)
        .is_none_or(|f| f.value);
    let traces_on = TRACES_EXPORTER
        .get(env, &file.traces, "otlp.traces", &mut problems)
        .is_none_or(|f| f.value);
    let logs_on = LOGS_EXPORTER
        .get(env, &file.logs, "otlp.logs", &mut problems)
        .is_none_or(|f| f.value);
    // Always resolve every signal, so `check-config` reports every problem even when off.
    let metrics = metrics(file, env, &mut problems);
    let traces = traces(file, env, &mut problems);
    let logs = logs(file, env, &mut problems);
    let resource = resource(file, env, &mut problems);
    if !problems.0.is_empty() {
        return Err(problems.0);
    }
    if !enabled || (!metrics_on && !traces_on && !logs_on) {
        return Ok(None);
    }
    Ok(Some(Settings {
        resource,
        metrics: metrics_on.then_some(MetricsSettings {
            exemplars: metrics.exemplars && traces_on,
            ..metrics
        }),
        traces: traces_on.then_some(traces),
        logs: logs_on.then_some(logs),
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
