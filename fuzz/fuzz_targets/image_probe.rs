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

/// image-webp 0.2.4 panics on an over-subscribed lossless Huffman code (image-rs/image-webp#118,
/// open); `decode::image_source` and `ImageSource::decode` catch its panics as `Malformed`,
/// and tests/transforms.rs serves such a file (422, still serving). libFuzzer's hook aborts on
/// every panic, caught or not: this one goes on to the catch, any other still aborts. The
/// version is in the path, so a new image-webp is fuzzed without the exception.
fn let_the_known_webp_panic_reach_the_catch() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let abort = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let known = info
                .location()
                .is_some_and(|l| l.file().ends_with("image-webp-0.2.4/src/huffman.rs"));
            if !known {
                abort(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_the_known_webp_panic_reach_the_catch();
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
