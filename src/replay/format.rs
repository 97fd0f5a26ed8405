//! What each replayed file holds: sniffed from its first non-empty lines, or named on the command
//! line with `--format-for PATH=FORMAT`.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::parse::layout::Layout;
use crate::parse::Input;
use crate::parse::{log4j, partial};

/// The format of one replayed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FileFormat {
    /// Broker log lines, framed into entries; [`Input::BrokerLog`] routes each entry by its
    /// logger, the other log inputs read every entry as that log.
    Log(LogKind),
    /// Confluent audit-log CloudEvents, one per line, as the file and S3 sinks write them.
    Audit,
    /// Applications' JSON security events, one object per line.
    Json,
    /// Text events, `key<TAB>value` per line (see [`super::archive`] for the escapes).
    Text,
    /// `kcat -J` output: one JSON object per Kafka record, its payload read as `auto` would.
    Kcat,
    /// OCSF events (Redpanda's audit log), one per line.
    Ocsf,
    /// Broker logs in CloudWatch Logs records (Amazon MSK via CloudWatch or Firehose): each
    /// `logEvents[].message` a line, framed and routed like `broker` ([`super::cloudwatch`]).
    CloudWatch,
}

/// Which broker log (a copy of the log [`Input`]s, so [`FileFormat`] can be ordered).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LogKind {
    Any,
    Authorizer,
    Server,
    Controller,
    Request,
}

impl LogKind {
    pub fn input(self) -> Input {
        match self {
            LogKind::Any => Input::BrokerLog,
            LogKind::Authorizer => Input::AuthorizerLog,
            LogKind::Server => Input::ServerLog,
            LogKind::Controller => Input::ControllerLog,
            LogKind::Request => Input::RequestLog,
        }
    }

    /// The kind `--format` names (an [`Input::LOG_KINDS`] input); `Any` for anything else.
    pub fn of(input: Input) -> LogKind {
        match input {
            Input::AuthorizerLog => LogKind::Authorizer,
            Input::ServerLog => LogKind::Server,
            Input::ControllerLog => LogKind::Controller,
            Input::RequestLog => LogKind::Request,
            _ => LogKind::Any,
        }
    }
}

impl FileFormat {
    /// Every format by the name `--format-for` takes (also shown in the summary).
    pub const NAMES: [(&'static str, FileFormat); 11] = [
        ("broker", FileFormat::Log(LogKind::Any)),
        ("authorizer", FileFormat::Log(LogKind::Authorizer)),
        ("server", FileFormat::Log(LogKind::Server)),
        ("controller", FileFormat::Log(LogKind::Controller)),
        ("request", FileFormat::Log(LogKind::Request)),
        ("audit", FileFormat::Audit),
        ("json", FileFormat::Json),
        ("text", FileFormat::Text),
        ("kcat", FileFormat::Kcat),
        ("ocsf", FileFormat::Ocsf),
        ("cloudwatch", FileFormat::CloudWatch),
    ];

    pub fn as_str(self) -> &'static str {
        FileFormat::NAMES
            .iter()
            .find(|(_, f)| *f == self)
            .map_or("broker", |(name, _)| name)
    }

    /// The format a `--format-for` value names; `confluent_audit` is taken for `audit`.
    pub fn from_name(name: &str) -> Option<FileFormat> {
        if name == "confluent_audit" {
            return Some(FileFormat::Audit);
        }
        FileFormat::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, f)| *f)
    }

    /// The input the pipeline reads this file's records or entries as.
    pub fn input(self) -> Input {
        match self {
            FileFormat::Log(kind) => kind.input(),
            FileFormat::CloudWatch => Input::BrokerLog,
            FileFormat::Ocsf => Input::Ocsf,
            FileFormat::Audit => Input::ConfluentAudit,
            FileFormat::Json => Input::Json,
            FileFormat::Text => Input::Text,
            // Each payload decides, as a topic of mixed events does.
            FileFormat::Kcat => Input::Auto,
        }
    }
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One `--format-for PATH=FORMAT`: a file whose path ends with `path` (whole components, so
/// `server.log` names `/logs/server.log` but not `/logs/old-server.log`) is read as `format`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatFor {
    pub path: PathBuf,
    pub format: FileFormat,
}

impl FormatFor {
    /// Reads `PATH=FORMAT` (split at the last `=`).
    pub fn parse(arg: &str) -> Result<FormatFor, String> {
        let Some((path, name)) = arg.rsplit_once('=') else {
            return Err(format!("`{arg}` is not PATH=FORMAT"));
        };
        if path.is_empty() {
            return Err(format!("`{arg}` names no path"));
        }
        let format = FileFormat::from_name(name.trim()).ok_or_else(|| {
            let names: Vec<&str> = FileFormat::NAMES.iter().map(|(n, _)| *n).collect();
            format!("`{name}` is not a format; use one of {}", names.join(", "))
        })?;
        Ok(FormatFor {
            path: PathBuf::from(path),
            format,
        })
    }

    pub fn matches(&self, file: &Path) -> bool {
        file.ends_with(&self.path)
    }
}

/// What sniffing found in a file's first lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sniffed {
    Format(FileFormat),
    /// No line at all (or only blank and `#` lines): nothing to replay.
    Empty,
    /// Lines of no format replay reads.
    Unrecognized,
}

/// Non-empty lines looked at before giving up.
const SNIFF_LINES: usize = 8;

/// The format of a file starting with `head` (its first bytes, decompressed): the first of its
/// first [`SNIFF_LINES`] non-empty, non-`#` lines that some format recognizes decides. A line is
///
/// - `kcat` when it is a JSON object with `topic`, `partition`, `offset` and `payload` members;
/// - `audit` when it is a JSON object with `specversion` and an `io.confluent.` `type`;
/// - `ocsf` when it is a JSON object with `class_uid` and `category_uid`;
/// - `json` when it is any other JSON object (a complete one on the line);
/// - a broker log (`broker`, routed by logger) when it starts like a log4j entry, in the
///   configured `layout` if any, else in any layout the framer recognizes
///   ([`log4j::sniff_line`]), behind any line prefix it knows;
/// - `text` when it has a TAB after a non-empty key;
/// - a broker log, when no line above decides, if a line holds a known Kafka message in no
///   layout ([`partial::read_line`]: read as partial lines).
///
/// A `#` line is a comment, skipped, unless it is a log line or holds a known message.
/// Before the lines, the head as a whole is `cloudwatch` when it is CloudWatch Logs records
/// ([`super::cloudwatch::looks_like`]: they are often pretty-printed or back to back).
///
/// `complete` says `head` is the whole file, so its last line is complete without a newline.
pub fn sniff(head: &[u8], complete: bool, layout: Option<&Layout>, utc_offset: i32) -> Sniffed {
    if super::cloudwatch::looks_like(head) {
        return Sniffed::Format(FileFormat::CloudWatch);
    }
    let mut lines = head.split(|&b| b == b'\n').peekable();
    let mut seen = 0;
    // A line holding a known Kafka message in no layout decides only when no line does.
    let mut partial = false;
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        if last && !complete {
            // Cut by the end of `head`: not a whole line.
            break;
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // A `#` line is a comment unless it holds a log line (pasted into a script).
        let comment = line.first() == Some(&b'#');
        match sniff_line(line, layout, utc_offset) {
            Some(FileFormat::Log(kind)) => return Sniffed::Format(FileFormat::Log(kind)),
            Some(_) if comment => continue,
            Some(format) => return Sniffed::Format(format),
            None => {}
        }
        if layout.is_none() && partial::read_line(line, utc_offset).is_some() {
            partial = true;
        } else if comment {
            continue;
        }
        seen += 1;
        if seen == SNIFF_LINES {
            break;
        }
    }
    if partial {
        Sniffed::Format(FileFormat::Log(LogKind::Any))
    } else if seen == 0 && (complete || head.is_empty()) {
        Sniffed::Empty
    } else {
        Sniffed::Unrecognized
    }
}

fn sniff_line(line: &[u8], layout: Option<&Layout>, utc_offset: i32) -> Option<FileFormat> {
    let trimmed = line.trim_ascii();
    if trimmed.first() == Some(&b'{') {
        let serde_json::Value::Object(o) = serde_json::from_slice(trimmed).ok()? else {
            return None;
        };
        let has = |k: &str| o.contains_key(k);
        if has("topic") && has("partition") && has("offset") && has("payload") {
            return Some(FileFormat::Kcat);
        }
        let confluent = o
            .get("type")
            .and_then(|t| t.as_str())
            .is_some_and(|t| t.starts_with("io.confluent."));
        return Some(if confluent && has("specversion") {
            FileFormat::Audit
        } else if has("class_uid") && has("category_uid") {
            FileFormat::Ocsf
        } else {
            FileFormat::Json
        });
    }
    let header = match layout {
        Some(layout) => log4j::LinePrefix::ALL.iter().any(|p| {
            p.strip(line)
                .is_some_and(|l| layout.header(log4j::strip_prefix(l), utc_offset).is_some())
        }),
        None => log4j::sniff_line(line, utc_offset).is_some(),
    };
    if header {
        return Some(FileFormat::Log(LogKind::Any));
    }
    match memchr::memchr(b'\t', line) {
        Some(tab) if tab > 0 && !line[..tab].trim_ascii().is_empty() => Some(FileFormat::Text),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniffed(text: &str) -> Sniffed {
        sniff(text.as_bytes(), true, None, 0)
    }

    #[test]
    fn sniffs_each_format_by_its_first_lines() {
        let audit =
            r#"{"specversion":"1.0","type":"io.confluent.kafka.server/authorization","data":{}}"#;
        let kcat = r#"{"topic":"t","partition":0,"offset":4,"tstype":"create","ts":1,"broker":1,"key":null,"payload":"x"}"#;
        let cases = [
            (audit, Sniffed::Format(FileFormat::Audit)),
            (kcat, Sniffed::Format(FileFormat::Kcat)),
            (r#"{"user":"bob"}"#, Sniffed::Format(FileFormat::Json)),
            (
                r#"{"category_uid":3,"class_uid":3002,"time":1}"#,
                Sniffed::Format(FileFormat::Ocsf),
            ),
            (
                r#"{"messageType":"DATA_MESSAGE","logEvents":[{"message":"x"}]}{"logEvents":[]}"#,
                Sniffed::Format(FileFormat::CloudWatch),
            ),
            (
                "{\n  \"events\": [\n    {\"logStreamName\": \"b-1\", \"ingestionTime\": 1}",
                Sniffed::Format(FileFormat::CloudWatch),
            ),
            (
                "user-login\tUser bob logged in",
                Sniffed::Format(FileFormat::Text),
            ),
            (
                "[2026-11-26 14:06:16,546] INFO x (kafka.authorizer.logger)",
                Sniffed::Format(FileFormat::Log(LogKind::Any)),
            ),
            // A stack trace before the first header: the header decides.
            (
                "\tat org.apache.kafka.X\n[2026-11-26 14:06:16,546] INFO x (y)",
                Sniffed::Format(FileFormat::Log(LogKind::Any)),
            ),
            (
                "# comment\n\n{\"a\":1}\n",
                Sniffed::Format(FileFormat::Json),
            ),
            ("", Sniffed::Empty),
            ("\n# only a comment\n", Sniffed::Empty),
            ("hello world\nno format here\n", Sniffed::Unrecognized),
            // Pasted lines: a log line in a shell comment, a message alone.
            (
                "# [2019-12-06 11:17:45,758] INFO x (kafka.authorizer.logger)",
                Sniffed::Format(FileFormat::Log(LogKind::Any)),
            ),
            (
                "see:\nFailed authentication with /10.255.0.2 (SSL handshake failed)\n",
                Sniffed::Format(FileFormat::Log(LogKind::Any)),
            ),
            // A line of a format decides over a message in no layout.
            (
                "Failed authentication with /10.0.0.1 (x)\nuser-login\tUser bob logged in",
                Sniffed::Format(FileFormat::Text),
            ),
            // A pretty-printed document is not JSON lines.
            ("{\n  \"a\": 1\n}\n", Sniffed::Unrecognized),
        ];
        for (text, want) in cases {
            assert_eq!(sniffed(text), want, "{text:?}");
        }
        // A last line cut by the end of the head is not judged.
        assert_eq!(sniff(b"{\"a\":1", false, None, 0), Sniffed::Unrecognized);
    }

    #[test]
    fn format_for_values() {
        let f = FormatFor::parse("logs/a=b.txt=text").unwrap();
        assert_eq!(f.path, PathBuf::from("logs/a=b.txt"));
        assert_eq!(f.format, FileFormat::Text);
        assert!(f.matches(Path::new("/x/logs/a=b.txt")));
        assert!(!f.matches(Path::new("/x/oldlogs/a=b.txt")));
        assert_eq!(
            FormatFor::parse("a=confluent_audit").unwrap().format,
            FileFormat::Audit
        );
        let e = FormatFor::parse("a=nope").unwrap_err();
        assert!(
            e.starts_with("`nope` is not a format; use one of broker,"),
            "{e}"
        );
        assert!(FormatFor::parse("nope").is_err());
        for (name, format) in FileFormat::NAMES {
            assert_eq!(format.as_str(), name);
        }
    }
}
