//! Reading the `OTEL_*` variables' text, and checking URLs and headers wherever they come from.
//! Each parser's error says what is wrong with the value; the caller names the variable.

use std::path::PathBuf;

use super::file::{Compression, Protocol, SamplerName, Temporality};

pub(super) fn parse_ms(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<u64>()
        .map_err(|_| format!("`{s}` is not a whole number of milliseconds"))
}

/// A count in a variable that shares the milliseconds wording (`OTEL_BSP_MAX_QUEUE_SIZE`).
pub(super) fn parse_count(s: &str) -> Result<usize, String> {
    parse_ms(s).map(|n| n as usize)
}

pub(super) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("`{s}` is not true or false")),
    }
}

pub(super) fn parse_text(s: &str) -> Result<String, String> {
    Ok(s.to_string())
}

pub(super) fn parse_path(s: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(s))
}

pub(super) fn parse_protocol(s: &str) -> Result<Protocol, String> {
    match s.trim() {
        "grpc" => Ok(Protocol::Grpc),
        "http/protobuf" => Ok(Protocol::HttpProtobuf),
        _ => Err(format!(
            "unknown protocol `{s}`; expected `grpc` or `http/protobuf` (http/json is not supported)"
        )),
    }
}

pub(super) fn parse_compression(s: &str) -> Result<Compression, String> {
    match s.trim() {
        "gzip" => Ok(Compression::Gzip),
        "none" => Ok(Compression::None),
        _ => Err(format!("unknown compression `{s}`; expected gzip or none")),
    }
}

pub(super) fn parse_sampler(s: &str) -> Result<SamplerName, String> {
    Ok(match s.trim() {
        "always_on" => SamplerName::AlwaysOn,
        "always_off" => SamplerName::AlwaysOff,
        "traceidratio" => SamplerName::Traceidratio,
        "parentbased_always_on" => SamplerName::ParentbasedAlwaysOn,
        "parentbased_always_off" => SamplerName::ParentbasedAlwaysOff,
        "parentbased_traceidratio" => SamplerName::ParentbasedTraceidratio,
        _ => return Err(format!(
            "unsupported sampler `{s}`; expected one of always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off, parentbased_traceidratio"
        )),
    })
}

pub(super) fn parse_ratio(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| format!("`{s}` is not a number"))
}

/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, case-insensitive as the spec says.
pub(super) fn parse_temporality(s: &str) -> Result<Temporality, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "cumulative" => Ok(Temporality::Cumulative),
        "delta" => Ok(Temporality::Delta),
        "lowmemory" => Ok(Temporality::Lowmemory),
        _ => Err(format!(
            "unknown temporality preference `{s}`; expected cumulative, delta or lowmemory"
        )),
    }
}

/// `OTEL_METRICS_EXPORTER`, `OTEL_TRACES_EXPORTER`, `OTEL_LOGS_EXPORTER`: true for `otlp`, false
/// for `none`.
pub(super) fn parse_exporter(s: &str) -> Result<bool, String> {
    match s.trim() {
        "otlp" => Ok(true),
        "none" => Ok(false),
        other => Err(format!(
            "unsupported exporter `{other}`; expected otlp or none"
        )),
    }
}

/// `OTEL_METRICS_EXEMPLAR_FILTER`: whether exemplars are attached.
pub(super) fn parse_exemplar_filter(s: &str) -> Result<bool, String> {
    match s.trim() {
        "trace_based" | "always_on" => Ok(true),
        "always_off" => Ok(false),
        other => Err(format!(
            "unknown filter `{other}`; expected trace_based, always_on or always_off"
        )),
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
pub(super) fn check_header(name: &str, value: &str) -> Result<(), String> {
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

pub(super) fn check_url(url: &str) -> Result<(), String> {
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
