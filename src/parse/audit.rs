//! Confluent audit-log CloudEvents (`io.confluent.kafka.server/authorization`, `/authentication`...).

use super::{ParseError, Record};
use crate::event::SecurityEvent;

/// Parses one Confluent audit-log CloudEvent.
pub fn parse<'a>(_record: &Record<'a>) -> Result<SecurityEvent<'a>, ParseError> {
    Err(ParseError::Unrecognized)
}
