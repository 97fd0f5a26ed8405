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
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use crate::app::{App, StartError, WebOptions};
use crate::config::{
    Config, FileSourceConfig, KafkaSourceConfig, PropertyValue, SourceConfig, TopicConfig,
};
use crate::parse::Input;
use crate::tail::StartAt;

/// Demo topics and the format each carries.
pub const TOPICS: [(&str, Input); 3] = [
    ("confluent-audit-log-events", Input::ConfluentAudit),
    ("app-security-events", Input::Json),
    ("security-events", Input::Text),
];

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
) -> Result<(), StartError> {
    let cluster =
        MockCluster::new(1).map_err(|e| StartError::Config(format!("mock cluster: {e}")))?;
    for (topic, _) in TOPICS {
        cluster
            .create_topic(topic, 3, 1)
            .map_err(|e| StartError::Config(format!("mock topic {topic}: {e}")))?;
    }
    let bootstrap = cluster.bootstrap_servers();
    let logs = tempfile_dir()?;
    let mut broker_logs = BrokerLogWriter::new(logs.clone())
        .map_err(|e| StartError::Config(format!("demo broker logs in {}: {e}", logs.display())))?;
    let config = demo_config(&bootstrap, Some(&logs));
    let app = App::start(&config, &web).await?;
    let shown = match web.listen_address.ip() {
        ip if ip.is_unspecified() => format!("127.0.0.1:{}", app.local_addr().port()),
        _ => app.local_addr().to_string(),
    };
    println!(
        "Demo running: a mock Kafka cluster at {bootstrap} is fed {} events/s.\n\
         Broker logs: {} (written and rotated by the demo, tailed by the exporter).\n\
         Metrics: http://{shown}{}   (also /readyz, /healthz). Press Ctrl-C to stop.",
        options.rate,
        logs.display(),
        web.telemetry_path
    );

    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "5")
        .create()
        .map_err(|e| StartError::Config(format!("demo producer: {e}")))?;
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
fn tempfile_dir() -> Result<PathBuf, StartError> {
    let dir = std::env::temp_dir().join(format!(
        "kafka-security-exporter-demo-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("state"))
        .map_err(|e| StartError::Config(format!("cannot create {}: {e}", dir.display())))?;
    Ok(dir)
}

/// The config the demo runs with: one source reading the demo topics from the mock cluster, and
/// one tailing the demo's broker log directory.
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
        ..Config::default()
    }
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
        if let Err(error) = broker_logs.tick(&mut log_generator, lines, burst, ticks % 600 == 0) {
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

/// One generated record.
#[derive(Debug, Clone)]
pub struct DemoEvent {
    pub topic: &'static str,
    pub key: String,
    pub payload: String,
}

/// A deterministic generator of realistic security events.
pub struct Generator {
    state: u64,
    seq: u64,
}

const USERS: [&str; 6] = ["alice", "bob", "carol", "svc-orders", "svc-billing", "dave"];
const HOSTS: [&str; 6] = [
    "10.0.1.15",
    "10.0.1.16",
    "10.0.2.40",
    "10.0.3.7",
    "192.168.10.23",
    "10.0.4.99",
];
const TOPIC_NAMES: [&str; 5] = [
    "orders",
    "payments",
    "customers",
    "audit-trail",
    "inventory",
];
const ATTACKER_HOST: &str = "203.0.113.66";

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            state: seed | 1,
            seq: 0,
        }
    }

    fn next_u64(&mut self) -> u64 {
        // xorshift64*: fast, deterministic, good enough for a demo.
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[(self.next_u64() % items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    fn now_rfc3339() -> String {
        humantime::format_rfc3339_micros(SystemTime::now()).to_string()
    }

    /// The next event of the normal mix.
    pub fn next_event(&mut self) -> DemoEvent {
        self.seq += 1;
        match self.next_u64() % 10 {
            0..=4 => self.audit_authorization(),
            5 => self.audit_authentication(),
            6 | 7 => self.app_json(),
            _ => self.text(),
        }
    }

    fn audit_authorization(&mut self) -> DemoEvent {
        let user = self.pick(&USERS);
        let host = self.pick(&HOSTS);
        let topic = self.pick(&TOPIC_NAMES);
        let (method, operation, resource_type, resource) = match self.next_u64() % 8 {
            0..=2 => ("kafka.Produce", "Write", "Topic", topic.to_string()),
            3..=5 => ("kafka.Fetch", "Read", "Topic", topic.to_string()),
            6 => (
                "kafka.JoinGroup",
                "Read",
                "Group",
                format!("{topic}-consumers"),
            ),
            _ => (
                "kafka.CreateAcls",
                "Alter",
                "Cluster",
                "kafka-cluster".to_string(),
            ),
        };
        // Services are mostly allowed; people are denied more often, admins ops mostly denied.
        let denied = match (user.starts_with("svc-"), method) {
            (_, "kafka.CreateAcls") => self.chance(80),
            (true, _) => self.chance(3),
            (false, _) => self.chance(25),
        };
        let id = self.seq;
        let time = Self::now_rfc3339();
        let payload = serde_json::json!({
            "specversion": "1.0",
            "id": format!("demo-{id}"),
            "source": "crn:///kafka=demo-cluster",
            "type": "io.confluent.kafka.server/authorization",
            "datacontenttype": "application/json",
            "subject": format!("crn:///kafka=demo-cluster/topic={resource}"),
            "time": time,
            "route": "confluent-audit-log-events",
            "data": {
                "serviceName": "crn:///kafka=demo-cluster",
                "methodName": method,
                "resourceName": format!("crn:///kafka=demo-cluster/topic={resource}"),
                "authenticationInfo": {"principal": format!("User:{user}")},
                "authorizationInfo": {
                    "granted": !denied,
                    "operation": operation,
                    "resourceType": resource_type,
                    "resourceName": resource,
                    "patternType": "LITERAL",
                },
                "request": {"correlation_id": id.to_string(), "client_id": format!("{user}-client")},
                "requestMetadata": {"client_address": format!("/{host}")},
            }
        });
        DemoEvent {
            topic: TOPICS[0].0,
            key: String::new(),
            payload: payload.to_string(),
        }
    }

    fn audit_authentication(&mut self) -> DemoEvent {
        let user = self.pick(&USERS);
        let failed = self.chance(15);
        let payload = serde_json::json!({
            "specversion": "1.0",
            "id": format!("demo-{}", self.seq),
            "source": "crn:///kafka=demo-cluster",
            "type": "io.confluent.kafka.server/authentication",
            "datacontenttype": "application/json",
            "subject": "crn:///kafka=demo-cluster",
            "time": Self::now_rfc3339(),
            "data": {
                "serviceName": "crn:///kafka=demo-cluster",
                "methodName": "kafka.Authentication",
                "resourceName": "crn:///kafka=demo-cluster",
                "authenticationInfo": {
                    "principal": format!("User:{user}"),
                    "metadata": {"mechanism": "SASL_SSL/SCRAM-SHA-512", "identifier": user},
                },
                "result": if failed {
                    serde_json::json!({"status": "UNAUTHENTICATED", "message": "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"})
                } else {
                    serde_json::json!({"status": "SUCCESS", "message": ""})
                },
            }
        });
        DemoEvent {
            topic: TOPICS[0].0,
            key: String::new(),
            payload: payload.to_string(),
        }
    }

    fn app_json(&mut self) -> DemoEvent {
        let user = self.pick(&USERS);
        let host = self.pick(&HOSTS);
        let ok = !self.chance(12);
        let payload = serde_json::json!({
            "timestamp": Self::now_rfc3339(),
            "event_type": "login",
            "user": user,
            "ip": host,
            "outcome": if ok { "success" } else { "failure" },
            "reason": if ok { "" } else { "invalid password" },
            "app": "customer-portal",
        });
        DemoEvent {
            topic: TOPICS[1].0,
            key: user.to_string(),
            payload: payload.to_string(),
        }
    }

    fn text(&mut self) -> DemoEvent {
        let user = self.pick(&["JohnDoe", "JaneRoe", "alice", "bob"]);
        let host = self.pick(&HOSTS);
        let (key, value) = match self.next_u64() % 6 {
            0..=2 => ("user-login", format!("User {user} logged in successfully")),
            3 => (
                "user-login",
                format!("User {user} failed to log in from {host}"),
            ),
            4 => (
                "access-denied",
                format!("User {user} denied access to payments-db"),
            ),
            _ => ("user-logout", format!("User {user} logged out")),
        };
        DemoEvent {
            topic: TOPICS[2].0,
            key: key.to_string(),
            payload: value,
        }
    }

    /// One failed login of the brute-force burst, all from one host.
    pub fn brute_force_attempt(&mut self) -> DemoEvent {
        let user = self.pick(&["admin", "root", "alice", "kafka", "test"]);
        self.seq += 1;
        let payload = serde_json::json!({
            "timestamp": Self::now_rfc3339(),
            "event_type": "login",
            "user": user,
            "ip": ATTACKER_HOST,
            "outcome": "failure",
            "reason": "invalid password",
            "app": "customer-portal",
        });
        DemoEvent {
            topic: TOPICS[1].0,
            key: user.to_string(),
            payload: payload.to_string(),
        }
    }
}

/// Writes the demo's broker log directory in Kafka's layout and rotates it like log4j2.
pub struct BrokerLogWriter {
    dir: PathBuf,
    files: Vec<(&'static str, std::fs::File)>,
    rotations: u64,
}

/// The files the demo writes, by the logger whose lines they hold.
const LOG_FILES: [&str; 4] = [
    "server.log",
    "kafka-authorizer.log",
    "controller.log",
    "kafka-request.log",
];

impl BrokerLogWriter {
    pub fn new(dir: PathBuf) -> std::io::Result<BrokerLogWriter> {
        let mut w = BrokerLogWriter {
            dir,
            files: Vec::new(),
            rotations: 0,
        };
        w.open()?;
        Ok(w)
    }

    fn open(&mut self) -> std::io::Result<()> {
        self.files.clear();
        for name in LOG_FILES {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(name))?;
            self.files.push((name, f));
        }
        Ok(())
    }

    /// Renames every file to `<name>.<stamp>` and opens new ones; keeps three rotations.
    fn rotate(&mut self) -> std::io::Result<()> {
        self.rotations += 1;
        let n = self.rotations;
        for name in LOG_FILES {
            std::fs::rename(self.dir.join(name), self.dir.join(format!("{name}.{n}")))?;
            if n > 3 {
                let _ = std::fs::remove_file(self.dir.join(format!("{name}.{}", n - 3)));
            }
        }
        self.open()
    }

    fn write(&mut self, file: &str, line: &str) -> std::io::Result<()> {
        if let Some((_, f)) = self.files.iter_mut().find(|(n, _)| *n == file) {
            f.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    /// Writes `lines` lines of the normal mix (plus a burst of failed logins) and rotates.
    pub fn tick(
        &mut self,
        g: &mut Generator,
        lines: usize,
        burst: bool,
        rotate: bool,
    ) -> std::io::Result<()> {
        if rotate {
            self.rotate()?;
        }
        for _ in 0..lines {
            let (file, line) = g.broker_log_line();
            self.write(file, &line)?;
        }
        if burst {
            let line = g.failed_login_line(
                ATTACKER_HOST,
                "invalid credentials with SASL mechanism SCRAM-SHA-512",
            );
            self.write("server.log", &line)?;
        }
        Ok(())
    }
}

/// `[yyyy-MM-dd HH:mm:ss,SSS]`, Kafka's `%d`, in UTC.
fn log4j_stamp() -> String {
    let iso = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    iso.trim_end_matches('Z')
        .replace('T', " ")
        .replace('.', ",")
}

impl Generator {
    /// One line for one of the broker's files, in Kafka 4.x's exact formats.
    pub fn broker_log_line(&mut self) -> (&'static str, String) {
        let t = log4j_stamp();
        let user = self.pick(&USERS);
        let host = self.pick(&HOSTS);
        let topic = self.pick(&TOPIC_NAMES);
        match self.next_u64() % 20 {
            0..=7 => {
                let (op, rt, name, api) = match self.next_u64() % 4 {
                    0 => ("WRITE", "Topic", topic.to_string(), "Produce"),
                    1 => ("READ", "Topic", topic.to_string(), "Fetch"),
                    2 => ("READ", "Group", format!("{topic}-consumers"), "JoinGroup"),
                    _ => ("DESCRIBE", "Topic", topic.to_string(), "Metadata"),
                };
                let denied = !user.starts_with("svc-") && self.chance(40);
                let (level, verdict, rule) = if denied {
                    ("INFO", "Denied", "DefaultDeny".to_string())
                } else {
                    ("DEBUG", "Allowed", format!("MatchingAcl(acl=StandardAcl[resourceType={}, resourceName={name}, patternType=LITERAL, principal=User:{user}, host=*, operation={op}, permissionType=ALLOW])", rt.to_ascii_uppercase()))
                };
                (
                    "kafka-authorizer.log",
                    format!("[{t}] {level} Principal = User:{user} is {verdict} operation = {op} from host = {host} on resource = {rt}:LITERAL:{name} for request = {api} with resourceRefCount = 1 based on rule {rule} (kafka.authorizer.logger)\n"),
                )
            }
            8..=10 => {
                let why = match self.next_u64() % 4 {
                    0 | 1 => "invalid credentials with SASL mechanism SCRAM-SHA-512",
                    2 => "Unsupported SASL mechanism PLAIN",
                    _ => "SSL handshake failed",
                };
                if why.starts_with("invalid") {
                    ("server.log", self.failed_login_line(host, why))
                } else {
                    ("server.log", self.failed_login_line(host, why).replace("Authentication failed during authentication due to ", ""))
                }
            }
            11 => (
                "server.log",
                format!("[{t}] INFO Rejected connection from /{host}, address already has the configured maximum of 100 connections. (kafka.network.DataPlaneAcceptor)\n"),
            ),
            12..=16 => {
                let (api, ms) = match self.next_u64() % 4 {
                    0 => ("PRODUCE", 2 + self.next_u64() % 40),
                    1 => ("FETCH", 1 + self.next_u64() % 500),
                    2 => ("METADATA", self.next_u64() % 3),
                    _ => ("OFFSET_COMMIT", 1 + self.next_u64() % 20),
                };
                let (seq, frac) = (self.seq, self.next_u64() % 1000);
                (
                    "kafka-request.log",
                    format!("[{t}] DEBUG Completed request:{{\"isForwarded\":false,\"requestHeader\":{{\"requestApiKey\":0,\"requestApiVersion\":11,\"correlationId\":{},\"clientId\":\"{user}-client\",\"requestApiKeyName\":\"{api}\"}},\"request\":{{}},\"response\":{{\"errorCode\":0}},\"connection\":\"10.0.0.1:9092-{host}:5000-0-1\",\"totalTimeMs\":{}.{},\"requestQueueTimeMs\":0.1,\"localTimeMs\":0.5,\"remoteTimeMs\":0.0,\"throttleTimeMs\":0,\"responseQueueTimeMs\":0.1,\"sendTimeMs\":0.1,\"securityProtocol\":\"SASL_SSL\",\"principal\":\"User:{user}\",\"listener\":\"SASL_SSL\",\"clientInformation\":{{\"softwareName\":\"apache-kafka-java\",\"softwareVersion\":\"4.0.0\"}}}} (kafka.request.logger)\n", seq, ms, frac),
                )
            }
            _ => {
                let id: String = (0..22)
                    .map(|_| {
                        let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
                        c[(self.next_u64() % 64) as usize] as char
                    })
                    .collect();
                let body = match self.next_u64() % 6 {
                    0 => format!("Replayed AccessControlEntryRecord for {id}, setting StandardAcl[resourceType=TOPIC, resourceName={topic}, patternType=LITERAL, principal=User:{user}, host=*, operation=READ, permissionType=ALLOW]"),
                    1 => format!("Replayed RemoveAccessControlEntryRecord for {id}, removing StandardAcl[resourceType=GROUP, resourceName={topic}-consumers, patternType=LITERAL, principal=User:{user}, host=*, operation=READ, permissionType=DENY]"),
                    2 => format!("Replayed UserScramCredentialRecord creating new entry for {user} with mechanism SCRAM_SHA_512."),
                    3 => format!("Replayed UserScramCredentialRecord modifying existing entry for {user} with mechanism SCRAM_SHA_512."),
                    4 => format!("Replayed ConfigRecord for ConfigResource(type=TOPIC, name='{topic}') which set configuration retention.ms to 604800000"),
                    _ => format!("Replayed ClientQuotaRecord for ClientQuotaEntity(entries={{user={user}}}) setting producer_byte_rate to 1048576.0."),
                };
                let logger = match body.split_whitespace().nth(1) {
                    Some("UserScramCredentialRecord") => "ScramControlManager",
                    Some("ConfigRecord") => "ConfigurationControlManager",
                    Some("ClientQuotaRecord") => "ClientQuotaControlManager",
                    _ => "AclControlManager",
                };
                (
                    "controller.log",
                    format!("[{t}] INFO [QuorumController id=1] {body} (org.apache.kafka.controller.{logger})\n"),
                )
            }
        }
    }

    /// A `server.log` failed login from `host`.
    pub fn failed_login_line(&mut self, host: &str, why: &str) -> String {
        let port = 30000 + self.next_u64() % 30000;
        format!(
            "[{}] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /{host} (channelId=10.0.0.1:9092-{host}:{port}-0-{}) (Authentication failed during authentication due to {why}) (org.apache.kafka.common.network.Selector)\n",
            log4j_stamp(),
            self.seq
        )
    }
}
