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
//! (an address) or `source.domain` (a name), with `source.port` when the input names it; Kafka's
//! own fields are under `kafka.*` by their `SecurityEvent` names. A detection carries `rule.name` (the detector), `threat.technique.id`
//! and `threat.tactic.name`, `event.severity` 47 (warning) or 73 (critical) as Elastic's rules do.

use std::net::IpAddr;
use std::time::SystemTime;

use super::fields::{s, KafkaFields};
use super::json::Obj;
use super::{raw_text, Context};
use crate::detect::{Detection, Severity};
use crate::event::{Category, ChangeAction, Outcome, SecurityEvent};

/// The ECS version the output follows.
pub const ECS_VERSION: &str = "8.11.0";

/// The `event` object of a document or an alert.
struct EventField<'a> {
    id: Option<&'a str>,
    kind: &'static str,
    category: &'static [&'static str],
    kind_of: &'static [&'static str],
    action: Option<&'a str>,
    outcome: &'static str,
    reason: Option<&'a str>,
    severity: Option<u64>,
    /// `event.dataset` is `kafka.<this>`.
    dataset: Option<&'static str>,
    created: SystemTime,
    original: Option<&'a str>,
}

impl EventField<'_> {
    fn write(&self, o: &mut Obj<'_>) {
        o.opt_str("id", self.id);
        o.str("kind", self.kind);
        o.strs("category", self.category);
        o.strs("type", self.kind_of);
        o.opt_str("action", self.action);
        o.str("outcome", self.outcome);
        o.opt_str("reason", self.reason);
        o.opt_u64("severity", self.severity);
        o.str("module", "kafka");
        if let Some(format) = self.dataset {
            o.concat("dataset", &["kafka.", format]);
        }
        timestamp(o, "created", self.created);
        o.opt_str("original", self.original);
    }
}

/// RFC 3339 with milliseconds, UTC.
fn timestamp(o: &mut Obj<'_>, key: &'static str, t: SystemTime) {
    o.display(key, humantime::format_rfc3339_millis(t));
}

/// `ecs` and the start of every document.
fn head(o: &mut Obj<'_>, at: SystemTime) {
    timestamp(o, "@timestamp", at);
    o.obj("ecs", |o| o.str("version", ECS_VERSION));
}

/// `(event.category, event.type)` of an event.
fn classify(event: &SecurityEvent<'_>) -> (&'static [&'static str], &'static [&'static str]) {
    // Only changes have an action; the words of the event type are read only for them.
    let change = || -> &'static [&'static str] {
        match event
            .action
            .or_else(|| ChangeAction::from_words(&event.event_type))
        {
            Some(ChangeAction::Create) => &["creation"],
            Some(ChangeAction::Delete) => &["deletion"],
            _ => &["change"],
        }
    };
    match event.category {
        Category::Authentication => (&["authentication"], &["start"]),
        Category::Authorization => match event.outcome {
            Outcome::Allowed | Outcome::Success => (&["iam"], &["access", "allowed"]),
            Outcome::Denied | Outcome::Failure => (&["iam"], &["access", "denied"]),
            Outcome::Unknown => (&["iam"], &["access"]),
        },
        Category::AclChange => (&["iam", "configuration"], change()),
        Category::CredentialChange => (
            &["iam"],
            match change() {
                ["creation"] => &["user", "creation"],
                ["deletion"] => &["user", "deletion"],
                _ => &["user", "change"],
            },
        ),
        Category::ConfigChange => (&["configuration"], &["change"]),
        Category::ResourceChange => (&["configuration"], change()),
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

fn observer(o: &mut Obj<'_>) {
    o.obj("observer", |o| {
        o.str("product", super::PRODUCT);
        o.str("vendor", super::PRODUCT);
        o.str("version", crate::build_info::VERSION);
    });
}

/// Writes `event` as an ECS document to `out`; `raw` is the record or log message it was read
/// from.
pub fn write_event(ctx: &Context, event: &SecurityEvent<'_>, raw: &[u8], out: &mut Vec<u8>) {
    let (category, kind_of) = classify(event);
    let raw = raw_text(raw, ctx.raw_data_max_bytes);
    let mut o = Obj::new(out);
    head(&mut o, event.event_time.unwrap_or(event.observed_time));
    o.obj("event", |o| {
        EventField {
            id: None,
            kind: "event",
            category,
            kind_of,
            action: Some(&event.event_type),
            outcome: outcome(event.outcome),
            reason: event.reason.map(|r| r.as_str()),
            severity: None,
            dataset: Some(event.format.as_str()),
            created: event.observed_time,
            original: raw.as_deref(),
        }
        .write(o)
    });
    if let Some(name) = s(&event.principal) {
        o.obj("user", |o| o.str("name", name));
    }
    if let Some(host) = s(&event.client_host) {
        let ip = host.parse::<IpAddr>().is_ok();
        o.obj("source", |o| {
            o.str(if ip { "ip" } else { "domain" }, host);
            o.str("address", host);
            o.opt_u64("port", event.client_port.map(u64::from));
        });
    }
    observer(&mut o);
    o.obj("kafka", |o| {
        o.str("format", event.format.as_str());
        KafkaFields::of(event).write(o);
    });
    o.end();
}

/// Writes `d` as an ECS alert document to `out`. `uid` identifies it.
pub fn write_detection(
    _ctx: &Context,
    d: &Detection,
    uid: &str,
    now: SystemTime,
    out: &mut Vec<u8>,
) {
    let technique = d.detector.technique();
    let mut o = Obj::new(out);
    head(&mut o, d.last_event);
    o.obj("event", |o| {
        EventField {
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
            dataset: None,
            created: now,
            original: None,
        }
        .write(o)
    });
    o.str("message", &d.detail);
    o.obj("rule", |o| {
        o.str("name", d.detector.as_str());
        o.str("description", &d.detail);
    });
    if technique != "none" {
        o.obj("threat", |o| {
            o.str("framework", "MITRE ATT&CK");
            o.obj("technique", |o| o.str("id", technique));
            o.obj("tactic", |o| o.str("name", d.detector.tactic()));
        });
    }
    observer(&mut o);
    o.obj("kafka", |o| {
        o.str("subject", &d.subject);
        o.u64("count", d.count);
        timestamp(o, "first_event", d.first_event);
    });
    o.end();
}
