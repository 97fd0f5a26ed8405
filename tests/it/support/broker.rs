//! The real Kafka broker started by `scripts/kafka-broker.sh` (SASL/SCRAM users admin, alice and
//! bob), its clients, and the exporter configs that read from it.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use super::run_script;

/// Connection facts of the shared test broker.
#[derive(Debug, Clone)]
pub struct Broker {
    pub bootstrap: String,
    pub logs_dir: PathBuf,
}

/// The shared broker: the one `scripts/test.sh` started (its env vars), or one this test binary
/// starts with the same script (idempotent and locked, so concurrent test runs share it).
pub fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        if std::env::var("KSE_KAFKA_BOOTSTRAP").is_err() {
            let out = run_script("kafka-broker", &["start"]);
            assert!(
                out.status.success(),
                "scripts/kafka-broker.sh start failed; run `scripts/test.sh` or start the broker by hand"
            );
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some((k, v)) = line.strip_prefix("export ").and_then(|l| l.split_once('=')) {
                    let v = v.trim_matches(|c| c == '\'' || c == '"');
                    std::env::set_var(k, v);
                }
            }
        }
        Broker {
            bootstrap: std::env::var("KSE_KAFKA_BOOTSTRAP").expect("KSE_KAFKA_BOOTSTRAP"),
            logs_dir: std::env::var("KSE_KAFKA_LOGS_DIR")
                .map(PathBuf::from)
                .unwrap_or_default(),
        }
    })
}

/// Held shared by every test that uses the broker and exclusively by the one that restarts it.
/// The tests were separate binaries, run one after another; in one binary they run in parallel,
/// and a restart must not pull the broker from under another test.
static BROKER_USE: RwLock<()> = RwLock::new(());

/// The shared broker, for a test that needs it up until the guard drops.
pub fn broker_shared() -> RwLockReadGuard<'static, ()> {
    broker();
    // A test that panicked while holding the lock leaves the broker as usable as before.
    BROKER_USE.read().unwrap_or_else(PoisonError::into_inner)
}

/// The shared broker, for a test that stops or restarts it: no other broker test runs meanwhile.
pub fn broker_exclusive() -> RwLockWriteGuard<'static, ()> {
    broker();
    BROKER_USE.write().unwrap_or_else(PoisonError::into_inner)
}

/// librdkafka settings for `user` (admin, alice or bob) with `password`.
pub fn client_config(user: &str, password: &str) -> ClientConfig {
    let mut cc = ClientConfig::new();
    cc.set("bootstrap.servers", &broker().bootstrap)
        .set("security.protocol", "SASL_PLAINTEXT")
        .set("sasl.mechanism", "SCRAM-SHA-256")
        .set("sasl.username", user)
        .set("sasl.password", password);
    cc
}

pub fn admin_config() -> ClientConfig {
    client_config("admin", "admin-secret")
}

/// Runs one admin request as the super user, on a runtime of its own.
fn with_admin<F: std::future::Future<Output = ()>>(
    request: impl FnOnce(AdminClient<DefaultClientContext>) -> F,
) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(request(admin_config().create().unwrap()));
}

fn admin_options() -> AdminOptions {
    AdminOptions::new().operation_timeout(Some(Duration::from_secs(20)))
}

/// Creates a topic as the super user.
pub fn create_topic(name: &str, partitions: i32) {
    with_admin(|admin| async move {
        let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
        let results = admin
            .create_topics(&[topic], &admin_options())
            .await
            .expect("create_topics request");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
    });
}

/// Deletes a topic as the super user.
pub fn delete_topic(name: &str) {
    with_admin(|admin| async move {
        let results = admin
            .delete_topics(&[name], &admin_options())
            .await
            .expect("delete_topics request");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("delete topic {t}: {e}"));
        }
    });
}

/// A new topic named after `prefix` (made unique) with `partitions`, created as the super user.
pub fn new_topic(prefix: &str, partitions: i32) -> String {
    let topic = super::unique(prefix);
    create_topic(&topic, partitions);
    topic
}

/// A producer authenticated as the super user; every record is confirmed by `flush`.
pub struct TestProducer {
    inner: ThreadedProducer<DefaultProducerContext>,
}

impl TestProducer {
    pub fn new() -> TestProducer {
        let inner = admin_config()
            .set("linger.ms", "2")
            .set("message.timeout.ms", "120000")
            // A retry across a broker restart must not write a record twice: the tests count
            // exactly what was produced.
            .set("enable.idempotence", "true")
            .create()
            .expect("producer");
        TestProducer { inner }
    }

    pub fn send(&self, topic: &str, key: Option<&[u8]>, payload: &[u8]) {
        self.send_to(topic, None, key, payload);
    }

    /// [`TestProducer::send`] to `partition` (`None`: the one the key's hash picks).
    pub fn send_to(&self, topic: &str, partition: Option<i32>, key: Option<&[u8]>, payload: &[u8]) {
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).payload(payload);
        if let Some(k) = key {
            record = record.key(k);
        }
        if let Some(p) = partition {
            record = record.partition(p);
        }
        let mut record = record;
        loop {
            match self.inner.send(record) {
                Ok(()) => return,
                Err((e, r)) => {
                    assert!(
                        matches!(
                            e,
                            rdkafka::error::KafkaError::MessageProduction(
                                rdkafka::types::RDKafkaErrorCode::QueueFull
                            )
                        ),
                        "produce: {e}"
                    );
                    record = r;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    /// Sends `count` records, the `i`th with payload `payload(i)`, and waits until all are
    /// delivered.
    pub fn produce(
        &self,
        topic: &str,
        key: Option<&[u8]>,
        count: usize,
        payload: impl Fn(usize) -> String,
    ) {
        for i in 0..count {
            self.send(topic, key, payload(i).as_bytes());
        }
        self.flush();
    }

    pub fn flush(&self) {
        self.inner
            .flush(Duration::from_secs(120))
            .expect("all records delivered");
    }
}

/// Produces `count` records to `topic` on a background thread, pausing `pause` before every
/// `batch` records, then waits until all are delivered.
pub fn produce_paced(
    topic: &str,
    key: Option<&'static [u8]>,
    count: usize,
    paced: (usize, Duration),
    payload: impl Fn(usize) -> String + Send + 'static,
) -> std::thread::JoinHandle<()> {
    produce_paced_spread(topic, None, key, count, paced, payload)
}

/// [`produce_paced`], record `i` to partition `i % partitions` when `partitions` is given (a
/// constant key would put them all in one).
pub fn produce_paced_spread(
    topic: &str,
    partitions: Option<i32>,
    key: Option<&'static [u8]>,
    count: usize,
    (batch, pause): (usize, Duration),
    payload: impl Fn(usize) -> String + Send + 'static,
) -> std::thread::JoinHandle<()> {
    let topic = topic.to_string();
    std::thread::spawn(move || {
        let p = TestProducer::new();
        for i in 0..count {
            if i % batch == 0 {
                std::thread::sleep(pause);
            }
            let partition = partitions.map(|n| (i % n as usize) as i32);
            p.send_to(&topic, partition, key, payload(i).as_bytes());
        }
        p.flush();
    })
}

/// A producer (as the super user) that can set record headers.
pub struct HeaderProducer(ThreadedProducer<DefaultProducerContext>);

impl HeaderProducer {
    pub fn new() -> HeaderProducer {
        HeaderProducer(
            admin_config()
                .set("linger.ms", "2")
                .create()
                .expect("producer"),
        )
    }

    pub fn send(&self, topic: &str, key: &str, payload: &str, headers: &[(&str, &str)]) {
        let mut h = OwnedHeaders::new();
        for (k, v) in headers {
            h = h.insert(Header {
                key: k,
                value: Some(*v),
            });
        }
        let mut record = BaseRecord::to(topic).key(key).payload(payload).headers(h);
        loop {
            match self.0.send(record) {
                Ok(()) => return,
                Err((_, r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    pub fn flush(&self) {
        self.0.flush(Duration::from_secs(60)).expect("delivered");
    }
}

/// A config for one Kafka source `name` reading `topic` as `format`, as the super user, in a new
/// consumer group.
pub fn admin_source(name: &str, topic: &str, format: &str) -> String {
    source_config(
        name,
        &super::unique("group"),
        &[(topic, format)],
        "admin",
        "admin-secret",
    )
}

/// The common start of a test on the shared broker: the broker, held until the guard drops; a new
/// topic of `partitions` named after `name`; and the config of a source `name` reading it as
/// `format` ([`admin_source`]).
pub fn shared_topic_source(
    name: &str,
    partitions: i32,
    format: &str,
) -> (RwLockReadGuard<'static, ()>, String, String) {
    let broker = broker_shared();
    let topic = new_topic(name, partitions);
    let config = admin_source(name, &topic, format);
    (broker, topic, config)
}

/// A config for one Kafka source reading `topics` (name, format) as `user`.
pub fn source_config(
    name: &str,
    group: &str,
    topics: &[(&str, &str)],
    user: &str,
    password: &str,
) -> String {
    let mut yaml = format!(
        "sources:\n  - kafka:\n      name: {name}\n      group_id: {group}\n      topics:\n"
    );
    for (topic, format) in topics {
        // A name starting with `^` is a regex subscription.
        let key = if topic.starts_with('^') {
            "pattern"
        } else {
            "name"
        };
        yaml.push_str(&format!(
            "        - {key}: \"{topic}\"\n          format: {format}\n"
        ));
    }
    yaml.push_str(&format!(
        "      properties:\n        bootstrap.servers: \"{}\"\n        security.protocol: SASL_PLAINTEXT\n        sasl.mechanism: SCRAM-SHA-256\n        sasl.username: {user}\n        sasl.password: \"{password}\"\n        statistics.interval.ms: 1000\n        auto.commit.interval.ms: 1000\nshutdown:\n  grace_period_secs: 10\n",
        broker().bootstrap
    ));
    yaml
}

/// Inode → size of every file in `dir` (the broker's log directory): what [`appended`] reads
/// from.
pub fn snapshot(dir: &Path) -> HashMap<u64, u64> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| (m.ino(), m.len()))
        .collect()
}

/// The text each file of `dir` gained since `before` (new files: all of it), with the file's
/// name; files are told apart by inode, so a rotation in between loses nothing.
pub fn appended(dir: &Path, before: &HashMap<u64, u64>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
        let Ok(m) = e.metadata() else { continue };
        if !m.is_file() {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap_or_default();
        let start = (before.get(&m.ino()).copied().unwrap_or(0) as usize).min(bytes.len());
        out.push((
            e.file_name().to_string_lossy().into_owned(),
            String::from_utf8_lossy(&bytes[start..]).into_owned(),
        ));
    }
    out
}
