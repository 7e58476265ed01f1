//! An HTTP/1.1 client for one endpoint: a pool of kept-alive connections, a request written
//! as bytes, the answer's head parsed with httparse (hyper's own parser) and its body framed
//! here. It knows nothing of S3: the store ([`crate::store::S3Store`]) builds and signs the
//! request, says which answer headers it reads, and gives the errors their meaning.
//!
//! Why not hyper's client: per request, hyper-util's pooled client hashes a pool key, checks a
//! connection out through a future, hands the request to a separate connection task over a
//! channel, gets the answer back over another and, for every answer without a body, spawns a
//! task that returns the connection when it is ready. Measured with perf on 64 KiB HEADs
//! through `serve`, that machinery was about a third of imgorigin's user-space CPU. The store
//! only ever sends one shape of request (GET or HEAD, no body), so the task that asks does the
//! I/O itself and a connection goes back to the pool the moment its answer is complete.
//!
//! # Layout
//! - [`Pool`] (pool.rs): connections to one endpoint, checked out and in; connecting through
//!   a proxy ([`proxy`]) and TLS. Its reuse invariants are written on it.
//! - conn.rs: one connection, a round trip to an answer head, the readiness probe.
//! - head.rs: the answer head, with only the headers the caller keeps.
//! - body.rs: the body, framed as RFC 9112 §6.3 says, streamed off its connection.

mod body;
mod conn;
pub(crate) mod head;
mod pool;
pub mod proxy;

pub use head::{Answer, KeepHeader, FRAMING};
pub use pool::Pool;

use bytes::{Bytes, BytesMut};
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use std::io;
use std::time::Duration;

/// An answer's body: its bytes as they arrive, then `None` at the end its framing declares;
/// an `Err` (then nothing) when it breaks off first.
pub type Body = BoxStream<'static, Result<Bytes, Error>>;

/// Why a request got no answer, or its body no end.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Connecting (through the proxy and TLS included) took longer than allowed.
    #[error("connecting to {0}: no answer within {1:?}")]
    ConnectTimeout(String, Duration),
    /// The endpoint (or its proxy) refused or could not be reached.
    #[error("{target} unreachable: {source}")]
    Unreachable {
        /// `host:port` connected to.
        target: String,
        /// What the socket, the proxy or TLS said.
        source: io::Error,
    },
    /// The proxy would not open a tunnel.
    #[error("proxy: {0}")]
    Proxy(String),
    /// The server closed a fresh connection without answering.
    #[error("the server closed the connection without answering")]
    Closed,
    /// Reading or writing the connection failed before the answer's head was complete.
    #[error("I/O: {0}")]
    Io(io::Error),
    /// Not an HTTP/1.x answer this client can frame.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// No complete answer head within the answer timeout.
    #[error("no answer within {0:?}")]
    AnswerTimeout(Duration),
    /// The body ended, or stopped making sense, before its framing said it was complete.
    #[error("body cut: {0}")]
    BodyCut(String),
}

/// Reads `body`, at most `limit` bytes of it and for at most `time`: what has arrived by then
/// (an error body is read only for its code, and a server that stalls in it must not hold
/// the request).
pub async fn read_bounded<E>(
    mut body: BoxStream<'static, Result<Bytes, E>>,
    limit: usize,
    time: Duration,
) -> Bytes {
    let deadline = tokio::time::Instant::now() + time;
    let mut out = BytesMut::new();
    while let Ok(Some(Ok(chunk))) = tokio::time::timeout_at(deadline, body.next()).await {
        out.extend_from_slice(&chunk[..chunk.len().min(limit - out.len())]);
        if out.len() >= limit {
            break;
        }
    }
    out.freeze()
}

#[cfg(test)]
mod tests;
