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

/// Valid inputs made near misses: one of `valid`, then up to four edits at character
/// boundaries, each inserting one of `tokens` (a parser's own separators and keywords) or
/// arbitrary text, deleting or doubling a short span, or cutting the rest off. Inputs that
/// reach deep into a parser, where arbitrary strings rarely get.
pub(crate) fn near_miss(
    valid: &'static [&'static str],
    tokens: &'static [&'static str],
) -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let text = prop_oneof![
        3 => proptest::sample::select(tokens).prop_map(str::to_string),
        1 => any::<String>(),
    ];
    let edit = (0u8..4, any::<usize>(), 0usize..24, text);
    (
        proptest::sample::select(valid),
        proptest::collection::vec(edit, 1..5),
    )
        .prop_map(|(line, edits)| {
            let mut s = line.to_string();
            for (kind, at, len, text) in edits {
                let at = boundary(&s, at % (s.len() + 1));
                let end = boundary(&s, (at + len).min(s.len()));
                match kind {
                    0 => s.insert_str(at, &text),
                    1 => s.replace_range(at..end, ""),
                    2 => {
                        let span = s[at..end].to_string();
                        s.insert_str(end, &span);
                    }
                    _ => s.truncate(at),
                }
            }
            s
        })
}

/// The character boundary at or before byte `at` of `s`.
fn boundary(s: &str, mut at: usize) -> usize {
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}
