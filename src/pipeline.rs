//! The pipeline: a record goes in, is parsed once, and is applied to the metric state.
//! Sources call [`Pipeline::apply`] and only then store the record's offset, which is what makes
//! counting at-least-once.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::event::Format;
use crate::event::SecurityEvent;
use crate::metrics::Metrics;
use crate::otel;
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
    /// Spans and exemplars, when OTLP traces are on.
    otel: Option<Arc<otel::Handle>>,
}

impl Pipeline {
    pub fn new(parsers: Parsers, metrics: Arc<Metrics>) -> Pipeline {
        Pipeline {
            parsers,
            metrics,
            warn_limit: RateLimit::new(Duration::from_secs(10)),
            otel: None,
        }
    }

    /// Gives every applied record a span (and its counters an exemplar) through `otel`.
    pub fn with_otel(mut self, otel: Arc<otel::Handle>) -> Pipeline {
        self.otel = otel.tracing().then_some(otel);
        self
    }

    /// The OpenTelemetry handle, when traces are on (for sources to report cluster ids).
    pub fn otel(&self) -> Option<&Arc<otel::Handle>> {
        self.otel.as_ref()
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Parses `record` and applies it to the metrics. Never fails: a bad record is counted.
    pub fn apply(&self, source: &str, format: FormatChoice, record: &Record<'_>) -> Applied {
        match self.parsers.parse(format, record) {
            Ok(event) => {
                self.metrics.record(source, &event, SystemTime::now());
                self.observed(source, record, Ok(&event));
                Applied::Event(event.format)
            }
            Err((format, error)) => {
                self.metrics
                    .record_parse_error(source, format.map(Format::as_str), error.reason());
                self.observed(source, record, Err((format.map(Format::as_str), &error)));
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

    /// The one tracing hook: called once per record after it was recorded (an event) or
    /// counted (a parse error), by every source. A span per sampled record, joined to the
    /// record's `traceparent`; costs one branch when traces are off.
    fn observed(
        &self,
        source: &str,
        record: &Record<'_>,
        parsed: Result<&SecurityEvent<'_>, (Option<&'static str>, &ParseError)>,
    ) {
        if let Some(otel) = &self.otel {
            otel.observe(source, record, parsed);
        }
    }
}
