//! Reading one replayed file as a stream of items in file order, each with its event time: log
//! entries framed from broker logs, or records of archived events (audit CloudEvents, JSON and
//! text events, `kcat -J` dumps). The merge in [`super::merge`] holds one current item per file.
//!
//! Archived event files are read line by line: blank lines and lines starting with `#` are
//! skipped. A text event line is `key<TAB>value` (a line without a TAB, or starting with one,
//! has no key) and may use the escapes `\\`, `\n`, `\r`, `\t` and `\xHH` (a raw byte); other
//! backslashes stay as they are. A `kcat -J` line's `payload` is the record, `key` its key, `ts`
//! its Kafka timestamp, and `topic`, `partition` and `offset` its origin; records with a null
//! payload (tombstones) are skipped.
//!
//! **Event time of a record.** An event's own time, else (`kcat`) the Kafka timestamp, else the
//! time of the record before it in the same file, else the file's modification time: a file's
//! records never go back in time for want of a clock, and a file of timeless text events is
//! placed at the time it was written.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use super::format::FileFormat;
use crate::event::Origin;
use crate::parse::log4j::{Framer, FramerConfig, LogEntry};
use crate::parse::{Parsed, Parsers, Record};

/// Bytes looked at to sniff a file's format (its first lines).
pub const HEAD_BYTES: usize = 64 * 1024;

/// Bytes read from a broker log at a time: what one file's framed-but-unapplied entries cost.
const LOG_CHUNK: usize = 256 * 1024;

/// A file opened for reading, decompressed when it is gzip (by its magic bytes, whatever its
/// name), with its first bytes read ahead for sniffing.
pub struct Opened {
    pub reader: Box<dyn Read>,
    /// The first [`HEAD_BYTES`] (fewer when the file is shorter), decompressed.
    pub head: Vec<u8>,
    /// `head` is the whole file.
    pub complete: bool,
    pub modified: SystemTime,
}

/// Opens `path`; the returned reader starts at the first byte again.
pub fn open(path: &Path) -> io::Result<Opened> {
    let file = File::open(path)?;
    let modified = file
        .metadata()
        .and_then(|m| m.modified())
        .unwrap_or(UNIX_EPOCH);
    let mut file: Box<dyn Read> = Box::new(file);
    let (magic, _) = read_head(&mut file, 2)?;
    let mut reader: Box<dyn Read> = if magic == [0x1f, 0x8b] {
        Box::new(flate2::read::MultiGzDecoder::new(
            Cursor::new(magic).chain(file),
        ))
    } else {
        Box::new(Cursor::new(magic).chain(file))
    };
    let (head, complete) = read_head(&mut reader, HEAD_BYTES)?;
    Ok(Opened {
        reader: Box::new(Cursor::new(head.clone()).chain(reader)),
        head,
        complete,
        modified,
    })
}

/// Up to `n` bytes, and whether the input ended before `n`.
fn read_head(r: &mut dyn Read, n: usize) -> io::Result<(Vec<u8>, bool)> {
    let mut head = Vec::with_capacity(n);
    r.take(n as u64).read_to_end(&mut head)?;
    let complete = head.len() < n;
    Ok((head, complete))
}

/// Broker-log entries of one file.
pub struct LogReader {
    reader: Box<dyn Read>,
    framer: Framer,
    buf: Vec<u8>,
    /// Entries framed from the last chunk; `next` is the current one.
    entries: Vec<LogEntry>,
    next: usize,
    eof: bool,
    pub bytes: u64,
}

impl LogReader {
    pub fn new(reader: Box<dyn Read>, framer: FramerConfig) -> LogReader {
        LogReader {
            reader,
            framer: Framer::new(framer),
            buf: vec![0; LOG_CHUNK],
            entries: Vec::new(),
            next: 0,
            eof: false,
            bytes: 0,
        }
    }

    /// Moves to the next entry; `None` at the end of the file.
    pub fn advance(&mut self) -> io::Result<Option<SystemTime>> {
        if self.next < self.entries.len() {
            self.next += 1;
        }
        while self.next >= self.entries.len() {
            if self.eof {
                return Ok(None);
            }
            self.entries.clear();
            self.next = 0;
            let n = self.reader.read(&mut self.buf)?;
            if n == 0 {
                self.framer.flush(&mut self.entries);
                self.eof = true;
            } else {
                self.framer.push(&self.buf[..n], &mut self.entries);
                self.bytes += n as u64;
            }
        }
        Ok(Some(self.entries[self.next].timestamp))
    }

    pub fn current(&self) -> &LogEntry {
        &self.entries[self.next]
    }

    /// The framer: its chosen layout and the lines it found outside any entry.
    pub fn framer(&self) -> &Framer {
        &self.framer
    }
}

/// The lines `reader` holds (a last line without a newline counts).
pub fn count_lines(mut reader: Box<dyn Read>) -> io::Result<u64> {
    let mut buf = vec![0; LOG_CHUNK];
    let (mut lines, mut last) = (0u64, b'\n');
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            return Ok(lines + u64::from(last != b'\n'));
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
        last = buf[n - 1];
    }
}

/// Records of one archived event file.
pub struct EventReader {
    format: FileFormat,
    reader: BufReader<Box<dyn Read>>,
    /// Longest line kept; the rest is dropped and the record is refused as too large.
    max_line: usize,
    /// The current line, or (text with escapes, `kcat`) its decoded key and payload.
    data: Vec<u8>,
    scratch: Vec<u8>,
    key: Option<Range<usize>>,
    payload: Range<usize>,
    /// Offset of the current line in the (decompressed) file.
    offset: u64,
    pub bytes: u64,
    /// `kcat`: the current record's topic, partition and offset.
    topic: String,
    partition: i32,
    kafka_offset: i64,
    /// The current record's timestamp: its Kafka timestamp, else the fallback time.
    timestamp: SystemTime,
    /// The time of the record before, or the file's modification time.
    fallback: SystemTime,
    /// Lines that could not be read as a record of the format (`kcat` lines that are not its
    /// JSON): counted as rejected.
    pub unreadable: u64,
}

/// One `kcat -J` line, borrowed where it has no escapes.
#[derive(Deserialize)]
struct KcatLine<'a> {
    #[serde(borrow)]
    topic: Cow<'a, str>,
    partition: i32,
    offset: i64,
    #[serde(default)]
    ts: Option<i64>,
    #[serde(default, borrow)]
    key: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    payload: Option<Cow<'a, str>>,
}

impl EventReader {
    pub fn new(
        format: FileFormat,
        reader: Box<dyn Read>,
        max_line: usize,
        modified: SystemTime,
    ) -> EventReader {
        EventReader {
            format,
            reader: BufReader::with_capacity(LOG_CHUNK, reader),
            max_line,
            data: Vec::new(),
            scratch: Vec::new(),
            key: None,
            payload: 0..0,
            offset: 0,
            bytes: 0,
            topic: String::new(),
            partition: 0,
            kafka_offset: 0,
            timestamp: modified,
            fallback: modified,
            unreadable: 0,
        }
    }

    /// Moves to the next record and reads its event time (parsing it with `parsers`); `None`
    /// at the end of the file.
    pub fn advance(&mut self, parsers: &Parsers) -> io::Result<Option<SystemTime>> {
        loop {
            self.offset = self.bytes;
            let Some(n) = read_line(&mut self.reader, &mut self.data, self.max_line)? else {
                return Ok(None);
            };
            self.bytes += n as u64;
            let mut end = self.data.len();
            while end > 0 && matches!(self.data[end - 1], b'\n' | b'\r') {
                end -= 1;
            }
            self.data.truncate(end);
            if self.data.iter().all(u8::is_ascii_whitespace) || self.data.first() == Some(&b'#') {
                continue;
            }
            if !self.split() {
                self.unreadable += 1;
                continue;
            }
            let record = self.record();
            let time = match parsers.parse(self.format.input(), &FramerConfig::DEFAULT, &record) {
                Ok(Parsed::Event(event)) => event.event_time.unwrap_or(self.timestamp),
                _ => self.timestamp,
            };
            self.fallback = time;
            return Ok(Some(time));
        }
    }

    /// Finds the current line's key and payload; false when the line is not a record of the
    /// format (or, for `kcat`, a tombstone: counted the same, as nothing was replayed).
    fn split(&mut self) -> bool {
        self.timestamp = self.fallback;
        match self.format {
            FileFormat::Text => {
                let (key, value) = match memchr::memchr(b'\t', &self.data) {
                    Some(0) => (None, 1..self.data.len()),
                    Some(tab) => (Some(0..tab), tab + 1..self.data.len()),
                    None => (None, 0..self.data.len()),
                };
                if memchr::memchr(b'\\', &self.data).is_some() {
                    self.scratch.clear();
                    let key = key.map(|k| unescape(&self.data[k], &mut self.scratch));
                    let value = unescape(&self.data[value], &mut self.scratch);
                    std::mem::swap(&mut self.data, &mut self.scratch);
                    (self.key, self.payload) = (key, value);
                } else {
                    (self.key, self.payload) = (key, value);
                }
                true
            }
            FileFormat::Kcat => self.split_kcat(),
            _ => {
                (self.key, self.payload) = (None, 0..self.data.len());
                true
            }
        }
    }

    fn split_kcat(&mut self) -> bool {
        let Ok(line) = serde_json::from_slice::<KcatLine<'_>>(&self.data) else {
            return false;
        };
        let Some(payload) = line.payload else {
            return false;
        };
        self.scratch.clear();
        let key = line.key.map(|k| {
            self.scratch.extend_from_slice(k.as_bytes());
            0..k.len()
        });
        let start = self.scratch.len();
        self.scratch.extend_from_slice(payload.as_bytes());
        self.topic.clear();
        self.topic.push_str(&line.topic);
        (self.partition, self.kafka_offset) = (line.partition, line.offset);
        if let Some(ms) = line.ts.and_then(|ms| u64::try_from(ms).ok()) {
            self.timestamp = UNIX_EPOCH + Duration::from_millis(ms);
        }
        (self.key, self.payload) = (key, start..self.scratch.len());
        std::mem::swap(&mut self.data, &mut self.scratch);
        true
    }

    /// The current record, read from `path`.
    pub fn record(&self) -> Record<'_> {
        self.record_at(None)
    }

    /// The current record, its origin naming `path`.
    pub fn record_at<'r>(&'r self, path: Option<&'r str>) -> Record<'r> {
        let origin = match (self.format, path) {
            (FileFormat::Kcat, _) => Origin::Kafka {
                topic: self.topic.as_str().into(),
                partition: self.partition,
                offset: self.kafka_offset,
            },
            (_, Some(path)) => Origin::File {
                path: path.into(),
                offset: self.offset,
            },
            (_, None) => Origin::Memory,
        };
        Record {
            key: self.key.clone().map(|k| &self.data[k]),
            payload: &self.data[self.payload.clone()],
            timestamp: Some(self.timestamp),
            origin,
            observed_time: crate::clock::now(),
            trace_context: None,
        }
    }
}

/// Reads one line (its newline included) into `line`, keeping at most `max + 1` bytes of it;
/// returns the bytes consumed, `None` at the end of input.
fn read_line(r: &mut impl BufRead, line: &mut Vec<u8>, max: usize) -> io::Result<Option<usize>> {
    line.clear();
    let keep = max.saturating_add(1);
    let mut consumed = 0;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok((consumed > 0).then_some(consumed));
        }
        let (chunk, done) = match memchr::memchr(b'\n', buf) {
            Some(nl) => (&buf[..=nl], true),
            None => (buf, false),
        };
        let room = keep.saturating_sub(line.len());
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let n = chunk.len();
        r.consume(n);
        consumed += n;
        if done {
            return Ok(Some(consumed));
        }
    }
}

/// Appends `s` with the text-event escapes decoded to `out`; returns where it went.
fn unescape(s: &[u8], out: &mut Vec<u8>) -> Range<usize> {
    let start = out.len();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && i + 1 < s.len() {
            let decoded = match s[i + 1] {
                b'\\' => Some((b'\\', 2)),
                b'n' => Some((b'\n', 2)),
                b'r' => Some((b'\r', 2)),
                b't' => Some((b'\t', 2)),
                b'x' => s
                    .get(i + 2..i + 4)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .map(|b| (b, 4)),
                _ => None,
            };
            if let Some((b, len)) = decoded {
                out.push(b);
                i += len;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    start..out.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::ParsersConfig;

    fn reader(format: FileFormat, text: &str) -> EventReader {
        let r: Box<dyn Read> = Box::new(Cursor::new(text.as_bytes().to_vec()));
        EventReader::new(format, r, 1024, UNIX_EPOCH + Duration::from_secs(7))
    }

    /// Each record's key, payload and event time.
    fn records(format: FileFormat, text: &str) -> Vec<(Option<String>, String, u64)> {
        let parsers = Parsers::new(&ParsersConfig::default()).unwrap();
        let mut r = reader(format, text);
        let mut out = Vec::new();
        while let Some(t) = r.advance(&parsers).unwrap() {
            let rec = r.record();
            let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
            let secs = t.duration_since(UNIX_EPOCH).unwrap().as_secs();
            out.push((rec.key.map(s), s(rec.payload), secs));
        }
        out
    }

    #[test]
    fn text_events_with_keys_escapes_and_comments() {
        let got = records(
            FileFormat::Text,
            "# c\nuser-login\tUser a logged in\n\n\tno key\nk\\x41\ta\\tb\\q\r\nplain\n",
        );
        let want = [
            (Some("user-login"), "User a logged in"),
            (None, "no key"),
            (Some("kA"), "a\tb\\q"),
            (None, "plain"),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((key, payload, secs), (k, p)) in got.iter().zip(want) {
            assert_eq!((key.as_deref(), payload.as_str()), (k, p));
            // Timeless text events take the file's modification time.
            assert_eq!(*secs, 7);
        }
    }

    #[test]
    fn kcat_lines_decode_key_payload_and_timestamp() {
        let text = concat!(
            r#"{"topic":"sec","partition":2,"offset":9,"tstype":"create","ts":5000,"broker":1,"key":"user-login","payload":"User \"a\" logged in"}"#,
            "\n",
            r#"{"topic":"sec","partition":2,"offset":10,"ts":6000,"key":null,"payload":null}"#,
            "\nnot json\n",
            r#"{"topic":"sec","partition":2,"offset":11,"key":null,"payload":"{\"user\":\"b\",\"outcome\":\"failure\",\"timestamp\":\"1970-01-01T00:00:09Z\"}"}"#,
            "\n",
        );
        let got = records(FileFormat::Kcat, text);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            got[0],
            (Some("user-login".into()), "User \"a\" logged in".into(), 5)
        );
        // Its own time wins over the (missing) Kafka timestamp.
        assert_eq!(got[1].2, 9);
        let parsers = Parsers::new(&ParsersConfig::default()).unwrap();
        let mut r = reader(FileFormat::Kcat, text);
        while r.advance(&parsers).unwrap().is_some() {}
        assert_eq!(r.unreadable, 2);
    }

    #[test]
    fn timeless_records_take_the_time_before_them() {
        let text = "{\"user\":\"a\",\"outcome\":\"failure\",\"timestamp\":\"1970-01-01T00:01:00Z\"}\n{\"user\":\"b\",\"outcome\":\"failure\"}\n";
        let times: Vec<u64> = records(FileFormat::Json, text)
            .into_iter()
            .map(|r| r.2)
            .collect();
        assert_eq!(times, [60, 60]);
    }

    #[test]
    fn long_lines_are_cut_to_one_byte_over_the_limit() {
        let mut r = Cursor::new(format!("{}\nb\n", "a".repeat(5000)).into_bytes());
        let mut line = Vec::new();
        assert_eq!(read_line(&mut r, &mut line, 10).unwrap(), Some(5001));
        assert_eq!(line.len(), 11);
        assert_eq!(read_line(&mut r, &mut line, 10).unwrap(), Some(2));
        assert_eq!(line, b"b\n");
        assert_eq!(read_line(&mut r, &mut line, 10).unwrap(), None);
    }
}
