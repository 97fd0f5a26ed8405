//! The web configuration file (`--web.config.file`, `web.config_file`) in the Prometheus
//! exporter-toolkit's own format, so a file written for node_exporter or Prometheus works here:
//! <https://github.com/prometheus/exporter-toolkit/blob/master/docs/web-configuration.md>.
//!
//! ```yaml
//! tls_server_config:
//!   cert_file: server.pem          # relative paths are relative to this file's directory
//!   key_file: server.key
//!   client_auth_type: RequireAndVerifyClientCert
//!   client_ca_file: clients-ca.pem
//!   min_version: TLS13
//! http_server_config:
//!   headers: { Strict-Transport-Security: max-age=31536000 }
//! basic_auth_users:
//!   prometheus: $2y$10$...         # bcrypt hash: htpasswd -nBC 10 "" | tr -d ':\n'
//! ```
//!
//! [`load`] reads and checks everything (the YAML, every bcrypt hash, the certificate and key,
//! the client CA) and builds the rustls server config, returning every problem at once. What the
//! TLS stack (rustls with ring) cannot honour is a problem, never silently dropped: TLS 1.0 and
//! 1.1, CBC cipher suites, curve P-521, `client_allowed_sans` entries that are not DNS names or
//! IP addresses.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::{HeaderName, HeaderValue};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DistinguishedName, RootCertStore, ServerConfig, SupportedProtocolVersion};
use serde::Deserialize;

/// The file as written. Unknown keys are errors, as in exporter-toolkit (`UnmarshalStrict`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    tls_server_config: Option<RawTls>,
    http_server_config: Option<RawHttp>,
    basic_auth_users: Option<BTreeMap<String, String>>,
    rate_limit: Option<RawRateLimit>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert: Option<String>,
    key: Option<String>,
    client_ca: Option<String>,
    cert_file: Option<PathBuf>,
    key_file: Option<PathBuf>,
    client_auth_type: Option<String>,
    client_ca_file: Option<PathBuf>,
    client_allowed_sans: Option<Vec<String>>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
    curve_preferences: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRateLimit {
    interval: Option<String>,
    burst: Option<u32>,
}

/// The headers exporter-toolkit lets a file set, with the values allowed when the set is closed
/// (`extraHTTPHeaders` in exporter-toolkit's `web/handler.go`).
const ALLOWED_HEADERS: [(&str, &[&str]); 5] = [
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

/// A checked web configuration, ready to serve with.
#[derive(Clone, Default)]
pub struct WebSettings {
    /// TLS on when `Some`: every connection is a TLS handshake first.
    pub tls: Option<Arc<ServerConfig>>,
    /// Offer HTTP/2 (ALPN `h2`) on TLS connections. Default true, as in exporter-toolkit.
    pub http2: bool,
    /// Added to every response.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// User name → bcrypt hash. Empty: no basic authentication.
    pub users: BTreeMap<String, String>,
    /// A token bucket over every request but the open probes.
    pub rate_limit: Option<RateLimit>,
    /// How mutual TLS is set, for the log line at start.
    pub client_auth: ClientAuth,
}

impl fmt::Debug for WebSettings {
    /// Never prints the hashes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSettings")
            .field("tls", &self.tls.is_some())
            .field("http2", &self.http2)
            .field("headers", &self.headers)
            .field("users", &self.users.keys().collect::<Vec<_>>())
            .field("rate_limit", &self.rate_limit)
            .field("client_auth", &self.client_auth)
            .finish()
    }
}

impl WebSettings {
    /// Nothing protects the endpoint: no TLS and no basic authentication.
    pub fn is_open(&self) -> bool {
        self.tls.is_none() && self.users.is_empty()
    }
}

/// `rate_limit`: at most `burst` requests at once, refilled one per `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub interval: Duration,
    pub burst: u32,
}

/// `client_auth_type`, with Go's `crypto/tls` names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ClientAuth {
    #[default]
    NoClientCert,
    RequestClientCert,
    RequireAnyClientCert,
    VerifyClientCertIfGiven,
    RequireAndVerifyClientCert,
}

impl ClientAuth {
    fn parse(name: &str) -> Option<ClientAuth> {
        Some(match name {
            "" | "NoClientCert" => ClientAuth::NoClientCert,
            "RequestClientCert" => ClientAuth::RequestClientCert,
            // `RequireClientCert` is exporter-toolkit's older name, still accepted there.
            "RequireAnyClientCert" | "RequireClientCert" => ClientAuth::RequireAnyClientCert,
            "VerifyClientCertIfGiven" => ClientAuth::VerifyClientCertIfGiven,
            "RequireAndVerifyClientCert" => ClientAuth::RequireAndVerifyClientCert,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::NoClientCert => "NoClientCert",
            ClientAuth::RequestClientCert => "RequestClientCert",
            ClientAuth::RequireAnyClientCert => "RequireAnyClientCert",
            ClientAuth::VerifyClientCertIfGiven => "VerifyClientCertIfGiven",
            ClientAuth::RequireAndVerifyClientCert => "RequireAndVerifyClientCert",
        }
    }

    fn verifies(self) -> bool {
        matches!(
            self,
            ClientAuth::VerifyClientCertIfGiven | ClientAuth::RequireAndVerifyClientCert
        )
    }
}

/// The bytes of every file a loaded configuration was built from: the web config file itself
/// and the certificate, key and client CA files it names. A change in any of them is a reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fingerprint(pub Vec<(PathBuf, Option<Vec<u8>>)>);

impl Fingerprint {
    /// The same files read again now (`None` for one that cannot be read).
    pub fn reread(&self) -> Fingerprint {
        Fingerprint(
            self.0
                .iter()
                .map(|(p, _)| (p.clone(), std::fs::read(p).ok()))
                .collect(),
        )
    }
}

/// Reads and checks the web config file at `path`: the settings and the files they came from,
/// or every problem found, each naming its key.
pub fn load(path: &Path) -> Result<(WebSettings, Fingerprint), Vec<String>> {
    let bytes = std::fs::read(path).map_err(|e| vec![format!("cannot read it: {e}")])?;
    let mut files = Fingerprint(vec![(path.to_path_buf(), Some(bytes.clone()))]);
    let text = std::str::from_utf8(&bytes).map_err(|_| vec!["it is not UTF-8 text".into()])?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let settings = parse(text, dir, &mut files)?;
    Ok((settings, files))
}

/// Checks `text`, a web config file in `dir` (its relative paths start there); the files it
/// reads are added to `files`.
fn parse(text: &str, dir: &Path, files: &mut Fingerprint) -> Result<WebSettings, Vec<String>> {
    let raw: RawFile = if text.trim().is_empty() {
        RawFile::default()
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let at = e.path().to_string();
            if at == "." || at.is_empty() {
                vec![e.inner().to_string()]
            } else {
                vec![format!("{at}: {}", e.inner())]
            }
        })?
    };
    let mut problems = Vec::new();
    let mut settings = WebSettings {
        http2: true,
        ..WebSettings::default()
    };
    if let Some(users) = raw.basic_auth_users {
        for (user, hash) in users {
            if user.contains(':') {
                problems.push(format!(
                    "basic_auth_users.{user}: a user name cannot contain `:` (basic authentication splits on it)"
                ));
            }
            if let Err(e) = hash.parse::<bcrypt::HashParts>() {
                // The error names the problem without echoing the hash.
                let why = match e {
                    bcrypt::BcryptError::InvalidHash(_) => "not a bcrypt hash".to_string(),
                    other => other.to_string(),
                };
                problems.push(format!(
                    "basic_auth_users.{user}: {why} (expected `$2y$<cost>$...`, 60 characters, e.g. from `htpasswd -nBC 10 \"\" | tr -d ':\\n'`)"
                ));
            }
            settings.users.insert(user, hash);
        }
    }
    if let Some(http) = raw.http_server_config {
        settings.http2 = http.http2.unwrap_or(true);
        for (name, value) in http.headers.unwrap_or_default() {
            match header(&name, &value) {
                Ok(h) => settings.headers.push(h),
                Err(p) => problems.push(format!("http_server_config.headers.{name}: {p}")),
            }
        }
    }
    if let Some(limit) = raw.rate_limit {
        match rate_limit(&limit) {
            Ok(l) => settings.rate_limit = l,
            Err(p) => problems.push(format!("rate_limit.{p}")),
        }
    }
    if let Some(tls) = raw.tls_server_config {
        match tls_config(&tls, dir, files) {
            Ok(Some((mut config, client_auth))) => {
                config.alpn_protocols = if settings.http2 {
                    vec![b"h2".to_vec(), b"http/1.1".to_vec()]
                } else {
                    vec![b"http/1.1".to_vec()]
                };
                settings.tls = Some(Arc::new(config));
                settings.client_auth = client_auth;
            }
            Ok(None) => {}
            Err(p) => problems.extend(p.into_iter().map(|p| format!("tls_server_config.{p}"))),
        }
    }
    if problems.is_empty() {
        Ok(settings)
    } else {
        Err(problems)
    }
}

fn header(name: &str, value: &str) -> Result<(HeaderName, HeaderValue), String> {
    let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(n, _)| *n == name) else {
        let names: Vec<_> = ALLOWED_HEADERS.iter().map(|(n, _)| *n).collect();
        return Err(format!(
            "this header cannot be set; one of {}",
            names.join(", ")
        ));
    };
    if !allowed.is_empty() && !allowed.contains(&value) {
        return Err(format!(
            "`{value}` is not allowed; one of {}",
            allowed.join(", ")
        ));
    }
    let value = HeaderValue::from_str(value)
        .map_err(|_| format!("`{value}` is not a valid header value"))?;
    // Every name in ALLOWED_HEADERS is a valid header name.
    Ok((
        HeaderName::from_bytes(name.as_bytes()).expect("valid name"),
        value,
    ))
}

fn rate_limit(raw: &RawRateLimit) -> Result<Option<RateLimit>, String> {
    let interval = match raw.interval.as_deref() {
        None | Some("0") | Some("0s") => return Ok(None),
        Some(text) => humantime::parse_duration(text)
            .map_err(|e| format!("interval: `{text}` is not a duration ({e})"))?,
    };
    if interval.is_zero() {
        return Ok(None);
    }
    match raw.burst {
        Some(burst) if burst > 0 => Ok(Some(RateLimit { interval, burst })),
        _ => Err("burst: must be at least 1 when an interval is set".into()),
    }
}

/// Reads a PEM item given inline (`inline`) or as a file (`file`, relative to `dir`), naming the
/// key it came from; the file's bytes go into `files`.
fn pem_source(
    inline: Option<&str>,
    inline_key: &str,
    file: Option<&Path>,
    file_key: &str,
    dir: &Path,
    files: &mut Fingerprint,
) -> Result<Option<Vec<u8>>, String> {
    match (inline.filter(|s| !s.is_empty()), file) {
        (Some(_), Some(_)) => Err(format!(
            "{inline_key}: set either `{inline_key}` or `{file_key}`, not both"
        )),
        (Some(text), None) => Ok(Some(text.as_bytes().to_vec())),
        (None, Some(p)) if p.as_os_str().is_empty() => {
            Err(format!("{file_key}: must not be empty"))
        }
        (None, Some(p)) => {
            let path = dir.join(p);
            let read = std::fs::read(&path);
            files.0.push((path.clone(), read.as_ref().ok().cloned()));
            read.map(Some)
                .map_err(|e| format!("{file_key}: cannot read `{}`: {e}", path.display()))
        }
        (None, None) => Ok(None),
    }
}

/// The TLS versions rustls speaks, by exporter-toolkit's names.
fn tls_version(
    key: &str,
    name: Option<&str>,
    default: &'static SupportedProtocolVersion,
) -> Result<&'static SupportedProtocolVersion, String> {
    match name {
        None | Some("") => Ok(default),
        Some("TLS12") => Ok(&rustls::version::TLS12),
        Some("TLS13") => Ok(&rustls::version::TLS13),
        Some(v @ ("TLS10" | "TLS11")) => Err(format!(
            "{key}: {v} is not supported (the TLS stack, rustls, speaks TLS12 and TLS13 only)"
        )),
        Some(other) => Err(format!(
            "{key}: unknown TLS version `{other}`; one of TLS12, TLS13"
        )),
    }
}

/// Builds the rustls server config from `tls_server_config`; `None` when the section sets
/// nothing (as exporter-toolkit, an empty section is plain HTTP).
fn tls_config(
    raw: &RawTls,
    dir: &Path,
    files: &mut Fingerprint,
) -> Result<Option<(ServerConfig, ClientAuth)>, Vec<String>> {
    let mut problems = Vec::new();
    // An inline PEM (`cert`) or a file (`cert_file`); a problem is collected, not returned.
    let mut pem = |inline: &Option<String>, key: &str, file: &Option<PathBuf>| {
        let file_key = format!("{key}_file");
        match pem_source(
            inline.as_deref(),
            key,
            file.as_deref(),
            &file_key,
            dir,
            files,
        ) {
            Ok(v) => v,
            Err(p) => {
                problems.push(p);
                None
            }
        }
    };
    let cert = pem(&raw.cert, "cert", &raw.cert_file);
    let key = pem(&raw.key, "key", &raw.key_file);
    let client_ca = pem(&raw.client_ca, "client_ca", &raw.client_ca_file);
    let enabled = raw.cert.is_some()
        || raw.key.is_some()
        || raw.client_ca.is_some()
        || raw.cert_file.is_some()
        || raw.key_file.is_some()
        || raw.client_ca_file.is_some()
        || raw.client_auth_type.is_some();
    if !enabled {
        let set = [
            ("min_version", raw.min_version.is_some()),
            ("max_version", raw.max_version.is_some()),
            ("cipher_suites", raw.cipher_suites.is_some()),
            ("curve_preferences", raw.curve_preferences.is_some()),
            ("client_allowed_sans", raw.client_allowed_sans.is_some()),
        ];
        if let Some((k, _)) = set.iter().find(|(_, s)| *s) {
            return Err(vec![format!(
                "{k}: set, but no certificate: give cert_file and key_file to turn TLS on"
            )]);
        }
        return Ok(None);
    }
    if raw.cert.is_none() && raw.cert_file.is_none() {
        problems.push("cert_file: missing (one of `cert` or `cert_file` is required)".into());
    }
    if raw.key.is_none() && raw.key_file.is_none() {
        problems.push("key_file: missing (one of `key` or `key_file` is required)".into());
    }
    let (client_auth, allowed_sans) = client_auth(raw, &mut problems);
    let versions = versions(raw, &mut problems);
    let provider = match provider(raw, &versions) {
        Ok(p) => Arc::new(p),
        Err(p) => {
            problems.extend(p);
            return Err(problems);
        }
    };
    let (chain, key, roots) = pem_items(cert, key, client_ca, &mut problems);
    if !problems.is_empty() {
        return Err(problems);
    }
    let (Some(chain), Some(key)) = (chain, key) else {
        return Err(vec!["cert_file: missing".into()]);
    };
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| vec![format!("min_version: {e}")])?;
    let verifier = verifier(client_auth, roots, allowed_sans, &provider)?;
    let builder = match verifier {
        Some(v) => builder.with_client_cert_verifier(v),
        None => builder.with_no_client_auth(),
    };
    let mut config = builder
        .with_single_cert(chain, key)
        .map_err(|e| vec![format!("key_file: does not go with cert_file: {e}")])?;
    config.ignore_client_order = raw.prefer_server_cipher_suites.unwrap_or(true);
    Ok(Some((config, client_auth)))
}

/// `client_auth_type`, checked against the client CA and `client_allowed_sans`.
fn client_auth(
    raw: &RawTls,
    problems: &mut Vec<String>,
) -> (ClientAuth, Vec<rustls::pki_types::ServerName<'static>>) {
    let client_auth = match ClientAuth::parse(raw.client_auth_type.as_deref().unwrap_or("")) {
        Some(c) => c,
        None => {
            problems.push(format!(
                "client_auth_type: unknown `{}`; one of NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven, RequireAndVerifyClientCert",
                raw.client_auth_type.as_deref().unwrap_or_default()
            ));
            ClientAuth::NoClientCert
        }
    };
    let has_ca = raw.client_ca.is_some() || raw.client_ca_file.is_some();
    if has_ca && client_auth == ClientAuth::NoClientCert {
        problems.push(
            "client_ca_file: set without a client_auth_type that asks for client certificates (use RequireAndVerifyClientCert)".into(),
        );
    }
    if client_auth.verifies() && !has_ca {
        problems.push(format!(
            "client_ca_file: {} needs the CA that signs the client certificates",
            client_auth.as_str()
        ));
    }
    let sans = raw.client_allowed_sans.clone().unwrap_or_default();
    if !sans.is_empty() && !client_auth.verifies() {
        problems.push(format!(
            "client_allowed_sans: needs a verified client certificate (VerifyClientCertIfGiven or RequireAndVerifyClientCert), not {}",
            client_auth.as_str()
        ));
    }
    let mut allowed_sans = Vec::new();
    for san in &sans {
        match rustls::pki_types::ServerName::try_from(san.as_str()) {
            Ok(name) => allowed_sans.push(name.to_owned()),
            Err(_) => problems.push(format!(
                "client_allowed_sans: `{san}` is not a DNS name or IP address (e-mail and URI SANs are not supported)"
            )),
        }
    }
    (client_auth, allowed_sans)
}

/// The TLS versions from `min_version` to `max_version`.
fn versions(raw: &RawTls, problems: &mut Vec<String>) -> Vec<&'static SupportedProtocolVersion> {
    let min = tls_version(
        "min_version",
        raw.min_version.as_deref(),
        &rustls::version::TLS12,
    );
    let max = tls_version(
        "max_version",
        raw.max_version.as_deref(),
        &rustls::version::TLS13,
    );
    match (min, max) {
        (Ok(min), Ok(max)) => {
            let all = [&rustls::version::TLS12, &rustls::version::TLS13];
            let rank =
                |v: &SupportedProtocolVersion| all.iter().position(|a| a.version == v.version);
            if rank(min) > rank(max) {
                problems.push("min_version: is above max_version".into());
            }
            all.into_iter()
                .filter(|v| rank(v) >= rank(min) && rank(v) <= rank(max))
                .collect()
        }
        (a, b) => {
            problems.extend(a.err());
            problems.extend(b.err());
            Vec::new()
        }
    }
}

/// The certificate chain, the private key and the client CA roots from their PEM bytes.
#[allow(clippy::type_complexity)]
fn pem_items(
    cert: Option<Vec<u8>>,
    key: Option<Vec<u8>>,
    client_ca: Option<Vec<u8>>,
    problems: &mut Vec<String>,
) -> (
    Option<Vec<CertificateDer<'static>>>,
    Option<PrivateKeyDer<'static>>,
    Option<Arc<RootCertStore>>,
) {
    let chain = cert.and_then(|pem| {
        match CertificateDer::pem_slice_iter(&pem).collect::<Result<Vec<_>, _>>() {
            Ok(c) if !c.is_empty() => Some(c),
            Ok(_) => {
                problems.push("cert_file: no PEM certificate in it".into());
                None
            }
            Err(e) => {
                problems.push(format!("cert_file: not a PEM certificate: {e}"));
                None
            }
        }
    });
    let key = key.and_then(|pem| match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(k) => Some(k),
        Err(e) => {
            problems.push(format!("key_file: no PEM private key in it: {e}"));
            None
        }
    });
    let roots = client_ca.and_then(|pem| {
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            match cert
                .map_err(|e| e.to_string())
                .and_then(|c| roots.add(c).map_err(|e| e.to_string()))
            {
                Ok(()) => {}
                Err(e) => {
                    problems.push(format!("client_ca_file: not a usable CA certificate: {e}"));
                    return None;
                }
            }
        }
        if roots.is_empty() {
            problems.push("client_ca_file: no PEM certificate in it".into());
            return None;
        }
        Some(Arc::new(roots))
    });
    (chain, key, roots)
}

/// The client certificate verifier of `client_auth`: `None` for `NoClientCert`.
fn verifier(
    client_auth: ClientAuth,
    roots: Option<Arc<RootCertStore>>,
    allowed_sans: Vec<rustls::pki_types::ServerName<'static>>,
    provider: &Arc<CryptoProvider>,
) -> Result<Option<Arc<dyn ClientCertVerifier>>, Vec<String>> {
    Ok(match (client_auth, roots) {
        (ClientAuth::NoClientCert, _) => None,
        (ClientAuth::RequestClientCert, _) => Some(Arc::new(AnyClientCert {
            provider: provider.clone(),
            mandatory: false,
        })),
        (ClientAuth::RequireAnyClientCert, _) => Some(Arc::new(AnyClientCert {
            provider: provider.clone(),
            mandatory: true,
        })),
        (mode, Some(roots)) => {
            let mut b = WebPkiClientVerifier::builder_with_provider(roots, provider.clone());
            if mode == ClientAuth::VerifyClientCertIfGiven {
                b = b.allow_unauthenticated();
            }
            let inner = b
                .build()
                .map_err(|e| vec![format!("client_ca_file: {e}")])?;
            if allowed_sans.is_empty() {
                Some(inner)
            } else {
                Some(Arc::new(AllowedSans {
                    inner,
                    sans: allowed_sans,
                }))
            }
        }
        // Checked above: a verifying mode without a CA is a problem.
        (_, None) => return Err(vec!["client_ca_file: missing".into()]),
    })
}

/// ring's provider restricted to the configured cipher suites and curves, in their order.
fn provider(
    raw: &RawTls,
    versions: &[&'static SupportedProtocolVersion],
) -> Result<CryptoProvider, Vec<String>> {
    let mut provider = rustls::crypto::ring::default_provider();
    let mut problems = Vec::new();
    if let Some(names) = &raw.cipher_suites {
        let all = provider.cipher_suites.clone();
        let mut chosen = Vec::new();
        for name in names {
            match all
                .iter()
                .find(|s| s.suite().as_str() == Some(name.as_str()))
            {
                Some(s) => chosen.push(*s),
                None => problems.push(format!(
                    "cipher_suites: `{name}` is not supported; one of {}",
                    all.iter()
                        .filter_map(|s| s.suite().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            }
        }
        // As in Go's crypto/tls, the list chooses TLS 1.2 suites; TLS 1.3 keeps all of its own
        // unless the list names some of them.
        if !chosen.iter().any(|s| s.tls13().is_some()) {
            chosen.extend(all.iter().filter(|s| s.tls13().is_some()));
        }
        let tls12 = versions
            .iter()
            .any(|v| v.version == rustls::ProtocolVersion::TLSv1_2);
        let only13 = versions
            .iter()
            .all(|v| v.version == rustls::ProtocolVersion::TLSv1_3);
        if tls12 && !only13 && !names.is_empty() && !chosen.iter().any(|s| s.tls13().is_none()) {
            problems.push("cipher_suites: names no TLS 1.2 suite while TLS12 is allowed".into());
        }
        provider.cipher_suites = chosen;
    }
    if let Some(names) = &raw.curve_preferences {
        let all = provider.kx_groups.clone();
        let mut chosen = Vec::new();
        for name in names {
            let group = match name.as_str() {
                "CurveP256" => Some(rustls::NamedGroup::secp256r1),
                "CurveP384" => Some(rustls::NamedGroup::secp384r1),
                "X25519" => Some(rustls::NamedGroup::X25519),
                _ => None,
            };
            match group.and_then(|g| all.iter().find(|k| k.name() == g)) {
                Some(k) => chosen.push(*k),
                None if name == "CurveP521" => problems.push(
                    "curve_preferences: CurveP521 is not supported by the TLS stack (rustls with ring); use CurveP256, CurveP384 or X25519".into(),
                ),
                None => problems.push(format!(
                    "curve_preferences: unknown curve `{name}`; one of CurveP256, CurveP384, X25519"
                )),
            }
        }
        if chosen.is_empty() && problems.is_empty() {
            problems.push("curve_preferences: empty; leave it out for the defaults".into());
        }
        provider.kx_groups = chosen;
    }
    if problems.is_empty() {
        Ok(provider)
    } else {
        Err(problems)
    }
}

/// `RequestClientCert` and `RequireAnyClientCert`: a client certificate is asked for (or
/// required) but not verified against a CA, as Go's modes of the same names. The handshake still
/// proves the client holds the certificate's key.
#[derive(Debug)]
struct AnyClientCert {
    provider: Arc<CryptoProvider>,
    mandatory: bool,
}

impl ClientCertVerifier for AnyClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// `client_allowed_sans`: a verified client certificate must also carry one of these DNS or IP
/// subject alternative names.
#[derive(Debug)]
struct AllowedSans {
    inner: Arc<dyn ClientCertVerifier>,
    sans: Vec<rustls::pki_types::ServerName<'static>>,
}

impl ClientCertVerifier for AllowedSans {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: rustls::pki_types::UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let verified = self
            .inner
            .verify_client_cert(end_entity, intermediates, now)?;
        let cert = webpki::EndEntityCert::try_from(end_entity)
            .map_err(|e| rustls::Error::General(format!("unreadable client certificate: {e}")))?;
        if self
            .sans
            .iter()
            .any(|san| cert.verify_is_valid_for_subject_name(san).is_ok())
        {
            Ok(verified)
        } else {
            Err(rustls::Error::General(
                "the client certificate has none of client_allowed_sans".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A self-signed P-256 certificate for 127.0.0.1 and its key, made by the `openssl` command
    /// in `dir` as `NAME.pem` and `NAME.key`.
    pub(crate) fn self_signed(dir: &Path, name: &str) {
        let out = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:prime256v1",
            ])
            .args(["-nodes", "-days", "2", "-subj", &format!("/CN={name}")])
            .args(["-addext", "subjectAltName=IP:127.0.0.1"])
            .args([
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.pem"),
            ])
            .current_dir(dir)
            .output()
            .expect("run openssl");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn problems(text: &str, dir: &Path) -> Vec<String> {
        parse(text, dir, &mut Fingerprint::default()).unwrap_err()
    }

    fn has(problems: &[String], needle: &str) {
        assert!(
            problems.iter().any(|p| p.contains(needle)),
            "missing {needle:?} in {problems:#?}"
        );
    }

    #[test]
    fn an_empty_file_serves_plain_http_without_authentication() {
        for text in [
            "",
            "\n",
            "basic_auth_users: {}\n",
            "tls_server_config: {}\n",
        ] {
            let s = parse(text, Path::new("."), &mut Fingerprint::default()).unwrap();
            assert!(s.is_open() && s.http2, "{text:?}");
        }
    }

    #[test]
    fn unknown_keys_are_errors_with_their_path() {
        let dir = Path::new(".");
        has(
            &problems("basic_auth_user: {a: b}\n", dir),
            "unknown field `basic_auth_user`",
        );
        has(
            &problems("tls_server_config:\n  certfile: x\n", dir),
            "tls_server_config: unknown field `certfile`",
        );
        has(
            &problems("http_server_config:\n  http3: true\n", dir),
            "http_server_config: unknown field `http3`",
        );
    }

    #[test]
    fn users_headers_and_rate_limit_report_every_problem_at_once() {
        let good = bcrypt::hash("pw", 4).unwrap();
        let text = format!(
            "basic_auth_users:\n  ok: '{good}'\n  bad: not-a-hash\n  'a:b': '{good}'\nhttp_server_config:\n  headers:\n    X-Frame-Options: allow\n    X-Powered-By: me\n    Strict-Transport-Security: max-age=1\nrate_limit: {{interval: 1s}}\n"
        );
        let p = problems(&text, Path::new("."));
        has(&p, "basic_auth_users.bad: not a bcrypt hash");
        has(&p, "basic_auth_users.a:b: a user name cannot contain `:`");
        has(&p, "http_server_config.headers.X-Frame-Options: `allow` is not allowed; one of deny, sameorigin");
        has(
            &p,
            "http_server_config.headers.X-Powered-By: this header cannot be set",
        );
        has(&p, "rate_limit.burst: must be at least 1");
        assert_eq!(p.len(), 5, "{p:#?}");
        assert!(!p.join("\n").contains(&good), "a hash was echoed: {p:#?}");

        let s = parse(
            &format!("basic_auth_users: {{ok: '{good}'}}\nhttp_server_config: {{http2: false, headers: {{X-Content-Type-Options: nosniff}}}}\nrate_limit: {{interval: 100ms, burst: 5}}\n"),
            Path::new("."),
            &mut Fingerprint::default(),
        )
        .unwrap();
        assert_eq!(s.users.keys().collect::<Vec<_>>(), ["ok"]);
        assert!(!s.http2);
        assert_eq!(s.headers[0].0.as_str(), "x-content-type-options");
        assert_eq!(
            s.rate_limit,
            Some(RateLimit {
                interval: Duration::from_millis(100),
                burst: 5
            })
        );
        assert!(!format!("{s:?}").contains(&good), "Debug printed a hash");
    }

    #[test]
    fn what_rustls_cannot_honour_is_rejected_by_name() {
        let dir = tempfile::tempdir().unwrap();
        self_signed(dir.path(), "server");
        let tls = |extra: &str| {
            problems(
                &format!(
                    "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n{extra}"
                ),
                dir.path(),
            )
        };
        has(
            &tls("  min_version: TLS10\n"),
            "tls_server_config.min_version: TLS10 is not supported",
        );
        has(
            &tls("  max_version: TLS11\n"),
            "tls_server_config.max_version: TLS11 is not supported",
        );
        has(
            &tls("  min_version: TLS13\n  max_version: TLS12\n"),
            "min_version: is above max_version",
        );
        has(
            &tls("  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n"),
            "cipher_suites: `TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA` is not supported; one of",
        );
        has(
            &tls("  curve_preferences: [CurveP521]\n"),
            "CurveP521 is not supported",
        );
        has(
            &tls("  curve_preferences: [Curve25519]\n"),
            "unknown curve `Curve25519`",
        );
        has(
            &tls("  client_auth_type: Sometimes\n"),
            "client_auth_type: unknown `Sometimes`",
        );
        has(
            &tls("  client_ca_file: server.pem\n"),
            "client_ca_file: set without a client_auth_type",
        );
        has(
            &tls("  client_auth_type: RequireAndVerifyClientCert\n"),
            "RequireAndVerifyClientCert needs the CA",
        );
        has(
            &tls("  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.pem\n  client_allowed_sans: [mailto:a@b]\n"),
            "`mailto:a@b` is not a DNS name or IP address",
        );
        has(
            &problems("tls_server_config:\n  cert_file: server.pem\n", dir.path()),
            "key_file: missing",
        );
        has(
            &problems("tls_server_config:\n  min_version: TLS13\n", dir.path()),
            "min_version: set, but no certificate",
        );
        has(
            &problems(
                "tls_server_config:\n  cert_file: nope.pem\n  key_file: server.key\n",
                dir.path(),
            ),
            "tls_server_config.cert_file: cannot read `",
        );
    }

    #[test]
    fn a_key_that_is_not_the_certificates_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        self_signed(dir.path(), "a");
        self_signed(dir.path(), "b");
        has(
            &problems(
                "tls_server_config: {cert_file: a.pem, key_file: b.key}\n",
                dir.path(),
            ),
            "key_file: does not go with cert_file",
        );
        has(
            &problems(
                "tls_server_config: {cert_file: a.key, key_file: a.key}\n",
                dir.path(),
            ),
            "cert_file: no PEM certificate",
        );
    }

    #[test]
    fn tls_files_are_found_beside_the_file_and_fingerprinted() {
        let dir = tempfile::tempdir().unwrap();
        self_signed(dir.path(), "server");
        let file = dir.path().join("web.yml");
        std::fs::write(
            &file,
            "tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: server.pem\n  min_version: TLS13\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n  curve_preferences: [X25519, CurveP256]\n",
        )
        .unwrap();
        let (s, files) = load(&file).unwrap();
        let tls = s.tls.expect("TLS on");
        assert_eq!(s.client_auth, ClientAuth::RequireAndVerifyClientCert);
        assert_eq!(tls.alpn_protocols, [b"h2".to_vec(), b"http/1.1".to_vec()]);
        assert!(tls.ignore_client_order);
        let names: Vec<_> = files
            .0
            .iter()
            .map(|(p, _)| p.file_name().unwrap().to_owned())
            .collect();
        assert_eq!(names, ["web.yml", "server.pem", "server.key", "server.pem"]);
        assert!(files.0.iter().all(|(_, b)| b.is_some()));
        assert_eq!(files.reread(), files);
        std::fs::write(dir.path().join("server.key"), "changed").unwrap();
        assert_ne!(files.reread(), files);
    }
}
