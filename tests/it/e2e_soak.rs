//! `scripts/soak.sh` for one minute (the suite's version of issue 15's 10-minute soak): audit
//! events from the real broker at a steady rate and a tailed authorizer log rotated every 20 s,
//! counted exactly (the topic's end offsets, the lines written), and a clean stop. The
//! script's report is its verdict; figures are judged in BENCHMARKS.md, never here.

use std::process::{Command, Stdio};

use kafka_security_exporter::demo::Generator;

use crate::support::broker::broker_shared;
use crate::support::{exporter_bin, repo_dir};

#[test]
fn e2e_soak_for_a_minute_counts_exactly_and_stops_cleanly() {
    let _broker = broker_shared();
    let dir = tempfile::tempdir().unwrap();
    let payloads = dir.path().join("payloads.jsonl");
    let mut generator = Generator::new(15);
    let lines: Vec<String> = (0..2000)
        .map(|_| generator.next_audit_event().payload)
        .collect();
    std::fs::write(&payloads, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("soak.md");
    let output = Command::new("bash")
        .arg(repo_dir().join("scripts/soak.sh"))
        .args(["--minutes", "1", "--rate", "2000", "--lines", "200"])
        .args(["--rotate-secs", "20"])
        .args(["--out", out.to_str().unwrap()])
        .env("KSE_SOAK_BIN", exporter_bin())
        .env("KSE_SOAK_PAYLOADS", &payloads)
        .env("KSE_SOAK_DIR", dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run scripts/soak.sh");
    let report = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        output.status.success(),
        "scripts/soak.sh failed: {}\n{report}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(report.contains("Verdict: PASS"), "{report}");
    // Rotated every 20 s (two or three times in the minute), both sources counted to the last
    // record.
    assert!(
        report.contains("(2 rotations)") || report.contains("(3 rotations)"),
        "{report}"
    );
    assert!(
        report.contains("audit 120,000 of 120,000 produced"),
        "{report}"
    );
}
