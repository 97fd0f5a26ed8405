//! End to end against the real Kafka broker (`scripts/kafka-broker.sh`): known records in, the
//! real exporter binary with `output.kafka` on, and every normalized event read back from the
//! output topic exactly once, valid against its OCSF 1.3.0 class, with the input's fields.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::Message;
use serde_json::Value;

use crate::support::ocsf::OcsfSchema;
use crate::support::{
    admin_config, broker, broker_shared, new_topic, source_config, unique, Exporter, TestProducer,
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
