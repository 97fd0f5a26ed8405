//! Shared test support: the real Kafka broker (started by `scripts/kafka-broker.sh`), the real
//! exporter binary, and an exact parser for the Prometheus exposition it serves.
#![allow(dead_code)]

pub mod promql;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Connection facts of the shared test broker.
#[derive(Debug, Clone)]
pub struct Broker {
    pub bootstrap: String,
    pub logs_dir: PathBuf,
}

/// The shared broker: the one `scripts/test.sh` started (its env vars), or one this test binary
/// starts with the same script (idempotent and locked, so parallel binaries share it).
pub fn broker() -> &'static Broker {
    static BROKER: OnceLock<Broker> = OnceLock::new();
    BROKER.get_or_init(|| {
        if std::env::var("KSE_KAFKA_BOOTSTRAP").is_err() {
            let out = Command::new("bash")
                .arg(repo_dir().join("scripts/kafka-broker.sh"))
                .arg("start")
                .stderr(Stdio::inherit())
                .output()
                .expect("run scripts/kafka-broker.sh start");
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

/// A unique name for a test's topics and groups.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
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

/// Creates a topic as the super user.
pub fn create_topic(name: &str, partitions: i32) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let admin: AdminClient<DefaultClientContext> = admin_config().create().unwrap();
        let results = admin
            .create_topics(
                &[NewTopic::new(name, partitions, TopicReplication::Fixed(1))],
                &AdminOptions::new().operation_timeout(Some(Duration::from_secs(20))),
            )
            .await
            .expect("create_topics request");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("create topic {t}: {e}"));
        }
    });
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
        let mut record: BaseRecord<'_, [u8], [u8]> = BaseRecord::to(topic).payload(payload);
        if let Some(k) = key {
            record = record.key(k);
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
            p.send(&topic, key, payload(i).as_bytes());
        }
        p.flush();
    })
}

/// One sample of the exposition.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed `/metrics` response.
#[derive(Debug, Clone, Default)]
pub struct Scrape {
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// Parses the Prometheus text format exactly (escapes included); panics on a malformed line.
    pub fn parse(text: &str) -> Scrape {
        let mut samples = Vec::new();
        for line in text.lines() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            samples.push(parse_sample(line).unwrap_or_else(|| panic!("bad line: {line:?}")));
        }
        Scrape { samples }
    }

    /// The value of the series with exactly these labels, if present.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.samples
            .iter()
            .find(|s| s.name == name && s.labels == want)
            .map(|s| s.value)
    }

    /// The value of the series with exactly these labels, or 0 when absent.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels).unwrap_or(0.0)
    }

    /// Sum over every series of `name` whose labels include `filter`.
    pub fn sum(&self, name: &str, filter: &[(&str, &str)]) -> f64 {
        self.samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                filter
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|s| s.value)
            .sum()
    }

    pub fn series(&self, name: &str) -> Vec<&Sample> {
        self.samples.iter().filter(|s| s.name == name).collect()
    }
}

fn parse_sample(line: &str) -> Option<Sample> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => (&line[..i], &line[i..]),
        None => return None,
    };
    let mut labels = BTreeMap::new();
    let mut rest = rest;
    if let Some(body) = rest.strip_prefix('{') {
        let mut chars = body.char_indices().peekable();
        let end;
        loop {
            let (i, c) = chars.next()?;
            if c == '}' {
                end = i;
                break;
            }
            if c == ',' || c == ' ' {
                continue;
            }
            // key
            let mut key = String::from(c);
            loop {
                let (_, c) = chars.next()?;
                if c == '=' {
                    break;
                }
                key.push(c);
            }
            if chars.next()?.1 != '"' {
                return None;
            }
            let mut value = String::new();
            loop {
                let (_, c) = chars.next()?;
                match c {
                    '\\' => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        '\\' => value.push('\\'),
                        '"' => value.push('"'),
                        other => {
                            value.push('\\');
                            value.push(other)
                        }
                    },
                    '"' => break,
                    c => value.push(c),
                }
            }
            labels.insert(key, value);
        }
        rest = &body[end + 1..];
    }
    let value_text = rest.split_whitespace().next()?;
    let value = match value_text {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().ok()?,
    };
    Some(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// A minimal HTTP/1.1 GET: (status, headers lowercased, body).
pub fn http_get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<(u16, BTreeMap<String, String>, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes())?;
    let mut reader = BufReader::new(stream);
    let mut status_line = String::new();
    reader.read_line(&mut status_line)?;
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {status_line:?}")))?;
    let mut headers = BTreeMap::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut body = Vec::new();
    if let Some(len) = headers
        .get("content-length")
        .and_then(|l| l.parse::<usize>().ok())
    {
        body.resize(len, 0);
        reader.read_exact(&mut body)?;
    } else {
        reader.read_to_end(&mut body)?;
    }
    Ok((status, headers, body))
}

/// The real exporter binary, running.
pub struct Exporter {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<serde_json::Value>>>,
    _dir: tempfile::TempDir,
}

pub fn exporter_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kafka-security-exporter")
}

impl Exporter {
    /// Starts `kafka-security-exporter run --config <yaml>` on a free loopback port, with JSON
    /// logs captured, and waits until it serves HTTP.
    pub fn start(config_yaml: &str) -> Exporter {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, config_yaml).unwrap();
        Self::spawn(&["run", "--config", path.to_str().unwrap()], dir)
    }

    pub fn spawn(args: &[&str], dir: tempfile::TempDir) -> Exporter {
        Self::spawn_with_env(args, &[], dir)
    }

    /// `spawn` with extra environment variables (e.g. `OTEL_*`).
    pub fn spawn_with_env(args: &[&str], env: &[(&str, &str)], dir: tempfile::TempDir) -> Exporter {
        let mut child = Command::new(exporter_bin())
            .envs(env.iter().copied())
            .args([
                "--web.listen-address",
                "127.0.0.1:0",
                "--log.format",
                "json",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn exporter");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "message": line }));
                sink.lock().unwrap().push(v);
            }
        });
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("exporter stdout: {line}");
            }
        });
        let mut exporter = Exporter {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            logs,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(addr) = exporter.log_field("Serving metrics.", "address") {
                exporter.addr = addr.as_str().unwrap().parse().unwrap();
                break;
            }
            if let Ok(Some(status)) = exporter.child.try_wait() {
                panic!(
                    "exporter exited early with {status}: {:#?}",
                    exporter.logs()
                );
            }
            assert!(
                Instant::now() < deadline,
                "exporter did not start: {:#?}",
                exporter.logs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        exporter
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmHWM in /proc/pid/status");
        kb * 1024
    }

    pub fn logs(&self) -> Vec<serde_json::Value> {
        self.logs.lock().unwrap().clone()
    }

    /// The field of the last log line with this message.
    pub fn log_field(&self, message: &str, field: &str) -> Option<serde_json::Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|l| l["message"] == message)
            .map(|l| l[field].clone())
    }

    pub fn scrape(&self) -> Scrape {
        let (status, _, body) = http_get(self.addr, "/metrics", &[]).expect("scrape");
        assert_eq!(status, 200);
        Scrape::parse(std::str::from_utf8(&body).expect("utf-8 exposition"))
    }

    /// Scrapes until `done` holds, panicking with the last scrape after `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Scrape) -> bool,
    ) -> Scrape {
        let deadline = Instant::now() + timeout;
        loop {
            let s = self.scrape();
            if done(&s) {
                return s;
            }
            if Instant::now() > deadline {
                let interesting: Vec<_> = s
                    .samples
                    .iter()
                    .filter(|x| {
                        x.name.starts_with("kafka_security_") && !x.name.contains("_bucket")
                    })
                    .collect();
                let logs = self.logs();
                let tail = &logs[logs.len().saturating_sub(40)..];
                panic!("timed out waiting for {what}; last scrape: {interesting:#?}\nlast logs: {tail:#?}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn readyz(&self) -> (u16, String) {
        let (status, _, body) = http_get(self.addr, "/readyz", &[]).expect("readyz");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// SIGTERM, then waits for a clean exit (code 0) within `timeout`.
    pub fn stop(mut self, timeout: Duration) -> Vec<serde_json::Value> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                // Let the log reader drain.
                std::thread::sleep(Duration::from_millis(100));
                assert!(
                    status.success(),
                    "exporter exited with {status}: {:#?}",
                    self.logs()
                );
                return self.logs();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "exporter did not stop within {timeout:?}: {:#?}",
                    self.logs()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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

/// Reads a whole file, or "" if missing.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Proptest settings for the suite's property tests: `cases` cases, and failing seeds persisted
/// beside the test's source file (`tests/it/NAME.proptest-regressions`, committed). proptest's
/// default (`SourceParallel`) would use `tests/proptest-regressions/NAME.txt` instead, because
/// `tests/it/` holds a `main.rs`, and silently skip the committed seeds.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}
