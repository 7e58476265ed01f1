//! A real HTTP/1.1 client (hyper), one connection per request, that reports an aborted body
//! as such instead of hiding it.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Empty};
use std::net::SocketAddr;

/// What came back.
#[derive(Debug)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// `Err` when the transfer was cut short (with the bytes received before that).
    pub body: Result<Vec<u8>, (Vec<u8>, String)>,
}

impl Fetched {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn bytes(&self) -> &[u8] {
        match &self.body {
            Ok(b) => b,
            Err((b, _)) => b,
        }
    }
}

/// Opens a connection and sends one bodyless request; returns the answer's head and body.
pub async fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> http::Response<hyper::body::Incoming> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to imgorigin");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Empty::<Bytes>::new()).expect("request");
    sender.send_request(req).await.expect("response head")
}

/// Sends `method path` with `headers` (repeated names allowed) and reads the whole answer.
pub async fn fetch(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Fetched {
    let response = send(addr, method, path, headers).await;
    let (parts, mut body) = response.into_parts();
    let mut received = Vec::new();
    let body = loop {
        match body.frame().await {
            None => break Ok(received),
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    received.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => break Err((received, e.to_string())),
        }
    };
    Fetched {
        status: parts.status,
        headers: parts.headers,
        body,
    }
}

/// What a streamed GET saw: status, length and SHA-256 of the bytes received, and whether
/// the transfer ended cleanly.
#[derive(Debug)]
pub struct Streamed {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub received: u64,
    pub sha256: String,
    pub error: Option<String>,
}

/// GETs `path` hashing the body as it arrives (nothing is kept), reading at most
/// `rate` bytes per second when given, and publishing the count received so far.
pub async fn fetch_streamed(
    addr: SocketAddr,
    path: &str,
    rate: Option<u64>,
    progress: Option<std::sync::Arc<std::sync::atomic::AtomicU64>>,
) -> Streamed {
    use sha2::Digest;
    use std::sync::atomic::Ordering;
    let response = send(addr, "GET", path, &[]).await;
    let (parts, mut body) = response.into_parts();
    let mut hasher = sha2::Sha256::new();
    let (mut received, mut error) = (0u64, None);
    let start = std::time::Instant::now();
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    hasher.update(&data);
                    received += data.len() as u64;
                    if let Some(p) = &progress {
                        p.store(received, Ordering::SeqCst);
                    }
                }
                if let Some(rate) = rate {
                    let due = std::time::Duration::from_secs_f64(received as f64 / rate as f64);
                    if let Some(wait) = due.checked_sub(start.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
            }
            Some(Err(e)) => {
                error = Some(e.to_string());
                break;
            }
        }
    }
    Streamed {
        status: parts.status,
        headers: parts.headers,
        received,
        sha256: hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
        error,
    }
}
