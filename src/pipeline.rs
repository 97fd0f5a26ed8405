//! The pipeline: a record goes in, is parsed once, and is applied to the metric state.
//! Sources call [`Pipeline::apply`] and only then store the record's offset, which is what makes
//! counting at-least-once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::event::Format;
use crate::metrics::Metrics;
use crate::parse::{FormatChoice, ParseError, Parsers, Record};
use crate::telemetry::RateLimit;

/// What became of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Parsed and recorded as an event of this format.
    Event(Format),
    /// Counted in `kafka_security_parse_errors_total`.
    Rejected(Option<Format>, ParseError),
}

/// Parsers plus the metric state they feed. Shared by every source.
pub struct Pipeline {
    parsers: Parsers,
    metrics: Arc<Metrics>,
    warn_limit: RateLimit,
}

impl Pipeline {
    pub fn new(parsers: Parsers, metrics: Arc<Metrics>) -> Pipeline {
        Pipeline {
            parsers,
            metrics,
            warn_limit: RateLimit::new(Duration::from_secs(10)),
        }
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Parses `record` and applies it to the metrics. Never fails: a bad record is counted.
    pub fn apply(&self, source: &str, format: FormatChoice, record: &Record<'_>) -> Applied {
        match self.parsers.parse(format, record) {
            Ok(event) => {
                self.metrics.record(source, &event, SystemTime::now());
                Applied::Event(event.format)
            }
            Err((format, error)) => {
                self.metrics
                    .record_parse_error(source, format.map(Format::as_str), error.reason());
                if let Some(suppressed) = self.warn_limit.check() {
                    tracing::warn!(
                        source,
                        origin = ?record.origin,
                        format = format.map_or("unknown", Format::as_str),
                        reason = error.reason(),
                        %error,
                        suppressed,
                        "Skipped a record that is not a valid security event."
                    );
                }
                Applied::Rejected(format, error)
            }
        }
    }
}
