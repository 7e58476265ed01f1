//! Collecting the facts of one request while it runs, and finishing its [`Record`] when the
//! last handle goes.

use super::record::{End, Kind, Record, MAX_RANGE_LOGGED};
use super::{Observer, CURRENT};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

/// What the transport knows when a request arrives.
#[derive(Debug, Default)]
pub struct Start {
    /// The connection's peer.
    pub client: Option<IpAddr>,
    /// The Lambda invocation's id.
    pub aws_request_id: Option<String>,
}

/// A handle on one request's facts. Cheap to clone; the record is written out when the last
/// clone is dropped.
#[derive(Clone)]
pub struct Exchange(Arc<Shared>);

struct Shared {
    observer: Observer,
    started: Instant,
    facts: Mutex<Record>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        let record = self.facts.get_mut().unwrap_or_else(|e| e.into_inner());
        record.duration = self.started.elapsed();
        if record.status == 0 {
            // The client left before the answer's head: nginx's 499, so that it counts as
            // the client's doing and not as a 5xx of ours.
            record.status = CLIENT_CLOSED;
            record.error.get_or_insert("client_gone");
        }
        super::metrics::global().ended();
        self.observer.finish(record);
    }
}

/// The status logged for a request whose client went away before the head was sent.
pub const CLIENT_CLOSED: u16 = 499;

/// This process's request numbers.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Exchange {
    pub(super) fn new(observer: Observer, start: Start) -> Exchange {
        super::metrics::global().started();
        let record = Record {
            time: SystemTime::now(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            aws_request_id: start.aws_request_id,
            cf_id: None,
            client: start.client,
            method: String::new(),
            path: String::new(),
            kind: Kind::Other,
            status: 0,
            bytes: 0,
            length: None,
            complete: false,
            end: End::Client,
            duration: Duration::ZERO,
            ttfb: None,
            store: Duration::ZERO,
            store_calls: 0,
            retries: 0,
            resumes: 0,
            range: None,
            served: None,
            transform: None,
            queue: None,
            error: None,
        };
        Exchange(Arc::new(Shared {
            observer,
            started: Instant::now(),
            facts: Mutex::new(record),
        }))
    }

    /// The request number, for the log lines of the pipeline.
    pub fn id(&self) -> u64 {
        self.facts().id
    }

    /// The request number of the exchange running on this task, or a new one when the
    /// origin runs outside any (tests, benches).
    pub fn current_or_new_id() -> u64 {
        CURRENT
            .try_with(Exchange::id)
            .unwrap_or_else(|_| NEXT_ID.fetch_add(1, Ordering::Relaxed))
    }

    fn facts(&self) -> MutexGuard<'_, Record> {
        // A panic while holding the lock cannot leave a record half-written in a way that
        // matters for a log line.
        self.0.facts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the origin on `request` inside this exchange, and notes the request and the head
    /// of the response.
    pub async fn run<B, F>(
        &self,
        request: http::Request<B>,
        origin: impl FnOnce(http::Request<B>) -> F,
    ) -> http::Response<crate::body::ObjectBody>
    where
        F: std::future::Future<Output = http::Response<crate::body::ObjectBody>>,
    {
        self.note_request(&request);
        let response = CURRENT.scope(self.clone(), origin(request)).await;
        self.note_head(response.status().as_u16(), response.headers());
        response
    }

    fn note_request<B>(&self, request: &http::Request<B>) {
        let h = request.headers();
        let mut f = self.facts();
        f.method = request.method().as_str().to_owned();
        f.path = request.uri().path().to_owned();
        f.kind = Kind::of(request.method(), h);
        f.cf_id = text(h.get("x-amz-cf-id"), 128);
        f.range = text(h.get(http::header::RANGE), MAX_RANGE_LOGGED);
    }

    /// The status and head actually sent (a transport that replaces the origin's answer, as
    /// the Lambda adapter does for a store failure before the first byte, calls it again).
    pub fn note_head(&self, status: u16, headers: &http::HeaderMap) {
        let mut f = self.facts();
        f.status = status;
        f.length = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok());
        f.served = match headers.get(http::header::CONTENT_TYPE) {
            Some(v) if v.as_bytes().starts_with(b"multipart/byteranges") => {
                Some("multipart".to_owned())
            }
            _ => text(headers.get(http::header::CONTENT_RANGE), 100),
        };
        if f.ttfb.is_none() && status != 0 {
            // Until a body byte says otherwise, the head is the first thing out.
            f.ttfb = Some(self.0.started.elapsed());
        }
    }

    /// The transport sent `status` with `headers` and a complete body of `bytes` instead of
    /// the origin's answer (nothing of which had gone out), because of `error`.
    pub fn note_replaced(
        &self,
        status: u16,
        headers: &http::HeaderMap,
        bytes: usize,
        error: &'static str,
    ) {
        self.note_head(status, headers);
        let mut f = self.facts();
        f.bytes = bytes as u64;
        f.end = End::Complete;
        f.complete = true;
        f.error = Some(error);
    }

    /// The transport cut the answer off at the function's deadline.
    pub fn note_deadline(&self) {
        let mut f = self.facts();
        f.end = End::Deadline;
        f.complete = false;
        f.error.get_or_insert("deadline");
    }

    /// Wraps the response body so that what is sent is counted.
    pub fn body<B: Body>(self, body: B) -> Observed<B> {
        // A transport need not poll a body that is empty from the start (304), nor any body
        // of an answer to HEAD (hyper does not: an error's text is not sent).
        let ended = body.is_end_stream() || self.facts().method == "HEAD";
        if ended {
            self.ended(End::Complete);
        }
        Observed {
            body,
            exchange: self,
            first: true,
            ended,
        }
    }

    pub(super) fn add_store(&self, waited: Duration) {
        let mut f = self.facts();
        f.store += waited;
        f.store_calls += 1;
    }

    pub(super) fn add_retry(&self) {
        self.facts().retries += 1;
    }

    pub(super) fn add_resume(&self) {
        self.facts().resumes += 1;
    }

    pub(super) fn set_transform(&self, canonical: String) {
        let mut f = self.facts();
        f.kind = Kind::Transform;
        f.transform = Some(canonical);
    }

    pub(super) fn set_queue(&self, waited: Duration) {
        self.facts().queue = Some(waited);
    }

    pub(super) fn set_error(&self, class: &'static str) {
        self.facts().error = Some(class);
    }

    fn sent(&self, bytes: usize, first: bool) {
        let mut f = self.facts();
        f.bytes += bytes as u64;
        if first {
            f.ttfb = Some(self.0.started.elapsed());
        }
    }

    fn ended(&self, end: End) {
        let mut f = self.facts();
        if f.end == End::Deadline {
            return;
        }
        f.end = end;
        f.complete = end == End::Complete;
        if end == End::Store {
            f.error.get_or_insert("store_mid_body");
        }
    }
}

/// A header value as text for the log: visible ASCII only, at most `max` bytes.
fn text(value: Option<&http::HeaderValue>, max: usize) -> Option<String> {
    let v = value?.to_str().ok()?;
    Some(match v.len() > max {
        true => format!("{}...", &v[..max]),
        false => v.to_owned(),
    })
}

/// A response body whose bytes and end are noted in its exchange. Polls the inner body inside
/// the exchange, so that store calls made while streaming (resumes, the reads of a multipart
/// body) count for this request.
pub struct Observed<B> {
    body: B,
    exchange: Exchange,
    first: bool,
    ended: bool,
}

impl<B> Observed<B> {
    /// The exchange this body belongs to.
    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }
}

impl<B> Body for Observed<B>
where
    B: Body<Data = Bytes> + Unpin,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let exchange = this.exchange.clone();
        let polled = CURRENT.sync_scope(exchange, || Pin::new(&mut this.body).poll_frame(cx));
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.exchange.sent(data.len(), this.first);
                    this.first = false;
                }
                if this.body.is_end_stream() {
                    this.ended = true;
                    this.exchange.ended(End::Complete);
                }
            }
            Poll::Ready(Some(Err(_))) => {
                this.ended = true;
                this.exchange.ended(End::Store);
            }
            Poll::Ready(None) => {
                this.ended = true;
                this.exchange.ended(End::Complete);
            }
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl<B> Drop for Observed<B> {
    fn drop(&mut self) {
        if !self.ended {
            // Dropped before its end: the transport gave it up.
            self.exchange.ended(End::Client);
        }
    }
}

#[cfg(test)]
#[path = "exchange_tests.rs"]
mod tests;
