//! Generic JSON security events, mapped to event fields by config.

use serde::Deserialize;

use super::{ParseError, Record};
use crate::event::SecurityEvent;

/// The `parsers.json` config section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonConfig {}

/// Compiled field mapping.
#[derive(Debug)]
pub struct JsonMapping {}

impl JsonMapping {
    pub fn new(_config: &JsonConfig) -> Result<JsonMapping, Vec<String>> {
        Ok(JsonMapping {})
    }
}

/// Parses one JSON security event.
pub fn parse<'a>(
    _mapping: &JsonMapping,
    _record: &Record<'a>,
) -> Result<SecurityEvent<'a>, ParseError> {
    Err(ParseError::Unrecognized)
}
