//! # kafka-security-exporter
//!
//! Turns what Kafka knows about security into Prometheus metrics, OTLP metrics and trace spans.
//! Two kinds of input, one normalized [`event::SecurityEvent`]:
//! - **Kafka topics**, consumed in a consumer group with at-least-once, exact-across-restarts
//!   counting (exact across crashes too with a state snapshot, [`state`]): Confluent audit-log CloudEvents, applications' JSON security events, plain-text
//!   events whose record key is the event type, and broker log lines a log shipper put on a topic.
//! - **Kafka's own broker logs**, tailed from files through rotation with checkpoints, or replayed
//!   once (`replay`): the authorizer log (denials), `server.log` (failed logins, rejected
//!   connections), `controller.log` (ACL, SCRAM credential, quota and config changes) and the
//!   request log.
//!
//! # How a record flows
//! ```text
//! sources (kafka topic | tailed file | replay)        bytes, offsets, checkpoints
//!   -> pipeline::Pipeline::apply                      orchestration only
//!        -> parse                                      bytes -> SecurityEvent | ParseError
//!        -> metrics::Metrics::record                   labeled counters and histograms
//!        -> otel                                       one span per sampled record
//! export::http (/metrics)   otel (OTLP push)          outputs
//! ```
//! Dependencies point down this list and never back; `tests/it/architecture.rs` fails on a cycle,
//! on an edge against the layers, and on `parse` importing anything but [`event`].
//!
//! # Layout
//! Entry points, top down:
//! - [`cli`]: command-line flags and subcommands (`run`, `demo`, `replay`, `check-config`,
//!   `pseudonym`); `src/main.rs` only parses them, sets up logging and maps errors to exit codes.
//! - [`app`]: wiring of a run and its ordered shutdown (stop intake, drain, commit, flush, stop
//!   HTTP).
//! - [`demo`]: the embedded demo: a librdkafka mock cluster fed by a generator, and a broker log
//!   directory written and rotated as log4j2 does.
//! - [`replay`]: old broker log files through the pipeline once (forensics, benchmarks).
//! - [`config`]: the YAML config file, validated in one pass with every problem reported together;
//!   each source's own settings live beside the source.
//!
//! Inputs:
//! - [`sources`]: the [`sources::Source`] trait; [`sources::kafka`] is the consumer-group source
//!   (its delivery contract is documented there), [`sources::file`] tails broker log files.
//! - [`tail`]: the file tailer under file sources (globs, rotation, copytruncate, checkpoints).
//!
//! Processing:
//! - [`pipeline`]: a record or log entry goes in, is parsed once, recorded and traced.
//! - [`parse`]: one parser per input format, pure functions from bytes to events, with the
//!   log4j framer and the broker-log parsers (authorizer, server, controller, request log).
//! - [`event`]: the normalized [`event::SecurityEvent`] and its closed label sets.
//! - [`privacy`]: optional pseudonymization of principals (HMAC-SHA256) and client addresses
//!   (prefix-preserving Crypto-PAn), applied to every event right after parsing.
//! - [`detect`]: stateful detectors on event time (brute force, spraying, probing, new
//!   principals, log tampering, ...), fed by the pipeline.
//!
//! Outputs:
//! - [`metrics`]: the metric catalogue ([`metrics::catalogue`]: every name, help, label and
//!   bucket), the registry, the cardinality guard and the exporter's internal events.
//! - [`otel`]: OpenTelemetry: OTLP metrics (bridged from the registry) and spans.
//! - [`output`]: the normalized event topic: every event and detection produced to Kafka as
//!   OCSF or ECS JSON.
//! - [`export`]: [`export::http`] serves `/metrics`, `/healthz` and `/readyz`, protected by the
//!   exporter-toolkit web config ([`export::web_config`]: TLS, basic auth), enforced and reloaded
//!   by [`export::guard`].
//! - [`health`]: per-source readiness behind `/readyz` and `kafka_security_source_up`.
//! - [`state`]: counting that survives a crash: every counter, histogram and source position
//!   snapshotted together into `state_dir`, restored at start; `/metrics` serves only what is
//!   on disk.
//!
//! Foundations: [`clock`] (the wall clock without the system clock's jumps), [`secret`] (config
//! values from files or the environment, redacted when printed),
//! [`build_info`] (version and revision), [`telemetry`] (the exporter's own logs, rate-limited
//! warnings), [`shutdown`] (SIGTERM/SIGINT).

pub mod app;
pub mod build_info;
pub mod cli;
pub mod clock;
pub mod config;
pub mod demo;
pub mod detect;
pub mod event;
pub mod export;
pub mod health;
pub mod metrics;
pub mod otel;
pub mod output;
pub mod parse;
pub mod pipeline;
pub mod privacy;
pub mod replay;
pub mod secret;
pub mod shutdown;
pub mod sources;
pub mod state;
pub mod tail;
pub mod telemetry;
