//! The config file (YAML), validated once with every problem reported together.
//!
//! ```yaml
//! sources:
//!   - kafka:
//!       name: audit                      # the `source` label; default "kafka"
//!       group_id: kafka-security-exporter
//!       topics:
//!         - name: confluent-audit-log-events
//!           format: confluent_audit      # auto | confluent_audit | json | text
//!         - pattern: "^app-security-.*"
//!       properties:                      # librdkafka settings, with librdkafka's own names
//!         bootstrap.servers: broker-1:9092
//!         security.protocol: SASL_SSL
//!         sasl.mechanism: SCRAM-SHA-512
//!         sasl.username: exporter
//!         sasl.password: { file: /run/secrets/kafka-password }   # or { env: KAFKA_PASSWORD }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::metrics::MetricsConfig;
use crate::otel::OtlpConfig;
use crate::parse::{Input, Parsers, ParsersConfig};
pub use crate::sources::file::FileSourceConfig;

/// Every problem found in a config file. Displayed one per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<String>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The whole config file.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub web: WebConfig,
    pub sources: Vec<SourceConfig>,
    pub parsers: ParsersConfig,
    pub metrics: MetricsConfig,
    pub shutdown: ShutdownConfig,
    /// OpenTelemetry export; see [`crate::otel::settings`] for the `OTEL_*` variables and
    /// precedence (the file wins over the environment).
    pub otlp: OtlpConfig,
}

/// The `web:` section. Command-line flags override it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// Address to serve `/metrics`, `/healthz` and `/readyz` on, e.g. `:9976` or
    /// `127.0.0.1:9976`. Default `:9976` (all interfaces).
    pub listen_address: Option<String>,
    /// Path of the metrics endpoint. Default `/metrics`.
    pub telemetry_path: Option<String>,
}

/// The `shutdown:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds each shutdown step (drain, commit, stop HTTP) may take before it is cut short.
    /// Default 10. Kubernetes' default termination grace period is 30 s.
    #[serde(default = "default_grace_period_secs")]
    pub grace_period_secs: u64,
}

fn default_grace_period_secs() -> u64 {
    10
}

impl Default for ShutdownConfig {
    fn default() -> Self {
        ShutdownConfig {
            grace_period_secs: default_grace_period_secs(),
        }
    }
}

/// One input. Written as `- kafka: {...}`.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    Kafka(KafkaSourceConfig),
    File(FileSourceConfig),
}

/// The YAML shape of one `sources` item: exactly one key naming the kind of source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceEntry {
    kafka: Option<KafkaSourceConfig>,
    file: Option<FileSourceConfig>,
}

impl SourceConfig {
    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Kafka(k) => &k.name,
            SourceConfig::File(f) => &f.name,
        }
    }
}

/// A Kafka consumer-group source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSourceConfig {
    /// The `source` label of this source's metrics. Default `kafka`. Must be unique.
    #[serde(default = "default_source_name")]
    pub name: String,
    /// Consumer group; replicas with the same group share the topics' partitions.
    /// Default `kafka-security-exporter`.
    #[serde(default = "default_group_id")]
    pub group_id: String,
    /// Topics to consume, by name or by regex pattern, each with its format.
    pub topics: Vec<TopicConfig>,
    /// librdkafka properties, passed through unchanged (see librdkafka's CONFIGURATION.md).
    /// A value may be a string, a number, a boolean, `{ file: PATH }` (the file's content,
    /// trailing newline removed) or `{ env: NAME }`. `bootstrap.servers` is required.
    /// The exporter sets `enable.auto.offset.store=false` itself (offsets are stored only after an
    /// event is applied) and defaults `queued.max.messages.kbytes=16384`,
    /// `statistics.interval.ms=5000`, `auto.offset.reset=earliest`.
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
}

fn default_source_name() -> String {
    "kafka".into()
}
fn default_group_id() -> String {
    "kafka-security-exporter".into()
}

/// A topic subscription.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicConfig {
    /// Exact topic name. Exactly one of `name` and `pattern`.
    pub name: Option<String>,
    /// Regex over topic names (librdkafka syntax; must start with `^`).
    pub pattern: Option<String>,
    /// Format of the records. Default `auto` (detected per record).
    #[serde(default)]
    pub format: Input,
    /// For the broker-log formats: the broker JVM's UTC offset, for timestamps without a zone
    /// (`+01:00`). Default `+00:00`.
    pub utc_offset: Option<String>,
    /// For the broker-log formats: the broker's log4j pattern, when it is not one recognized by
    /// itself (as for a file source's `layout`).
    pub layout: Option<String>,
}

impl TopicConfig {
    /// How the broker-log formats frame this topic's records (validated by `Config::parse`).
    pub fn framer(&self) -> crate::parse::log4j::FramerConfig {
        crate::parse::log4j::FramerConfig::configured(
            self.utc_offset.as_deref(),
            self.layout.as_deref(),
            self.format,
        )
    }

    fn problems(&self, at: &str, problems: &mut Vec<String>) {
        if !self.format.is_log() {
            if self.utc_offset.is_some() || self.layout.is_some() {
                problems.push(format!(
                    "{at}: `utc_offset` and `layout` apply only to the broker-log formats (broker_log, authorizer_log, server_log, controller_log, request_log)"
                ));
            }
            return;
        }
        crate::parse::log4j::FramerConfig::problems(
            at,
            self.utc_offset.as_deref(),
            self.layout.as_deref(),
            self.format,
            problems,
        );
    }

    /// The subscription string librdkafka takes (a pattern starts with `^`).
    pub fn subscription(&self) -> &str {
        self.name
            .as_deref()
            .or(self.pattern.as_deref())
            .unwrap_or_default()
    }
}

/// A librdkafka property value.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum PropertyValue {
    Text(String),
    Bool(bool),
    Int(i64),
    Float(f64),
    File { file: PathBuf },
    Env { env: String },
}

/// A resolved secret-bearing string that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"[redacted]\"")
    }
}

impl PropertyValue {
    /// The value librdkafka gets, reading files and environment variables.
    pub fn resolve(&self) -> Result<Secret, String> {
        Ok(Secret(match self {
            PropertyValue::Text(s) => s.clone(),
            PropertyValue::Bool(b) => b.to_string(),
            PropertyValue::Int(i) => i.to_string(),
            PropertyValue::Float(x) => x.to_string(),
            PropertyValue::File { file } => std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?
                .trim_end_matches(['\r', '\n'])
                .to_string(),
            PropertyValue::Env { env } => {
                std::env::var(env).map_err(|_| format!("environment variable {env} is not set"))?
            }
        }))
    }
}

/// True for property names whose values must never be logged.
pub fn is_sensitive(property: &str) -> bool {
    ["password", "secret", "jaas", "key", "token", "credentials"]
        .iter()
        .any(|w| property.contains(w))
        && !property.ends_with(".location")
        && property != "ssl.key.location"
}

/// Properties the exporter owns; setting them would break at-least-once counting.
const RESERVED_PROPERTIES: [(&str, &str); 3] = [
    (
        "enable.auto.offset.store",
        "the exporter stores each offset only after its event is applied",
    ),
    ("group.id", "set `group_id` instead"),
    (
        "enable.partition.eof",
        "the exporter does not use partition EOF events",
    ),
];

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigErrors(vec![format!("{}: cannot read: {e}", path.display())]))?;
        Config::parse(&text).map_err(|ConfigErrors(problems)| {
            ConfigErrors(
                problems
                    .into_iter()
                    .map(|p| format!("{}: {p}", path.display()))
                    .collect(),
            )
        })
    }

    /// Parses and validates config text, reporting every problem at once.
    pub fn parse(text: &str) -> Result<Config, ConfigErrors> {
        let root: Value =
            serde_yaml_ng::from_str(text).map_err(|e| ConfigErrors(vec![e.to_string()]))?;
        let mut problems = Vec::new();
        let mut config = Config::default();
        let map = match root {
            Value::Null => return Ok(config),
            Value::Mapping(m) => m,
            _ => {
                return Err(ConfigErrors(vec![
                    "the config must be a mapping (key: value) at the top level".into(),
                ]))
            }
        };
        for (key, value) in map {
            let Some(key) = key.as_str().map(str::to_owned) else {
                problems.push(format!("top-level key {key:?} is not a string"));
                continue;
            };
            match key.as_str() {
                "web" => section(&key, value, &mut problems, &mut config.web),
                "parsers" => section(&key, value, &mut problems, &mut config.parsers),
                "metrics" => section(&key, value, &mut problems, &mut config.metrics),
                "shutdown" => section(&key, value, &mut problems, &mut config.shutdown),
                "otlp" => section(&key, value, &mut problems, &mut config.otlp),
                "sources" => match value {
                    Value::Sequence(items) => {
                        for (i, item) in items.into_iter().enumerate() {
                            match serde_path_to_error::deserialize::<_, SourceEntry>(item) {
                                Ok(SourceEntry { kafka: Some(k), file: None }) => {
                                    config.sources.push(SourceConfig::Kafka(k))
                                }
                                Ok(SourceEntry { kafka: None, file: Some(f) }) => {
                                    config.sources.push(SourceConfig::File(f))
                                }
                                Ok(SourceEntry { kafka: Some(_), file: Some(_) }) => problems
                                    .push(format!("sources[{i}]: one kind of source per item; split `kafka` and `file` into two items")),
                                Ok(SourceEntry { kafka: None, file: None }) => problems
                                    .push(format!("sources[{i}]: name the kind of source, e.g. `- kafka: {{...}}` or `- file: {{...}}`")),
                                Err(e) => problems.push(format!("sources[{i}].{e}")),
                            }
                        }
                    }
                    Value::Null => {}
                    _ => problems.push("sources: must be a list".into()),
                },
                other => problems.push(format!(
                    "unknown top-level key `{other}`; expected one of web, sources, parsers, metrics, shutdown, otlp"
                )),
            }
        }
        problems.extend(config.problems());
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(problems))
        }
    }

    /// Semantic checks on a structurally valid config.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(path) = &self.web.telemetry_path {
            if !path.starts_with('/') {
                problems.push(format!("web.telemetry_path: `{path}` must start with `/`"));
            }
        }
        if let Some(addr) = &self.web.listen_address {
            if let Err(e) = crate::export::http::parse_listen_address(addr) {
                problems.push(format!("web.listen_address: {e}"));
            }
        }
        if let Err(p) = Parsers::new(&self.parsers) {
            problems.extend(p);
        }
        problems.extend(self.metrics.problems());
        // The OTEL_* environment is checked with the file, so `check-config` reports both.
        if let Err(p) =
            crate::otel::settings::resolve(&self.otlp, &crate::otel::settings::ProcessEnv)
        {
            problems.extend(p);
        }
        let mut names = std::collections::HashSet::new();
        for (i, source) in self.sources.iter().enumerate() {
            if !names.insert(source.name()) {
                problems.push(format!(
                    "sources[{i}]: name `{}` is used by an earlier source; names must be unique",
                    source.name()
                ));
            }
            match source {
                SourceConfig::Kafka(k) => k.problems(&format!("sources[{i}].kafka"), &mut problems),
                SourceConfig::File(f) => f.problems(&format!("sources[{i}].file"), &mut problems),
            }
        }
        problems
    }
}

fn section<T: DeserializeOwned>(key: &str, value: Value, problems: &mut Vec<String>, out: &mut T) {
    if value.is_null() {
        return;
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(v) => *out = v,
        Err(e) if e.path().iter().next().is_none() => {
            problems.push(format!("{key}: {}", e.inner()))
        }
        Err(e) => problems.push(format!("{key}.{e}")),
    }
}

impl KafkaSourceConfig {
    fn problems(&self, at: &str, problems: &mut Vec<String>) {
        if self.name.is_empty() {
            problems.push(format!("{at}.name: must not be empty"));
        }
        if self.group_id.is_empty() {
            problems.push(format!("{at}.group_id: must not be empty"));
        }
        if self.topics.is_empty() {
            problems.push(format!("{at}.topics: list at least one topic"));
        }
        for (i, t) in self.topics.iter().enumerate() {
            t.problems(&format!("{at}.topics[{i}]"), problems);
            match (&t.name, &t.pattern) {
                (Some(_), Some(_)) => problems.push(format!(
                    "{at}.topics[{i}]: set either `name` or `pattern`, not both"
                )),
                (None, None) => problems.push(format!("{at}.topics[{i}]: set `name` or `pattern`")),
                (Some(n), None) => {
                    if n.is_empty()
                        || n.len() > 249
                        || !n
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                    {
                        problems.push(format!(
                            "{at}.topics[{i}].name: `{n}` is not a valid Kafka topic name (1-249 of [a-zA-Z0-9._-])"
                        ));
                    }
                }
                (None, Some(p)) => {
                    if !p.starts_with('^') {
                        problems.push(format!(
                            "{at}.topics[{i}].pattern: `{p}` must start with `^` (librdkafka treats only such names as patterns)"
                        ));
                    } else if let Err(e) = regex::Regex::new(p) {
                        problems.push(format!("{at}.topics[{i}].pattern: {e}"));
                    }
                }
            }
        }
        if !self.properties.contains_key("bootstrap.servers") {
            problems.push(format!("{at}.properties: `bootstrap.servers` is required"));
        }
        for (key, why) in RESERVED_PROPERTIES {
            if self.properties.contains_key(key) {
                problems.push(format!("{at}.properties.{key}: not allowed here: {why}"));
            }
        }
        for (key, value) in &self.properties {
            match value.resolve() {
                Err(e) => problems.push(format!("{at}.properties.{key}: {e}")),
                Ok(Secret(v)) => {
                    // Let librdkafka itself judge each property, so names and values are checked
                    // exactly as the consumer will see them.
                    let mut cc = rdkafka::ClientConfig::new();
                    cc.set(key, &v);
                    cc.set_log_level(rdkafka::config::RDKafkaLogLevel::Emerg);
                    if let Err(e) = cc.create_native_config() {
                        // rdkafka appends " <key> <value>" to librdkafka's message, which may
                        // also quote the value: drop the suffix (we name both) and redact quotes.
                        let mut error = e.to_string();
                        if let Some(stripped) = error.strip_suffix(&format!(" {key} {v}")) {
                            error = stripped.to_string();
                        }
                        let shown = if is_sensitive(key) {
                            error = error.replace(&format!("\"{v}\""), "\"[redacted]\"");
                            "[redacted]"
                        } else {
                            v.as_str()
                        };
                        problems.push(format!(
                            "{at}.properties.{key}: librdkafka rejects `{shown}`: {error}"
                        ));
                    }
                }
            }
        }
    }

    /// The librdkafka configuration for this source's consumer, secrets resolved.
    pub fn client_config(&self) -> Result<rdkafka::ClientConfig, String> {
        let mut cc = rdkafka::ClientConfig::new();
        cc.set("group.id", &self.group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "5000")
            .set("auto.offset.reset", "earliest")
            .set("queued.max.messages.kbytes", "16384")
            .set("statistics.interval.ms", "5000")
            .set(
                "client.id",
                format!("kafka-security-exporter-{}", self.name),
            );
        for (key, value) in &self.properties {
            let Secret(v) = value
                .resolve()
                .map_err(|e| format!("properties.{key}: {e}"))?;
            cc.set(key, v);
        }
        cc.set("enable.auto.offset.store", "false");
        Ok(cc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minimal_config_parses() {
        let c = Config::parse(
            "sources:\n  - kafka:\n      topics: [{name: security-events}]\n      properties: {bootstrap.servers: 'localhost:9092'}\n",
        )
        .unwrap();
        let SourceConfig::Kafka(k) = &c.sources[0] else {
            panic!("not a kafka source")
        };
        assert_eq!(k.name, "kafka");
        assert_eq!(k.group_id, "kafka-security-exporter");
        assert_eq!(k.topics[0].format, Input::Auto);
    }

    #[test]
    fn an_empty_file_is_the_default_config() {
        let c = Config::parse("").unwrap();
        assert!(c.sources.is_empty());
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let text = r#"
web:
  telemetry_path: metrics
  listen_adress: ":1"
sources:
  - kafka:
      name: a
      topics: [{name: ok}]
      properties: {bootstrap.servers: "x:1"}
  - kafka:
      name: a
      topics: []
  - kafka:
      name: c
      topics: [{name: ok, format: jsn}]
      properties: {bootstrap.servers: "x:1"}
metrics:
  max_series_per_metric: 0
parsers:
  max_record_bytes: 0
bogus: 1
"#;
        let errs = Config::parse(text).unwrap_err().0;
        let joined = errs.join("\n");
        for needle in [
            "web.listen_adress: unknown field `listen_adress`",
            "sources[2].kafka.topics[0].format: unknown variant `jsn`",
            "unknown top-level key `bogus`",
            "metrics.max_series_per_metric",
            "parsers.max_record_bytes",
            "name `a` is used by an earlier source",
            "sources[1].kafka.topics: list at least one topic",
            "sources[1].kafka.properties: `bootstrap.servers` is required",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
        }
    }

    #[test]
    fn kafka_problems_name_each_bad_field() {
        let text = r#"
sources:
  - kafka:
      topics:
        - name: "bad topic"
        - pattern: "no-caret"
        - {name: x, pattern: "^y"}
      properties:
        bootstrap.servers: localhost:9092
        enable.auto.offset.store: true
        no.such.property: 1
        session.timeout.ms: banana
        sasl.password: { env: KSE_TEST_SURELY_UNSET_VARIABLE }
        ssl.key.password: 12345
        sasl.oauthbearer.client.secret: hunter2-secret
        sasl.jaas.config: "org.apache.kafka.common.security.scram.ScramLoginModule required username=a password=hunter2-secret;"
"#;
        let joined = Config::parse(text).unwrap_err().0.join("\n");
        for needle in [
            "topics[0].name: `bad topic` is not a valid Kafka topic name",
            "topics[1].pattern: `no-caret` must start with `^`",
            "topics[2]: set either `name` or `pattern`, not both",
            "properties.enable.auto.offset.store: not allowed here",
            "properties.no.such.property: librdkafka rejects",
            "properties.session.timeout.ms: librdkafka rejects `banana`",
            "properties.sasl.password: environment variable KSE_TEST_SURELY_UNSET_VARIABLE is not set",
        ] {
            assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
        }
        assert!(!joined.contains("hunter2"), "a secret leaked:\n{joined}");
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pw");
        std::fs::write(&file, "s3cret\n").unwrap();
        let v = PropertyValue::File { file };
        let s = v.resolve().unwrap();
        assert_eq!(s.0, "s3cret");
        assert_eq!(format!("{s:?}"), "\"[redacted]\"");
        assert!(is_sensitive("sasl.password"));
        assert!(is_sensitive("sasl.jaas.config"));
        assert!(!is_sensitive("ssl.key.location"));
        assert!(!is_sensitive("bootstrap.servers"));
    }
}
