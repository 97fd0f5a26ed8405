//! `/metrics` protected by the exporter-toolkit web config file (`web.config_file`,
//! `--web.config.file`): the real binary, asked by `curl` and scraped by the real Prometheus, over
//! TLS with basic authentication and mutual TLS; reloads without a restart; a bad file refuses
//! the start. No Kafka: the exporter runs without sources. Certificates are made at test time
//! by `openssl` ([`Pki`]).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::support::pki::Pki;
use crate::support::prometheus;
use crate::support::{check_config, exporter_bin, http_get, wait_until, Exporter, Scrape};

/// A cost-4 bcrypt hash: the cheapest bcrypt allows, so the tests stay fast.
fn hash(password: &str) -> String {
    bcrypt::hash(password, 4).unwrap()
}

/// What `curl` got: the status (0 when there was no HTTP answer), the headers lowercased, the
/// body, and curl's exit code.
struct Curl {
    status: u16,
    headers: String,
    body: String,
    exit: i32,
}

/// `curl` with `args`, bounded to 10 s.
fn curl(args: &[&str], url: &str) -> Curl {
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers");
    let body = dir.path().join("body");
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "10", "-w", "%{http_code}"])
        .arg("-D")
        .arg(&headers)
        .arg("-o")
        .arg(&body)
        .args(args)
        .arg(url)
        .output()
        .expect("run curl (Debian package curl)");
    Curl {
        status: String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0),
        headers: std::fs::read_to_string(&headers)
            .unwrap_or_default()
            .to_ascii_lowercase(),
        body: std::fs::read_to_string(&body).unwrap_or_default(),
        exit: out.status.code().unwrap_or(-1),
    }
}

/// Starts the exporter (no sources) with `web_config` written to `web.yml` beside the PKI in
/// `dir`; returns it and the web config file's path.
fn start(dir: &Path, web_config: &str) -> (Exporter, PathBuf) {
    let web = dir.join("web.yml");
    std::fs::write(&web, web_config).unwrap();
    let exporter = Exporter::start(&format!("web:\n  config_file: {}\n", web.display()));
    (exporter, web)
}

fn tls_section(pki: &Pki) -> String {
    format!(
        "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
        pki.server_cert.display(),
        pki.server_key.display()
    )
}

fn https(exporter: &Exporter, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", exporter.addr.port())
}

#[test]
fn metrics_over_tls_need_the_right_password_and_probes_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let (exporter, _) = start(
        dir.path(),
        &format!(
            "{}basic_auth_users:\n  prometheus: '{}'\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n    Strict-Transport-Security: max-age=31536000\n",
            tls_section(&pki),
            hash("s3cret")
        ),
    );
    let ca = pki.ca.to_str().unwrap();
    let url = https(&exporter, "/metrics");

    let none = curl(&["--cacert", ca], &url);
    assert_eq!(none.status, 401, "no credentials: {}", none.body);
    assert!(
        none.headers
            .contains("www-authenticate: basic realm=\"kafka-security-exporter\""),
        "{}",
        none.headers
    );
    assert!(!none.body.contains("kafka_security_"), "{}", none.body);
    // The configured headers are on every response, refusals too.
    assert!(none.headers.contains("x-content-type-options: nosniff"));
    assert!(none
        .headers
        .contains("strict-transport-security: max-age=31536000"));

    let wrong = curl(&["--cacert", ca, "-u", "prometheus:guess"], &url);
    assert_eq!(wrong.status, 401);
    let unknown = curl(&["--cacert", ca, "-u", "nobody:s3cret"], &url);
    assert_eq!(unknown.status, 401);

    let right = curl(&["--cacert", ca, "-u", "prometheus:s3cret"], &url);
    assert_eq!(right.status, 200, "{}", right.body);
    let scrape = Scrape::parse(&right.body);
    assert_eq!(
        scrape.get("kafka_security_web_config_reload_failures_total", &[]),
        Some(0.0)
    );
    assert!(right.headers.contains("x-content-type-options: nosniff"));
    // HTTP/2 is offered by ALPN and used by curl when it can.
    let h2 = curl(
        &["--cacert", ca, "-u", "prometheus:s3cret", "--http2"],
        &url,
    );
    assert_eq!(h2.status, 200);

    // The landing page is protected; the probes are not (web.open_probes defaults to true).
    assert_eq!(curl(&["--cacert", ca], &https(&exporter, "/")).status, 401);
    let health = curl(&["--cacert", ca], &https(&exporter, "/healthz"));
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));
    assert_eq!(
        curl(&["--cacert", ca], &https(&exporter, "/readyz")).status,
        200
    );

    // A client that does not trust the CA, and plain HTTP to the TLS port, get no HTTP answer.
    let untrusted = curl(&["--cacert", pki.other_ca.to_str().unwrap()], &url);
    assert_eq!(
        (untrusted.status, untrusted.exit),
        (0, 60),
        "curl: peer certificate not trusted"
    );
    let plain = curl(
        &[],
        &format!("http://127.0.0.1:{}/metrics", exporter.addr.port()),
    );
    assert_eq!(
        plain.status, 0,
        "plain HTTP got an HTTP answer: {}",
        plain.headers
    );
    assert_ne!(plain.exit, 0);
    assert!(
        http_get(exporter.addr, "/healthz", &[]).is_err(),
        "plain HTTP to the TLS port must not be answered"
    );
}

#[test]
fn probes_can_be_protected_too() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(&web, format!("basic_auth_users: {{u: '{}'}}\n", hash("pw"))).unwrap();
    let exporter = Exporter::start(&format!(
        "web:\n  config_file: {}\n  open_probes: false\n",
        web.display()
    ));
    let url = |p: &str| format!("http://{}{p}", exporter.addr);
    assert_eq!(curl(&[], &url("/healthz")).status, 401);
    assert_eq!(curl(&["-u", "u:pw"], &url("/healthz")).status, 200);
    assert_eq!(curl(&[], &url("/metrics")).status, 401);
}

#[test]
fn mutual_tls_refuses_a_client_without_a_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let (exporter, _) = start(
        dir.path(),
        &format!(
            "{}  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n  min_version: TLS13\n",
            tls_section(&pki),
            pki.ca.display()
        ),
    );
    let ca = pki.ca.to_str().unwrap();
    let url = https(&exporter, "/metrics");
    let without = curl(&["--cacert", ca], &url);
    assert_eq!(without.status, 0, "served without a client certificate");
    assert_ne!(without.exit, 0);
    let with = curl(
        &[
            "--cacert",
            ca,
            "--cert",
            pki.client_cert.to_str().unwrap(),
            "--key",
            pki.client_key.to_str().unwrap(),
        ],
        &url,
    );
    assert_eq!(with.status, 200, "{}", with.body);
    // The server certificate is not for client authentication (extendedKeyUsage=serverAuth).
    let wrong_use = curl(
        &[
            "--cacert",
            ca,
            "--cert",
            pki.server_cert.to_str().unwrap(),
            "--key",
            pki.server_key.to_str().unwrap(),
        ],
        &url,
    );
    assert_eq!(wrong_use.status, 0);
    // TLS 1.2 is below min_version.
    let old = curl(
        &[
            "--cacert",
            ca,
            "--tls-max",
            "1.2",
            "--cert",
            pki.client_cert.to_str().unwrap(),
            "--key",
            pki.client_key.to_str().unwrap(),
        ],
        &url,
    );
    assert_eq!(old.status, 0, "TLS 1.2 accepted with min_version TLS13");
}

#[test]
fn a_changed_password_applies_without_restart_and_a_bad_file_keeps_the_last_good() {
    let dir = tempfile::tempdir().unwrap();
    let (exporter, web) = start(
        dir.path(),
        &format!("basic_auth_users:\n  prometheus: '{}'\n", hash("old")),
    );
    let url = format!("http://{}/metrics", exporter.addr);
    assert_eq!(curl(&["-u", "prometheus:old"], &url).status, 200);
    let pid = exporter.pid();

    std::fs::write(
        &web,
        format!("basic_auth_users:\n  prometheus: '{}'\n", hash("new")),
    )
    .unwrap();
    wait_until(Duration::from_secs(10), "the new password to work", || {
        (curl(&["-u", "prometheus:new"], &url).status == 200).then_some(())
    });
    assert_eq!(curl(&["-u", "prometheus:old"], &url).status, 401);

    // A bad version is rejected: the last good one stays, the failure is logged and counted.
    std::fs::write(&web, "basic_auth_users:\n  prometheus: plaintext\n").unwrap();
    wait_until(
        Duration::from_secs(10),
        "the failed reload to be logged",
        || {
            exporter.log_field(
                "Cannot reload the web config; keeping the last good one.",
                "problems",
            )
        },
    );
    let problems = exporter
        .log_field(
            "Cannot reload the web config; keeping the last good one.",
            "problems",
        )
        .unwrap();
    assert!(
        problems
            .as_str()
            .unwrap()
            .contains("basic_auth_users.prometheus: not a bcrypt hash"),
        "{problems}"
    );
    let scraped = curl(&["-u", "prometheus:new"], &url);
    assert_eq!(scraped.status, 200);
    assert_eq!(
        curl(&[], &url).status,
        401,
        "a bad file must not open the endpoint"
    );
    let scrape = Scrape::parse(&scraped.body);
    assert_eq!(
        scrape.get("kafka_security_web_config_reload_failures_total", &[]),
        Some(1.0)
    );
    assert_eq!(
        scrape.get("kafka_security_web_config_last_reload_successful", &[]),
        Some(0.0)
    );
    assert_eq!(exporter.pid(), pid);
    exporter.stop(Duration::from_secs(10));
}

#[test]
fn a_renewed_certificate_is_served_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let (exporter, _) = start(dir.path(), &tls_section(&pki));
    let url = https(&exporter, "/healthz");
    assert_eq!(
        curl(&["--cacert", pki.ca.to_str().unwrap()], &url).status,
        200
    );
    // The certificate and key are replaced by ones from another CA.
    let other = tempfile::tempdir().unwrap();
    let renewed = Pki::generate(other.path());
    std::fs::copy(&renewed.server_cert, &pki.server_cert).unwrap();
    std::fs::copy(&renewed.server_key, &pki.server_key).unwrap();
    wait_until(Duration::from_secs(10), "the renewed certificate", || {
        (curl(&["--cacert", renewed.ca.to_str().unwrap()], &url).status == 200).then_some(())
    });
    assert_eq!(
        curl(&["--cacert", pki.ca.to_str().unwrap()], &url).status,
        0
    );
}

#[test]
fn a_bad_web_config_file_refuses_the_start_and_fails_check_config() {
    let dir = tempfile::tempdir().unwrap();
    let web = dir.path().join("web.yml");
    std::fs::write(
        &web,
        "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.key\n  min_version: TLS10\nbasic_auth_users:\n  prometheus: hunter2\n",
    )
    .unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(&config, format!("web:\n  config_file: {}\n", web.display())).unwrap();
    let expected = [
        "tls_server_config.cert_file: cannot read `",
        "tls_server_config.key_file: cannot read `",
        "tls_server_config.min_version: TLS10 is not supported",
        "basic_auth_users.prometheus: not a bcrypt hash",
    ];

    let checked = check_config(&std::fs::read_to_string(&config).unwrap(), &[]);
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert_eq!(checked.status.code(), Some(64), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "missing {e:?} in:\n{stderr}");
    }
    assert!(stderr.contains(&format!("web.config_file `{}`", web.display())));
    assert!(
        !stderr.contains("hunter2"),
        "the secret was printed:\n{stderr}"
    );

    let run = Command::new(exporter_bin())
        .args(["--web.listen-address", "127.0.0.1:0", "run", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(64), "{stderr}");
    for e in expected {
        assert!(stderr.contains(e), "missing {e:?} in:\n{stderr}");
    }
    assert!(!stderr.contains("Serving metrics"), "{stderr}");

    // The flag is checked the same way, by check-config too.
    let empty = dir.path().join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    let flag = Command::new(exporter_bin())
        .arg("--web.config.file")
        .arg(&web)
        .arg("check-config")
        .arg(&empty)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&flag.stderr);
    assert_eq!(flag.status.code(), Some(64), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "--web.config.file `{}`: tls_server_config.min_version",
            web.display()
        )),
        "{stderr}"
    );
}

/// The real Prometheus scrapes over TLS with basic auth: up with the right CA and credentials,
/// down with a wrong password or an untrusted CA.
#[test]
fn prometheus_scrapes_over_tls_with_basic_auth() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::generate(dir.path());
    let (exporter, _) = start(
        dir.path(),
        &format!(
            "{}basic_auth_users:\n  prometheus: '{}'\n",
            tls_section(&pki),
            hash("scrape-me")
        ),
    );
    let prom_dir = tempfile::tempdir().unwrap();
    let job = |name: &str, password: &str, ca: &Path| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    tls_config: {{ca_file: {}}}\n    basic_auth: {{username: prometheus, password: {password}}}\n    static_configs: [{{targets: ['{}']}}]\n",
            ca.display(),
            exporter.addr
        )
    };
    std::fs::write(
        prom_dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n{}{}{}",
            job("good", "scrape-me", &pki.ca),
            job("wrong_password", "guess", &pki.ca),
            job("untrusted_ca", "scrape-me", &pki.other_ca),
        ),
    )
    .unwrap();
    let (_prom, addr) = prometheus::start_with_config(prom_dir.path());
    let holds = |expr: &str| prometheus::query(addr, expr) == Ok(1);
    wait_until(Duration::from_secs(30), "every job scraped once", || {
        (holds(r#"up{job="good"} == 1"#)
            && holds(r#"up{job="wrong_password"} == 0"#)
            && holds(r#"up{job="untrusted_ca"} == 0"#))
        .then_some(())
    });
    // The good job reads the exporter's own series.
    wait_until(
        Duration::from_secs(30),
        "build_info through Prometheus",
        || holds(r#"kafka_security_build_info{job="good"} == 1"#).then_some(()),
    );
    assert_eq!(
        prometheus::query(
            addr,
            r#"kafka_security_build_info{job=~"wrong_password|untrusted_ca"}"#
        ),
        Ok(0)
    );
    let targets = prometheus::api(addr, "/api/v1/targets");
    let errors: Vec<(String, String)> = targets["data"]["activeTargets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["labels"]["job"].as_str().unwrap().to_string(),
                t["lastError"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    for (job, error) in &errors {
        match job.as_str() {
            "good" => assert_eq!(error, "", "{errors:?}"),
            "wrong_password" => assert!(error.contains("401"), "{errors:?}"),
            "untrusted_ca" => assert!(error.contains("certificate"), "{errors:?}"),
            other => panic!("unexpected job {other}"),
        }
    }
}
