//! A region of an image at a given size, turned and toned (the IIIF image request,
//! `crate::iiif`): the transform for requests that name their pixels exactly, where
//! [`super::pipeline`] serves `?w=&h=&fit=`.
//!
//! Like the pipeline it is two steps: [`facts`] reads the header (from the first bytes of
//! the source only, so that info.json needs no whole read), [`Extraction::estimate`] says
//! what the render will hold, [`Extraction::render`] decodes at the smallest DCT scale that
//! still gives the output size (JPEG), crops the region, turns it upright, resizes, mirrors,
//! rotates, tones and encodes.

use super::budget::{self, Decoder, Shape};
use super::decode::{self, Pixels};
use super::format::Format;
use super::{ops, orient, Rendered, TransformError};
use crate::iiif::Rect;
use std::io::Cursor;

/// What the header of a source says, enough to resolve a request and estimate its cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// Its encoding.
    pub kind: Format,
    /// Stored width (before EXIF orientation).
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// EXIF orientation 1-8.
    pub orientation: u8,
    /// One colour channel (a grayscale JPEG).
    pub gray: bool,
    /// Decoded with alpha (RGBA8).
    pub alpha: bool,
    /// How it decodes, for the memory estimate.
    pub decoder: Decoder,
}

impl Facts {
    /// Width and height as the client sees them (after EXIF orientation).
    pub fn shown(&self) -> (u32, u32) {
        match self.orientation >= 5 {
            true => (self.height, self.width),
            false => (self.width, self.height),
        }
    }
}

/// The header of `head`, the first bytes of a source (the whole source when short), checked
/// against `max_pixels`. JPEG needs its markers up to the first scan; PNG, GIF and WebP
/// their header chunks.
///
/// # Errors
/// [`TransformError::Unsupported`] for anything but JPEG, PNG, GIF and WebP;
/// [`TransformError::Malformed`] when the header does not read from `head` (the caller may
/// retry with more bytes); the limits' errors.
pub fn facts(head: &[u8], max_pixels: u64) -> Result<Facts, TransformError> {
    let kind = Format::sniff(head)
        .ok_or_else(|| TransformError::Unsupported("unrecognised format".into()))?;
    if kind == Format::Jpeg {
        let info =
            super::probe::jpeg(head).map_err(|e| TransformError::Malformed(e.to_string()))?;
        let pixels = u64::from(info.width) * u64::from(info.height);
        if pixels > max_pixels {
            return Err(TransformError::TooManyPixels { pixels, max_pixels });
        }
        if info.components == 4 {
            return Err(TransformError::Unsupported("CMYK JPEG".into()));
        }
        return Ok(Facts {
            kind,
            width: info.width,
            height: info.height,
            orientation: info.orientation,
            gray: info.components == 1,
            alpha: false,
            decoder: Decoder::Jpeg {
                coefficient_bytes: if info.progressive {
                    info.coefficient_bytes
                } else {
                    0
                },
            },
        });
    }
    let (_, header) = decode::image_source(Cursor::new(head), kind, max_pixels)?;
    Ok(Facts {
        kind,
        width: header.width,
        height: header.height,
        orientation: header.orientation,
        gray: false,
        alpha: header.alpha,
        decoder: Decoder::Image {
            format: kind,
            native_bytes_per_pixel: header.native_bytes_per_pixel,
        },
    })
}

/// Tone of the output (IIIF §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// As stored.
    Color,
    /// Luma only.
    Gray,
    /// Black and white.
    Bitonal,
}

/// What to make of a source: every number already decided and inside the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extraction {
    /// The region, in shown pixels (after EXIF orientation), inside the image.
    pub region: Rect<u32>,
    /// Output width and height before rotation, each at least 1.
    pub size: (u32, u32),
    /// Flip left to right before rotating.
    pub mirror: bool,
    /// Clockwise quarter turns after mirroring (0-3).
    pub turns: u8,
    /// Output tone.
    pub tone: Tone,
    /// Output encoding.
    pub format: Format,
    /// Encoder quality.
    pub quality: u8,
}

/// The JPEG DCT scale (numerator of 8) to decode at: the smallest whose region is still at
/// least the output size on both sides, so that only downscaling follows.
fn numerator(facts: &Facts, stored: Rect<u32>, size: (u32, u32)) -> u8 {
    if !matches!(facts.decoder, Decoder::Jpeg { .. }) {
        return 8;
    }
    let (ow, oh) = match facts.orientation >= 5 {
        true => (size.1, size.0),
        false => size,
    };
    let fits = |n: u8| {
        u64::from(stored.width) * u64::from(n) >= u64::from(ow) * 8
            && u64::from(stored.height) * u64::from(n) >= u64::from(oh) * 8
    };
    [1u8, 2, 4].into_iter().find(|&n| fits(n)).unwrap_or(8)
}

/// `rect` at `n`/8 scale: edges rounded outward, so the scaled region covers the original.
fn scaled(rect: Rect<u32>, n: u8) -> Rect<u32> {
    let n = u64::from(n);
    let down = |v: u32| u32::try_from(u64::from(v) * n / 8).unwrap_or(u32::MAX);
    let up = |v: u32| u32::try_from((u64::from(v) * n).div_ceil(8)).unwrap_or(u32::MAX);
    let (x0, y0) = (down(rect.x), down(rect.y));
    let x1 = up(rect.x.saturating_add(rect.width)).max(x0 + 1);
    let y1 = up(rect.y.saturating_add(rect.height)).max(y0 + 1);
    Rect::new(x0, y0, x1 - x0, y1 - y0)
}

/// Whether a source is decoded a region at a time from a stream
/// ([`Extraction::render_stream`]) rather than whole from memory ([`Extraction::render`]).
pub fn streams(facts: &Facts) -> bool {
    matches!(facts.decoder, Decoder::Jpeg { .. })
}

/// Encoded bytes a streamed decode holds at once: the chunks between the store and the
/// decoder (`crate::service`'s bridge keeps at most four of at most 256 KiB).
pub const STREAM_BUFFER_BYTES: u64 = 1 << 20;

impl Extraction {
    /// Peak bytes of the render on a source of `source_bytes`: [`budget`]'s phases, with
    /// the source in memory and the whole decoded image (read whole), or a few chunks and
    /// the region alone ([`streams`]).
    pub fn estimate(&self, facts: &Facts, source_bytes: u64) -> u64 {
        let stored = ops::stored_rect(facts.orientation, facts.width, facts.height, self.region);
        let n = numerator(facts, stored, self.size);
        let region = scaled(stored, n);
        let channels: u8 = if facts.alpha { 4 } else { 3 };
        let (source_bytes, whole) = match streams(facts) {
            true => (STREAM_BUFFER_BYTES, region),
            false => (
                source_bytes,
                scaled(Rect::new(0, 0, facts.width, facts.height), n),
            ),
        };
        let shape = Shape {
            source_bytes,
            source_pixels: u64::from(facts.width) * u64::from(facts.height),
            decoder: facts.decoder,
            decoded: (region.width, region.height),
            channels,
            resized: self.size,
            reoriented: true,
            canvas: None,
            output: self.format,
            quality: self.quality,
        };
        // The decoder's whole output is held while the region is copied out of it.
        let whole_bytes = u64::from(whole.width) * u64::from(whole.height) * u64::from(channels);
        let turned = u64::from(self.size.0) * u64::from(self.size.1) * u64::from(channels);
        budget::estimate(&shape) + whole_bytes + turned
    }

    /// Decodes `source` (whose header gave `facts`), extracts, encodes.
    ///
    /// # Errors
    /// See [`TransformError`]; nothing panics on any input.
    pub fn render(&self, source: &[u8], facts: &Facts) -> Result<Rendered, TransformError> {
        let stored = ops::stored_rect(facts.orientation, facts.width, facts.height, self.region);
        let n = numerator(facts, stored, self.size);
        let (px, rect) = match facts.decoder {
            Decoder::Jpeg { coefficient_bytes } => {
                let header = decode::Header {
                    width: facts.width,
                    height: facts.height,
                    orientation: facts.orientation,
                    coefficient_bytes,
                };
                (decode::jpeg(source, header, n)?, scaled(stored, n))
            }
            Decoder::Image { .. } => {
                let (d, h) = decode::image_source(Cursor::new(source), facts.kind, u64::MAX)?;
                (d.decode(&h)?, stored)
            }
        };
        let mut px = ops::crop(px, rect);
        if px.width == 0 || px.height == 0 {
            return Err(TransformError::Malformed(
                "decoded smaller than its header".into(),
            ));
        }
        orient::apply(&mut px);
        super::pipeline::resize_to(&mut px, self.size, false)?;
        self.finish(px)
    }

    /// Decodes the region of a JPEG (whose header gave `facts`) from `reader`, which
    /// yields the source from its first byte, then extracts and encodes as
    /// [`Extraction::render`]. Reading stops after the region's last row.
    ///
    /// # Errors
    /// See [`TransformError`]; a reader that fails or ends early is
    /// [`TransformError::Malformed`] (the caller knows whether its reader failed).
    pub fn render_stream<R: std::io::BufRead>(
        &self,
        reader: R,
        facts: &Facts,
    ) -> Result<Rendered, TransformError> {
        let stored = ops::stored_rect(facts.orientation, facts.width, facts.height, self.region);
        let n = numerator(facts, stored, self.size);
        let rect = scaled(stored, n);
        let mut px = super::region::jpeg_region(reader, n, rect, u64::MAX)?;
        // The header read for info.json is the one trusted: the same ETag, the same bytes.
        px.orientation = facts.orientation;
        orient::apply(&mut px);
        super::pipeline::resize_to(&mut px, self.size, false)?;
        self.finish(px)
    }

    /// Resizes, mirrors, rotates, tones and encodes pixels that are already the region, as
    /// stored (a TIFF level's tiles composed: `crate::iiif::tiff::compose`).
    ///
    /// # Errors
    /// See [`TransformError`].
    pub fn render_region(&self, mut px: Pixels) -> Result<Rendered, TransformError> {
        super::pipeline::resize_to(&mut px, self.size, false)?;
        self.finish(px)
    }

    fn finish(&self, mut px: Pixels) -> Result<Rendered, TransformError> {
        if self.mirror {
            ops::mirror(&mut px);
        }
        ops::rotate(&mut px, self.turns);
        match self.tone {
            Tone::Color => {}
            Tone::Gray => ops::gray(&mut px),
            Tone::Bitonal => ops::bitonal(&mut px),
        }
        let bytes = super::encode::encode(
            &px.data,
            px.width,
            px.height,
            px.channels,
            self.format,
            self.quality,
        )?;
        Ok(Rendered {
            bytes,
            format: self.format,
            width: px.width,
            height: px.height,
        })
    }
}

#[cfg(test)]
#[path = "extract_tests.rs"]
mod tests;
