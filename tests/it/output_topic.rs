//! The output topic's OCSF records against the vendored OCSF 1.3.0 schema
//! (`tests/fixtures/ocsf/`): every event the broker-log fixtures hold, as the parsers read them,
//! and a detection; and `check-config` on a bad `output:` section. No broker: the end-to-end
//! test on the real one is `e2e_output_topic`.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use kafka_security_exporter::detect::{Detection, Detector, Severity};
use kafka_security_exporter::event::SecurityEvent;
use kafka_security_exporter::output::{self, Context, Schema};
use kafka_security_exporter::parse::log4j::{frame_all, FramerConfig};
use kafka_security_exporter::parse::{authorizer, controller_log, server_log};
use serde_json::Value;

use crate::support::ocsf::OcsfSchema;
use crate::support::run_exporter;

const CTX: Context = Context {
    raw_data_max_bytes: 4096,
};

fn ocsf(event: &SecurityEvent<'_>, raw: &str) -> Value {
    let mut out = Vec::new();
    output::write_event(Schema::Ocsf, &CTX, event, raw.as_bytes(), &mut out);
    serde_json::from_slice(&out).unwrap()
}

/// Every event of the authorizer, server and controller log fixtures, with its message.
fn fixture_events() -> Vec<(SecurityEvent<'static>, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broker_logs");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut events = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let parse = if name.starts_with("authorizer_") {
            authorizer::parse
        } else if name.starts_with("server_") {
            server_log::parse
        } else if name.starts_with("controller_") {
            controller_log::parse
        } else {
            continue;
        };
        let body = std::fs::read(&path).unwrap();
        for entry in frame_all(FramerConfig::default(), &body) {
            if let Ok(Some(event)) = parse(&entry) {
                events.push((event.into_owned(), entry.message.clone()));
            }
        }
    }
    events
}

#[test]
fn every_fixture_event_validates_against_its_ocsf_class() {
    let schema = OcsfSchema::load();
    let events = fixture_events();
    assert!(events.len() >= 30, "only {} events", events.len());
    let mut classes = BTreeSet::new();
    let mut with_port = 0;
    for (event, raw) in &events {
        let v = ocsf(event, raw);
        let problems = schema.validate(&v);
        assert!(problems.is_empty(), "{problems:#?}\nin {v:#}\nfrom {raw}");
        // The fields match the event's.
        assert_eq!(v["metadata"]["event_code"], event.event_type.as_ref());
        assert_eq!(v["metadata"]["log_name"], event.format.as_str());
        assert_eq!(v["raw_data"], raw.trim_end());
        if let Some(p) = &event.principal {
            let named = [
                &v["user"]["name"],
                &v["actor"]["user"]["name"],
                &v["unmapped"]["principal"],
            ];
            assert!(
                named.contains(&&Value::from(p.as_ref())),
                "{p} not in {v:#}"
            );
        }
        if let Some(host) = &event.client_host {
            let src = &v["src_endpoint"];
            assert!(
                src["ip"] == host.as_ref() || src["hostname"] == host.as_ref(),
                "{v:#}"
            );
        }
        // The client's port (from Kafka's connection id) is the source endpoint's, or absent.
        match event.client_port {
            Some(port) => {
                assert_eq!(v["src_endpoint"]["port"], port, "{v:#}");
                with_port += 1;
            }
            None => assert!(v["src_endpoint"].get("port").is_none(), "{v:#}"),
        }
        classes.insert(v["class_uid"].as_u64().unwrap());
    }
    // The real and assembled server.log lines with a channel id: 2 real, 6 assembled.
    assert_eq!(with_port, 8, "events with a client port");
    // Authentication, Account Change, User Access Management, Network Activity, API Activity.
    assert_eq!(
        classes,
        BTreeSet::from([3002, 3001, 3005, 4001, 6003]),
        "the fixtures no longer cover every class"
    );
}

#[test]
fn a_detection_validates_as_a_detection_finding() {
    let schema = OcsfSchema::load();
    for (detector, severity) in [
        (Detector::BruteForce, Severity::Critical),
        (Detector::Anomaly, Severity::Warning),
    ] {
        let d = Detection {
            detector,
            severity,
            subject: "10.0.0.5".into(),
            first_event: UNIX_EPOCH + Duration::from_secs(1_704_067_200),
            last_event: UNIX_EPOCH + Duration::from_secs(1_704_067_260),
            count: 23,
            detail: "23 failed logins in 5m".into(),
        };
        let mut out = Vec::new();
        output::write_detection(Schema::Ocsf, &CTX, &d, UNIX_EPOCH, &mut out);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(schema.validate(&v), Vec::<String>::new(), "{v:#}");
        assert_eq!(v["class_uid"], 2004);
    }
}

/// The validator is no rubber stamp: it finds what is missing, mistyped or undefined.
#[test]
fn the_validator_rejects_broken_events() {
    let schema = OcsfSchema::load();
    let (event, raw) = fixture_events()
        .into_iter()
        .find(|(e, _)| e.category.as_str() == "authentication")
        .expect("an authentication");
    let good = ocsf(&event, &raw);
    assert_eq!(schema.validate(&good), Vec::<String>::new());
    let broken = |f: &dyn Fn(&mut Value)| {
        let mut v = good.clone();
        f(&mut v);
        schema.validate(&v)
    };
    assert_eq!(
        broken(&|v| {
            v.as_object_mut().unwrap().remove("user");
        }),
        ["user: required"]
    );
    assert_eq!(
        broken(&|v| v["time"] = "yesterday".into()),
        ["time: \"yesterday\" is not a long_t"]
    );
    assert_eq!(
        broken(&|v| v["src_endpoint"]["ip"] = "not-an-ip".into()),
        ["src_endpoint.ip: \"not-an-ip\" is not a ip_t"]
    );
    assert_eq!(
        broken(&|v| v["src_endpoint"]["port"] = 70000.into()),
        ["src_endpoint.port: 70000 is not a port_t"]
    );
    assert_eq!(
        broken(&|v| v["activity_id"] = 7.into())[0],
        "type_uid: expected class_uid * 100 + activity_id = 300207"
    );
    assert_eq!(
        broken(&|v| v["user"]["nickname"] = "x".into()),
        ["user.nickname: not an attribute here"]
    );
    assert_eq!(
        broken(&|v| v["metadata"]["product"] = Value::Object(Default::default())),
        [
            "metadata.product.vendor_name: required",
            "metadata.product: needs at least one of [String(\"name\"), String(\"uid\")]"
        ]
    );
}

#[test]
fn check_config_names_every_problem_of_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad-output.yaml");
    std::fs::write(
        &file,
        r#"
output:
  kafka:
    topic: "security events"
    queue_max_events: 0
    properties:
      acks: "1"
      linger.ms: soon
      sasl.password: { file: /nonexistent/kafka-password }
"#,
    )
    .unwrap();
    let (code, _, err) = run_exporter(&["check-config", file.to_str().unwrap()]);
    assert_eq!(code, 64, "{err}");
    for needle in [
        "output.kafka.topic: `security events` is not a valid Kafka topic name",
        "output.kafka.queue_max_events: 0 is not between 1 and 10000000",
        "output.kafka.properties: `bootstrap.servers` is required",
        "output.kafka.properties.acks: not allowed here",
        "output.kafka.properties.linger.ms: librdkafka rejects `soon`",
        "output.kafka.properties.sasl.password: cannot read /nonexistent/kafka-password",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(err.starts_with("6 problem(s) found:"), "{err}");

    std::fs::write(
        &file,
        "output:\n  kafka:\n    topic: events\n    schema: xml\n",
    )
    .unwrap();
    let (code, _, err) = run_exporter(&["check-config", file.to_str().unwrap()]);
    assert_eq!(code, 64, "{err}");
    assert!(
        err.contains("unknown variant `xml`, expected `ocsf` or `ecs`"),
        "{err}"
    );
}

/// The end-to-end test's input (`e2e_output_topic`), through the parsers here: what it expects
/// of the topic holds without the broker too.
#[test]
fn the_end_to_end_input_maps_to_what_that_test_expects() {
    use kafka_security_exporter::parse::{Input, Parsed, Parsers, ParsersConfig, Record};
    let schema = OcsfSchema::load();
    let parsers = Parsers::new(&ParsersConfig::default()).unwrap();
    let audit = crate::e2e_output_topic::audit_authorization("User:alice", false, "172.21.0.1");
    let login = r#"{"timestamp":"2025-03-18T10:15:31Z","event_type":"login","user":"eve","ip":"10.9.9.9","outcome":"failure"}"#;
    let mut got = Vec::new();
    for (input, payload) in [
        (Input::ConfluentAudit, audit.as_str()),
        (Input::Json, login),
    ] {
        let record = Record::from_payload(payload.as_bytes());
        let Ok(Parsed::Event(event)) = parsers.parse(input, &FramerConfig::default(), &record)
        else {
            panic!("{payload} is not an event");
        };
        let v = ocsf(&event, payload);
        assert_eq!(schema.validate(&v), Vec::<String>::new(), "{v:#}");
        got.push(v);
    }
    assert_eq!(got[0]["class_uid"], 6003);
    assert_eq!(got[0]["actor"]["user"]["name"], "User:alice");
    assert_eq!(got[0]["status_id"], 2);
    assert_eq!(got[0]["src_endpoint"]["ip"], "172.21.0.1");
    assert_eq!(got[0]["api"]["operation"], "Produce");
    assert_eq!(got[0]["resources"][0]["name"], "orders");
    assert_eq!(got[0]["activity_id"], 3);
    assert_eq!(got[1]["class_uid"], 3002);
    assert_eq!(got[1]["user"]["name"], "eve");
    assert_eq!(got[1]["status_id"], 2);
    assert_eq!(got[1]["src_endpoint"]["ip"], "10.9.9.9");
    assert_eq!(got[1]["time"], 1_742_292_931_000_i64);
    assert_eq!(got[1]["metadata"]["log_name"], "json");
}
