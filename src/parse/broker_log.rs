//! Kafka's own logs as one input: which kind of log an entry belongs to, and the dispatch of a
//! framed [`LogEntry`] to its parser.
//!
//! A source is configured with an [`Input`]; `broker_log` (a file's `kind: auto`, the default,
//! and the only sane choice for a container's stdout, where every logger is mixed) decides per
//! entry from the logger name (`%c`), which Kafka's layout prints last on the line, after
//! everything a client controls. Where an entry was routed is also the `file_kind` label of
//! `kafka_security_log_lines_total` ([`file_kind`]).
//!
//! An entry that became an event also says what it shows of log injection ([`Injection`]): a
//! suspect entry is counted, and counted as an injection, rather than refused.

use std::time::SystemTime;

use super::log4j::LogEntry;
use super::request_log::RequestRecord;
use super::{
    aiven, authorizer, controller_log, partial, qubership, request_log, server_log, zk_change,
    Input, ParseError,
};
use crate::event::{Format, SecurityEvent};

/// Which log an entry belongs to, as its event format; `None` for a log that is counted, not
/// parsed (state-change, log-cleaner). The entry's logger decides when it is one of Kafka's
/// security loggers, else the configured `input` (`broker_log` falls back to `server_log`).
/// A [partial](LogEntry::partial) entry whose logger does not decide goes by its message, and so
/// does a ZooKeeper-era change notification ([`zk_change`]) in a broker or server log.
pub fn route(input: Input, entry: &LogEntry) -> Option<Format> {
    match entry.logger.as_deref().map(logger_format) {
        Some(Some(routed)) => routed,
        _ if entry.partial && input == Input::BrokerLog => partial::format_of(&entry.message),
        // ZooKeeper-era change notifications, whatever class logs them; Kafka's log4j
        // configuration sends them to `server.log`.
        _ if matches!(input, Input::BrokerLog | Input::ServerLog)
            && zk_change::is_change(&entry.message) =>
        {
            Some(Format::ControllerLog)
        }
        _ if input == Input::BrokerLog => Some(Format::ServerLog),
        _ => input.format(),
    }
}

/// The `file_kind` label of an entry [`route`]d to `format`.
pub fn file_kind(format: Option<Format>) -> &'static str {
    match format {
        Some(Format::AuthorizerLog) => "authorizer",
        Some(Format::ServerLog) => "server",
        Some(Format::ControllerLog) => "controller",
        Some(Format::RequestLog) => "request",
        _ => "other",
    }
}

/// How many [`file_kind`]s there are.
pub const FILE_KINDS: usize = 5;

/// The index of an entry's [`file_kind`], below [`FILE_KINDS`].
pub fn file_kind_index(format: Option<Format>) -> usize {
    match format {
        Some(Format::AuthorizerLog) => 0,
        Some(Format::ServerLog) => 1,
        Some(Format::ControllerLog) => 2,
        Some(Format::RequestLog) => 3,
        _ => 4,
    }
}

/// The log a logger name belongs to, when it is one Kafka routes to a dedicated file
/// (`Some(None)`: a log that is not parsed).
fn logger_format(logger: &str) -> Option<Option<Format>> {
    // `%c:%L` adds the line number.
    let logger = match logger.rsplit_once(':') {
        Some((name, line)) if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => logger,
    };
    Some(match logger {
        "kafka.authorizer.logger" => Some(Format::AuthorizerLog),
        // Aiven's authorizer logs its decisions through its class logger.
        l if l.starts_with(aiven::LOGGER_PREFIX) && l.contains("Authorizer") => {
            Some(Format::AuthorizerLog)
        }
        l if qubership::is_logger(l) => Some(Format::AuthorizerLog),
        "kafka.request.logger" => Some(Format::RequestLog),
        "state.change.logger" | "kafka.log.LogCleaner" | "kafka.log.LogCleaner$" => None,
        l if l.starts_with("org.apache.kafka.controller.")
            || l.starts_with("kafka.controller.") =>
        {
            Some(Format::ControllerLog)
        }
        "org.apache.kafka.common.network.Selector"
        | "kafka.network.DataPlaneAcceptor"
        | "kafka.network.ControlPlaneAcceptor"
        | "kafka.network.Acceptor"
        | "kafka.server.ConfigAdminManager" => Some(Format::ServerLog),
        _ => return None,
    })
}

/// What an entry turned out to be.
// Returned by value and matched at once; boxing the event would cost an allocation per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum LogOutput<'a> {
    /// A security event (authorization decision, failed login, change, rejected connection),
    /// and what its entry says about log injection.
    Event(SecurityEvent<'a>, Injection),
    /// A completed request from the request log.
    Request(RequestRecord<'a>),
    /// A controller (re)start or activation line, which bounds the startup replay.
    Lifecycle(controller_log::Lifecycle),
    /// A line of no security interest.
    Nothing,
}

/// What an entry that became an event says about log injection (see [`authorizer::Decision`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Injection {
    /// The entry carried a forged line or field: counted as a suspected injection too.
    pub suspect: bool,
    /// The event's API and rule may be a client's forgery; the next entry may hold the genuine
    /// ones ([`authorizer::completion`]).
    pub tail_doubtful: bool,
    /// An authorization decision without its tail (` for request = …`) in an entry that was not
    /// cut: the shape of Kafka before 2.4, or a decision whose line a client ended early with a
    /// forged ` (kafka.authorizer.logger)` (then the next entry ends in its tail).
    pub tail_missing: bool,
    /// An authorization decision read with its tail.
    pub has_tail: bool,
}

/// Where [`route`] sent an entry and what [`parse_entry`] read from it, borrowing from the entry.
#[derive(Debug)]
pub struct Parsed<'a> {
    pub format: Option<Format>,
    pub output: Result<LogOutput<'a>, ParseError>,
}

self_cell::self_cell!(
    /// An entry routed and parsed ahead of being applied, with what it read ([`Parsed`]): a
    /// parallel replay parses entries on worker threads and applies them on one, in order
    /// (`Pipeline::apply_prepared`, which borrows it, so the memory is freed by the thread that
    /// allocated it). What was read borrows from the entry it travels with: no field is copied.
    pub struct PreparedEntry {
        owner: LogEntry,
        #[covariant]
        dependent: Parsed,
    }
    impl {Debug}
);

impl PreparedEntry {
    /// Routes and parses `entry` of a log read as `input`, its event observed at `observed`.
    pub fn prepare(input: Input, entry: LogEntry, observed: SystemTime) -> PreparedEntry {
        PreparedEntry::new(entry, |entry| {
            let format = route(input, entry);
            Parsed {
                format,
                output: parse_entry_at(format, entry, observed),
            }
        })
    }

    /// The entry.
    pub fn entry(&self) -> &LogEntry {
        self.borrow_owner()
    }
}

impl LogOutput<'_> {
    /// The output borrowing every field from `self`.
    pub fn borrowed(&self) -> LogOutput<'_> {
        match self {
            LogOutput::Event(event, injection) => LogOutput::Event(event.borrowed(), *injection),
            LogOutput::Request(r) => LogOutput::Request(r.borrowed()),
            LogOutput::Lifecycle(l) => LogOutput::Lifecycle(*l),
            LogOutput::Nothing => LogOutput::Nothing,
        }
    }
}

/// Parses one entry of the log it was [`route`]d to.
pub fn parse_entry(format: Option<Format>, entry: &LogEntry) -> Result<LogOutput<'_>, ParseError> {
    parse_entry_at(format, entry, crate::clock::now())
}

/// [`parse_entry`], its event observed at `observed` (the pipeline reads the clock once an
/// entry).
#[inline]
pub fn parse_entry_at(
    format: Option<Format>,
    entry: &LogEntry,
    observed: SystemTime,
) -> Result<LogOutput<'_>, ParseError> {
    fn event(
        r: Result<Option<SecurityEvent<'_>>, ParseError>,
    ) -> Result<LogOutput<'_>, ParseError> {
        r.map(|e| {
            e.map_or(LogOutput::Nothing, |e| {
                LogOutput::Event(e, Injection::default())
            })
        })
    }
    match format {
        Some(Format::AuthorizerLog) if aiven::is_decision(&entry.message) => {
            event(aiven::parse_at(entry, observed))
        }
        Some(Format::AuthorizerLog) if qubership::is_decision(&entry.message) => {
            event(qubership::parse_at(entry, observed))
        }
        Some(Format::AuthorizerLog) => Ok(match authorizer::parse_decision_at(entry, observed)? {
            Some(d) => LogOutput::Event(
                d.event,
                Injection {
                    suspect: d.suspect,
                    tail_doubtful: d.tail_doubtful,
                    tail_missing: !d.has_tail && !entry.truncated,
                    has_tail: d.has_tail,
                },
            ),
            None => LogOutput::Nothing,
        }),
        Some(Format::ServerLog) => event(server_log::parse_at(entry, observed)),
        Some(Format::ControllerLog) => {
            if let Some(l) = controller_log::lifecycle(entry.first_line()) {
                return Ok(LogOutput::Lifecycle(l));
            }
            event(controller_log::parse_at(entry, observed))
        }
        Some(Format::RequestLog) => {
            if entry.suspect || entry.truncated {
                if !entry.message.starts_with("Completed request:") {
                    return Ok(LogOutput::Nothing);
                }
                // Kafka writes the request as JSON, which escapes what clients chose: the
                // principal is named when the record still reads.
                let record = request_log::parse_message(entry.first_line())
                    .ok()
                    .flatten();
                let principal = record.as_ref().and_then(|r| r.principal.as_deref());
                return Err(ParseError::injection(
                    "request-log entry was cut or follows a forged log line",
                    principal,
                ));
            }
            Ok(request_log::parse_message(&entry.message)?
                .map_or(LogOutput::Nothing, LogOutput::Request))
        }
        // A log that is not parsed, or an entry of an input that is not a log.
        _ => Ok(LogOutput::Nothing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Category;
    use crate::parse::log4j::{Framer, FramerConfig};

    fn entries(log: &str) -> Vec<LogEntry> {
        let mut framer = Framer::new(FramerConfig::default());
        let mut out = Vec::new();
        framer.push(log.as_bytes(), &mut out);
        framer.flush(&mut out);
        out
    }

    #[test]
    fn zookeeper_change_notifications_are_changes_whatever_their_logger() {
        // AclAuthorizer.scala and DynamicConfigManager.scala (Kafka 2.x–3.x); a vendor's
        // subclass of AclAuthorizer logs under its own class name.
        let log = "[2022-10-22 00:13:36,456] INFO Processing override for entityPath: users/admin with config: HashMap(SCRAM-SHA-512 -> [hidden], SCRAM-SHA-256 -> [hidden]) (kafka.server.DynamicConfigManager)\n\
                   [2024-08-14 16:36:31,699] INFO Processing Acl change notification for ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL), versionedAcls : Set(), zkVersion : 2 (com.example.VendorAclAuthorizer)\n\
                   [2024-01-26 10:07:10,097] INFO Processing override for entityPath: topics/users.registrations with config: HashMap(retention.ms -> 60000) (kafka.server.ZkConfigManager)\n";
        let entries = entries(log);
        assert_eq!(entries.len(), 3);
        let categories: Vec<_> = entries
            .iter()
            .map(|entry| {
                let format = route(Input::BrokerLog, entry);
                assert_eq!(format, Some(Format::ControllerLog), "{entry:?}");
                assert_eq!(route(Input::ServerLog, entry), format, "{entry:?}");
                match parse_entry(format, entry).unwrap() {
                    LogOutput::Event(e, _) => Some(e.category),
                    LogOutput::Nothing => None,
                    other => panic!("{other:?}"),
                }
            })
            .collect();
        assert_eq!(
            categories,
            [
                Some(Category::CredentialChange),
                Some(Category::AclChange),
                None
            ]
        );
    }

    #[test]
    fn a_prepared_entry_reads_its_event_in_place_observed_when_it_is_told() {
        let log = "[2026-11-26 14:06:17,000] INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.8 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n";
        let entry = entries(log).remove(0);
        let observed = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let prepared = PreparedEntry::prepare(Input::BrokerLog, entry, observed);
        let parsed = prepared.borrow_dependent();
        assert_eq!(parsed.format, Some(Format::AuthorizerLog));
        let Ok(LogOutput::Event(event, _)) = &parsed.output else {
            panic!("{parsed:?}");
        };
        assert_eq!(event.observed_time, observed);
        // Borrowed from the entry it travels with, not copied.
        let principal = event.principal.as_deref().unwrap();
        assert_eq!(principal, "User:bob");
        let message = prepared.entry().message.as_str();
        assert!(message
            .as_bytes()
            .as_ptr_range()
            .contains(&principal.as_ptr()));
    }

    #[test]
    fn qubership_decisions_go_to_the_authorizer_log() {
        // ExtendedAuthorizer.java (Netcracker/qubership-kafka-security) logs through the
        // interface's logger; its ACL change notifications come from the subclass's.
        let log = "[2024-08-14 16:27:11,308] WARN Principal = [User:test] is Denied Operation = [DESCRIBE] from host = [10.0.0.1] on resource = [ResourcePattern(resourceType=TOPIC, name=t, patternType=LITERAL)] (org.qubership.kafka.security.authorization.ExtendedAuthorizer)\n";
        let entries = entries(log);
        let format = route(Input::BrokerLog, &entries[0]);
        assert_eq!(format, Some(Format::AuthorizerLog));
        match parse_entry(format, &entries[0]).unwrap() {
            LogOutput::Event(e, _) => {
                assert_eq!(e.principal.as_deref(), Some("User:test"));
                assert_eq!(e.resource_name.as_deref(), Some("t"));
            }
            other => panic!("{other:?}"),
        }
    }
}
