//! Frames Kafka's log4j files into entries: the layout `[%d] %p %m (%c)%n`.
//!
//! Every Apache Kafka version from 2.x to 4.x writes the same line shape (reload4j
//! `PatternLayout` in 3.x, Log4j2 in 4.x; `config/log4j.properties` / `config/log4j2.yaml`):
//!
//! ```text
//! [2026-11-26 14:06:16,546] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with … (org.apache.kafka.common.network.Selector)
//! ```
//!
//! - `%d` is `yyyy-MM-dd HH:mm:ss,SSS` in the JVM's time zone with **no offset**; the framer reads
//!   it as UTC unless [`FramerConfig::utc_offset_secs`] says otherwise.
//! - `%p` is the unpadded level, `%c` the full logger name.
//!
//! The other common layouts and wrappers are recognized too (see [`parse_header`]); any other
//! `PatternLayout` is read once configured as [`FramerConfig::layout`] ([`super::layout`]).
//!
//! # Layout sniffing
//!
//! Without a configured layout, a stream's first entry chooses how the whole stream is read
//! ([`Framer::choice`], [`sniff_line`]): each [`LinePrefix`] (none, `docker compose`'s
//! `kafka1_1  | `, `kubectl logs --prefix`'s `[pod/…/…] `, a pasted line's `# `, `> ` or
//! `MESSAGE: `, stern's `pod container `) is tried
//! with Kafka's own shapes, then with the other layouts of [`LayoutName`] (Confluent for
//! Kubernetes, log4j TTCC/ISO with the logger before the message, `[%d][%p][category=%c]`); a
//! Kafka shape that finds no ` (logger)` yields to a layout that reads one. The chosen prefix is
//! removed from every later line, continuation lines included. A configured layout is tried
//! behind each prefix the same way. Lines before the first entry are counted
//! ([`Framer::skipped_lines`]), and a stream that shows [`UNRECOGNIZED_AFTER_LINES`] lines and
//! no entry [`Framer::recognizes_nothing`]: its caller reports it. Until a layout is chosen, a
//! line holding a known Kafka message is framed alone as a partial entry
//! ([`super::partial`], [`Framer::partial_lines`]). Record by record (a topic)
//! each record is sniffed alone.
//!
//! # Entries span lines
//!
//! An entry starts at a line beginning with `[yyyy-mm-dd hh:mm:ss,SSS] LEVEL ` and takes every
//! following line up to the next such line: stack traces follow the `(logger)` line, and
//! multi-line messages (`AbstractConfig.logAll`'s startup config dump) put `(logger)` on their
//! **last** line. The logger is taken from the first line that ends in ` (name)`; that suffix is
//! removed from [`LogEntry::message`], whose lines are joined by `\n` (CRLF is read as LF).
//!
//! # Prefixed lines
//!
//! Lines read from `kubectl logs --timestamps` (`2026-11-26T14:06:16.546123456Z `) or from a
//! container runtime's CRI log file (`2026-11-26T14:06:16.546Z stdout F `) carry an RFC 3339
//! stamp first; such a prefix is removed from every line before framing. CRI partial lines (`P`)
//! are not rejoined: Kafka's lines are far below the runtime's 16 KiB split size.
//!
//! # Log injection
//!
//! Kafka does not escape messages, so a newline inside a group id or principal starts a line
//! that may look like a new entry. The defense below needs the logger after the message
//! (Kafka's and Strimzi's layouts); the logger-first layouts, sniffed or configured, lose it
//! ([`Choice::anchored`]) and are warned about. A genuine entry always has its `(logger)`
//! suffix on some line, so while the current entry has not shown its logger yet, a line that
//! looks like a header is kept as part of it, and both that entry and the one after it are
//! marked [`LogEntry::suspect`]: parsers refuse suspect entries rather than trust fields a client
//! may have forged.
//!
//! # Bounded memory
//!
//! The framer holds at most one partial line and one entry, each cut at
//! [`FramerConfig::max_entry_bytes`]; a cut entry has [`LogEntry::truncated`] set. Output does not
//! depend on how the input was split into chunks (a property test checks this).

use std::sync::Arc;
use std::time::SystemTime;

use super::layout::Layout;
use super::partial;
use super::sniff::sniffed_layout;
pub use super::sniff::{sniff_line, Choice, LayoutName, LinePrefix, UNRECOGNIZED_AFTER_LINES};
use super::time::{self, is_rfc3339, parse_stamp, parse_stamp_any, MONTHS};

/// Default cap on one entry (and one line), in bytes.
pub const DEFAULT_MAX_ENTRY_BYTES: usize = 64 * 1024;

/// A log4j level, as `%p` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
            Level::Fatal => "FATAL",
        }
    }

    /// Reads a level name in any case (`info`, `Warning`, `ERR` as syslog-style shippers write).
    pub fn from_name(name: &str) -> Option<Level> {
        Some(match name.to_ascii_uppercase().as_str() {
            "TRACE" => Level::Trace,
            "DEBUG" => Level::Debug,
            "INFO" | "INFORMATION" | "NOTICE" => Level::Info,
            "WARN" | "WARNING" => Level::Warn,
            "ERROR" | "ERR" => Level::Error,
            "FATAL" | "CRITICAL" | "CRIT" => Level::Fatal,
            _ => return None,
        })
    }

    /// [`Level::from_name`] on bytes, without allocating: `%p` as printed, in any case.
    pub(crate) fn from_bytes_any_case(b: &[u8]) -> Option<Level> {
        if let Some(l) = Level::from_bytes(b) {
            return Some(l);
        }
        let mut buf = [0u8; 12];
        let upper = buf.get_mut(..b.len())?;
        upper.copy_from_slice(b);
        upper.make_ascii_uppercase();
        Level::from_name(std::str::from_utf8(upper).ok()?)
    }

    fn from_bytes(b: &[u8]) -> Option<Level> {
        Some(match b {
            b"TRACE" => Level::Trace,
            b"DEBUG" => Level::Debug,
            b"INFO" => Level::Info,
            b"WARN" => Level::Warn,
            b"ERROR" => Level::Error,
            b"FATAL" => Level::Fatal,
            _ => return None,
        })
    }
}

/// Framer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FramerConfig {
    /// The broker JVM's offset from UTC in seconds (east positive); `%d` carries no zone.
    /// Default 0 (UTC).
    pub utc_offset_secs: i32,
    /// Longest entry kept, in bytes; the rest is dropped and the entry flagged `truncated`.
    /// Default [`DEFAULT_MAX_ENTRY_BYTES`].
    pub max_entry_bytes: usize,
    /// A configured layout; `None` (the default) recognizes the common layouts by themselves.
    pub layout: Option<Arc<Layout>>,
    /// The time a stamp without a date (`%d{ABSOLUTE}`) is dated near: `None` (the default) is
    /// the time a line is read; a replay gives the file's modification time.
    pub date_reference: Option<SystemTime>,
}

impl Default for FramerConfig {
    fn default() -> Self {
        FramerConfig::DEFAULT
    }
}

impl FramerConfig {
    /// UTC, the default entry cap, the common layouts recognized by themselves.
    pub const DEFAULT: FramerConfig = FramerConfig {
        utc_offset_secs: 0,
        max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES,
        layout: None,
        date_reference: None,
    };

    /// The framing a log source configures: its `utc_offset` (default UTC) and `layout`, for
    /// logs of `input`. Invalid values fall back to the defaults; [`FramerConfig::problems`]
    /// reports them when the config is loaded.
    pub fn configured(
        utc_offset: Option<&str>,
        layout: Option<&str>,
        input: super::Input,
    ) -> FramerConfig {
        FramerConfig {
            utc_offset_secs: utc_offset
                .and_then(|o| super::time::parse_utc_offset(o).ok())
                .unwrap_or(0),
            layout: layout
                .and_then(|l| Layout::for_kind(l, input).ok())
                .map(Arc::new),
            ..FramerConfig::default()
        }
    }

    /// What is wrong with a source's `utc_offset` and `layout`, prefixed with `at`.
    pub fn problems(
        at: &str,
        utc_offset: Option<&str>,
        layout: Option<&str>,
        input: super::Input,
        problems: &mut Vec<String>,
    ) {
        if let Some(Err(e)) = utc_offset.map(super::time::parse_utc_offset) {
            problems.push(format!("{at}.utc_offset: {e}"));
        }
        if let Some(Err(e)) = layout.map(|l| Layout::for_kind(l, input)) {
            problems.push(format!("{at}.layout: {e}"));
        }
    }
}

/// An entry's first line, read by the built-in shapes or a configured layout.
struct HeaderLine<'a> {
    timestamp: SystemTime,
    level: Level,
    /// The message part of the line.
    text: &'a [u8],
    logger: Option<&'a [u8]>,
    /// The line ended with what the layout prints after `%m` (for Kafka's layout, ` (%c)`).
    tail_done: bool,
}

/// One framed log entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Byte offset of the entry's first line in the stream.
    pub offset: u64,
    /// `%d` read in the configured zone.
    pub timestamp: SystemTime,
    pub level: Level,
    /// `%c`, when a line ended in ` (name)`. Shared by the entries of one framer that name one
    /// of the last eight loggers it read (`Loggers`): no allocation per entry.
    pub logger: Option<Arc<str>>,
    /// `%m` and any continuation lines, joined by `\n`, without the ` (logger)` suffix.
    pub message: String,
    /// The entry was longer than the limit and was cut.
    pub truncated: bool,
    /// A header-like line was found inside this entry or just before it (see the module docs).
    pub suspect: bool,
    /// A known message read from a line in no layout ([`super::partial`]): no header and
    /// perhaps no logger, so the injection defense could not check it.
    pub partial: bool,
}

impl LogEntry {
    /// The message's first line (for most entries, the whole `%m`).
    pub fn first_line(&self) -> &str {
        // `\n` is ASCII: the cut is a character boundary.
        match memchr::memchr(b'\n', self.message.as_bytes()) {
            Some(at) => &self.message[..at],
            None => &self.message,
        }
    }

    /// Everything after the first line: a stack trace or the rest of a multi-line message.
    pub fn continuation(&self) -> &str {
        match memchr::memchr(b'\n', self.message.as_bytes()) {
            Some(at) => &self.message[at + 1..],
            None => "",
        }
    }
}

/// The parts of one header line, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub timestamp: SystemTime,
    pub level: Level,
    /// Everything after `LEVEL ` on this line (logger suffix included, if any).
    pub rest: &'a [u8],
}

/// Reads an entry header at the start of `line`, after an optional container, kubectl or
/// journald prefix. `None` when the line is not a header. Recognized shapes (see the module docs):
///
/// - `[2026-11-26 14:06:16,546] INFO ` — Kafka's default `[%d] %p` (Apache, Confluent, Bitnami);
/// - `[2026-11-26T14:06:16,546] INFO `, `[2026-11-26T14:06:16.546+01:00] INFO ` — `%d{ISO8601…}`;
/// - `2026-11-26 14:06:16,546 INFO  ` — Strimzi's `%d{yyyy-MM-dd HH:mm:ss,SSS} %p`, padded `%-5p`;
/// - `2026-11-26T14:06:16.546Z INFO ` — an ISO stamp without brackets (also what remains when
///   a runtime's RFC 3339 prefix stands in for the layout's own `%d`).
pub fn parse_header(line: &[u8], utc_offset_secs: i32) -> Option<Header<'_>> {
    let (line, prefix_time) = strip_prefix_stamp(line);
    match line.first() {
        Some(b'[') => {
            // Fast path: the default layout, 23-byte stamp.
            if line.len() >= 27 && line[24] == b']' && line[25] == b' ' {
                if let Some(t) = parse_stamp(&line[1..24], utc_offset_secs) {
                    return level_after(&line[26..], t);
                }
            }
            let close = memchr::memchr(b']', &line[..line.len().min(40)])?;
            if line.get(close + 1) != Some(&b' ') {
                return None;
            }
            let t = parse_stamp_any(&line[1..close], utc_offset_secs)?;
            level_after(&line[close + 2..], t)
        }
        Some(b) if b.is_ascii_digit() => {
            let end = if line.get(10) == Some(&b' ') {
                23
            } else {
                memchr::memchr(b' ', &line[..line.len().min(40)])?
            };
            if line.get(end) != Some(&b' ') {
                return None;
            }
            let t = parse_stamp_any(&line[..end], utc_offset_secs)?;
            level_after(&line[end + 1..], t)
        }
        _ => level_after(line, prefix_time?),
    }
}

/// `LEVEL` and its padding after a stamp.
fn level_after(after: &[u8], timestamp: SystemTime) -> Option<Header<'_>> {
    let sp = after[..after.len().min(6)]
        .iter()
        .position(|&b| b == b' ')?;
    let level = Level::from_bytes(&after[..sp])?;
    let mut rest = &after[sp + 1..];
    // `%-5p` pads `INFO`/`WARN` with one space.
    if sp < 5 && rest.first() == Some(&b' ') {
        rest = &rest[1..];
    }
    Some(Header {
        timestamp,
        level,
        rest,
    })
}

/// Bytes a logger name (`%c`) may hold: no spaces, controls or parentheses. A table lookup per
/// byte, as this runs on every line.
static LOGGER_BYTE: [bool; 256] =
    super::byte_table!(|c| c > b' ' && c != b'(' && c != b')' && c != 0x7f);

/// A byte a logger name (`%c`) may hold.
pub(crate) fn is_logger_byte(b: u8) -> bool {
    LOGGER_BYTE[usize::from(b)]
}

/// Splits a trailing ` (logger)` off a line: `(text, Some(logger))` when the line ends in a
/// parenthesized name without spaces or parentheses.
pub fn split_logger(line: &[u8]) -> (&[u8], Option<&[u8]>) {
    if line.last() == Some(&b']') {
        // Strimzi's layout ends `(%c) [%t]`: drop the thread, then read the logger.
        if let Some(open) = memchr::memmem::rfind(line, b" [") {
            let before = &line[..open];
            if before.last() == Some(&b')') {
                let (text, logger) = split_logger(before);
                if logger.is_some() {
                    return (text, logger);
                }
            }
        }
        return (line, None);
    }
    if line.last() != Some(&b')') {
        return (line, None);
    }
    // The loggers that write one line per request or decision, compared whole first.
    for known in [
        &b" (kafka.authorizer.logger)"[..],
        &b" (kafka.request.logger)"[..],
    ] {
        if line.ends_with(known) {
            let at = line.len() - known.len();
            return (&line[..at], Some(&known[2..known.len() - 1]));
        }
    }
    let inner = &line[..line.len() - 1];
    // One backward pass over the name: it stops at the `(`, or at the first byte a logger name
    // cannot hold.
    let mut open = inner.len();
    loop {
        if open == 0 {
            return (line, None);
        }
        let b = inner[open - 1];
        if b == b'(' {
            open -= 1;
            break;
        }
        if !LOGGER_BYTE[usize::from(b)] {
            return (line, None);
        }
        open -= 1;
    }
    let name = &inner[open + 1..];
    let ok = !name.is_empty() && open >= 1 && inner[open - 1] == b' ';
    if ok {
        (&line[..open - 1], Some(name))
    } else {
        (line, None)
    }
}

/// Removes a `kubectl logs --timestamps` or CRI prefix (an RFC 3339 stamp, a space, and for CRI
/// `stdout|stderr F|P `) or a journald/syslog prefix (`Nov 26 14:06:16 host ident[pid]: `, or
/// `journalctl -o short-iso`'s `2026-11-26T14:06:16+0000 host ident[pid]: `).
pub fn strip_prefix(line: &[u8]) -> &[u8] {
    strip_prefix_stamp(line).0
}

/// [`strip_prefix`], also returning the prefix's time when it had a full RFC 3339 stamp.
pub(super) fn strip_prefix_stamp(line: &[u8]) -> (&[u8], Option<SystemTime>) {
    match line.first() {
        Some(b'1' | b'2') => {}
        Some(b'A' | b'D' | b'F' | b'J' | b'M' | b'N' | b'O' | b'S') => {
            return (strip_syslog(line).unwrap_or(line), None)
        }
        // Fast path: Kafka's own layout.
        _ => return (line, None),
    }
    let Some(sp) = memchr::memchr(b' ', &line[..line.len().min(40)]) else {
        return (line, None);
    };
    if !is_rfc3339(&line[..sp]) {
        return (line, None);
    }
    let time = std::str::from_utf8(&line[..sp])
        .ok()
        .and_then(time::parse_rfc3339);
    let rest = &line[sp + 1..];
    for stream in [&b"stdout "[..], &b"stderr "[..]] {
        if let Some(r) = rest.strip_prefix(stream) {
            if r.len() >= 2 && (r[0] == b'F' || r[0] == b'P') && r[1] == b' ' {
                return (&r[2..], time);
            }
        }
    }
    if let Some(r) = strip_syslog_ident(rest) {
        return (r, time);
    }
    (rest, time)
}

/// `Nov 26 14:06:16 host ident[pid]: ` (journalctl's default `short` output, syslog files).
fn strip_syslog(line: &[u8]) -> Option<&[u8]> {
    if line.len() < 17 || !MONTHS.contains(&&line[..3]) || line[3] != b' ' {
        return None;
    }
    let t = &line[7..15];
    let clock =
        t[2] == b':' && t[5] == b':' && [0, 1, 3, 4, 6, 7].iter().all(|&i| t[i].is_ascii_digit());
    if !clock || line[15] != b' ' {
        return None;
    }
    strip_syslog_ident(&line[16..])
}

/// `host ident[pid]: ` or `host ident: ` before a Kafka line.
fn strip_syslog_ident(s: &[u8]) -> Option<&[u8]> {
    let head = &s[..s.len().min(160)];
    let host_end = memchr::memchr(b' ', head)?;
    let ident = &head[host_end + 1..];
    let colon = memchr::memmem::find(ident, b": ")?;
    let tag = &ident[..colon];
    if tag.is_empty() || tag.contains(&b' ') {
        return None;
    }
    Some(&s[host_end + 1 + colon + 2..])
}

/// An entry being assembled.
#[derive(Debug)]
struct Pending {
    offset: u64,
    timestamp: SystemTime,
    level: Level,
    logger: Option<Arc<str>>,
    /// The line holding what the layout prints after `%m` (the logger) has been seen.
    tail_done: bool,
    message: Vec<u8>,
    truncated: bool,
    suspect: bool,
    /// A header-like line was absorbed: the next entry is suspect too.
    absorbed: bool,
}

/// Turns a byte stream into [`LogEntry`]s. Feed it chunks with [`Framer::push`]; call
/// [`Framer::flush`] at end of input (or after an idle timeout) to get the last entry.
#[derive(Debug)]
pub struct Framer {
    config: FramerConfig,
    /// The unfinished last line (at most `max_entry_bytes + 1` bytes kept).
    partial: Vec<u8>,
    /// The partial line was longer than what is kept.
    partial_overflow: bool,
    /// Stream offset of the start of the current line.
    line_start: u64,
    /// Bytes pushed so far.
    pos: u64,
    pending: Option<Pending>,
    /// The next entry follows one that absorbed a header-like line.
    next_suspect: bool,
    skipped_lines: u64,
    /// Partial entries emitted (see [`Framer::partial_lines`]).
    partial_lines: u64,
    /// Entries emitted.
    entries: u64,
    /// The layout and prefix chosen by the stream's first entry.
    choice: Option<Choice>,
    /// The loggers last read ([`Loggers`]).
    loggers: Loggers,
}

impl Framer {
    pub fn new(config: FramerConfig) -> Framer {
        Framer {
            config,
            partial: Vec::new(),
            partial_overflow: false,
            line_start: 0,
            pos: 0,
            pending: None,
            next_suspect: false,
            skipped_lines: 0,
            partial_lines: 0,
            entries: 0,
            choice: None,
            loggers: Loggers::default(),
        }
    }

    /// A framer for a stream whose first byte is at `offset` (a tailer resuming mid-file): the
    /// entries' offsets are positions in the file.
    pub fn starting_at(config: FramerConfig, offset: u64) -> Framer {
        let mut f = Framer::new(config);
        f.pos = offset;
        f.line_start = offset;
        f
    }

    /// A framer for the part of a stream that starts at `offset` with an entry header, the
    /// stream having chosen `choice` ([`Framer::choice`]) before: a parallel replay frames the
    /// chunks of one file apart. Its entries equal those a framer fed the whole stream gives
    /// when the framer of the part before ends in a [`Framer::clean_break`].
    pub fn resuming(config: FramerConfig, choice: Choice, offset: u64) -> Framer {
        let mut f = Framer::starting_at(config, offset);
        f.choice = Some(choice);
        f
    }

    /// Whether `line` (without its newline) starts an entry in the stream's chosen layout; `false`
    /// before a layout is chosen.
    pub fn starts_entry(&self, line: &[u8]) -> bool {
        let Some(choice) = self.choice else {
            return false;
        };
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.config.max_entry_bytes {
            return false;
        }
        let line = choice.prefix.strip(line).unwrap_or(line);
        self.read_header_as(choice.layout, line).is_some()
    }

    /// At the end of a whole line, whether a next line that [`Framer::starts_entry`] would start a
    /// new entry, not suspect: the entry being assembled has shown its logger (or was cut) and
    /// absorbed no header-like line. Then the rest of the stream frames the same in a framer
    /// [`Framer::resuming`] there, and [`Framer::flush`] emits what the next line would.
    pub fn clean_break(&self) -> bool {
        let anchored = self
            .choice
            .is_none_or(|c| c.anchored(self.config.layout.as_deref()));
        self.partial.is_empty()
            && !self.partial_overflow
            && !self.next_suspect
            && self
                .pending
                .as_ref()
                .is_some_and(|p| !p.absorbed && (!anchored || p.tail_done || p.truncated))
    }

    /// The offset up to which every byte has been emitted in an entry (or skipped): the start of
    /// the entry still being assembled, else of the unfinished last line. A tailer checkpoints
    /// this after applying the emitted entries, so a restart re-reads only what was not applied.
    pub fn pending_offset(&self) -> u64 {
        self.pending.as_ref().map_or(self.line_start, |p| p.offset)
    }

    /// Emits the entry being assembled if the input ends on a complete line: Kafka writes each
    /// entry (with its stack trace) in one go, so a tailer calls this when a file has been idle.
    pub fn flush_if_idle(&mut self, out: &mut Vec<LogEntry>) {
        if self.partial.is_empty() && !self.partial_overflow {
            self.emit(out);
        }
    }

    /// Nothing is held back: no entry being assembled and no unfinished line.
    pub fn is_empty(&self) -> bool {
        self.pending.is_none() && self.partial.is_empty() && !self.partial_overflow
    }

    /// Lines outside any entry: before the first entry header (the middle of an entry a tailer
    /// started in), or every line of a stream in no layout the framer reads.
    pub fn skipped_lines(&self) -> u64 {
        self.skipped_lines
    }

    /// Lines of a stream in no layout read for the known message they hold, each framed alone as
    /// an entry marked [`LogEntry::partial`] ([`super::partial`]).
    pub fn partial_lines(&self) -> u64 {
        self.partial_lines
    }

    /// The layout and line prefix the stream's first entry was read in; `None` before it.
    pub fn choice(&self) -> Option<Choice> {
        self.choice
    }

    /// The stream has shown [`UNRECOGNIZED_AFTER_LINES`] lines and no entry: it is in no layout
    /// the framer reads (or not the configured one). The caller reports it.
    pub fn recognizes_nothing(&self) -> bool {
        self.choice.is_none() && self.skipped_lines >= UNRECOGNIZED_AFTER_LINES
    }

    /// Feeds bytes; complete entries are appended to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<LogEntry>) {
        let keep = self.config.max_entry_bytes.saturating_add(1);
        let mut rest = chunk;
        while let Some(nl) = memchr::memchr(b'\n', rest) {
            if self.partial.is_empty() && !self.partial_overflow {
                self.line(&rest[..nl], false, out);
            } else {
                append_capped(
                    &mut self.partial,
                    &rest[..nl],
                    keep,
                    &mut self.partial_overflow,
                );
                let mut line = std::mem::take(&mut self.partial);
                let overflow = std::mem::replace(&mut self.partial_overflow, false);
                self.line(&line, overflow, out);
                line.clear();
                self.partial = line;
            }
            self.line_start = self.pos + (chunk.len() - rest.len() + nl + 1) as u64;
            rest = &rest[nl + 1..];
        }
        append_capped(&mut self.partial, rest, keep, &mut self.partial_overflow);
        self.pos += chunk.len() as u64;
    }

    /// Ends the input: a partial last line counts as a line, and the last entry is emitted.
    pub fn flush(&mut self, out: &mut Vec<LogEntry>) {
        if !self.partial.is_empty() || self.partial_overflow {
            let line = std::mem::take(&mut self.partial);
            let overflow = std::mem::replace(&mut self.partial_overflow, false);
            self.line(&line, overflow, out);
        }
        self.emit(out);
    }

    fn line(&mut self, raw: &[u8], overflow: bool, out: &mut Vec<LogEntry>) {
        let max = self.config.max_entry_bytes;
        let line = raw.strip_suffix(b"\r").filter(|_| !overflow).unwrap_or(raw);
        let (line, cut) = if overflow || line.len() > max {
            (&line[..line.len().min(max)], true)
        } else {
            (line, false)
        };
        let line = match self.choice {
            Some(c) => c.prefix.strip(line).unwrap_or(line),
            None => line,
        };
        if let Some(h) = self.read_header(line) {
            // While the entry has not shown its logger, a header-like line is part of it (a
            // forged line in a client-controlled field); only layouts with the logger after
            // `%m` can tell.
            let anchored = self
                .choice
                .is_none_or(|c| c.anchored(self.config.layout.as_deref()));
            let absorb = anchored
                && self
                    .pending
                    .as_ref()
                    .is_some_and(|p| !p.tail_done && !p.truncated);
            if !absorb {
                self.emit(out);
                self.pending = Some(Pending {
                    offset: self.line_start,
                    timestamp: h.timestamp,
                    level: h.level,
                    logger: h.logger.map(|l| self.loggers.intern(l)),
                    tail_done: h.tail_done,
                    message: h.text.to_vec(),
                    truncated: cut,
                    suspect: std::mem::replace(&mut self.next_suspect, false),
                    absorbed: false,
                });
                return;
            }
            if let Some(p) = self.pending.as_mut() {
                p.suspect = true;
                p.absorbed = true;
            }
        }
        let Some(p) = self.pending.as_mut() else {
            self.outside_entry(line, cut, out);
            return;
        };
        let line = strip_prefix(line);
        let text = if p.tail_done {
            line
        } else {
            let (text, logger, found) = match &self.config.layout {
                None => {
                    let (text, logger) = split_logger(line);
                    (text, logger, logger.is_some())
                }
                Some(layout) => layout.split_tail(line),
            };
            if let Some(l) = logger {
                p.logger = Some(self.loggers.intern(l));
            }
            p.tail_done = found;
            text
        };
        if p.truncated {
            return;
        }
        if p.message.len() + 1 + text.len() > max {
            let room = max.saturating_sub(p.message.len() + 1);
            p.message.push(b'\n');
            p.message.extend_from_slice(&text[..room.min(text.len())]);
            p.truncated = true;
        } else {
            p.message.push(b'\n');
            p.message.extend_from_slice(text);
            p.truncated |= cut;
        }
    }

    /// Reads an entry's first line in the stream's chosen layout. Until one is chosen, every
    /// line prefix is tried with the configured layout, or else with Kafka's and the common
    /// layouts ([`sniff_line`]); the first that reads a line is the stream's from then on.
    fn read_header<'l>(&mut self, line: &'l [u8]) -> Option<HeaderLine<'l>> {
        if let Some(choice) = self.choice {
            return self.read_header_as(choice.layout, line);
        }
        let choice = match self.config.layout {
            Some(_) => LinePrefix::ALL.into_iter().find_map(|prefix| {
                let rest = prefix.strip(line)?;
                let layout = LayoutName::Configured;
                self.read_header_as(layout, rest)
                    .is_some()
                    .then_some(Choice { layout, prefix })
            }),
            None => sniff_line(line, self.config.utc_offset_secs),
        }?;
        self.choice = Some(choice);
        let rest = choice.prefix.strip(line).unwrap_or(line);
        self.read_header_as(choice.layout, rest)
    }

    /// Reads an entry's first line in `layout`.
    fn read_header_as<'l>(&self, layout: LayoutName, line: &'l [u8]) -> Option<HeaderLine<'l>> {
        let utc = self.config.utc_offset_secs;
        let layout = match layout {
            LayoutName::Kafka | LayoutName::Strimzi => None,
            LayoutName::Configured => self.config.layout.as_deref(),
            other => sniffed_layout(other),
        };
        match layout {
            None => {
                let h = parse_header(line, utc)?;
                let (text, logger) = split_logger(h.rest);
                Some(HeaderLine {
                    timestamp: h.timestamp,
                    level: h.level,
                    text,
                    logger,
                    tail_done: logger.is_some(),
                })
            }
            Some(layout) => {
                let (line, prefix_time) = strip_prefix_stamp(line);
                let h = layout.header_near(line, utc, self.config.date_reference)?;
                let (text, tail_logger, tail_done) = layout.split_tail(h.rest);
                Some(HeaderLine {
                    // A layout without `%d`: the runtime's stamp, else the time it was read.
                    timestamp: h.timestamp.or(prefix_time).unwrap_or_else(SystemTime::now),
                    level: h.level.unwrap_or(Level::Info),
                    text,
                    logger: h.logger.or(tail_logger),
                    tail_done,
                })
            }
        }
    }

    /// A line outside any entry: while no layout has read the stream, a known message in it is
    /// framed alone as a partial entry ([`super::partial`]); any other line is skipped. Not with
    /// a configured layout: lines that do not match it are the operator's to hear about.
    fn outside_entry(&mut self, line: &[u8], cut: bool, out: &mut Vec<LogEntry>) {
        let found = (self.choice.is_none() && self.config.layout.is_none())
            .then(|| partial::read_line(line, self.config.utc_offset_secs))
            .flatten();
        let Some(found) = found else {
            self.skipped_lines += 1;
            return;
        };
        self.partial_lines += 1;
        self.entries += 1;
        let timestamp = found
            .timestamp
            .or(self.config.date_reference)
            .unwrap_or_else(SystemTime::now);
        out.push(LogEntry {
            offset: self.line_start,
            timestamp,
            level: found.level.unwrap_or(Level::Info),
            logger: found.logger.map(Arc::from),
            message: found.message,
            truncated: cut,
            suspect: false,
            partial: true,
        });
    }

    fn emit(&mut self, out: &mut Vec<LogEntry>) {
        if let Some(p) = self.pending.take() {
            if p.absorbed {
                self.next_suspect = true;
            }
            self.entries += 1;
            out.push(LogEntry {
                offset: p.offset,
                timestamp: p.timestamp,
                level: p.level,
                logger: p.logger,
                message: into_string(p.message),
                truncated: p.truncated,
                suspect: p.suspect,
                partial: false,
            });
        }
    }
}

/// The bytes as a `String` without copying when they are valid UTF-8 (the SIMD check is far
/// cheaper than a lossy conversion); invalid sequences become U+FFFD.
fn into_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The last [`Loggers::KEPT`] logger names a framer read, the latest first: a broker log
/// interleaves a handful of loggers, and their entries share each name.
#[derive(Debug, Default)]
struct Loggers(Vec<Arc<str>>);

impl Loggers {
    const KEPT: usize = 8;

    /// The logger named `bytes` (invalid UTF-8 replaced by U+FFFD), shared with the entries
    /// before that named it when it is one of the last [`Loggers::KEPT`] names.
    fn intern(&mut self, bytes: &[u8]) -> Arc<str> {
        let kept = &mut self.0;
        match kept.iter().position(|l| l.as_bytes() == bytes) {
            Some(0) => {}
            Some(at) => kept[..=at].rotate_right(1),
            None => {
                if kept.len() == Self::KEPT {
                    kept.pop();
                }
                kept.insert(0, Arc::from(String::from_utf8_lossy(bytes)));
            }
        }
        kept[0].clone()
    }
}

/// Appends `src` to `dst` keeping at most `keep` bytes; sets `overflow` when bytes were dropped.
fn append_capped(dst: &mut Vec<u8>, src: &[u8], keep: usize, overflow: &mut bool) {
    let room = keep.saturating_sub(dst.len());
    if src.len() > room {
        *overflow = true;
    }
    dst.extend_from_slice(&src[..room.min(src.len())]);
}

/// Frames a whole input at once (tests, one-shot reads).
pub fn frame_all(config: FramerConfig, input: &[u8]) -> Vec<LogEntry> {
    frame_all_choosing(config, input).0
}

/// [`frame_all`], also returning the layout and line prefix the input was read in
/// ([`Framer::choice`]).
pub fn frame_all_choosing(config: FramerConfig, input: &[u8]) -> (Vec<LogEntry>, Option<Choice>) {
    let mut framer = Framer::new(config);
    let mut out = Vec::new();
    framer.push(input, &mut out);
    framer.flush(&mut out);
    (out, framer.choice())
}

#[cfg(test)]
mod resume_tests {
    use super::*;

    #[test]
    fn pending_offset_tracks_what_was_emitted() {
        let a = "[2026-11-26 14:06:16,546] INFO one (x.Y)\n";
        let b = "[2026-11-26 14:06:17,546] INFO two (x.Y)\n";
        let mut f = Framer::new(FramerConfig::default());
        let mut out = Vec::new();
        f.push(a.as_bytes(), &mut out);
        assert!(out.is_empty());
        assert_eq!(f.pending_offset(), 0);
        f.push(b.as_bytes(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(f.pending_offset(), a.len() as u64);
        f.flush_if_idle(&mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(f.pending_offset(), (a.len() + b.len()) as u64);
        // Resuming at a checkpoint keeps file offsets.
        let mut g = Framer::starting_at(FramerConfig::default(), a.len() as u64);
        let mut out = Vec::new();
        g.push(b.as_bytes(), &mut out);
        g.push(b"[2026-11-26 14:06:18", &mut out);
        // An unfinished line: nothing can be emitted yet.
        g.flush_if_idle(&mut out);
        assert!(out.is_empty());
        assert_eq!(g.pending_offset(), a.len() as u64);
        g.push(b",000] INFO three (x.Y)\n", &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].offset, a.len() as u64);
        assert_eq!(g.pending_offset(), (a.len() + b.len()) as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn frame(input: &str) -> Vec<LogEntry> {
        frame_all(FramerConfig::default(), input.as_bytes())
    }

    fn at(secs: u64, ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(secs * 1000 + ms)
    }

    /// Frames `log` in two parts cut before line `cut` (a [`Framer::resuming`] there) when the
    /// first part ends in a clean break; `None` when it does not.
    fn frame_in_two(log: &str, cut: usize) -> Option<Vec<LogEntry>> {
        let at = log
            .split_inclusive('\n')
            .take(cut)
            .map(str::len)
            .sum::<usize>();
        let (head, tail) = log.as_bytes().split_at(at);
        let mut first = Framer::new(FramerConfig::default());
        let mut out = Vec::new();
        first.push(head, &mut out);
        let line = tail.split(|&b| b == b'\n').next().unwrap_or_default();
        if !first.clean_break() || !first.starts_entry(line) {
            return None;
        }
        first.flush(&mut out);
        let choice = first.choice().expect("a clean break follows an entry");
        let mut second = Framer::resuming(FramerConfig::default(), choice, at as u64);
        second.push(tail, &mut out);
        second.flush(&mut out);
        Some(out)
    }

    #[test]
    fn a_stream_resumed_at_a_clean_break_frames_as_a_whole() {
        let log = "[2026-11-26 14:06:16,546] WARN Error in fetch (kafka.server.ReplicaFetcherThread)\n\
                   java.io.IOException: disconnected\n\
                   \tat org.apache.kafka.clients.NetworkClientUtils.sendAndReceive(NetworkClientUtils.java:99)\n\
                   [2026-11-26 14:06:17,000] INFO KafkaConfig values:\n\
                   \tadvertised.listeners = SASL_SSL://b:9093\n\
                   \x20(kafka.server.KafkaConfig)\n\
                   [2026-11-26 14:06:18,000] INFO Principal = User:m is Denied operation = READ from host = 10.0.0.9 on resource = Group:LITERAL:g\n\
                   [2026-11-26 14:06:18,000] INFO Principal = User:admin is Allowed operation = ALTER from host = 10.0.0.5 on resource = Cluster:LITERAL:c for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n\
                   [2026-11-26 14:06:19,000] INFO after the forged line (kafka.server.X)\n\
                   [2026-11-26 14:06:20,000] INFO last (kafka.server.X)\n";
        let whole = frame(log);
        let lines = log.lines().count();
        let mut clean = Vec::new();
        for cut in 1..lines {
            if let Some(two) = frame_in_two(log, cut) {
                assert_eq!(two, whole, "cut before line {cut}");
                clean.push(cut);
            }
        }
        // Before each genuine entry, but not inside the stack trace or the config dump (not an
        // entry start), not at the forged line (the entry before has not shown its logger), not
        // after it (the entry before absorbed it: the next one is suspect).
        assert_eq!(clean, [3, 6, 9]);
    }

    const AUTH: &str = "[2026-11-26 14:06:16,546] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /127.0.0.1 (channelId=127.0.0.1:19092-127.0.0.1:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)";

    #[test]
    fn one_line_entry() {
        let e = frame(&format!("{AUTH}\n"));
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].timestamp, at(1_795_701_976, 546));
        assert_eq!(e[0].level, Level::Info);
        assert_eq!(
            e[0].logger.as_deref(),
            Some("org.apache.kafka.common.network.Selector")
        );
        assert!(e[0]
            .message
            .starts_with("[SocketServer listenerType=BROKER"));
        assert!(e[0].message.ends_with("SCRAM-SHA-256)"));
        assert!(!e[0].truncated && !e[0].suspect);
        assert_eq!(e[0].offset, 0);
    }

    #[test]
    fn zone_offset_is_applied() {
        let cfg = FramerConfig {
            utc_offset_secs: 3600,
            ..FramerConfig::default()
        };
        let e = frame_all(cfg, AUTH.as_bytes());
        assert_eq!(e[0].timestamp, at(1_795_701_976 - 3600, 546));
    }

    #[test]
    fn stack_trace_and_crlf_belong_to_the_entry() {
        let input = "[2026-11-26 14:06:16,546] WARN [SocketServer listenerType=BROKER, nodeId=1] Unexpected error from /127.0.0.1 (channelId=a); closing connection (org.apache.kafka.common.network.Selector)\r\norg.apache.kafka.common.errors.InvalidRequestException: boom\r\n\tat X.y(X.java:1) ~[kafka-clients-4.4.0.jar:?]\r\n[2026-11-26 14:06:17,000] INFO next (a.b)\r\n";
        let e = frame(input);
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].level, Level::Warn);
        assert_eq!(
            e[0].continuation(),
            "org.apache.kafka.common.errors.InvalidRequestException: boom\n\tat X.y(X.java:1) ~[kafka-clients-4.4.0.jar:?]"
        );
        assert!(e[0].first_line().ends_with("closing connection"));
        assert_eq!(e[1].message, "next");
        assert_eq!(
            e[1].offset,
            input.find("[2026-11-26 14:06:17").unwrap() as u64
        );
    }

    #[test]
    fn entries_share_their_logger_and_a_new_name_gets_its_own() {
        let log = b"[2026-11-26 14:06:16,000] INFO a (kafka.authorizer.logger)\n\
[2026-11-26 14:06:16,001] INFO b (kafka.authorizer.logger)\n\
[2026-11-26 14:06:16,002] INFO c (kafka.server.\xffKafkaApis)\n\
[2026-11-26 14:06:16,003] INFO d (kafka.authorizer.logger)\n";
        let e = frame_all(FramerConfig::default(), log);
        let loggers: Vec<_> = e.iter().map(|e| e.logger.clone().unwrap()).collect();
        assert_eq!(
            loggers.iter().map(|l| &**l).collect::<Vec<_>>(),
            [
                "kafka.authorizer.logger",
                "kafka.authorizer.logger",
                "kafka.server.\u{fffd}KafkaApis",
                "kafka.authorizer.logger"
            ]
        );
        assert!(Arc::ptr_eq(&loggers[0], &loggers[1]));
        assert!(Arc::ptr_eq(&loggers[1], &loggers[3]));
    }

    #[test]
    fn the_last_eight_logger_names_are_shared() {
        let mut loggers = Loggers::default();
        let first = loggers.intern(b"l0");
        let first_l1 = loggers.intern(b"l1");
        for i in 2..Loggers::KEPT {
            loggers.intern(format!("l{i}").as_bytes());
        }
        // Eight names kept: `l0` is still shared, and is now the latest.
        assert!(Arc::ptr_eq(&first, &loggers.intern(b"l0")));
        loggers.intern(b"l8");
        // `l1` was the least recent of nine: forgotten, a new one made.
        let l1 = loggers.intern(b"l1");
        assert_eq!(&*l1, "l1");
        assert!(!Arc::ptr_eq(&first_l1, &l1));
        assert_eq!(loggers.0.len(), Loggers::KEPT);
        assert!(Arc::ptr_eq(&first, &loggers.intern(b"l0")));
        assert_eq!(
            loggers.0.iter().map(|l| &**l).collect::<Vec<_>>(),
            ["l0", "l1", "l8", "l7", "l6", "l5", "l4", "l3"]
        );
    }

    #[test]
    fn logger_on_the_last_line() {
        let input = "[2025-03-18 10:00:00,001] INFO KafkaConfig values: \n\tadvertised.listeners = SASL_PLAINTEXT://127.0.0.1:9092\n (kafka.server.KafkaConfig)\n";
        let e = frame(input);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].logger.as_deref(), Some("kafka.server.KafkaConfig"));
        assert_eq!(
            e[0].message,
            "KafkaConfig values: \n\tadvertised.listeners = SASL_PLAINTEXT://127.0.0.1:9092\n"
        );
        assert!(!e[0].suspect);
    }

    #[test]
    fn partial_last_line_waits_for_flush() {
        let mut f = Framer::new(FramerConfig::default());
        let mut out = Vec::new();
        f.push(&AUTH.as_bytes()[..100], &mut out);
        f.push(&AUTH.as_bytes()[100..], &mut out);
        assert!(out.is_empty());
        f.flush(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out, frame(AUTH));
    }

    #[test]
    fn container_prefixes_are_removed() {
        let kubectl = format!(
            "2026-11-26T14:06:16.546123456Z {AUTH}\n2026-11-26T14:06:16.546123456Z \tat x\n"
        );
        let cri = format!(
            "2026-11-26T14:06:16.546Z stdout F {AUTH}\n2026-11-26T14:06:16.546Z stdout F \tat x\n"
        );
        let plain = frame(&format!("{AUTH}\n\tat x\n"));
        for input in [kubectl, cri] {
            let e = frame(&input);
            assert_eq!(e.len(), 1);
            assert_eq!(e[0].message, plain[0].message);
            assert_eq!(e[0].logger, plain[0].logger);
        }
    }

    #[test]
    fn lines_before_the_first_header_are_skipped() {
        let mut f = Framer::new(FramerConfig::default());
        let mut out = Vec::new();
        f.push(format!("\tat a.b(C.java:1)\n{AUTH}\n").as_bytes(), &mut out);
        f.flush(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(f.skipped_lines(), 1);
    }

    #[test]
    fn long_entries_are_cut_and_flagged() {
        let cfg = FramerConfig {
            max_entry_bytes: 64,
            ..FramerConfig::default()
        };
        let input = format!(
            "{AUTH}\n{}\n[2026-11-26 14:06:17,000] INFO ok (a.b)\n",
            "x".repeat(500)
        );
        let e = frame_all(cfg, input.as_bytes());
        assert_eq!(e.len(), 2);
        assert!(e[0].truncated);
        assert!(e[0].message.len() <= 64);
        assert!(!e[1].truncated);
        assert_eq!(e[1].message, "ok");
    }

    #[test]
    fn a_forged_header_inside_an_entry_is_absorbed_and_flagged() {
        // A group id holding "\n[date] INFO Principal = … (kafka.authorizer.logger)\n[date] INFO Principal = User:y":
        let input = "[2026-11-26 14:06:30,883] INFO Principal = User:alice is Denied operation = READ from host = 127.0.0.1 on resource = Group:LITERAL:g\n\
[2026-11-26 14:06:30,883] INFO Principal = User:admin is Allowed operation = READ from host = 1.2.3.4 on resource = Topic:LITERAL:t for request = Fetch with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n\
[2026-11-26 14:06:30,883] INFO Principal = User:y is Denied operation = READ from host = 1.2.3.4 on resource = Group:LITERAL:h for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n\
[2026-11-26 14:06:31,000] INFO Principal = User:bob is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n";
        let e = frame(input);
        assert_eq!(e.len(), 3);
        assert!(e[0].suspect, "the split entry");
        assert!(e[0].message.contains("User:admin"));
        assert!(e[1].suspect, "the entry right after it");
        assert!(!e[2].suspect, "the next genuine entry");
    }

    /// The layouts real deployments use, each wrapping the same authorizer line; every one must
    /// give the same entry (time, level, logger, message).
    #[test]
    fn common_layouts_and_wrappers_frame_alike() {
        const MSG: &str = "Principal = User:bob is Denied operation = WRITE from host = 10.0.0.8 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny";
        let want_time = at(1_795_701_976, 546); // 2026-11-26 14:06:16.546 UTC
        let cases = [
            // Apache Kafka, Confluent Platform images and Confluent for Kubernetes, Bitnami:
            // `[%d] %p %m (%c)%n`.
            format!("[2026-11-26 14:06:16,546] INFO {MSG} (kafka.authorizer.logger)"),
            // `%d{ISO8601}` and `%d{ISO8601_OFFSET_DATE_TIME_HHCMM}` in brackets.
            format!("[2026-11-26T14:06:16,546] INFO {MSG} (kafka.authorizer.logger)"),
            format!("[2026-11-26T15:06:16.546+01:00] INFO {MSG} (kafka.authorizer.logger)"),
            // Strimzi: `%d{yyyy-MM-dd HH:mm:ss,SSS} %p %m (%c) [%t]%n`.
            format!("2026-11-26 14:06:16,546 INFO {MSG} (kafka.authorizer.logger) [data-plane-kafka-request-handler-3]"),
            // `%-5p` padding and an ISO stamp without brackets.
            format!("2026-11-26T14:06:16.546Z INFO  {MSG} (kafka.authorizer.logger)"),
            // kubectl logs --timestamps and a CRI log file around a Strimzi line.
            format!("2026-11-26T14:06:16.999999999Z 2026-11-26 14:06:16,546 INFO {MSG} (kafka.authorizer.logger) [data-plane-kafka-request-handler-3]"),
            format!("2026-11-26T14:06:16.999Z stdout F [2026-11-26 14:06:16,546] INFO {MSG} (kafka.authorizer.logger)"),
            // journalctl (short and short-iso) around the default layout.
            format!("Nov 26 14:06:16 broker-1 kafka-server-start.sh[1234]: [2026-11-26 14:06:16,546] INFO {MSG} (kafka.authorizer.logger)"),
            format!("2026-11-26T14:06:16+0000 broker-1 kafka[1234]: [2026-11-26 14:06:16,546] INFO {MSG} (kafka.authorizer.logger)"),
        ];
        for line in &cases {
            let e = frame(&format!("{line}\n"));
            assert_eq!(e.len(), 1, "{line}");
            assert_eq!(e[0].message, MSG, "{line}");
            assert_eq!(
                e[0].logger.as_deref(),
                Some("kafka.authorizer.logger"),
                "{line}"
            );
            assert_eq!(e[0].level, Level::Info, "{line}");
            assert_eq!(e[0].timestamp, want_time, "{line}");
        }
        // A prefix stamp stands in when the layout has no `%d` (`%p %m (%c)` under kubectl).
        let e = frame(&format!(
            "2026-11-26T14:06:16.546Z WARN {MSG} (kafka.authorizer.logger)\n"
        ));
        assert_eq!(e[0].level, Level::Warn);
        assert_eq!(e[0].timestamp, want_time);
    }

    /// Without `layout:`, a stream's first entry chooses its layout and line prefix among the
    /// common ones; every shape below gives the same entry.
    #[test]
    fn sniffed_layouts_and_prefixes_frame_alike() {
        const MSG: &str = "Principal = User:bob is Denied operation = WRITE from host = 10.0.0.8 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny";
        const T: &str = "2026-11-26 14:06:16,546";
        const TH: &str = "data-plane-kafka-request-handler-3";
        let kafka = format!("[{T}] INFO {MSG} (kafka.authorizer.logger)");
        let strimzi = format!("{T} INFO {MSG} (kafka.authorizer.logger) [{TH}]");
        let ttcc = format!("{T} [{TH}] INFO  kafka.authorizer.logger  - {MSG}");
        use LayoutName as L;
        use LinePrefix as P;
        let cases = [
            (kafka.clone(), L::Kafka, P::None),
            (strimzi.clone(), L::Strimzi, P::None),
            // Confluent for Kubernetes: `[%p] %d [%t] %c %M - %m%n`.
            (
                format!("[INFO] {T} [{TH}] kafka.authorizer.logger logAuthorization - {MSG}"),
                L::ConfluentForKubernetes,
                P::None,
            ),
            // log4j 1.x `%d{ISO8601} [%t] %-5p %c %x - %m%n`, empty NDC; and Log4j2's `T`.
            (ttcc.clone(), L::Log4jTtcc, P::None),
            (
                format!("2026-11-26T14:06:16,546 [{TH}] INFO  kafka.authorizer.logger  - {MSG}"),
                L::Log4jTtcc,
                P::None,
            ),
            (
                format!("{T} INFO  [{TH}] kafka.authorizer.logger - {MSG}"),
                L::Log4jLevelFirst,
                P::None,
            ),
            (
                format!("[{T}][INFO][category=kafka.authorizer.logger] {MSG}"),
                L::BracketedCategory,
                P::None,
            ),
            // `[%d] %p (%t:%c) %m%n` (https://github.com/twmb/franz-go/issues/16): the thread
            // holds parentheses.
            (
                format!("[{T}] INFO ({TH}-ListenerName(EXTERNAL)-SASL_SSL-7:kafka.authorizer.logger) {MSG}"),
                L::KafkaThreadLogger,
                P::None,
            ),
            // Viewers' and collectors' prefixes.
            (format!("kafka1_1  | {kafka}"), L::Kafka, P::Compose),
            // Pasted lines: a shell comment, a quote, journald's field.
            (format!("# {kafka}"), L::Kafka, P::Comment),
            (format!("> > {kafka}"), L::Kafka, P::Quote),
            (format!("MESSAGE: {kafka}"), L::Kafka, P::JournalField),
            (format!("    MESSAGE={strimzi}"), L::Strimzi, P::JournalField),
            (format!("kafka-1  | {ttcc}"), L::Log4jTtcc, P::Compose),
            (format!("  | {kafka}"), L::Kafka, P::Compose),
            (format!("kafka-0 kafka {strimzi}"), L::Strimzi, P::Stern),
            (format!("[pod/kafka-0/kafka] {kafka}"), L::Kafka, P::Kubectl),
            // A CRI file around a logger-first layout.
            (
                format!("2026-11-26T14:06:16.999Z stdout F {ttcc}"),
                L::Log4jTtcc,
                P::None,
            ),
        ];
        for (line, layout, prefix) in &cases {
            let mut f = Framer::new(FramerConfig::default());
            let mut e = Vec::new();
            f.push(format!("{line}\n").as_bytes(), &mut e);
            f.flush(&mut e);
            assert_eq!(e.len(), 1, "{line}");
            assert_eq!(e[0].message, MSG, "{line}");
            assert_eq!(
                e[0].logger.as_deref(),
                Some("kafka.authorizer.logger"),
                "{line}"
            );
            assert_eq!(e[0].timestamp, at(1_795_701_976, 546), "{line}");
            assert_eq!(
                f.choice(),
                Some(Choice {
                    layout: *layout,
                    prefix: *prefix
                }),
                "{line}"
            );
            assert!(sniff_line(line.as_bytes(), 0).is_some(), "{line}");
        }
        // The prefix is removed from continuation lines too.
        let e = frame(&format!(
            "kafka1_1  | {kafka}\nkafka1_1  | java.io.IOException: x\nkafka1_1  | \tat a.B(B.java:1)\n"
        ));
        assert_eq!(e.len(), 1);
        assert_eq!(
            e[0].continuation(),
            "java.io.IOException: x\n\tat a.B(B.java:1)"
        );
    }

    /// A stream in no known layout frames nothing and says so after a few lines; one line in a
    /// known layout ends that.
    #[test]
    fn a_stream_in_no_known_layout_is_reported() {
        let mut f = Framer::new(FramerConfig::default());
        let mut e = Vec::new();
        let line =
            "26/11/2026 14:06:16 INFO kafka.authorizer.logger: Principal = User:bob is Denied\n";
        for n in 1..=UNRECOGNIZED_AFTER_LINES {
            f.push(line.as_bytes(), &mut e);
            assert_eq!(f.recognizes_nothing(), n == UNRECOGNIZED_AFTER_LINES);
        }
        f.flush(&mut e);
        assert!(e.is_empty());
        assert_eq!(f.skipped_lines(), UNRECOGNIZED_AFTER_LINES);
        assert_eq!(f.choice(), None);
        // The configured layout that does not match (Log4j2's `T` where log4j 1.x is expected
        // would now match: use another shape) is reported the same way.
        let cfg = FramerConfig {
            layout: Some(Arc::new(Layout::parse("%d{DATE} %p %c - %m%n").unwrap())),
            ..FramerConfig::default()
        };
        let mut f = Framer::new(cfg);
        for _ in 0..UNRECOGNIZED_AFTER_LINES {
            f.push(format!("{AUTH}\n").as_bytes(), &mut e);
        }
        assert!(f.recognizes_nothing());
        assert!(e.is_empty());
        let mut f = Framer::new(FramerConfig::default());
        f.push(format!("{line}{AUTH}\n{line}").as_bytes(), &mut e);
        assert!(!f.recognizes_nothing());
        assert_eq!(f.skipped_lines(), 1);
        assert_eq!(f.partial_lines(), 0);
    }

    /// A stream in no layout: its lines holding a known message are framed alone, marked
    /// partial; the others stay unrecognized.
    #[test]
    fn known_messages_in_no_layout_are_partial_entries() {
        let text = "Hi, our broker shows this:\n\
            # INFO Principal = User:sftp is Denied Operation = Describe from host = 192.168.224.6 on resource = Topic:LITERAL:t (kafka.authorizer.logger)\n\
            and then \"Failed authentication with /10.255.0.2 (SSL handshake failed)\" again\n\
            Any idea?\n";
        let mut f = Framer::new(FramerConfig::default());
        let mut e = Vec::new();
        f.push(text.as_bytes(), &mut e);
        f.flush(&mut e);
        assert_eq!((f.partial_lines(), f.skipped_lines()), (2, 2));
        assert_eq!(f.choice(), None);
        assert!(e.iter().all(|e| e.partial && !e.suspect));
        assert_eq!(e[0].logger.as_deref(), Some("kafka.authorizer.logger"));
        assert_eq!(
            e[1].message,
            "Failed authentication with /10.255.0.2 (SSL handshake failed)"
        );
        assert_eq!(e[1].logger, None);
        // Once a layout reads a line, the stream is read in it: no more partial entries.
        let mut f = Framer::new(FramerConfig::default());
        f.push(
            format!("{AUTH}\nFailed authentication with /10.0.0.1 (x)\n").as_bytes(),
            &mut e,
        );
        f.flush(&mut e);
        assert_eq!(f.partial_lines(), 0);
    }

    /// Every pattern of the sniffed layouts compiles.
    #[test]
    fn sniffed_patterns_compile() {
        for name in LayoutName::ALL {
            if let Some(p) = name.pattern() {
                Layout::parse(p).unwrap_or_else(|e| panic!("{p}: {e}"));
            }
        }
        assert_eq!(crate::parse::sniff::SNIFFED_LAYOUTS.len(), 5);
    }

    #[test]
    fn headers_need_the_exact_shape() {
        assert!(parse_header(b"[2026-11-26 14:06:16,546] INFO x", 0).is_some());
        assert!(parse_header(b"[2026-11-26 14:06:16,546] NOTICE x", 0).is_none());
        assert!(parse_header(b"[2026-13-26 14:06:16,546] INFO x", 0).is_none());
        assert!(parse_header(b"[2026-11-26 14:06:16.546] INFO x", 0).is_some());
        assert!(parse_header(b"[2026-11-26 14:06:16;546] INFO x", 0).is_none());
        assert!(parse_header(b"[2026-11-26 14:06:16,546+1] INFO x", 0).is_none());
        assert!(parse_header(b" [2026-11-26 14:06:16,546] INFO x", 0).is_none());
        assert_eq!(split_logger(b"a (b.c)"), (&b"a"[..], Some(&b"b.c"[..])));
        assert_eq!(split_logger(b"a (b c)"), (&b"a (b c)"[..], None));
        assert_eq!(split_logger(b"(b)"), (&b"(b)"[..], None));
    }

    fn sample() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            Just(AUTH.to_string()),
            Just("[2026-11-26 14:06:17,000] ERROR boom (a.B)".to_string()),
            Just("[2026-11-26 14:06:17,000] INFO multi".to_string()),
            Just(" (kafka.server.KafkaConfig)".to_string()),
            Just("\tat x.Y(Y.java:1)".to_string()),
            Just(
                "2026-11-26T14:06:16.546Z stdout F [2026-11-26 14:06:18,000] INFO k (k.K)"
                    .to_string()
            ),
            "[ -~]{0,40}",
        ];
        (
            proptest::collection::vec((line, prop_oneof![Just("\n"), Just("\r\n")]), 0..12),
            any::<bool>(),
        )
            .prop_map(|(lines, trailing)| {
                let mut s = String::new();
                for (l, nl) in lines {
                    s.push_str(&l);
                    s.push_str(nl);
                }
                if trailing {
                    s.push_str("[2026-11-26 14:06:19,000] INFO tail (t.T)");
                }
                s.into_bytes()
            })
    }

    /// Frames `input` pushed in pieces cut at `cuts`.
    fn frame_in_chunks(
        cfg: FramerConfig,
        input: &[u8],
        cuts: &[prop::sample::Index],
    ) -> Vec<LogEntry> {
        let mut points: Vec<usize> = cuts.iter().map(|i| i.index(input.len() + 1)).collect();
        points.sort_unstable();
        let mut f = Framer::new(cfg);
        let mut out = Vec::new();
        let mut from = 0;
        for p in points {
            f.push(&input[from..p], &mut out);
            from = p;
        }
        f.push(&input[from..], &mut out);
        f.flush(&mut out);
        out
    }

    fn kafka_layout() -> FramerConfig {
        FramerConfig {
            layout: Some(Arc::new(Layout::parse("[%d] %p %m (%c)%n").unwrap())),
            ..FramerConfig::default()
        }
    }

    /// A layout the framer does not know by itself, configured: the TTCC-like
    /// `%d{ISO8601} %-5p [%t] %c - %m%n`, logger first, with a stack trace.
    #[test]
    fn a_configured_logger_first_layout() {
        let cfg = FramerConfig {
            layout: Some(Arc::new(
                Layout::parse("%d{ISO8601} %-5p [%t] %c - %m%n").unwrap(),
            )),
            utc_offset_secs: 3600,
            ..FramerConfig::default()
        };
        let input = "\
2026-11-26T15:06:16,546 INFO  [data-plane-kafka-request-handler-3] kafka.authorizer.logger - Principal = User:bob is Denied operation = WRITE from host = 10.0.0.8 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny\r
2026-11-26T15:06:17,000 WARN  [kafka-network-thread-1-ListenerName(SASL_PLAINTEXT)-SASL_PLAINTEXT-0] org.apache.kafka.common.network.Selector - Unexpected error from /127.0.0.1 during SASL handshake\r
java.io.IOException: boom\r
\tat org.apache.kafka.Foo.bar(Foo.java:1)\r
2026-11-26T15:06:18,000 DEBUG [main] kafka.server.KafkaConfig - one\r
";
        let e = frame_all(cfg, input.as_bytes());
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].timestamp, at(1_795_701_976, 546));
        assert_eq!(e[0].level, Level::Info);
        assert_eq!(e[0].logger.as_deref(), Some("kafka.authorizer.logger"));
        assert!(e[0].message.starts_with("Principal = User:bob is Denied"));
        assert!(e[0].message.ends_with("based on rule DefaultDeny"));
        assert_eq!(e[1].level, Level::Warn);
        assert_eq!(
            e[1].logger.as_deref(),
            Some("org.apache.kafka.common.network.Selector")
        );
        assert_eq!(
            e[1].continuation(),
            "java.io.IOException: boom\n\tat org.apache.kafka.Foo.bar(Foo.java:1)"
        );
        assert_eq!(e[2].level, Level::Debug);
        assert_eq!(e[2].message, "one");
        assert!(e.iter().all(|e| !e.suspect));
    }

    /// A configured layout with the logger after `%m` (Strimzi's) keeps the injection defense.
    #[test]
    fn a_configured_anchored_layout_absorbs_a_forged_header() {
        let cfg = FramerConfig {
            layout: Some(Arc::new(Layout::parse("%d %p %m (%c) [%t]%n").unwrap())),
            ..FramerConfig::default()
        };
        let input = "\
2026-11-26 14:06:30,883 INFO Principal = User:alice is Denied operation = READ from host = 127.0.0.1 on resource = Group:LITERAL:g
2026-11-26 14:06:30,883 INFO Principal = User:admin is Allowed operation = READ from host = 1.2.3.4 on resource = Topic:LITERAL:t for request = Fetch with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger) [x]
2026-11-26 14:06:30,883 INFO Principal = User:y is Denied operation = READ from host = 1.2.3.4 on resource = Group:LITERAL:h for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger) [data-plane-kafka-request-handler-1]
2026-11-26 14:06:31,000 INFO Principal = User:bob is Denied operation = WRITE from host = 127.0.0.1 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger) [data-plane-kafka-request-handler-2]
";
        let e = frame_all(cfg, input.as_bytes());
        assert_eq!(e.len(), 3);
        assert!(e[0].suspect && e[0].message.contains("User:admin"));
        assert!(e[1].suspect);
        assert!(!e[2].suspect);
        assert_eq!(e[2].logger.as_deref(), Some("kafka.authorizer.logger"));
        assert!(e[2].message.ends_with("DefaultDeny"));
    }

    proptest! {
        /// Kafka's layout, configured explicitly, frames exactly like the built-in reading.
        #[test]
        fn kafkas_layout_configured_frames_like_the_default(input in sample()) {
            prop_assert_eq!(
                frame_all(kafka_layout(), &input),
                frame_all(FramerConfig::default(), &input)
            );
        }

        #[test]
        fn chunking_does_not_change_the_output_with_a_layout(
            input in sample(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
        ) {
            prop_assert_eq!(
                frame_in_chunks(kafka_layout(), &input, &cuts),
                frame_all(kafka_layout(), &input)
            );
        }

        #[test]
        fn chunking_does_not_change_the_output(
            input in sample(),
            cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
            max in prop_oneof![Just(DEFAULT_MAX_ENTRY_BYTES), 1usize..80],
        ) {
            let cfg = FramerConfig { max_entry_bytes: max, ..FramerConfig::default() };
            prop_assert_eq!(
                frame_in_chunks(cfg.clone(), &input, &cuts),
                frame_all(cfg, &input)
            );
        }
    }
}
