//! The resolver table: every OTLP setting is one row, naming its key in the `otlp:` section, its
//! environment variable and the parser of the variable's text. One function, [`lookup`], reads
//! every row in one order: the config file, then the signal-specific variable, then the generic
//! one. A variable whose text does not parse is a problem named after the variable, and the
//! setting keeps its default (the next variable is not consulted).
//!
//! - [`Connection`] rows ([`PROTOCOL`], [`TIMEOUT`], …) are read from `otlp.<signal>.<key>`,
//!   `otlp.<key>`, `OTEL_EXPORTER_OTLP_<SIGNAL>_<NAME>`, `OTEL_EXPORTER_OTLP_<NAME>`.
//! - [`Own`] rows ([`INTERVAL`], [`SAMPLER`], …) belong to one signal: its key, its variable.

use std::path::PathBuf;

use super::file::{
    Compression, LogsSignalConfig, MetricsSignalConfig, OtlpConfig, Protocol, SamplerName,
    SignalConfig, Temporality, TracesSignalConfig,
};
use super::text::*;
use super::Env;
use crate::otel::Signal;

/// Collects problems, each prefixed with where the value came from.
pub(super) struct Problems(pub(super) Vec<String>);

impl Problems {
    pub(super) fn push(&mut self, at: &str, problem: impl std::fmt::Display) {
        self.0.push(format!("{at}: {problem}"));
    }
}

/// A value and where it was found (a config path or a variable), for later messages.
pub(super) struct Found<T> {
    pub(super) value: T,
    pub(super) at: String,
}

/// The first value set in `files`, else the first variable set in `vars`, parsed.
pub(super) fn lookup<T: Clone>(
    env: &dyn Env,
    files: &[(Option<&T>, String)],
    vars: &[String],
    parse: fn(&str) -> Result<T, String>,
    problems: &mut Problems,
) -> Option<Found<T>> {
    if let Some((Some(value), at)) = files.iter().find(|(v, _)| v.is_some()) {
        return Some(Found {
            value: (*value).clone(),
            at: at.clone(),
        });
    }
    let (name, text) = vars
        .iter()
        .find_map(|name| env.var(name).map(|text| (name, text)))?;
    match parse(&text) {
        Ok(value) => Some(Found {
            value,
            at: name.clone(),
        }),
        Err(e) => {
            problems.push(name, e);
            None
        }
    }
}

/// `OTEL_EXPORTER_OTLP_<name>`.
pub(super) fn generic_var(name: &str) -> String {
    format!("OTEL_EXPORTER_OTLP_{name}")
}

/// `OTEL_EXPORTER_OTLP_<SIGNAL>_<name>`.
pub(super) fn signal_var(signal: Signal, name: &str) -> String {
    let signal = signal.as_str().to_ascii_uppercase();
    format!("OTEL_EXPORTER_OTLP_{signal}_{name}")
}

/// A connection setting: a [`SignalConfig`] field and an `OTEL_EXPORTER_OTLP_*` variable.
pub(super) struct Connection<T: 'static> {
    /// Its path under `otlp:` and `otlp.<signal>:`.
    pub(super) key: &'static str,
    /// `<NAME>` in `OTEL_EXPORTER_OTLP_[<SIGNAL>_]<NAME>`.
    pub(super) var: &'static str,
    pub(super) file: fn(&SignalConfig) -> Option<&T>,
    pub(super) parse: fn(&str) -> Result<T, String>,
}

/// A setting of one signal (or of OTLP as a whole), in its own part of the file, `C`.
pub(super) struct Own<C: 'static, T: 'static> {
    /// Its key in that part (none when only the environment sets it).
    pub(super) key: &'static str,
    pub(super) var: &'static str,
    pub(super) file: fn(&C) -> Option<&T>,
    pub(super) parse: fn(&str) -> Result<T, String>,
}

impl<C, T: Clone> Own<C, T> {
    /// Looks the setting up in `section`, the part of the file at `prefix` (`otlp.traces`).
    pub(super) fn get(
        &self,
        env: &dyn Env,
        section: &C,
        prefix: &str,
        problems: &mut Problems,
    ) -> Option<Found<T>> {
        let files = [((self.file)(section), format!("{prefix}.{}", self.key))];
        lookup(env, &files, &[self.var.to_string()], self.parse, problems)
    }
}

/// One `const` per row.
macro_rules! table {
    ($($name:ident: $row:ident<$($t:ty),+> = $key:literal, $var:literal, |$c:pat_param| $file:expr, $parse:expr;)*) => {$(
        pub(super) const $name: $row<$($t),+> = $row { key: $key, var: $var, file: |$c| $file, parse: $parse };
    )*};
}

#[rustfmt::skip]
table! {
    // row                             key              variable (NAME)        file                                   parser
    ENDPOINT:    Connection<String>      = "endpoint",      "ENDPOINT",           |c| c.endpoint.as_ref(),               parse_text;
    PROTOCOL:    Connection<Protocol>    = "protocol",      "PROTOCOL",           |c| c.protocol.as_ref(),               parse_protocol;
    INSECURE:    Connection<bool>        = "tls.insecure",  "INSECURE",           |c| c.tls.as_ref()?.insecure.as_ref(), parse_bool;
    TIMEOUT:     Connection<u64>         = "timeout_ms",    "TIMEOUT",            |c| c.timeout_ms.as_ref(),             parse_ms;
    COMPRESSION: Connection<Compression> = "compression",   "COMPRESSION",        |c| c.compression.as_ref(),            parse_compression;
    CA_FILE:     Connection<PathBuf>     = "tls.ca_file",   "CERTIFICATE",        |c| c.tls.as_ref()?.ca_file.as_ref(),  parse_path;
    CERT_FILE:   Connection<PathBuf>     = "tls.cert_file", "CLIENT_CERTIFICATE", |c| c.tls.as_ref()?.cert_file.as_ref(), parse_path;
    KEY_FILE:    Connection<PathBuf>     = "tls.key_file",  "CLIENT_KEY",         |c| c.tls.as_ref()?.key_file.as_ref(), parse_path;
}

/// Headers merge rather than override (see `resolve::headers`): the same names, no row.
pub(super) const HEADERS: (&str, &str) = ("headers", "HEADERS");

#[rustfmt::skip]
table! {
    // row                                                key                      variable                          file                               parser
    // `otlp.enabled` is no row: it beats OTEL_SDK_DISABLED but means something else.
    SDK_DISABLED:          Own<OtlpConfig, bool>                 = "",                     "OTEL_SDK_DISABLED",              |_| None,                          parse_bool;
    METRICS_EXPORTER:      Own<MetricsSignalConfig, bool>        = "enabled",              "OTEL_METRICS_EXPORTER",          |m| m.signal.enabled.as_ref(),     parse_exporter;
    INTERVAL:              Own<MetricsSignalConfig, u64>         = "interval_ms",          "OTEL_METRIC_EXPORT_INTERVAL",    |m| m.interval_ms.as_ref(),        parse_ms;
    METRIC_EXPORT_TIMEOUT: Own<MetricsSignalConfig, u64>         = "",                     "OTEL_METRIC_EXPORT_TIMEOUT",     |_| None,                          parse_ms;
    EXEMPLARS:             Own<MetricsSignalConfig, bool>        = "exemplars",            "OTEL_METRICS_EXEMPLAR_FILTER",   |m| m.exemplars.as_ref(),          parse_exemplar_filter;
    TEMPORALITY:           Own<MetricsSignalConfig, Temporality> = "temporality",          "OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE", |m| m.temporality.as_ref(), parse_temporality;
    TRACES_EXPORTER:       Own<TracesSignalConfig, bool>         = "enabled",              "OTEL_TRACES_EXPORTER",           |t| t.signal.enabled.as_ref(),     parse_exporter;
    SAMPLER:               Own<TracesSignalConfig, SamplerName>  = "sampler",              "OTEL_TRACES_SAMPLER",            |t| t.sampler.as_ref(),            parse_sampler;
    SAMPLER_ARG:           Own<TracesSignalConfig, f64>          = "sampler_arg",          "OTEL_TRACES_SAMPLER_ARG",        |t| t.sampler_arg.as_ref(),        parse_ratio;
    MAX_QUEUE_SIZE:        Own<TracesSignalConfig, usize>        = "max_queue_size",       "OTEL_BSP_MAX_QUEUE_SIZE",        |t| t.max_queue_size.as_ref(),     parse_count;
    MAX_EXPORT_BATCH_SIZE: Own<TracesSignalConfig, usize>        = "max_export_batch_size", "OTEL_BSP_MAX_EXPORT_BATCH_SIZE", |t| t.max_export_batch_size.as_ref(), parse_count;
    SCHEDULE_DELAY:        Own<TracesSignalConfig, u64>          = "schedule_delay_ms",    "OTEL_BSP_SCHEDULE_DELAY",        |t| t.schedule_delay_ms.as_ref(),  parse_ms;
    BSP_EXPORT_TIMEOUT:    Own<TracesSignalConfig, u64>          = "",                     "OTEL_BSP_EXPORT_TIMEOUT",        |_| None,                          parse_ms;
    LOGS_EXPORTER:         Own<LogsSignalConfig, bool>           = "enabled",              "OTEL_LOGS_EXPORTER",             |l| l.signal.enabled.as_ref(),     parse_exporter;
    BLRP_MAX_QUEUE_SIZE:   Own<LogsSignalConfig, usize>          = "max_queue_size",       "OTEL_BLRP_MAX_QUEUE_SIZE",       |l| l.max_queue_size.as_ref(),     parse_count;
    BLRP_MAX_EXPORT_BATCH_SIZE: Own<LogsSignalConfig, usize>     = "max_export_batch_size", "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE", |l| l.max_export_batch_size.as_ref(), parse_count;
    BLRP_SCHEDULE_DELAY:   Own<LogsSignalConfig, u64>            = "schedule_delay_ms",    "OTEL_BLRP_SCHEDULE_DELAY",       |l| l.schedule_delay_ms.as_ref(),  parse_ms;
    BLRP_EXPORT_TIMEOUT:   Own<LogsSignalConfig, u64>            = "",                     "OTEL_BLRP_EXPORT_TIMEOUT",       |_| None,                          parse_ms;
}
