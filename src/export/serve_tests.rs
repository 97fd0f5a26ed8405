//! [`serve`]'s shutdown on tokio's paused clock: the grace period is the subject, so these tests
//! read virtual time instead of sleeping. A virtual `sleep` is also the barrier that lets the
//! server run: the runtime advances the paused clock only once every task is idle.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::http::{serve, HttpState};
use crate::health::Health;
use crate::metrics::{Metrics, MetricsConfig};

/// Shorter than hyper's 10 s header-read timeout, so that one cannot end a connection first.
const GRACE: Duration = Duration::from_secs(5);

async fn start() -> (SocketAddr, CancellationToken, JoinHandle<()>) {
    start_with(TcpListener::bind("127.0.0.1:0").await.unwrap())
}

fn start_with(listener: TcpListener) -> (SocketAddr, CancellationToken, JoinHandle<()>) {
    let metrics = Arc::new(Metrics::new(&MetricsConfig::default()).unwrap());
    let state = Arc::new(HttpState {
        health: Arc::new(Health::new(metrics.clone())),
        metrics,
        telemetry_path: "/metrics".into(),
        guard: Arc::new(super::guard::WebGuard::open()),
        state: None,
    });
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tokio::spawn(serve(listener, state, stop.clone(), GRACE));
    (addr, stop, server)
}

/// Everything runnable has run (the paused clock only moves when the runtime is idle).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(1)).await;
}

/// A keep-alive connection that has been served one `/healthz`.
async fn served_connection(addr: SocketAddr) -> TcpStream {
    let mut client = TcpStream::connect(addr).await.unwrap();
    client
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    while !response.ends_with(b"ok\n") {
        let mut chunk = [0u8; 1024];
        let n = client.read(&mut chunk).await.unwrap();
        assert!(n > 0, "closed before the response: {response:?}");
        response.extend_from_slice(&chunk[..n]);
    }
    assert!(response.starts_with(b"HTTP/1.1 200"), "{response:?}");
    client
}

/// How long `serve` takes to return once `stop` fires.
async fn shutdown_time(stop: CancellationToken, server: JoinHandle<()>) -> Duration {
    settle().await;
    let t0 = Instant::now();
    stop.cancel();
    server.await.unwrap();
    t0.elapsed()
}

#[tokio::test(start_paused = true)]
async fn without_connections_shutdown_takes_no_time() {
    let (_, stop, server) = start().await;
    assert_eq!(shutdown_time(stop, server).await, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn an_idle_keep_alive_connection_is_closed_at_once() {
    let (addr, stop, server) = start().await;
    let mut client = served_connection(addr).await;
    assert_eq!(shutdown_time(stop, server).await, Duration::ZERO);
    assert_eq!(client.read(&mut [0u8; 16]).await.unwrap(), 0, "closed");
}

#[tokio::test(start_paused = true)]
async fn a_response_still_being_written_holds_shutdown_for_the_grace_period_only() {
    // Small socket buffers (accepted sockets inherit the listener's send buffer), and a client
    // that pipelines 100 scrapes without reading: the server is stuck writing responses.
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let (addr, stop, server) = start_with(socket.listen(16).unwrap());
    let client = TcpSocket::new_v4().unwrap();
    client.set_recv_buffer_size(4096).unwrap();
    let mut client = client.connect(addr).await.unwrap();
    let requests = b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n".repeat(100);
    client.write_all(&requests).await.unwrap();
    assert_eq!(shutdown_time(stop, server).await, GRACE);
}
