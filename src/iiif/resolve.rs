//! From parsed [`Params`] and one image to exact pixels: the region in source pixels, the
//! output size, the rotation and quality to apply, and the canonical form (§4.8).
//!
//! Where the spec leaves the arithmetic to the server (§4.7: "the rounding method is
//! implementation specific"), this module chooses, and every choice is deterministic so the
//! canonical form can key caches and ETags:
//! - `square` is centred on the longer side (§4.1 leaves the position to the server).
//! - `pct:` regions round each edge to the nearest pixel, so tiles cut at the same percent
//!   meet without gap or overlap; a region that starts inside the image keeps at least one
//!   pixel on each side, and one that starts at or past 100% is outside.
//! - derived sides (`w,`, `,h`, `pct:n`) round to nearest, halves up.
//! - aspect-keeping fits (`max`, `^max`, `!w,h`) meet the tighter side exactly and round the
//!   other (implementation notes §4); under `maxArea` they take the largest longer side
//!   whose rounded other side keeps within the area. The derived side is at least 1 pixel
//!   there, since `max` must always give an image; the explicit forms answer
//!   [`IiifError::ZeroSize`] instead (§4.2).

use super::request::{Params, Quality, Region, Size, SizeForm};
use super::{IiifError, Rect};

/// The image a request is resolved against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    /// Width in pixels as the client sees it (after EXIF orientation).
    pub width: u32,
    /// Height in pixels as the client sees it.
    pub height: u32,
    /// What `default` means for this image (§4.4): `Color`, or `Gray` for a grayscale
    /// source. `Default` here is read as `Color`.
    pub default_quality: Quality,
}

/// The service's size limits, as info.json declares them (§5.2). `None`: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Limits {
    /// Largest output width.
    pub max_width: Option<u32>,
    /// Largest output height; without it, `max_width` bounds the height too (§5.2).
    pub max_height: Option<u32>,
    /// Largest output width × height.
    pub max_area: Option<u64>,
}

/// How the canonical form (§4.8) spells the size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CanonicalSize {
    /// `max`: the output is the largest size without upscaling.
    Max,
    /// `^max`: the output is the largest size the limits allow, upscaled.
    UpscaledMax,
    /// `w,h`, or `^w,h` when upscaled.
    Pixels,
}

/// A request decided for one image: everything the pipeline needs, nothing left to parse.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    /// The region to extract in source pixels: inside the image, at least 1 × 1 (§4.1).
    pub region: Rect<u32>,
    /// The region is the whole image.
    pub full: bool,
    /// Output width before rotation, at least 1 and within the limits (§4.2).
    pub width: u32,
    /// Output height before rotation, at least 1 and within the limits (§4.2).
    pub height: u32,
    /// The output is larger than the region on some side.
    pub upscaled: bool,
    /// How the canonical form spells the size.
    pub canonical_size: CanonicalSize,
    /// Mirror before rotating (§4.3).
    pub mirror: bool,
    /// Clockwise degrees in [0, 360): 360 is read as 0, the same image.
    pub degrees: f64,
    /// `degrees` in quarter turns (0 to 3) when it is a multiple of 90.
    pub quarter_turns: Option<u8>,
    /// The quality to produce: `default` replaced by the image's default (§4.4).
    pub quality: Quality,
    /// The request asked for the image's default quality, by name or as `default`.
    pub default_quality: bool,
}

/// Resolves `params` against `source` under `limits`.
///
/// # Errors
/// [`IiifError::RegionOutside`] (also for a 0 × 0 source), [`IiifError::ZeroSize`],
/// [`IiifError::Upscale`], [`IiifError::UpscaleUnsupported`], [`IiifError::OverLimits`].
pub fn resolve(params: &Params, source: &Source, limits: &Limits) -> Result<Resolved, IiifError> {
    let region = region_px(&params.region, source.width, source.height)?;
    let bounds = Bounds::of(limits);
    let (width, height) = size_px(&params.size, region, &bounds)?;
    let upscaled = width > region.width || height > region.height;
    // §4.8 names a size by what it gives, not by how it was asked for.
    let (rw, rh, out) = (region.width, region.height, Some((width, height)));
    let canonical_size = if !upscaled && bounds.max(rw, rh) == out {
        CanonicalSize::Max
    } else if upscaled && bounds.upscaled_max(rw, rh) == out {
        CanonicalSize::UpscaledMax
    } else {
        CanonicalSize::Pixels
    };
    let degrees = if params.rotation.degrees >= 360.0 {
        0.0
    } else {
        params.rotation.degrees
    };
    let image_default = match source.default_quality {
        Quality::Default => Quality::Color,
        q => q,
    };
    let quality = match params.quality {
        Quality::Default => image_default,
        q => q,
    };
    Ok(Resolved {
        region,
        full: region.width == source.width && region.height == source.height,
        width,
        height,
        upscaled,
        canonical_size,
        mirror: params.rotation.mirror,
        degrees,
        quarter_turns: (0u8..4).find(|&q| f64::from(q) * 90.0 == degrees),
        quality,
        default_quality: quality == image_default,
    })
}

impl Params {
    /// The canonical `{region}/{size}/{rotation}/{quality}.{format}` (§4.8) of this request
    /// as `resolved` (its resolution) decided it: `full` or `x,y,w,h`; `max`, `^max`, `w,h`
    /// or `^w,h`; `!` when mirrored and the degrees as an integer when whole, else the
    /// shortest decimal (§4.7); `default` when the image's default quality was asked for.
    /// Requests for the same pixels give the same string.
    pub fn canonical(&self, resolved: &Resolved) -> String {
        let r = resolved;
        let region = if r.full {
            "full".to_owned()
        } else {
            r.region.to_string()
        };
        let size = match r.canonical_size {
            CanonicalSize::Max => "max".to_owned(),
            CanonicalSize::UpscaledMax => "^max".to_owned(),
            CanonicalSize::Pixels => {
                let caret = if r.upscaled { "^" } else { "" };
                format!("{caret}{},{}", r.width, r.height)
            }
        };
        let bang = if r.mirror { "!" } else { "" };
        let quality = if r.default_quality {
            Quality::Default
        } else {
            r.quality
        };
        format!(
            "{region}/{size}/{bang}{}/{quality}.{}",
            r.degrees, self.format
        )
    }
}

/// The limits with `None` as no bound, and whether any was set.
struct Bounds {
    width: u32,
    height: u32,
    area: u64,
    any: bool,
}

impl Bounds {
    fn of(l: &Limits) -> Self {
        Bounds {
            width: l.max_width.unwrap_or(u32::MAX),
            height: l.max_height.or(l.max_width).unwrap_or(u32::MAX),
            area: l.max_area.unwrap_or(u64::MAX),
            any: l.max_width.is_some() || l.max_height.is_some() || l.max_area.is_some(),
        }
    }

    /// `max` (§4.2): the region's size, or the largest within the limits.
    fn max(&self, rw: u32, rh: u32) -> Option<(u32, u32)> {
        fit(rw, rh, rw.min(self.width), rh.min(self.height), self.area)
    }

    /// `^max` (§4.2): the largest the limits allow. A service that declares none does not
    /// upscale (§5.7), so there it is `max`.
    fn upscaled_max(&self, rw: u32, rh: u32) -> Option<(u32, u32)> {
        if self.any {
            fit(rw, rh, self.width, self.height, self.area)
        } else {
            self.max(rw, rh)
        }
    }

    fn admit(&self, w: u32, h: u32) -> bool {
        w <= self.width
            && h <= self.height
            && u64::from(w).saturating_mul(u64::from(h)) <= self.area
    }
}

/// The region in pixels of a `width` × `height` image (§4.1).
fn region_px(region: &Region, width: u32, height: u32) -> Result<Rect<u32>, IiifError> {
    if width == 0 || height == 0 {
        return Err(IiifError::RegionOutside);
    }
    let rect = Rect::new;
    match *region {
        Region::Full => Ok(rect(0, 0, width, height)),
        Region::Square => {
            let side = width.min(height);
            Ok(rect((width - side) / 2, (height - side) / 2, side, side))
        }
        Region::Pixels(r) => {
            // Starting at the edge is outside: "x,y position 0,0 is the upper left-most pixel".
            if r.x >= width || r.y >= height {
                return Err(IiifError::RegionOutside);
            }
            // §4.1: "cropped at the image's edge, rather than adding empty space".
            let (w, h) = (r.width.min(width - r.x), r.height.min(height - r.y));
            Ok(rect(r.x, r.y, w, h))
        }
        Region::Percent(r) => {
            let x = pct_span(r.x, r.width, width);
            let y = pct_span(r.y, r.height, height);
            match (x, y) {
                (Some((x, w)), Some((y, h))) => Ok(rect(x, y, w, h)),
                _ => Err(IiifError::RegionOutside),
            }
        }
    }
}

/// Start and length in pixels of `start`..`start + len` percent of `full` (> 0) pixels; each
/// edge rounded, at least one pixel, `None` when it starts at or past the far edge.
fn pct_span(start: f64, len: f64, full: u32) -> Option<(u32, u32)> {
    if start >= 100.0 {
        return None;
    }
    let total = f64::from(full);
    let last = full.saturating_sub(1);
    let first = round_px(start * total / 100.0).min(last);
    let end = if start + len >= 100.0 {
        full
    } else {
        round_px((start + len) * total / 100.0).min(full)
    };
    Some((first, end.max(first.saturating_add(1)) - first))
}

/// Nearest whole pixel of a finite non-negative value, clamped to `u32`.
fn round_px(v: f64) -> u32 {
    v.round().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// The output size of `size` for `region` (§4.2).
fn size_px(size: &Size, region: Rect<u32>, bounds: &Bounds) -> Result<(u32, u32), IiifError> {
    let (rw, rh) = (region.width, region.height);
    let up = size.upscale;
    let (w, h) = match size.form {
        SizeForm::Max if up => bounds.upscaled_max(rw, rh).ok_or(IiifError::OverLimits)?,
        SizeForm::Max => bounds.max(rw, rh).ok_or(IiifError::OverLimits)?,
        SizeForm::Confined(w, h) => {
            // §4.2: "as large as possible but not larger than the extracted region [without
            // ^], w or h, or server-imposed limits": the limits confine, they are no error.
            let (bw, bh) = if up { (w, h) } else { (w.min(rw), h.min(rh)) };
            fit(
                rw,
                rh,
                bw.min(bounds.width),
                bh.min(bounds.height),
                bounds.area,
            )
            .ok_or(IiifError::OverLimits)?
        }
        SizeForm::Width(w) => (w, scale(rh, w, rw).ok_or(IiifError::OverLimits)?),
        SizeForm::Height(h) => (scale(rw, h, rh).ok_or(IiifError::OverLimits)?, h),
        SizeForm::Percent(n) => (percent(rw, n)?, percent(rh, n)?),
        SizeForm::Exact(w, h) => (w, h),
    };
    if w == 0 || h == 0 {
        return Err(IiifError::ZeroSize);
    }
    if w > rw || h > rh {
        if !up {
            return Err(IiifError::Upscale);
        }
        if !bounds.any {
            return Err(IiifError::UpscaleUnsupported);
        }
    }
    if !bounds.admit(w, h) {
        return Err(IiifError::OverLimits);
    }
    Ok((w, h))
}

/// `n` percent of `side`, rounded; over `u32` is over any limit.
fn percent(side: u32, n: f64) -> Result<u32, IiifError> {
    let v = (f64::from(side) * n / 100.0).round();
    if v > f64::from(u32::MAX) || v.is_nan() {
        return Err(IiifError::OverLimits);
    }
    Ok(round_px(v))
}

/// `a × p / b` rounded to nearest, halves up, exactly; `None` over `u32` or for `b` = 0.
fn scale(a: u32, p: u32, b: u32) -> Option<u32> {
    let (a, p, b) = (u128::from(a), u128::from(p), u128::from(b));
    let twice = a.checked_mul(p)?.checked_mul(2)?.checked_add(b)?;
    u32::try_from(twice.checked_div(b.checked_mul(2)?)?).ok()
}

/// The largest size with the aspect ratio of `rw` × `rh` within `bw` × `bh` and `area`;
/// `None` when not even 1 × 1 fits.
fn fit(rw: u32, rh: u32, bw: u32, bh: u32, area: u64) -> Option<(u32, u32)> {
    if bw == 0 || bh == 0 || area == 0 {
        return None;
    }
    // The tighter side of the box is met exactly, the other follows (never past its bound:
    // rounding a value at most bh gives at most bh).
    let (w, h) = if u64::from(bw) * u64::from(rh) <= u64::from(bh) * u64::from(rw) {
        (bw, scale(rh, bw, rw)?.max(1))
    } else {
        (scale(rw, bh, rh)?.max(1), bh)
    };
    if u64::from(w) * u64::from(h) <= area {
        return Some((w, h));
    }
    // The longer side leads: one pixel more there moves the other by at most one, so the
    // largest lead within the area is found by bisection over a monotone test.
    let landscape = rw >= rh;
    let (lead, other, top) = if landscape { (rw, rh, w) } else { (rh, rw, h) };
    let follow = |p: u32| scale(other, p, lead).unwrap_or(u32::MAX).max(1);
    let fits = |p: u32| u64::from(p).saturating_mul(u64::from(follow(p))) <= area;
    let (mut lo, mut hi) = (1u32, top);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if fits(mid) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    let q = follow(lo);
    Some(if landscape { (lo, q) } else { (q, lo) })
}

#[cfg(test)]
#[path = "resolve_tests.rs"]
mod tests;
