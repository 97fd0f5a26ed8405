//! Generic JSON security events from applications, mapped to event fields by config.
//!
//! Each event field is read from the first of a list of dotted paths that is present
//! (`user.name` walks into objects). Without config, common names work: `event_type`/`type`/
//! `action`, `principal`/`user`/`user.name`, `ip`/`client_ip`/`source.ip`, `outcome`/`result`/
//! `status`/`success`, `timestamp`/`time`/`@timestamp` (RFC 3339 or epoch seconds/milliseconds), and
//! ECS (`event.category`, `event.outcome`, `event.action`). The category, when not given, is
//! inferred from the event type's words (login → authentication, access → authorization, ...).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::Value;

use super::{check_json_depth, parse_rfc3339, ParseError, Record};
use crate::event::{
    normalize_api, normalize_client_host, normalize_operation, normalize_resource_type, Category,
    Format, Outcome, SecurityEvent,
};

/// One path or a list of candidate paths.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Paths {
    One(String),
    Many(Vec<String>),
}

impl Paths {
    fn list(&self) -> Vec<String> {
        match self {
            Paths::One(p) => vec![p.clone()],
            Paths::Many(v) => v.clone(),
        }
    }
}

/// The `parsers.json` config section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonConfig {
    /// Event field → dotted path(s) in the JSON, first present wins. Fields: event_type,
    /// event_time, category, outcome, principal, client_host, listener, mechanism, operation,
    /// resource_type, resource_name, pattern_type, api, client_id, reason, cluster_id, broker_id.
    /// A configured field replaces that field's built-in defaults (listed in the module docs).
    #[serde(default)]
    pub fields: BTreeMap<String, Paths>,
    /// Raw category values → category names, e.g. `{"LOGIN": "authentication"}`. Default: none
    /// (category names and inference from the event type).
    #[serde(default)]
    pub category_values: BTreeMap<String, String>,
    /// Raw outcome values → `success`/`failure`/`allowed`/`denied`/`unknown`, e.g.
    /// `{"LOGIN_FAIL": "failure"}`. Default: none (common words are understood).
    #[serde(default)]
    pub outcome_values: BTreeMap<String, String>,
    /// Category when the event names none and none can be inferred. Default `other`.
    pub default_category: Option<String>,
}

/// The fields the mapping knows, with their built-in default paths.
const DEFAULT_PATHS: [(&str, &[&str]); 17] = [
    (
        "event_type",
        &[
            "event_type",
            "eventType",
            "type",
            "event.action",
            "event",
            "action",
        ],
    ),
    (
        "event_time",
        &[
            "timestamp",
            "time",
            "@timestamp",
            "ts",
            "event_time",
            "eventTime",
        ],
    ),
    ("category", &["category", "event.category"]),
    (
        "outcome",
        &[
            "outcome",
            "event.outcome",
            "result",
            "status",
            "success",
            "decision",
        ],
    ),
    (
        "principal",
        &[
            "principal",
            "user",
            "username",
            "user.name",
            "userName",
            "user_id",
            "userId",
            "actor",
        ],
    ),
    (
        "client_host",
        &[
            "ip",
            "client_ip",
            "clientIp",
            "src_ip",
            "source.ip",
            "client.address",
            "client.ip",
            "client_host",
            "remote_addr",
            "host",
        ],
    ),
    ("listener", &["listener"]),
    ("mechanism", &["mechanism", "auth_method", "authMethod"]),
    ("operation", &["operation", "action"]),
    ("resource_type", &["resource_type", "resourceType"]),
    (
        "resource_name",
        &["resource", "resource_name", "resourceName", "topic"],
    ),
    ("pattern_type", &["pattern_type", "patternType"]),
    ("api", &["api", "method", "methodName"]),
    ("client_id", &["client_id", "clientId"]),
    ("reason", &["reason", "failure_reason", "error"]),
    ("cluster_id", &["cluster_id", "clusterId"]),
    ("broker_id", &["broker_id", "brokerId"]),
];

/// Compiled field mapping.
#[derive(Debug)]
pub struct JsonMapping {
    /// Candidate paths per field, split into segments, in `DEFAULT_PATHS` order.
    paths: Vec<Vec<Vec<String>>>,
    category_values: BTreeMap<String, Category>,
    outcome_values: BTreeMap<String, Outcome>,
    default_category: Category,
}

fn field_index(name: &str) -> Option<usize> {
    DEFAULT_PATHS.iter().position(|(f, _)| *f == name)
}

impl JsonMapping {
    pub fn new(config: &JsonConfig) -> Result<JsonMapping, Vec<String>> {
        let mut problems = Vec::new();
        let mut paths: Vec<Vec<Vec<String>>> = DEFAULT_PATHS
            .iter()
            .map(|(_, ps)| ps.iter().map(|p| split(p)).collect())
            .collect();
        for (field, given) in &config.fields {
            let Some(i) = field_index(field) else {
                problems.push(format!(
                    "parsers.json.fields.{field}: unknown event field; expected one of {}",
                    DEFAULT_PATHS.map(|(f, _)| f).join(", ")
                ));
                continue;
            };
            let list = given.list();
            if list.is_empty() {
                problems.push(format!(
                    "parsers.json.fields.{field}: list at least one path"
                ));
            }
            for p in &list {
                if p.is_empty() || p.split('.').any(str::is_empty) {
                    problems.push(format!(
                        "parsers.json.fields.{field}: `{p}` is not a dotted path (a.b.c)"
                    ));
                }
            }
            paths[i] = list.iter().map(|p| split(p)).collect();
        }
        let mut category_values = BTreeMap::new();
        for (raw, name) in &config.category_values {
            match Category::from_name(name) {
                Some(c) => {
                    category_values.insert(raw.to_ascii_lowercase(), c);
                }
                None => problems.push(format!(
                    "parsers.json.category_values.{raw}: `{name}` is not a category; expected one of {}",
                    Category::ALL.map(Category::as_str).join(", ")
                )),
            }
        }
        let mut outcome_values = BTreeMap::new();
        for (raw, name) in &config.outcome_values {
            match Outcome::from_name(name) {
                Some(o) => {
                    outcome_values.insert(raw.to_ascii_lowercase(), o);
                }
                None => problems.push(format!(
                    "parsers.json.outcome_values.{raw}: `{name}` is not an outcome; expected one of {}",
                    Outcome::ALL.map(Outcome::as_str).join(", ")
                )),
            }
        }
        let default_category = match config.default_category.as_deref() {
            None => Category::Other,
            Some(name) => Category::from_name(name).unwrap_or_else(|| {
                problems.push(format!(
                    "parsers.json.default_category: `{name}` is not a category; expected one of {}",
                    Category::ALL.map(Category::as_str).join(", ")
                ));
                Category::Other
            }),
        };
        if problems.is_empty() {
            Ok(JsonMapping {
                paths,
                category_values,
                outcome_values,
                default_category,
            })
        } else {
            Err(problems)
        }
    }

    /// The first scalar value among `field`'s paths (an object at `user` does not hide
    /// `user.name`).
    fn lookup<'v>(&self, root: &'v Value, field: &str) -> Option<&'v Value> {
        // Field names are the constants above.
        let i = field_index(field)?;
        self.paths[i].iter().find_map(|path| {
            let mut v = root;
            for seg in path {
                v = v.as_object()?.get(seg)?;
            }
            scalar_text(v).is_some().then_some(v)
        })
    }

    fn text(&self, root: &Value, field: &str) -> Option<Cow<'static, str>> {
        self.lookup(root, field)
            .and_then(scalar_text)
            .map(Cow::Owned)
    }
}

fn split(path: &str) -> Vec<String> {
    path.split('.').map(str::to_string).collect()
}

/// A scalar as text; objects and arrays are not field values (but an ECS-style array of one
/// string, like `event.category: ["authentication"]`, is read as that string).
fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Array(items) if items.len() == 1 => scalar_text(&items[0]),
        _ => None,
    }
}

/// Parses one JSON security event.
pub fn parse<'a>(
    mapping: &JsonMapping,
    record: &Record<'a>,
) -> Result<SecurityEvent<'a>, ParseError> {
    if record.payload.iter().all(u8::is_ascii_whitespace) {
        return Err(ParseError::Empty);
    }
    check_json_depth(record.payload)?;
    let root: Value =
        serde_json::from_slice(record.payload).map_err(|e| ParseError::from_json(&e))?;
    if !root.is_object() {
        return Err(ParseError::InvalidJson("expected a JSON object".into()));
    }

    let event_type = mapping.text(&root, "event_type");
    let principal = mapping.text(&root, "principal");
    let outcome_raw = mapping.lookup(&root, "outcome");
    if event_type.is_none() && principal.is_none() && outcome_raw.is_none() {
        return Err(ParseError::Unrecognized);
    }
    let event_type = event_type
        .or_else(|| {
            record
                .key
                .and_then(|k| std::str::from_utf8(k).ok())
                .map(|k| Cow::Owned(k.to_string()))
        })
        .unwrap_or(Cow::Borrowed("unknown"));

    let category = match mapping.text(&root, "category") {
        Some(raw) => {
            let lower = raw.to_ascii_lowercase();
            mapping
                .category_values
                .get(&lower)
                .copied()
                .or_else(|| Category::from_name(&lower))
                .or_else(|| infer_category(&lower))
                .unwrap_or(mapping.default_category)
        }
        None => {
            infer_category(&event_type.to_ascii_lowercase()).unwrap_or(mapping.default_category)
        }
    };
    let outcome = outcome_raw
        .map(|v| match v {
            Value::Bool(true) => Outcome::Success,
            Value::Bool(false) => Outcome::Failure,
            v => scalar_text(v)
                .map(|raw| {
                    let lower = raw.to_ascii_lowercase();
                    mapping
                        .outcome_values
                        .get(&lower)
                        .copied()
                        .unwrap_or_else(|| outcome_word(&lower))
                })
                .unwrap_or(Outcome::Unknown),
        })
        .unwrap_or(Outcome::Unknown)
        .for_category(category);

    let mut event = SecurityEvent::new(
        Format::Json,
        category,
        outcome,
        event_type,
        record.origin.clone(),
        record.observed_time,
    );
    event.event_time = mapping
        .lookup(&root, "event_time")
        .and_then(parse_time)
        .or(record.timestamp);
    event.principal = principal;
    event.client_host = mapping
        .text(&root, "client_host")
        .map(|h| Cow::Owned(normalize_client_host(&h).to_string()));
    event.listener = mapping.text(&root, "listener");
    event.mechanism = mapping.text(&root, "mechanism");
    event.operation = mapping
        .text(&root, "operation")
        .map(|o| Cow::Owned(normalize_operation(&o).into_owned()));
    event.resource_type = mapping
        .text(&root, "resource_type")
        .map(|r| Cow::Owned(normalize_resource_type(&r).into_owned()));
    event.resource_name = mapping.text(&root, "resource_name");
    event.pattern_type = mapping.text(&root, "pattern_type");
    event.api = mapping
        .text(&root, "api")
        .map(|a| Cow::Owned(normalize_api(&a).into_owned()));
    event.client_id = mapping.text(&root, "client_id");
    event.reason = mapping
        .text(&root, "reason")
        .map(|r| super::reason_from_message(&r));
    event.cluster_id = mapping.text(&root, "cluster_id");
    event.broker_id = mapping.text(&root, "broker_id");
    Ok(event)
}

/// RFC 3339 text, or epoch seconds (< 10^11) / milliseconds as a number or numeric string.
fn parse_time(v: &Value) -> Option<SystemTime> {
    let epoch = |x: f64| -> Option<SystemTime> {
        if !x.is_finite() || x < 0.0 {
            return None;
        }
        let secs = if x >= 1e11 { x / 1000.0 } else { x };
        UNIX_EPOCH.checked_add(Duration::from_secs_f64(secs))
    };
    let integer = |x: u64| -> Option<SystemTime> {
        if x >= 100_000_000_000 {
            UNIX_EPOCH.checked_add(Duration::from_millis(x))
        } else {
            UNIX_EPOCH.checked_add(Duration::from_secs(x))
        }
    };
    match v {
        Value::Number(n) => n
            .as_u64()
            .map_or_else(|| n.as_f64().and_then(epoch), integer),
        Value::String(s) => parse_rfc3339(s)
            .or_else(|| s.parse::<u64>().ok().and_then(integer))
            .or_else(|| s.parse::<f64>().ok().and_then(epoch)),
        _ => None,
    }
}

/// Category from the words of an event type or category value.
pub(crate) fn infer_category(words: &str) -> Option<Category> {
    let has = |ws: &[&str]| ws.iter().any(|w| words.contains(w));
    if has(&["acl"]) && !has(&["acl-check", "acl_check"]) {
        Some(Category::AclChange)
    } else if has(&["password", "credential", "scram", "passwd"]) {
        Some(Category::CredentialChange)
    } else if has(&[
        "login",
        "logon",
        "log-in",
        "log_in",
        "signin",
        "sign-in",
        "sign_in",
        "auth_",
        "authn",
        "authenticat",
        "mfa",
        "sso",
    ]) {
        Some(Category::Authentication)
    } else if has(&[
        "access",
        "authoriz",
        "authz",
        "permission",
        "acl-check",
        "acl_check",
        "denied",
        "forbidden",
    ]) {
        Some(Category::Authorization)
    } else if has(&["config"]) {
        Some(Category::ConfigChange)
    } else if has(&[
        "create_topic",
        "delete_topic",
        "createtopic",
        "deletetopic",
        "topic-created",
        "topic-deleted",
    ]) {
        Some(Category::ResourceChange)
    } else if has(&["connect"]) {
        Some(Category::Connection)
    } else {
        None
    }
}

/// Outcome from a common word.
pub(crate) fn outcome_word(word: &str) -> Outcome {
    match word.trim() {
        "success" | "succeeded" | "successful" | "ok" | "true" | "pass" | "passed" | "1" => {
            Outcome::Success
        }
        "allowed" | "allow" | "granted" | "grant" | "permit" | "permitted" | "authorized" => {
            Outcome::Allowed
        }
        "failure" | "failed" | "fail" | "error" | "false" | "0" | "rejected" | "reject"
        | "unauthenticated" | "invalid" => Outcome::Failure,
        "denied" | "deny" | "unauthorized" | "forbidden" | "blocked" => Outcome::Denied,
        _ => Outcome::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_default(json: &str) -> Result<SecurityEvent<'static>, ParseError> {
        let mapping = JsonMapping::new(&JsonConfig::default()).unwrap();
        parse(&mapping, &Record::from_payload(json.as_bytes())).map(SecurityEvent::into_owned)
    }

    #[test]
    fn common_names_work_without_config() {
        let e = parse_default(
            r#"{"timestamp":"2025-03-18T10:15:30Z","event_type":"login","user":"carol","ip":"10.0.0.1","outcome":"failure"}"#,
        )
        .unwrap();
        assert_eq!(e.category, Category::Authentication);
        assert_eq!(e.outcome, Outcome::Failure);
        assert_eq!(e.event_type, "login");
        assert_eq!(e.principal.as_deref(), Some("carol"));
        assert_eq!(e.client_host.as_deref(), Some("10.0.0.1"));
        assert_eq!(
            e.event_time,
            Some(UNIX_EPOCH + Duration::from_secs(1_742_292_930))
        );
    }

    #[test]
    fn ecs_events_are_understood() {
        let e = parse_default(
            r#"{"@timestamp":1742292930123,"event":{"action":"user-access-check","category":["authorization"],"outcome":"failure"},"user":{"name":"dave"},"source":{"ip":"192.0.2.4"},"resource":"payments"}"#,
        )
        .unwrap();
        assert_eq!(e.category, Category::Authorization);
        assert_eq!(e.outcome, Outcome::Denied);
        assert_eq!(e.event_type, "user-access-check");
        assert_eq!(e.principal.as_deref(), Some("dave"));
        assert_eq!(e.client_host.as_deref(), Some("192.0.2.4"));
        assert_eq!(e.resource_name.as_deref(), Some("payments"));
        assert_eq!(
            e.event_time,
            Some(UNIX_EPOCH + Duration::from_millis(1_742_292_930_123))
        );
    }

    #[test]
    fn booleans_and_configured_values_set_the_outcome() {
        let e = parse_default(r#"{"action":"login","user":"x","success":true}"#).unwrap();
        assert_eq!(
            (e.category, e.outcome),
            (Category::Authentication, Outcome::Success)
        );
        let config = JsonConfig {
            fields: [(
                "principal".to_string(),
                Paths::Many(vec!["actor.id".into(), "who".into()]),
            )]
            .into(),
            outcome_values: [("LOGIN_FAIL".to_string(), "failure".to_string())].into(),
            category_values: [("SEC".to_string(), "authentication".to_string())].into(),
            ..JsonConfig::default()
        };
        let mapping = JsonMapping::new(&config).unwrap();
        let e = parse(
            &mapping,
            &Record::from_payload(br#"{"type":"x","category":"SEC","result":"LOGIN_FAIL","who":"zed","user":"ignored"}"#),
        )
        .unwrap();
        assert_eq!(
            (e.category, e.outcome),
            (Category::Authentication, Outcome::Failure)
        );
        assert_eq!(e.principal.as_deref(), Some("zed"));
    }

    #[test]
    fn bad_records_get_precise_reasons() {
        assert_eq!(
            parse_default("{not json").unwrap_err().reason(),
            "invalid_json"
        );
        assert_eq!(parse_default("[1,2]").unwrap_err().reason(), "invalid_json");
        assert_eq!(
            parse_default(r#"{"colour":"blue"}"#).unwrap_err(),
            ParseError::Unrecognized
        );
        assert_eq!(parse_default("  ").unwrap_err(), ParseError::Empty);
        let deep = format!("{}{}", r#"{"a":"#.repeat(200), "}".repeat(200));
        assert_eq!(parse_default(&deep).unwrap_err(), ParseError::TooDeep);
        assert_eq!(
            parse(
                &JsonMapping::new(&JsonConfig::default()).unwrap(),
                &Record::from_payload(b"{\"user\":\"\xff\"}")
            )
            .unwrap_err()
            .reason(),
            "invalid_json"
        );
    }

    #[test]
    fn hostile_values_stay_in_their_field() {
        let e = parse_default(r#"{"event_type":"login","user":"a\"b\nc\u0000","outcome":"ok"}"#)
            .unwrap();
        assert_eq!(e.principal.as_deref(), Some("a\"b\nc\u{0}"));
        assert_eq!(e.outcome, Outcome::Success);
    }

    #[test]
    fn config_problems_are_all_reported() {
        let config = JsonConfig {
            fields: [
                ("nope".to_string(), Paths::One("x".into())),
                ("principal".to_string(), Paths::One("a..b".into())),
            ]
            .into(),
            category_values: [("X".to_string(), "bogus".to_string())].into(),
            outcome_values: [("Y".to_string(), "meh".to_string())].into(),
            default_category: Some("zzz".into()),
        };
        let problems = JsonMapping::new(&config).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems.iter().all(|p| p.starts_with("parsers.json.")));
    }
}
