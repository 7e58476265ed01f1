//! A transform's peak memory, estimated before any pixel is decoded from what the header
//! says and what the plan will do. Admission ([`super::admit`]) holds that many bytes of the
//! process-wide budget while the transform runs.
//!
//! The peak is the largest of the pipeline's phases, each the sum of the buffers alive then
//! (`pipeline.rs`, `decode.rs`, `encode.rs`):
//! - decode: the source; the decoder's output (JPEG: RGB8 at the DCT scale, plus every
//!   coefficient of the image when progressive or multi-scan; PNG, GIF, WebP: the native
//!   layout, 8 bytes a pixel for 16-bit RGBA, then its RGB8/RGBA8 copy) and its own buffers.
//!   The source is dropped once decoded, so no later phase counts it;
//! - resize (fast_image_resize): the decoded image, its alpha-premultiplied copy (RGBA), the
//!   intermediate of the vertical pass (source width x output height) and the output;
//! - orientation: a second copy of the resized image; `fit=contain`: the canvas;
//! - encode: the pixels and the encoder's memory, measured per format: per pixel, plus per
//!   byte of output for the encoders that keep the whole coded image (libwebp's token buffer:
//!   25 bytes per output byte; rav1e: 60). The output size is not known before encoding:
//!   [`output_bound`] takes the source's own density (bytes per source pixel) times a factor
//!   per quality, capped by what noise costs (the densest input measured).
//!
//! # Calibration
//! 2026-12-02, 2-core x86_64: peak RSS (VmHWM) of a fresh `imgorigin serve` after one
//! small transform, then after the request; the difference is the request's peak. The sources are
//! `tests/common/images.rs`'s grainy photos (24 MP: 3.9 MB; 100 MP), scene, noise and
//! gradient images; the unit tests (`budget_tests.rs`) hold each row's shape and measure.
//! `tests/transform_memory.rs` measures six of them again through the real binary on every
//! run and fails when a peak exceeds its estimate or an estimate is over twice the peak
//! plus 6 MiB.
//!
//! | request | measured MiB | estimated MiB |
//! |---|--:|--:|
//! | 24 MP JPEG, w=400 WebP | 4.9 | 9.8 |
//! | 24 MP JPEG, w=1280 JPEG | 11.4 | 15.2 |
//! | 24 MP JPEG, w=2048 WebP | 36.8 | 40.9 |
//! | 24 MP JPEG, w=4096 WebP | 147.9 | 151.5 |
//! | 24 MP JPEG, w=4096 JPEG | 147.9 | 151.5 |
//! | 24 MP JPEG, w=4096 PNG | 147.8 | 151.5 |
//! | 24 MP JPEG, 1000 x 1000 contain WebP | 13.8 | 25.4 |
//! | 24 MP progressive JPEG, w=400 WebP | 73.0 | 78.0 |
//! | 100 MP JPEG, w=400 WebP | 20.2 | 25.0 |
//! | 100 MP JPEG, no size (4096) WebP | 151.9 | 155.3 |
//! | 24 MP JPEG, w=2048 AVIF | 70.0 | 106.9 |
//! | 24 MP JPEG, w=1500 AVIF q100 | 71.0 | 86.5 |
//! | 16-bit RGBA PNG 4090^2, w=400 WebP | 192.0 | 197.1 |
//! | 16-bit RGBA PNG 4090^2, w=4000 WebP | 252.1 | 352.5 |
//! | RGBA PNG 12 MP, w=2000 WebP | 126.7 | 129.9 |
//! | RGBA PNG 12 MP, w=2000 JPEG | 126.7 | 129.9 |
//! | RGBA PNG 12 MP, WebP | 231.2 | 309.1 |
//! | RGB PNG 12 MP, PNG | 40.0 | 48.7 |
//! | noise PNG 9 MP, PNG | 87.4 | 92.8 |
//! | noise PNG 9 MP, JPEG q100 | 90.4 | 101.2 |
//! | noise PNG 9 MP, JPEG | 83.8 | 93.0 |
//! | noise PNG 9 MP, WebP | 174.6 | 207.0 |
//! | lossless WebP 6 MP, w=1000 WebP | 41.6 | 46.3 |
//! | lossless RGBA WebP 6 MP, WebP | 125.3 | 212.7 |
//! | GIF 3 MP, w=1000 JPEG | 32.2 | 35.5 |
//!
//! The encoders alone (in-process, VmHWM over the pixels already held), bytes per output
//! pixel: WebP 1.6 + 25 per output byte (noise at q100: 28; a photo at q80: 3.2), with alpha
//! 16 more (its lossless alpha plane); JPEG 6.2 + 1.2 per output byte (3 more from RGBA);
//! PNG 2.4 per output byte; AVIF 24 + 60 per output byte (noise at q100: 241 bytes a pixel,
//! which the budget refuses).
//!
//! Not covered: content whose output is denser than its source by more than the factors of
//! [`density_factor`] (a soft source made into a very detailed output); the slack of the
//! budget (half the memory limit by default) is what covers it.

use super::format::Format;

const MIB: u64 = 1 << 20;

/// How the source becomes pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    /// libjpeg (mozjpeg) at a DCT scale, to RGB8.
    Jpeg {
        /// Whole-image coefficient buffers (progressive or multi-scan; 0 for one baseline
        /// scan): libjpeg holds them whatever the output scale.
        coefficient_bytes: u64,
    },
    /// The `image` crate: a full-size decode into the source's native layout, then a
    /// conversion to RGB8/RGBA8 unless it already is one.
    Image {
        /// PNG, GIF or WebP.
        format: Format,
        /// Bytes per pixel of the native layout (16-bit RGBA PNG: 8).
        native_bytes_per_pixel: u8,
    },
}

/// What a transform will do, from the header and the plan ([`super::geometry::plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The encoded source, in memory until decoded.
    pub source_bytes: u64,
    /// The source's pixels at full size (for its density, bytes per pixel).
    pub source_pixels: u64,
    /// How it is decoded.
    pub decoder: Decoder,
    /// Pixels out of the decoder (after DCT scaling), stored frame.
    pub decoded: (u32, u32),
    /// Channels after decoding: 3 (RGB8) or 4 (RGBA8).
    pub channels: u8,
    /// Resize target, stored frame (equal to `decoded` when there is no resize).
    pub resized: (u32, u32),
    /// Turned or flipped by EXIF orientation (a copy of the resized image).
    pub reoriented: bool,
    /// `fit=contain` canvas.
    pub canvas: Option<(u32, u32)>,
    /// The output format.
    pub output: Format,
    /// Its quality (JPEG, WebP, AVIF).
    pub quality: u8,
}

/// Per transform, whatever its size: thread stack, codec contexts, lookup tables, resize
/// coefficients (a 24 MP JPEG to 400 px WebP measured 5.9 MiB, 4.8 of them source and pixels),
/// and 2 MiB for what a peak measured through the server moves between runs (allocator
/// rounding, the runtime's own buffers): with 2 MiB in all, the 4096 px WebP of a 24 MP
/// photo came within 1.5 MiB of its estimate.
const FIXED: u64 = 4 * MIB;

fn px((w, h): (u32, u32)) -> u64 {
    u64::from(w) * u64::from(h)
}

/// The estimated peak bytes of a transform of this shape: an upper bound with some slack
/// for the content measured (module documentation).
pub fn estimate(s: &Shape) -> u64 {
    let c = u64::from(s.channels);
    let resized = px(s.resized) * c;
    let decode = s.source_bytes + decoder_peak(s);
    let resize = match s.resized != s.decoded {
        true => px(s.decoded) * c + resize_work(s) + resized,
        false => 0,
    };
    let orient = if s.reoriented { 2 * resized } else { 0 };
    let (pixels, channels) = match s.canvas {
        Some(canvas) => (px(canvas), if s.output == Format::Jpeg { 3 } else { 4 }),
        None => (px(s.resized), c),
    };
    let pad = match s.canvas {
        Some(_) => resized + pixels * channels,
        None => 0,
    };
    let alpha = match (channels, s.channels) {
        (4, 4) => Alpha::Image,
        (4, _) => Alpha::Padding,
        _ => Alpha::None,
    };
    let out = output_bound(s, pixels, channels);
    let encode = pixels * channels + encoder_work(s.output, pixels, alpha, out, density(s));
    FIXED + decode.max(resize).max(orient).max(pad).max(encode)
}

/// The decoder's output and working memory, at its peak.
fn decoder_peak(s: &Shape) -> u64 {
    let pixels = px(s.decoded);
    let out = pixels * u64::from(s.channels);
    match s.decoder {
        // Row buffers, upsampling and colour tables: under a MiB for any width allowed.
        Decoder::Jpeg { coefficient_bytes } => out + coefficient_bytes + MIB,
        Decoder::Image {
            format,
            native_bytes_per_pixel,
        } => {
            let native = pixels * u64::from(native_bytes_per_pixel);
            // Already RGB8/RGBA8: `into_rgb8` hands the buffer over without a copy.
            let converted = match native_bytes_per_pixel == s.channels {
                true => 0,
                false => out,
            };
            let work = match format {
                // Two rows and the inflate window.
                Format::Png => MIB,
                // GIF: a frame smaller than the screen is decoded into a buffer of its own;
                // WebP: the lossless decoder's ARGB words (lossy: YUV, 1.5 a pixel).
                _ => pixels * 4 + MIB,
            };
            native + converted + work
        }
    }
}

/// fast_image_resize's buffers besides source and destination: the premultiplied copy of an
/// RGBA source, and the vertical pass's intermediate (source width x output height).
fn resize_work(s: &Shape) -> u64 {
    let c = u64::from(s.channels);
    let premultiplied = if s.channels == 4 {
        px(s.decoded) * c
    } else {
        0
    };
    premultiplied + u64::from(s.decoded.0) * u64::from(s.resized.1) * c
}

/// What the encoder's alpha channel holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Alpha {
    /// No alpha channel.
    None,
    /// Only `fit=contain` padding around an opaque image: two levels, two rectangles.
    Padding,
    /// The source's own alpha.
    Image,
}

/// The encoder's working memory, output included, for `pixels` whose output is at most
/// `out` bytes, from a source of `density` bytes per pixel.
fn encoder_work(format: Format, pixels: u64, alpha: Alpha, out: u64, density: f64) -> u64 {
    match format {
        // YUV 4:2:0 picture, token buffer (25 bytes per output byte), memory writer and our
        // copy. The alpha plane goes through the lossless encoder first: 26 bytes a pixel
        // up to 2 MP, 15 beyond, and up to 8 more for noisy alpha (noise: 34 in all).
        Format::Webp => {
            let a = match alpha {
                Alpha::Image => {
                    let big = pixels.saturating_sub(2_000_000);
                    26 * (pixels - big) + 15 * big + scaled(pixels, 8.0 * density.min(1.0))
                }
                // Measured under 8 a pixel (1000 x 1000 canvas).
                Alpha::Padding => pixels * 8,
                Alpha::None => 0,
            };
            pixels * 8 / 5 + a + 25 * out + MIB
        }
        // Whole-image coefficients for Huffman optimisation and the output Vec: 6.2 a pixel
        // measured (6.4 here); RGBA is flattened to an RGB copy first.
        Format::Jpeg => {
            let flatten = if alpha == Alpha::Image { pixels * 3 } else { 0 };
            pixels * 32 / 5 + flatten + out * 6 / 5 + MIB
        }
        // The png crate's whole zlib stream (with a stored fallback), then our file.
        Format::Png => out * 12 / 5 + MIB,
        // rav1e at speed 8, one tile: frames, references and analysis planes (24-26 a
        // pixel), and what grows with the coded size (30 per output byte, 60 near lossless);
        // the alpha plane is a second, monochrome encode.
        Format::Avif => {
            let per_out = if out > pixels * 2 { 60 } else { 30 };
            let a = if alpha == Alpha::None { 0 } else { pixels * 12 };
            pixels * 26 + a + per_out * out + 4 * MIB
        }
        Format::Gif => 0,
    }
}

/// Lossy outputs: bytes per output pixel that noise costs at `quality` (the cap: the
/// densest input measured), by format.
fn noise_density(format: Format, quality: u8) -> f64 {
    let (webp, jpeg, avif) = match quality {
        0..=50 => (0.6, 0.6, 1.0),
        51..=80 => (0.75, 0.7, 1.3),
        81..=90 => (0.9, 0.9, 2.0),
        91..=95 => (1.0, 1.1, 3.0),
        _ => (1.2, 1.5, 4.0),
    };
    match format {
        Format::Webp => webp,
        Format::Jpeg => jpeg,
        _ => avif,
    }
}

/// How much denser than a lossy source (bytes per pixel) a lossy output at `quality` came
/// out, at most, with margin: a q85 photo at q100 doubles, a q60 one as JPEG q100 nearly
/// quadruples.
fn density_factor(quality: u8) -> f64 {
    match quality {
        0..=80 => 1.5,
        81..=90 => 2.0,
        91..=95 => 3.0,
        _ => 5.0,
    }
}

/// Bytes per pixel of the source as stored: the measure of its content's detail.
fn density(s: &Shape) -> f64 {
    s.source_bytes as f64 / s.source_pixels.max(1) as f64
}

/// An upper bound on the encoded size of `pixels` of `channels` of this shape's output.
pub fn output_bound(s: &Shape, pixels: u64, channels: u64) -> u64 {
    let raw = pixels * channels;
    // Deflate's stored blocks: raw plus a filter byte a row and five bytes per 64 KiB.
    let stored = raw + raw / 1024 + 64 * 1024;
    // WebP sources may be lossy: they count as such (the larger factor).
    let lossless_source = matches!(
        s.decoder,
        Decoder::Image {
            format: Format::Png | Format::Gif,
            ..
        }
    );
    match s.output {
        // PNG from PNG compresses about as well as its source; from anything lossy the
        // grain and artefacts cost up to raw size.
        Format::Png => match s.decoder {
            Decoder::Image {
                format: Format::Png,
                ..
            } => stored.min(scaled(pixels, density(s) * 1.5) + 64 * 1024),
            _ => stored,
        },
        Format::Gif => 0,
        lossy => {
            // A lossless source (PNG, GIF) spends several times the bytes a lossy output
            // does on the same pixels: noise as PNG is 3 bytes a pixel, as WebP q80 0.7.
            let factor = match lossless_source {
                true => density_factor(s.quality) / 4.0,
                false => density_factor(s.quality),
            };
            let per_pixel = (density(s) * factor).min(noise_density(lossy, s.quality));
            scaled(pixels, per_pixel) + 64 * 1024
        }
    }
}

fn scaled(pixels: u64, per_pixel: f64) -> u64 {
    // Sizes here stay far below 2^52, where f64 stops being exact.
    (pixels as f64 * per_pixel).ceil() as u64
}

#[cfg(test)]
#[path = "budget_tests.rs"]
mod tests;
