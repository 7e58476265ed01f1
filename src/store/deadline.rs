//! One deadline on every store call (lookup, HEAD, opening a read), whatever the store and
//! its own retries: a backend that stalls before its answer is a [`StoreError::Timeout`]
//! (504) after [`Deadline::limit`], not a held request. Bodies have their own idle and stall
//! limits once streaming (crate::body). It is also where store calls are timed for the
//! request's record and readiness ([`crate::observe`]).

use super::{ChunkStream, Fetched, GetRequest, Store, StoreError};
use crate::meta::ObjectMeta;
use crate::range::ByteSpan;
use crate::validators::EntityTag;
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// A store whose calls each finish within `limit`.
pub struct Deadline {
    inner: Arc<dyn Store>,
    limit: Duration,
}

impl Deadline {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn Store>, limit: Duration) -> Deadline {
        Deadline { inner, limit }
    }

    /// The deadline of each call.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    fn bounded<'a, T: Send + 'a>(
        &'a self,
        what: &'static str,
        call: impl Future<Output = Result<T, StoreError>> + Send + 'a,
    ) -> BoxFuture<'a, Result<T, StoreError>> {
        async move {
            let started = std::time::Instant::now();
            let result = match tokio::time::timeout(self.limit, call).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Timeout(format!(
                    "{what}: no answer from the store within {} s",
                    self.limit.as_secs_f32()
                ))),
            };
            let answered = result.as_ref().map_or_else(|e| !e.is_transient(), |_| true);
            crate::observe::note_store(started.elapsed(), answered);
            result
        }
        .boxed()
    }
}

impl Store for Deadline {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta, StoreError>> {
        self.bounded("head", self.inner.head(key))
    }

    fn get<'a>(&'a self, req: GetRequest<'a>) -> BoxFuture<'a, Result<Fetched, StoreError>> {
        self.bounded("get", self.inner.get(req))
    }

    fn read<'a>(
        &'a self,
        key: &'a str,
        span: ByteSpan,
        etag: &'a EntityTag,
    ) -> BoxFuture<'a, Result<ChunkStream, StoreError>> {
        self.bounded("read", self.inner.read(key, span, etag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    /// A store whose every call never finishes.
    struct Silent;

    impl Store for Silent {
        fn head<'a>(&'a self, _: &'a str) -> BoxFuture<'a, Result<ObjectMeta, StoreError>> {
            std::future::pending().boxed()
        }
        fn get<'a>(&'a self, _: GetRequest<'a>) -> BoxFuture<'a, Result<Fetched, StoreError>> {
            std::future::pending().boxed()
        }
        fn read<'a>(
            &'a self,
            _: &'a str,
            _: ByteSpan,
            _: &'a EntityTag,
        ) -> BoxFuture<'a, Result<ChunkStream, StoreError>> {
            std::future::pending().boxed()
        }
    }

    #[tokio::test]
    async fn a_silent_store_times_out_on_every_call() {
        let store = Deadline::new(Arc::new(Silent), Duration::from_millis(200));
        let start = std::time::Instant::now();
        let tag = EntityTag::strong("\"x\"".into());
        let span = ByteSpan { first: 0, last: 0 };
        assert!(matches!(store.head("a").await, Err(StoreError::Timeout(_))));
        assert!(matches!(
            store.read("a", span, &tag).await,
            Err(StoreError::Timeout(_))
        ));
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(400), "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
    }

    #[tokio::test]
    async fn answers_in_time_pass_through() {
        let memory = MemoryStore::new(64);
        memory.put("a", bytes::Bytes::from_static(b"abc"), None);
        let store = Deadline::new(Arc::new(memory), Duration::from_secs(1));
        assert_eq!(store.head("a").await.expect("head").len, 3);
        assert!(matches!(
            store.head("b").await,
            Err(StoreError::NotFound(_))
        ));
    }
}
