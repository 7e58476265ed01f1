//! Output sizes and the JPEG decode scale: pure arithmetic over the source size, its EXIF
//! orientation and the requested box.

use super::params::{Fit, Params};

/// What to do with the pixels, all sizes in the stored (not yet rotated) frame except
/// `canvas`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// JPEG decode scale numerator over 8 (8 = full size, 1 = 1/8).
    pub numerator: u8,
    /// Size the decoded image is resized to (stored frame).
    pub resize: (u32, u32),
    /// Crop the source around its centre to the `resize` aspect first (`fit=cover`).
    pub crop: bool,
    /// Pad to this size after rotation (`fit=contain`), oriented frame.
    pub canvas: Option<(u32, u32)>,
}

/// Whether an EXIF orientation turns the image by 90 or 270 degrees.
pub fn swaps_axes(orientation: u8) -> bool {
    (5..=8).contains(&orientation)
}

/// Plans a transform of a `width` x `height` source with EXIF `orientation`; no output side
/// exceeds `max_side` (a format conversion of a 100 MP photo is capped like any other).
pub fn plan(width: u32, height: u32, orientation: u8, params: &Params, max_side: u32) -> Geometry {
    let swap = swaps_axes(orientation);
    let (sw, sh) = if swap {
        (height, width)
    } else {
        (width, height)
    };
    let (sw_f, sh_f) = (f64::from(sw), f64::from(sh));
    let scaled = |s: f64| (side(sw_f * s), side(sh_f * s));
    let cap = (f64::from(max_side) / sw_f)
        .min(f64::from(max_side) / sh_f)
        .min(1.0);
    // (size the whole source is scaled to, final output, crop, canvas), oriented frame.
    let (full, out, crop, canvas) = match (params.width, params.height, params.fit) {
        (None, None, _) => (scaled(cap), scaled(cap), false, None),
        (w, h, Fit::Inside) | (w @ None, h, _) | (w, h @ None, _) => {
            let s = [
                w.map(|w| f64::from(w) / sw_f),
                h.map(|h| f64::from(h) / sh_f),
            ]
            .into_iter()
            .flatten()
            .fold(cap, f64::min); // never enlarges
            (scaled(s), scaled(s), false, None)
        }
        (Some(w), Some(h), Fit::Cover) => {
            let s = (f64::from(w) / sw_f).max(f64::from(h) / sh_f);
            (scaled(s), (w, h), true, None)
        }
        (Some(w), Some(h), Fit::Contain) => {
            let s = (f64::from(w) / sw_f).min(f64::from(h) / sh_f);
            (scaled(s), scaled(s), false, Some((w, h)))
        }
        (Some(w), Some(h), Fit::Fill) => ((w, h), (w, h), false, None),
    };
    let stored = |(a, b): (u32, u32)| if swap { (b, a) } else { (a, b) };
    let need = stored(full);
    Geometry {
        numerator: jpeg_numerator(width, height, need),
        resize: stored(out),
        crop,
        canvas,
    }
}

/// The smallest libjpeg scale (1/8, 1/4, 1/2, 1) whose output still has at least `need`
/// pixels on both axes, so that only downscaling follows (as libvips' shrink-on-load).
fn jpeg_numerator(width: u32, height: u32, need: (u32, u32)) -> u8 {
    [1u8, 2, 4]
        .into_iter()
        .find(|&n| {
            let d = 8 / u32::from(n);
            width.div_ceil(d) >= need.0 && height.div_ceil(d) >= need.1
        })
        .unwrap_or(8)
}

fn side(v: f64) -> u32 {
    // Rounded like sharp; at least one pixel; within u32 (callers cap inputs far lower).
    v.round().clamp(1.0, f64::from(u32::MAX)) as u32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transform::format::FormatChoice;

    fn params(w: Option<u32>, h: Option<u32>, fit: Fit) -> Params {
        Params {
            width: w,
            height: h,
            fit,
            format: FormatChoice::Auto,
            quality: None,
        }
    }

    #[test]
    fn plans() {
        // (source w, h, orientation, w, h, fit) -> (numerator, resize, crop, canvas)
        let cases = [
            // 24 MP to 400 wide: 1/8 decode (750 x 500) then resize.
            (
                (6000, 4000, 1),
                (Some(400), None, Fit::Inside),
                (1, (400, 267), false, None),
            ),
            // 1280 wide: 1/4 (1500 x 1000).
            (
                (6000, 4000, 1),
                (Some(1280), None, Fit::Inside),
                (2, (1280, 853), false, None),
            ),
            // Never enlarged by inside.
            (
                (600, 400, 1),
                (Some(8000), None, Fit::Inside),
                (8, (600, 400), false, None),
            ),
            // Height only.
            (
                (600, 400, 1),
                (None, Some(100), Fit::Inside),
                (2, (150, 100), false, None),
            ),
            // Box, inside: the tighter side wins.
            (
                (600, 400, 1),
                (Some(300), Some(100), Fit::Inside),
                (2, (150, 100), false, None),
            ),
            // Cover: scaled to cover, cropped to the box.
            (
                (600, 400, 1),
                (Some(100), Some(100), Fit::Cover),
                (2, (100, 100), true, None),
            ),
            // Contain: scaled inside, padded to the box.
            (
                (600, 400, 1),
                (Some(100), Some(100), Fit::Contain),
                (2, (100, 67), false, Some((100, 100))),
            ),
            // Fill: stretched.
            (
                (600, 400, 1),
                (Some(50), Some(300), Fit::Fill),
                (8, (50, 300), false, None),
            ),
            // Orientation 6 (90 degrees): 600 x 400 stored shows as 400 x 600; w=200 means
            // 200 x 300 shown, so 300 x 200 stored.
            (
                (600, 400, 6),
                (Some(200), None, Fit::Inside),
                (4, (300, 200), false, None),
            ),
            // No size: format conversion only, full decode.
            (
                (600, 400, 1),
                (None, None, Fit::Inside),
                (8, (600, 400), false, None),
            ),
            // ...capped at 4096 for a 100 MP source: a 1/2 decode, not 300 MB of pixels.
            (
                (12240, 8160, 1),
                (None, None, Fit::Inside),
                (4, (4096, 2731), false, None),
            ),
            (
                (12240, 8160, 1),
                (Some(4096), Some(4096), Fit::Inside),
                (4, (4096, 2731), false, None),
            ),
        ];
        for ((sw, sh, o), (w, h, fit), (n, resize, crop, canvas)) in cases {
            let g = plan(sw, sh, o, &params(w, h, fit), 4096);
            assert_eq!(
                g,
                Geometry {
                    numerator: n,
                    resize,
                    crop,
                    canvas
                },
                "{sw}x{sh} o{o} {w:?}x{h:?} {fit:?}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_decodes_enough(
            sw in 1u32..70_000, sh in 1u32..70_000, o in 1u8..=8,
            w in proptest::option::of(1u32..5000), h in proptest::option::of(1u32..5000),
            fit in 0usize..4,
        ) {
            let fit = [Fit::Inside, Fit::Cover, Fit::Contain, Fit::Fill][fit];
            let g = plan(sw, sh, o, &params(w, h, fit), 4096);
            proptest::prop_assert!(fit != Fit::Inside || (g.resize.0 <= 4096 && g.resize.1 <= 4096));
            proptest::prop_assert!(g.resize.0 >= 1 && g.resize.1 >= 1);
            let d = 8 / u32::from(g.numerator);
            // The decoded image is never smaller than what inside/cover resize to.
            if fit != Fit::Fill {
                proptest::prop_assert!(sw.div_ceil(d) >= g.resize.0.min(sw));
                proptest::prop_assert!(sh.div_ceil(d) >= g.resize.1.min(sh));
            }
        }
    }
}
