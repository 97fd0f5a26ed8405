//! # kafka-security-exporter
//!
//! Turns what Kafka knows about security into Prometheus metrics (and, later, OTLP).
//!
//! # Layout
//! - [`event`]: the normalized [`event::SecurityEvent`] every input becomes.
//! - [`parse`]: one parser per input format, pure functions from bytes to events.

pub mod event;
pub mod parse;
