//! Partial lines: a known Kafka message found inside a line that no layout reads — the message
//! alone (`Failed authentication with /10.0.0.1 (SSL handshake failed)`), with a level
//! (`INFO Principal = …`), with its logger (`… (kafka.authorizer.logger)`), behind a prefix
//! (`# `, `> `, `  | `, `MESSAGE: `, prose such as `I see this in the log: `), quoted in a
//! sentence, or cut at its start (` User:c3 is Denied Operation = …`).
//!
//! The [`Framer`](super::log4j::Framer) falls back to this reading for a line of a stream that no
//! layout has read (no entry header seen yet) and frames the message alone as an entry marked
//! [`LogEntry::partial`](super::log4j::LogEntry::partial); the other lines stay unrecognized.
//!
//! # Kafka's fixed vocabulary only
//!
//! A message is found by the fixed text Kafka writes around client-chosen fields, never by a
//! guess:
//!
//! - an authorization decision: `Principal = ` (or a principal `Type:name` cut before it)
//!   followed by ` is Denied|Allowed operation|Operation = ` and ` from host = ` (`AclAuthorizer`,
//!   `StandardAuthorizer` `logAuditMessage`); Aiven's `[DENY] Auth request ` /
//!   `[ALLOW] Auth request ` (`AivenAclAuthorizerV2.logAuthVerdict`);
//! - a failed (re-)authentication: `Failed authentication with ` / `Failed re-authentication
//!   with ` (`Selector.java`), with the `[SocketServer …] ` context before it when present, and
//!   ending after its parenthesized channel id and reason;
//! - a request-log line: `Completed request:{` (`RequestChannel.scala`);
//! - a controller change: `Replayed ` and one of the record names of
//!   [`controller_log::change_key`].
//!
//! The parsers then read the message as they read it in a framed entry, with their own checks.
//!
//! # Trusted less
//!
//! The log-injection defense needs the entry header and the trailing logger (see
//! [`super::log4j`]): without them, a line a client forged into a group id or a principal is not
//! told apart from one the broker wrote. Partial entries are therefore counted apart
//! (`kafka_security_partial_lines_total`), so that a dashboard can show how much of what it
//! counts came from such lines.

use std::time::SystemTime;

use memchr::memmem;

use super::controller_log;
use super::log4j::{split_logger, Level};
use super::time::parse_stamp_any;
use crate::event::Format;

/// A known message found in a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    /// The message as a parser reads it (`%m`); a decision cut before `Principal = ` gets it
    /// back.
    pub message: String,
    /// The level written just before the message, if any.
    pub level: Option<Level>,
    /// The logger of a trailing ` (logger)`, if any.
    pub logger: Option<String>,
    /// A bracketed stamp before the message, if any.
    pub timestamp: Option<SystemTime>,
}

/// The kind of message [`read_line`] found, by its opening: the log its parser reads.
pub fn format_of(message: &str) -> Option<Format> {
    if message.starts_with("Principal = ") || super::aiven::is_decision(message) {
        Some(Format::AuthorizerLog)
    } else if message.starts_with("Completed request:") {
        Some(Format::RequestLog)
    } else if message.starts_with("Replayed ") {
        Some(Format::ControllerLog)
    } else {
        Some(Format::ServerLog)
    }
}

/// The known message in `line`, if it holds one (see the module docs).
pub fn read_line(line: &[u8], utc_offset_secs: i32) -> Option<Partial> {
    let text = std::str::from_utf8(line).ok()?.trim_end();
    let (start, message) = decision(text)
        .or_else(|| failed_authentication(text))
        .or_else(|| opening(text, "Completed request:{"))
        .or_else(|| aiven_decision(text))
        .or_else(|| controller_change(text))?;
    let before = &text[..start];
    let after = &text[start..];
    let logger = split_logger(after.as_bytes())
        .1
        .and_then(|l| std::str::from_utf8(l).ok())
        .map(str::to_string);
    Some(Partial {
        message,
        level: level_before(before),
        logger,
        timestamp: stamp_before(before, utc_offset_secs),
    })
}

/// An authorization decision: where it starts in `text` and the message from `Principal = `
/// without the trailing logger.
fn decision(text: &str) -> Option<(usize, String)> {
    let verdict = [" is Denied ", " is Allowed "]
        .iter()
        .filter_map(|v| memmem::find(text.as_bytes(), v.as_bytes()))
        .min()?;
    let rest = &text[verdict..];
    let clause = rest[4..]
        .split_once(' ')
        .map(|(_, r)| r)
        .filter(|r| r.starts_with("operation = ") || r.starts_with("Operation = "))?;
    memmem::find(clause.as_bytes(), b" from host = ")?;
    let body = without_logger(&text[verdict..]);
    match memmem::rfind(&text.as_bytes()[..verdict], b"Principal = ") {
        Some(at) => Some((at, format!("{}{body}", &text[at..verdict]))),
        None => {
            // Cut before `Principal = `: the principal starts at the first `Type:` word.
            let at = principal_start(&text[..verdict])?;
            Some((at, format!("Principal = {}{body}", &text[at..verdict])))
        }
    }
}

/// Where a principal (`User:alice`, `User:CN=a b,O=c`) starts in the text before a verdict: the
/// first word that is a capitalized type name and a colon.
fn principal_start(head: &str) -> Option<usize> {
    let mut at = 0;
    for word in head.split(' ') {
        let typed = word.split_once(':').is_some_and(|(t, name)| {
            !name.is_empty()
                && t.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && t.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if typed {
            return Some(at);
        }
        at += word.len() + 1;
    }
    None
}

/// A failed (re-)authentication: from `[SocketServer …] ` (if just before it) to the end of its
/// last parenthesized group.
fn failed_authentication(text: &str) -> Option<(usize, String)> {
    let at = [
        "Failed authentication with ",
        "Failed re-authentication with ",
    ]
    .iter()
    .filter_map(|a| memmem::find(text.as_bytes(), a.as_bytes()))
    .min()?;
    let start = text[..at]
        .strip_suffix("] ")
        .and_then(|head| memmem::rfind(head.as_bytes(), b"[SocketServer "))
        .unwrap_or(at);
    let after = &text[at..];
    let with = after.find(" with ")? + " with ".len();
    let sock_end = after[with..].find(' ').map_or(after.len(), |e| with + e);
    let mut end = sock_end;
    // The channel id (3.2+) and the reason, each in balanced parentheses.
    for _ in 0..2 {
        let Some(group) = after[end..]
            .strip_prefix(" (")
            .and_then(|g| balanced(g).map(|n| n + 2))
        else {
            break;
        };
        end += group;
    }
    (end > sock_end).then(|| (start, text[start..at + end].to_string()))
}

/// The length of `s` up to and including the `)` closing a group already open.
fn balanced(s: &str) -> Option<usize> {
    let mut depth = 1usize;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// A message known by its opening, to the end of the line without its logger.
fn opening(text: &str, open: &str) -> Option<(usize, String)> {
    let at = memmem::find(text.as_bytes(), open.as_bytes())?;
    Some((at, without_logger(&text[at..]).to_string()))
}

/// Aiven's decision: `[DENY] Auth request OPERATION on TYPE:` (or `[ALLOW]`), the operation and
/// type being words (so that the format string in prose, `{} on {}:{}`, is not one).
fn aiven_decision(text: &str) -> Option<(usize, String)> {
    ["[DENY] Auth request ", "[ALLOW] Auth request "]
        .iter()
        .find_map(|open| {
            let (at, message) = opening(text, open)?;
            let rest = &message[open.len()..];
            let word =
                |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_');
            let (operation, rest) = rest.split_once(" on ")?;
            let (resource_type, _) = rest.split_once(':')?;
            (word(operation) && word(resource_type)).then_some((at, message))
        })
}

/// A controller change (`Replayed AccessControlEntryRecord for …`).
fn controller_change(text: &str) -> Option<(usize, String)> {
    memmem::find_iter(text.as_bytes(), b"Replayed ").find_map(|at| {
        let message = without_logger(&text[at..]);
        controller_log::change_key(message).map(|_| (at, message.to_string()))
    })
}

/// `text` without a trailing ` (logger)`.
fn without_logger(text: &str) -> &str {
    let (rest, _) = split_logger(text.as_bytes());
    // `split_logger` cuts at an ASCII ` (`: the rest is a prefix of valid UTF-8 at a char
    // boundary.
    &text[..rest.len()]
}

/// An upper-case level written just before the message (`INFO `, `[WARN] `).
fn level_before(before: &str) -> Option<Level> {
    let word = before.trim_end().rsplit(' ').next()?;
    let word = word.trim_start_matches('[').trim_end_matches(']');
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Level::from_name(word)
}

/// A bracketed date and time before the message (`[2019-12-06 11:17:45,758]`).
fn stamp_before(before: &str, utc_offset_secs: i32) -> Option<SystemTime> {
    let open = before.find('[')?;
    let close = open + before[open..].find(']')?;
    parse_stamp_any(&before.as_bytes()[open + 1..close], utc_offset_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(line: &str) -> Option<Partial> {
        read_line(line.as_bytes(), 0)
    }

    #[test]
    fn a_decision_with_level_logger_and_prefix() {
        let p = read("# INFO Principal = User:sftp is Denied Operation = Describe from host = 192.168.224.6 on resource = Topic:LITERAL:t (kafka.authorizer.logger)").unwrap();
        assert_eq!(
            p.message,
            "Principal = User:sftp is Denied Operation = Describe from host = 192.168.224.6 on resource = Topic:LITERAL:t"
        );
        assert_eq!(p.level, Some(Level::Info));
        assert_eq!(p.logger.as_deref(), Some("kafka.authorizer.logger"));
        assert_eq!(p.timestamp, None);
        assert_eq!(format_of(&p.message), Some(Format::AuthorizerLog));
    }

    #[test]
    fn a_decision_cut_before_its_principal_gets_it_back() {
        let p = read(" User:CN=a b,O=c is Denied Operation = Delete from host = 172.17.0.12 on resource = Group:LITERAL:g").unwrap();
        assert_eq!(
            p.message,
            "Principal = User:CN=a b,O=c is Denied Operation = Delete from host = 172.17.0.12 on resource = Group:LITERAL:g"
        );
        let p = read("I see this: User:c3 is Allowed operation = READ from host = 1.2.3.4 on resource = Topic:LITERAL:t").unwrap();
        assert!(
            p.message.starts_with("Principal = User:c3 is Allowed"),
            "{p:?}"
        );
        assert_eq!(p.level, None);
    }

    #[test]
    fn a_failed_authentication_quoted_in_prose_ends_at_its_reason() {
        let p = read(
            r#"the log says "Failed authentication with /10.255.0.2 (SSL handshake failed)" twice"#,
        )
        .unwrap();
        assert_eq!(
            p.message,
            "Failed authentication with /10.255.0.2 (SSL handshake failed)"
        );
        let p = read("INFO [SocketServer listenerType=ZK_BROKER, nodeId=0] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:9093-127.0.0.1:53223-5) (Authentication failed: Invalid username or password) (org.apache.kafka.common.network.Selector)").unwrap();
        assert_eq!(p.message, "[SocketServer listenerType=ZK_BROKER, nodeId=0] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:9093-127.0.0.1:53223-5) (Authentication failed: Invalid username or password)");
        assert_eq!(p.level, Some(Level::Info));
        assert_eq!(
            p.logger.as_deref(),
            Some("org.apache.kafka.common.network.Selector")
        );
        assert_eq!(format_of(&p.message), Some(Format::ServerLog));
    }

    #[test]
    fn a_stamp_before_the_message_is_kept() {
        let p = read("> seen at [2019-12-06 11:17:45,758] WARN Failed re-authentication with /10.0.0.1 (Authentication failed)").unwrap();
        assert!(p.timestamp.is_some());
        assert_eq!(p.level, Some(Level::Warn));
    }

    #[test]
    fn prose_is_not_a_message() {
        for line in [
            "Principal = User:alice is the owner of this topic",
            "the user is Denied operation = nothing here",
            "Failed authentication with the broker",
            "User:alice is Denied access to everything",
            "We Replayed the topic yesterday",
            r#"the format string "[DENY] Auth request {} on {}:{} by {} {} from {} ({})""#,
            "",
        ] {
            assert_eq!(read(line), None, "{line}");
        }
    }

    #[test]
    fn an_aiven_decision_behind_a_journald_field() {
        // https://github.com/aiven/devportal/blob/main/docs/products/kafka/howto/monitor-logs-acl-failure.rst
        let p = read("MESSAGE: INFO [DENY] Auth request Write on Topic:t by User test-kuser (io.aiven.kafka.auth.AivenAclAuthorizer)").unwrap();
        assert_eq!(
            p.message,
            "[DENY] Auth request Write on Topic:t by User test-kuser"
        );
        assert_eq!(format_of(&p.message), Some(Format::AuthorizerLog));
    }

    #[test]
    fn request_and_controller_messages() {
        let p = read(r#"> DEBUG Completed request:{"x":1} (kafka.request.logger:275)"#).unwrap();
        assert_eq!(p.message, r#"Completed request:{"x":1}"#);
        assert_eq!(p.level, Some(Level::Debug));
        assert_eq!(format_of(&p.message), Some(Format::RequestLog));
        // tests/fixtures/broker_logs/controller_kafka44_real.log, behind a quote.
        let line = "> [QuorumController id=1] Replayed TopicRecord for topic audit-1 with topic ID JyT31D9LRWeSK7CImxdAaA. (org.apache.kafka.controller.ReplicationControlManager)";
        let p = read(line).unwrap();
        assert_eq!(
            p.message,
            "Replayed TopicRecord for topic audit-1 with topic ID JyT31D9LRWeSK7CImxdAaA."
        );
        assert_eq!(format_of(&p.message), Some(Format::ControllerLog));
    }
}
