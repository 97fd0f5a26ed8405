//! Broker logs in layouts other than Kafka's own, read exactly: the log4j 1.x
//! `log4j.properties` pattern `%d{ISO8601} [%t] %-5p %c %x - %m%n` (one appender for all
//! loggers) given with `--layout` / `layout:` (also pasted as its properties line) or
//! recognized by itself, by `replay` and by the file source; the common layouts and viewers'
//! line prefixes recognized without configuration; and a stream in no known layout reported,
//! never silent (a warning, `kafka_security_unrecognized_lines_total`, replay's summary).

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
        // The fixture's `# source:` line is in no layout: counted, not hidden.
        assert_eq!(r.stats.unrecognized_lines, 1, "{layout}");
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

/// The file source, with the pattern configured and without (recognized by itself).
#[test]
fn the_file_source_reads_the_log4j1_ttcc_layout_exactly() {
    for (layout, name) in [(Some(TTCC), "configured"), (None, "log4j_ttcc")] {
        let logs = tempfile::tempdir().unwrap();
        append(&logs.path().join("server.log"), &ttcc_log());
        let mut yaml = format!(
            "sources:\n  - file:\n      name: logs\n      paths: ['{}/*.log']\n      start_at: beginning\n      poll_interval_ms: 50\n",
            logs.path().display()
        );
        if let Some(layout) = layout {
            yaml.push_str(&format!("      layout: '{layout}'\n"));
        }
        let exporter = Exporter::start(&yaml);
        let s = exporter.wait_for(Duration::from_secs(20), "every entry", |s| {
            s.sum("kafka_security_log_lines_total", &[]) == 8.0
        });
        assert_ttcc_counts(&s);
        assert_eq!(
            s.get(
                "kafka_security_unrecognized_lines_total",
                &[("source", "logs")]
            ),
            Some(0.0)
        );
        assert_eq!(
            s.get(
                "kafka_security_log_layout_streams",
                &[("source", "logs"), ("layout", name), ("prefix", "none")]
            ),
            Some(1.0),
            "{name}"
        );
        assert_eq!(
            exporter.log_field("Reading a log stream in this layout.", "layout"),
            Some(serde_json::json!(name))
        );
        exporter.stop(Duration::from_secs(15));
    }
}

const DENIAL: &str = "Principal = User:{who} is Denied operation = WRITE from host = 10.0.0.8 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny";

fn denial(who: &str) -> String {
    DENIAL.replace("{who}", who)
}

/// Without `--layout`, each file's first entry chooses its layout and line prefix; every file
/// is read exactly, and the summary and the layout gauge say what was chosen.
#[test]
fn replay_recognizes_common_layouts_and_prefixes_by_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let t = "2026-11-26 14:06:16,546";
    let th = "data-plane-kafka-request-handler-1";
    let files = [
        // Confluent for Kubernetes.
        (
            "cfk.log",
            format!("[INFO] {t} [{th}] kafka.authorizer.logger logAuthorization - {}\n", denial("cfk")),
        ),
        // docker compose around Kafka's own layout, with a stack trace.
        (
            "compose.log",
            format!("kafka1_1  | [{t}] INFO {} (kafka.authorizer.logger)\nkafka1_1  | [{t}] WARN boom (kafka.server.KafkaApis)\nkafka1_1  | java.lang.IllegalStateException: x\nkafka1_1  | \tat a.B(B.java:1)\n", denial("compose")),
        ),
        // stern around Strimzi's layout.
        (
            "stern.log",
            format!("kafka-0 kafka {t} INFO {} (kafka.authorizer.logger) [{th}]\n", denial("stern")),
        ),
        // `[date][LEVEL][category=logger]`.
        (
            "category.log",
            format!("[{t}][INFO][category=kafka.authorizer.logger] {}\n", denial("category")),
        ),
        ("ttcc.log", ttcc_log()),
    ];
    for (name, text) in &files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let r = replay(&[dir.path().to_str().unwrap()]);
    let s = scrape(&r);
    for who in ["cfk", "compose", "stern", "category"] {
        assert_eq!(
            s.sum(
                "kafka_security_authorization_denials_by_principal_total",
                &[("principal", &format!("User:{who}"))]
            ),
            1.0,
            "{who}"
        );
    }
    assert_eq!(r.stats.entries, 5 + 8);
    assert_eq!(r.stats.unrecognized_lines, 0);
    for (layout, prefix) in [
        ("confluent_for_kubernetes", "none"),
        ("kafka", "compose"),
        ("strimzi", "stern"),
        ("bracketed_category", "none"),
        ("log4j_ttcc", "none"),
    ] {
        assert_eq!(
            s.get(
                "kafka_security_log_layout_streams",
                &[("source", "replay"), ("layout", layout), ("prefix", prefix)]
            ),
            Some(1.0),
            "{layout} {prefix}"
        );
    }
    let by_format = replay::by_format(&r.stats);
    assert!(
        by_format.contains("\nLayouts: bracketed_category 1 file(s); confluent_for_kubernetes 1 file(s); kafka behind compose prefixes 1 file(s); log4j_ttcc 1 file(s); strimzi behind stern prefixes 1 file(s)\n"),
        "{by_format}"
    );
    assert!(!by_format.contains("UNRECOGNIZED"), "{by_format}");
}

/// A line of no layout the exporter knows (a day-first date) and no known message: 10 of them.
fn unknown_layout() -> String {
    (0..10)
        .map(|i| {
            format!("26/11/2026 14:06:{i:02} INFO kafka.server.KafkaServer: [KafkaServer id=1] started\n")
        })
        .collect()
}

/// A file in an unknown layout, and a Kafka-layout file under a `--layout` it does not match:
/// both counted line by line, in the summary with the `--layout` hint, and in the metric.
#[test]
fn replay_of_an_unknown_layout_is_never_silent() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("unknown.log"), unknown_layout()).unwrap();
    let r = replay(&[dir.path().to_str().unwrap()]);
    assert_eq!((r.stats.entries, r.stats.events), (0, 0));
    assert_eq!(r.stats.unrecognized_lines, 10);
    let s = scrape(&r);
    assert_eq!(
        s.get(
            "kafka_security_unrecognized_lines_total",
            &[("source", "replay")]
        ),
        Some(10.0)
    );
    let by_format = replay::by_format(&r.stats);
    assert!(
        by_format.contains("\nUNRECOGNIZED: 10 line(s) matched no layout (1 file(s) gave nothing else). If they are broker logs in another log4j layout, give its pattern with --layout PATTERN"),
        "{by_format}"
    );
    // Kafka's layout read with a configured layout it does not match.
    let kafka: String = (0..3)
        .map(|i| {
            format!(
                "[2026-11-26 14:06:1{i},000] INFO {} (kafka.authorizer.logger)\n",
                denial("k")
            )
        })
        .collect();
    std::fs::write(dir.path().join("unknown.log"), kafka).unwrap();
    let r = replay(&[
        "--layout",
        "%d{DATE} %p %c - %m%n",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!((r.stats.entries, r.stats.unrecognized_lines), (0, 3));
    // Without it, the same file is read.
    let r = replay(&[dir.path().to_str().unwrap()]);
    assert_eq!((r.stats.entries, r.stats.unrecognized_lines), (3, 0));
}

/// A file in no layout whose lines hold denials: each denial is read as a partial line, counted
/// apart and named in the summary; the line holding no known message stays unrecognized.
#[test]
fn replay_reads_known_messages_in_no_layout_as_partial_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut text: String = (0..4)
        .map(|i| {
            format!(
                "26/11/2026 14:06:{i:02} INFO kafka.authorizer.logger: {}\n",
                denial("x")
            )
        })
        .collect();
    text.push_str("26/11/2026 14:06:09 INFO kafka.server.KafkaServer: started\n");
    std::fs::write(dir.path().join("pasted.log"), text).unwrap();
    let r = replay(&[dir.path().to_str().unwrap()]);
    assert_eq!((r.stats.entries, r.stats.events), (4, 4));
    assert_eq!((r.stats.partial_lines, r.stats.unrecognized_lines), (4, 1));
    let s = scrape(&r);
    let partial = s.get(
        "kafka_security_partial_lines_total",
        &[("source", "replay")],
    );
    assert_eq!(partial, Some(4.0));
    assert_eq!(
        s.sum("kafka_security_events_total", &[("outcome", "denied")]),
        4.0
    );
    let by_format = replay::by_format(&r.stats);
    assert!(
        by_format.contains(
            "\nPARTIAL: 4 line(s) in no layout were read for the Kafka message they hold;"
        ),
        "{by_format}"
    );
}

/// The file source warns once for a stream in no known layout, naming the file, and counts
/// its lines.
#[test]
fn the_file_source_reports_a_stream_in_no_known_layout() {
    let logs = tempfile::tempdir().unwrap();
    let path = logs.path().join("server.log");
    append(&path, &unknown_layout());
    let yaml = format!(
        "sources:\n  - file:\n      name: logs\n      paths: ['{}/*.log']\n      start_at: beginning\n      poll_interval_ms: 50\n",
        logs.path().display()
    );
    let exporter = Exporter::start(&yaml);
    let s = exporter.wait_for(Duration::from_secs(20), "the lines counted", |s| {
        s.get(
            "kafka_security_unrecognized_lines_total",
            &[("source", "logs")],
        ) == Some(10.0)
    });
    assert_eq!(s.sum("kafka_security_log_lines_total", &[]), 0.0);
    assert!(s.series("kafka_security_log_layout_streams").is_empty());
    let message = "Recognized no log entry: the lines match no known log4j layout.";
    let warnings: Vec<_> = exporter
        .logs()
        .into_iter()
        .filter(|l| l["message"] == message)
        .collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        warnings[0]["file"],
        serde_json::json!(path.display().to_string())
    );
    assert_eq!(warnings[0]["level"], serde_json::json!("WARN"));
    exporter.stop(Duration::from_secs(15));
}
