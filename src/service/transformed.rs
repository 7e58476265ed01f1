//! The pipeline for a request with transform parameters: validators first (a 304 never
//! decodes), then a slot, the source read whole, its header read and the peak memory
//! estimated, admission into the memory budget, and the transform on the blocking pool.

use super::Origin;
use crate::body::ObjectBody;
use crate::meta::ObjectMeta;
use crate::plan::{decide, Ask, Decision};
use crate::range::{ByteSpan, RangeRequest};
use crate::response::{self, RequestError};
use crate::store::StoreError;
use crate::transform::format::{auto_preference, FormatChoice};
use crate::transform::{prepare, Limits, Params, TransformError};
use crate::validators::{Conditions, EntityTag};
use bytes::Bytes;
use http::header::{ACCEPT_RANGES, VARY};
use http::{HeaderMap, HeaderValue, Response};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use std::time::SystemTime;

/// Bump when the output of the same request may change (encoder settings, resampling), so
/// that caches holding old outputs see a new ETag.
pub(super) const RENDER_VERSION: &str = "imgorigin-render-1";

/// One transform request, as the pipeline parsed it.
pub(super) struct Transform<'a> {
    pub(super) rid: u64,
    pub(super) key: &'a str,
    pub(super) head: bool,
    pub(super) headers: &'a HeaderMap,
    pub(super) conditions: &'a Conditions,
    pub(super) params: Params,
    pub(super) now: SystemTime,
    pub(super) max_body: Option<u64>,
}

impl Origin {
    pub(super) async fn transformed(
        &self,
        t: Transform<'_>,
    ) -> Result<Response<ObjectBody>, RequestError> {
        let limits = &self.config.transforms;
        crate::observe::note_transform(t.params.canonical(match t.params.format {
            FormatChoice::Fixed(f) => Some(f),
            FormatChoice::Auto => auto_preference(t.headers, &limits.formats),
        }));
        let source = self.store.head(t.key).await?;
        let auto = t.params.format == FormatChoice::Auto;
        let etag = output_etag(&source.etag, &t.params, t.headers, limits);
        let ask = Ask {
            head: t.head,
            conditions: t.conditions,
            range: RangeRequest::None, // outputs are always sent whole
            now: t.now,
            max_body: None,
            max_ranges: 0,
        };
        let mut meta = ObjectMeta {
            len: 0,
            etag,
            last_modified: source.last_modified,
            content_type: None,
            cache_control: source.cache_control.clone(),
            // The output is another representation: none of the source's encoding,
            // disposition or language applies to it.
            stored: Default::default(),
        };
        match decide(&ask, &meta) {
            Decision::PreconditionFailed => return Ok(response::precondition_failed()),
            Decision::NotModified => {
                let mut r = response::not_modified(
                    Some(&meta.etag),
                    meta.last_modified,
                    meta.cache_control.as_deref(),
                    None,
                    &self.config,
                );
                if auto {
                    r.headers_mut()
                        .insert(VARY, HeaderValue::from_static("Accept"));
                }
                return Ok(r);
            }
            _ => {}
        }
        if source.len > limits.max_source_bytes {
            Err(TransformError::TooLarge {
                size: source.len,
                max: limits.max_source_bytes,
            })?;
        }
        // The source's bytes count against the budget from before they are read: two
        // 100 MB sources must not be read at once on a 256 MB host before any estimate.
        let queue = self.enter_queue(source.len).await?;
        let bytes = self.read_whole(t.rid, t.key, &source).await?;
        let headers = t.headers.clone();
        let rendered = render_admitted(bytes, t.params, headers, limits, queue).await?;
        meta.len = rendered.bytes.len() as u64;
        meta.content_type = Some(rendered.format.mime().to_owned());
        if t.max_body.is_some_and(|max| meta.len > max) {
            return Err(RequestError::TooLarge(meta.len));
        }
        let body = match t.head {
            true => ObjectBody::empty(),
            false => ObjectBody::bytes(rendered.bytes),
        };
        let mut r = response::object(&meta, None, &self.config, body);
        r.headers_mut()
            .insert(ACCEPT_RANGES, HeaderValue::from_static("none"));
        if auto {
            r.headers_mut()
                .insert(VARY, HeaderValue::from_static("Accept"));
        }
        Ok(r)
    }

    /// Waits for a transform slot, then for `bytes` of the memory budget, under one
    /// deadline (`queue_timeout`): [`TransformError::Busy`] when it passes. `bytes` over the
    /// whole budget can never be admitted: refused at once ([`TransformError::TooComplex`]),
    /// before any wait or read.
    pub(super) async fn enter_queue(&self, bytes: u64) -> Result<Queue, TransformError> {
        let limits = &self.config.transforms;
        limits.memory.check_fits(bytes)?;
        let queued = tokio::time::Instant::now();
        let deadline = queued + limits.queue_timeout;
        // The slot bounds CPU.
        let slot = tokio::time::timeout_at(
            deadline,
            self.config.transform_slots.clone().acquire_owned(),
        )
        .await
        .map_err(|_| TransformError::Busy)?
        .map_err(|_| TransformError::Busy)?;
        let admitted = limits.memory.admit(bytes, deadline).await?;
        crate::observe::note_queue(queued.elapsed());
        Ok(Queue {
            deadline,
            slot,
            admitted,
        })
    }

    /// The whole source, exactly `meta.len` bytes of the version we validated. Read as a
    /// response body is, so with the same resume on store failures and the same idle and
    /// stall deadlines (crate::body), and all of it within the store deadline: a stalled
    /// source cannot hold a transform slot.
    pub(super) async fn read_whole(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
    ) -> Result<Vec<u8>, RequestError> {
        if meta.len == 0 {
            Err(TransformError::Unsupported("empty object".into()))?;
        }
        let span = ByteSpan::whole(meta.len).ok_or(StoreError::Changed)?;
        self.read_span(rid, key, meta, span).await
    }

    /// Exactly `span` of the version `meta` describes, read as [`Origin::read_whole`] reads.
    pub(super) async fn read_span(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
        span: ByteSpan,
    ) -> Result<Vec<u8>, RequestError> {
        let mut body = self.body(rid, key, meta, span, None).await?;
        let mut out = Vec::with_capacity(usize::try_from(span.len()).unwrap_or(0));
        let read = async {
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.map_err(|e| e.0)?.into_data() {
                    out.extend_from_slice(&data);
                }
            }
            Ok::<(), StoreError>(())
        };
        // The whole read has the store deadline too: a source that trickles a few bytes
        // before each stall makes progress for the body's own limits, yet holds a slot.
        let limit = self.config.store_timeout;
        tokio::time::timeout(limit, read).await.map_err(|_| {
            StoreError::Timeout(format!("transform source not read within {limit:?}"))
        })??;
        // ObjectBody never ends short of its span without an error.
        debug_assert_eq!(out.len() as u64, span.len());
        Ok(out)
    }
}

/// An output and the budget its bytes hold until the body is dropped.
struct Output {
    bytes: Bytes,
    format: crate::transform::format::Format,
}

/// What a transform holds while it waits and runs: its slot and its share of the memory
/// budget (the source's bytes so far), and the deadline for what it still waits for.
pub(super) struct Queue {
    pub(super) deadline: tokio::time::Instant,
    pub(super) slot: tokio::sync::OwnedSemaphorePermit,
    pub(super) admitted: crate::transform::Admitted,
}

/// Reads the header and estimates the peak (blocking pool: a large JPEG's scan count reads
/// the whole file), grows the share of the memory budget to the estimate (until the
/// deadline), then renders on the blocking pool holding it and the slot, which stay held
/// until the render ends even if the client leaves. The header is parsed once.
async fn render_admitted(
    bytes: Vec<u8>,
    params: Params,
    headers: HeaderMap,
    limits: &Limits,
    queue: Queue,
) -> Result<Output, TransformError> {
    let Queue {
        deadline,
        slot,
        mut admitted,
    } = queue;
    let failed = |e: tokio::task::JoinError| TransformError::Encode(format!("transform task: {e}"));
    let l = limits.clone();
    let prepared = tokio::task::spawn_blocking(move || prepare(bytes, &params, &headers, &l))
        .await
        .map_err(failed)??;
    let estimate = prepared.estimate();
    tracing::debug!(
        estimate_kib = estimate >> 10,
        available_kib = limits.memory.available_bytes() >> 10,
        "transform admission"
    );
    admitted.grow_to(&limits.memory, estimate, deadline).await?;
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let rendered = prepared.render()?;
        // The rest of the estimate is released when `admitted` drops, here on this thread.
        Ok(Output {
            bytes: admitted.charge(rendered.bytes),
            format: rendered.format,
        })
    })
    .await
    .map_err(failed)?
}

/// A strong ETag for the output: the source version, the canonical parameters and, for
/// `format=auto`, the format class the client's Accept selects.
fn output_etag(
    source: &EntityTag,
    params: &Params,
    headers: &HeaderMap,
    limits: &crate::transform::Limits,
) -> EntityTag {
    let format = match params.format {
        FormatChoice::Fixed(f) => Some(f),
        FormatChoice::Auto => auto_preference(headers, &limits.formats),
    };
    let mut h = Sha256::new();
    for part in [
        RENDER_VERSION,
        &source.to_header_string(),
        &params.canonical(format),
    ] {
        h.update(part.as_bytes());
        h.update([0]);
    }
    let digest = hex::encode(&h.finalize()[..16]);
    EntityTag::strong(format!("\"{digest}\""))
}
