use super::*;

const P24: u64 = 3_935_463;
const JPEG: Decoder = Decoder::Jpeg {
    coefficient_bytes: 0,
};

fn png(bytes_per_pixel: u8) -> Decoder {
    Decoder::Image {
        format: Format::Png,
        native_bytes_per_pixel: bytes_per_pixel,
    }
}

/// A shape: source bytes and size, decoder, decoded size and channels, resize target,
/// output and quality; no orientation, no canvas.
#[allow(clippy::too_many_arguments)]
fn shape(
    source: (u64, (u32, u32)),
    decoder: Decoder,
    decoded: (u32, u32),
    channels: u8,
    resized: (u32, u32),
    output: Format,
    quality: u8,
) -> Shape {
    Shape {
        source_bytes: source.0,
        source_pixels: px(source.1),
        decoder,
        decoded,
        channels,
        resized,
        reoriented: false,
        canvas: None,
        output,
        quality,
    }
}

/// The calibration: each request of the module documentation's table, its shape and the
/// peak measured through the server (MiB). The estimate must bound it, within a slack.
fn calibration() -> Vec<(&'static str, Shape, f64)> {
    use Format::{Avif, Gif, Jpeg, Png, Webp};
    let p24 = (P24, (6000, 4000));
    let full = (6000, 4000);
    let image = |format, bpp| Decoder::Image {
        format,
        native_bytes_per_pixel: bpp,
    };
    let noise = (27_005_128, (3000, 3000));
    let rgba = (2_764_047, (4000, 3000));
    let png16 = (672_318, (4090, 4090));
    vec![
        (
            "24 MP JPEG, w=400 WebP",
            shape(p24, JPEG, (750, 500), 3, (400, 267), Webp, 80),
            4.9,
        ),
        (
            "24 MP JPEG, w=1280 JPEG",
            shape(p24, JPEG, (1500, 1000), 3, (1280, 853), Jpeg, 80),
            11.4,
        ),
        (
            "24 MP JPEG, w=2048 WebP",
            shape(p24, JPEG, (3000, 2000), 3, (2048, 1365), Webp, 80),
            36.8,
        ),
        (
            "24 MP JPEG, w=4096 WebP",
            shape(p24, JPEG, full, 3, (4096, 2731), Webp, 80),
            147.9,
        ),
        (
            "24 MP JPEG, w=4096 JPEG",
            shape(p24, JPEG, full, 3, (4096, 2731), Jpeg, 80),
            147.9,
        ),
        (
            "24 MP JPEG, w=4096 PNG",
            shape(p24, JPEG, full, 3, (4096, 2731), Png, 80),
            147.8,
        ),
        (
            "24 MP JPEG, EXIF 6, w=4096 WebP",
            Shape {
                reoriented: true,
                ..shape(p24, JPEG, full, 3, (4096, 2731), Webp, 80)
            },
            147.9,
        ),
        (
            "24 MP JPEG, 1000 x 1000 contain WebP",
            Shape {
                canvas: Some((1000, 1000)),
                ..shape(p24, JPEG, (1500, 1000), 3, (1000, 667), Webp, 80)
            },
            13.8,
        ),
        (
            "24 MP progressive JPEG, w=400 WebP",
            shape(
                (3_382_394, full),
                Decoder::Jpeg {
                    coefficient_bytes: 72_000_000,
                },
                (750, 500),
                3,
                (400, 267),
                Webp,
                80,
            ),
            73.0,
        ),
        (
            "100 MP JPEG, w=400 WebP",
            shape(
                (16_309_253, (12240, 8160)),
                JPEG,
                (1530, 1020),
                3,
                (400, 267),
                Webp,
                80,
            ),
            20.2,
        ),
        (
            "100 MP JPEG, no size (4096) WebP",
            shape(
                (16_309_253, (12240, 8160)),
                JPEG,
                (6120, 4080),
                3,
                (4096, 2731),
                Webp,
                80,
            ),
            151.9,
        ),
        (
            "24 MP JPEG, w=2048 AVIF",
            shape(p24, JPEG, (3000, 2000), 3, (2048, 1365), Avif, 75),
            70.0,
        ),
        (
            "24 MP JPEG, w=1500 AVIF q100",
            shape(p24, JPEG, (1500, 1000), 3, (1500, 1000), Avif, 100),
            71.0,
        ),
        (
            "16-bit RGBA PNG 4090^2, w=400 WebP",
            shape(png16, png(8), (4090, 4090), 4, (400, 400), Webp, 80),
            192.0,
        ),
        (
            "16-bit RGBA PNG 4090^2, w=4000 WebP",
            shape(png16, png(8), (4090, 4090), 4, (4000, 4000), Webp, 80),
            252.1,
        ),
        (
            "RGBA PNG 12 MP, w=2000 WebP",
            shape(rgba, png(4), (4000, 3000), 4, (2000, 1500), Webp, 80),
            126.7,
        ),
        (
            "RGBA PNG 12 MP, w=2000 JPEG",
            shape(rgba, png(4), (4000, 3000), 4, (2000, 1500), Jpeg, 80),
            126.7,
        ),
        (
            "RGBA PNG 12 MP, WebP",
            shape(rgba, png(4), (4000, 3000), 4, (4000, 3000), Webp, 80),
            231.2,
        ),
        (
            "RGB PNG 12 MP, PNG",
            shape(
                (2_699_090, (4000, 3000)),
                png(3),
                (4000, 3000),
                3,
                (4000, 3000),
                Png,
                80,
            ),
            40.0,
        ),
        (
            "noise PNG 9 MP, PNG",
            shape(noise, png(3), (3000, 3000), 3, (3000, 3000), Png, 80),
            87.4,
        ),
        (
            "noise PNG 9 MP, JPEG q100",
            shape(noise, png(3), (3000, 3000), 3, (3000, 3000), Jpeg, 100),
            90.4,
        ),
        (
            "noise PNG 9 MP, JPEG",
            shape(noise, png(3), (3000, 3000), 3, (3000, 3000), Jpeg, 80),
            83.8,
        ),
        (
            "noise PNG 9 MP, WebP",
            shape(noise, png(3), (3000, 3000), 3, (3000, 3000), Webp, 80),
            174.6,
        ),
        (
            "lossless WebP 6 MP, w=1000 WebP",
            shape(
                (1_334_290, (3000, 2000)),
                image(Webp, 3),
                (3000, 2000),
                3,
                (1000, 667),
                Webp,
                80,
            ),
            41.6,
        ),
        (
            "lossless RGBA WebP 6 MP, WebP",
            shape(
                (1_550_018, (3000, 2000)),
                image(Webp, 4),
                (3000, 2000),
                4,
                (3000, 2000),
                Webp,
                80,
            ),
            125.3,
        ),
        (
            "GIF 3 MP, w=1000 JPEG",
            shape(
                (110_742, (2000, 1500)),
                image(Gif, 4),
                (2000, 1500),
                4,
                (1000, 750),
                Jpeg,
                80,
            ),
            32.2,
        ),
    ]
}

#[test]
fn estimates_bound_the_measured_peaks() {
    for (what, s, measured) in calibration() {
        let mib = estimate(&s) as f64 / MIB as f64;
        println!("| {what} | {measured:.1} | {mib:.1} |");
        assert!(
            mib >= measured,
            "{what}: estimate {mib:.1} MiB under the measured {measured}"
        );
        assert!(
            mib <= measured * 1.75 + 4.0,
            "{what}: estimate {mib:.1} MiB, far over the measured {measured}"
        );
    }
}
