//! A large sample image for first contact (`imgorigin samples DIR`): the bundled samples are
//! a few KB, too small to show a Range read or a resize of something big. Made here, not
//! committed: a 24-megapixel JPEG (6000 x 4000) of smooth waves with fine grain, so that it
//! compresses like a photograph (several MB) rather than like a flat test card.

use crate::transform::encode::encode;
use crate::transform::format::Format;
use crate::transform::TransformError;

/// Width and height of [`large_jpeg`]: 24 MP, a common camera's 3:2 frame.
pub const LARGE: (u32, u32) = (6000, 4000);

/// The name [`large_jpeg`] is written under.
pub const LARGE_NAME: &str = "large.jpg";

/// JPEG quality of the sample: a camera's "fine".
const QUALITY: u8 = 90;

/// The sample's pixels (RGB8), the same on every machine.
fn pixels(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(width as usize * height as usize * 3);
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    for y in 0..height {
        for x in 0..width {
            let (fx, fy) = (
                f64::from(x) / f64::from(width),
                f64::from(y) / f64::from(height),
            );
            // splitmix64: grain a photograph's sensor would add.
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            let grain = ((z ^ (z >> 31)) & 15) as f64 - 7.5;
            let wave = |f: f64, phase: f64| (f * std::f64::consts::TAU + phase).sin();
            let r = 128.0 + 90.0 * wave(fx * 3.0 + fy, 0.0) + grain;
            let g = 128.0 + 80.0 * wave(fy * 4.0 - fx, 1.0) + grain;
            let b = 140.0 + 70.0 * wave(fx * 7.0 * fy, 2.0) + grain;
            out.extend([r, g, b].map(|v| v.clamp(0.0, 255.0) as u8));
        }
    }
    out
}

/// The large sample as JPEG bytes.
///
/// # Errors
/// When the encoder fails (out of memory).
pub fn large_jpeg() -> Result<Vec<u8>, TransformError> {
    let (width, height) = LARGE;
    encode(
        &pixels(width, height),
        width,
        height,
        3,
        Format::Jpeg,
        QUALITY,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_are_deterministic_and_varied() {
        let a = pixels(64, 48);
        assert_eq!(a.len(), 64 * 48 * 3);
        assert_eq!(a, pixels(64, 48));
        let distinct: std::collections::HashSet<_> = a.chunks(3).collect();
        assert!(distinct.len() > 1000, "{} colours", distinct.len());
    }
}
