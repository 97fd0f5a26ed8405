//! Broker logs as AWS delivers them for Amazon MSK: CloudWatch Logs records, JSON-wrapped, each
//! `logEvents[].message` one broker log line. Unwrapped here into the plain lines they hold, which
//! the log4j framer then reads like any broker log file.
//!
//! Read shapes:
//!
//! - CloudWatch Logs subscription records (`{"messageType":"DATA_MESSAGE", "owner", "logGroup",
//!   "logStream", "subscriptionFilters", "logEvents":[{"id","timestamp","message"}]}`), as a
//!   subscription filter sends them to Firehose, which writes them to S3 back to back
//!   (`}{`, each record gzip-compressed: the file is a multi-member gzip) or one per line;
//! - `aws logs get-log-events` / `filter-log-events` output (`{"events":[{"timestamp",
//!   "message", …}], …}`, pretty-printed).
//!
//! `CONTROL_MESSAGE` records (CloudWatch's health checks of the destination) hold no broker line
//! and are skipped. A record with neither `logEvents` nor `events`, or JSON that cannot be read,
//! is counted as unreadable (the summary's count) with a warning; JSON that cannot be read ends
//! the file, as nothing after it can be placed.

use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;

use serde::Deserialize;
use serde_json::de::IoRead;
use serde_json::StreamDeserializer;

/// Whether a file starting with `head` holds CloudWatch Logs records: a JSON object (possibly
/// pretty-printed) with `logEvents`, or `events` with CloudWatch's `ingestionTime` or
/// `logStreamName`.
pub fn looks_like(head: &[u8]) -> bool {
    let has = |s: &[u8]| memchr::memmem::find(head, s).is_some();
    head.trim_ascii_start().first() == Some(&b'{')
        && (has(b"\"logEvents\"")
            || (has(b"\"events\"") && (has(b"\"ingestionTime\"") || has(b"\"logStreamName\""))))
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "messageType")]
    message_type: Option<String>,
    #[serde(rename = "logEvents", alias = "events")]
    log_events: Option<Vec<LogEvent>>,
}

#[derive(Deserialize)]
struct LogEvent {
    message: String,
}

/// The broker lines of a file of CloudWatch Logs records, one `message` after the other, each
/// ending in a newline.
pub struct Unwrapped {
    records: StreamDeserializer<'static, IoRead<Box<dyn Read>>, Envelope>,
    path: String,
    out: Vec<u8>,
    at: usize,
    done: bool,
    unreadable: Rc<Cell<u64>>,
}

impl Unwrapped {
    /// Reads `reader` (the file at `path`, decompressed); records that cannot be read are
    /// counted in `unreadable`.
    pub fn new(reader: Box<dyn Read>, path: String, unreadable: Rc<Cell<u64>>) -> Unwrapped {
        Unwrapped {
            records: serde_json::Deserializer::from_reader(reader).into_iter(),
            path,
            out: Vec::new(),
            at: 0,
            done: false,
            unreadable,
        }
    }

    fn unreadable(&self, problem: &str) {
        self.unreadable.set(self.unreadable.get() + 1);
        tracing::warn!(file = %self.path, problem, "Skipped an unreadable CloudWatch Logs record.");
    }

    /// Fills `out` with the next record's lines; false at the end.
    fn next_record(&mut self) -> io::Result<bool> {
        while !self.done {
            let envelope = match self.records.next() {
                None => return Ok(false),
                Some(Ok(e)) => e,
                Some(Err(e)) if e.is_io() => return Err(e.into()),
                Some(Err(e)) => {
                    self.unreadable(&format!(
                        "invalid JSON, the rest of the file is not read: {e}"
                    ));
                    self.done = true;
                    return Ok(false);
                }
            };
            if envelope.message_type.as_deref() == Some("CONTROL_MESSAGE") {
                continue;
            }
            let Some(events) = envelope.log_events else {
                self.unreadable("a JSON object with neither `logEvents` nor `events`");
                continue;
            };
            self.out.clear();
            self.at = 0;
            for event in events {
                self.out.extend_from_slice(event.message.as_bytes());
                if !event.message.ends_with('\n') {
                    self.out.push(b'\n');
                }
            }
            if !self.out.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

impl Read for Unwrapped {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.out.len() {
            if !self.next_record()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn unwrap(input: &str) -> (String, u64) {
        let count = Rc::new(Cell::new(0));
        let mut r = Unwrapped::new(
            Box::new(Cursor::new(input.as_bytes().to_vec())),
            "t".into(),
            count.clone(),
        );
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        (out, count.get())
    }

    #[test]
    fn unwraps_each_shape() {
        let sub = r#"{"messageType":"DATA_MESSAGE","logGroup":"g","logStream":"broker-1","logEvents":[{"id":"1","timestamp":1,"message":"a"},{"id":"2","timestamp":2,"message":"b\n"}]}"#;
        let control = r#"{"messageType":"CONTROL_MESSAGE","logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}"#;
        // Back to back, as Firehose writes them; then one per line.
        assert_eq!(
            unwrap(&format!("{sub}{control}{sub}")),
            ("a\nb\na\nb\n".into(), 0)
        );
        assert_eq!(
            unwrap(&format!("{sub}\n{sub}\n")),
            ("a\nb\na\nb\n".into(), 0)
        );
        let cli = "{\n  \"events\": [\n    {\"logStreamName\": \"broker-1\", \"timestamp\": 1, \"message\": \"c\", \"ingestionTime\": 2}\n  ],\n  \"searchedLogStreams\": []\n}\n";
        assert_eq!(unwrap(cli), ("c\n".into(), 0));
    }

    #[test]
    fn unreadable_records_are_counted() {
        let sub = r#"{"logEvents":[{"message":"a"}]}"#;
        assert_eq!(
            unwrap(&format!("{sub}{{\"other\":1}}{sub}")),
            ("a\na\n".into(), 1)
        );
        assert_eq!(
            unwrap(&format!("{sub}{{\"logEvents\":[{{\"message\":5}}]}}{sub}")),
            ("a\n".into(), 1)
        );
        assert_eq!(unwrap(&format!("{sub}{{nope")), ("a\n".into(), 1));
    }

    #[test]
    fn detection() {
        assert!(looks_like(
            br#"  {"messageType":"DATA_MESSAGE","logEvents":[]}"#
        ));
        assert!(looks_like(b"{\n  \"events\": [\n {\"ingestionTime\": 1"));
        assert!(!looks_like(br#"{"events":[1]}"#));
        assert!(!looks_like(b"[2026-11-26 14:06:16,546] INFO logEvents"));
    }
}
