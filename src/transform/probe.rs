//! What a JPEG is, from its markers alone: size, coding, components, orientation. Read before
//! any pixel is decoded, so that the size limits and the decode scale are decided first.
//!
//! Pure and bounded: every read is checked against the buffer, so any bytes at all give an
//! answer or an error (`never_panics` in the tests).

/// A JPEG's header facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegInfo {
    /// Stored width and height (before EXIF orientation).
    pub width: u32,
    /// Stored height.
    pub height: u32,
    /// Progressive (SOF2): libjpeg then holds every DCT coefficient of the image in memory,
    /// whatever the output scale.
    pub progressive: bool,
    /// Colour components (1 grey, 3 YCbCr, 4 CMYK/YCCK).
    pub components: u8,
    /// Bytes of coefficient buffers a progressive decode needs.
    pub coefficient_bytes: u64,
    /// Start-of-scan markers in the file (a progressive "scan bomb" has thousands).
    pub scans: u32,
    /// EXIF orientation 1-8 (1 = upright).
    pub orientation: u8,
}

/// Why a JPEG header is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// Not a JPEG, or cut short before its frame header.
    #[error("malformed JPEG header")]
    Malformed,
    /// Lossless, hierarchical or arithmetic-coded JPEG.
    #[error("unsupported JPEG coding (only baseline and progressive Huffman are supported)")]
    Unsupported,
}

/// Reads the markers up to the first scan.
///
/// # Errors
/// [`ProbeError`] for anything that is not a baseline or progressive Huffman JPEG.
pub fn jpeg(data: &[u8]) -> Result<JpegInfo, ProbeError> {
    if data.get(..2) != Some(&[0xFF, 0xD8]) {
        return Err(ProbeError::Malformed);
    }
    let mut pos = 2;
    let mut orientation = 1;
    let mut frame = None;
    loop {
        // Markers may be preceded by any number of 0xFF fill bytes (T.81 B.1.1.2).
        if *data.get(pos).ok_or(ProbeError::Malformed)? != 0xFF {
            return Err(ProbeError::Malformed);
        }
        while data.get(pos) == Some(&0xFF) {
            pos += 1;
        }
        let marker = *data.get(pos).ok_or(ProbeError::Malformed)?;
        pos += 1;
        if matches!(marker, 0x01 | 0xD0..=0xD7) {
            continue; // no length
        }
        let len = usize::from(u16::from_be_bytes(two(data, pos)?));
        let segment = data
            .get(pos + 2..pos + len.max(2))
            .ok_or(ProbeError::Malformed)?;
        if len < 2 {
            return Err(ProbeError::Malformed);
        }
        match marker {
            0xDA => break, // start of scan: the header is over
            0xD9 => return Err(ProbeError::Malformed),
            0xC0..=0xC2 => frame = Some((marker == 0xC2, sof(segment)?)),
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Err(ProbeError::Unsupported),
            0xE1 if segment.starts_with(b"Exif\0\0") => {
                orientation = exif_orientation(&segment[6..]).unwrap_or(1);
            }
            _ => {}
        }
        pos += len;
    }
    let (progressive, (width, height, components, coefficient_bytes)) =
        frame.ok_or(ProbeError::Malformed)?;
    Ok(JpegInfo {
        width,
        height,
        progressive,
        components,
        coefficient_bytes,
        scans: count_scans(data),
        orientation,
    })
}

fn two(data: &[u8], pos: usize) -> Result<[u8; 2], ProbeError> {
    data.get(pos..pos + 2)
        .and_then(|b| b.try_into().ok())
        .ok_or(ProbeError::Malformed)
}

/// Width, height, components and coefficient bytes from a SOF payload.
fn sof(s: &[u8]) -> Result<(u32, u32, u8, u64), ProbeError> {
    let height = u32::from(u16::from_be_bytes(two(s, 1)?));
    let width = u32::from(u16::from_be_bytes(two(s, 3)?));
    let n = *s.get(5).ok_or(ProbeError::Malformed)?;
    // Height 0 means "given later in a DNL marker", which we do not support.
    if width == 0 || height == 0 || !matches!(n, 1 | 3 | 4) {
        return Err(ProbeError::Malformed);
    }
    let comps: Vec<(u64, u64)> = (0..usize::from(n))
        .map(|i| {
            let hv = *s.get(6 + 3 * i + 1).ok_or(ProbeError::Malformed)?;
            match (u64::from(hv >> 4), u64::from(hv & 15)) {
                (h @ 1..=4, v @ 1..=4) => Ok((h, v)),
                _ => Err(ProbeError::Malformed),
            }
        })
        .collect::<Result<_, _>>()?;
    let hmax = comps.iter().map(|c| c.0).max().unwrap_or(1);
    let vmax = comps.iter().map(|c| c.1).max().unwrap_or(1);
    let (w, h) = (u64::from(width), u64::from(height));
    // libjpeg's whole-image coefficient arrays: one 64 x i16 block per 8x8 of each component,
    // padded to whole MCUs.
    let bytes = comps
        .iter()
        .map(|&(hi, vi)| {
            let bw = (w * hi).div_ceil(8 * hmax).next_multiple_of(hi);
            let bh = (h * vi).div_ceil(8 * vmax).next_multiple_of(vi);
            bw * bh * 128
        })
        .sum();
    Ok((width, height, n, bytes))
}

/// Start-of-scan markers anywhere in the file. In entropy-coded data every 0xFF is followed
/// by 0x00 or a restart marker, so each FF DA is a real scan header.
fn count_scans(data: &[u8]) -> u32 {
    let n = data.windows(2).filter(|w| w == &[0xFF, 0xDA]).count();
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The Orientation tag (0x0112) of IFD0 in a TIFF-structured EXIF block.
pub fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    let big = match tiff.get(..4)? {
        b"MM\0*" => true,
        b"II*\0" => false,
        _ => return None,
    };
    let u16_at = |p: usize| {
        let b: [u8; 2] = tiff.get(p..p + 2)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |p: usize| {
        let b: [u8; 4] = tiff.get(p..p + 4)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    (0..count.min(512)).find_map(|i| {
        let entry = ifd.checked_add(2 + 12 * i)?;
        // Type 3 (SHORT), count 1: the value sits in the first two bytes of the value field.
        if u16_at(entry)? != 0x0112 || u16_at(entry + 2)? != 3 {
            return None;
        }
        u16_at(entry + 8)
            .and_then(|v| u8::try_from(v).ok())
            .filter(|v| (1..=8).contains(v))
    })
}

#[cfg(test)]
#[path = "probe_tests.rs"]
mod tests;
