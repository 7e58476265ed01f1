//! What a store knows about an object before sending any of its bytes.

use crate::validators::{to_http_seconds, EntityTag};
use std::time::SystemTime;

/// Metadata of one object version, as every store reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Length of the whole object in bytes.
    pub len: u64,
    /// Strong validator of this version.
    pub etag: EntityTag,
    /// Modification time, truncated to whole seconds (see [`ObjectMeta::new`]).
    pub last_modified: Option<SystemTime>,
    /// Stored or guessed media type; the response falls back to `application/octet-stream`.
    pub content_type: Option<String>,
    /// The object's own Cache-Control (S3 metadata), which overrides the configured default.
    pub cache_control: Option<String>,
    /// The other representation headers stored with it (S3 metadata).
    pub stored: StoredHeaders,
}

/// Headers S3 stores with an object and sends with its bytes, which a client needs to use
/// them: a gzip object without its Content-Encoding is garbage to a browser. Sent with the
/// stored bytes (200, 206; Expires on 304 too, RFC 9110 §15.4.5), never with a transform's
/// output, which is another representation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredHeaders {
    /// `Content-Encoding` (`gzip`, `br`).
    pub content_encoding: Option<String>,
    /// `Content-Disposition` (`attachment; filename=...`).
    pub content_disposition: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Expires`, as stored.
    pub expires: Option<String>,
}

impl ObjectMeta {
    /// The Content-Type every answer with the object's bytes carries (a 200, a 206, each part
    /// of a multipart answer): the stored type when it is visible ASCII (with spaces and
    /// tabs), else application/octet-stream. Never anything that could break a part's framing.
    pub fn sent_content_type(&self) -> &str {
        self.content_type
            .as_deref()
            .filter(|t| {
                !t.is_empty()
                    && t.bytes()
                        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
            })
            .unwrap_or("application/octet-stream")
    }

    /// Metadata with `last_modified` truncated to the seconds an HTTP-date can carry, so that
    /// date preconditions compare what the client actually saw.
    pub fn new(len: u64, etag: EntityTag, last_modified: Option<SystemTime>) -> ObjectMeta {
        ObjectMeta {
            len,
            etag,
            last_modified: last_modified.map(to_http_seconds),
            content_type: None,
            cache_control: None,
            stored: StoredHeaders::default(),
        }
    }
}
