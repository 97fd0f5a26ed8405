//! Qubership's authorizer decision lines → authorization events, the same normalized event as
//! Kafka's own authorizer lines ([`super::authorizer`]): format `authorizer_log`, event type
//! `authorization`.
//!
//! Netcracker's Qubership Kafka runs its own authorizers (`ExtendedStandardAuthorizer`,
//! `ExtendedAclAuthorizer`), which log each decision through the logger of their shared
//! interface, `…qubership.kafka.security.authorization.ExtendedAuthorizer`: denials at WARN,
//! grants at TRACE. The format is `AUTH_RESULT_LOG` of
//! `kafka-security-oauth-server/src/main/java/org/qubership/kafka/security/authorization/ExtendedAuthorizer.java`
//! (github.com/Netcracker/qubership-kafka-security):
//!
//! `Principal = [{KafkaPrincipal}] is {Allowed|Denied} Operation = [{AclOperation}] from host =
//! [{getHostAddress()}] on resource = [{ResourcePattern}]`, e.g. `Principal = [User:test] is
//! Denied Operation = [DESCRIBE] from host = [0:0:0:0:0:0:0:1] on resource =
//! [ResourcePattern(resourceType=TOPIC, name=some_topic, patternType=LITERAL)]`.
//!
//! The event has the principal, operation, host, resource type (PascalCase), name and pattern
//! type; the line names no rule or API, so no reason and no `api`. Markdown backticks a poster
//! left after the closing `]` are not part of the line and are dropped.
//!
//! # Log injection
//!
//! The principal's name (a SCRAM user, a token's subject) and the resource name (a group or
//! transactional id) may hold `] is Denied Operation = [`. The clause between them is read from
//! Kafka's fixed vocabularies (decision word, `AclOperation` name, an IP address, `ResourceType`
//! name) and the pattern type from the end; a line holding more than one well-formed clause is
//! refused as a suspected injection naming the first clause's principal rather than guessed — as
//! is a line spanning lines or an entry following a forged log line.

use std::net::IpAddr;
use std::time::SystemTime;

use super::log4j::LogEntry;
use super::ParseError;
use crate::event::{
    acl_operation, normalize_resource_type, Category, Format, Origin, Outcome, SecurityEvent,
    RESOURCE_TYPES,
};

const OPENING: &str = "Principal = [";
const CLAUSE: &str = "] is ";

/// Whether `logger` is the one Qubership's authorizers log their decisions to.
pub fn is_logger(logger: &str) -> bool {
    logger.contains(".qubership.") && logger.ends_with(".authorization.ExtendedAuthorizer")
}

/// Whether `message` is one of Qubership's decision lines (by its opening; Kafka's own lines
/// put no `[` before the principal).
pub fn is_decision(message: &str) -> bool {
    message.starts_with(OPENING)
}

/// Parses a framed entry; `Ok(None)` for entries that are not decision lines.
pub fn parse(entry: &LogEntry) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    parse_at(entry, crate::clock::now())
}

/// [`parse`], the event observed at `observed`.
pub fn parse_at(
    entry: &LogEntry,
    observed: SystemTime,
) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    if !is_decision(&entry.message) {
        return Ok(None);
    }
    if entry.suspect || entry.truncated {
        return Err(ParseError::injection(
            "Qubership decision entry was cut or follows a forged log line",
            None,
        ));
    }
    parse_message(&entry.message, Some(entry.timestamp), observed)
}

/// Parses one message (`%m`); `Ok(None)` when it is not a Qubership decision line.
pub fn parse_message(
    message: &str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    let Some(body) = message.strip_prefix(OPENING) else {
        return Ok(None);
    };
    if memchr::memchr2(b'\n', b'\r', body.as_bytes()).is_some() {
        return Err(ParseError::injection(
            "Qubership decision line spans lines",
            None,
        ));
    }
    let body = body.trim_end_matches('`');
    let mut clauses = memchr::memmem::find_iter(body.as_bytes(), CLAUSE)
        .filter_map(|at| read_clause(&body[..at], &body[at + CLAUSE.len()..]));
    let clause = clauses.next().ok_or_else(|| ParseError::InvalidField {
        field: "message",
        problem: "not a well-formed Qubership authorizer decision".into(),
    })?;
    if clauses.next().is_some() {
        return Err(ParseError::injection(
            "Qubership decision line holds more than one decision clause",
            Some(clause.principal),
        ));
    }
    let mut ev = SecurityEvent::new(
        Format::AuthorizerLog,
        Category::Authorization,
        if clause.allowed {
            Outcome::Allowed
        } else {
            Outcome::Denied
        },
        super::authorizer::EVENT_TYPE,
        Origin::Memory,
        observed_time,
    );
    ev.event_time = event_time;
    ev.principal = Some(clause.principal.into());
    ev.operation = Some(clause.operation.into());
    ev.client_host = Some(clause.host.into());
    ev.resource_type = Some(clause.resource_type.into());
    ev.resource_name = Some(clause.resource_name.into());
    ev.pattern_type = Some(clause.pattern_type.into());
    Ok(Some(ev))
}

struct Clause<'a> {
    principal: &'a str,
    allowed: bool,
    operation: &'static str,
    host: &'a str,
    resource_type: &'static str,
    resource_name: &'a str,
    pattern_type: &'a str,
}

/// Reads `<Allowed|Denied> Operation = [OP] from host = [IP] on resource =
/// [ResourcePattern(resourceType=RT, name=NAME, patternType=PT)]` (`s`, after `] is `), with
/// `principal` the text before it.
fn read_clause<'a>(principal: &'a str, s: &'a str) -> Option<Clause<'a>> {
    let (allowed, s) = if let Some(r) = s.strip_prefix("Allowed ") {
        (true, r)
    } else {
        (false, s.strip_prefix("Denied ")?)
    };
    let (operation, s) = s.strip_prefix("Operation = [")?.split_once(']')?;
    let operation = acl_operation(operation)?;
    let (host, s) = s.strip_prefix(" from host = [")?.split_once(']')?;
    let address = host.split_once('%').map_or(host, |(ip, _zone)| ip);
    address.parse::<IpAddr>().ok()?;
    let s = s.strip_prefix(" on resource = [ResourcePattern(resourceType=")?;
    let (resource_type, s) = s.split_once(", name=")?;
    let resource_type = RESOURCE_TYPES
        .iter()
        .copied()
        .find(|t| *t == normalize_resource_type(resource_type))?;
    let (resource_name, pattern_type) = s.strip_suffix(")]")?.rsplit_once(", patternType=")?;
    if !matches!(
        pattern_type,
        "LITERAL" | "PREFIXED" | "MATCH" | "ANY" | "UNKNOWN"
    ) {
        return None;
    }
    Some(Clause {
        principal,
        allowed,
        operation,
        host,
        resource_type,
        resource_name,
        pattern_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::test_support::{self, assert_fields};

    fn one(message: &str) -> SecurityEvent<'_> {
        test_support::event(parse_message, message)
    }

    #[test]
    fn a_denial_as_extended_authorizer_writes_it() {
        // ExtendedAuthorizer.java, AUTH_RESULT_LOG; the trailing backticks are a poster's.
        for message in [
            "Principal = [User:test] is Denied Operation = [DESCRIBE] from host = [0:0:0:0:0:0:0:1] on resource = [ResourcePattern(resourceType=TOPIC, name=some_topic, patternType=LITERAL)]",
            "Principal = [User:test] is Denied Operation = [DESCRIBE] from host = [0:0:0:0:0:0:0:1] on resource = [ResourcePattern(resourceType=TOPIC, name=some_topic, patternType=LITERAL)]```",
        ] {
            assert_fields(
                &one(message),
                &[
                    ("format", Some("authorizer_log")),
                    ("category", Some("authorization")),
                    ("outcome", Some("denied")),
                    ("event_type", Some("authorization")),
                    ("principal", Some("User:test")),
                    ("operation", Some("DESCRIBE")),
                    ("client_host", Some("0:0:0:0:0:0:0:1")),
                    ("resource_type", Some("Topic")),
                    ("resource_name", Some("some_topic")),
                    ("pattern_type", Some("LITERAL")),
                    ("reason", None),
                    ("api", None),
                ],
            );
        }
    }

    #[test]
    fn a_grant_on_a_group_with_a_hostile_name() {
        let e = one("Principal = [User:app] is Allowed Operation = [READ] from host = [10.0.0.8] on resource = [ResourcePattern(resourceType=GROUP, name=g, patternType=PREFIXED), x, patternType=LITERAL)]");
        assert_fields(
            &e,
            &[
                ("outcome", Some("allowed")),
                ("operation", Some("READ")),
                ("client_host", Some("10.0.0.8")),
                ("resource_type", Some("Group")),
                ("resource_name", Some("g, patternType=PREFIXED), x")),
                ("pattern_type", Some("LITERAL")),
            ],
        );
    }

    #[test]
    fn attack_a_forged_clause_is_refused_naming_the_principal() {
        let err = test_support::error(parse_message, "Principal = [User:mallory] is Denied Operation = [READ] from host = [10.0.0.9] on resource = [ResourcePattern(resourceType=GROUP, name=x] is Allowed Operation = [READ] from host = [10.0.0.9] on resource = [ResourcePattern(resourceType=GROUP, name=y, patternType=LITERAL)]");
        let text = err.to_string();
        assert!(text.contains("more than one decision clause"), "{text}");
        assert!(text.contains("User:mallory"), "{text}");
        let err = test_support::error(parse_message, "Principal = [User:a] is Denied Operation = [READ] from host = [10.0.0.9] on resource = [ResourcePattern(resourceType=GROUP, name=x, patternType=LITERAL)]\nforged");
        assert!(err.to_string().contains("spans lines"), "{err}");
    }

    #[test]
    fn malformed_lines_are_errors_and_kafka_lines_are_not_read() {
        for bad in [
            "Principal = [User:a] is Denied Operation = [FLY] from host = [10.0.0.9] on resource = [ResourcePattern(resourceType=GROUP, name=x, patternType=LITERAL)]",
            "Principal = [User:a] is Denied Operation = [READ] from host = [not-an-ip] on resource = [ResourcePattern(resourceType=GROUP, name=x, patternType=LITERAL)]",
            "Principal = [User:a] is Denied Operation = [READ] from host = [10.0.0.9] on resource = [ResourcePattern(resourceType=GROUP, name=x, patternType=LITERAL)] trailing",
        ] {
            let err = test_support::error(parse_message, bad);
            assert!(err.to_string().contains("Qubership"), "{bad}: {err}");
        }
        let kafka = "Principal = User:a is Denied Operation = Read from host = 10.0.0.1 on resource = Topic:LITERAL:t";
        assert!(parse_message(kafka, None, SystemTime::UNIX_EPOCH)
            .unwrap()
            .is_none());
    }

    #[test]
    fn the_logger_is_the_shared_interface() {
        assert!(is_logger(
            "com.qubership.kafka.security.authorization.ExtendedAuthorizer"
        ));
        assert!(is_logger(
            "org.qubership.kafka.security.authorization.ExtendedAuthorizer"
        ));
        assert!(!is_logger(
            "com.qubership.kafka.security.authorization.ExtendedAclAuthorizer"
        ));
    }
}
