use super::*;

fn jpeg_facts(width: u32, height: u32, orientation: u8) -> Facts {
    Facts {
        kind: Format::Jpeg,
        width,
        height,
        orientation,
        gray: false,
        alpha: false,
        decoder: Decoder::Jpeg {
            coefficient_bytes: 0,
        },
    }
}

#[test]
fn decodes_at_the_smallest_scale_that_still_covers_the_output() {
    // (stored region w x h, orientation, output w x h) -> numerator of 8
    type Case = ((u32, u32), u8, (u32, u32), u8);
    let cases: [Case; 7] = [
        ((4096, 4096), 1, (512, 512), 1),
        ((4096, 4096), 1, (513, 512), 2),
        ((1024, 1024), 1, (512, 512), 4),
        ((1024, 1024), 1, (1024, 1024), 8),
        ((1024, 1024), 1, (2048, 2048), 8), // upscaled
        // Turned sources compare the output's sides swapped.
        ((4096, 1024), 6, (256, 1024), 2),
        ((4096, 1024), 1, (256, 1024), 8),
    ];
    for ((w, h), o, size, want) in cases {
        let facts = jpeg_facts(w, h, o);
        let got = numerator(&facts, Rect::new(0, 0, w, h), size);
        assert_eq!(got, want, "{w}x{h} o{o} to {size:?}");
    }
    let png = Facts {
        kind: Format::Png,
        decoder: Decoder::Image {
            format: Format::Png,
            native_bytes_per_pixel: 3,
        },
        ..jpeg_facts(4096, 4096, 1)
    };
    assert_eq!(numerator(&png, Rect::new(0, 0, 4096, 4096), (64, 64)), 8);
}

#[test]
fn scaled_regions_cover_the_original() {
    // libjpeg's scaled image is ceil(side * n / 8); a region's edges round outward.
    let cases = [
        (Rect::new(0, 0, 8, 8), 1, Rect::new(0, 0, 1, 1)),
        (Rect::new(3, 5, 10, 2), 1, Rect::new(0, 0, 2, 1)),
        (Rect::new(3, 5, 10, 2), 4, Rect::new(1, 2, 6, 2)),
        (Rect::new(3, 5, 10, 2), 8, Rect::new(3, 5, 10, 2)),
        (Rect::new(7, 7, 1, 1), 1, Rect::new(0, 0, 1, 1)),
    ];
    for (rect, n, want) in cases {
        assert_eq!(scaled(rect, n), want, "{rect} at {n}/8");
    }
}

/// A smooth, structured RGB test image (so that JPEG keeps it close).
fn scene(w: u32, h: u32) -> Vec<u8> {
    (0..h)
        .flat_map(|y| (0..w).flat_map(move |x| [(x * 255 / w) as u8, (y * 255 / h) as u8, 128]))
        .collect()
}

fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let img = image::load_from_memory_with_format(bytes, image::ImageFormat::Png).unwrap();
    let rgb = img.into_rgb8();
    (rgb.width(), rgb.height(), rgb.into_raw())
}

#[test]
fn a_full_scale_region_is_the_decoded_crop() {
    let (w, h) = (300, 200);
    let jpeg = super::super::encode::encode(&scene(w, h), w, h, 3, Format::Jpeg, 90).unwrap();
    let facts = facts(&jpeg, u64::MAX).unwrap();
    assert_eq!((facts.width, facts.height, facts.gray), (300, 200, false));
    let whole = decode::jpeg(&jpeg, decode::jpeg_header(&jpeg, u64::MAX).unwrap(), 8).unwrap();
    let region = Rect::new(17, 33, 101, 57);
    let job = Extraction {
        region,
        size: (101, 57),
        mirror: false,
        turns: 0,
        tone: Tone::Color,
        format: Format::Png,
        quality: 90,
    };
    let out = job.render(&jpeg, &facts).unwrap();
    let (ow, oh, got) = decode_png(&out.bytes);
    assert_eq!((ow, oh), (101, 57));
    assert_eq!(got, ops::crop(whole, region).data, "PNG output is lossless");
    // Turned a quarter: the region's first column becomes its first row, reversed.
    let turned = Extraction { turns: 1, ..job }
        .render(&jpeg, &facts)
        .unwrap();
    let (tw, th, t) = decode_png(&turned.bytes);
    assert_eq!((tw, th), (57, 101));
    assert_eq!(&t[..3], &got[(56 * 101) * 3..(56 * 101) * 3 + 3]);
}

#[test]
fn reduced_sizes_and_tones() {
    let (w, h) = (640, 480);
    let jpeg = super::super::encode::encode(&scene(w, h), w, h, 3, Format::Jpeg, 90).unwrap();
    let facts = facts(&jpeg, u64::MAX).unwrap();
    let job = Extraction {
        region: Rect::new(0, 0, 640, 480),
        size: (80, 60),
        mirror: true,
        turns: 0,
        tone: Tone::Bitonal,
        format: Format::Png,
        quality: 90,
    };
    let (ow, oh, px) = decode_png(&job.render(&jpeg, &facts).unwrap().bytes);
    assert_eq!((ow, oh), (80, 60));
    assert!(
        px.iter().all(|&v| v == 0 || v == 255),
        "bitonal is black and white"
    );
    let gray = Extraction {
        tone: Tone::Gray,
        ..job
    };
    let (_, _, px) = decode_png(&gray.render(&jpeg, &facts).unwrap().bytes);
    assert!(px.chunks(3).all(|p| p[0] == p[1] && p[1] == p[2]), "gray");
    // Mirrored: the red ramp falls from left to right.
    let color = Extraction {
        tone: Tone::Color,
        ..job
    };
    let (_, _, px) = decode_png(&color.render(&jpeg, &facts).unwrap().bytes);
    assert!(px[0] > 240 && px[79 * 3] < 15, "{} {}", px[0], px[79 * 3]);
}

#[test]
fn header_only_facts_from_the_first_bytes() {
    let (w, h) = (320, 240);
    let jpeg = super::super::encode::encode(&scene(w, h), w, h, 3, Format::Jpeg, 90).unwrap();
    let sos = jpeg.windows(2).position(|p| p == [0xFF, 0xDA]).unwrap();
    let got = facts(&jpeg[..sos + 16], u64::MAX).unwrap();
    assert_eq!((got.width, got.height, got.orientation), (320, 240, 1));
    assert!(matches!(
        facts(&jpeg[..20], u64::MAX),
        Err(TransformError::Malformed(_))
    ));
    assert!(matches!(
        facts(b"GIF", u64::MAX),
        Err(TransformError::Unsupported(_))
    ));
    assert!(matches!(
        facts(&jpeg, 1000),
        Err(TransformError::TooManyPixels { .. })
    ));
}
