//! The transform in two steps: [`prepare`] reads the header (sizes, limits, plan, output
//! format, estimated memory) without decoding a pixel; [`Prepared::render`] decodes at the
//! smallest scale the target allows, resizes, turns upright, pads and encodes. Between the
//! two the service admits the estimate into the memory budget; the header is parsed once.

use super::budget::{self, Decoder, Shape};
use super::decode::{self, ImageHeader, ImageSource, Pixels};
use super::format::{self, Format, FormatChoice};
use super::geometry::{self, Geometry};
use super::{orient, Limits, Params, Rendered, TransformError, AVIF_MAX_DIMENSION};
use http::HeaderMap;
use std::io::Cursor;

/// A transform whose header has been read and whose cost is known; `S` is the source's
/// bytes, owned (the service) or borrowed (benches).
pub struct Prepared<S: AsRef<[u8]>> {
    source: Source<S>,
    geometry: Geometry,
    output: Format,
    quality: u8,
    shape: Shape,
}

enum Source<S: AsRef<[u8]>> {
    Jpeg { bytes: S, header: decode::Header },
    Image(ImageSource<Cursor<S>>, ImageHeader),
}

/// What [`prepare`] learns from the header, whatever the format.
struct Facts {
    width: u32,
    height: u32,
    orientation: u8,
    alpha: bool,
    decoder: Decoder,
}

/// Reads `source`'s header, checks it against `limits`, plans the geometry and picks the
/// output format (for `format=auto`, from `headers`).
///
/// # Errors
/// Unsupported, malformed or over-limit sources ([`TransformError`]).
pub fn prepare<S: AsRef<[u8]>>(
    source: S,
    params: &Params,
    headers: &HeaderMap,
    limits: &Limits,
) -> Result<Prepared<S>, TransformError> {
    let bytes = source.as_ref();
    let source_bytes = bytes.len() as u64;
    let kind = Format::sniff(bytes)
        .ok_or_else(|| TransformError::Unsupported("unrecognised format".into()))?;
    let (source, facts) = read_header(source, kind, limits.max_pixels)?;
    let max_side = match params.format {
        FormatChoice::Fixed(Format::Avif) => limits.max_dimension.min(AVIF_MAX_DIMENSION),
        _ => limits.max_dimension,
    };
    let g = geometry::plan(
        facts.width,
        facts.height,
        facts.orientation,
        params,
        max_side,
    );
    let shown = match geometry::swaps_axes(facts.orientation) {
        true => (g.resize.1, g.resize.0),
        false => g.resize,
    };
    // `auto` does not shrink an image to make it AVIF: a larger one gets the next choice.
    let (w, h) = g.canvas.unwrap_or(shown);
    let fits_avif = w.max(h) <= AVIF_MAX_DIMENSION;
    let offered: Vec<Format> = (limits.formats.iter().copied())
        .filter(|&f| f != Format::Avif || fits_avif)
        .collect();
    let output = format::negotiate(params.format, headers, kind, facts.alpha, &offered);
    let quality = params.quality_for(output);
    let decoded = match facts.decoder {
        Decoder::Jpeg { .. } => jpeg_scaled(facts.width, facts.height, g.numerator),
        Decoder::Image { .. } => (facts.width, facts.height),
    };
    let shape = Shape {
        source_bytes,
        source_pixels: u64::from(facts.width) * u64::from(facts.height),
        decoder: facts.decoder,
        decoded,
        channels: if facts.alpha { 4 } else { 3 },
        resized: g.resize,
        reoriented: facts.orientation != 1,
        canvas: g.canvas,
        output,
        quality,
    };
    Ok(Prepared {
        source,
        geometry: g,
        output,
        quality,
        shape,
    })
}

fn read_header<S: AsRef<[u8]>>(
    source: S,
    kind: Format,
    max_pixels: u64,
) -> Result<(Source<S>, Facts), TransformError> {
    if kind == Format::Jpeg {
        let header = decode::jpeg_header(source.as_ref(), max_pixels)?;
        let facts = Facts {
            width: header.width,
            height: header.height,
            orientation: header.orientation,
            alpha: false,
            decoder: Decoder::Jpeg {
                coefficient_bytes: header.coefficient_bytes,
            },
        };
        return Ok((
            Source::Jpeg {
                bytes: source,
                header,
            },
            facts,
        ));
    }
    let (decoder, header) = decode::image_source(Cursor::new(source), kind, max_pixels)?;
    let facts = Facts {
        width: header.width,
        height: header.height,
        orientation: header.orientation,
        alpha: header.alpha,
        decoder: Decoder::Image {
            format: kind,
            native_bytes_per_pixel: header.native_bytes_per_pixel,
        },
    };
    Ok((Source::Image(decoder, header), facts))
}

/// The size libjpeg decodes to at `numerator`/8: each side rounded up (jdiv_round_up).
fn jpeg_scaled(width: u32, height: u32, numerator: u8) -> (u32, u32) {
    let d = 8 / u32::from(numerator.max(1));
    (width.div_ceil(d), height.div_ceil(d))
}

impl<S: AsRef<[u8]>> Prepared<S> {
    /// The transform's estimated peak memory in bytes ([`budget::estimate`]).
    pub fn estimate(&self) -> u64 {
        budget::estimate(&self.shape)
    }

    /// What the estimate was made from.
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// Decodes, resizes, orients, pads and encodes. The source bytes are dropped as soon as
    /// they are decoded, so they do not count in the later, larger phases.
    ///
    /// # Errors
    /// See [`TransformError`]; nothing panics on any input.
    pub fn render(self) -> Result<Rendered, TransformError> {
        let g = self.geometry;
        let mut px = match self.source {
            Source::Jpeg { bytes, header } => decode::jpeg(bytes.as_ref(), header, g.numerator)?,
            Source::Image(decoder, header) => decoder.decode(&header)?,
        };
        resize(&mut px, &g)?;
        orient::apply(&mut px);
        if let Some(canvas) = g.canvas {
            orient::pad(&mut px, canvas, self.output != Format::Jpeg);
        }
        let bytes = super::encode::encode(
            &px.data,
            px.width,
            px.height,
            px.channels,
            self.output,
            self.quality,
        )?;
        Ok(Rendered {
            bytes,
            format: self.output,
            width: px.width,
            height: px.height,
        })
    }
}

/// Resizes in place to `g.resize` (Lanczos3, as sharp), cropping first for `fit=cover`.
fn resize(px: &mut Pixels, g: &Geometry) -> Result<(), TransformError> {
    resize_to(px, g.resize, g.crop)
}

/// Resizes in place to `(w, h)` (Lanczos3, as sharp); with `crop`, the centre of the
/// source at the target's aspect ratio (`fit=cover`), else the whole source.
pub(super) fn resize_to(
    px: &mut Pixels,
    (w, h): (u32, u32),
    crop: bool,
) -> Result<(), TransformError> {
    use fast_image_resize::{
        images::Image, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer,
    };
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
    if crop {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jpeg_scaled_sizes_round_up_like_libjpeg() {
        // (source, numerator) -> decoded size
        let cases = [
            ((6000, 4000), 1, (750, 500)),
            ((6000, 4000), 2, (1500, 1000)),
            ((12240, 8160), 4, (6120, 4080)),
            ((6000, 4000), 8, (6000, 4000)),
            ((601, 401), 1, (76, 51)),
            ((1, 1), 1, (1, 1)),
        ];
        for ((w, h), n, want) in cases {
            assert_eq!(jpeg_scaled(w, h, n), want, "{w}x{h} at {n}/8");
        }
    }
}
