//! Events and detections as OCSF 1.3.0 (<https://schema.ocsf.io/1.3.0/>) JSON.
//!
//! | event category | OCSF class | activity |
//! |---|---|---|
//! | `authentication` | Authentication (3002) | 1 Logon |
//! | `authorization` | API Activity (6003) | from the ACL operation: `CREATE` 1 Create; `READ`, `DESCRIBE*` 2 Read; `WRITE`, `ALTER*`, `IDEMPOTENT_WRITE` 3 Update; `DELETE` 4 Delete; else 99 Other |
//! | `credential_change` | Account Change (3001) | create 1 Create, update 3 Password Change, delete 6 Delete, expire 99 Other |
//! | `acl_change` | User Access Management (3005) | create 1 Assign Privileges, delete 2 Revoke Privileges, else 99 Other |
//! | `config_change`, `resource_change` | API Activity (6003) | create 1, update 3, delete 4 (config changes: 3) |
//! | `connection` | Network Activity (4001) | 5 Refuse for a refused connection, else 99 Other |
//! | `other` | Base Event (0) | 99 Other |
//! | a detection | Detection Finding (2004) | 1 Create |
//!
//! Common to every class: `severity_id` 1 Informational, 2 Low for a failure or denial (a
//! detection: 3 Medium for `warning`, 5 Critical for `critical`); `status_id` 1 Success, 2
//! Failure (failure, denied), 0 Unknown; `time` is the event's own time, else when it was read,
//! in milliseconds; `metadata.product` names the exporter, `metadata.log_name` the input format,
//! `metadata.event_code` the input's event type; `raw_data` is the original record, or a
//! broker-log line's message (`%m`: without its time, level and logger), cut at
//! `raw_data_max_bytes`. The principal is `user` (Authentication, Account Change,
//! User Access Management: the subject of the event) or `actor.user` (API Activity); the client
//! is `src_endpoint` (`ip` when it is an address, else `hostname`, and `port` when the input
//! names it). Every Kafka field OCSF has no
//! attribute for (ACL operation, pattern type, listener, client id, rule, origin...) is kept in
//! `unmapped`, under its `SecurityEvent` field name.
//!
//! Where a class requires a principal or client the input does not name (a failed SASL login in
//! `server.log`, a change `controller.log` recorded without saying who made it), the attribute
//! is written with an empty name instead of a made-up one: `user` (`actor.user`) as
//! `{"name": "", "type_id": 0, "type": "Unknown"}`, an API Activity's `src_endpoint` as
//! `{"name": ""}`. A Network Activity's broker is `dst_endpoint` (its listener as `svc_name`,
//! its node id as `uid`), `{"svc_name": "kafka"}` when the input names neither.

use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Serialize, Serializer};

use super::fields::{s, KafkaFields};
use super::{raw_text, Context};
use crate::detect::{Detection, Severity};
use crate::event::{Category, ChangeAction, Outcome, SecurityEvent};

/// The OCSF version the output follows.
pub const OCSF_VERSION: &str = "1.3.0";

/// A class: its uid, name, category uid and category name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Class {
    pub uid: u32,
    pub name: &'static str,
    pub category_uid: u32,
    pub category_name: &'static str,
}

pub const BASE_EVENT: Class = Class {
    uid: 0,
    name: "Base Event",
    category_uid: 0,
    category_name: "Uncategorized",
};
pub const ACCOUNT_CHANGE: Class = Class {
    uid: 3001,
    name: "Account Change",
    category_uid: 3,
    category_name: "Identity & Access Management",
};
pub const AUTHENTICATION: Class = Class {
    uid: 3002,
    name: "Authentication",
    ..ACCOUNT_CHANGE
};
pub const USER_ACCESS: Class = Class {
    uid: 3005,
    name: "User Access Management",
    ..ACCOUNT_CHANGE
};
pub const NETWORK_ACTIVITY: Class = Class {
    uid: 4001,
    name: "Network Activity",
    category_uid: 4,
    category_name: "Network Activity",
};
pub const API_ACTIVITY: Class = Class {
    uid: 6003,
    name: "API Activity",
    category_uid: 6,
    category_name: "Application Activity",
};
pub const DETECTION_FINDING: Class = Class {
    uid: 2004,
    name: "Detection Finding",
    category_uid: 2,
    category_name: "Findings",
};

/// The class an event of `category` becomes.
pub fn class_of(category: Category) -> Class {
    match category {
        Category::Authentication => AUTHENTICATION,
        Category::Authorization | Category::ConfigChange | Category::ResourceChange => API_ACTIVITY,
        Category::CredentialChange => ACCOUNT_CHANGE,
        Category::AclChange => USER_ACCESS,
        Category::Connection => NETWORK_ACTIVITY,
        Category::Other => BASE_EVENT,
    }
}

/// `(activity_id, activity_name)` of an event in its class.
fn activity(event: &SecurityEvent<'_>) -> (u32, &'static str) {
    const OTHER: (u32, &str) = (99, "Other");
    let action = event
        .action
        .or_else(|| ChangeAction::from_words(&event.event_type));
    match event.category {
        Category::Authentication => (1, "Logon"),
        Category::Authorization => match event.operation.as_deref() {
            Some("CREATE") => (1, "Create"),
            Some("READ" | "DESCRIBE" | "DESCRIBE_CONFIGS" | "DESCRIBE_TOKENS") => (2, "Read"),
            Some("WRITE" | "ALTER" | "ALTER_CONFIGS" | "IDEMPOTENT_WRITE") => (3, "Update"),
            Some("DELETE") => (4, "Delete"),
            _ => OTHER,
        },
        Category::ConfigChange => (3, "Update"),
        Category::ResourceChange => match action {
            Some(ChangeAction::Create) => (1, "Create"),
            Some(ChangeAction::Update) => (3, "Update"),
            Some(ChangeAction::Delete) => (4, "Delete"),
            _ => OTHER,
        },
        Category::CredentialChange => match action {
            Some(ChangeAction::Create) => (1, "Create"),
            Some(ChangeAction::Update) => (3, "Password Change"),
            Some(ChangeAction::Delete) => (6, "Delete"),
            _ => OTHER,
        },
        Category::AclChange => match action {
            Some(ChangeAction::Create) => (1, "Assign Privileges"),
            Some(ChangeAction::Delete) => (2, "Revoke Privileges"),
            _ => OTHER,
        },
        Category::Connection if event.rejection.is_some() => (5, "Refuse"),
        Category::Connection | Category::Other => OTHER,
    }
}

/// Milliseconds since the epoch (`timestamp_t`).
fn millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

fn status(outcome: Outcome) -> (u32, &'static str) {
    match outcome {
        Outcome::Success | Outcome::Allowed => (1, "Success"),
        Outcome::Failure | Outcome::Denied => (2, "Failure"),
        Outcome::Unknown => (0, "Unknown"),
    }
}

/// `"<class name>: <activity name>"` without building a string.
struct TypeName(&'static str, &'static str);

impl Serialize for TypeName {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&format_args!("{}: {}", self.0, self.1))
    }
}

#[derive(Serialize)]
struct Product<'a> {
    name: &'a str,
    vendor_name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct Metadata<'a> {
    version: &'static str,
    product: Product<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event_code: Option<&'a str>,
    processed_time: i64,
}

impl<'a> Metadata<'a> {
    fn new(processed: SystemTime) -> Self {
        Metadata {
            version: OCSF_VERSION,
            product: Product {
                name: super::PRODUCT,
                vendor_name: super::PRODUCT,
                version: crate::build_info::VERSION,
            },
            log_name: None,
            event_code: None,
            processed_time: millis(processed),
        }
    }
}

#[derive(Serialize)]
struct User<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    type_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(rename = "type")]
    kind: Option<&'static str>,
}

impl<'a> User<'a> {
    /// The principal; when the input does not name one, an empty name of type 0 Unknown.
    fn of(principal: Option<&'a str>) -> Self {
        match principal {
            Some(name) => User {
                name,
                type_id: None,
                kind: None,
            },
            None => User {
                name: "",
                type_id: Some(0),
                kind: Some("Unknown"),
            },
        }
    }
}

#[derive(Serialize)]
struct Actor<'a> {
    user: User<'a>,
}

#[derive(Serialize, Default)]
struct Endpoint<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hostname: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    svc_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
}

impl<'a> Endpoint<'a> {
    /// The client: `ip` when `host` is an address, else `hostname`; and its `port`.
    fn client(host: &'a str, port: Option<u16>) -> Self {
        if host.parse::<IpAddr>().is_ok() {
            Endpoint {
                ip: Some(host),
                port,
                ..Endpoint::default()
            }
        } else {
            Endpoint {
                hostname: Some(host),
                port,
                ..Endpoint::default()
            }
        }
    }
}

#[derive(Serialize)]
struct Service<'a> {
    name: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    uid: Option<&'a str>,
}

#[derive(Serialize)]
struct Api<'a> {
    operation: &'a str,
    service: Service<'a>,
}

#[derive(Serialize)]
struct Resource<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[serde(rename = "type")]
    kind: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
}

/// `"<permission> <operation>"` (`ALLOW WRITE`), or the operation alone.
struct Privilege<'a>(Option<&'static str>, &'a str);

impl Serialize for Privilege<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Some(p) => s.collect_str(&format_args!("{} {}", p.to_ascii_uppercase(), self.1)),
            None => s.serialize_str(self.1),
        }
    }
}

/// The event's Kafka fields OCSF has no attribute for (those it maps are taken out per class),
/// and what else has no place in the class.
#[derive(Serialize, Default)]
struct Unmapped<'a> {
    #[serde(flatten)]
    kafka: KafkaFields<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    /// The principal, in a class without a principal attribute.
    #[serde(skip_serializing_if = "Option::is_none")]
    principal: Option<&'a str>,
    /// A detection's subject (client host, principal, log stream or `all`).
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
}

/// One OCSF event of any class: the attributes a class does not have stay `None`.
#[derive(Serialize)]
struct Event<'a> {
    activity_id: u32,
    activity_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    type_uid: u32,
    type_name: TypeName,
    severity_id: u32,
    severity: &'static str,
    status_id: u32,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_detail: Option<&'a str>,
    time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    metadata: Metadata<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actor: Option<Actor<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<User<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<Endpoint<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    dst_endpoint: Option<Endpoint<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<Service<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_protocol_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_protocol: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    api: Option<Api<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resources: Option<[Resource<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<Resource<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    privileges: Option<[Privilege<'a>; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_data: Option<&'a str>,
    unmapped: Unmapped<'a>,
}

/// `(auth_protocol_id, auth_protocol)` of a SASL mechanism.
fn auth_protocol(mechanism: &str) -> (u32, &str) {
    match mechanism {
        "GSSAPI" => (2, "Kerberos"),
        "OAUTHBEARER" => (6, "OAUTH 2.0"),
        other => (99, other),
    }
}

/// Writes `event` as OCSF JSON to `out`; `raw` is the record or log message it was read from.
pub fn write_event(
    ctx: &Context,
    event: &SecurityEvent<'_>,
    raw: &[u8],
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    let class = class_of(event.category);
    let (activity_id, activity_name) = activity(event);
    let (status_id, status) = status(event.outcome);
    let negative = event.outcome.is_negative();
    let client = s(&event.client_host).map(|host| Endpoint::client(host, event.client_port));
    let broker = (event.broker_id.is_some() || event.listener.is_some()).then(|| Endpoint {
        svc_name: s(&event.listener),
        uid: s(&event.broker_id),
        ..Endpoint::default()
    });
    let raw = raw_text(raw, ctx.raw_data_max_bytes);
    let mut metadata = Metadata::new(event.observed_time);
    metadata.log_name = Some(event.format.as_str());
    metadata.event_code = Some(&event.event_type);
    let mut ev = Event {
        activity_id,
        activity_name,
        category_uid: class.category_uid,
        category_name: class.category_name,
        class_uid: class.uid,
        class_name: class.name,
        type_uid: class.uid * 100 + activity_id,
        type_name: TypeName(class.name, activity_name),
        severity_id: if negative { 2 } else { 1 },
        severity: if negative { "Low" } else { "Informational" },
        status_id,
        status,
        status_detail: event.reason.map(|r| r.as_str()),
        time: millis(event.event_time.unwrap_or(event.observed_time)),
        message: None,
        metadata,
        actor: None,
        user: None,
        src_endpoint: client,
        dst_endpoint: None,
        service: None,
        auth_protocol_id: None,
        auth_protocol: None,
        api: None,
        resources: None,
        resource: None,
        privileges: None,
        raw_data: raw.as_deref(),
        unmapped: Unmapped {
            kafka: KafkaFields::of(event),
            ..Unmapped::default()
        },
    };
    class_attributes(&mut ev, event, class.uid, broker);
    serde_json::to_writer(out, &ev)
}

/// Sets the attributes of `class_uid` that the other classes do not have.
fn class_attributes<'a>(
    ev: &mut Event<'a>,
    event: &'a SecurityEvent<'_>,
    class_uid: u32,
    broker: Option<Endpoint<'a>>,
) {
    let principal = s(&event.principal);
    let resource = || Resource {
        kind: s(&event.resource_type),
        name: s(&event.resource_name),
    };
    let service = || Service {
        name: "kafka",
        uid: s(&event.cluster_id),
    };
    match class_uid {
        3002 => {
            ev.user = Some(User::of(principal));
            ev.service = Some(service());
            ev.dst_endpoint = broker;
            if let Some(m) = s(&event.mechanism) {
                let (id, name) = auth_protocol(m);
                ev.auth_protocol_id = Some(id);
                ev.auth_protocol = Some(name);
                ev.unmapped.kafka.mechanism = None;
            }
            ev.unmapped.kafka.cluster_id = None;
        }
        6003 => {
            ev.actor = Some(Actor {
                user: User::of(principal),
            });
            if ev.src_endpoint.is_none() {
                ev.src_endpoint = Some(Endpoint {
                    name: Some(""),
                    ..Endpoint::default()
                });
            }
            ev.dst_endpoint = broker;
            let operation = s(&event.api)
                .or(s(&event.operation))
                .unwrap_or(&event.event_type);
            ev.api = Some(Api {
                operation,
                service: service(),
            });
            // A resource is named (OCSF requires a name or uid); a type alone stays unmapped.
            if event.resource_name.is_some() {
                ev.resources = Some([resource()]);
                ev.unmapped.kafka.resource_type = None;
                ev.unmapped.kafka.resource_name = None;
            }
            ev.unmapped.kafka.cluster_id = None;
        }
        3001 => {
            ev.user = Some(User::of(principal));
        }
        3005 => {
            ev.user = Some(User::of(principal));
            let op = s(&event.operation).unwrap_or("UNKNOWN");
            ev.privileges = Some([Privilege(event.permission.map(|p| p.as_str()), op)]);
            if event.resource_name.is_some() {
                ev.resource = Some(resource());
                ev.unmapped.kafka.resource_type = None;
                ev.unmapped.kafka.resource_name = None;
            }
        }
        4001 => {
            ev.dst_endpoint = Some(broker.unwrap_or(Endpoint {
                svc_name: Some("kafka"),
                ..Endpoint::default()
            }));
            ev.user = None;
            ev.unmapped.kafka.listener = None;
            ev.unmapped.kafka.broker_id = None;
        }
        _ => {}
    }
    if ev.user.is_none() && ev.actor.is_none() {
        // Base Event and Network Activity have no principal attribute.
        ev.unmapped.principal = principal;
    }
    if ev.dst_endpoint.is_some() {
        ev.unmapped.kafka.listener = None;
        ev.unmapped.kafka.broker_id = None;
    }
}

#[derive(Serialize)]
struct Technique<'a> {
    uid: &'a str,
}

#[derive(Serialize)]
struct Tactic<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Attack<'a> {
    technique: Technique<'a>,
    tactic: Tactic<'a>,
}

#[derive(Serialize)]
struct Analytic<'a> {
    name: &'a str,
    type_id: u32,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Serialize)]
struct FindingInfo<'a> {
    uid: &'a str,
    title: &'a str,
    types: [&'a str; 1],
    analytic: Analytic<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    attacks: Option<[Attack<'a>; 1]>,
    first_seen_time: i64,
    last_seen_time: i64,
}

#[derive(Serialize)]
struct Finding<'a> {
    activity_id: u32,
    activity_name: &'static str,
    category_uid: u32,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    type_uid: u32,
    type_name: TypeName,
    severity_id: u32,
    severity: &'static str,
    status_id: u32,
    status: &'static str,
    time: i64,
    message: &'a str,
    count: u64,
    metadata: Metadata<'a>,
    finding_info: FindingInfo<'a>,
    unmapped: Unmapped<'a>,
}

/// Writes `d` as an OCSF Detection Finding (2004) to `out`. `uid` identifies it.
pub fn write_detection(
    _ctx: &Context,
    d: &Detection,
    uid: &str,
    now: SystemTime,
    out: &mut Vec<u8>,
) -> serde_json::Result<()> {
    let class = DETECTION_FINDING;
    let (severity_id, severity) = match d.severity {
        Severity::Warning => (3, "Medium"),
        Severity::Critical => (5, "Critical"),
    };
    let technique = d.detector.technique();
    let finding = Finding {
        activity_id: 1,
        activity_name: "Create",
        category_uid: class.category_uid,
        category_name: class.category_name,
        class_uid: class.uid,
        class_name: class.name,
        type_uid: class.uid * 100 + 1,
        type_name: TypeName(class.name, "Create"),
        severity_id,
        severity,
        status_id: 1,
        status: "New",
        time: millis(d.last_event),
        message: &d.detail,
        count: d.count,
        metadata: Metadata::new(now),
        finding_info: FindingInfo {
            uid,
            title: &d.detail,
            types: [d.detector.as_str()],
            analytic: Analytic {
                name: d.detector.as_str(),
                type_id: 1,
                kind: "Rule",
            },
            attacks: (technique != "none").then(|| {
                [Attack {
                    technique: Technique { uid: technique },
                    tactic: Tactic {
                        name: d.detector.tactic(),
                    },
                }]
            }),
            first_seen_time: millis(d.first_event),
            last_seen_time: millis(d.last_event),
        },
        unmapped: Unmapped {
            subject: Some(&d.subject),
            ..Unmapped::default()
        },
    };
    serde_json::to_writer(out, &finding)
}
