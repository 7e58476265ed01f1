//! Region decodes against the whole-image decode (`decode::jpeg` at the same scale, then
//! cropped), on JPEGs made here: 4:2:0 and 4:4:4 (mozjpeg), 4:2:2 and greyscale (`image`'s
//! encoder), progressive; sizes that are not whole MCUs; every numerator; regions at the
//! corners, on the edges, at offsets off the MCU grid, 1 x 1 and the whole image. Then: the
//! same pixels through a reader of 7-byte chunks, the rest of the source left unread, and
//! errors (truncated, garbage, regions outside, limits) that never panic.

use super::*;
use proptest::prelude::*;
use std::io::Read;

/// Not whole MCUs either way, so the right and bottom edges are partial iMCUs at every
/// scale.
const W: u32 = 203;
const H: u32 = 141;

/// Colour edges and texture: strong chroma changes, where upsampling at a crop edge would
/// show.
fn pixel(x: u32, y: u32) -> [u8; 3] {
    let noise = (x.wrapping_mul(7919) ^ y.wrapping_mul(104_729)).wrapping_mul(2_654_435_761) >> 27;
    let stripe = if (x / 5 + y / 7).is_multiple_of(3) {
        180
    } else {
        0
    };
    [
        (x * 255 / W) as u8 ^ stripe,
        (y * 255 / H) as u8,
        (noise as u8).wrapping_mul(8).wrapping_add(stripe),
    ]
}

fn rgb(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| pixel(x, y)))
        .collect()
}

/// mozjpeg, baseline (or progressive), chroma pixels of `chroma` luma pixels.
fn mozjpeg(w: u32, h: u32, chroma: (u8, u8), progressive: bool) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_fastest_defaults();
    c.set_size(w as usize, h as usize);
    c.set_quality(80.0);
    c.set_chroma_sampling_pixel_sizes(chroma, chroma);
    if progressive {
        c.set_progressive_mode();
    }
    let mut s = c.start_compress(Vec::new()).expect("start");
    s.write_scanlines(&rgb(w, h)).expect("scanlines");
    s.finish().expect("finish")
}

/// `image`'s encoder (independent of libjpeg): 4:4:4 for RGB (whatever its docs say), or
/// greyscale.
fn image_jpeg(w: u32, h: u32, grey: bool) -> Vec<u8> {
    let img = image::RgbImage::from_raw(w, h, rgb(w, h)).expect("size");
    let img = match grey {
        true => image::DynamicImage::ImageLuma8(image::DynamicImage::ImageRgb8(img).to_luma8()),
        false => image::DynamicImage::ImageRgb8(img),
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&img)
        .expect("encode");
    out
}

fn fixtures() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("4:2:0", mozjpeg(W, H, (2, 2), false)),
        ("4:2:2", mozjpeg(W, H, (2, 1), false)),
        ("4:4:4", mozjpeg(W, H, (1, 1), false)),
        ("4:4:4 by image", image_jpeg(W, H, false)),
        ("grey by image", image_jpeg(W, H, true)),
        ("4:2:0 progressive", mozjpeg(W, H, (2, 2), true)),
    ]
}

fn whole(jpg: &[u8], numerator: u8) -> Pixels {
    let header = decode::jpeg_header(jpg, u64::MAX).expect("header");
    decode::jpeg(jpg, header, numerator).expect("whole decode")
}

fn cropped(p: &Pixels, r: Rect<u32>) -> Vec<u8> {
    let row = p.width as usize * 3;
    (r.y..r.y + r.height)
        .flat_map(|y| {
            let start = y as usize * row + r.x as usize * 3;
            p.data[start..start + r.width as usize * 3].iter().copied()
        })
        .collect()
}

/// Corners, edges, off-grid offsets, single pixels and rows, the whole image, of a w x h
/// output.
fn regions(w: u32, h: u32) -> Vec<Rect<u32>> {
    let r = |x: u32, y: u32, rw: u32, rh: u32| {
        let (x, y) = (x.min(w - 1), y.min(h - 1));
        Rect::new(x, y, rw.clamp(1, w - x), rh.clamp(1, h - y))
    };
    let (cw, ch) = (w.div_ceil(3), h.div_ceil(3));
    vec![
        r(0, 0, w, h),
        r(0, 0, 1, 1),
        r(w - 1, h - 1, 1, 1),
        r(0, 0, cw, ch),
        r(w - cw, 0, cw, ch),
        r(0, h - ch, cw, ch),
        r(w - cw, h - ch, cw, ch),
        r(7, 9, 33, 21),
        r(17, 3, 1, 40),
        r(w / 2 + 1, h / 2 - 1, 5, 3),
        r(16, 16, 16, 16),
        r(15, 15, 18, 18),
        r(w - 3, 0, 3, h),
        r(0, h - 2, w, 2),
        r(1, 1, w - 2, h - 2),
    ]
}

fn max_diff(a: &[u8], b: &[u8]) -> u8 {
    assert_eq!(a.len(), b.len(), "sizes");
    a.iter()
        .zip(b)
        .map(|(p, q)| p.abs_diff(*q))
        .max()
        .unwrap_or(0)
}

#[test]
fn regions_equal_the_whole_decode_cropped() {
    for (name, jpg) in fixtures() {
        for numerator in [1, 2, 4, 8] {
            let full = whole(&jpg, numerator);
            for r in regions(full.width, full.height) {
                let got = jpeg_region(&jpg[..], numerator, r, u64::MAX)
                    .unwrap_or_else(|e| panic!("{name} {numerator}/8 {r}: {e}"));
                assert_eq!(
                    (got.width, got.height, got.channels),
                    (r.width, r.height, 3)
                );
                let want = cropped(&full, r);
                assert_eq!(
                    max_diff(&got.data, &want),
                    0,
                    "{name} at {numerator}/8, region {r} of {} x {}",
                    full.width,
                    full.height
                );
            }
        }
    }
}

/// Hands out at most 7 bytes per `fill_buf`.
struct Trickle<'a> {
    data: &'a [u8],
    consumed: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.fill_buf()?.read(buf)?;
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Trickle<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        Ok(&self.data[..self.data.len().min(7)])
    }
    fn consume(&mut self, n: usize) {
        self.data = &self.data[n..];
        self.consumed += n;
    }
}

#[test]
fn seven_byte_chunks_give_the_same_pixels() {
    for (name, jpg) in fixtures() {
        for numerator in [1, 8] {
            let full = whole(&jpg, numerator);
            for r in regions(full.width, full.height) {
                let reader = Trickle {
                    data: &jpg,
                    consumed: 0,
                };
                let got = jpeg_region(reader, numerator, r, u64::MAX).expect(name);
                assert_eq!(got.data, cropped(&full, r), "{name} {numerator}/8 {r}");
            }
        }
    }
}

#[test]
fn stops_reading_after_the_regions_last_row() {
    let jpg = mozjpeg(1024, 1024, (2, 2), false);
    let mut reader = Trickle {
        data: &jpg,
        consumed: 0,
    };
    let got = jpeg_region(&mut reader, 8, Rect::new(500, 0, 64, 64), u64::MAX);
    assert!(got.is_ok());
    assert!(
        reader.consumed < jpg.len() / 8,
        "read {} of {} bytes for the top rows",
        reader.consumed,
        jpg.len()
    );
}

#[test]
fn exif_orientation_is_read_as_it_streams_by() {
    // Big-endian TIFF, IFD0 with one entry: Orientation = 6; then a second, longer APP1.
    let mut app1 = b"\xFF\xE1\x00\x22Exif\0\0MM\0*\0\0\0\x08\0\x01".to_vec();
    app1.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]);
    app1.extend_from_slice(b"\xFF\xE1\x01\x02");
    app1.extend_from_slice(&[b'x'; 256]);
    let jpg = mozjpeg(64, 48, (2, 2), false);
    let with_exif = [&jpg[..2], &app1, &jpg[2..]].concat();
    assert_eq!(
        decode::jpeg_header(&with_exif, u64::MAX)
            .expect("header")
            .orientation,
        6
    );
    let got = jpeg_region(&with_exif[..], 8, Rect::new(3, 4, 5, 6), u64::MAX).expect("decode");
    assert_eq!(got.orientation, 6);
    let plain = jpeg_region(&jpg[..], 8, Rect::new(3, 4, 5, 6), u64::MAX).expect("decode");
    assert_eq!(plain.orientation, 1);
    assert_eq!(got.data, plain.data);
}

fn is_malformed(r: Result<Pixels, TransformError>) -> bool {
    matches!(r, Err(TransformError::Malformed(_)))
}

#[test]
fn truncated_data_before_the_region_ends_is_an_error() {
    for (name, jpg) in fixtures() {
        let bottom = Rect::new(0, H - 1, W, 1);
        for cut in (0..jpg.len() - 2).step_by(97).chain([jpg.len() - 2]) {
            let got = jpeg_region(&jpg[..cut], 8, bottom, u64::MAX);
            assert!(is_malformed(got), "{name} cut at {cut}");
        }
    }
}

#[test]
fn garbage_and_empty_sources_are_errors() {
    assert!(is_malformed(jpeg_region(
        &[][..],
        8,
        Rect::new(0, 0, 1, 1),
        u64::MAX
    )));
    let garbage: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 251) as u8).collect();
    assert!(is_malformed(jpeg_region(
        &garbage[..],
        8,
        Rect::new(0, 0, 1, 1),
        u64::MAX
    )));
    let header_only = &mozjpeg(64, 48, (2, 2), false)[..200];
    let got = jpeg_region(header_only, 8, Rect::new(0, 0, 1, 1), u64::MAX);
    assert!(is_malformed(got));
}

#[test]
fn regions_outside_the_scaled_image_are_errors() {
    let jpg = mozjpeg(W, H, (2, 2), false);
    // 203 x 141 at 1/8 is 26 x 18 (rounded up).
    for (numerator, r) in [
        (8, Rect::new(0, 0, W + 1, 1)),
        (8, Rect::new(0, H, 1, 1)),
        (8, Rect::new(W - 1, 0, 2, 1)),
        (8, Rect::new(0, 0, 0, 1)),
        (8, Rect::new(0, 0, 1, 0)),
        (8, Rect::new(u32::MAX, 0, 2, 1)),
        (8, Rect::new(0, u32::MAX, 1, u32::MAX)),
        (1, Rect::new(0, 0, 27, 1)),
        (1, Rect::new(25, 17, 1, 2)),
    ] {
        assert!(
            is_malformed(jpeg_region(&jpg[..], numerator, r, u64::MAX)),
            "{numerator} {r}"
        );
    }
    assert!(jpeg_region(&jpg[..], 1, Rect::new(25, 17, 1, 1), u64::MAX).is_ok());
}

#[test]
fn limits_and_scales_are_typed_errors() {
    let jpg = mozjpeg(W, H, (2, 2), false);
    let r = Rect::new(0, 0, 1, 1);
    let pixels = u64::from(W * H);
    assert!(matches!(
        jpeg_region(&jpg[..], 8, r, pixels - 1),
        Err(TransformError::TooManyPixels { pixels: p, .. }) if p == pixels
    ));
    assert!(jpeg_region(&jpg[..], 8, r, pixels).is_ok());
    for numerator in [0, 3, 9, 16] {
        let got = jpeg_region(&jpg[..], numerator, r, u64::MAX);
        assert!(
            matches!(got, Err(TransformError::Unsupported(_))),
            "{numerator}"
        );
    }
    let progressive = mozjpeg(W, H, (2, 2), true);
    // 26 x 18 luma blocks (rounded to 2 x 2 MCUs) + 2 x 13 x 9 chroma, 128 bytes each.
    let needed = (26 * 18 + 2 * 13 * 9) * 128;
    let got = decode_region(&progressive[..], 8, r, u64::MAX, needed - 1);
    assert!(matches!(got, Err(TransformError::TooComplex(_))), "{got:?}");
    assert!(decode_region(&progressive[..], 8, r, u64::MAX, needed).is_ok());
    // A baseline scan buffers nothing.
    assert!(decode_region(&jpg[..], 8, r, u64::MAX, 0).is_ok());
}

#[test]
fn read_errors_are_errors() {
    struct Failing;
    impl Read for Failing {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("connection reset"))
        }
    }
    let jpg = mozjpeg(W, H, (2, 2), false);
    let reader = std::io::BufReader::with_capacity(64, (&jpg[..300]).chain(Failing));
    match jpeg_region(reader, 8, Rect::new(0, H - 1, 1, 1), u64::MAX) {
        Err(TransformError::Malformed(m)) => assert!(m.contains("connection reset"), "{m}"),
        other => panic!("{other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn never_panics_on_random_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..2000),
        numerator in prop::sample::select(vec![1u8, 2, 4, 8]),
        x in 0u32..300, y in 0u32..300, w in 0u32..300, h in 0u32..300,
    ) {
        let _ = jpeg_region(&bytes[..], numerator, Rect::new(x, y, w, h), 1 << 24);
        let with_soi = [&[0xFF, 0xD8][..], &bytes].concat();
        let _ = jpeg_region(&with_soi[..], numerator, Rect::new(x, y, w, h), 1 << 24);
    }

    #[test]
    fn never_panics_on_mutated_jpegs(
        which in 0usize..6,
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        numerator in prop::sample::select(vec![1u8, 2, 4, 8]),
        x in 0u32..220, y in 0u32..160, w in 0u32..220, h in 0u32..160,
    ) {
        let mut jpg = FIXTURES.with(|f| f[which].1.clone());
        for (at, byte) in edits {
            let i = at.index(jpg.len());
            jpg[i] = byte;
        }
        jpg.truncate(cut.index(jpg.len() + 1).max(jpg.len() / 2));
        let got = jpeg_region(&jpg[..], numerator, Rect::new(x, y, w, h), 1 << 24);
        if let Ok(p) = got {
            prop_assert_eq!(p.data.len(), w as usize * h as usize * 3);
        }
    }
}

thread_local! {
    static FIXTURES: Vec<(&'static str, Vec<u8>)> = fixtures();
}
