//! The file source end to end, with the real binary: tailing through rename rotation,
//! copytruncate, deletion and recreation, and a restart that resumes from checkpoints.
//! Every step asserts exact counts: nothing lost, nothing counted twice.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use crate::support::{check_config, Exporter, Scrape};

const WAIT: Duration = Duration::from_secs(20);

/// `n` authorizer denial lines for principal `User:<who>`.
pub(crate) fn denials(who: &str, n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[2026-11-26 14:06:{:02},{:03}] INFO Principal = User:{who} is Denied operation = WRITE from host = 10.0.0.{} on resource = Topic:LITERAL:orders-{i} for request = Produce with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n",
                i % 60,
                i % 1000,
                i % 250
            )
        })
        .collect()
}

pub(crate) fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

pub(crate) fn denied(s: &Scrape, who: &str) -> f64 {
    s.sum(
        "kafka_security_authorization_denials_by_principal_total",
        &[("principal", &format!("User:{who}"))],
    )
}

fn config(dir: &Path, state: &Path) -> String {
    format!(
        "sources:\n  - file:\n      name: logs\n      paths: ['{}/*.log*']\n      start_at: beginning\n      state_dir: '{}'\n      poll_interval_ms: 50\n      rotate_wait_secs: 1\n",
        dir.display(),
        state.display()
    )
}

#[test]
fn tails_through_rotation_truncation_and_restart_exactly() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let live = logs.path().join("kafka-authorizer.log");
    append(&live, &denials("before", 100));

    let exporter = Exporter::start(&config(logs.path(), state.path()));
    exporter.wait_for(WAIT, "existing lines", |s| denied(s, "before") == 100.0);

    // Rename rotation, as log4j2's hourly rollover does: the old file keeps a few late lines.
    append(&live, &denials("rot", 10));
    let rotated = logs.path().join("kafka-authorizer.log.2026-11-26-13");
    fs::rename(&live, &rotated).unwrap();
    append(&rotated, &denials("late", 5));
    append(&live, &denials("after", 20));
    let s = exporter.wait_for(WAIT, "rotation", |s| {
        denied(s, "rot") == 10.0 && denied(s, "late") == 5.0 && denied(s, "after") == 20.0
    });
    assert_eq!(
        denied(&s, "before"),
        100.0,
        "nothing read twice after the rename"
    );

    // Copytruncate: copy aside, truncate in place, then the writer goes on.
    let copy = logs.path().join("kafka-authorizer.log.1");
    fs::copy(&live, &copy).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(&live)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&live, &denials("truncated", 7));
    let s = exporter.wait_for(WAIT, "copytruncate", |s| denied(s, "truncated") == 7.0);
    assert_eq!(denied(&s, "after"), 20.0, "the copy is not read again");

    // Delete and recreate.
    fs::remove_file(&live).unwrap();
    append(&live, &denials("recreated", 3));
    let s = exporter.wait_for(WAIT, "recreation", |s| denied(s, "recreated") == 3.0);
    assert_eq!(denied(&s, "truncated"), 7.0);
    let lines = s.sum(
        "kafka_security_log_lines_total",
        &[("file_kind", "authorizer")],
    );
    assert_eq!(lines, 145.0);

    // Restart: lines written while stopped are read once; nothing before them again.
    exporter.stop(Duration::from_secs(15));
    append(&live, &denials("while-down", 11));
    let exporter = Exporter::start(&config(logs.path(), state.path()));
    let s = exporter.wait_for(WAIT, "lines written while stopped", |s| {
        denied(s, "while-down") == 11.0
    });
    // Let a few polls pass: nothing else may show up.
    std::thread::sleep(Duration::from_millis(500));
    let s2 = exporter.scrape();
    assert_eq!(
        s2.sum("kafka_security_log_lines_total", &[]),
        11.0,
        "after a restart only the new lines are read: {:?}",
        s.series("kafka_security_authorization_denials_by_principal_total")
    );
    exporter.stop(Duration::from_secs(15));
}

#[test]
fn a_file_appearing_later_and_a_partial_last_line() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let exporter = Exporter::start(&config(logs.path(), state.path()));
    let (status, _) = exporter.readyz();
    assert_eq!(status, 200, "a file source with no files yet is ready");
    let live = logs.path().join("server.log");
    // Half a line first: nothing may be counted until it is complete.
    let line = "[2026-11-26 14:06:16,546] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /10.9.8.7 (channelId=127.0.0.1:19092-10.9.8.7:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)\n";
    append(&live, &line[..100]);
    std::thread::sleep(Duration::from_millis(600));
    let s = exporter.scrape();
    assert_eq!(
        s.sum(
            "kafka_security_authentication_failures_by_client_total",
            &[]
        ),
        0.0
    );
    append(&live, &line[100..]);
    exporter.wait_for(WAIT, "the completed line", |s| {
        s.get(
            "kafka_security_authentication_failures_by_client_total",
            &[
                ("client_host", "10.9.8.7"),
                ("reason", "invalid_credentials"),
            ],
        ) == Some(1.0)
    });
    exporter.stop(Duration::from_secs(15));
}

#[test]
fn bad_file_source_config_is_reported_with_paths() {
    let out = check_config(
        "sources:\n  - file:\n      paths: []\n      utc_offset: later\n      kind: nope\n",
        &[],
    );
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sources[0].file.kind: unknown variant `nope`"),
        "{err}"
    );
}

/// A broker whose log4j layout puts the logger first (`%d{ISO8601} %-5p [%t] %c - %m%n`, a
/// common hand-written pattern): with `layout:` configured, `kind: auto` routes every entry by
/// its logger and the counts are exact, stack traces included.
#[test]
fn a_configured_layout_is_read_and_routed_by_logger() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let yaml = format!(
        "{}      layout: '%d{{ISO8601}} %-5p [%t] %c - %m%n'\n      utc_offset: '+01:00'\n",
        config(logs.path(), state.path())
    );
    let mut text = String::new();
    for i in 0..3 {
        text.push_str(&format!(
            "2026-11-26T15:06:1{i},546 INFO  [data-plane-kafka-request-handler-{i}] kafka.authorizer.logger - Principal = User:layout is Denied operation = WRITE from host = 10.0.0.8 on resource = Topic:LITERAL:orders for request = Produce with resourceRefCount = 1 based on rule DefaultDeny\n"
        ));
    }
    text.push_str("2026-11-26T15:06:20,000 INFO  [data-plane-kafka-network-thread-1-ListenerName(SASL_PLAINTEXT)-SASL_PLAINTEXT-0] org.apache.kafka.common.network.Selector - [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /10.9.8.7 (channelId=127.0.0.1:19092-10.9.8.7:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256)\n");
    text.push_str("2026-11-26T15:06:21,000 WARN  [main] kafka.server.KafkaConfig - something odd\njava.lang.IllegalStateException: boom\n\tat kafka.Foo.bar(Foo.scala:1)\n");
    text.push_str("2026-11-26T15:06:22,000 INFO  [quorum-controller-1-event-handler] org.apache.kafka.controller.ScramControlManager - [QuorumController id=1] Replayed UserScramCredentialRecord creating new entry for carol with mechanism SCRAM_SHA_512.\n");
    append(&logs.path().join("kafka.log"), &text);
    let exporter = Exporter::start(&yaml);
    let s = exporter.wait_for(WAIT, "every entry", |s| {
        s.sum("kafka_security_log_lines_total", &[]) == 6.0
    });
    assert_eq!(denied(&s, "layout"), 3.0);
    assert_eq!(
        s.get(
            "kafka_security_authentication_failures_by_client_total",
            &[
                ("client_host", "10.9.8.7"),
                ("reason", "invalid_credentials")
            ],
        ),
        Some(1.0)
    );
    assert_eq!(
        s.get(
            "kafka_security_credential_changes_total",
            &[("action", "create"), ("mechanism", "SCRAM-SHA-512")],
        ),
        Some(1.0)
    );
    for (kind, level, n) in [
        ("authorizer", "INFO", 3.0),
        ("server", "INFO", 1.0),
        ("server", "WARN", 1.0),
        ("controller", "INFO", 1.0),
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
    assert_eq!(s.sum("kafka_security_parse_errors_total", &[]), 0.0);
    // The logger comes first in this layout: the exporter says what that costs.
    assert_eq!(
        exporter.log_field(
            kafka_security_exporter::parse::layout::UNANCHORED_WARNING,
            "layout"
        ),
        Some(serde_json::json!("%d{ISO8601} %-5p [%t] %c - %m%n"))
    );
    exporter.stop(Duration::from_secs(15));
}

#[test]
fn bad_layouts_are_reported_with_paths() {
    let yaml = "sources:
  - file:
      paths: ['/tmp/x/*.log']
      layout: '%d %p %c{1} - %m%n'
  - file:
      name: two
      paths: ['/tmp/y/*.log']
      kind: authorizer
      layout: '%d{MM-dd HH:mm:ss} %p %m%n'
  - kafka:
      group_id: g
      topics:
        - name: app-events
          format: json
          layout: '[%d] %p %m (%c)%n'
        - name: broker-logs
          format: broker_log
          utc_offset: '+25:00'
          layout: '[%d] %highlight{%p} %m (%c)%n'
      properties:
        bootstrap.servers: 127.0.0.1:9092
";
    let out = check_config(yaml, &[]);
    assert_eq!(out.status.code(), Some(64));
    let err = String::from_utf8_lossy(&out.stderr);
    for want in [
        "sources[0].file.layout: this layout prints no full logger name",
        "sources[1].file.layout: %d{MM-dd HH:mm:ss} has no `yyyy`",
        "sources[2].kafka.topics[0]: `utc_offset` and `layout` apply only to the broker-log formats",
        "sources[2].kafka.topics[1].utc_offset:",
        "sources[2].kafka.topics[1].layout: `%highlight{%p}`: conversion `%highlight` is not supported",
    ] {
        assert!(err.contains(want), "missing {want:?} in:\n{err}");
    }
}

/// The state directory replaced by a file while the source runs (its checkpoints cannot be
/// saved, as on a full or read-only disk): `/metrics` keeps serving and counts the failures,
/// `/readyz` names the error, one ERROR is logged for many failures, and the source is ready again
/// once a save works; nothing already counted is lost.
#[test]
fn a_state_dir_that_cannot_be_written_is_counted_and_makes_the_source_not_ready() {
    let logs = tempfile::tempdir().unwrap();
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("state");
    fs::create_dir(&state).unwrap();
    let live = logs.path().join("kafka-authorizer.log");
    append(&live, &denials("a", 10));
    let exporter = Exporter::start(&config(logs.path(), &state));
    exporter.wait_for(WAIT, "existing lines", |s| denied(s, "a") == 10.0);
    let failures = |s: &Scrape| {
        s.get(
            "kafka_security_checkpoint_failures_total",
            &[("source", "logs")],
        )
    };
    assert_eq!(failures(&exporter.scrape()), Some(0.0), "created at 0");
    assert_eq!(exporter.readyz().0, 200);

    fs::remove_dir_all(&state).unwrap();
    fs::write(&state, "not a directory").unwrap();
    append(&live, &denials("b", 5));
    exporter.wait_for(WAIT, "three failed saves", |s| {
        failures(s).unwrap_or(0.0) >= 3.0 && denied(s, "b") == 5.0
    });
    let (status, body) = exporter.readyz();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("cannot save checkpoints"), "{body}");
    let errors = exporter
        .logs()
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Cannot save checkpoints"))
        })
        .count();
    assert_eq!(errors, 1, "logged once a minute, not once a second");

    fs::remove_file(&state).unwrap();
    fs::create_dir(&state).unwrap();
    crate::support::wait_until(WAIT, "ready again", || {
        (exporter.readyz().0 == 200).then_some(())
    });
    let s = exporter.scrape();
    assert_eq!((denied(&s, "a"), denied(&s, "b")), (10.0, 5.0));
    let logs = exporter.stop(Duration::from_secs(15));
    assert!(
        logs.iter()
            .any(|l| l["message"] == "Stopped tailing; checkpoints saved."),
        "{logs:#?}"
    );
    assert!(
        state.join("tail-checkpoints.json").exists(),
        "saved again once it could be"
    );
}
