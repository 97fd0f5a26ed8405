//! Command-line interface. Flags follow Prometheus exporter conventions.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::replay::ReplayArgs;
use crate::telemetry::{LogFormat, LogLevel};

/// Turns Kafka security events into Prometheus metrics, OTLP metrics and traces.
///
/// Reads Confluent audit-log CloudEvents, applications' JSON security events and plain-text
/// events (record key = event type) from Kafka topics in a consumer group, and Kafka's own broker
/// logs (authorizer denials, failed logins, ACL/SCRAM/config changes, request times) tailed from
/// files or read from a topic. Serves labeled counters and histograms on /metrics, with /healthz
/// and /readyz for orchestrators; `replay` runs archived broker logs through the same pipeline.
#[derive(Debug, Parser)]
#[command(name = "kafka-security-exporter", version, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Address to serve HTTP on: `:PORT` (all interfaces), `IP:PORT` or `localhost:PORT`.
    /// Overrides `web.listen_address` in the config. [default: :9976]
    #[arg(long = "web.listen-address", global = true, value_name = "ADDRESS")]
    pub web_listen_address: Option<String>,
    /// Path under which to expose metrics. Overrides `web.telemetry_path`. [default: /metrics]
    #[arg(long = "web.telemetry-path", global = true, value_name = "PATH")]
    pub web_telemetry_path: Option<String>,
    /// The web configuration file (the Prometheus exporter-toolkit format): TLS, mutual TLS,
    /// basic authentication with bcrypt hashes, response headers. Reloaded when it changes.
    /// Overrides `web.config_file`. [default: none: plain HTTP, no authentication]
    #[arg(long = "web.config.file", global = true, value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
    /// Only log messages at this level or above. RUST_LOG, if set, takes precedence.
    #[arg(long = "log.level", global = true, value_enum, default_value = "info")]
    pub log_level: LogLevel,
    /// Log line format, written to stderr.
    #[arg(
        long = "log.format",
        global = true,
        value_enum,
        default_value = "logfmt"
    )]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the exporter with a config file (see README for the format).
    Run {
        /// YAML config file.
        #[arg(
            long,
            short,
            value_name = "FILE",
            env = "KAFKA_SECURITY_EXPORTER_CONFIG"
        )]
        config: PathBuf,
        /// The `cluster` label of every series. Overrides `metrics.cluster`.
        /// [default: the Kafka cluster id of the first Kafka source, else `default`]
        #[arg(long, value_name = "NAME")]
        cluster: Option<String>,
    },
    /// Run on an embedded demo: an in-process mock Kafka cluster fed a realistic mixed stream
    /// (audit CloudEvents, JSON and text events, a brute-force burst). No Kafka needed.
    Demo {
        /// Events per second the generator produces.
        #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        rate: u32,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long, value_name = "SECS")]
        duration_secs: Option<u64>,
    },
    /// Run broker log files (kafka-authorizer.log, server.log, controller.log, kafka-request.log,
    /// rotated and .gz ones too, or whole directories) through the exporter once: print the final
    /// metrics exposition to stdout and a summary (top denied principals, top failing client
    /// hosts, changes) to stderr.
    Replay(ReplayArgs),
    /// Print what the exporter writes, under the `privacy:` key of a config file, for each
    /// principal (`User:alice`), host name or client address (`10.1.2.3`): one pseudonym per
    /// line. With `--reverse`, the address each Crypto-PAn pseudonym stands for. Exits 64 when
    /// the config has no usable key or a value has no answer (nothing is printed then).
    Pseudonym {
        /// YAML config file with a `privacy:` section.
        #[arg(
            long,
            short,
            value_name = "FILE",
            env = "KAFKA_SECURITY_EXPORTER_CONFIG"
        )]
        config: PathBuf,
        /// Reverse address pseudonyms. Principals and host names cannot be reversed: HMAC is
        /// one-way; compute the pseudonyms of candidate names instead.
        #[arg(long)]
        reverse: bool,
        /// Principals, host names or addresses (pseudonyms with `--reverse`).
        #[arg(required = true, value_name = "VALUE")]
        values: Vec<String>,
    },
    /// Validate a config file: print every problem and exit 64 if there is any.
    CheckConfig {
        /// YAML config file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}
