//! The embedded demo: librdkafka's in-process mock cluster, a generator producing a realistic mixed
//! stream into it, and the real pipeline consuming it. No Kafka needed.
//!
//! The stream: Confluent audit CloudEvents (allowed and denied Produce/Fetch/CreateAcls, successful
//! and failed authentications), applications' JSON login events, plain-text events keyed by type,
//! and every 30 seconds a brute-force burst of failed logins from one host. It also writes a
//! realistic broker log directory (`server.log`, `kafka-authorizer.log`, `controller.log`,
//! `kafka-request.log` in Kafka's own layout, renamed every minute as log4j2 rolls them) into a
//! temporary directory and tails it with the file source, so the broker-log metrics show too.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use crate::app::{App, StartError, WebOptions};
use crate::config::{Config, FileSourceConfig, KafkaSourceConfig, SourceConfig, TopicConfig};
use crate::parse::Input;
use crate::secret::PropertyValue;
use crate::tail::StartAt;

mod broker_logs;
mod generator;

pub use broker_logs::BrokerLogWriter;
pub use generator::{DemoEvent, Generator};

/// Why the demo could not run. Its config is built in code, so none of these is the user's
/// configuration: they are runtime failures (exit 1), not usage errors.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("cannot start librdkafka's mock cluster: {0}")]
    MockCluster(#[source] KafkaError),
    #[error("cannot create the demo topic {topic} in the mock cluster: {error}")]
    Topic {
        topic: &'static str,
        #[source]
        error: KafkaError,
    },
    #[error("cannot create the demo producer: {0}")]
    Producer(#[source] KafkaError),
    #[error("cannot write the demo's broker logs in {}: {error}", dir.display())]
    BrokerLogs {
        dir: PathBuf,
        #[source]
        error: std::io::Error,
    },
    #[error(transparent)]
    Start(#[from] StartError),
}

/// Demo topics and the format each carries.
pub const TOPICS: [(&str, Input); 3] = [
    ("confluent-audit-log-events", Input::ConfluentAudit),
    ("app-security-events", Input::Json),
    ("security-events", Input::Text),
];

/// The demo's output topic: every normalized event and detection, in OCSF, as a centralized
/// logging system would receive them (`output.kafka`).
pub const OUTPUT_TOPIC: &str = "security-events-ocsf";

/// `demo` flags.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Events per second.
    pub rate: u32,
    /// Stop after this long; `None` runs until the signal.
    pub duration: Option<Duration>,
}

/// Runs the demo until `signal` resolves or `options.duration` passes.
pub async fn run(
    web: WebOptions,
    options: DemoOptions,
    signal: impl Future<Output = ()>,
) -> Result<(), DemoError> {
    let cluster = MockCluster::new(1).map_err(DemoError::MockCluster)?;
    for (topic, _) in TOPICS {
        cluster
            .create_topic(topic, 3, 1)
            .map_err(|error| DemoError::Topic { topic, error })?;
    }
    cluster
        .create_topic(OUTPUT_TOPIC, 3, 1)
        .map_err(|error| DemoError::Topic {
            topic: OUTPUT_TOPIC,
            error,
        })?;
    let bootstrap = cluster.bootstrap_servers();
    let logs = tempfile_dir()?;
    let mut broker_logs =
        BrokerLogWriter::new(logs.clone()).map_err(|error| DemoError::BrokerLogs {
            dir: logs.clone(),
            error,
        })?;
    let config = demo_config(&bootstrap, Some(&logs));
    tokio::pin!(signal);
    let app = tokio::select! {
        app = App::start(&config, &web) => app?,
        () = &mut signal => {
            tracing::info!("Stopped during startup, before any source read anything.");
            let _ = std::fs::remove_dir_all(&logs);
            return Ok(());
        }
    };
    let shown = match web.listen_address.ip() {
        ip if ip.is_unspecified() => format!("127.0.0.1:{}", app.local_addr().port()),
        _ => app.local_addr().to_string(),
    };
    // Never blocks nor panics on a closed or full stdout (`| head`): dropped and counted.
    crate::telemetry::Stream::Stdout.print(&format!(
        "Demo running: a mock Kafka cluster at {bootstrap} is fed {} events/s.\n\
         Broker logs: {} (written and rotated by the demo, tailed by the exporter).\n\
         Normalized events: topic {OUTPUT_TOPIC} on that cluster, in OCSF 1.3.0.\n\
         Metrics: http://{shown}{}   (also /readyz, /healthz). Press Ctrl-C to stop.",
        options.rate,
        logs.display(),
        web.telemetry_path
    ));

    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "5")
        .create()
        .map_err(DemoError::Producer)?;
    let generate = generate(&producer, options.rate, &mut broker_logs);
    let stop = async {
        match options.duration {
            Some(d) => tokio::select! {
                () = signal => {},
                () = tokio::time::sleep(d) => {},
            },
            None => signal.await,
        }
    };
    tokio::select! {
        () = generate => {},
        () = stop => {},
    }
    let _ = producer.flush(Duration::from_secs(2));
    app.shutdown().await;
    // The producer goes before the cluster, or it logs the cluster's disappearance as an error.
    drop(producer);
    drop(cluster);
    if let Err(error) = std::fs::remove_dir_all(&logs) {
        tracing::warn!(%error, dir = %logs.display(), "Cannot remove the demo's broker log directory.");
    }
    Ok(())
}

/// A fresh directory for the demo's broker logs under the system temp dir.
fn tempfile_dir() -> Result<PathBuf, DemoError> {
    let dir = std::env::temp_dir().join(format!(
        "kafka-security-exporter-demo-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state")).map_err(|error| DemoError::BrokerLogs {
        dir: dir.clone(),
        error,
    })?;
    Ok(dir)
}

/// The config the demo runs with: one source reading the demo topics from the mock cluster, one
/// tailing the demo's broker log directory (whose `state` directory also holds the exporter's
/// state snapshot), and the output topic on the same cluster.
pub fn demo_config(bootstrap: &str, broker_logs: Option<&Path>) -> Config {
    let mut properties = BTreeMap::new();
    properties.insert(
        "bootstrap.servers".to_string(),
        PropertyValue::Text(bootstrap.to_string()),
    );
    properties.insert(
        "statistics.interval.ms".to_string(),
        PropertyValue::Text("1000".into()),
    );
    let files = broker_logs.map(|dir| {
        SourceConfig::File(FileSourceConfig {
            name: "demo-broker-logs".into(),
            paths: vec![format!("{}/*.log*", dir.display())],
            exclude: Vec::new(),
            kind: Input::BrokerLog,
            start_at: StartAt::Beginning,
            state_dir: Some(dir.join("state")),
            utc_offset: "+00:00".into(),
            layout: None,
            poll_interval_ms: 250,
            max_entry_bytes: crate::parse::log4j::DEFAULT_MAX_ENTRY_BYTES,
            rotate_wait_secs: 2,
        })
    });
    Config {
        sources: [SourceConfig::Kafka(KafkaSourceConfig {
            name: "demo".into(),
            group_id: "kafka-security-exporter-demo".into(),
            topics: TOPICS
                .iter()
                .map(|(name, format)| TopicConfig {
                    name: Some(name.to_string()),
                    pattern: None,
                    format: *format,
                    utc_offset: None,
                    layout: None,
                })
                .collect(),
            properties,
        })]
        .into_iter()
        .chain(files)
        .collect(),
        shutdown: crate::config::ShutdownConfig {
            grace_period_secs: 3,
        },
        detectors: demo_detectors(),
        // The counters and positions snapshot (and the detectors' memory) beside the file
        // source's checkpoints, so the demo shows counting across restarts and its alert.
        state_dir: broker_logs.map(|dir| dir.join("state")),
        output: crate::output::OutputConfig {
            kafka: Some(crate::output::KafkaOutputConfig {
                topic: OUTPUT_TOPIC.into(),
                schema: crate::output::Schema::Ocsf,
                detections: true,
                queue_max_events: 50_000,
                raw_data_max_bytes: 4096,
                properties: BTreeMap::from([(
                    "bootstrap.servers".to_string(),
                    PropertyValue::Text(bootstrap.to_string()),
                )]),
            }),
        },
        ..Config::default()
    }
}

/// The demo's detectors. The demo compresses a busy day into minutes: its six hosts and six
/// users each fail a login every few seconds, which production thresholds rightly call a brute
/// force and a guessed password, so every benign host would fire. Here `brute_force` counts 30
/// failures in 10 s (the attack bursts: 90 in 3 s; a benign host: about 6 in 10 s) and
/// `success_after_failures` is off (every demo user "succeeds after failures" all the time);
/// the others keep their defaults.
fn demo_detectors() -> crate::detect::DetectorsConfig {
    use crate::detect::config::Span;
    let mut d = crate::detect::DetectorsConfig::default();
    d.brute_force.threshold = 30;
    d.brute_force.window = Span(Duration::from_secs(10));
    d.brute_force.bucket = Some(Span(Duration::from_secs(1)));
    d.success_after_failures.enabled = false;
    d
}

/// Produces the mixed stream forever at about `rate` events per second.
async fn generate(
    producer: &ThreadedProducer<DefaultProducerContext>,
    rate: u32,
    broker_logs: &mut BrokerLogWriter,
) {
    let mut generator = Generator::new(0x5eed);
    let mut log_generator = Generator::new(0xb10c);
    let tick = Duration::from_millis(100);
    let mut interval = tokio::time::interval(tick);
    let per_tick = f64::from(rate) / 10.0;
    let mut owed = 0.0;
    let mut ticks: u64 = 0;
    loop {
        interval.tick().await;
        ticks += 1;
        owed += per_tick;
        let mut batch = Vec::new();
        while owed >= 1.0 {
            owed -= 1.0;
            batch.push(generator.next_event());
        }
        // Every 30 s, starting 5 s in, a brute-force burst: 60 failed logins from one host in 3 s
        // (in the application events, and 30 more in the broker's server.log).
        let burst = (50..80).contains(&(ticks % 300));
        if burst {
            for _ in 0..2 {
                batch.push(generator.brute_force_attempt());
            }
        }
        // The broker logs: a tenth of the event rate, at least a line a tick; rotated each minute.
        let lines = (per_tick / 10.0).max(1.0) as usize;
        if let Err(error) =
            broker_logs.tick(&mut log_generator, lines, burst, ticks.is_multiple_of(600))
        {
            tracing::warn!(%error, "Demo cannot write its broker logs.");
        }
        for event in batch {
            let record = BaseRecord::to(event.topic)
                .payload(&event.payload)
                .key(&event.key);
            if let Err((error, _)) = producer.send(record) {
                tracing::debug!(%error, "Demo producer queue full; skipping an event.");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mock_cluster_failure_is_not_a_config_error() {
        let e = DemoError::MockCluster(KafkaError::ClientCreation("out of memory".into()));
        let shown = e.to_string();
        assert!(
            shown.starts_with("cannot start librdkafka's mock cluster: "),
            "{shown}"
        );
        assert!(shown.contains("out of memory"), "{shown}");
        assert!(!shown.contains("invalid configuration"), "{shown}");
    }
}
