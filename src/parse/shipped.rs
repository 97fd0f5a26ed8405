//! Log lines as log shippers deliver them to a Kafka topic: plain, or wrapped in a JSON object
//! whose message field holds the line (Docker's json-file driver and Fluent Bit: `log`; ECS,
//! Logstash, Vector and Log4j2's `JsonTemplateLayout`: `message`; journald's JSON export:
//! `MESSAGE`). A wrapped message that holds a whole log4j line is framed like a plain one; a
//! message alone becomes an entry with the wrapper's level, logger and time fields.

use super::json_reader::first_byte;
use super::log4j::{self, Choice, FramerConfig, Level, LogEntry};
use super::time::parse_rfc3339;
use super::{check_json_depth, ParseError, Record};

/// Field names log shippers put the line in, most specific first: Docker's json-file and
/// Fluent Bit (`log`), ECS / Logstash / Vector / Log4j2 JsonTemplateLayout (`message`),
/// journald's JSON export (`MESSAGE`), others (`msg`, `line`).
const MESSAGE_FIELDS: [&str; 5] = ["log", "message", "MESSAGE", "msg", "line"];
const LEVEL_FIELDS: [&str; 5] = ["log.level", "level", "severity", "loglevel", "levelname"];
const LOGGER_FIELDS: [&str; 4] = ["log.logger", "logger_name", "logger", "loggerName"];
const TIME_FIELDS: [&str; 4] = ["@timestamp", "timestamp", "time", "ts"];

/// The log entries in one record: the payload framed as log4j lines, or, for a JSON object,
/// its message field framed (when it holds a whole line) or built into an entry from the
/// object's level/logger/time fields (when it holds only the message).
pub fn log_entries(
    record: &Record<'_>,
    framer: &FramerConfig,
) -> Result<Vec<LogEntry>, ParseError> {
    log_entries_choosing(record, framer).map(|(entries, _)| entries)
}

/// [`log_entries`], also returning the layout and line prefix the lines were read in (`None`
/// when none was recognized, or for a message without its log4j header).
pub fn log_entries_choosing(
    record: &Record<'_>,
    framer: &FramerConfig,
) -> Result<(Vec<LogEntry>, Option<Choice>), ParseError> {
    let payload = record.payload;
    if payload.is_empty() {
        return Err(ParseError::Empty);
    }
    if first_byte(payload) != Some(b'{') {
        return Ok(log4j::frame_all_choosing(framer.clone(), payload));
    }
    check_json_depth(payload)?;
    let object: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(payload).map_err(|e| ParseError::from_json(&e))?;
    let text = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| object.get(*n).and_then(|v| v.as_str()))
    };
    let message = text(&MESSAGE_FIELDS).ok_or(ParseError::MissingField("message"))?;
    let (framed, choice) = log4j::frame_all_choosing(framer.clone(), message.as_bytes());
    // A message alone is a partial line to the framer; the wrapper's own fields say more.
    if !framed.is_empty() && !framed.iter().all(|e| e.partial) {
        return Ok((framed, choice));
    }
    // Only the message: the wrapper says the rest.
    let level = match text(&LEVEL_FIELDS) {
        Some(l) => Level::from_name(l).ok_or(ParseError::InvalidField {
            field: "level",
            problem: format!("`{l}` is not a log level"),
        })?,
        None => Level::Info,
    };
    let timestamp = text(&TIME_FIELDS)
        .and_then(parse_rfc3339)
        .or(record.timestamp)
        .unwrap_or(record.observed_time);
    let message = message.trim_end_matches(['\n', '\r']);
    let (message, logger) = match text(&LOGGER_FIELDS) {
        Some(l) => (message.to_string(), Some(l.to_string())),
        None => {
            let (m, l) = log4j::split_logger(message.as_bytes());
            (
                String::from_utf8_lossy(m).into_owned(),
                l.map(|l| String::from_utf8_lossy(l).into_owned()),
            )
        }
    };
    let entry = LogEntry {
        offset: 0,
        timestamp,
        level,
        logger: logger.map(std::sync::Arc::from),
        // A wrapped message spans lines only if it holds a stack trace; a forged header inside
        // it cannot start a second entry here.
        message: message.replace("\r\n", "\n"),
        truncated: false,
        suspect: false,
        partial: false,
    };
    Ok((vec![entry], None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    const MESSAGE: &str = "Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny";

    fn entries(payload: &str) -> Result<Vec<LogEntry>, ParseError> {
        log_entries(
            &Record::from_payload(payload.as_bytes()),
            &FramerConfig::default(),
        )
    }

    #[test]
    fn a_wrapped_whole_line_is_framed() {
        let line = format!("[2026-11-26 14:06:17,000] INFO {MESSAGE} (kafka.authorizer.logger)");
        let docker = serde_json::json!({"log": format!("{line}\n"), "stream": "stdout"});
        let e = entries(&docker.to_string()).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].logger.as_deref(), Some("kafka.authorizer.logger"));
        assert_eq!(e[0].message, MESSAGE);
        assert_eq!(
            e[0].timestamp,
            UNIX_EPOCH + Duration::from_secs(1_795_701_977)
        );
    }

    #[test]
    fn a_wrapped_message_takes_the_wrappers_fields() {
        let ecs = serde_json::json!({"@timestamp": "2026-11-26T14:06:17.000Z", "log.level": "WARN", "message": MESSAGE, "log.logger": "kafka.authorizer.logger"});
        let e = entries(&ecs.to_string()).unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].level, Level::Warn);
        assert_eq!(e[0].logger.as_deref(), Some("kafka.authorizer.logger"));
        assert_eq!(
            e[0].timestamp,
            UNIX_EPOCH + Duration::from_secs(1_795_701_977)
        );
        let journald =
            serde_json::json!({"MESSAGE": format!("{MESSAGE} (kafka.authorizer.logger)")});
        let e = entries(&journald.to_string()).unwrap();
        assert_eq!(e[0].logger.as_deref(), Some("kafka.authorizer.logger"));
        assert_eq!(e[0].message, MESSAGE);
        assert_eq!(e[0].level, Level::Info);
    }

    #[test]
    fn errors() {
        assert_eq!(entries(""), Err(ParseError::Empty));
        assert_eq!(
            entries("{\"nope\":1}"),
            Err(ParseError::MissingField("message"))
        );
        assert!(matches!(
            entries("{\"log\":\"x\",\"level\":\"LOUD\"}"),
            Err(ParseError::InvalidField { field: "level", .. })
        ));
        assert!(matches!(entries("{nope"), Err(ParseError::InvalidJson(_))));
    }

    /// Records as shippers deliver them: plain lines and lines wrapped by Docker, ECS and
    /// journald (from the tests above).
    const VALID: &[&str] = &[
        "[2026-11-26 14:06:17,000] INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n",
        r#"{"log":"[2026-11-26 14:06:17,000] INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n","stream":"stdout"}"#,
        r#"{"@timestamp":"2026-11-26T14:06:17.000Z","log.level":"WARN","message":"Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1","log.logger":"kafka.authorizer.logger"}"#,
        r#"{"MESSAGE":"[SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /127.0.0.1 (SSL handshake failed) (org.apache.kafka.common.network.Selector)"}"#,
    ];

    /// Separators of JSON and of log4j lines.
    #[rustfmt::skip]
    const TOKENS: &[&str] = &[
        "{", "}", "\"", ":", ",", "\"log\":", "\"message\":", "\"level\":", "\"time\":",
        "\"logger\":", "\"LOUD\"", "\\n", "\\r\\n", "\n", "\r", "[2026-11-26 14:06:18,000] ",
        "INFO ", "ERROR ", " (kafka.authorizer.logger)", " (", ")", "[", "]", " ", "",
    ];

    const MAX_ENTRY_BYTES: usize = 256;

    /// Frames `payload`; for a plain payload, every entry is within the entry limit and names a
    /// logger the payload names.
    fn check(payload: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let framer = FramerConfig {
            max_entry_bytes: MAX_ENTRY_BYTES,
            ..FramerConfig::default()
        };
        let Ok((entries, _)) =
            log_entries_choosing(&Record::from_payload(payload.as_bytes()), &framer)
        else {
            return Ok(());
        };
        if first_byte(payload.as_bytes()) == Some(b'{') {
            return Ok(());
        }
        for e in &entries {
            proptest::prop_assert!(
                e.message.len() <= MAX_ENTRY_BYTES,
                "{} bytes: {e:?}",
                e.message.len()
            );
            if let Some(logger) = &e.logger {
                proptest::prop_assert!(
                    payload.contains(&**logger),
                    "{logger:?} not in {payload:?}"
                );
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_records_never_panic(payload in ".*", bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            check(&payload)?;
            check(&format!("{{\"log\":{payload}"))?;
            let _ = log_entries(&Record::from_payload(&bytes), &FramerConfig::default());
        }

        #[test]
        fn near_misses_never_panic(
            payload in crate::parse::test_support::near_miss(VALID, TOKENS),
        ) {
            check(&payload)?;
        }
    }
}
