//! Settings of the request pipeline, independent of transport and store.

use crate::access::Access;
use crate::body::ResumePolicy;
use crate::cors::Cors;
use crate::transform::Limits;
use http::HeaderValue;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// What the pipeline needs besides a store.
#[derive(Debug, Clone)]
pub struct Config {
    /// Prepended verbatim to every key (`images/` serves `/a.jpg` from `images/a.jpg`).
    pub prefix: String,
    /// Cache-Control for objects without their own.
    pub cache_control: HeaderValue,
    /// Cache-Control for 404s: short, so a newly uploaded object appears soon.
    pub not_found_cache_control: HeaderValue,
    /// Cross-origin access.
    pub cors: Cors,
    /// Recovery from mid-stream store failures.
    pub resume: ResumePolicy,
    /// Deadline of each store call (lookup, HEAD, opening a read), retries included.
    pub store_timeout: Duration,
    /// Origin lock, allowed keys, signed URLs.
    pub access: Access,
    /// The time of a request: link expiry and date preconditions. A setting so that tests can
    /// stand exactly on an expiry edge.
    pub clock: fn() -> SystemTime,
    /// Transform limits and switches.
    pub transforms: Limits,
    /// Transforms running at once, shared by every worker (`transforms.concurrency` permits).
    pub transform_slots: Arc<tokio::sync::Semaphore>,
    /// Most range-specs in one `Range` header; past it the header is ignored (200).
    pub max_ranges: usize,
    /// Where access-log lines and metrics of each request go.
    pub observer: crate::observe::Observer,
    /// The IIIF Image API service, unless off.
    pub iiif: Option<crate::iiif::Settings>,
    /// What the IIIF service learnt of images, shared by every worker (clones share it).
    pub iiif_cache: crate::service::IiifCache,
    /// Layouts of tiled TIFF sources, shared by every worker.
    pub iiif_layouts: Arc<crate::iiif::tiff::LayoutCache>,
}

/// What the TIFF layouts kept between requests may hold: a 1 GB pyramid in 256-pixel tiles
/// takes about 100 KB (its tile offsets and byte counts), so some 150 such images.
pub const LAYOUT_CACHE_BYTES: u64 = 16 << 20;

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: String::new(),
            cache_control: HeaderValue::from_static("public, max-age=31536000"),
            not_found_cache_control: HeaderValue::from_static("public, max-age=60"),
            cors: Cors::Off,
            resume: ResumePolicy::default(),
            store_timeout: Duration::from_secs(20),
            access: Access::default(),
            clock: SystemTime::now,
            transform_slots: Arc::new(tokio::sync::Semaphore::new(Limits::default().concurrency)),
            transforms: Limits::default(),
            max_ranges: crate::plan::multipart::DEFAULT_MAX_RANGES,
            observer: crate::observe::Observer::default(),
            iiif: Some(crate::iiif::Settings::default()),
            iiif_cache: crate::service::IiifCache::default(),
            iiif_layouts: Arc::new(crate::iiif::tiff::LayoutCache::new(LAYOUT_CACHE_BYTES)),
        }
    }
}
