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

/// Sends `method path` with `headers` (repeated names allowed) and reads the whole answer.
pub async fn fetch(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Fetched {
    let stream = tokio::net::TcpStream::connect(addr).await.expect("connect to imgorigin");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let mut req = Request::builder().method(method).uri(path).header("host", addr.to_string());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Empty::<Bytes>::new()).expect("request");
    let response = sender.send_request(req).await.expect("response head");
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
