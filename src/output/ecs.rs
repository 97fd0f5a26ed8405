//! Events and detections as Elastic Common Schema (ECS 8.11) JSON documents.
//!
//! | event category | `event.category` | `event.type` |
//! |---|---|---|
//! | `authentication` | `authentication` | `start` |
//! | `authorization` | `iam` | `access`, and `allowed` or `denied` |
//! | `acl_change` | `iam`, `configuration` | `creation`, `deletion` or `change` |
//! | `credential_change` | `iam` | `user`, and `creation`, `deletion` or `change` |
//! | `config_change` | `configuration` | `change` |
//! | `resource_change` | `configuration` | `creation`, `deletion` or `change` |
//! | `connection` | `network` | `connection`, and `denied` when refused |
//! | `other` | — | `info` |
//!
//! `event.kind` is `event` (`alert` for a detection), `event.outcome` `success` or `failure`
//! (allowed and denied too) or `unknown`, `event.action` the input's event type, `event.reason`
//! the failure reason, `event.dataset` `kafka.<format>`, `event.original` the record or log
//! message (cut at `raw_data_max_bytes`). The principal is `user.name`, the client `source.ip`
//! (an address) or `source.domain` (a name), with `source.port` when the input names it; Kafka's own fields are under `kafka.*` by their
//! `SecurityEvent` names. A detection carries `rule.name` (the detector), `threat.technique.id`
//! and `threat.tactic.name`, `event.severity` 47 (warning) or 73 (critical) as Elastic's rules do.

use std::net::IpAddr;
use std::time::SystemTime;

use serde::Serialize;

use super::fields::{s, KafkaFields};
use super::{raw_text, Context};
use crate::detect::{Detection, Severity};
use crate::event::{Category, ChangeAction, Outcome, SecurityEvent};

/// The ECS version the output follows.
pub const ECS_VERSION: &str = "8.11.0";

/// RFC 3339 with milliseconds, UTC.
struct Timestamp(SystemTime);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_rfc3339_millis(self.0))
    }
}

/// `kafka.<format>`.
struct Dataset(&'static str);

impl Serialize for Dataset {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("kafka.{}", self.0))
    }
}

#[derive(Serialize)]
struct Ecs {
    version: &'static str,
}

#[derive(Serialize)]
struct EventField<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    kind: &'static str,
    category: &'static [&'static str],
    #[serde(rename = "type")]
    kind_of: &'static [&'static str],
    #[serde(skip_serializing_if = "Option::is_none")]
    action: Option<&'a str>,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    severity: Option<u32>,
    module: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset: Option<Dataset>,
    created: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    original: Option<&'a str>,
}

#[derive(Serialize)]
struct Name<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Source<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    domain: Option<&'a str>,
    address: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
}

#[derive(Serialize)]
struct Observer {
    product: &'static str,
    vendor: &'static str,
    version: &'static str,
}

/// Kafka's own fields, by `SecurityEvent` field name.
#[derive(Serialize)]
struct Kafka<'a> {
    format: &'static str,
    #[serde(flatten)]
    fields: KafkaFields<'a>,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: Timestamp,
    ecs: Ecs,
    event: EventField<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Name<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Source<'a>>,
    observer: Observer,
    kafka: Kafka<'a>,
}

/// `(event.category, event.type)` of an event.
fn classify(event: &SecurityEvent<'_>) -> (&'static [&'static str], &'static [&'static str]) {
    let change: &'static [&'static str] = match event
        .action
        .or_else(|| ChangeAction::from_words(&event.event_type))
    {
        Some(ChangeAction::Create) => &["creation"],
        Some(ChangeAction::Delete) => &["deletion"],
        _ => &["change"],
    };
    match event.category {
        Category::Authentication => (&["authentication"], &["start"]),
        Category::Authorization => match event.outcome {
            Outcome::Allowed | Outcome::Success => (&["iam"], &["access", "allowed"]),
            Outcome::Denied | Outcome::Failure => (&["iam"], &["access", "denied"]),
            Outcome::Unknown => (&["iam"], &["access"]),
        },
        Category::AclChange => (&["iam", "configuration"], change),
        Category::CredentialChange => (
            &["iam"],
            match change {
                ["creation"] => &["user", "creation"],
                ["deletion"] => &["user", "deletion"],
                _ => &["user", "change"],
            },
        ),
        Category::ConfigChange => (&["configuration"], &["change"]),
        Category::ResourceChange => (&["configuration"], change),
        Category::Connection if event.rejection.is_some() => {
            (&["network"], &["connection", "denied"])
        }
        Category::Connection => (&["network"], &["connection"]),
        Category::Other => (&[], &["info"]),
    }
}

fn outcome(o: Outcome) -> &'static str {
    match o {
        Outcome::Success | Outcome::Allowed => "success",
        Outcome::Failure | Outcome::Denied => "failure",
        Outcome::Unknown => "unknown",
    }
}

fn observer() -> Observer {
    Observer {
        product: super::PRODUCT,
        vendor: super::PRODUCT,
        version: crate::build_info::VERSION,
    }
}

/// Writes `event` as an ECS document to `out`; `raw` is the record or log message it was read
/// from.
pub fn write_event(
    ctx: &Context,
    event: &SecurityEvent<'_>,
    raw: &[u8],
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    let (category, kind_of) = classify(event);
    let raw = raw_text(raw, ctx.raw_data_max_bytes);
    let source = s(&event.client_host).map(|host| {
        let ip = host.parse::<IpAddr>().is_ok();
        Source {
            ip: ip.then_some(host),
            domain: (!ip).then_some(host),
            address: host,
            port: event.client_port,
        }
    });
    let doc = Document {
        timestamp: Timestamp(event.event_time.unwrap_or(event.observed_time)),
        ecs: Ecs {
            version: ECS_VERSION,
        },
        event: EventField {
            id: None,
            kind: "event",
            category,
            kind_of,
            action: Some(&event.event_type),
            outcome: outcome(event.outcome),
            reason: event.reason.map(|r| r.as_str()),
            severity: None,
            module: "kafka",
            dataset: Some(Dataset(event.format.as_str())),
            created: Timestamp(event.observed_time),
            original: raw.as_deref(),
        },
        user: s(&event.principal).map(|name| Name { name }),
        source,
        observer: observer(),
        kafka: Kafka {
            format: event.format.as_str(),
            fields: KafkaFields::of(event),
        },
    };
    serde_json::to_writer(out, &doc)
}

#[derive(Serialize)]
struct Rule<'a> {
    name: &'a str,
    description: &'a str,
}

#[derive(Serialize)]
struct Id<'a> {
    id: &'a str,
}

#[derive(Serialize)]
struct Threat<'a> {
    framework: &'static str,
    technique: Id<'a>,
    tactic: Name<'a>,
}

#[derive(Serialize)]
struct Subject<'a> {
    subject: &'a str,
    count: u64,
    first_event: Timestamp,
}

#[derive(Serialize)]
struct Alert<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: Timestamp,
    ecs: Ecs,
    event: EventField<'a>,
    message: &'a str,
    rule: Rule<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threat: Option<Threat<'a>>,
    observer: Observer,
    kafka: Subject<'a>,
}

/// Writes `d` as an ECS alert document to `out`. `uid` identifies it.
pub fn write_detection(
    _ctx: &Context,
    d: &Detection,
    uid: &str,
    now: SystemTime,
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    let technique = d.detector.technique();
    let alert = Alert {
        timestamp: Timestamp(d.last_event),
        ecs: Ecs {
            version: ECS_VERSION,
        },
        event: EventField {
            id: Some(uid),
            kind: "alert",
            category: &["intrusion_detection"],
            kind_of: &["indicator"],
            action: None,
            outcome: "unknown",
            reason: None,
            severity: Some(match d.severity {
                Severity::Warning => 47,
                Severity::Critical => 73,
            }),
            module: "kafka",
            dataset: None,
            created: Timestamp(now),
            original: None,
        },
        message: &d.detail,
        rule: Rule {
            name: d.detector.as_str(),
            description: &d.detail,
        },
        threat: (technique != "none").then(|| Threat {
            framework: "MITRE ATT&CK",
            technique: Id { id: technique },
            tactic: Name {
                name: d.detector.tactic(),
            },
        }),
        observer: observer(),
        kafka: Subject {
            subject: &d.subject,
            count: d.count,
            first_event: Timestamp(d.first_event),
        },
    };
    serde_json::to_writer(out, &alert)
}
