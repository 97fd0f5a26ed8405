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

/// Asserts that `event` states each of `expected`'s fields with exactly that value (keys and
/// values as [`SecurityEvent::fields`] names them; `None`: the field is not set). Fields not
/// listed are not checked.
#[track_caller]
pub(crate) fn assert_fields(event: &SecurityEvent<'_>, expected: &[(&str, Option<&str>)]) {
    let fields = event.fields();
    for (key, want) in expected {
        let got = fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        assert_eq!(got, *want, "field `{key}` of {fields:?}");
    }
}
