//! Source bytes to pixels, at the smallest size the target allows.
//!
//! JPEG goes through libjpeg-turbo (mozjpeg) with DCT-domain scaling: a 1/8 decode of a
//! 100 MP photo never holds more than 1/64 of its pixels. Other formats go through `image`
//! with allocation limits. Sizes are checked from the header before any decoding.

use super::format::Format;
use super::probe;
use super::TransformError;
use image::codecs::gif::GifDecoder;
use image::codecs::png::PngDecoder;
use image::codecs::webp::WebPDecoder;
use std::io::{BufRead, Seek};
use std::os::raw::c_int;

/// Decoded pixels, rows top to bottom, in the source's stored orientation.
#[derive(Debug)]
pub struct Pixels {
    /// RGB8 (3) or RGBA8 (4) samples.
    pub data: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 3 or 4 channels.
    pub channels: u8,
    /// EXIF orientation 1-8 still to apply.
    pub orientation: u8,
}

/// Sizes a source has before decoding.
#[derive(Debug, Clone, Copy)]
pub struct Header {
    /// Stored width.
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// EXIF orientation (1-8).
    pub orientation: u8,
    /// Whole-image coefficient buffers libjpeg will hold (progressive or multi-scan), else 0.
    pub coefficient_bytes: u64,
}

/// Scans beyond this are a decoding cost attack ("scan bomb"); real progressive files have
/// about ten.
const MAX_SCANS: u32 = 256;
/// Memory a progressive JPEG may take for its coefficient buffers.
pub(crate) const MAX_COEFFICIENT_BYTES: u64 = 96 << 20;
/// Decoded size of a PNG, GIF or WebP source, which has no reduced-scale decoding: 32 MP of
/// RGBA.
const MAX_FULL_DECODE_BYTES: u64 = 128 << 20;

/// Reads the header of a JPEG source and checks it against the limits.
///
/// # Errors
/// Malformed, unsupported or too large sources.
pub fn jpeg_header(bytes: &[u8], max_pixels: u64) -> Result<Header, TransformError> {
    let info = probe::jpeg(bytes).map_err(|e| TransformError::Malformed(e.to_string()))?;
    let pixels = u64::from(info.width) * u64::from(info.height);
    if pixels > max_pixels {
        return Err(TransformError::TooManyPixels { pixels, max_pixels });
    }
    if info.progressive && info.coefficient_bytes > MAX_COEFFICIENT_BYTES {
        return Err(TransformError::TooComplex(format!(
            "progressive JPEG of {} x {} needs {} MiB to decode (limit {} MiB); save it as baseline",
            info.width,
            info.height,
            info.coefficient_bytes >> 20,
            MAX_COEFFICIENT_BYTES >> 20
        )));
    }
    if info.scans > MAX_SCANS {
        return Err(TransformError::TooComplex(format!(
            "JPEG with {} scans (limit {MAX_SCANS})",
            info.scans
        )));
    }
    if info.components == 4 {
        return Err(TransformError::Unsupported("CMYK JPEG".into()));
    }
    // One baseline scan is decoded row by row; several scans (progressive, or baseline with
    // one scan per component) need every coefficient of the image at once.
    let buffered = info.progressive || info.scans > 1;
    Ok(Header {
        width: info.width,
        height: info.height,
        orientation: info.orientation,
        coefficient_bytes: if buffered { info.coefficient_bytes } else { 0 },
    })
}

/// Decodes a JPEG at `numerator`/8 of its size (1, 2, 4 or 8).
///
/// # Errors
/// Truncated or corrupt data (libjpeg's errors, and its premature-end warning).
pub fn jpeg(bytes: &[u8], header: Header, numerator: u8) -> Result<Pixels, TransformError> {
    // libjpeg reports errors by calling back; mozjpeg turns them into unwinding panics, which
    // end here. The closure owns nothing that a half-run decode could leave inconsistent.
    let run = std::panic::catch_unwind(|| -> std::io::Result<Pixels> {
        let mut d = mozjpeg::Decompress::builder()
            .with_err(strict_errors())
            .from_mem(bytes)?;
        d.scale(numerator);
        let mut started = d.rgb()?;
        let (width, height) = (started.width(), started.height());
        let data = started.read_scanlines::<u8>()?;
        started.finish()?;
        Ok(Pixels {
            width: u32::try_from(width).unwrap_or(0),
            height: u32::try_from(height).unwrap_or(0),
            data,
            channels: 3,
            orientation: header.orientation,
        })
    });
    match run {
        Ok(Ok(p)) if p.width > 0 && p.data.len() == p.width as usize * p.height as usize * 3 => {
            Ok(p)
        }
        Ok(Ok(_)) => Err(TransformError::Malformed("JPEG decoded short".into())),
        Ok(Err(e)) => Err(TransformError::Malformed(format!("JPEG: {e}"))),
        Err(panic) => Err(TransformError::Malformed(panic_text(&*panic))),
    }
}

/// The message a panic carried (`panic!` with a format gives a String, a literal a &str).
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "no message".into())
}

/// libjpeg's standard error manager, except that errors unwind and a premature end of data,
/// which libjpeg only warns about and fills with grey, is an error: a cut-off upload must
/// not become a thumbnail that looks complete.
pub(crate) fn strict_errors() -> mozjpeg_sys::jpeg_error_mgr {
    // SAFETY: jpeg_std_error fills every field of the zeroed struct.
    let mut err: mozjpeg_sys::jpeg_error_mgr = unsafe { std::mem::zeroed() };
    unsafe { mozjpeg_sys::jpeg_std_error(&mut err) };
    err.error_exit = Some(unwind_on_error);
    err.emit_message = Some(unwind_on_truncation);
    err
}

extern "C-unwind" fn unwind_on_error(cinfo: &mut mozjpeg_sys::jpeg_common_struct) {
    let code = unsafe { cinfo.err.as_ref() }.map_or(-1, |e| e.msg_code);
    std::panic::resume_unwind(Box::new(format!("corrupt JPEG (libjpeg error {code})")));
}

extern "C-unwind" fn unwind_on_truncation(
    cinfo: &mut mozjpeg_sys::jpeg_common_struct,
    level: c_int,
) {
    let code = unsafe { cinfo.err.as_ref() }.map_or(-1, |e| e.msg_code);
    // Other warnings (extraneous bytes, bad restart markers) are common in camera files and
    // harmless; libjpeg recovers from them.
    if level < 0 && code == mozjpeg_sys::JWRN_JPEG_EOF as c_int {
        std::panic::resume_unwind(Box::new("truncated JPEG".to_owned()));
    }
}

/// Checks a PNG, GIF or WebP decoder's header size against the limits, before decoding.
fn check_full_decode(
    decoder: &impl image::ImageDecoder,
    format: Format,
    max_pixels: u64,
) -> Result<(), TransformError> {
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(TransformError::TooManyPixels { pixels, max_pixels });
    }
    if pixels * 4 > MAX_FULL_DECODE_BYTES {
        return Err(TransformError::TooComplex(format!(
            "{} source of {width} x {height} is decoded at full size; the limit is {} MP for this format",
            format.name(),
            MAX_FULL_DECODE_BYTES / 4 / 1_000_000
        )));
    }
    Ok(())
}

/// A PNG, GIF or WebP source whose header has been read: the decoder holds the parsed
/// header and the bytes, so decoding later does not read the header again. Boxed: the
/// decoders' states are several hundred bytes and differ in size.
pub enum ImageSource<R: BufRead + Seek> {
    /// PNG.
    Png(Box<PngDecoder<R>>),
    /// GIF (its first frame is decoded).
    Gif(Box<GifDecoder<R>>),
    /// WebP (lossy or lossless; the first frame of an animation).
    Webp(Box<WebPDecoder<R>>),
}

/// What an image source's header says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageHeader {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// EXIF orientation 1-8.
    pub orientation: u8,
    /// Decoded as RGBA8 (else RGB8).
    pub alpha: bool,
    /// Bytes per pixel of the decoder's own layout (16-bit RGBA: 8), before conversion.
    pub native_bytes_per_pixel: u8,
}

/// Reads the header of a PNG, GIF or WebP source and checks its size against the limits.
///
/// # Errors
/// Malformed, unsupported or too large sources.
pub fn image_source<R: BufRead + Seek>(
    reader: R,
    format: Format,
    max_pixels: u64,
) -> Result<(ImageSource<R>, ImageHeader), TransformError> {
    guarded(format, || open_source(reader, format, max_pixels))
}

/// Runs a decoder of the image crates, whose panics become `Malformed`: image-webp 0.2.4
/// indexes out of bounds on an over-subscribed lossless Huffman code, and overflows with
/// overflow checks on (image-rs/image-webp#118, open). Whatever a source holds, the request
/// gets a 422 and a log line, and no worker thread unwinds through the pipeline.
fn guarded<T>(
    format: Format,
    run: impl FnOnce() -> Result<T, TransformError>,
) -> Result<T, TransformError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)).unwrap_or_else(|panic| {
        Err(TransformError::Malformed(format!(
            "{}: the decoder failed: {}",
            format.name(),
            panic_text(&*panic)
        )))
    })
}

fn open_source<R: BufRead + Seek>(
    reader: R,
    format: Format,
    max_pixels: u64,
) -> Result<(ImageSource<R>, ImageHeader), TransformError> {
    let malformed =
        |e: image::ImageError| TransformError::Malformed(format!("{}: {e}", format.name()));
    let mut limits = image::Limits::default();
    // RGBA8 of the largest allowed image, plus the decoder's own buffers.
    limits.max_alloc = Some(max_pixels.saturating_mul(4).saturating_add(64 << 20));
    let mut source = match format {
        Format::Png => ImageSource::Png(Box::new(
            PngDecoder::with_limits(reader, limits.clone()).map_err(malformed)?,
        )),
        Format::Gif => ImageSource::Gif(Box::new(GifDecoder::new(reader).map_err(malformed)?)),
        Format::Webp => ImageSource::Webp(Box::new(WebPDecoder::new(reader).map_err(malformed)?)),
        other => return Err(TransformError::Unsupported(other.name().into())),
    };
    let header = match &mut source {
        ImageSource::Png(d) => header_of(&mut **d, limits, format, max_pixels),
        ImageSource::Gif(d) => header_of(&mut **d, limits, format, max_pixels),
        ImageSource::Webp(d) => header_of(&mut **d, limits, format, max_pixels),
    }?;
    Ok((source, header))
}

fn header_of(
    d: &mut impl image::ImageDecoder,
    limits: image::Limits,
    format: Format,
    max_pixels: u64,
) -> Result<ImageHeader, TransformError> {
    d.set_limits(limits)
        .map_err(|e| TransformError::Malformed(format!("{}: {e}", format.name())))?;
    check_full_decode(d, format, max_pixels)?;
    let (width, height) = d.dimensions();
    let color = d.color_type();
    Ok(ImageHeader {
        width,
        height,
        orientation: d.orientation().map_or(1, |o| o.to_exif()),
        alpha: color.has_alpha(),
        native_bytes_per_pixel: color.bytes_per_pixel(),
    })
}

impl<R: BufRead + Seek> ImageSource<R> {
    /// Decodes to RGBA8, or RGB8 when the source is opaque; the reader (and the bytes it
    /// owns) is dropped before the conversion copy is made.
    ///
    /// # Errors
    /// Malformed or truncated data.
    pub fn decode(self, header: &ImageHeader) -> Result<Pixels, TransformError> {
        let format = match &self {
            ImageSource::Png(_) => Format::Png,
            ImageSource::Gif(_) => Format::Gif,
            ImageSource::Webp(_) => Format::Webp,
        };
        let img = guarded(format, || {
            let img = match self {
                ImageSource::Png(d) => image::DynamicImage::from_decoder(*d),
                ImageSource::Gif(d) => image::DynamicImage::from_decoder(*d),
                ImageSource::Webp(d) => image::DynamicImage::from_decoder(*d),
            };
            img.map_err(|e| TransformError::Malformed(format!("{}: {e}", format.name())))
        })?;
        let (width, height) = (img.width(), img.height());
        let (data, channels) = match header.alpha {
            true => (img.into_rgba8().into_raw(), 4),
            false => (img.into_rgb8().into_raw(), 3),
        };
        Ok(Pixels {
            data,
            width,
            height,
            channels,
            orientation: header.orientation,
        })
    }
}
