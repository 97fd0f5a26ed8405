//! Kafka's own logs as one input: which kind of log an entry belongs to, and the dispatch of a
//! framed [`LogEntry`] to its parser.
//!
//! A file is configured with a [`LogKind`]; `auto` (the default, and the only sane choice for a
//! container's stdout, where every logger is mixed) decides per entry from the logger name
//! (`%c`), which Kafka's layout prints last on the line, after everything a client controls.
//! The kind is also the `file_kind` label of `kafka_security_log_lines_total`.

use serde::Deserialize;

use super::log4j::LogEntry;
use super::request_log::RequestRecord;
use super::{authorizer, controller_log, request_log, server_log, ParseError};
use crate::event::{Format, SecurityEvent};

/// Which of Kafka's logs an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogKind {
    /// Decide per entry from its logger (`kafka.authorizer.logger` → authorizer, …).
    #[default]
    Auto,
    /// `kafka-authorizer.log`.
    Authorizer,
    /// `server.log`.
    Server,
    /// `controller.log`.
    Controller,
    /// `kafka-request.log`.
    Request,
    /// Any other log (state-change, log-cleaner): counted, not parsed.
    Other,
}

impl LogKind {
    /// The `file_kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Auto => "auto",
            LogKind::Authorizer => "authorizer",
            LogKind::Server => "server",
            LogKind::Controller => "controller",
            LogKind::Request => "request",
            LogKind::Other => "other",
        }
    }

    /// The kind of one entry: the logger decides when it is one of Kafka's security loggers,
    /// else the configured kind (`auto` falls back to `server`).
    pub fn of_entry(self, entry: &LogEntry) -> LogKind {
        match entry.logger.as_deref().map(logger_kind) {
            Some(Some(k)) => k,
            _ if self == LogKind::Auto => LogKind::Server,
            _ => self,
        }
    }

    /// The event format of entries of this kind (the `format` label).
    pub fn format(self) -> Option<Format> {
        match self {
            LogKind::Authorizer => Some(Format::AuthorizerLog),
            LogKind::Server => Some(Format::ServerLog),
            LogKind::Controller => Some(Format::ControllerLog),
            LogKind::Request => Some(Format::RequestLog),
            LogKind::Auto | LogKind::Other => None,
        }
    }
}

/// The kind a logger name belongs to, when it is one Kafka routes to a dedicated file.
fn logger_kind(logger: &str) -> Option<LogKind> {
    Some(match logger {
        "kafka.authorizer.logger" => LogKind::Authorizer,
        "kafka.request.logger" => LogKind::Request,
        "state.change.logger" | "kafka.log.LogCleaner" | "kafka.log.LogCleaner$" => LogKind::Other,
        l if l.starts_with("org.apache.kafka.controller.")
            || l.starts_with("kafka.controller.") =>
        {
            LogKind::Controller
        }
        "org.apache.kafka.common.network.Selector"
        | "kafka.network.DataPlaneAcceptor"
        | "kafka.network.ControlPlaneAcceptor"
        | "kafka.network.Acceptor" => LogKind::Server,
        _ => return None,
    })
}

/// What an entry turned out to be.
// Returned by value and matched at once; boxing the event would cost an allocation per line.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum LogOutput<'a> {
    /// A security event (authorization decision, failed login, change, rejected connection).
    Event(SecurityEvent<'a>),
    /// A completed request from the request log.
    Request(RequestRecord<'a>),
    /// A controller (re)start or activation line, which bounds the startup replay.
    Lifecycle(controller_log::Lifecycle),
    /// A line of no security interest.
    Nothing,
}

/// Parses one entry of kind `kind` (already resolved with [`LogKind::of_entry`]).
pub fn parse_entry(kind: LogKind, entry: &LogEntry) -> Result<LogOutput<'_>, ParseError> {
    fn event(
        r: Result<Option<SecurityEvent<'_>>, ParseError>,
    ) -> Result<LogOutput<'_>, ParseError> {
        r.map(|e| e.map_or(LogOutput::Nothing, LogOutput::Event))
    }
    match kind {
        LogKind::Authorizer => event(authorizer::parse(entry)),
        LogKind::Server => event(server_log::parse(entry)),
        LogKind::Controller => {
            if let Some(l) = controller_log::lifecycle(entry.first_line()) {
                return Ok(LogOutput::Lifecycle(l));
            }
            event(controller_log::parse(entry))
        }
        LogKind::Request => {
            if entry.suspect || entry.truncated {
                if !entry.message.starts_with("Completed request:") {
                    return Ok(LogOutput::Nothing);
                }
                return Err(ParseError::InvalidField {
                    field: "message",
                    problem: "entry was cut or follows a forged log line".into(),
                });
            }
            Ok(request_log::parse_message(&entry.message)?
                .map_or(LogOutput::Nothing, LogOutput::Request))
        }
        LogKind::Auto | LogKind::Other => Ok(LogOutput::Nothing),
    }
}
