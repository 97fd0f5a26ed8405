//! Generic JSON security events from applications, mapped to event fields by config.
//!
//! Each event field is read from the first of a list of candidate paths that holds a scalar
//! (string, number or boolean; for an array, its first scalar). Paths are dotted (`user.name`);
//! a key that itself contains dots (`{"user.name": …}`, as flattened ECS writes it) is found too,
//! and a numeric segment indexes an array (`sources.0.ip`). Configured paths replace the
//! built-in candidates for that field; the built-ins cover common names, see [`FieldPaths`].
//!
//! - **Category**: the category field, read through `category_values`, then as a category name,
//!   then by its words; else inferred from the event type's words
//!   ([`super::vocab::category_from_words`]: login/logon/signin/auth → authentication,
//!   access/authoriz/permission/acl-check → authorization, acl → acl_change,
//!   password/credential/scram → credential_change, config → config_change, create/delete with
//!   topic → resource_change, connect → connection); else `default_category` (`other`).
//! - **Outcome**: the outcome field through `outcome_values`, then the outcome words
//!   ([`super::vocab::outcome_from_word`]; booleans read as `true`/`false`), then put in the
//!   category's vocabulary with [`Outcome::for_category`] (authorization says allowed/denied).
//! - **Time**: an RFC 3339 string, or epoch seconds, milliseconds, microseconds or nanoseconds
//!   (told apart by magnitude), as a number or a numeric string; else the record timestamp.
//! - **Event type**: the event-type field, else the record key, else the category name.
//! - **Operation**: left out when it equals the event type (an `action: password_change` names
//!   the event, not a Kafka operation).
//! - **Reason**: kept only for failures and denials, mapped to the closed reason set
//!   ([`super::vocab::reason_from_message`]).
//!
//! A JSON object with no event type, no principal and no outcome is `Unrecognized`; anything
//! but an object is `InvalidJson`, and so is an object repeating a key (which of two `user`
//! values is the real one is exactly what an attacker would like to choose). Strings borrow from
//! the record unless they hold JSON escapes.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::time::parse_rfc3339_or_epoch;
use super::vocab::{category_from_words, outcome_from_word, reason_from_message, Field};
use super::{check_json_depth, ParseError, Record};
use crate::event::{Category, Format, Outcome, SecurityEvent, Text};

/// The `parsers.json` config section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonConfig {
    /// Where each event field is read from. Default: the built-in candidates listed per field.
    #[serde(default)]
    pub fields: FieldPaths,
    /// Maps raw values of the category field to category names, e.g. `{"LOGIN": "authentication"}`.
    /// Matched exactly, then ignoring case. Default: empty (values are read as category names,
    /// then by their words).
    #[serde(default)]
    pub category_values: BTreeMap<String, String>,
    /// Maps raw values of the outcome field to outcome names (`success`, `failure`, `allowed`,
    /// `denied`, `unknown`), e.g. `{"LOGIN_FAIL": "failure"}`. Matched exactly, then ignoring
    /// case. Default: empty (the built-in outcome words apply).
    #[serde(default)]
    pub outcome_values: BTreeMap<String, String>,
    /// Category of events whose category is neither given nor inferable from the event type.
    /// Default: `other`.
    #[serde(default)]
    pub default_category: Option<String>,
}

/// One path (`user.name`) or a list of candidate paths, the first present one winning.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Paths {
    One(String),
    Any(Vec<String>),
}

impl Paths {
    fn as_slice(&self) -> &[String] {
        match self {
            Paths::One(p) => std::slice::from_ref(p),
            Paths::Any(ps) => ps,
        }
    }
}

/// Candidate paths per event field. Setting a field replaces its built-in candidates.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldPaths {
    /// Default: `event_type`, `eventType`, `type`, `event.action`, `event`, `action`.
    pub event_type: Option<Paths>,
    /// Default: `timestamp`, `time`, `@timestamp`, `ts`, `event_time`, `eventTime`.
    pub event_time: Option<Paths>,
    /// Default: `category`, `event.category`.
    pub category: Option<Paths>,
    /// Default: `outcome`, `event.outcome`, `result`, `status`, `success`.
    pub outcome: Option<Paths>,
    /// Default: `principal`, `user`, `username`, `user.name`, `userName`, `user_id`, `userId`,
    /// `actor`.
    pub principal: Option<Paths>,
    /// Default: `ip`, `client_ip`, `clientIp`, `src_ip`, `source.ip`, `client.address`,
    /// `client_host`, `remote_addr`, `host`.
    pub client_host: Option<Paths>,
    /// Default: `listener`.
    pub listener: Option<Paths>,
    /// Default: `mechanism`, `sasl_mechanism`, `auth_method`, `authMethod`.
    pub mechanism: Option<Paths>,
    /// Default: `operation`, `action`.
    pub operation: Option<Paths>,
    /// Default: `resource_type`, `resourceType`.
    pub resource_type: Option<Paths>,
    /// Default: `resource`, `resource_name`, `topic`.
    pub resource_name: Option<Paths>,
    /// Default: `pattern_type`, `patternType`.
    pub pattern_type: Option<Paths>,
    /// Default: `api`, `method`, `methodName`.
    pub api: Option<Paths>,
    /// Default: `client_id`, `clientId`.
    pub client_id: Option<Paths>,
    /// Default: `reason`, `event.reason`, `failure_reason`, `failureReason`, `error.message`,
    /// `error`.
    pub reason: Option<Paths>,
    /// Default: `cluster_id`, `clusterId`.
    pub cluster_id: Option<Paths>,
    /// Default: `broker_id`, `brokerId`.
    pub broker_id: Option<Paths>,
}

impl FieldPaths {
    fn get(&self, field: Field) -> Option<&Paths> {
        match field {
            Field::EventType => self.event_type.as_ref(),
            Field::EventTime => self.event_time.as_ref(),
            Field::Category => self.category.as_ref(),
            Field::Outcome => self.outcome.as_ref(),
            Field::Principal => self.principal.as_ref(),
            Field::ClientHost => self.client_host.as_ref(),
            Field::Listener => self.listener.as_ref(),
            Field::Mechanism => self.mechanism.as_ref(),
            Field::Operation => self.operation.as_ref(),
            Field::ResourceType => self.resource_type.as_ref(),
            Field::ResourceName => self.resource_name.as_ref(),
            Field::PatternType => self.pattern_type.as_ref(),
            Field::Api => self.api.as_ref(),
            Field::ClientId => self.client_id.as_ref(),
            Field::Reason => self.reason.as_ref(),
            Field::ClusterId => self.cluster_id.as_ref(),
            Field::BrokerId => self.broker_id.as_ref(),
        }
    }
}

/// The built-in candidate paths of `field`.
fn default_paths(field: Field) -> &'static [&'static str] {
    match field {
        Field::EventType => &[
            "event_type",
            "eventType",
            "type",
            "event.action",
            "event",
            "action",
        ],
        Field::EventTime => &[
            "timestamp",
            "time",
            "@timestamp",
            "ts",
            "event_time",
            "eventTime",
        ],
        Field::Category => &["category", "event.category"],
        Field::Outcome => &["outcome", "event.outcome", "result", "status", "success"],
        Field::Principal => &[
            "principal",
            "user",
            "username",
            "user.name",
            "userName",
            "user_id",
            "userId",
            "actor",
        ],
        Field::ClientHost => &[
            "ip",
            "client_ip",
            "clientIp",
            "src_ip",
            "source.ip",
            "client.address",
            "client_host",
            "remote_addr",
            "host",
        ],
        Field::Listener => &["listener"],
        Field::Mechanism => &["mechanism", "sasl_mechanism", "auth_method", "authMethod"],
        Field::Operation => &["operation", "action"],
        Field::ResourceType => &["resource_type", "resourceType"],
        Field::ResourceName => &["resource", "resource_name", "topic"],
        Field::PatternType => &["pattern_type", "patternType"],
        Field::Api => &["api", "method", "methodName"],
        Field::ClientId => &["client_id", "clientId"],
        Field::Reason => &[
            "reason",
            "event.reason",
            "failure_reason",
            "failureReason",
            "error.message",
            "error",
        ],
        Field::ClusterId => &["cluster_id", "clusterId"],
        Field::BrokerId => &["broker_id", "brokerId"],
    }
}

/// The compiled field mapping.
#[derive(Debug)]
pub struct JsonMapping {
    /// Candidate paths, indexed like [`Field::ALL`].
    paths: Vec<Vec<String>>,
    category_values: BTreeMap<String, Category>,
    outcome_values: BTreeMap<String, Outcome>,
    default_category: Category,
}

impl JsonMapping {
    /// Validates the config; returns every problem found, each prefixed with its config path
    /// (`parsers.json.fields.principal[1]: …`).
    pub fn new(config: &JsonConfig) -> Result<JsonMapping, Vec<String>> {
        let mut problems = Vec::new();
        let mut paths = Vec::with_capacity(Field::ALL.len());
        for field in Field::ALL {
            let at = format!("parsers.json.fields.{}", field.as_str());
            let Some(configured) = config.fields.get(field) else {
                paths.push(default_paths(field).iter().map(|p| p.to_string()).collect());
                continue;
            };
            let list = configured.as_slice();
            if list.is_empty() {
                problems.push(format!("{at}: needs at least one path"));
            }
            for (i, path) in list.iter().enumerate() {
                let at = match configured {
                    Paths::One(_) => at.clone(),
                    Paths::Any(_) => format!("{at}[{i}]"),
                };
                if path.trim().is_empty() {
                    problems.push(format!("{at}: path is empty"));
                } else if path.split('.').any(str::is_empty) {
                    problems.push(format!(
                        "{at}: path `{path}` has an empty segment (leading, trailing or doubled `.`)"
                    ));
                }
            }
            paths.push(list.to_vec());
        }

        let category_values = named_values(
            &mut problems,
            ("category", &config.category_values),
            (Category::from_name, &Category::ALL.map(Category::as_str)),
        );
        let outcome_values = named_values(
            &mut problems,
            ("outcome", &config.outcome_values),
            (Outcome::from_name, &Outcome::ALL.map(Outcome::as_str)),
        );
        let default_category = match &config.default_category {
            None => Category::Other,
            Some(name) => Category::from_name(name).unwrap_or_else(|| {
                problems.push(format!(
                    "parsers.json.default_category: unknown category `{name}` (expected one of {})",
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

    /// The first candidate path of `field` holding a scalar, as text.
    fn read<'a>(&self, root: &Node<'a>, field: Field) -> Option<Text<'a>> {
        let index = Field::ALL.iter().position(|f| *f == field)?;
        self.paths[index]
            .iter()
            .find_map(|path| lookup(root, path).and_then(Node::scalar_text))
    }
}

/// A configured value map lookup: exact, then ignoring case.
fn map_value<T: Copy>(map: &BTreeMap<String, T>, raw: &str) -> Option<T> {
    map.get(raw).copied().or_else(|| {
        map.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(raw))
            .map(|(_, v)| *v)
    })
}

/// Parses one JSON security event.
pub fn parse<'a>(
    mapping: &JsonMapping,
    record: &Record<'a>,
) -> Result<SecurityEvent<'a>, ParseError> {
    check_json_depth(record.payload)?;
    let text = std::str::from_utf8(record.payload).map_err(|e| ParseError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    match text.trim_start().as_bytes().first() {
        Some(b'{') => {}
        Some(_) => return Err(ParseError::InvalidJson("expected a JSON object".into())),
        None => return Err(ParseError::Empty),
    }
    let root: Node<'a> = serde_json::from_str(text).map_err(|e| ParseError::from_json(&e))?;

    let event_type = mapping.read(&root, Field::EventType);
    let principal = mapping.read(&root, Field::Principal);
    let raw_outcome = mapping.read(&root, Field::Outcome);
    if event_type.is_none() && principal.is_none() && raw_outcome.is_none() {
        return Err(ParseError::Unrecognized);
    }
    // Without an event-type field, the record key names the event, as for text events.
    let event_type = match event_type {
        Some(t) => Some(t),
        None => match record.key.map(std::str::from_utf8) {
            Some(Ok(key)) if !key.trim().is_empty() => Some(Cow::Borrowed(key.trim())),
            _ => None,
        },
    };

    let category = mapping
        .read(&root, Field::Category)
        .and_then(|raw| {
            map_value(&mapping.category_values, &raw)
                .or_else(|| Category::from_name(&raw.to_ascii_lowercase()))
                .or_else(|| category_from_words(&raw))
        })
        .or_else(|| event_type.as_deref().and_then(category_from_words))
        .unwrap_or(mapping.default_category);
    let outcome = raw_outcome
        .and_then(|raw| {
            map_value(&mapping.outcome_values, &raw).or_else(|| outcome_from_word(&raw))
        })
        .unwrap_or(Outcome::Unknown)
        .for_category(category);

    let mut ev = SecurityEvent::new(
        Format::Json,
        category,
        outcome,
        event_type
            .clone()
            .unwrap_or(Cow::Borrowed(category.as_str())),
        record.origin.clone(),
        record.observed_time,
    );
    ev.event_time = mapping
        .read(&root, Field::EventTime)
        .and_then(|t| parse_rfc3339_or_epoch(&t))
        .or(record.timestamp);
    ev.principal = principal;
    for field in Field::ALL {
        match field {
            Field::EventType | Field::EventTime | Field::Category | Field::Outcome => {}
            Field::Principal => {}
            // `action` often names the event itself (`password_change`); an operation equal to
            // the event type says nothing more, so it is left out.
            Field::Operation => {
                if let Some(op) = mapping.read(&root, field) {
                    if event_type.as_deref() != Some(&*op) {
                        field.set(&mut ev, op);
                    }
                }
            }
            Field::Reason if !outcome.is_negative() => {}
            Field::Reason => {
                ev.reason = mapping.read(&root, field).map(|r| reason_from_message(&r));
            }
            _ => {
                if let Some(value) = mapping.read(&root, field) {
                    field.set(&mut ev, value);
                }
            }
        }
    }
    Ok(ev)
}

/// Finds `path` under `node`: the whole path as one key first (flattened dotted keys), then each
/// split at a `.` from the left.
fn lookup<'n, 'a>(node: &'n Node<'a>, path: &str) -> Option<&'n Node<'a>> {
    if let Some(v) = node.child(path) {
        return Some(v);
    }
    path.match_indices('.').find_map(|(dot, _)| {
        node.child(&path[..dot])
            .and_then(|child| lookup(child, &path[dot + 1..]))
    })
}

// === A JSON tree that borrows its strings from the record ===

#[derive(Debug)]
enum Node<'a> {
    Null,
    Bool(bool),
    Number(Number),
    Str(Text<'a>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Text<'a>, Node<'a>)>),
}

#[derive(Debug, Clone, Copy)]
enum Number {
    U(u64),
    I(i64),
    F(f64),
}

impl<'a> Node<'a> {
    fn child(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            Node::Array(items) => items.get(key.parse::<usize>().ok()?),
            _ => None,
        }
    }

    /// The node as event-field text: strings as they are (empty ones count as absent), numbers
    /// and booleans as their JSON text, arrays by their first scalar, objects and null absent.
    fn scalar_text(&self) -> Option<Text<'a>> {
        match self {
            Node::Str(s) if s.trim().is_empty() => None,
            Node::Str(s) => Some(s.clone()),
            Node::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
            Node::Number(Number::U(n)) => Some(Cow::Owned(n.to_string())),
            Node::Number(Number::I(n)) => Some(Cow::Owned(n.to_string())),
            Node::Number(Number::F(n)) => Some(Cow::Owned(n.to_string())),
            Node::Array(items) => items.iter().find_map(Node::scalar_text),
            Node::Object(_) | Node::Null => None,
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Node<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Node::Null)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Node::Bool(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Node::Number(Number::U(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Node::Number(Number::I(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Node::Number(Number::F(v)))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Node::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Node::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(Text<'de>, Node<'de>)> = Vec::new();
        while let Some(Key(key)) = map.next_key()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        if let Some(dup) = duplicate_key(&entries) {
            return Err(de::Error::custom(format_args!("duplicate key `{dup}`")));
        }
        Ok(Node::Object(entries))
    }
}

/// A key repeated in one object, if any. Linear for small objects, sorting for big ones so a
/// hostile object with many keys costs O(n log n).
fn duplicate_key<'e>(entries: &'e [(Text<'_>, Node<'_>)]) -> Option<&'e str> {
    if entries.len() <= 16 {
        for (i, (k, _)) in entries.iter().enumerate() {
            if entries[..i].iter().any(|(earlier, _)| earlier == k) {
                return Some(k);
            }
        }
        return None;
    }
    let mut keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_ref()).collect();
    keys.sort_unstable();
    keys.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// An object key, borrowed unless it holds escapes.
struct Key<'a>(Text<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match deserializer.deserialize_str(NodeVisitor)? {
            Node::Str(s) => Ok(Key(s)),
            _ => Err(de::Error::custom("expected a string key")),
        }
    }
}

/// A closed set's names: how to read one, and all of them (for the problem text).
type Vocabulary<'n, T> = (fn(&str) -> Option<T>, &'n [&'n str]);

/// The `parsers.json.<kind>_values` map of raw values to `kind` names, resolved by
/// `from_name`; each unknown name is one problem listing the `names` expected.
fn named_values<T>(
    problems: &mut Vec<String>,
    (kind, config): (&str, &BTreeMap<String, String>),
    (from_name, names): Vocabulary<'_, T>,
) -> BTreeMap<String, T> {
    let mut values = BTreeMap::new();
    for (raw, name) in config {
        match from_name(name) {
            Some(v) => {
                values.insert(raw.clone(), v);
            }
            None => problems.push(format!(
                "parsers.json.{kind}_values.{raw}: unknown {kind} `{name}` (expected one of {})",
                names.join(", ")
            )),
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Reason;
    use std::time::{Duration, UNIX_EPOCH};

    fn default_mapping() -> JsonMapping {
        JsonMapping::new(&JsonConfig::default()).unwrap()
    }

    fn parse_with<'a>(mapping: &JsonMapping, s: &'a str) -> Result<SecurityEvent<'a>, ParseError> {
        parse(mapping, &Record::from_payload(s.as_bytes()))
    }

    #[test]
    fn built_in_names() {
        let ev = parse_with(
            &default_mapping(),
            r#"{"event_type":"user_login","user":"alice","ip":"/10.0.0.5","outcome":"failed","reason":"invalid password","timestamp":"2024-01-02T03:04:05Z","client_id":"web","mechanism":"SCRAM-SHA-512"}"#,
        )
        .unwrap();
        assert_eq!(ev.format, Format::Json);
        assert_eq!(ev.event_type, "user_login");
        assert_eq!(ev.category, Category::Authentication);
        assert_eq!(ev.outcome, Outcome::Failure);
        assert_eq!(ev.principal.as_deref(), Some("alice"));
        assert_eq!(ev.client_host.as_deref(), Some("10.0.0.5"));
        assert_eq!(ev.reason, Some(Reason::InvalidCredentials));
        assert_eq!(ev.client_id.as_deref(), Some("web"));
        assert_eq!(ev.mechanism.as_deref(), Some("SCRAM-SHA-512"));
        assert_eq!(
            ev.event_time,
            Some(UNIX_EPOCH + Duration::from_secs(1_704_164_645))
        );
        assert!(matches!(ev.principal, Some(Cow::Borrowed(_))));
        assert!(matches!(ev.event_type, Cow::Borrowed(_)));
    }

    #[test]
    fn ecs_style_nesting_and_flattened_keys() {
        let mapping = default_mapping();
        let nested = parse_with(
            &mapping,
            r#"{"@timestamp":1704164645123,"event":{"action":"topic-access","category":["authorization"],"outcome":"failure"},"user":{"name":"bob"},"source":{"ip":"192.0.2.1"},"action":"Read","topic":"orders"}"#,
        )
        .unwrap();
        assert_eq!(nested.event_type, "topic-access");
        assert_eq!(nested.category, Category::Authorization);
        assert_eq!(nested.outcome, Outcome::Denied);
        assert_eq!(nested.principal.as_deref(), Some("bob"));
        assert_eq!(nested.client_host.as_deref(), Some("192.0.2.1"));
        assert_eq!(nested.operation.as_deref(), Some("READ"));
        assert_eq!(nested.resource_name.as_deref(), Some("orders"));
        assert_eq!(
            nested.event_time,
            Some(UNIX_EPOCH + Duration::from_millis(1_704_164_645_123))
        );
        assert_eq!(nested.reason, None);

        let flat = parse_with(
            &mapping,
            r#"{"event.action":"logon","user.name":"carol","event.outcome":"success"}"#,
        )
        .unwrap();
        assert_eq!(flat.event_type, "logon");
        assert_eq!(flat.category, Category::Authentication);
        assert_eq!(flat.outcome, Outcome::Success);
        assert_eq!(flat.principal.as_deref(), Some("carol"));
    }

    #[test]
    fn booleans_and_numbers() {
        let ev = parse_with(
            &default_mapping(),
            r#"{"type":"acl-check","userId":42,"success":false,"ts":1704164645}"#,
        )
        .unwrap();
        assert_eq!(ev.category, Category::Authorization);
        assert_eq!(ev.outcome, Outcome::Denied);
        assert_eq!(ev.principal.as_deref(), Some("42"));
        assert_eq!(
            ev.event_time,
            Some(UNIX_EPOCH + Duration::from_secs(1_704_164_645))
        );
    }

    #[test]
    fn configured_paths_and_value_maps() {
        let config: JsonConfig = serde_yaml_ng::from_str(
            r#"
fields:
  event_type: kind
  principal: [actor.login, actor.id]
  outcome: result_code
  category: kind
  client_host: origin.addr
category_values: { LOGIN_FAIL: authentication, LOGIN_OK: authentication }
outcome_values: { "LOGIN_FAIL": failure, "E0": success }
default_category: connection
"#,
        )
        .unwrap();
        let mapping = JsonMapping::new(&config).unwrap();
        let ev = parse_with(
            &mapping,
            r#"{"kind":"LOGIN_FAIL","actor":{"id":"u-1"},"result_code":"login_fail","origin":{"addr":"198.51.100.7"},"user":"ignored"}"#,
        )
        .unwrap();
        assert_eq!(ev.category, Category::Authentication);
        assert_eq!(ev.outcome, Outcome::Failure);
        assert_eq!(ev.principal.as_deref(), Some("u-1"));
        assert_eq!(ev.client_host.as_deref(), Some("198.51.100.7"));
        let ev = parse_with(&mapping, r#"{"kind":"PING","result_code":"E0"}"#).unwrap();
        assert_eq!(ev.category, Category::Connection);
        assert_eq!(ev.outcome, Outcome::Success);
    }

    #[test]
    fn config_problems_are_all_reported() {
        let config: JsonConfig = serde_yaml_ng::from_str(
            r#"
fields:
  principal: ["user", "", "a..b"]
  client_host: []
  event_type: ".type"
category_values: { X: logins }
outcome_values: { Y: maybe }
default_category: nope
"#,
        )
        .unwrap();
        let problems = JsonMapping::new(&config).unwrap_err();
        assert_eq!(
            problems,
            [
                "parsers.json.fields.event_type: path `.type` has an empty segment (leading, trailing or doubled `.`)",
                "parsers.json.fields.principal[1]: path is empty",
                "parsers.json.fields.principal[2]: path `a..b` has an empty segment (leading, trailing or doubled `.`)",
                "parsers.json.fields.client_host: needs at least one path",
                "parsers.json.category_values.X: unknown category `logins` (expected one of authentication, authorization, acl_change, credential_change, config_change, resource_change, connection, other)",
                "parsers.json.outcome_values.Y: unknown outcome `maybe` (expected one of success, failure, allowed, denied, unknown)",
                "parsers.json.default_category: unknown category `nope` (expected one of authentication, authorization, acl_change, credential_change, config_change, resource_change, connection, other)",
            ]
        );
        assert!(serde_yaml_ng::from_str::<JsonConfig>("fields: {usr: x}").is_err());
        assert!(serde_yaml_ng::from_str::<JsonConfig>("extra: 1").is_err());
    }

    #[test]
    fn errors() {
        let mapping = default_mapping();
        assert_eq!(
            parse_with(&mapping, r#"{"level":"info","msg":"hello"}"#).unwrap_err(),
            ParseError::Unrecognized
        );
        assert_eq!(parse_with(&mapping, "").unwrap_err(), ParseError::Empty);
        for bad in [
            r#"["user"]"#,
            "42",
            r#"{"user":"a""#,
            r#"{"user":"a","user":"b"}"#,
        ] {
            assert!(
                matches!(parse_with(&mapping, bad), Err(ParseError::InvalidJson(_))),
                "{bad}"
            );
        }
        let deep = format!(r#"{{"user":"a","x":{}{}}}"#, "[".repeat(70), "]".repeat(70));
        assert_eq!(
            parse_with(&mapping, &deep).unwrap_err(),
            ParseError::TooDeep
        );
        let bad_utf8 = Record::from_payload(b"{\"user\":\"\xff\"}");
        assert_eq!(
            parse(&mapping, &bad_utf8).unwrap_err(),
            ParseError::InvalidUtf8 { valid_up_to: 9 }
        );
    }

    #[test]
    fn many_keys_duplicate_detection() {
        let mut obj: Vec<String> = (0..1000).map(|i| format!(r#""k{i}":1"#)).collect();
        obj.push(r#""user":"a""#.into());
        let ok = format!("{{{}}}", obj.join(","));
        assert!(parse_with(&default_mapping(), &ok).is_ok());
        obj.push(r#""k500":2"#.into());
        let dup = format!("{{{}}}", obj.join(","));
        assert!(matches!(
            parse_with(&default_mapping(), &dup),
            Err(ParseError::InvalidJson(m)) if m.contains("duplicate key `k500`")
        ));
    }

    #[test]
    fn record_key_names_untyped_events() {
        let mapping = default_mapping();
        let record = Record::from_payload(br#"{"user":"alice","result":"denied"}"#)
            .with_key(b"topic-access");
        let ev = parse(&mapping, &record).unwrap();
        assert_eq!(ev.event_type, "topic-access");
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Authorization, Outcome::Denied)
        );
        let ev = parse_with(&mapping, r#"{"user":"alice"}"#).unwrap();
        assert_eq!(ev.event_type, "other");
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Other, Outcome::Unknown)
        );
        // A key does not make an object with nothing recognizable an event.
        let record = Record::from_payload(br#"{"msg":"hi"}"#).with_key(b"user-login");
        assert_eq!(
            parse(&mapping, &record).unwrap_err(),
            ParseError::Unrecognized
        );
    }

    /// Events with the built-in names, flat and nested (from tests/fixtures/json_events/).
    const VALID: &[&str] = &[
        r#"{"event_type":"user_login","user":"alice","ip":"/10.0.0.5","outcome":"failed","reason":"invalid password","timestamp":"2024-01-02T03:04:05Z","client_id":"web","mechanism":"SCRAM-SHA-512"}"#,
        r#"{"eventType":"topic.access","username":"bob","client_ip":"192.0.2.10","result":"DENIED","resource":"payments","action":"write","ts":1714557602}"#,
        r#"{"@timestamp":"2024-05-02T09:30:00.123Z","event":{"action":"user-login","category":["authentication"],"outcome":"failure","reason":"Invalid credentials"},"user":{"name":"carol"},"source":{"ip":"203.0.113.7"}}"#,
    ];

    /// JSON's own separators and values, and the built-in field names.
    #[rustfmt::skip]
    const TOKENS: &[&str] = &[
        "{", "}", "[", "]", "\"", ":", ",", "null", "true", "1e999", "-0", "12345678901234567890",
        "\\u0000", "\\ud800", "\\\"", "\"user\":", "\"event\":", "\"principal\":",
        "\"outcome\":", "\"event_type\":", "{\"name\":\"x\"}", "[[[[[[[[", "\n", " ", "",
    ];

    /// An event read from `payload` names only what the payload says (when no JSON escape
    /// could have changed it).
    fn check(
        mapping: &JsonMapping,
        payload: &str,
    ) -> Result<(), proptest::test_runner::TestCaseError> {
        let Ok(e) = parse_with(mapping, payload) else {
            return Ok(());
        };
        if !payload.contains('\\') {
            for value in [&e.principal, &e.client_host, &e.resource_name]
                .into_iter()
                .flatten()
            {
                proptest::prop_assert!(
                    payload.contains(value.as_ref()),
                    "{value:?} not in {payload:?}"
                );
            }
        }
        Ok(())
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_payloads_never_panic(payload in ".*", bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let mapping = default_mapping();
            check(&mapping, &payload)?;
            check(&mapping, &format!("{{{payload}"))?;
            let _ = parse(&mapping, &Record::from_payload(&bytes));
        }

        #[test]
        fn near_misses_never_panic_and_name_only_what_the_payload_says(
            payload in crate::parse::test_support::near_miss(VALID, TOKENS),
        ) {
            check(&default_mapping(), &payload)?;
        }
    }
}
