//! The vocabulary the text, JSON and audit parsers share: the event fields a pattern or a JSON
//! path can fill ([`Field`]), and the words that name an outcome, a category or a failure reason.

use std::borrow::Cow;

use crate::event::{
    normalize_client_host, normalize_operation, normalize_resource_type, Category, Outcome, Reason,
    SecurityEvent, Text,
};

/// An event field a text capture or a JSON path can fill with a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    EventType,
    EventTime,
    Category,
    Outcome,
    Principal,
    ClientHost,
    Listener,
    Mechanism,
    Operation,
    ResourceType,
    ResourceName,
    PatternType,
    Api,
    ClientId,
    Reason,
    ClusterId,
    BrokerId,
}

impl Field {
    pub(crate) const ALL: [Field; 17] = [
        Field::EventType,
        Field::EventTime,
        Field::Category,
        Field::Outcome,
        Field::Principal,
        Field::ClientHost,
        Field::Listener,
        Field::Mechanism,
        Field::Operation,
        Field::ResourceType,
        Field::ResourceName,
        Field::PatternType,
        Field::Api,
        Field::ClientId,
        Field::Reason,
        Field::ClusterId,
        Field::BrokerId,
    ];

    /// The fields a text pattern may capture: all but the first three (type, time and category
    /// come from the pattern).
    pub(crate) const CAPTURES: &'static [Field] = Field::ALL.as_slice().split_at(3).1;

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Field::EventType => "event_type",
            Field::EventTime => "event_time",
            Field::Category => "category",
            Field::Outcome => "outcome",
            Field::Principal => "principal",
            Field::ClientHost => "client_host",
            Field::Listener => "listener",
            Field::Mechanism => "mechanism",
            Field::Operation => "operation",
            Field::ResourceType => "resource_type",
            Field::ResourceName => "resource_name",
            Field::PatternType => "pattern_type",
            Field::Api => "api",
            Field::ClientId => "client_id",
            Field::Reason => "reason",
            Field::ClusterId => "cluster_id",
            Field::BrokerId => "broker_id",
        }
    }

    pub(crate) fn from_capture_name(name: &str) -> Option<Field> {
        Field::CAPTURES.iter().copied().find(|f| f.as_str() == name)
    }

    /// Stores a string value in the event, normalized like the other parsers do (operation to
    /// the ACL enum name, resource type to PascalCase, client host without Kafka's `/`; reason and
    /// outcome through the word tables). Event type, time and category are the caller's job
    /// and are ignored here.
    pub(crate) fn set<'a>(self, ev: &mut SecurityEvent<'a>, value: Text<'a>) {
        let value = match value {
            Cow::Borrowed(s) => Cow::Borrowed(s.trim()),
            Cow::Owned(s) if s.trim().len() != s.len() => Cow::Owned(s.trim().to_owned()),
            owned => owned,
        };
        if value.is_empty() {
            return;
        }
        let slot = match self {
            Field::Outcome => {
                if let Some(o) = outcome_from_word(&value) {
                    ev.outcome = o.for_category(ev.category);
                }
                return;
            }
            Field::Reason => {
                ev.reason = Some(reason_from_message(&value));
                return;
            }
            Field::EventType | Field::EventTime | Field::Category => return,
            Field::Principal => &mut ev.principal,
            Field::ClientHost => &mut ev.client_host,
            Field::Listener => &mut ev.listener,
            Field::Mechanism => &mut ev.mechanism,
            Field::Operation => &mut ev.operation,
            Field::ResourceType => &mut ev.resource_type,
            Field::ResourceName => &mut ev.resource_name,
            Field::PatternType => &mut ev.pattern_type,
            Field::Api => &mut ev.api,
            Field::ClientId => &mut ev.client_id,
            Field::ClusterId => &mut ev.cluster_id,
            Field::BrokerId => &mut ev.broker_id,
        };
        *slot = Some(match self {
            Field::Operation => normalize(value, normalize_operation),
            Field::ResourceType => normalize(value, normalize_resource_type),
            Field::ClientHost => normalize(value, |s| Cow::Borrowed(normalize_client_host(s))),
            _ => value,
        });
    }
}

/// Applies a `&str -> Cow<str>` normalizer, keeping a borrow when the value was borrowed.
pub(crate) fn normalize<'a>(value: Text<'a>, f: impl for<'s> Fn(&'s str) -> Text<'s>) -> Text<'a> {
    match value {
        Cow::Borrowed(s) => f(s),
        Cow::Owned(s) => Cow::Owned(f(&s).into_owned()),
    }
}

/// Reads an outcome word: `success`/`ok`/`true`/`allowed`/`granted`... and
/// `failure`/`error`/`false`/`denied`/`rejected`/`forbidden`...; `None` for anything else.
/// Allowed-style words give [`Outcome::Allowed`], denied-style [`Outcome::Denied`]; callers
/// pass the result through [`Outcome::for_category`].
pub fn outcome_from_word(word: &str) -> Option<Outcome> {
    let w = word.trim().to_ascii_lowercase();
    Some(match w.as_str() {
        "success" | "successful" | "succeeded" | "succeed" | "ok" | "true" | "pass" | "passed"
        | "yes" | "1" => Outcome::Success,
        "allowed" | "allow" | "granted" | "grant" | "permit" | "permitted" | "authorized" => {
            Outcome::Allowed
        }
        "failure" | "failed" | "fail" | "error" | "false" | "no" | "0" | "invalid"
        | "unauthenticated" => Outcome::Failure,
        "denied" | "deny" | "rejected" | "reject" | "unauthorized" | "forbidden" | "blocked" => {
            Outcome::Denied
        }
        "unknown" => Outcome::Unknown,
        _ => return None,
    })
}

/// Guesses a category from an event type, key or action (`user-login`, `ACL_CHECK`,
/// `password.reset`): the text is lowercased and stripped of everything but letters and digits,
/// then searched for words in this order:
/// access/authoriz/authz/permission/aclcheck → authorization;
/// login/logon/signin/auth → authentication (a logout is `other`);
/// password/credential/scram → credential_change; acl → acl_change; config → config_change;
/// create or delete with topic → resource_change; connect → connection. `None` otherwise.
pub fn category_from_words(text: &str) -> Option<Category> {
    let squashed: String = text
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let has = |words: &[&str]| words.iter().any(|w| squashed.contains(w));
    Some(
        if has(&[
            "access",
            "authoriz",
            "authoris",
            "authz",
            "permission",
            "aclcheck",
        ]) {
            Category::Authorization
        } else if has(&["login", "logon", "signin", "auth"]) {
            Category::Authentication
        } else if has(&["password", "credential", "scram"]) {
            Category::CredentialChange
        } else if has(&["acl"]) {
            Category::AclChange
        } else if has(&["config"]) {
            Category::ConfigChange
        } else if has(&["topic"]) && has(&["create", "delete"]) {
            Category::ResourceChange
        } else if has(&["connect"]) {
            Category::Connection
        } else {
            return None;
        },
    )
}

/// Maps a failure message to the closed set of reasons: a reason's own name (`invalid_token`)
/// as it is, else by the words it holds (SASL mechanism, handshake, token, principal change,
/// receive size, deny rule, missing ACL, credentials); [`Reason::Other`] when none match.
pub fn reason_from_message(message: &str) -> Reason {
    if let Some(reason) = Reason::from_name(message) {
        return reason;
    }
    let lower = message.to_ascii_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| lower.contains(w));
    if has(&[
        "unsupported sasl mechanism",
        "unsupported mechanism",
        "unsupported_sasl",
    ]) {
        Reason::UnsupportedMechanism
    } else if has(&[
        "ssl handshake",
        "tls handshake",
        "handshake fail",
        "certificate",
    ]) {
        Reason::SslHandshake
    } else if has(&["token", "jwt"]) {
        Reason::InvalidToken
    } else if has(&["principal change", "change principal", "changing principal"]) {
        Reason::PrincipalChange
    } else if has(&["receive size", "invalid receive"]) {
        Reason::InvalidReceiveSize
    } else if has(&["deny acl", "deny rule", "denied by acl", "denied by rule"]) {
        Reason::DenyAcl
    } else if has(&[
        "no matching acl",
        "no acl",
        "not authorized",
        "unauthorized",
    ]) {
        Reason::NoMatchingAcl
    } else if has(&[
        "credential",
        "password",
        "unknown user",
        "user not found",
        "no such user",
        "invalid user",
        "api key",
        "apikey",
    ]) {
        Reason::InvalidCredentials
    } else {
        Reason::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words() {
        assert_eq!(
            category_from_words("user-login"),
            Some(Category::Authentication)
        );
        assert_eq!(
            category_from_words("ACL_CHECK"),
            Some(Category::Authorization)
        );
        assert_eq!(
            category_from_words("acl.created"),
            Some(Category::AclChange)
        );
        assert_eq!(
            category_from_words("password.reset"),
            Some(Category::CredentialChange)
        );
        assert_eq!(
            category_from_words("topic-created"),
            Some(Category::ResourceChange)
        );
        assert_eq!(
            category_from_words("config_update"),
            Some(Category::ConfigChange)
        );
        assert_eq!(
            category_from_words("client-connected"),
            Some(Category::Connection)
        );
        assert_eq!(category_from_words("heartbeat"), None);
        assert_eq!(outcome_from_word(" Succeeded "), Some(Outcome::Success));
        assert_eq!(outcome_from_word("FORBIDDEN"), Some(Outcome::Denied));
        assert_eq!(outcome_from_word("maybe"), None);
        assert_eq!(reason_from_message("invalid_token"), Reason::InvalidToken);
        assert_eq!(
            reason_from_message("Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"),
            Reason::InvalidCredentials
        );
        assert_eq!(
            reason_from_message("Unsupported SASL mechanism GSSAPI"),
            Reason::UnsupportedMechanism
        );
        assert_eq!(
            reason_from_message("SSL handshake failed"),
            Reason::SslHandshake
        );
        assert_eq!(reason_from_message("disk full"), Reason::Other);
    }
}
