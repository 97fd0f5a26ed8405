//! The demo's broker log directory: `server.log`, `kafka-authorizer.log`, `controller.log` and
//! `kafka-request.log` written in Kafka 4.x's own layout and formats, rotated like log4j2 does.

use std::io::Write;
use std::path::PathBuf;
use std::time::SystemTime;

use super::generator::{Generator, ATTACKER_HOST, HOSTS, TOPIC_NAMES, USERS};

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
