//! What goes back to the Lambda Runtime API for one response, in each invoke mode.
//!
//! Streaming (`Lambda-Runtime-Function-Response-Mode: streaming`): a JSON prelude with status,
//! single-valued headers and cookies, 8 NUL bytes, then the object's chunks as they come, and
//! the chunked request's terminating chunk only when every byte was sent. A bodyless answer
//! (HEAD, 304) is prelude, delimiter and that end at once: runtimes that sent no prelude or
//! no terminating chunk for empty bodies hung behind CloudFront
//! (aws-lambda-nodejs-runtime-interface-client#95, aws-lambda-web-adapter#499, nitro#4417).
//!
//! The prelude waits for the object's first chunk, so a store that fails before any byte gets
//! a complete 502 (`no-store`) rather than a 200 with nothing after it.
//!
//! A stream that fails after the prelude (the store gave up, or the function's deadline is a
//! second away) is aborted: the POST's connection closes without the terminating chunk. The
//! error trailers (`Lambda-Runtime-Function-Error-Type`) were sent before, but a Function URL
//! client has been seen to get a clean end with them (by-nir/aws-lambda-zig#3), which a cache
//! keeps as the whole object; the Runtime API marks a body that breaks off as truncated
//! (`Runtime.TruncatedResponse` in aws-lambda-runtime-interface-emulator). (lambda_runtime
//! 1.5.0 writes an `Err` item's text into the payload and ends cleanly; that is why this
//! module, not lambda_runtime's runner, writes the response.)
//!
//! Buffered: one Function URL JSON response, body base64-encoded, within the 6 MB payload
//! limit (the planner already cut the body to the budget).

use crate::body::ObjectBody;
use crate::observe::{Exchange, Observed};
use base64::Engine;
use bytes::Bytes;
use http::header::SET_COOKIE;
use http::{HeaderMap, HeaderValue, Response};
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

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

/// The origin's body as the transports send it: counted for the access log and metrics.
pub type ObservedBody = Observed<ObjectBody>;

/// The 8 NUL bytes between prelude and payload. Sent as a chunk of its own, as
/// lambda_runtime does: `cargo lambda watch` parses the prelude per chunk and answers 500
/// when the delimiter shares the prelude's chunk.
pub const DELIMITER: &[u8; 8] = &[0; 8];

/// Why a streamed invocation was cut off (the POST's body breaks off with it).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Aborted {
    /// The object's body failed after the prelude was sent.
    #[error("object read failed mid-stream")]
    Store,
    /// The function's deadline was about to end the invocation.
    #[error("the function's deadline came before the end of the stream")]
    Deadline,
}

/// How a streamed invocation ended, as far as the body knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Every byte was handed to the HTTP client (or it gave the body up).
    Sent,
    /// The body was cut off on purpose ([`Aborted`]).
    Aborted,
}

/// The body of a streaming response POST: prelude, delimiter, the object's chunks; an error
/// (which makes the HTTP client drop the connection without the terminating chunk) when the
/// object fails or the deadline comes first.
pub struct StreamedInvocation {
    /// Prelude, then delimiter, still to send (popped from the back).
    head: Vec<Bytes>,
    body: ObservedBody,
    /// The prelude waits for the body's first chunk: a store that fails before it gets a
    /// clean 502 instead of a stream cut off before its first byte (which `cargo lambda watch`
    /// left hanging, no status line, until the client gave up).
    waiting: bool,
    /// The first chunk, once the prelude may go.
    first: Option<Frame<Bytes>>,
    done: bool,
    /// Fires a second before the function's deadline.
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Told [`Ended::Aborted`] on an abort; dropped with the body otherwise, which the HTTP
    /// client does once it has written the body in full or given it up: the invocation is
    /// over only then, even if the Runtime API answered the POST earlier.
    finished: Option<tokio::sync::oneshot::Sender<Ended>>,
}

/// How long before the function's deadline a stream still running is cut off: an abort of
/// ours is certain to reach the viewer as incomplete; what Lambda's own timeout does to a
/// stream mid-way is not documented for Function URLs.
pub const DEADLINE_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);

/// When an answer still under way is given up: [`DEADLINE_MARGIN`] before `deadline`.
fn cut_off(deadline: tokio::time::Instant) -> tokio::time::Instant {
    deadline.checked_sub(DEADLINE_MARGIN).unwrap_or(deadline)
}

impl StreamedInvocation {
    /// Wraps a response of the origin, to be cut off [`DEADLINE_MARGIN`] before `deadline`.
    /// The receiver resolves when the body has been sent in full, given up, or aborted.
    pub fn new(
        response: Response<ObservedBody>,
        deadline: Option<tokio::time::Instant>,
    ) -> (StreamedInvocation, tokio::sync::oneshot::Receiver<Ended>) {
        let (parts, body) = response.into_parts();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let deadline = deadline.map(|at| Box::pin(tokio::time::sleep_until(cut_off(at))));
        let this = StreamedInvocation {
            head: vec![
                Bytes::from_static(DELIMITER),
                prelude(parts.status.as_u16(), &parts.headers),
            ],
            waiting: !body.is_end_stream(),
            body,
            first: None,
            done: false,
            deadline,
            finished: Some(tx),
        };
        (this, rx)
    }

    fn abort(&mut self, why: Aborted) -> Poll<Option<Result<Frame<Bytes>, Aborted>>> {
        tracing::error!(cause = %why, "cutting the stream off: the viewer gets an incomplete answer");
        if matches!(why, Aborted::Deadline) {
            self.body.exchange().note_deadline();
        }
        self.done = true;
        if let Some(tx) = self.finished.take() {
            let _ = tx.send(Ended::Aborted);
        }
        Poll::Ready(Some(Err(why)))
    }
}

impl Body for StreamedInvocation {
    type Data = Bytes;
    type Error = Aborted;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let streaming = !self.done;
        if let Some(deadline) = self.deadline.as_mut() {
            if streaming && deadline.as_mut().poll(cx).is_ready() {
                return self.abort(Aborted::Deadline);
            }
        }
        if self.waiting {
            match std::task::ready!(Pin::new(&mut self.body).poll_frame(cx)) {
                Some(Ok(frame)) => self.first = Some(frame),
                Some(Err(err)) => {
                    tracing::error!(cause = %err, "the object's body failed before its first byte; answering 502");
                    let (status, headers, body) = storage_error();
                    self.body.exchange().note_replaced(
                        status,
                        &headers,
                        body.len(),
                        "store_failed",
                    );
                    self.head = vec![
                        body,
                        Bytes::from_static(DELIMITER),
                        prelude(status, &headers),
                    ];
                    self.done = true;
                }
                None => self.done = true,
            }
            self.waiting = false;
        }
        if let Some(chunk) = self.head.pop() {
            return Poll::Ready(Some(Ok(Frame::data(chunk))));
        }
        if let Some(frame) = self.first.take() {
            return Poll::Ready(Some(Ok(frame)));
        }
        if self.done {
            return Poll::Ready(None);
        }
        match std::task::ready!(Pin::new(&mut self.body).poll_frame(cx)) {
            Some(Ok(frame)) => Poll::Ready(Some(Ok(frame))),
            Some(Err(err)) => {
                tracing::error!(cause = %err, "the object's body failed");
                self.abort(Aborted::Store)
            }
            None => {
                self.done = true;
                Poll::Ready(None)
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        !self.waiting
            && self.head.is_empty()
            && self.first.is_none()
            && (self.done || self.body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// What a store failure before the first byte is answered with, in either mode (nothing was
/// sent, so nothing partial can be cached; CloudFront keeps no 502, see deploy/template.yaml).
fn storage_error() -> (u16, HeaderMap, Bytes) {
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

/// What a buffered answer that could not be collected before the function's deadline is
/// answered with: nothing was sent, so a complete 504 can still go out in time, where Lambda
/// would otherwise end the invocation with no answer of ours.
fn deadline_error() -> (u16, HeaderMap, Bytes) {
    let (_, headers, _) = storage_error();
    (504, headers, Bytes::from_static(b"storage too slow\n"))
}

/// The buffered-mode JSON response to the origin's answer `response`. A body that fails while
/// being collected turns the whole answer into a 502, and an answer (head or body) not ready
/// [`DEADLINE_MARGIN`] before `deadline` into a 504 (nothing was sent yet, so nothing partial
/// can be cached).
pub async fn buffered(
    response: impl std::future::Future<Output = Response<ObservedBody>>,
    exchange: &Exchange,
    deadline: Option<tokio::time::Instant>,
) -> Vec<u8> {
    let collect = async {
        let (parts, body) = response.await.into_parts();
        body.collect().await.map(|c| (parts, c))
    };
    let collected = match deadline.map(cut_off) {
        Some(at) => tokio::time::timeout_at(at, collect).await,
        None => Ok(collect.await),
    };
    let (status, headers, bytes) = match collected {
        Ok(Ok((parts, collected))) => (parts.status.as_u16(), parts.headers, collected.to_bytes()),
        Ok(Err(err)) => {
            tracing::error!(cause = %err, "buffered body failed; answering 502");
            let (status, headers, body) = storage_error();
            exchange.note_replaced(status, &headers, body.len(), "store_failed");
            (status, headers, body)
        }
        Err(_) => {
            tracing::error!("buffered body not collected before the deadline; answering 504");
            let (status, headers, body) = deadline_error();
            exchange.note_replaced(status, &headers, body.len(), "deadline");
            (status, headers, body)
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
