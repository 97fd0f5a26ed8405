//! `scripts/bench.sh --quick` against the shared test broker: a smoke test that the benchmark
//! runs end to end and prints a well-formed table. No thresholds: the benchmark judges speed, the
//! test only that every row carries numbers.

use std::process::{Command, Stdio};

use kafka_security_exporter::demo::Generator;

use crate::support::broker::broker_shared;
use crate::support::{exporter_bin, repo_dir};

/// The cells of the table's rows (the lines after the header and its `---` separator).
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .skip_while(|l| !l.starts_with("| measurement |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// The number a cell starts with (`12345`, `0.0812 (CPU 1.2 s)`).
fn number(cell: &str) -> Option<f64> {
    let n: f64 = cell.split_whitespace().next()?.parse().ok()?;
    n.is_finite().then_some(n)
}

#[test]
fn e2e_bench_quick_prints_a_table_of_numbers() {
    let _broker = broker_shared();
    let dir = tempfile::tempdir().unwrap();
    // The audit corpus from the demo generator, as examples/audit_events writes it (the test
    // binary has the library, not the example).
    let corpus = dir.path().join("audit.jsonl");
    let mut generator = Generator::new(14);
    let lines: Vec<String> = (0..5000)
        .map(|_| generator.next_audit_event().payload)
        .collect();
    std::fs::write(&corpus, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("table.md");
    let status = Command::new("bash")
        .arg(repo_dir().join("scripts/bench.sh"))
        .args(["--quick", "--out", out.to_str().unwrap()])
        .env("KSE_BENCH_BIN", exporter_bin())
        .env("KSE_BENCH_AUDIT_CORPUS", &corpus)
        .env("KSE_BENCH_DIR", dir.path())
        .stdout(Stdio::null())
        .status()
        .expect("run scripts/bench.sh");
    assert!(
        status.success(),
        "scripts/bench.sh --quick failed: {status}"
    );

    let table = std::fs::read_to_string(&out).unwrap();
    for heading in [
        "Command: `scripts/bench.sh --quick",
        "Machine: ",
        "Versions: ",
    ] {
        assert!(
            table.lines().any(|l| l.starts_with(heading)),
            "no `{heading}` line in:\n{table}"
        );
    }
    let rows = rows(&table);
    let measured: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    for (prefix, count) in [
        ("kafka: start", 3),
        ("kafka, OCSF output topic on", 1),
        ("kafka: steady", 1),
        ("replay:", 2),
    ] {
        assert!(
            measured.iter().filter(|m| m.starts_with(prefix)).count() >= count,
            "fewer than {count} `{prefix}` rows in:\n{table}"
        );
    }
    let mtail_row = rows.iter().any(|r| r[2].starts_with("mtail"));
    assert!(
        mtail_row || table.contains("mtail: reference missing"),
        "neither an mtail row nor a line saying it is missing:\n{table}"
    );
    for row in &rows {
        assert_eq!(row.len(), 5, "row {row:?} of:\n{table}");
        for cell in [&row[1], &row[3], &row[4]] {
            assert!(
                number(cell).is_some(),
                "cell `{cell}` of row {row:?} is not a number:\n{table}"
            );
        }
    }
}
