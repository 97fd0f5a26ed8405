//! Parsers: one module per input format, each a pure function from a record's bytes to a
//! [`SecurityEvent`] or a [`ParseError`]. Parsers never touch metrics; the pipeline never parses.
//!
//! - [`audit`]: Confluent audit-log CloudEvents.
//! - [`ocsf`]: OCSF events (Redpanda's audit log).
//! - [`json`]: JSON security events from applications, mapped by config.
//! - [`text`]: plain text whose record key is the event type.
//! - [`log4j`]: frames Kafka's `[%d] %p %m (%c)` log files into multi-line entries.
//! - [`partial`]: a known Kafka message in a line no layout reads (cut, quoted, prefixed).
//! - [`layout`]: a configured log4j `PatternLayout`, for brokers that change Kafka's layout.
//! - [`authorizer`]: authorizer audit lines (`kafka-authorizer.log`) → authorization events.
//! - [`aiven`]: Aiven's authorizer decision lines (`[DENY] Auth request …`) → the same events.
//! - [`qubership`]: Qubership's authorizer decision lines (`Principal = [User:a] is Denied …`).
//! - [`server_log`]: `server.log` authentication failures and rejected connections.
//! - [`controller_log`]: KRaft `controller.log` ACL, SCRAM, config, quota, token and topic changes.
//! - [`zk_change`]: ZooKeeper-era ACL and SCRAM change notifications in `server.log`.
//! - [`request_log`]: `kafka-request.log` completed requests (API, principal, time, errors).
//! - [`Input`]: what a source holds, which picks the parser.
//! - [`broker_log`]: which log an entry belongs to (by logger) and dispatch to the above.
//! - [`shipped`]: log lines in a topic, plain or wrapped in a log shipper's JSON object.
//! - [`json_reader`]: the JSON readers the others share (a zero-copy streaming reader, the depth
//!   check).
//! - [`vocab`]: the field names and outcome, category and reason words the parsers share.
//! - [`time`]: every timestamp, UTC-offset, zone and epoch form the parsers read.

/// A `[bool; 256]` table, built at compile time, of the bytes `c` for which `$holds` is true:
/// one lookup per byte where a check runs on every line.
macro_rules! byte_table {
    (|$c:ident| $holds:expr) => {{
        let mut table = [false; 256];
        let mut b = 0;
        while b < 256 {
            let $c = b as u8;
            table[b] = $holds;
            b += 1;
        }
        table
    }};
}
pub(crate) use byte_table;

pub mod aiven;
pub mod audit;
pub mod authorizer;
pub mod broker_log;
pub mod controller_log;
mod input;
pub mod json;
pub mod json_reader;
pub mod layout;
pub mod log4j;
pub mod ocsf;
pub mod partial;
pub mod qubership;
pub mod request_log;
pub mod server_log;
pub mod shipped;
pub mod sniff;
#[cfg(test)]
pub(crate) mod test_support;
pub mod text;
pub mod time;
pub mod vocab;
pub mod zk_change;

use std::time::SystemTime;

use serde::Deserialize;

pub use input::Input;
pub use json_reader::{check_json_depth, MAX_JSON_DEPTH};
use log4j::{FramerConfig, LogEntry};

use crate::event::{Format, Origin, SecurityEvent};

/// Default and upper limit for one record, in bytes.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 1024 * 1024;

/// One input record, as a source hands it to the pipeline.
#[derive(Debug, Clone)]
pub struct Record<'a> {
    /// Kafka record key (the event type for text events), if any.
    pub key: Option<&'a [u8]>,
    pub payload: &'a [u8],
    /// Kafka record timestamp (or file line time), used when the payload carries no event time.
    pub timestamp: Option<SystemTime>,
    pub origin: Origin<'a>,
    pub observed_time: SystemTime,
    /// W3C trace context headers the record carried (Kafka `traceparent`/`tracestate`), for the
    /// record's span. `None` for records without them.
    pub trace_context: Option<TraceHeaders<'a>>,
}

/// A record's raw `traceparent` and `tracestate` header values, parsed by [`crate::otel`] only
/// when the record's span is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceHeaders<'a> {
    pub traceparent: &'a [u8],
    pub tracestate: Option<&'a [u8]>,
}

impl<'a> Record<'a> {
    /// A record with no key or timestamp, read from memory now. For tests and benchmarks.
    pub fn from_payload(payload: &'a [u8]) -> Self {
        Record {
            key: None,
            payload,
            timestamp: None,
            origin: Origin::Memory,
            observed_time: SystemTime::now(),
            trace_context: None,
        }
    }

    pub fn with_key(mut self, key: &'a [u8]) -> Self {
        self.key = Some(key);
        self
    }
}

/// Why a record could not become an event. `reason()` is the `reason` label of
/// `kafka_security_parse_errors_total`, a closed set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("record is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("record is empty")]
    Empty,
    #[error("record is not valid UTF-8 (first bad byte at {valid_up_to})")]
    InvalidUtf8 { valid_up_to: usize },
    #[error("invalid JSON: {0}")]
    InvalidJson(String),
    #[error("JSON nested deeper than {MAX_JSON_DEPTH} levels")]
    TooDeep,
    #[error("required field `{0}` is missing")]
    MissingField(&'static str),
    #[error("field `{field}` is invalid: {problem}")]
    InvalidField {
        field: &'static str,
        problem: String,
    },
    #[error("record matches no known format or pattern")]
    Unrecognized,
}

/// What an injection error's problem says; the principal, when known, comes last.
const INJECTION: &str = "(log injection suspected)";
const PRINCIPAL_MARK: &str = ", principal ";

impl ParseError {
    pub const REASONS: [&'static str; 8] = [
        "too_large",
        "empty",
        "invalid_utf8",
        "invalid_json",
        "too_deep",
        "missing_field",
        "invalid_field",
        "unrecognized",
    ];

    /// An entry refused as a suspected log injection (a forged line or field) whose decision
    /// cannot be recovered; `principal` is named when it is known.
    pub fn injection(problem: &str, principal: Option<&str>) -> ParseError {
        let problem = match principal {
            Some(p) => format!("{problem} {INJECTION}{PRINCIPAL_MARK}{p}"),
            None => format!("{problem} {INJECTION}"),
        };
        ParseError::InvalidField {
            field: "message",
            problem,
        }
    }

    /// Whether the entry was refused as a suspected log injection (a forged line or field).
    pub fn is_injection(&self) -> bool {
        matches!(self, ParseError::InvalidField { problem, .. }
            if problem.contains(INJECTION))
    }

    /// The principal an injection error names ([`ParseError::injection`]).
    pub fn injection_principal(&self) -> Option<&str> {
        match self {
            ParseError::InvalidField { problem, .. } => problem
                .split_once(INJECTION)
                .and_then(|(_, rest)| rest.strip_prefix(PRINCIPAL_MARK)),
            _ => None,
        }
    }

    /// The same error with the principal an injection error names ([`ParseError::injection`])
    /// replaced by `rename(principal)`; any other error as it is. For pseudonymization.
    pub fn rename_injection_principal(self, rename: impl FnOnce(&str) -> String) -> ParseError {
        if let ParseError::InvalidField { problem, .. } = &self {
            let named = problem.split_once(INJECTION).and_then(|(head, rest)| {
                Some((head.strip_suffix(' ')?, rest.strip_prefix(PRINCIPAL_MARK)?))
            });
            if let Some((head, principal)) = named {
                return ParseError::injection(head, Some(&rename(principal)));
            }
        }
        self
    }

    pub fn reason(&self) -> &'static str {
        match self {
            ParseError::TooLarge { .. } => "too_large",
            ParseError::Empty => "empty",
            ParseError::InvalidUtf8 { .. } => "invalid_utf8",
            ParseError::InvalidJson(_) => "invalid_json",
            ParseError::TooDeep => "too_deep",
            ParseError::MissingField(_) => "missing_field",
            ParseError::InvalidField { .. } => "invalid_field",
            ParseError::Unrecognized => "unrecognized",
        }
    }

    /// Maps a serde_json error to the closest reason.
    pub fn from_json(err: &serde_json::Error) -> ParseError {
        let msg = err.to_string();
        if msg.starts_with("recursion limit exceeded") {
            ParseError::TooDeep
        } else {
            ParseError::InvalidJson(msg)
        }
    }
}

/// Settings for all parsers (the `parsers:` section of the config file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParsersConfig {
    /// Largest record accepted, in bytes; larger ones are counted as `too_large` parse errors and
    /// skipped. Default 1 MiB.
    #[serde(default = "default_max_record_bytes")]
    pub max_record_bytes: usize,
    /// Field mapping for generic JSON events.
    #[serde(default)]
    pub json: json::JsonConfig,
    /// Extra patterns for plain-text events, tried before the built-in phrasings.
    #[serde(default)]
    pub text: text::TextConfig,
}

fn default_max_record_bytes() -> usize {
    DEFAULT_MAX_RECORD_BYTES
}

impl Default for ParsersConfig {
    fn default() -> Self {
        ParsersConfig {
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            json: json::JsonConfig::default(),
            text: text::TextConfig::default(),
        }
    }
}

/// The compiled parsers: built once from config, shared read-only by every source.
#[derive(Debug)]
pub struct Parsers {
    max_record_bytes: usize,
    json: json::JsonMapping,
    text: text::TextRules,
}

impl Parsers {
    /// Compiles the config; returns every problem found (bad regexes, bad paths...).
    pub fn new(config: &ParsersConfig) -> Result<Parsers, Vec<String>> {
        let mut problems = Vec::new();
        if config.max_record_bytes == 0 {
            problems.push("parsers.max_record_bytes: must be greater than 0".to_string());
        }
        let json = json::JsonMapping::new(&config.json).map_err(|p| problems.extend(p));
        let text = text::TextRules::new(&config.text).map_err(|p| problems.extend(p));
        match (json, text) {
            (Ok(json), Ok(text)) if problems.is_empty() => Ok(Parsers {
                max_record_bytes: config.max_record_bytes,
                json,
                text,
            }),
            _ => Err(problems),
        }
    }

    /// Largest record accepted, in bytes.
    pub fn max_record_bytes(&self) -> usize {
        self.max_record_bytes
    }

    /// Parses one record holding `input`: one event, or for the broker-log inputs the log
    /// entries it holds (framed with `framer`), which [`broker_log`] then routes and parses. On
    /// failure returns the format that was tried (`None` when no format could even be chosen)
    /// with the error.
    pub fn parse<'a>(
        &self,
        input: Input,
        framer: &FramerConfig,
        record: &Record<'a>,
    ) -> Result<Parsed<'a>, (Option<Format>, ParseError)> {
        if record.payload.len() > self.max_record_bytes {
            let error = ParseError::TooLarge {
                size: record.payload.len(),
                limit: self.max_record_bytes,
            };
            return Err((input.format(), error));
        }
        let input = match input {
            Input::Auto => detect(record.payload),
            chosen => chosen,
        };
        let event = match input {
            Input::ConfluentAudit => audit::parse(record),
            Input::Ocsf => ocsf::parse(record),
            Input::Json => json::parse(&self.json, record),
            // `auto` was decided above: neither a CloudEvent nor JSON is text.
            Input::Auto | Input::Text => text::parse(&self.text, record),
            Input::BrokerLog
            | Input::AuthorizerLog
            | Input::ServerLog
            | Input::ControllerLog
            | Input::RequestLog => {
                return match shipped::log_entries_choosing(record, framer) {
                    Ok((entries, choice)) if !entries.is_empty() => {
                        Ok(Parsed::Entries(entries, choice))
                    }
                    Ok(_) => Err((input.format(), ParseError::Unrecognized)),
                    Err(error) => Err((input.format(), error)),
                }
            }
        };
        let format = input.format().unwrap_or(Format::Text);
        event
            .map(SecurityEvent::with_actions_from_words)
            .map(Parsed::Event)
            .map_err(|e| (Some(format), e))
    }
}

/// What one record held.
// Returned by value and matched at once; boxing the event would cost an allocation per record.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Parsed<'a> {
    /// One security event.
    Event(SecurityEvent<'a>),
    /// Broker-log entries (at least one), to route and parse with [`broker_log`], and the
    /// layout and line prefix they were read in (`None`: a message without its header).
    Entries(Vec<LogEntry>, Option<log4j::Choice>),
}

impl<'a> Parsed<'a> {
    /// The event, when the record was one.
    pub fn event(self) -> Option<SecurityEvent<'a>> {
        match self {
            Parsed::Event(event) => Some(event),
            Parsed::Entries(..) => None,
        }
    }
}

/// Picks the input a record is from its payload: a JSON object naming a Confluent CloudEvent type
/// is `confluent_audit`, one with OCSF's `class_uid` and `category_uid` is `ocsf`, any other JSON
/// object is `json`, everything else is `text`.
pub fn detect(payload: &[u8]) -> Input {
    if json_reader::first_byte(payload) != Some(b'{') {
        return Input::Text;
    }
    if memchr::memmem::find(payload, b"\"io.confluent.").is_some()
        && memchr::memmem::find(payload, b"\"specversion\"").is_some()
    {
        Input::ConfluentAudit
    } else if ocsf::looks_like(payload) {
        Input::Ocsf
    } else {
        Input::Json
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_formats() {
        assert_eq!(
            detect(br#"{"specversion":"1.0","type":"io.confluent.kafka.server/authorization"}"#),
            Input::ConfluentAudit
        );
        assert_eq!(detect(br#" {"user":"bob","action":"login"}"#), Input::Json);
        assert_eq!(
            detect(br#"{"category_uid":3,"class_uid":3002,"status_id":1}"#),
            Input::Ocsf
        );
        assert_eq!(detect(b"User JohnDoe logged in successfully"), Input::Text);
        assert_eq!(detect(b""), Input::Text);
    }

    #[test]
    fn oversized_records_are_rejected_before_parsing() {
        let parsers = Parsers::new(&ParsersConfig {
            max_record_bytes: 8,
            ..ParsersConfig::default()
        })
        .unwrap();
        let err = parsers
            .parse(
                Input::Auto,
                &FramerConfig::default(),
                &Record::from_payload(b"123456789"),
            )
            .unwrap_err();
        assert_eq!(err.1.reason(), "too_large");
    }
}
