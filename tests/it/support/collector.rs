//! A real OpenTelemetry Collector (built by `scripts/otelcol.sh` with the collector builder) on
//! free loopback ports: OTLP receivers over gRPC and HTTP (optionally mutual TLS), a file
//! exporter per signal (traces, metrics, logs) that the tests read back, and a Prometheus exporter re-exposing the
//! metrics it received.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;

use super::pki::Pki;
use super::{dechunk, free_port, http_get, poll_until, run_script, Scrape};

/// The collector binary, built (or found in `.cache/tools/`) once per test binary.
fn collector_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(bin) = std::env::var("KSE_OTELCOL_BIN") {
            return PathBuf::from(bin);
        }
        let out = run_script("otelcol", &["build"]);
        assert!(out.status.success(), "scripts/otelcol.sh build failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// A running collector on free loopback ports, writing into its own directory.
pub struct Collector {
    child: Option<Child>,
    grpc: u16,
    http: u16,
    prom: u16,
    dir: tempfile::TempDir,
    generation: u32,
    /// Both receivers serve TLS with this material and require a client certificate.
    tls: Option<Pki>,
}

impl Collector {
    pub fn start() -> Collector {
        Self::start_with(None)
    }

    pub fn start_with(tls: Option<Pki>) -> Collector {
        let mut c = Collector {
            child: None,
            grpc: free_port(),
            http: free_port(),
            prom: free_port(),
            dir: tempfile::tempdir().unwrap(),
            generation: 0,
            tls,
        };
        // The free ports are only free when picked: a test running beside this one may take
        // one before the collector binds it. Then pick others and start again.
        for _ in 0..5 {
            match c.try_launch() {
                Ok(()) => return c,
                Err(log) if log.contains("address already in use") => {
                    (c.grpc, c.http, c.prom) = (free_port(), free_port(), free_port());
                }
                Err(log) => panic!("{log}"),
            }
        }
        panic!("the collector found a port taken five times in a row");
    }

    pub fn traces_file(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("traces-{}.json", self.generation))
    }
    pub fn metrics_file(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("metrics-{}.json", self.generation))
    }
    pub fn logs_file(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("logs-{}.json", self.generation))
    }

    /// (Re)starts on the same ports, writing new files.
    pub fn launch(&mut self) {
        if let Err(log) = self.try_launch() {
            panic!("{log}");
        }
    }

    /// Starts the collector; when it exits before it is ready, its log.
    fn try_launch(&mut self) -> Result<(), String> {
        self.generation += 1;
        let config = format!(
            r#"receivers:
  otlp:
    protocols:
      grpc: {{endpoint: "127.0.0.1:{grpc}"{tls}}}
      http: {{endpoint: "127.0.0.1:{http}"{tls}}}
exporters:
  file/traces: {{path: "{traces}", flush_interval: 100ms}}
  file/metrics: {{path: "{metrics}", flush_interval: 100ms}}
  file/logs: {{path: "{logs}", flush_interval: 100ms}}
  prometheus: {{endpoint: "127.0.0.1:{prom}"}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [file/traces]}}
    metrics: {{receivers: [otlp], exporters: [file/metrics, prometheus]}}
    logs: {{receivers: [otlp], exporters: [file/logs]}}
"#,
            grpc = self.grpc,
            http = self.http,
            tls = self.tls.as_ref().map_or(String::new(), |pki| format!(
                ", tls: {{cert_file: \"{}\", key_file: \"{}\", client_ca_file: \"{}\"}}",
                pki.server_cert.display(),
                pki.server_key.display(),
                pki.ca.display()
            )),
            prom = self.prom,
            traces = self.traces_file().display(),
            metrics = self.metrics_file().display(),
            logs = self.logs_file().display(),
        );
        let path = self.dir.path().join("config.yaml");
        std::fs::write(&path, config).unwrap();
        let log = std::fs::File::create(
            self.dir
                .path()
                .join(format!("collector-{}.log", self.generation)),
        )
        .unwrap();
        let child = Command::new(collector_bin())
            .arg("--config")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn the collector");
        self.child = Some(child);
        let log_path = self
            .dir
            .path()
            .join(format!("collector-{}.log", self.generation));
        let child = self.child.as_mut().unwrap();
        let ready = poll_until(Duration::from_secs(30), Duration::from_millis(50), || {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Some(status) = child.try_wait().unwrap() {
                return Some(Err(format!("collector exited with {status}:\n{log}")));
            }
            log.contains("Everything is ready").then_some(Ok(()))
        });
        match ready {
            Some(Err(log)) => {
                self.child = None;
                Err(log)
            }
            Some(Ok(())) => Ok(()),
            None => {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                panic!("collector not ready:\n{log}");
            }
        }
    }

    /// SIGKILL: a crash, not a graceful stop.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn endpoint(&self, grpc: bool) -> String {
        format!(
            "{}://127.0.0.1:{}",
            if self.tls.is_some() { "https" } else { "http" },
            if grpc { self.grpc } else { self.http }
        )
    }

    /// Every complete line the file exporter wrote so far. The exporter writes through a
    /// 4 KiB buffer flushed every 100 ms, so the last line may be cut in the middle of a
    /// flush: only lines ended by a newline are read.
    fn lines(path: &Path) -> Vec<Value> {
        let bytes = std::fs::read(path).unwrap_or_default();
        let end = bytes.iter().rposition(|&b| b == b'\n').unwrap_or(0);
        String::from_utf8(bytes[..end].to_vec())
            .expect("collector output is UTF-8")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("collector JSON line"))
            .collect()
    }

    /// Every item of an OTLP JSON file's `resource → scope → items` nesting (`resourceSpans` →
    /// `scopeSpans` → `spans`, or the same for metrics), with its resource's attributes.
    fn each_item(
        path: &Path,
        [resources, scopes, items]: [&str; 3],
        mut f: impl FnMut(&Value, &BTreeMap<String, String>),
    ) {
        for line in Self::lines(path) {
            for r in line[resources].as_array().into_iter().flatten() {
                let resource = attrs(&r["resource"]["attributes"]);
                for scope in r[scopes].as_array().into_iter().flatten() {
                    for item in scope[items].as_array().into_iter().flatten() {
                        f(item, &resource);
                    }
                }
            }
        }
    }

    pub fn spans(&self) -> Vec<SpanSeen> {
        let mut out = Vec::new();
        let nesting = ["resourceSpans", "scopeSpans", "spans"];
        Self::each_item(&self.traces_file(), nesting, |s, resource| {
            out.push(SpanSeen {
                name: s["name"].as_str().unwrap().to_string(),
                trace_id: s["traceId"].as_str().unwrap().to_string(),
                span_id: s["spanId"].as_str().unwrap().to_string(),
                parent_span_id: s["parentSpanId"].as_str().unwrap_or("").to_string(),
                trace_state: s["traceState"].as_str().unwrap_or("").to_string(),
                kind: s["kind"].as_i64().unwrap_or(0),
                status_code: s["status"]["code"].as_i64().unwrap_or(0),
                status_message: s["status"]["message"].as_str().unwrap_or("").to_string(),
                attributes: attrs(&s["attributes"]),
                resource: resource.clone(),
            });
        });
        out
    }

    /// Every log record received, in arrival order.
    pub fn log_records(&self) -> Vec<LogSeen> {
        let mut out = Vec::new();
        let nesting = ["resourceLogs", "scopeLogs", "logRecords"];
        Self::each_item(&self.logs_file(), nesting, |r, resource| {
            let text = |k: &str| r[k].as_str().unwrap_or("").to_string();
            out.push(LogSeen {
                event_name: text("eventName"),
                severity_number: r["severityNumber"].as_i64().unwrap_or(0),
                severity_text: text("severityText"),
                body: r["body"]["stringValue"].as_str().unwrap_or("").to_string(),
                time: number(&r["timeUnixNano"]),
                observed_time: number(&r["observedTimeUnixNano"]),
                trace_id: text("traceId"),
                span_id: text("spanId"),
                attributes: attrs(&r["attributes"]),
                resource: resource.clone(),
            });
        });
        out
    }

    /// Data points of every metric push, in arrival order.
    pub fn points(&self) -> Vec<PointSeen> {
        let mut out = Vec::new();
        let nesting = ["resourceMetrics", "scopeMetrics", "metrics"];
        Self::each_item(&self.metrics_file(), nesting, |m, resource| {
            let (kind, body) = ["sum", "gauge", "histogram"]
                .iter()
                .find_map(|k| m.get(*k).map(|b| (*k, b)))
                .expect("a sum, gauge or histogram");
            for p in body["dataPoints"].as_array().into_iter().flatten() {
                let value = match kind {
                    "histogram" => number(&p["count"]),
                    _ => p
                        .get("asInt")
                        .map(number)
                        .or_else(|| p.get("asDouble").map(number))
                        .unwrap_or(0.0),
                };
                out.push(PointSeen {
                    name: m["name"].as_str().unwrap().to_string(),
                    unit: m["unit"].as_str().unwrap_or("").to_string(),
                    kind,
                    monotonic: body["isMonotonic"].as_bool().unwrap_or(false),
                    temporality: body["aggregationTemporality"].as_i64().unwrap_or(0),
                    attributes: attrs(&p["attributes"]),
                    value,
                    start: number(&p["startTimeUnixNano"]),
                    time: number(&p["timeUnixNano"]),
                    exemplar_traces: p["exemplars"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e["traceId"].as_str().map(str::to_string))
                        .collect(),
                    resource: resource.clone(),
                });
            }
        });
        out
    }

    /// The collector's Prometheus exposition of what it received.
    pub fn prometheus(&self) -> Scrape {
        let addr: SocketAddr = format!("127.0.0.1:{}", self.prom).parse().unwrap();
        let (status, headers, body) =
            http_get(addr, "/metrics", &[]).expect("scrape the collector");
        assert_eq!(status, 200);
        let body = if headers.get("transfer-encoding").map(String::as_str) == Some("chunked") {
            dechunk(&body)
        } else {
            body
        };
        Scrape::parse(std::str::from_utf8(&body).unwrap())
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One span as the collector's file exporter wrote it.
#[derive(Debug, Clone)]
pub struct SpanSeen {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    pub trace_state: String,
    pub kind: i64,
    pub status_code: i64,
    pub status_message: String,
    pub attributes: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
}

/// One log record, as the collector's file exporter wrote it.
#[derive(Debug, Clone)]
pub struct LogSeen {
    pub event_name: String,
    pub severity_number: i64,
    pub severity_text: String,
    pub body: String,
    pub time: f64,
    pub observed_time: f64,
    pub trace_id: String,
    pub span_id: String,
    pub attributes: BTreeMap<String, String>,
    pub resource: BTreeMap<String, String>,
}

/// One data point of a metric push, as the collector's file exporter wrote it.
#[derive(Debug, Clone)]
pub struct PointSeen {
    pub name: String,
    pub unit: String,
    pub kind: &'static str,
    pub monotonic: bool,
    pub temporality: i64,
    pub attributes: BTreeMap<String, String>,
    pub value: f64,
    pub start: f64,
    pub time: f64,
    pub exemplar_traces: Vec<String>,
    pub resource: BTreeMap<String, String>,
}

/// An OTLP JSON number (64-bit integers come as strings).
fn number(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap(),
        Value::Number(n) => n.as_f64().unwrap(),
        _ => 0.0,
    }
}

/// OTLP JSON attributes as strings (`intValue` comes as a string already).
fn attrs(v: &Value) -> BTreeMap<String, String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|kv| {
            let val = &kv["value"];
            let text = ["stringValue", "intValue", "boolValue", "doubleValue"]
                .iter()
                .find_map(|k| val.get(*k))
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .unwrap_or_default();
            (kv["key"].as_str().unwrap().to_string(), text)
        })
        .collect()
}

/// The latest pushed value of every series of `name`.
pub fn latest(points: &[PointSeen], name: &str) -> BTreeMap<BTreeMap<String, String>, PointSeen> {
    let mut out = BTreeMap::new();
    for p in points.iter().filter(|p| p.name == name) {
        out.insert(p.attributes.clone(), p.clone());
    }
    out
}
