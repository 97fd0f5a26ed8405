//! What the fuzz targets share: the ways one input is read as log entries, messages and records.
//!
//! Every target checks that its parser returns (an event, "not a security line" or an error)
//! and never panics, hangs or allocates without bound; libFuzzer reports any of those as a crash.

use std::time::{SystemTime, UNIX_EPOCH};

use kafka_security_exporter::parse::broker_log::{self, LogOutput};
use kafka_security_exporter::parse::log4j::{self, FramerConfig, LogEntry};
use kafka_security_exporter::parse::{Input, Record};

/// A fixed clock, so a crash replays the same way.
pub const NOW: SystemTime = UNIX_EPOCH;

/// The input as text: invalid UTF-8 replaced, so every input reaches the parser.
pub fn text(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// The input framed as log4j lines (Kafka's layout or any the framer recognizes by itself).
pub fn entries(data: &[u8]) -> Vec<LogEntry> {
    log4j::frame_all(FramerConfig::default(), data)
}

/// Calls `parse` on the input as one message and on each of its lines: the message parsers'
/// callers hand them `%m`, which is one line unless it holds a stack trace.
pub fn each_message(data: &[u8], mut parse: impl FnMut(&str)) {
    let text = text(data);
    parse(&text);
    if text.contains('\n') {
        text.split('\n').for_each(parse);
    }
}

/// Routes each framed entry as a file of `input` would and parses it with the log's parser,
/// as the pipeline does.
pub fn route_and_parse(input: Input, entries: &[LogEntry]) {
    for entry in entries {
        let format = broker_log::route(input, entry);
        let _ = broker_log::file_kind(format);
        if let Ok(LogOutput::Event(event, _)) = broker_log::parse_entry(format, entry) {
            let _ = event.with_actions_from_words();
        }
    }
}

/// A record of `payload` with a fixed clock, with a key when `key` is not empty.
pub fn record<'a>(key: &'a [u8], payload: &'a [u8]) -> Record<'a> {
    let mut record = Record::from_payload(payload);
    record.observed_time = NOW;
    if !key.is_empty() {
        record = record.with_key(key);
    }
    record
}

/// Splits the input in two at its first NUL byte (`(data, empty)` without one): two inputs
/// from one, such as a record key and payload, or a layout and a line.
pub fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match memchr(0, data) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[]),
    }
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}
