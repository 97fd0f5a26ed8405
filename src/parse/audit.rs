//! Confluent audit-log CloudEvents (`io.confluent.kafka.server/authorization`, `/authentication`...).
//!
//! Confluent Server (Platform 5.4+) and Confluent Cloud write one CloudEvent per audited decision
//! to `confluent-audit-log-events`. This parser reads both spec versions (`0.3` from CP 5.x with a
//! `confluentRouting` object, `1.0` from CP 6+/Cloud with a top-level `route`) and ignores routing
//! and every other field it does not use.
//!
//! # Field mapping
//!
//! | event field     | from                                                                 |
//! |-----------------|----------------------------------------------------------------------|
//! | `event_type`    | `type`                                                               |
//! | `event_time`    | `time` (RFC 3339), else the record timestamp                         |
//! | `cluster_id`    | the `kafka=<id>` segment of `source`, else of `data.serviceName`     |
//! | `principal`     | `data.authenticationInfo.principal`                                  |
//! | `api`           | `data.methodName` through [`normalize_api`] (`kafka.Produce` → `Produce`, `mds.Authorize` kept) |
//! | `client_id`     | `data.request.client_id` (CP) or `clientId` (Cloud docs)             |
//! | `client_host`   | `data.requestMetadata.client_address` (`/172.21.0.1`) or `clientAddress` (a string or Cloud's `[{"ip": …}]`) |
//! | `operation`, `resource_type`, `resource_name`, `pattern_type` | `data.authorizationInfo.*`; without it, the last `type=name` segment of the `data.resourceName` CRN |
//! | `mechanism`, `listener` | `data.authenticationInfo.metadata.mechanism`: `SASL_SSL/PLAIN` → listener `SASL_SSL`, mechanism `PLAIN`; `SSL` → mechanism `SSL` |
//!
//! # Categories and outcomes
//!
//! - `…/authorization` → [`Category::Authorization`], whatever the method: a `kafka.CreateAcls`
//!   authorization event is still one authorization *decision*, and the metric counts decisions.
//!   `granted` gives [`Outcome::Allowed`] / [`Outcome::Denied`] (missing: `Unknown`). A denial
//!   matched by an ACL with `permissionType: DENY` has reason [`Reason::DenyAcl`]; any other
//!   denial [`Reason::NoMatchingAcl`] (Confluent RBAC has no deny bindings, so a denial that names
//!   no DENY rule means nothing granted the access).
//! - `…/authentication` → [`Category::Authentication`]; `result.status` `SUCCESS` is
//!   [`Outcome::Success`], any other status (`UNAUTHENTICATED`...) [`Outcome::Failure`] with a reason
//!   read from `result.message` (see [`super::text::reason_from_message`]); no status is `Unknown`.
//! - Any other type (`…/request` in Confluent Cloud, future types) is categorized by its method:
//!   `CreateAcls`/`DeleteAcls` and role-binding methods → `acl_change`; `AlterUserScramCredentials`,
//!   delegation tokens and API-key/password methods → `credential_change`; `AlterConfigs`,
//!   `IncrementalAlterConfigs`, `AlterClientQuotas` → `config_change`; `CreateTopics`,
//!   `DeleteTopics`, `CreatePartitions`, `DeleteRecords`, `DeleteGroups` → `resource_change`;
//!   everything else `other`. Their outcome is `result.status` when present, else `granted`
//!   (as success/failure), else `unknown`.
//!
//! # Errors
//!
//! JSON nested deeper than [`super::MAX_JSON_DEPTH`] → `TooDeep`; not a JSON object → `InvalidJson`
//! (also for a key repeated inside one object this parser reads: two `principal`s are ambiguous,
//! so the event is rejected rather than guessed); no `type` → `MissingField("type")`. Scalars of
//! the wrong type are read leniently: a number where a string is expected becomes its decimal
//! text, and an object or array there is treated as absent.
//!
//! # Speed
//!
//! The hot path deserializes into typed structs that borrow from the payload (`Cow::Borrowed`
//! unless a string holds a JSON escape such as CP 7.x's `\u003d`) and skips every other value
//! with `IgnoredAny`; no `serde_json::Value` is built.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::{check_json_depth, parse_rfc3339, ParseError, Record, MAX_JSON_DEPTH};
use crate::event::{
    normalize_api, normalize_client_host, normalize_operation, normalize_resource_type, Category,
    Format, Outcome, Reason, SecurityEvent, Text,
};

/// Parses one Confluent audit-log CloudEvent.
pub fn parse<'a>(record: &Record<'a>) -> Result<SecurityEvent<'a>, ParseError> {
    let payload = record.payload;
    check_depth(payload)?;
    match payload.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        Some(_) => return Err(ParseError::InvalidJson("expected a JSON object".into())),
        None => return Err(ParseError::Empty),
    }
    let event: CloudEvent<'a> =
        serde_json::from_str(std::str::from_utf8(payload).map_err(|e| {
            ParseError::InvalidUtf8 {
                valid_up_to: e.valid_up_to(),
            }
        })?)
        .map_err(|e| ParseError::from_json(&e))?;
    let event_type = event.r#type.0.ok_or(ParseError::MissingField("type"))?;
    let data = event.data.unwrap_or_default();

    let api = data.method_name.0.map(|m| norm(m, normalize_api));
    let authz = data.authorization_info;
    let result = data.result;
    let category = categorize(&event_type, api.as_deref());

    let (outcome, reason) = match category {
        Category::Authorization => match authz.as_ref().and_then(|a| a.granted.0) {
            Some(true) => (Outcome::Allowed, None),
            Some(false) => {
                let deny_rule = authz
                    .as_ref()
                    .and_then(|a| a.acl_authorization.as_ref())
                    .and_then(|acl| acl.permission_type.0.as_deref())
                    .is_some_and(|p| p.eq_ignore_ascii_case("DENY"));
                let reason = if deny_rule {
                    Reason::DenyAcl
                } else {
                    Reason::NoMatchingAcl
                };
                (Outcome::Denied, Some(reason))
            }
            None => (Outcome::Unknown, None),
        },
        Category::Authentication => match result.as_ref().and_then(|r| r.status.0.as_deref()) {
            Some(status) if status.eq_ignore_ascii_case("SUCCESS") => (Outcome::Success, None),
            Some(_) => {
                let message = result.as_ref().and_then(|r| r.message.0.as_deref());
                let reason = message.map_or(Reason::Other, super::text::reason_from_message);
                (Outcome::Failure, Some(reason))
            }
            None => (Outcome::Unknown, None),
        },
        _ => {
            let status = result.as_ref().and_then(|r| r.status.0.as_deref());
            let outcome = match (status, authz.as_ref().and_then(|a| a.granted.0)) {
                (Some(s), _) if s.eq_ignore_ascii_case("SUCCESS") => Outcome::Success,
                (Some(_), _) => Outcome::Failure,
                (None, Some(true)) => Outcome::Success,
                (None, Some(false)) => Outcome::Failure,
                (None, None) => Outcome::Unknown,
            };
            (outcome, None)
        }
    };

    let mut ev = SecurityEvent::new(
        Format::ConfluentAudit,
        category,
        outcome,
        event_type,
        record.origin.clone(),
        record.observed_time,
    );
    ev.event_time = event
        .time
        .0
        .as_deref()
        .and_then(parse_rfc3339)
        .or(record.timestamp);
    ev.reason = reason;
    ev.api = api;
    ev.cluster_id = event
        .source
        .0
        .and_then(kafka_cluster_id)
        .or_else(|| data.service_name.0.and_then(kafka_cluster_id));

    if let Some(authn) = data.authentication_info {
        ev.principal = authn.principal.0;
        if let Some(mechanism) = authn.metadata.and_then(|m| m.mechanism.0) {
            match mechanism.find('/') {
                Some(i) => {
                    ev.listener = Some(cow_slice(&mechanism, 0, i));
                    ev.mechanism = Some(cow_slice(&mechanism, i + 1, mechanism.len()));
                }
                None => ev.mechanism = Some(mechanism),
            }
        }
    }
    if let Some(request) = data.request {
        ev.client_id = request.client_id.0.or(request.client_id_camel.0);
    }
    if let Some(meta) = data.request_metadata {
        ev.client_host = meta
            .client_address
            .0
            .or(meta.client_address_camel.0)
            .map(|h| norm(h, |s| Cow::Borrowed(normalize_client_host(s))));
    }
    match authz {
        Some(authz) => {
            ev.operation = authz.operation.0.map(|o| norm(o, normalize_operation));
            ev.resource_type = authz
                .resource_type
                .0
                .map(|t| norm(t, normalize_resource_type));
            ev.resource_name = authz.resource_name.0;
            ev.pattern_type = authz.pattern_type.0;
        }
        None if category != Category::Authentication => {
            if let Some((kind, name)) = data.resource_name.0.and_then(crn_resource) {
                ev.resource_type = Some(norm(kind, normalize_resource_type));
                ev.resource_name = Some(name);
            }
        }
        None => {}
    }
    Ok(ev)
}

/// The category of an event: its CloudEvent type first, its method for the rest.
fn categorize(event_type: &str, api: Option<&str>) -> Category {
    if event_type.ends_with("/authorization") {
        return Category::Authorization;
    }
    if event_type.ends_with("/authentication") {
        return Category::Authentication;
    }
    let Some(api) = api else {
        return Category::Other;
    };
    // Cloud management methods are not namespaced (`CreateAPIKey`); compare case-insensitively.
    let lower = api.to_ascii_lowercase();
    let has = |word: &str| lower.contains(word);
    match api {
        "CreateAcls" | "DeleteAcls" => Category::AclChange,
        "AlterUserScramCredentials"
        | "CreateDelegationToken"
        | "RenewDelegationToken"
        | "ExpireDelegationToken" => Category::CredentialChange,
        "AlterConfigs" | "IncrementalAlterConfigs" | "AlterClientQuotas" => Category::ConfigChange,
        "CreateTopics" | "DeleteTopics" | "CreatePartitions" | "DeleteRecords" | "DeleteGroups" => {
            Category::ResourceChange
        }
        _ if has("rolebinding") || has("grantrole") || has("revokerole") => Category::AclChange,
        _ if has("apikey") || has("password") || has("credential") => Category::CredentialChange,
        _ => Category::Other,
    }
}

/// Depth check with a fast path: an event holding at most [`MAX_JSON_DEPTH`] brackets in total
/// cannot nest deeper than that, so the full scan only runs on bracket-heavy payloads.
fn check_depth(payload: &[u8]) -> Result<(), ParseError> {
    let brackets = memchr::memchr2_iter(b'{', b'[', payload)
        .take(MAX_JSON_DEPTH + 1)
        .count();
    if brackets <= MAX_JSON_DEPTH {
        Ok(())
    } else {
        check_json_depth(payload)
    }
}

/// The id in the `kafka=<id>` segment of a CRN (`crn:///kafka=lkc-1/topic=t` → `lkc-1`).
fn kafka_cluster_id(crn: Text<'_>) -> Option<Text<'_>> {
    let start = crn.find("/kafka=")? + "/kafka=".len();
    let end = crn[start..].find('/').map_or(crn.len(), |i| start + i);
    (end > start).then(|| cow_slice(&crn, start, end))
}

/// The resource in the last segment of a CRN, when it names one other than the cluster:
/// `crn:///kafka=X/topic=orders` → (`topic`, `orders`).
fn crn_resource(crn: Text<'_>) -> Option<(Text<'_>, Text<'_>)> {
    let seg_start = crn.rfind('/')? + 1;
    let eq = seg_start + crn[seg_start..].find('=')?;
    let kind = &crn[seg_start..eq];
    if kind.is_empty() || kind == "kafka" || eq + 1 == crn.len() {
        return None;
    }
    Some((
        cow_slice(&crn, seg_start, eq),
        cow_slice(&crn, eq + 1, crn.len()),
    ))
}

/// `cow[start..end]`, still borrowed from the payload when `cow` was.
fn cow_slice<'a>(cow: &Text<'a>, start: usize, end: usize) -> Text<'a> {
    match cow {
        Cow::Borrowed(s) => Cow::Borrowed(&s[start..end]),
        Cow::Owned(s) => Cow::Owned(s[start..end].to_owned()),
    }
}

/// Applies a `&str -> Cow<str>` normalizer to a field, keeping the borrow from the payload when
/// the field was borrowed.
fn norm<'a>(field: Text<'a>, f: impl for<'s> Fn(&'s str) -> Text<'s>) -> Text<'a> {
    match field {
        Cow::Borrowed(s) => f(s),
        Cow::Owned(s) => Cow::Owned(f(&s).into_owned()),
    }
}

// === The CloudEvent, as far as this parser reads it ===
//
// Every field is optional at this level; `parse` decides what is required. Unknown fields (routing,
// `id`, `subject`, `rbacAuthorization`...) are skipped by serde without being built. Both casings of
// the request fields are separate fields, so an event carrying both is not a duplicate-key error.

#[derive(Deserialize)]
struct CloudEvent<'a> {
    #[serde(borrow, default)]
    r#type: Str<'a>,
    #[serde(borrow, default)]
    source: Str<'a>,
    #[serde(borrow, default)]
    time: Str<'a>,
    #[serde(borrow, default)]
    data: Option<Data<'a>>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Data<'a> {
    #[serde(borrow, default)]
    service_name: Str<'a>,
    #[serde(borrow, default)]
    method_name: Str<'a>,
    #[serde(borrow, default)]
    resource_name: Str<'a>,
    #[serde(borrow, default)]
    authentication_info: Option<AuthenticationInfo<'a>>,
    #[serde(borrow, default)]
    authorization_info: Option<AuthorizationInfo<'a>>,
    #[serde(borrow, default)]
    request: Option<Request<'a>>,
    #[serde(borrow, default)]
    request_metadata: Option<RequestMetadata<'a>>,
    #[serde(borrow, default)]
    result: Option<ResultInfo<'a>>,
}

#[derive(Deserialize)]
struct AuthenticationInfo<'a> {
    #[serde(borrow, default)]
    principal: Str<'a>,
    #[serde(borrow, default)]
    metadata: Option<AuthMetadata<'a>>,
}

#[derive(Deserialize)]
struct AuthMetadata<'a> {
    #[serde(borrow, default)]
    mechanism: Str<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorizationInfo<'a> {
    #[serde(default)]
    granted: Flag,
    #[serde(borrow, default)]
    operation: Str<'a>,
    #[serde(borrow, default)]
    resource_type: Str<'a>,
    #[serde(borrow, default)]
    resource_name: Str<'a>,
    #[serde(borrow, default)]
    pattern_type: Str<'a>,
    #[serde(borrow, default)]
    acl_authorization: Option<AclAuthorization<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AclAuthorization<'a> {
    #[serde(borrow, default)]
    permission_type: Str<'a>,
}

#[derive(Deserialize)]
struct Request<'a> {
    /// Confluent Platform spelling.
    #[serde(borrow, default)]
    client_id: Str<'a>,
    /// Confluent Cloud docs spelling.
    #[serde(borrow, default, rename = "clientId")]
    client_id_camel: Str<'a>,
}

#[derive(Deserialize)]
struct RequestMetadata<'a> {
    /// Confluent Platform: `"/172.21.0.1"`.
    #[serde(borrow, default)]
    client_address: Address<'a>,
    /// Confluent Cloud: `[{"ip": "203.0.113.55"}]` (or a plain string in some docs).
    #[serde(borrow, default, rename = "clientAddress")]
    client_address_camel: Address<'a>,
}

#[derive(Deserialize)]
struct ResultInfo<'a> {
    #[serde(borrow, default)]
    status: Str<'a>,
    #[serde(borrow, default)]
    message: Str<'a>,
}

/// A string field read leniently: borrowed when unescaped, a number or boolean as its text,
/// `null`, an object or an array as absent.
#[derive(Default)]
struct Str<'a>(Option<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrVisitor)
    }
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Str<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v))))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Owned(v.to_string()))))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Str(Some(Cow::Borrowed(if v { "true" } else { "false" }))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Str(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Str(None))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        IgnoredAny.visit_map(map)?;
        Ok(Str(None))
    }
}

/// A boolean read leniently: `true`/`false`, or the strings `"true"`/`"false"` in any case;
/// anything else is absent.
#[derive(Default)]
struct Flag(Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Str(text) = Str::deserialize(deserializer)?;
        Ok(Flag(text.and_then(|t| {
            if t.eq_ignore_ascii_case("true") {
                Some(true)
            } else if t.eq_ignore_ascii_case("false") {
                Some(false)
            } else {
                None
            }
        })))
    }
}

/// A client address: a string, an object with an `ip` field, or an array of either (the first
/// address found wins).
#[derive(Default)]
struct Address<'a>(Option<Text<'a>>);

impl<'de: 'a, 'a> Deserialize<'de> for Address<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AddressVisitor)
    }
}

struct AddressVisitor;

impl<'de> Visitor<'de> for AddressVisitor {
    type Value = Address<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a client address")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Address(Some(Cow::Borrowed(v))))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Address(Some(Cow::Owned(v.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Address(Some(Cow::Owned(v))))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Address(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Address(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Address(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Address(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Address(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut first = None;
        while let Some(Address(addr)) = seq.next_element::<Address<'de>>()? {
            first = first.or(addr);
        }
        Ok(Address(first))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ip = None;
        while let Some(Str(key)) = map.next_key::<Str<'de>>()? {
            if key.as_deref() == Some("ip") && ip.is_none() {
                ip = map.next_value::<Str<'de>>()?.0;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(Address(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    /// Example C of the reference notes: a real CP 7.x denied Describe.
    const CP7_DENIED: &str = r#"{"specversion":"1.0","id":"91b3626d-4b1a-49e0-9921-bdf120ced00d","source":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg","type":"io.confluent.kafka.server/authorization","datacontenttype":"application/json","subject":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg/topic=no.rb.no.acl","time":"2023-02-21T10:26:58.886604Z","route":"confluent-audit-log-events","data":{"serviceName":"crn:///kafka\u003dEyVCDzKYSc2vXhyD-z9PXg","methodName":"kafka.Metadata","resourceName":"crn:///kafka\u003dEyVCDzKYSc2vXhyD-z9PXg/topic\u003dno.rb.no.acl","authenticationInfo":{"principal":"User:alice","principalResourceId":""},"authorizationInfo":{"granted":false,"operation":"Describe","resourceType":"Topic","resourceName":"no.rb.no.acl","patternType":"LITERAL"},"request":{"correlation_id":"53","client_id":"console-producer"},"requestMetadata":{"client_address":"/172.21.0.1"}}}"#;

    fn parse_str(s: &str) -> Result<SecurityEvent<'_>, ParseError> {
        parse(&Record::from_payload(s.as_bytes()))
    }

    #[test]
    fn cp7_denied_describe() {
        let ev = parse_str(CP7_DENIED).unwrap();
        assert_eq!(ev.format, Format::ConfluentAudit);
        assert_eq!(ev.category, Category::Authorization);
        assert_eq!(ev.outcome, Outcome::Denied);
        assert_eq!(ev.reason, Some(Reason::NoMatchingAcl));
        assert_eq!(ev.event_type, "io.confluent.kafka.server/authorization");
        assert_eq!(ev.principal.as_deref(), Some("User:alice"));
        assert_eq!(ev.api.as_deref(), Some("Metadata"));
        assert_eq!(ev.operation.as_deref(), Some("DESCRIBE"));
        assert_eq!(ev.resource_type.as_deref(), Some("Topic"));
        assert_eq!(ev.resource_name.as_deref(), Some("no.rb.no.acl"));
        assert_eq!(ev.pattern_type.as_deref(), Some("LITERAL"));
        assert_eq!(ev.client_id.as_deref(), Some("console-producer"));
        assert_eq!(ev.client_host.as_deref(), Some("172.21.0.1"));
        assert_eq!(ev.cluster_id.as_deref(), Some("EyVCDzKYSc2vXhyD-z9PXg"));
        assert_eq!(
            ev.event_time.unwrap().duration_since(UNIX_EPOCH).unwrap(),
            Duration::from_micros(1_676_975_218_886_604)
        );
    }

    #[test]
    fn unescaped_fields_borrow_from_the_payload() {
        let ev = parse_str(CP7_DENIED).unwrap();
        for field in [&ev.principal, &ev.client_host, &ev.cluster_id, &ev.api] {
            assert!(matches!(field, Some(Cow::Borrowed(_))), "{field:?}");
        }
        assert!(matches!(ev.event_type, Cow::Borrowed(_)));
    }

    #[test]
    fn escaped_strings_are_decoded() {
        let ev = parse_str(
            r#"{"type":"io.confluent.kafka.server/authorization","source":"crn:///kafka\u003dabc","data":{"authenticationInfo":{"principal":"User:a\u003db\"c"}}}"#,
        )
        .unwrap();
        assert_eq!(ev.principal.as_deref(), Some("User:a=b\"c"));
        assert!(matches!(ev.principal, Some(Cow::Owned(_))));
        // `source` had no `/kafka=` before decoding; after decoding it does.
        assert_eq!(ev.cluster_id.as_deref(), Some("abc"));
        assert_eq!(ev.outcome, Outcome::Unknown);
    }

    #[test]
    fn deny_acl_and_allowed() {
        let deny = parse_str(
            r#"{"type":"io.confluent.kafka.server/authorization","data":{"methodName":"kafka.Produce","authorizationInfo":{"granted":false,"operation":"Write","resourceType":"TOPIC","resourceName":"t","aclAuthorization":{"permissionType":"DENY","host":"*"}}}}"#,
        )
        .unwrap();
        assert_eq!(deny.outcome, Outcome::Denied);
        assert_eq!(deny.reason, Some(Reason::DenyAcl));
        assert_eq!(deny.api.as_deref(), Some("Produce"));
        assert_eq!(deny.operation.as_deref(), Some("WRITE"));
        assert_eq!(deny.resource_type.as_deref(), Some("Topic"));

        let allow = parse_str(
            r#"{"type":"io.confluent.kafka.server/authorization","data":{"methodName":"kafka.CreateAcls","authorizationInfo":{"granted":true,"operation":"Alter","resourceType":"Cluster","aclAuthorization":{"permissionType":"ALLOW"}}}}"#,
        )
        .unwrap();
        assert_eq!(allow.category, Category::Authorization);
        assert_eq!(allow.outcome, Outcome::Allowed);
        assert_eq!(allow.reason, None);
        assert_eq!(allow.api.as_deref(), Some("CreateAcls"));
    }

    #[test]
    fn authentication_success_and_failure() {
        let ok = parse_str(
            r#"{"type":"io.confluent.kafka.server/authentication","time":"2021-01-01T12:34:56.789Z","data":{"methodName":"kafka.Authentication","serviceName":"crn://confluent.cloud/kafka=lkc-a1b2c","authenticationInfo":{"principal":"User:123456","metadata":{"mechanism":"SASL_SSL/PLAIN","identifier":"MAIDSRFG53RXYTKR"}},"result":{"status":"SUCCESS","message":""}}}"#,
        )
        .unwrap();
        assert_eq!(ok.category, Category::Authentication);
        assert_eq!(ok.outcome, Outcome::Success);
        assert_eq!(ok.reason, None);
        assert_eq!(ok.mechanism.as_deref(), Some("PLAIN"));
        assert_eq!(ok.listener.as_deref(), Some("SASL_SSL"));
        assert_eq!(ok.cluster_id.as_deref(), Some("lkc-a1b2c"));
        assert_eq!(ok.api.as_deref(), Some("Authentication"));

        let failed = parse_str(
            r#"{"type":"io.confluent.kafka.server/authentication","data":{"authenticationInfo":{"principal":"User:bob","metadata":{"mechanism":"SSL"}},"result":{"status":"UNAUTHENTICATED","message":"Authentication failed: Invalid username or password"}}}"#,
        )
        .unwrap();
        assert_eq!(failed.outcome, Outcome::Failure);
        assert_eq!(failed.reason, Some(Reason::InvalidCredentials));
        assert_eq!(failed.mechanism.as_deref(), Some("SSL"));
        assert_eq!(failed.listener, None);

        let unknown_cause = parse_str(
            r#"{"type":"io.confluent.kafka.server/authentication","data":{"result":{"status":"UNAUTHENTICATED"}}}"#,
        )
        .unwrap();
        assert_eq!(unknown_cause.reason, Some(Reason::Other));
    }

    #[test]
    fn cloud_casing_and_address_array() {
        let ev = parse_str(
            r#"{"type":"io.confluent.kafka.server/authorization","data":{"request":{"correlationId":"123","clientId":"adminclient-42"},"requestMetadata":{"clientAddress":[{"ip":"203.0.113.55"}]}}}"#,
        )
        .unwrap();
        assert_eq!(ev.client_id.as_deref(), Some("adminclient-42"));
        assert_eq!(ev.client_host.as_deref(), Some("203.0.113.55"));

        let both = parse_str(
            r#"{"type":"x/authorization","data":{"request":{"clientId":"camel","client_id":"snake"},"requestMetadata":{"clientAddress":"10.0.0.2","client_address":"/10.0.0.1"}}}"#,
        )
        .unwrap();
        assert_eq!(both.client_id.as_deref(), Some("snake"));
        assert_eq!(both.client_host.as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn other_types_are_categorized_by_method() {
        let cases = [
            ("kafka.CreateAcls", Category::AclChange),
            ("kafka.DeleteAcls", Category::AclChange),
            (
                "kafka.AlterUserScramCredentials",
                Category::CredentialChange,
            ),
            ("kafka.IncrementalAlterConfigs", Category::ConfigChange),
            ("kafka.CreateTopics", Category::ResourceChange),
            ("kafka.DeleteTopics", Category::ResourceChange),
            ("CreateAPIKey", Category::CredentialChange),
            ("mds.CreateRoleBinding", Category::AclChange),
            ("kafka.Produce", Category::Other),
        ];
        for (method, category) in cases {
            let json = format!(
                r#"{{"type":"io.confluent.kafka.server/request","data":{{"methodName":"{method}","resourceName":"crn://confluent.cloud/kafka=lkc-1/topic=orders","result":{{"status":"FAILURE"}}}}}}"#
            );
            let ev = parse_str(&json).unwrap();
            assert_eq!(ev.category, category, "{method}");
            assert_eq!(ev.outcome, Outcome::Failure, "{method}");
            assert_eq!(ev.resource_type.as_deref(), Some("Topic"));
            assert_eq!(ev.resource_name.as_deref(), Some("orders"));
        }
    }

    #[test]
    fn time_falls_back_to_the_record_timestamp() {
        let ts = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let payload = br#"{"type":"io.confluent.kafka.server/authorization","time":"not a time"}"#;
        let record = Record {
            timestamp: Some(ts),
            ..Record::from_payload(payload)
        };
        assert_eq!(parse(&record).unwrap().event_time, Some(ts));
    }

    #[test]
    fn lenient_scalars() {
        let ev = parse_str(
            r#"{"type":"x/authorization","data":{"authenticationInfo":{"principal":12345},"authorizationInfo":{"granted":"FALSE","operation":{"nested":1}},"request":{"client_id":null}}}"#,
        )
        .unwrap();
        assert_eq!(ev.principal.as_deref(), Some("12345"));
        assert_eq!(ev.outcome, Outcome::Denied);
        assert_eq!(ev.operation, None);
        assert_eq!(ev.client_id, None);
    }

    #[test]
    fn errors() {
        assert_eq!(
            parse_str(r#"{"data":{}}"#).unwrap_err(),
            ParseError::MissingField("type")
        );
        assert_eq!(
            parse_str(r#"{"type":null}"#).unwrap_err(),
            ParseError::MissingField("type")
        );
        assert_eq!(parse_str("").unwrap_err(), ParseError::Empty);
        assert_eq!(parse_str("  ").unwrap_err(), ParseError::Empty);
        assert!(matches!(
            parse_str(r#"["type"]"#).unwrap_err(),
            ParseError::InvalidJson(_)
        ));
        assert!(matches!(
            parse_str(r#"{"type":"x""#).unwrap_err(),
            ParseError::InvalidJson(_)
        ));
        assert!(matches!(
            parse_str(r#"{"type":"a","type":"b"}"#).unwrap_err(),
            ParseError::InvalidJson(_)
        ));
        let deep = format!(
            r#"{{"type":"x","data":{}{}}}"#,
            "[".repeat(100),
            "]".repeat(100)
        );
        assert_eq!(parse_str(&deep).unwrap_err(), ParseError::TooDeep);
        // Brackets inside strings do not count as nesting.
        let brackets = format!(r#"{{"type":"x","id":"{}"}}"#, "[".repeat(100));
        assert!(parse_str(&brackets).is_ok());
    }

    #[test]
    fn crn_helpers() {
        let id = |s: &'static str| kafka_cluster_id(Cow::Borrowed(s)).map(|c| c.into_owned());
        assert_eq!(id("crn:///kafka=abc").as_deref(), Some("abc"));
        assert_eq!(
            id("crn://confluent.cloud/organization=o/environment=e/kafka=lkc-1/topic=t").as_deref(),
            Some("lkc-1")
        );
        assert_eq!(id("crn:///kafka=").as_deref(), None);
        assert_eq!(id("crn:///schema-registry=x").as_deref(), None);
        assert_eq!(
            crn_resource(Cow::Borrowed("crn:///kafka=a/group=g1")),
            Some((Cow::Borrowed("group"), Cow::Borrowed("g1")))
        );
        assert_eq!(crn_resource(Cow::Borrowed("crn:///kafka=a")), None);
    }

    proptest::proptest! {
        /// Any principal and client id, however escaped by a JSON writer (quotes, backslashes,
        /// newlines, control characters, non-ASCII), come back exactly.
        #[test]
        fn strings_round_trip_through_a_cloud_event(
            principal in proptest::prelude::any::<String>(),
            client_id in "\\PC*",
            pretty in proptest::prelude::any::<bool>(),
        ) {
            let event = serde_json::json!({
                "specversion": "1.0",
                "type": "io.confluent.kafka.server/authorization",
                "source": "crn:///kafka=abc",
                "data": {
                    "authenticationInfo": { "principal": principal },
                    "authorizationInfo": { "granted": true },
                    "request": { "client_id": client_id },
                },
            });
            let json = if pretty {
                serde_json::to_string_pretty(&event).unwrap()
            } else {
                serde_json::to_string(&event).unwrap()
            };
            let ev = parse_str(&json).unwrap();
            proptest::prop_assert_eq!(ev.principal.as_deref(), Some(principal.as_str()));
            proptest::prop_assert_eq!(ev.client_id.as_deref(), Some(client_id.as_str()));
            proptest::prop_assert_eq!(ev.outcome, Outcome::Allowed);
        }
    }
}
