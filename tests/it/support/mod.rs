//! Shared test support, one module per harness:
//! - [`broker`]: the real Kafka broker (started by `scripts/kafka-broker.sh`), producers and
//!   source configs;
//! - [`exporter`]: the real exporter binary, its logs and scrapes;
//! - [`exposition`]: the one exact parser of the Prometheus text format;
//! - [`collector`] and [`pki`]: the real OpenTelemetry Collector and a TLS PKI for it;
//! - [`prometheus`]: the real Prometheus and its HTTP API; [`promql`]: what a query refers to;
//! - [`scenarios`]: seeded security scenarios as broker logs and Confluent audit files;
//! - here: paths, ports, names, bounded polling, `check-config`, proptest settings.
#![allow(dead_code)]

pub mod broker;
pub mod collector;
pub mod exporter;
pub mod exposition;
pub mod http;
pub mod ocsf;
pub mod pki;
pub mod prometheus;
pub mod promql;
pub mod scenarios;

pub use broker::*;
pub use exporter::*;
pub use exposition::*;
pub use http::*;

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository root (every path the tests read is relative to it).
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A unique name for a test's topics and groups.
pub fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// A loopback port free right now (the OS picks it; released before it is returned).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The one bounded wait of the suite: polls `f` every `every` until it returns `Some`, or `None`
/// once `timeout` has passed (the caller panics with what it knows). A test waits for a
/// condition, never for a fixed time.
pub fn poll_until<T>(
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// [`poll_until`] every 100 ms, panicking with `what` on timeout.
pub fn wait_until<T>(timeout: Duration, what: &str, f: impl FnMut() -> Option<T>) -> T {
    poll_until(timeout, Duration::from_millis(100), f)
        .unwrap_or_else(|| panic!("timed out waiting for {what}"))
}

/// Reads a whole file, or "" if missing.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// Writes `contents` to a file `name` in a fresh temporary directory; the directory (returned
/// with the file's path) is removed when it drops.
pub fn temp_file(name: &str, contents: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, contents).unwrap();
    (dir, file)
}

/// Runs `scripts/NAME.sh` with `args` from the repository, its stderr shown and its stdout
/// captured (the caller checks the status, naming what to do when it failed).
pub fn run_script(name: &str, args: &[&str]) -> Output {
    Command::new("bash")
        .arg(repo_dir().join(format!("scripts/{name}.sh")))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap_or_else(|e| panic!("run scripts/{name}.sh {args:?}: {e}"))
}

/// `kafka-security-exporter check-config` on a config given on stdin, with extra environment
/// variables (the secrets a config names).
pub fn check_config(yaml: &str, env: &[(&str, &str)]) -> Output {
    Command::new(exporter_bin())
        .args(["check-config", "/dev/stdin"])
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(yaml.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap()
}

/// A child process stopped on drop: SIGTERM, up to 10 s to exit, then SIGKILL.
pub struct KillOnDrop(pub Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let exited = poll_until(Duration::from_secs(10), Duration::from_millis(50), || {
            matches!(self.0.try_wait(), Ok(Some(_))).then_some(())
        });
        if exited.is_some() {
            return;
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Proptest settings for the suite's property tests: `cases` cases, and failing seeds persisted
/// beside the test's source file (`tests/it/NAME.proptest-regressions`, committed). proptest's
/// default (`SourceParallel`) would use `tests/proptest-regressions/NAME.txt` instead, because
/// `tests/it/` holds a `main.rs`, and silently skip the committed seeds.
pub fn proptest_config(cases: u32) -> proptest::test_runner::Config {
    proptest::test_runner::Config {
        cases,
        failure_persistence: Some(Box::new(
            proptest::test_runner::FileFailurePersistence::WithSource("proptest-regressions"),
        )),
        ..proptest::test_runner::Config::default()
    }
}
