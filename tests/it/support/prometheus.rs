//! The real Prometheus (Debian package `prometheus`) on a free loopback port, and its HTTP API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value as Json;

use super::{free_port, wait_until, KillOnDrop};

/// A program of the Debian package `prometheus` (`prometheus`, `promtool`).
pub fn find_bin(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/local/bin"] {
        let p = Path::new(dir).join(name);
        if p.exists() {
            return p;
        }
    }
    panic!("{name} not found: install the Debian package `prometheus` (scripts/test.sh does)");
}

/// Starts Prometheus in `dir` scraping `target` every second as job `job`, evaluating `rules`
/// (a rule file's YAML) every second, and waits until it is ready.
pub fn start(dir: &Path, target: SocketAddr, job: &str, rules: &str) -> (KillOnDrop, SocketAddr) {
    std::fs::write(dir.join("rules.yml"), rules).unwrap();
    std::fs::write(
        dir.join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - rules.yml\nscrape_configs:\n  - job_name: {job}\n    static_configs:\n      - targets: ['{target}']\n"
        ),
    )
    .unwrap();
    start_with_config(dir)
}

/// Starts Prometheus with the `prometheus.yml` already written in `dir`, and waits until it is
/// ready.
pub fn start_with_config(dir: &Path) -> (KillOnDrop, SocketAddr) {
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let child = Command::new(find_bin("prometheus"))
        .arg(format!(
            "--config.file={}",
            dir.join("prometheus.yml").display()
        ))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.join("data").display()
        ))
        .arg(format!("--web.listen-address={addr}"))
        .arg("--log.level=warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn prometheus");
    let proc = KillOnDrop(child);
    wait_until(
        Duration::from_secs(30),
        &format!("prometheus to become ready on {addr}"),
        || matches!(get(addr, "/-/ready"), Ok((200, _))).then_some(()),
    );
    (proc, addr)
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// GET over HTTP/1.0, so Prometheus answers without chunked encoding: (status, body).
pub fn get(prom: SocketAddr, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&prom, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {prom}\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("no header end"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line {head:?}")))?;
    Ok((status, raw[split + 4..].to_vec()))
}

/// A Prometheus HTTP API call that must succeed: its JSON answer.
pub fn api(prom: SocketAddr, path: &str) -> Json {
    let (status, body) = get(prom, path).expect("prometheus API");
    let v: Json = serde_json::from_slice(&body).unwrap_or(Json::Null);
    assert!(
        status == 200 && v["status"] == "success",
        "GET {path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    v
}

/// The number of series (or points) an instant query returns.
pub fn query(prom: SocketAddr, expr: &str) -> Result<usize, String> {
    let (status, body) = get(prom, &format!("/api/v1/query?query={}", url_encode(expr)))
        .map_err(|e| e.to_string())?;
    let v: Json = serde_json::from_slice(&body).map_err(|e| e.to_string())?;
    if status != 200 || v["status"] != "success" {
        return Err(format!("{status}: {}", v["error"]));
    }
    Ok(match &v["data"]["result"] {
        Json::Array(a) => a.len(),
        Json::Null => 0,
        _ => 1, // scalar
    })
}

/// The shipped rules (`alerts/kafka-security.rules.yml`) with every `for:` at 5 s, so alerts go
/// pending and firing within a test.
pub fn shipped_rules_with_short_for() -> String {
    let text =
        std::fs::read_to_string(super::repo_dir().join("alerts/kafka-security.rules.yml")).unwrap();
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
    for g in doc["groups"].as_sequence_mut().unwrap() {
        for r in g["rules"].as_sequence_mut().unwrap() {
            if r.get("for").is_some() {
                r["for"] = serde_yaml_ng::Value::String("5s".into());
            }
        }
    }
    serde_yaml_ng::to_string(&doc).unwrap()
}
