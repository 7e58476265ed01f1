//! An in-memory store with fault injection: the seam for tests and benches (no disk, no
//! network), and the reference for what a well-behaved store does.

use super::{ChunkStream, Fetched, GetRequest, Store, StoreError};
use crate::meta::ObjectMeta;
use crate::range::ByteSpan;
use crate::validators::EntityTag;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{stream, FutureExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// Counts live read streams, so tests can prove that a client going away ends the read.
#[derive(Debug, Clone, Default)]
pub struct StreamCounter(Arc<AtomicUsize>);

impl StreamCounter {
    /// Streams opened and not yet dropped.
    pub fn live(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

struct LiveGuard(StreamCounter);

impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Objects held in memory.
#[derive(Clone)]
pub struct MemoryStore {
    objects: Arc<RwLock<HashMap<String, (ObjectMeta, Bytes)>>>,
    chunk: usize,
    /// Each read whose number is below this fails after `fail_after` bytes.
    failing_reads: Arc<AtomicU64>,
    fail_after: Arc<AtomicU64>,
    reads: Arc<AtomicU64>,
    calls: Arc<AtomicU64>,
    live: StreamCounter,
}

impl MemoryStore {
    /// An empty store that yields chunks of `chunk` bytes.
    pub fn new(chunk: usize) -> MemoryStore {
        MemoryStore {
            objects: Arc::default(),
            chunk: chunk.max(1),
            failing_reads: Arc::default(),
            fail_after: Arc::default(),
            reads: Arc::default(),
            calls: Arc::default(),
            live: StreamCounter::default(),
        }
    }

    /// Adds or replaces an object; the ETag is derived from a version counter.
    pub fn put(&self, key: &str, bytes: impl Into<Bytes>, content_type: Option<&str>) {
        static VERSION: AtomicU64 = AtomicU64::new(1);
        let bytes = bytes.into();
        let version = VERSION.fetch_add(1, Ordering::SeqCst);
        let etag = EntityTag::strong(format!("\"mem-{version}\""));
        let mut meta = ObjectMeta::new(bytes.len() as u64, etag, Some(SystemTime::now()));
        meta.content_type = content_type.map(str::to_owned);
        if let Ok(mut map) = self.objects.write() {
            map.insert(key.to_owned(), (meta, bytes));
        }
    }

    /// Makes the next `reads` reads fail with an interruption when they reach byte offset
    /// `at` of the object (at once, for a read starting at or past it).
    pub fn fail_next_reads(&self, reads: u64, at: u64) {
        self.fail_after.store(at, Ordering::SeqCst);
        self.failing_reads
            .store(self.reads.load(Ordering::SeqCst) + reads, Ordering::SeqCst);
    }

    /// Reads started so far.
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::SeqCst)
    }

    /// Store calls of any kind (head, get, read) so far: tests of refusals assert it stays 0.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Live read streams.
    pub fn streams(&self) -> StreamCounter {
        self.live.clone()
    }

    fn lookup(&self, key: &str) -> Result<(ObjectMeta, Bytes), StoreError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let map = self
            .objects
            .read()
            .map_err(|_| StoreError::Failed("lock poisoned".into()))?;
        map.get(key)
            .cloned()
            .ok_or_else(|| StoreError::NotFound(key.to_owned()))
    }

    fn stream(
        &self,
        key: &str,
        span: ByteSpan,
        etag: &EntityTag,
    ) -> Result<ChunkStream, StoreError> {
        let (meta, bytes) = self.lookup(key)?;
        if !meta.etag.strong_eq(etag) {
            return Err(StoreError::Changed);
        }
        let n = self.reads.fetch_add(1, Ordering::SeqCst);
        let fail_at = (n < self.failing_reads.load(Ordering::SeqCst))
            .then(|| span.first.max(self.fail_after.load(Ordering::SeqCst)));
        let end = usize::try_from(span.last).map_err(|_| StoreError::Failed("span".into()))?;
        let mut pos = usize::try_from(span.first).map_err(|_| StoreError::Failed("span".into()))?;
        let chunk = self.chunk;
        self.live.0.fetch_add(1, Ordering::SeqCst);
        let guard = LiveGuard(self.live.clone());
        let chunks = stream::iter(std::iter::from_fn(move || {
            let _keep = &guard;
            if pos > end {
                return None;
            }
            if fail_at.is_some_and(|f| pos as u64 >= f) {
                pos = end + 1;
                return Some(Err(StoreError::Interrupted("injected failure".into())));
            }
            let stop = fail_at.map_or(end + 1, |f| (f as usize).min(end + 1));
            let next = (pos + chunk).min(stop);
            let piece = bytes.slice(pos..next);
            pos = next;
            Some(Ok(piece))
        }));
        Ok(chunks.boxed())
    }
}

impl Store for MemoryStore {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta, StoreError>> {
        let found = self.lookup(key).map(|(meta, _)| meta);
        async move { found }.boxed()
    }

    fn get<'a>(&'a self, req: GetRequest<'a>) -> BoxFuture<'a, Result<Fetched, StoreError>> {
        let found = self
            .lookup(req.key)
            .map(|(meta, _)| Fetched::Object { meta, body: None });
        async move { found }.boxed()
    }

    fn read<'a>(
        &'a self,
        key: &'a str,
        span: ByteSpan,
        etag: &'a EntityTag,
    ) -> BoxFuture<'a, Result<ChunkStream, StoreError>> {
        let stream = self.stream(key, span, etag);
        async move { stream }.boxed()
    }
}
