//! Plain-text security events whose record key is the event type.

use serde::Deserialize;

use super::{ParseError, Record};
use crate::event::SecurityEvent;

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
