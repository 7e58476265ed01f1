//! A minimal Lambda Runtime API for tests: hands out Function URL events on
//! `GET /2018-06-01/runtime/invocation/next` and records, byte for byte, what the runtime
//! posts back (headers, body, trailers, and whether the request ended properly).

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One POST from the runtime.
#[derive(Debug)]
pub struct Post {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: Option<HeaderMap>,
    /// `Err` when the request body broke off instead of ending.
    pub ended: Result<(), String>,
}

impl Post {
    /// Splits a streamed response into its prelude JSON and payload at the 8 NUL bytes.
    pub fn prelude_and_payload(&self) -> (serde_json::Value, &[u8]) {
        let at = self
            .body
            .windows(8)
            .position(|w| w == [0u8; 8])
            .expect("8 NUL bytes after the prelude");
        let prelude = serde_json::from_slice(&self.body[..at]).expect("prelude is JSON");
        (prelude, &self.body[at + 8..])
    }

    /// A buffered response's JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("buffered response is JSON")
    }

    /// (status JSON, body bytes) of a streamed prelude + payload (`mode` "stream") or a
    /// buffered JSON answer.
    #[allow(dead_code)] // not every test binary that includes common/ uses it
    pub fn answer(&self, mode: &str) -> (serde_json::Value, Vec<u8>) {
        use base64::Engine;
        if mode == "stream" {
            let (prelude, payload) = self.prelude_and_payload();
            return (prelude, payload.to_vec());
        }
        let json = self.json();
        let body = base64::engine::general_purpose::STANDARD
            .decode(json["body"].as_str().unwrap_or(""))
            .expect("base64");
        (json, body)
    }
}

struct Shared {
    events: tokio::sync::Mutex<mpsc::UnboundedReceiver<(String, Vec<u8>)>>,
    posts: mpsc::UnboundedSender<Post>,
    first_next: Mutex<Option<Instant>>,
    /// Bytes/s at which POST bodies are read, to slow a stream down (0 = unlimited).
    rate: AtomicU64,
    received: Arc<AtomicU64>,
    /// Milliseconds from `next` to the deadline it announces.
    deadline_ms: AtomicU64,
    /// Close each connection shortly after answering a POST on it (see `close_after_posts`).
    close_after_posts: std::sync::atomic::AtomicBool,
}

pub struct FakeRuntimeApi {
    pub addr: SocketAddr,
    events: mpsc::UnboundedSender<(String, Vec<u8>)>,
    posts: mpsc::UnboundedReceiver<Post>,
    shared: Arc<Shared>,
    next_id: u64,
}

impl FakeRuntimeApi {
    pub async fn start() -> FakeRuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (events, events_rx) = mpsc::unbounded_channel();
        let (posts_tx, posts) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            events: tokio::sync::Mutex::new(events_rx),
            posts: posts_tx,
            first_next: Mutex::new(None),
            rate: AtomicU64::new(0),
            received: Arc::default(),
            deadline_ms: AtomicU64::new(900_000),
            close_after_posts: Default::default(),
        });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let s = s.clone();
                let close = Arc::new(tokio::sync::Notify::new());
                let closer = close.clone();
                let service =
                    hyper::service::service_fn(move |req| handle(s.clone(), closer.clone(), req));
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
                // Dropping the connection closes the socket, whatever request is pending on it.
                tokio::spawn(async move {
                    tokio::select! {
                        _ = connection => {}
                        _ = close.notified() => {}
                    }
                });
            }
        });
        FakeRuntimeApi {
            addr,
            events,
            posts,
            shared,
            next_id: 0,
        }
    }

    /// The `AWS_LAMBDA_RUNTIME_API` value.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }

    /// Queues an event and waits for the runtime's answer to it.
    pub async fn invoke(&mut self, payload: Vec<u8>) -> Post {
        self.next_id += 1;
        let id = format!("req-{}", self.next_id);
        self.shared.received.store(0, Ordering::SeqCst);
        self.events
            .send((id.clone(), payload))
            .expect("queue event");
        let post = tokio::time::timeout(Duration::from_secs(120), self.posts.recv())
            .await
            .expect("runtime answered in time")
            .expect("runtime API alive");
        assert!(
            post.path.contains(&id),
            "answer for {id} went to {}",
            post.path
        );
        post
    }

    /// Reads response bodies at most this fast from now on (0 = unlimited).
    pub fn throttle(&self, bytes_per_second: u64) {
        self.shared.rate.store(bytes_per_second, Ordering::SeqCst);
    }

    /// The deadline (`Lambda-Runtime-Deadline-Ms`) of the next events: this long after they
    /// are handed out (900 s, Lambda's largest timeout, unless set).
    #[allow(dead_code)] // not every test binary that includes common/ uses it
    pub fn set_timeout(&self, timeout: Duration) {
        self.shared
            .deadline_ms
            .store(timeout.as_millis() as u64, Ordering::SeqCst);
    }

    /// From now on each connection is closed 50 ms after a POST on it was answered, without
    /// `Connection: close`: the runtime has pooled it by then and its next `next` waits on it,
    /// as when `cargo lambda watch` closes a connection that the runtime reuses.
    #[allow(dead_code)] // not every test binary that includes common/ uses it
    pub fn close_after_posts(&self) {
        self.shared.close_after_posts.store(true, Ordering::SeqCst);
    }

    /// Body bytes of the current POST received so far, readable while an invoke is pending.
    pub fn progress(&self) -> Arc<AtomicU64> {
        self.shared.received.clone()
    }

    /// When the runtime first asked for an event.
    pub fn first_next(&self) -> Option<Instant> {
        *self.shared.first_next.lock().expect("lock")
    }
}

async fn handle(
    s: Arc<Shared>,
    close: Arc<tokio::sync::Notify>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    if req.method() == http::Method::GET && path == "/2018-06-01/runtime/invocation/next" {
        s.first_next
            .lock()
            .expect("lock")
            .get_or_insert_with(Instant::now);
        let next = s.events.lock().await.recv().await;
        let Some((id, payload)) = next else {
            return Ok(Response::builder()
                .status(500)
                .body(Full::default())
                .expect("response"));
        };
        let deadline = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_millis()
            + u128::from(s.deadline_ms.load(Ordering::SeqCst));
        let response = Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header(
                "lambda-runtime-invoked-function-arn",
                "arn:aws:lambda:us-east-1:123456789012:function:imgorigin",
            )
            .body(Full::new(Bytes::from(payload)))
            .expect("response");
        return Ok(response);
    }
    let (parts, mut body) = req.into_parts();
    let (mut data, mut trailers, mut ended) = (Vec::new(), None, Ok(()));
    let start = Instant::now();
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(chunk) => {
                    data.extend_from_slice(&chunk);
                    s.received.store(data.len() as u64, Ordering::SeqCst);
                    let rate = s.rate.load(Ordering::SeqCst);
                    if rate > 0 {
                        let due = Duration::from_secs_f64(data.len() as f64 / rate as f64);
                        if let Some(wait) = due.checked_sub(start.elapsed()) {
                            tokio::time::sleep(wait).await;
                        }
                    }
                }
                Err(frame) => trailers = frame.into_trailers().ok(),
            },
            Some(Err(e)) => {
                ended = Err(e.to_string());
                break;
            }
        }
    }
    let _ = s.posts.send(Post {
        path,
        headers: parts.headers,
        body: data,
        trailers,
        ended,
    });
    if s.close_after_posts.load(Ordering::SeqCst) {
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            close.notify_one();
        });
    }
    Ok(Response::builder()
        .status(202)
        .body(Full::default())
        .expect("response"))
}

/// A Function URL event (payload format 2.0).
pub fn event(method: &str, raw_path: &str, headers: &[(&str, &str)]) -> Vec<u8> {
    event_with_query(method, raw_path, "", headers)
}

/// A Function URL event with a raw query string (without `?`).
pub fn event_with_query(
    method: &str,
    raw_path: &str,
    query: &str,
    headers: &[(&str, &str)],
) -> Vec<u8> {
    let headers: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::json!({
        "version": "2.0",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": headers,
        "routeKey": "$default",
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghij",
            "requestId": "test",
            "routeKey": "$default",
            "stage": "$default",
            "time": "28/Nov/2026:16:00:00 +0000",
            "timeEpoch": 1795881600000u64,
            "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"}
        },
        "isBase64Encoded": false
    })
    .to_string()
    .into_bytes()
}
