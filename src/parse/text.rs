//! Plain-text security events whose record key is the event type, as in the classic producer
//! example: key `user-login`, value `User JohnDoe logged in successfully`.
//!
//! User-defined patterns (config) are tried first, then built-in phrasings of successful and
//! failed logins, denied and granted access, logouts and password changes (case-insensitive;
//! names may be quoted; `from <ip>` / `(ip: <ip>)` gives the client host). A record with a key
//! that matches no phrasing is still an event: its category comes from the key's words
//! (`login` → authentication, `access` → authorization…) and its outcome from the value's words,
//! else `unknown`. Without a key, a value that matches nothing is `unrecognized`.

use std::borrow::Cow;

use regex::{Captures, Regex};
use serde::Deserialize;

use super::json::infer_category;
use super::{ParseError, Record};
use crate::event::{
    normalize_operation, normalize_resource_type, Category, Format, Outcome, Reason, SecurityEvent,
};

/// A user-defined pattern.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextPattern {
    /// Regex (Rust `regex` syntax) over the record value. Named captures fill event fields:
    /// principal, client_host, resource_name, resource_type, operation, mechanism, listener,
    /// client_id, api, reason.
    pub regex: String,
    /// Category of matching events (authentication, authorization, ...).
    pub category: String,
    /// Outcome of matching events (success, failure, allowed, denied, unknown).
    pub outcome: String,
    /// Event type; default the record key, else `text`.
    pub event_type: Option<String>,
    /// Only records whose key matches this regex. Default: any key.
    pub key: Option<String>,
}

/// The `parsers.text` config section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {
    /// Patterns tried in order before the built-in phrasings. Default none.
    #[serde(default)]
    pub patterns: Vec<TextPattern>,
}

const CAPTURE_FIELDS: [&str; 10] = [
    "principal",
    "client_host",
    "resource_name",
    "resource_type",
    "operation",
    "mechanism",
    "listener",
    "client_id",
    "api",
    "reason",
];

#[derive(Debug)]
struct Rule {
    regex: Regex,
    key: Option<Regex>,
    category: Category,
    outcome: Outcome,
    reason: Option<Reason>,
    event_type: Option<String>,
}

/// Compiled patterns: the user's, then the built-ins.
#[derive(Debug)]
pub struct TextRules {
    rules: Vec<Rule>,
    host: Regex,
    outcome_words: Regex,
}

const USER: &str = r#"["'`]?(?P<principal>[^\s"'`]+?)["'`]?"#;
const TARGET: &str = r#"["'`]?(?P<resource_name>[^\s"'`]+?)["'`]?"#;
const END: &str = r#"(?:[\s.,;:!]|$)"#;

/// Built-in phrasings: (regex, category, outcome, reason).
fn builtins() -> Vec<(String, Category, Outcome, Option<Reason>)> {
    use Category::*;
    use Outcome::*;
    let login = r"(?:log\s*-?\s*in|logon|log\s+on|sign\s*-?\s*in|authenticat(?:e|ion))";
    let failed_login_words = r"(?:failed|unsuccessful|invalid|bad)\s+(?:login|logon|sign[- ]?in|authentication|log-in)(?:\s+attempt)?";
    let password = r"(?:invalid|incorrect|wrong|bad)\s+(?:password|credentials)";
    vec![
        // Failures first: "failed to log in" must not read as a login.
        (
            format!(r"^user\s+{USER}\s+(?:has\s+)?failed\s+to\s+{login}{END}"),
            Authentication,
            Failure,
            None,
        ),
        (
            format!(r"^{failed_login_words}\s+(?:for|of|by|from)\s+(?:user\s+)?{USER}{END}"),
            Authentication,
            Failure,
            None,
        ),
        (
            format!(
                r"^(?:login|logon|sign[- ]?in|authentication)\s+failed\s+for\s+(?:user\s+)?{USER}{END}"
            ),
            Authentication,
            Failure,
            None,
        ),
        (
            format!(r"^{password}\s+for\s+(?:user\s+)?{USER}{END}"),
            Authentication,
            Failure,
            Some(Reason::InvalidCredentials),
        ),
        (
            format!(
                r"^user\s+{USER}\s+(?:entered\s+|used\s+|provided\s+)?(?:an?\s+)?{password}{END}"
            ),
            Authentication,
            Failure,
            Some(Reason::InvalidCredentials),
        ),
        (
            format!(r"^user\s+{USER}\s+(?:login|logon|sign[- ]?in|authentication)\s+failed{END}"),
            Authentication,
            Failure,
            None,
        ),
        // Denied access.
        (
            format!(
                r"^user\s+{USER}\s+(?:was\s+|is\s+)?denied\s+(?:access\s+)?(?:to|on|for)\s+{TARGET}{END}"
            ),
            Authorization,
            Denied,
            None,
        ),
        (
            format!(
                r"^(?:access|permission)\s+denied\s+(?:for|to)\s+(?:user\s+)?{USER}(?:\s+(?:to|on|for)\s+{TARGET})?{END}"
            ),
            Authorization,
            Denied,
            None,
        ),
        (
            format!(
                r"^user\s+{USER}\s+is\s+not\s+(?:authorized|allowed|permitted)\s+to\s+(?P<operation>[a-z_-]+)(?:\s+(?:on\s+|to\s+)?{TARGET})?{END}"
            ),
            Authorization,
            Denied,
            None,
        ),
        (
            format!(
                r"^unauthorized\s+access\s+attempt\s+(?:by|from)\s+(?:user\s+)?{USER}(?:\s+(?:to|on)\s+{TARGET})?{END}"
            ),
            Authorization,
            Denied,
            None,
        ),
        // Granted access.
        (
            format!(
                r"^user\s+{USER}\s+(?:was\s+|is\s+)?granted\s+(?:access\s+)?(?:to|on|for)\s+{TARGET}{END}"
            ),
            Authorization,
            Allowed,
            None,
        ),
        (
            format!(
                r"^access\s+granted\s+(?:for|to)\s+(?:user\s+)?{USER}(?:\s+(?:to|on|for)\s+{TARGET})?{END}"
            ),
            Authorization,
            Allowed,
            None,
        ),
        // Successful logins.
        (
            format!(
                r"^user\s+{USER}\s+(?:has\s+)?(?:successfully\s+)?(?:logged\s*-?\s*in|logged\s+on|signed\s*-?\s*in|authenticated)(?:\s+successfully)?{END}"
            ),
            Authentication,
            Success,
            None,
        ),
        (
            format!(
                r"^(?:login|logon|sign[- ]?in|authentication)\s+(?:successful|succeeded|ok)\s+(?:for|of|by)\s+(?:user\s+)?{USER}{END}"
            ),
            Authentication,
            Success,
            None,
        ),
        (
            format!(
                r"^successful(?:ly)?\s+(?:login|logon|sign[- ]?in|authentication|log-in)\s+(?:for|of|by)\s+(?:user\s+)?{USER}{END}"
            ),
            Authentication,
            Success,
            None,
        ),
        (
            format!(r"^{USER}\s+(?:authenticated|logged\s+in|signed\s+in)\s+successfully{END}"),
            Authentication,
            Success,
            None,
        ),
        // Logouts are neither a success nor a failure of authentication.
        (
            format!(
                r"^user\s+{USER}\s+(?:has\s+)?(?:logged\s*-?\s*out|signed\s*-?\s*out|logged\s+off){END}"
            ),
            Other,
            Success,
            None,
        ),
        // Password changes.
        (
            format!(
                r"^user\s+{USER}\s+(?:has\s+)?(?:changed|reset|updated)\s+(?:their\s+|his\s+|her\s+|the\s+)?password{END}"
            ),
            CredentialChange,
            Success,
            None,
        ),
        (
            format!(r"^password\s+(?:changed|reset|updated)\s+for\s+(?:user\s+)?{USER}{END}"),
            CredentialChange,
            Success,
            None,
        ),
    ]
}

fn parse_category(name: &str) -> Option<Category> {
    Category::from_name(&name.to_ascii_lowercase())
}

impl TextRules {
    pub fn new(config: &TextConfig) -> Result<TextRules, Vec<String>> {
        let mut problems = Vec::new();
        let mut rules = Vec::new();
        for (i, p) in config.patterns.iter().enumerate() {
            let at = format!("parsers.text.patterns[{i}]");
            let regex = match Regex::new(&p.regex) {
                Ok(r) => Some(r),
                Err(e) => {
                    problems.push(format!("{at}.regex: {e}"));
                    None
                }
            };
            if let Some(r) = &regex {
                for name in r.capture_names().flatten() {
                    if !CAPTURE_FIELDS.contains(&name) {
                        problems.push(format!(
                            "{at}.regex: capture `{name}` is not an event field; expected one of {}",
                            CAPTURE_FIELDS.join(", ")
                        ));
                    }
                }
            }
            let key = match p.key.as_deref().map(Regex::new) {
                None => None,
                Some(Ok(r)) => Some(r),
                Some(Err(e)) => {
                    problems.push(format!("{at}.key: {e}"));
                    None
                }
            };
            let category = parse_category(&p.category);
            if category.is_none() {
                problems.push(format!(
                    "{at}.category: `{}` is not a category; expected one of {}",
                    p.category,
                    Category::ALL.map(Category::as_str).join(", ")
                ));
            }
            let outcome = Outcome::from_name(&p.outcome.to_ascii_lowercase());
            if outcome.is_none() {
                problems.push(format!(
                    "{at}.outcome: `{}` is not an outcome; expected one of {}",
                    p.outcome,
                    Outcome::ALL.map(Outcome::as_str).join(", ")
                ));
            }
            if let (Some(regex), Some(category), Some(outcome)) = (regex, category, outcome) {
                rules.push(Rule {
                    regex,
                    key,
                    category,
                    outcome: outcome.for_category(category),
                    reason: None,
                    event_type: p.event_type.clone(),
                });
            }
        }
        for (re, category, outcome, reason) in builtins() {
            rules.push(Rule {
                // The built-ins are constants covered by the tests.
                regex: Regex::new(&format!("(?i){re}")).expect("built-in text pattern"),
                key: None,
                category,
                outcome,
                reason,
                event_type: None,
            });
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(TextRules {
            rules,
            // Constant patterns, covered by the tests.
            host: Regex::new(
                r"(?i)(?:\bfrom(?:\s+(?:host|ip|address|client))?\s+|\b(?:ip|host|client|addr|address|src)\s*[:=]\s*)/?(?P<h>\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]{0,4}(?::[0-9a-f]{0,4}){2,7})",
            )
            .expect("host pattern"),
            outcome_words: Regex::new(
                r"(?i)\b(?P<neg>fail(?:ed|ure|s)?|invalid|incorrect|wrong|denied|rejected|unauthori[sz]ed|forbidden|locked)\b|\b(?P<pos>success(?:ful(?:ly)?)?|succeeded|granted|allowed|ok)\b",
            )
            .expect("outcome words"),
        })
    }
}

/// Parses one text event.
pub fn parse<'a>(rules: &TextRules, record: &Record<'a>) -> Result<SecurityEvent<'a>, ParseError> {
    let key = match record.key {
        Some(k) if !k.is_empty() => {
            Some(std::str::from_utf8(k).map_err(|e| ParseError::InvalidUtf8 {
                valid_up_to: e.valid_up_to(),
            })?)
        }
        _ => None,
    };
    let value = std::str::from_utf8(record.payload).map_err(|e| ParseError::InvalidUtf8 {
        valid_up_to: e.valid_up_to(),
    })?;
    let text = value.trim();
    if text.is_empty() && key.is_none() {
        return Err(ParseError::Empty);
    }
    let event_type = |rule_type: Option<&String>| -> Cow<'a, str> {
        match (rule_type, key) {
            (Some(t), _) => Cow::Owned(t.clone()),
            (None, Some(k)) => Cow::Owned(k.to_string()),
            (None, None) => Cow::Borrowed("text"),
        }
    };

    for rule in &rules.rules {
        if let Some(key_re) = &rule.key {
            if !key.is_some_and(|k| key_re.is_match(k)) {
                continue;
            }
        }
        let Some(caps) = rule.regex.captures(text) else {
            continue;
        };
        let mut event = new_event(
            record,
            rule.category,
            rule.outcome,
            event_type(rule.event_type.as_ref()),
        );
        fill(&mut event, &caps);
        if event.reason.is_none() {
            event.reason = rule.reason;
        }
        if event.client_host.is_none() {
            event.client_host = host(rules, text);
        }
        return Ok(event);
    }

    // No phrasing matched: the key still says what kind of event this is.
    let Some(key) = key else {
        return Err(ParseError::Unrecognized);
    };
    let lower_key = key.to_ascii_lowercase();
    let category = infer_category(&lower_key)
        .or_else(|| {
            (lower_key.contains("logout") || lower_key.contains("logoff"))
                .then_some(Category::Other)
        })
        .unwrap_or(Category::Other);
    let outcome = match rules.outcome_words.captures(text) {
        Some(c) if c.name("neg").is_some() => Outcome::Failure,
        Some(_) => Outcome::Success,
        None => Outcome::Unknown,
    }
    .for_category(category);
    let mut event = new_event(record, category, outcome, Cow::Owned(key.to_string()));
    event.client_host = host(rules, text);
    Ok(event)
}

fn new_event<'a>(
    record: &Record<'a>,
    category: Category,
    outcome: Outcome,
    event_type: Cow<'a, str>,
) -> SecurityEvent<'a> {
    let mut event = SecurityEvent::new(
        Format::Text,
        category,
        outcome,
        event_type,
        record.origin.clone(),
        record.observed_time,
    );
    event.event_time = record.timestamp;
    event
}

/// Copies named captures into the event; trailing punctuation is not part of a name.
fn fill(event: &mut SecurityEvent<'_>, caps: &Captures<'_>) {
    let get = |name: &str| -> Option<Cow<'static, str>> {
        caps.name(name)
            .map(|m| m.as_str().trim_end_matches(['.', ',', ';', ':', '!']))
            .filter(|s| !s.is_empty())
            .map(|s| Cow::Owned(s.to_string()))
    };
    event.principal = get("principal");
    event.client_host =
        get("client_host").map(|h| Cow::Owned(h.trim_start_matches('/').to_string()));
    event.resource_name = get("resource_name");
    event.resource_type =
        get("resource_type").map(|r| Cow::Owned(normalize_resource_type(&r).into_owned()));
    event.operation = get("operation").map(|o| Cow::Owned(normalize_operation(&o).into_owned()));
    event.mechanism = get("mechanism");
    event.listener = get("listener");
    event.client_id = get("client_id");
    event.api = get("api");
    event.reason = get("reason").map(|r| super::reason_from_message(&r));
}

fn host(rules: &TextRules, text: &str) -> Option<Cow<'static, str>> {
    rules
        .host
        .captures(text)
        .and_then(|c| c.name("h"))
        .map(|m| Cow::Owned(m.as_str().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> TextRules {
        TextRules::new(&TextConfig::default()).unwrap()
    }

    fn event(key: Option<&str>, value: &str) -> SecurityEvent<'static> {
        let mut r = Record::from_payload(value.as_bytes());
        r.key = key.map(str::as_bytes);
        parse(&rules(), &r).unwrap().into_owned()
    }

    #[test]
    fn the_classic_producer_example_needs_no_config() {
        let e = event(Some("user-login"), "User JohnDoe logged in successfully");
        assert_eq!(e.category, Category::Authentication);
        assert_eq!(e.outcome, Outcome::Success);
        assert_eq!(e.principal.as_deref(), Some("JohnDoe"));
        assert_eq!(e.event_type, "user-login");
        assert_eq!(e.format, Format::Text);
    }

    #[test]
    fn failed_logins_in_common_phrasings() {
        for (value, user, host) in [
            (
                "User mallory failed to log in from 10.6.6.6",
                "mallory",
                Some("10.6.6.6"),
            ),
            ("Failed login for user bob.", "bob", None),
            (
                "Login failed for user 'carol' from host 192.168.1.9",
                "carol",
                Some("192.168.1.9"),
            ),
            (
                "Invalid password for user dave (ip: 10.0.0.7)",
                "dave",
                Some("10.0.0.7"),
            ),
            ("Authentication failed for user eve", "eve", None),
            ("User frank login failed", "frank", None),
            (
                "failed login attempt for \"grace\" from 2001:db8::1",
                "grace",
                Some("2001:db8::1"),
            ),
        ] {
            let e = event(Some("user-login"), value);
            assert_eq!(
                (e.category, e.outcome),
                (Category::Authentication, Outcome::Failure),
                "{value}"
            );
            assert_eq!(e.principal.as_deref(), Some(user), "{value}");
            assert_eq!(e.client_host.as_deref(), host, "{value}");
        }
        let e = event(None, "Incorrect password for henry");
        assert_eq!(e.reason, Some(Reason::InvalidCredentials));
        assert_eq!(e.event_type, "text");
    }

    #[test]
    fn denied_and_granted_access() {
        let e = event(
            Some("access-denied"),
            "User carol denied access to payments-db",
        );
        assert_eq!(
            (e.category, e.outcome),
            (Category::Authorization, Outcome::Denied)
        );
        assert_eq!(e.principal.as_deref(), Some("carol"));
        assert_eq!(e.resource_name.as_deref(), Some("payments-db"));
        let e = event(None, "Access denied for user bob to orders");
        assert_eq!(
            (e.outcome, e.resource_name.as_deref()),
            (Outcome::Denied, Some("orders"))
        );
        let e = event(None, "User alice is not authorized to write orders");
        assert_eq!(e.operation.as_deref(), Some("WRITE"));
        assert_eq!(e.resource_name.as_deref(), Some("orders"));
        let e = event(None, "User alice granted access to reports");
        assert_eq!(
            (e.category, e.outcome),
            (Category::Authorization, Outcome::Allowed)
        );
    }

    #[test]
    fn logouts_and_password_changes() {
        let e = event(Some("user-logout"), "User JohnDoe logged out");
        assert_eq!((e.category, e.outcome), (Category::Other, Outcome::Success));
        let e = event(None, "Password changed for user bob");
        assert_eq!(
            (e.category, e.principal.as_deref()),
            (Category::CredentialChange, Some("bob"))
        );
    }

    #[test]
    fn a_key_keeps_an_unrecognized_value_an_event() {
        let e = event(Some("user-login"), "something odd happened");
        assert_eq!(
            (e.category, e.outcome),
            (Category::Authentication, Outcome::Unknown)
        );
        let e = event(Some("permission-check"), "check denied at gate 3");
        assert_eq!(
            (e.category, e.outcome),
            (Category::Authorization, Outcome::Denied)
        );
        let r = Record::from_payload(b"something odd happened");
        assert_eq!(parse(&rules(), &r).unwrap_err(), ParseError::Unrecognized);
    }

    #[test]
    fn bad_bytes_and_empty_records() {
        let r = Record::from_payload(b"User \xff logged in").with_key(b"user-login");
        assert_eq!(parse(&rules(), &r).unwrap_err().reason(), "invalid_utf8");
        let r = Record::from_payload(b"x").with_key(b"\xfe");
        assert_eq!(parse(&rules(), &r).unwrap_err().reason(), "invalid_utf8");
        assert_eq!(
            parse(&rules(), &Record::from_payload(b"  ")).unwrap_err(),
            ParseError::Empty
        );
    }

    #[test]
    fn an_injected_phrase_cannot_change_the_principal() {
        // The name is one token: a forged second sentence stays outside it.
        let e = event(
            Some("user-login"),
            "User eve\nUser admin logged in successfully failed to log in",
        );
        assert_ne!(e.principal.as_deref(), Some("admin"));
    }

    #[test]
    fn user_patterns_come_first_and_fill_fields() {
        let config = TextConfig {
            patterns: vec![TextPattern {
                regex: r"^ACCESS DENIED user=(?P<principal>\S+) resource=(?P<resource_name>\S+) op=(?P<operation>\S+)".into(),
                category: "authorization".into(),
                outcome: "failure".into(),
                event_type: Some("gateway-deny".into()),
                key: None,
            }],
        };
        let rules = TextRules::new(&config).unwrap();
        let e = parse(
            &rules,
            &Record::from_payload(b"ACCESS DENIED user=zed resource=vault op=Read"),
        )
        .unwrap();
        assert_eq!(
            (e.category, e.outcome),
            (Category::Authorization, Outcome::Denied)
        );
        assert_eq!(e.event_type, "gateway-deny");
        assert_eq!(e.principal.as_deref(), Some("zed"));
        assert_eq!(e.operation.as_deref(), Some("READ"));
    }

    #[test]
    fn config_problems_are_all_reported() {
        let config = TextConfig {
            patterns: vec![
                TextPattern {
                    regex: "(".into(),
                    category: "nope".into(),
                    outcome: "meh".into(),
                    event_type: None,
                    key: Some("[".into()),
                },
                TextPattern {
                    regex: "(?P<who>x)".into(),
                    category: "other".into(),
                    outcome: "unknown".into(),
                    event_type: None,
                    key: None,
                },
            ],
        };
        let problems = TextRules::new(&config).unwrap_err();
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(problems[0].starts_with("parsers.text.patterns[0].regex: "));
        assert!(problems.iter().any(|p| p.contains("capture `who`")));
    }
}
