//! Issue 17's fault matrix, the clock row: the system clock jumps a day forward while a detector
//! holds a window, and comes back. The real binary runs under libfaketime (Debian's
//! `libfaketime`, installed by `scripts/test.sh`), which moves the system clock of this process
//! alone, as an NTP step or `date -s` would, leaving the monotonic clock alone
//! (`FAKETIME_DONT_FAKE_MONOTONIC=1`); the offset is read from a file the test rewrites.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::file_source::append;
use crate::support::{Exporter, Scrape};

const WAIT: Duration = Duration::from_secs(30);

fn libfaketime() -> PathBuf {
    let found = [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("faketime/libfaketimeMT.so.1"))
    .find(|p| p.exists());
    found.expect(
        "libfaketime is not installed: scripts/test.sh installs it (apt-get install libfaketime)",
    )
}

/// A failed SCRAM login from `host`, logged now (by the real clock), as Kafka's
/// `org.apache.kafka.common.network.Selector` writes it to `server.log`.
fn failed_login(host: &str) -> String {
    let now = humantime::format_rfc3339_millis(SystemTime::now()).to_string();
    let stamp = now
        .trim_end_matches('Z')
        .replacen('T', " ", 1)
        .replace('.', ",");
    format!(
        "[{stamp}] INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /{host} (channelId={host}:19092-{host}:40000-1-1) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256) (org.apache.kafka.common.network.Selector)\n"
    )
}

fn jumps(s: &Scrape, direction: &str) -> Option<f64> {
    s.get(
        "kafka_security_clock_jumps_total",
        &[("direction", direction)],
    )
}

fn brute_force(s: &Scrape) -> f64 {
    s.sum(
        "kafka_security_detections_total",
        &[("detector", "brute_force")],
    )
}

/// A brute force spread over a day-forward jump of the system clock is still one brute force:
/// the jump is counted and logged but moves neither the detector's window (the ten-second tick
/// would otherwise have expired the first failures) nor the event delays; the clock coming back
/// is no second jump.
#[test]
fn a_clock_jump_moves_neither_detector_windows_nor_event_delays() {
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let offset = logs.path().join("faketime");
    fs::write(&offset, "+0\n").unwrap();
    let server = logs.path().join("server.log");
    let yaml = format!(
        "sources:\n  - file:\n      name: logs\n      paths: ['{}/*.log']\n      start_at: beginning\n      state_dir: '{}'\n      poll_interval_ms: 50\n\
         detectors:\n  brute_force: {{ threshold: 5, window: 5m }}\n",
        logs.path().display(),
        state.path().display()
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    fs::write(&path, yaml).unwrap();
    let lib = libfaketime();
    let exporter = Exporter::spawn_with_env(
        &["run", "--config", path.to_str().unwrap()],
        &[
            ("LD_PRELOAD", lib.to_str().unwrap()),
            ("FAKETIME_TIMESTAMP_FILE", offset.to_str().unwrap()),
            ("FAKETIME_CACHE_DURATION", "1"),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1"),
        ],
        dir,
    );
    let failures = |n: usize| (0..n).map(|_| failed_login("10.9.9.9")).collect::<String>();
    append(&server, &failures(3));
    exporter.wait_for(WAIT, "three failures, no jump", |s| {
        s.sum(
            "kafka_security_authentication_total",
            &[("outcome", "failure")],
        ) == 3.0
            && jumps(s, "forward") == Some(0.0)
    });

    fs::write(&offset, "+1d\n").unwrap();
    exporter.wait_for(WAIT, "the jump counted", |s| {
        jumps(s, "forward") == Some(1.0)
    });
    // Two detector ticks (every 10 s) under the jumped clock.
    std::thread::sleep(Duration::from_secs(21));
    append(&server, &failures(2));
    let s = exporter.wait_for(WAIT, "the brute force across the jump", |s| {
        brute_force(s) == 1.0
    });
    let delay_sum = s.value(
        "kafka_security_event_delay_seconds_sum",
        &[("source", "logs")],
    );
    assert!(
        delay_sum < 60.0,
        "five delays of a few seconds, not a day: {delay_sum}"
    );

    fs::write(&offset, "+0\n").unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let s = exporter.scrape();
    assert_eq!(
        (jumps(&s, "forward"), jumps(&s, "backward")),
        (Some(1.0), Some(0.0)),
        "coming back to the exporter's time is no jump"
    );
    let logs = exporter.stop(Duration::from_secs(15));
    let warned: Vec<_> = logs
        .iter()
        .filter(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("The system clock jumped"))
        })
        .collect();
    assert_eq!(warned.len(), 1, "{warned:#?}");
    assert_eq!(warned[0]["direction"], "forward");
}
