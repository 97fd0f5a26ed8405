//! The `output:` section: where normalized events go besides the metrics.
//!
//! ```yaml
//! output:
//!   kafka:
//!     topic: kafka-security-events      # required
//!     schema: ocsf                      # ocsf (OCSF 1.3.0, default) | ecs (ECS 8.11)
//!     detections: true                  # detections too (OCSF Detection Finding 2004)
//!     queue_max_events: 50000           # the bounded producer queue; beyond it, drops are counted
//!     raw_data_max_bytes: 4096          # the original record or line, cut here; 0 leaves it out
//!     properties:                       # librdkafka producer settings, as in a source
//!       bootstrap.servers: broker-1:9092
//!       security.protocol: SASL_SSL
//!       sasl.mechanism: SCRAM-SHA-512
//!       sasl.username: exporter
//!       sasl.password: { file: /run/secrets/kafka-password }
//! ```

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::secret::PropertyValue;

/// The `output:` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Every normalized event (and detection) produced to a Kafka topic as JSON. Default: off.
    pub kafka: Option<KafkaOutputConfig>,
}

/// The JSON schema of the output topic's records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schema {
    /// OCSF 1.3.0: Authentication (3002), API Activity (6003), Account Change (3001), User Access
    /// Management (3005), Network Activity (4001), Base Event (0), Detection Finding (2004).
    #[default]
    Ocsf,
    /// Elastic Common Schema 8.11 documents.
    Ecs,
}

impl Schema {
    pub fn as_str(self) -> &'static str {
        match self {
            Schema::Ocsf => "ocsf",
            Schema::Ecs => "ecs",
        }
    }
}

/// `output.kafka`: the normalized event topic.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaOutputConfig {
    /// The topic to produce to. Required. It must exist unless the brokers create topics
    /// automatically; the exporter's principal needs WRITE and IDEMPOTENT_WRITE on it.
    pub topic: String,
    /// `ocsf` (default) or `ecs`.
    #[serde(default)]
    pub schema: Schema,
    /// Whether detections are produced too (as OCSF Detection Findings or ECS alerts). Default
    /// true.
    #[serde(default = "default_detections")]
    pub detections: bool,
    /// Events the producer holds while the topic is slow or unreachable (librdkafka's
    /// `queue.buffering.max.messages`). Default 50000. Beyond it (or beyond
    /// `queue.buffering.max.kbytes`, default here 65536 KiB) events are dropped and counted in
    /// `kafka_security_output_dropped_total{reason="queue_full"}`: the sources never wait for
    /// the output. A larger queue rides out a longer outage at the cost of memory (an event is
    /// about 1 to 2 KiB of JSON).
    #[serde(default = "default_queue_max_events")]
    pub queue_max_events: u64,
    /// The original record or log message in each event (OCSF `raw_data`, ECS `event.original`)
    /// is cut to this many bytes. Default 4096; 0 leaves it out.
    #[serde(default = "default_raw_data_max_bytes")]
    pub raw_data_max_bytes: usize,
    /// librdkafka producer properties, passed through unchanged, with values as in a Kafka
    /// source (`{ file: PATH }`, `{ env: NAME }` for secrets). `bootstrap.servers` is required.
    /// The exporter sets `enable.idempotence=true` and `acks=all` itself (every event once, in
    /// order per principal) and defaults `linger.ms=50`, `compression.type=lz4`,
    /// `queue.buffering.max.kbytes=65536`.
    #[serde(default)]
    pub properties: BTreeMap<String, PropertyValue>,
}

fn default_detections() -> bool {
    true
}
fn default_queue_max_events() -> u64 {
    50_000
}
fn default_raw_data_max_bytes() -> usize {
    4096
}

/// Most events `queue_max_events` may hold.
pub const MAX_QUEUE_EVENTS: u64 = 10_000_000;
/// Most bytes `raw_data_max_bytes` may keep.
pub const MAX_RAW_DATA_BYTES: usize = 1024 * 1024;

/// Properties the exporter owns, and why.
const RESERVED_PROPERTIES: [(&str, &str); 5] = [
    (
        "enable.idempotence",
        "the output producer is always idempotent (every event once, in order per principal)",
    ),
    (
        "acks",
        "the output producer always waits for all in-sync replicas",
    ),
    (
        "queue.buffering.max.messages",
        "set `queue_max_events` instead",
    ),
    (
        "transactional.id",
        "the output producer is idempotent, not transactional",
    ),
    ("group.id", "the output only produces"),
];

impl KafkaOutputConfig {
    /// Every problem with this output but librdkafka's verdict on each property (which the
    /// config checks with the sources' properties), prefixed with `at`.
    pub fn problems(&self, at: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let t = &self.topic;
        if t.is_empty()
            || t.len() > 249
            || t == "."
            || t == ".."
            || !t
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
        {
            problems.push(format!(
                "{at}.topic: `{t}` is not a valid Kafka topic name (1-249 of [a-zA-Z0-9._-])"
            ));
        }
        if !(1..=MAX_QUEUE_EVENTS).contains(&self.queue_max_events) {
            problems.push(format!(
                "{at}.queue_max_events: {} is not between 1 and {MAX_QUEUE_EVENTS}",
                self.queue_max_events
            ));
        }
        if self.raw_data_max_bytes > MAX_RAW_DATA_BYTES {
            problems.push(format!(
                "{at}.raw_data_max_bytes: {} is more than {MAX_RAW_DATA_BYTES}",
                self.raw_data_max_bytes
            ));
        }
        if !self.properties.contains_key("bootstrap.servers") {
            problems.push(format!("{at}.properties: `bootstrap.servers` is required"));
        }
        for (key, why) in RESERVED_PROPERTIES {
            if self.properties.contains_key(key) {
                problems.push(format!("{at}.properties.{key}: not allowed here: {why}"));
            }
        }
        problems
    }

    /// The librdkafka configuration of the output producer, secrets resolved.
    pub fn client_config(&self) -> Result<rdkafka::ClientConfig, String> {
        let mut cc = rdkafka::ClientConfig::new();
        cc.set("client.id", "kafka-security-exporter-output")
            .set("linger.ms", "50")
            .set("compression.type", "lz4")
            .set("queue.buffering.max.kbytes", "65536");
        for (key, value) in &self.properties {
            let v = value
                .resolve()
                .map_err(|e| format!("properties.{key}: {e}"))?;
            cc.set(key, v.expose());
        }
        cc.set("enable.idempotence", "true").set("acks", "all").set(
            "queue.buffering.max.messages",
            self.queue_max_events.to_string(),
        );
        Ok(cc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> KafkaOutputConfig {
        serde_yaml_ng::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults_and_forced_producer_settings() {
        let c = read("topic: events\nproperties: {bootstrap.servers: 'b:9092', linger.ms: 5}\n");
        assert_eq!(c.schema, Schema::Ocsf);
        assert!(c.detections);
        assert_eq!(c.queue_max_events, 50_000);
        assert_eq!(c.raw_data_max_bytes, 4096);
        assert!(c.problems("output.kafka").is_empty());
        let cc = c.client_config().unwrap();
        assert_eq!(cc.get("enable.idempotence"), Some("true"));
        assert_eq!(cc.get("acks"), Some("all"));
        assert_eq!(cc.get("queue.buffering.max.messages"), Some("50000"));
        assert_eq!(cc.get("linger.ms"), Some("5"), "a user's setting wins");
        assert_eq!(cc.get("compression.type"), Some("lz4"));
    }

    #[test]
    fn every_problem_is_named() {
        let c = read(
            "topic: 'bad topic'\nschema: ecs\nqueue_max_events: 0\nraw_data_max_bytes: 2000000\nproperties: {acks: 1, enable.idempotence: false}\n",
        );
        assert_eq!(
            c.problems("output.kafka"),
            [
                "output.kafka.topic: `bad topic` is not a valid Kafka topic name (1-249 of [a-zA-Z0-9._-])",
                "output.kafka.queue_max_events: 0 is not between 1 and 10000000",
                "output.kafka.raw_data_max_bytes: 2000000 is more than 1048576",
                "output.kafka.properties: `bootstrap.servers` is required",
                "output.kafka.properties.enable.idempotence: not allowed here: the output producer is always idempotent (every event once, in order per principal)",
                "output.kafka.properties.acks: not allowed here: the output producer always waits for all in-sync replicas",
            ]
        );
    }
}
