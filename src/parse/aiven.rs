//! Aiven's authorizer decision lines → authorization events, the same normalized event as
//! Kafka's own authorizer lines ([`super::authorizer`]): format `authorizer_log`, event type
//! `authorization`.
//!
//! Aiven for Apache Kafka runs its own authorizer (`Aiven-Open/auth-for-apache-kafka`), which
//! logs each decision to the broker log through its class logger
//! (`io.aiven.kafka.auth.AivenAclAuthorizerV2`, before 2022 `…AivenAclAuthorizer`); denials at
//! INFO, grants at DEBUG (at INFO since 2024-10).
//!
//! # Shapes
//!
//! - `AivenAclAuthorizerV2.logAuthVerdict` (2021 →):
//!   `[DENY] Auth request {AclOperation.name()} on {ResourceType}:{name} by {principalType}
//!   {principalName} from {clientAddress.getHostAddress()} ({clientId})`, e.g.
//!   `[DENY] Auth request WRITE on TOPIC:orders by User alice from 10.0.0.8 (producer-1)`.
//! - `AivenAclAuthorizer.logAuthVerdict` (2019 → 2022, Kafka's Scala authorizer API):
//!   `[DENY] Auth request {Operation} on {ResourceType}:{name} by {principalType}
//!   {principalName}{" (cached)"?}`, e.g. `[DENY] Auth request Write on Topic:orders by User
//!   test-kuser` — no client address or id.
//!
//! `[ALLOW]` lines have the same shape. The principal becomes `Type:name` (`User:alice`), as
//! Kafka prints a `KafkaPrincipal`; Aiven's principal builder names a client whose certificate
//! does not match its key `Invalid` (`Invalid:CN=…`). The operation goes through
//! [`normalize_operation`] and the resource type through [`normalize_resource_type`]
//! (`TRANSACTIONAL_ID` → `TransactionalId`). The lines name no rule, API or pattern type, so the
//! event has none of them, nor a reason.
//!
//! # Log injection
//!
//! The resource name (a group or transactional id) and the client id are chosen by the client
//! and may hold ` by User admin from 1.2.3.4 (`. The verdict, operation and resource type come
//! first and are read from Kafka's fixed vocabulary; the rest is read from both ends: every way
//! of splitting it into `name by Type principal[ from IP (client id)]` with a well-formed type
//! word and IP address is tried, and a line that splits in more than one way is refused
//! ([`ParseError::InvalidField`], log injection suspected) rather than guessed — as is a line
//! spanning lines or an entry following a forged log line.

use std::net::IpAddr;
use std::time::SystemTime;

use super::log4j::LogEntry;
use super::ParseError;
use crate::event::{
    acl_operation, normalize_operation, normalize_resource_type, Category, Format, Origin, Outcome,
    SecurityEvent, RESOURCE_TYPES,
};

/// The prefix of every Aiven logger (`io.aiven.kafka.auth.AivenAclAuthorizerV2`).
pub const LOGGER_PREFIX: &str = "io.aiven.kafka.auth.";

const DENY: &str = "[DENY] Auth request ";
const ALLOW: &str = "[ALLOW] Auth request ";

/// Whether `message` is one of Aiven's decision lines (by its fixed opening).
pub fn is_decision(message: &str) -> bool {
    message.starts_with(DENY) || message.starts_with(ALLOW)
}

/// Parses a framed entry. `Ok(None)` for entries that are not Aiven decision lines (the
/// authorizer's other messages, its auditor's activity summaries).
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
    if entry.suspect {
        return Err(injection("entry follows a forged log line"));
    }
    if entry.truncated {
        return Err(ParseError::InvalidField {
            field: "message",
            problem: "entry was cut at the framer's size limit".into(),
        });
    }
    parse_message(&entry.message, Some(entry.timestamp), observed)
}

/// Parses one message (`%m`). `Ok(None)` when it is not an Aiven decision line.
pub fn parse_message(
    message: &str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    let (outcome, body) = if let Some(b) = message.strip_prefix(DENY) {
        (Outcome::Denied, b)
    } else if let Some(b) = message.strip_prefix(ALLOW) {
        (Outcome::Allowed, b)
    } else {
        return Ok(None);
    };
    if memchr::memchr2(b'\n', b'\r', body.as_bytes()).is_some() {
        return Err(injection("decision line spans lines"));
    }
    let malformed = |problem: &str| ParseError::InvalidField {
        field: "message",
        problem: format!("not a well-formed Aiven authorizer decision: {problem}"),
    };
    let (op, rest) = body
        .split_once(" on ")
        .ok_or_else(|| malformed("no ` on `"))?;
    if acl_operation(op).is_none() {
        return Err(malformed(&format!("`{op}` is not a Kafka ACL operation")));
    }
    let (rtype, rest) = rest
        .split_once(':')
        .ok_or_else(|| malformed("no resource type"))?;
    let resource_type = normalize_resource_type(rtype);
    if !RESOURCE_TYPES.contains(&resource_type.as_ref()) {
        return Err(malformed(&format!(
            "`{rtype}` is not a Kafka resource type"
        )));
    }
    let split = split_subject(rest)?;

    let mut ev = SecurityEvent::new(
        Format::AuthorizerLog,
        Category::Authorization,
        outcome,
        super::authorizer::EVENT_TYPE,
        Origin::Memory,
        observed_time,
    );
    ev.event_time = event_time;
    ev.operation = Some(normalize_operation(op));
    ev.resource_type = Some(resource_type);
    ev.resource_name = Some(split.resource_name.into());
    ev.principal = Some(format!("{}:{}", split.principal_type, split.principal_name).into());
    ev.client_host = split.host.map(Into::into);
    ev.client_id = split.client_id.filter(|c| !c.is_empty()).map(Into::into);
    Ok(Some(ev))
}

/// The client-chosen and principal parts of a decision, after `Type:`.
#[derive(Debug, PartialEq, Eq)]
struct Subject<'a> {
    resource_name: &'a str,
    principal_type: &'a str,
    principal_name: &'a str,
    host: Option<&'a str>,
    client_id: Option<&'a str>,
}

/// The principal types Aiven's principal builders create (`User`, `Invalid` for a certificate
/// that does not match its key) and its ACL file names (`Prune`, for Aiven's own nodes).
const PRINCIPAL_TYPES: [&str; 3] = ["User", "Invalid", "Prune"];

/// Splits `name by Type principal from IP (client id)` (V2) or `name by Type principal[ (cached)]`
/// (V1). Every ` by ` followed by one of [`PRINCIPAL_TYPES`] is a candidate start of the principal; the V2 shape
/// wins when some candidate reads as one. More than one reading is refused.
fn split_subject(rest: &str) -> Result<Subject<'_>, ParseError> {
    const BY: &str = " by ";
    let starts: Vec<usize> = memchr::memmem::find_iter(rest.as_bytes(), BY)
        .filter(|&at| {
            let after = &rest[at + BY.len()..];
            PRINCIPAL_TYPES
                .iter()
                .any(|t| after.strip_prefix(t).is_some_and(|a| a.starts_with(' ')))
        })
        .collect();
    let mut v2 = Vec::new();
    for &at in &starts {
        let after = &rest[at + BY.len()..];
        let Some(inner) = after.strip_suffix(')') else {
            break;
        };
        for from in memchr::memmem::find_iter(inner.as_bytes(), " from ") {
            let tail = &inner[from + " from ".len()..];
            let Some((ip, client_id)) = tail.split_once(" (") else {
                continue;
            };
            if ip.parse::<IpAddr>().is_err() {
                continue;
            }
            let (ptype, pname) = inner[..from].split_once(' ').expect("checked above");
            v2.push(Subject {
                resource_name: &rest[..at],
                principal_type: ptype,
                principal_name: pname,
                host: Some(ip),
                client_id: Some(client_id),
            });
        }
    }
    let mut found = if v2.is_empty() {
        starts
            .iter()
            .map(|&at| {
                let after = &rest[at + BY.len()..];
                let after = after.strip_suffix(" (cached)").unwrap_or(after);
                let (ptype, pname) = after.split_once(' ').expect("checked above");
                Subject {
                    resource_name: &rest[..at],
                    principal_type: ptype,
                    principal_name: pname,
                    host: None,
                    client_id: None,
                }
            })
            .filter(|s| !s.principal_name.is_empty())
            .collect()
    } else {
        v2
    };
    match found.len() {
        0 => Err(ParseError::InvalidField {
            field: "message",
            problem: "not a well-formed Aiven authorizer decision: no ` by <type> <principal>`"
                .into(),
        }),
        1 => Ok(found.remove(0)),
        _ => Err(injection(
            "the resource name or client id repeats the principal clause",
        )),
    }
}

fn injection(problem: &str) -> ParseError {
    ParseError::InvalidField {
        field: "message",
        problem: format!("{problem} (log injection suspected)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::log4j::{frame_all, FramerConfig};
    use crate::parse::test_support::{assert_fields, error, event};

    /// The fixture: real lines from Aiven's docs and lines assembled from the format strings of
    /// `AivenAclAuthorizerV2`, hostile ones included (its `# source:` lines name each).
    const FIXTURE: &str = include_str!("../../tests/fixtures/vendors/aiven_authorizer.log");

    #[test]
    fn reads_the_v2_shape() {
        let e = event(
            parse_message,
            "[DENY] Auth request WRITE on TOPIC:orders by User alice from 10.0.0.8 (producer-1)",
        );
        assert_eq!(e.format, Format::AuthorizerLog);
        assert_eq!(e.category, Category::Authorization);
        assert_eq!(e.outcome, Outcome::Denied);
        assert_eq!(e.event_type, "authorization");
        assert_fields(
            &e,
            &[
                ("principal", Some("User:alice")),
                ("operation", Some("WRITE")),
                ("resource_type", Some("Topic")),
                ("resource_name", Some("orders")),
                ("client_host", Some("10.0.0.8")),
                ("client_id", Some("producer-1")),
                ("pattern_type", None),
                ("api", None),
                ("reason", None),
            ],
        );
        let e = event(
            parse_message,
            "[ALLOW] Auth request DESCRIBE_CONFIGS on TRANSACTIONAL_ID:tx-1 by User CN=app,O=Acme from 0:0:0:0:0:0:0:1 ()",
        );
        assert_eq!(e.outcome, Outcome::Allowed);
        assert_fields(
            &e,
            &[
                ("principal", Some("User:CN=app,O=Acme")),
                ("operation", Some("DESCRIBE_CONFIGS")),
                ("resource_type", Some("TransactionalId")),
                ("resource_name", Some("tx-1")),
                ("client_host", Some("0:0:0:0:0:0:0:1")),
                ("client_id", None),
            ],
        );
    }

    #[test]
    fn reads_the_v1_shape() {
        let e = event(
            parse_message,
            "[DENY] Auth request Describe on Topic:t by Invalid CN=delete-user,OU=u6l6y9h1,O=kafka-pi-3141592 (cached)",
        );
        assert_fields(
            &e,
            &[
                (
                    "principal",
                    Some("Invalid:CN=delete-user,OU=u6l6y9h1,O=kafka-pi-3141592"),
                ),
                ("operation", Some("DESCRIBE")),
                ("resource_type", Some("Topic")),
                ("resource_name", Some("t")),
                ("client_host", None),
                ("client_id", None),
            ],
        );
    }

    #[test]
    fn hostile_names_stay_in_their_field_or_are_refused() {
        // A client id that repeats the clause: two readings.
        let e = error(
            parse_message,
            "[DENY] Auth request READ on GROUP:g by User mallory from 10.0.0.9 (x) by User admin from 1.2.3.4 (y)",
        );
        assert!(e.is_injection(), "{e}");
        // A group id holding ` by User admin`: two readings, refused.
        let e = error(
            parse_message,
            "[DENY] Auth request READ on GROUP:g by User admin by User mallory from 10.0.0.9 (c)",
        );
        assert!(e.is_injection(), "{e}");
        // ` by ` and ` from ` with no principal type or address after them stay in the names.
        let e = event(
            parse_message,
            "[DENY] Auth request READ on GROUP:sorted by region by User bob from 10.0.0.9 (app from x (1))",
        );
        assert_fields(
            &e,
            &[
                ("principal", Some("User:bob")),
                ("resource_name", Some("sorted by region")),
                ("client_host", Some("10.0.0.9")),
                ("client_id", Some("app from x (1)")),
            ],
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = error(
            parse_message,
            "[DENY] Auth request FLY on TOPIC:t by User a",
        );
        assert_eq!(e.reason(), "invalid_field");
        assert!(
            e.to_string().contains("`FLY` is not a Kafka ACL operation"),
            "{e}"
        );
        let e = error(
            parse_message,
            "[DENY] Auth request READ on BOAT:t by User a",
        );
        assert!(
            e.to_string()
                .contains("`BOAT` is not a Kafka resource type"),
            "{e}"
        );
        let e = error(parse_message, "[DENY] Auth request READ on TOPIC:t");
        assert!(e.to_string().contains("no ` by <type> <principal>`"), "{e}");
        let e = error(
            parse_message,
            "[DENY] Auth request READ on TOPIC:t\nby User a",
        );
        assert!(e.is_injection(), "{e}");
        assert_eq!(
            parse_message(
                "Reloading ACL configuration...",
                None,
                SystemTime::UNIX_EPOCH
            ),
            Ok(None)
        );
    }

    /// Every entry of the fixture, routed and parsed as the pipeline does, gives the expected
    /// event, error or nothing.
    #[test]
    fn fixture_entries() {
        use crate::parse::broker_log::{parse_entry, route, LogOutput};
        use crate::parse::Input;
        let body: String = FIXTURE
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect();
        let entries = frame_all(FramerConfig::default(), body.as_bytes());
        let got: Vec<String> = entries
            .iter()
            .map(
                |entry| match parse_entry(route(Input::BrokerLog, entry), entry) {
                    Ok(LogOutput::Event(e, _)) => format!(
                        "{} {} {} {}:{} {} {}",
                        e.outcome.as_str(),
                        e.principal.as_deref().unwrap_or("-"),
                        e.operation.as_deref().unwrap_or("-"),
                        e.resource_type.as_deref().unwrap_or("-"),
                        e.resource_name.as_deref().unwrap_or("-"),
                        e.client_host.as_deref().unwrap_or("-"),
                        e.client_id.as_deref().unwrap_or("-"),
                    ),
                    Ok(LogOutput::Nothing) => "nothing".into(),
                    Ok(_) => "other".into(),
                    Err(e) if e.is_injection() => "injection".into(),
                    Err(e) => format!("error {}", e.reason()),
                },
            )
            .collect();
        let want = [
            "denied User:test-kuser WRITE Topic:nodejs-quickstart-kafka-topic - -",
            "denied User:test-kuser DESCRIBE Topic:nodejs-quickstart-kafka-topic - -",
            "denied Invalid:CN=delete-user,OU=u6l6y9h1,O=kafka-pi-3141592 DESCRIBE Topic:nodejs-quickstart-kafka-topic - -",
            "denied User:alice WRITE Topic:orders 10.0.0.8 producer-1",
            "allowed User:alice DESCRIBE Topic:orders 10.0.0.8 producer-1",
            "denied User:bob READ Group:payments-consumers 0:0:0:0:0:0:0:1 -",
            "allowed User:admin ALTER Cluster:kafka-cluster 10.0.0.2 adminclient-1",
            "nothing",
            "error invalid_field",
            "injection",
            "injection",
        ];
        assert_eq!(got, want);
    }
}
