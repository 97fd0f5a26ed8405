//! A seeded, deterministic generator of security scenarios in event time, written the way a
//! Kafka 4.x broker and Confluent Server write them:
//!
//! - `server.log`: failed logins in the `Selector` shape of Kafka 4.x (`[SocketServer
//!   listenerType=BROKER, nodeId=1] Failed authentication with /IP (channelId=…-IP:PORT-PROC-IDX)
//!   (… invalid credentials with SASL mechanism SCRAM-SHA-512)`), among the broker's housekeeping
//!   lines (segment rolls, group joins, producer snapshots);
//! - `kafka-authorizer.log`: `StandardAuthorizer` decisions, the broker running
//!   `kafka.authorizer.logger` at DEBUG as audit setups do (allowed requests at DEBUG with their
//!   `MatchingAcl` rule, denials at INFO);
//! - `controller.log`: the KRaft controller's `Replayed …` lines for ACL, SCRAM and config
//!   changes; a logger's level changed at runtime (`kafka.authorizer.logger` set to `OFF`) is
//!   the broker's own `ConfigAdminManager` line in `server.log`;
//! - a Confluent audit-log file as the S3 / file sink writes it (one CloudEvent per line, spec
//!   1.0): `…/authentication` results and `…/authorization` decisions.
//!
//! Every event is written once, in one file. Benign noise is a fixed population of service and
//! human principals, each on its own hosts, producing, fetching and re-authenticating all day
//! (busier 07:00–19:00 UTC), with a misconfigured consumer denied now and then, rare password
//! typos (one to three failed logins, then the right password) and now and then an ACL or topic
//! config change. Every principal × host pair of the population shows itself in the first ten
//! minutes (a roll call), so a learning period of more than that knows all of them. Each log
//! stream writes steadily until the scenario's end, so none looks silenced.
//!
//! The same seed always gives the same bytes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// The files a scenario writes.
pub const SERVER_LOG: &str = "server.log";
pub const AUTHORIZER_LOG: &str = "kafka-authorizer.log";
pub const CONTROLLER_LOG: &str = "controller.log";
/// A Confluent audit-log file as the S3 / file sink connector names it.
pub const AUDIT_LOG: &str = "confluent-audit-log-events+0+0000000000.json";

/// Milliseconds.
pub const SECOND: u64 = 1000;
pub const MINUTE: u64 = 60 * SECOND;
pub const HOUR: u64 = 60 * MINUTE;
pub const DAY: u64 = 24 * HOUR;

/// Monday 2026-03-09 00:00:00 UTC, in Unix milliseconds.
pub const MONDAY: u64 = 1_773_014_400_000;

const CLUSTER: &str = "lkc-7q2xw9";
/// The broker's client listener, as its channel ids print it.
const LISTENER: &str = "172.16.0.10:9092";

/// A principal of the benign population, its hosts and what it works on.
#[derive(Debug, Clone)]
pub struct Client {
    pub principal: &'static str,
    pub hosts: &'static [&'static str],
    pub topics: &'static [&'static str],
    pub group: &'static str,
}

/// The benign population: services on fixed hosts, a few people on their workstations.
pub const POPULATION: &[Client] = &[
    Client {
        principal: "User:orders-svc",
        hosts: &["10.20.1.11", "10.20.1.12", "10.20.1.13"],
        topics: &["orders", "orders-dlq"],
        group: "orders-processor",
    },
    Client {
        principal: "User:payments-svc",
        hosts: &["10.20.2.21", "10.20.2.22"],
        topics: &["payments", "orders"],
        group: "payments-settlement",
    },
    Client {
        principal: "User:inventory-svc",
        hosts: &["10.20.3.31", "10.20.3.32"],
        topics: &["inventory", "orders"],
        group: "inventory-sync",
    },
    Client {
        principal: "User:analytics",
        hosts: &["10.20.4.41"],
        topics: &["orders", "payments", "clickstream"],
        group: "analytics-etl",
    },
    Client {
        principal: "User:connect",
        hosts: &["10.20.5.51", "10.20.5.52"],
        topics: &["connect-configs", "connect-offsets", "clickstream"],
        group: "connect-cluster",
    },
    Client {
        principal: "User:schema-registry",
        hosts: &["10.20.6.61"],
        topics: &["_schemas"],
        group: "schema-registry",
    },
    Client {
        principal: "User:reporting",
        hosts: &["10.20.7.71"],
        topics: &["orders", "payments"],
        group: "reporting-daily",
    },
    Client {
        principal: "User:alice",
        hosts: &["10.30.0.15"],
        topics: &["orders", "clickstream"],
        group: "alice-console",
    },
    Client {
        principal: "User:bob",
        hosts: &["10.30.0.16"],
        topics: &["inventory"],
        group: "bob-debug",
    },
    Client {
        principal: "User:intern",
        hosts: &["10.30.0.17"],
        topics: &["clickstream"],
        group: "intern-notebook",
    },
];

/// One scenario: the lines of each file in event time, built from noise and the attacks a test
/// adds.
pub struct Scenario {
    rng: fastrand::Rng,
    pub start: u64,
    pub end: u64,
    /// File → (event time, insertion order, line).
    lines: BTreeMap<&'static str, Vec<(u64, u64, String)>>,
    seq: u64,
    /// Connection index of the broker's channel ids.
    conn: u64,
    /// Lines of a file at or after this time are not written (a silenced logger).
    cutoff: BTreeMap<&'static str, u64>,
}

impl Scenario {
    /// An empty scenario from `start` lasting `duration` (milliseconds), drawing from `seed`.
    pub fn new(seed: u64, start: u64, duration: u64) -> Scenario {
        Scenario {
            rng: fastrand::Rng::with_seed(seed),
            start,
            end: start + duration,
            lines: BTreeMap::new(),
            seq: 0,
            conn: 0,
            cutoff: BTreeMap::new(),
        }
    }

    /// A scenario of benign noise only, at the usual rate.
    pub fn benign(seed: u64, start: u64, duration: u64) -> Scenario {
        let mut s = Scenario::new(seed, start, duration);
        s.noise(1);
        s
    }

    /// A random number in `lo..hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.u64(lo..hi)
    }

    fn push(&mut self, file: &'static str, at: u64, line: String) {
        self.seq += 1;
        let seq = self.seq;
        self.lines.entry(file).or_default().push((at, seq, line));
    }

    /// A log4j line of Kafka's layout `[%d] %p %m (%c)%n`, `%d` in UTC.
    fn log(&mut self, file: &'static str, at: u64, level: &str, message: &str, logger: &str) {
        let line = format!("[{}] {level} {message} ({logger})", log4j_time(at));
        self.push(file, at, line);
    }

    // ---- What the broker writes -----------------------------------------------------------

    /// A failed SASL/SCRAM login from `host`, in `server.log`.
    pub fn failed_login(&mut self, at: u64, host: &str) {
        self.conn += 1;
        let port = self.rng.u16(32768..61000);
        let processor = self.rng.u8(0..3);
        let message = format!(
            "[SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /{host} (channelId={LISTENER}-{host}:{port}-{processor}-{}) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512)",
            self.conn
        );
        self.log(
            SERVER_LOG,
            at,
            "INFO",
            &message,
            "org.apache.kafka.common.network.Selector",
        );
    }

    /// An authorization decision in `kafka-authorizer.log`: allowed at DEBUG by the principal's
    /// ACL, denied at INFO by `DefaultDeny`.
    /// `who` is the principal and its client host.
    pub fn authz(
        &mut self,
        at: u64,
        who: (&str, &str),
        operation: &str,
        resource: (&str, &str),
        api: &str,
        allowed: bool,
    ) {
        let (principal, host) = who;
        let (rtype, name) = resource;
        let head = format!(
            "Principal = {principal} is {} operation = {operation} from host = {host} on resource = {rtype}:LITERAL:{name} for request = {api} with resourceRefCount = 1",
            if allowed { "Allowed" } else { "Denied" }
        );
        let (level, rule) = if allowed {
            (
                "DEBUG",
                format!(
                    "MatchingAcl(acl=StandardAcl[resourceType={}, resourceName={name}, patternType=LITERAL, principal={principal}, host=*, operation={operation}, permissionType=ALLOW])",
                    rtype.to_uppercase()
                ),
            )
        } else {
            ("INFO", "DefaultDeny".to_string())
        };
        self.log(
            AUTHORIZER_LOG,
            at,
            level,
            &format!("{head} based on rule {rule}"),
            "kafka.authorizer.logger",
        );
    }

    /// A group join denied to `principal` whose group id carries `forged`, a newline and a
    /// forged authorizer line of its own (Kafka does not escape the id), as it lands in
    /// `kafka-authorizer.log`: the framer sees a header inside an entry and marks it and the
    /// next entry suspect.
    pub fn injected_denial(&mut self, at: u64, principal: &str, host: &str, forged_group: &str) {
        let stamp = log4j_time(at);
        let group_id = format!(
            "{forged_group}\n[{stamp}] INFO Principal = User:admin is Allowed operation = ALTER from host = 10.0.0.5 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n[{stamp}] INFO Principal = {principal} is Denied operation = READ from host = {host} on resource = Group:LITERAL:{forged_group}-2"
        );
        let message = format!(
            "Principal = {principal} is Denied operation = READ from host = {host} on resource = Group:LITERAL:{group_id} for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny"
        );
        self.log(
            AUTHORIZER_LOG,
            at,
            "INFO",
            &message,
            "kafka.authorizer.logger",
        );
    }

    /// A `Replayed …` metadata change in `controller.log`, logged by `class`.
    pub fn controller(&mut self, at: u64, change: &str, class: &str) {
        let message = format!("[QuorumController id=1] Replayed {change}");
        self.log(
            CONTROLLER_LOG,
            at,
            "INFO",
            &message,
            &format!("org.apache.kafka.controller.{class}"),
        );
    }

    /// An ACL granting `principal` `operation` on a topic.
    pub fn acl_created(&mut self, at: u64, principal: &str, operation: &str, topic: &str) {
        let id = self.id22();
        self.controller(
            at,
            &format!("AccessControlEntryRecord for {id}, setting StandardAcl[resourceType=TOPIC, resourceName={topic}, patternType=LITERAL, principal={principal}, host=*, operation={operation}, permissionType=ALLOW]"),
            "AclControlManager",
        );
    }

    /// A topic config set.
    pub fn topic_config_set(&mut self, at: u64, topic: &str, key: &str, value: &str) {
        self.controller(
            at,
            &format!("ConfigRecord for ConfigResource(type=TOPIC, name='{topic}') which set configuration {key} to {value}"),
            "ConfigurationControlManager",
        );
    }

    /// A broker's logger level changed at runtime (`kafka-configs --entity-type broker-loggers`):
    /// the broker applies it itself (`ConfigAdminManager.alterLogLevelConfigs`) and says so in
    /// `server.log`; no metadata record, no controller line.
    /// Kafka 4.x's line names no node.
    pub fn broker_logger_set(&mut self, at: u64, logger: &str, level: &str) {
        let message = format!("Updated the log level of {logger} to {level}");
        self.log(
            SERVER_LOG,
            at,
            "WARN",
            &message,
            "kafka.server.ConfigAdminManager",
        );
    }

    /// A SCRAM credential updated (a password rotation).
    pub fn scram_updated(&mut self, at: u64, user: &str) {
        self.controller(
            at,
            &format!("UserScramCredentialRecord modifying existing entry for {user} with mechanism SCRAM_SHA_512."),
            "ScramControlManager",
        );
    }

    /// Stops writing `file` from `at` on (its logger was switched off).
    pub fn silence(&mut self, file: &'static str, at: u64) {
        self.cutoff.insert(file, at);
    }

    // ---- What Confluent Server's audit log holds ---------------------------------------------

    fn cloud_event(&mut self, at: u64, kind: &str, subject: &str, data: serde_json::Value) {
        let crn = format!("crn:///kafka={CLUSTER}");
        let event = serde_json::json!({
            "specversion": "1.0",
            "id": self.uuid(),
            "source": crn,
            "type": format!("io.confluent.kafka.server/{kind}"),
            "datacontenttype": "application/json",
            "subject": format!("{crn}{subject}"),
            "time": rfc3339(at),
            "route": "confluent-audit-log-events",
            "data": data,
        });
        self.push(AUDIT_LOG, at, event.to_string());
    }

    /// An authentication result in the audit log.
    pub fn audit_login(&mut self, at: u64, principal: &str, host: &str, ok: bool) {
        let crn = format!("crn:///kafka={CLUSTER}");
        let user = principal.strip_prefix("User:").unwrap_or(principal);
        let result = if ok {
            serde_json::json!({"status": "SUCCESS", "message": ""})
        } else {
            serde_json::json!({"status": "UNAUTHENTICATED", "message": "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512"})
        };
        let data = serde_json::json!({
            "serviceName": crn,
            "methodName": "kafka.Authentication",
            "resourceName": crn,
            "authenticationInfo": {
                "principal": principal,
                "metadata": {"mechanism": "SASL_SSL/SCRAM-SHA-512", "identifier": user},
            },
            "requestMetadata": {"client_address": format!("/{host}")},
            "result": result,
        });
        self.cloud_event(at, "authentication", "", data);
    }

    /// An authorization decision in the audit log; `who` is the principal and its client host.
    pub fn audit_authz(
        &mut self,
        at: u64,
        who: (&str, &str),
        method: &str,
        operation: &str,
        topic: &str,
        granted: bool,
    ) {
        let (principal, host) = who;
        let crn = format!("crn:///kafka={CLUSTER}");
        let mut info = serde_json::json!({
            "granted": granted,
            "operation": operation,
            "resourceType": "Topic",
            "resourceName": topic,
            "patternType": "LITERAL",
        });
        if granted {
            info["aclAuthorization"] = serde_json::json!({"permissionType": "ALLOW", "host": "*"});
        }
        let correlation = self.rng.u32(1..100_000).to_string();
        let data = serde_json::json!({
            "serviceName": crn,
            "methodName": format!("kafka.{method}"),
            "resourceName": format!("{crn}/topic={topic}"),
            "authenticationInfo": {"principal": principal},
            "authorizationInfo": info,
            "request": {"correlation_id": correlation, "client_id": "rdkafka"},
            "requestMetadata": {"client_address": format!("/{host}")},
        });
        self.cloud_event(at, "authorization", &format!("/topic={topic}"), data);
    }

    // ---- Benign noise -----------------------------------------------------------------------

    /// Benign traffic over the whole scenario, `busy` times the usual rate (the usual: an
    /// authorizer line every 30 s by day and every 4 min by night, a `server.log` line every
    /// minute / 5 min, an audit event every 45 s / 5 min).
    pub fn noise(&mut self, busy: u64) {
        self.roll_call();
        let busy = busy.max(1);
        let mut t = self.start + 10 * MINUTE;
        while t < self.end {
            self.benign_request(t);
            t += self.gap(t, 30 * SECOND, 4 * MINUTE) / busy;
        }
        let mut t = self.start + self.between(0, MINUTE);
        while t < self.end {
            self.housekeeping(t);
            t += self.gap(t, MINUTE, 5 * MINUTE);
        }
        let mut t = self.start + 10 * MINUTE;
        while t < self.end {
            self.benign_audit(t);
            t += self.gap(t, 45 * SECOND, 5 * MINUTE) / busy;
        }
        let mut t = self.start + self.between(20 * MINUTE, 3 * HOUR);
        while t < self.end {
            self.benign_change(t);
            t += self.between(2 * HOUR, 8 * HOUR);
        }
    }

    /// Every principal × host pair of the population, once, in the first ten minutes.
    fn roll_call(&mut self) {
        let mut t = self.start;
        for c in POPULATION {
            for host in c.hosts {
                t += self.between(5 * SECOND, 25 * SECOND);
                self.audit_login(t, c.principal, host, true);
                let topic = c.topics[0];
                self.authz(
                    t + 40,
                    (c.principal, host),
                    "DESCRIBE",
                    ("Topic", topic),
                    "Metadata",
                    true,
                );
            }
        }
        assert!(
            t < self.start + 10 * MINUTE,
            "the roll call fits its ten minutes"
        );
    }

    /// The gap to the next line of a stream: around `day` from 07:00 to 19:00 UTC, around
    /// `night` otherwise (uniform in half to one and a half of it).
    fn gap(&mut self, at: u64, day: u64, night: u64) -> u64 {
        let hour = (at % DAY) / HOUR;
        let mean = if (7..19).contains(&hour) { day } else { night };
        self.between(mean / 2, mean * 3 / 2).max(1)
    }

    fn pick(&mut self) -> (&'static Client, &'static str) {
        let c = &POPULATION[self.rng.usize(..POPULATION.len())];
        let host = c.hosts[self.rng.usize(..c.hosts.len())];
        (c, host)
    }

    /// One request of the population through the authorizer: mostly allowed produce, fetch
    /// and group reads; now and then the reporting job's ad-hoc group, which has no ACL.
    fn benign_request(&mut self, t: u64) {
        let (c, host) = self.pick();
        if self.rng.u32(0..40) == 0 {
            self.authz(
                t,
                ("User:reporting", "10.20.7.71"),
                "READ",
                ("Group", "reporting-adhoc"),
                "JoinGroup",
                false,
            );
            return;
        }
        let topic = c.topics[self.rng.usize(..c.topics.len())];
        match self.rng.u32(0..4) {
            0 => self.authz(
                t,
                (c.principal, host),
                "WRITE",
                ("Topic", topic),
                "Produce",
                true,
            ),
            1 => self.authz(
                t,
                (c.principal, host),
                "READ",
                ("Topic", topic),
                "Fetch",
                true,
            ),
            2 => self.authz(
                t,
                (c.principal, host),
                "READ",
                ("Group", c.group),
                "OffsetCommit",
                true,
            ),
            _ => self.authz(
                t,
                (c.principal, host),
                "DESCRIBE",
                ("Topic", topic),
                "Metadata",
                true,
            ),
        }
    }

    /// One line of the broker's own housekeeping, or (one time in 60) a password typo: one to
    /// three failed logins from a population host, then the right password and a request.
    fn housekeeping(&mut self, t: u64) {
        if self.rng.u32(0..60) == 0 {
            let (c, host) = self.pick();
            let mut at = t;
            for _ in 0..self.rng.u32(1..4) {
                self.failed_login(at, host);
                at += self.between(2 * SECOND, 20 * SECOND);
            }
            let topic = c.topics[0];
            self.authz(
                at,
                (c.principal, host),
                "DESCRIBE",
                ("Topic", topic),
                "Metadata",
                true,
            );
            return;
        }
        let (c, _) = self.pick();
        let topic = c.topics[self.rng.usize(..c.topics.len())];
        let partition = self.rng.u32(0..12);
        let offset = self.rng.u64(1_000..50_000_000);
        let (message, logger) = match self.rng.u32(0..4) {
            0 => (
                format!("[LocalLog partition={topic}-{partition}, dir=/var/lib/kafka/data] Rolled new log segment at offset {offset} in {} ms.", self.rng.u32(1..9)),
                "org.apache.kafka.storage.internals.log.LocalLog",
            ),
            1 => (
                format!("[ProducerStateManager partition={topic}-{partition}] Wrote producer snapshot at offset {offset} with {} producer ids in {} ms.", self.rng.u32(0..6), self.rng.u32(0..4)),
                "org.apache.kafka.storage.internals.log.ProducerStateManager",
            ),
            2 => (
                format!("[GroupCoordinator id=1 topic=__consumer_offsets partition={partition}] Stabilized group {} generation {} with {} members.", c.group, self.rng.u32(1..400), c.hosts.len()),
                "org.apache.kafka.coordinator.group.GroupMetadataManager",
            ),
            _ => (
                format!("[UnifiedLog partition={topic}-{partition}, dir=/var/lib/kafka/data] Deleting segment LogSegment(baseOffset={offset}, size=1073741824, lastModifiedTime={}, largestRecordTimestamp={}) due to log retention time 604800000ms breach based on the largest record timestamp in the segment", t - 7 * DAY, t - 7 * DAY - 1),
                "org.apache.kafka.storage.internals.log.UnifiedLog",
            ),
        };
        self.log(SERVER_LOG, t, "INFO", &message, logger);
    }

    /// One audit event of the population: a re-authentication or an allowed request.
    fn benign_audit(&mut self, t: u64) {
        let (c, host) = self.pick();
        let topic = c.topics[self.rng.usize(..c.topics.len())];
        match self.rng.u32(0..3) {
            0 => self.audit_login(t, c.principal, host, true),
            1 => self.audit_authz(t, (c.principal, host), "Produce", "Write", topic, true),
            _ => self.audit_authz(t, (c.principal, host), "Fetch", "Read", topic, true),
        }
    }

    /// An operator's change: a topic's retention, an ACL for a service, a password rotation.
    fn benign_change(&mut self, t: u64) {
        let (c, _) = self.pick();
        let topic = c.topics[0];
        match self.rng.u32(0..3) {
            0 => {
                let days = self.rng.u64(1..15);
                self.topic_config_set(t, topic, "retention.ms", &(days * DAY).to_string())
            }
            1 => self.acl_created(t, c.principal, "READ", topic),
            _ => {
                let user = c.principal.trim_start_matches("User:");
                self.scram_updated(t, user)
            }
        }
    }

    // ---- Output -------------------------------------------------------------------------

    /// The event times of `file`'s lines that will be written, in order.
    pub fn times(&self, file: &str) -> Vec<u64> {
        let cutoff = self.cutoff.get(file).copied().unwrap_or(u64::MAX);
        let mut t: Vec<u64> = self
            .lines
            .get(file)
            .into_iter()
            .flatten()
            .map(|l| l.0)
            .filter(|&t| t < cutoff)
            .collect();
        t.sort_unstable();
        t
    }

    /// Writes every file into `dir`, lines in event time. Modification times are set so that
    /// reading the files one after another (oldest first) would not give event-time order: the
    /// audit file is the oldest, though its events run to the end.
    pub fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (k, (file, lines)) in self.lines.iter().enumerate() {
            let mut lines: Vec<&(u64, u64, String)> = lines.iter().collect();
            lines.sort_by_key(|l| (l.0, l.1));
            let cutoff = self.cutoff.get(file).copied().unwrap_or(u64::MAX);
            let mut text = String::new();
            for (at, _, line) in lines {
                if *at < cutoff {
                    writeln!(text, "{line}").unwrap();
                }
            }
            let path = dir.join(file);
            let mut f = File::create(&path).unwrap();
            f.write_all(text.as_bytes()).unwrap();
            let rank = if *file == AUDIT_LOG { 0 } else { k as u64 + 1 };
            f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + rank))
                .unwrap();
        }
    }

    fn uuid(&mut self) -> String {
        let a = self.rng.u128(..);
        let h = format!("{a:032x}");
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// A Kafka `Uuid` as it prints (22 base64url characters).
    fn id22(&mut self) -> String {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        (0..22)
            .map(|_| ALPHABET[self.rng.usize(..64)] as char)
            .collect()
    }
}

/// `yyyy-MM-dd HH:mm:ss,SSS` in UTC, as Kafka's log4j layout prints `%d`.
pub fn log4j_time(ms: u64) -> String {
    rfc3339(ms)
        .trim_end_matches('Z')
        .replacen('T', " ", 1)
        .replacen('.', ",", 1)
}

/// RFC 3339 with milliseconds, as the audit log's `time`.
pub fn rfc3339(ms: u64) -> String {
    humantime::format_rfc3339_millis(SystemTime::UNIX_EPOCH + Duration::from_millis(ms)).to_string()
}

#[test]
fn the_generator_is_deterministic_and_writes_kafkas_shapes() {
    let a = Scenario::benign(7, MONDAY + 8 * HOUR, 2 * HOUR);
    let b = Scenario::benign(7, MONDAY + 8 * HOUR, 2 * HOUR);
    assert_eq!(a.lines, b.lines);
    assert_eq!(log4j_time(MONDAY + 8 * HOUR + 5), "2026-03-09 08:00:00,005");
    let dir = tempfile::tempdir().unwrap();
    a.write(dir.path());
    let authz = std::fs::read_to_string(dir.path().join(AUTHORIZER_LOG)).unwrap();
    assert!(authz
        .lines()
        .all(|l| l.starts_with("[2026-03-09 ") && l.ends_with(" (kafka.authorizer.logger)")));
    for file in [SERVER_LOG, AUTHORIZER_LOG, AUDIT_LOG] {
        assert!(a.times(file).len() > 100, "{file}");
    }
}
