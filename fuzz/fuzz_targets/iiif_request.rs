//! An IIIF image request path as the service reads it (`iiif::ImageRequest::parse`, the
//! identifier's decoding with and without a slash substitute), then resolved against a few
//! image sizes and limits. What must hold besides never panicking: an identifier decoded and
//! encoded again decodes to itself; a resolved region lies inside the image and the output
//! within the limits; the canonical form (§4.8) reads back and resolves to the same pixels.
#![no_main]

use imgorigin::iiif::ident::{decode_identifier, encode_identifier};
use imgorigin::iiif::{resolve, ImageRequest, Limits, Quality, Source};
use libfuzzer_sys::fuzz_target;

const SIZES: [(u32, u32); 3] = [(1, 1), (1000, 700), (65_535, 3)];

fn limits() -> [Limits; 2] {
    let bounded = Limits {
        max_width: Some(4096),
        max_height: Some(4096),
        max_area: Some(4096 * 3000),
    };
    let none = Limits {
        max_width: None,
        max_height: None,
        max_area: None,
    };
    [bounded, none]
}

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = ImageRequest::parse(path) else {
        return;
    };
    for sub in [None, Some('~')] {
        if let Ok(id) = decode_identifier(request.identifier, sub) {
            let again = decode_identifier(&encode_identifier(&id, sub), sub);
            assert_eq!(again.as_deref(), Ok(id.as_str()), "{sub:?}");
        }
    }
    for (width, height) in SIZES {
        let source = Source {
            width,
            height,
            default_quality: Quality::Color,
        };
        for limits in limits() {
            let Ok(r) = resolve(&request.params, &source, &limits) else {
                continue;
            };
            let g = r.region;
            assert!(g.width >= 1 && g.height >= 1, "{r:?}");
            assert!(g.x + g.width <= width && g.y + g.height <= height, "{r:?}");
            assert!(r.width >= 1 && r.height >= 1, "{r:?}");
            if let Some(max) = limits.max_width {
                assert!(r.width <= max, "{r:?}");
            }
            if let Some(max) = limits.max_area {
                assert!(u64::from(r.width) * u64::from(r.height) <= max, "{r:?}");
            }
            let canonical = request.params.canonical(&r);
            let canonical_path = format!("id/{canonical}");
            let again =
                ImageRequest::parse(&canonical_path).unwrap_or_else(|e| panic!("{canonical}: {e}"));
            let r2 = resolve(&again.params, &source, &limits)
                .unwrap_or_else(|e| panic!("{canonical}: {e}"));
            assert_eq!(
                (r2.region, r2.width, r2.height, r2.mirror, r2.quality),
                (r.region, r.width, r.height, r.mirror, r.quality),
                "{canonical}"
            );
        }
    }
});
