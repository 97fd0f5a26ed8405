//! Plain-text security events whose record key is the event type.

use serde::Deserialize;

use super::{ParseError, Record};
use crate::event::{Reason, SecurityEvent};

/// The `parsers.text` config section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextConfig {}

/// Compiled patterns.
#[derive(Debug)]
pub struct TextRules {}

impl TextRules {
    pub fn new(_config: &TextConfig) -> Result<TextRules, Vec<String>> {
        Ok(TextRules {})
    }
}

/// Parses one text event.
pub fn parse<'a>(
    _rules: &TextRules,
    _record: &Record<'a>,
) -> Result<SecurityEvent<'a>, ParseError> {
    Err(ParseError::Unrecognized)
}

/// Maps a free-text failure message (or a reason name such as `invalid_credentials`) to the
/// closed [`Reason`] set by keywords; [`Reason::Other`] when nothing matches.
pub(crate) fn reason_from_message(message: &str) -> Reason {
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
