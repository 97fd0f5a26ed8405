//! Broker logs in layouts other than Kafka's own, read exactly: the log4j 1.x
//! `log4j.properties` pattern `%d{ISO8601} [%t] %-5p %c %x - %m%n` (one appender for all
//! loggers) given with `--layout` / `layout:` (also pasted as its properties line), by `replay`
//! and by the file source.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use kafka_security_exporter::replay::{self, ReplayArgs, ReplayOptions, Replayed};

use crate::support::{repo_dir, Exporter, Scrape};

const TTCC: &str = "%d{ISO8601} [%t] %-5p %c %x - %m%n";

#[derive(clap::Parser)]
struct W {
    #[command(flatten)]
    a: ReplayArgs,
}

fn replay(args: &[&str]) -> Replayed {
    let mut argv = vec!["replay", "--progress", "never"];
    argv.extend(args);
    let options = ReplayOptions::from_args(&W::try_parse_from(argv).unwrap().a).unwrap();
    replay::replay(&options).unwrap()
}

fn fixture(name: &str) -> PathBuf {
    repo_dir().join("tests/fixtures/layouts").join(name)
}

fn scrape(r: &Replayed) -> Scrape {
    Scrape::parse(&String::from_utf8(r.metrics.render()).unwrap())
}

/// The exact counts of `log4j1_ttcc_iso8601.log`: alice denied WRITE twice and DESCRIBE once
/// on `payments`, admin allowed READ once (a DEBUG line), two failed authentications from
/// 10.9.8.7, eight entries (one with a stack trace, routed to `server` like every
/// logger that is not the authorizer's, controller's or request log's), nothing unreadable.
fn assert_ttcc_counts(s: &Scrape) {
    let denied = |operation: &str| {
        s.get(
            "kafka_security_authorization_denials_by_principal_total",
            &[
                ("operation", operation),
                ("principal", "User:alice"),
                ("resource_name", "payments"),
                ("resource_type", "Topic"),
            ],
        )
    };
    assert_eq!(denied("WRITE"), Some(2.0));
    assert_eq!(denied("DESCRIBE"), Some(1.0));
    assert_eq!(
        s.sum(
            "kafka_security_authorization_total",
            &[("decision", "allowed")]
        ),
        1.0
    );
    assert_eq!(
        s.sum(
            "kafka_security_authorization_total",
            &[("decision", "denied")]
        ),
        3.0
    );
    assert_eq!(
        s.get(
            "kafka_security_authentication_failures_by_client_total",
            &[
                ("client_host", "10.9.8.7"),
                ("reason", "invalid_credentials")
            ],
        ),
        Some(2.0)
    );
    for (kind, level, n) in [
        ("authorizer", "INFO", 3.0),
        ("authorizer", "DEBUG", 1.0),
        ("server", "INFO", 3.0),
        ("server", "WARN", 1.0),
    ] {
        assert_eq!(
            s.get(
                "kafka_security_log_lines_total",
                &[("file_kind", kind), ("level", level)]
            ),
            Some(n),
            "{kind} {level}"
        );
    }
    assert_eq!(s.sum("kafka_security_log_lines_total", &[]), 8.0);
    assert_eq!(s.sum("kafka_security_parse_errors_total", &[]), 0.0);
}

#[test]
fn replay_reads_the_log4j1_ttcc_layout_exactly() {
    let file = fixture("log4j1_ttcc_iso8601.log");
    let pasted = format!("log4j.appender.kafkaAppender.layout.ConversionPattern={TTCC}");
    for layout in [TTCC, pasted.as_str()] {
        let r = replay(&["--layout", layout, file.to_str().unwrap()]);
        assert_eq!(r.stats.entries, 8, "{layout}");
        assert_eq!(r.stats.events, 6, "{layout}");
        assert_eq!(r.stats.rejected, 0, "{layout}");
        assert_ttcc_counts(&scrape(&r));
    }
}

fn append(path: &Path, text: &str) {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// The fixture without its `# source:` comment, as a broker writes it.
fn ttcc_log() -> String {
    let text = std::fs::read_to_string(fixture("log4j1_ttcc_iso8601.log")).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn the_file_source_reads_the_log4j1_ttcc_layout_exactly() {
    let logs = tempfile::tempdir().unwrap();
    append(&logs.path().join("server.log"), &ttcc_log());
    let yaml = format!(
        "sources:\n  - file:\n      name: logs\n      paths: ['{}/*.log']\n      start_at: beginning\n      poll_interval_ms: 50\n      layout: '{TTCC}'\n",
        logs.path().display()
    );
    let exporter = Exporter::start(&yaml);
    let s = exporter.wait_for(Duration::from_secs(20), "every entry", |s| {
        s.sum("kafka_security_log_lines_total", &[]) == 8.0
    });
    assert_ttcc_counts(&s);
    exporter.stop(Duration::from_secs(15));
}
