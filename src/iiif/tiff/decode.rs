//! Tiles to pixels, and pixels of several tiles to one region.

use super::jpeg::jpeg_tile_stream;
use super::layout::{Compression, Level, Photometric};
use super::TiffError;
use crate::iiif::Rect;
use crate::transform::decode::{self, Pixels};
use std::io::Read;

/// Decodes one tile of `level` to RGB or RGBA ([`Level::channels`]) at the full tile size,
/// padding included. Grey becomes RGB; WhiteIsZero is inverted.
///
/// Memory: the output and, for Deflate, nothing more: inflating stops at the tile's size
/// ([`Level::tile_samples`]), so a Deflate bomb costs no more than an honest tile.
///
/// # Errors
/// [`TiffError::Malformed`] for data that does not decode to a whole tile.
pub fn decode_tile(level: &Level, tile: &[u8]) -> Result<Pixels, TiffError> {
    let samples = usize::try_from(level.tile_samples())
        .map_err(|_| TiffError::malformed("tile too large for this platform"))?;
    let mut data = match level.compression {
        Compression::Jpeg => return decode_jpeg(level, tile),
        Compression::None => tile
            .get(..samples)
            .ok_or_else(|| TiffError::malformed("uncompressed tile shorter than a tile"))?
            .to_vec(),
        Compression::Deflate => inflate(tile, samples)?,
    };
    if level.horizontal_predictor {
        undo_predictor(level, &mut data);
    }
    Ok(Pixels {
        data: expand(level, data),
        width: level.tile_width,
        height: level.tile_height,
        channels: level.channels(),
        orientation: 1,
    })
}

fn decode_jpeg(level: &Level, tile: &[u8]) -> Result<Pixels, TiffError> {
    let stream = jpeg_tile_stream(level, tile)?;
    let pixels = u64::from(level.tile_width) * u64::from(level.tile_height);
    let malformed = |e: crate::transform::TransformError| TiffError::Malformed(e.to_string());
    let header = decode::jpeg_header(&stream, pixels).map_err(malformed)?;
    if (header.width, header.height) != (level.tile_width, level.tile_height) {
        return Err(TiffError::Malformed(format!(
            "JPEG tile of {} x {} in a level of {} x {} tiles",
            header.width, header.height, level.tile_width, level.tile_height
        )));
    }
    let mut px = decode::jpeg(&stream, header, 8).map_err(malformed)?;
    px.orientation = 1;
    Ok(px)
}

/// Inflates a zlib stream (TIFF's Deflate is RFC 1950 zlib: Adobe Photoshop TIFF Technical
/// Notes, "Deflate") to exactly `samples` bytes, never more.
fn inflate(tile: &[u8], samples: usize) -> Result<Vec<u8>, TiffError> {
    let mut out = Vec::with_capacity(samples);
    flate2::read::ZlibDecoder::new(tile)
        .take(samples as u64)
        .read_to_end(&mut out)
        .map_err(|e| TiffError::Malformed(format!("Deflate tile: {e}")))?;
    if out.len() < samples {
        return Err(TiffError::Malformed(format!(
            "Deflate tile inflated to {} bytes, not {samples}",
            out.len()
        )));
    }
    Ok(out)
}

/// Predictor 2 (TIFF 6.0 §14): each sample was stored as its difference from the same
/// sample of the pixel to its left, modulo 256, row by row.
fn undo_predictor(level: &Level, data: &mut [u8]) {
    let spp = usize::from(level.samples_per_pixel);
    let row = level.tile_width as usize * spp;
    for line in data.chunks_exact_mut(row.max(1)) {
        for i in spp..line.len() {
            let left = line.get(i - spp).copied().unwrap_or(0);
            if let Some(s) = line.get_mut(i) {
                *s = s.wrapping_add(left);
            }
        }
    }
}

/// Stored samples to RGB or RGBA.
fn expand(level: &Level, data: Vec<u8>) -> Vec<u8> {
    let invert = if level.photometric == Photometric::WhiteIsZero {
        0xFF
    } else {
        0
    };
    match level.samples_per_pixel {
        1 => data.iter().flat_map(|&g| [g ^ invert; 3]).collect(),
        2 => data
            .chunks_exact(2)
            .flat_map(|p| {
                let (g, a) = (p.first().copied().unwrap_or(0) ^ invert, p.get(1).copied());
                [g, g, g, a.unwrap_or(0xFF)]
            })
            .collect(),
        _ => data,
    }
}

/// Joins decoded tiles of `level` into the pixels of `rect` (level coordinates): each
/// tile's overlap with the rectangle is copied, so edge tiles lose their padding. Parts of
/// the rectangle no tile covers (outside the level, or a tile not given) stay zero; a tile
/// whose size or channels do not match the level's is left out. The caller bounds `rect`:
/// the output is `rect.width` x `rect.height` x [`Level::channels`] bytes.
pub fn compose(
    level: &Level,
    rect: Rect<u32>,
    tiles: impl IntoIterator<Item = (usize, Pixels)>,
) -> Pixels {
    let ch = usize::from(level.channels());
    let (width, height) = (rect.width as usize, rect.height as usize);
    let mut data = vec![0u8; width.saturating_mul(height).saturating_mul(ch)];
    let (right, bottom) = (
        rect.x.saturating_add(rect.width),
        rect.y.saturating_add(rect.height),
    );
    for (index, px) in tiles {
        let Some(t) = level.tile_rect(index) else {
            continue;
        };
        if usize::from(px.channels) != ch || px.width < t.width || px.height < t.height {
            continue;
        }
        let (x0, x1) = (t.x.max(rect.x), (t.x + t.width).min(right));
        let (y0, y1) = (t.y.max(rect.y), (t.y + t.height).min(bottom));
        let run = x1.saturating_sub(x0) as usize * ch;
        for y in y0..y1 {
            let from = ((y - t.y) as usize * px.width as usize + (x0 - t.x) as usize) * ch;
            let to = ((y - rect.y) as usize * width + (x0 - rect.x) as usize) * ch;
            if let (Some(src), Some(dst)) =
                (px.data.get(from..from + run), data.get_mut(to..to + run))
            {
                dst.copy_from_slice(src);
            }
        }
    }
    Pixels {
        data,
        width: rect.width,
        height: rect.height,
        channels: level.channels(),
        orientation: 1,
    }
}

#[cfg(test)]
#[path = "decode_tests.rs"]
mod tests;
