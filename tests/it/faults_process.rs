//! The fault matrix, process rows (issue 17): the real binary with its output blocked, closed or
//! on a full disk, and under SIGTERM twice, SIGTERM during startup, SIGINT and SIGHUP. Each test
//! asserts the README's "Failure modes" row: `/metrics` answers while the fault lasts, the
//! self-metric counts it, and a signal stops the process within the grace period with the exit
//! code stated. Every wait is bounded, so a regression fails instead of hanging.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{exporter_bin, free_port, http_get, poll_until, Scrape};

/// The demo's `shutdown.grace_period_secs`.
const DEMO_GRACE: Duration = Duration::from_secs(3);

const DROPPED: &str = "kafka_security_exporter_log_lines_dropped_total";

/// The exporter binary, killed on drop if a test failed before it stopped.
struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    /// `ARGS` after `--web.listen-address` on a free loopback port, with `stdout` and `stderr`.
    fn spawn(args: &[&str], stdout: Stdio, stderr: Stdio) -> Proc {
        Self::spawn_env(args, &[], stdout, stderr)
    }

    /// `spawn` with extra environment variables.
    fn spawn_env(args: &[&str], env: &[(&str, &str)], stdout: Stdio, stderr: Stdio) -> Proc {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
        let child = Command::new(exporter_bin())
            .args(["--web.listen-address", &addr.to_string()])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .spawn()
            .expect("spawn the exporter");
        Proc { child, addr }
    }

    /// Scrapes `/metrics`; `None` until it answers 200.
    fn scrape(&self) -> Option<Scrape> {
        let (status, _, body) = http_get(self.addr, "/metrics", &[]).ok()?;
        (status == 200).then(|| Scrape::parse(std::str::from_utf8(&body).unwrap()))
    }

    /// Scrapes until `done` holds (at most `timeout`), panicking with what it saw otherwise.
    fn scrape_until(
        &mut self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Scrape) -> bool,
    ) -> Scrape {
        let mut last = None;
        let found = poll_until(timeout, Duration::from_millis(100), || {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the exporter exited with {status} while waiting for {what}");
            }
            last = self.scrape();
            last.clone().filter(|s| done(s))
        });
        found.unwrap_or_else(|| {
            let dropped = last.map(|s| s.series(DROPPED).into_iter().cloned().collect::<Vec<_>>());
            panic!("timed out waiting for {what}; last {DROPPED}: {dropped:?}")
        })
    }

    /// Waits (at most 30 s) until `/readyz` answers 200: the demo's sources are up.
    fn wait_ready(&self) {
        poll_until(Duration::from_secs(30), Duration::from_millis(100), || {
            let status = http_get(self.addr, "/readyz", &[]).ok()?.0;
            (status == 200).then_some(())
        })
        .expect("/readyz 200 within 30 s");
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Waits for the exit, at most `timeout`: the status and how long it took.
    fn exit_within(&mut self, timeout: Duration) -> (ExitStatus, Duration) {
        let t0 = Instant::now();
        let status = poll_until(timeout, Duration::from_millis(20), || {
            self.child.try_wait().unwrap()
        })
        .unwrap_or_else(|| panic!("the exporter did not exit within {timeout:?}"));
        (status, t0.elapsed())
    }

    /// SIGTERM, then asserts a clean exit (0) within `grace`.
    fn stops_cleanly_within(&mut self, grace: Duration) -> Duration {
        self.signal("TERM");
        let (status, took) = self.exit_within(grace);
        assert_eq!(
            status.code(),
            Some(0),
            "exit status {status} after {took:?}"
        );
        took
    }
}

fn dropped(s: &Scrape, reason: &str) -> f64 {
    s.value(DROPPED, &[("reason", reason)])
}

/// A pipe nobody reads: the debug-level logs fill it, then the 1 MiB queue; lines are dropped and
/// counted as `queue_full`, `/metrics` and `/readyz` keep answering, SIGTERM still stops the
/// process within the grace period. Today's failure mode was a process stuck in a write.
#[test]
fn a_pipe_nobody_reads_drops_and_counts_lines_and_sigterm_still_stops_the_process() {
    // Trace level: the demo then logs a few hundred KiB a second.
    let mut p = Proc::spawn_env(
        &["demo", "--rate", "2000"],
        &[("RUST_LOG", "trace")],
        Stdio::piped(),
        Stdio::piped(),
    );
    // Held, never read: the pipes stay open and fill.
    let (_out, _err) = (p.child.stdout.take(), p.child.stderr.take());
    let s = p.scrape_until(
        Duration::from_secs(90),
        "lines dropped on a full queue",
        |s| dropped(s, "queue_full") > 0.0,
    );
    assert_eq!(
        dropped(&s, "write_failed"),
        0.0,
        "a blocked pipe fails no write"
    );
    p.wait_ready();
    let took = p.stops_cleanly_within(DEMO_GRACE);
    eprintln!("stopped {took:?} after SIGTERM with a blocked stderr");
}

/// `kafka-security-exporter demo 2>&1 | head -3`: stdout and stderr are one pipe whose reader
/// reads three lines and goes away. Writes fail with EPIPE: counted as `write_failed`, never a
/// panic; SIGTERM stops the process within the grace period (before: a hang only SIGKILL ended).
#[test]
fn a_closed_pipe_counts_failed_writes_and_sigterm_still_stops_the_process() {
    let (reader, writer) = std::io::pipe().unwrap();
    let mut p = Proc::spawn_env(
        &["demo"],
        &[("RUST_LOG", "trace")],
        Stdio::from(writer.try_clone().unwrap()),
        Stdio::from(writer),
    );
    let mut lines = BufReader::new(reader).lines();
    for _ in 0..3 {
        lines.next().expect("a line").expect("readable");
    }
    drop(lines);
    let s = p.scrape_until(Duration::from_secs(30), "failed writes counted", |s| {
        dropped(s, "write_failed") > 0.0
    });
    p.wait_ready();
    // Still serving a while later: nothing died on the closed pipe.
    let later = p.scrape_until(Duration::from_secs(30), "more failed writes", |l| {
        dropped(l, "write_failed") > dropped(&s, "write_failed")
    });
    assert_eq!(
        later.value("kafka_security_source_up", &[("source", "demo")]),
        1.0
    );
    p.stops_cleanly_within(DEMO_GRACE);
}

/// Log output to a full disk: `/dev/full` fails every write with ENOSPC. Counted as
/// `write_failed`; the exporter serves and stops as usual.
#[test]
fn log_output_to_a_full_disk_counts_failed_writes_and_sigterm_still_stops_the_process() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("/dev/full (a device whose writes fail with ENOSPC) on this Linux machine")
    };
    let mut p = Proc::spawn(&["demo"], Stdio::from(full()), Stdio::from(full()));
    p.scrape_until(Duration::from_secs(30), "failed writes counted", |s| {
        dropped(s, "write_failed") > 0.0 && dropped(s, "queue_full") == 0.0
    });
    p.wait_ready();
    p.stops_cleanly_within(DEMO_GRACE);
}

/// The exporter with its JSON logs read into memory.
fn with_logs(args: &[&str]) -> (Proc, Arc<Mutex<Vec<serde_json::Value>>>) {
    with_logs_env(args, &[])
}

fn with_logs_env(
    args: &[&str],
    env: &[(&str, &str)],
) -> (Proc, Arc<Mutex<Vec<serde_json::Value>>>) {
    let mut p = Proc::spawn_env(
        &[&["--log.format", "json"], args].concat(),
        env,
        Stdio::null(),
        Stdio::piped(),
    );
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    let stderr = p.child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let v = serde_json::from_str(&line)
                .unwrap_or_else(|_| serde_json::json!({ "message": line }));
            sink.lock().unwrap().push(v);
        }
    });
    (p, logs)
}

fn messages(logs: &Mutex<Vec<serde_json::Value>>) -> Vec<String> {
    logs.lock()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Waits until a log line has this message.
fn wait_for_log(logs: &Mutex<Vec<serde_json::Value>>, message: &str) {
    poll_until(Duration::from_secs(30), Duration::from_millis(20), || {
        messages(logs).iter().any(|m| m == message).then_some(())
    })
    .unwrap_or_else(|| panic!("no log line {message:?}: {:#?}", messages(logs)));
}

fn count(logs: &Mutex<Vec<serde_json::Value>>, prefix: &str) -> usize {
    messages(logs)
        .iter()
        .filter(|m| m.starts_with(prefix))
        .count()
}

/// SIGINT stops as SIGTERM does: in order, exit 0, within the grace period; nothing dropped
/// when the log output is read.
#[test]
fn sigint_stops_the_process_in_order_within_the_grace_period() {
    let (mut p, logs) = with_logs(&["demo"]);
    let s = p.scrape_until(Duration::from_secs(30), "the demo serving", |s| {
        s.get("kafka_security_source_up", &[("source", "demo")]) == Some(1.0)
    });
    assert_eq!(
        (dropped(&s, "queue_full"), dropped(&s, "write_failed")),
        (0.0, 0.0)
    );
    p.signal("INT");
    let (status, _) = p.exit_within(DEMO_GRACE);
    assert_eq!(status.code(), Some(0), "{:#?}", messages(&logs));
    // The reader has seen the end of the stream once the process is gone.
    wait_for_log(&logs, "Stopped.");
    assert_eq!(count(&logs, "Received SIGINT; shutting down."), 1);
}

/// SIGHUP is ignored with a warning (at most one per 10 s): the process keeps serving, and
/// SIGTERM then stops it as usual.
#[test]
fn sighup_is_logged_and_ignored() {
    let (mut p, logs) = with_logs(&["demo"]);
    p.wait_ready();
    p.signal("HUP");
    wait_for_log(&logs, "Received SIGHUP; ignored: the configuration is read only at start (restart the exporter to apply a change).");
    p.signal("HUP");
    p.signal("HUP");
    // Still serving after three hang-ups, one of them logged.
    let s = p.scrape_until(Duration::from_secs(10), "a scrape after SIGHUP", |_| true);
    assert_eq!(
        s.value("kafka_security_source_up", &[("source", "demo")]),
        1.0
    );
    p.wait_ready();
    assert!(p.child.try_wait().unwrap().is_none());
    p.stops_cleanly_within(DEMO_GRACE);
    assert_eq!(count(&logs, "Received SIGHUP"), 1, "{:#?}", messages(&logs));
}

/// A second SIGTERM while the shutdown waits (here on a collector that accepts connections and
/// never answers, so the OTLP flush would take the whole grace period) exits at once with 143,
/// saying what that costs.
#[test]
fn a_second_sigterm_exits_at_once_with_143() {
    // Accepted by the kernel (backlog), never answered.
    let collector = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", collector.local_addr().unwrap());
    let (mut p, logs) = with_logs_env(&["demo"], &[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]);
    p.scrape_until(Duration::from_secs(30), "the demo serving", |s| {
        s.get("kafka_security_source_up", &[("source", "demo")]) == Some(1.0)
    });
    p.signal("TERM");
    wait_for_log(&logs, "Source stopped.");
    // The OTLP flush is now waiting on the silent collector.
    std::thread::sleep(Duration::from_millis(300));
    assert!(p.child.try_wait().unwrap().is_none(), "still flushing");
    p.signal("TERM");
    let (status, took) = p.exit_within(Duration::from_secs(1));
    assert_eq!(
        status.code(),
        Some(143),
        "after {took:?}: {:#?}",
        messages(&logs)
    );
    assert_eq!(
        count(&logs, "Received SIGTERM while shutting down; exiting now"),
        1
    );
    assert_eq!(
        count(&logs, "Stopped."),
        0,
        "the shutdown did not finish: no claim it did"
    );
    drop(collector);
}

/// SIGTERM during startup (here: waiting for the cluster id of an unreachable broker, up to
/// 3 s) abandons the start at once: exit 0 within the grace period, nothing served, nothing read.
#[test]
fn sigterm_during_startup_abandons_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yaml");
    let port = free_port(); // nothing listens there
    std::fs::write(
        &config,
        format!(
            "sources:\n  - kafka:\n      name: down\n      group_id: g\n      topics: [{{name: t, format: json}}]\n      properties:\n        bootstrap.servers: 127.0.0.1:{port}\nshutdown:\n  grace_period_secs: 2\n"
        ),
    )
    .unwrap();
    let (mut p, logs) = with_logs(&["run", "--config", config.to_str().unwrap()]);
    wait_for_log(&logs, "Starting.");
    p.signal("TERM");
    let (status, took) = p.exit_within(Duration::from_secs(2));
    assert_eq!(
        status.code(),
        Some(0),
        "after {took:?}: {:#?}",
        messages(&logs)
    );
    wait_for_log(
        &logs,
        "Stopped during startup, before any source read anything.",
    );
    assert_eq!(
        count(&logs, "Serving metrics."),
        0,
        "{:#?}",
        messages(&logs)
    );
}
