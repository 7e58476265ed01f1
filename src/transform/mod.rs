//! On-the-fly resize and format conversion (`?w=400&format=webp`).
//!
//! [`render`] is the whole transform, synchronous and CPU-bound (the service runs it on the
//! blocking pool under a concurrency limit): check the header against the limits, decode at
//! the smallest scale the target allows, resize, turn upright, pad, encode.

pub mod decode;
pub mod encode;
pub mod format;
pub mod geometry;
pub mod limits;
pub mod orient;
pub mod params;
pub mod probe;

use format::{Format, FormatChoice};
use geometry::Geometry;
use http::HeaderMap;
pub use limits::{Limits, AVIF_MAX_DIMENSION};
pub use params::{ParamError, Params};

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
    /// All transform slots stayed busy for the queue timeout: 503.
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
/// `format=auto`.
///
/// # Errors
/// See [`TransformError`]; nothing panics on any input.
pub fn render(
    source: &[u8],
    params: &Params,
    headers: &HeaderMap,
    limits: &Limits,
) -> Result<Rendered, TransformError> {
    let kind = Format::sniff(source)
        .ok_or_else(|| TransformError::Unsupported("unrecognised format".into()))?;
    let max_side = match params.format {
        FormatChoice::Fixed(Format::Avif) => limits.max_dimension.min(AVIF_MAX_DIMENSION),
        _ => limits.max_dimension,
    };
    let (mut px, g) = decode_and_resize(source, kind, params, limits.max_pixels, max_side)?;
    orient::apply(&mut px);
    // `auto` does not shrink an image to make it AVIF: a larger one gets the next choice.
    let (w, h) = g.canvas.unwrap_or((px.width, px.height));
    let fits_avif = w.max(h) <= AVIF_MAX_DIMENSION;
    let offered: Vec<Format> = (limits.formats.iter().copied())
        .filter(|&f| f != Format::Avif || fits_avif)
        .collect();
    let output = format::negotiate(params.format, headers, kind, px.channels == 4, &offered);
    if let Some(canvas) = g.canvas {
        orient::pad(&mut px, canvas, output != Format::Jpeg);
    }
    let bytes = encode::encode(
        &px.data,
        px.width,
        px.height,
        px.channels,
        output,
        params.quality_for(output),
    )?;
    Ok(Rendered {
        bytes,
        format: output,
        width: px.width,
        height: px.height,
    })
}

/// Decodes at the smallest scale the plan allows (JPEG) or whole (others), then resizes;
/// no output side exceeds `max_side`.
fn decode_and_resize(
    source: &[u8],
    kind: Format,
    params: &Params,
    max_pixels: u64,
    max_side: u32,
) -> Result<(decode::Pixels, Geometry), TransformError> {
    let (mut px, g) = match kind {
        Format::Jpeg => {
            let header = decode::jpeg_header(source, max_pixels)?;
            let (w, h, o) = (header.width, header.height, header.orientation);
            let g = geometry::plan(w, h, o, params, max_side);
            (decode::jpeg(source, header, g.numerator)?, g)
        }
        _ => {
            let px = decode::other(source, kind, max_pixels)?;
            let g = geometry::plan(px.width, px.height, px.orientation, params, max_side);
            (px, g)
        }
    };
    resize(&mut px, &g)?;
    Ok((px, g))
}

/// Resizes in place to `g.resize` (Lanczos3, as sharp), cropping first for `fit=cover`.
fn resize(px: &mut decode::Pixels, g: &Geometry) -> Result<(), TransformError> {
    use fast_image_resize::{
        images::Image, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    };
    let (w, h) = g.resize;
    if (w, h) == (px.width, px.height) {
        return Ok(());
    }
    let kind = match px.channels {
        4 => PixelType::U8x4,
        _ => PixelType::U8x3,
    };
    let failed = |e: &dyn std::fmt::Display| TransformError::Encode(format!("resize: {e}"));
    let data = std::mem::take(&mut px.data);
    let src = Image::from_vec_u8(px.width, px.height, data, kind).map_err(|e| failed(&e))?;
    let mut dst = Image::new(w, h, kind);
    let mut options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    if g.crop {
        options = options.fit_into_destination(Some((0.5, 0.5)));
    }
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| failed(&e))?;
    px.data = dst.into_vec();
    px.width = w;
    px.height = h;
    Ok(())
}
