//! On-the-fly resize and format conversion (`?w=400&format=webp`).
//!
//! [`prepare`] reads the header: limits, plan, output format and the estimated peak memory
//! ([`budget`]), without decoding. [`Prepared::render`] is the rest, synchronous and
//! CPU-bound (the service runs both on the blocking pool, under a concurrency limit and,
//! between them, admission into the memory budget ([`admit`])): decode at the smallest scale
//! the target allows, resize, turn upright, pad, encode. [`render`] does both at once.

pub mod admit;
pub mod budget;
pub mod decode;
pub mod encode;
pub mod extract;
pub mod format;
pub mod geometry;
pub mod host_memory;
pub mod limits;
pub mod ops;
pub mod orient;
pub mod params;
pub mod pipeline;
pub mod probe;
pub mod region;
pub mod simd;

pub use admit::{Admitted, MemoryBudget};
use format::Format;
use http::HeaderMap;
pub use limits::{Limits, AVIF_MAX_DIMENSION};
pub use params::{ParamError, Params};
pub use pipeline::{prepare, Prepared};

/// Why a transform did not produce an image.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    /// A bad query: 400.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// The source is not an image we read: 415.
    #[error("source is not a supported image ({0})")]
    Unsupported(String),
    /// Corrupt or truncated source: 422.
    #[error("source image is malformed: {0}")]
    Malformed(String),
    /// Source over `--max-pixels`: 422.
    #[error("source image has {pixels} pixels; the limit is {max_pixels}")]
    TooManyPixels {
        /// Width x height of the source.
        pixels: u64,
        /// The limit.
        max_pixels: u64,
    },
    /// Source over `--max-source-bytes`: 422.
    #[error("source image is {size} bytes; the limit is {max}")]
    TooLarge {
        /// Source size.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Decoding would cost more than allowed (progressive coefficient memory, scan bombs): 422.
    #[error("source image too costly to decode: {0}")]
    TooComplex(String),
    /// All transform slots, or the memory budget, stayed busy for the queue timeout: 503.
    #[error("all transform slots busy")]
    Busy,
    /// The encoder failed: 500.
    #[error("encoding failed: {0}")]
    Encode(String),
}

/// An encoded output image.
#[derive(Debug)]
pub struct Rendered {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    /// Their format.
    pub format: Format,
    /// Output width.
    pub width: u32,
    /// Output height.
    pub height: u32,
}

/// Transforms `source` per `params`, choosing the output format from `headers` for
/// `format=auto`: [`prepare`] then [`Prepared::render`], without admission (benches, tools).
///
/// # Errors
/// See [`TransformError`]; nothing panics on any input.
pub fn render(
    source: &[u8],
    params: &Params,
    headers: &HeaderMap,
    limits: &Limits,
) -> Result<Rendered, TransformError> {
    prepare(source, params, headers, limits)?.render()
}
