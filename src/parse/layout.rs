//! A configured log4j `PatternLayout`, for brokers whose layout the framer does not recognize by
//! itself (see [`super::log4j`] for the shapes it does).
//!
//! `layout: "%d{ISO8601} %-5p [%t] %c - %m%n"` compiles the pattern once into the fixed text and
//! fields before `%m` (read forward from the start of a line to recognize an entry's first line)
//! and after it (read backward from the end of a line, the way Kafka's own ` (%c)` suffix is).
//! The supported conversions are the ones a broker's `log4j2.yaml` / `log4j.properties` uses:
//!
//! | conversion | read as |
//! |---|---|
//! | `%d` / `%date`, `{pattern}` or a named format of log4j 1.x or Log4j2 (see [`DatePattern`]), optional `{UTC}` / `{GMT+01:00}` zone | the entry time |
//! | `%p` / `%level`, with any padding (`%-5p`) and case | the level |
//! | `%c` / `%logger` (abbreviated by `{n}` or `.n`: then it cannot route) | the logger |
//! | `%m` / `%msg` / `%message` (exactly one) | the message |
//! | `%t`, `%X{…}`, `%x`, `%C`, `%M`, `%L`, `%F`, `%r`, `%T`, `%pid`, `%sn`, `%u`, `%N`, `%marker` | skipped, up to the next fixed text |
//! | `%n`, `%ex` / `%throwable` and their variants (last only) | the end of the line |
//! | `%%`, any other text | fixed text; a run of spaces matches one or more (padding) |
//!
//! A skipped field may print nothing (log4j 1.x's `%x` without an NDC leaves two spaces before
//! ` - `). The pattern may be pasted with the configuration key that holds it
//! (`log4j.appender.x.layout.ConversionPattern=…`, see [`Layout::parse`]).
//!
//! Anything else (`%highlight{…}`, `%style`, `%replace`, a field directly followed by another
//! field) is refused with an error naming it, never guessed.
//!
//! # Injection
//!
//! Kafka's layout puts the logger last, after everything a client controls: the framer uses
//! that to spot a forged line inside a username (see [`super::log4j`]). A layout with `%c` after
//! `%m` keeps that protection. A layout that prints `%c` before `%m` (or not at all) loses it —
//! a newline in a client-controlled field can then start an entry that looks genuine, and
//! [`Layout::anchored`] is false so the caller can warn.

use std::time::SystemTime;

use super::log4j::{is_logger_byte, Level};
use super::time::DatePattern;

/// Logged at startup for a layout that is not [`Layout::anchored`].
pub const UNANCHORED_WARNING: &str = "This layout prints the logger before the message (or not at all): a newline in a client-chosen name can forge a log entry. Kafka's own layout, with (%c) last, does not have this weakness.";

/// One compiled element of a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Elem {
    /// Fixed text.
    Text(Vec<u8>),
    Date(DatePattern),
    Level,
    /// `%c`; `abbreviated` by `{n}` or `.n` (then not the full name).
    Logger {
        abbreviated: bool,
    },
    /// A field read and dropped (`%t`, `%X{…}`, …), delimited by the fixed text next to it.
    Skip(String),
}

/// A compiled layout. Build it with [`Layout::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pattern: String,
    head: Vec<Elem>,
    tail: Vec<Elem>,
    has_date: bool,
    has_level: bool,
    logger_in_tail: bool,
    logger_in_head: bool,
    logger_abbreviated: bool,
}

/// What a layout read from an entry's first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LayoutHeader<'a> {
    /// `None` when the layout has no `%d` (the caller uses a prefix stamp or the read time).
    pub timestamp: Option<SystemTime>,
    /// `None` when the layout has no `%p`.
    pub level: Option<Level>,
    /// The logger, when `%c` comes before `%m`.
    pub logger: Option<&'a [u8]>,
    /// The rest of the line: the message and whatever the layout puts after it.
    pub rest: &'a [u8],
}

impl Layout {
    /// Compiles a log4j / Log4j2 `PatternLayout` pattern. The error names what is wrong.
    ///
    /// The pattern may be given as the configuration line that holds it, pasted whole:
    /// `log4j.appender.x.layout.ConversionPattern=…` (log4j 1.x properties),
    /// `appender.x.layout.pattern = …` (Log4j2 properties), `pattern: "…"` (Log4j2 YAML) or
    /// `<PatternLayout pattern="…"/>` (Log4j2 XML).
    pub fn parse(pattern: &str) -> Result<Layout, String> {
        let pattern = unwrap_config_line(pattern);
        let elems = Self::elements(pattern)?;
        let message = elems.iter().position(|e| e.is_none()).ok_or_else(|| {
            "no %m: the layout must contain the message (%m, %msg or %message)".to_string()
        })?;
        let mut head = Vec::new();
        let mut tail = Vec::new();
        for (i, e) in elems.into_iter().enumerate() {
            match (e, i.cmp(&message)) {
                (Some(e), std::cmp::Ordering::Less) => head.push(e),
                (Some(e), std::cmp::Ordering::Greater) => tail.push(e),
                (None, std::cmp::Ordering::Equal) => {}
                (None, _) => return Err("more than one %m".to_string()),
                (Some(_), std::cmp::Ordering::Equal) => unreachable!(),
            }
        }
        let has = |v: &[Elem], f: fn(&Elem) -> bool| v.iter().any(f);
        let layout = Layout {
            pattern: pattern.to_string(),
            has_date: has(&head, |e| matches!(e, Elem::Date(_))),
            has_level: has(&head, |e| matches!(e, Elem::Level)),
            logger_in_head: has(&head, |e| matches!(e, Elem::Logger { .. })),
            logger_in_tail: has(&tail, |e| matches!(e, Elem::Logger { .. })),
            logger_abbreviated: has(&head, |e| matches!(e, Elem::Logger { abbreviated: true }))
                || has(&tail, |e| matches!(e, Elem::Logger { abbreviated: true })),
            head,
            tail,
        };
        layout.check()?;
        Ok(layout)
    }

    /// Compiles a layout for a log of `input`: also refuses a layout that `broker_log` (a file's
    /// `kind: auto`) could not route (no full `%c`), which would otherwise file every entry under
    /// `server`.
    pub fn for_kind(pattern: &str, input: super::Input) -> Result<Layout, String> {
        let layout = Layout::parse(pattern)?;
        if input.format().is_none() && !layout.routes_by_logger() {
            return Err(
                "this layout prints no full logger name (%c without {n} or .n), which `auto` routes entries by; set the log's kind (authorizer, server, controller or request)"
                    .to_string(),
            );
        }
        Ok(layout)
    }

    /// The pattern as configured.
    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The logger comes after the message, so a forged line inside a message can be told from a
    /// genuine entry (the default layout's property).
    pub fn anchored(&self) -> bool {
        self.logger_in_tail
    }

    /// Entries carry full logger names, so `kind: auto` can route them.
    pub fn routes_by_logger(&self) -> bool {
        (self.logger_in_head || self.logger_in_tail) && !self.logger_abbreviated
    }

    /// Reads an entry's first line (after any container prefix). `None`: not a first line.
    pub fn header<'a>(&self, line: &'a [u8], utc_offset_secs: i32) -> Option<LayoutHeader<'a>> {
        self.header_near(line, utc_offset_secs, None)
    }

    /// [`Layout::header`], dating a stamp without a date (`%d{ABSOLUTE}`) near `reference`
    /// (see [`DatePattern::read`]).
    pub fn header_near<'a>(
        &self,
        line: &'a [u8],
        utc_offset_secs: i32,
        reference: Option<SystemTime>,
    ) -> Option<LayoutHeader<'a>> {
        let mut at = 0;
        let mut out = LayoutHeader {
            timestamp: None,
            level: None,
            logger: None,
            rest: &[],
        };
        for (i, e) in self.head.iter().enumerate() {
            match e {
                Elem::Text(t) => at = match_text(line, at, t)?,
                Elem::Date(d) => {
                    let (t, end) = d.read(&line[at..], utc_offset_secs, reference)?;
                    out.timestamp = Some(t);
                    at += end;
                }
                Elem::Level => {
                    at = skip_spaces(line, at);
                    let n = line[at..]
                        .iter()
                        .take(12)
                        .take_while(|b| b.is_ascii_alphabetic())
                        .count();
                    out.level = Some(Level::from_bytes_any_case(&line[at..at + n])?);
                    at += n;
                }
                Elem::Logger { .. } => {
                    at = skip_spaces(line, at);
                    // `%c: %m`: the name stops where the fixed text after it starts.
                    let stop = match self.head.get(i + 1) {
                        Some(Elem::Text(t)) => t.first().copied().filter(|&b| b != b' '),
                        _ => None,
                    };
                    let n = line[at..]
                        .iter()
                        .take_while(|&&b| is_logger_byte(b) && Some(b) != stop)
                        .count();
                    if n == 0 {
                        return None;
                    }
                    out.logger = Some(&line[at..at + n]);
                    at += n;
                }
                Elem::Skip(_) => {
                    at = skip_spaces(line, at);
                    // `check` guarantees fixed text follows a skipped field.
                    let Some(Elem::Text(next)) = self.head.get(i + 1) else {
                        return None;
                    };
                    let key = trim_spaces(next);
                    at += memchr::memmem::find(&line[at..], key)?;
                    // Leave the spaces before the text for it to match.
                    while at > 0 && line[at - 1] == b' ' && next.first() == Some(&b' ') {
                        at -= 1;
                    }
                }
            }
        }
        out.rest = &line[at..];
        Some(out)
    }

    /// Splits what the layout prints after `%m` off the end of a line: `(text, logger, found)`.
    /// `found` is true when the line ends with the layout's tail (always, for an empty tail).
    pub fn split_tail<'a>(&self, line: &'a [u8]) -> (&'a [u8], Option<&'a [u8]>, bool) {
        let mut end = line.len();
        let mut logger = None;
        for (i, e) in self.tail.iter().enumerate().rev() {
            match e {
                Elem::Text(t) => match match_text_back(line, end, t) {
                    Some(e) => end = e,
                    None => return (line, None, false),
                },
                Elem::Logger { .. } => {
                    let stop = match i.checked_sub(1).and_then(|p| self.tail.get(p)) {
                        Some(Elem::Text(t)) => t.last().copied().filter(|&b| b != b' '),
                        _ => None,
                    };
                    let n = line[..end]
                        .iter()
                        .rev()
                        .take_while(|&&b| is_logger_byte(b) && Some(b) != stop)
                        .count();
                    if n == 0 {
                        return (line, None, false);
                    }
                    logger = Some(&line[end - n..end]);
                    end -= n;
                }
                Elem::Skip(_) => {
                    // `check` guarantees fixed text precedes a skipped field in the tail.
                    let Some(Elem::Text(prev)) = i.checked_sub(1).and_then(|p| self.tail.get(p))
                    else {
                        return (line, None, false);
                    };
                    let key = trim_spaces(prev);
                    match memchr::memmem::rfind(&line[..end], key) {
                        Some(p) => end = p + key.len(),
                        None => return (line, None, false),
                    }
                    // Give back trailing spaces the text itself ends with.
                    let trailing = prev.len() - prev.trim_ascii_end().len();
                    end = (end + trailing).min(line.len());
                }
                Elem::Date(_) | Elem::Level => return (line, None, false),
            }
        }
        (&line[..end], logger, true)
    }

    /// Splits a pattern into elements; `None` stands for `%m`.
    fn elements(pattern: &str) -> Result<Vec<Option<Elem>>, String> {
        let b = pattern.as_bytes();
        let mut out: Vec<Option<Elem>> = Vec::new();
        let mut text = Vec::new();
        let mut ended = false;
        let mut i = 0;
        let flush = |text: &mut Vec<u8>, out: &mut Vec<Option<Elem>>| {
            if !text.is_empty() {
                out.push(Some(Elem::Text(std::mem::take(text))));
            }
        };
        while i < b.len() {
            if b[i] != b'%' {
                if ended {
                    return Err(format!(
                        "text `{}` after %n: the line ends there",
                        &pattern[i..]
                    ));
                }
                text.push(b[i]);
                i += 1;
                continue;
            }
            let start = i;
            i += 1;
            if b.get(i) == Some(&b'%') {
                text.push(b'%');
                i += 1;
                continue;
            }
            // Format modifier: `-5`, `5`, `.30`, `-5.30`.
            let mut truncates = false;
            if b.get(i) == Some(&b'-') {
                i += 1;
            }
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if b.get(i) == Some(&b'.') {
                truncates = true;
                i += 1;
                while b.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            let name_start = i;
            while b.get(i).is_some_and(u8::is_ascii_alphabetic) {
                i += 1;
            }
            let name = &pattern[name_start..i];
            let mut options = Vec::new();
            while b.get(i) == Some(&b'{') {
                let close = pattern[i..]
                    .find('}')
                    .ok_or_else(|| format!("`{}`: unclosed `{{`", &pattern[start..]))?;
                options.push(&pattern[i + 1..i + close]);
                i += close + 1;
            }
            let spec = &pattern[start..i];
            if name.is_empty() {
                return Err(format!("`{spec}`: a conversion name must follow `%`"));
            }
            if ended && !is_throwable(name) {
                return Err(format!("`{spec}` after %n: the line ends there"));
            }
            match name {
                "d" | "date" => {
                    flush(&mut text, &mut out);
                    out.push(Some(Elem::Date(DatePattern::parse(&options)?)));
                }
                "p" | "level" => {
                    if truncates {
                        return Err(format!(
                            "`{spec}`: a truncated level cannot be read; drop the `.n`"
                        ));
                    }
                    flush(&mut text, &mut out);
                    out.push(Some(Elem::Level));
                }
                "c" | "logger" | "lo" => {
                    flush(&mut text, &mut out);
                    out.push(Some(Elem::Logger {
                        abbreviated: truncates || !options.is_empty(),
                    }));
                }
                "m" | "msg" | "message" => {
                    flush(&mut text, &mut out);
                    out.push(None);
                }
                "n" => {
                    flush(&mut text, &mut out);
                    ended = true;
                }
                n if is_throwable(n) => {
                    flush(&mut text, &mut out);
                    ended = true;
                }
                "t" | "thread" | "tn" | "threadName" | "T" | "tid" | "threadId" | "tp"
                | "threadPriority" | "X" | "mdc" | "MDC" | "x" | "ndc" | "NDC" | "C" | "class"
                | "M" | "method" | "L" | "line" | "F" | "file" | "l" | "location" | "r"
                | "relative" | "pid" | "processId" | "sn" | "sequenceNumber" | "u" | "uuid"
                | "N" | "nano" | "marker" | "markerSimpleName" | "K" | "map" | "MAP" | "fqcn"
                | "hostName" | "host" => {
                    flush(&mut text, &mut out);
                    out.push(Some(Elem::Skip(spec.to_string())));
                }
                other => {
                    return Err(format!(
                        "`{spec}`: conversion `%{other}` is not supported (supported: %d, %p, %c, %m, %n, %t, %X, %x, %C, %M, %L, %F, %l, %r, %T, %pid, %sn, %u, %N, %marker, %ex); write the pattern without it"
                    ))
                }
            }
        }
        flush(&mut text, &mut out);
        Ok(out)
    }

    fn check(&self) -> Result<(), String> {
        if !self.has_date && !self.has_level {
            return Err(
                "%d or %p must come before %m: without them every line would start an entry"
                    .to_string(),
            );
        }
        if self.logger_in_head && self.logger_in_tail {
            return Err("%c appears twice".to_string());
        }
        for (i, e) in self.head.iter().enumerate() {
            if let Elem::Skip(spec) = e {
                if !matches!(self.head.get(i + 1), Some(Elem::Text(t)) if !trim_spaces(t).is_empty())
                {
                    return Err(format!(
                        "`{spec}` before %m must be followed by fixed text (like `] ` or ` - `) so its end can be found"
                    ));
                }
            }
        }
        for (i, e) in self.tail.iter().enumerate() {
            match e {
                Elem::Skip(spec) => {
                    let prev = i.checked_sub(1).and_then(|p| self.tail.get(p));
                    if !matches!(prev, Some(Elem::Text(t)) if !trim_spaces(t).is_empty()) {
                        return Err(format!(
                            "`{spec}` after %m must follow fixed text (like ` [`) so its start can be found"
                        ));
                    }
                }
                Elem::Date(_) | Elem::Level => {
                    return Err("%d and %p must come before %m".to_string())
                }
                _ => {}
            }
        }
        if self
            .head
            .iter()
            .filter(|e| matches!(e, Elem::Date(_)))
            .count()
            > 1
        {
            return Err("%d appears twice".to_string());
        }
        Ok(())
    }
}

/// The pattern inside a pasted configuration line (see [`Layout::parse`]); `line` itself when
/// it is not one.
fn unwrap_config_line(line: &str) -> &str {
    let t = line.trim();
    if let Some(rest) = t.strip_prefix("<PatternLayout") {
        // `pattern="…"`: XML escapes are not expected in a log4j pattern.
        if let Some(start) = rest.find("pattern=\"") {
            let value = &rest[start + 9..];
            if let Some(end) = value.find('"') {
                return &value[..end];
            }
        }
        return line;
    }
    // `key=value`, `key = value` or `key: value`, the key naming the pattern and holding no `%`.
    let Some(sep) = t.find(['=', ':']) else {
        return line;
    };
    let key = t[..sep].trim();
    let names_pattern = !key.contains('%')
        && !key.contains(' ')
        && ["conversionpattern", "pattern"]
            .iter()
            .any(|k| key.to_ascii_lowercase().ends_with(k));
    if !names_pattern {
        return line;
    }
    let value = t[sep + 1..].trim();
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

fn is_throwable(name: &str) -> bool {
    matches!(
        name,
        "ex" | "exception"
            | "throwable"
            | "xEx"
            | "xException"
            | "xThrowable"
            | "rEx"
            | "rException"
            | "rThrowable"
            | "wEx"
    )
}

fn skip_spaces(line: &[u8], mut at: usize) -> usize {
    while line.get(at) == Some(&b' ') {
        at += 1;
    }
    at
}

fn trim_spaces(t: &[u8]) -> &[u8] {
    let start = t.iter().take_while(|&&b| b == b' ').count();
    let end = t.len() - t.iter().rev().take_while(|&&b| b == b' ').count();
    &t[start..end.max(start)]
}

/// Matches fixed text at `at`; a run of spaces in it matches one or more spaces (padding).
fn match_text(line: &[u8], mut at: usize, text: &[u8]) -> Option<usize> {
    let mut i = 0;
    while i < text.len() {
        if text[i] == b' ' {
            while text.get(i) == Some(&b' ') {
                i += 1;
            }
            if line.get(at) != Some(&b' ') {
                return None;
            }
            at = skip_spaces(line, at);
        } else {
            if line.get(at) != Some(&text[i]) {
                return None;
            }
            at += 1;
            i += 1;
        }
    }
    Some(at)
}

/// [`match_text`] backwards: `text` must end at `end`; returns where it starts.
fn match_text_back(line: &[u8], mut end: usize, text: &[u8]) -> Option<usize> {
    let mut i = text.len();
    while i > 0 {
        if text[i - 1] == b' ' {
            while i > 0 && text[i - 1] == b' ' {
                i -= 1;
            }
            if end == 0 || line[end - 1] != b' ' {
                return None;
            }
            while end > 0 && line[end - 1] == b' ' {
                end -= 1;
            }
        } else {
            if end == 0 || line[end - 1] != text[i - 1] {
                return None;
            }
            end -= 1;
            i -= 1;
        }
    }
    Some(end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64, ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms)
    }
    /// 2026-11-26 14:06:16.546 UTC.
    const T: u64 = 1_795_701_976;

    /// `h` is an INFO line of `kafka.authorizer.logger` stamped `timestamp`, its message `rest`.
    fn assert_authorizer_info(h: &LayoutHeader<'_>, timestamp: Option<SystemTime>, rest: &[u8]) {
        assert_eq!(h.timestamp, timestamp);
        assert_eq!(h.level, Some(Level::Info));
        assert_eq!(h.logger, Some(&b"kafka.authorizer.logger"[..]));
        assert_eq!(h.rest, rest);
    }

    #[test]
    fn kafkas_own_layout() {
        let l = Layout::parse("[%d] %p %m (%c)%n").unwrap();
        assert!(l.anchored() && l.routes_by_logger());
        let line = b"[2026-11-26 14:06:16,546] INFO Principal = User:bob is Denied (kafka.authorizer.logger)";
        let h = l.header(line, 0).unwrap();
        assert_eq!(h.timestamp, Some(at(T, 546)));
        assert_eq!(h.level, Some(Level::Info));
        assert_eq!(h.logger, None);
        let (text, logger, found) = l.split_tail(h.rest);
        assert!(found);
        assert_eq!(text, b"Principal = User:bob is Denied");
        assert_eq!(logger, Some(&b"kafka.authorizer.logger"[..]));
        // The zone setting applies to a stamp without one.
        let h = l.header(line, 3600).unwrap();
        assert_eq!(h.timestamp, Some(at(T - 3600, 546)));
        assert!(l.header(b"\tat org.apache.Foo(Foo.java:1)", 0).is_none());
        assert!(l.header(b"[2026-11-26 14:06:16,546] NOPE x", 0).is_none());
    }

    #[test]
    fn logger_first_layouts_with_threads_and_padding() {
        // log4j's TTCC-like `%d{ISO8601} %-5p [%t] %c - %m%n`.
        let l = Layout::parse("%d{ISO8601} %-5p [%t] %c - %m%n").unwrap();
        assert!(!l.anchored());
        assert!(l.routes_by_logger());
        let h = l
            .header(b"2026-11-26T14:06:16,546 INFO  [data-plane-kafka-request-handler-3] kafka.authorizer.logger - Principal = User:bob is Denied", 0)
            .unwrap();
        assert_authorizer_info(&h, Some(at(T, 546)), b"Principal = User:bob is Denied");
        // A thread name with spaces, brackets and parentheses inside.
        let h = l
            .header(b"2026-11-26T14:06:16,546 WARN  [kafka-network-thread-1-ListenerName(SASL_PLAINTEXT)-SASL_PLAINTEXT-0] org.apache.kafka.common.network.Selector - x", 0)
            .unwrap();
        assert_eq!(h.level, Some(Level::Warn));
        assert_eq!(h.rest, b"x");
        // Right-aligned `%5p`, lower case and an offset zone.
        let l = Layout::parse("%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %5p %c: %m%n").unwrap();
        let h = l
            .header(
                b"2026-11-26T15:06:16.546+01:00  info kafka.authorizer.logger: m",
                0,
            )
            .unwrap();
        assert_eq!(h.timestamp, Some(at(T, 546)));
        assert_eq!(h.level, Some(Level::Info));
    }

    /// log4j 1's `TTCCLayout` as a pattern, `%r [%t] %p %c %x - %m%n`: no date, an empty NDC.
    #[test]
    fn ttcc_without_a_date() {
        let l = Layout::parse("%r [%t] %p %c %x - %m%n").unwrap();
        let h = l
            .header(
                b"176 [main] INFO kafka.authorizer.logger  - Principal = User:bob",
                0,
            )
            .unwrap();
        assert_authorizer_info(&h, None, b"Principal = User:bob");
        let h = l
            .header(b"1176 [main] WARN a.B ctx - m - with dashes", 0)
            .unwrap();
        assert_eq!(h.rest, b"m - with dashes");
        assert!(l.header(b"java.lang.Exception: x - y", 0).is_none());
    }

    #[test]
    fn tails_with_logger_and_thread() {
        let l = Layout::parse("%d %p %m (%c) [%t]%n").unwrap();
        assert!(l.anchored());
        let (text, logger, found) =
            l.split_tail(b"msg with (parens) [and brackets] (kafka.authorizer.logger) [main]");
        assert!(found);
        assert_eq!(text, b"msg with (parens) [and brackets]");
        assert_eq!(logger, Some(&b"kafka.authorizer.logger"[..]));
        let (text, logger, found) = l.split_tail(b"a stack trace line");
        assert!(!found);
        assert_eq!((text, logger), (&b"a stack trace line"[..], None));
        // A message-only tail is always found.
        let l = Layout::parse("%d %p %c - %m%n%throwable").unwrap();
        assert_eq!(l.split_tail(b"x (y)"), (&b"x (y)"[..], None, true));
    }

    #[test]
    fn named_and_numeric_dates() {
        for (pattern, line) in [
            ("%d{DEFAULT} %p %m", "2026-11-26 14:06:16,546 INFO m"),
            ("%d{ISO8601_BASIC} %p %m", "20261126T140616,546 INFO m"),
            ("%d{DATE} %p %m", "26 Nov 2026 14:06:16,546 INFO m"),
            (
                "%d{ISO8601_OFFSET_DATE_TIME_HHMM} %p %m",
                "2026-11-26T15:36:16,546+0130 INFO m",
            ),
            (
                "%d{ISO8601}{GMT+01:00} %p %m",
                "2026-11-26T15:06:16,546 INFO m",
            ),
            ("%d{UNIX_MILLIS} %p %m", "1795701976546 INFO m"),
            (
                "%d{yyyy-MM-dd HH:mm:ss.SSSSSS} %p %m",
                "2026-11-26 14:06:16.546000 INFO m",
            ),
        ] {
            let l = Layout::parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
            let h = l
                .header(line.as_bytes(), 0)
                .unwrap_or_else(|| panic!("{pattern}"));
            assert_eq!(h.timestamp, Some(at(T, 546)), "{pattern}");
            assert_eq!(h.rest, b"m", "{pattern}");
        }
        // A zone in the stamp or in `%d{…}{zone}` wins over the configured offset.
        for (pattern, line) in [
            (
                "%d{ISO8601}{GMT+01:00} %p %m",
                "2026-11-26T15:06:16,546 INFO m",
            ),
            (
                "%d{ISO8601_OFFSET_DATE_TIME_HHCMM} %p %m",
                "2026-11-26T14:06:16,546Z INFO m",
            ),
            ("%d %p %m", "2026-11-26 16:06:16,546 INFO m"),
        ] {
            let l = Layout::parse(pattern).unwrap();
            let h = l.header(line.as_bytes(), 7200).unwrap();
            assert_eq!(h.timestamp, Some(at(T, 546)), "{pattern}");
        }
        let l = Layout::parse("%d{yyyy-MM-dd HH:mm:ss,SSS}{GMT+01:00} %p %m").unwrap();
        let h = l.header(b"2026-11-26 15:06:16,546 INFO m", 7200).unwrap();
        assert_eq!(h.timestamp, Some(at(T, 546)));
        // The pattern says `,`: a `.` is not this layout's stamp.
        assert!(l.header(b"2026-11-26 15:06:16.546 INFO m", 0).is_none());
        assert!(l.header(b"2026-11-26 15:06:16;546 INFO m", 0).is_none());
        assert!(l.header(b"2026-11-26 15:06 INFO m", 0).is_none());
        let l = Layout::parse("%d{UNIX} %p %m").unwrap();
        assert_eq!(
            l.header(b"1795701976 INFO m", 0).unwrap().timestamp,
            Some(at(T, 0))
        );
    }

    /// log4j 1.x names print other shapes than Log4j2's: `%d{ISO8601}` is
    /// `yyyy-MM-dd HH:mm:ss,SSS` in log4j 1.x (`org.apache.log4j.helpers.ISO8601DateFormat`) and
    /// `yyyy-MM-dd'T'HH:mm:ss,SSS` in Log4j2; either is read. Only the `T` is optional.
    #[test]
    fn iso8601_in_both_dialects() {
        let l = Layout::parse("%d{ISO8601} [%t] %-5p %c %x - %m%n").unwrap();
        for stamp in ["2026-11-26 14:06:16,546", "2026-11-26T14:06:16,546"] {
            let line = format!("{stamp} [data-plane-kafka-request-handler-3] INFO  kafka.authorizer.logger  - Principal = User:bob is Denied");
            let h = l
                .header(line.as_bytes(), 0)
                .unwrap_or_else(|| panic!("{line}"));
            assert_authorizer_info(&h, Some(at(T, 546)), b"Principal = User:bob is Denied");
        }
        for bad in [
            "2026-11-26_14:06:16,546 [main] INFO  a.B  - m",
            "2026-11-26 14:06:16.546 [main] INFO  a.B  - m",
        ] {
            assert!(l.header(bad.as_bytes(), 0).is_none(), "{bad}");
        }
        // An explicit pattern means what it says.
        let l = Layout::parse("%d{yyyy-MM-dd'T'HH:mm:ss,SSS} %p %m").unwrap();
        assert!(l.header(b"2026-11-26 14:06:16,546 INFO m", 0).is_none());
    }

    /// `%d{ABSOLUTE}` (both dialects: `HH:mm:ss,SSS`) is dated on the latest day that does not
    /// put it more than an hour after the reference time.
    #[test]
    fn time_of_day_stamps_are_dated_near_the_reference() {
        let l = Layout::parse("%d{ABSOLUTE} %-5p [%c] %m%n").unwrap();
        let line = b"14:06:16,546 INFO  [kafka.authorizer.logger] m";
        let read = |reference: SystemTime| {
            l.header_near(line, 0, Some(reference))
                .unwrap()
                .timestamp
                .unwrap()
        };
        // Read later the same day, or within the hour before (a writer's clock ahead).
        assert_eq!(read(at(T + 3600, 0)), at(T, 546));
        assert_eq!(read(at(T - 1800, 0)), at(T, 546));
        // Read the next morning: yesterday's line.
        assert_eq!(read(at(T + 12 * 3600, 0)), at(T, 546));
        // Read more than an hour before that time of day: the day before.
        assert_eq!(read(at(T - 2 * 3600, 0)), at(T - 86_400, 546));
        // In a zone: 15:06 at +01:00 is 14:06 UTC.
        let h = l
            .header_near(b"15:06:16,546 INFO  [a.B] m", 3600, Some(at(T + 60, 0)))
            .unwrap();
        assert_eq!(h.timestamp, Some(at(T, 546)));
        for name in [
            "ABSOLUTE_MICROS",
            "ABSOLUTE_NANOS",
            "ABSOLUTE_PERIOD",
            "COMPACT",
        ] {
            assert!(
                Layout::parse(&format!("%d{{{name}}} %p %m")).is_ok(),
                "{name}"
            );
        }
        let l = Layout::parse("%d{COMPACT} %p %m").unwrap();
        let h = l.header(b"20261126140616546 INFO m", 0).unwrap();
        assert_eq!(h.timestamp, Some(at(T, 546)));
    }

    /// The line of a logging configuration that holds the pattern can be pasted whole.
    #[test]
    fn a_pasted_configuration_line() {
        let want = Layout::parse("%d{ISO8601} [%t] %-5p %c %x - %m%n").unwrap();
        for line in [
            "log4j.appender.kafkaAppender.layout.ConversionPattern=%d{ISO8601} [%t] %-5p %c %x - %m%n",
            "  log4j.appender.authorizerAppender.layout.ConversionPattern = %d{ISO8601} [%t] %-5p %c %x - %m%n ",
            "appender.kafka.layout.pattern = %d{ISO8601} [%t] %-5p %c %x - %m%n",
            "pattern: \"%d{ISO8601} [%t] %-5p %c %x - %m%n\"",
            "<PatternLayout pattern=\"%d{ISO8601} [%t] %-5p %c %x - %m%n\"/>",
        ] {
            let l = Layout::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(l.head, want.head, "{line}");
            assert_eq!(l.tail, want.tail, "{line}");
        }
        // Text before a `:` that is part of the pattern is not a key.
        let l = Layout::parse("%d %p %c: %m%n").unwrap();
        assert_eq!(l.pattern(), "%d %p %c: %m%n");
        assert!(
            Layout::parse("log4j.appender.x.layout=org.apache.log4j.PatternLayout")
                .unwrap_err()
                .contains("no %m")
        );
    }

    #[test]
    fn layouts_without_date_or_level() {
        let l = Layout::parse("%p %m (%c)%n").unwrap();
        let h = l.header(b"WARN m (x.Y)", 0).unwrap();
        assert_eq!((h.timestamp, h.level), (None, Some(Level::Warn)));
        let l = Layout::parse("[%d] %m%n").unwrap();
        assert!(!l.routes_by_logger());
        let h = l.header(b"[2026-11-26 14:06:16,546] m", 0).unwrap();
        assert_eq!(h.level, None);
        let l = Layout::parse("[%d] %p %c{1} - %m%n").unwrap();
        assert!(!l.routes_by_logger(), "an abbreviated logger cannot route");
        assert!(!Layout::parse("%d %p %.20c %m").unwrap().routes_by_logger());
    }

    #[test]
    fn errors_name_the_problem() {
        for (pattern, needle) in [
            ("%d %p", "no %m"),
            ("%d %m %m", "more than one %m"),
            ("%m%n", "%d or %p must come before %m"),
            ("%d %highlight{%p} %m", "`%highlight"),
            ("%d{MM-dd HH:mm:ss,SSS} %p %m", "has no `yyyy`"),
            ("%d{yyyy-dd HH:mm:ss} %p %m", "has no `MM`"),
            ("%d{HH:mm,SSS} %p %m", "has no `ss`"),
            ("%d{yyyy-MM-dd hh:mm:ss} %p %m", "`hh` is not supported"),
            ("%d{EEE yyyy-MM-dd HH:mm:ss} %p %m", "`EEE`"),
            ("%d{ISO8601}{Europe/Paris} %p %m", "named zones"),
            ("%d %p%t%m", "followed by fixed text"),
            ("%d %p %m%t", "must follow fixed text"),
            ("%d %p %m %p", "must come before %m"),
            ("%d %.1p %m", "truncated level"),
            ("%d %p %m%n trailing", "after %n"),
            ("%d{yyyy %p %m", "unclosed"),
            ("%d %p %c %m (%c)", "%c appears twice"),
            ("%d %p % %m", "conversion name"),
        ] {
            match Layout::parse(pattern) {
                Ok(_) => panic!("{pattern}: accepted"),
                Err(e) => assert!(e.contains(needle), "{pattern}: {e}"),
            }
        }
    }

    proptest::proptest! {
        /// Whatever a line holds, reading it never panics, and what is read lies inside it.
        #[test]
        fn any_line_is_read_without_panicking(
            line in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120),
            pick in 0usize..6,
            with_header in proptest::prelude::any::<bool>(),
        ) {
            // Half the cases start with a first line of the layout, then arbitrary bytes.
            let header: &[u8] = [
                &b"[2026-11-26 14:06:16,546] INFO "[..],
                b"2026-11-26T14:06:16,546 INFO  [main] a.B - ",
                b"176 [main] INFO a.B  - ",
                b"2026-11-26T15:06:16.546+01:00  info a.B: ",
                b"1795701976546 WARN ",
                b"26 Nov 2026 14:06:16,546 ERROR ",
            ][pick];
            let line = if with_header { [header, &line].concat() } else { line };
            let layout = Layout::parse([
                "[%d] %p %m (%c)%n",
                "%d{ISO8601} %-5p [%t] %c - %m%n",
                "%r [%t] %p %c %x - %m%n",
                "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %5p %c: %m%n",
                "%d{UNIX_MILLIS} %p %m (%c) [%t]%n",
                "%d{DATE}{GMT+01:00} %p %m%n",
            ][pick])
            .unwrap();
            let read = layout.header(&line, 0);
            proptest::prop_assert!(!with_header || read.is_some(), "{:?}", String::from_utf8_lossy(&line));
            if let Some(h) = read {
                proptest::prop_assert!(h.rest.len() <= line.len());
                let (text, logger, _) = layout.split_tail(h.rest);
                proptest::prop_assert!(text.len() + logger.map_or(0, <[u8]>::len) <= h.rest.len());
            }
            let (text, _, _) = layout.split_tail(&line);
            proptest::prop_assert!(text.len() <= line.len());
        }
    }
}
