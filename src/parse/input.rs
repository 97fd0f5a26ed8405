//! [`Input`]: what a source is configured to hold, the one switch between the parsers.
//!
//! A topic names it in `format:` (every variant, snake_case); a file source in `kind:` and
//! `replay` in `--format`, which hold only broker logs and name them shorter (`auto`,
//! `authorizer`, `server`, `controller`, `request`: see [`Input::LOG_KINDS`]).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::event::Format;

/// What a source's records or lines are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input {
    /// Detect per record: CloudEvents from Confluent, other JSON, else text.
    #[default]
    Auto,
    /// Confluent audit-log CloudEvents.
    ConfluentAudit,
    /// OCSF events (Redpanda's audit log, `_redpanda.audit_log`).
    Ocsf,
    /// Applications' JSON security events.
    Json,
    /// Plain text; the record key is the event type.
    Text,
    /// Lines of Kafka's own logs, any logger (a container's stdout): each entry is routed by
    /// its logger name.
    BrokerLog,
    /// Lines of `kafka-authorizer.log`.
    AuthorizerLog,
    /// Lines of `server.log`.
    ServerLog,
    /// Lines of `controller.log`.
    ControllerLog,
    /// Lines of `kafka-request.log`.
    RequestLog,
}

impl Input {
    /// The broker-log inputs by the names a file source's `kind:` and `replay --format` use.
    pub const LOG_KINDS: [(&'static str, Input); 5] = [
        ("auto", Input::BrokerLog),
        ("authorizer", Input::AuthorizerLog),
        ("server", Input::ServerLog),
        ("controller", Input::ControllerLog),
        ("request", Input::RequestLog),
    ];

    /// The format of every event this input yields; `None` for `auto` and `broker_log`, which
    /// decide per record or per entry. Also the `format` label of a record that failed to parse.
    pub fn format(self) -> Option<Format> {
        match self {
            Input::Auto | Input::BrokerLog => None,
            Input::ConfluentAudit => Some(Format::ConfluentAudit),
            Input::Ocsf => Some(Format::Ocsf),
            Input::Json => Some(Format::Json),
            Input::Text => Some(Format::Text),
            Input::AuthorizerLog => Some(Format::AuthorizerLog),
            Input::ServerLog => Some(Format::ServerLog),
            Input::ControllerLog => Some(Format::ControllerLog),
            Input::RequestLog => Some(Format::RequestLog),
        }
    }

    /// Whether records hold log lines, framed into entries, rather than one event each.
    pub fn is_log(self) -> bool {
        matches!(
            self,
            Input::BrokerLog
                | Input::AuthorizerLog
                | Input::ServerLog
                | Input::ControllerLog
                | Input::RequestLog
        )
    }

    /// Reads a file source's `kind:` by its [`Input::LOG_KINDS`] name. `other` (a log that is
    /// counted, not parsed) is refused with the names to use instead.
    pub fn deserialize_log_kind<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Input, D::Error> {
        struct KindVisitor;
        impl Visitor<'_> for KindVisitor {
            type Value = Input;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a log kind")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Input, E> {
                if let Some((_, input)) = Input::LOG_KINDS.iter().find(|(name, _)| *name == v) {
                    return Ok(*input);
                }
                if v == "other" {
                    return Err(E::custom(
                        "`other` files are not parsed; use auto, authorizer, server, controller or request",
                    ));
                }
                const NAMES: &[&str] = &[
                    "auto",
                    "authorizer",
                    "server",
                    "controller",
                    "request",
                    "other",
                ];
                Err(E::unknown_variant(v, NAMES))
            }
        }
        deserializer.deserialize_str(KindVisitor)
    }
}

/// `replay --format`: the [`Input::LOG_KINDS`] names.
impl clap::ValueEnum for Input {
    fn value_variants<'a>() -> &'a [Self] {
        &[
            Input::BrokerLog,
            Input::AuthorizerLog,
            Input::ServerLog,
            Input::ControllerLog,
            Input::RequestLog,
        ]
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Input::LOG_KINDS
            .iter()
            .find(|(_, input)| input == self)
            .map(|(name, _)| clap::builder::PossibleValue::new(*name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// A file source's `kind:` read from `name`.
    fn kind(name: &str) -> Result<Input, serde::de::value::Error> {
        Input::deserialize_log_kind(serde::de::value::StrDeserializer::new(name))
    }

    #[test]
    fn log_kind_names() {
        for (name, input) in Input::LOG_KINDS {
            assert!(input.is_log());
            assert_eq!(Input::from_str(name, false), Ok(input));
            assert_eq!(kind(name), Ok(input));
        }
        assert!(Input::from_str("json", false).is_err());
        assert!(Input::from_str("authorizer_log", false).is_err());
        let other = kind("other").unwrap_err().to_string();
        assert!(other.starts_with("`other` files are not parsed"), "{other}");
        let nope = kind("nope").unwrap_err().to_string();
        assert!(nope.starts_with("unknown variant `nope`"), "{nope}");
    }

    #[test]
    fn formats() {
        assert_eq!(Input::Auto.format(), None);
        assert_eq!(Input::BrokerLog.format(), None);
        assert_eq!(Input::Json.format(), Some(Format::Json));
        assert_eq!(Input::RequestLog.format(), Some(Format::RequestLog));
        assert!(!Input::Text.is_log());
    }
}
