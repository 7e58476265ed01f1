//! What the transform reads of a source before decoding it: the JPEG header probe and its
//! EXIF orientation, the header limits (`decode::jpeg_header`), and for PNG, GIF and WebP the
//! decoder's header checked against the limits (`decode::image_source`); under a pixel limit
//! small enough to decode quickly, the decode that follows.
#![no_main]

use imgorigin::transform::decode;
use imgorigin::transform::format::Format;
use imgorigin::transform::{probe, TransformError};
use libfuzzer_sys::fuzz_target;
use std::io::Cursor;

/// The default `--max-pixels`.
const MAX_PIXELS: u64 = 120_000_000;
/// For PNG, GIF and WebP, which are decoded whole: 256 x 256.
const SMALL_PIXELS: u64 = 1 << 16;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = probe::jpeg(data) {
        assert!(info.width > 0 && info.height > 0, "{info:?}");
        assert!(matches!(info.components, 1 | 3 | 4), "{info:?}");
        assert!((1..=8).contains(&info.orientation), "{info:?}");
    }
    if let Some(o) = probe::exif_orientation(data) {
        assert!((1..=8).contains(&o));
    }
    for max_pixels in [MAX_PIXELS, SMALL_PIXELS] {
        match decode::jpeg_header(data, max_pixels) {
            Ok(h) => {
                assert!(
                    u64::from(h.width) * u64::from(h.height) <= max_pixels,
                    "{h:?}"
                );
                assert!((1..=8).contains(&h.orientation), "{h:?}");
            }
            Err(TransformError::TooManyPixels {
                pixels,
                max_pixels: m,
            }) => {
                assert!(pixels > m && m == max_pixels)
            }
            Err(_) => {}
        }
    }
    // PNG, GIF, WebP: the header read and checked against the limits, as the pipeline does
    // before deciding to decode; under the small limit, decoded too.
    if let Some(format @ (Format::Png | Format::Gif | Format::Webp)) = Format::sniff(data) {
        for max_pixels in [MAX_PIXELS, SMALL_PIXELS] {
            match decode::image_source(Cursor::new(data), format, max_pixels) {
                Ok((source, header)) => {
                    let pixels = u64::from(header.width) * u64::from(header.height);
                    assert!(pixels <= max_pixels, "{format:?} {header:?}");
                    assert!((1..=8).contains(&header.orientation), "{header:?}");
                    if max_pixels != SMALL_PIXELS {
                        continue;
                    }
                    let Ok(px) = source.decode(&header) else {
                        continue;
                    };
                    let size = format!(
                        "{format:?} {header:?}: {} x {} x {}",
                        px.width, px.height, px.channels
                    );
                    assert_eq!(
                        (px.width, px.height),
                        (header.width, header.height),
                        "{size}"
                    );
                    assert_eq!(px.channels, if header.alpha { 4 } else { 3 }, "{size}");
                    let samples = px.width as usize * px.height as usize * usize::from(px.channels);
                    assert_eq!(px.data.len(), samples, "{size}");
                }
                Err(TransformError::TooManyPixels {
                    pixels,
                    max_pixels: m,
                }) => {
                    assert!(pixels > m && m == max_pixels)
                }
                Err(_) => {}
            }
        }
    }
});
