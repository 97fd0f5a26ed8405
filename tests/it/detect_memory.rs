//! Detector memory stays bounded whatever an attacker sends (issue 12, "Bad input"): a million
//! distinct principals and client hosts, in login failures and authorization denials, through
//! every windowed detector at once. Tracked subjects stay at their cap plus the overflow subject,
//! overflow is counted, and the heap grows by a fixed bound, not with the input.
//!
//! How memory is measured: the crate forbids `unsafe` code in every target (`[lints.rust]` in
//! Cargo.toml, which `#[allow]` cannot lift), so no counting `#[global_allocator]` can be
//! declared here. The test instead runs itself again in a child process, alone (no other test
//! thread allocating beside it), and reads the child's resident memory from `/proc/self/status`:
//! the peak (`VmHWM`) over the run minus the resident size before the engine was fed. Linux only.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use kafka_security_exporter::detect::{Detector, DetectorsConfig, Engine};
use kafka_security_exporter::event::{Category, Format, Origin, Outcome, SecurityEvent};

/// Set in the child process that measures.
const CHILD: &str = "KAFKA_SECURITY_DETECT_MEMORY_CHILD";

const EVENTS: u64 = 1_000_000;
/// Subjects per detector: the default cap.
const MAX_SUBJECTS: usize = 10_000;
/// Growth allowed over the run: the detectors at their caps, with room for the allocator.
const MAX_GROWTH_BYTES: u64 = 48 << 20;
/// Growth allowed over the second half of the run, once every cap is reached: next to nothing.
const MAX_LATE_GROWTH_BYTES: u64 = 4 << 20;

/// The windowed detectors, and nothing else.
fn config() -> DetectorsConfig {
    let mut c = DetectorsConfig {
        max_subjects: MAX_SUBJECTS,
        ..Default::default()
    };
    c.new_principal.enabled = false;
    c.new_client_for_principal.enabled = false;
    c.log_tampering.enabled = false;
    c.log_injection.enabled = false;
    c.anomaly.enabled = false;
    c
}

const RATES: [Detector; 6] = [
    Detector::BruteForce,
    Detector::PasswordSpraying,
    Detector::CredentialStuffing,
    Detector::SlowBruteForce,
    Detector::SuccessAfterFailures,
    Detector::PrivilegeProbing,
];

/// A field of `/proc/self/status` in bytes (`VmRSS:   1234 kB`).
fn status_bytes(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux has /proc/self/status");
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    let kb: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{field}: {line:?}: {e}"));
    kb * 1024
}

#[cfg(target_os = "linux")]
#[test]
fn a_million_distinct_subjects_stay_in_bounded_memory() {
    if std::env::var_os(CHILD).is_some() {
        measure();
        return;
    }
    let name = "detect_memory::a_million_distinct_subjects_stay_in_bounded_memory";
    let exe = std::env::current_exe().expect("the test binary knows its path");
    let out = Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD, "1")
        .output()
        .expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "the child ran no test:\n{stdout}"
    );
    for line in stdout.lines().filter(|l| l.contains("detect_memory: ")) {
        eprintln!("{line}");
    }
}

fn measure() {
    let started = Instant::now();
    let mut engine = Engine::new(&config());
    assert_eq!(engine.detectors(), RATES);
    let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let (mut principal, mut host, mut topic) = (String::new(), String::new(), String::new());
    let mut out = Vec::new();
    let mut detections = 0u64;
    let before = status_bytes("VmRSS");
    let mut halfway = 0;
    for i in 0..EVENTS {
        // One event a millisecond: windows of minutes see subjects come and go, the day-long
        // one only fills up.
        let at = t0 + Duration::from_millis(i);
        for s in [&mut principal, &mut host, &mut topic] {
            s.clear();
        }
        write!(principal, "User:attacker-{i}").expect("writing to a String cannot fail");
        write!(host, "10.{}.{}.{}", i >> 16, (i >> 8) & 0xff, i & 0xff)
            .expect("writing to a String cannot fail");
        write!(topic, "topic-{i}").expect("writing to a String cannot fail");
        let (category, outcome) = if i % 2 == 0 {
            (Category::Authentication, Outcome::Failure)
        } else {
            (Category::Authorization, Outcome::Denied)
        };
        let mut e = SecurityEvent::new(
            Format::AuthorizerLog,
            category,
            outcome,
            "test",
            Origin::Memory,
            at,
        );
        e.event_time = Some(at);
        e.principal = Some(principal.as_str().into());
        e.client_host = Some(host.as_str().into());
        e.resource_type = Some("Topic".into());
        e.resource_name = Some(topic.as_str().into());
        engine.observe(&e, &mut out);
        if i % 10_000 == 0 {
            engine.tick(at, &mut out);
        }
        detections += out.len() as u64;
        out.clear();
        if i == EVENTS / 2 {
            halfway = status_bytes("VmRSS");
        }
    }
    let (after, peak) = (status_bytes("VmRSS"), status_bytes("VmHWM"));
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    println!(
        "detect_memory: {EVENTS} events in {:.1?}; resident {:.1} MiB before, {:.1} MiB halfway, \
         {:.1} MiB after, peak {:.1} MiB; {detections} detections; tracked {:?}; overflowed {:?}",
        started.elapsed(),
        mib(before),
        mib(halfway),
        mib(after),
        mib(peak),
        engine.tracked(),
        engine.overflowed(),
    );
    for (d, n) in engine.tracked() {
        assert!(n <= MAX_SUBJECTS + 1, "{d:?} tracks {n} subjects");
    }
    for (d, n) in engine.overflowed() {
        // credential_stuffing has one subject (`all`) and nothing to overflow.
        assert!(
            n > 0 || d == Detector::CredentialStuffing,
            "{d:?} overflowed nothing"
        );
    }
    assert!(
        peak.saturating_sub(before) < MAX_GROWTH_BYTES,
        "peak {:.1} MiB over {:.1} MiB before",
        mib(peak),
        mib(before)
    );
    assert!(
        after.saturating_sub(halfway) < MAX_LATE_GROWTH_BYTES,
        "grew {:.1} MiB over the second half",
        mib(after.saturating_sub(halfway))
    );
}
