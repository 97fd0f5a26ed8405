//! OpenTelemetry end to end: records (with and without W3C `traceparent` headers) go through the
//! real Kafka broker into the real exporter binary, which pushes OTLP to a real OpenTelemetry
//! Collector (built by `scripts/otelcol.sh` with the collector builder). The collector writes
//! what it received to JSON files (file exporter) and re-exposes the metrics in the Prometheus
//! format (prometheus exporter); the tests read both and compare with `/metrics`.


use std::collections::{BTreeMap, BTreeSet};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use serde_json::Value;
use crate::support::{
    admin_config, broker, create_topic, http_get, repo_dir, source_config, unique, Exporter, Scrape,
};

const EVENTS: &str = "kafka_security_events_total";
const METRIC_EXPORT_FAILED: &str =
    "Metric export failed; the next push carries the cumulative values again.";

/// The collector binary, built (or found in `.cache/tools/`) once per test binary.
fn collector_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(bin) = std::env::var("KSE_OTELCOL_BIN") {
            return PathBuf::from(bin);
        }
        let out = Command::new("bash")
            .arg(repo_dir().join("scripts/otelcol.sh"))
            .arg("build")
            .stderr(Stdio::inherit())
            .output()
            .expect("run scripts/otelcol.sh build");
        assert!(out.status.success(), "scripts/otelcol.sh build failed");
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A test PKI made with the `openssl` command: a CA, a server certificate for 127.0.0.1 and a
/// client certificate it signed, and a second, unrelated CA.
#[derive(Clone)]
struct Pki {
    ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
    client_cert: PathBuf,
    client_key: PathBuf,
    other_ca: PathBuf,
}

impl Pki {
    fn generate(dir: &Path) -> Pki {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .stdin(Stdio::null())
                .output()
                .expect("run openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        let ca = |name: &str| {
            openssl(&[
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-days",
                "2",
                "-subj",
                &format!("/CN={name}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ]);
        };
        ca("kse-test-ca");
        ca("kse-other-ca");
        let leaf = |name: &str, ext: &str| {
            std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
            openssl(&[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ]);
            openssl(&[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-days",
                "2",
                "-CA",
                "kse-test-ca.pem",
                "-CAkey",
                "kse-test-ca.key",
                "-CAcreateserial",
                "-extfile",
                &format!("{name}.ext"),
                "-out",
                &format!("{name}.pem"),
            ]);
        };
        leaf(
            "server",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        leaf("client", "extendedKeyUsage=clientAuth\n");
        Pki {
            ca: dir.join("kse-test-ca.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client.key"),
            other_ca: dir.join("kse-other-ca.pem"),
        }
    }
}

/// A running collector on free loopback ports, writing into its own directory.
struct Collector {
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
    fn start() -> Collector {
        Self::start_with(None)
    }

    fn start_with(tls: Option<Pki>) -> Collector {
        let mut c = Collector {
            child: None,
            grpc: free_port(),
            http: free_port(),
            prom: free_port(),
            dir: tempfile::tempdir().unwrap(),
            generation: 0,
            tls,
        };
        c.launch();
        c
    }

    fn traces_file(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("traces-{}.json", self.generation))
    }
    fn metrics_file(&self) -> PathBuf {
        self.dir
            .path()
            .join(format!("metrics-{}.json", self.generation))
    }

    /// (Re)starts on the same ports, writing new files.
    fn launch(&mut self) {
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
  prometheus: {{endpoint: "127.0.0.1:{prom}"}}
service:
  telemetry: {{metrics: {{level: none}}}}
  pipelines:
    traces: {{receivers: [otlp], exporters: [file/traces]}}
    metrics: {{receivers: [otlp], exporters: [file/metrics, prometheus]}}
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
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = std::fs::read_to_string(
                self.dir
                    .path()
                    .join(format!("collector-{}.log", self.generation)),
            )
            .unwrap_or_default();
            if log.contains("Everything is ready") {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("collector exited with {status}:\n{log}");
            }
            assert!(Instant::now() < deadline, "collector not ready:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: a crash, not a graceful stop.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn endpoint(&self, grpc: bool) -> String {
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

    fn spans(&self) -> Vec<SpanSeen> {
        let mut out = Vec::new();
        for line in Self::lines(&self.traces_file()) {
            for rs in line["resourceSpans"].as_array().into_iter().flatten() {
                let resource = attrs(&rs["resource"]["attributes"]);
                for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                    for s in ss["spans"].as_array().into_iter().flatten() {
                        out.push(SpanSeen {
                            name: s["name"].as_str().unwrap().to_string(),
                            trace_id: s["traceId"].as_str().unwrap().to_string(),
                            span_id: s["spanId"].as_str().unwrap().to_string(),
                            parent_span_id: s["parentSpanId"].as_str().unwrap_or("").to_string(),
                            trace_state: s["traceState"].as_str().unwrap_or("").to_string(),
                            kind: s["kind"].as_i64().unwrap_or(0),
                            status_code: s["status"]["code"].as_i64().unwrap_or(0),
                            status_message: s["status"]["message"]
                                .as_str()
                                .unwrap_or("")
                                .to_string(),
                            attributes: attrs(&s["attributes"]),
                            resource: resource.clone(),
                        });
                    }
                }
            }
        }
        out
    }

    /// Data points of every metric push, in arrival order.
    fn points(&self) -> Vec<PointSeen> {
        let mut out = Vec::new();
        for line in Self::lines(&self.metrics_file()) {
            for rm in line["resourceMetrics"].as_array().into_iter().flatten() {
                let resource = attrs(&rm["resource"]["attributes"]);
                for sm in rm["scopeMetrics"].as_array().into_iter().flatten() {
                    for m in sm["metrics"].as_array().into_iter().flatten() {
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
                                exemplar_traces: p["exemplars"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .filter_map(|e| e["traceId"].as_str().map(str::to_string))
                                    .collect(),
                                resource: resource.clone(),
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// The collector's Prometheus exposition of what it received.
    fn prometheus(&self) -> Scrape {
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

/// Decodes an HTTP/1.1 chunked body (Go's server chunks the collector's exposition).
fn dechunk(mut body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = body
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&body[..line_end]).unwrap();
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16)
            .expect("hex chunk size");
        body = &body[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug, Clone)]
struct SpanSeen {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    trace_state: String,
    kind: i64,
    status_code: i64,
    status_message: String,
    attributes: BTreeMap<String, String>,
    resource: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
struct PointSeen {
    name: String,
    unit: String,
    kind: &'static str,
    monotonic: bool,
    temporality: i64,
    attributes: BTreeMap<String, String>,
    value: f64,
    start: f64,
    exemplar_traces: Vec<String>,
    resource: BTreeMap<String, String>,
}

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

fn wait_until<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A producer that can set record headers.
struct HeaderProducer(ThreadedProducer<DefaultProducerContext>);

impl HeaderProducer {
    fn new() -> HeaderProducer {
        HeaderProducer(
            admin_config()
                .set("linger.ms", "2")
                .create()
                .expect("producer"),
        )
    }

    fn send(&self, topic: &str, key: &str, payload: &str, headers: &[(&str, &str)]) {
        let mut h = OwnedHeaders::new();
        for (k, v) in headers {
            h = h.insert(Header {
                key: k,
                value: Some(*v),
            });
        }
        let mut record = BaseRecord::to(topic).key(key).payload(payload).headers(h);
        loop {
            match self.0.send(record) {
                Ok(()) => return,
                Err((_, r)) => {
                    record = r;
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    fn flush(&self) {
        self.0.flush(Duration::from_secs(60)).expect("delivered");
    }
}

const PARENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN: &str = "00f067aa0ba902b7";
const UNSAMPLED_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";

/// The same workload for both protocols: 3 logins without headers, 2 denials whose records
/// carry a sampled `traceparent` (one with `tracestate`), 1 failed login whose `traceparent` says
/// "not sampled", 1 unparseable JSON record.
fn produce_workload(text: &str, json: &str) {
    let p = HeaderProducer::new();
    for _ in 0..3 {
        p.send(text, "user-login", "User alice logged in successfully", &[]);
    }
    p.send(
        text,
        "access-denied",
        "User mallory denied access to payments-db",
        &[
            (
                "traceparent",
                &format!("00-{PARENT_TRACE}-{PARENT_SPAN}-01"),
            ),
            ("tracestate", "vendor=opaque-value"),
        ],
    );
    p.send(
        text,
        "access-denied",
        "User mallory denied access to payments-db",
        &[(
            "traceparent",
            "00-11111111111111111111111111111111-2222222222222222-01",
        )],
    );
    p.send(
        text,
        "user-login",
        "User bob failed to log in from 10.0.0.7",
        &[(
            "traceparent",
            &format!("00-{UNSAMPLED_TRACE}-b7ad6b7169203331-00"),
        )],
    );
    p.send(json, "k", "{not json", &[]);
    p.flush();
}

/// Waits for the exporter to have applied the whole workload.
fn wait_applied(exporter: &Exporter, source: &str) -> Scrape {
    exporter.wait_for(Duration::from_secs(60), "the workload", |s| {
        s.sum(EVENTS, &[("source", source)]) == 6.0
            && s.sum("kafka_security_parse_errors_total", &[("source", source)]) == 1.0
    })
}

/// Checks the spans of the workload.
fn check_spans(spans: &[SpanSeen], text: &str, json: &str, group: &str, service: &str) {
    // 3 logins + 2 denials + 1 parse error; the unsampled parent's record has none.
    assert_eq!(spans.len(), 6, "spans: {spans:#?}");
    assert!(
        spans.iter().all(|s| s.trace_id != UNSAMPLED_TRACE),
        "a span joined an unsampled trace"
    );
    for s in spans {
        assert_eq!(s.resource["service.name"], service);
        assert!(s.resource.contains_key("service.instance.id"));
        assert!(s.resource.contains_key("service.version"));
        assert_eq!(s.kind, 5, "SPAN_KIND_CONSUMER: {s:?}");
        assert_eq!(s.attributes["messaging.system"], "kafka");
        assert_eq!(s.attributes["messaging.operation.type"], "process");
        assert_eq!(s.attributes["messaging.consumer.group.name"], group);
        assert!(s.attributes["messaging.kafka.offset"]
            .parse::<i64>()
            .is_ok());
        assert!(s
            .attributes
            .contains_key("messaging.destination.partition.id"));
        assert_eq!(
            s.name,
            format!("process {}", s.attributes["messaging.destination.name"])
        );
    }
    let logins: Vec<_> = spans
        .iter()
        .filter(|s| {
            s.attributes
                .get("kafka_security.event_type")
                .map(String::as_str)
                == Some("user-login")
        })
        .collect();
    assert_eq!(logins.len(), 3);
    for s in &logins {
        assert_eq!(s.name, format!("process {text}"));
        assert_eq!(s.parent_span_id, "", "no traceparent, no parent");
        assert_eq!(s.attributes["kafka_security.principal"], "alice");
        assert_eq!(s.attributes["kafka_security.category"], "authentication");
        assert_eq!(s.attributes["kafka_security.outcome"], "success");
        assert_eq!(s.status_code, 0, "unset status: {s:?}");
        assert!(!s.attributes.contains_key("error.type"));
    }
    let joined = spans
        .iter()
        .find(|s| s.trace_id == PARENT_TRACE)
        .expect("the span joined the record's trace");
    assert_eq!(joined.parent_span_id, PARENT_SPAN);
    assert_eq!(joined.trace_state, "vendor=opaque-value");
    assert_eq!(joined.attributes["kafka_security.decision"], "denied");
    assert_eq!(joined.attributes["kafka_security.principal"], "mallory");
    assert_eq!(
        joined.attributes["kafka_security.resource.name"],
        "payments-db"
    );
    assert_eq!(joined.status_code, 2, "STATUS_CODE_ERROR: {joined:?}");
    assert!(joined.status_message.contains("denied"), "{joined:?}");
    assert!(joined.attributes.contains_key("error.type"));
    let second = spans
        .iter()
        .find(|s| s.trace_id == "11111111111111111111111111111111")
        .expect("second traced record");
    assert_eq!(second.parent_span_id, "2222222222222222");
    assert_eq!(second.trace_state, "");
    let bad = spans
        .iter()
        .find(|s| s.name == format!("process {json}"))
        .expect("the unparseable record's span");
    assert_eq!(bad.status_code, 2);
    assert_eq!(bad.attributes["error.type"], "invalid_json");
    assert!(bad.status_message.starts_with("parse error"), "{bad:?}");
    let ids: BTreeSet<_> = spans.iter().map(|s| &s.span_id).collect();
    assert_eq!(ids.len(), spans.len(), "span ids are unique");
}

/// The latest pushed value of every series of `name`.
fn latest(points: &[PointSeen], name: &str) -> BTreeMap<BTreeMap<String, String>, PointSeen> {
    let mut out = BTreeMap::new();
    for p in points.iter().filter(|p| p.name == name) {
        out.insert(p.attributes.clone(), p.clone());
    }
    out
}

/// `kafka_security_*` counter and histogram samples (and gauges when `gauges`), labels that the
/// collector adds removed and `le` normalised, for comparing two expositions.
fn comparable(s: &Scrape, gauges: bool) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for x in &s.samples {
        if !x.name.starts_with("kafka_security_") {
            continue;
        }
        let histogram_or_counter = x.name.ends_with("_total")
            || x.name.ends_with("_bucket")
            || x.name.ends_with("_sum")
            || x.name.ends_with("_count");
        if !histogram_or_counter && !gauges {
            continue;
        }
        let labels: Vec<String> = x
            .labels
            .iter()
            .filter(|(k, _)| {
                !matches!(k.as_str(), "job" | "instance") && !k.starts_with("otel_scope_")
            })
            .map(|(k, v)| {
                if k == "le" {
                    format!("le={}", v.parse::<f64>().unwrap())
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        out.insert(format!("{}{{{}}}", x.name, labels.join(",")), x.value);
    }
    out
}

fn check_metrics(points: &[PointSeen], source: &str, service: &str, spans: &[SpanSeen]) {
    let events = latest(points, "kafka_security.events");
    let mine: Vec<_> = events
        .values()
        .filter(|p| p.attributes["source"] == source)
        .collect();
    assert_eq!(mine.iter().map(|p| p.value).sum::<f64>(), 6.0, "{mine:#?}");
    for p in &mine {
        assert_eq!(p.kind, "sum");
        assert!(p.monotonic);
        assert_eq!(p.temporality, 2, "cumulative");
        assert_eq!(p.unit, "{event}");
        assert!(p.start > 0.0);
        assert_eq!(p.resource["service.name"], service);
    }
    let denied = mine
        .iter()
        .find(|p| p.attributes["outcome"] == "denied")
        .expect("denied series");
    assert_eq!(denied.value, 2.0);
    let delay = latest(points, "kafka_security.event_delay");
    let d = delay
        .values()
        .find(|p| p.attributes["source"] == source)
        .expect("delay histogram of the source");
    assert_eq!((d.kind, d.unit.as_str(), d.value), ("histogram", "s", 6.0));
    // Exemplars point at spans we exported.
    let span_traces: BTreeSet<&str> = spans.iter().map(|s| s.trace_id.as_str()).collect();
    let exemplar_traces: Vec<&String> = points
        .iter()
        .filter(|p| p.name == "kafka_security.events" && p.attributes["source"] == source)
        .flat_map(|p| &p.exemplar_traces)
        .collect();
    assert!(
        !exemplar_traces.is_empty(),
        "no exemplars on kafka_security.events"
    );
    for t in exemplar_traces {
        assert!(
            span_traces.contains(t.as_str()),
            "exemplar trace {t} is no exported span"
        );
    }
    let denied_exemplars = &latest(points, "kafka_security.authorization_denials_by_principal")
        .values()
        .find(|p| p.attributes["principal"] == "mallory")
        .expect("denials by principal")
        .exemplar_traces
        .clone();
    assert!(
        denied_exemplars
            .iter()
            .all(|t| t == PARENT_TRACE || t == "11111111111111111111111111111111"),
        "{denied_exemplars:?}"
    );
    // Self-metrics: present at 0 for both signals.
    let failures = latest(points, "kafka_security.otlp_export_failures");
    for signal in ["metrics", "traces"] {
        assert!(failures.values().any(|p| p.attributes["signal"] == signal));
    }
}

fn end_to_end(grpc: bool) {
    broker();
    let text = unique("otel-text");
    let json = unique("otel-json");
    create_topic(&text, 2);
    create_topic(&json, 1);
    let group = unique("otel-group");
    let collector = Collector::start();
    let source = if grpc { "otel_grpc" } else { "otel_http" };
    let mut yaml = source_config(
        source,
        &group,
        &[(&text, "text"), (&json, "json")],
        "admin",
        "admin-secret",
    );
    let service;
    let exporter = if grpc {
        // Everything from the config file; short intervals.
        service = "kse-e2e-grpc";
        yaml.push_str(&format!(
            "otlp:\n  endpoint: {}\n  protocol: grpc\n  service_name: {service}\n  compression: gzip\n  metrics: {{interval_ms: 300}}\n  traces: {{schedule_delay_ms: 100}}\n",
            collector.endpoint(true)
        ));
        Exporter::start(&yaml)
    } else {
        // Everything from the standard variables; intervals so long that only the flush on
        // shutdown can deliver.
        service = "kse-e2e-http";
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.yaml");
        std::fs::write(&path, &yaml).unwrap();
        let endpoint = collector.endpoint(false);
        Exporter::spawn_with_env(
            &["run", "--config", path.to_str().unwrap()],
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
                ("OTEL_SERVICE_NAME", service),
                (
                    "OTEL_RESOURCE_ATTRIBUTES",
                    "deployment.environment.name=e2e",
                ),
                ("OTEL_METRIC_EXPORT_INTERVAL", "600000"),
                ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
            ],
            dir,
        )
    };
    produce_workload(&text, &json);
    let before = wait_applied(&exporter, source);

    if grpc {
        wait_until(Duration::from_secs(30), "6 spans", || {
            (collector.spans().len() >= 6).then_some(())
        });
        std::thread::sleep(Duration::from_millis(500)); // nothing more may come
        check_spans(&collector.spans(), &text, &json, &group, service);
        // The pushed metrics and the collector's Prometheus translation match /metrics exactly.
        wait_until(
            Duration::from_secs(30),
            "the collector's Prometheus view to match /metrics",
            || {
                let ours = comparable(&exporter.scrape(), true);
                let theirs = comparable(&collector.prometheus(), true);
                (ours == theirs && ours.keys().any(|k| k.starts_with(EVENTS))).then_some(())
            },
        );
        let points = collector.points();
        check_metrics(&points, source, service, &collector.spans());
        // The cluster id reaches the resource once the consumer has fetched it.
        wait_until(
            Duration::from_secs(30),
            "kafka.cluster.id in the resource",
            || {
                collector
                    .points()
                    .last()
                    .and_then(|p| p.resource.get("kafka.cluster.id").cloned())
            },
        );
        exporter.stop(Duration::from_secs(30));
    } else {
        // Nothing was pushed yet (600 s intervals)…
        std::thread::sleep(Duration::from_millis(500));
        assert!(collector.spans().is_empty(), "spans before the flush");
        let logs = exporter.stop(Duration::from_secs(30));
        assert!(
            logs.iter().any(|l| l["message"] == "Flushed spans."),
            "{logs:#?}"
        );
        // …and the flush on shutdown delivered everything.
        let spans = wait_until(Duration::from_secs(10), "flushed spans", || {
            let s = collector.spans();
            (s.len() >= 6).then_some(s)
        });
        check_spans(&spans, &text, &json, &group, service);
        assert_eq!(spans[0].resource["deployment.environment.name"], "e2e");
        let points = wait_until(Duration::from_secs(10), "flushed metrics", || {
            let p = collector.points();
            (!p.is_empty()).then_some(p)
        });
        check_metrics(&points, source, service, &spans);
        let theirs = comparable(&collector.prometheus(), false);
        let ours = comparable(&before, false);
        assert_eq!(
            ours, theirs,
            "counters and histograms: /metrics (left) vs collector (right)"
        );
    }
}

#[test]
fn traces_and_metrics_reach_a_real_collector_over_grpc() {
    end_to_end(true);
}

#[test]
fn traces_and_metrics_reach_a_real_collector_over_http_and_flush_on_shutdown() {
    end_to_end(false);
}

/// Mutual TLS to the collector over both protocols, configured through the standard
/// variables: the exporter verifies the collector against `OTEL_EXPORTER_OTLP_CERTIFICATE` and
/// presents `OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE`. Without the client certificate, or trusting
/// another CA, nothing is delivered and the failures are counted and logged.
#[test]
fn otlp_over_mutual_tls_with_both_protocols() {
    broker();
    let pki_dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(pki_dir.path());
    let collector = Collector::start_with(Some(pki.clone()));
    let producer = HeaderProducer::new();
    let path = |p: &PathBuf| p.to_str().unwrap().to_string();
    let spawn = |protocol: &str, source: &str, topic: &str, tls: &[(&str, String)]| {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.yaml");
        let yaml = source_config(
            source,
            &unique("otel-tls-group"),
            &[(topic, "text")],
            "admin",
            "admin-secret",
        );
        std::fs::write(&config, yaml).unwrap();
        let endpoint = collector.endpoint(protocol == "grpc");
        let mut env = vec![
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "2000"),
            ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ];
        env.extend(tls.iter().map(|(k, v)| (*k, v.as_str())));
        Exporter::spawn_with_env(&["run", "--config", config.to_str().unwrap()], &env, dir)
    };
    let full = |ca: &PathBuf| {
        vec![
            ("OTEL_EXPORTER_OTLP_CERTIFICATE", path(ca)),
            (
                "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
                path(&pki.client_cert),
            ),
            ("OTEL_EXPORTER_OTLP_CLIENT_KEY", path(&pki.client_key)),
        ]
    };
    for protocol in ["grpc", "http/protobuf"] {
        let tag = if protocol == "grpc" { "grpc" } else { "http" };
        let topic = unique(&format!("otel-tls-{tag}"));
        create_topic(&topic, 1);
        let source = format!("otel_tls_{tag}");

        // Right CA and a client certificate: spans and metrics arrive, no failure.
        let exporter = spawn(protocol, &source, &topic, &full(&pki.ca));
        for i in 0..3 {
            producer.send(
                &topic,
                "user-login",
                &format!("User tls{i} logged in successfully"),
                &[],
            );
        }
        producer.flush();
        exporter.wait_for(Duration::from_secs(60), "3 events", |s| {
            s.sum(EVENTS, &[("source", &source)]) == 3.0
        });
        wait_until(Duration::from_secs(30), "3 spans over TLS", || {
            let n = collector
                .spans()
                .iter()
                .filter(|s| s.attributes.get("messaging.destination.name") == Some(&topic))
                .count();
            (n == 3).then_some(())
        });
        wait_until(Duration::from_secs(30), "the count pushed over TLS", || {
            let events = latest(&collector.points(), "kafka_security.events");
            let sum: f64 = events
                .values()
                .filter(|p| p.attributes.get("source") == Some(&source))
                .map(|p| p.value)
                .sum();
            (sum == 3.0).then_some(())
        });
        let scrape = exporter.scrape();
        for signal in ["metrics", "traces"] {
            assert_eq!(
                scrape.value(
                    "kafka_security_otlp_export_failures_total",
                    &[("signal", signal)]
                ),
                0.0,
                "{protocol} {signal}"
            );
        }
        exporter.stop(Duration::from_secs(30));

        // No client certificate: the collector refuses the handshake.
        // Trusting another CA: the exporter refuses the collector.
        let mut no_client_cert = full(&pki.ca);
        no_client_cert.truncate(1);
        for (case, tls) in [
            ("no client certificate", no_client_cert),
            ("another CA", full(&pki.other_ca)),
        ] {
            let exporter = spawn(protocol, &format!("{source}_bad"), &topic, &tls);
            let scrape = exporter.wait_for(Duration::from_secs(30), case, |s| {
                s.value(
                    "kafka_security_otlp_export_failures_total",
                    &[("signal", "metrics")],
                ) >= 2.0
            });
            assert_eq!(
                scrape.sum(EVENTS, &[("source", &format!("{source}_bad"))]),
                3.0,
                "{protocol}, {case}: counting goes on"
            );
            let logs = exporter.stop(Duration::from_secs(30));
            let errors: Vec<String> = logs
                .iter()
                .filter(|l| l["message"].as_str() == Some(METRIC_EXPORT_FAILED))
                .map(|l| l["error"].as_str().unwrap_or("").to_string())
                .collect();
            eprintln!("{protocol}, {case}: {errors:?}");
            assert!(!errors.is_empty(), "{protocol}, {case}: nothing logged");
            // A refused server certificate names the reason. A refused client certificate is
            // seen, under TLS 1.3, only as the collector closing the connection.
            if case == "another CA" {
                assert!(
                    errors.iter().all(|e| e.contains("certificate")),
                    "{protocol}, {case}: not a certificate error: {errors:?}"
                );
            }
        }
        let delivered = latest(&collector.points(), "kafka_security.events");
        assert!(
            !delivered
                .values()
                .any(|p| p.attributes.get("source") == Some(&format!("{source}_bad"))),
            "{protocol}: a push without a valid TLS setup was accepted"
        );
    }
}

/// Resident memory now (VmRSS), in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap()
        * 1024
}

#[test]
fn a_collector_outage_is_counted_bounded_and_recovered_from() {
    broker();
    let topic = unique("otel-outage");
    create_topic(&topic, 2);
    let mut collector = Collector::start();
    let source = "outage";
    let mut yaml = source_config(
        source,
        &unique("otel-outage-group"),
        &[(&topic, "text")],
        "admin",
        "admin-secret",
    );
    yaml.push_str(&format!(
        "otlp:\n  endpoint: {}\n  protocol: grpc\n  timeout_ms: 500\n  metrics: {{interval_ms: 300}}\n  traces: {{schedule_delay_ms: 100, max_queue_size: 1024, max_export_batch_size: 256}}\n",
        collector.endpoint(true)
    ));
    let exporter = Exporter::start(&yaml);
    let producer = HeaderProducer::new();
    let send = |n: usize| {
        for i in 0..n {
            producer.send(
                &topic,
                "user-login",
                &format!("User u{} logged in successfully", i % 50),
                &[],
            );
        }
        producer.flush();
    };

    // Warm up with the collector up.
    send(500);
    exporter.wait_for(Duration::from_secs(60), "500 events", |s| {
        s.sum(EVENTS, &[("source", source)]) == 500.0
    });
    wait_until(Duration::from_secs(30), "500 spans", || {
        (collector.spans().len() >= 500).then_some(())
    });
    let rss_before = rss_bytes(exporter.pid());

    // Collector crashes; events keep coming and keep being counted.
    collector.kill();
    for round in 1..=4 {
        send(5_000);
        exporter.wait_for(Duration::from_secs(120), "events during the outage", |s| {
            s.sum(EVENTS, &[("source", source)]) == 500.0 + 5_000.0 * round as f64
        });
    }
    let during = exporter.wait_for(Duration::from_secs(30), "failures counted", |s| {
        s.value(
            "kafka_security_otlp_export_failures_total",
            &[("signal", "metrics")],
        ) > 0.0
            && s.value(
                "kafka_security_otlp_export_failures_total",
                &[("signal", "traces")],
            ) > 0.0
    });
    let dropped_spans = during.value("kafka_security_otlp_dropped_total", &[("signal", "traces")]);
    // 20 000 spans could not be delivered: each one is either still queued or being sent
    // (≤ 1024 + 256) or counted.
    assert!(
        dropped_spans >= 20_000.0 - 1024.0 - 256.0,
        "dropped spans counted: {dropped_spans}"
    );
    assert!(
        during.value(
            "kafka_security_otlp_dropped_total",
            &[("signal", "metrics")]
        ) > 0.0
    );
    let rss_after = rss_bytes(exporter.pid());
    eprintln!(
        "RSS before the outage {} MiB, after 20 000 events during it {} MiB",
        rss_before >> 20,
        rss_after >> 20
    );
    assert!(
        rss_after < rss_before + (24 << 20),
        "memory grew during the outage: {} -> {} MiB",
        rss_before >> 20,
        rss_after >> 20
    );

    // The collector comes back on the same ports: export resumes.
    collector.launch();
    send(100);
    let total = 500.0 + 20_000.0 + 100.0;
    exporter.wait_for(Duration::from_secs(60), "events after the outage", |s| {
        s.sum(EVENTS, &[("source", source)]) == total
    });
    wait_until(
        Duration::from_secs(30),
        "new spans after the outage",
        || (collector.spans().len() >= 100).then_some(()),
    );
    // Cumulative metrics lose nothing: the first push after the outage carries every event,
    // including those counted while the collector was down.
    wait_until(Duration::from_secs(30), "the full count pushed", || {
        let events = latest(&collector.points(), "kafka_security.events");
        let sum: f64 = events
            .values()
            .filter(|p| p.attributes["source"] == source)
            .map(|p| p.value)
            .sum();
        (sum == total).then_some(())
    });
    exporter.stop(Duration::from_secs(30));
}

#[test]
fn the_readme_otlp_example_is_valid() {
    let readme = std::fs::read_to_string(repo_dir().join("README.md")).unwrap();
    let section = &readme[readme
        .find("## OpenTelemetry")
        .expect("OpenTelemetry section")..];
    let start = section.find("```yaml\notlp:\n").expect("otlp example") + "```yaml\n".len();
    let end = start + section[start..].find("```").expect("block end");
    let root: serde_yaml_ng::Value = serde_yaml_ng::from_str(&section[start..end]).unwrap();
    let otlp: kafka_security_exporter::otel::OtlpConfig =
        serde_yaml_ng::from_value(root["otlp"].clone())
            .unwrap_or_else(|e| panic!("README otlp example: {e}"));
    assert_eq!(otlp.traces.sampler_arg, Some(0.05));
    assert_eq!(otlp.traces.always_sample_negative, Some(true));
}
