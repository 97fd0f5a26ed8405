//! Issue 17's fault matrix, the OTLP rows that need no broker: a collector answering every
//! export with an error, and one that accepts and never answers. A stand-in collector (a few
//! lines of HTTP on a loopback port) plays each part; the real collector's outage (killed while
//! events flow) is tested in `e2e_otlp.rs`. The exporter tails a log file, so events, spans, log
//! records and metric pushes all flow while the collector misbehaves.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::file_source::{append, denials, denied};
use crate::support::{Exporter, Scrape};

const WAIT: Duration = Duration::from_secs(30);
const GRACE_SECS: u64 = 4;

#[derive(Clone, Copy)]
enum Misbehaviour {
    /// `503 Service Unavailable` to every request.
    Errors,
    /// Reads the request and never answers (the connection stays open).
    Hangs,
}

/// A stand-in OTLP/HTTP collector on a free loopback port; counts the requests it got.
struct BadCollector {
    port: u16,
    requests: Arc<AtomicUsize>,
}

impl BadCollector {
    fn start(how: Misbehaviour) -> BadCollector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let counted = counted.clone();
                std::thread::spawn(move || serve(stream, how, &counted));
            }
        });
        BadCollector { port, requests }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Reads requests (headers, then `Content-Length` bytes) and misbehaves on each.
fn serve(mut stream: TcpStream, how: Misbehaviour, counted: &AtomicUsize) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 64 * 1024];
    loop {
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + length {
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..end + 4 + length);
        counted.fetch_add(1, Ordering::SeqCst);
        match how {
            Misbehaviour::Errors => {
                let answer = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 11\r\n\r\nunavailable";
                if stream.write_all(answer).is_err() {
                    return;
                }
            }
            Misbehaviour::Hangs => {
                // Keep the connection open, answer nothing; end when the client gives up.
                let _ = stream.read(&mut chunk);
                return;
            }
        }
    }
}

fn failures(s: &Scrape, signal: &str) -> f64 {
    s.value(
        "kafka_security_otlp_export_failures_total",
        &[("signal", signal)],
    )
}

/// The exporter tailing a log of `n` denials and pushing every signal to `collector`, with a
/// 500 ms export timeout and small batches.
fn start(collector: &BadCollector, logs: &std::path::Path, state: &std::path::Path) -> Exporter {
    let yaml = format!(
        "shutdown: {{grace_period_secs: {GRACE_SECS}}}\n\
         sources:\n  - file:\n      name: logs\n      paths: ['{}/*.log']\n      start_at: beginning\n      state_dir: '{}'\n      poll_interval_ms: 50\n\
         otlp:\n  endpoint: {}\n  timeout_ms: 500\n  metrics: {{ interval_ms: 300 }}\n  traces: {{ schedule_delay_ms: 100, max_queue_size: 256, max_export_batch_size: 64 }}\n  logs: {{ schedule_delay_ms: 100, max_queue_size: 256, max_export_batch_size: 64 }}\n",
        logs.display(),
        state.display(),
        collector.endpoint()
    );
    Exporter::start(&yaml)
}

/// Every event counted, every signal's failures counted, `/readyz` unaffected, the failures
/// logged rate-limited, and SIGTERM within the grace period with a stop that says what was not
/// delivered.
fn check_row(how: Misbehaviour) -> Vec<serde_json::Value> {
    let collector = BadCollector::start(how);
    let logs = tempfile::tempdir().unwrap();
    let state = tempfile::tempdir().unwrap();
    let live = logs.path().join("kafka-authorizer.log");
    append(&live, &denials("a", 1000));
    let exporter = start(&collector, logs.path(), state.path());
    let s = exporter.wait_for(WAIT, "every event counted and every signal failing", |s| {
        denied(s, "a") == 1000.0
            && failures(s, "metrics") >= 2.0
            && failures(s, "traces") >= 1.0
            && failures(s, "logs") >= 1.0
    });
    assert!(
        s.value("kafka_security_otlp_dropped_total", &[("signal", "traces")]) > 0.0,
        "1000 spans cannot all wait in a queue of 256"
    );
    exporter.assert_ready();
    append(&live, &denials("b", 10));
    exporter.wait_for(WAIT, "counting goes on", |s| denied(s, "b") == 10.0);
    assert!(collector.requests.load(Ordering::SeqCst) >= 3);

    let started = Instant::now();
    let logs = exporter.stop(Duration::from_secs(GRACE_SECS + 5));
    assert!(
        started.elapsed() < Duration::from_secs(GRACE_SECS + 2),
        "stopped in {:?}",
        started.elapsed()
    );
    let messages: Vec<&str> = logs.iter().filter_map(|l| l["message"].as_str()).collect();
    for (prefix, at_most) in [
        ("Span export failed", 2),
        ("Metric export failed", 2),
        ("Log record export failed", 2),
    ] {
        let n = messages.iter().filter(|m| m.starts_with(prefix)).count();
        assert!(
            (1..=at_most).contains(&n),
            "{prefix}: {n} times in {messages:#?}"
        );
    }
    assert!(
        !messages.contains(&"Flushed spans."),
        "no claim that the spans were flushed: {messages:#?}"
    );
    logs
}

#[test]
fn a_collector_answering_errors_is_counted_and_never_slows_counting_or_stopping() {
    let logs = check_row(Misbehaviour::Errors);
    let messages: Vec<&str> = logs.iter().filter_map(|l| l["message"].as_str()).collect();
    assert!(
        messages
            .iter()
            .any(|m| m.starts_with("Final metric push failed")),
        "{messages:#?}"
    );
}

#[test]
fn a_collector_that_never_answers_is_cut_by_the_timeout_and_never_delays_stopping() {
    check_row(Misbehaviour::Hangs);
}
