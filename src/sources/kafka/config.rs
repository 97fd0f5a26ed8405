//! A Kafka source's configuration: the `- kafka:` item of `sources`, its topics and the
//! librdkafka properties passed through, with their validation.

use std::collections::BTreeMap;

use serde_yaml_ng::Value;

// Secrets live with the config file today; they move to their own module.
use crate::parse::Input;
use crate::secret::{is_sensitive, PropertyValue};
use crate::sources::fields::{Fields, Problems};

/// A Kafka consumer-group source.
#[derive(Debug, Clone)]
pub struct KafkaSourceConfig {
    /// The `source` label of this source's metrics. Default `kafka`. Must be unique.
    pub name: String,
    /// Consumer group; replicas with the same group share the topics' partitions.
    /// Default `kafka-security-exporter`.
    pub group_id: String,
    /// Topics to consume, by name or by regex pattern, each with its format.
    pub topics: Vec<TopicConfig>,
    /// librdkafka properties, passed through unchanged (see librdkafka's CONFIGURATION.md).
    /// A value may be a string, a number, a boolean, `{ file: PATH }` (the file's content,
    /// trailing newline removed) or `{ env: NAME }`. `bootstrap.servers` is required.
    /// The exporter sets `enable.auto.offset.store=false` itself (offsets are stored only after an
    /// event is applied) and defaults `queued.max.messages.kbytes=16384`,
    /// `fetch.queue.backoff.ms=10`, `fetch.min.bytes=262144`, `fetch.wait.max.ms=100`,
    /// `statistics.interval.ms=5000`, `auto.offset.reset=earliest`.
    pub properties: BTreeMap<String, PropertyValue>,
}

fn default_source_name() -> String {
    "kafka".into()
}
fn default_group_id() -> String {
    "kafka-security-exporter".into()
}

/// A topic subscription.
#[derive(Debug, Clone, Default)]
pub struct TopicConfig {
    /// Exact topic name. Exactly one of `name` and `pattern`.
    pub name: Option<String>,
    /// Regex over topic names (librdkafka syntax; must start with `^`).
    pub pattern: Option<String>,
    /// Format of the records. Default `auto` (detected per record).
    pub format: Input,
    /// For the broker-log formats: the broker JVM's UTC offset, for timestamps without a zone
    /// (`+01:00`). Default `+00:00`.
    pub utc_offset: Option<String>,
    /// For the broker-log formats: the broker's log4j pattern, when it is not one recognized by
    /// itself (as for a file source's `layout`).
    pub layout: Option<String>,
}

impl KafkaSourceConfig {
    /// Reads a `kafka:` item key by key (see [`crate::sources::fields`]); `None` when it is not
    /// a mapping. Problems go to `problems`; unreadable values are replaced by their defaults.
    pub fn read(at: &str, value: Value, problems: &mut Problems) -> Option<KafkaSourceConfig> {
        let mut f = Fields::new(at, value, problems)?;
        let config = KafkaSourceConfig {
            name: f.optional("name").unwrap_or_else(default_source_name),
            group_id: f.optional("group_id").unwrap_or_else(default_group_id),
            topics: f
                .list("topics", true, TopicConfig::read)
                .unwrap_or_default(),
            properties: f
                .map("properties", |at, value, problems| {
                    // A placeholder keeps the key, so `bootstrap.servers` is not also missing.
                    problems
                        .read(at, value)
                        .unwrap_or_else(|| PropertyValue::Text(String::new()))
                })
                .unwrap_or_default(),
        };
        f.finish();
        Some(config)
    }
}

impl TopicConfig {
    /// Reads one `topics` item key by key; an unreadable item reads as an empty topic.
    fn read(at: &str, value: Value, problems: &mut Problems) -> TopicConfig {
        let Some(mut f) = Fields::new(at, value, problems) else {
            return TopicConfig::default();
        };
        let name = f.nullable("name");
        let pattern = f.nullable("pattern");
        let format_given = f.has("format");
        let format = f.optional("format");
        let utc_offset: Option<String> = f.nullable("utc_offset");
        let layout: Option<String> = f.nullable("layout");
        f.finish();
        // With an unreadable format, `utc_offset` and `layout` are still checked, as for the
        // broker-log format that routes by logger.
        let format = format.unwrap_or(
            if format_given && (utc_offset.is_some() || layout.is_some()) {
                Input::BrokerLog
            } else {
                Input::Auto
            },
        );
        TopicConfig {
            name,
            pattern,
            format,
            utc_offset,
            layout,
        }
    }

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

impl KafkaSourceConfig {
    /// Every problem with this source, prefixed with `at`.
    pub fn problems(&self, at: &str, problems: &mut Vec<String>) {
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
        property_problems(at, &self.properties, problems);
    }

    /// The librdkafka configuration for this source's consumer, secrets resolved.
    pub fn client_config(&self) -> Result<rdkafka::ClientConfig, String> {
        let mut cc = rdkafka::ClientConfig::new();
        cc.set("group.id", &self.group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "5000")
            .set("auto.offset.reset", "earliest")
            .set("queued.max.messages.kbytes", "16384")
            // librdkafka's default (1000 ms) postpones a partition's next fetch by a second
            // whenever the prefetch queue is over `queued.max.messages.kbytes`, which a backlog
            // fills in tens of milliseconds: the consumer then spends most of its time waiting.
            // The queue stays bounded either way; only the re-check comes sooner.
            .set("fetch.queue.backoff.ms", "10")
            // A steady stream is fetched in fewer, fuller responses: at 50k events/s this cut the
            // exporter's CPU from 0.24 to 0.15 cores. A backlog fills 256 KiB at once; a quiet
            // topic's records wait at most 100 ms (librdkafka's defaults: 1 byte, 500 ms).
            .set("fetch.min.bytes", "262144")
            .set("fetch.wait.max.ms", "100")
            .set("statistics.interval.ms", "5000")
            .set(
                "client.id",
                format!("kafka-security-exporter-{}", self.name),
            );
        for (key, value) in &self.properties {
            let v = value
                .resolve()
                .map_err(|e| format!("properties.{key}: {e}"))?;
            cc.set(key, v.expose());
        }
        cc.set("enable.auto.offset.store", "false");
        Ok(cc)
    }
}

/// librdkafka's verdict on every property of `properties` (of a source or the output), each
/// problem prefixed with `at`: a secret that cannot be resolved, a name or value librdkafka
/// rejects (secret values redacted).
pub fn property_problems(
    at: &str,
    properties: &BTreeMap<String, PropertyValue>,
    problems: &mut Vec<String>,
) {
    for (key, value) in properties {
        match value.resolve() {
            Err(e) => problems.push(format!("{at}.properties.{key}: {e}")),
            Ok(secret) => {
                let v = secret.expose();
                // Let librdkafka itself judge each property, so names and values are checked
                // exactly as the consumer will see them.
                let mut cc = rdkafka::ClientConfig::new();
                cc.set(key, v);
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
                        v
                    };
                    problems.push(format!(
                        "{at}.properties.{key}: librdkafka rejects `{shown}`: {error}"
                    ));
                }
            }
        }
    }
}
