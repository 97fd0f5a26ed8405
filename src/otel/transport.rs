//! OTLP clients: gRPC (tonic) and HTTP/protobuf (hyper), with TLS (rustls, system roots plus an
//! optional CA file, optional client certificate), headers, gzip and a per-export deadline.
//!
//! [`Client::export`] retries what the OTLP spec calls retryable (gRPC UNAVAILABLE,
//! RESOURCE_EXHAUSTED…, HTTP 429/502/503/504, connection errors) with exponential backoff until
//! its deadline, then gives up: the caller counts the failure and drops the batch. Connections are
//! made lazily, so a collector that is down at start-up is no error.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderName, HeaderValue, CONTENT_ENCODING, CONTENT_TYPE};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use opentelemetry_proto::tonic::collector::logs::v1::{
    logs_service_client::LogsServiceClient, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    metrics_service_client::MetricsServiceClient, ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::collector::trace::v1::{
    trace_service_client::TraceServiceClient, ExportTraceServiceRequest, ExportTraceServiceResponse,
};
use prost::Message;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use super::settings::{Compression, Protocol, Transport};

/// One OTLP request.
pub enum Payload {
    Traces(ExportTraceServiceRequest),
    Metrics(ExportMetricsServiceRequest),
    Logs(ExportLogsServiceRequest),
}

/// Why an export failed (after retries).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error("gRPC status {code:?}: {message}")]
    Grpc { code: tonic::Code, message: String },
    #[error("HTTP {status}: {body}")]
    Http { status: u16, body: String },
    #[error("{0}")]
    Transport(String),
}

impl ExportError {
    fn retryable(&self) -> bool {
        match self {
            ExportError::Timeout(_) | ExportError::Transport(_) => true,
            ExportError::Grpc { code, .. } => matches!(
                code,
                tonic::Code::Cancelled
                    | tonic::Code::DeadlineExceeded
                    | tonic::Code::Aborted
                    | tonic::Code::OutOfRange
                    | tonic::Code::Unavailable
                    | tonic::Code::DataLoss
                    | tonic::Code::ResourceExhausted
            ),
            ExportError::Http { status, .. } => matches!(status, 429 | 502 | 503 | 504),
        }
    }
}

/// Why a client could not be built (bad TLS files, bad URL).
#[derive(Debug, thiserror::Error)]
#[error("OTLP {endpoint}: {reason}")]
pub struct ClientError {
    endpoint: String,
    reason: String,
}

/// A client for one signal's endpoint.
#[derive(Clone)]
pub enum Client {
    Grpc {
        channel: Channel,
        metadata: MetadataMap,
        gzip: bool,
    },
    Http {
        /// Boxed: with hyper's `http2` feature (the metrics endpoint serves HTTP/2) the client
        /// is several times the size of the gRPC variant.
        client: Box<HyperClient<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>>,
        uri: hyper::Uri,
        headers: Vec<(HeaderName, HeaderValue)>,
        gzip: bool,
    },
}

fn read(path: &std::path::Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// rustls settings for the HTTP client: system roots plus the CA file, and the client
/// certificate when given.
fn rustls_config(t: &Transport) -> Result<rustls::ClientConfig, String> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    for cert in native.certs {
        // A system certificate rustls cannot parse is skipped, as browsers do.
        let _ = roots.add(cert);
    }
    if let Some(ca) = &t.ca_file {
        let pem = read(ca)?;
        let mut n = 0;
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert = cert.map_err(|e| format!("{}: {e}", ca.display()))?;
            roots
                .add(cert)
                .map_err(|e| format!("{}: {e}", ca.display()))?;
            n += 1;
        }
        if n == 0 {
            return Err(format!("{}: no PEM certificate found", ca.display()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots);
    match &t.client_cert {
        None => Ok(builder.with_no_client_auth()),
        Some((cert, key)) => {
            let certs = CertificateDer::pem_slice_iter(&read(cert)?)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| format!("{}: {e}", cert.display()))?;
            let key_der = PrivateKeyDer::from_pem_slice(&read(key)?)
                .map_err(|e| format!("{}: {e}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key_der)
                .map_err(|e| format!("client certificate: {e}"))
        }
    }
}

impl Client {
    /// Builds the client; no connection is made yet.
    pub fn new(t: &Transport) -> Result<Client, ClientError> {
        let built = match t.protocol {
            Protocol::Grpc => Client::grpc_client(t),
            Protocol::HttpProtobuf => Client::http_client(t),
        };
        built.map_err(|reason| ClientError {
            endpoint: t.endpoint.clone(),
            reason,
        })
    }

    fn grpc_client(t: &Transport) -> Result<Client, String> {
        let mut endpoint = Endpoint::from_shared(t.endpoint.clone())
            .map_err(|e| e.to_string())?
            .connect_timeout(t.timeout)
            .timeout(t.timeout)
            .tcp_nodelay(true);
        if t.endpoint.starts_with("https://") {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(ca) = &t.ca_file {
                tls = tls.ca_certificate(Certificate::from_pem(read(ca)?));
            }
            if let Some((cert, key)) = &t.client_cert {
                tls = tls.identity(Identity::from_pem(read(cert)?, read(key)?));
            }
            endpoint = endpoint.tls_config(tls).map_err(|e| e.to_string())?;
        }
        let mut metadata = MetadataMap::new();
        for (k, v) in &t.headers {
            let key = MetadataKey::from_bytes(k.as_bytes())
                .map_err(|_| format!("header `{k}` is not valid gRPC metadata"))?;
            let value = MetadataValue::try_from(v.as_str())
                .map_err(|_| format!("the value of header `{k}` is not valid gRPC metadata"))?;
            metadata.insert(key, value);
        }
        Ok(Client::Grpc {
            channel: endpoint.connect_lazy(),
            metadata,
            gzip: t.compression == Compression::Gzip,
        })
    }

    fn http_client(t: &Transport) -> Result<Client, String> {
        let uri: hyper::Uri = t.endpoint.parse().map_err(|e| format!("{e}"))?;
        let tls = rustls_config(t)?;
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(t.timeout));
        http.set_nodelay(true);
        http.enforce_http(false);
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(http);
        let client = HyperClient::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(2)
            .build(connector);
        let mut headers = Vec::new();
        for (k, v) in &t.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| format!("`{k}` is not a valid header name"))?;
            let mut value = HeaderValue::from_str(v)
                .map_err(|_| format!("the value of header `{k}` is invalid"))?;
            value.set_sensitive(true);
            headers.push((name, value));
        }
        Ok(Client::Http {
            client: Box::new(client),
            uri,
            headers,
            gzip: t.compression == Compression::Gzip,
        })
    }

    /// Sends `payload`, retrying retryable failures until `timeout` has passed. Returns how many
    /// items the collector rejected in a partial success.
    pub async fn export(&self, payload: Payload, timeout: Duration) -> Result<u64, ExportError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut backoff = Duration::from_millis(100);
        let body: Option<Bytes> = match self {
            Client::Http { gzip, .. } => Some(encode(&payload, *gzip)?),
            Client::Grpc { .. } => None,
        };
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(ExportError::Timeout(timeout));
            }
            let attempt = async {
                match self {
                    Client::Grpc { .. } => self.grpc(&payload, left).await,
                    Client::Http { .. } => self.http(body.clone().unwrap_or_default()).await,
                }
            };
            let result = match tokio::time::timeout(left, attempt).await {
                Ok(r) => r,
                Err(_) => Err(ExportError::Timeout(timeout)),
            };
            match result {
                Ok(rejected) => return Ok(rejected),
                Err(e) if e.retryable() => {
                    let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                    if left <= backoff {
                        return Err(e);
                    }
                    tokio::time::sleep(backoff + jitter(backoff)).await;
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn grpc(&self, payload: &Payload, timeout: Duration) -> Result<u64, ExportError> {
        let Client::Grpc {
            channel,
            metadata,
            gzip,
        } = self
        else {
            unreachable!("called on a gRPC client only")
        };
        // "transport error" alone hides the cause (a refused handshake, an unknown CA…): the
        // status's sources say it.
        let status = |s: tonic::Status| {
            let mut message = s.message().to_string();
            if let Some(source) = std::error::Error::source(&s) {
                let chain = error_chain(source);
                if !message.contains(&chain) {
                    message.push_str(": ");
                    message.push_str(&chain);
                }
            }
            ExportError::Grpc {
                code: s.code(),
                message,
            }
        };
        // The signals' generated clients share no trait: one body, written once.
        macro_rules! export {
            ($client:ident, $req:expr, $rejected:ident) => {{
                let mut client = $client::new(channel.clone());
                if *gzip {
                    client = client.send_compressed(CompressionEncoding::Gzip);
                }
                let request = grpc_request($req, metadata, timeout);
                let response = client.export(request).await.map_err(status)?;
                Ok($rejected(response.get_ref()))
            }};
        }
        match payload {
            Payload::Traces(req) => export!(TraceServiceClient, req, rejected_traces),
            Payload::Metrics(req) => export!(MetricsServiceClient, req, rejected_metrics),
            Payload::Logs(req) => export!(LogsServiceClient, req, rejected_logs),
        }
    }

    async fn http(&self, body: Bytes) -> Result<u64, ExportError> {
        let Client::Http {
            client,
            uri,
            headers,
            gzip,
        } = self
        else {
            unreachable!("called on an HTTP client only")
        };
        let mut request = hyper::Request::post(uri.clone())
            .header(CONTENT_TYPE, "application/x-protobuf")
            .header(
                hyper::header::USER_AGENT,
                concat!("kafka-security-exporter/", env!("CARGO_PKG_VERSION")),
            );
        if *gzip {
            request = request.header(CONTENT_ENCODING, "gzip");
        }
        for (k, v) in headers {
            request = request.header(k, v);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| ExportError::Transport(e.to_string()))?;
        let response = client
            .request(request)
            .await
            .map_err(|e| ExportError::Transport(error_chain(&e)))?;
        let status = response.status();
        // Bounded: a misbehaving endpoint cannot make us buffer a huge body.
        let bytes = Limited::new(response.into_body(), 64 * 1024)
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        if status.is_success() {
            return Ok(0);
        }
        let body = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned();
        Err(ExportError::Http {
            status: status.as_u16(),
            body,
        })
    }
}

/// One gRPC export request: the message, the configured headers, the deadline left.
fn grpc_request<T: Clone>(
    message: &T,
    metadata: &MetadataMap,
    timeout: Duration,
) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message.clone());
    *request.metadata_mut() = metadata.clone();
    request.set_timeout(timeout);
    request
}

fn encode(payload: &Payload, gzip: bool) -> Result<Bytes, ExportError> {
    let raw = match payload {
        Payload::Traces(r) => r.encode_to_vec(),
        Payload::Metrics(r) => r.encode_to_vec(),
        Payload::Logs(r) => r.encode_to_vec(),
    };
    if !gzip {
        return Ok(Bytes::from(raw));
    }
    let mut enc = flate2::write::GzEncoder::new(
        Vec::with_capacity(raw.len() / 4),
        flate2::Compression::fast(),
    );
    enc.write_all(&raw)
        .and_then(|()| enc.finish())
        .map(Bytes::from)
        .map_err(|e| ExportError::Transport(format!("gzip: {e}")))
}

fn rejected_traces(r: &ExportTraceServiceResponse) -> u64 {
    r.partial_success
        .as_ref()
        .map_or(0, |p| p.rejected_spans.max(0) as u64)
}

fn rejected_metrics(r: &ExportMetricsServiceResponse) -> u64 {
    r.partial_success
        .as_ref()
        .map_or(0, |p| p.rejected_data_points.max(0) as u64)
}

fn rejected_logs(r: &ExportLogsServiceResponse) -> u64 {
    r.partial_success
        .as_ref()
        .map_or(0, |p| p.rejected_log_records.max(0) as u64)
}

fn jitter(d: Duration) -> Duration {
    d.mul_f64(fastrand::f64() * 0.2)
}

/// "connect error: Connection refused (os error 111)" rather than just "client error (Connect)".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        // Wrappers often repeat their cause's text; say each part once.
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}
