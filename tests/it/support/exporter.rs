//! The real exporter binary, spawned with JSON logs captured and scraped over HTTP.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::{http_get, poll_until, KillOnDrop, Scrape};

/// The real exporter binary, running.
pub struct Exporter {
    child: Child,
    pub addr: SocketAddr,
    logs: Arc<Mutex<Vec<serde_json::Value>>>,
    /// Reads the JSON log lines from stderr into `logs`; ends when the process has exited.
    stderr_reader: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

pub fn exporter_bin() -> &'static str {
    env!("CARGO_BIN_EXE_kafka-security-exporter")
}

/// Runs the binary with `args` to its end: exit code, stdout, stderr (lossily UTF-8).
pub fn run_exporter(args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(exporter_bin())
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

impl Exporter {
    /// Starts `kafka-security-exporter run --config <yaml>` on a free loopback port, with JSON
    /// logs captured, and waits until it serves HTTP.
    pub fn start(config_yaml: &str) -> Exporter {
        Self::start_with_env(config_yaml, &[])
    }

    /// [`Exporter::start`] with extra environment variables.
    pub fn start_with_env(config_yaml: &str, env: &[(&str, &str)]) -> Exporter {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, config_yaml).unwrap();
        Self::spawn_with_env(&["run", "--config", path.to_str().unwrap()], env, dir)
    }

    pub fn spawn(args: &[&str], dir: tempfile::TempDir) -> Exporter {
        Self::spawn_with_env(args, &[], dir)
    }

    /// `spawn` with extra environment variables (e.g. `OTEL_*`).
    pub fn spawn_with_env(args: &[&str], env: &[(&str, &str)], dir: tempfile::TempDir) -> Exporter {
        Self::spawn_wrapped(&[], args, env, dir)
    }

    /// `spawn_with_env` through a command that execs its last argument (e.g. `setpriv --reuid
    /// 65534 …` to run as another user); the process keeps the PID the wrapper started with.
    pub fn spawn_wrapped(
        wrapper: &[&str],
        args: &[&str],
        env: &[(&str, &str)],
        dir: tempfile::TempDir,
    ) -> Exporter {
        let mut command = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut c = Command::new(program);
                c.args(rest).arg(exporter_bin());
                c
            }
            None => Command::new(exporter_bin()),
        };
        let mut child = command
            .envs(env.iter().copied())
            .args([
                "--web.listen-address",
                "127.0.0.1:0",
                "--log.format",
                "json",
            ])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn exporter");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = logs.clone();
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v = serde_json::from_str(&line)
                    .unwrap_or_else(|_| serde_json::json!({ "message": line }));
                sink.lock().unwrap().push(v);
            }
        });
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("exporter stdout: {line}");
            }
        });
        let mut exporter = Exporter {
            child,
            addr: "127.0.0.1:0".parse().unwrap(),
            logs,
            stderr_reader: Some(stderr_reader),
            _dir: dir,
        };
        let addr = poll_until(Duration::from_secs(30), Duration::from_millis(50), || {
            if let Ok(Some(status)) = exporter.child.try_wait() {
                panic!(
                    "exporter exited early with {status}: {:#?}",
                    exporter.logs()
                );
            }
            exporter.log_field("Serving metrics.", "address")
        })
        .unwrap_or_else(|| panic!("exporter did not start: {:#?}", exporter.logs()));
        exporter.addr = addr.as_str().unwrap().parse().unwrap();
        exporter
    }

    /// Asserts that `/readyz` answers 200 `ready`.
    pub fn assert_ready(&self) {
        let (status, body) = self.readyz();
        assert_eq!((status, body.as_str()), (200, "ready\n"));
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Peak resident memory so far (VmHWM), in bytes.
    pub fn peak_rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmHWM in /proc/pid/status");
        kb * 1024
    }

    pub fn logs(&self) -> Vec<serde_json::Value> {
        self.logs.lock().unwrap().clone()
    }

    /// The field of the last log line with this message.
    pub fn log_field(&self, message: &str, field: &str) -> Option<serde_json::Value> {
        self.logs
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|l| l["message"] == message)
            .map(|l| l[field].clone())
    }

    pub fn scrape(&self) -> Scrape {
        let (status, _, body) = http_get(self.addr, "/metrics", &[]).expect("scrape");
        assert_eq!(status, 200);
        Scrape::parse(std::str::from_utf8(&body).expect("utf-8 exposition"))
    }

    /// Scrapes until `done` holds, panicking with the last scrape after `timeout`.
    pub fn wait_for(
        &self,
        timeout: Duration,
        what: &str,
        done: impl Fn(&Scrape) -> bool,
    ) -> Scrape {
        let mut last = Scrape::default();
        let found = poll_until(timeout, Duration::from_millis(200), || {
            last = self.scrape();
            done(&last).then(|| last.clone())
        });
        found.unwrap_or_else(|| {
            let interesting: Vec<_> = last
                .samples
                .iter()
                .filter(|x| x.name.starts_with("kafka_security_") && !x.name.contains("_bucket"))
                .collect();
            let logs = self.logs();
            let tail = &logs[logs.len().saturating_sub(40)..];
            panic!(
                "timed out waiting for {what}; last scrape: {interesting:#?}\nlast logs: {tail:#?}"
            );
        })
    }

    pub fn readyz(&self) -> (u16, String) {
        let (status, _, body) = http_get(self.addr, "/readyz", &[]).expect("readyz");
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// SIGTERM, then waits for a clean exit (code 0) within `timeout`.
    pub fn stop(mut self, timeout: Duration) -> Vec<serde_json::Value> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let exited = poll_until(timeout, Duration::from_millis(50), || {
            self.child.try_wait().unwrap()
        });
        let Some(status) = exited else {
            let _ = self.child.kill();
            panic!(
                "exporter did not stop within {timeout:?}: {:#?}",
                self.logs()
            );
        };
        // The log reader has drained once it reaches the end of the child's stderr.
        if let Some(reader) = self.stderr_reader.take() {
            reader.join().expect("the log reader does not panic");
        }
        assert!(
            status.success(),
            "exporter exited with {status}: {:#?}",
            self.logs()
        );
        self.logs()
    }

    /// Kills the process with SIGKILL and reaps it (what dropping it does).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `demo ARGS` with `--log.level warn`, its stdout lines collected: (the process, its metrics
/// address, its mock cluster's bootstrap servers). The demo, with its stdout lines collected (they name the metrics address and the mock cluster).
pub fn start_demo(args: &[&str], env: &[(&str, &str)]) -> (KillOnDrop, SocketAddr, String) {
    let mut child = Command::new(exporter_bin())
        .args([
            "--web.listen-address",
            "127.0.0.1:0",
            "--log.level",
            "warn",
            "demo",
        ])
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the demo");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let sink = lines.clone();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            sink.lock().unwrap().push(line);
        }
    });
    let proc = KillOnDrop(child);
    let mut text = String::new();
    let started = poll_until(Duration::from_secs(30), Duration::from_millis(100), || {
        text = lines.lock().unwrap().join("\n");
        let metrics = text
            .split("Metrics: http://")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|a| a.parse::<SocketAddr>().ok());
        let cluster = text
            .split("mock Kafka cluster at ")
            .nth(1)
            .and_then(|r| r.split(" is fed").next())
            .map(str::to_string);
        metrics.zip(cluster)
    });
    let (metrics, cluster) =
        started.unwrap_or_else(|| panic!("the demo did not start; stdout: {text}"));
    (proc, metrics, cluster)
}
