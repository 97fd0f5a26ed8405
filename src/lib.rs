//! # kafka-security-exporter
//!
//! Turns what Kafka knows about security into Prometheus metrics (and, later, OTLP).
//!
//! # Layout
//! - [`event`]: the normalized [`event::SecurityEvent`] every input becomes.
//! - [`parse`]: one parser per input format, pure functions from bytes to events.
//! - [`metrics`]: metric names, the registry, the cardinality guard, and `Metrics::record`.

pub mod event;
pub mod metrics;
pub mod parse;
