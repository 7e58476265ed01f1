//! The HTTP/1.1 transport: a hyper server around [`Origin`].
//!
//! The caller owns the listener and the shutdown signal (as in mini-redis), so tests bind
//! `127.0.0.1:0` and stop the server when they like.

use crate::service::Origin;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;
use tokio::net::{TcpListener, TcpSocket};

/// How long a client may take to send its request headers (slowloris guard).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves connections from `listener` until `shutdown` completes, then stops accepting and
/// lets in-flight responses finish for at most `drain`.
///
/// Returns whether every connection finished within `drain`.
pub async fn run(
    listener: TcpListener,
    origin: Origin,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> bool {
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
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
        let origin = origin.clone();
        let service = service_fn(move |req| {
            let origin = origin.clone();
            async move { Ok::<_, Infallible>(origin.handle(req).await) }
        });
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                // Aborted bodies (store failures) and client disconnects end up here.
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => true,
        () = tokio::time::sleep(drain) => false,
    }
}

/// Binds `count` listeners to the same address with SO_REUSEPORT, so that the kernel spreads
/// connections over them, one per worker thread. The first bind resolves port 0; the others
/// join it. Returned as std listeners, to be registered with each worker's runtime.
///
/// # Errors
/// When the address does not resolve or cannot be bound.
pub async fn bind_reuseport(
    addr: &str,
    count: usize,
) -> std::io::Result<Vec<std::net::TcpListener>> {
    let mut last_error = None;
    for candidate in tokio::net::lookup_host(addr).await? {
        match bind_one(candidate) {
            Ok(first) => {
                let bound = first.local_addr()?;
                let mut all = vec![first];
                for _ in 1..count {
                    all.push(bind_one(bound)?);
                }
                return all.into_iter().map(TcpListener::into_std).collect();
            }
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
    socket.set_reuseport(true)?;
    socket.bind(addr)?;
    socket.listen(1024)
}
