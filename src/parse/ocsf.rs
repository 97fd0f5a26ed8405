//! OCSF 1.x events as Redpanda's audit log writes them (topic `_redpanda.audit_log`, one JSON
//! object per record) → security events of format `ocsf`.
//!
//! Redpanda emits three OCSF classes (`src/v/security/audit/schemas/` in redpanda-data/redpanda):
//!
//! | `class_uid` | class | becomes |
//! |---|---|---|
//! | 3002 | Authentication | `authentication`: `status_id` 1 → `success`, 2 → `failure` (reason from `status_detail`), else `unknown` |
//! | 6003 | API Activity (Kafka API, Admin API, Schema Registry) | `authorization`: `actor.authorizations[0].decision` `authorized` → `allowed`, `denied` → `denied`; without one, `status_id` 1/2 |
//! | 6002 | Application Lifecycle (Redpanda or its audit subsystem started or stopped) | `other`, event type `application_lifecycle.<activity>` |
//!
//! Any other class is refused with a parse error naming it (`invalid_field`, field `class_uid`).
//!
//! # Fields
//!
//! `event_time` from `time` (epoch milliseconds); `principal` `User:<user name>` from `user.name`
//! (3002) or `actor.user.name` (6003), as Kafka and `rpk acl` name a SASL user (Redpanda's
//! `{{anonymous}}` becomes `User:ANONYMOUS`); `client_host` and `client_id` from `src_endpoint.ip`
//! and `.name`; `broker_id` from `metadata.product.uid`; `mechanism` from `auth_protocol`
//! (`SCRAM-SHA-256`), else the OCSF protocol id (2 → `GSSAPI`, 6 → `OAUTHBEARER`). For 6003:
//! `api` from `api.operation`, Kafka's snake_case request names in `ApiKeys` PascalCase
//! (`create_acls` → `CreateAcls`) and the HTTP method for the Admin API and Schema Registry;
//! `resource_type`/`resource_name` from the first of `resources[]` that is a Kafka resource
//! (`topic`, `group`, `transactional_id`, `cluster`). A denial's reason is `deny_acl` when the
//! matching ACL is a DENY (`policy.desc` `… perm deny …` or
//! `unmapped.authorization_metadata.acl_authorization.permission_type` `deny`), else
//! `no_matching_acl` for the Kafka API and `other` for the HTTP APIs.
//!
//! Redpanda names no ACL operation in an API Activity event, so `operation` stays empty.
//! Redpanda may aggregate repeated identical checks into one event with `count`; such an event
//! is counted once.

use std::borrow::Cow;
use std::time::{Duration, UNIX_EPOCH};

use serde_json::Value;

use super::vocab::reason_from_message;
use super::{check_json_depth, ParseError, Record};
use crate::event::{normalize_resource_type, Category, Format, Outcome, Reason, SecurityEvent};

/// OCSF class ids this parser reads.
const AUTHENTICATION: u64 = 3002;
const APPLICATION_LIFECYCLE: u64 = 6002;
const API_ACTIVITY: u64 = 6003;

/// Whether a JSON object's bytes look like an OCSF event (`class_uid` and `category_uid`).
pub fn looks_like(payload: &[u8]) -> bool {
    memchr::memmem::find(payload, b"\"class_uid\"").is_some()
        && memchr::memmem::find(payload, b"\"category_uid\"").is_some()
}

/// Parses one OCSF event.
pub fn parse<'a>(record: &Record<'a>) -> Result<SecurityEvent<'a>, ParseError> {
    if record.payload.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    check_json_depth(record.payload)?;
    let src = std::str::from_utf8(record.payload).map_err(|e| ParseError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let v: Value = serde_json::from_str(src).map_err(|e| ParseError::from_json(&e))?;
    let Value::Object(_) = v else {
        return Err(ParseError::InvalidJson("expected a JSON object".into()));
    };
    let class = match v.get("class_uid") {
        None | Some(Value::Null) => return Err(ParseError::MissingField("class_uid")),
        Some(c) => c.as_u64().ok_or_else(|| ParseError::InvalidField {
            field: "class_uid",
            problem: format!("`{c}` is not a class id"),
        })?,
    };
    let str_at = |path: &[&str]| -> Option<String> {
        let mut at = &v;
        for key in path {
            at = at.get(key)?;
        }
        at.as_str().filter(|s| !s.is_empty()).map(str::to_string)
    };
    let (category, outcome, event_type, reason) = classify(class, &v)?;

    let mut ev = SecurityEvent::new(
        Format::Ocsf,
        category,
        outcome,
        event_type,
        record.origin.clone(),
        record.observed_time,
    );
    ev.reason = reason;
    ev.event_time = v
        .get("time")
        .and_then(Value::as_u64)
        .map(|ms| UNIX_EPOCH + Duration::from_millis(ms))
        .or(record.timestamp);
    ev.broker_id = str_at(&["metadata", "product", "uid"]).map(Into::into);
    ev.client_host = str_at(&["src_endpoint", "ip"]).map(Into::into);
    // OCSF's `port` is an integer; a port without the address it belongs to is not kept.
    ev.client_port = ev
        .client_host
        .as_ref()
        .and(v.get("src_endpoint"))
        .and_then(|e| e.get("port"))
        .and_then(Value::as_u64)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p != 0);
    ev.client_id = str_at(&["src_endpoint", "name"]).map(Into::into);
    let user = match class {
        AUTHENTICATION => v.get("user"),
        _ => v.get("actor").and_then(|a| a.get("user")),
    };
    ev.principal = user
        .and_then(|u| u.get("name"))
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .map(|n| match n {
            "{{anonymous}}" => "User:ANONYMOUS".to_string().into(),
            n => format!("User:{n}").into(),
        });
    if class == AUTHENTICATION {
        ev.mechanism = str_at(&["auth_protocol"]).map(Into::into).or_else(|| {
            match v.get("auth_protocol_id").and_then(Value::as_u64) {
                Some(2) => Some("GSSAPI".into()),
                Some(6) => Some("OAUTHBEARER".into()),
                _ => None,
            }
        });
    }
    if class == API_ACTIVITY {
        api_and_resource(&mut ev, &v);
    }
    Ok(ev)
}

/// The category, outcome, event type and reason of an event of OCSF class `class`.
fn classify(
    class: u64,
    v: &Value,
) -> Result<(Category, Outcome, Cow<'static, str>, Option<Reason>), ParseError> {
    let status = v.get("status_id").and_then(Value::as_u64);
    Ok(match class {
        AUTHENTICATION => {
            let (outcome, reason) = match status {
                Some(1) => (Outcome::Success, None),
                Some(2) => {
                    let reason = v
                        .get("status_detail")
                        .and_then(Value::as_str)
                        .map_or(Reason::Other, reason_from_message);
                    (Outcome::Failure, Some(reason))
                }
                _ => (Outcome::Unknown, None),
            };
            (
                Category::Authentication,
                outcome,
                Cow::Borrowed("authentication"),
                reason,
            )
        }
        API_ACTIVITY => {
            let decision = v
                .pointer("/actor/authorizations/0/decision")
                .and_then(Value::as_str);
            let outcome = match (decision, status) {
                (Some("authorized"), _) => Outcome::Allowed,
                (Some("denied"), _) => Outcome::Denied,
                (Some(_), _) | (None, None) => Outcome::Unknown,
                (None, Some(1)) => Outcome::Allowed,
                (None, Some(2)) => Outcome::Denied,
                (None, Some(_)) => Outcome::Unknown,
            };
            let reason = (outcome == Outcome::Denied).then(|| denial_reason(v));
            (
                Category::Authorization,
                outcome,
                Cow::Borrowed("api_activity"),
                reason,
            )
        }
        APPLICATION_LIFECYCLE => {
            let activity = match v.get("activity_id").and_then(Value::as_u64) {
                Some(1) => "install",
                Some(2) => "remove",
                Some(3) => "start",
                Some(4) => "stop",
                Some(0) | None => "unknown",
                Some(_) => "other",
            };
            (
                Category::Other,
                Outcome::Unknown,
                Cow::Owned(format!("application_lifecycle.{activity}")),
                None,
            )
        }
        other => {
            return Err(ParseError::InvalidField {
                field: "class_uid",
                problem: format!(
                    "OCSF class {other} is not one this exporter maps (3002, 6002, 6003)"
                ),
            })
        }
    })
}

/// An API Activity's `api` and Kafka resource.
fn api_and_resource(ev: &mut SecurityEvent<'_>, v: &Value) {
    ev.api = v
        .pointer("/api/operation")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(|op| {
            if op.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                pascal_case(op).into()
            } else {
                op.to_string().into()
            }
        });
    let resources = v.get("resources").and_then(Value::as_array);
    let kafka_resource = resources.into_iter().flatten().find_map(|r| {
        let kind = r.get("type")?.as_str()?;
        let name = r.get("name")?.as_str()?;
        matches!(kind, "topic" | "group" | "transactional_id" | "cluster")
            .then(|| (normalize_resource_type(kind).into_owned(), name.to_string()))
    });
    if let Some((kind, name)) = kafka_resource {
        ev.resource_type = Some(kind.into());
        ev.resource_name = Some(name.into());
    }
}

/// Why an API Activity was denied: a DENY ACL matched, or (Kafka API) nothing allowed it.
fn denial_reason(v: &Value) -> Reason {
    let policy = v.pointer("/actor/authorizations/0/policy");
    let desc = policy
        .and_then(|p| p.get("desc"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let permission = v
        .pointer("/unmapped/authorization_metadata/acl_authorization/permission_type")
        .and_then(Value::as_str)
        .unwrap_or("");
    if desc.contains(" perm deny") || permission.eq_ignore_ascii_case("deny") {
        return Reason::DenyAcl;
    }
    let kafka = policy
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .is_some_and(|n| n == "aclAuthorization");
    if kafka {
        Reason::NoMatchingAcl
    } else {
        Reason::Other
    }
}

/// `create_acls` → `CreateAcls`.
fn pascal_case(snake: &str) -> String {
    let mut out = String::with_capacity(snake.len());
    for word in snake.split('_') {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::test_support::assert_fields;

    /// Redpanda's documented samples, one per line (its `# source:` lines name each).
    const FIXTURE: &str = include_str!("../../tests/fixtures/vendors/redpanda_audit.jsonl");

    fn fixture_lines() -> Vec<&'static str> {
        FIXTURE
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .collect()
    }

    fn parse_str(s: &str) -> Result<SecurityEvent<'_>, ParseError> {
        parse(&Record::from_payload(s.as_bytes()))
    }

    fn at(ms: u64) -> Option<String> {
        Some(humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_millis(ms)).to_string())
    }

    #[test]
    fn redpanda_samples() {
        let lines = fixture_lines();
        assert_eq!(lines.len(), 8);
        let events: Vec<_> = lines.iter().map(|l| parse_str(l)).collect();
        let ok = |i: usize| events[i].as_ref().unwrap();
        let all = |e: &SecurityEvent<'_>| -> Vec<(&'static str, String)> { e.fields() };

        // Authentication successful.
        let e = ok(0);
        assert_eq!(
            all(e),
            [
                ("format", "ocsf".to_string()),
                ("category", "authentication".into()),
                ("outcome", "success".into()),
                ("event_type", "authentication".into()),
                ("event_time", at(1_700_533_469_078).unwrap()),
                ("principal", "User:user".into()),
                ("client_host", "127.0.0.1".into()),
                ("client_port", "42906".into()),
                ("mechanism", "SASL-SCRAM".into()),
                ("client_id", "rpk".into()),
                ("broker_id", "2".into()),
            ]
        );
        // Authentication failed.
        let e = ok(1);
        assert_eq!(
            (e.category, e.outcome),
            (Category::Authentication, Outcome::Failure)
        );
        assert_eq!(e.reason, Some(Reason::InvalidCredentials));
        assert_fields(
            e,
            &[("principal", Some("User:admin")), ("broker_id", Some("1"))],
        );
        // Create ACLs as a superuser: the cluster is the authorized resource.
        let e = ok(2);
        assert_eq!(
            all(e),
            [
                ("format", "ocsf".to_string()),
                ("category", "authorization".into()),
                ("outcome", "allowed".into()),
                ("event_type", "api_activity".into()),
                ("event_time", at(1_700_533_393_776).unwrap()),
                ("principal", "User:admin".into()),
                ("client_host", "127.0.0.1".into()),
                ("client_port", "50276".into()),
                ("resource_type", "Cluster".into()),
                ("resource_name", "kafka-cluster".into()),
                ("api", "CreateAcls".into()),
                ("client_id", "rpk".into()),
            ]
        );
        // Metadata request, aggregated (`count` 2): one event.
        let e = ok(3);
        assert_eq!(e.outcome, Outcome::Allowed);
        assert_fields(
            e,
            &[
                ("api", Some("Metadata")),
                ("resource_type", Some("Topic")),
                ("resource_name", Some("test")),
                ("principal", Some("User:user")),
                ("broker_id", Some("0")),
            ],
        );
        // Admin API, allowed and denied.
        let e = ok(4);
        assert_eq!(e.outcome, Outcome::Allowed);
        assert_fields(
            e,
            &[
                ("api", Some("GET")),
                ("resource_type", None),
                ("client_id", None),
            ],
        );
        let e = ok(5);
        assert_eq!(e.outcome, Outcome::Denied);
        assert_eq!(e.reason, Some(Reason::Other));
        assert_fields(
            e,
            &[
                ("principal", Some("User:user")),
                ("event_time", at(1_700_576_203_097).as_deref()),
            ],
        );
        // A Kafka API denial by a DENY ACL.
        let e = ok(6);
        assert_eq!(
            (e.outcome, e.reason),
            (Outcome::Denied, Some(Reason::DenyAcl))
        );
        assert_fields(
            e,
            &[
                ("api", Some("Produce")),
                ("resource_type", Some("Topic")),
                ("resource_name", Some("payments")),
                ("principal", Some("User:mallory")),
                ("client_host", Some("10.0.0.9")),
                ("client_port", Some("51000")),
            ],
        );
        // Application Lifecycle: the audit subsystem stopped.
        let e = ok(7);
        assert_eq!((e.category, e.outcome), (Category::Other, Outcome::Unknown));
        assert_eq!((&e.client_host, e.client_port), (&None, None));
        assert_eq!(e.event_type, "application_lifecycle.stop");
    }

    #[test]
    fn errors_name_the_problem() {
        let e = parse_str(r#"{"category_uid":4,"class_uid":4001,"time":1}"#).unwrap_err();
        assert_eq!(
            e.to_string(),
            "field `class_uid` is invalid: OCSF class 4001 is not one this exporter maps (3002, 6002, 6003)"
        );
        assert_eq!(
            parse_str(r#"{"category_uid":3}"#).unwrap_err(),
            ParseError::MissingField("class_uid")
        );
        assert_eq!(
            parse_str(r#"{"class_uid":"x"}"#).unwrap_err().reason(),
            "invalid_field"
        );
        assert_eq!(parse_str("[1]").unwrap_err().reason(), "invalid_json");
        assert_eq!(parse_str("{").unwrap_err().reason(), "invalid_json");
        assert_eq!(parse_str("").unwrap_err(), ParseError::Empty);
    }

    #[test]
    fn detection() {
        assert!(looks_like(br#"{"category_uid":3,"class_uid":3002}"#));
        assert!(!looks_like(br#"{"class_uid":3002}"#));
    }
}
