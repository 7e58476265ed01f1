//! Response bodies. Object bytes are streamed from the store chunk by chunk; hyper polls the
//! body only when it can write, so a slow client holds back the store read (backpressure).
//!
//! Integrity: a body never yields more bytes than its headers declared, and never ends cleanly
//! short of them. When the store fails mid-stream the body resumes with a ranged read of the
//! same version (If-Match on the ETag) a bounded number of times; if that fails it yields an
//! error, which makes hyper close the connection short of Content-Length: clients and caches
//! see an aborted transfer, not a complete-looking truncated object.
//!
//! Deadlines: a read that gives nothing for [`ResumePolicy::idle_timeout`] counts as failed,
//! and a body that has had no byte from the store for [`ResumePolicy::stall_limit`] (resumes
//! and their re-opens included) is aborted.

#[path = "body/multipart.rs"]
mod multipart;

use crate::range::ByteSpan;
use crate::store::{ChunkStream, Store, StoreError};
use crate::validators::EntityTag;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use http_body::{Body, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Why a body stopped before its end. Yielding it aborts the transfer.
#[derive(Debug, thiserror::Error)]
#[error("transfer aborted: {0}")]
pub struct BodyError(#[from] pub StoreError);

/// How a streamed body recovers from store failures.
#[derive(Debug, Clone, Copy)]
pub struct ResumePolicy {
    /// Consecutive failed attempts allowed before giving up; reset by every chunk received.
    pub tries: u32,
    /// Delay before the first retry, doubled for each further one.
    pub backoff: Duration,
    /// A read that yields nothing for this long while we wait on it counts as failed.
    pub idle_timeout: Duration,
    /// The longest the body may go without a byte from the store, resumes included: past it
    /// the transfer is aborted, so a store that stalls again after every resume cannot hold
    /// a client (and its memory) for `tries` times the idle timeout.
    pub stall_limit: Duration,
}

impl Default for ResumePolicy {
    fn default() -> Self {
        ResumePolicy {
            tries: 3,
            backoff: Duration::from_millis(100),
            idle_timeout: Duration::from_secs(10),
            stall_limit: Duration::from_secs(25),
        }
    }
}

/// Where a streamed body reads from: enough to re-open the same bytes of the same version.
#[derive(Clone)]
pub struct Source {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The object's key.
    pub key: Arc<str>,
    /// The version the response headers describe.
    pub etag: EntityTag,
    /// Request id, for log lines.
    pub request_id: u64,
}

/// The body of every response imgorigin sends.
pub struct ObjectBody(Kind);

enum Kind {
    Bytes(Option<Bytes>),
    Stream(Box<Streaming>),
    Multipart(Box<multipart::Multipart>),
}

struct Streaming {
    source: Source,
    policy: ResumePolicy,
    /// Next byte offset to send; the body is complete when it passes `last`.
    next: u64,
    last: u64,
    chunks: Option<ChunkStream>,
    reopen: Option<BoxFuture<'static, Result<ChunkStream, StoreError>>>,
    tries_left: u32,
    /// Armed only while we wait on the store, so a slow client is never mistaken for a stall.
    idle: Pin<Box<Sleep>>,
    waiting: bool,
    /// When the store last gave a byte (or the body started): the stall limit counts from here.
    progress_at: Instant,
    /// A failed open seen ahead of the part's turn (multipart read-ahead), handled on its turn.
    early: Option<StoreError>,
}

impl ObjectBody {
    /// No body (HEAD, 304, 412, 416 without text).
    pub fn empty() -> ObjectBody {
        ObjectBody(Kind::Bytes(None))
    }

    /// A small in-memory body (error texts).
    pub fn text(text: &'static str) -> ObjectBody {
        ObjectBody(Kind::Bytes(Some(Bytes::from_static(text.as_bytes()))))
    }

    /// A whole in-memory body (transformed images).
    pub fn bytes(bytes: Bytes) -> ObjectBody {
        ObjectBody(Kind::Bytes(Some(bytes)))
    }

    /// Streams `span` from `chunks`, re-opening from `source` on failure.
    pub fn stream(
        source: Source,
        span: ByteSpan,
        chunks: ChunkStream,
        policy: ResumePolicy,
    ) -> ObjectBody {
        ObjectBody(Kind::Stream(Box::new(Streaming::new(
            source,
            span,
            policy,
            Some(chunks),
        ))))
    }

    /// A multipart/byteranges body of `content_length` bytes: each `(head, span)` of `parts` in
    /// order, the spans read from `source` as `reads` groups them (`plan::multipart::reads`),
    /// then `tail`.
    pub fn multipart(
        source: Source,
        layout: crate::plan::multipart::Layout,
        reads: Vec<(ByteSpan, usize)>,
        policy: ResumePolicy,
    ) -> ObjectBody {
        ObjectBody(Kind::Multipart(Box::new(multipart::Multipart::new(
            source,
            layout.parts,
            reads,
            layout.tail,
            layout.content_length,
            policy,
        ))))
    }
}

impl Streaming {
    /// A body for `span` reading from `chunks`; without them the read opens on first poll,
    /// under the same rules as a resume.
    fn new(
        source: Source,
        span: ByteSpan,
        policy: ResumePolicy,
        chunks: Option<ChunkStream>,
    ) -> Streaming {
        let reopen = match chunks {
            Some(_) => None,
            None => {
                let (store, key, etag) = (
                    source.store.clone(),
                    source.key.clone(),
                    source.etag.clone(),
                );
                Some(async move { store.read(&key, span, &etag).await }.boxed())
            }
        };
        Streaming {
            source,
            policy,
            next: span.first,
            last: span.last,
            chunks,
            reopen,
            tries_left: policy.tries,
            idle: Box::pin(tokio::time::sleep(policy.idle_timeout)),
            waiting: false,
            progress_at: Instant::now(),
            early: None,
        }
    }

    /// Drives the pending open without taking any byte: a multipart body opens the next
    /// part's read while the current one streams. The result waits for [`Streaming::start`].
    fn poll_open(&mut self, cx: &mut Context<'_>) {
        if let Some(reopen) = self.reopen.as_mut() {
            if let Poll::Ready(result) = reopen.poll_unpin(cx) {
                self.reopen = None;
                match result {
                    Ok(chunks) => self.chunks = Some(chunks),
                    Err(e) => self.early = Some(e),
                }
            }
        }
    }

    /// The part's turn has come: deadlines count from now, not from when it was opened.
    fn start(&mut self) {
        self.progress_at = Instant::now();
        self.tries_left = self.policy.tries;
    }

    fn remaining(&self) -> u64 {
        (self.last + 1).saturating_sub(self.next)
    }

    /// Records a failure: schedules a resume, or returns the error that ends the body.
    fn fail(&mut self, err: StoreError) -> Option<BodyError> {
        self.chunks = None;
        let Source {
            request_id: rid,
            key,
            ..
        } = &self.source;
        let stalled = self.progress_at.elapsed() >= self.policy.stall_limit;
        if !err.is_transient() || self.tries_left == 0 || stalled {
            tracing::error!(rid, key = &**key, offset = self.next, cause = %err, "aborting response body");
            return Some(BodyError(err));
        }
        let attempt = self.policy.tries - self.tries_left;
        self.tries_left -= 1;
        let delay = self.policy.backoff * 2u32.saturating_pow(attempt);
        tracing::warn!(rid, key = &**key, offset = self.next, cause = %err, ?delay, "resuming read");
        crate::observe::note_resume();
        let span = ByteSpan {
            first: self.next,
            last: self.last,
        };
        let (store, key, etag) = (
            self.source.store.clone(),
            self.source.key.clone(),
            self.source.etag.clone(),
        );
        let give_up = self.stall_deadline();
        self.reopen = Some(
            async move {
                let reopen = async {
                    tokio::time::sleep(delay).await;
                    store.read(&key, span, &etag).await
                };
                match tokio::time::timeout_at(give_up, reopen).await {
                    Ok(result) => result,
                    Err(_) => Err(StoreError::Timeout(
                        "no resumed read within the stall limit".into(),
                    )),
                }
            }
            .boxed(),
        );
        None
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        loop {
            if self.remaining() == 0 {
                return Poll::Ready(None);
            }
            if let Some(e) = self.early.take() {
                match self.fail(e) {
                    Some(err) => return Poll::Ready(Some(Err(err))),
                    None => continue,
                }
            }
            if let Some(reopen) = self.reopen.as_mut() {
                let result = std::task::ready!(reopen.poll_unpin(cx));
                self.reopen = None;
                match result {
                    Ok(chunks) => self.chunks = Some(chunks),
                    Err(e) => match self.fail(e) {
                        Some(err) => return Poll::Ready(Some(Err(err))),
                        None => continue,
                    },
                }
            }
            let polled = match self.chunks.as_mut() {
                Some(chunks) => chunks.poll_next_unpin(cx),
                None => Poll::Ready(Some(Err(StoreError::Failed("no open read".into())))),
            };
            let failure = match polled {
                Poll::Ready(Some(Ok(bytes))) if bytes.is_empty() => continue,
                Poll::Ready(Some(Ok(bytes))) => return Poll::Ready(Some(Ok(self.accept(bytes)))),
                Poll::Ready(Some(Err(e))) => e,
                Poll::Ready(None) => {
                    StoreError::Interrupted(format!("store ended {} bytes early", self.remaining()))
                }
                Poll::Pending => {
                    if !self.waiting {
                        self.waiting = true;
                        let idle = Instant::now() + self.policy.idle_timeout;
                        let deadline = idle.min(self.stall_deadline());
                        self.idle.as_mut().reset(deadline);
                    }
                    std::task::ready!(self.idle.as_mut().poll(cx));
                    StoreError::Timeout(format!("no data for {:?}", self.policy.idle_timeout))
                }
            };
            self.waiting = false;
            if let Some(err) = self.fail(failure) {
                return Poll::Ready(Some(Err(err)));
            }
        }
    }

    /// Takes a chunk, cut to what the headers still allow: a misbehaving store can never
    /// push foreign bytes past the declared length.
    fn accept(&mut self, mut bytes: Bytes) -> Bytes {
        let remaining = self.remaining();
        if bytes.len() as u64 > remaining {
            bytes.truncate(remaining as usize);
            self.chunks = None;
        }
        self.next += bytes.len() as u64;
        self.tries_left = self.policy.tries;
        self.waiting = false;
        self.progress_at = Instant::now();
        bytes
    }

    fn stall_deadline(&self) -> Instant {
        self.progress_at + self.policy.stall_limit
    }
}

impl Body for ObjectBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        match &mut self.0 {
            Kind::Bytes(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Kind::Stream(s) => s.poll_chunk(cx).map(|o| o.map(|r| r.map(Frame::data))),
            Kind::Multipart(m) => m.poll_chunk(cx).map(|o| o.map(|r| r.map(Frame::data))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.0 {
            Kind::Bytes(bytes) => bytes.is_none(),
            Kind::Stream(s) => s.remaining() == 0,
            Kind::Multipart(m) => m.remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.0 {
            Kind::Bytes(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            Kind::Stream(s) => SizeHint::with_exact(s.remaining()),
            Kind::Multipart(m) => SizeHint::with_exact(m.remaining),
        }
    }
}
