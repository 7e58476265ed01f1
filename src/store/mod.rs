//! Stores: where object bytes come from. A store answers in domain terms ([`Fetched`],
//! [`StoreError`]); it never builds an HTTP response.

mod deadline;
mod local;
mod memory;
pub(crate) mod s3;

pub use deadline::Deadline;
pub use local::{LinkPolicy, LocalStore};
pub use memory::{MemoryStore, StreamCounter};
pub use s3::{S3Options, S3Store};

use crate::meta::ObjectMeta;
use crate::range::{ByteSpan, RangeSpec};
use crate::validators::{Conditions, EntityTag};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;

/// The chunks of one byte span, in order.
pub type ChunkStream = BoxStream<'static, Result<Bytes, StoreError>>;

/// A GET as the store receives it: the key, the one range worth forwarding, and the client's
/// validators, so that a store like S3 can answer in a single round trip.
#[derive(Debug, Clone, Copy)]
pub struct GetRequest<'a> {
    /// Validated key, prefix included.
    pub key: &'a str,
    /// The client's single range, if it sent exactly one.
    pub range: Option<RangeSpec>,
    /// The client's conditional headers.
    pub conditions: &'a Conditions,
}

/// What a store found.
pub enum Fetched {
    /// The object exists; `body`, when present, is an already started read. The caller plans
    /// the response from `meta` and uses the body only if it covers exactly the planned span.
    Object {
        /// Metadata of the version found.
        meta: ObjectMeta,
        /// A read the store started along with the lookup.
        body: Option<Prefetched>,
    },
    /// The store itself evaluated If-None-Match/If-Modified-Since and said 304.
    NotModified {
        /// Current validator, when the store reported it.
        etag: Option<EntityTag>,
        /// Current Last-Modified, when the store reported it.
        last_modified: Option<std::time::SystemTime>,
        /// The object's own Cache-Control, when the store reported it.
        cache_control: Option<String>,
        /// The object's own Expires, when the store reported it.
        expires: Option<String>,
    },
}

/// A read a store started during [`Store::get`].
pub struct Prefetched {
    /// The bytes the stream carries.
    pub span: ByteSpan,
    /// The stream itself.
    pub chunks: ChunkStream,
}

/// Why a store could not answer. Mapped to an HTTP status in one place,
/// [`crate::response::error`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such object (or the store hides it: S3's AccessDenied without ListBucket, a symlink
    /// leaving the root). The cause is for the log only.
    #[error("not found: {0}")]
    NotFound(String),
    /// The object changed between the lookup and a read (the If-Match of a read failed).
    #[error("object changed while being read")]
    Changed,
    /// Throttled or a 5xx from the backend after its own retries.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The backend did not answer in time.
    #[error("store timed out: {0}")]
    Timeout(String),
    /// A read stopped in the middle; the body may resume it.
    #[error("read interrupted: {0}")]
    Interrupted(String),
    /// Anything else.
    #[error("store failed: {0}")]
    Failed(String),
}

impl StoreError {
    /// Whether reading again from the same offset might succeed.
    pub fn is_transient(&self) -> bool {
        !matches!(self, StoreError::NotFound(_) | StoreError::Changed)
    }
}

/// An object store. Implementations are cheap to share (`Arc<dyn Store>`).
pub trait Store: Send + Sync + 'static {
    /// Metadata only, for HEAD: must not read the object's bytes.
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta, StoreError>>;

    /// Lookup for GET, possibly with a started read of the requested range.
    fn get<'a>(&'a self, req: GetRequest<'a>) -> BoxFuture<'a, Result<Fetched, StoreError>>;

    /// Reads `span` of the version whose validator is `etag`; fails with
    /// [`StoreError::Changed`] if the object is now another version.
    fn read<'a>(
        &'a self,
        key: &'a str,
        span: ByteSpan,
        etag: &'a EntityTag,
    ) -> BoxFuture<'a, Result<ChunkStream, StoreError>>;
}
