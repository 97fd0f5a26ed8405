//! KRaft `controller.log` metadata changes (`org.apache.kafka.controller.*`, prefix
//! `[QuorumController id=N] `) → change events. Regex-free.
//!
//! # Shapes (the `log.info("Replayed …")` calls of `AclControlManager`, `ScramControlManager`,
//! `ConfigurationControlManager` and `ReplicationControlManager`; all since 3.6.0, checked on a
//! real 4.4.0 broker)
//!
//! | message | event |
//! |---|---|
//! | `Replayed AccessControlEntryRecord for <id>, setting StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW]` | [`Category::AclChange`] `acl_created` |
//! | `Replayed RemoveAccessControlEntryRecord for <id>, removing StandardAcl[…]` | `acl_deleted` |
//! | `Replayed UserScramCredentialRecord creating new entry for carol with mechanism SCRAM_SHA_256.` | [`Category::CredentialChange`] `scram_credential_created` |
//! | `… modifying existing entry for …` | `scram_credential_updated` |
//! | `Replayed RemoveUserScramCredentialRecord for carol with mechanism SCRAM_SHA_256.` | `scram_credential_deleted` |
//! | `Replayed ConfigRecord for ConfigResource(type=TOPIC, name='orders') which set configuration retention.ms to 86400000` | [`Category::ConfigChange`] `config_set` |
//! | `… which removed configuration retention.ms` (or `… to null`) | `config_removed` |
//! | `Replayed TopicRecord for topic orders with topic ID <id>.` | [`Category::ResourceChange`] `topic_created` |
//! | `Replayed RemoveTopicRecord for topic orders with ID <id>.` | `topic_deleted` |
//!
//! `StandardAcl` prints `[…]` in 4.4 and `(…)` before; both are read. ACL events carry the ACL's
//! operation, resource type (PascalCase), pattern type, resource name and principal (the ACL's,
//! not the admin's: these lines never say who made the change). SCRAM events carry the user name
//! as `principal` and the mechanism as clients name it (`SCRAM_SHA_256` → `SCRAM-SHA-256`).
//! Config events carry the resource (`Topic`/`Broker`/`BrokerLogger`/`ClientMetrics`/`Group`;
//! the cluster-wide broker default `name=''` has no resource name). Every event has outcome
//! `success` and `broker_id` = the controller id.
//!
//! # Replays
//!
//! These lines are printed when a record is *replayed*: on commit, and again on every controller
//! restart, snapshot load and standby controller. This parser does not de-duplicate;
//! [`change_key`] names what identifies a record so a tailer can.

use std::time::SystemTime;

use super::log4j::LogEntry;
use super::ParseError;
use crate::event::{
    normalize_operation, normalize_resource_type, Category, ChangeAction, Format, Origin, Outcome,
    Permission, SecurityEvent, Text,
};

/// Parses a framed `controller.log` entry; `Ok(None)` when it is not one of the changes above.
pub fn parse(entry: &LogEntry) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    parse_at(entry, crate::clock::now())
}

/// [`parse`], the event observed at `observed`.
pub fn parse_at(
    entry: &LogEntry,
    observed: SystemTime,
) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    if entry.suspect || entry.truncated {
        // An ACL's resource name or principal can carry a line break (whoever may create ACLs
        // chooses them); the change it belonged to cannot be told from a forged one.
        return Err(ParseError::injection(
            "controller-log entry was cut or holds or follows a forged log line",
            None,
        ));
    }
    parse_message(entry.first_line(), Some(entry.timestamp), observed)
}

/// What identifies the replayed record behind an event, for de-duplicating replays: the message
/// without the `[QuorumController id=N] ` prefix. A record replayed after a restart, on a standby
/// controller or from a snapshot prints the same text; it contains the ACL's UUID, the topic's
/// id, the SCRAM user and mechanism, or the config key and value. `None` for messages this
/// parser does not turn into events. (Setting a config back to an earlier value gives an equal
/// key, so de-duplicate within a bounded window, not forever.)
pub fn change_key(message: &str) -> Option<&str> {
    let (_, body) = split_controller(message);
    let known = [
        "Replayed AccessControlEntryRecord for ",
        "Replayed RemoveAccessControlEntryRecord for ",
        "Replayed UserScramCredentialRecord ",
        "Replayed RemoveUserScramCredentialRecord for ",
        "Replayed ConfigRecord for ",
        "Replayed TopicRecord for topic ",
        "Replayed RemoveTopicRecord for topic ",
        "Replayed ClientQuotaRecord for ",
        "Replayed DelegationTokenRecord for ",
        "Replayed RemoveDelegationTokenRecord for ",
    ];
    known.iter().any(|k| body.starts_with(k)).then_some(body)
}

/// Parses one message (`%m`).
pub fn parse_message(
    message: &str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    if super::zk_change::is_change(message) {
        return super::zk_change::parse_message(message, event_time, observed_time);
    }
    let (controller, body) = split_controller(message);
    let Some(body) = body.strip_prefix("Replayed ") else {
        return Ok(None);
    };
    let new = |category, event_type: &'static str| {
        let mut ev = SecurityEvent::new(
            Format::ControllerLog,
            category,
            Outcome::Success,
            event_type,
            Origin::Memory,
            observed_time,
        );
        ev.event_time = event_time;
        ev.broker_id = controller.map(Into::into);
        ev
    };

    for read in [acl, scram, config, quota, token, topic] {
        if let Some(ev) = read(body, &new)? {
            return Ok(Some(ev));
        }
    }
    Ok(None)
}

/// Builds an event of a category and type with the line's time and controller.
type New<'n, 'a> = &'n dyn Fn(Category, &'static str) -> SecurityEvent<'a>;

/// What one `Replayed …` reader makes of the text after `Replayed `: `Ok(None)` when the record
/// is not its kind.
type Read<'a> = Result<Option<SecurityEvent<'a>>, ParseError>;

/// `AccessControlEntryRecord for <id>, setting StandardAcl[…]`, `RemoveAccessControlEntryRecord
/// for <id>, removing StandardAcl[…]`.
fn acl<'a>(body: &'a str, new: New<'_, 'a>) -> Read<'a> {
    let acl = match body.strip_prefix("AccessControlEntryRecord for ") {
        Some(r) => Some((
            "acl_created",
            ChangeAction::Create,
            r.split_once(", setting "),
        )),
        None => body
            .strip_prefix("RemoveAccessControlEntryRecord for ")
            .map(|r| {
                (
                    "acl_deleted",
                    ChangeAction::Delete,
                    r.split_once(", removing "),
                )
            }),
    };
    let Some((event_type, action, split)) = acl else {
        return Ok(None);
    };
    let (_id, acl) = split.ok_or(ParseError::Unrecognized)?;
    let acl = read_acl(acl)?;
    let mut ev = new(Category::AclChange, event_type);
    ev.action = Some(action);
    ev.operation = Some(normalize_operation(acl.operation));
    ev.resource_type = Some(normalize_resource_type(acl.resource_type));
    ev.resource_name = Some(acl.resource_name.into());
    ev.pattern_type = Some(acl.pattern_type.into());
    ev.principal = Some(acl.principal.into());
    ev.permission = Permission::from_name(acl.permission);
    Ok(Some(ev))
}

/// `UserScramCredentialRecord creating new entry for …` / `modifying existing entry for …`,
/// `RemoveUserScramCredentialRecord for … with mechanism SCRAM_SHA_256.`
fn scram<'a>(body: &'a str, new: New<'_, 'a>) -> Read<'a> {
    let scram =
        if let Some(r) = body.strip_prefix("UserScramCredentialRecord creating new entry for ") {
            Some(("scram_credential_created", ChangeAction::Create, r))
        } else if let Some(r) =
            body.strip_prefix("UserScramCredentialRecord modifying existing entry for ")
        {
            Some(("scram_credential_updated", ChangeAction::Update, r))
        } else {
            body.strip_prefix("RemoveUserScramCredentialRecord for ")
                .map(|r| ("scram_credential_deleted", ChangeAction::Delete, r))
        };
    let Some((event_type, action, rest)) = scram else {
        return Ok(None);
    };
    let (user, mechanism) = rest
        .strip_suffix('.')
        .and_then(|r| r.rsplit_once(" with mechanism "))
        .ok_or(ParseError::Unrecognized)?;
    let mechanism: Text<'_> = match mechanism {
        "SCRAM_SHA_256" => "SCRAM-SHA-256".into(),
        "SCRAM_SHA_512" => "SCRAM-SHA-512".into(),
        "SCRAM-SHA-256" | "SCRAM-SHA-512" => mechanism.into(),
        _ => return Err(ParseError::Unrecognized),
    };
    let mut ev = new(Category::CredentialChange, event_type);
    ev.action = Some(action);
    ev.principal = Some(user.into());
    ev.mechanism = Some(mechanism);
    Ok(Some(ev))
}

/// `ConfigRecord for ConfigResource(type=TOPIC, name='orders') which set configuration … to …`
/// / `… which removed configuration …`.
fn config<'a>(body: &'a str, new: New<'_, 'a>) -> Read<'a> {
    let Some(rest) = body.strip_prefix("ConfigRecord for ConfigResource(type=") else {
        return Ok(None);
    };
    let (rtype, rest) = rest
        .split_once(", name='")
        .ok_or(ParseError::Unrecognized)?;
    let (name, key, event_type) =
        if let Some((name, setting)) = rest.split_once("') which set configuration ") {
            // Keys are Kafka config names (no spaces); values may hold " to ".
            let (key, value) = setting.split_once(" to ").ok_or(ParseError::Unrecognized)?;
            let event_type = if value == "null" {
                "config_removed"
            } else {
                "config_set"
            };
            (name, key, event_type)
        } else if let Some((name, key)) = rest.split_once("') which removed configuration ") {
            (name, key, "config_removed")
        } else {
            return Err(ParseError::Unrecognized);
        };
    let mut ev = new(Category::ConfigChange, event_type);
    ev.resource_type = Some(config_resource_type(rtype).into());
    ev.resource_name = (!name.is_empty()).then_some(name.into());
    ev.config_key = Some(key.into());
    Ok(Some(ev))
}

/// `ClientQuotaRecord for ClientQuotaEntity(entries={user=alice}) setting producer_byte_rate to
/// 1024.0.` / `… removing producer_byte_rate.`
fn quota<'a>(body: &'a str, new: New<'_, 'a>) -> Read<'a> {
    let Some(rest) = body.strip_prefix("ClientQuotaRecord for ClientQuotaEntity(entries={") else {
        return Ok(None);
    };
    let (entity, rest) = rest.split_once("}) ").ok_or(ParseError::Unrecognized)?;
    let (event_type, key) = if let Some(r) = rest.strip_prefix("setting ") {
        let (key, _value) = r.split_once(" to ").ok_or(ParseError::Unrecognized)?;
        ("quota_set", key)
    } else if let Some(r) = rest.strip_prefix("removing ") {
        ("quota_removed", r.strip_suffix('.').unwrap_or(r))
    } else {
        return Err(ParseError::Unrecognized);
    };
    let mut ev = new(Category::ConfigChange, event_type);
    ev.resource_type = Some("ClientQuota".into());
    ev.resource_name = (!entity.is_empty()).then_some(entity.into());
    ev.config_key = Some(key.into());
    Ok(Some(ev))
}

/// `DelegationTokenRecord for …`, `RemoveDelegationTokenRecord for …`.
fn token<'a>(body: &'a str, new: New<'_, 'a>) -> Read<'a> {
    let token = if let Some(r) = body.strip_prefix("DelegationTokenRecord for ") {
        Some(("delegation_token_created", ChangeAction::Create, r))
    } else {
        body.strip_prefix("RemoveDelegationTokenRecord for ")
            .map(|r| ("delegation_token_deleted", ChangeAction::Delete, r))
    };
    Ok(token.map(|(event_type, action, _token)| {
        let mut ev = new(Category::CredentialChange, event_type);
        ev.action = Some(action);
        ev.mechanism = Some(DELEGATION_TOKEN.into());
        ev
    }))
}

/// `TopicRecord for topic orders with topic ID <id>.`, `RemoveTopicRecord for topic orders with
/// ID <id>.`
fn topic<'a>(body: &'a str, new: New<'_, 'a>) -> Read<'a> {
    let topic = if let Some(r) = body.strip_prefix("TopicRecord for topic ") {
        Some(("topic_created", r.split_once(" with topic ID ")))
    } else {
        body.strip_prefix("RemoveTopicRecord for topic ")
            .map(|r| ("topic_deleted", r.split_once(" with ID ")))
    };
    let Some((event_type, split)) = topic else {
        return Ok(None);
    };
    let (name, _id) = split.ok_or(ParseError::Unrecognized)?;
    let mut ev = new(Category::ResourceChange, event_type);
    ev.resource_type = Some("Topic".into());
    ev.resource_name = Some(name.into());
    Ok(Some(ev))
}

/// The `mechanism` of delegation-token changes.
pub const DELEGATION_TOKEN: &str = "delegation-token";

/// A controller lifecycle line that bounds the startup replay of the metadata log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// `Creating new QuorumController with clusterId …`: the controller (re)starts and will
    /// replay every record of its metadata log; those `Replayed …` lines are not new changes.
    Starting,
    /// `Becoming the active controller at epoch …`: the replay is over; records replayed from
    /// now on are new commits.
    Active,
}

/// Recognizes the lines that start and end a controller's startup replay.
pub fn lifecycle(message: &str) -> Option<Lifecycle> {
    let (_, body) = split_controller(message);
    if body.starts_with("Creating new QuorumController with clusterId ") {
        Some(Lifecycle::Starting)
    } else if body.starts_with("Becoming the active controller at epoch ") {
        Some(Lifecycle::Active)
    } else {
        None
    }
}

/// Splits `[QuorumController id=N] ` off a message: `(Some("N"), rest)`.
fn split_controller(message: &str) -> (Option<&str>, &str) {
    message
        .strip_prefix("[QuorumController id=")
        .and_then(|r| r.split_once("] "))
        .map_or((None, message), |(id, rest)| (Some(id), rest))
}

/// `ConfigResource.Type` names in the PascalCase the other resource types use.
fn config_resource_type(t: &str) -> &str {
    match t {
        "TOPIC" => "Topic",
        "BROKER" => "Broker",
        "BROKER_LOGGER" => "BrokerLogger",
        "CLIENT_METRICS" => "ClientMetrics",
        "GROUP" => "Group",
        "UNKNOWN" => "Unknown",
        other => other,
    }
}

#[derive(Debug, PartialEq)]
struct Acl<'a> {
    resource_type: &'a str,
    resource_name: &'a str,
    pattern_type: &'a str,
    principal: &'a str,
    operation: &'a str,
    permission: &'a str,
}

/// Reads `StandardAcl[resourceType=…, resourceName=…, patternType=…, principal=…, host=…,
/// operation=…, permissionType=…]` (or with parentheses). The resource name and principal may
/// hold `, `; they are delimited by the fixed vocabularies of the fields around them.
fn read_acl(s: &str) -> Result<Acl<'_>, ParseError> {
    let inner = s
        .strip_prefix("StandardAcl[")
        .and_then(|a| a.strip_suffix(']'))
        .or_else(|| {
            s.strip_prefix("StandardAcl(")
                .and_then(|a| a.strip_suffix(')'))
        })
        .ok_or(ParseError::Unrecognized)?;
    let bad = |problem: &str| ParseError::InvalidField {
        field: "acl",
        problem: problem.into(),
    };
    let rest = inner
        .strip_prefix("resourceType=")
        .ok_or_else(|| bad("no resourceType"))?;
    let (resource_type, rest) = rest
        .split_once(", resourceName=")
        .ok_or_else(|| bad("no resourceName"))?;
    // From the right: permissionType, operation, host (admin-set, no ", ").
    let (rest, permission) = rest
        .rsplit_once(", permissionType=")
        .ok_or_else(|| bad("no permissionType"))?;
    if !matches!(permission, "ALLOW" | "DENY" | "ANY" | "UNKNOWN") {
        return Err(bad("unknown permissionType"));
    }
    let (rest, operation) = rest
        .rsplit_once(", operation=")
        .ok_or_else(|| bad("no operation"))?;
    let (rest, _host) = rest.rsplit_once(", host=").ok_or_else(|| bad("no host"))?;
    // rest = "<name>, patternType=<PT>, principal=<principal>"
    let mut found = None;
    for (at, _) in rest.match_indices(", patternType=") {
        let after = &rest[at + ", patternType=".len()..];
        let Some((pt, principal)) = after.split_once(", principal=") else {
            continue;
        };
        if matches!(pt, "LITERAL" | "PREFIXED" | "MATCH" | "ANY" | "UNKNOWN") {
            if found.is_some() {
                return Err(bad("ambiguous resourceName/principal"));
            }
            found = Some((&rest[..at], pt, principal));
        }
    }
    let (resource_name, pattern_type, principal) = found.ok_or_else(|| bad("no patternType"))?;
    Ok(Acl {
        resource_type,
        resource_name,
        pattern_type,
        principal,
        operation,
        permission,
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
    fn acl_records_with_brackets_and_parens() {
        let e = one("[QuorumController id=1] Replayed AccessControlEntryRecord for 9hEExFzMR_2SXaA8JGp5Cw, setting StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW]");
        assert_fields(
            &e,
            &[
                ("category", Some("acl_change")),
                ("event_type", Some("acl_created")),
                ("operation", Some("DESCRIBE")),
                ("resource_type", Some("Topic")),
                ("resource_name", Some("orders")),
                ("pattern_type", Some("LITERAL")),
                ("principal", Some("User:alice")),
                ("broker_id", Some("1")),
            ],
        );
        let e = one("[QuorumController id=1] Replayed RemoveAccessControlEntryRecord for 5Ew2wGzDRVqk8p3kYv3QpA, removing StandardAcl(resourceType=GROUP, resourceName=billing, x, patternType=PREFIXED, principal=User:CN=a, O=Acme, host=*, operation=READ, permissionType=DENY)");
        assert_fields(
            &e,
            &[
                ("event_type", Some("acl_deleted")),
                ("resource_type", Some("Group")),
                ("resource_name", Some("billing, x")),
                ("principal", Some("User:CN=a, O=Acme")),
            ],
        );
    }

    #[test]
    fn acl_permission_and_config_key_are_kept() {
        let e = one("[QuorumController id=1] Replayed AccessControlEntryRecord for 9hEExFzMR_2SXaA8JGp5Cw, setting StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, operation=WRITE, permissionType=DENY]");
        assert_eq!(e.permission, Some(Permission::Deny));
        let e = one("[QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=TOPIC, name='orders') which set configuration retention.ms to 1 to 2");
        assert_eq!(e.config_key.as_deref(), Some("retention.ms"));
    }

    #[test]
    fn quota_and_token_records() {
        let e = one("[QuorumController id=1] Replayed ClientQuotaRecord for ClientQuotaEntity(entries={user=alice}) setting producer_byte_rate to 1024.0.");
        assert_fields(
            &e,
            &[
                ("category", Some("config_change")),
                ("event_type", Some("quota_set")),
                ("resource_type", Some("ClientQuota")),
                ("resource_name", Some("user=alice")),
                ("config_key", Some("producer_byte_rate")),
            ],
        );
        let e = one("[QuorumController id=1] Replayed ClientQuotaRecord for ClientQuotaEntity(entries={user=alice, client-id=app}) removing producer_byte_rate.");
        assert_fields(
            &e,
            &[
                ("event_type", Some("quota_removed")),
                ("resource_name", Some("user=alice, client-id=app")),
                ("config_key", Some("producer_byte_rate")),
            ],
        );
        let e = one(
            "[QuorumController id=1] Replayed DelegationTokenRecord for Mn4lQ3gsR3yqVYLw2x1aLg.",
        );
        assert_fields(
            &e,
            &[
                ("category", Some("credential_change")),
                ("event_type", Some("delegation_token_created")),
                ("mechanism", Some(DELEGATION_TOKEN)),
            ],
        );
        let e = one("[QuorumController id=1] Replayed RemoveDelegationTokenRecord for Mn4lQ3gsR3yqVYLw2x1aLg.");
        assert_eq!(e.event_type, "delegation_token_deleted");
    }

    #[test]
    fn lifecycle_lines_bound_the_startup_replay() {
        assert_eq!(
            lifecycle("[QuorumController id=1] Creating new QuorumController with clusterId MwTDkQeNYTZqM_InrhQX_A"),
            Some(Lifecycle::Starting)
        );
        assert_eq!(
            lifecycle("[QuorumController id=1] Becoming the active controller at epoch 2, next write offset 71."),
            Some(Lifecycle::Active)
        );
        assert_eq!(
            lifecycle("[QuorumController id=1] Replayed TopicRecord for topic a with topic ID b."),
            None
        );
    }

    #[test]
    fn scram_records() {
        let e = one("[QuorumController id=1] Replayed UserScramCredentialRecord creating new entry for carol with mechanism SCRAM_SHA_256.");
        assert_fields(
            &e,
            &[
                ("category", Some("credential_change")),
                ("event_type", Some("scram_credential_created")),
                ("principal", Some("carol")),
                ("mechanism", Some("SCRAM-SHA-256")),
            ],
        );
        let e = one("[QuorumController id=1] Replayed UserScramCredentialRecord modifying existing entry for carol with mechanism SCRAM_SHA_512.");
        assert_eq!(e.event_type, "scram_credential_updated");
        assert_eq!(e.mechanism.as_deref(), Some("SCRAM-SHA-512"));
        let e = one("[QuorumController id=1] Replayed RemoveUserScramCredentialRecord for a with mechanism b with mechanism SCRAM_SHA_256.");
        assert_eq!(e.event_type, "scram_credential_deleted");
        assert_eq!(e.principal.as_deref(), Some("a with mechanism b"));
    }

    #[test]
    fn config_records() {
        let e = one("[QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=TOPIC, name='orders') which set configuration retention.ms to 86400000");
        assert_fields(
            &e,
            &[
                ("category", Some("config_change")),
                ("event_type", Some("config_set")),
                ("resource_type", Some("Topic")),
                ("resource_name", Some("orders")),
            ],
        );
        let e = one("[QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=BROKER, name='') which set configuration min.insync.replicas to 1");
        assert_fields(
            &e,
            &[("resource_type", Some("Broker")), ("resource_name", None)],
        );
        let e = one("[QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=TOPIC, name='orders') which removed configuration retention.ms");
        assert_eq!(e.event_type, "config_removed");
    }

    #[test]
    fn topic_records() {
        let e = one("[QuorumController id=1] Replayed TopicRecord for topic orders with topic ID 61l4URg_RMSJCg0JfeJ0OA.");
        assert_eq!(
            (e.category, &*e.event_type),
            (Category::ResourceChange, "topic_created")
        );
        assert_eq!(e.resource_name.as_deref(), Some("orders"));
        let e = one("[QuorumController id=1] Replayed RemoveTopicRecord for topic orders with ID hYtIr3NlQf6c8Q2sX0v5Ag.");
        assert_eq!(e.event_type, "topic_deleted");
    }

    #[test]
    fn other_records_are_not_changes() {
        for m in [
            "[QuorumController id=1] Replayed BeginTransactionRecord(name='Bootstrap records') at offset 1.",
            "[QuorumController id=1] Replayed EndTransactionRecord() at offset 12.",
            "[QuorumController id=1] Becoming the active controller at epoch 1",
        ] {
            assert_eq!(parse_message(m, None, SystemTime::UNIX_EPOCH), Ok(None));
            assert_eq!(change_key(m), None);
        }
    }

    #[test]
    fn change_keys_ignore_the_controller_id() {
        let a = "[QuorumController id=1] Replayed TopicRecord for topic orders with topic ID x.";
        let b = "[QuorumController id=2] Replayed TopicRecord for topic orders with topic ID x.";
        assert_eq!(change_key(a), change_key(b));
        assert_eq!(
            change_key(a),
            Some("Replayed TopicRecord for topic orders with topic ID x.")
        );
    }

    #[test]
    fn ambiguous_acl_is_rejected() {
        assert!(matches!(
            parse_message("Replayed AccessControlEntryRecord for x, setting StandardAcl[resourceType=GROUP, resourceName=a, patternType=LITERAL, principal=b, patternType=LITERAL, principal=User:c, host=*, operation=READ, permissionType=ALLOW]", None, SystemTime::UNIX_EPOCH),
            Err(ParseError::InvalidField { field: "acl", .. })
        ));
    }

    /// Messages of every record this parser reads (from the tests above), and a ZooKeeper-era
    /// notification it hands on.
    const VALID: &[&str] = &[
        "[QuorumController id=1] Replayed AccessControlEntryRecord for 9hEExFzMR_2SXaA8JGp5Cw, setting StandardAcl[resourceType=TOPIC, resourceName=orders, patternType=LITERAL, principal=User:alice, host=*, operation=DESCRIBE, permissionType=ALLOW]",
        "[QuorumController id=1] Replayed RemoveAccessControlEntryRecord for 5Ew2wGzDRVqk8p3kYv3QpA, removing StandardAcl(resourceType=GROUP, resourceName=billing, x, patternType=PREFIXED, principal=User:CN=a, O=Acme, host=*, operation=READ, permissionType=DENY)",
        "[QuorumController id=1] Replayed UserScramCredentialRecord creating new entry for carol with mechanism SCRAM_SHA_256.",
        "[QuorumController id=1] Replayed RemoveUserScramCredentialRecord for a with mechanism b with mechanism SCRAM_SHA_256.",
        "[QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=TOPIC, name='orders') which set configuration retention.ms to 86400000",
        "[QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=TOPIC, name='orders') which removed configuration retention.ms",
        "[QuorumController id=1] Replayed TopicRecord for topic orders with topic ID 61l4URg_RMSJCg0JfeJ0OA.",
        "[QuorumController id=1] Replayed RemoveTopicRecord for topic orders with ID hYtIr3NlQf6c8Q2sX0v5Ag.",
        "[QuorumController id=1] Replayed ClientQuotaRecord for ClientQuotaEntity(entries={user=alice, client-id=app}) removing producer_byte_rate.",
        "[QuorumController id=1] Replayed ClientQuotaRecord for ClientQuotaEntity(entries={user=alice}) setting producer_byte_rate to 1024.0.",
        "[QuorumController id=1] Replayed DelegationTokenRecord for Mn4lQ3gsR3yqVYLw2x1aLg.",
        "Processing Acl change notification for Topic:LITERAL:orders, versionedAcls : Set(User:alice has Allow permission for operations: Read from hosts: *), zkVersion : 3",
    ];

    /// The separators and keywords of those messages.
    #[rustfmt::skip]
    const TOKENS: &[&str] = &[
        "[QuorumController id=", "] ", "Replayed ", "StandardAcl[", "StandardAcl(", "resourceType=",
        "resourceName=", "patternType=", "principal=", "host=", "operation=", "permissionType=",
        ", ", "=", "[", "]", "(", ")", "{", "}", "'", " with mechanism ", " for ", " to ",
        " which set configuration ", " which removed configuration ", " with topic ID ", ".",
        "User:", "\n", " ", "",
    ];

    /// What an event read from `message` names is in the message.
    fn check(message: &str) -> Result<(), proptest::test_runner::TestCaseError> {
        let _ = change_key(message);
        let _ = lifecycle(message);
        let Ok(Some(e)) = parse_message(message, None, SystemTime::UNIX_EPOCH) else {
            return Ok(());
        };
        let named = [&e.principal, &e.resource_name, &e.config_key, &e.broker_id];
        for value in named.into_iter().flatten() {
            proptest::prop_assert!(
                message.contains(value.as_ref()),
                "{value:?} not in {message:?}"
            );
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(message in ".*") {
            check(&message)?;
        }

        #[test]
        fn near_misses_never_panic_and_name_only_what_the_message_says(
            message in test_support::near_miss(VALID, TOKENS),
        ) {
            check(&message)?;
        }
    }
}
