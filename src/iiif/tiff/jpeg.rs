//! A JPEG tile as a complete stream a browser decodes, without decoding it.
//!
//! TIFF Technical Note 2 (Compression 7): each tile is a JPEG stream, SOI to EOI, that
//! leaves out the tables stored once in JPEGTables (an "abbreviated" stream, ISO 10918-1
//! B.4 and B.5). Splicing the tables in front of the tile's frame makes it whole:
//! `SOI, tables, frame, scan, EOI`.
//!
//! Colour. libtiff writes neither a JFIF APP0 nor an Adobe APP14 marker (tif_jpeg.c turns
//! both off), so a decoder is left to guess the colour space of three components. libjpeg
//! (jdapimin.c, `default_decompress_parms`) guesses from the component IDs: 1, 2, 3 mean
//! YCbCr, `R`, `G`, `B` mean RGB, anything else YCbCr. vips 8.14 writes Photometric RGB
//! (2): libtiff then codes RGB with no colour transform and IDs `R`, `G`, `B`, 1x1
//! sampling (seen in its tiles: SOF0 components 0x52 0x47 0x42). libjpeg-turbo, which
//! Chrome and Firefox use, reads that as RGB, but a decoder that only knows the JFIF and
//! Adobe conventions takes it as YCbCr and shows false colours; an Adobe APP14 with
//! transform 0 (Adobe Technical Note 5116, "no transform") says RGB to all of them, and
//! libjpeg gives the Adobe marker precedence over the IDs (the unit tests decode an RGB tile
//! with IDs 1, 2, 3 both ways). For Photometric YCbCr (6), which GDAL's COG driver writes
//! for three-band JPEG, libtiff codes ordinary YCbCr with IDs 1, 2, 3, which every decoder
//! assumes; a JFIF APP0 (whose colour space is YCbCr by definition) makes it explicit. One
//! component is grey everywhere and gets neither. The integration test decodes vips's
//! passed-through tiles with vips's own JPEG loader: the pixels are those of its TIFF
//! loader, exactly.

use super::layout::{Compression, Level, Photometric};
use super::TiffError;

const SOI: [u8; 2] = [0xFF, 0xD8];
const EOI: [u8; 2] = [0xFF, 0xD9];

/// APP14 "Adobe", version 100, no flags, transform 0: the components are RGB as stored.
const ADOBE_RGB: [u8; 16] = [
    0xFF, 0xEE, 0x00, 0x0E, b'A', b'd', b'o', b'b', b'e', 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// APP0 "JFIF" 1.01, no density unit, 1:1, no thumbnail: the components are YCbCr.
const JFIF: [u8; 18] = [
    0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01,
    0x00, 0x00,
];

/// The complete JPEG stream of one tile of a JPEG-compressed level: its tables spliced in
/// (the tables without their EOI, the tile without its SOI) and, for three components, the
/// marker that names their colour space (see the module doc). The tile's pixels are the
/// full tile size: edge tiles keep their padding.
///
/// # Errors
/// [`TiffError::Unsupported`] for a level that is not JPEG; [`TiffError::Malformed`] for a
/// tile that does not run from SOI to EOI.
pub fn jpeg_tile_stream(level: &Level, tile: &[u8]) -> Result<Vec<u8>, TiffError> {
    if level.compression != Compression::Jpeg {
        return Err(TiffError::Unsupported(format!(
            "{:?} tiles are not JPEG",
            level.compression
        )));
    }
    if tile.len() < 4 || !tile.starts_with(&SOI) || !tile.ends_with(&EOI) {
        return Err(TiffError::malformed(
            "JPEG tile does not run from SOI to EOI",
        ));
    }
    let body = tile.get(2..).unwrap_or_default();
    let tables = match &level.jpeg_tables {
        // Checked when read (level.rs): SOI, at least nothing, EOI.
        Some(t) => t.get(2..t.len().saturating_sub(2)).unwrap_or_default(),
        None => &[],
    };
    let named = names_colour(tables) || names_colour(body);
    let marker: &[u8] = match level.photometric {
        _ if named => &[],
        Photometric::Rgb => &ADOBE_RGB,
        Photometric::YCbCr => &JFIF,
        Photometric::BlackIsZero | Photometric::WhiteIsZero => &[],
    };
    let mut out = Vec::with_capacity(2 + marker.len() + tables.len() + body.len());
    out.extend_from_slice(&SOI);
    out.extend_from_slice(marker);
    out.extend_from_slice(tables);
    out.extend_from_slice(body);
    Ok(out)
}

/// Whether marker segments before the first scan include a JFIF APP0 or an Adobe APP14.
fn names_colour(segments: &[u8]) -> bool {
    let mut pos = 0usize;
    while let (Some(0xFF), Some(&marker)) = (segments.get(pos), segments.get(pos + 1)) {
        match marker {
            // Fill byte before a marker (ISO 10918-1 B.1.1.2).
            0xFF => {
                pos += 1;
                continue;
            }
            0xD8 | 0x01 | 0xD0..=0xD7 => {
                pos += 2;
                continue;
            }
            0xDA | 0xD9 => return false,
            _ => {}
        }
        let Some(&[hi, lo]) = segments.get(pos + 2..pos + 4) else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        let payload = segments.get(pos + 4..).unwrap_or_default();
        if (marker == 0xE0 && payload.starts_with(b"JFIF\0"))
            || (marker == 0xEE && payload.starts_with(b"Adobe"))
        {
            return true;
        }
        if len < 2 {
            return false;
        }
        pos += 2 + len;
    }
    false
}

#[cfg(test)]
#[path = "jpeg_tests.rs"]
mod tests;
