//! Layout sniffing: which layout and line prefix a stream is in, from its first entry (see
//! [`super::log4j`]'s module docs). A closed set of layouts ([`LayoutName`]) and prefixes
//! ([`LinePrefix`]): the labels of `kafka_security_log_layout_streams`.

use super::layout::Layout;
use super::log4j::{parse_header, split_logger, strip_prefix_stamp};

/// The layout and line prefix that read `line` as an entry's first line, trying every
/// [`LinePrefix`] with Kafka's own shapes ([`parse_header`]) first, then the other layouts of
/// [`LayoutName`]. `None`: no known layout reads it.
pub fn sniff_line(line: &[u8], utc_offset_secs: i32) -> Option<Choice> {
    for prefix in LinePrefix::ALL {
        let Some(rest) = prefix.strip(line) else {
            continue;
        };
        // Kafka's shapes read any stamp and level; when they find no ` (logger)` at the end, a
        // layout that reads the logger before the message is the better reading
        // (`%d %-5p [%t] %c - %m` is also a stamp and a level).
        let kafka = parse_header(rest, utc_offset_secs).map(|h| {
            // A stamp without brackets first is Strimzi's shape; anything else Kafka's.
            let first = strip_prefix_stamp(rest).0.first().copied();
            let layout = if first.is_some_and(|b| b.is_ascii_digit()) {
                LayoutName::Strimzi
            } else {
                LayoutName::Kafka
            };
            (layout, split_logger(h.rest).1.is_some())
        });
        if let Some((layout, true)) = kafka {
            return Some(Choice { layout, prefix });
        }
        let (bare, _) = strip_prefix_stamp(rest);
        for (layout, compiled) in SNIFFED_LAYOUTS.iter() {
            if compiled.header(bare, utc_offset_secs).is_some() {
                return Some(Choice {
                    layout: *layout,
                    prefix,
                });
            }
        }
        if let Some((layout, false)) = kafka {
            return Some(Choice { layout, prefix });
        }
    }
    None
}

/// The compiled pattern of a layout [`sniff_line`] tries after Kafka's.
pub(super) fn sniffed_layout(name: LayoutName) -> Option<&'static Layout> {
    SNIFFED_LAYOUTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, l)| l)
}

/// The layout a stream is read in: one the framer recognizes by itself (chosen by sniffing, see
/// [`Framer`](super::log4j::Framer)) or the configured one. A closed set: the `layout` label of
/// `kafka_security_log_layout_streams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LayoutName {
    /// `[%d] %p %m (%c)%n` and its variants read by [`parse_header`] with a bracketed stamp
    /// (Apache Kafka, Confluent Platform and Bitnami images), or a runtime's stamp standing in.
    Kafka,
    /// [`parse_header`]'s unbracketed stamp: Strimzi's `%d %p %m (%c) [%t]%n`, ISO stamps.
    Strimzi,
    /// Confluent for Kubernetes: `[%p] %d [%t] %c %M - %m%n`.
    ConfluentForKubernetes,
    /// log4j 1.x TTCC-style `%d{ISO8601} [%t] %-5p %c %x - %m%n`, one appender for all loggers.
    Log4jTtcc,
    /// `%d{ISO8601} %-5p [%t] %c - %m%n`, the level before the thread.
    Log4jLevelFirst,
    /// `[%d][%p][category=%c] %m%n`.
    BracketedCategory,
    /// `[%d] %p (%t:%c) %m%n`: Kafka's stamp and level, then the thread and the (short) logger
    /// in parentheses before the message.
    KafkaThreadLogger,
    /// The `layout:` / `--layout` given.
    Configured,
}

impl LayoutName {
    pub const ALL: [LayoutName; 8] = [
        LayoutName::Kafka,
        LayoutName::Strimzi,
        LayoutName::ConfluentForKubernetes,
        LayoutName::Log4jTtcc,
        LayoutName::Log4jLevelFirst,
        LayoutName::BracketedCategory,
        LayoutName::KafkaThreadLogger,
        LayoutName::Configured,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LayoutName::Kafka => "kafka",
            LayoutName::Strimzi => "strimzi",
            LayoutName::ConfluentForKubernetes => "confluent_for_kubernetes",
            LayoutName::Log4jTtcc => "log4j_ttcc",
            LayoutName::Log4jLevelFirst => "log4j_level_first",
            LayoutName::BracketedCategory => "bracketed_category",
            LayoutName::KafkaThreadLogger => "kafka_thread_logger",
            LayoutName::Configured => "configured",
        }
    }

    /// The pattern of a layout recognized by itself (none for `configured`).
    pub fn pattern(self) -> Option<&'static str> {
        Some(match self {
            LayoutName::Kafka => "[%d] %p %m (%c)%n",
            LayoutName::Strimzi => "%d %p %m (%c) [%t]%n",
            LayoutName::ConfluentForKubernetes => "[%p] %d{ISO8601} [%t] %c %M - %m%n",
            LayoutName::Log4jTtcc => "%d{ISO8601} [%t] %-5p %c %x - %m%n",
            LayoutName::Log4jLevelFirst => "%d{ISO8601} %-5p [%t] %c - %m%n",
            LayoutName::BracketedCategory => "[%d{ISO8601}][%p][category=%c] %m%n",
            LayoutName::KafkaThreadLogger => "[%d] %p (%t:%c) %m%n",
            LayoutName::Configured => return None,
        })
    }
}

/// The layouts tried, after Kafka's own ([`parse_header`]), on a stream's lines until one reads
/// a line, compiled once.
pub(super) static SNIFFED_LAYOUTS: std::sync::LazyLock<Vec<(LayoutName, Layout)>> =
    std::sync::LazyLock::new(|| {
        [
            LayoutName::ConfluentForKubernetes,
            LayoutName::Log4jTtcc,
            LayoutName::Log4jLevelFirst,
            LayoutName::BracketedCategory,
            LayoutName::KafkaThreadLogger,
        ]
        .into_iter()
        .filter_map(|name| {
            // The patterns are constants compiled by a test: none is refused.
            let layout = Layout::parse(name.pattern()?).ok()?;
            Some((name, layout))
        })
        .collect()
    });

/// A prefix a log viewer or collector puts before every line of a stream, removed before
/// framing once the stream's first entry showed it. (Stamps of `kubectl logs --timestamps`, CRI
/// files and journald are read by [`strip_prefix`] on every line, whatever the stream.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LinePrefix {
    None,
    /// `docker compose logs`: `kafka1_1  | ` (v1), `kafka1-1  | ` (v2), or `  | ` alone.
    Compose,
    /// `kubectl logs --prefix`: `[pod/kafka-0/kafka] `.
    Kubectl,
    /// `stern`: `kafka-0 kafka ` (pod and container).
    Stern,
    /// A shell comment, `# `: log lines pasted into a script or a `properties` file.
    Comment,
    /// A Markdown or e-mail quote, `> ` (nested quotes `> > ` too).
    Quote,
    /// journald's message field as `journalctl -o verbose` and collectors print it:
    /// `MESSAGE: ` or `MESSAGE=`, indented or not.
    JournalField,
}

impl LinePrefix {
    /// In the order tried: stern's two free words last, as they would take any other prefix.
    pub const ALL: [LinePrefix; 7] = [
        LinePrefix::None,
        LinePrefix::Compose,
        LinePrefix::Kubectl,
        LinePrefix::Comment,
        LinePrefix::Quote,
        LinePrefix::JournalField,
        LinePrefix::Stern,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LinePrefix::None => "none",
            LinePrefix::Compose => "compose",
            LinePrefix::Kubectl => "kubectl",
            LinePrefix::Stern => "stern",
            LinePrefix::Comment => "comment",
            LinePrefix::Quote => "quote",
            LinePrefix::JournalField => "journal_field",
        }
    }

    /// The line without this prefix; `None` when it does not start with one.
    pub fn strip(self, line: &[u8]) -> Option<&[u8]> {
        let head = &line[..line.len().min(256)];
        match self {
            LinePrefix::None => Some(line),
            LinePrefix::Compose => {
                let name = head
                    .iter()
                    .take_while(|&&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
                    .count();
                let spaces = head[name..].iter().take_while(|&&b| b == b' ').count();
                let at = name + spaces;
                (head[at..].starts_with(b"| ") && (name > 0 || spaces > 0)).then(|| &line[at + 2..])
            }
            LinePrefix::Kubectl => {
                let rest = head.strip_prefix(b"[pod/")?;
                let close = memchr::memchr(b']', rest)?;
                let at = 5 + close + 1;
                (line.get(at) == Some(&b' ') && !rest[..close].contains(&b' '))
                    .then(|| &line[at + 1..])
            }
            LinePrefix::Comment => line.strip_prefix(b"# "),
            LinePrefix::Quote => {
                let mut rest = line.strip_prefix(b"> ")?;
                while let Some(r) = rest.strip_prefix(b"> ") {
                    rest = r;
                }
                Some(rest)
            }
            LinePrefix::JournalField => {
                let at = head.iter().take_while(|&&b| b == b' ').count();
                let rest = line[at..].strip_prefix(b"MESSAGE")?;
                rest.strip_prefix(b": ").or_else(|| rest.strip_prefix(b"="))
            }
            LinePrefix::Stern => {
                let pod = memchr::memchr(b' ', head).filter(|&p| p > 0)?;
                let container = memchr::memchr(b' ', &head[pod + 1..]).filter(|&c| c > 0)?;
                Some(&line[pod + 1 + container + 1..])
            }
        }
    }
}

/// How a stream is read: its layout and the prefix before every line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Choice {
    pub layout: LayoutName,
    pub prefix: LinePrefix,
}

impl Choice {
    /// The layout keeps the injection defense (the logger after the message; see the module
    /// docs): Kafka's and Strimzi's do, the sniffed logger-first layouts do not.
    pub fn anchored(self, configured: Option<&Layout>) -> bool {
        match self.layout {
            LayoutName::Kafka | LayoutName::Strimzi => true,
            LayoutName::Configured => configured.is_none_or(Layout::anchored),
            _ => false,
        }
    }
}

/// Lines outside any entry after which a stream that has framed none is reported as
/// recognizing nothing ([`Framer::recognizes_nothing`](super::log4j::Framer::recognizes_nothing)).
pub const UNRECOGNIZED_AFTER_LINES: u64 = 8;
