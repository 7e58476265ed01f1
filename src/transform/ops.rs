//! Pixel operations of an image request that names a region (IIIF): crop, mirror, quarter
//! turns, gray and bitonal, and the mapping of a region the client sees back to the stored
//! (pre-EXIF-orientation) pixels. All on small, already-cropped images; pure.

use super::decode::Pixels;
use crate::iiif::Rect;

/// The stored rectangle that shows as `shown` once EXIF `orientation` (1-8) is applied to
/// an image stored `width` x `height`. `shown` must lie inside the shown image; the result
/// then lies inside the stored one.
pub fn stored_rect(orientation: u8, width: u32, height: u32, shown: Rect<u32>) -> Rect<u32> {
    let (x0, y0) = (shown.x, shown.y);
    let (x1, y1) = (
        x0 + shown.width.saturating_sub(1),
        y0 + shown.height.saturating_sub(1),
    );
    // Where shown (x, y) is stored: the inverse of orient::apply's table.
    let map = |x: u32, y: u32| -> (u32, u32) {
        let (w, h) = (width.saturating_sub(1), height.saturating_sub(1));
        match orientation {
            2 => (w.saturating_sub(x), y),
            3 => (w.saturating_sub(x), h.saturating_sub(y)),
            4 => (x, h.saturating_sub(y)),
            5 => (y, x),
            6 => (y, h.saturating_sub(x)),
            7 => (w.saturating_sub(y), h.saturating_sub(x)),
            8 => (w.saturating_sub(y), x),
            _ => (x, y),
        }
    };
    let (a, b) = (map(x0, y0), map(x1, y1));
    let (sx, sy) = (a.0.min(b.0), a.1.min(b.1));
    Rect::new(sx, sy, a.0.max(b.0) - sx + 1, a.1.max(b.1) - sy + 1)
}

/// The part of `px` under `rect`, clamped to the image (at least what overlaps).
pub fn crop(px: Pixels, rect: Rect<u32>) -> Pixels {
    let x0 = rect.x.min(px.width);
    let y0 = rect.y.min(px.height);
    let x1 = rect.x.saturating_add(rect.width).min(px.width);
    let y1 = rect.y.saturating_add(rect.height).min(px.height);
    if (x0, y0, x1, y1) == (0, 0, px.width, px.height) {
        return px;
    }
    let c = usize::from(px.channels);
    let stride = px.width as usize * c;
    let (from, to) = (x0 as usize * c, x1 as usize * c);
    let mut data = Vec::with_capacity((to - from) * (y1 - y0) as usize);
    for row in px
        .data
        .chunks_exact(stride)
        .skip(y0 as usize)
        .take((y1 - y0) as usize)
    {
        data.extend_from_slice(row.get(from..to).unwrap_or_default());
    }
    Pixels {
        data,
        width: x1 - x0,
        height: y1 - y0,
        channels: px.channels,
        orientation: px.orientation,
    }
}

/// Flips left to right (IIIF §4.3's `!`: mirrored about the vertical axis).
pub fn mirror(px: &mut Pixels) {
    let c = usize::from(px.channels);
    let stride = px.width as usize * c;
    if stride == 0 {
        return;
    }
    for row in px.data.chunks_exact_mut(stride) {
        let w = row.len() / c;
        for x in 0..w / 2 {
            let (a, b) = (x * c, (w - 1 - x) * c);
            for k in 0..c {
                row.swap(a + k, b + k);
            }
        }
    }
}

/// Turns clockwise by `turns` quarter turns (0-3).
pub fn rotate(px: &mut Pixels, turns: u8) {
    let turns = turns % 4;
    if turns == 0 {
        return;
    }
    let (w, h) = (px.width as usize, px.height as usize);
    let c = usize::from(px.channels);
    let (dw, dh) = if turns == 2 { (w, h) } else { (h, w) };
    let mut out = vec![0u8; px.data.len()];
    for y in 0..dh {
        for x in 0..dw {
            // Where the output pixel (x, y) comes from.
            let (sx, sy) = match turns {
                1 => (y, h - 1 - x),
                2 => (w - 1 - x, h - 1 - y),
                _ => (w - 1 - y, x),
            };
            let (d, s) = ((y * dw + x) * c, (sy * w + sx) * c);
            if let (Some(dst), Some(src)) = (out.get_mut(d..d + c), px.data.get(s..s + c)) {
                dst.copy_from_slice(src);
            }
        }
    }
    px.data = out;
    px.width = u32::try_from(dw).unwrap_or(px.width);
    px.height = u32::try_from(dh).unwrap_or(px.height);
}

/// Luma (ITU-R BT.601 weights, as libjpeg's RGB to gray) in every colour channel; alpha
/// is kept.
pub fn gray(px: &mut Pixels) {
    let c = usize::from(px.channels);
    if c < 3 {
        return;
    }
    for p in px.data.chunks_exact_mut(c) {
        let y = luma(p[0], p[1], p[2]);
        p[..3].fill(y);
    }
}

/// Black or white by luma at the midpoint (IIIF §4.4 `bitonal`); alpha is kept.
pub fn bitonal(px: &mut Pixels) {
    let c = usize::from(px.channels);
    if c < 3 {
        return;
    }
    for p in px.data.chunks_exact_mut(c) {
        let v = if luma(p[0], p[1], p[2]) >= 128 {
            255
        } else {
            0
        };
        p[..3].fill(v);
    }
}

fn luma(r: u8, g: u8, b: u8) -> u8 {
    let y = 19_595 * u32::from(r) + 38_470 * u32::from(g) + 7_471 * u32::from(b);
    u8::try_from((y + 32_768) >> 16).unwrap_or(u8::MAX)
}

#[cfg(test)]
#[path = "ops_tests.rs"]
mod tests;
