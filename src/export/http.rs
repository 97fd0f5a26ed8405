//! The HTTP endpoint (hyper 1.x): `/metrics` (Prometheus text format, gzip when asked),
//! `/healthz` (the process is alive), `/readyz` (every source connected and assigned) and a small
//! landing page at `/`.
//!
//! Rendering runs on the blocking pool from a snapshot of the registry, so a large scrape never
//! stalls event processing: the hot path only touches atomic counters.
//!
//! With a web config file ([`super::web_config`]) every connection is a TLS handshake first
//! (HTTP/2 offered by ALPN unless `http2: false`), and every request but the open probes passes
//! the rate limit and basic authentication of the configuration in force ([`super::guard`]);
//! its `headers` go on every response.

use std::convert::Infallible;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{
    HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::guard::WebGuard;
use crate::health::Health;
use crate::metrics::Metrics;
use crate::state::StateStore;

/// The default port, from the Prometheus default-port allocations range for exporters.
pub const DEFAULT_PORT: u16 = 9976;
pub const DEFAULT_LISTEN_ADDRESS: &str = ":9976";
pub const DEFAULT_TELEMETRY_PATH: &str = "/metrics";

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// How long a client has to complete the TLS handshake, and to send a request's headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The challenge of a 401 (RFC 7617).
const CHALLENGE: &str = "Basic realm=\"kafka-security-exporter\", charset=\"UTF-8\"";

/// Reads `:9976`, `0.0.0.0:9976`, `127.0.0.1:9976`, `[::1]:9976` or `localhost:9976`.
pub fn parse_listen_address(addr: &str) -> Result<SocketAddr, String> {
    if let Some(port) = addr.strip_prefix(':') {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{addr}`: `{port}` is not a port number"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port));
    }
    if let Some(port) = addr.strip_prefix("localhost:") {
        let port: u16 = port
            .parse()
            .map_err(|_| format!("`{addr}`: `{port}` is not a port number"))?;
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    addr.parse::<SocketAddr>().map_err(|_| {
        format!("`{addr}` is not HOST:PORT or :PORT (HOST an IP address or localhost)")
    })
}

/// What the handlers need.
pub struct HttpState {
    pub metrics: Arc<Metrics>,
    pub health: Arc<Health>,
    pub telemetry_path: String,
    /// The web configuration in force (TLS, basic authentication, headers, rate limit).
    pub guard: Arc<WebGuard>,
    /// The state snapshot, when kept: each scrape is answered with a cut written to disk
    /// first, so no value served is ever lost (see [`crate::state`]).
    pub state: Option<Arc<StateStore>>,
}

/// Serves until `shutdown` fires, then stops accepting and gives open connections `grace` to end.
pub async fn serve(
    listener: TcpListener,
    state: Arc<HttpState>,
    shutdown: CancellationToken,
    grace: Duration,
) {
    let connections = TaskTracker::new();
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(error) => {
                    // Usually EMFILE: back off instead of spinning.
                    tracing::warn!(%error, "Failed to accept an HTTP connection.");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let state = state.clone();
        let shutdown = shutdown.clone();
        connections.spawn(serve_connection(stream, state, shutdown));
    }
    connections.close();
    if tokio::time::timeout(grace, connections.wait())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the grace period; closing them.");
    }
}

/// One accepted connection: the TLS handshake when TLS is on, then HTTP until it ends or
/// `shutdown` fires (then the request in flight is finished).
async fn serve_connection(
    stream: tokio::net::TcpStream,
    state: Arc<HttpState>,
    shutdown: CancellationToken,
) {
    let settings = state.guard.settings();
    let Some(tls) = settings.tls.clone() else {
        let service = service_fn(move |req| handle(state.clone(), req));
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HANDSHAKE_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let mut conn = std::pin::pin!(conn);
        tokio::select! {
            result = conn.as_mut() => ended(result.map_err(Into::into)),
            () = shutdown.cancelled() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
            }
        }
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    let stream = tokio::select! {
        accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)) => match accepted {
            Ok(Ok(s)) => s,
            Ok(Err(error)) => {
                // The client's problem (no certificate, wrong CA, plain HTTP): it sees the alert.
                tracing::debug!(%error, "TLS handshake failed.");
                return;
            }
            Err(_) => {
                tracing::debug!("TLS handshake timed out.");
                return;
            }
        },
        () = shutdown.cancelled() => return,
    };
    serve_tls(stream, state, shutdown, settings.http2).await;
}

async fn serve_tls<I>(io: I, state: Arc<HttpState>, shutdown: CancellationToken, http2: bool)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |req| handle(state.clone(), req));
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT);
    builder.http2().timer(TokioTimer::new());
    if !http2 {
        builder = builder.http1_only();
    }
    let conn = builder.serve_connection(TokioIo::new(io), service);
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => ended(result),
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

fn ended(result: Result<(), Box<dyn std::error::Error + Send + Sync>>) {
    if let Err(error) = result {
        tracing::debug!(%error, "HTTP connection ended with an error.");
    }
}

/// Applies the web configuration in force, then routes.
async fn handle(
    state: Arc<HttpState>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let settings = state.guard.settings();
    let mut response = if state.guard.is_open_probe(req.uri().path()) {
        route(&state, req).await
    } else if !state.guard.allow(settings.rate_limit) {
        plain(StatusCode::TOO_MANY_REQUESTS, "too many requests\n".into())
    } else if !state
        .guard
        .authorized(&settings, req.headers().get(AUTHORIZATION))
        .await
    {
        let mut r = plain(StatusCode::UNAUTHORIZED, "unauthorized\n".into());
        r.headers_mut()
            .insert(WWW_AUTHENTICATE, HeaderValue::from_static(CHALLENGE));
        r
    } else {
        route(&state, req).await
    };
    for (name, value) in &settings.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    Ok(response)
}

async fn route(state: &Arc<HttpState>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return plain(
            StatusCode::METHOD_NOT_ALLOWED,
            "only GET and HEAD are served\n".into(),
        );
    }
    let path = req.uri().path();
    let response = if path == state.telemetry_path {
        let gzip = accepts_gzip(&req);
        metrics_response(state, gzip).await
    } else {
        match path {
            "/healthz" => plain(StatusCode::OK, "ok\n".into()),
            "/readyz" => match state.health.readiness() {
                Ok(()) => plain(StatusCode::OK, "ready\n".into()),
                Err(why) => plain(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("not ready\n{}\n", why.join("\n")),
                ),
            },
            "/" => landing_page(&state.telemetry_path),
            _ => plain(StatusCode::NOT_FOUND, "not found\n".into()),
        }
    };
    response
}

fn accepts_gzip(req: &Request<Incoming>) -> bool {
    req.headers()
        .get_all(ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|enc| {
            let mut parts = enc.trim().split(';');
            let name = parts.next().unwrap_or_default().trim();
            let q_zero = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    == Some(0.0)
            });
            name.eq_ignore_ascii_case("gzip") && !q_zero
        })
}

async fn metrics_response(state: &Arc<HttpState>, gzip: bool) -> Response<Full<Bytes>> {
    let metrics = state.metrics.clone();
    let store = state.state.clone();
    let rendered = tokio::task::spawn_blocking(move || {
        let body = match store {
            Some(store) => store.scrape(),
            None => metrics.render(),
        };
        if !gzip {
            return Ok::<_, std::io::Error>((body, false));
        }
        let mut enc = flate2::write::GzEncoder::new(
            Vec::with_capacity(body.len() / 4),
            flate2::Compression::fast(),
        );
        enc.write_all(&body)?;
        Ok((enc.finish()?, true))
    })
    .await;
    match rendered {
        Ok(Ok((body, gzipped))) => {
            let mut resp = Response::new(Full::new(Bytes::from(body)));
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_FORMAT));
            if gzipped {
                resp.headers_mut()
                    .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            resp
        }
        Ok(Err(error)) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to compress metrics: {error}\n"),
        ),
        Err(error) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to render metrics: {error}\n"),
        ),
    }
}

fn plain(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

fn landing_page(telemetry_path: &str) -> Response<Full<Bytes>> {
    let body = format!(
        "<html><head><title>Kafka Security Exporter</title></head><body>\
         <h1>Kafka Security Exporter</h1>\
         <p><a href=\"{telemetry_path}\">Metrics</a> · <a href=\"/healthz\">Health</a> · \
         <a href=\"/readyz\">Readiness</a></p></body></html>\n"
    );
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_addresses_follow_exporter_conventions() {
        assert_eq!(
            parse_listen_address(":9976").unwrap(),
            "0.0.0.0:9976".parse().unwrap()
        );
        assert_eq!(
            parse_listen_address("localhost:1234").unwrap(),
            "127.0.0.1:1234".parse().unwrap()
        );
        assert_eq!(
            parse_listen_address("[::1]:9976").unwrap(),
            "[::1]:9976".parse().unwrap()
        );
        assert!(parse_listen_address(":http")
            .unwrap_err()
            .contains("not a port"));
        assert!(parse_listen_address("example.com:80").is_err());
    }
}
