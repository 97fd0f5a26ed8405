//! Helpers shared by the parsers' unit tests.

use std::time::SystemTime;

use super::ParseError;
use crate::event::SecurityEvent;

/// A parser of one log message: the message, its event time, the time it was observed.
pub(crate) type ParseMessage = for<'a> fn(
    &'a str,
    Option<SystemTime>,
    SystemTime,
) -> Result<Option<SecurityEvent<'a>>, ParseError>;

/// The event `parse` reads in `message` (no event time, observed at the epoch); panics when it
/// reads an error or nothing.
pub(crate) fn event(parse: ParseMessage, message: &str) -> SecurityEvent<'_> {
    parse(message, None, SystemTime::UNIX_EPOCH)
        .unwrap()
        .unwrap()
}

/// The error `parse` finds in `message`; panics when it finds none.
pub(crate) fn error(parse: ParseMessage, message: &str) -> ParseError {
    parse(message, None, SystemTime::UNIX_EPOCH).unwrap_err()
}
