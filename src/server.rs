//! The HTTP/1.1 transport: a hyper server around [`Origin`].
//!
//! The caller owns the listener and the shutdown signal (as in mini-redis), so tests bind
//! `127.0.0.1:0` and stop the server when they like.
//!
//! Limits on clients ([`Settings`]): request headers within 30 s (also the idle keep-alive
//! limit), writes that keep moving ([`SendLimits`]), and at most
//! [`Settings::max_connections`] open connections per listener: past that a new connection
//! gets a `503` with `Retry-After` and is closed at once, without reading its request.

#[path = "server/admin.rs"]
pub mod admin;
#[path = "server/dispatch.rs"]
pub mod dispatch;
#[path = "server/send_guard.rs"]
mod send_guard;
pub use dispatch::Incoming;
pub use send_guard::{SendGuard, SendLimits};

use crate::observe::Start;
use crate::service::Origin;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::Semaphore;

/// How long a client may take to send its request headers (slowloris guard); hyper also
/// applies it while a kept-alive connection waits for its next request.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// hyper's per-connection buffer limit: the largest request head, and how much response body
/// it queues ahead of the socket (it takes one more chunk while under it). hyper's default
/// (about 400 KiB) let each client that does not read pin that much of the object in memory;
/// the kernel's socket buffers already keep a fast client's pipe full.
const MAX_BUF: usize = 32 * 1024;

/// How a listener treats its clients.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// How long in-flight responses may finish after the shutdown signal.
    pub drain: Duration,
    /// Open connections at once on this listener.
    pub max_connections: usize,
    /// Deadlines on writing to a client.
    pub send: SendLimits,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            drain: Duration::from_secs(10),
            max_connections: 1024,
            send: SendLimits::default(),
        }
    }
}

/// What a connection over the limit gets before it is closed.
const OVER_CAPACITY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\ncache-control: no-store\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 36\r\n\r\ntoo many connections, retry shortly\n";

/// Serves connections from `listener` (a [`TcpListener`], or a worker's share of one,
/// [`dispatch::Worker`]) until `shutdown` completes, then stops accepting and lets in-flight
/// responses finish for at most `settings.drain`.
///
/// Returns whether every connection finished within the drain period.
pub async fn run(
    mut listener: impl Incoming,
    origin: Origin,
    shutdown: impl Future<Output = ()>,
    settings: Settings,
) -> bool {
    let open = Arc::new(Semaphore::new(settings.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    // Field names as RFC 9110 spells them (Content-Type, not content-type): names are
    // case-insensitive, but some range readers match them byte for byte (GDAL 3.6's
    // multi-range reader looks for "Content-Type: multipart/byteranges; boundary=").
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .max_buf_size(MAX_BUF)
        .title_case_headers(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer, load) = tokio::select! {
            accepted = listener.next() => match accepted {
                Ok(next) => next,
                // The dispatcher stopped: shutdown is under way.
                Err(e) if e.kind() == std::io::ErrorKind::NotConnected => break,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let Ok(permit) = Arc::clone(&open).try_acquire_owned() else {
            tracing::warn!(%peer, max = settings.max_connections, "connection refused: too many open");
            tokio::spawn(refuse(stream));
            continue;
        };
        let origin = origin.clone();
        let service = service_fn(move |req| {
            let origin = origin.clone();
            async move {
                let exchange = origin.observer().start(Start {
                    client: Some(peer.ip()),
                    aws_request_id: None,
                });
                let response = exchange.run(req, |req| origin.handle(req)).await;
                Ok::<_, Infallible>(response.map(|body| exchange.body(body)))
            }
        });
        let io = TokioIo::new(SendGuard::new(stream, settings.send));
        let conn = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            let (_permit, _load) = (permit, load);
            if let Err(e) = conn.await {
                // Aborted bodies (store failures) and client disconnects end up here.
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => true,
        () = tokio::time::sleep(settings.drain) => false,
    }
}

/// Answers a connection over the limit with [`OVER_CAPACITY`] and closes it. The request is
/// read (briefly, and discarded) after the answer so that closing does not reset the
/// connection under the client's feet, which could lose the answer.
async fn refuse(mut stream: TcpStream) {
    let answer = async {
        stream.write_all(OVER_CAPACITY).await?;
        stream.shutdown().await?;
        let mut sink = [0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        std::io::Result::Ok(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}

/// Binds `addr` (the first of its addresses that binds) for the [`dispatch::Dispatcher`],
/// which hands its connections to the workers.
///
/// # Errors
/// When the address does not resolve or cannot be bound.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    let mut last_error = None;
    for candidate in tokio::net::lookup_host(addr).await? {
        match bind_one(candidate) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "address resolves to nothing",
        )
    }))
}

fn bind_one(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = match addr {
        std::net::SocketAddr::V4(_) => TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
