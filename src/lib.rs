//! # kafka-security-exporter
//!
//! Turns what Kafka knows about security into Prometheus metrics: Confluent audit-log
//! CloudEvents, applications' JSON security events and plain-text events, consumed from Kafka in
//! a consumer group with at-least-once, exact-across-restarts counting.
//!
//! # Layout
//! - [`cli`]: command-line flags and subcommands (`run`, `demo`, `replay`, `check-config`).
//! - [`config`]: the YAML config file, validated once with every problem reported together.
//! - [`sources`]: inputs; [`sources::kafka`] is the consumer-group source.
//! - [`tail`]: the file tailer (globs, rotation, copytruncate, checkpoints) under file sources.
//! - [`parse`]: one parser per input format, pure functions from bytes to events.
//! - [`event`]: the normalized [`event::SecurityEvent`] every input becomes.
//! - [`pipeline`]: parse a record once, apply it to the metric state.
//! - [`metrics`]: the metric catalogue, the registry, the cardinality guard, `Metrics::record`
//!   and the exporter's internal events.
//! - [`health`]: per-source readiness behind `/readyz` and `kafka_security_source_up`.
//! - [`export`]: outputs; [`export::http`] serves `/metrics`, `/healthz`, `/readyz`.
//! - [`otel`]: OpenTelemetry: OTLP metrics (bridged from the registry) and one span per record.
//! - [`app`]: wiring and ordered shutdown.
//! - [`replay`]: `replay` runs broker log files through the pipeline once (forensics, benches).
//! - [`demo`]: the embedded demo (librdkafka mock cluster plus an event generator).
//! - [`secret`]: config values read from files or the environment, redacted when printed.
//! - [`telemetry`]: the exporter's own logs; [`shutdown`]: SIGTERM/SIGINT.

pub mod app;
pub mod build_info;
pub mod cli;
pub mod config;
pub mod demo;
pub mod event;
pub mod export;
pub mod health;
pub mod metrics;
pub mod otel;
pub mod parse;
pub mod pipeline;
pub mod replay;
pub mod secret;
pub mod shutdown;
pub mod sources;
pub mod tail;
pub mod telemetry;
