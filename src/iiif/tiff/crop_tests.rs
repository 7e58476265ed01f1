use super::*;
use crate::iiif::tiff::testing;
use proptest::prelude::*;

/// A 64 x 64 gradient JPEG, baseline; `rgb`: coded as RGB without subsampling (as libtiff
/// codes Photometric RGB tiles), else YCbCr 4:2:0.
fn encode(rgb: bool) -> Vec<u8> {
    let px: Vec<u8> = (0..64u32 * 64)
        .flat_map(|i| {
            let (x, y) = (i % 64, i / 64);
            [(x * 4) as u8, (y * 4) as u8, ((x + y) * 2) as u8]
        })
        .collect();
    testing::baseline_jpeg(64, 64, &px, rgb, 90.0)
}

fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let d = mozjpeg::Decompress::new_mem(jpeg).unwrap();
    let (w, h) = d.size();
    let mut started = d.rgb().unwrap();
    let px: Vec<[u8; 3]> = started.read_scanlines().unwrap();
    (w, h, px.concat())
}

/// Mean absolute difference between the cut's pixels and the same rectangle of the source.
fn mean_error(source: &[u8], cut: &[u8], width: usize, height: usize) -> f64 {
    let (sw, _, src) = decode(source);
    let (cw, ch, got) = decode(cut);
    assert_eq!((cw, ch), (width, height), "the cut's frame size");
    let mut sum = 0u64;
    for y in 0..height {
        for x in 0..width * 3 {
            sum += u64::from(src[y * sw * 3 + x].abs_diff(got[y * width * 3 + x]));
        }
    }
    sum as f64 / (width * height * 3) as f64
}

#[test]
fn an_rgb_tile_is_cut_to_its_exact_pixels() {
    let source = encode(true);
    // Whole blocks, a partial last block on both sides, and one pixel.
    for (w, h) in [(64, 64), (40, 24), (37, 61), (1, 1)] {
        let cut = crop_jpeg(&source, w, h).unwrap();
        assert_eq!(
            mean_error(&source, &cut, w as usize, h as usize),
            0.0,
            "{w} x {h}"
        );
    }
}

#[test]
fn a_subsampled_tile_differs_at_most_where_chroma_is_interpolated() {
    let source = encode(false);
    for (w, h) in [(48, 32), (37, 61)] {
        let cut = crop_jpeg(&source, w, h).unwrap();
        let mae = mean_error(&source, &cut, w as usize, h as usize);
        assert!(mae < 1.0, "{w} x {h}: mean error {mae}");
    }
}

#[test]
fn a_cut_larger_than_the_tile_or_empty_is_refused() {
    let source = encode(true);
    assert!(crop_jpeg(&source, 65, 10).is_err());
    assert!(crop_jpeg(&source, 10, 65).is_err());
    assert!(crop_jpeg(&source, 0, 10).is_err());
}

#[test]
fn broken_streams_are_errors() {
    let source = encode(false);
    assert!(crop_jpeg(&[], 8, 8).is_err());
    assert!(crop_jpeg(b"not a jpeg", 8, 8).is_err());
    assert!(crop_jpeg(&source[..source.len() / 2], 8, 8).is_err());
}

proptest! {
    #[test]
    fn never_panics(cut in 0usize..2000, flip in 0usize..2000, w in 0u32..80, h in 0u32..80) {
        let mut bytes = encode(false);
        if let Some(b) = bytes.get_mut(flip) {
            *b ^= 0x5a;
        }
        bytes.truncate(cut.max(2));
        let _ = crop_jpeg(&bytes, w, h);
    }
}
