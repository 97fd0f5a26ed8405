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
//! names it). Every Kafka field OCSF has no attribute for (ACL operation, pattern type, listener, client id, rule, origin...) is kept in
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

use super::fields::{s, KafkaFields};
use super::json::Obj;
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
    // Only changes have an action; the words of the event type are read only for them.
    let action = || {
        event
            .action
            .or_else(|| ChangeAction::from_words(&event.event_type))
    };
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
        Category::ResourceChange => match action() {
            Some(ChangeAction::Create) => (1, "Create"),
            Some(ChangeAction::Update) => (3, "Update"),
            Some(ChangeAction::Delete) => (4, "Delete"),
            _ => OTHER,
        },
        Category::CredentialChange => match action() {
            Some(ChangeAction::Create) => (1, "Create"),
            Some(ChangeAction::Update) => (3, "Password Change"),
            Some(ChangeAction::Delete) => (6, "Delete"),
            _ => OTHER,
        },
        Category::AclChange => match action() {
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

/// `"<class name>: <activity name>"`.
struct TypeName(&'static str, &'static str);

impl TypeName {
    fn write(&self, o: &mut Obj<'_>) {
        o.concat("type_name", &[self.0, ": ", self.1]);
    }
}

struct Metadata<'a> {
    log_name: Option<&'a str>,
    event_code: Option<&'a str>,
    processed_time: i64,
}

impl<'a> Metadata<'a> {
    fn new(processed: SystemTime) -> Self {
        Metadata {
            log_name: None,
            event_code: None,
            processed_time: millis(processed),
        }
    }

    fn write(&self, o: &mut Obj<'_>) {
        o.str("version", OCSF_VERSION);
        o.obj("product", |o| {
            o.str("name", super::PRODUCT);
            o.str("vendor_name", super::PRODUCT);
            o.str("version", crate::build_info::VERSION);
        });
        o.opt_str("log_name", self.log_name);
        o.opt_str("event_code", self.event_code);
        o.i64("processed_time", self.processed_time);
    }
}

struct User<'a> {
    name: &'a str,
    type_id: Option<u32>,
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

    fn write(&self, o: &mut Obj<'_>) {
        o.str("name", self.name);
        o.opt_u64("type_id", self.type_id.map(u64::from));
        o.opt_str("type", self.kind);
    }
}

#[derive(Default)]
struct Endpoint<'a> {
    name: Option<&'a str>,
    ip: Option<&'a str>,
    hostname: Option<&'a str>,
    port: Option<u16>,
    svc_name: Option<&'a str>,
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

    fn write(&self, o: &mut Obj<'_>) {
        o.opt_str("name", self.name);
        o.opt_str("ip", self.ip);
        o.opt_str("hostname", self.hostname);
        o.opt_u64("port", self.port.map(u64::from));
        o.opt_str("svc_name", self.svc_name);
        o.opt_str("uid", self.uid);
    }
}

struct Service<'a> {
    name: &'static str,
    uid: Option<&'a str>,
}

impl Service<'_> {
    fn write(&self, o: &mut Obj<'_>) {
        o.str("name", self.name);
        o.opt_str("uid", self.uid);
    }
}

struct Api<'a> {
    operation: &'a str,
    service: Service<'a>,
}

struct Resource<'a> {
    kind: Option<&'a str>,
    name: Option<&'a str>,
}

impl Resource<'_> {
    fn write(&self, o: &mut Obj<'_>) {
        o.opt_str("type", self.kind);
        o.opt_str("name", self.name);
    }
}

/// `"<permission> <operation>"` (`ALLOW WRITE`), or the operation alone; `permission` is
/// written in capitals.
struct Privilege<'a>(Option<&'static str>, &'a str);

/// The event's Kafka fields OCSF has no attribute for (those it maps are taken out per class),
/// and what else has no place in the class.
#[derive(Default)]
struct Unmapped<'a> {
    kafka: KafkaFields<'a>,
    reason: Option<&'a str>,
    /// The principal, in a class without a principal attribute.
    principal: Option<&'a str>,
    /// A detection's subject (client host, principal, log stream or `all`).
    subject: Option<&'a str>,
}

impl Unmapped<'_> {
    fn write(&self, o: &mut Obj<'_>) {
        self.kafka.write(o);
        o.opt_str("reason", self.reason);
        o.opt_str("principal", self.principal);
        o.opt_str("subject", self.subject);
    }
}

/// One OCSF event of any class: the attributes a class does not have stay `None`.
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
    status_detail: Option<&'a str>,
    time: i64,
    message: Option<&'a str>,
    metadata: Metadata<'a>,
    /// `actor.user`.
    actor: Option<User<'a>>,
    user: Option<User<'a>>,
    src_endpoint: Option<Endpoint<'a>>,
    dst_endpoint: Option<Endpoint<'a>>,
    service: Option<Service<'a>>,
    auth_protocol_id: Option<u32>,
    auth_protocol: Option<&'a str>,
    api: Option<Api<'a>>,
    /// `resources`, an array of this one.
    resources: Option<Resource<'a>>,
    resource: Option<Resource<'a>>,
    /// `privileges`, an array of this one.
    privileges: Option<Privilege<'a>>,
    raw_data: Option<&'a str>,
    unmapped: Unmapped<'a>,
}

impl Event<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        let mut o = Obj::new(out);
        o.u64("activity_id", self.activity_id.into());
        o.str("activity_name", self.activity_name);
        o.u64("category_uid", self.category_uid.into());
        o.str("category_name", self.category_name);
        o.u64("class_uid", self.class_uid.into());
        o.str("class_name", self.class_name);
        o.u64("type_uid", self.type_uid.into());
        self.type_name.write(&mut o);
        o.u64("severity_id", self.severity_id.into());
        o.str("severity", self.severity);
        o.u64("status_id", self.status_id.into());
        o.str("status", self.status);
        o.opt_str("status_detail", self.status_detail);
        o.i64("time", self.time);
        o.opt_str("message", self.message);
        o.obj("metadata", |o| self.metadata.write(o));
        if let Some(user) = &self.actor {
            o.obj("actor", |o| o.obj("user", |o| user.write(o)));
        }
        if let Some(user) = &self.user {
            o.obj("user", |o| user.write(o));
        }
        if let Some(e) = &self.src_endpoint {
            o.obj("src_endpoint", |o| e.write(o));
        }
        if let Some(e) = &self.dst_endpoint {
            o.obj("dst_endpoint", |o| e.write(o));
        }
        if let Some(service) = &self.service {
            o.obj("service", |o| service.write(o));
        }
        o.opt_u64("auth_protocol_id", self.auth_protocol_id.map(u64::from));
        o.opt_str("auth_protocol", self.auth_protocol);
        if let Some(api) = &self.api {
            o.obj("api", |o| {
                o.str("operation", api.operation);
                o.obj("service", |o| api.service.write(o));
            });
        }
        if let Some(r) = &self.resources {
            o.one_obj("resources", |o| r.write(o));
        }
        if let Some(r) = &self.resource {
            o.obj("resource", |o| r.write(o));
        }
        match &self.privileges {
            Some(Privilege(Some(permission), operation)) => o.strs(
                "privileges",
                &[&format!("{} {operation}", permission.to_ascii_uppercase())],
            ),
            Some(Privilege(None, operation)) => o.strs("privileges", &[operation]),
            None => {}
        }
        o.opt_str("raw_data", self.raw_data);
        o.obj("unmapped", |o| self.unmapped.write(o));
        o.end();
    }
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
pub fn write_event(ctx: &Context, event: &SecurityEvent<'_>, raw: &[u8], out: &mut Vec<u8>) {
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
    ev.write(out);
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
            ev.actor = Some(User::of(principal));
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
                ev.resources = Some(resource());
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
            ev.privileges = Some(Privilege(event.permission.map(|p| p.as_str()), op));
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

/// Writes `d` as an OCSF Detection Finding (2004) to `out`. `uid` identifies it.
pub fn write_detection(
    _ctx: &Context,
    d: &Detection,
    uid: &str,
    now: SystemTime,
    out: &mut Vec<u8>,
) {
    let class = DETECTION_FINDING;
    let (severity_id, severity) = match d.severity {
        Severity::Warning => (3, "Medium"),
        Severity::Critical => (5, "Critical"),
    };
    let technique = d.detector.technique();
    let mut o = Obj::new(out);
    o.u64("activity_id", 1);
    o.str("activity_name", "Create");
    o.u64("category_uid", class.category_uid.into());
    o.str("category_name", class.category_name);
    o.u64("class_uid", class.uid.into());
    o.str("class_name", class.name);
    o.u64("type_uid", u64::from(class.uid) * 100 + 1);
    TypeName(class.name, "Create").write(&mut o);
    o.u64("severity_id", severity_id);
    o.str("severity", severity);
    o.u64("status_id", 1);
    o.str("status", "New");
    o.i64("time", millis(d.last_event));
    o.str("message", &d.detail);
    o.u64("count", d.count);
    o.obj("metadata", |o| Metadata::new(now).write(o));
    o.obj("finding_info", |o| {
        o.str("uid", uid);
        o.str("title", &d.detail);
        o.strs("types", &[d.detector.as_str()]);
        o.obj("analytic", |o| {
            o.str("name", d.detector.as_str());
            o.u64("type_id", 1);
            o.str("type", "Rule");
        });
        if technique != "none" {
            o.one_obj("attacks", |o| {
                o.obj("technique", |o| o.str("uid", technique));
                o.obj("tactic", |o| o.str("name", d.detector.tactic()));
            });
        }
        o.i64("first_seen_time", millis(d.first_event));
        o.i64("last_seen_time", millis(d.last_event));
    });
    o.obj("unmapped", |o| {
        Unmapped {
            subject: Some(&d.subject),
            ..Unmapped::default()
        }
        .write(o)
    });
    o.end();
}
