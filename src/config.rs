//! The config file (YAML), validated once with every problem reported together.
//!
//! Each `sources` item is read key by key ([`crate::sources::fields`]): a key serde cannot read
//! (an unknown format name, a mistyped field) is reported with its path and replaced by its
//! default, and the source's semantic checks (secrets resolved, librdkafka's verdict on every
//! property, empty path lists, ...) still run on everything else, so one run lists every problem.
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
//! detectors:                             # see crate::detect::config; every detector on by default
//!   brute_force: { threshold: 20, window: 5m }
//! state_dir: /var/lib/kafka-security-exporter   # detectors.json; state.snapshot; locked by one process (crate::state::lock)
//! state: { snapshot_interval_secs: 5 }   # counters and positions snapshotted into state_dir
//! privacy:                               # see crate::privacy; off by default
//!   pseudonymize: { principals: true, addresses: true }
//!   key_file: /run/secrets/pseudonym-key
//!   key_id: p1
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_yaml_ng::Value;

use crate::detect::DetectorsConfig;
use crate::metrics::MetricsConfig;
use crate::otel::OtlpConfig;
pub use crate::output::{KafkaOutputConfig, OutputConfig};
use crate::parse::{Parsers, ParsersConfig};
use crate::privacy::PrivacyConfig;
use crate::sources::fields::{Fields, Problems};
use crate::sources::file::FileSource;
pub use crate::sources::file::FileSourceConfig;
use crate::sources::kafka::KafkaSource;
pub use crate::sources::kafka::{KafkaSourceConfig, TopicConfig};
use crate::sources::{Source, SourceDeps, SourceError};
pub use crate::state::StateConfig;

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
    /// The normalized event topic (`output:`); off by default. See [`crate::output`].
    pub output: OutputConfig,
    /// The stateful detectors (`detectors:`); every one on by default.
    pub detectors: DetectorsConfig,
    /// Where the detectors keep what must survive a restart (`detectors.json`: first-seen
    /// principals and client hosts, anomaly baselines). Created if missing. Without it a restart
    /// forgets them: after the learning period every principal would be announced again as new.
    pub state_dir: Option<PathBuf>,
    /// The snapshot of every counter and source position kept in `state_dir` (`state:`); on
    /// whenever `state_dir` is set. See [`crate::state`].
    pub state: StateConfig,
    /// Pseudonymization of principals and client addresses (`privacy:`); off by default.
    pub privacy: PrivacyConfig,
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
    /// The web configuration file in the Prometheus exporter-toolkit format: TLS (mutual TLS
    /// too), basic authentication with bcrypt hashes, response headers, a rate limit. Reloaded
    /// when it (or a certificate, key or CA file it names) changes. Default: none, plain HTTP
    /// with no authentication. `--web.config.file` overrides it.
    pub config_file: Option<PathBuf>,
    /// Whether `/healthz` and `/readyz` answer without basic authentication and outside the rate
    /// limit, so kubelet probes work. Default true: they tell only "alive" and which sources are
    /// not ready. TLS, when on, covers them either way.
    pub open_probes: Option<bool>,
}

/// The `shutdown:` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShutdownConfig {
    /// Seconds the whole shutdown (drain, commit, save detector state, flush OTLP, stop HTTP) may
    /// take; a step still running then is cut short. Default 10. Kubernetes' default termination
    /// grace period is 30 s.
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

impl SourceConfig {
    /// Reads `sources[i]` (`- kafka: {...}` or `- file: {...}`) key by key, every problem to
    /// `problems`. `None` when there is no source to check further.
    fn read(i: usize, item: Value, problems: &mut Problems) -> Option<SourceConfig> {
        let at = format!("sources[{i}]");
        let mut entry = Fields::new(&at, item, problems)?;
        let kafka = entry.raw("kafka");
        let file = entry.raw("file");
        entry.finish();
        match (kafka, file) {
            (Some(k), None) => KafkaSourceConfig::read(&format!("{at}.kafka"), k, problems)
                .map(SourceConfig::Kafka),
            (None, Some(f)) => {
                FileSourceConfig::read(&format!("{at}.file"), f, problems).map(SourceConfig::File)
            }
            (Some(_), Some(_)) => {
                problems.push(format!(
                    "{at}: one kind of source per item; split `kafka` and `file` into two items"
                ));
                None
            }
            (None, None) => {
                problems.push(format!(
                    "{at}: name the kind of source, e.g. `- kafka: {{...}}` or `- file: {{...}}`"
                ));
                None
            }
        }
    }

    /// `kafka` or `file`: the item's key.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Kafka(_) => "kafka",
            SourceConfig::File(_) => "file",
        }
    }

    /// Every problem with this source, prefixed with `at`.
    fn problems(&self, at: &str, problems: &mut Vec<String>) {
        match self {
            SourceConfig::Kafka(k) => k.problems(at, problems),
            SourceConfig::File(f) => f.problems(at, problems),
        }
    }

    pub fn name(&self) -> &str {
        match self {
            SourceConfig::Kafka(k) => &k.name,
            SourceConfig::File(f) => &f.name,
        }
    }

    /// The consumer group this source joins, if it is a consumer.
    pub fn group_id(&self) -> Option<&str> {
        match self {
            SourceConfig::Kafka(k) => Some(&k.group_id),
            SourceConfig::File(_) => None,
        }
    }

    /// Starts the source this item configures: the one place that dispatches on its kind.
    pub fn start(&self, deps: &SourceDeps) -> Result<Box<dyn Source>, SourceError> {
        Ok(match self {
            SourceConfig::Kafka(k) => Box::new(KafkaSource::start(
                k.clone(),
                deps.pipeline.clone(),
                deps.health.clone(),
                deps.state.clone(),
            )?),
            SourceConfig::File(f) => Box::new(FileSource::start(
                f.clone(),
                deps.pipeline.clone(),
                deps.health.clone(),
                deps.state.clone(),
            )?),
        })
    }
}

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
        let mut problems = Problems::default();
        let mut config = Config::default();
        let mut positions = Vec::new();
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
                "output" => section(&key, value, &mut problems, &mut config.output),
                "detectors" => detectors_section(value, &mut problems, &mut config.detectors),
                "state_dir" => section(&key, value, &mut problems, &mut config.state_dir),
                "state" => section(&key, value, &mut problems, &mut config.state),
                "privacy" => section(&key, value, &mut problems, &mut config.privacy),
                "sources" => match value {
                    Value::Sequence(items) => {
                        for (i, item) in items.into_iter().enumerate() {
                            if let Some(source) = SourceConfig::read(i, item, &mut problems) {
                                config.sources.push(source);
                                positions.push(i);
                            }
                        }
                    }
                    Value::Null => {}
                    _ => problems.push("sources: must be a list".into()),
                },
                other => problems.push(format!(
                    "unknown top-level key `{other}`; expected one of web, sources, parsers, metrics, shutdown, otlp, output, detectors, state_dir, state, privacy"
                )),
            }
        }
        let semantic = config.problems(&positions, &problems);
        problems.semantic(semantic);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigErrors(problems.into_messages()))
        }
    }

    /// Semantic checks on what could be read (`read` says what could not).
    /// `positions` are the sources' indices in the file's `sources` list.
    fn problems(&self, positions: &[usize], read: &Problems) -> Vec<String> {
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
        if let Some(file) = &self.web.config_file {
            if let Err(p) = crate::export::web_config::load(file) {
                problems.extend(
                    p.into_iter()
                        .map(|p| format!("web.config_file `{}`: {p}", file.display())),
                );
            }
        }
        if let Err(p) = Parsers::new(&self.parsers) {
            problems.extend(p);
        }
        problems.extend(self.metrics.problems());
        problems.extend(self.detectors.problems("detectors"));
        if let Some(dir) = &self.state_dir {
            if dir.as_os_str().is_empty() {
                problems.push("state_dir: must not be empty".into());
            } else if dir.exists() && !dir.is_dir() {
                problems.push(format!("state_dir: `{}` is not a directory", dir.display()));
            }
        }
        problems.extend(self.state.problems());
        // The key file is read: a missing or short one is reported here, not at start.
        problems.extend(self.privacy.problems());
        // The OTEL_* environment is checked with the file, so `check-config` reports both.
        if let Err(p) =
            crate::otel::settings::resolve(&self.otlp, &crate::otel::settings::ProcessEnv)
        {
            problems.extend(p);
        }
        if let Some(kafka) = &self.output.kafka {
            problems.extend(kafka.problems("output.kafka"));
            crate::sources::kafka::property_problems(
                "output.kafka",
                &kafka.properties,
                &mut problems,
            );
        }
        let mut names = std::collections::HashSet::new();
        for (source, i) in self.sources.iter().zip(positions) {
            let at = format!("sources[{i}].{}", source.kind());
            // An unreadable name stands in as the default one, which proves nothing.
            if !read.is_unread(&format!("{at}.name")) && !names.insert(source.name()) {
                problems.push(format!(
                    "sources[{i}]: name `{}` is used by an earlier source; names must be unique",
                    source.name()
                ));
            }
            source.problems(&at, &mut problems);
        }
        problems
    }
}

/// Reads a whole section; when it cannot be read, it keeps its defaults.
fn section<T: DeserializeOwned>(key: &str, value: Value, problems: &mut Problems, out: &mut T) {
    if value.is_null() {
        return;
    }
    if let Some(v) = problems.read(key, value) {
        *out = v;
    }
}

/// `detectors:`, one detector at a time, so that every unreadable detector is reported and the
/// readable ones are still checked (a serde error stops at its first problem).
fn detectors_section(value: Value, problems: &mut Problems, out: &mut DetectorsConfig) {
    let Value::Mapping(map) = value else {
        return section("detectors", value, problems, out);
    };
    let mut readable = serde_yaml_ng::Mapping::new();
    for (key, value) in map {
        let mut one = serde_yaml_ng::Mapping::new();
        one.insert(key.clone(), value.clone());
        match serde_path_to_error::deserialize::<_, DetectorsConfig>(Value::Mapping(one)) {
            Ok(_) => {
                readable.insert(key, value);
            }
            Err(e) => {
                let at = match key.as_str() {
                    Some(k) => format!("detectors.{k}"),
                    None => "detectors".into(),
                };
                let inside = e.path().to_string();
                let path = if inside == "." || inside.is_empty() {
                    "detectors".to_string()
                } else {
                    format!("detectors.{inside}")
                };
                problems.unreadable(&path, at, e.inner());
            }
        }
    }
    section("detectors", Value::Mapping(readable), problems, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::Input;

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

    /// The problems `text` has, each on its own line, after checking that every one of `needles`
    /// is among them; and how many there are.
    fn problems_reported(text: &str, needles: &[&str]) -> (String, usize) {
        let errs = Config::parse(text).unwrap_err().0;
        let joined = errs.join("\n");
        for needle in needles {
            assert!(joined.contains(needle), "missing {needle:?} in:\n{joined}");
        }
        (joined, errs.len())
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
        problems_reported(
            text,
            &[
                "web.listen_adress: unknown field `listen_adress`",
                "sources[2].kafka.topics[0].format: unknown variant `jsn`",
                "unknown top-level key `bogus`",
                "metrics.max_series_per_metric",
                "parsers.max_record_bytes",
                "name `a` is used by an earlier source",
                "sources[1].kafka.topics: list at least one topic",
                "sources[1].kafka.properties: `bootstrap.servers` is required",
            ],
        );
    }

    #[test]
    fn detectors_and_state_dir_are_read_and_checked_with_the_rest() {
        let c = Config::parse(
            "detectors:\n  brute_force: {threshold: 5, window: 1m}\n  anomaly: {enabled: false}\nstate_dir: /var/lib/kse\n",
        )
        .unwrap();
        assert_eq!(c.detectors.brute_force.threshold, 5);
        assert!(!c.detectors.anomaly.enabled);
        assert_eq!(c.state_dir.as_deref(), Some(Path::new("/var/lib/kse")));
        assert_eq!(
            Config::parse("").unwrap().detectors,
            DetectorsConfig::default()
        );

        let file = tempfile::NamedTempFile::new().unwrap();
        let text = format!(
            "detectors:\n  brute_force: {{threshold: 0, window: 1m, bucket: 2m}}\n  password_spraying: {{window: fast}}\n  privilege_probing: {{nope: 1}}\nstate_dir: {}\nmetrics: {{max_series_per_metric: 0}}\n",
            file.path().display()
        );
        // Every unreadable detector is reported, and the readable ones are still checked.
        let (joined, count) = problems_reported(
            &text,
            &[
                "detectors.password_spraying.window: `fast` is not a duration",
                "detectors.privilege_probing.nope: unknown field `nope`",
                "detectors.brute_force.window: 1m is shorter than its bucket (2m)",
                "detectors.brute_force.threshold: must be at least 1",
                "state_dir: `",
                "metrics.max_series_per_metric",
            ],
        );
        assert_eq!(count, 6, "{joined}");
        // Once the section reads, its semantic problems are listed with their paths.
        let (joined, count) = problems_reported(
            "detectors:\n  brute_force: {threshold: 0, window: 1m, bucket: 2m}\n  new_principal: {horizon: 0s}\n",
            &[
                "detectors.brute_force.window: 1m is shorter than its bucket (2m)",
                "detectors.brute_force.threshold: must be at least 1",
                "detectors.new_principal.horizon: must be longer than 0",
            ],
        );
        assert_eq!(count, 3, "{joined}");
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
        let (joined, _) = problems_reported(
            text,
            &[
                "topics[0].name: `bad topic` is not a valid Kafka topic name",
                "topics[1].pattern: `no-caret` must start with `^`",
                "topics[2]: set either `name` or `pattern`, not both",
                "properties.enable.auto.offset.store: not allowed here",
                "properties.no.such.property: librdkafka rejects",
                "properties.session.timeout.ms: librdkafka rejects `banana`",
                "properties.sasl.password: environment variable KSE_TEST_SURELY_UNSET_VARIABLE is not set",
            ],
        );
        assert!(!joined.contains("hunter2"), "a secret leaked:\n{joined}");
    }

    /// One structural problem (a name serde cannot read) no longer hides the source's other
    /// problems: each key is read on its own, and librdkafka judges every property.
    #[test]
    fn a_source_reports_problems_of_every_kind_in_one_pass() {
        let text = r#"
sources:
  - kafka:
      name: audit
      topics: [{name: audit-log, format: jsno}]
      properties:
        bootstrap.servers: localhost:9092
        sasl.mechanism: "PLAIN,SCRAM-SHA-256"
        sasl.password: { env: KSE_TEST_SURELY_UNSET_VARIABLE }
  - file:
      kind: nope
      paths: []
"#;
        let (joined, count) = problems_reported(
            text,
            &[
                "sources[0].kafka.topics[0].format: unknown variant `jsno`",
                "sources[0].kafka.properties.sasl.mechanism: librdkafka rejects `PLAIN,SCRAM-SHA-256`",
                "sources[0].kafka.properties.sasl.password: environment variable KSE_TEST_SURELY_UNSET_VARIABLE is not set",
                "sources[1].file.kind: unknown variant `nope`",
                "sources[1].file.paths: give at least one glob",
            ],
        );
        assert_eq!(count, 5, "{joined}");
    }

    #[test]
    fn an_unreadable_value_is_reported_once_and_the_rest_still_checked() {
        let text = r#"
sources:
  - kafka:
      name: [not, a, name]
      topics: 5
      properties: {bootstrap.servers: [x], no.such.property: 1}
      bogus: 1
  - kafka:
      topics: [{name: a, format: nope, utc_offset: "+99:00"}, 7]
      properties: {bootstrap.servers: "x:1"}
  - file: {paths: ["/l/*.log"], poll_interval_ms: fast, max_entry_bytes: 1}
  - kafka: 3
  - {}
"#;
        let (joined, count) = problems_reported(
            text,
            &[
                "sources[0].kafka.name: invalid type: sequence, expected a string",
                "sources[0].kafka.topics: invalid type: integer `5`, expected a sequence",
                "sources[0].kafka.properties.bootstrap.servers: data did not match any variant",
                "sources[0].kafka.properties.no.such.property: librdkafka rejects",
                "sources[0].kafka.bogus: unknown field `bogus`, expected one of `name`, `group_id`, `topics`, `properties`",
                "sources[1].kafka.topics[0].format: unknown variant `nope`",
                "sources[1].kafka.topics[0].utc_offset",
                "sources[1].kafka.topics[1]: invalid type: integer `7`",
                "sources[2].file.poll_interval_ms: invalid type: string \"fast\"",
                "sources[2].file.max_entry_bytes: must be at least 1024",
                "sources[3].kafka: invalid type: integer `3`",
                "sources[4]: name the kind of source",
            ],
        );
        // Nothing repeats a value that could not be read, and no name collides with a default
        // standing in for an unreadable one.
        for absent in [
            "list at least one topic",
            "`bootstrap.servers` is required",
            "topics[1]: set `name` or `pattern`",
            "poll_interval_ms: must be at least",
            "is used by an earlier source",
        ] {
            assert!(!joined.contains(absent), "{absent:?} in:\n{joined}");
        }
        assert_eq!(count, 12, "{joined}");
    }
}
