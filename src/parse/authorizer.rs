//! Authorizer audit lines (`kafka.authorizer.logger`, `kafka-authorizer.log`) → authorization
//! events. Regex-free: `memchr::memmem` and Kafka's fixed separators.
//!
//! # Shapes (`StandardAuthorizer` / `AclAuthorizer` `logAuditMessage`)
//!
//! - KRaft `StandardAuthorizer`, 3.3 → 4.x (4.4.0 checked on a real broker):
//!   `Principal = User:alice is Denied operation = WRITE from host = 127.0.0.1 on resource =
//!   Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny`.
//!   The rule is `SuperUser`, `DefaultAllow`, `DefaultDeny` or
//!   `MatchingAcl(acl=StandardAcl[resourceType=…, …, permissionType=DENY])` (4.4 prints
//!   brackets; earlier versions `StandardAcl(…)`; both are read).
//! - ZooKeeper `AclAuthorizer`, 2.4 → 3.9: `… is Denied Operation = Read from host = … on resource =
//!   Topic:LITERAL:orders for request = Produce with resourceRefCount = 1` (PascalCase operation,
//!   no rule).
//! - Older forms (`SimpleAclAuthorizer` ≤ 2.x): no `for request … resourceRefCount`, and before
//!   2.0 no pattern type (`on resource = Topic:orders`).
//! - Confluent Server prefixes the message with `logAuthorization - `.
//! - A pasted line ([`LogEntry::partial`]) whose poster elided the rest after the host with
//!   ` ... ` gives the principal, decision, operation, host and (from a trailing rule) reason,
//!   without a resource.
//!
//! # Fields
//!
//! `outcome` Allowed/Denied; `principal` as written (`User:CN=alice,OU=eng,O=Acme` keeps its commas
//! and spaces); `operation` through [`crate::event::normalize_operation`]; `resource_type`, `pattern_type`,
//! `resource_name`; `api` (`Produce`); `client_host` (IPv6 as Kafka prints it,
//! `0:0:0:0:0:0:0:1`). A denial by `MatchingAcl(… permissionType=DENY)` has reason
//! [`Reason::DenyAcl`], by `DefaultDeny` [`Reason::NoMatchingAcl`]; ZooKeeper lines do not say why,
//! so they carry no reason.
//!
//! # Log injection: neither forge nor hide
//!
//! Principals (SSL DNs, SASL names) and group / transactional ids (resource names) come from
//! clients and can hold ` is Denied operation = `, ` for request = `, a line break, or anything
//! else; Kafka does not escape them. A suspect entry is read, not refused (refusing it would let
//! a client hide its own denials), and the genuine decision comes from the parts the broker
//! wrote, read from both ends:
//!
//! - the tail from the end: the **last** ` for request = <ApiKeys word> with resourceRefCount =
//!   <digits>` followed by a well-formed rule running to the end of the line (or, for the
//!   ZooKeeper shape, by the end of the line) gives the API and the rule;
//! - the decision clause from the start: ` is Allowed|Denied operation|Operation = OPERATION from
//!   host = ADDRESS on resource = TYPE:` with every word from Kafka's fixed vocabulary gives the
//!   principal (before it), decision, operation, host and resource type. When several
//!   well-formed clauses exist (one is forged, in the principal or in the resource name), a
//!   clause counts only if it agrees with the rule and its resource can hold the text after it
//!   (a topic name is at most 249 of `[a-zA-Z0-9._-]`; the cluster is `kafka-cluster`); of those,
//!   the **first** wins, as any client can choose a group id while a principal is issued by the
//!   cluster's identity system. When none is left the entry is an injection
//!   error naming the first clause's principal ([`ParseError::injection`]);
//! - the hostile text stays in the resource name, control characters escaped and cut after
//!   [`MAX_SUSPECT_NAME_CHARS`]; a cut entry (the framer's size limit) is read from its prefix,
//!   without a tail;
//! - a message spanning lines: its last line may be the client's (a forged line the framer kept
//!   inside the entry), so its rule does not choose the clause, a rule contradicting the decision
//!   gives no API, and [`Decision::tail_doubtful`] tells the pipeline to look for the genuine
//!   tail at the end of the next entry ([`completion`]), whose first line is then the client's.
//!
//! Every such entry is [`Decision::suspect`]: the pipeline counts it in
//! `kafka_security_log_injection_total` and hands it to the `log_injection` detector.
//!
//! Residues: a principal holding a whole clause that agrees with the rule, on a group or
//! transactional id, has the decision counted for the principal text before that clause. In the
//! pre-2.4 shape without a tail, a resource name ending in a forged ` for request = X with
//! resourceRefCount = 1` is read as the ZooKeeper shape. A group id that closes its line with a
//! forged ` (kafka.authorizer.logger)` and forges the next line is not seen by the framer: the
//! decision is read without its tail ([`Decision::has_tail`]), which the pipeline takes as a cut
//! line once its stream has shown tails, and completes from the next entry; several whole forged
//! lines this way are read as decisions, all but the last.
//!
//! # Speed
//!
//! No allocation; searchers built once; the tail of a line with a one-word rule is read
//! backwards without searching. `BENCHMARKS.md` has the figures: about 4 million lines/s per
//! core for `DefaultDeny` denials on the shared 2-vCPU VM, header split and UTF-8 check included.

use std::borrow::Cow;
use std::sync::LazyLock;
use std::time::SystemTime;

use memchr::memmem;

use super::log4j::LogEntry;
use super::ParseError;
use crate::event::{acl_operation, Category, Format, Origin, Outcome, Reason, SecurityEvent};

/// The logger every authorizer audit line is written to.
pub const LOGGER: &str = "kafka.authorizer.logger";

/// The `event_type` of every event from this parser.
pub const EVENT_TYPE: &str = "authorization";

/// Parses a framed entry. `Ok(None)` for entries of other loggers and for the authorizer's
/// non-decision lines (`No acl found for resource …`).
pub fn parse(entry: &LogEntry) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    parse_decision(entry).map(|d| d.map(|d| d.event))
}

/// A decision read from an entry, and what the entry's text says about log injection.
#[derive(Debug)]
pub struct Decision<'a> {
    pub event: SecurityEvent<'a>,
    /// The entry holds text a client forged to look like log structure (a second decision
    /// clause, a tail-like suffix, a line break, a header line), or it was cut: the decision is
    /// still counted, and the entry is also counted as a suspected injection.
    pub suspect: bool,
    /// The API and rule come from the end of an entry whose last line may be a line the client
    /// forged (the entry absorbed a header-like line): the entry the framer emits next may hold
    /// the genuine ones ([`completion`]).
    pub tail_doubtful: bool,
    /// The decision was read with its tail (` for request = …`), which every decision of
    /// Kafka 2.4 and later has.
    pub has_tail: bool,
}

/// [`parse`], with what the entry says about log injection.
pub fn parse_decision(entry: &LogEntry) -> Result<Option<Decision<'_>>, ParseError> {
    parse_decision_at(entry, crate::clock::now())
}

/// [`parse_decision`], the event observed at `observed`.
#[inline]
pub fn parse_decision_at(
    entry: &LogEntry,
    observed: SystemTime,
) -> Result<Option<Decision<'_>>, ParseError> {
    if entry
        .logger
        .as_deref()
        .is_some_and(|l| !l.contains("authoriz"))
    {
        return Ok(None);
    }
    // One result, amended in place: a decision is hundreds of bytes, and each move copies them.
    let mut decision = read(
        &entry.message,
        Some(entry.timestamp),
        observed,
        entry.truncated,
    );
    // A pasted line (no layout) may have been shortened by its poster.
    if entry.partial && matches!(decision, Err(ParseError::Unrecognized)) {
        decision = read_elided(&entry.message, Some(entry.timestamp), observed);
    }
    if let Ok(Some(d)) = &mut decision {
        d.suspect |= entry.suspect;
        d.tail_doubtful = entry.suspect && entry.message.contains('\n');
    }
    decision
}

/// Parses one message (`%m`, without timestamp, level and logger). `Ok(None)` when it is not an
/// authorization decision.
pub fn parse_message(
    message: &str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
) -> Result<Option<SecurityEvent<'_>>, ParseError> {
    read(message, event_time, observed_time, false).map(|d| d.map(|d| d.event))
}

/// The API and rule that end an entry following one whose own tail is doubtful (see
/// [`Decision::tail_doubtful`]), when they can complete `held`: the entry's last line ends in a
/// well-formed tail (read backwards, whatever precedes it on the line or in the entry) whose rule
/// agrees with `held`'s decision. The entry's first line is then a client's forgery and is not
/// read.
pub fn completion<'e>(held: &SecurityEvent<'_>, entry: &'e LogEntry) -> Option<Completion<'e>> {
    let last = entry.message.rsplit('\n').next().unwrap_or("");
    // A forged line that ended in a logger carries the genuine one on as text.
    let last = last
        .strip_suffix(" (kafka.authorizer.logger)")
        .unwrap_or(last);
    let (_, tail) = split_tail(last);
    let api = tail.api?;
    let allowed = held.outcome == Outcome::Allowed;
    if !rule_agrees(tail.rule, allowed) {
        return None;
    }
    Some(Completion {
        api,
        reason: reason_for(allowed, tail.rule),
    })
}

/// The genuine end of a decision, found in the entry after it ([`completion`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Completion<'e> {
    pub api: &'e str,
    pub reason: Option<Reason>,
}

/// Longest resource name kept from a suspect entry, in characters (after escaping).
pub const MAX_SUSPECT_NAME_CHARS: usize = 200;

/// Reads a decision. A message the framer cut (`truncated`) has lost its tail: its decision is
/// read from the prefix alone.
#[inline]
fn read(
    message: &str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
    truncated: bool,
) -> Result<Option<Decision<'_>>, ParseError> {
    let body = message
        .strip_prefix("Principal = ")
        .or_else(|| message.strip_prefix("logAuthorization - Principal = "));
    let Some(body) = body else {
        return Ok(None);
    };
    let spans_lines = memchr::memchr2(b'\n', b'\r', body.as_bytes()).is_some();
    let (head, tail) = if truncated {
        (body, Tail::default())
    } else {
        split_tail(body)
    };
    // Across a line break the last line may be the client's, tail and rule included: the rule
    // then does not choose the clause.
    let rule = if spans_lines { None } else { tail.rule };
    let (clause, several) = find_clause(head, rule)?;
    let suspect = truncated
        || spans_lines
        || several
        || looks_forged(clause.principal)
        || looks_forged(clause.resource_name);

    let outcome = if clause.allowed {
        Outcome::Allowed
    } else {
        Outcome::Denied
    };
    let mut ev = SecurityEvent::new(
        Format::AuthorizerLog,
        Category::Authorization,
        outcome,
        EVENT_TYPE,
        Origin::Memory,
        observed_time,
    );
    ev.event_time = event_time;
    ev.principal = Some(escape(clause.principal, usize::MAX));
    ev.operation = Some(clause.operation.into());
    ev.client_host = Some(clause.host.into());
    ev.resource_type = Some(clause.resource_type.into());
    ev.pattern_type = clause.pattern_type.map(Into::into);
    ev.resource_name = Some(if suspect {
        escape(clause.resource_name, MAX_SUSPECT_NAME_CHARS)
    } else {
        clause.resource_name.into()
    });
    // A tail whose rule contradicts the decision is a client's (the clause was chosen without
    // it): no API rather than a forged one.
    if rule_agrees(tail.rule, clause.allowed) {
        ev.api = tail.api.map(Into::into);
        ev.reason = reason_for(clause.allowed, tail.rule);
    }
    Ok(Some(Decision {
        event: ev,
        suspect,
        tail_doubtful: false,
        has_tail: tail.api.is_some(),
    }))
}

/// A decision whose poster elided the rest of the line after its host with ` ... `
/// (`Principal = User:a is Denied operation = DESCRIBE from host = 10.0.0.1 ... based on rule
/// DefaultDeny`): the principal, decision, operation and host, and the reason when the line
/// still ends in a rule that agrees with the decision; no resource. Read from partial lines
/// only: the broker always writes ` on resource = ` after the host, so a broker's log never has
/// this shape.
fn read_elided(
    message: &str,
    event_time: Option<SystemTime>,
    observed_time: SystemTime,
) -> Result<Option<Decision<'_>>, ParseError> {
    let body = message
        .strip_prefix("Principal = ")
        .or_else(|| message.strip_prefix("logAuthorization - Principal = "))
        .ok_or(ParseError::Unrecognized)?;
    let (principal, allowed, operation, host, rest) = IS
        .find_iter(body.as_bytes())
        .filter(|&at| at > 0)
        .find_map(|at| {
            let (allowed, operation, host, rest) = read_decision(&body[at..])?;
            Some((&body[..at], allowed, operation, host, rest))
        })
        .ok_or(ParseError::Unrecognized)?;
    if !(rest.starts_with(" ...") || rest.starts_with(" …")) {
        return Err(ParseError::Unrecognized);
    }
    let rule = rest.rsplit_once(BASED_ON).and_then(|(_, r)| read_rule(r));
    let mut ev = SecurityEvent::new(
        Format::AuthorizerLog,
        Category::Authorization,
        if allowed {
            Outcome::Allowed
        } else {
            Outcome::Denied
        },
        EVENT_TYPE,
        Origin::Memory,
        observed_time,
    );
    ev.event_time = event_time;
    ev.principal = Some(escape(principal, usize::MAX));
    ev.operation = Some(operation.into());
    ev.client_host = Some(host.into());
    if rule_agrees(rule, allowed) {
        ev.reason = reason_for(allowed, rule);
    }
    Ok(Some(Decision {
        event: ev,
        suspect: looks_forged(principal),
        tail_doubtful: false,
        has_tail: false,
    }))
}

fn reason_for(allowed: bool, rule: Option<Rule>) -> Option<Reason> {
    match (allowed, rule) {
        (false, Some(Rule::DenyAcl)) => Some(Reason::DenyAcl),
        (false, Some(Rule::DefaultDeny)) => Some(Reason::NoMatchingAcl),
        _ => None,
    }
}

/// Whether a client-chosen field holds Kafka's own separators or a control character: text
/// written to pass for log structure.
fn looks_forged(field: &str) -> bool {
    // Most names hold no space (topics, `User:alice`): every separator has one.
    if !field.bytes().any(|b| b == b' ' || b.is_ascii_control()) {
        return false;
    }
    field.bytes().any(|b| b.is_ascii_control())
        || [
            " is Denied ",
            " is Allowed ",
            " on resource = ",
            FOR_REQUEST,
            BASED_ON,
        ]
        .iter()
        .any(|sep| memmem::find(field.as_bytes(), sep.as_bytes()).is_some())
}

/// `field` with control characters and backslashes escaped (`\n`, `\u{7}`), cut after
/// `max_chars` characters (then ending in `…`). Borrowed when nothing changes.
fn escape(field: &str, max_chars: usize) -> Cow<'_, str> {
    // Printable ASCII without a backslash (nearly every name) is one byte a character: one pass
    // over the bytes, no decoding.
    let printable = |b: &u8| (b' '..=b'~').contains(b) && *b != b'\\';
    if field.len() <= max_chars && field.as_bytes().iter().all(printable) {
        return Cow::Borrowed(field);
    }
    let plain = |c: char| !c.is_control() && c != '\\';
    if field.chars().all(plain) && field.chars().nth(max_chars).is_none() {
        return Cow::Borrowed(field);
    }
    let mut out = String::with_capacity(field.len().min(max_chars.saturating_mul(2)));
    for (n, c) in field.chars().enumerate() {
        if n >= max_chars {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&c.escape_unicode().to_string()),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Allow,
    DefaultDeny,
    DenyAcl,
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Tail<'a> {
    api: Option<&'a str>,
    rule: Option<Rule>,
}

const FOR_REQUEST: &str = " for request = ";
const REF_COUNT: &str = " with resourceRefCount = ";
const BASED_ON: &str = " based on rule ";

// Searchers built once: building one per call costs more than the search on a 220-byte line.
// Forward searches: memchr's forward finder is vectorized, its reverse one is not.
static FOR_REQUEST_FWD: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(FOR_REQUEST.as_bytes()));
static IS: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b" is "));

/// Splits `body` into the part before the request tail and the tail's fields: the rightmost
/// ` for request = ` followed by a well-formed tail running to the end (a principal or resource
/// name may hold the separator too). Without one, the whole body is the head (pre-2.4 shape).
fn split_tail(body: &str) -> (&str, Tail<'_>) {
    // Most lines end in a one-word rule or in the ZooKeeper shape's digits: then the tail's
    // grammar (an alphanumeric API, digits, fixed words) read backwards from the end gives its
    // one possible start, without searching. Only a `MatchingAcl(…)` rule, whose text can
    // hold anything, needs the search.
    match body.as_bytes().last() {
        Some(b')' | b']') => {}
        Some(_) => {
            return match tail_from_end(body) {
                Some((at, tail)) => (&body[..at], tail),
                None => (body, Tail::default()),
            }
        }
        None => return (body, Tail::default()),
    }
    split_tail_by_search(body)
}

/// [`split_tail`] by searching every ` for request = ` (the rightmost well-formed tail wins).
fn split_tail_by_search(body: &str) -> (&str, Tail<'_>) {
    let mut found = None;
    for at in FOR_REQUEST_FWD.find_iter(body.as_bytes()) {
        if let Some(tail) = read_tail(&body[at + FOR_REQUEST.len()..]) {
            found = Some((at, tail));
        }
    }
    match found {
        Some((at, tail)) => (&body[..at], tail),
        None => (body, Tail::default()),
    }
}

/// The tail of a body ending in a one-word rule (`DefaultDeny`, `DefaultAllow`, `SuperUser`) or
/// in `resourceRefCount = <n>`, read backwards: where its ` for request = ` starts, and its
/// fields. The same answer as the forward search, as every part of such a tail has one
/// possible length.
fn tail_from_end(body: &str) -> Option<(usize, Tail<'_>)> {
    let (rest, rule) = if body.ends_with(|c: char| c.is_ascii_digit()) {
        (body, None)
    } else {
        let (rest, rule) = [
            ("SuperUser", Rule::Allow),
            ("DefaultAllow", Rule::Allow),
            ("DefaultDeny", Rule::DefaultDeny),
        ]
        .into_iter()
        .find_map(|(word, rule)| body.strip_suffix(word).map(|r| (r, rule)))?;
        (rest.strip_suffix(BASED_ON)?, Some(rule))
    };
    let digits = rest.bytes().rev().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = rest[..rest.len() - digits].strip_suffix(REF_COUNT)?;
    let api_len = rest
        .bytes()
        .rev()
        .take_while(u8::is_ascii_alphanumeric)
        .count();
    if api_len == 0 {
        return None;
    }
    let api = &rest[rest.len() - api_len..];
    let at = rest[..rest.len() - api_len]
        .strip_suffix(FOR_REQUEST)?
        .len();
    Some((
        at,
        Tail {
            api: Some(api),
            rule,
        },
    ))
}

/// Reads `<Api> with resourceRefCount = <n>[ based on rule <rule>]` running to the end.
fn read_tail(s: &str) -> Option<Tail<'_>> {
    let n = s.bytes().take_while(u8::is_ascii_alphanumeric).count();
    if n == 0 {
        return None;
    }
    let api = &s[..n];
    let rest = s[n..].strip_prefix(REF_COUNT)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let rest = &rest[digits..];
    if rest.is_empty() {
        return Some(Tail {
            api: Some(api),
            rule: None,
        });
    }
    let rule = read_rule(rest.strip_prefix(BASED_ON)?)?;
    Some(Tail {
        api: Some(api),
        rule: Some(rule),
    })
}

fn read_rule(s: &str) -> Option<Rule> {
    match s {
        "SuperUser" | "DefaultAllow" => return Some(Rule::Allow),
        "DefaultDeny" => return Some(Rule::DefaultDeny),
        _ => {}
    }
    let acl = s
        .strip_prefix("MatchingAcl(acl=StandardAcl[")
        .and_then(|a| a.strip_suffix("])"))
        .or_else(|| {
            s.strip_prefix("MatchingAcl(acl=StandardAcl(")
                .and_then(|a| a.strip_suffix("))"))
        })?;
    if !acl.starts_with("resourceType=") {
        return None;
    }
    if acl.ends_with(", permissionType=DENY") {
        Some(Rule::DenyAcl)
    } else if acl.ends_with(", permissionType=ALLOW") {
        Some(Rule::Allow)
    } else {
        None
    }
}

#[derive(Debug)]
struct Clause<'a> {
    principal: &'a str,
    allowed: bool,
    /// The `AclOperation` enum name.
    operation: &'static str,
    host: &'a str,
    resource_type: &'a str,
    pattern_type: Option<&'a str>,
    resource_name: &'a str,
}

/// Finds the genuine decision clause in `head` (`<principal> is <Allowed|Denied> …`), and
/// whether `head` held more than one well-formed clause (a forgery).
///
/// Both the principal before the clause and the resource name after it can hold a forged
/// clause. A clause can only be the genuine one when it agrees with the rule the tail names
/// (`SuperUser`, `DefaultAllow` and allowing ACLs allow; `DefaultDeny` and denying ACLs deny)
/// and when its resource can hold the text after it (a topic name is at most 249 of
/// `[a-zA-Z0-9._-]`, the cluster is `kafka-cluster`). Of the clauses left, the first wins: any
/// client can choose a group or transactional id, while a principal is issued by the cluster's
/// identity system (a CA, SCRAM credentials an admin created, an identity provider).
fn find_clause(head: &str, rule: Option<Rule>) -> Result<(Clause<'_>, bool), ParseError> {
    let bytes = head.as_bytes();
    let mut found: Option<Clause<'_>> = None;
    let mut first_principal = None;
    let mut clauses = 0usize;
    for at in IS.find_iter(bytes) {
        if at == 0 {
            continue;
        }
        if let Some(c) = read_clause(head, at) {
            clauses += 1;
            first_principal.get_or_insert(c.principal);
            if found.is_none() && could_be_genuine(&c, rule) {
                found = Some(c);
            }
        }
    }
    match found {
        Some(c) => Ok((c, clauses > 1)),
        None if clauses == 0 => Err(ParseError::Unrecognized),
        None => Err(ParseError::injection(
            "no decision clause agrees with the rule and resource",
            first_principal
                .map(|p| escape(p, MAX_SUSPECT_NAME_CHARS))
                .as_deref(),
        )),
    }
}

/// Whether a rule allows `allowed` (no rule: the ZooKeeper and older shapes, which say nothing).
fn rule_agrees(rule: Option<Rule>, allowed: bool) -> bool {
    match rule {
        None => true,
        Some(Rule::Allow) => allowed,
        Some(Rule::DefaultDeny | Rule::DenyAcl) => !allowed,
    }
}

/// See [`find_clause`].
fn could_be_genuine(c: &Clause<'_>, rule: Option<Rule>) -> bool {
    rule_agrees(rule, c.allowed)
        && match c.resource_type {
            // Kafka's `Topic.validate`: 1 to 249 of `[a-zA-Z0-9._-]`.
            "Topic" => {
                (1..=249).contains(&c.resource_name.len())
                    && c.resource_name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
            }
            "Cluster" => c.resource_name == "kafka-cluster",
            _ => true,
        }
}

/// Reads ` is <Allowed|Denied> <o|O>peration = OP from host = H on resource = RT:[PT:]NAME`
/// starting at `at` (the position of ` is `).
fn read_clause(head: &str, at: usize) -> Option<Clause<'_>> {
    let (allowed, operation, host, s) = read_decision(&head[at..])?;
    let s = s.strip_prefix(" on resource = ")?;
    let (resource_type, s) = split_byte(s, b':')?;
    if !matches!(
        resource_type,
        "Topic" | "Group" | "Cluster" | "TransactionalId" | "DelegationToken" | "User"
    ) {
        return None;
    }
    let (pattern_type, resource_name) = match split_byte(s, b':') {
        Some((pt, name)) if matches!(pt, "LITERAL" | "PREFIXED" | "MATCH" | "ANY" | "UNKNOWN") => {
            (Some(pt), name)
        }
        _ => (None, s),
    };
    Some(Clause {
        principal: &head[..at],
        allowed,
        operation,
        host,
        resource_type,
        pattern_type,
        resource_name,
    })
}

/// Reads ` is <Allowed|Denied> <o|O>peration = OP from host = H` at the start of `s`: the
/// decision, operation, host and the text after the host.
fn read_decision(s: &str) -> Option<(bool, &'static str, &str, &str)> {
    let s = s.strip_prefix(" is ")?;
    let (allowed, s) = if let Some(r) = s.strip_prefix("Allowed ") {
        (true, r)
    } else {
        (false, s.strip_prefix("Denied ")?)
    };
    let s = s
        .strip_prefix("operation = ")
        .or_else(|| s.strip_prefix("Operation = "))?;
    let (operation, s) = split_byte(s, b' ')?;
    let operation = acl_operation(operation)?;
    let s = s.strip_prefix("from host = ")?;
    // One pass: the host runs to the first byte a host cannot hold, which must be the space.
    let host_len = s.bytes().take_while(|&b| HOST_BYTE[usize::from(b)]).count();
    if host_len == 0 {
        return None;
    }
    Some((allowed, operation, &s[..host_len], &s[host_len..]))
}

/// Bytes a `from host = ` value may hold: an IPv4/IPv6 address (with a `%zone`), a host name,
/// or `*`. A table lookup per byte: this check runs on every line.
static HOST_BYTE: [bool; 256] = super::byte_table!(
    |c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b':' | b'%' | b'-' | b'_' | b'*')
);

/// `str::split_once` for an ASCII byte that comes within a few dozen bytes (an operation, a
/// host, a resource type): a plain loop, which beats memchr's dispatch at these distances.
#[inline]
fn split_byte(s: &str, b: u8) -> Option<(&str, &str)> {
    debug_assert!(b.is_ascii());
    let at = s.bytes().position(|c| c == b)?;
    // `b` is ASCII, so `at` and `at + 1` are char boundaries.
    Some((&s[..at], &s[at + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::log4j::{frame_all, FramerConfig};
    use crate::parse::test_support::{self, assert_fields};

    fn one(message: &str) -> SecurityEvent<'_> {
        test_support::event(parse_message, message)
    }

    fn err(message: &str) -> ParseError {
        test_support::error(parse_message, message)
    }

    const KRAFT: &str = "Principal = User:alice is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny";

    #[test]
    fn kraft_default_deny() {
        assert_fields(
            &one(KRAFT),
            &[
                ("format", Some("authorizer_log")),
                ("category", Some("authorization")),
                ("outcome", Some("denied")),
                ("principal", Some("User:alice")),
                ("operation", Some("WRITE")),
                ("client_host", Some("127.0.0.1")),
                ("resource_type", Some("Topic")),
                ("pattern_type", Some("LITERAL")),
                ("resource_name", Some("orders")),
                ("api", Some("Produce")),
                ("reason", Some("no_matching_acl")),
            ],
        );
    }

    #[test]
    fn matching_deny_acl_in_brackets_and_parens() {
        for acl in [
            "StandardAcl[resourceType=TOPIC, resourceName=alp, patternType=PREFIXED, principal=User:bob, host=*, operation=READ, permissionType=DENY]",
            "StandardAcl(resourceType=TOPIC, resourceName=alp, patternType=PREFIXED, principal=User:bob, host=*, operation=READ, permissionType=DENY)",
        ] {
            let line = format!("Principal = User:bob is Denied operation = READ from host = 127.0.0.1 on resource = Topic:LITERAL:alpha for request = Fetch with resourceRefCount = 1 based on rule MatchingAcl(acl={acl})");
            let e = one(&line).into_owned();
            assert_eq!(e.reason, Some(Reason::DenyAcl));
            assert_eq!(e.resource_name.as_deref(), Some("alpha"));
            assert_eq!(e.api.as_deref(), Some("Fetch"));
        }
    }

    #[test]
    fn zookeeper_and_older_shapes() {
        let e = one("Principal = User:bob is Denied Operation = DescribeConfigs from host = 10.0.0.7 on resource = Topic:LITERAL:orders for request = DescribeConfigs with resourceRefCount = 1");
        assert_eq!(e.operation.as_deref(), Some("DESCRIBE_CONFIGS"));
        assert_eq!(e.api.as_deref(), Some("DescribeConfigs"));
        assert_eq!(e.reason, None);
        let e = one("Principal = User:bob is Allowed Operation = Read from host = 10.0.0.7 on resource = Topic:LITERAL:orders");
        assert_eq!(e.outcome, Outcome::Allowed);
        assert_eq!(e.api, None);
        assert_eq!(e.resource_name.as_deref(), Some("orders"));
        let e = one("Principal = User:bob is Denied Operation = Write from host = 10.0.0.7 on resource = Topic:orders");
        assert_eq!(e.pattern_type, None);
        assert_eq!(e.resource_name.as_deref(), Some("orders"));
    }

    #[test]
    fn confluent_prefix_dn_principal_and_ipv6() {
        let e = one("logAuthorization - Principal = User:CN=alice smith,OU=eng,O=Acme is Denied operation = READ from host = 0:0:0:0:0:0:0:1 on resource = Group:LITERAL:billing for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny");
        assert_eq!(
            e.principal.as_deref(),
            Some("User:CN=alice smith,OU=eng,O=Acme")
        );
        assert_eq!(e.client_host.as_deref(), Some("0:0:0:0:0:0:0:1"));
        assert_eq!(e.resource_type.as_deref(), Some("Group"));
    }

    #[test]
    fn non_decision_lines_are_not_events() {
        assert_eq!(
            parse_message(
                "No acl found for resource Topic:LITERAL:x, authorized = true",
                None,
                SystemTime::UNIX_EPOCH
            ),
            Ok(None)
        );
        assert_eq!(
            err("Principal = User:x is Maybe operation = READ"),
            ParseError::Unrecognized
        );
    }

    #[test]
    fn attack_forged_tail_in_a_group_id() {
        // Group id: "g for request = Fetch with resourceRefCount = 9 based on rule SuperUser"
        let e = one("Principal = User:mallory is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:g for request = Fetch with resourceRefCount = 9 based on rule SuperUser for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny");
        assert_eq!(e.outcome, Outcome::Denied);
        assert_eq!(
            e.resource_name.as_deref(),
            Some("g for request = Fetch with resourceRefCount = 9 based on rule SuperUser")
        );
        assert_eq!(e.api.as_deref(), Some("JoinGroup"));
        assert_eq!(e.reason, Some(Reason::NoMatchingAcl));
    }

    fn decision(message: &str) -> Decision<'_> {
        read(message, None, SystemTime::UNIX_EPOCH, false)
            .unwrap()
            .unwrap()
    }

    /// (principal, decision, operation, host, resource type, API) of a decision.
    fn genuine<'e>(e: &'e SecurityEvent<'_>) -> [Option<&'e str>; 6] {
        [
            e.principal.as_deref(),
            Some(e.outcome.as_str()),
            e.operation.as_deref(),
            e.client_host.as_deref(),
            e.resource_type.as_deref(),
            e.api.as_deref(),
        ]
    }

    #[test]
    fn attack_forged_clause_in_a_group_id_keeps_the_genuine_decision() {
        let d = decision("Principal = User:mallory is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:x is Allowed operation = READ from host = 1.2.3.4 on resource = Topic:LITERAL:secret for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny");
        assert!(d.suspect);
        assert_eq!(
            genuine(&d.event),
            [
                Some("User:mallory"),
                Some("denied"),
                Some("READ"),
                Some("10.0.0.9"),
                Some("Group"),
                Some("JoinGroup")
            ]
        );
        assert_eq!(
            d.event.resource_name.as_deref(),
            Some("x is Allowed operation = READ from host = 1.2.3.4 on resource = Topic:LITERAL:secret")
        );
        // The forged clause copies the genuine decision and names another principal's group:
        // the first clause still wins.
        let d = decision("Principal = User:mallory is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:x is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:billing for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny");
        assert_eq!(d.event.principal.as_deref(), Some("User:mallory"));
        assert!(d.suspect);
    }

    #[test]
    fn attack_forged_clause_in_a_principal_keeps_the_genuine_decision() {
        // An SSL DN holding a whole clause: the forged one allows, the rule denies.
        let d = decision("Principal = User:CN=x is Allowed operation = ALTER from host = 1.2.3.4 on resource = Cluster:LITERAL:kafka-cluster is Denied operation = READ from host = 10.0.0.9 on resource = Topic:LITERAL:orders for request = Fetch with resourceRefCount = 1 based on rule DefaultDeny");
        assert!(d.suspect);
        assert_eq!(
            genuine(&d.event),
            [
                Some("User:CN=x is Allowed operation = ALTER from host = 1.2.3.4 on resource = Cluster:LITERAL:kafka-cluster"),
                Some("denied"),
                Some("READ"),
                Some("10.0.0.9"),
                Some("Topic"),
                Some("Fetch")
            ]
        );
        // A forged denial in the principal that agrees with the rule: a topic name cannot hold
        // the genuine clause after it, so the forged one is not taken.
        let d = decision("Principal = User:CN=x is Denied operation = WRITE from host = 1.2.3.4 on resource = Topic:LITERAL:audit is Denied operation = READ from host = 10.0.0.9 on resource = Topic:LITERAL:orders for request = Fetch with resourceRefCount = 1 based on rule DefaultDeny");
        assert_eq!(d.event.operation.as_deref(), Some("READ"));
        assert_eq!(d.event.resource_name.as_deref(), Some("orders"));
        assert!(d
            .event
            .principal
            .as_deref()
            .unwrap()
            .starts_with("User:CN=x is Denied operation = WRITE"));
    }

    #[test]
    fn an_unrecoverable_decision_is_an_injection_error_naming_the_principal() {
        // Every clause disagrees with the rule: nothing can be counted.
        let e = err("Principal = User:mallory is Allowed operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:x is Allowed operation = READ from host = 1.2.3.4 on resource = Group:LITERAL:y for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny");
        assert!(e.is_injection(), "{e}");
        assert_eq!(e.injection_principal(), Some("User:mallory"));
        assert_eq!(e.reason(), "invalid_field");
    }

    #[test]
    fn a_cut_entry_keeps_its_prefix_and_is_suspect() {
        let big = "g".repeat(300);
        let msg = format!("Principal = User:mallory is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:{big}");
        let d = read(&msg, None, SystemTime::UNIX_EPOCH, true)
            .unwrap()
            .unwrap();
        assert!(d.suspect);
        assert_eq!(d.event.principal.as_deref(), Some("User:mallory"));
        assert_eq!(d.event.api, None);
        let name = d.event.resource_name.unwrap();
        assert_eq!(name.chars().count(), MAX_SUSPECT_NAME_CHARS + 1);
        assert!(name.ends_with('…'));
    }

    #[test]
    fn hostile_text_is_escaped_in_the_resource_name() {
        let d = decision("Principal = User:mallory is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:a\nb\\c\u{7} for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny");
        assert!(d.suspect);
        assert_eq!(d.event.resource_name.as_deref(), Some("a\\nb\\\\c\\u{7}"));
        // A plain name is borrowed as it is.
        let d = decision(KRAFT);
        assert!(!d.suspect);
        assert!(matches!(
            d.event.resource_name,
            Some(Cow::Borrowed("orders"))
        ));
    }

    #[test]
    fn attack_partial_forgeries_stay_in_their_field() {
        // Half a clause in the principal is just part of the principal.
        let e = one("Principal = User:a is Denied operation = from host = x is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny");
        assert_eq!(
            e.principal.as_deref(),
            Some("User:a is Denied operation = from host = x")
        );
        assert_eq!(e.operation.as_deref(), Some("WRITE"));
        // A rule-like suffix that is not a real rule does not end the line.
        let e = one("Principal = User:a is Denied operation = READ from host = 127.0.0.1 on resource = Group:LITERAL:g for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny x for request = Heartbeat with resourceRefCount = 1 based on rule DefaultDeny");
        assert_eq!(e.api.as_deref(), Some("Heartbeat"));
        assert_eq!(
            e.resource_name.as_deref(),
            Some("g for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny x")
        );
    }

    #[test]
    fn attack_newlines_the_split_entry_keeps_its_prefix_and_the_next_one_its_tail() {
        let log = "[2026-11-26 14:06:30,883] INFO Principal = User:alice is Denied operation = READ from host = 127.0.0.1 on resource = Group:LITERAL:g\n\
[2026-11-26 14:06:30,883] INFO Principal = User:admin is Allowed operation = ALTER from host = 1.2.3.4 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n\
[2026-11-26 14:06:30,883] INFO Principal = User:y is Denied operation = READ from host = 1.2.3.4 on resource = Group:LITERAL:h for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n";
        let entries = frame_all(FramerConfig::default(), log.as_bytes());
        assert_eq!(entries.len(), 2);
        let held = parse_decision(&entries[0]).unwrap().unwrap();
        assert!(held.suspect && held.tail_doubtful);
        assert_eq!(held.event.principal.as_deref(), Some("User:alice"));
        assert_eq!(held.event.outcome, Outcome::Denied);
        assert!(held
            .event
            .resource_name
            .as_deref()
            .unwrap()
            .starts_with("g\\n[2026-11-26 14:06:30,883] INFO Principal = User:admin"));
        // The next entry's first line is forged; its end is the genuine tail.
        assert_eq!(
            completion(&held.event, &entries[1]),
            Some(Completion {
                api: "JoinGroup",
                reason: Some(Reason::NoMatchingAcl)
            })
        );
        // A tail whose rule contradicts the held decision does not complete it.
        let allowed = frame_all(FramerConfig::default(), b"[2026-11-26 14:06:30,883] INFO x for request = Metadata with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n");
        assert_eq!(completion(&held.event, &allowed[0]), None);
        // A forged line ending in its own logger carries the genuine tail on as text, in a
        // continuation line of an entry of another logger.
        let other = frame_all(FramerConfig::default(), b"[2026-11-26 14:06:30,883] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /10.9.9.9 (x) (y) (org.apache.kafka.common.network.Selector)\n for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n");
        assert_eq!(other.len(), 1);
        assert_eq!(
            completion(&held.event, &other[0]).map(|c| c.api),
            Some("JoinGroup")
        );
        // A principal holding a line break, without a forged header: one entry, read whole.
        let d = decision("Principal = User:a\nb is Denied operation = READ from host = 1.1.1.1 on resource = Topic:LITERAL:t");
        assert!(d.suspect);
        assert_eq!(d.event.principal.as_deref(), Some("User:a\\nb"));
    }

    #[test]
    fn other_loggers_are_not_authorizer_lines() {
        let entries = frame_all(
            FramerConfig::default(),
            format!("[2026-11-26 14:06:30,883] INFO {KRAFT} (kafka.server.KafkaApis)\n").as_bytes(),
        );
        assert_eq!(parse(&entries[0]), Ok(None));
        let entries = frame_all(
            FramerConfig::default(),
            format!("[2026-11-26 14:06:30,883] INFO {KRAFT} (kafka.authorizer.logger)\n")
                .as_bytes(),
        );
        assert_eq!(
            parse(&entries[0]).unwrap().unwrap().principal.as_deref(),
            Some("User:alice")
        );
    }

    fn pasted(message: &str) -> LogEntry {
        LogEntry {
            offset: 0,
            timestamp: SystemTime::UNIX_EPOCH,
            level: crate::parse::log4j::Level::Info,
            logger: None,
            message: message.into(),
            truncated: false,
            suspect: false,
            partial: true,
        }
    }

    #[test]
    fn a_pasted_decision_elided_after_its_host_keeps_what_is_there() {
        // StandardAuthorizer's `logAuditMessage` (metadata/src/main/java/org/apache/kafka/
        // metadata/authorizer/StandardAuthorizer.java), shortened by its poster.
        let elided = "Principal = User:ANONYMOUS is Denied operation = DESCRIBE from host = 10.80.86.183 ... based on rule DefaultDeny";
        let entry = pasted(elided);
        let d = parse_decision(&entry).unwrap().unwrap();
        assert_fields(
            &d.event,
            &[
                ("category", Some("authorization")),
                ("outcome", Some("denied")),
                ("principal", Some("User:ANONYMOUS")),
                ("operation", Some("DESCRIBE")),
                ("client_host", Some("10.80.86.183")),
                ("reason", Some("no_matching_acl")),
                ("resource_type", None),
                ("resource_name", None),
                ("pattern_type", None),
                ("api", None),
            ],
        );
        assert!(!d.suspect && !d.has_tail);
        // A rule that contradicts the decision gives no reason; no rule, none either.
        let entry = pasted("Principal = User:a is Allowed operation = READ from host = 10.0.0.1 ... based on rule DefaultDeny");
        let e = parse_decision(&entry).unwrap().unwrap().event;
        assert_eq!((e.outcome, e.reason), (Outcome::Allowed, None));
        let entry = pasted("Principal = User:a is Denied Operation = Read from host = 10.0.0.1 …");
        let e = parse_decision(&entry).unwrap().unwrap().event;
        assert_eq!((e.operation.as_deref(), e.reason), (Some("READ"), None));
        // A broker never writes this shape: in a framed entry it is not a decision.
        let framed = LogEntry {
            partial: false,
            ..pasted(elided)
        };
        assert_eq!(
            parse_decision(&framed).unwrap_err(),
            ParseError::Unrecognized
        );
        // Nor is a host followed by anything but the elision.
        let err = parse_decision(&pasted("Principal = User:a is Denied operation = READ from host = 10.0.0.1 based on rule DefaultDeny")).unwrap_err();
        assert_eq!(err, ParseError::Unrecognized);
    }

    /// Fragments of tails, well-formed and broken, glued in random orders: the backward read
    /// finds exactly what the search finds.
    const TAIL_PARTS: [&str; 16] = [
        "User:alice is Denied operation = READ from host = 10.0.0.1 on resource = Topic:LITERAL:t",
        " for request = ",
        "Produce",
        "Fetch",
        "Pro duce",
        " with resourceRefCount = ",
        "1",
        "12",
        "x",
        " based on rule ",
        "DefaultDeny",
        "DefaultAllow",
        "SuperUser",
        "XDefaultDeny",
        "MatchingAcl(acl=StandardAcl[resourceType=TOPIC, permissionType=DENY])",
        "",
    ];

    proptest::proptest! {
        #[test]
        fn the_backward_tail_read_agrees_with_the_search(
            parts in proptest::collection::vec(0..TAIL_PARTS.len(), 0..14),
        ) {
            let body: String = parts.iter().map(|&i| TAIL_PARTS[i]).collect();
            proptest::prop_assert_eq!(split_tail(&body), split_tail_by_search(&body));
        }
    }

    #[test]
    fn the_backward_tail_read_agrees_with_the_search_on_every_shape() {
        let tails = [
            " for request = Produce with resourceRefCount = 1 based on rule DefaultDeny",
            " for request = Fetch with resourceRefCount = 12 based on rule SuperUser",
            " for request = Metadata with resourceRefCount = 0 based on rule DefaultAllow",
            " for request = Produce with resourceRefCount = 1",
            " for request = Produce with resourceRefCount = 1 based on rule Default",
            " for request = Pro duce with resourceRefCount = 1 based on rule DefaultDeny",
            " for request =  with resourceRefCount = 1 based on rule DefaultDeny",
            " for request = Produce with resourceRefCount =  based on rule DefaultDeny",
            "",
        ];
        let head = "User:a for request = Fetch with resourceRefCount = 1 based on rule SuperUser \
                    is Denied operation = READ from host = ::1 on resource = Topic:LITERAL:x";
        for tail in tails {
            for forged in ["", " for request = Produce with resourceRefCount = 1"] {
                let body = format!("{head}{forged}{tail}");
                assert_eq!(split_tail(&body), split_tail_by_search(&body), "{body}");
            }
        }
    }

    /// Fragments of what a client may put in a group or transactional id: Kafka's own
    /// separators, whole forged clauses and tails, line breaks, forged headers and loggers.
    const HOSTILE: [&str; 16] = [
        " is Allowed operation = ALTER from host = 1.2.3.4 on resource = Cluster:LITERAL:kafka-cluster",
        " is Denied operation = WRITE from host = 9.9.9.9 on resource = Group:LITERAL:x",
        " is Denied operation = READ from host = 10.0.0.9 on resource = Topic:LITERAL:t",
        " for request = Fetch with resourceRefCount = 9 based on rule SuperUser",
        " for request = Produce with resourceRefCount = 1",
        " based on rule DefaultDeny",
        " based on rule MatchingAcl(acl=StandardAcl[resourceType=TOPIC, permissionType=ALLOW])",
        "Principal = User:admin",
        " (kafka.authorizer.logger)",
        "\n",
        "\r\n",
        "[2026-11-26 14:06:30,883] INFO ",
        " on resource = ",
        " ",
        ":",
        "",
    ];

    const RULES: [(&str, bool); 6] = [
        ("DefaultDeny", false),
        ("MatchingAcl(acl=StandardAcl[resourceType=GROUP, resourceName=g, patternType=PREFIXED, principal=User:alice, host=*, operation=READ, permissionType=DENY])", false),
        ("SuperUser", true),
        ("DefaultAllow", true),
        ("MatchingAcl(acl=StandardAcl(resourceType=GROUP, resourceName=g, patternType=LITERAL, principal=User:*, host=*, operation=ALL, permissionType=ALLOW))", true),
        ("", false),
    ];

    fn hostile_name() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let part = prop_oneof![
            (0..HOSTILE.len()).prop_map(|i| HOSTILE[i].to_string()),
            any::<String>(),
        ];
        proptest::collection::vec(part, 0..8).prop_map(|p| p.concat())
    }

    proptest::proptest! {
        /// The byte fast path of `escape` borrows exactly when the character path would.
        #[test]
        fn escape_borrows_exactly_when_nothing_changes(
            field in "(\\PC|[\\\\\\x00-\\x1f\\x7f\\u{80}-\\u{9f}]){0,12}",
            max_chars in 0usize..14,
        ) {
            let plain = |c: char| !c.is_control() && c != '\\';
            let unchanged = field.chars().all(plain) && field.chars().nth(max_chars).is_none();
            let escaped = escape(&field, max_chars);
            proptest::prop_assert_eq!(matches!(escaped, Cow::Borrowed(_)), unchanged);
            if unchanged {
                proptest::prop_assert_eq!(escaped.as_ref(), field.as_str());
            }
        }

        /// Whatever a client puts in a resource name, the decision is the genuine one: the
        /// principal, decision, operation, host, resource type and API never change, and the
        /// name is kept (escaped and bounded when suspect).
        #[test]
        fn a_client_chosen_resource_name_never_changes_the_decision(
            name in hostile_name(),
            principal in proptest::sample::select(vec!["User:alice", "User:CN=alice smith,OU=eng,O=Acme", "User:svc-1"]),
            rule in 0..RULES.len(),
            group in proptest::bool::ANY,
            api in proptest::sample::select(vec!["JoinGroup", "OffsetCommit", "InitProducerId"]),
        ) {
            let (rule, allowed) = RULES[rule];
            // No rule: the ZooKeeper shape, whose decision is read from the clause alone.
            let allowed = if rule.is_empty() { group } else { allowed };
            let decision = if allowed { "Allowed" } else { "Denied" };
            let resource_type = if group { "Group" } else { "TransactionalId" };
            let tail = if rule.is_empty() {
                format!(" for request = {api} with resourceRefCount = 1")
            } else {
                format!(" for request = {api} with resourceRefCount = 1 based on rule {rule}")
            };
            let message = format!("Principal = {principal} is {decision} operation = DESCRIBE from host = 10.0.0.9 on resource = {resource_type}:LITERAL:{name}{tail}");
            let d = read(&message, None, SystemTime::UNIX_EPOCH, false).unwrap().unwrap();
            let outcome = if allowed { "allowed" } else { "denied" };
            proptest::prop_assert_eq!(
                genuine(&d.event),
                [Some(principal), Some(outcome), Some("DESCRIBE"), Some("10.0.0.9"), Some(resource_type), Some(api)]
            );
            let kept = d.event.resource_name.as_deref().unwrap();
            if d.suspect {
                let escaped = escape(&name, MAX_SUSPECT_NAME_CHARS);
                proptest::prop_assert_eq!(kept, escaped.as_ref());
            } else {
                proptest::prop_assert_eq!(kept, name.as_str());
            }
        }
    }
}
