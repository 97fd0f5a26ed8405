//! ZooKeeper-era change notifications in a broker's `server.log` → change events. Regex-free.
//!
//! Before KRaft, a broker learnt of ACL and credential changes from ZooKeeper notifications and
//! logged each one it applied. These are the only trace of such changes in a ZooKeeper-mode
//! broker's logs, so they are read wherever they appear, whatever their logger (a vendor's
//! subclass of `AclAuthorizer` logs under its own class name).
//!
//! # Shapes
//!
//! | message | source | event |
//! |---|---|---|
//! | `Processing Acl change notification for ResourcePattern(resourceType=GROUP, name=*, patternType=LITERAL), versionedAcls : Set(User:client has ALLOW permission for operations: ALL from hosts: *), zkVersion : 0` | `processAclChangeNotification` of `core/src/main/scala/kafka/security/authorizer/AclAuthorizer.scala` (2.4–3.x) | [`Category::AclChange`] `acl_changed` |
//! | `Processing Acl change notification for Topic:LITERAL:orders, versionedAcls : Set(User:alice has Allow permission for operations: Read from hosts: *), zkVersion : 3` | the same method of `core/src/main/scala/kafka/security/auth/SimpleAclAuthorizer.scala` (before 2.4; 1.x writes `Topic:orders`) | `acl_changed` |
//! | `Processing override for entityPath: users/alice with config: Map(SCRAM-SHA-256 -> [hidden])` | `processEntityConfigChangeVersion2` of `core/src/main/scala/kafka/server/DynamicConfigManager.scala` (logger `kafka.server.DynamicConfigManager`, `kafka.server.ZkConfigManager` in 3.x) | [`Category::CredentialChange`] `scram_credential_changed` |
//!
//! Both messages state what holds *after* the change, not the change: the ACL line lists every
//! ACL of the resource (`Set()` when the last one was removed), the override line every config
//! of the entity (SCRAM credentials as `[hidden]`). So no event has an `action`. An ACL event
//! carries the resource (type in PascalCase, name, pattern type when the line names one) and,
//! when the set holds exactly one ACL, that ACL's principal, operation and permission. A
//! credential event carries the user name (desanitized: ZooKeeper paths percent-encode it, as
//! `Sanitizer` does) as `principal`, as the KRaft controller names SCRAM users, and the
//! mechanism when the map names exactly one.
//!
//! Not read (`Ok(None)`): overrides of topics, brokers, clients and IPs, and of users whose map
//! holds no SCRAM credential — such a line cannot tell a quota change from the removal of the
//! user's last credential.

use std::borrow::Cow;
use std::time::SystemTime;

use super::ParseError;
use crate::event::{
    normalize_operation, normalize_resource_type, Category, Format, Origin, Outcome, Permission,
    SecurityEvent, Text,
};

const ACL_CHANGE: &str = "Processing Acl change notification for ";
const OVERRIDE: &str = "Processing override for entityPath: ";
const VERSIONED_ACLS: &str = ", versionedAcls : Set(";
const ZK_VERSION: &str = "), zkVersion : ";
const ACL_SEPARATOR: &str = " permission for operations: ";

/// Whether `message` (`%m`) is one of the notifications above.
pub fn is_change(message: &str) -> bool {
    message.starts_with(ACL_CHANGE) || message.starts_with(OVERRIDE)
}

/// Parses one message (`%m`); `Ok(None)` when it is not a notification read as a change.
pub fn parse_message(
    message: &str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
) -> Result<Option<SecurityEvent<'_>>, ParseError> {
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
        ev
    };
    if let Some(rest) = message.strip_prefix(ACL_CHANGE) {
        return acl_change(rest, new(Category::AclChange, "acl_changed")).map(Some);
    }
    if let Some(rest) = message.strip_prefix(OVERRIDE) {
        return Ok(match scram_user(rest)? {
            Some((user, mechanism)) => {
                let mut ev = new(Category::CredentialChange, "scram_credential_changed");
                ev.principal = Some(user);
                ev.mechanism = mechanism.map(Into::into);
                Some(ev)
            }
            None => None,
        });
    }
    Ok(None)
}

fn bad(problem: &str) -> ParseError {
    ParseError::InvalidField {
        field: "zookeeper_change",
        problem: problem.into(),
    }
}

/// `<resource>, versionedAcls : Set(<acls>), zkVersion : <n>`.
fn acl_change<'a>(
    rest: &'a str,
    mut ev: SecurityEvent<'a>,
) -> Result<SecurityEvent<'a>, ParseError> {
    // Resource names and ACL principals are chosen by whoever may create ACLs: the separators
    // must occur once, or the line cannot be split with certainty.
    let (head, version) = rest
        .rsplit_once(ZK_VERSION)
        .ok_or_else(|| bad("no zkVersion"))?;
    if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("zkVersion is not a number"));
    }
    let mut splits = head.match_indices(VERSIONED_ACLS);
    let (at, _) = splits.next().ok_or_else(|| bad("no versionedAcls"))?;
    if splits.next().is_some() {
        return Err(bad("ambiguous resource/ACLs"));
    }
    let (resource, acls) = (&head[..at], &head[at + VERSIONED_ACLS.len()..]);
    let (resource_type, name, pattern_type) = read_resource(resource)?;
    ev.resource_type = Some(normalize_resource_type(resource_type));
    ev.resource_name = Some(name.into());
    ev.pattern_type = pattern_type.map(Into::into);
    if acls.matches(ACL_SEPARATOR).count() == 1 {
        // `<principal> has <ALLOW|Allow> permission for operations: <op> from hosts: <host>`
        // (`AclEntry.toString`, `Acl.toString` before 2.4).
        let (who, what) = acls
            .split_once(ACL_SEPARATOR)
            .ok_or_else(|| bad("no ACL"))?;
        let (principal, permission) = who
            .rsplit_once(" has ")
            .ok_or_else(|| bad("no principal"))?;
        let (operation, _host) = what
            .split_once(" from hosts: ")
            .ok_or_else(|| bad("no hosts"))?;
        ev.principal = Some(principal.into());
        ev.permission =
            Some(Permission::from_name(permission).ok_or_else(|| bad("unknown permission"))?);
        ev.operation = Some(normalize_operation(operation));
    }
    Ok(ev)
}

/// `ResourcePattern(resourceType=TOPIC, name=orders, patternType=LITERAL)`, `Topic:LITERAL:orders`
/// (2.0–2.3) or `Topic:orders` (1.x, no pattern type).
fn read_resource(s: &str) -> Result<(&str, &str, Option<&str>), ParseError> {
    const PATTERNS: [&str; 5] = ["LITERAL", "PREFIXED", "MATCH", "ANY", "UNKNOWN"];
    if let Some(inner) = s
        .strip_prefix("ResourcePattern(resourceType=")
        .and_then(|r| r.strip_suffix(')'))
    {
        let (rtype, rest) = inner
            .split_once(", name=")
            .ok_or_else(|| bad("no resource name"))?;
        let (name, pattern) = rest
            .rsplit_once(", patternType=")
            .ok_or_else(|| bad("no patternType"))?;
        if !PATTERNS.contains(&pattern) {
            return Err(bad("unknown patternType"));
        }
        return Ok((rtype, name, Some(pattern)));
    }
    let (rtype, rest) = s.split_once(':').ok_or_else(|| bad("no resource"))?;
    if rtype.is_empty() || !rtype.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(bad("no resource type"));
    }
    Ok(match rest.split_once(':') {
        Some((pattern, name)) if PATTERNS.contains(&pattern) => (rtype, name, Some(pattern)),
        _ => (rtype, rest, None),
    })
}

/// The user and single SCRAM mechanism of `users/<name> with config: Map(…)` (`HashMap(…)` in
/// 3.x) when the map holds a SCRAM credential.
fn scram_user(rest: &str) -> Result<Option<(Text<'_>, Option<&str>)>, ParseError> {
    let Some(rest) = rest.strip_prefix("users/") else {
        return Ok(None);
    };
    let (user, config) = rest
        .split_once(" with config: ")
        .ok_or_else(|| bad("no config"))?;
    if user.contains('/') {
        // `users/<name>/clients/<id>`: a quota entity, which has no credentials.
        return Ok(None);
    }
    let map = config
        .strip_prefix("Map(")
        .or_else(|| config.strip_prefix("HashMap("))
        .and_then(|m| m.strip_suffix(')'))
        .ok_or_else(|| bad("no config map"))?;
    // Keys are config names (no spaces); SCRAM values are always `[hidden]`.
    let mut mechanisms = map.split(", ").filter_map(|entry| {
        let (key, value) = entry.split_once(" -> ")?;
        (key.starts_with("SCRAM-SHA-") && value == "[hidden]").then_some(key)
    });
    let Some(first) = mechanisms.next() else {
        return Ok(None);
    };
    let mechanism = mechanisms.next().is_none().then_some(first);
    Ok(Some((desanitize(user)?, mechanism)))
}

/// Undoes the percent-encoding `Sanitizer.sanitize` applies to entity names in ZooKeeper paths.
fn desanitize(name: &str) -> Result<Text<'_>, ParseError> {
    if !name.contains('%') {
        return Ok(Cow::Borrowed(name));
    }
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = name
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| bad("bad percent-escape in the user name"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| bad("user name is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::test_support::{self, assert_fields};

    fn one(message: &str) -> SecurityEvent<'_> {
        test_support::event(parse_message, message)
    }

    fn none(message: &str) {
        let got = parse_message(message, None, SystemTime::UNIX_EPOCH).unwrap();
        assert!(got.is_none(), "{message}: {got:?}");
    }

    #[test]
    fn acl_authorizer_notification_with_one_acl() {
        // AclAuthorizer.scala, processAclChangeNotification (Kafka 2.4–3.x).
        let e = one("Processing Acl change notification for ResourcePattern(resourceType=GROUP, name=*, patternType=LITERAL), versionedAcls : Set(User:client has ALLOW permission for operations: ALL from hosts: *), zkVersion : 0");
        assert_fields(
            &e,
            &[
                ("format", Some("controller_log")),
                ("category", Some("acl_change")),
                ("outcome", Some("success")),
                ("event_type", Some("acl_changed")),
                ("action", None),
                ("resource_type", Some("Group")),
                ("resource_name", Some("*")),
                ("pattern_type", Some("LITERAL")),
                ("principal", Some("User:client")),
                ("operation", Some("ALL")),
                ("permission", Some("allow")),
            ],
        );
    }

    #[test]
    fn several_or_no_acls_name_only_the_resource() {
        let e = one("Processing Acl change notification for ResourcePattern(resourceType=TOPIC, name=fa6fff3d1502, patternType=LITERAL), versionedAcls : Set(User:local has ALLOW permission for operations: WRITE from hosts: *, User:local has ALLOW permission for operations: CREATE from hosts: *), zkVersion : 0");
        assert_fields(
            &e,
            &[
                ("resource_type", Some("Topic")),
                ("resource_name", Some("fa6fff3d1502")),
                ("principal", None),
                ("operation", None),
                ("permission", None),
            ],
        );
        let e = one("Processing Acl change notification for ResourcePattern(resourceType=TOPIC, name=orders, patternType=PREFIXED), versionedAcls : Set(), zkVersion : 4");
        assert_fields(
            &e,
            &[
                ("resource_name", Some("orders")),
                ("pattern_type", Some("PREFIXED")),
                ("principal", None),
            ],
        );
    }

    #[test]
    fn simple_acl_authorizer_shapes() {
        // SimpleAclAuthorizer.scala, processAclChangeNotification (before 2.4): `Resource` and
        // `Acl` print Kafka's old PascalCase names.
        let e = one("Processing Acl change notification for Topic:LITERAL:orders, versionedAcls : Set(User:CN=a, O=b has Deny permission for operations: Read from hosts: 10.0.0.1), zkVersion : 3");
        assert_fields(
            &e,
            &[
                ("resource_type", Some("Topic")),
                ("resource_name", Some("orders")),
                ("pattern_type", Some("LITERAL")),
                ("principal", Some("User:CN=a, O=b")),
                ("operation", Some("READ")),
                ("permission", Some("deny")),
            ],
        );
        let e = one("Processing Acl change notification for Group:app:v1, versionedAcls : Set(), zkVersion : 1");
        assert_fields(
            &e,
            &[
                ("resource_type", Some("Group")),
                ("resource_name", Some("app:v1")),
                ("pattern_type", None),
            ],
        );
    }

    #[test]
    fn a_resource_name_holding_the_separator_is_an_error() {
        let err = test_support::error(parse_message, "Processing Acl change notification for ResourcePattern(resourceType=GROUP, name=g, versionedAcls : Set(User:x has ALLOW permission for operations: ALL from hosts: *), zkVersion : 0, patternType=LITERAL), versionedAcls : Set(), zkVersion : 0");
        assert!(err.to_string().contains("ambiguous"), "{err}");
        let err = test_support::error(
            parse_message,
            "Processing Acl change notification for nothing",
        );
        assert!(err.to_string().contains("zkVersion"), "{err}");
    }

    #[test]
    fn scram_overrides_are_credential_changes() {
        // DynamicConfigManager.scala, processEntityConfigChangeVersion2.
        let e = one("Processing override for entityPath: users/test with config: Map(SCRAM-SHA-256 -> [hidden], SCRAM-SHA-512 -> [hidden])");
        assert_fields(
            &e,
            &[
                ("format", Some("controller_log")),
                ("category", Some("credential_change")),
                ("outcome", Some("success")),
                ("event_type", Some("scram_credential_changed")),
                ("action", None),
                ("principal", Some("test")),
                ("mechanism", None),
            ],
        );
        let e = one("Processing override for entityPath: users/CN%3Dalice%2COU%3DTEST with config: HashMap(producer_byte_rate -> 1024, SCRAM-SHA-512 -> [hidden])");
        assert_fields(
            &e,
            &[
                ("principal", Some("CN=alice,OU=TEST")),
                ("mechanism", Some("SCRAM-SHA-512")),
            ],
        );
    }

    #[test]
    fn other_overrides_are_not_credential_changes() {
        none("Processing override for entityPath: topics/java-batching-4 with config: HashMap(retention.ms -> 0)");
        none("Processing override for entityPath: users/alice with config: Map(producer_byte_rate -> 1024)");
        none("Processing override for entityPath: users/alice/clients/app with config: Map(SCRAM-SHA-256 -> [hidden])");
        none("Processing notification(s) to /config/changes");
        let err = test_support::error(
            parse_message,
            "Processing override for entityPath: users/a%zz with config: Map(SCRAM-SHA-256 -> [hidden])",
        );
        assert!(err.to_string().contains("percent-escape"), "{err}");
    }
}
