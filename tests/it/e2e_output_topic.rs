//! End to end against the real Kafka broker (`scripts/kafka-broker.sh`): known records in, the
//! real exporter binary with `output.kafka` on, and every normalized event read back from the
//! output topic exactly once, valid against its OCSF 1.3.0 class, with the input's fields; and
//! the same of `replay` with `output.kafka`, which flushes before it exits.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use kafka_security_exporter::parse::log4j::{frame_all, FramerConfig};
use kafka_security_exporter::parse::{authorizer, controller_log, server_log};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;
use serde_json::Value;

use crate::support::ocsf::OcsfSchema;
use crate::support::{
    admin_config, broker, broker_shared, new_topic, repo_dir, run_exporter, source_config, unique,
    Exporter, Scrape, TestProducer,
};

/// A Confluent audit-log authorization CloudEvent (the shape of a real CP 7.x event).
pub(crate) fn audit_authorization(principal: &str, granted: bool, host: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg","type":"io.confluent.kafka.server/authorization","datacontenttype":"application/json","subject":"crn:///kafka=EyVCDzKYSc2vXhyD-z9PXg/topic=orders","time":"2023-02-21T10:26:58.886604Z","data":{{"serviceName":"crn:///kafka\u003dEyVCDzKYSc2vXhyD-z9PXg","methodName":"kafka.Produce","resourceName":"crn:///kafka\u003dEyVCDzKYSc2vXhyD-z9PXg/topic\u003dorders","authenticationInfo":{{"principal":"{principal}"}},"authorizationInfo":{{"granted":{granted},"operation":"Write","resourceType":"Topic","resourceName":"orders","patternType":"LITERAL"}},"request":{{"correlation_id":"53","client_id":"console-producer"}},"requestMetadata":{{"client_address":"/{host}"}}}}}}"#,
        id = unique("ev"),
    )
}

/// Every record of `topic` until none came for `idle`, as (key, JSON).
fn read_back(topic: &str, idle: Duration) -> Vec<(Option<String>, Value)> {
    let consumer: BaseConsumer = admin_config()
        .set("group.id", unique("read-back"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).unwrap();
    let mut out = Vec::new();
    let mut last = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    while last.elapsed() < idle && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let key = m.key().map(|k| String::from_utf8_lossy(k).into_owned());
                let json = serde_json::from_slice(m.payload().unwrap()).expect("JSON");
                out.push((key, json));
                last = Instant::now();
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => {}
        }
    }
    out
}

#[test]
fn e2e_every_event_reaches_the_output_topic_once_as_valid_ocsf() {
    let _broker = broker_shared();
    let audit = new_topic("out-audit", 2);
    let app = new_topic("out-app", 2);
    let output = new_topic("out-ocsf", 3);
    let producer = TestProducer::new();
    for _ in 0..3 {
        producer.send(
            &audit,
            None,
            audit_authorization("User:alice", false, "172.21.0.1").as_bytes(),
        );
    }
    producer.send(
        &audit,
        None,
        audit_authorization("User:bob", true, "172.21.0.2").as_bytes(),
    );
    for _ in 0..2 {
        producer.send(&app, Some(b"carol"), br#"{"timestamp":"2025-03-18T10:15:30Z","event_type":"login","user":"carol","ip":"10.0.0.1","outcome":"success"}"#);
    }
    producer.send(&app, Some(b"eve"), br#"{"timestamp":"2025-03-18T10:15:31Z","event_type":"login","user":"eve","ip":"10.9.9.9","outcome":"failure"}"#);
    producer.send(&app, None, b"{not json");
    producer.flush();

    // The output's password comes from a file, as a source's may.
    let secrets = tempfile::tempdir().unwrap();
    let password = secrets.path().join("kafka-password");
    std::fs::write(&password, "admin-secret\n").unwrap();
    let mut config = source_config(
        "e2e-out",
        &unique("group"),
        &[(&audit, "confluent_audit"), (&app, "json")],
        "admin",
        "admin-secret",
    );
    config.push_str(&format!(
        "output:\n  kafka:\n    topic: {output}\n    schema: ocsf\n    detections: false\n    properties:\n      bootstrap.servers: \"{}\"\n      security.protocol: SASL_PLAINTEXT\n      sasl.mechanism: SCRAM-SHA-256\n      sasl.username: admin\n      sasl.password: {{ file: {} }}\n      linger.ms: 5\n",
        broker().bootstrap,
        password.display()
    ));
    let exporter = Exporter::start(&config);
    let s = exporter.wait_for(Duration::from_secs(60), "7 events acknowledged", |s| {
        s.sum("kafka_security_output_events_total", &[]) >= 7.0
    });
    assert_eq!(s.sum("kafka_security_events_total", &[]), 7.0);
    assert_eq!(s.sum("kafka_security_output_dropped_total", &[]), 0.0);
    exporter.stop(Duration::from_secs(20));

    let records = read_back(&output, Duration::from_secs(5));
    assert_eq!(records.len(), 7, "{records:#?}");
    let schema = OcsfSchema::load();
    let mut seen = BTreeMap::new();
    for (key, v) in &records {
        assert_eq!(schema.validate(v), Vec::<String>::new(), "{v:#}");
        let origin = &v["unmapped"]["origin"];
        let at = (
            origin["topic"].to_string(),
            origin["partition"].as_i64(),
            origin["offset"].as_i64(),
        );
        assert!(
            seen.insert(at.clone(), v.clone()).is_none(),
            "{at:?} arrived twice"
        );
        // Keyed by the principal the record names.
        let principal = v["user"]["name"]
            .as_str()
            .or(v["actor"]["user"]["name"].as_str());
        assert_eq!(key.as_deref(), principal, "{v:#}");
    }
    let of = |class: u64, name: &str| {
        records
            .iter()
            .map(|(_, v)| v)
            .filter(|v| v["class_uid"] == class)
            .filter(|v| v["user"]["name"] == name || v["actor"]["user"]["name"] == name)
            .collect::<Vec<_>>()
    };
    let alice = of(6003, "User:alice");
    assert_eq!(alice.len(), 3);
    for v in alice {
        assert_eq!(v["status_id"], 2);
        assert_eq!(v["src_endpoint"]["ip"], "172.21.0.1");
        assert_eq!(v["api"]["operation"], "Produce");
        assert_eq!(v["resources"][0]["name"], "orders");
        assert_eq!(v["activity_id"], 3);
        assert_eq!(v["unmapped"]["origin"]["topic"], audit.as_str());
    }
    let bob = of(6003, "User:bob");
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0]["status_id"], 1);
    let carol = of(3002, "carol");
    assert_eq!(carol.len(), 2);
    for v in carol {
        assert_eq!(v["status_id"], 1);
        assert_eq!(v["src_endpoint"]["ip"], "10.0.0.1");
        assert_eq!(v["time"], 1_742_292_930_000_i64);
        assert_eq!(v["metadata"]["log_name"], "json");
    }
    let eve = of(3002, "eve");
    assert_eq!(eve.len(), 1);
    assert_eq!(eve[0]["status_id"], 2);
    assert_eq!(eve[0]["src_endpoint"]["ip"], "10.9.9.9");
    assert!(eve[0]["raw_data"]
        .as_str()
        .unwrap()
        .contains(r#""user":"eve""#));
}

/// The broker-log fixtures replay reads with no configuration, each file without its leading
/// `# source:` lines, under the names Kafka gives its logs (rotated files of one log share a
/// stream): (name, text).
fn replay_inputs() -> Vec<(&'static str, String)> {
    let fixture = |name: &str| {
        let path = repo_dir().join("tests/fixtures/broker_logs").join(name);
        let text = std::fs::read_to_string(&path).unwrap();
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    vec![
        (
            "kafka-authorizer.log",
            fixture("authorizer_kafka44_real.log") + &fixture("authorizer_assembled.log"),
        ),
        (
            "server.log",
            fixture("server_kafka44_real.log") + &fixture("server_assembled.log"),
        ),
        ("controller.log", fixture("controller_kafka44_real.log")),
    ]
}

/// The events the library's parsers read from [`replay_inputs`], by (file, byte offset of the
/// entry): what replay must produce, once each.
fn expected_events(inputs: &[(&str, String)]) -> BTreeMap<(String, i64), String> {
    let mut out = BTreeMap::new();
    for (name, text) in inputs {
        for entry in frame_all(FramerConfig::default(), text.as_bytes()) {
            let parsed = match *name {
                "kafka-authorizer.log" => authorizer::parse(&entry),
                "server.log" => server_log::parse(&entry),
                _ => controller_log::parse(&entry),
            };
            if let Ok(Some(event)) = parsed {
                let offset = i64::try_from(entry.offset).unwrap();
                out.insert((name.to_string(), offset), event.event_type.into_owned());
            }
        }
    }
    out
}

/// `replay` with `output.kafka` in its config produces every event of a known input and every
/// detection to the real broker's topic, once each, valid OCSF, flushed before it exits, and says
/// so in its summary.
#[test]
fn e2e_replay_produces_every_event_and_detection_to_the_output_topic_once() {
    let _broker = broker_shared();
    let output = new_topic("out-replay", 3);
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let inputs = replay_inputs();
    for (name, text) in &inputs {
        std::fs::write(logs.join(name), text).unwrap();
    }
    let expected = expected_events(&inputs);
    assert!(expected.len() >= 25, "{expected:#?}");
    let password = dir.path().join("kafka-password");
    std::fs::write(&password, "admin-secret\n").unwrap();
    let config = dir.path().join("replay.yaml");
    std::fs::write(
        &config,
        format!(
            "detectors:\n  privilege_probing: {{ distinct_resources: 2, window: 1h }}\n\
             output:\n  kafka:\n    topic: {output}\n    schema: ocsf\n    properties:\n      bootstrap.servers: \"{}\"\n      security.protocol: SASL_PLAINTEXT\n      sasl.mechanism: SCRAM-SHA-256\n      sasl.username: admin\n      sasl.password: {{ file: {} }}\n",
            broker().bootstrap,
            password.display()
        ),
    )
    .unwrap();
    let (code, exposition, summary) = run_exporter(&[
        "replay",
        "--progress",
        "never",
        "--config",
        config.to_str().unwrap(),
        logs.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{summary}");
    let scrape = Scrape::parse(&exposition);
    let events = scrape.sum("kafka_security_events_total", &[]);
    let detections = scrape.sum("kafka_security_detections_total", &[]);
    assert_eq!(events, expected.len() as f64, "{summary}");
    assert!(detections >= 1.0, "privilege probing fires: {summary}");
    let produced = expected.len() + detections as usize;
    assert!(
        summary.contains(&format!(
            "Output topic {output}: {produced} produced, 0 dropped.\n"
        )),
        "{summary}"
    );
    assert_eq!(
        scrape.sum("kafka_security_output_events_total", &[]),
        produced as f64
    );
    assert_eq!(scrape.sum("kafka_security_output_dropped_total", &[]), 0.0);

    // Already on the topic when replay exits: read back, each event once, every one valid.
    let records = read_back(&output, Duration::from_secs(5));
    assert_eq!(records.len(), produced, "{records:#?}");
    let schema = OcsfSchema::load();
    let mut seen = BTreeMap::new();
    let mut findings = 0;
    for (key, v) in &records {
        assert_eq!(schema.validate(v), Vec::<String>::new(), "{v:#}");
        if v["class_uid"] == 2004 {
            findings += 1;
            // Keyed by its subject.
            assert_eq!(key.as_deref(), v["unmapped"]["subject"].as_str(), "{v:#}");
            continue;
        }
        let origin = &v["unmapped"]["origin"];
        let path = origin["path"].as_str().expect("a file origin");
        let name = Path::new(path).file_name().unwrap().to_str().unwrap();
        let at = (name.to_string(), origin["offset"].as_i64().unwrap());
        assert!(
            seen.insert(at.clone(), v["metadata"]["event_code"].clone())
                .is_none(),
            "{at:?} arrived twice"
        );
    }
    assert_eq!(findings, detections as usize);
    let arrived: BTreeMap<(String, i64), String> = seen
        .into_iter()
        .map(|(at, code)| (at, code.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(arrived, expected);
    // The client's port of the real server.log lines (their channel ids) is on the topic.
    let ports: Vec<_> = records
        .iter()
        .filter_map(|(_, v)| v["src_endpoint"]["port"].as_u64())
        .collect();
    assert!(
        ports.contains(&32996) && ports.contains(&45428),
        "{ports:?}"
    );
}

/// With the output topic unreachable, `replay` waits at most `--output-flush-secs` at the end,
/// counts what never arrived, names it in its summary and exits with an error.
#[test]
fn replay_gives_up_on_an_unreachable_output_topic_within_its_bound_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("server.log");
    let (_, text) = replay_inputs().remove(1);
    std::fs::write(&log, &text).unwrap();
    let events = expected_events(&[("server.log", text)]).len();
    let config = dir.path().join("replay.yaml");
    // Nothing listens on port 9 (discard) of the loopback interface.
    std::fs::write(
        &config,
        "detectors: {enabled: false}\noutput:\n  kafka:\n    topic: nowhere\n    properties: {bootstrap.servers: '127.0.0.1:9'}\n",
    )
    .unwrap();
    let started = Instant::now();
    let (code, exposition, stderr) = run_exporter(&[
        "replay",
        "--progress",
        "never",
        "--output-flush-secs",
        "2",
        "--config",
        config.to_str().unwrap(),
        log.to_str().unwrap(),
    ]);
    let took = started.elapsed();
    assert_eq!(code, 1, "{stderr}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
    // The producer's connection errors are logged rate-limited (every broker thread reports
    // them, again and again): a few lines, not one per report.
    let client_lines = stderr
        .lines()
        .filter(|l| l.contains("librdkafka") || l.contains("Kafka client error"))
        .count();
    assert!(
        (1..=8).contains(&client_lines),
        "{client_lines} client log lines:\n{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "Output topic nowhere: 0 produced, {events} dropped (shutdown {events}).\n"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "error: {events} event(s) and detection(s) never reached the output topic nowhere (see the summary)"
        )),
        "{stderr}"
    );
    let scrape = Scrape::parse(&exposition);
    assert_eq!(
        scrape.value(
            "kafka_security_output_dropped_total",
            &[("reason", "shutdown")]
        ),
        events as f64
    );
}
