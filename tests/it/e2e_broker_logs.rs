//! The real Kafka 4.x broker's own log files, tailed by the real exporter while a security
//! scenario runs against the broker and log4j2 rotates the files underneath (scripts/test.sh
//! starts the broker with `KSE_KAFKA_LOG_ROLL_SECS=20`: a real rename rollover every 20 s).
//!
//! Scenario: a SCRAM credential is added for a fresh user; ACLs are created (allow and deny) and
//! one deleted; that user is denied Produce (by a DENY rule), Fetch and group Read; clients fail
//! to log in with a wrong password, as an unknown user and with a mechanism the listener does
//! not enable. Changes have exact expected values. For lines whose count depends on client
//! retries (failed logins, denials), the expected value is counted independently from the bytes
//! the broker appended to its files during the test (by inode, across rotations), and each must
//! be at least one.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::support::{
    appended, broker, broker_shared, client_config, new_topic, poll_until, repo_dir, snapshot,
    unique, wait_until, Exporter, Scrape,
};

fn admin(args: &[&str]) {
    let out = Command::new("bash")
        .arg(repo_dir().join("scripts/kafka-broker.sh"))
        .arg("admin")
        .args(args)
        .output()
        .expect("run kafka-broker.sh admin");
    assert!(
        out.status.success(),
        "admin {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Lines the broker appended that contain every one of `needles`.
fn count(appended: &[(String, String)], needles: &[&str]) -> usize {
    appended
        .iter()
        .flat_map(|(_, text)| text.lines())
        .filter(|l| needles.iter().all(|n| l.contains(n)))
        .count()
}

/// Connects with these credentials and asks for metadata, which fails to authenticate.
fn failed_login(user: &str, password: &str, mechanism: &str) {
    let mut cc = client_config(user, password);
    cc.set("sasl.mechanism", mechanism)
        .set("reconnect.backoff.ms", "2000")
        .set("reconnect.backoff.max.ms", "2000");
    let consumer: BaseConsumer = cc.create().unwrap();
    let err = consumer.fetch_metadata(None, Duration::from_secs(3));
    assert!(err.is_err(), "{user}/{mechanism} should not log in");
}

fn carol(user: &str) -> ClientConfig {
    let mut cc = client_config(user, "carol-secret");
    cc.set("enable.idempotence", "false");
    cc
}

/// Produce as `user`: denied by the DENY rule.
fn denied_produce(user: &str, topic: &str) {
    let producer: ThreadedProducer<DefaultProducerContext> = carol(user)
        .set("message.timeout.ms", "5000")
        .set("acks", "1")
        .create()
        .unwrap();
    let _ = producer.send(BaseRecord::<(), [u8]>::to(topic).payload(b"x"));
    let _ = producer.flush(Duration::from_secs(6));
}

/// Fetch as `user` from partition 0 with group `group`: denied READ on the topic (or on the
/// group, when the group has no ACL).
fn denied_fetch(user: &str, topic: &str, group: &str) {
    let consumer: BaseConsumer = carol(user)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(topic, 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&tpl).unwrap();
    let deadline = Instant::now() + Duration::from_secs(4);
    while Instant::now() < deadline {
        if let Some(Err(_)) = consumer.poll(Duration::from_millis(200)) {
            break;
        }
    }
    // Offset lookup against the group exercises group READ.
    let _ = consumer.committed(Duration::from_secs(3));
}

fn wait_for_rotation(dir: &Path, since: &HashMap<u64, u64>, file: &str) {
    let rotated = poll_until(Duration::from_secs(70), Duration::from_millis(250), || {
        let rotated = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .any(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(&format!("{file}.")) && {
                    let m = e.metadata().unwrap();
                    // Renamed from the file we saw (same inode), or a new file rolled since.
                    since.contains_key(&m.ino()) && m.len() > 0
                }
            });
        rotated.then_some(())
    });
    assert!(
        rotated.is_some(),
        "{file} was not rotated within 70 s: start the broker with KSE_KAFKA_LOG_ROLL_SECS=20 (scripts/test.sh does)"
    );
}

#[test]
fn broker_logs_give_exact_security_metrics_through_rotation() {
    let _broker = broker_shared();
    let b = broker();
    let roll: u64 = std::env::var("KSE_KAFKA_LOG_ROLL_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .expect("the broker must roll its logs: start it with KSE_KAFKA_LOG_ROLL_SECS=20 (scripts/test.sh does)");
    let logs = b.logs_dir.clone();
    let state = tempfile::tempdir().unwrap();
    let exporter = Exporter::start(&format!(
        "sources:\n  - file:\n      name: broker\n      paths: ['{}/*.log*']\n      start_at: end\n      state_dir: '{}'\n      poll_interval_ms: 100\n      rotate_wait_secs: 2\n",
        logs.display(),
        state.path().display()
    ));
    wait_until(
        Duration::from_secs(20),
        "the file source to be ready",
        || (exporter.readyz().0 == 200).then_some(()),
    );
    // The first poll has placed every file at its end; from here on, what the broker appends
    // is what the exporter must count.
    std::thread::sleep(Duration::from_millis(500));
    let before = snapshot(&logs);

    let user = unique("carol");
    let topic = new_topic("blogs", 1);
    let group_ok = unique("g-ok");
    let group_no = unique("g-no");
    let principal = format!("User:{user}");
    admin(&[
        "kafka.admin.ConfigCommand",
        "--alter",
        "--entity-type",
        "users",
        "--entity-name",
        &user,
        "--add-config",
        "SCRAM-SHA-256=[iterations=4096,password=carol-secret]",
    ]);
    // `AclCommand <action…> <allow|deny>-principal P --operation O --<topic|group> R`.
    let acl = |action: &[&str], permission: &str, who: &str, op: &str, kind: &str, name: &str| {
        let mut args = vec!["org.apache.kafka.tools.AclCommand"];
        args.extend_from_slice(action);
        args.extend([permission, who, "--operation", op, kind, name]);
        admin(&args);
    };
    acl(
        &["--add"],
        "--allow-principal",
        &principal,
        "Describe",
        "--topic",
        &topic,
    );
    acl(
        &["--add"],
        "--allow-principal",
        &principal,
        "Read",
        "--group",
        &group_ok,
    );
    acl(
        &["--add"],
        "--deny-principal",
        &principal,
        "Write",
        "--topic",
        &topic,
    );
    acl(
        &["--add"],
        "--allow-principal",
        "User:bob",
        "Read",
        "--topic",
        &topic,
    );
    acl(
        &["--remove", "--force"],
        "--allow-principal",
        "User:bob",
        "Read",
        "--topic",
        &topic,
    );

    // Round one of the attacks, then a rotation, then round two: the exporter must follow the
    // renamed files and the new ones.
    let attacks = |round: usize| {
        denied_produce(&user, &topic);
        denied_fetch(&user, &topic, &group_ok);
        denied_fetch(&user, &topic, &group_no);
        failed_login("alice", "wrong-password", "SCRAM-SHA-256");
        failed_login(&format!("nobody-{round}"), "x", "SCRAM-SHA-256");
        failed_login("alice", "alice-secret", "SCRAM-SHA-512");
    };
    attacks(1);
    let mid = snapshot(&logs);
    wait_for_rotation(&logs, &mid, "kafka-authorizer.log");
    wait_for_rotation(&logs, &mid, "server.log");
    attacks(2);

    let expect = |s: &Scrape, now: &[(String, String)]| -> Vec<String> {
        let mut wrong = Vec::new();
        let mut check = |what: &str, got: f64, want: usize, at_least: usize| {
            eprintln!("{what}: exporter {got}, broker log {want}");
            if got != want as f64 || want < at_least {
                wrong.push(format!(
                    "{what}: exporter {got}, broker log {want} (need ≥ {at_least})"
                ));
            }
        };
        let denied = |op: &str, rt: &str, name: &str| {
            s.sum(
                "kafka_security_authorization_denials_by_principal_total",
                &[
                    ("principal", &principal),
                    ("operation", op),
                    ("resource_type", rt),
                    ("resource_name", name),
                ],
            )
        };
        let p = format!("Principal = {principal} is Denied operation = ");
        let t = format!(":LITERAL:{topic} ");
        check(
            "Produce denial (WRITE Topic)",
            denied("WRITE", "Topic", &topic),
            count(now, &[&p, "WRITE", &t, "for request = Produce"]),
            2,
        );
        check(
            "Fetch denial (READ Topic)",
            denied("READ", "Topic", &topic),
            count(now, &[&format!("{p}READ"), &format!("Topic{t}")]),
            2,
        );
        let g = format!("Group:LITERAL:{group_no} ");
        check(
            "group denials",
            s.sum(
                "kafka_security_authorization_denials_by_principal_total",
                &[
                    ("principal", &principal),
                    ("resource_type", "Group"),
                    ("resource_name", &group_no),
                ],
            ),
            count(now, &[&p, &g]),
            2,
        );
        check(
            "failed logins (invalid credentials)",
            s.sum(
                "kafka_security_authentication_failures_by_client_total",
                &[
                    ("client_host", "127.0.0.1"),
                    ("reason", "invalid_credentials"),
                ],
            ),
            count(
                now,
                &[
                    "Failed authentication with /127.0.0.1 ",
                    "invalid credentials",
                ],
            ),
            4,
        );
        check(
            "failed logins (unsupported mechanism)",
            s.sum(
                "kafka_security_authentication_failures_by_client_total",
                &[
                    ("client_host", "127.0.0.1"),
                    ("reason", "unsupported_mechanism"),
                ],
            ),
            count(
                now,
                &[
                    "Failed authentication with /127.0.0.1 ",
                    "Unsupported SASL mechanism SCRAM-SHA-512",
                ],
            ),
            2,
        );
        check(
            "authentication_total failures",
            s.sum(
                "kafka_security_authentication_total",
                &[("outcome", "failure")],
            ),
            count(now, &["Failed authentication with /"]),
            6,
        );
        for (what, action, rt, perm, want) in [
            ("ACLs created (allow, Topic)", "create", "Topic", "allow", 2),
            ("ACLs created (allow, Group)", "create", "Group", "allow", 1),
            ("ACLs created (deny, Topic)", "create", "Topic", "deny", 1),
            ("ACLs deleted (allow, Topic)", "delete", "Topic", "allow", 1),
        ] {
            let labels = [
                ("action", action),
                ("resource_type", rt),
                ("permission", perm),
            ];
            check(
                what,
                s.sum("kafka_security_acl_changes_total", &labels),
                want,
                0,
            );
        }
        check(
            "SCRAM credentials created",
            s.sum(
                "kafka_security_credential_changes_total",
                &[("action", "create"), ("mechanism", "SCRAM-SHA-256")],
            ),
            1,
            0,
        );
        check(
            "parse errors",
            s.sum("kafka_security_parse_errors_total", &[]),
            0,
            0,
        );
        wrong
    };
    let mut wrong = Vec::new();
    let matched = poll_until(Duration::from_secs(30), Duration::from_millis(500), || {
        let now = appended(&logs, &before);
        wrong = expect(&exporter.scrape(), &now);
        wrong.is_empty().then_some(now)
    });
    let Some(now) = matched else {
        panic!(
            "metrics do not match the broker's logs:\n{}",
            wrong.join("\n")
        );
    };
    // Our lines really were split across a rotation.
    let rotated_with_ours = now
        .iter()
        .any(|(name, text)| name.starts_with("kafka-authorizer.log.") && text.contains(&principal));
    assert!(
        rotated_with_ours,
        "no rotated authorizer file holds this test's denials (roll every {roll} s)"
    );
    exporter.stop(Duration::from_secs(15));
}

/// Broker log lines shipped to a topic (plain, one per record; Docker json-file wrapped; ECS
/// JSON with only the message) are read by the same parsers, with exact counts.
#[test]
fn broker_log_lines_from_a_topic() {
    let _broker = broker_shared();
    use crate::support::{source_config, TestProducer};
    let topic = new_topic("shipped-logs", 2);
    let fixtures = repo_dir().join("tests/fixtures/broker_logs");
    let real_authz = std::fs::read_to_string(fixtures.join("authorizer_kafka44_real.log")).unwrap();
    let real_server = std::fs::read_to_string(fixtures.join("server_kafka44_real.log")).unwrap();
    let producer = TestProducer::new();
    let mut sent = 0;
    // Plain lines, one per record (the real Kafka 4.4 files, comments skipped).
    for line in real_authz.lines().chain(real_server.lines()) {
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        producer.send(&topic, None, line.as_bytes());
        sent += 1;
    }
    // Docker's json-file wrapper around a full line.
    let denial = "[2026-11-26 14:06:31,000] INFO Principal = User:shipped is Denied operation = READ from host = 10.1.1.1 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)";
    let docker = serde_json::json!({"log": format!("{denial}\n"), "stream": "stdout", "time": "2026-11-26T14:06:31.000Z"});
    producer.send(&topic, None, docker.to_string().as_bytes());
    // ECS: the message alone, level and logger beside it.
    let ecs = serde_json::json!({"@timestamp": "2026-11-26T14:06:32.000Z", "log.level": "INFO", "log.logger": "kafka.authorizer.logger", "message": "Principal = User:shipped is Denied operation = READ from host = 10.1.1.1 on resource = Group:LITERAL:g1 for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny"});
    producer.send(&topic, None, ecs.to_string().as_bytes());
    // Not a log line at all.
    producer.send(&topic, None, b"{\"hello\":\"world\"}");
    producer.flush();
    sent += 3;

    let exporter = Exporter::start(&source_config(
        "shipped",
        &unique("g"),
        &[(&topic, "broker_log")],
        "admin",
        "admin-secret",
    ));
    let s = exporter.wait_for(Duration::from_secs(60), "every shipped line", |s| {
        s.sum("kafka_security_log_lines_total", &[])
            + s.sum("kafka_security_parse_errors_total", &[])
            >= sent as f64
    });
    // The real authorizer file holds alice's denials; the real server.log its failed logins.
    let in_fixture = |text: &str, marker: &str| {
        let n = text.matches(marker).count() as f64;
        assert!(n >= 1.0, "no {marker:?} in the fixture");
        n
    };
    let want_denied = in_fixture(&real_authz, " is Denied ");
    let want_failed = in_fixture(&real_server, "Failed authentication with");
    assert_eq!(
        s.sum(
            "kafka_security_authorization_total",
            &[("decision", "denied")]
        ),
        want_denied + 2.0
    );
    assert_eq!(
        s.value(
            "kafka_security_authorization_denials_by_principal_total",
            &[
                ("principal", "User:shipped"),
                ("operation", "READ"),
                ("resource_type", "Group"),
                ("resource_name", "g1")
            ]
        ),
        2.0
    );
    assert_eq!(
        s.sum(
            "kafka_security_authentication_total",
            &[("outcome", "failure")]
        ),
        want_failed
    );
    assert_eq!(
        s.value(
            "kafka_security_parse_errors_total",
            &[
                ("source", "shipped"),
                ("format", "unknown"),
                ("reason", "missing_field")
            ]
        ),
        1.0
    );
    exporter.stop(Duration::from_secs(15));
}
