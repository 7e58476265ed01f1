//! HTTP/1.1 to one S3 endpoint: a pool of kept-alive connections, a request written as bytes,
//! the answer's head parsed with httparse (hyper's own parser) and its body framed here.
//!
//! Why not hyper's client: per request, hyper-util's pooled client hashes a pool key, checks a
//! connection out through a future, hands the request to a separate connection task over a
//! channel, gets the answer back over another and, for every answer without a body, spawns a
//! task that returns the connection when it is ready. Measured with perf on 64 KiB HEADs
//! through `serve`, that machinery was about a third of imgorigin's user-space CPU. The store
//! only ever sends one shape of request (GET or HEAD, no body), so the task that asks does the
//! I/O itself and a connection goes back to the pool the moment its answer is complete.
//!
//! Framing follows RFC 9112 §6.3: no body for HEAD, 1xx, 204 and 304; chunked; then
//! Content-Length; else until the server closes.
//!
//! Reuse invariants (a pooled connection must never hand one request another's bytes):
//! 1. a connection is checked in only after a complete answer on HTTP/1.1 without
//!    `Connection: close`, with no byte left over in its buffer, so a half-read body can never
//!    be taken for the start of the next answer;
//! 2. at checkout it must have nothing to read ([`Conn::is_clean`]): anything the server sent
//!    while it sat idle, or its close, discards it;
//! 3. it is not reused after [`IDLE_TIMEOUT`], or after any error on it.

#[path = "wire_body.rs"]
mod body;
#[path = "wire_head.rs"]
pub(crate) mod head;
#[path = "wire_proxy.rs"]
pub(crate) mod proxy;

use super::StoreError;
use crate::store::ChunkStream;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
#[cfg(test)]
use head::{kept, KEPT};
use head::{parse_head, Answer};
use http::Response;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// From writing a request until its answer's head is complete; the body has its own idle
/// timeout (crate::body).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// An idle connection older than this is closed rather than reused: S3 drops idle connections
/// after some seconds, and a request on a dropped one costs a round trip to find out.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_IDLE: usize = 256;
/// An answer's head larger than this is refused (S3's are a few hundred bytes, plus metadata of
/// at most 2 KB).
const MAX_HEAD: usize = 64 * 1024;
/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// Where to connect.
#[derive(Debug)]
struct Endpoint {
    host: String,
    port: u16,
    /// `host[:port]` as the URL has it (the Host header).
    authority: String,
    /// The server name to verify, for `https` endpoints.
    tls: Option<rustls::pki_types::ServerName<'static>>,
    proxy: Option<proxy::Proxy>,
}

/// Kept-alive connections to one endpoint.
#[derive(Debug)]
pub(super) struct Pool {
    endpoint: Endpoint,
    idle: Mutex<Vec<Conn>>,
    answer_timeout: Duration,
}

/// One connection and the bytes read from it but not yet used.
#[derive(Debug)]
struct Conn {
    io: Io,
    buf: BytesMut,
    idle_since: Instant,
    /// The answer deadline, one timer for the connection's life, pushed forward per request:
    /// tokio only touches its timer wheel when a deadline moves nearer, so moving it later
    /// is an atomic store, where a fresh `timeout` per request cost a wheel insert and
    /// removal (about 1,500 instructions, callgrind).
    deadline: Pin<Box<tokio::time::Sleep>>,
}

#[derive(Debug)]
enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Why a round trip got no answer.
pub(crate) enum Failure {
    /// The server closed the connection before answering: on a reused connection, a request
    /// that crossed the server's idle close, safe to send again.
    Closed,
    Io(io::Error),
    Protocol(String),
    /// No complete answer head within the answer timeout.
    Timeout,
}

impl Pool {
    /// A pool for `base` (`http://host[:port]/...` or `https://...`), through `proxy` if
    /// one is given.
    pub(super) fn new(base: &http::Uri, proxy: Option<proxy::Proxy>) -> Result<Pool, String> {
        let host = base.host().ok_or("the S3 URL has no host")?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let https = match base.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => return Err(format!("unsupported S3 URL scheme {other:?}")),
        };
        let port = base.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = match https {
            true => Some(
                rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| format!("S3 host {host:?}: {e}"))?,
            ),
            false => None,
        };
        let authority = base.authority().map_or_else(String::new, |a| a.to_string());
        Ok(Pool {
            endpoint: Endpoint {
                host,
                port,
                authority,
                tls,
                proxy,
            },
            idle: Mutex::new(Vec::new()),
            answer_timeout: ANSWER_TIMEOUT,
        })
    }

    /// The same pool with another answer timeout (tests).
    #[cfg(test)]
    fn with_answer_timeout(mut self, timeout: Duration) -> Pool {
        self.answer_timeout = timeout;
        self
    }

    /// Sends `head` (a complete request without body) and reads the answer's head. The body
    /// streams from the connection, which returns to the pool once the body is complete.
    ///
    /// # Errors
    /// Timeouts connecting, a refused or closed connection, a malformed answer.
    pub(super) async fn exchange(
        self: &Arc<Self>,
        head: &[u8],
        head_request: bool,
    ) -> Result<Response<ChunkStream>, StoreError> {
        let ep = &self.endpoint;
        let proxied;
        let head = match (&ep.proxy, &ep.tls) {
            (Some(proxy), None) => {
                proxied = proxy.absolute_form(head, &ep.authority);
                &proxied[..]
            }
            _ => head,
        };
        loop {
            let (mut conn, reused) = match self.checkout() {
                Some(conn) => (conn, true),
                None => (self.connect().await?, false),
            };
            match conn.round_trip(head, self.answer_timeout).await {
                Ok(answer) => return body::attach(answer, conn, head_request, self),
                // The server closed it while idle; another (or a new) connection will do.
                Err(Failure::Closed) if reused => {}
                Err(Failure::Io(e)) if reused && is_reset(&e) => {}
                Err(Failure::Closed) => {
                    return Err(StoreError::Failed(
                        "S3 closed the connection without answering".into(),
                    ))
                }
                Err(Failure::Io(e)) => return Err(StoreError::Failed(format!("S3 I/O: {e}"))),
                Err(Failure::Protocol(what)) => return Err(StoreError::Failed(what)),
                Err(Failure::Timeout) => {
                    return Err(StoreError::Timeout(format!(
                        "no answer from S3 within {} s",
                        self.answer_timeout.as_secs_f32()
                    )))
                }
            }
        }
    }

    /// An idle connection proven clean, newest first; stale or unclean ones are closed.
    fn checkout(&self) -> Option<Conn> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(mut conn) = idle.pop() {
            if conn.idle_since.elapsed() < IDLE_TIMEOUT && conn.is_clean() {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps `conn` for the next request when it carries nothing left over.
    fn checkin(&self, mut conn: Conn) {
        if !conn.buf.is_empty() {
            return;
        }
        conn.idle_since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    async fn connect(&self) -> Result<Conn, StoreError> {
        let ep = &self.endpoint;
        let (host, port) = match &ep.proxy {
            Some(proxy) => (proxy.host.as_str(), proxy.port),
            None => (ep.host.as_str(), ep.port),
        };
        let connect = async {
            let mut tcp = TcpStream::connect((host, port)).await?;
            tcp.set_nodelay(true)?;
            if let (Some(proxy), Some(_)) = (&ep.proxy, &ep.tls) {
                proxy
                    .tunnel(&mut tcp, &ep.host, ep.port)
                    .await
                    .map_err(Failure::into_io)?;
            }
            let io = match &ep.tls {
                None => Io::Plain(tcp),
                Some(name) => {
                    let tls = tokio_rustls::TlsConnector::from(tls_config());
                    Io::Tls(Box::new(tls.connect(name.clone(), tcp).await?))
                }
            };
            io::Result::Ok(io)
        };
        let io = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Err(_) => {
                return Err(StoreError::Timeout(format!(
                    "connecting to S3 at {host}:{port}: no answer within 3 s"
                )))
            }
            Ok(Err(e)) if e.kind() == io::ErrorKind::TimedOut => {
                return Err(StoreError::Timeout(format!("connecting to S3: {e}")))
            }
            Ok(Err(e)) => {
                return Err(StoreError::Failed(format!(
                    "S3 unreachable at {host}:{port}: {e}"
                )))
            }
            Ok(Ok(io)) => io,
        };
        Ok(Conn {
            io,
            buf: BytesMut::with_capacity(8 * 1024),
            idle_since: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(self.answer_timeout)),
        })
    }
}

impl Conn {
    async fn round_trip(&mut self, head: &[u8], timeout: Duration) -> Result<Answer, Failure> {
        let Conn {
            io, buf, deadline, ..
        } = self;
        deadline
            .as_mut()
            .reset(tokio::time::Instant::now() + timeout);
        tokio::select! {
            biased;
            answer = exchange_on(io, buf, head) => answer,
            () = deadline.as_mut() => Err(Failure::Timeout),
        }
    }

    /// Reads what the socket has into `buf`; 0 at end of stream.
    async fn fill(&mut self) -> io::Result<usize> {
        fill(&mut self.io, &mut self.buf).await
    }

    /// Whether an idle connection has nothing to read, checked without waiting. Bytes that
    /// arrived unasked (a late or extra answer from a broken or hostile server) would be read
    /// as the next request's answer, and an end of stream means the server closed it: either
    /// way it must not be reused. hyper-util's pool makes the same check at checkout
    /// (`Poolable::is_open`, hyper#1429).
    fn is_clean(&mut self) -> bool {
        let mut probe = [0u8; 1];
        let mut probe = ReadBuf::new(&mut probe);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut probe),
            Poll::Pending
        )
    }
}

/// Writes `head` and reads until an answer head (not an interim 1xx) is complete.
async fn exchange_on(io: &mut Io, buf: &mut BytesMut, head: &[u8]) -> Result<Answer, Failure> {
    io.write_all(head).await.map_err(Failure::from_io)?;
    io.flush().await.map_err(Failure::from_io)?;
    loop {
        if let Some(answer) = parse_head(buf)? {
            // Interim answers (100 Continue) precede the real one.
            if !answer.status.is_informational() {
                return Ok(answer);
            }
            continue;
        }
        if buf.len() >= MAX_HEAD {
            return Err(Failure::Protocol("S3 answer head over 64 KiB".into()));
        }
        if fill(io, buf).await.map_err(Failure::from_io)? == 0 {
            return Err(match buf.is_empty() {
                true => Failure::Closed,
                false => Failure::Protocol("S3 closed the connection mid-answer".into()),
            });
        }
    }
}

/// Reads what the socket has into `buf`; 0 at end of stream.
async fn fill(io: &mut Io, buf: &mut BytesMut) -> io::Result<usize> {
    buf.reserve(READ_CHUNK);
    io.read_buf(buf).await
}

impl Failure {
    fn from_io(e: io::Error) -> Failure {
        match e.kind() {
            io::ErrorKind::UnexpectedEof => Failure::Closed,
            _ => Failure::Io(e),
        }
    }

    /// As an I/O error while connecting (a proxy's refusal).
    fn into_io(self) -> io::Error {
        match self {
            Failure::Io(e) => e,
            Failure::Closed => io::Error::new(io::ErrorKind::UnexpectedEof, "closed"),
            Failure::Protocol(what) => io::Error::other(what),
            Failure::Timeout => io::Error::new(io::ErrorKind::TimedOut, "timed out"),
        }
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted
    )
}

/// The TLS settings: the system's root certificates, HTTP/1.1 by ALPN. Built once.
fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    Arc::clone(CONFIG.get_or_init(|| {
        let mut roots = rustls::RootCertStore::empty();
        let found = rustls_native_certs::load_native_certs();
        if let Some(e) = found.errors.first() {
            tracing::warn!(cause = %e, "reading the system CA certificates");
        }
        let (added, _) = roots.add_parsable_certificates(found.certs);
        if added == 0 {
            tracing::warn!("no system CA certificates: HTTPS to S3 will fail");
        }
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|_| unreachable!("aws-lc-rs supports the default versions"));
        let mut config = builder.with_root_certificates(roots).with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Arc::new(config)
    }))
}

/// Reads an error answer's body, at most `limit` bytes of it and for at most `time`: what
/// has arrived by then (an error body is read only for its code, and a server that stalls
/// in it must not hold the request).
pub(super) async fn read_bounded(mut body: ChunkStream, limit: usize, time: Duration) -> Bytes {
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

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
