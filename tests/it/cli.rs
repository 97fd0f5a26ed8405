//! The binary's command line: help, check-config and exit codes.

use crate::support::{run_exporter, temp_file, Scrape};

/// `check-config` on `yaml` written to a temporary `name`: exit code, stdout, stderr, and the
/// file's path.
fn check_config_file(name: &str, yaml: &str) -> (i32, String, String, String) {
    let (_dir, file) = temp_file(name, yaml);
    let path = file.to_str().unwrap().to_string();
    let (code, out, err) = run_exporter(&["check-config", &path]);
    (code, out, err, path)
}

/// Runs `args`, expecting exit code `code` and `needle` on stderr.
fn assert_fails(args: &[&str], code: i32, needle: &str) {
    let (got, _, err) = run_exporter(args);
    assert_eq!(got, code, "{err}");
    assert!(err.contains(needle), "{err}");
}

/// `err` is a report of exactly `expected.len()` problems, each of `expected` among them.
fn assert_problems(err: &str, expected: &[&str]) {
    for needle in expected {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
    assert!(
        err.starts_with(&format!("{} problem(s) found:", expected.len())),
        "{err}"
    );
}

#[test]
fn help_names_every_subcommand_and_flag() {
    let (code, out, _) = run_exporter(&["--help"]);
    assert_eq!(code, 0);
    for needle in [
        "run",
        "demo",
        "check-config",
        "pseudonym",
        "--web.listen-address",
        "--web.telemetry-path",
        "--log.level",
        "--log.format",
        "[default: :9976]",
    ] {
        assert!(out.contains(needle), "--help lacks {needle:?}:\n{out}");
    }
    let (code, out, _) = run_exporter(&["run", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--config"), "{out}");
}

#[test]
fn check_config_accepts_a_good_file() {
    let (code, out, err, _) = check_config_file(
        "good.yaml",
        "sources:\n  - kafka:\n      topics: [{name: security-events, format: text}]\n      properties: {bootstrap.servers: 'localhost:9092'}\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("OK (1 source(s))"), "{out}");
}

#[test]
fn check_config_reports_every_problem_and_exits_64() {
    let (code, _, err, path) = check_config_file(
        "broken.yaml",
        r#"
web:
  telemetry_path: metrics
sources:
  - kafka:
      topics:
        - name: "bad topic"
        - {name: ok, pattern: "^x"}
      properties:
        session.timeout.ms: banana
        enable.auto.offset.store: false
  - kafka:
      topics: [{name: fine, format: xml}]
      properties: {bootstrap.servers: "b:9092"}
metrics:
  delay_buckets_secs: [2, 1]
extra: true
"#,
    );
    assert_eq!(code, 64, "{err}");
    let expected = [
        "web.telemetry_path: `metrics` must start with `/`",
        "sources[0].kafka.topics[0].name: `bad topic` is not a valid Kafka topic name",
        "sources[0].kafka.topics[1]: set either `name` or `pattern`, not both",
        "sources[0].kafka.properties: `bootstrap.servers` is required",
        "sources[0].kafka.properties.session.timeout.ms: librdkafka rejects `banana`",
        "sources[0].kafka.properties.enable.auto.offset.store: not allowed here",
        "sources[1].kafka.topics[0].format: unknown variant `xml`",
        // Found in the same pass as the unreadable format: both sources are named `kafka`.
        "sources[1]: name `kafka` is used by an earlier source",
        "metrics.delay_buckets_secs: buckets must be finite and strictly ascending",
        "unknown top-level key `extra`",
    ];
    assert_problems(&err, &expected);
    assert!(err.contains(&path), "problems name the file:\n{err}");
}

/// A structural problem (an unknown format name) hides none of the same source's semantic
/// problems: an unset secret variable, librdkafka's verdict on a property, an empty path list.
#[test]
fn check_config_reports_problems_of_every_kind_in_one_run() {
    let (code, _, err, _) = check_config_file(
        "broken.yaml",
        r#"
sources:
  - kafka:
      topics: [{name: audit-log, format: jsno}]
      properties:
        bootstrap.servers: "b:9092"
        sasl.mechanism: "PLAIN,SCRAM-SHA-256"
        sasl.password: { env: KSE_TEST_SURELY_UNSET_VARIABLE }
  - file:
      kind: nope
      paths: []
"#,
    );
    assert_eq!(code, 64, "{err}");
    let expected = [
        "sources[0].kafka.topics[0].format: unknown variant `jsno`",
        "sources[0].kafka.properties.sasl.mechanism: librdkafka rejects `PLAIN,SCRAM-SHA-256`",
        "sources[0].kafka.properties.sasl.password: environment variable KSE_TEST_SURELY_UNSET_VARIABLE is not set",
        "sources[1].file.kind: unknown variant `nope`",
        "sources[1].file.paths: give at least one glob",
    ];
    assert_problems(&err, &expected);
}

#[test]
fn run_with_a_broken_config_exits_64_without_starting() {
    let (_dir, file) = temp_file("broken.yaml", "sources: 5\n");
    let args = ["run", "--config", file.to_str().unwrap()];
    assert_fails(&args, 64, "sources: must be a list");
}

#[test]
fn a_missing_config_file_is_named() {
    assert_fails(
        &["check-config", "/nonexistent/exporter.yaml"],
        64,
        "/nonexistent/exporter.yaml: cannot read",
    );
}

#[test]
fn a_bad_listen_address_is_a_usage_error() {
    assert_fails(
        &["--web.listen-address", "nowhere", "demo"],
        64,
        "--web.listen-address: `nowhere`",
    );
}

#[test]
fn replay_prints_metrics_for_a_directory_of_broker_logs() {
    let (code, stdout, stderr) = run_exporter(&[
        "replay",
        "--progress",
        "never",
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/broker_logs"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let s = Scrape::parse(&stdout);
    // The real Kafka 4.4 files in the fixtures: alice denied WRITE on orders once.
    assert_eq!(
        s.get(
            "kafka_security_authorization_denials_by_principal_total",
            &[
                ("operation", "WRITE"),
                ("principal", "User:alice"),
                ("resource_name", "orders"),
                ("resource_type", "Topic"),
            ],
        ),
        Some(1.0),
        "{stdout}"
    );
    assert_eq!(
        s.get(
            "kafka_security_connections_rejected_total",
            &[("reason", "per_ip_limit")]
        ),
        Some(1.0)
    );
    assert_eq!(s.kind("kafka_security_log_lines_total"), Some("counter"));
    assert!(stderr.contains("Top denied principals:\n"), "{stderr}");
    assert!(stderr.contains("Top client hosts failing authentication:\n"));
    assert!(stderr.contains("Credential changes (action mechanism):\n"));
    assert!(stderr.contains("Replayed 11 file(s)"), "{stderr}");
}

#[test]
fn replay_names_a_missing_file() {
    assert_fails(
        &["replay", "/nonexistent/server.log"],
        66,
        "/nonexistent/server.log: no such file or directory",
    );
    let (code, _, _) = run_exporter(&["replay", "--utc-offset", "nope", "x.log"]);
    assert_eq!(code, 64);
}

#[test]
fn replay_reads_a_configured_layout() {
    // The logger first, a colon after it, the level padded: `%d %-5p %c: %m%n`.
    let (_dir, file) = temp_file(
        "server.log",
        "2026-11-26 14:06:16,546 INFO  kafka.authorizer.logger: Principal = User:eve is Denied operation = ALTER from host = 10.0.0.9 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule DefaultDeny\n\
2026-11-26 14:06:17,000 INFO  kafka.authorizer.logger: Principal = User:eve is Denied operation = ALTER from host = 10.0.0.9 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule DefaultDeny\n",
    );
    let path = file.to_str().unwrap();
    let replay = |format: &str, layout: &str| {
        run_exporter(&[
            "replay",
            "--progress",
            "never",
            "--format",
            format,
            "--layout",
            layout,
            path,
        ])
    };
    let (code, stdout, err) = replay("auto", "%d %-5p %c: %m%n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(eve_denied_alter(&stdout), Some(2.0), "{stdout}");
    // A layout that cannot be read, and one `auto` cannot route, are usage errors naming why.
    let (code, _, err) = replay("auto", "%d %p");
    assert_eq!(code, 64);
    assert!(err.contains("--layout: no %m"), "{err}");
    let (code, _, err) = replay("auto", "%d %p %c{1}: %m%n");
    assert_eq!(code, 64);
    assert!(err.contains("set the log's kind"));
    let (code, stdout, err) = replay("authorizer", "%d %p %c{1}: %m%n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(eve_denied_alter(&stdout), Some(2.0), "{stdout}");
}

/// eve's denied ALTERs on the cluster in a replay's exposition.
fn eve_denied_alter(exposition: &str) -> Option<f64> {
    Scrape::parse(exposition).get(
        "kafka_security_authorization_denials_by_principal_total",
        &[
            ("operation", "ALTER"),
            ("principal", "User:eve"),
            ("resource_name", "kafka-cluster"),
            ("resource_type", "Cluster"),
        ],
    )
}

#[test]
fn check_config_shows_the_detectors_and_state_dir_and_checks_them() {
    let (code, out, err, _) = check_config_file(
        "detectors.yaml",
        "detectors:\n  anomaly: {enabled: false}\nstate_dir: /var/lib/kafka-security-exporter\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("state_dir: /var/lib/kafka-security-exporter"),
        "{out}"
    );
    assert!(out.contains("detectors: "), "{out}");
    assert!(!out.contains("anomaly"), "{out}");
    let (code, _, err, _) = check_config_file(
        "bad-detectors.yaml",
        "detectors:\n  brute_force: {threshold: 0, window: 1m, bucket: 2m}\n",
    );
    assert_eq!(code, 64, "{err}");
    assert_problems(
        &err,
        &[
            "detectors.brute_force.window: 1m is shorter than its bucket (2m)",
            "detectors.brute_force.threshold: must be at least 1",
        ],
    );
}

#[test]
fn run_takes_a_cluster_flag() {
    let (code, out, _) = run_exporter(&["run", "--help"]);
    assert_eq!(code, 0);
    assert!(out.contains("--cluster <NAME>"), "{out}");
}

/// A detector state file that is not one stops the start, naming the file: starting without it
/// would announce every principal as new, then overwrite what was learnt.
#[test]
fn a_corrupt_detector_state_file_refuses_to_start() {
    let state = tempfile::tempdir().unwrap();
    let file = state.path().join("detectors.json");
    std::fs::write(&file, "{not json").unwrap();
    let (_dir, config) = temp_file(
        "config.yaml",
        &format!(
            "web: {{listen_address: '127.0.0.1:0'}}\nstate_dir: {}\n",
            state.path().display()
        ),
    );
    let (code, _, err) = run_exporter(&["run", "--config", config.to_str().unwrap()]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("cannot load the detector state"), "{err}");
    assert!(err.contains(file.to_str().unwrap()), "{err}");
}

#[test]
fn check_config_names_a_missing_or_short_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.key");
    std::fs::write(&short, "0123456789abcdef0123456789abcde\n").unwrap();
    let missing = dir.path().join("missing.key");
    for (key, problem) in [
        (
            &short,
            "holds 31 byte(s) of key material, at least 32 are needed",
        ),
        (&missing, "cannot read"),
    ] {
        let yaml = format!(
            "privacy:\n  pseudonymize: {{principals: true}}\n  key_file: {}\n  key_id: p1\n",
            key.display()
        );
        let (code, out, err, path) = check_config_file("privacy.yaml", &yaml);
        assert_eq!(code, 64, "{out}");
        assert_problems(
            &err,
            &[&format!(
                "{path}: privacy.key_file `{}`: {problem}",
                key.display()
            )],
        );
        assert!(
            !err.contains("0123456789abcdef"),
            "the key is never shown: {err}"
        );
    }
    let (code, _, err, _) = check_config_file(
        "privacy.yaml",
        "privacy:\n  pseudonymize: {addresses: true}\n  key_id: P1\n",
    );
    assert_eq!(code, 64);
    assert_problems(
        &err,
        &[
            "privacy.key_file: required",
            "privacy.key_id: `P1` may hold lowercase letters a-z and digits 0-9 only",
        ],
    );
}

#[test]
fn check_config_tells_what_is_pseudonymized() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let yaml = format!(
        "privacy:\n  pseudonymize: {{principals: true, addresses: true}}\n  key_file: {}\n  key_id: p1\n",
        key.display()
    );
    let (code, out, err, _) = check_config_file("privacy.yaml", &yaml);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("privacy: principals and addresses pseudonymized with key p1"),
        "{out}"
    );
    let (_, out, _, _) = check_config_file("plain.yaml", "");
    assert!(out.contains("privacy: off"), "{out}");
}
