//! Plain-text security events whose record key is the event type.
//!
//! The classic producer example sends key `user-login`, value `User JohnDoe logged in
//! successfully`; with no configuration that becomes an `authentication` / `success` event for
//! principal `JohnDoe` with event type `user-login`.
//!
//! # Matching order
//!
//! 1. User patterns from `parsers.text.patterns`, in order (a pattern with a `key` regex only
//!    applies when the record key matches it).
//! 2. The built-in phrasings ([`PHRASINGS`]), matched case-insensitively anywhere in the value
//!    up to its end (a client address and trailing punctuation may follow). The phrasing that
//!    starts first wins: its fixed words are the application's, and a phrasing that starts later
//!    lies inside a user-chosen name. A name is everything between the fixed words (quotes
//!    removed); one written before the verb that ends in a negation (`User bob was not denied
//!    access`) refuses the reading.
//! 3. With a record key but no matching phrasing, the record is still an event: category from
//!    the key's words ([`super::vocab::category_from_words`], else `other`), outcome from a
//!    verdict word in the key (`access-denied`, `login-failed`; else `unknown`), event type the
//!    key. Nothing keyed is dropped.
//! 4. Without a key: `Unrecognized` (or `Empty` for an empty value).
//!
//! The README's "Text events" section lists every phrasing with an example and states what is
//! trusted; a test below parses every row of that table, so the two cannot drift. The event
//! type is the record key, else the phrasing's name. The event time is the record timestamp.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex, RegexSet};
use serde::Deserialize;

use super::vocab::{category_from_words, outcome_from_word, Field};
use super::{ParseError, Record};
use crate::event::{
    normalize_client_host, normalize_operation, Category, ChangeAction, Format, Outcome,
    Permission, Reason, SecurityEvent, Text,
};

/// The `parsers.text` config section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {
    /// Extra patterns, tried in order before the built-in phrasings; the first match wins.
    /// Default: none (only the built-ins).
    #[serde(default)]
    pub patterns: Vec<TextPattern>,
}

/// One user-defined text pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextPattern {
    /// Regular expression (Rust `regex` syntax) searched for in the record value. Named captures
    /// fill event fields: `principal`, `client_host`, `listener`, `mechanism`, `operation`,
    /// `resource_type`, `resource_name`, `pattern_type`, `api`, `client_id`, `cluster_id`,
    /// `broker_id`, `reason` (free text mapped to the closed reason set) and `outcome` (a word
    /// such as `failed` or `granted`, overriding `outcome` below). Required.
    pub regex: String,
    /// Category of matching events: `authentication`, `authorization`, `acl_change`,
    /// `credential_change`, `config_change`, `resource_change`, `connection` or `other`. Required.
    pub category: String,
    /// Outcome of matching events: `success`, `failure`, `allowed`, `denied` or `unknown`
    /// (adjusted to the category's vocabulary, so `failure` on authorization reads `denied`).
    /// Default: `unknown`.
    #[serde(default)]
    pub outcome: Option<String>,
    /// Event type of matching events. Default: the record key, else the category name.
    #[serde(default)]
    pub event_type: Option<String>,
    /// Regular expression the record key must match for this pattern to apply. Default: the
    /// pattern applies to every record, keyed or not.
    #[serde(default)]
    pub key: Option<String>,
}

/// Compiled patterns: the user's, then the built-ins ([`BUILTINS`]).
#[derive(Debug)]
pub struct TextRules {
    user: Vec<UserPattern>,
}

#[derive(Debug)]
struct UserPattern {
    regex: Regex,
    key: Option<Regex>,
    category: Category,
    outcome: Outcome,
    event_type: Option<String>,
    /// Capture group index → the field it fills.
    captures: Vec<(usize, Field)>,
}

impl TextRules {
    /// Compiles the user patterns and the built-ins; returns every problem found, each prefixed
    /// with its config path (`parsers.text.patterns[2].regex: …`).
    pub fn new(config: &TextConfig) -> Result<TextRules, Vec<String>> {
        let mut problems = Vec::new();
        let mut user = Vec::with_capacity(config.patterns.len());
        for (i, p) in config.patterns.iter().enumerate() {
            let at = format!("parsers.text.patterns[{i}]");
            let regex = Regex::new(&p.regex)
                .map_err(|e| problems.push(format!("{at}.regex: {}", one_line(&e))))
                .ok();
            let key = match &p.key {
                Some(k) => Regex::new(k)
                    .map(Some)
                    .map_err(|e| problems.push(format!("{at}.key: {}", one_line(&e))))
                    .ok(),
                None => Some(None),
            };
            let category = Category::from_name(&p.category);
            if category.is_none() {
                problems.push(format!(
                    "{at}.category: unknown category `{}` (expected one of {})",
                    p.category,
                    names(Category::ALL.map(Category::as_str))
                ));
            }
            let outcome = match &p.outcome {
                Some(o) => Outcome::from_name(o),
                None => Some(Outcome::Unknown),
            };
            if outcome.is_none() {
                problems.push(format!(
                    "{at}.outcome: unknown outcome `{}` (expected one of {})",
                    p.outcome.as_deref().unwrap_or_default(),
                    names(Outcome::ALL.map(Outcome::as_str))
                ));
            }
            let mut captures = Vec::new();
            if let Some(regex) = &regex {
                for (index, name) in regex.capture_names().enumerate() {
                    let Some(name) = name else { continue };
                    match Field::from_capture_name(name) {
                        Some(field) => captures.push((index, field)),
                        None => problems.push(format!(
                            "{at}.regex: unknown capture name `{name}` (expected one of {})",
                            Field::CAPTURES
                                .iter()
                                .map(|f| f.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        )),
                    }
                }
            }
            if let (Some(regex), Some(key), Some(category), Some(outcome)) =
                (regex, key, category, outcome)
            {
                user.push(UserPattern {
                    regex,
                    key,
                    category,
                    outcome: outcome.for_category(category),
                    event_type: p.event_type.clone(),
                    captures,
                });
            }
        }
        if problems.is_empty() {
            Ok(TextRules { user })
        } else {
            Err(problems)
        }
    }
}

fn one_line(err: &regex::Error) -> String {
    err.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn names<const N: usize>(names: [&str; N]) -> String {
    names.join(", ")
}

/// Parses one text event.
pub fn parse<'a>(rules: &TextRules, record: &Record<'a>) -> Result<SecurityEvent<'a>, ParseError> {
    let key = match record.key {
        Some(k) => Some(utf8(k)?.trim()).filter(|k| !k.is_empty()),
        None => None,
    };
    let value = utf8(record.payload)?;
    let trimmed = value.trim();
    if trimmed.is_empty() && key.is_none() {
        return Err(ParseError::Empty);
    }
    let new_event = |category: Category, outcome: Outcome, event_type: Text<'a>| {
        let mut ev = SecurityEvent::new(
            Format::Text,
            category,
            outcome.for_category(category),
            event_type,
            record.origin.clone(),
            record.observed_time,
        );
        ev.event_time = record.timestamp;
        ev
    };

    for p in &rules.user {
        if let Some(key_regex) = &p.key {
            if !key.is_some_and(|k| key_regex.is_match(k)) {
                continue;
            }
        }
        let Some(caps) = p.regex.captures(value) else {
            continue;
        };
        let event_type = match (&p.event_type, key) {
            (Some(t), _) => Cow::Owned(t.clone()),
            (None, Some(k)) => Cow::Borrowed(k),
            (None, None) => Cow::Borrowed(p.category.as_str()),
        };
        let mut ev = new_event(p.category, p.outcome, event_type);
        for &(index, field) in &p.captures {
            if let Some(m) = caps.get(index) {
                field.set(&mut ev, Cow::Borrowed(m.as_str()));
            }
        }
        return Ok(ev);
    }

    if let Some(Found { kind, caps, .. }) = BUILTINS.find(value) {
        let category = kind
            .category
            .or_else(|| key.and_then(category_from_words))
            .unwrap_or(Category::Other);
        let outcome = kind
            .outcome
            .or_else(|| {
                caps.name("verb")
                    .and_then(|v| v.as_str().split_whitespace().last())
                    .and_then(outcome_from_word)
            })
            .or_else(|| key.and_then(outcome_from_key))
            .unwrap_or(Outcome::Unknown);
        let event_type = Cow::Borrowed(key.unwrap_or(kind.name));
        let mut ev = new_event(category, outcome, event_type);
        ev.principal = caps
            .name("u")
            .and_then(|m| unquote(m.as_str()))
            .map(Cow::Borrowed);
        ev.client_host = ["ip", "ip2"]
            .into_iter()
            .find_map(|g| caps.name(g))
            .map(|m| Cow::Borrowed(normalize_client_host(m.as_str())));
        ev.resource_type = caps
            .name("rt")
            .map(|m| Cow::Borrowed(resource_type(m.as_str())));
        ev.resource_name = caps
            .name("r")
            .and_then(|m| unquote(m.as_str()))
            .map(Cow::Borrowed);
        // `not authorized to access topic x` names no ACL operation.
        ev.operation = caps
            .name("op")
            .filter(|m| !m.as_str().eq_ignore_ascii_case("access"))
            .map(|m| normalize_operation(m.as_str()));
        ev.reason = kind.reason;
        ev.action = kind
            .action
            .or_else(|| caps.name("act").and_then(|m| action_from_act(m.as_str())));
        ev.permission = kind.permission;
        return Ok(ev);
    }

    match key {
        Some(key) => {
            let category = category_from_words(key).unwrap_or(Category::Other);
            let outcome = outcome_from_key(key).unwrap_or(Outcome::Unknown);
            Ok(new_event(category, outcome, Cow::Borrowed(key)))
        }
        None => Err(ParseError::Unrecognized),
    }
}

fn utf8(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| ParseError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })
}

// === Built-in phrasings ===

/// What a built-in phrasing means. `None` category: from the record key's words (else `other`);
/// `None` outcome: from the phrasing's `verb`, else the key's words (else `unknown`).
#[derive(Debug)]
struct Kind {
    /// The event type when the record has no key.
    name: &'static str,
    category: Option<Category>,
    outcome: Option<Outcome>,
    reason: Option<Reason>,
    /// `None`: from the phrasing's `act` word, if it has one.
    action: Option<ChangeAction>,
    permission: Option<Permission>,
}

impl Kind {
    const fn new(name: &'static str, category: Category, outcome: Outcome) -> Kind {
        Kind {
            name,
            category: Some(category),
            outcome: Some(outcome),
            reason: None,
            action: None,
            permission: None,
        }
    }
}

const LOGIN: Kind = Kind::new("login", Category::Authentication, Outcome::Success);
const LOGIN_FAILED: Kind = Kind {
    reason: Some(Reason::InvalidCredentials),
    ..Kind::new("login_failed", Category::Authentication, Outcome::Failure)
};
/// A lockout is the authentication system refusing the principal: a failed authentication whose
/// cause is not a wrong password.
const ACCOUNT_LOCKED: Kind = Kind {
    reason: Some(Reason::Other),
    ..Kind::new("account_locked", Category::Authentication, Outcome::Failure)
};
const ACCESS_DENIED: Kind = Kind::new("access_denied", Category::Authorization, Outcome::Denied);
const ACCESS_GRANTED: Kind = Kind::new("access_granted", Category::Authorization, Outcome::Allowed);
/// A logout ends a session; it is not an authentication attempt, so it must not count in
/// `kafka_security_authentication_total`.
const LOGOUT: Kind = Kind::new("logout", Category::Other, Outcome::Success);
const PASSWORD_CHANGE: Kind = Kind {
    action: Some(ChangeAction::Update),
    ..Kind::new(
        "password_change",
        Category::CredentialChange,
        Outcome::Success,
    )
};
const PASSWORD_CHANGE_FAILED: Kind = Kind {
    action: Some(ChangeAction::Update),
    ..Kind::new(
        "password_change_failed",
        Category::CredentialChange,
        Outcome::Failure,
    )
};
const CREDENTIAL_CHANGE: Kind = Kind::new(
    "credential_change",
    Category::CredentialChange,
    Outcome::Success,
);
const ACL_GRANT: Kind = Kind {
    action: Some(ChangeAction::Create),
    permission: Some(Permission::Allow),
    ..Kind::new("acl_grant", Category::AclChange, Outcome::Success)
};
const ACL_REVOKE: Kind = Kind {
    action: Some(ChangeAction::Delete),
    permission: Some(Permission::Allow),
    ..Kind::new("acl_revoke", Category::AclChange, Outcome::Success)
};
const ACL_CHANGE: Kind = Kind::new("acl_change", Category::AclChange, Outcome::Success);
const USER_OUTCOME: Kind = Kind {
    name: "user_outcome",
    category: None,
    outcome: None,
    reason: None,
    action: None,
    permission: None,
};

/// A name written before the phrasing's verb (`User {N} logged in`): everything between the
/// fixed words, so spaces and phrase-like text stay inside it. Checked for a trailing negation.
const NAME_BEFORE_VERB: &str = r"(?P<u>.+?)";
/// A name after the verb (`Login failed for user {U}`): everything up to the optional clauses
/// and the tail.
const NAME_AFTER_VERB: &str = r"(?P<u>.+?)";
/// A name that opens the phrasing with no fixed word before it (`{W} authenticated
/// successfully`): one token or a quoted string, since nothing marks where a longer one starts.
const NAME_TOKEN: &str = r#"(?P<u>"[^"]+"|'[^']+'|[^\s"']+)"#;
/// An optional Kafka resource type, then the resource name: one word, or quoted (then anything,
/// quotes included, up to the last quote before what follows). Never several bare words: a
/// resource is the requester's choice and comes last, so a bare `x logged in` in it must not
/// give another phrasing the words it needs to end the value.
const RESOURCE: &str = r#"(?:the\s+)?(?:(?P<rt>topic|consumer[\s_-]?group|group|cluster|transactional[\s_-]?id|delegation[\s_-]?token|user)\s+)?(?P<r>"(?:.+)"|'(?:.+)'|[^\s"']+?)"#;
/// A Kafka ACL operation, as ACL grants name it.
const ACL_OPERATION: &str = r"(?P<op>read|write|create|delete|alter[\s_-]?configs|alter|describe[\s_-]?configs|describe|cluster[\s_-]?action|idempotent[\s_-]?write|all)";
/// Why an account was locked: `after 5 failed login attempts`, `due to too many failed attempts`.
const LOCK_CAUSE: &str = r"(?:\s+(?:after|due\s+to)\s+(?:\d+\s+|too\s+many\s+)?(?:failed|unsuccessful|invalid|incorrect|bad)\s+(?:password\s+|login\s+|logon\s+|sign-?in\s+|authentication\s+)?attempts?)?";
/// An optional client address suffix (`from 10.0.0.1`, `from host db1`, `(ip: 10.0.0.1)`), then
/// trailing punctuation up to the end of the value.
const TAIL: &str = r#"(?:,?\s+from\s+(?:host\s+|ip\s+|address\s+)?(?P<ip>[^\s,;()"']+?)|\s*\(\s*(?:ip|host|from|address|client)\s*[:=]?\s*(?P<ip2>[^\s()"']+)\s*\))?[\s.!,;]*$"#;
const LOGIN_WORD: &str = r"(?:log\s*in|logon|log\s+on|sign\s*-?\s*in|authentication)";

/// The built-in phrasings. Placeholders: `{N}` [`NAME_BEFORE_VERB`], `{U}` [`NAME_AFTER_VERB`],
/// `{W}` [`NAME_TOKEN`], `{R}` [`RESOURCE`], `{OP}` [`ACL_OPERATION`], `{LOCK}` [`LOCK_CAUSE`],
/// `{T}` [`TAIL`], `{L}` [`LOGIN_WORD`]. The README's "Text events" table has one row per entry
/// (a test checks it); keep the two in the same order.
const PHRASINGS: &[(&str, &Kind)] = &[
    // 1-5: failed logins.
    (
        r"\buser\s+{N}\s+(?:has\s+)?failed\s+(?:to\s+(?:log\s*in|logon|sign\s*in|authenticate)|authentication){T}",
        &LOGIN_FAILED,
    ),
    (
        r"\b(?:failed|unsuccessful|invalid)\s+{L}(?:\s+attempt)?\s+(?:for|by|of)\s+(?:user\s+)?{U}{T}",
        &LOGIN_FAILED,
    ),
    (
        r"\b{L}(?:\s+attempt)?\s+(?:has\s+)?failed\s+for\s+(?:user\s+)?{U}{T}",
        &LOGIN_FAILED,
    ),
    (
        r"\b(?:invalid|incorrect|wrong|bad)\s+(?:password|credentials)\s+(?:for|of)\s+(?:user\s+)?{U}{T}",
        &LOGIN_FAILED,
    ),
    (
        r"\buser\s+{N}\s+(?:{L}\s+(?:has\s+)?failed|(?:has\s+)?(?:logged|signed)\s+in\s+unsuccessfully){T}",
        &LOGIN_FAILED,
    ),
    // 6-7: lockouts.
    (
        r"\b(?:user\s+)?account\s+(?:(?:has\s+been|was|is)\s+)?locked(?:\s+out)?\s+for\s+(?:user\s+)?{U}{LOCK}{T}",
        &ACCOUNT_LOCKED,
    ),
    (
        r"\b(?:user|account)\s+(?:account\s+)?{N}\s+(?:has\s+been\s+|was\s+|is\s+)?locked(?:\s+out)?{LOCK}{T}",
        &ACCOUNT_LOCKED,
    ),
    // 8-12: successful logins.
    (
        r"\buser\s+{N}\s+(?:has\s+)?(?:successfully\s+)?(?:logged|signed)\s+(?:in|on)(?:\s+successfully)?{T}",
        &LOGIN,
    ),
    (
        r"\buser\s+{N}\s+(?:has\s+)?(?:successfully\s+)?authenticated(?:\s+successfully)?{T}",
        &LOGIN,
    ),
    (
        r"\b{L}\s+(?:was\s+)?(?:successful|succeeded)\s+for\s+(?:user\s+)?{U}{T}",
        &LOGIN,
    ),
    (
        r"\bsuccessful\s+{L}\s+(?:for|by|of)\s+(?:user\s+)?{U}{T}",
        &LOGIN,
    ),
    (
        r"(?:^|\s)(?:user\s+)?{W}\s+(?:has\s+)?(?:authenticated|logged\s+in|signed\s+in)\s+successfully{T}",
        &LOGIN,
    ),
    // 13-17: denials.
    (
        r"\buser\s+{N}\s+(?:was\s+|is\s+|has\s+been\s+)?(?:denied|refused)\s+access(?:\s+(?:to|on)\s+{R})?{T}",
        &ACCESS_DENIED,
    ),
    (
        r"\b(?:access|permission|authori[sz]ation)\s+(?:was\s+)?(?:denied|forbidden|refused|rejected|failed)\s+(?:for|to)\s+(?:user\s+|principal\s+)?{U}(?:\s+(?:to|on|for)\s+{R})?{T}",
        &ACCESS_DENIED,
    ),
    (
        r"\buser\s+{N}\s+(?:is\s+)?(?:not\s+(?:authorized|authorised|allowed|permitted)|unauthori[sz]ed|forbidden)\s+to\s+(?P<op>[\w-]+)(?:\s+(?:on\s+|to\s+)?{R})?{T}",
        &ACCESS_DENIED,
    ),
    (
        r"\bunauthori[sz]ed\s+(?:access|request)(?:\s+attempt)?\s+(?:by|from)\s+(?:user\s+|principal\s+)?{U}(?:\s+(?:to|on)\s+{R})?{T}",
        &ACCESS_DENIED,
    ),
    (
        r"\b(?:access\s+denied|permission\s+denied|unauthori[sz]ed|forbidden|not\s+authori[sz]ed)\s*[:-]\s*(?:user|principal)\s+{U}(?:\s+(?:to|on|for)\s+{R})?{T}",
        &ACCESS_DENIED,
    ),
    // 18-20: grants.
    (
        r"\buser\s+{N}\s+(?:was\s+|is\s+|has\s+been\s+)?(?:granted|allowed|permitted)\s+access(?:\s+(?:to|on)\s+{R})?{T}",
        &ACCESS_GRANTED,
    ),
    (
        r"\b(?:access|permission|authori[sz]ation)\s+(?:was\s+)?(?:granted|allowed|permitted|succeeded)\s+(?:for|to)\s+(?:user\s+|principal\s+)?{U}(?:\s+(?:to|on|for)\s+{R})?{T}",
        &ACCESS_GRANTED,
    ),
    (
        r"\buser\s+{N}\s+(?:is\s+|was\s+)?(?:authorized|authorised|allowed|permitted)\s+to\s+(?P<op>[\w-]+)(?:\s+(?:on\s+|to\s+)?{R})?{T}",
        &ACCESS_GRANTED,
    ),
    // 21-22: logouts.
    (
        r"\buser\s+{N}\s+(?:has\s+)?(?:logged|signed)\s+(?:out|off){T}",
        &LOGOUT,
    ),
    (
        r"\b(?:logout|log\s+out|sign[\s-]?out|logoff)\s+(?:was\s+)?(?:successful\s+)?(?:for|by|of)\s+(?:user\s+)?{U}{T}",
        &LOGOUT,
    ),
    // 23-27: passwords and credentials.
    (
        r"\buser\s+{N}\s+(?:has\s+)?(?:changed|reset|updated|rotated)\s+(?:(?:his|her|their|the|its)\s+)?(?:password|credentials?){T}",
        &PASSWORD_CHANGE,
    ),
    (
        r"\b(?:password|credentials?)\s+(?:was\s+|were\s+|has\s+been\s+|have\s+been\s+)?(?:changed|reset|updated|rotated)\s+(?:for|by|of)\s+(?:user\s+)?{U}{T}",
        &PASSWORD_CHANGE,
    ),
    (
        r"\b(?:password|credentials?)\s+(?:change|reset|update|rotation)\s+(?:has\s+)?failed\s+for\s+(?:user\s+)?{U}{T}",
        &PASSWORD_CHANGE_FAILED,
    ),
    (
        r"\buser\s+{N}\s+failed\s+to\s+(?:change|reset|update)\s+(?:(?:his|her|their|the|its)\s+)?password{T}",
        &PASSWORD_CHANGE_FAILED,
    ),
    (
        r"\b(?:api[\s_-]?key|(?:scram\s+)?credentials?|(?:delegation\s+)?token)\s+(?:was\s+|has\s+been\s+)?(?P<act>created|added|issued|generated|deleted|removed|revoked|expired)\s+for\s+(?:user\s+|principal\s+)?{U}{T}",
        &CREDENTIAL_CHANGE,
    ),
    // 28-31: ACL changes.
    (
        r"\b(?:granted|added)\s+{OP}\s+(?:permission|access|acl)\s+(?:on|to|for)\s+{R}\s+to\s+(?:user\s+|principal\s+)?{U}{T}",
        &ACL_GRANT,
    ),
    (
        r"\b(?:granted|added)\s+{OP}\s+(?:permission|access|acl)\s+to\s+(?:user\s+|principal\s+)?{U}\s+on\s+{R}{T}",
        &ACL_GRANT,
    ),
    (
        r"\b(?:revoked|removed)\s+{OP}\s+(?:permission|access|acl)\s+(?:on|to|for)\s+{R}\s+from\s+(?:user\s+|principal\s+)?{U}{T}",
        &ACL_REVOKE,
    ),
    (
        r"\bacls?\s+(?:entry\s+|binding\s+)?(?:was\s+|has\s+been\s+)?(?P<act>created|added|deleted|removed|revoked)\s+for\s+(?:user\s+|principal\s+)?{U}(?:\s+on\s+{R})?{T}",
        &ACL_CHANGE,
    ),
    // 32: ambiguous; the key says what kind of event it is.
    (
        r"\buser\s+{N}\s+(?P<verb>succeeded|failed|was\s+denied|was\s+granted|was\s+rejected|was\s+allowed|was\s+blocked){T}",
        &USER_OUTCOME,
    ),
];

/// Words that, ending a name written before the verb, negate the verb (`User bob was not denied
/// access`, `User bob has not been granted access`): such a reading is refused.
const NEGATIONS: &[&str] = &[
    "not",
    "never",
    "no",
    "cannot",
    "can't",
    "isn't",
    "wasn't",
    "hasn't",
    "haven't",
    "hadn't",
    "didn't",
    "doesn't",
    "don't",
    "won't",
    "wouldn't",
    "couldn't",
    "shouldn't",
    "aren't",
    "weren't",
    "nor",
];
/// Auxiliaries skipped before looking for a negation (`not been`, `never was`).
const AUXILIARIES: &[&str] = &[
    "been", "be", "being", "was", "were", "is", "are", "has", "have", "had", "did", "does", "do",
    "ever", "yet",
];

/// True when the unquoted `name` ends, auxiliaries aside, in a negation word.
fn ends_in_negation(name: &str) -> bool {
    if quoted(name).is_some() {
        return false;
    }
    name.split_whitespace()
        .rev()
        .map(|w| w.to_ascii_lowercase())
        .find(|w| !AUXILIARIES.contains(&w.as_str()))
        .is_some_and(|w| NEGATIONS.contains(&w.as_str()))
}

/// The inside of `'…'` or `"…"`, if `s` is quoted that way.
fn quoted(s: &str) -> Option<&str> {
    let first = s.chars().next()?;
    (s.len() >= 2 && matches!(first, '\'' | '"') && s.ends_with(first)).then(|| &s[1..s.len() - 1])
}

/// A captured name without its enclosing quotes; `None` when nothing is left.
fn unquote(s: &str) -> Option<&str> {
    Some(quoted(s).unwrap_or(s)).filter(|s| !s.is_empty())
}

/// The Kafka resource type a phrasing's word names.
fn resource_type(word: &str) -> &'static str {
    let squashed: String = word
        .chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    match squashed.as_str() {
        "topic" => "Topic",
        "group" | "consumergroup" => "Group",
        "cluster" => "Cluster",
        "transactionalid" => "TransactionalId",
        "delegationtoken" => "DelegationToken",
        _ => "User",
    }
}

/// What a credential or ACL change did, from its past participle.
fn action_from_act(act: &str) -> Option<ChangeAction> {
    match act.to_ascii_lowercase().as_str() {
        "created" | "added" | "issued" | "generated" => Some(ChangeAction::Create),
        "deleted" | "removed" | "revoked" => Some(ChangeAction::Delete),
        "expired" => Some(ChangeAction::Expire),
        _ => None,
    }
}

/// The outcome a record key names by one of its words (`access-denied`, `loginFailed`,
/// `AUTH_SUCCESS`), when exactly one verdict is named and no word negates it.
fn outcome_from_key(key: &str) -> Option<Outcome> {
    let mut found = None;
    for word in key_words(key) {
        let outcome = match word.as_str() {
            "not" | "no" | "non" | "never" => return None,
            "denied" | "deny" | "rejected" | "refused" | "forbidden" | "unauthorized"
            | "unauthorised" | "blocked" => Outcome::Denied,
            "failed" | "failure" | "fail" | "failures" | "invalid" => Outcome::Failure,
            "success" | "successful" | "succeeded" | "ok" => Outcome::Success,
            "granted" | "allowed" | "authorized" | "authorised" | "permitted" => Outcome::Allowed,
            _ => continue,
        };
        match found {
            Some(f) if f != outcome => return None,
            _ => found = Some(outcome),
        }
    }
    found
}

/// The lowercase words of a key: split at anything but letters and digits, and where a lowercase
/// letter meets an uppercase one (`loginFailed`).
fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in key.chars() {
        let split = !c.is_alphanumeric() || (c.is_uppercase() && prev_lower);
        if split && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
        prev_lower = c.is_lowercase();
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// One compiled phrasing.
#[derive(Debug)]
struct Phrasing {
    regex: Regex,
    kind: &'static Kind,
    /// The name comes before the verb, so a negation at its end would negate the verb.
    name_before_verb: bool,
}

/// The built-in phrasings, compiled at the first text event that no user pattern reads (tens of
/// milliseconds: a replay of broker logs or a consumer of audit events never pays for them).
static BUILTINS: LazyLock<Builtins> = LazyLock::new(Builtins::new);

#[derive(Debug)]
struct Builtins {
    set: RegexSet,
    phrasings: Vec<Phrasing>,
}

/// The phrasing a value matched.
struct Found<'t> {
    /// Which entry of [`PHRASINGS`]; the README table's test checks every one is shown.
    #[cfg_attr(not(test), allow(dead_code))]
    index: usize,
    kind: &'static Kind,
    caps: Captures<'t>,
}

impl Builtins {
    fn new() -> Builtins {
        let sources: Vec<String> = PHRASINGS
            .iter()
            .map(|(p, _)| {
                let p = p
                    .replace("{N}", NAME_BEFORE_VERB)
                    .replace("{U}", NAME_AFTER_VERB)
                    .replace("{W}", NAME_TOKEN)
                    .replace("{R}", RESOURCE)
                    .replace("{OP}", ACL_OPERATION)
                    .replace("{LOCK}", LOCK_CAUSE)
                    .replace("{T}", TAIL)
                    .replace("{L}", LOGIN_WORD);
                format!("(?is){p}")
            })
            .collect();
        // The phrasings are constants covered by the unit tests, so compiling cannot fail.
        let set = RegexSet::new(&sources).expect("built-in text phrasings compile");
        let phrasings = sources
            .iter()
            .zip(PHRASINGS)
            .map(|(s, (p, kind))| Phrasing {
                regex: Regex::new(s).expect("built-in text phrasing compiles"),
                kind,
                name_before_verb: p.contains("{N}"),
            })
            .collect();
        Builtins { set, phrasings }
    }

    /// The phrasing that starts first in `value` (ties: the first in [`PHRASINGS`]), unless its
    /// name ends in a negation. The application writes a phrasing's fixed words and a user's
    /// name only fills its slot, so the phrasing that starts first is the application's: one
    /// that starts later lies inside that name. Only matches at that first start count.
    fn find<'t>(&self, value: &'t str) -> Option<Found<'t>> {
        let mut best: Option<(usize, Found<'t>, bool)> = None;
        for index in self.set.matches(value).iter() {
            let phrasing = &self.phrasings[index];
            let Some(caps) = phrasing.regex.captures(value) else {
                continue;
            };
            let whole = caps.get(0).expect("group 0 is the whole match");
            let start = whole.start() + (whole.len() - whole.as_str().trim_start().len());
            let negated = phrasing.name_before_verb
                && caps.name("u").is_some_and(|u| ends_in_negation(u.as_str()));
            // Earlier start wins; at the same start, the first phrasing that is not negated.
            let better = match &best {
                None => true,
                Some((s, _, best_negated)) => {
                    start < *s || (start == *s && *best_negated && !negated)
                }
            };
            if better {
                best = Some((
                    start,
                    Found {
                        index,
                        kind: phrasing.kind,
                        caps,
                    },
                    negated,
                ));
            }
        }
        best.and_then(|(_, found, negated)| (!negated).then_some(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn rules() -> TextRules {
        TextRules::new(&TextConfig::default()).unwrap()
    }

    fn keyed<'a>(key: &'a str, value: &'a str) -> Record<'a> {
        Record::from_payload(value.as_bytes()).with_key(key.as_bytes())
    }

    fn unkeyed(value: &str) -> Record<'_> {
        Record::from_payload(value.as_bytes())
    }

    #[test]
    fn classic_producer_example() {
        let ts = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let record = Record {
            timestamp: Some(ts),
            ..keyed("user-login", "User JohnDoe logged in successfully")
        };
        let ev = parse(&rules(), &record).unwrap();
        assert_eq!(ev.format, Format::Text);
        assert_eq!(ev.category, Category::Authentication);
        assert_eq!(ev.outcome, Outcome::Success);
        assert_eq!(ev.principal.as_deref(), Some("JohnDoe"));
        assert_eq!(ev.event_type, "user-login");
        assert_eq!(ev.event_time, Some(ts));
        assert_eq!(ev.reason, None);
        assert!(matches!(ev.principal, Some(Cow::Borrowed(_))));
    }

    /// (value, category, outcome, principal, resource, client host)
    type Case = (
        &'static str,
        Category,
        Outcome,
        &'static str,
        Option<&'static str>,
        Option<&'static str>,
    );

    #[test]
    fn built_in_phrasings() {
        use Category::*;
        use Outcome::*;
        let cases: &[Case] = &[
            (
                "User JohnDoe logged in",
                Authentication,
                Success,
                "JohnDoe",
                None,
                None,
            ),
            (
                "user johndoe LOGGED IN successfully.",
                Authentication,
                Success,
                "johndoe",
                None,
                None,
            ),
            (
                "Login successful for user alice",
                Authentication,
                Success,
                "alice",
                None,
                None,
            ),
            (
                "bob authenticated successfully!",
                Authentication,
                Success,
                "bob",
                None,
                None,
            ),
            (
                "Successful login for user carol from 10.1.2.3",
                Authentication,
                Success,
                "carol",
                None,
                Some("10.1.2.3"),
            ),
            (
                "User 'John Doe' logged in (ip: 192.0.2.7)",
                Authentication,
                Success,
                "John Doe",
                None,
                Some("192.0.2.7"),
            ),
            (
                "2024-05-01T10:00:00Z INFO User \"eve\" logged in from host /10.0.0.9",
                Authentication,
                Success,
                "eve",
                None,
                Some("10.0.0.9"),
            ),
            (
                "User JohnDoe failed to log in",
                Authentication,
                Failure,
                "JohnDoe",
                None,
                None,
            ),
            (
                "Failed login for user mallory from 203.0.113.5.",
                Authentication,
                Failure,
                "mallory",
                None,
                Some("203.0.113.5"),
            ),
            (
                "Login failed for user dave",
                Authentication,
                Failure,
                "dave",
                None,
                None,
            ),
            (
                "Invalid password for user erin",
                Authentication,
                Failure,
                "erin",
                None,
                None,
            ),
            (
                "Authentication failed for user frank",
                Authentication,
                Failure,
                "frank",
                None,
                None,
            ),
            (
                "User grace login failed",
                Authentication,
                Failure,
                "grace",
                None,
                None,
            ),
            (
                "Incorrect password for heidi",
                Authentication,
                Failure,
                "heidi",
                None,
                None,
            ),
            (
                "User ivan denied access to payments",
                Authorization,
                Denied,
                "ivan",
                Some("payments"),
                None,
            ),
            (
                "Access denied for user judy to 'orders topic'",
                Authorization,
                Denied,
                "judy",
                Some("orders topic"),
                None,
            ),
            (
                "Permission denied for user ken on billing",
                Authorization,
                Denied,
                "ken",
                Some("billing"),
                None,
            ),
            (
                "User leo is not authorized to read payments",
                Authorization,
                Denied,
                "leo",
                Some("payments"),
                None,
            ),
            (
                "Unauthorized access attempt by mike",
                Authorization,
                Denied,
                "mike",
                None,
                None,
            ),
            (
                "User nick granted access to reports",
                Authorization,
                Allowed,
                "nick",
                Some("reports"),
                None,
            ),
            (
                "Access granted for user olga to reports",
                Authorization,
                Allowed,
                "olga",
                Some("reports"),
                None,
            ),
            ("User pat logged out", Other, Success, "pat", None, None),
            (
                "User quinn changed password",
                CredentialChange,
                Success,
                "quinn",
                None,
                None,
            ),
            (
                "Password changed for user rob",
                CredentialChange,
                Success,
                "rob",
                None,
                None,
            ),
        ];
        let rules = rules();
        for &(value, category, outcome, principal, resource, host) in cases {
            let ev = parse(&rules, &unkeyed(value)).unwrap_or_else(|e| panic!("{value}: {e}"));
            assert_eq!(ev.category, category, "{value}");
            assert_eq!(ev.outcome, outcome, "{value}");
            assert_eq!(ev.principal.as_deref(), Some(principal), "{value}");
            assert_eq!(ev.resource_name.as_deref(), resource, "{value}");
            assert_eq!(ev.client_host.as_deref(), host, "{value}");
            let reason = (outcome == Failure).then_some(Reason::InvalidCredentials);
            assert_eq!(ev.reason, reason, "{value}");
        }
    }

    #[test]
    fn event_type_is_the_key_else_the_phrasing() {
        let rules = rules();
        let ev = parse(&rules, &unkeyed("User pat logged out")).unwrap();
        assert_eq!(ev.event_type, "logout");
        let ev = parse(&rules, &keyed("user-logout", "User pat logged out")).unwrap();
        assert_eq!(ev.event_type, "user-logout");
        let ev = parse(
            &rules,
            &unkeyed("User leo is not authorized to describe-configs x"),
        )
        .unwrap();
        assert_eq!(ev.event_type, "access_denied");
        assert_eq!(ev.operation.as_deref(), Some("DESCRIBE_CONFIGS"));
    }

    #[test]
    fn key_words_categorize_ambiguous_and_unknown_values() {
        let rules = rules();
        let ev = parse(&rules, &keyed("user-login", "User bob failed")).unwrap();
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Authentication, Outcome::Failure)
        );
        assert_eq!(ev.principal.as_deref(), Some("bob"));
        let ev = parse(&rules, &keyed("topic-access", "User bob was denied")).unwrap();
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Authorization, Outcome::Denied)
        );
        let ev = parse(&rules, &keyed("password-reset", "something happened")).unwrap();
        assert_eq!(ev.category, Category::CredentialChange);
        assert_eq!(ev.outcome, Outcome::Unknown);
        assert_eq!(ev.event_type, "password-reset");
        assert_eq!(ev.principal, None);
        let ev = parse(&rules, &keyed("heartbeat", "")).unwrap();
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Other, Outcome::Unknown)
        );
        let ev = parse(&rules, &unkeyed("User bob succeeded")).unwrap();
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Other, Outcome::Success)
        );
    }

    #[test]
    fn errors() {
        let rules = rules();
        assert_eq!(parse(&rules, &unkeyed("")).unwrap_err(), ParseError::Empty);
        assert_eq!(
            parse(&rules, &unkeyed(" \n")).unwrap_err(),
            ParseError::Empty
        );
        assert_eq!(
            parse(&rules, &unkeyed("the weather is nice")).unwrap_err(),
            ParseError::Unrecognized
        );
        let bad = Record::from_payload(b"User \xff logged in");
        assert_eq!(
            parse(&rules, &bad).unwrap_err(),
            ParseError::InvalidUtf8 { valid_up_to: 5 }
        );
        let bad_key = Record::from_payload(b"User a logged in").with_key(b"k\xc3");
        assert_eq!(
            parse(&rules, &bad_key).unwrap_err(),
            ParseError::InvalidUtf8 { valid_up_to: 1 }
        );
    }

    #[test]
    fn user_patterns_come_first() {
        let config: TextConfig = serde_yaml_ng::from_str(
            r#"
patterns:
  - regex: 'SASL (?P<mechanism>\S+) auth (?P<outcome>ok|failed) for (?P<principal>\S+) via (?P<listener>\w+)'
    category: authentication
    key: '^broker-'
  - regex: 'User (?P<principal>\w+) logged in'
    category: other
    outcome: success
    event_type: custom
"#,
        )
        .unwrap();
        let rules = TextRules::new(&config).unwrap();
        let ev = parse(
            &rules,
            &keyed(
                "broker-auth",
                "SASL SCRAM-SHA-256 auth failed for alice via EXTERNAL",
            ),
        )
        .unwrap();
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Authentication, Outcome::Failure)
        );
        assert_eq!(ev.mechanism.as_deref(), Some("SCRAM-SHA-256"));
        assert_eq!(ev.principal.as_deref(), Some("alice"));
        assert_eq!(ev.listener.as_deref(), Some("EXTERNAL"));
        assert_eq!(ev.event_type, "broker-auth");
        // The key regex does not match: the first pattern is skipped.
        let ev = parse(&rules, &keyed("app", "SASL PLAIN auth ok for bob via X")).unwrap();
        assert_eq!(ev.category, Category::Other);
        assert_eq!(ev.outcome, Outcome::Unknown);
        // The second pattern overrides the built-in for the classic example.
        let ev = parse(&rules, &keyed("user-login", "User JohnDoe logged in")).unwrap();
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Other, Outcome::Success)
        );
        assert_eq!(ev.event_type, "custom");
    }

    #[test]
    fn config_problems_are_all_reported() {
        let config: TextConfig = serde_yaml_ng::from_str(
            r#"
patterns:
  - regex: '(unclosed'
    category: authentication
  - regex: '(?P<usr>\w+)'
    category: logins
    outcome: meh
    key: '['
"#,
        )
        .unwrap();
        let problems = TextRules::new(&config).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("parsers.text.patterns[0].regex: regex parse error"));
        assert!(problems[1].starts_with("parsers.text.patterns[1].key: regex parse error"));
        assert!(
            problems[2].starts_with("parsers.text.patterns[1].category: unknown category `logins`")
        );
        assert!(problems[3].starts_with("parsers.text.patterns[1].outcome: unknown outcome `meh`"));
        assert!(
            problems[4].starts_with("parsers.text.patterns[1].regex: unknown capture name `usr`")
        );
        assert!(serde_yaml_ng::from_str::<TextConfig>(
            "patterns: [{regex: x, category: other, nope: 1}]"
        )
        .is_err());
    }

    /// (template with `{u}` for the name, category, outcome) for every built-in phrasing family.
    const TEMPLATES: &[(&str, Category, Outcome)] = &[
        (
            "User {u} logged in successfully",
            Category::Authentication,
            Outcome::Success,
        ),
        (
            "User {u} logged in",
            Category::Authentication,
            Outcome::Success,
        ),
        (
            "Login successful for user {u}",
            Category::Authentication,
            Outcome::Success,
        ),
        (
            "{u} authenticated successfully",
            Category::Authentication,
            Outcome::Success,
        ),
        (
            "Successful login for user {u}",
            Category::Authentication,
            Outcome::Success,
        ),
        (
            "User {u} failed to log in",
            Category::Authentication,
            Outcome::Failure,
        ),
        (
            "Failed login for user {u}",
            Category::Authentication,
            Outcome::Failure,
        ),
        (
            "Login failed for user {u}",
            Category::Authentication,
            Outcome::Failure,
        ),
        (
            "Invalid password for user {u}",
            Category::Authentication,
            Outcome::Failure,
        ),
        (
            "Authentication failed for user {u}",
            Category::Authentication,
            Outcome::Failure,
        ),
        (
            "User {u} login failed",
            Category::Authentication,
            Outcome::Failure,
        ),
        (
            "Incorrect password for {u}",
            Category::Authentication,
            Outcome::Failure,
        ),
        (
            "User {u} denied access to orders",
            Category::Authorization,
            Outcome::Denied,
        ),
        (
            "Access denied for user {u} to orders",
            Category::Authorization,
            Outcome::Denied,
        ),
        (
            "Permission denied for user {u} on orders",
            Category::Authorization,
            Outcome::Denied,
        ),
        (
            "User {u} is not authorized to write orders",
            Category::Authorization,
            Outcome::Denied,
        ),
        (
            "Unauthorized access attempt by {u}",
            Category::Authorization,
            Outcome::Denied,
        ),
        (
            "User {u} granted access to orders",
            Category::Authorization,
            Outcome::Allowed,
        ),
        (
            "Access granted for user {u} to orders",
            Category::Authorization,
            Outcome::Allowed,
        ),
        ("User {u} logged out", Category::Other, Outcome::Success),
        (
            "User {u} changed password",
            Category::CredentialChange,
            Outcome::Success,
        ),
        (
            "Password changed for user {u}",
            Category::CredentialChange,
            Outcome::Success,
        ),
    ];

    /// A user name as written: bare (one token, not ending in punctuation the phrasings treat as
    /// trailing) or quoted (spaces allowed), returning (written form, expected principal).
    fn user_name() -> impl proptest::strategy::Strategy<Value = (String, String)> {
        use proptest::prelude::*;
        prop_oneof![
            "[A-Za-z0-9_@:-][A-Za-z0-9._@:-]{0,20}[A-Za-z0-9_@-]|[A-Za-z0-9_@-]"
                // A bare `no`, `not`, `never` or `nor` before the verb negates it: refused by
                // design (`negations_are_not_read_as_the_verb`).
                .prop_filter("a bare negation word", |u| !ends_in_negation(u))
                .prop_map(|u| (u.clone(), u)),
            "[A-Za-z0-9][A-Za-z0-9 ._@-]{0,20}".prop_map(|u| (format!("'{u}'"), u)),
            "[A-Za-z0-9][A-Za-z0-9 ._@'-]{0,20}".prop_map(|u| (format!("\"{u}\""), u)),
        ]
    }

    proptest::proptest! {
        /// Every built-in phrasing extracts exactly the generated name, whatever the case of the
        /// phrasing, the client-address suffix and the trailing punctuation.
        #[test]
        fn built_ins_extract_the_exact_user_name(
            template in 0..TEMPLATES.len(),
            (written, expected) in user_name(),
            upper in proptest::prelude::any::<bool>(),
            suffix in 0usize..4,
            punct in proptest::sample::select(vec!["", ".", "!", " ", "..."]),
        ) {
            static RULES: std::sync::LazyLock<TextRules> = std::sync::LazyLock::new(rules);
            let (template, category, outcome) = TEMPLATES[template];
            let template = if upper { template.to_uppercase() } else { template.to_lowercase() };
            let suffix = ["", " from 192.0.2.1", " from host 192.0.2.1", " (ip: 192.0.2.1)"][suffix];
            let value = format!("{}{suffix}{punct}", template.replace("{U}", &written).replace("{u}", &written));
            let ev = parse(&RULES, &keyed("k", &value)).unwrap();
            proptest::prop_assert_eq!(ev.principal.as_deref(), Some(expected.as_str()), "{}", value);
            proptest::prop_assert_eq!(ev.category, category, "{}", value);
            proptest::prop_assert_eq!(ev.outcome, outcome, "{}", value);
            let host = (!suffix.is_empty()).then_some("192.0.2.1");
            proptest::prop_assert_eq!(ev.client_host.as_deref(), host, "{}", value);
        }
    }
}

/// The README's "Text events" table, parsed and checked row by row, plus what it cannot show:
/// negations, hostile names and resources, and key hints.
#[cfg(test)]
mod vocabulary_tests {
    use super::*;

    const README: &str = include_str!("../../README.md");

    /// One row of the README's text-phrasing table.
    #[derive(Debug, Clone)]
    struct Row {
        /// The phrasing's 1-based number in [`PHRASINGS`]; `None` for the key-only rows.
        number: Option<usize>,
        key: Option<String>,
        value: String,
        category: Category,
        outcome: Outcome,
        /// (field, value) as [`SecurityEvent::fields`] names them.
        fields: Vec<(String, String)>,
    }

    fn rows() -> Vec<Row> {
        let start = README
            .find("<!-- text-phrasings:")
            .expect("README has the text-phrasings table");
        let rows: Vec<Row> = README[start..]
            .lines()
            .skip(3)
            .take_while(|l| l.starts_with('|'))
            .map(row)
            .collect();
        assert!(rows.len() > PHRASINGS.len(), "{} rows", rows.len());
        rows
    }

    fn row(line: &str) -> Row {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        assert_eq!(cells.len(), 6, "{line}");
        let code = |cell: &str| cell.trim_matches('`').to_string();
        let (category, outcome) = cells[4].split_once(" / ").expect(line);
        Row {
            number: cells[0].parse().ok(),
            key: Some(code(cells[2])).filter(|k| !k.is_empty()),
            value: code(cells[3]),
            category: Category::from_name(category).expect(line),
            outcome: Outcome::from_name(outcome).expect(line),
            fields: cells[5]
                .split('`')
                .skip(1)
                .step_by(2)
                .map(|f| {
                    let (k, v) = f.split_once('=').expect(line);
                    (k.to_string(), v.to_string())
                })
                .collect(),
        }
    }

    fn record(key: Option<&str>, value: &str) -> Record<'static> {
        let value: &'static str = Box::leak(value.to_owned().into_boxed_str());
        let record = Record::from_payload(value.as_bytes());
        match key {
            Some(k) => record.with_key(Box::leak(k.to_owned().into_boxed_str()).as_bytes()),
            None => record,
        }
    }

    /// The fields beyond category, outcome and event type, sorted.
    fn fields(ev: &SecurityEvent<'_>) -> Vec<(String, String)> {
        let mut fields: Vec<(String, String)> = ev
            .fields()
            .into_iter()
            .filter(|(k, _)| !matches!(*k, "format" | "category" | "outcome" | "event_type"))
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        fields.sort();
        fields
    }

    fn rules() -> TextRules {
        TextRules::new(&TextConfig::default()).unwrap()
    }

    #[test]
    fn every_readme_row_parses_as_stated_and_shows_its_phrasing() {
        let rules = rules();
        let mut shown = vec![false; PHRASINGS.len()];
        for row in rows() {
            let ev = parse(&rules, &record(row.key.as_deref(), &row.value))
                .unwrap_or_else(|e| panic!("{row:?}: {e}"));
            let found = BUILTINS.find(&row.value);
            assert_eq!(
                found.as_ref().map(|f| f.index + 1),
                row.number,
                "phrasing of {row:?}"
            );
            if let Some(f) = found {
                shown[f.index] = true;
            }
            assert_eq!(
                (ev.category, ev.outcome),
                (row.category, row.outcome),
                "{row:?}"
            );
            let name = found_name(&row.value);
            assert_eq!(
                ev.event_type,
                row.key.as_deref().or(name).unwrap(),
                "{row:?}"
            );
            let mut expected = row.fields.clone();
            expected.sort();
            assert_eq!(fields(&ev), expected, "{row:?}");
        }
        let missing: Vec<usize> = (1..=PHRASINGS.len()).filter(|n| !shown[n - 1]).collect();
        assert!(
            missing.is_empty(),
            "phrasings without a README row: {missing:?}"
        );
    }

    fn found_name(value: &str) -> Option<&'static str> {
        BUILTINS.find(value).map(|f| f.kind.name)
    }

    #[test]
    fn the_issue_example_is_a_denial_of_johndoe_on_topic_payments() {
        let ev = parse(
            &rules(),
            &record(
                Some("access-denied"),
                "User JohnDoe was denied access to topic payments",
            ),
        )
        .unwrap();
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Authorization, Outcome::Denied)
        );
        assert_eq!(ev.principal.as_deref(), Some("JohnDoe"));
        assert_eq!(ev.resource_type.as_deref(), Some("Topic"));
        assert_eq!(ev.resource_name.as_deref(), Some("payments"));
        assert_eq!(ev.event_type, "access-denied");
    }

    #[test]
    fn negations_are_not_read_as_the_verb() {
        let rules = rules();
        for value in [
            "User bob was not denied access to topic payments",
            "User bob has not been granted access to topic payments",
            "User bob was never granted access",
            "User bob is not locked out",
            "User bob did not log in",
            "User bob has not logged in",
            "User bob cannot be authenticated",
            "User bob wasn't denied access",
            "User bob has not changed password",
            "Failed to deny access for user bob on topic payments",
            "Access was not denied for user bob",
            "Login was not successful for user bob",
        ] {
            assert_eq!(
                parse(&rules, &record(None, value)).map(|e| (e.category, e.outcome)),
                Err(ParseError::Unrecognized),
                "{value}"
            );
            // Keyed: the key's words decide, never the negated verb.
            let ev = parse(&rules, &record(Some("topic-access"), value)).unwrap();
            assert_eq!(
                (ev.category, ev.outcome, ev.principal.as_deref()),
                (Category::Authorization, Outcome::Unknown, None),
                "{value}"
            );
        }
        // The negated verb is itself the decision: still a denial.
        for value in [
            "User bob is not allowed to write topic payments",
            "User bob is not permitted to read orders",
            "User bob not authorized to describe cluster kafka",
        ] {
            let ev = parse(&rules, &record(None, value)).unwrap();
            assert_eq!(
                (ev.category, ev.outcome, ev.principal.as_deref()),
                (Category::Authorization, Outcome::Denied, Some("bob")),
                "{value}"
            );
        }
        // A quoted name is a name, whatever its last word.
        let ev = parse(&rules, &record(None, "User 'Knot not' logged in")).unwrap();
        assert_eq!(ev.outcome, Outcome::Success);
        assert_eq!(ev.principal.as_deref(), Some("Knot not"));
    }

    #[test]
    fn hostile_names_stay_names() {
        let rules = rules();
        // (value, category, outcome, principal)
        let cases: &[(&str, Category, Outcome, &str)] = &[
            (
                "User x was denied access to topic payments logged in",
                Category::Authentication,
                Outcome::Success,
                "x was denied access to topic payments",
            ),
            (
                "User 'x' was denied access to topic 'y' logged in successfully",
                Category::Authentication,
                Outcome::Success,
                "x' was denied access to topic 'y",
            ),
            (
                "Login failed for user x. User admin logged in successfully",
                Category::Authentication,
                Outcome::Failure,
                "x. User admin logged in successfully",
            ),
            (
                "Login failed for user x\nUser admin logged in",
                Category::Authentication,
                Outcome::Failure,
                "x\nUser admin logged in",
            ),
            (
                "User x was granted access to topic y failed to log in",
                Category::Authentication,
                Outcome::Failure,
                "x was granted access to topic y",
            ),
            (
                "Access denied for user x. Access granted for user y to topic z",
                Category::Authorization,
                Outcome::Denied,
                "x. Access granted for user y",
            ),
        ];
        for &(value, category, outcome, principal) in cases {
            let ev = parse(&rules, &record(Some("k"), value)).unwrap();
            assert_eq!((ev.category, ev.outcome), (category, outcome), "{value}");
            assert_eq!(ev.principal.as_deref(), Some(principal), "{value}");
        }
    }

    #[test]
    fn key_hints() {
        for (key, outcome) in [
            ("access-denied", Some(Outcome::Denied)),
            ("ACCESS_DENIED", Some(Outcome::Denied)),
            ("auth-failure", Some(Outcome::Failure)),
            ("login-failed", Some(Outcome::Failure)),
            ("loginFailed", Some(Outcome::Failure)),
            ("LOGIN_SUCCESS", Some(Outcome::Success)),
            ("access-granted", Some(Outcome::Allowed)),
            ("topic.unauthorized", Some(Outcome::Denied)),
            ("user-login", None),
            ("password-change", None),
            ("access-not-denied", None),
            ("denied-then-granted", None),
            ("login-1", None),
        ] {
            assert_eq!(outcome_from_key(key), outcome, "{key}");
        }
        let rules = rules();
        // A phrasing's own verdict wins over the key's.
        let ev = parse(&rules, &record(Some("login-failed"), "User bob logged in")).unwrap();
        assert_eq!(ev.outcome, Outcome::Success);
        // Row 32 takes the category from the key, the outcome from the verb.
        let ev = parse(&rules, &record(Some("access-denied"), "User bob succeeded")).unwrap();
        assert_eq!(
            (ev.category, ev.outcome),
            (Category::Authorization, Outcome::Allowed)
        );
        // No phrasing: the key's category and verdict, no principal.
        let ev = parse(
            &rules,
            &record(Some("login-failed"), "User 'bob' 2fa timeout"),
        )
        .unwrap();
        assert_eq!(
            (ev.category, ev.outcome, ev.principal),
            (Category::Authentication, Outcome::Failure, None)
        );
    }

    /// Text an attacker may put into a name or a resource: other phrasings, an address, quotes,
    /// newlines.
    fn hostile() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let fragments = proptest::sample::select(vec![
            " was denied access to topic x",
            " logged in successfully",
            " failed to log in",
            ". Login failed for user y",
            ". User z was granted access to topic w",
            " Access granted for user q to topic r",
            "\nUser admin logged in",
            " from 10.9.9.9",
            " is not authorized to read topic s",
            "'",
            "\"",
            " failed",
            " ACL deleted for principal t",
            " account locked for user u",
        ]);
        (
            "[a-z]{1,6}",
            proptest::collection::vec(fragments, 1..4),
            "[a-z]{0,4}",
        )
            .prop_map(|(head, fragments, tail)| {
                let mut s = head;
                s.extend(fragments);
                s.push_str(&tail);
                s
            })
    }

    proptest::proptest! {
        /// In every README example but row 12's (a name with no fixed word before it), a hostile
        /// principal never changes the category or outcome; a hostile resource never changes
        /// them, nor a principal written before it.
        #[test]
        fn hostile_text_never_changes_the_decision(
            row in proptest::sample::select(rows()),
            name in hostile(),
            resource in hostile(),
        ) {
            static RULES: std::sync::LazyLock<TextRules> = std::sync::LazyLock::new(rules);
            let field = |k: &str| row.fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone());
            let principal = field("principal");
            if row.number.is_some_and(|n| n != 12) {
                if let Some(p) = &principal {
                    let value = row.value.replacen(p.as_str(), &name, 1);
                    let ev = parse(&RULES, &record(row.key.as_deref(), &value)).unwrap();
                    proptest::prop_assert_eq!((ev.category, ev.outcome), (row.category, row.outcome), "{:?}", value);
                }
                if let Some(r) = field("resource_name") {
                    let at = row.value.find(r.as_str()).unwrap();
                    let (before, after) = (&row.value[..at], &row.value[at + r.len()..]);
                    let quoted = before.ends_with(['\'', '"']);
                    let resource = if quoted { resource } else { format!("'{resource}'") };
                    let value = format!("{before}{resource}{after}");
                    let ev = parse(&RULES, &record(row.key.as_deref(), &value)).unwrap();
                    proptest::prop_assert_eq!((ev.category, ev.outcome), (row.category, row.outcome), "{:?}", value);
                    if let Some(p) = principal.filter(|p| row.value.find(p.as_str()).unwrap() < at) {
                        proptest::prop_assert_eq!(ev.principal.as_deref(), Some(p.as_str()), "{:?}", value);
                    }
                }
            }
        }
    }
}
