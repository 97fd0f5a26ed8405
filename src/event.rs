//! The normalized security event every input becomes.
//!
//! Parsers build a [`SecurityEvent`] that borrows from the record it came from (no copies on the
//! hot path); the pipeline records it into metrics and spans and then drops it. Label values that
//! come from a closed set are enums with `as_str()`; free-form fields are `Cow<str>` so a parser can
//! borrow when the input needs no unescaping and own when it does.

use std::borrow::Cow;
use std::time::SystemTime;

/// A borrowed-or-owned string field.
pub type Text<'a> = Cow<'a, str>;

/// Where an event was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin<'a> {
    /// A Kafka record.
    Kafka {
        topic: Text<'a>,
        partition: i32,
        offset: i64,
    },
    /// A line (or multi-line entry) of a file, starting at `offset` bytes.
    File { path: Text<'a>, offset: u64 },
    /// Generated in-process (tests, benchmarks).
    Memory,
}

/// The input format an event was parsed from. Its `as_str()` is the `format` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Confluent audit-log CloudEvents (`io.confluent.kafka.server/...`).
    ConfluentAudit,
    /// JSON security events emitted by applications, mapped by config.
    Json,
    /// Plain text; the record key is the event type.
    Text,
    /// Kafka's authorizer audit log (`kafka.authorizer.logger`, `kafka-authorizer.log`).
    AuthorizerLog,
    /// Kafka broker `server.log` (authentication failures, rejected connections).
    ServerLog,
    /// KRaft controller `controller.log` (`Replayed …Record` metadata changes).
    ControllerLog,
    /// Kafka's request log (`kafka.request.logger`, `Completed request:{…}`).
    RequestLog,
    /// OCSF events: Redpanda's audit log (`_redpanda.audit_log`).
    Ocsf,
}

impl Format {
    pub const ALL: [Format; 8] = [
        Format::ConfluentAudit,
        Format::Json,
        Format::Text,
        Format::AuthorizerLog,
        Format::ServerLog,
        Format::ControllerLog,
        Format::RequestLog,
        Format::Ocsf,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::ConfluentAudit => "confluent_audit",
            Format::Json => "json",
            Format::Text => "text",
            Format::AuthorizerLog => "authorizer_log",
            Format::ServerLog => "server_log",
            Format::ControllerLog => "controller_log",
            Format::RequestLog => "request_log",
            Format::Ocsf => "ocsf",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.into_iter().find(|f| f.as_str() == name)
    }
}

/// What kind of security event this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    Authentication,
    Authorization,
    AclChange,
    CredentialChange,
    ConfigChange,
    ResourceChange,
    Connection,
    Other,
}

impl Category {
    pub const ALL: [Category; 8] = [
        Category::Authentication,
        Category::Authorization,
        Category::AclChange,
        Category::CredentialChange,
        Category::ConfigChange,
        Category::ResourceChange,
        Category::Connection,
        Category::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Category::Authentication => "authentication",
            Category::Authorization => "authorization",
            Category::AclChange => "acl_change",
            Category::CredentialChange => "credential_change",
            Category::ConfigChange => "config_change",
            Category::ResourceChange => "resource_change",
            Category::Connection => "connection",
            Category::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

/// How it ended. Authorization uses `allowed`/`denied`; everything else `success`/`failure`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failure,
    Allowed,
    Denied,
    Unknown,
}

impl Outcome {
    pub const ALL: [Outcome; 5] = [
        Outcome::Success,
        Outcome::Failure,
        Outcome::Allowed,
        Outcome::Denied,
        Outcome::Unknown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::Unknown => "unknown",
        }
    }

    pub fn from_name(name: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == name)
    }

    /// True for the outcomes a security team alerts on.
    pub fn is_negative(self) -> bool {
        matches!(self, Outcome::Failure | Outcome::Denied)
    }

    /// The same verdict in the vocabulary of `category`: authorization speaks of
    /// allowed/denied, everything else of success/failure.
    pub fn for_category(self, category: Category) -> Outcome {
        match (category, self) {
            (Category::Authorization, Outcome::Success) => Outcome::Allowed,
            (Category::Authorization, Outcome::Failure) => Outcome::Denied,
            (Category::Authorization, o) => o,
            (_, Outcome::Allowed) => Outcome::Success,
            (_, Outcome::Denied) => Outcome::Failure,
            (_, o) => o,
        }
    }
}

/// Why an authentication or authorization failed. A closed set so it can be a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    /// Wrong password, unknown user (Kafka does not tell them apart on purpose).
    InvalidCredentials,
    /// The client asked for a SASL mechanism the listener does not enable.
    UnsupportedMechanism,
    /// TLS handshake failed (bad or missing client certificate, protocol mismatch).
    SslHandshake,
    /// OAUTHBEARER token rejected.
    InvalidToken,
    /// Re-authentication tried to switch principal.
    PrincipalChange,
    /// Oversized SASL frame (often TLS or HTTP sent to a SASL port).
    InvalidReceiveSize,
    /// Denied by an explicit DENY rule.
    DenyAcl,
    /// Denied because no ACL allowed it.
    NoMatchingAcl,
    /// Known to be a failure, cause not in this list.
    Other,
}

impl Reason {
    pub const ALL: [Reason; 9] = [
        Reason::InvalidCredentials,
        Reason::UnsupportedMechanism,
        Reason::SslHandshake,
        Reason::InvalidToken,
        Reason::PrincipalChange,
        Reason::InvalidReceiveSize,
        Reason::DenyAcl,
        Reason::NoMatchingAcl,
        Reason::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::InvalidCredentials => "invalid_credentials",
            Reason::UnsupportedMechanism => "unsupported_mechanism",
            Reason::SslHandshake => "ssl_handshake",
            Reason::InvalidToken => "invalid_token",
            Reason::PrincipalChange => "principal_change",
            Reason::InvalidReceiveSize => "invalid_receive_size",
            Reason::DenyAcl => "deny_acl",
            Reason::NoMatchingAcl => "no_matching_acl",
            Reason::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == name)
    }
}

/// What a change did to an ACL or a credential. A closed set so it can be a label (`action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeAction {
    Create,
    Update,
    Delete,
    Expire,
}

impl ChangeAction {
    pub const ALL: [ChangeAction; 4] = [
        ChangeAction::Create,
        ChangeAction::Update,
        ChangeAction::Delete,
        ChangeAction::Expire,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeAction::Create => "create",
            ChangeAction::Update => "update",
            ChangeAction::Delete => "delete",
            ChangeAction::Expire => "expire",
        }
    }

    /// Reads the action from the words of a free-form name: an application's event type
    /// (`acl_created`, `scram_credential_updated`) or an API name (`CreateAcls`,
    /// `ExpireDelegationToken`). For inputs that carry nothing more exact.
    pub fn from_words(words: &str) -> Option<ChangeAction> {
        let s = words.to_ascii_lowercase();
        if s.contains("delete") || s.contains("remove") {
            Some(ChangeAction::Delete)
        } else if s.contains("expire") {
            Some(ChangeAction::Expire)
        } else if s.contains("create") || s.contains("add") {
            Some(ChangeAction::Create)
        } else if s.contains("update")
            || s.contains("modif")
            || s.contains("alter")
            || s.contains("set")
        {
            Some(ChangeAction::Update)
        } else {
            None
        }
    }
}

/// An ACL's permission type (Kafka's `AclPermissionType`). A closed set so it can be a label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    Allow,
    Deny,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::Allow => "allow",
            Permission::Deny => "deny",
        }
    }

    /// Reads `ALLOW`/`DENY` in any of the cases Kafka and its tools write (`ALLOW`, `Allow`).
    pub fn from_name(name: &str) -> Option<Permission> {
        match name {
            "ALLOW" | "Allow" | "allow" => Some(Permission::Allow),
            "DENY" | "Deny" | "deny" => Some(Permission::Deny),
            _ => None,
        }
    }
}

/// Why the broker refused a connection. A closed set so it can be a label (`reason` of
/// `kafka_security_connections_rejected_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rejection {
    /// `max.connections.per.ip` reached: the only connection limit Kafka logs (the listener and
    /// broker limits block the acceptor silently; `SocketServer.scala`, `ConnectionQuotas`).
    PerIpLimit,
    /// Refused, by a limit the input does not name.
    Other,
}

impl Rejection {
    pub const ALL: [Rejection; 2] = [Rejection::PerIpLimit, Rejection::Other];

    pub fn as_str(self) -> &'static str {
        match self {
            Rejection::PerIpLimit => "per_ip_limit",
            Rejection::Other => "other",
        }
    }
}

/// One normalized security event.
///
/// Optional fields are `None` when the input does not say; the metrics layer renders those as an
/// empty label value (or `unknown` where the README says so), never as a guess.
#[derive(Debug, Clone, PartialEq)]
pub struct SecurityEvent<'a> {
    /// When it happened, according to the event itself (or the Kafka record timestamp).
    pub event_time: Option<SystemTime>,
    /// When the exporter read it.
    pub observed_time: SystemTime,
    /// Where it was read from.
    pub origin: Origin<'a>,
    pub format: Format,
    pub category: Category,
    pub outcome: Outcome,
    /// The original event type string (CloudEvent `type`, record key, JSON `type` field...).
    pub event_type: Text<'a>,
    /// `User:alice`, `alice`, an SSL DN... as the input wrote it.
    pub principal: Option<Text<'a>>,
    /// Client IP or host name, without Kafka's leading `/`.
    pub client_host: Option<Text<'a>>,
    /// The client's TCP port, when the input names it beside the host (the remote address of
    /// Kafka's connection id, Redpanda's `src_endpoint.port`). Never a metric label: every
    /// connection has its own. Not personal data by itself, so privacy leaves it as it is.
    pub client_port: Option<u16>,
    pub listener: Option<Text<'a>>,
    /// SASL mechanism (`SCRAM-SHA-256`, `PLAIN`...) or `SSL`.
    pub mechanism: Option<Text<'a>>,
    /// Kafka ACL operation, normalized to the `AclOperation` enum name (`READ`, `DESCRIBE_CONFIGS`).
    pub operation: Option<Text<'a>>,
    /// Kafka resource type in PascalCase (`Topic`, `Group`, `Cluster`, `TransactionalId`...).
    pub resource_type: Option<Text<'a>>,
    pub resource_name: Option<Text<'a>>,
    /// `LITERAL`, `PREFIXED`...
    pub pattern_type: Option<Text<'a>>,
    /// An ACL's permission type, for ACL changes.
    pub permission: Option<Permission>,
    /// The configuration key a config change touched (`retention.ms`).
    pub config_key: Option<Text<'a>>,
    /// Kafka API in `ApiKeys` PascalCase (`Produce`, `CreateAcls`), or an application's method name.
    pub api: Option<Text<'a>>,
    pub client_id: Option<Text<'a>>,
    pub reason: Option<Reason>,
    /// What an ACL or credential change did; set by the parser.
    pub action: Option<ChangeAction>,
    /// For a refused connection, the limit that refused it; set by the parser.
    pub rejection: Option<Rejection>,
    /// Kafka cluster id, when the event names it.
    pub cluster_id: Option<Text<'a>>,
    /// Broker node id, when the event names it.
    pub broker_id: Option<Text<'a>>,
}

impl<'a> SecurityEvent<'a> {
    /// An event with every optional field empty.
    pub fn new(
        format: Format,
        category: Category,
        outcome: Outcome,
        event_type: impl Into<Text<'a>>,
        origin: Origin<'a>,
        observed_time: SystemTime,
    ) -> Self {
        SecurityEvent {
            event_time: None,
            observed_time,
            origin,
            format,
            category,
            outcome,
            event_type: event_type.into(),
            principal: None,
            client_host: None,
            client_port: None,
            listener: None,
            mechanism: None,
            operation: None,
            resource_type: None,
            resource_name: None,
            pattern_type: None,
            permission: None,
            config_key: None,
            api: None,
            client_id: None,
            reason: None,
            action: None,
            rejection: None,
            cluster_id: None,
            broker_id: None,
        }
    }

    /// For inputs that only carry words (JSON and text event types, Confluent audit API names):
    /// sets `action` of an ACL or credential change from its event type, else its API name, and
    /// marks a connection event whose type says `rejected` as refused by an unnamed limit.
    /// Parsers of Kafka's own logs set both exactly instead.
    pub fn with_actions_from_words(mut self) -> Self {
        match self.category {
            Category::AclChange | Category::CredentialChange if self.action.is_none() => {
                self.action = ChangeAction::from_words(&self.event_type)
                    .or_else(|| self.api.as_deref().and_then(ChangeAction::from_words));
            }
            Category::Connection
                if self.rejection.is_none() && self.event_type.contains("rejected") =>
            {
                self.rejection = Some(Rejection::Other);
            }
            _ => {}
        }
        self
    }

    /// The event borrowing every field from `self`: a copy without allocations.
    pub fn borrowed(&self) -> SecurityEvent<'_> {
        fn lend<'b>(t: &'b Option<Text<'_>>) -> Option<Text<'b>> {
            t.as_deref().map(Cow::Borrowed)
        }
        SecurityEvent {
            event_time: self.event_time,
            observed_time: self.observed_time,
            origin: match &self.origin {
                Origin::Kafka {
                    topic,
                    partition,
                    offset,
                } => Origin::Kafka {
                    topic: Cow::Borrowed(topic),
                    partition: *partition,
                    offset: *offset,
                },
                Origin::File { path, offset } => Origin::File {
                    path: Cow::Borrowed(path),
                    offset: *offset,
                },
                Origin::Memory => Origin::Memory,
            },
            format: self.format,
            category: self.category,
            outcome: self.outcome,
            event_type: Cow::Borrowed(&self.event_type),
            principal: lend(&self.principal),
            client_host: lend(&self.client_host),
            client_port: self.client_port,
            listener: lend(&self.listener),
            mechanism: lend(&self.mechanism),
            operation: lend(&self.operation),
            resource_type: lend(&self.resource_type),
            resource_name: lend(&self.resource_name),
            pattern_type: lend(&self.pattern_type),
            permission: self.permission,
            config_key: lend(&self.config_key),
            api: lend(&self.api),
            client_id: lend(&self.client_id),
            reason: self.reason,
            action: self.action,
            rejection: self.rejection,
            cluster_id: lend(&self.cluster_id),
            broker_id: lend(&self.broker_id),
        }
    }

    /// Copies every borrowed field so the event can outlive its input.
    pub fn into_owned(self) -> SecurityEvent<'static> {
        fn own(t: Option<Text<'_>>) -> Option<Text<'static>> {
            t.map(|t| Cow::Owned(t.into_owned()))
        }
        SecurityEvent {
            event_time: self.event_time,
            observed_time: self.observed_time,
            origin: match self.origin {
                Origin::Kafka {
                    topic,
                    partition,
                    offset,
                } => Origin::Kafka {
                    topic: Cow::Owned(topic.into_owned()),
                    partition,
                    offset,
                },
                Origin::File { path, offset } => Origin::File {
                    path: Cow::Owned(path.into_owned()),
                    offset,
                },
                Origin::Memory => Origin::Memory,
            },
            format: self.format,
            category: self.category,
            outcome: self.outcome,
            event_type: Cow::Owned(self.event_type.into_owned()),
            principal: own(self.principal),
            client_host: own(self.client_host),
            client_port: self.client_port,
            listener: own(self.listener),
            mechanism: own(self.mechanism),
            operation: own(self.operation),
            resource_type: own(self.resource_type),
            resource_name: own(self.resource_name),
            pattern_type: own(self.pattern_type),
            permission: self.permission,
            config_key: own(self.config_key),
            api: own(self.api),
            client_id: own(self.client_id),
            reason: self.reason,
            action: self.action,
            rejection: self.rejection,
            cluster_id: own(self.cluster_id),
            broker_id: own(self.broker_id),
        }
    }
}

impl SecurityEvent<'_> {
    /// Every field the event states, by stable key name (the struct's field names), in
    /// declaration order: `format`, `category`, `outcome`, `event_type`, `event_time` (RFC 3339
    /// with nanoseconds, UTC), then the optional text fields that are set, unnormalized (with
    /// `client_port` in decimal after `client_host`), then the
    /// closed-set ones (`permission`, `reason`, `action`, `rejection`) by their label values. Where and
    /// when the event was read (`origin`, `observed_time`) are not part of it. The one
    /// event→fields map, for tests and tools that compare events.
    pub fn fields(&self) -> Vec<(&'static str, String)> {
        let mut out = vec![
            ("format", self.format.as_str().to_string()),
            ("category", self.category.as_str().to_string()),
            ("outcome", self.outcome.as_str().to_string()),
            ("event_type", self.event_type.to_string()),
        ];
        if let Some(t) = self.event_time {
            out.push(("event_time", humantime::format_rfc3339_nanos(t).to_string()));
        }
        for (key, value) in [
            ("principal", &self.principal),
            ("client_host", &self.client_host),
        ] {
            if let Some(v) = value {
                out.push((key, v.to_string()));
            }
        }
        if let Some(port) = self.client_port {
            out.push(("client_port", port.to_string()));
        }
        let optional = [
            ("listener", &self.listener),
            ("mechanism", &self.mechanism),
            ("operation", &self.operation),
            ("resource_type", &self.resource_type),
            ("resource_name", &self.resource_name),
            ("pattern_type", &self.pattern_type),
            ("config_key", &self.config_key),
            ("api", &self.api),
            ("client_id", &self.client_id),
        ];
        out.extend(
            optional
                .into_iter()
                .filter_map(|(key, value)| Some((key, value.as_deref()?.to_string()))),
        );
        let closed = [
            ("permission", self.permission.map(Permission::as_str)),
            ("reason", self.reason.map(Reason::as_str)),
            ("action", self.action.map(ChangeAction::as_str)),
            ("rejection", self.rejection.map(Rejection::as_str)),
        ];
        out.extend(
            closed
                .into_iter()
                .filter_map(|(key, value)| Some((key, value?.to_string()))),
        );
        for (key, value) in [
            ("cluster_id", &self.cluster_id),
            ("broker_id", &self.broker_id),
        ] {
            if let Some(v) = value {
                out.push((key, v.to_string()));
            }
        }
        out
    }
}

/// Kafka's `AclOperation` names: (PascalCase as AclAuthorizer, Confluent and the CLI write them,
/// UPPER_SNAKE as StandardAuthorizer writes them).
pub const ACL_OPERATIONS: [(&str, &str); 16] = [
    ("Read", "READ"),
    ("Write", "WRITE"),
    ("Create", "CREATE"),
    ("Delete", "DELETE"),
    ("Alter", "ALTER"),
    ("Describe", "DESCRIBE"),
    ("ClusterAction", "CLUSTER_ACTION"),
    ("DescribeConfigs", "DESCRIBE_CONFIGS"),
    ("AlterConfigs", "ALTER_CONFIGS"),
    ("IdempotentWrite", "IDEMPOTENT_WRITE"),
    ("CreateTokens", "CREATE_TOKENS"),
    ("DescribeTokens", "DESCRIBE_TOKENS"),
    ("TwoPhaseCommit", "TWO_PHASE_COMMIT"),
    ("All", "ALL"),
    ("Any", "ANY"),
    ("Unknown", "UNKNOWN"),
];

/// True for a Kafka ACL operation name in either spelling of [`ACL_OPERATIONS`].
pub fn is_acl_operation(op: &str) -> bool {
    acl_operation(op).is_some()
}

/// The `AclOperation` enum name (`DESCRIBE_CONFIGS`) of an operation in either spelling of
/// [`ACL_OPERATIONS`]; `None` for anything else. A `match`, not a scan of the table: the
/// authorizer-line parser asks this for every line.
pub fn acl_operation(op: &str) -> Option<&'static str> {
    Some(match op {
        "READ" | "Read" => "READ",
        "WRITE" | "Write" => "WRITE",
        "CREATE" | "Create" => "CREATE",
        "DELETE" | "Delete" => "DELETE",
        "ALTER" | "Alter" => "ALTER",
        "DESCRIBE" | "Describe" => "DESCRIBE",
        "CLUSTER_ACTION" | "ClusterAction" => "CLUSTER_ACTION",
        "DESCRIBE_CONFIGS" | "DescribeConfigs" => "DESCRIBE_CONFIGS",
        "ALTER_CONFIGS" | "AlterConfigs" => "ALTER_CONFIGS",
        "IDEMPOTENT_WRITE" | "IdempotentWrite" => "IDEMPOTENT_WRITE",
        "CREATE_TOKENS" | "CreateTokens" => "CREATE_TOKENS",
        "DESCRIBE_TOKENS" | "DescribeTokens" => "DESCRIBE_TOKENS",
        "TWO_PHASE_COMMIT" | "TwoPhaseCommit" => "TWO_PHASE_COMMIT",
        "ALL" | "All" => "ALL",
        "ANY" | "Any" => "ANY",
        "UNKNOWN" | "Unknown" => "UNKNOWN",
        _ => return None,
    })
}

/// Kafka resource types as `SecurityUtils.resourceTypeName` prints them.
pub const RESOURCE_TYPES: [&str; 6] = [
    "Topic",
    "Group",
    "Cluster",
    "TransactionalId",
    "DelegationToken",
    "User",
];

/// Normalizes a Kafka ACL operation name to the `AclOperation` enum name:
/// `Read` / `read` / `READ` → `READ`, `DescribeConfigs` → `DESCRIBE_CONFIGS`.
/// Names already in UPPER_SNAKE are borrowed unchanged.
pub fn normalize_operation(op: &str) -> Text<'_> {
    // Kafka's own vocabulary, in every spelling the inputs use, without allocating.
    if let Some((_, upper)) = ACL_OPERATIONS.iter().find(|(pascal, _)| *pascal == op) {
        return Cow::Borrowed(upper);
    }
    if op
        .bytes()
        .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
    {
        return Cow::Borrowed(op);
    }
    let mut out = String::with_capacity(op.len() + 4);
    let mut prev_lower = false;
    for c in op.chars() {
        if c == '-' || c == ' ' || c == '_' {
            out.push('_');
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        out.push(c.to_ascii_uppercase());
    }
    Cow::Owned(out)
}

/// Normalizes a Kafka resource type to the PascalCase name Kafka logs use:
/// `TOPIC`/`topic` → `Topic`, `TRANSACTIONAL_ID` → `TransactionalId`. Unknown names pass unchanged.
pub fn normalize_resource_type(rt: &str) -> Text<'_> {
    const KNOWN: [&str; 8] = [
        RESOURCE_TYPES[0],
        RESOURCE_TYPES[1],
        RESOURCE_TYPES[2],
        RESOURCE_TYPES[3],
        RESOURCE_TYPES[4],
        RESOURCE_TYPES[5],
        "Any",
        "Unknown",
    ];
    if KNOWN.contains(&rt) {
        return Cow::Borrowed(rt);
    }
    let squashed: String = rt
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    for k in KNOWN {
        if k.to_ascii_lowercase() == squashed {
            return Cow::Borrowed(k);
        }
    }
    Cow::Borrowed(rt)
}

/// Normalizes a Kafka API name to the `ApiKeys` PascalCase name the authorizer log uses:
/// `kafka.Produce` (Confluent) → `Produce`, `CREATE_ACLS` (request log) → `CreateAcls`.
pub fn normalize_api(api: &str) -> Text<'_> {
    let api = api.strip_prefix("kafka.").unwrap_or(api);
    if api.contains('_')
        && api
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
    {
        let mut out = String::with_capacity(api.len());
        for word in api.split('_') {
            let mut chars = word.chars();
            if let Some(first) = chars.next() {
                out.push(first);
                out.extend(chars.map(|c| c.to_ascii_lowercase()));
            }
        }
        return Cow::Owned(out);
    }
    if api.bytes().all(|b| b.is_ascii_uppercase()) && !api.is_empty() {
        // Single-word UPPER names from the request log: PRODUCE -> Produce.
        let mut out = String::with_capacity(api.len());
        let mut chars = api.chars();
        if let Some(first) = chars.next() {
            out.push(first);
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
        return Cow::Owned(out);
    }
    Cow::Borrowed(api)
}

/// A TCP port written in decimal digits only (no sign, no space), 1 to 65535.
pub fn parse_port(p: &str) -> Option<u16> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse().ok().filter(|&n| n != 0)
}

/// Splits a client address written `host:port` into the host and the port: `10.0.0.5:54321`,
/// `[2001:db8::1]:54321` and `name.example:54321`. An address with more than one `:` and no
/// brackets is an IPv6 address as Java prints it (`0:0:0:0:0:0:0:1`) and has no port; so has
/// an address whose text after its last `:` is not a port number (0 is not one either).
pub fn split_host_port(addr: &str) -> (&str, Option<u16>) {
    let port = parse_port;
    if let Some(rest) = addr.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            if let Some(p) = after.strip_prefix(':').and_then(port) {
                return (host, Some(p));
            }
            if after.is_empty() {
                return (host, None);
            }
        }
        return (addr, None);
    }
    match addr.split_once(':') {
        Some((host, p)) if !host.is_empty() && !p.contains(':') => match port(p) {
            Some(p) => (host, Some(p)),
            None => (addr, None),
        },
        _ => (addr, None),
    }
}

/// Strips Kafka's leading `/` from a socket address (`/127.0.0.1` → `127.0.0.1`) and a host name
/// before it (`host/10.0.0.1` → `10.0.0.1`).
pub fn normalize_client_host(host: &str) -> &str {
    match host.rfind('/') {
        Some(i) => &host[i + 1..],
        None => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_name_every_stated_field_at_full_precision() {
        let at = std::time::UNIX_EPOCH + std::time::Duration::new(1_704_067_200, 123_456_789);
        let mut ev = SecurityEvent::new(
            Format::ControllerLog,
            Category::AclChange,
            Outcome::Success,
            "acl_created",
            Origin::Memory,
            at,
        );
        ev.event_time = Some(at);
        ev.permission = Some(Permission::Deny);
        ev.reason = Some(Reason::DenyAcl);
        ev.broker_id = Some("1".into());
        let fields = ev.fields();
        let keys: Vec<_> = fields.iter().map(|(k, _)| *k).collect();
        assert_eq!(
            keys,
            [
                "format",
                "category",
                "outcome",
                "event_type",
                "event_time",
                "permission",
                "reason",
                "broker_id"
            ]
        );
        assert_eq!(fields[0].1, "controller_log");
        assert_eq!(fields[4].1, "2024-01-01T00:00:00.123456789Z");
        assert_eq!(fields[5].1, "deny");
        assert_eq!(fields[6].1, "deny_acl");
    }

    #[test]
    fn operations_normalize_to_enum_names() {
        assert_eq!(normalize_operation("READ"), "READ");
        assert_eq!(normalize_operation("Read"), "READ");
        assert_eq!(normalize_operation("DescribeConfigs"), "DESCRIBE_CONFIGS");
        assert_eq!(normalize_operation("IdempotentWrite"), "IDEMPOTENT_WRITE");
        assert_eq!(normalize_operation("CLUSTER_ACTION"), "CLUSTER_ACTION");
        assert_eq!(normalize_operation("describe-configs"), "DESCRIBE_CONFIGS");
        assert!(matches!(normalize_operation("WRITE"), Cow::Borrowed(_)));
        assert!(matches!(
            normalize_operation("Describe"),
            Cow::Borrowed("DESCRIBE")
        ));
    }

    #[test]
    fn resource_types_normalize_to_pascal_case() {
        assert_eq!(normalize_resource_type("TOPIC"), "Topic");
        assert_eq!(normalize_resource_type("Topic"), "Topic");
        assert_eq!(
            normalize_resource_type("TRANSACTIONAL_ID"),
            "TransactionalId"
        );
        assert_eq!(
            normalize_resource_type("delegation_token"),
            "DelegationToken"
        );
        assert_eq!(normalize_resource_type("Schema"), "Schema");
    }

    #[test]
    fn apis_normalize_to_apikeys_names() {
        assert_eq!(normalize_api("kafka.Produce"), "Produce");
        assert_eq!(normalize_api("CREATE_ACLS"), "CreateAcls");
        assert_eq!(normalize_api("PRODUCE"), "Produce");
        assert_eq!(normalize_api("Fetch"), "Fetch");
        assert_eq!(normalize_api("mds.Authorize"), "mds.Authorize");
    }

    #[test]
    fn client_hosts_lose_the_leading_slash() {
        assert_eq!(normalize_client_host("/127.0.0.1"), "127.0.0.1");
        assert_eq!(normalize_client_host("host.example/10.0.0.1"), "10.0.0.1");
        assert_eq!(normalize_client_host("0:0:0:0:0:0:0:1"), "0:0:0:0:0:0:0:1");
    }

    #[test]
    fn host_and_port_are_split_only_when_unambiguous() {
        assert_eq!(split_host_port("10.0.0.5:54321"), ("10.0.0.5", Some(54321)));
        assert_eq!(split_host_port("10.0.0.5"), ("10.0.0.5", None));
        assert_eq!(
            split_host_port("[2001:db8::1]:54321"),
            ("2001:db8::1", Some(54321))
        );
        assert_eq!(split_host_port("[2001:db8::1]"), ("2001:db8::1", None));
        assert_eq!(
            split_host_port("host.example:9092"),
            ("host.example", Some(9092))
        );
        // Java's IPv6 text has no brackets, so its last group is no port.
        assert_eq!(
            split_host_port("0:0:0:0:0:0:0:1"),
            ("0:0:0:0:0:0:0:1", None)
        );
        for no_port in [
            "10.0.0.5:",
            "10.0.0.5:x",
            "10.0.0.5:70000",
            "10.0.0.5:0",
            ":80",
        ] {
            assert_eq!(split_host_port(no_port), (no_port, None), "{no_port}");
        }
    }

    #[test]
    fn the_client_port_follows_the_client_host_in_the_fields() {
        let mut ev = SecurityEvent::new(
            Format::ServerLog,
            Category::Authentication,
            Outcome::Failure,
            "failed_authentication",
            Origin::Memory,
            std::time::UNIX_EPOCH,
        );
        ev.client_host = Some("127.0.0.1".into());
        ev.client_port = Some(54321);
        ev.listener = Some("BROKER".into());
        let keys: Vec<_> = ev.fields().into_iter().skip(4).collect();
        assert_eq!(
            keys,
            [
                ("client_host", "127.0.0.1".to_string()),
                ("client_port", "54321".to_string()),
                ("listener", "BROKER".to_string()),
            ]
        );
        assert_eq!(ev.borrowed().client_port, Some(54321));
        assert_eq!(ev.into_owned().client_port, Some(54321));
    }

    #[test]
    fn outcomes_follow_the_category_vocabulary() {
        assert_eq!(
            Outcome::Failure.for_category(Category::Authorization),
            Outcome::Denied
        );
        assert_eq!(
            Outcome::Denied.for_category(Category::Authentication),
            Outcome::Failure
        );
        assert_eq!(
            Outcome::Success.for_category(Category::Other),
            Outcome::Success
        );
    }
}
