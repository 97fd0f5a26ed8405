//! Runs every fixture under `tests/fixtures/broker_logs/` through the log4j framer and the parser
//! its name starts with (`authorizer_`, `server_`, `controller_`, `request_`), and compares every entry's
//! result with the exact expectations below: every event field (absent ones too), `None` for
//! lines that are not security lines, or the error's `reason()`. Each file's leading `#` lines
//! name where its lines come from. Also: chunked reads give the same results.

use std::collections::BTreeMap;
use std::path::Path;

use kafka_security_exporter::event::SecurityEvent;
use kafka_security_exporter::parse::log4j::{frame_all, Framer, FramerConfig, LogEntry};
use kafka_security_exporter::parse::{
    authorizer, controller_log, request_log, server_log, ParseError,
};

#[derive(Debug, PartialEq)]
enum Expected {
    Event(BTreeMap<String, String>),
    NotSecurity,
    Error(&'static str),
}

/// An event: `key=value` pairs, as [`SecurityEvent::fields`] names them; the `format` is implied
/// by the file. `event_time` may be written with fewer digits: it is compared at full precision.
fn ev(pairs: &[(&str, &str)]) -> Expected {
    ev_opt(pairs, &[])
}

/// [`ev`] with the `optional` pairs that hold a value added.
fn ev_opt(pairs: &[(&str, &str)], optional: &[(&str, Option<&str>)]) -> Expected {
    let present = optional.iter().filter_map(|(k, v)| v.map(|v| (*k, v)));
    Expected::Event(
        pairs
            .iter()
            .copied()
            .chain(present)
            .map(|(k, v)| {
                let v = if k == "event_time" {
                    let t = humantime::parse_rfc3339(v).unwrap_or_else(|e| panic!("{v}: {e}"));
                    humantime::format_rfc3339_nanos(t).to_string()
                } else {
                    v.to_string()
                };
                (k.to_string(), v)
            })
            .collect(),
    )
}

/// [`SecurityEvent::fields`] but the `format`, which [`parse_entry`] checks against the file.
fn fields(e: &SecurityEvent<'_>) -> BTreeMap<String, String> {
    e.fields()
        .into_iter()
        .filter(|(k, _)| *k != "format")
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

// One expected entry a line, in the order of the fixture file.
#[rustfmt::skip]
fn expectations(file: &str) -> Vec<Expected> {
    use Expected::{Error, NotSecurity};
    let authz = |time: &str,
                 outcome: &str,
                 principal: &str,
                 op: &str,
                 host: &str,
                 rt: &str,
                 pt: Option<&str>,
                 name: &str,
                 api: Option<&str>,
                 reason: Option<&str>| {
        ev_opt(
            &[
                ("category", "authorization"),
                ("outcome", outcome),
                ("event_type", "authorization"),
                ("event_time", time),
                ("principal", principal),
                ("operation", op),
                ("client_host", host),
                ("resource_type", rt),
                ("resource_name", name),
            ],
            &[("pattern_type", pt), ("api", api), ("reason", reason)],
        )
    };
    match file {
        "authorizer_kafka44_real.log" => vec![
            authz("2026-11-26T14:06:30.883Z", "denied", "User:alice", "WRITE", "127.0.0.1", "Topic", Some("LITERAL"), "orders", Some("Produce"), Some("no_matching_acl")),
        ],
        "authorizer_assembled.log" => vec![
            authz("2026-11-26T14:07:00.001Z", "denied", "User:bob", "READ", "127.0.0.1", "Topic", Some("LITERAL"), "alpha", Some("Fetch"), Some("deny_acl")),
            authz("2026-11-26T14:07:00.002Z", "denied", "User:bob", "READ", "127.0.0.1", "Group", Some("LITERAL"), "billing-consumers", Some("JoinGroup"), Some("deny_acl")),
            authz("2026-11-26T14:07:00.003Z", "allowed", "User:admin", "ALTER", "127.0.0.1", "Cluster", Some("LITERAL"), "kafka-cluster", Some("CreateAcls"), None),
            authz("2026-11-26T14:07:00.004Z", "denied", "User:CN=alice smith,OU=eng,O=Acme", "DESCRIBE", "0:0:0:0:0:0:0:1", "TransactionalId", Some("LITERAL"), "tx-1", Some("InitProducerId"), Some("no_matching_acl")),
            authz("2026-11-26T14:07:00.005Z", "denied", "User:carol", "WRITE", "10.0.0.7", "Topic", Some("LITERAL"), "orders", Some("Produce"), None),
            authz("2026-11-26T14:07:00.006Z", "denied", "User:carol", "IDEMPOTENT_WRITE", "10.0.0.7", "Cluster", Some("LITERAL"), "kafka-cluster", None, None),
            authz("2026-11-26T14:07:00.007Z", "denied", "User:carol", "READ", "10.0.0.7", "Topic", None, "orders", None, None),
            authz("2026-11-26T14:07:00.008Z", "denied", "User:dave", "DESCRIBE_CONFIGS", "192.0.2.1", "Topic", Some("LITERAL"), "payments", Some("DescribeConfigs"), Some("no_matching_acl")),
            NotSecurity,
        ],
        "authorizer_hostile.log" => vec![
            // A forged tail inside the group id stays in the group id.
            authz("2026-11-26T14:08:00.001Z", "denied", "User:mallory", "READ", "10.0.0.9", "Group", Some("LITERAL"), "g for request = Fetch with resourceRefCount = 9 based on rule SuperUser", Some("JoinGroup"), Some("no_matching_acl")),
            // A full forged clause in a group id: the first clause is the genuine one, the
            // forged one stays in the group id.
            authz("2026-11-26T14:08:00.002Z", "denied", "User:mallory", "READ", "10.0.0.9", "Group", Some("LITERAL"), "x is Allowed operation = READ from host = 1.2.3.4 on resource = Topic:LITERAL:secret", Some("JoinGroup"), Some("no_matching_acl")),
            // A full forged clause in a DN: it allows, the rule denies; it stays in the principal.
            authz("2026-11-26T14:08:00.003Z", "denied", "User:CN=x is Allowed operation = ALTER from host = 1.2.3.4 on resource = Cluster:LITERAL:kafka-cluster", "READ", "10.0.0.9", "Topic", Some("LITERAL"), "orders", Some("Fetch"), Some("no_matching_acl")),
            // Half a clause in the principal stays in the principal.
            authz("2026-11-26T14:08:00.004Z", "denied", "User:a is Denied operation = from host = x", "WRITE", "127.0.0.1", "Topic", Some("LITERAL"), "orders", Some("Produce"), Some("no_matching_acl")),
            // A group id with newlines and a forged header: the split entry keeps the genuine
            // prefix, the forged line escaped in its group id; its tail (SuperUser) contradicts
            // the decision, so it has no API of its own...
            authz("2026-11-26T14:08:00.005Z", "denied", "User:mallory", "READ", "10.0.0.9", "Group", Some("LITERAL"), "g\\n[2026-11-26 14:08:00,005] INFO Principal = User:admin is Allowed operation = ALTER from host = 1.2.3.4 on resource = Cluster:LITERAL:kafka-cluster", None, None),
            // ...and the entry after it, read alone, looks genuine: the pipeline takes only its
            // tail, for the split entry (`the_hostile_fixture_counts_each_genuine_decision_once`).
            authz("2026-11-26T14:08:00.005Z", "denied", "User:y", "READ", "1.2.3.4", "Group", Some("LITERAL"), "h", Some("JoinGroup"), Some("no_matching_acl")),
            // The next genuine line is read normally.
            authz("2026-11-26T14:08:00.006Z", "denied", "User:bob", "WRITE", "127.0.0.1", "Topic", Some("LITERAL"), "orders", Some("Produce"), Some("no_matching_acl")),
            // A SASL name holding a clause, denied on a topic: a topic name cannot hold the
            // genuine clause after it, so the forged one is not taken.
            authz("2026-11-26T14:08:00.007Z", "denied", "User:eve is Allowed operation = READ from host = 10.0.0.5 on resource = Topic:LITERAL:payments", "WRITE", "10.0.0.9", "Topic", Some("LITERAL"), "orders", Some("Produce"), Some("no_matching_acl")),
            // Every clause contradicts the rule: nothing can be counted.
            Error("invalid_field"),
        ],
        "server_kafka44_real.log" => {
            // The client's port is the remote port of the connection id.
            let real = |time: &str, port: &str| {
                ev(&[
                    ("category", "authentication"),
                    ("outcome", "failure"),
                    ("event_type", "failed_authentication"),
                    ("event_time", time),
                    ("client_host", "127.0.0.1"),
                    ("client_port", port),
                    ("listener", "BROKER"),
                    ("broker_id", "1"),
                    ("mechanism", "SCRAM-SHA-256"),
                    ("reason", "invalid_credentials"),
                ])
            };
            vec![
                real("2026-11-26T14:06:16.546Z", "32996"),
                real("2026-11-26T15:08:01.518Z", "45428"),
                NotSecurity,
            ]
        }
        "server_assembled.log" => {
            let auth = |time: &str,
                        et: &str,
                        host: &str,
                        port: Option<&str>,
                        listener: Option<&str>,
                        broker: &str,
                        mech: Option<&str>,
                        reason: &str| {
                ev_opt(
                    &[
                        ("category", "authentication"),
                        ("outcome", "failure"),
                        ("event_type", et),
                        ("event_time", time),
                        ("client_host", host),
                        ("broker_id", broker),
                        ("reason", reason),
                    ],
                    &[("client_port", port), ("listener", listener), ("mechanism", mech)],
                )
            };
            vec![
                auth("2019-06-01T10:00:00.001Z", "failed_authentication", "10.0.0.5", None, None, "0", Some("PLAIN"), "unsupported_mechanism"),
                auth("2023-01-19T19:52:33.832Z", "failed_authentication", "172.22.0.2", None, Some("ZK_BROKER"), "1", None, "other"),
                auth("2024-04-11T08:21:57.800Z", "failed_authentication", "0:0:0:0:0:0:0:1", Some("59568"), Some("ZK_BROKER"), "1", Some("SCRAM-SHA-512"), "invalid_credentials"),
                auth("2024-04-11T08:21:58.000Z", "failed_authentication", "192.168.208.9", None, Some("ZK_BROKER"), "1", None, "other"),
                auth("2025-03-18T10:20:09.003Z", "failed_authentication", "127.0.0.1", Some("53140"), Some("BROKER"), "1", Some("SSL"), "ssl_handshake"),
                auth("2025-03-18T10:20:11.004Z", "failed_reauthentication", "127.0.0.1", Some("53124"), Some("BROKER"), "1", None, "principal_change"),
                auth("2025-03-18T10:20:12.005Z", "failed_authentication", "127.0.0.1", Some("53190"), Some("CONTROLLER"), "1", None, "invalid_token"),
                auth("2025-03-18T10:21:00.000Z", "unexpected_request_during_sasl_handshake", "127.0.0.1", Some("53150"), Some("BROKER"), "1", None, "other"),
                ev(&[
                    ("category", "connection"),
                    ("outcome", "failure"),
                    ("event_type", "invalid_receive"),
                    ("event_time", "2025-03-18T10:22:00.000Z"),
                    ("client_host", "10.1.2.3"),
                    ("client_port", "53150"),
                    ("listener", "BROKER"),
                    ("broker_id", "1"),
                    ("reason", "invalid_receive_size"),
                ]),
                ev(&[
                    ("category", "connection"),
                    ("outcome", "failure"),
                    ("event_type", "connection_rejected"),
                    ("rejection", "per_ip_limit"),
                    ("event_time", "2025-03-18T10:40:00.000Z"),
                    ("client_host", "127.0.0.2"),
                ]),
                NotSecurity,
            ]
        }
        "controller_kafka44_real.log" => vec![
            ev(&[
                ("category", "acl_change"),
                ("outcome", "success"),
                ("event_type", "acl_created"),
                ("action", "create"),
                ("event_time", "2026-11-26T14:06:27.938Z"),
                ("broker_id", "1"),
                ("operation", "DESCRIBE"),
                ("resource_type", "Topic"),
                ("resource_name", "orders"),
                ("pattern_type", "LITERAL"),
                ("principal", "User:alice"),
                ("permission", "allow"),
            ]),
            ev(&[
                ("category", "credential_change"),
                ("outcome", "success"),
                ("event_type", "scram_credential_created"),
                ("action", "create"),
                ("event_time", "2026-11-26T14:06:45.468Z"),
                ("broker_id", "1"),
                ("principal", "carol"),
                ("mechanism", "SCRAM-SHA-256"),
            ]),
            ev(&[
                ("category", "config_change"),
                ("outcome", "success"),
                ("event_type", "config_set"),
                ("event_time", "2026-11-26T15:01:21.005Z"),
                ("broker_id", "1"),
                ("resource_type", "Broker"),
                ("config_key", "min.insync.replicas"),
            ]),
            ev(&[
                ("category", "config_change"),
                ("outcome", "success"),
                ("event_type", "config_set"),
                ("event_time", "2026-11-26T15:01:21.508Z"),
                ("broker_id", "1"),
                ("resource_type", "Topic"),
                ("resource_name", "__consumer_offsets"),
                ("config_key", "compression.type"),
            ]),
            ev(&[
                ("category", "resource_change"),
                ("outcome", "success"),
                ("event_type", "topic_created"),
                ("event_time", "2026-11-26T15:19:40.271Z"),
                ("broker_id", "1"),
                ("resource_type", "Topic"),
                ("resource_name", "audit-20045-912077180"),
            ]),
            NotSecurity,
        ],
        "controller_assembled.log" => vec![
            ev(&[
                ("category", "acl_change"),
                ("outcome", "success"),
                ("event_type", "acl_deleted"),
                ("action", "delete"),
                ("event_time", "2025-03-18T10:30:00.100Z"),
                ("broker_id", "1"),
                ("operation", "READ"),
                ("resource_type", "Group"),
                ("resource_name", "billing-"),
                ("pattern_type", "PREFIXED"),
                ("principal", "User:CN=bob,OU=eng"),
                ("permission", "deny"),
            ]),
            ev(&[
                ("category", "credential_change"),
                ("outcome", "success"),
                ("event_type", "scram_credential_updated"),
                ("action", "update"),
                ("event_time", "2025-03-18T10:32:00.300Z"),
                ("broker_id", "1"),
                ("principal", "alice"),
                ("mechanism", "SCRAM-SHA-512"),
            ]),
            ev(&[
                ("category", "credential_change"),
                ("outcome", "success"),
                ("event_type", "scram_credential_deleted"),
                ("action", "delete"),
                ("event_time", "2025-03-18T10:32:30.300Z"),
                ("broker_id", "1"),
                ("principal", "alice"),
                ("mechanism", "SCRAM-SHA-256"),
            ]),
            ev(&[
                ("category", "config_change"),
                ("outcome", "success"),
                ("event_type", "config_set"),
                ("event_time", "2025-03-18T10:33:00.400Z"),
                ("broker_id", "1"),
                ("resource_type", "Topic"),
                ("resource_name", "orders"),
                ("config_key", "retention.ms"),
            ]),
            ev(&[
                ("category", "config_change"),
                ("outcome", "success"),
                ("event_type", "config_removed"),
                ("event_time", "2025-03-18T10:33:30.400Z"),
                ("broker_id", "1"),
                ("resource_type", "Topic"),
                ("resource_name", "orders"),
                ("config_key", "retention.ms"),
            ]),
            ev(&[
                ("category", "resource_change"),
                ("outcome", "success"),
                ("event_type", "topic_deleted"),
                ("event_time", "2025-03-18T10:34:00.500Z"),
                ("broker_id", "1"),
                ("resource_type", "Topic"),
                ("resource_name", "orders"),
            ]),
        ],
        "controller_quota_token_assembled.log" => vec![
            ev(&[
                ("category", "config_change"),
                ("outcome", "success"),
                ("event_type", "quota_set"),
                ("event_time", "2025-03-18T10:35:00.000Z"),
                ("broker_id", "1"),
                ("resource_type", "ClientQuota"),
                ("resource_name", "user=alice"),
                ("config_key", "producer_byte_rate"),
            ]),
            ev(&[
                ("category", "config_change"),
                ("outcome", "success"),
                ("event_type", "quota_removed"),
                ("event_time", "2025-03-18T10:35:01.000Z"),
                ("broker_id", "1"),
                ("resource_type", "ClientQuota"),
                ("resource_name", "user=alice, client-id=app-1"),
                ("config_key", "consumer_byte_rate"),
            ]),
            ev(&[
                ("category", "credential_change"),
                ("outcome", "success"),
                ("event_type", "delegation_token_created"),
                ("action", "create"),
                ("event_time", "2025-03-18T10:35:02.000Z"),
                ("broker_id", "1"),
                ("mechanism", "delegation-token"),
            ]),
            ev(&[
                ("category", "credential_change"),
                ("outcome", "success"),
                ("event_type", "delegation_token_deleted"),
                ("action", "delete"),
                ("event_time", "2025-03-18T10:35:03.000Z"),
                ("broker_id", "1"),
                ("mechanism", "delegation-token"),
            ]),
            NotSecurity,
        ],
        "request_kafka44_real.log" => vec![
            ev(&[
                ("api", "CreateAcls"),
                ("principal", "User:admin"),
                ("client_id", "adminclient-1"),
                ("listener", "CONTROLLER"),
                ("seconds", &(58.681f64 / 1000.0).to_string()),
            ]),
            ev(&[
                ("api", "Metadata"),
                ("principal", "User:alice"),
                ("client_id", "console-producer"),
                ("listener", "SASL_PLAINTEXT"),
                ("seconds", &(14.891f64 / 1000.0).to_string()),
            ]),
            ev(&[
                ("api", "Produce"),
                ("principal", "User:alice"),
                ("client_id", "console-producer"),
                ("listener", "SASL_PLAINTEXT"),
                ("seconds", &(22.582f64 / 1000.0).to_string()),
                ("error_code", "29"),
            ]),
        ],
        "request_assembled.log" => vec![
            ev(&[
                ("api", "Metadata"),
                ("principal", "User:alice"),
                ("client_id", "console-producer"),
                ("listener", "SASL_PLAINTEXT"),
                ("seconds", "0.001234"),
                ("error_code", "29"),
            ]),
            ev(&[
                ("api", "AlterUserScramCredentials"),
                ("principal", "User:admin"),
                ("client_id", "adminclient-1"),
                ("listener", "SASL_PLAINTEXT"),
                ("seconds", "0.0125"),
            ]),
            ev(&[
                ("api", "Fetch"),
                ("principal", "User:mallory"),
                ("client_id", "x\"errorCode\":31,\"principal\":\"User:admin"),
                ("listener", "SASL_PLAINTEXT"),
                ("seconds", "0.50075"),
            ]),
            Error("invalid_json"),
            NotSecurity,
        ],
        "request_text_pre28_assembled.log" => vec![
            ev(&[
                ("api", "Produce"),
                ("principal", "User:alice"),
                ("client_id", "producer-1"),
                ("listener", "SASL_PLAINTEXT"),
                ("seconds", &(2.371f64 / 1000.0).to_string()),
            ]),
            ev(&[
                ("api", "CreateAcls"),
                ("principal", "User:CN=admin,OU=ops,O=Example Corp,C=US"),
                ("client_id", "adminclient-1"),
                ("listener", "SSL"),
                ("seconds", &(12.5f64 / 1000.0).to_string()),
            ]),
            ev(&[
                ("api", "Fetch"),
                ("principal", "User:ANONYMOUS"),
                ("client_id", "consumer-g1-1"),
                ("listener", "PLAINTEXT"),
                ("seconds", &(501.2f64 / 1000.0).to_string()),
            ]),
            Error("invalid_field"),
            NotSecurity,
        ],
        other => panic!("no expectations for fixture {other}"),
    }
}

fn parse_entry(file: &str, entry: &LogEntry) -> Expected {
    let (result, format) = if file.starts_with("authorizer_") {
        (authorizer::parse(entry), "authorizer_log")
    } else if file.starts_with("server_") {
        (server_log::parse(entry), "server_log")
    } else if file.starts_with("controller_") {
        (controller_log::parse(entry), "controller_log")
    } else if file.starts_with("request_") {
        return match request_log::parse_message(&entry.message) {
            Ok(Some(r)) => {
                let mut m = BTreeMap::new();
                m.insert("api".to_string(), r.api.to_string());
                let mut put = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v);
                    }
                };
                put("principal", r.principal.map(|v| v.to_string()));
                put("client_id", r.client_id.map(|v| v.to_string()));
                put("listener", r.listener.map(|v| v.to_string()));
                put("seconds", Some(r.total_time_secs.to_string()));
                put("error_code", r.error_code.map(|c| c.to_string()));
                Expected::Event(m)
            }
            Ok(None) => Expected::NotSecurity,
            Err(e) => Expected::Error(reason_of(&e)),
        };
    } else {
        panic!("fixture {file} names no parser");
    };
    match result {
        Ok(Some(e)) => {
            assert_eq!(e.format.as_str(), format, "{file}");
            Expected::Event(fields(&e))
        }
        Ok(None) => Expected::NotSecurity,
        Err(e) => Expected::Error(reason_of(&e)),
    }
}

fn reason_of(e: &ParseError) -> &'static str {
    e.reason()
}

/// The fixture's bytes after its leading `#` lines, and those lines.
fn load(path: &Path) -> (String, Vec<u8>) {
    let text = std::fs::read(path).unwrap();
    let mut at = 0;
    let mut header = String::new();
    while text[at..].starts_with(b"#") {
        let end = text[at..].iter().position(|&b| b == b'\n').unwrap() + at + 1;
        header.push_str(std::str::from_utf8(&text[at..end]).unwrap());
        at = end;
    }
    (header, text[at..].to_vec())
}

#[test]
fn every_fixture_entry_parses_to_exactly_what_is_expected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broker_logs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        11,
        "a fixture was added or removed: update the expectations"
    );
    let mut checked = 0;
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let (header, body) = load(&path);
        assert!(
            header.starts_with("# source: "),
            "{name} must name its source"
        );
        let entries = frame_all(FramerConfig::default(), &body);
        let got: Vec<Expected> = entries.iter().map(|e| parse_entry(&name, e)).collect();
        let want = expectations(&name);
        assert_eq!(got.len(), want.len(), "{name}: entries {entries:#?}");
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "{name}, entry {i}: {:?}", entries[i].message);
            checked += 1;
        }

        // Byte-by-byte and CRLF reads give the same entries.
        let mut framer = Framer::new(FramerConfig::default());
        let mut out = Vec::new();
        for b in body.chunks(1) {
            framer.push(b, &mut out);
        }
        framer.flush(&mut out);
        assert_eq!(out, entries, "{name}: byte-by-byte");
        let crlf: Vec<u8> = String::from_utf8(body.clone())
            .unwrap()
            .replace('\n', "\r\n")
            .into_bytes();
        let crlf_entries = frame_all(FramerConfig::default(), &crlf);
        let msgs = |v: &[LogEntry]| v.iter().map(|e| e.message.clone()).collect::<Vec<_>>();
        assert_eq!(msgs(&crlf_entries), msgs(&entries), "{name}: CRLF");
    }
    assert!(checked >= 40, "only {checked} entries checked");
}

/// `authorizer_hostile.log` through the framer and the pipeline, as a file source or `replay`
/// applies it: every genuine decision is counted once, for its principal and API; no forged one
/// is counted; every injected entry is counted once, for the principal who wrote it.
#[test]
fn the_hostile_fixture_counts_each_genuine_decision_once() {
    use kafka_security_exporter::event::Origin;
    use kafka_security_exporter::metrics::{Metrics, MetricsConfig};
    use kafka_security_exporter::parse::{Input, Parsers, ParsersConfig};
    use kafka_security_exporter::pipeline::{Item, LogStream, Pipeline};
    use std::sync::Arc;

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/broker_logs/authorizer_hostile.log");
    let (_, body) = load(&path);
    let pipeline = Pipeline::new(
        Parsers::new(&ParsersConfig::default()).unwrap(),
        Arc::new(Metrics::new(&MetricsConfig::default()).unwrap()),
    );
    let mut stream = LogStream::default();
    for entry in frame_all(FramerConfig::default(), &body) {
        let item = Item::Entry {
            entry: &entry,
            origin: Origin::Memory,
            stream: &mut stream,
        };
        pipeline.apply("hostile", Input::BrokerLog, item);
    }
    pipeline.end_stream("hostile", &mut stream);
    let text = String::from_utf8(pipeline.metrics().render()).unwrap();
    let series = |metric: &str| -> BTreeMap<String, f64> {
        text.lines()
            .filter_map(|l| {
                let rest = l.strip_prefix(metric)?.strip_prefix('{')?;
                let (labels, value) = rest.rsplit_once("} ")?;
                Some((labels.to_string(), value.parse().unwrap()))
            })
            .collect()
    };
    let expected = |pairs: &[(&str, f64)]| -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    };
    assert_eq!(
        series("kafka_security_authorization_total"),
        expected(&[
            // Lines 1, 2 and the split decision (lines 5-7), all mallory's.
            (
                "api=\"JoinGroup\",decision=\"denied\",operation=\"READ\",resource_type=\"Group\"",
                3.0
            ),
            (
                "api=\"Fetch\",decision=\"denied\",operation=\"READ\",resource_type=\"Topic\"",
                1.0
            ),
            (
                "api=\"Produce\",decision=\"denied\",operation=\"WRITE\",resource_type=\"Topic\"",
                3.0
            ),
        ])
    );
    let denials = series("kafka_security_authorization_denials_by_principal_total");
    let by_principal = |p: &str| -> f64 {
        denials
            .iter()
            .filter(|(k, _)| k.contains(&format!("principal=\"{p}\"")))
            .map(|(_, v)| v)
            .sum()
    };
    assert_eq!(by_principal("User:mallory"), 3.0);
    assert_eq!(by_principal("User:bob"), 1.0);
    // The forged principals of the split entry and the one after it.
    assert_eq!(by_principal("User:admin"), 0.0);
    assert_eq!(by_principal("User:y"), 0.0);
    assert_eq!(denials.values().sum::<f64>(), 7.0);
    assert_eq!(
        series("kafka_security_log_injection_total"),
        expected(&[
            // Lines 1, 2, the split decision and the unrecoverable line.
            ("principal=\"User:mallory\"", 4.0),
            ("principal=\"User:CN=x is Allowed operation = ALTER from host = 1.2.3.4 on resource = Cluster:LITERAL:kafka-cluster\"", 1.0),
            ("principal=\"User:a is Denied operation = from host = x\"", 1.0),
            ("principal=\"User:eve is Allowed operation = READ from host = 10.0.0.5 on resource = Topic:LITERAL:payments\"", 1.0),
        ])
    );
    assert_eq!(
        series("kafka_security_parse_errors_total"),
        expected(&[(
            "format=\"authorizer_log\",reason=\"invalid_field\",source=\"hostile\"",
            1.0
        )])
    );
}
