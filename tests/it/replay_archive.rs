//! `replay` over archived events: every format sniffed per file (`.gz` too) and mixed with broker
//! logs, `--format-for`, unrecognized files reported, the merge by event time across files, the
//! `detectors:` of `--config` and the summary's Detections section.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use clap::Parser;
use kafka_security_exporter::detect::{Detector, SummaryRow};
use kafka_security_exporter::replay::{
    self, detections_section, FileFormat, LogKind, ReplayArgs, ReplayOptions, Replayed,
};

use crate::support::{exporter_bin, Scrape};

#[derive(clap::Parser)]
struct W {
    #[command(flatten)]
    a: ReplayArgs,
}

fn options(args: &[&str]) -> ReplayOptions {
    let mut argv = vec!["replay", "--progress", "never"];
    argv.extend(args);
    ReplayOptions::from_args(&W::try_parse_from(argv).unwrap().a).unwrap()
}

fn replay(args: &[&str]) -> Replayed {
    replay::replay(&options(args)).unwrap()
}

fn scrape(r: &Replayed) -> Scrape {
    Scrape::parse(&String::from_utf8(r.metrics.render()).unwrap())
}

/// Security events recorded from inputs of `format` (the `format` label).
fn events(r: &Replayed, format: &str) -> f64 {
    scrape(r).sum("kafka_security_events_total", &[("format", format)])
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A Confluent authentication failure of `principal` from `host` at `time`.
fn audit_failure(principal: &str, host: &str, time: &str) -> String {
    format!(
        r#"{{"specversion":"1.0","id":"{principal}-{time}","source":"crn:///kafka=TestCluster0","type":"io.confluent.kafka.server/authentication","time":"{time}","data":{{"methodName":"kafka.Authentication","authenticationInfo":{{"principal":"User:{principal}","metadata":{{"mechanism":"SASL_PLAINTEXT/SCRAM-SHA-256"}}}},"requestMetadata":{{"client_address":"/{host}"}},"result":{{"status":"UNAUTHENTICATED","message":"Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"}}}}}}"#
    )
}

const SERVER_FAILURE: &str = "[2026-11-26 14:06:16,546] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /10.0.0.7 (channelId=127.0.0.1:19092-10.0.0.7:32996-1-3) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)\n";

/// One directory of every format, each file sniffed by itself.
fn archive_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let audit = format!(
        "{}\n{}\n",
        audit_failure("mallory", "198.51.100.20", "2026-11-26T14:00:00Z"),
        audit_failure("mallory", "198.51.100.20", "2026-11-26T14:00:01Z")
    );
    write(d, "audit.jsonl", audit.as_bytes());
    let one = audit_failure("trudy", "198.51.100.21", "2026-11-26T14:00:02Z") + "\n";
    // Compressed, and named by no extension that says so: the magic bytes do.
    write(d, "audit-s3-0001.json.gz", &gzip(one.as_bytes()));
    write(
        d,
        "app.jsonl",
        concat!(
            "{\"event_type\":\"user_login\",\"user\":\"alice\",\"ip\":\"10.0.0.5\",\"outcome\":\"success\",\"timestamp\":\"2026-11-26T14:00:03Z\"}\n",
            "{\"event_type\":\"user_login\",\"user\":\"alice\",\"ip\":\"10.0.0.5\",\"outcome\":\"failed\",\"timestamp\":\"2026-11-26T14:00:04Z\"}\n",
        )
        .as_bytes(),
    );
    write(
        d,
        "events.txt",
        b"# text events\nuser-login\tUser JohnDoe logged in successfully\nuser-login\tUser JaneRoe failed to log in\n",
    );
    let kcat = [
        serde_json::json!({"topic": "security-events", "partition": 0, "offset": 7, "tstype": "create",
            "ts": 1_795_701_000_000u64, "broker": 1, "key": "user-login",
            "payload": "User JohnDoe logged in successfully"}),
        serde_json::json!({"topic": "confluent-audit-log-events", "partition": 3, "offset": 8,
            "tstype": "create", "ts": 1_795_701_001_000u64, "broker": 1, "key": null,
            "payload": audit_failure("eve", "198.51.100.22", "2026-11-26T14:00:05Z")}),
    ];
    let kcat: String = kcat.iter().map(|l| format!("{l}\n")).collect();
    write(d, "dump.json", kcat.as_bytes());
    write(d, "server.log", SERVER_FAILURE.as_bytes());
    write(d, "server.log.1.gz", &gzip(SERVER_FAILURE.as_bytes()));
    write(d, "notes.dat", b"hello\nno format here\n");
    write(d, "blank.txt", b"\n\n");
    dir
}

#[test]
fn every_format_is_sniffed_mixed_with_broker_logs() {
    let dir = archive_dir();
    let r = replay(&[dir.path().to_str().unwrap()]);
    let s = &r.stats;
    let by = |f: FileFormat| s.by_format.get(&f).map(|n| (n.files, n.items));
    assert_eq!(by(FileFormat::Audit), Some((2, 3)), "{s:?}");
    assert_eq!(by(FileFormat::Json), Some((1, 2)));
    assert_eq!(by(FileFormat::Text), Some((1, 2)));
    assert_eq!(by(FileFormat::Kcat), Some((1, 2)));
    assert_eq!(by(FileFormat::Log(LogKind::Any)), Some((2, 2)));
    assert_eq!((s.files, s.entries, s.records), (9, 2, 9));
    assert_eq!(s.unrecognized, [dir.path().join("notes.dat")]);
    assert_eq!(s.empty, [dir.path().join("blank.txt")]);
    // Three audit failures from the files, one from the kcat dump's audit-log topic.
    assert_eq!(events(&r, "confluent_audit"), 4.0);
    assert_eq!(events(&r, "json"), 2.0);
    assert_eq!(events(&r, "text"), 3.0);
    assert_eq!(events(&r, "server_log"), 2.0);
    let hosts = scrape(&r);
    for (host, n) in [
        ("198.51.100.20", 2.0),
        ("198.51.100.21", 1.0),
        ("198.51.100.22", 1.0),
        ("10.0.0.7", 2.0),
    ] {
        let got = hosts.sum(
            "kafka_security_authentication_failures_by_client_total",
            &[("client_host", host)],
        );
        assert_eq!(got, n, "{host}");
    }
    let text = replay::summary(&r, 10, 1.0, true);
    assert!(
        text.contains("By format: broker 2 file(s) 2 entries; audit 2 file(s) 3 records; json 1 file(s) 2 records; text 1 file(s) 2 records; kcat 1 file(s) 2 records; empty 1 file(s); unrecognized 1 file(s)\n"),
        "{text}"
    );
    assert!(
        text.contains("NOT REPLAYED: 1 file(s) of no recognized format"),
        "{text}"
    );
    assert!(text.contains("notes.dat"), "{text}");
    assert!(text.contains("\nDetections:\n  (none)\n"), "{text}");
}

/// The binary says it loudly too: a warning naming the file, and the summary line.
#[test]
fn an_unrecognized_file_is_reported_on_stderr() {
    let dir = archive_dir();
    let out = Command::new(exporter_bin())
        .args([
            "replay",
            "--progress",
            "never",
            dir.path().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    let warning = stderr
        .lines()
        .find(|l| l.contains("Skipped a file of no recognized format"))
        .unwrap_or_else(|| panic!("no warning: {stderr}"));
    assert!(warning.contains("notes.dat"), "{warning}");
    assert!(stderr.contains("NOT REPLAYED: 1 file(s)"), "{stderr}");
    assert!(stderr.contains("\nDetections:\n"), "{stderr}");
}

#[test]
fn format_for_names_a_file_s_format() {
    let dir = tempfile::tempdir().unwrap();
    // No TAB: sniffing cannot tell these are text events.
    let plain = write(
        dir.path(),
        "plain.log",
        b"User JohnDoe logged in successfully\nUser JaneRoe failed to log in\n",
    );
    let path = plain.to_str().unwrap();
    let r = replay(&[path]);
    assert_eq!(r.stats.unrecognized, std::slice::from_ref(&plain));
    assert_eq!(events(&r, "text"), 0.0);
    let r = replay(&["--format-for", "plain.log=text", path]);
    assert!(r.stats.unrecognized.is_empty());
    assert_eq!(events(&r, "text"), 2.0);
    // The last match wins; a whole-path match works as well.
    let whole = format!("{path}=text");
    let r = replay(&[
        "--format-for",
        "plain.log=json",
        "--format-for",
        &whole,
        path,
    ]);
    assert_eq!(events(&r, "text"), 2.0);
    let args = W::try_parse_from(["replay", "--format-for", "plain.log=nope", path]).unwrap();
    let e = ReplayOptions::from_args(&args.a).unwrap_err().to_string();
    assert!(
        e.starts_with("--format-for: `nope` is not a format; use one of broker, authorizer"),
        "{e}"
    );
}

fn set_modified(path: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

/// File A (`controller.log`, listed first: its modification time is older) holds a change at
/// 15:58:19; file B (`controller.log.1`) holds the controller's restart at 15:58:18. Read in
/// file order, A's change would count; merged by event time B's restart comes first and A's
/// change is the startup replay that follows it, skipped.
#[test]
fn files_are_merged_by_event_time() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "controller.log",
        b"[2026-11-26 15:58:19,000] INFO [QuorumController id=1] Replayed UserScramCredentialRecord creating new entry for alice with mechanism SCRAM_SHA_256. (org.apache.kafka.controller.ScramControlManager)\n",
    );
    let b = write(
        dir.path(),
        "controller.log.1",
        b"[2026-11-26 15:58:18,000] INFO [QuorumController id=1] Creating new QuorumController with clusterId X (org.apache.kafka.controller.QuorumController)\n",
    );
    set_modified(&a, UNIX_EPOCH + Duration::from_secs(1_000));
    set_modified(&b, UNIX_EPOCH + Duration::from_secs(2_000));
    assert_eq!(
        replay::expand(&[dir.path().to_path_buf()]).unwrap(),
        [a.clone(), b.clone()]
    );
    let r = replay(&[dir.path().to_str().unwrap()]);
    let s = scrape(&r);
    assert_eq!(
        s.get(
            "kafka_security_controller_replays_skipped_total",
            &[("source", "replay")]
        ),
        Some(1.0)
    );
    assert_eq!(
        s.sum("kafka_security_credential_changes_total", &[]),
        0.0,
        "A's change was applied before B's restart"
    );
}

#[test]
fn detectors_come_from_the_config_and_switch_off() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "config.yaml",
        b"state_dir: /var/lib/kse\ndetectors:\n  brute_force: { threshold: 3, window: 1m }\n",
    );
    let log = write(dir.path(), "server.log", SERVER_FAILURE.as_bytes());
    let (config, log) = (config.to_str().unwrap(), log.to_str().unwrap());
    let o = options(&["--config", config, log]);
    assert!(o.detectors_on());
    assert_eq!(o.detectors.brute_force.threshold, 3);
    let off = options(&["--config", config, "--detectors", "off", log]);
    assert!(!off.detectors_on());
    let r = replay::replay(&off).unwrap();
    assert!(replay::summary(&r, 10, 1.0, false).ends_with("\nDetections: off\n"));
    for (yaml, problem) in [
        (
            "detectors:\n  brute_force: { threshold: 0 }\n",
            "detectors.brute_force.threshold: must be at least 1",
        ),
        (
            "detectors:\n  nope: 1\n",
            "detectors.nope: unknown field `nope`",
        ),
        (
            "detectors:\n  brute_force: { window: soon }\n",
            "detectors.brute_force.window: `soon` is not a duration",
        ),
        // The rest of the file is still checked, every problem at once.
        ("metrics: { nope: 1 }\ndetectors: { nope: 1 }\n", "metrics"),
    ] {
        let bad = write(dir.path(), "bad.yaml", yaml.as_bytes());
        let args = W::try_parse_from(["replay", "--config", bad.to_str().unwrap(), log]).unwrap();
        let e = ReplayOptions::from_args(&args.a).unwrap_err().to_string();
        assert!(e.contains(problem), "{yaml}: {e}");
        assert!(e.contains("bad.yaml: "), "{e}");
    }
}

#[test]
fn the_detections_section_lists_subjects_with_utc_times() {
    let at = |secs: u64| UNIX_EPOCH + Duration::from_secs(1_795_701_600 + secs);
    let row = |detector, subject: &str, first, last, detections, events| SummaryRow {
        detector,
        subject: subject.to_string(),
        first_event: at(first),
        last_event: at(last),
        detections,
        events,
    };
    let rows = [
        row(Detector::BruteForce, "10.0.0.9", 0, 19, 1, 20),
        row(Detector::BruteForce, "10.0.0.10", 30, 90, 2, 40),
        row(Detector::BruteForce, "10.0.0.11", 60, 60, 1, 20),
        row(Detector::NewPrincipal, "User:mallory", 120, 120, 1, 1),
    ];
    let text = detections_section(&rows, 0, 2);
    assert_eq!(
        text,
        "Detections:
  detector       subject       first event               last event                detections  events
  brute_force    10.0.0.9      2026-11-26T14:00:00.000Z  2026-11-26T14:00:19.000Z           1      20
  brute_force    10.0.0.10     2026-11-26T14:00:30.000Z  2026-11-26T14:01:30.000Z           2      40
  new_principal  User:mallory  2026-11-26T14:02:00.000Z  2026-11-26T14:02:00.000Z           1       1
  … brute_force: 1 more subject(s)
"
    );
    assert_eq!(detections_section(&[], 0, 10), "Detections:\n  (none)\n");
    assert!(detections_section(&rows, 3, 10)
        .ends_with("  … 3 detection(s) beyond the summary's row cap (counted in the metrics)\n"));
}
