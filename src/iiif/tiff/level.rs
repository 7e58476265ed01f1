//! One IFD's entries to a [`Level`], or why it is not one. Pure: the driver (`read.rs`)
//! fetches the out-of-line values [`wanted`] names before calling [`build`].

use super::ifd::{Header, Ifd, Place, Source};
use super::layout::{Compression, Level, Photometric, TileArray};
use super::{
    TiffError, MAX_DIMENSION, MAX_IFDS, MAX_JPEG_TABLES, MAX_TILES_PER_LEVEL, MAX_TILE_SIDE,
};
use bytes::Bytes;

// Tags (TIFF 6.0 Appendix A; SubIFDs: Technical Note 1; JPEGTables: Technical Note 2).
const NEW_SUBFILE_TYPE: u16 = 254;
const IMAGE_WIDTH: u16 = 256;
const IMAGE_LENGTH: u16 = 257;
const BITS_PER_SAMPLE: u16 = 258;
const COMPRESSION: u16 = 259;
const PHOTOMETRIC: u16 = 262;
const STRIP_OFFSETS: u16 = 273;
const SAMPLES_PER_PIXEL: u16 = 277;
const PLANAR_CONFIGURATION: u16 = 284;
const PREDICTOR: u16 = 317;
const TILE_WIDTH: u16 = 322;
const TILE_LENGTH: u16 = 323;
const TILE_OFFSETS: u16 = 324;
const TILE_BYTE_COUNTS: u16 = 325;
pub(super) const SUB_IFDS: u16 = 330;
const EXTRA_SAMPLES: u16 = 338;
const SAMPLE_FORMAT: u16 = 339;
const JPEG_TABLES: u16 = 347;

/// What an IFD's inline values say, before any array is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Kind {
    /// A transparency mask (NewSubfileType bit 2, TIFF 6.0 §8): not a level.
    Mask,
    /// An image this reader does not serve, and why.
    Unsupported(String),
    /// A tiled image of these dimensions and codings.
    Tiled(Shape),
}

/// A tiled IFD's scalar fields, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Shape {
    width: u32,
    height: u32,
    tile_width: u32,
    tile_height: u32,
    compression: Compression,
    photometric: Photometric,
    samples: u8,
    predictor: bool,
}

impl Shape {
    fn tiles(&self) -> u64 {
        u64::from(self.width.div_ceil(self.tile_width))
            * u64::from(self.height.div_ceil(self.tile_height))
    }
}

fn dimension(h: &Header, ifd: &Ifd, tag: u16) -> Result<u32, TiffError> {
    match ifd.get(tag).and_then(|e| e.scalar(h)) {
        Some(0) | None => Err(TiffError::Malformed(format!("no tag {tag} (image size)"))),
        Some(v) => u32::try_from(v).map_err(|_| TiffError::Malformed(format!("tag {tag} = {v}"))),
    }
}

/// Reads the inline fields and says whether the IFD can be a level.
///
/// # Errors
/// [`TiffError::Malformed`] for a missing or zero size or a field of the wrong type.
pub(super) fn classify(h: &Header, ifd: &Ifd) -> Result<Kind, TiffError> {
    if ifd.scalar_or(h, NEW_SUBFILE_TYPE, 0)? & 4 != 0 {
        return Ok(Kind::Mask);
    }
    let (width, height) = (
        dimension(h, ifd, IMAGE_WIDTH)?,
        dimension(h, ifd, IMAGE_LENGTH)?,
    );
    let unsupported = |why: String| Ok(Kind::Unsupported(why));
    if ifd.get(TILE_WIDTH).is_none() {
        return match ifd.get(STRIP_OFFSETS) {
            Some(_) => unsupported("strips: only tiled TIFF is served (save with --tile)".into()),
            None => Err(TiffError::malformed("neither tiles nor strips")),
        };
    }
    let (tile_width, tile_height) = (
        dimension(h, ifd, TILE_WIDTH)?,
        dimension(h, ifd, TILE_LENGTH)?,
    );
    if width > MAX_DIMENSION || height > MAX_DIMENSION {
        return unsupported(format!(
            "{width} x {height} pixels (limit {MAX_DIMENSION} a side)"
        ));
    }
    // TIFF 6.0 §15: "TileWidth must be a multiple of 16" (and TileLength likewise).
    for side in [tile_width, tile_height] {
        if side % 16 != 0 || side > MAX_TILE_SIDE {
            return unsupported(format!(
                "tiles of {tile_width} x {tile_height} (multiples of 16 up to {MAX_TILE_SIDE})"
            ));
        }
    }
    let coding = match coding(h, ifd)? {
        Ok(coding) => coding,
        Err(why) => return unsupported(why),
    };
    let shape = Shape {
        width,
        height,
        tile_width,
        tile_height,
        compression: coding.0,
        photometric: coding.1,
        samples: coding.2,
        predictor: coding.3,
    };
    if shape.tiles() > MAX_TILES_PER_LEVEL {
        return unsupported(format!(
            "{} tiles (limit {MAX_TILES_PER_LEVEL})",
            shape.tiles()
        ));
    }
    Ok(Kind::Tiled(shape))
}

/// Compression, photometric, samples per pixel and predictor, or why they are not served.
type Coding = (Compression, Photometric, u8, bool);

fn coding(h: &Header, ifd: &Ifd) -> Result<Result<Coding, String>, TiffError> {
    let compression = match ifd.scalar_or(h, COMPRESSION, 1)? {
        1 => Compression::None,
        7 => Compression::Jpeg,
        8 | 32946 => Compression::Deflate,
        5 => return Ok(Err("LZW compression".into())),
        6 => return Ok(Err("old-style JPEG compression (6)".into())),
        n => return Ok(Err(format!("compression {n}"))),
    };
    let samples = ifd.scalar_or(h, SAMPLES_PER_PIXEL, 1)?;
    let photometric = match (ifd.scalar_or(h, PHOTOMETRIC, u64::MAX)?, samples) {
        (0, 1 | 2) if compression != Compression::Jpeg => Photometric::WhiteIsZero,
        (1, 1 | 2) => Photometric::BlackIsZero,
        (2, 3 | 4) => Photometric::Rgb,
        // YCbCr outside JPEG is subsampled in the tile's own layout (§21): not read here.
        (6, 3) if compression == Compression::Jpeg => Photometric::YCbCr,
        (p, s) => {
            return Ok(Err(format!(
                "photometric {p} with {s} samples and {compression:?} compression"
            )))
        }
    };
    if compression == Compression::Jpeg && !matches!(samples, 1 | 3) {
        return Ok(Err(format!("JPEG with {samples} samples")));
    }
    if ifd.scalar_or(h, PLANAR_CONFIGURATION, 1)? != 1 {
        return Ok(Err("separate colour planes (PlanarConfiguration 2)".into()));
    }
    let predictor = match ifd.scalar_or(h, PREDICTOR, 1)? {
        1 => false,
        2 => true,
        p => return Ok(Err(format!("predictor {p}"))),
    };
    // The photometric match admits 1 to 4 samples only.
    Ok(Ok((compression, photometric, samples as u8, predictor)))
}

/// The out-of-line values [`build`] and [`children`] read: `(offset, length)`, each checked
/// against its limit before anything is fetched. SubIFDs alone for an IFD that is not a
/// level (`shape` `None`).
///
/// # Errors
/// [`TiffError::Malformed`] for an entry of unknown type or a count its tag cannot have.
pub(super) fn wanted(
    h: &Header,
    ifd: &Ifd,
    shape: Option<&Shape>,
) -> Result<Vec<(u64, u64)>, TiffError> {
    let mut ranges = Vec::new();
    for e in &ifd.entries {
        let most = match (e.tag, shape) {
            (SUB_IFDS, _) => MAX_IFDS as u64,
            (TILE_OFFSETS | TILE_BYTE_COUNTS, Some(s)) => s.tiles(),
            (JPEG_TABLES, Some(_)) => MAX_JPEG_TABLES,
            // One value a sample.
            (BITS_PER_SAMPLE | EXTRA_SAMPLES | SAMPLE_FORMAT, Some(_)) => 4,
            _ => continue,
        };
        if e.count > most {
            return Err(TiffError::Malformed(format!(
                "tag {} has {} values (at most {most} here)",
                e.tag, e.count
            )));
        }
        if let Place::At { offset, len } = e.place(h)? {
            ranges.push((offset, len));
        }
    }
    Ok(ranges)
}

/// The SubIFDs (tag 330) of an IFD, whose values must have been read.
///
/// # Errors
/// [`TiffError::Malformed`] for a value of the wrong type.
pub(super) fn children<S: Source + ?Sized>(
    h: &Header,
    ifd: &Ifd,
    src: &S,
) -> Result<Vec<u64>, TiffError> {
    match ifd.get(SUB_IFDS) {
        None => Ok(Vec::new()),
        Some(e) => e
            .uints(h, src)?
            .ok_or_else(|| TiffError::malformed("SubIFDs not read")),
    }
}

fn array<S: Source + ?Sized>(
    h: &Header,
    ifd: &Ifd,
    src: &S,
    tag: u16,
) -> Result<Option<Vec<u64>>, TiffError> {
    match ifd.get(tag) {
        None => Ok(None),
        Some(e) => {
            Ok(Some(e.uints(h, src)?.ok_or_else(|| {
                TiffError::Malformed(format!("tag {tag} not read"))
            })?))
        }
    }
}

/// The level a tiled IFD describes, once the ranges [`wanted`] named are in `src`.
///
/// # Errors
/// [`TiffError::Unsupported`] for samples that are not 8-bit unsigned integers or for
/// premultiplied alpha; [`TiffError::Malformed`] for tile arrays of the wrong length or
/// JPEG tables that are not an abbreviated JPEG stream.
pub(super) fn build<S: Source + ?Sized>(
    h: &Header,
    ifd: &Ifd,
    shape: &Shape,
    src: &S,
    object_len: u64,
) -> Result<Level, TiffError> {
    // BitsPerSample defaults to 1 (§8); SampleFormat to 1, unsigned integers (§19).
    let bits = array(h, ifd, src, BITS_PER_SAMPLE)?.unwrap_or_else(|| vec![1]);
    if bits.iter().any(|&b| b != 8) {
        return Err(TiffError::Unsupported(format!(
            "{bits:?} bits per sample (only 8)"
        )));
    }
    let format = array(h, ifd, src, SAMPLE_FORMAT)?.unwrap_or_else(|| vec![1]);
    if format.iter().any(|&f| f != 1) {
        return Err(TiffError::Unsupported(format!("sample format {format:?}")));
    }
    // ExtraSamples (§18): 1 is premultiplied alpha, 2 unassociated; 0 is unspecified, taken
    // as alpha like libtiff's readers do.
    let extra = array(h, ifd, src, EXTRA_SAMPLES)?.unwrap_or_default();
    if extra.contains(&1) {
        return Err(TiffError::unsupported(
            "premultiplied alpha (ExtraSamples 1)",
        ));
    }
    let tiles = shape.tiles();
    let tile_array = |tag| -> Result<TileArray, TiffError> {
        let values = array(h, ifd, src, tag)?.unwrap_or_default();
        if values.len() as u64 != tiles {
            return Err(TiffError::Malformed(format!(
                "tag {tag} has {} values for {tiles} tiles",
                values.len()
            )));
        }
        Ok(TileArray::new(values))
    };
    let offsets = tile_array(TILE_OFFSETS)?;
    let byte_counts = tile_array(TILE_BYTE_COUNTS)?;
    Ok(Level {
        width: shape.width,
        height: shape.height,
        tile_width: shape.tile_width,
        tile_height: shape.tile_height,
        compression: shape.compression,
        photometric: shape.photometric,
        samples_per_pixel: shape.samples,
        horizontal_predictor: shape.predictor,
        jpeg_tables: jpeg_tables(h, ifd, src, shape)?,
        offsets,
        byte_counts,
        object_len,
    })
}

/// JPEGTables (Technical Note 2): an abbreviated stream, SOI, tables, EOI.
fn jpeg_tables<S: Source + ?Sized>(
    h: &Header,
    ifd: &Ifd,
    src: &S,
    shape: &Shape,
) -> Result<Option<Bytes>, TiffError> {
    let Some(e) = ifd
        .get(JPEG_TABLES)
        .filter(|_| shape.compression == Compression::Jpeg)
    else {
        return Ok(None);
    };
    if e.count > MAX_JPEG_TABLES || !matches!(e.kind, 1 | 7) {
        return Err(TiffError::Malformed(format!(
            "JPEGTables of {} values of type {} (at most {MAX_JPEG_TABLES} bytes)",
            e.count, e.kind
        )));
    }
    let tables = e
        .bytes(h, src)?
        .ok_or_else(|| TiffError::malformed("JPEGTables not read"))?;
    if !tables.starts_with(&[0xFF, 0xD8]) || !tables.ends_with(&[0xFF, 0xD9]) || tables.len() < 4 {
        return Err(TiffError::malformed(
            "JPEGTables is not a JPEG stream (SOI ... EOI)",
        ));
    }
    Ok(Some(Bytes::copy_from_slice(tables)))
}

#[cfg(test)]
#[path = "level_tests.rs"]
mod tests;
