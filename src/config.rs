//! Settings of the request pipeline, independent of transport and store.

use crate::body::ResumePolicy;
use crate::cors::Cors;
use http::HeaderValue;

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
}

impl Default for Config {
    fn default() -> Self {
        Config {
            prefix: String::new(),
            cache_control: HeaderValue::from_static("public, max-age=31536000"),
            not_found_cache_control: HeaderValue::from_static("public, max-age=60"),
            cors: Cors::Off,
            resume: ResumePolicy::default(),
        }
    }
}
