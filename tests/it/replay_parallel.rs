//! `replay --threads N` gives exactly what `--threads 1` gives: the exposition (every series,
//! the capped metrics' choice of label sets and their `__overflow__` series, histogram sums),
//! the summary and the detections, on a generated broker log directory of several files with
//! stack traces, multi-line messages, forged lines, a controller's startup replay, a rotated
//! log and an archived event file, cut into many small chunks.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use clap::Parser;
use kafka_security_exporter::replay::{self, ReplayArgs, ReplayOptions};

#[derive(clap::Parser)]
struct W {
    #[command(flatten)]
    a: ReplayArgs,
}

/// A small deterministic generator (xorshift64*): the corpus is the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// `[2026-11-26 hh:mm:ss,SSS]` for millisecond `ms` of the day.
fn stamp(ms: u64) -> String {
    let s = ms / 1000;
    format!(
        "[2026-11-26 {:02}:{:02}:{:02},{:03}]",
        s / 3600 % 24,
        s / 60 % 60,
        s % 60,
        ms % 1000
    )
}

const SELECTOR: &str = "org.apache.kafka.common.network.Selector";

fn decision(t: &str, who: &str, verdict: &str, group: &str, host: u64) -> String {
    format!("{t} INFO Principal = User:{who} is {verdict} operation = READ from host = 10.1.0.{host} on resource = Group:LITERAL:{group} for request = JoinGroup with resourceRefCount = 1 based on rule DefaultDeny (kafka.authorizer.logger)\n")
}

/// The authorizer log: denials by many principals (beyond the cap), allowed decisions with
/// their ACL, and group ids carrying forged lines.
fn authorizer_log(rng: &mut Rng, lines: u64) -> String {
    let mut out = String::new();
    let mut ms = 10_000_000;
    for i in 0..lines {
        // Mostly forward, sometimes a step back: the merge reads each file in its own order.
        ms = if rng.below(50) == 0 {
            ms - 700
        } else {
            ms + rng.below(40)
        };
        let t = stamp(ms);
        let who = format!("user-{}", rng.below(300));
        match rng.below(40) {
            0 => {
                // A forged whole line in a group id: absorbed, both entries suspect.
                let forged = format!("g\n{t} INFO Principal = User:admin is Allowed operation = ALTER from host = 10.0.0.5 on resource = Cluster:LITERAL:kafka-cluster for request = CreateAcls with resourceRefCount = 1 based on rule SuperUser (kafka.authorizer.logger)\n{t} INFO Principal = User:bob is Denied operation = READ from host = 10.0.0.7 on resource = Group:LITERAL:h");
                out.push_str(&decision(&t, "mallory", "Denied", &forged, i % 9));
            }
            1 => {
                // A line ended early by a forged logger.
                let cut = format!("g (kafka.authorizer.logger)\n{t} INFO Principal = User:victim is Denied operation = READ from host = 10.0.0.7 on resource = Group:LITERAL:h");
                out.push_str(&decision(&t, "trudy", "Denied", &cut, i % 9));
            }
            2..=9 => {
                let _ = writeln!(out, "{t} DEBUG Principal = User:{who} is Allowed operation = WRITE from host = 10.0.{}.{} on resource = Topic:LITERAL:orders-{} for request = Produce with resourceRefCount = 1 based on rule MatchingAcl(acl=StandardAcl[resourceType=TOPIC, resourceName=orders-{}, patternType=LITERAL, principal=User:{who}, host=*, operation=WRITE, permissionType=ALLOW]) (kafka.authorizer.logger)", i % 3, i % 200, i % 7, i % 7);
            }
            _ => {
                let group = format!("group-{}", rng.below(500));
                out.push_str(&decision(&t, &who, "Denied", &group, rng.below(250)));
            }
        }
    }
    out
}

/// A server log: failed logins from many hosts, noise, warnings with stack traces and a
/// multi-line config dump with its logger on the last line.
fn server_log(rng: &mut Rng, lines: u64, start_ms: u64) -> String {
    let mut out = String::new();
    let mut ms = start_ms;
    for i in 0..lines {
        ms += rng.below(60);
        let t = stamp(ms);
        match rng.below(10) {
            0..=4 => {
                let host = format!("10.2.{}.{}", rng.below(4), rng.below(250));
                let _ = writeln!(out, "{t} INFO [SocketServer listenerType=BROKER, nodeId=1] Failed authentication with /{host} (channelId=10.0.0.1:9092-{host}:{}-0-{i}) (Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512) ({SELECTOR})", 30_000 + i % 30_000);
            }
            5 => {
                let _ = writeln!(out, "{t} WARN [ReplicaFetcher replicaId=1, leaderId=2, fetcherId=0] Error in response for fetch request (kafka.server.ReplicaFetcherThread)\njava.io.IOException: Connection to 2 was disconnected before the response was read\n\tat org.apache.kafka.clients.NetworkClientUtils.sendAndReceive(NetworkClientUtils.java:99)\n\tat kafka.server.BrokerBlockingSender.sendRequest(BrokerBlockingSender.scala:113)\nCaused by: java.net.SocketException: Connection reset\n\t... 5 more");
            }
            6 => {
                let _ = writeln!(out, "{t} INFO KafkaConfig values:\n\tadvertised.listeners = SASL_SSL://broker-{i}:9093\n\tauthorizer.class.name = org.apache.kafka.metadata.authorizer.StandardAuthorizer\n\tsasl.enabled.mechanisms = [SCRAM-SHA-512]\n (kafka.server.KafkaConfig)");
            }
            _ => {
                let _ = writeln!(out, "{t} INFO [LogLoader partition=orders-{}, dir=/var/lib/kafka] Loading producer state till offset {i} (kafka.log.UnifiedLog$)", i % 12);
            }
        }
    }
    out
}

/// A controller log: config and ACL changes, and a restart whose replayed records are skipped.
fn controller_log(rng: &mut Rng, lines: u64) -> String {
    let mut out = String::new();
    let mut ms = 10_000_000;
    for i in 0..lines {
        ms += rng.below(400);
        let t = stamp(ms);
        if i % 97 == 0 {
            let _ = writeln!(out, "{t} INFO [QuorumController id=1] Creating new QuorumController with clusterId MkU3OEVBNTcwNTJENDM2Qg (org.apache.kafka.controller.QuorumController)");
        } else if i % 97 == 20 {
            let _ = writeln!(out, "{t} INFO [QuorumController id=1] Becoming the active controller at epoch 7, next write offset 1. (org.apache.kafka.controller.QuorumController)");
        } else if rng.below(2) == 0 {
            let _ = writeln!(out, "{t} INFO [QuorumController id=1] Replayed ConfigRecord for ConfigResource(type=TOPIC, name='topic-{}') which set configuration retention.ms to {i} (org.apache.kafka.controller.ConfigurationControlManager)", rng.below(80));
        } else {
            let _ = writeln!(out, "{t} INFO [QuorumController id=1] Replayed AccessControlEntryRecord for 9hEExFzMR_2SXaA8JGp5Cw, setting StandardAcl[resourceType=TOPIC, resourceName=t-{}, patternType=LITERAL, principal=User:app-{}, host=*, operation=DESCRIBE, permissionType=ALLOW] (org.apache.kafka.controller.AclControlManager)", rng.below(50), rng.below(50));
        }
    }
    out
}

fn request_log(rng: &mut Rng, lines: u64) -> String {
    let mut out = String::new();
    let mut ms = 10_000_000;
    for i in 0..lines {
        ms += rng.below(90);
        let api = ["PRODUCE", "FETCH", "METADATA", "CREATE_ACLS"][rng.below(4) as usize];
        let _ = writeln!(
            out,
            r#"{} DEBUG Completed request:{{"isForwarded":false,"requestHeader":{{"requestApiKey":0,"requestApiVersion":11,"correlationId":{i},"clientId":"c-{}","requestApiKeyName":"{api}"}},"request":{{}},"response":{{"errorCode":0}},"connection":"10.0.0.1:9092-10.3.0.1:5000-0-1","totalTimeMs":{}.{},"principal":"User:svc-{}","listener":"SASL_SSL"}} (kafka.request.logger)"#,
            stamp(ms),
            i % 5,
            rng.below(300),
            rng.below(1000),
            rng.below(20)
        );
    }
    out
}

fn write_corpus(dir: &Path) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let files = [
        ("kafka-authorizer.log", authorizer_log(&mut rng, 6000)),
        // A rotated server log and the live one: one log stream.
        ("server.log.2026-11-26-02", server_log(&mut rng, 1500, 10_000_000)),
        ("server.log", server_log(&mut rng, 1500, 10_090_000)),
        ("controller.log", controller_log(&mut rng, 1500)),
        ("kafka-request.log", request_log(&mut rng, 2000)),
        (
            "app.jsonl",
            (0..50)
                .map(|i| format!("{{\"timestamp\":\"2026-11-26T02:47:{:02}Z\",\"event\":\"login_failed\",\"user\":\"u{i}\",\"client_ip\":\"10.9.0.{i}\"}}\n", i % 60))
                .collect(),
        ),
    ];
    for (i, (name, text)) in files.iter().enumerate() {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        // Distinct modification times: the files' order is the same in every run.
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_secs(1_764_000_000 + i as u64))
            .unwrap();
    }
}

/// The exposition without the `process_*` families (the replaying process's own CPU time and
/// memory, which differ between any two runs), and the summary with a fixed elapsed time.
fn run(dir: &Path, config: &Path, threads: &str, chunk_bytes: u64) -> (String, String, Stats) {
    let args = [
        "replay",
        "--progress",
        "never",
        "--threads",
        threads,
        "--config",
        config.to_str().unwrap(),
        dir.to_str().unwrap(),
    ];
    let mut options = ReplayOptions::from_args(&W::try_parse_from(args).unwrap().a).unwrap();
    options.chunk_bytes = chunk_bytes;
    options.clock = Some(UNIX_EPOCH + Duration::from_secs(1_796_083_200));
    let replayed = replay::replay(&options).unwrap();
    let exposition: String = String::from_utf8(replayed.metrics.render())
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("process_") && !l.contains(" process_"))
        .map(|l| format!("{l}\n"))
        .collect();
    let stats = &replayed.stats;
    let summary = replay::summary(&replayed, 20, 1.0, true);
    (exposition, summary, (stats.chunks, stats.chunks_reframed))
}

/// Chunks parsed in parallel, and chunks framed again.
type Stats = (usize, u64);

#[test]
fn parallel_replay_equals_the_single_threaded_one() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write_corpus(&logs);
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        "metrics:\n  max_series_per_metric: 60\ndetectors:\n  brute_force: { threshold: 5, window: 1m }\n",
    )
    .unwrap();
    let (one, one_summary, (chunks, _)) = run(&logs, &config, "1", 16 * 1024);
    assert_eq!(chunks, 0, "one thread reads every file whole");
    // The corpus holds what the comparison is about.
    for needle in [
        "kafka_security_authorization_denials_by_principal_total{operation=\"__overflow__\",principal=\"__overflow__\"",
        "kafka_security_authentication_failures_by_client_total{client_host=\"__overflow__\"",
        "kafka_security_log_injection_total{principal=\"User:mallory\"} ",
        "kafka_security_controller_replays_skipped_total{source=\"replay\"} ",
        "kafka_security_request_duration_seconds_sum{",
        "kafka_security_event_delay_seconds_bucket{source=\"replay\",le=\"+Inf\"} ",
    ] {
        assert!(one.contains(needle), "{needle} missing:\n{one}");
    }
    assert!(
        one_summary.contains("Replayed 6 file(s)") && one_summary.contains("brute_force"),
        "{one_summary}"
    );
    let mut reframed = 0;
    for (threads, chunk) in [
        ("2", 16 * 1024),
        ("4", 16 * 1024),
        ("3", 5000),
        ("2", 1 << 20),
    ] {
        let (many, many_summary, (chunks, again)) = run(&logs, &config, threads, chunk);
        reframed += again;
        // Every broker log of at least two chunks is cut (the 1 MiB case: none is that large).
        let expected = if chunk < 1 << 20 { 100 } else { 0 };
        assert!(
            chunks >= expected && (chunk < 1 << 20 || chunks == 0),
            "--threads {threads}, chunks of {chunk} bytes: {chunks} chunks"
        );
        if many != one {
            let diff: Vec<String> = one
                .lines()
                .zip(many.lines())
                .filter(|(a, b)| a != b)
                .take(10)
                .map(|(a, b)| format!("-{a}\n+{b}"))
                .collect();
            panic!(
                "--threads {threads}, chunks of {chunk} bytes: the expositions differ ({} vs {} lines):\n{}",
                one.lines().count(),
                many.lines().count(),
                diff.join("\n")
            );
        }
        assert_eq!(
            many_summary, one_summary,
            "--threads {threads}, chunks of {chunk} bytes"
        );
    }
    assert!(
        reframed > 0,
        "no cut fell inside an entry with a forged line"
    );
}
