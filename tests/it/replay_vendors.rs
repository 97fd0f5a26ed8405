//! `replay` over other vendors' security logs, each format sniffed per file with no flags:
//! Aiven's authorizer lines in a broker log, Redpanda's OCSF audit log, and Amazon MSK broker
//! logs in CloudWatch Logs records (as Firehose writes them to S3, plain and gzip per record).
//! Exact counts per format, outcome and parse-error reason.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;
use kafka_security_exporter::replay::{self, FileFormat, LogKind, ReplayArgs, Replayed};

use crate::support::Scrape;

#[derive(clap::Parser)]
struct W {
    #[command(flatten)]
    a: ReplayArgs,
}

fn replay_files(files: &[&Path]) -> Replayed {
    let mut argv = vec!["replay".to_string(), "--progress".into(), "never".into()];
    argv.extend(files.iter().map(|f| f.display().to_string()));
    let options = replay::ReplayOptions::from_args(&W::try_parse_from(argv).unwrap().a).unwrap();
    replay::replay(&options).unwrap()
}

fn scrape(r: &Replayed) -> Scrape {
    Scrape::parse(&String::from_utf8(r.metrics.render()).unwrap())
}

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/vendors")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn events(s: &Scrape, labels: &[(&str, &str)]) -> f64 {
    s.sum("kafka_security_events_total", labels)
}

fn errors(s: &Scrape, labels: &[(&str, &str)]) -> f64 {
    s.sum("kafka_security_parse_errors_total", labels)
}

#[test]
fn aiven_authorizer_lines_in_a_broker_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = write(dir.path(), "server.log", &fixture("aiven_authorizer.log"));
    let r = replay_files(&[&log]);
    assert_eq!(
        r.stats.by_format.keys().copied().collect::<Vec<_>>(),
        [FileFormat::Log(LogKind::Any)]
    );
    // 12 lines; the forged header line stays inside the entry before it.
    assert_eq!(
        (r.stats.entries, r.stats.events, r.stats.rejected),
        (11, 7, 3)
    );
    let s = scrape(&r);
    let authz = [("format", "authorizer_log"), ("category", "authorization")];
    assert_eq!(events(&s, &authz), 7.0);
    assert_eq!(
        events(&s, &[authz[0], authz[1], ("outcome", "denied")]),
        5.0
    );
    assert_eq!(
        events(&s, &[authz[0], authz[1], ("outcome", "allowed")]),
        2.0
    );
    assert_eq!(
        errors(
            &s,
            &[("format", "authorizer_log"), ("reason", "invalid_field")]
        ),
        3.0
    );
    assert_eq!(
        s.sum(
            "kafka_security_authorization_total",
            &[
                ("decision", "denied"),
                ("operation", "WRITE"),
                ("resource_type", "Topic")
            ]
        ),
        2.0
    );
}

#[test]
fn redpanda_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let audit = write(dir.path(), "audit.jsonl", &fixture("redpanda_audit.jsonl"));
    let unknown = write(
        dir.path(),
        "audit-more.jsonl.gz",
        &gzip(b"{\"category_uid\":4,\"class_uid\":4001,\"time\":1730542700000}\n{\"category_uid\":3,\"class_uid\":3002,\"status_id\":2,\"time\":1730542800000,\"user\":{\"name\":\"eve\"},\"src_endpoint\":{\"ip\":\"10.0.0.7\"},\"status_detail\":\"SASL authentication failed: security: Invalid credentials\"}\n"),
    );
    let r = replay_files(&[&audit, &unknown]);
    assert_eq!(r.stats.by_format[&FileFormat::Ocsf].files, 2);
    assert_eq!(r.stats.by_format[&FileFormat::Ocsf].items, 10);
    assert_eq!(
        (r.stats.records, r.stats.events, r.stats.rejected),
        (10, 9, 1)
    );
    let s = scrape(&r);
    let ocsf = ("format", "ocsf");
    assert_eq!(events(&s, &[ocsf]), 9.0);
    assert_eq!(
        events(
            &s,
            &[ocsf, ("category", "authentication"), ("outcome", "success")]
        ),
        1.0
    );
    assert_eq!(
        events(
            &s,
            &[ocsf, ("category", "authentication"), ("outcome", "failure")]
        ),
        2.0
    );
    assert_eq!(
        events(
            &s,
            &[ocsf, ("category", "authorization"), ("outcome", "allowed")]
        ),
        3.0
    );
    assert_eq!(
        events(
            &s,
            &[ocsf, ("category", "authorization"), ("outcome", "denied")]
        ),
        2.0
    );
    assert_eq!(events(&s, &[ocsf, ("category", "other")]), 1.0);
    assert_eq!(errors(&s, &[ocsf, ("reason", "invalid_field")]), 1.0);
}

#[test]
fn msk_broker_logs_in_cloudwatch_records() {
    let dir = tempfile::tempdir().unwrap();
    let records = fixture("msk_cloudwatch_firehose.json");
    let plain = write(dir.path(), "firehose-1", &records);
    // Firehose compresses each CloudWatch record on its own: a multi-member gzip object.
    let text = String::from_utf8(records.clone()).unwrap();
    let mut members = Vec::new();
    for part in text.split_inclusive("]}") {
        members.extend(gzip(part.as_bytes()));
    }
    let gz = write(dir.path(), "firehose-2.gz", &members);
    // A record of another shape is counted, not dropped.
    let mut odd = records.clone();
    odd.extend_from_slice(br#"{"messageType":"DATA_MESSAGE","records":[]}"#);
    let odd = write(dir.path(), "firehose-3", &odd);
    let r = replay_files(&[&plain, &gz, &odd]);
    assert_eq!(r.stats.by_format[&FileFormat::CloudWatch].files, 3);
    assert_eq!(r.stats.by_format[&FileFormat::CloudWatch].items, 9);
    assert_eq!(
        (r.stats.entries, r.stats.events, r.stats.rejected),
        (9, 6, 1)
    );
    let s = scrape(&r);
    assert_eq!(
        events(&s, &[("format", "authorizer_log"), ("outcome", "denied")]),
        3.0
    );
    assert_eq!(
        events(
            &s,
            &[
                ("format", "server_log"),
                ("category", "authentication"),
                ("outcome", "failure")
            ]
        ),
        3.0
    );
    assert_eq!(
        s.sum("kafka_security_log_lines_total", &[("file_kind", "server")]),
        6.0
    );
    assert_eq!(errors(&s, &[]), 0.0);
}
