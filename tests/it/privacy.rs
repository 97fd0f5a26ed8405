//! Pseudonymization (`privacy:`): the Crypto-PAn implementation against the published vectors,
//! `check-config` on bad keys, and an investigator's workflow end to end on the real binary:
//! replay broker logs with privacy on, find no real principal or address in the exposition, and
//! map each known name and address to the pseudonym the exposition shows with `pseudonym`.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use kafka_security_exporter::privacy::cryptopan::CryptoPan;

use crate::support::{repo_dir, run_exporter, Sample, Scrape};

/// The labels whose values name people or their machines.
const IDENTIFYING: [&str; 3] = ["principal", "client_host", "subject"];

/// The broker logs replayed: real Kafka 4.4 logs and assembled ones with injections, SSL
/// distinguished names, IPv6 clients and request-log principals.
const LOGS: [&str; 7] = [
    "authorizer_kafka44_real.log",
    "authorizer_assembled.log",
    "server_kafka44_real.log",
    "server_assembled.log",
    "request_kafka44_real.log",
    "request_text_pre28_assembled.log",
    "controller_quota_token_assembled.log",
];

#[test]
fn crypto_pan_reproduces_the_published_vectors() {
    let text =
        std::fs::read_to_string(repo_dir().join("tests/fixtures/crypto_pan/vectors.txt")).unwrap();
    let mut lines = text.lines().filter(|l| !l.starts_with('#'));
    let key: Vec<u8> = lines
        .next()
        .and_then(|l| l.strip_prefix("key "))
        .expect("the key line first")
        .split(' ')
        .map(|b| b.parse().unwrap())
        .collect();
    let pan = CryptoPan::new(&key.try_into().expect("32 bytes"));
    let (mut v4, mut v6) = (0, 0);
    for line in lines {
        let (from, to) = line.split_once(' ').unwrap();
        let (from, to): (IpAddr, IpAddr) = (from.parse().unwrap(), to.parse().unwrap());
        assert_eq!(pan.pseudonymize(from), to, "{from}");
        assert_eq!(pan.reveal(to), from, "{to}");
        if from.is_ipv4() {
            v4 += 1;
        } else {
            v6 += 1;
        }
    }
    assert_eq!((v4, v6), (70, 5), "every vector read");
}

/// A config with a `privacy:` section (or none) and the request-duration principal label on,
/// in `dir`; its path.
fn config(dir: &Path, privacy: bool) -> String {
    let key = dir.join("key");
    std::fs::write(&key, "jX0ZC4GQ1rB4X9cYy2vP7cK8m3Qe5TtNwA6sLbUuRzHf\n").unwrap();
    let mut yaml = "metrics:\n  request_duration_by_principal: true\n".to_string();
    if privacy {
        yaml.push_str(&format!(
            "privacy:\n  pseudonymize: {{principals: true, addresses: true}}\n  key_file: {}\n  key_id: k7\n",
            key.display()
        ));
    }
    let path = dir.join(if privacy {
        "private.yaml"
    } else {
        "plain.yaml"
    });
    std::fs::write(&path, yaml).unwrap();
    path.to_str().unwrap().to_string()
}

/// `replay --config CONFIG` of [`LOGS`]: the exposition and stderr (summary, detections).
fn replay(config: &str) -> (String, String) {
    let dir = repo_dir().join("tests/fixtures/broker_logs");
    let files: Vec<String> = LOGS
        .iter()
        .map(|f| dir.join(f).to_str().unwrap().to_string())
        .collect();
    let mut args = vec!["replay", "--progress", "never", "--config", config];
    args.extend(files.iter().map(String::as_str));
    let (code, out, err) = run_exporter(&args);
    assert_eq!(code, 0, "{err}");
    (out, err)
}

/// The series that carry an identifying label, by name and labels.
fn identified(scrape: &Scrape) -> BTreeMap<(String, Vec<(String, String)>), f64> {
    scrape
        .samples
        .iter()
        .filter(|s| IDENTIFYING.iter().any(|k| s.labels.contains_key(*k)))
        .map(
            |Sample {
                 name,
                 labels,
                 value,
             }| { ((name.clone(), labels.clone().into_iter().collect()), *value) },
        )
        .collect()
}

#[test]
fn replayed_metrics_name_no_one_and_match_the_pseudonym_command() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, _) = replay(&config(dir.path(), false));
    let private_config = config(dir.path(), true);
    let (private, stderr) = replay(&private_config);
    let plain = Scrape::parse(&plain);

    // Who the logs name, as the exporter shows them without privacy: principals and addresses
    // (a detection's subject may also be a log stream or `all`, and Kafka's unauthenticated
    // `User:ANONYMOUS`, which stays as it is, names no one).
    let people: BTreeSet<String> = plain
        .samples
        .iter()
        .flat_map(|s| IDENTIFYING.iter().filter_map(|k| s.labels.get(*k)))
        .filter(|v| v.starts_with("User:") || v.parse::<IpAddr>().is_ok())
        .filter(|v| *v != "User:ANONYMOUS")
        .cloned()
        .collect();
    let anonymous = [("principal", "User:ANONYMOUS")];
    assert!(plain.sum("kafka_security_request_duration_seconds_count", &anonymous) > 0.0);
    for known in [
        "User:carol",
        "User:CN=alice smith,OU=eng,O=Acme",
        "127.0.0.1",
    ] {
        assert!(people.contains(known), "{known} not in {people:?}");
    }
    assert!(people.iter().any(|p| p.contains(":0:")), "an IPv6 client");

    // The investigator asks for each one's pseudonym.
    let mut args = vec!["pseudonym", "--config", &private_config];
    args.extend(people.iter().map(String::as_str));
    let (code, out, err) = run_exporter(&args);
    assert_eq!(code, 0, "{err}");
    let pseudonyms: BTreeMap<&str, &str> =
        people.iter().map(String::as_str).zip(out.lines()).collect();
    assert_eq!(pseudonyms.len(), people.len(), "one line per value:\n{out}");

    // No one appears anywhere, as a label value or inside one, nor in the summary or the
    // detections logged; the names without their `User:` are looked for too.
    for person in &people {
        let bare = person.strip_prefix("User:").unwrap_or(person);
        assert!(
            !private.contains(bare),
            "{bare} in the exposition:\n{private}"
        );
        assert!(!stderr.contains(bare), "{bare} on stderr:\n{stderr}");
        let pseudonym = pseudonyms[person.as_str()];
        assert_ne!(pseudonym, person);
        if person.starts_with("User:") {
            assert!(pseudonym.starts_with("User:k7:"), "{pseudonym}");
        } else {
            assert!(pseudonym.parse::<IpAddr>().is_ok(), "{pseudonym}");
        }
    }

    // Every series is the plain one with its people replaced by their pseudonyms, value for
    // value: metric labels and detection subjects agree with the subcommand.
    let translated: BTreeMap<_, _> = identified(&plain)
        .into_iter()
        .map(|((name, labels), value)| {
            let labels = labels
                .into_iter()
                .map(|(k, v)| {
                    let v = match pseudonyms.get(v.as_str()) {
                        Some(p) if IDENTIFYING.contains(&k.as_str()) => p.to_string(),
                        _ => v,
                    };
                    (k, v)
                })
                .collect();
            ((name, labels), value)
        })
        .collect();
    let private = Scrape::parse(&private);
    assert_eq!(identified(&private), translated);
    let detections = private.sum("kafka_security_detections_total", &[]);
    assert!(detections > 0.0, "detections on pseudonyms");

    // And back: the address pseudonyms reverse to the addresses.
    let addresses: Vec<&str> = people
        .iter()
        .filter(|p| p.parse::<IpAddr>().is_ok())
        .map(|p| pseudonyms[p.as_str()])
        .collect();
    let mut args = vec!["pseudonym", "--config", &private_config, "--reverse"];
    args.extend(&addresses);
    let (code, out, err) = run_exporter(&args);
    assert_eq!(code, 0, "{err}");
    let revealed: Vec<IpAddr> = out.lines().map(|l| l.parse().unwrap()).collect();
    let originals: Vec<IpAddr> = people.iter().filter_map(|p| p.parse().ok()).collect();
    assert_eq!(revealed, originals);
}

#[test]
fn pseudonym_refuses_what_it_cannot_answer() {
    let dir = tempfile::tempdir().unwrap();
    let private_config = config(dir.path(), true);
    let (code, out, err) = run_exporter(&[
        "pseudonym",
        "--config",
        &private_config,
        "--reverse",
        "User:k7:00",
        "10.0.0.1",
    ]);
    assert_eq!(code, 64, "{err}");
    assert_eq!(out, "", "nothing printed when a value has no answer");
    assert!(
        err.contains("cannot reverse `User:k7:00`") && err.contains("one-way"),
        "{err}"
    );
    let plain = config(dir.path(), false);
    let (code, _, err) = run_exporter(&["pseudonym", "--config", &plain, "User:alice"]);
    assert_eq!(code, 64);
    assert!(err.starts_with("2 problem(s) found:"), "{err}");
    assert!(
        err.contains("privacy.key_id: required") && err.contains("privacy.key_file: required"),
        "{err}"
    );
}

/// The entries of a broker-log fixture, without its `# source:` lines.
fn fixture_entries(name: &str) -> String {
    let path = repo_dir().join("tests/fixtures/broker_logs").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// A principal, a client address and a client port, as an event, span or record states them.
type Who = (Option<String>, Option<String>, Option<String>);

/// With privacy on, the exporter tails real and assembled broker logs and pushes spans and log
/// records to a real OpenTelemetry Collector: every event's span and record carries the
/// pseudonyms the library computes for its principal and client address (and the client's
/// port unchanged), and no span attribute, record attribute or record body holds a real
/// principal or address.
#[test]
fn spans_and_log_records_carry_pseudonyms_never_the_people_at_a_real_collector() {
    use kafka_security_exporter::config::Config;
    use kafka_security_exporter::event::SecurityEvent;
    use kafka_security_exporter::parse::log4j::{frame_all, FramerConfig, LogEntry};
    use kafka_security_exporter::parse::{authorizer, server_log, ParseError};

    type Parse = fn(&LogEntry) -> Result<Option<SecurityEvent<'_>>, ParseError>;

    use crate::support::collector::Collector;
    use crate::support::{wait_until, Exporter};

    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    let authorizer_log = fixture_entries("authorizer_kafka44_real.log")
        + &fixture_entries("authorizer_assembled.log");
    let server_log_text = fixture_entries("server_kafka44_real.log");
    std::fs::write(logs.join("kafka-authorizer.log"), &authorizer_log).unwrap();
    std::fs::write(logs.join("server.log"), &server_log_text).unwrap();

    // The events as the parsers read them, and as the pseudonymizer of the same key writes them.
    let key = dir.path().join("key");
    std::fs::write(&key, "jX0ZC4GQ1rB4X9cYy2vP7cK8m3Qe5TtNwA6sLbUuRzHf\n").unwrap();
    let privacy = format!(
        "privacy:\n  pseudonymize: {{principals: true, addresses: true}}\n  key_file: {}\n  key_id: k7\n",
        key.display()
    );
    let p = Config::parse(&privacy)
        .unwrap()
        .privacy
        .load()
        .unwrap()
        .expect("privacy on");
    let mut people = BTreeSet::new();
    let mut expected: Vec<Who> = Vec::new();
    for (text, parse) in [
        (&authorizer_log, authorizer::parse as Parse),
        (&server_log_text, server_log::parse as Parse),
    ] {
        for entry in frame_all(FramerConfig::default(), text.as_bytes()) {
            let Ok(Some(mut event)) = parse(&entry) else {
                continue;
            };
            people.extend(event.principal.as_deref().map(str::to_string));
            people.extend(event.client_host.as_deref().map(str::to_string));
            p.event(&mut event);
            expected.push((
                event.principal.as_deref().map(str::to_string),
                event.client_host.as_deref().map(str::to_string),
                event.client_port.map(|port| port.to_string()),
            ));
        }
    }
    expected.sort();
    assert_eq!(expected.len(), 11, "{expected:?}");
    let ports = expected.iter().filter(|w| w.2.is_some()).count();
    assert_eq!(
        ports, 2,
        "the real server.log lines name their client's port"
    );
    assert!(people.contains("User:alice") && people.contains("0:0:0:0:0:0:0:1"));

    let collector = Collector::start();
    let yaml = format!(
        "sources:\n  - file:\n      name: logs\n      paths: ['{logs}/*.log']\n      start_at: beginning\n      state_dir: '{state}'\n      poll_interval_ms: 50\n\
         detectors: {{enabled: false}}\n\
         otlp:\n  endpoint: {endpoint}\n  service_name: kse-e2e-privacy\n  traces: {{ schedule_delay_ms: 100 }}\n  logs: {{ schedule_delay_ms: 100 }}\n\
         {privacy}",
        logs = logs.display(),
        state = dir.path().display(),
        endpoint = collector.endpoint(false),
    );
    let exporter = Exporter::start(&yaml);
    let event_spans = || {
        collector
            .spans()
            .into_iter()
            .filter(|s| s.attributes.contains_key("kafka_security.category"))
            .collect::<Vec<_>>()
    };
    wait_until(
        Duration::from_secs(30),
        "11 event spans and records",
        || (event_spans().len() >= 11 && collector.log_records().len() >= 11).then_some(()),
    );
    std::thread::sleep(Duration::from_millis(500)); // nothing more may come
    let spans = event_spans();
    let records = collector.log_records();
    exporter.stop(Duration::from_secs(30));

    let get = |a: &BTreeMap<String, String>, k: &str| a.get(k).cloned();
    let mut from_spans: Vec<Who> = spans
        .iter()
        .map(|s| {
            let a = &s.attributes;
            let principal = get(a, "kafka_security.principal");
            (principal, get(a, "client.address"), get(a, "client.port"))
        })
        .collect();
    from_spans.sort();
    assert_eq!(from_spans, expected, "spans");
    let mut from_records: Vec<Who> = records
        .iter()
        .map(|r| {
            let a = &r.attributes;
            let principal = get(a, "user.name");
            (principal, get(a, "client.address"), get(a, "client.port"))
        })
        .collect();
    from_records.sort();
    assert_eq!(from_records, expected, "log records");

    // Nothing anywhere names a real principal or address, not even inside a longer value.
    let all_spans = collector.spans();
    let texts = all_spans
        .iter()
        .flat_map(|s| s.attributes.iter().chain(&s.resource))
        .chain(records.iter().flat_map(|r| r.attributes.iter()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .chain(records.iter().map(|r| ("body", r.body.as_str())));
    for (key, value) in texts {
        for who in &people {
            assert!(!value.contains(who.as_str()), "{key}={value:?} names {who}");
        }
    }
}
