//! The JSON writer of the output records: objects written field by field into a reused buffer,
//! with keys known at compile time and string escaping that copies runs of plain bytes eight at
//! a time. Its strings are escaped exactly as `serde_json` escapes them (a property test compares
//! the two on arbitrary strings), at about half the cost of serializing with `serde_json`: the
//! output topic serializes every event on the thread that consumes them, so this is on the hot
//! path (`benches/output.rs`).

/// One JSON object being written; `end` closes it.
pub(super) struct Obj<'o> {
    out: &'o mut Vec<u8>,
    first: bool,
}

impl<'o> Obj<'o> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        out.push(b'{');
        Obj { out, first: true }
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push(b'}');
    }

    /// Writes `"key":`. Keys are the schemas' attribute names: plain ASCII, never escaped.
    fn key(&mut self, key: &'static str) {
        debug_assert!(
            !key.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'),
            "key {key:?} needs escaping"
        );
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    pub fn str(&mut self, key: &'static str, value: &str) {
        self.key(key);
        string(self.out, value);
    }

    /// A string field, left out when `None`.
    pub fn opt_str(&mut self, key: &'static str, value: Option<&str>) {
        if let Some(value) = value {
            self.str(key, value);
        }
    }

    /// A string made of `parts`, concatenated, each escaped.
    pub fn concat(&mut self, key: &'static str, parts: &[&str]) {
        self.key(key);
        self.out.push(b'"');
        for part in parts {
            escape(self.out, part);
        }
        self.out.push(b'"');
    }

    pub fn u64(&mut self, key: &'static str, value: u64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    pub fn i64(&mut self, key: &'static str, value: i64) {
        self.key(key);
        self.out
            .extend_from_slice(itoa::Buffer::new().format(value).as_bytes());
    }

    /// A number field, left out when `None`.
    pub fn opt_u64(&mut self, key: &'static str, value: Option<u64>) {
        if let Some(value) = value {
            self.u64(key, value);
        }
    }

    /// A string field whose text is `value`'s `Display`, which must never need escaping (a
    /// timestamp).
    pub fn display(&mut self, key: &'static str, value: impl std::fmt::Display) {
        use std::io::Write as _;
        self.key(key);
        let start = self.out.len();
        // Writing to a Vec cannot fail.
        let _ = write!(self.out, "\"{value}\"");
        debug_assert!(
            !self.out[start + 1..self.out.len() - 1]
                .iter()
                .any(|&b| needs_escape(b)),
            "{key} needs escaping"
        );
    }

    /// A nested object, written by `f`.
    pub fn obj(&mut self, key: &'static str, f: impl FnOnce(&mut Obj<'_>)) {
        self.key(key);
        let mut inner = Obj::new(self.out);
        f(&mut inner);
        inner.end();
    }

    /// An array of one object, written by `f`.
    pub fn one_obj(&mut self, key: &'static str, f: impl FnOnce(&mut Obj<'_>)) {
        self.key(key);
        self.out.push(b'[');
        let mut inner = Obj::new(self.out);
        f(&mut inner);
        inner.end();
        self.out.push(b']');
    }

    /// An array of strings.
    pub fn strs(&mut self, key: &'static str, values: &[&str]) {
        self.key(key);
        self.out.push(b'[');
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                self.out.push(b',');
            }
            string(self.out, value);
        }
        self.out.push(b']');
    }
}

/// Writes `s` as a JSON string.
pub(super) fn string(out: &mut Vec<u8>, s: &str) {
    // Room for the quotes and a few escapes, so the pushes below rarely grow the buffer.
    out.reserve(s.len() + s.len() / 8 + 2);
    out.push(b'"');
    escape(out, s);
    out.push(b'"');
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` that is `"`, `\` or a control character (below 0x20). The
/// lowest flagged byte is always right; bytes above it may be flagged wrongly (the borrow of the
/// subtraction runs on), so only the lowest one is used.
#[inline]
fn specials(x: u64) -> u64 {
    let quote = x ^ (ONES * u64::from(b'"'));
    let backslash = x ^ (ONES * u64::from(b'\\'));
    let control = x.wrapping_sub(ONES * 0x20) & !x;
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH
}

/// Writes the escaped contents of `s` (without quotes), as `serde_json` escapes them: `\"`, `\\`,
/// `\b`, `\f`, `\n`, `\r`, `\t`, other control characters as `\u00XX`; everything else as is.
///
/// Text is staged in a stack buffer and appended to `out` in large pieces: a JSON record quoted
/// into a string (`raw_data`) has a quote every few bytes, and appending the short runs between
/// them to the `Vec` one by one is what made escaping slow.
pub(super) fn escape(out: &mut Vec<u8>, s: &str) {
    const STAGE: usize = 512;
    let bytes = s.as_bytes();
    // Most values (names, addresses, operations) have nothing to escape: one copy.
    if bytes.len() <= 64 && !bytes.iter().any(|&b| needs_escape(b)) {
        out.extend_from_slice(bytes);
        return;
    }
    let mut stage = [0u8; STAGE];
    let mut n = 0;
    let mut i = 0;
    // Eight bytes at a time: copied as they are, then, when one of them must be escaped, the
    // copy is cut before it, its escape written, and the next eight read from the byte after.
    while let Some(chunk) = bytes.get(i..i + 8) {
        // Room for 8 bytes, or for 7 and an escape of 6.
        if n > STAGE - 16 {
            out.extend_from_slice(&stage[..n]);
            n = 0;
        }
        stage[n..n + 8].copy_from_slice(chunk);
        let flags = specials(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        if flags == 0 {
            n += 8;
            i += 8;
            continue;
        }
        let at = (flags.trailing_zeros() / 8) as usize;
        n += at;
        n += stage_byte(&mut stage[n..], chunk[at]);
        i += at + 1;
    }
    for &b in &bytes[i..] {
        if n > STAGE - 6 {
            out.extend_from_slice(&stage[..n]);
            n = 0;
        }
        n += stage_byte(&mut stage[n..], b);
    }
    out.extend_from_slice(&stage[..n]);
}

#[inline]
fn needs_escape(b: u8) -> bool {
    ESCAPES[usize::from(b)] != 0
}

/// For each byte, what follows the backslash of its escape: the letter of a short escape, `u`
/// for `\u00XX`, 0 when it is written as it is.
static ESCAPES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        t[b] = b'u';
        b += 1;
    }
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t
};

/// Writes `b`, escaped if it must be, at the start of `to` (at least 6 bytes); returns how many
/// bytes it wrote.
#[inline(always)]
fn stage_byte(to: &mut [u8], b: u8) -> usize {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match ESCAPES[usize::from(b)] {
        0 => {
            to[0] = b;
            1
        }
        b'u' => {
            to[..6].copy_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[usize::from(b >> 4)],
                HEX[usize::from(b & 0xf)],
            ]);
            6
        }
        short => {
            to[..2].copy_from_slice(&[b'\\', short]);
            2
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn written(s: &str) -> String {
        let mut out = Vec::new();
        string(&mut out, s);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "",
            "plain",
            "\"",
            "\\",
            "a\"b\\c",
            "line\nbreak\r\ttab\u{8}\u{c}\u{1}\u{1f}\u{7f}",
            "{\"data\":{\"principal\":\"User:bob\"},\"x\":\"crn:///kafka\\u003dEy\"}",
            "exactly8",
            "sixteen bytes!!!",
            "seven\"7",
            "ünïcödé 🔐 \"quoted\" ünïcödé",
            "\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}",
        ] {
            assert_eq!(written(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }

    proptest! {
        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in any::<String>()) {
            prop_assert_eq!(written(&s), serde_json::to_string(&s).unwrap());
        }

        #[test]
        fn strings_full_of_specials_too(s in "[\"\\\\\\x00-\\x1fa-z\u{e9}\u{1F510}]{0,64}") {
            prop_assert_eq!(written(&s), serde_json::to_string(&s).unwrap());
        }
    }

    #[test]
    fn objects_nest_and_separate_their_fields() {
        let mut out = Vec::new();
        let mut o = Obj::new(&mut out);
        o.u64("a", 1);
        o.opt_str("skipped", None);
        o.obj("b", |o| {
            o.str("c", "d");
            o.i64("e", -5);
        });
        o.one_obj("f", |o| o.opt_u64("g", Some(7)));
        o.strs("h", &["i", "j\""]);
        o.concat("k", &["l", ": ", "m"]);
        o.obj("empty", |_| {});
        o.end();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"{"a":1,"b":{"c":"d","e":-5},"f":[{"g":7}],"h":["i","j\""],"k":"l: m","empty":{}}"#
        );
    }
}
