//! The README's metric table is generated from the metric catalogue and checked against it, and
//! against what the exporter really registers, so the three never drift: same names, same types,
//! same label keys.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use kafka_security_exporter::detect::{Detection, Detector, Severity};
use kafka_security_exporter::event::{Category, Format, Origin, Outcome, SecurityEvent};
use kafka_security_exporter::event::{ChangeAction, Rejection};
use kafka_security_exporter::metrics::internal::{
    DetectionRaised, InternalEvent, LayoutChosen, StateCommitFailed,
};
use kafka_security_exporter::metrics::{catalogue, Metrics, MetricsConfig};
use kafka_security_exporter::parse::log4j::{Choice, LayoutName, Level, LinePrefix};
use kafka_security_exporter::parse::ParseError;
use prometheus::proto::MetricType;

fn readme_table() -> BTreeMap<String, (String, BTreeSet<String>)> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let mut rows = BTreeMap::new();
    for line in readme.lines() {
        let Some(rest) = line.strip_prefix("| `kafka_security_") else {
            continue;
        };
        let cells: Vec<&str> = rest.split('|').map(str::trim).collect();
        let name = format!("kafka_security_{}", cells[0].trim_end_matches('`'));
        let kind = cells[1].to_string();
        let labels = cells[2]
            .split(',')
            .map(|l| l.trim().trim_matches('`').to_string())
            .filter(|l| !l.is_empty())
            .collect();
        rows.insert(name, (kind, labels));
    }
    rows
}

#[test]
fn every_metric_is_documented_exactly() {
    let metrics = Metrics::new(&MetricsConfig::default()).unwrap();
    // Touch every family so each has a child to describe: one event of each category that has
    // metrics of its own.
    for (format, category, outcome, event_type) in [
        (
            Format::Json,
            Category::Authentication,
            Outcome::Failure,
            "t",
        ),
        (Format::Json, Category::Authorization, Outcome::Denied, "t"),
        (
            Format::ControllerLog,
            Category::AclChange,
            Outcome::Success,
            "acl_created",
        ),
        (
            Format::ControllerLog,
            Category::CredentialChange,
            Outcome::Success,
            "scram_credential_created",
        ),
        (
            Format::ControllerLog,
            Category::ConfigChange,
            Outcome::Success,
            "config_set",
        ),
        (
            Format::ServerLog,
            Category::Connection,
            Outcome::Success,
            "connection_rejected",
        ),
    ] {
        let now = SystemTime::now();
        let mut e = SecurityEvent::new(format, category, outcome, event_type, Origin::Memory, now);
        e.event_time = Some(now);
        e.action = Some(ChangeAction::Create);
        e.rejection = Some(Rejection::PerIpLimit);
        metrics.record("s", &e, now);
    }
    metrics.record_request("Produce", None, 0.01);
    metrics.record_log_line(Some(Format::ServerLog), Level::Info);
    metrics.record_controller_replay("s");
    metrics.record_log_injection(Some("User:mallory"));
    metrics.record_parse_error("s", None, &ParseError::Empty);
    metrics.set_source_up("s", true);
    metrics.record_redelivery("s");
    metrics.set_consumer_lag("s", "t", 0, 0);
    metrics.init_log_files("s");
    metrics.init_checkpoints("s");
    LayoutChosen {
        source: "s",
        path: "server.log",
        choice: Choice {
            layout: LayoutName::Kafka,
            prefix: LinePrefix::None,
        },
        anchored: true,
    }
    .emit(&metrics);
    metrics.init_otlp_signals();
    metrics.init_detectors(&[Detector::BruteForce]);
    metrics.init_web_config();
    metrics.set_log_files_skipped("s", "unreadable", 0);
    metrics.record_clock_jump("forward", 0);
    metrics.init_output();
    metrics.init_state();
    StateCommitFailed {
        source: "s",
        error: &"the coordinator is away",
    }
    .emit(&metrics);
    DetectionRaised {
        source: "s",
        detection: &Detection {
            detector: Detector::BruteForce,
            severity: Severity::Critical,
            subject: "10.0.0.9".into(),
            first_event: SystemTime::UNIX_EPOCH,
            last_event: SystemTime::UNIX_EPOCH,
            count: 20,
            detail: "20 failed logins".into(),
        },
    }
    .emit(&metrics);

    let mut registered = BTreeMap::new();
    for family in metrics.registry().gather() {
        let name = family.name().to_string();
        if name.starts_with("process_") {
            continue;
        }
        let kind = match family.get_field_type() {
            MetricType::COUNTER => "counter",
            MetricType::GAUGE => "gauge",
            MetricType::HISTOGRAM => "histogram",
            other => panic!("{name}: unexpected type {other:?}"),
        };
        let labels: BTreeSet<String> = family.get_metric()[0]
            .get_label()
            .iter()
            .map(|l| l.name().to_string())
            .collect();
        registered.insert(name, (kind.to_string(), labels));
    }
    assert_eq!(
        readme_table(),
        registered,
        "README metric table (left) vs registry (right)"
    );
}

/// The README section between the catalogue's markers.
fn readme_section() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme
        .find(catalogue::README_START)
        .unwrap_or_else(|| panic!("README lacks the marker {:?}", catalogue::README_START))
        + catalogue::README_START.len();
    let end = start
        + readme[start..]
            .find(catalogue::README_END)
            .unwrap_or_else(|| panic!("README lacks the marker {:?}", catalogue::README_END));
    readme[start..end].to_string()
}

#[test]
fn the_metric_table_is_generated_from_the_catalogue() {
    let expected = catalogue::readme_table();
    let got = readme_section();
    assert!(
        got == expected,
        "README.md's metric table differs from the catalogue (src/metrics/catalogue.rs). \
         Replace the lines between the markers with:\n{expected}"
    );
}

#[test]
fn the_config_example_is_valid() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("### Config file").expect("config section")..];
    let start = section.find("```yaml\n").expect("yaml block") + "```yaml\n".len();
    let end = start + section[start..].find("```").expect("block end");
    std::env::set_var("KAFKA_PASSWORD", "from-the-environment");
    let config = kafka_security_exporter::config::Config::parse(&section[start..end])
        .unwrap_or_else(|e| panic!("README config example is invalid:\n{e}"));
    let kinds: Vec<&str> = config
        .sources
        .iter()
        .map(|s| match s {
            kafka_security_exporter::config::SourceConfig::Kafka(_) => "kafka",
            kafka_security_exporter::config::SourceConfig::File(_) => "file",
        })
        .collect();
    assert_eq!(kinds, ["kafka", "kafka", "file"]);
}
