//! Which level and which tiles answer an image request, decided from the layout alone.
//!
//! The levels a client is told about (info.json's `scaleFactors`, [`pyramid_levels`]) are the
//! leading levels that each halve the one before, as `vips tiffsave --pyramid` writes them
//! (halved sizes rounded down; rounded up is read too), with one tile size. A request for
//! exactly one stored tile of such a level, as a viewer builds it from info.json, is answered
//! with that tile ([`stored_tile`]); any other from the smallest level that still holds the
//! asked size ([`level_for`]).

use super::ifd::Header;
use super::layout::{Layout, Level};
use crate::iiif::Rect;

/// Whether `head`, the first bytes of an object, starts a classic or BigTIFF file.
pub fn is_tiff(head: &[u8]) -> bool {
    Header::parse(head).is_ok()
}

/// How many leading levels form a power-of-two pyramid with one tile size: level `i` is the
/// full image's size divided by 2^i, rounded down or up. At least 1 for a layout with a level.
pub fn pyramid_levels(layout: &Layout) -> usize {
    let Some(full) = layout.levels.first() else {
        return 0;
    };
    let halves = |whole: u32, part: u32, i: u32| {
        let floor = whole.checked_shr(i).unwrap_or(0);
        part == floor || part == floor + u32::from(whole & ((1u32 << i) - 1) != 0)
    };
    let mut n = 1;
    for (i, level) in layout.levels.iter().enumerate().skip(1) {
        let Ok(i) = u32::try_from(i) else { break };
        let same_tiles =
            (level.tile_width, level.tile_height) == (full.tile_width, full.tile_height);
        if i >= 31
            || !same_tiles
            || !halves(full.width, level.width, i)
            || !halves(full.height, level.height, i)
        {
            break;
        }
        n += 1;
    }
    n
}

/// The rectangle of the full image that `rect` of level `i` stands for: scaled by 2^i and
/// cut to the image.
fn in_full(full: &Level, rect: Rect<u32>, i: usize) -> Option<Rect<u32>> {
    let s = 1u32.checked_shl(u32::try_from(i).ok()?)?;
    let (x, y) = (rect.x.checked_mul(s)?, rect.y.checked_mul(s)?);
    let right = rect
        .x
        .checked_add(rect.width)?
        .saturating_mul(s)
        .min(full.width);
    let bottom = rect
        .y
        .checked_add(rect.height)?
        .saturating_mul(s)
        .min(full.height);
    (x < right && y < bottom).then(|| Rect::new(x, y, right - x, bottom - y))
}

/// The stored tile (level, index) whose pixels are exactly `region` of the full image at
/// `size`, among the first `levels` levels: the tile's rectangle scaled by 2^level, and the
/// size of that rectangle in the level. An edge tile qualifies with its part inside the
/// level (its stored bytes are padded to the tile size: the caller cuts them).
pub fn stored_tile(
    layout: &Layout,
    levels: usize,
    region: Rect<u32>,
    size: (u32, u32),
) -> Option<(usize, usize)> {
    let full = layout.levels.first()?;
    (0..levels.min(layout.levels.len())).find_map(|i| {
        let level = layout.levels.get(i)?;
        let (tw, th) = (level.tile_width.max(1), level.tile_height.max(1));
        let s = 1u32.checked_shl(u32::try_from(i).ok()?)?;
        let (x, y) = (region.x / s, region.y / s);
        if x % tw != 0 || y % th != 0 {
            return None;
        }
        let index = level.tile_index(x / tw, y / th)?;
        let rect = level.tile_rect(index)?;
        let asked = size == (rect.width, rect.height);
        (asked && in_full(full, rect, i) == Some(region)).then_some((i, index))
    })
}

/// The level to decode `region` (of the full image) from for an output of `size`: the
/// smallest of the first `levels` whose part of the region is still at least `size` on both
/// sides (the full image when none is), and that part in the level's pixels, edges rounded
/// outward and cut to the level.
pub fn level_for(
    layout: &Layout,
    levels: usize,
    region: Rect<u32>,
    size: (u32, u32),
) -> Option<(usize, Rect<u32>)> {
    let full = layout.levels.first()?;
    let part = |level: &Level| {
        let scale = |v: u32, num: u32, den: u32, up: bool| {
            let n = u64::from(v) * u64::from(num);
            let d = u64::from(den.max(1));
            let q = if up { n.div_ceil(d) } else { n / d };
            u32::try_from(q).unwrap_or(u32::MAX)
        };
        let x = scale(region.x, level.width, full.width, false);
        let y = scale(region.y, level.height, full.height, false);
        let right = scale(region.x + region.width, level.width, full.width, true);
        let bottom = scale(region.y + region.height, level.height, full.height, true);
        let (right, bottom) = (right.min(level.width), bottom.min(level.height));
        (x < right && y < bottom).then(|| Rect::new(x, y, right - x, bottom - y))
    };
    let mut best = (0, part(full)?);
    for (i, level) in layout.levels.iter().enumerate().take(levels).skip(1) {
        match part(level) {
            Some(r) if r.width >= size.0 && r.height >= size.1 => best = (i, r),
            _ => break,
        }
    }
    Some(best)
}

#[cfg(test)]
#[path = "pick_tests.rs"]
mod tests;
