//! The embedded demo: librdkafka's in-process mock cluster, a generator producing a realistic mixed
//! stream into it, and the real pipeline consuming it. No Kafka needed.
//!
//! The stream: Confluent audit CloudEvents (allowed and denied Produce/Fetch/CreateAcls, successful
//! and failed authentications), applications' JSON login events, plain-text events keyed by type,
//! and every 30 seconds a brute-force burst of failed logins from one host.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::ClientConfig;

use crate::app::{App, StartError, WebOptions};
use crate::config::{Config, KafkaSourceConfig, PropertyValue, SourceConfig, TopicConfig};
use crate::parse::FormatChoice;

/// Demo topics and the format each carries.
pub const TOPICS: [(&str, FormatChoice); 3] = [
    ("confluent-audit-log-events", FormatChoice::ConfluentAudit),
    ("app-security-events", FormatChoice::Json),
    ("security-events", FormatChoice::Text),
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
    let config = demo_config(&bootstrap);
    let app = App::start(&config, &web).await?;
    let shown = match web.listen_address.ip() {
        ip if ip.is_unspecified() => format!("127.0.0.1:{}", app.local_addr().port()),
        _ => app.local_addr().to_string(),
    };
    println!(
        "Demo running: a mock Kafka cluster at {bootstrap} is fed {} events/s.\n\
         Metrics: http://{shown}{}   (also /readyz, /healthz). Press Ctrl-C to stop.",
        options.rate, web.telemetry_path
    );

    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", &bootstrap)
        .set("linger.ms", "5")
        .create()
        .map_err(|e| StartError::Config(format!("demo producer: {e}")))?;
    let generate = generate(&producer, options.rate);
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
    Ok(())
}

/// The config the demo runs with: one source reading the demo topics from the mock cluster.
pub fn demo_config(bootstrap: &str) -> Config {
    let mut properties = BTreeMap::new();
    properties.insert(
        "bootstrap.servers".to_string(),
        PropertyValue::Text(bootstrap.to_string()),
    );
    properties.insert(
        "statistics.interval.ms".to_string(),
        PropertyValue::Text("1000".into()),
    );
    Config {
        sources: vec![SourceConfig::Kafka(KafkaSourceConfig {
            name: "demo".into(),
            group_id: "kafka-security-exporter-demo".into(),
            topics: TOPICS
                .iter()
                .map(|(name, format)| TopicConfig {
                    name: Some(name.to_string()),
                    pattern: None,
                    format: *format,
                })
                .collect(),
            properties,
        })],
        shutdown: crate::config::ShutdownConfig {
            grace_period_secs: 3,
        },
        ..Config::default()
    }
}

/// Produces the mixed stream forever at about `rate` events per second.
async fn generate(producer: &ThreadedProducer<DefaultProducerContext>, rate: u32) {
    let mut generator = Generator::new(0x5eed);
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
        // Every 30 s, starting 5 s in, a brute-force burst: 60 failed logins from one host in 3 s.
        if (50..80).contains(&(ticks % 300)) {
            for _ in 0..2 {
                batch.push(generator.brute_force_attempt());
            }
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
