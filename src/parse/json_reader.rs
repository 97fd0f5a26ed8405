//! The JSON reading the parsers share.
//!
//! - [`Reader`]: a small zero-copy JSON reader for parsers that know their schema (the audit
//!   parser). It walks the payload once, decodes only the strings it keeps (borrowing them when
//!   they hold no escape) and skips everything else while still validating it, so malformed JSON
//!   anywhere is `InvalidJson` as with a general parser. Scalars are read leniently: a number
//!   where a string is expected becomes its JSON text, a boolean `true`/`false`, and `null`,
//!   objects and arrays count as absent. [`Seen`] lets a caller refuse a key repeated within one
//!   object. The reader counts nesting itself and stops past [`MAX_JSON_DEPTH`], which bounds its
//!   recursion.
//! - [`check_json_depth`]: the same depth limit in one pass over the bytes, for payloads read by
//!   serde.

use std::borrow::Cow;

use super::ParseError;
use crate::event::Text;

/// JSON nesting deeper than this is rejected before it can cost stack or time.
pub const MAX_JSON_DEPTH: usize = 64;

/// The first byte that is not whitespace (`{` for a JSON object).
pub(crate) fn first_byte(payload: &[u8]) -> Option<u8> {
    payload.iter().find(|b| !b.is_ascii_whitespace()).copied()
}

/// Rejects JSON nested deeper than [`MAX_JSON_DEPTH`] with one pass over the bytes (strings are
/// skipped, so brackets inside them do not count).
pub fn check_json_depth(payload: &[u8]) -> Result<(), ParseError> {
    // Fast path: a payload with at most MAX_JSON_DEPTH opening brackets in total cannot nest
    // deeper than that (memchr scans at memory speed; typical events have a dozen).
    let brackets = memchr::memchr2_iter(b'{', b'[', payload)
        .take(MAX_JSON_DEPTH + 1)
        .count();
    if brackets <= MAX_JSON_DEPTH {
        return Ok(());
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in payload {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(ParseError::TooDeep);
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

pub(crate) type ReadResult<T> = Result<T, ParseError>;

/// The keys of one object already read, by their index in that object's `match`.
#[derive(Default)]
pub struct Seen(u32);

impl Seen {
    /// Records key number `bit`; an error when this object already had it.
    pub(crate) fn once(&mut self, bit: u32, key: &str) -> ReadResult<()> {
        if self.0 & (1 << bit) != 0 {
            return Err(ParseError::InvalidJson(format!("duplicate field `{key}`")));
        }
        self.0 |= 1 << bit;
        Ok(())
    }
}

pub struct Reader<'a> {
    src: &'a str,
    pos: usize,
    /// Objects and arrays currently open.
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `src`.
    pub(crate) fn new(src: &'a str) -> Reader<'a> {
        Reader {
            src,
            pos: 0,
            depth: 0,
        }
    }

    /// Checks that only whitespace follows the value read.
    pub(crate) fn finish(&mut self) -> ReadResult<()> {
        self.ws();
        if self.pos != self.src.len() {
            return Err(self.error("trailing characters"));
        }
        Ok(())
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.src.as_bytes()
    }

    pub(crate) fn error(&self, what: &str) -> ParseError {
        ParseError::InvalidJson(format!("{what} at byte {}", self.pos))
    }

    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes().get(self.pos) {
            self.pos += 1;
        }
    }

    #[inline]
    pub(crate) fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.bytes().get(self.pos).copied()
    }

    #[inline]
    fn eat(&mut self, byte: u8) -> ReadResult<()> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected `{}`", byte as char)))
        }
    }

    /// Counts one more open object or array; nesting past [`MAX_JSON_DEPTH`] is `TooDeep`, which
    /// also bounds the recursion of this reader.
    fn enter(&mut self) -> ReadResult<()> {
        self.depth += 1;
        if self.depth > MAX_JSON_DEPTH {
            return Err(ParseError::TooDeep);
        }
        Ok(())
    }

    /// Reads an object, calling `member` with each key (unescaped) and the reader positioned at
    /// its value, which `member` must consume.
    pub(crate) fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, &str) -> ReadResult<()>,
    ) -> ReadResult<()> {
        self.sequence((b'{', b'}'), "expected `,` or `}`", |r| {
            if r.peek() != Some(b'"') {
                return Err(r.error("expected a key"));
            }
            let key = r.string()?;
            r.eat(b':')?;
            member(r, &key)
        })
    }

    /// An object or an array: `open`, then comma-separated elements read by `element`, then
    /// `close`; `unexpected` is the error when neither a comma nor `close` follows an element.
    #[inline]
    fn sequence(
        &mut self,
        (open, close): (u8, u8),
        unexpected: &str,
        mut element: impl FnMut(&mut Self) -> ReadResult<()>,
    ) -> ReadResult<()> {
        self.eat(open)?;
        self.enter()?;
        if self.peek() == Some(close) {
            self.pos += 1;
            self.depth -= 1;
            return Ok(());
        }
        loop {
            element(self)?;
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b) if b == close => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(());
                }
                _ => return Err(self.error(unexpected)),
            }
        }
    }

    /// An object read by `read`, or `null` (nothing to read); anything else is an error.
    pub(crate) fn object_or_null(
        &mut self,
        read: impl FnOnce(&mut Self) -> ReadResult<()>,
    ) -> ReadResult<()> {
        match self.peek() {
            Some(b'{') => read(self),
            Some(b'n') => self.literal(b"null"),
            _ => Err(self.error("expected an object")),
        }
    }

    /// The object (or `null`) at key number `bit` of the current object: `member` gets each of
    /// its keys with the nested object's own [`Seen`].
    pub(crate) fn nested_object(
        &mut self,
        seen: &mut Seen,
        bit: u32,
        key: &str,
        mut member: impl FnMut(&mut Self, &mut Seen, &str) -> ReadResult<()>,
    ) -> ReadResult<()> {
        seen.once(bit, key)?;
        self.object_or_null(|r| {
            let mut seen = Seen::default();
            r.object(|r, key| member(r, &mut seen, key))
        })
    }

    /// Reads a scalar into `slot` for key number `bit` of the current object.
    pub(crate) fn scalar_into(
        &mut self,
        seen: &mut Seen,
        bit: u32,
        key: &str,
        slot: &mut Option<Text<'a>>,
    ) -> ReadResult<()> {
        seen.once(bit, key)?;
        *slot = self.scalar()?;
        Ok(())
    }

    /// A string, number or boolean as text; `null`, objects and arrays (skipped) as `None`.
    pub(crate) fn scalar(&mut self) -> ReadResult<Option<Text<'a>>> {
        match self.peek() {
            Some(b'"') => self.string().map(Some),
            Some(b't') => self.literal(b"true").map(|()| Some(Cow::Borrowed("true"))),
            Some(b'f') => self
                .literal(b"false")
                .map(|()| Some(Cow::Borrowed("false"))),
            Some(b'-' | b'0'..=b'9') => self.number().map(|n| Some(Cow::Borrowed(n))),
            _ => self.skip().map(|()| None),
        }
    }

    pub(crate) fn array(
        &mut self,
        item: impl FnMut(&mut Self) -> ReadResult<()>,
    ) -> ReadResult<()> {
        self.sequence((b'[', b']'), "expected `,` or `]`", item)
    }

    /// Skips one value, validating it, and returns its JSON text.
    pub(crate) fn raw_value(&mut self) -> ReadResult<&'a str> {
        self.ws();
        let start = self.pos;
        self.skip()?;
        Ok(&self.src[start..self.pos])
    }

    /// Skips one value of any kind, validating it.
    pub(crate) fn skip(&mut self) -> ReadResult<()> {
        match self.peek() {
            Some(b'"') => self.skip_string(),
            Some(b'{') => self.object(|r, _| r.skip()),
            Some(b'[') => self.array(Self::skip),
            Some(b't') => self.literal(b"true"),
            Some(b'f') => self.literal(b"false"),
            Some(b'n') => self.literal(b"null"),
            Some(b'-' | b'0'..=b'9') => self.number().map(|_| ()),
            Some(_) => Err(self.error("expected a value")),
            None => Err(self.error("unexpected end of input")),
        }
    }

    fn literal(&mut self, word: &[u8]) -> ReadResult<()> {
        if self.bytes()[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    /// A number per the JSON grammar, as its source text.
    fn number(&mut self) -> ReadResult<&'a str> {
        let b = self.bytes();
        let start = self.pos;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                digits(&mut i);
            }
            _ => return Err(self.error("invalid number")),
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return Err(self.error("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digits(&mut i) {
                return Err(self.error("invalid number"));
            }
        }
        self.pos = i;
        Ok(&self.src[start..i])
    }

    /// A string at `"`: borrowed from the payload when it holds no escape, decoded otherwise.
    pub(crate) fn string(&mut self) -> ReadResult<Text<'a>> {
        let b = self.bytes();
        let start = self.pos + 1;
        let mut i = find_string_special(b, start);
        match b.get(i) {
            Some(b'"') => {
                self.pos = i + 1;
                return Ok(Cow::Borrowed(&self.src[start..i]));
            }
            Some(b'\\') => {}
            Some(_) => {
                self.pos = i;
                return Err(self.error("control character in string"));
            }
            None => return Err(self.error("unterminated string")),
        }
        let mut out = String::with_capacity(i - start + 32);
        out.push_str(&self.src[start..i]);
        loop {
            // At a backslash.
            self.pos = i;
            let esc = *b
                .get(i + 1)
                .ok_or_else(|| self.error("unterminated string"))?;
            i += 2;
            match esc {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let hi = hex4(b, i).ok_or_else(|| self.error("invalid \\u escape"))?;
                    i += 4;
                    let c = if (0xD800..0xDC00).contains(&hi) {
                        // A leading surrogate must be followed by `\u` and a trailing one.
                        let lo = (b.get(i) == Some(&b'\\') && b.get(i + 1) == Some(&b'u'))
                            .then(|| hex4(b, i + 2))
                            .flatten()
                            .filter(|lo| (0xDC00..0xE000).contains(lo))
                            .ok_or_else(|| self.error("lone leading surrogate"))?;
                        i += 6;
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                    } else {
                        char::from_u32(hi)
                    };
                    out.push(c.ok_or_else(|| self.error("lone trailing surrogate"))?);
                }
                _ => return Err(self.error("invalid escape")),
            }
            let run_start = i;
            i = find_string_special(b, i);
            out.push_str(&self.src[run_start..i]);
            match b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {}
                Some(_) => {
                    self.pos = i;
                    return Err(self.error("control character in string"));
                }
                None => return Err(self.error("unterminated string")),
            }
        }
    }

    /// Skips a string at `"`, validating its escapes without decoding them.
    fn skip_string(&mut self) -> ReadResult<()> {
        let b = self.bytes();
        let mut i = self.pos + 1;
        loop {
            i = find_string_special(b, i);
            match b.get(i) {
                Some(b'"') => {
                    self.pos = i + 1;
                    return Ok(());
                }
                Some(b'\\') => match b.get(i + 1) {
                    Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => i += 2,
                    Some(b'u') if hex4(b, i + 2).is_some() => i += 6,
                    _ => {
                        self.pos = i;
                        return Err(self.error("invalid escape"));
                    }
                },
                Some(_) => {
                    self.pos = i;
                    return Err(self.error("control character in string"));
                }
                None => {
                    self.pos = i;
                    return Err(self.error("unterminated string"));
                }
            }
        }
    }
}

/// A value kept raw by [`Reader::raw_value`], read as a lenient scalar. It was validated when it
/// was skipped, so reading it again cannot fail.
pub(crate) fn rescan(raw: &str) -> Option<Text<'_>> {
    Reader::new(raw).scalar().ok().flatten()
}

/// Four hex digits at `at`, as a number.
fn hex4(b: &[u8], at: usize) -> Option<u32> {
    let digits = b.get(at..at + 4)?;
    digits.iter().try_fold(0u32, |n, d| {
        let v = (*d as char).to_digit(16)?;
        Some(n * 16 + v)
    })
}

/// The index of the first `"`, `\` or control character at or after `i` (or `b.len()`), eight
/// bytes at a time.
fn find_string_special(b: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let x = u64::from_le_bytes(*chunk);
        let quote = x ^ (ONES * u64::from(b'"'));
        let backslash = x ^ (ONES * u64::from(b'\\'));
        // The classic "has a zero byte" and "has a byte below n" tricks: the lowest flagged byte
        // is exact, which is the one wanted.
        let hits = ((quote.wrapping_sub(ONES) & !quote)
            | (backslash.wrapping_sub(ONES) & !backslash)
            | (x.wrapping_sub(ONES * 0x20) & !x))
            & HIGHS;
        if hits != 0 {
            return i + (hits.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while let Some(&c) = b.get(i) {
        if c == b'"' || c == b'\\' || c < 0x20 {
            return i;
        }
        i += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_check_counts_only_structure() {
        assert!(check_json_depth(
            br#"{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}"#
        )
        .is_ok());
        let deep = "[".repeat(MAX_JSON_DEPTH + 1);
        assert_eq!(check_json_depth(deep.as_bytes()), Err(ParseError::TooDeep));
        let ok = "[".repeat(MAX_JSON_DEPTH);
        assert!(check_json_depth(ok.as_bytes()).is_ok());
    }
}
