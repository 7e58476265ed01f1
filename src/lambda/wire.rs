//! What goes back to the Lambda Runtime API for one response, in each invoke mode.
//!
//! Streaming (`Lambda-Runtime-Function-Response-Mode: streaming`): a JSON prelude with status,
//! single-valued headers and cookies, 8 NUL bytes, then the object's chunks as they come. A
//! failure after the prelude ends the body with the `Lambda-Runtime-Function-Error-Type` /
//! `-Error-Body` trailers, the documented way to fail an invocation mid-stream, and adds no
//! byte to the payload. (lambda_runtime 1.5.0 writes an `Err` item's text into the payload
//! and ends cleanly, which a cache would keep as a complete object; that is why this module,
//! not lambda_runtime's runner, writes the response.)
//!
//! Buffered: one Function URL JSON response, body base64-encoded, within the 6 MB payload
//! limit (the planner already cut the body to the budget).

use crate::body::{BodyError, ObjectBody};
use base64::Engine;
use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderName, HeaderValue, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Trailer names the Runtime API reads to fail a streamed invocation.
pub const ERROR_TYPE_TRAILER: &str = "lambda-runtime-function-error-type";
/// See [`ERROR_TYPE_TRAILER`].
pub const ERROR_BODY_TRAILER: &str = "lambda-runtime-function-error-body";

/// Function URL responses carry one value per header; repeated headers are joined as RFC 9110
/// §5.3 allows, and Set-Cookie (which may not be joined) goes to `cookies`.
pub fn single_valued(
    headers: &HeaderMap,
) -> (serde_json::Map<String, serde_json::Value>, Vec<String>) {
    let mut map = serde_json::Map::new();
    let mut cookies = Vec::new();
    for name in headers.keys() {
        let values = headers.get_all(name).iter().filter_map(|v| v.to_str().ok());
        if name == SET_COOKIE {
            cookies.extend(values.map(str::to_owned));
        } else {
            let joined = values.collect::<Vec<_>>().join(", ");
            map.insert(name.as_str().to_owned(), serde_json::Value::String(joined));
        }
    }
    (map, cookies)
}

/// The streaming prelude JSON; [`DELIMITER`] follows it.
pub fn prelude(status: u16, headers: &HeaderMap) -> Bytes {
    let (headers, cookies) = single_valued(headers);
    let json = serde_json::json!({ "statusCode": status, "headers": headers, "cookies": cookies });
    Bytes::from(json.to_string())
}

/// The 8 NUL bytes between prelude and payload. Sent as a chunk of its own, as
/// lambda_runtime does: `cargo lambda watch` parses the prelude per chunk and answers 500
/// when the delimiter shares the prelude's chunk.
pub const DELIMITER: &[u8; 8] = &[0; 8];

/// The body of a streaming response POST: prelude, object chunks, and error trailers on
/// failure. Never yields an error itself, so the HTTP client always ends the request
/// properly and the Runtime API reads the trailers.
pub struct StreamedInvocation {
    /// Prelude, then delimiter, still to send (popped from the back).
    head: Vec<Bytes>,
    body: ObjectBody,
    done: bool,
    /// Dropped with the body, which the HTTP client does once it has written the body in
    /// full or given it up: the invocation is over only then, even if the Runtime API
    /// answered the POST earlier. Never sent on; the drop is the signal.
    _finished: tokio::sync::oneshot::Sender<()>,
}

impl StreamedInvocation {
    /// Wraps a response of the origin; the receiver resolves when the body has been sent in
    /// full or given up (dropped by the HTTP client).
    pub fn new(
        response: Response<ObjectBody>,
    ) -> (StreamedInvocation, tokio::sync::oneshot::Receiver<()>) {
        let (parts, body) = response.into_parts();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let this = StreamedInvocation {
            head: vec![
                Bytes::from_static(DELIMITER),
                prelude(parts.status.as_u16(), &parts.headers),
            ],
            body,
            done: false,
            _finished: tx,
        };
        (this, rx)
    }
}

fn error_trailers(err: &BodyError) -> HeaderMap {
    tracing::error!(cause = %err, "failing the invocation mid-stream");
    // The message is generic on purpose: it may reach logs outside our control.
    let body = serde_json::json!({ "errorType": "StoreReadFailed", "errorMessage": "object read failed mid-stream" });
    let body = base64::engine::general_purpose::STANDARD.encode(body.to_string());
    let mut map = HeaderMap::new();
    map.insert(
        HeaderName::from_static(ERROR_TYPE_TRAILER),
        HeaderValue::from_static("StoreReadFailed"),
    );
    if let Ok(v) = HeaderValue::from_str(&body) {
        map.insert(HeaderName::from_static(ERROR_BODY_TRAILER), v);
    }
    map
}

impl Body for StreamedInvocation {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if let Some(chunk) = self.head.pop() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if self.done {
            return Poll::Ready(None);
        }
        match std::task::ready!(Pin::new(&mut self.body).poll_frame(cx)) {
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
            Some(Err(err)) => {
                self.done = true;
                Poll::Ready(Some(Ok(Frame::trailers(error_trailers(&err)))))
            }
            None => {
                self.done = true;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.head.is_empty() && (self.done || self.body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// The buffered-mode JSON response. A body that fails while being collected turns the whole
/// answer into a 502 (nothing was sent yet, so nothing partial can be cached).
pub async fn buffered(response: Response<ObjectBody>) -> Vec<u8> {
    let (parts, body) = response.into_parts();
    let (status, headers, bytes) = match body.collect().await {
        Ok(collected) => (parts.status.as_u16(), parts.headers, collected.to_bytes()),
        Err(err) => {
            tracing::error!(cause = %err, "buffered body failed; answering 502");
            let mut h = HeaderMap::new();
            h.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            );
            h.insert(
                http::header::CACHE_CONTROL,
                HeaderValue::from_static("no-store"),
            );
            (502, h, Bytes::from_static(b"storage error\n"))
        }
    };
    let (headers, cookies) = single_valued(&headers);
    let json = serde_json::json!({
        "statusCode": status,
        "headers": headers,
        "cookies": cookies,
        "body": base64::engine::general_purpose::STANDARD.encode(&bytes),
        "isBase64Encoded": true,
    });
    json.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_become_single_valued() {
        let mut h = HeaderMap::new();
        h.append("vary", HeaderValue::from_static("Origin"));
        h.append("vary", HeaderValue::from_static("Accept"));
        h.append("set-cookie", HeaderValue::from_static("a=1"));
        h.append("set-cookie", HeaderValue::from_static("b=2"));
        h.insert("etag", HeaderValue::from_static("\"x\""));
        let (map, cookies) = single_valued(&h);
        assert_eq!(map["vary"], "Origin, Accept");
        assert_eq!(map["etag"], "\"x\"");
        assert!(!map.contains_key("set-cookie"));
        assert_eq!(cookies, ["a=1", "b=2"]);
    }

    #[test]
    fn prelude_is_json() {
        let json: serde_json::Value =
            serde_json::from_slice(&prelude(206, &HeaderMap::new())).unwrap();
        assert_eq!(json["statusCode"], 206);
        assert_eq!(json["cookies"], serde_json::json!([]));
    }
}
