//! Kept-alive connections to one endpoint.

use super::body;
use super::conn::{Conn, Io};
use super::head::KeepHeader;
use super::proxy::Proxy;
use super::{Body, Error};
use std::io;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Connecting, through a proxy and TLS included.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// From writing a request until its answer's head is complete; the body has its own idle
/// timeout (crate::body).
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// An idle connection older than this is closed rather than reused: S3 drops idle connections
/// after some seconds, and a request on a dropped one costs a round trip to find out.
const IDLE_TIMEOUT: Duration = Duration::from_secs(20);
const MAX_IDLE: usize = 256;

/// Where to connect.
#[derive(Debug)]
struct Endpoint {
    host: String,
    port: u16,
    /// `host[:port]` as the URL has it (the Host header).
    authority: String,
    /// The server name to verify, for `https` endpoints.
    tls: Option<rustls::pki_types::ServerName<'static>>,
    proxy: Option<Proxy>,
}

/// Kept-alive connections to one endpoint.
///
/// Reuse invariants (a pooled connection must never hand one request another's bytes), as
/// hyper-util's pool keeps them:
/// 1. a connection is checked in only after a complete answer on HTTP/1.1 without
///    `Connection: close`, with no byte left over in its buffer ([`Pool::checkin`]), so a
///    half-read body can never be taken for the start of the next answer; a body dropped
///    before its end drops its connection;
/// 2. at checkout it must have nothing to read ([`Conn::is_clean`]): anything the server sent
///    while it sat idle, or its close, discards it;
/// 3. it is not reused after [`IDLE_TIMEOUT`], or after any error on it;
/// 4. only a request sent on a reused connection that the server closed (or reset) before
///    answering is sent again, on another connection: the server cannot have acted on it.
#[derive(Debug)]
pub struct Pool {
    endpoint: Endpoint,
    idle: Mutex<Vec<Conn>>,
    answer_timeout: Duration,
    keep: KeepHeader,
    /// SO_RCVBUF of new connections; `None` leaves the kernel's autotuning on.
    receive_buffer: Option<usize>,
}

impl Pool {
    /// A pool for `base` (`http://host[:port]/...` or `https://...`), through `proxy` if
    /// one is given, whose answers keep the framing headers and those `keep` names.
    ///
    /// # Errors
    /// A URL without host, with another scheme, or a host TLS cannot name.
    pub fn new(base: &http::Uri, proxy: Option<Proxy>, keep: KeepHeader) -> Result<Pool, String> {
        let host = base.host().ok_or("the URL has no host")?;
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let https = match base.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => return Err(format!("unsupported URL scheme {other:?}")),
        };
        let port = base.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = match https {
            true => Some(
                rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| format!("host {host:?}: {e}"))?,
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
            keep,
            receive_buffer: None,
        })
    }

    /// The same pool with another answer timeout (tests).
    #[cfg(test)]
    pub(super) fn with_answer_timeout(mut self, timeout: Duration) -> Pool {
        self.answer_timeout = timeout;
        self
    }

    /// Sends `head` (a complete request without body, in origin form) and reads the answer's
    /// head. The body streams from the connection, which returns to the pool once the body
    /// is complete.
    ///
    /// # Errors
    /// Timeouts connecting or answering, a refused or closed connection, a malformed answer.
    pub async fn exchange(
        self: &Arc<Self>,
        head: &[u8],
        head_request: bool,
    ) -> Result<http::Response<Body>, Error> {
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
            match conn.round_trip(head, self.answer_timeout, self.keep).await {
                Ok(answer) => return body::attach(answer, conn, head_request, self),
                // Invariant 4: the server closed it while idle; another connection will do.
                Err(Error::Closed) if reused => {}
                Err(Error::Io(e)) if reused && is_reset(&e) => {}
                Err(e) => return Err(e),
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

    /// Keeps `conn` for the next request when it carries nothing left over (invariant 1).
    pub(super) fn checkin(&self, mut conn: Conn) {
        if !conn.buf.is_empty() {
            return;
        }
        conn.idle_since = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push(conn);
        }
    }

    /// New connections get a fixed receive buffer of `bytes` (`None`: the kernel's
    /// autotuning).
    #[must_use]
    pub fn with_receive_buffer(mut self, bytes: Option<usize>) -> Pool {
        self.receive_buffer = bytes;
        self
    }

    /// The receive buffer of each idle connection, as the kernel reports it (tests).
    #[cfg(test)]
    pub(super) fn idle_receive_buffers(&self) -> Vec<usize> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        idle.iter()
            .filter_map(|c| c.receive_buffer().ok())
            .collect()
    }

    async fn connect(&self) -> Result<Conn, Error> {
        let ep = &self.endpoint;
        let (host, port) = match &ep.proxy {
            Some(proxy) => (proxy.host.as_str(), proxy.port),
            None => (ep.host.as_str(), ep.port),
        };
        let unreachable = |source| Error::Unreachable {
            target: format!("{host}:{port}"),
            source,
        };
        let connect = async {
            let mut tcp = TcpStream::connect((host, port))
                .await
                .map_err(unreachable)?;
            tcp.set_nodelay(true).map_err(unreachable)?;
            if let Some(bytes) = self.receive_buffer {
                set_receive_buffer(&tcp, bytes).map_err(unreachable)?;
            }
            if let (Some(proxy), Some(_)) = (&ep.proxy, &ep.tls) {
                proxy.tunnel(&mut tcp, &ep.host, ep.port).await?;
            }
            Ok(match &ep.tls {
                None => Io::Plain(tcp),
                Some(name) => {
                    let tls = tokio_rustls::TlsConnector::from(tls_config());
                    let stream = tls.connect(name.clone(), tcp).await;
                    Io::Tls(Box::new(stream.map_err(unreachable)?))
                }
            })
        };
        let io = match tokio::time::timeout(CONNECT_TIMEOUT, connect).await {
            Err(_) => {
                return Err(Error::ConnectTimeout(
                    format!("{host}:{port}"),
                    CONNECT_TIMEOUT,
                ))
            }
            Ok(Err(Error::Unreachable { source, .. }))
                if source.kind() == io::ErrorKind::TimedOut =>
            {
                return Err(Error::ConnectTimeout(
                    format!("{host}:{port}"),
                    CONNECT_TIMEOUT,
                ))
            }
            Ok(result) => result?,
        };
        Ok(Conn::new(io, self.answer_timeout))
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
            tracing::warn!("no system CA certificates: HTTPS will fail");
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

/// Fixes the socket's receive buffer at `bytes` (which turns the kernel's autotuning off for
/// it). Why: with autotuning, concurrent downloads read by one worker grow unequal windows
/// and the ones left small starve (190 MiB GETs over 8 connections on loopback: p99 up to
/// 14x p50; fixed at 208 KiB: 1.3-1.5x, docs/performance.md), and a fixed size bounds the
/// kernel memory a connection whose client stopped reading can hold.
fn set_receive_buffer(tcp: &TcpStream, bytes: usize) -> io::Result<()> {
    let socket = socket2::SockRef::from(tcp);
    socket.set_recv_buffer_size(bytes)?;
    // Linux doubles the value for its bookkeeping and caps it at net.core.rmem_max first;
    // a capped buffer is said once, not silently taken.
    static CAPPED: std::sync::Once = std::sync::Once::new();
    let granted = socket.recv_buffer_size()?;
    if cfg!(target_os = "linux") && granted < bytes.saturating_mul(2) {
        CAPPED.call_once(|| {
            tracing::warn!(
                requested = bytes,
                granted = granted / 2,
                "the kernel capped the S3 receive buffer (net.core.rmem_max); \
                 --s3-receive-buffer asks for more than it allows"
            );
        });
    }
    Ok(())
}
