use super::*;
use crate::iiif::tiff::read_layout;
use crate::iiif::tiff::testing::{now, sample, MemReader, Page, Writer};
use crate::iiif::tiff::Layout;
use proptest::prelude::*;
use std::io::Write;

fn layout(pages: &[Page]) -> (Layout, Vec<u8>) {
    let file = Writer::default().write(pages);
    let r = MemReader::new(file.clone());
    (now(read_layout(&r, file.len() as u64)).unwrap(), file)
}

fn tile<'a>(level: &Level, file: &'a [u8], i: usize) -> &'a [u8] {
    let (o, l) = level.tile_range(i).unwrap();
    &file[o as usize..(o + l) as usize]
}

/// Decodes every tile of the first level and joins them over `rect`.
fn region(page: Page, rect: Rect<u32>) -> Pixels {
    let (layout, file) = layout(&[page]);
    let level = &layout.levels[0];
    let tiles = level
        .tiles_covering(rect)
        .map(|i| (i, decode_tile(level, tile(level, &file, i)).unwrap()));
    compose(level, rect, tiles.collect::<Vec<_>>())
}

fn expected(rect: Rect<u32>, samples: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for y in rect.y..rect.y + rect.height {
        for x in rect.x..rect.x + rect.width {
            out.extend((0..samples).map(|c| sample(x, y, c)));
        }
    }
    out
}

#[test]
fn stored_and_deflated_tiles_compose_to_the_image() {
    // 100 x 70 in 32-pixel tiles: the right and bottom tiles are padded.
    let full = Rect::new(0, 0, 100, 70);
    let inner = Rect::new(20, 30, 50, 40);
    for page in [
        Page::rgb(100, 70, 32),
        Page::rgb(100, 70, 32).deflate(false),
        Page::rgb(100, 70, 32).deflate(true),
    ] {
        for rect in [full, inner] {
            let px = region(page.clone(), rect);
            assert_eq!(
                (px.width, px.height, px.channels),
                (rect.width, rect.height, 3)
            );
            assert!(px.data == expected(rect, 3), "{} {rect}", page.compression);
        }
    }
}

#[test]
fn alpha_is_kept_and_grey_becomes_rgb() {
    let rect = Rect::new(0, 0, 40, 40);
    let rgba = Page::rgb(40, 40, 32).with_samples(4, 2).deflate(true);
    let px = region(rgba, rect);
    assert_eq!(px.channels, 4);
    assert!(px.data == expected(rect, 4));

    let grey: Vec<u8> = expected(rect, 1).into_iter().flat_map(|g| [g; 3]).collect();
    let px = region(Page::rgb(40, 40, 32).with_samples(1, 1), rect);
    assert_eq!(px.channels, 3);
    assert!(px.data == grey);
    let px = region(Page::rgb(40, 40, 32).with_samples(1, 0), rect);
    assert!(px.data.iter().zip(&grey).all(|(a, b)| *a == 255 - b));

    let px = region(Page::rgb(40, 40, 32).with_samples(2, 1), rect);
    let want: Vec<u8> = expected(rect, 2)
        .chunks(2)
        .flat_map(|p| [p[0], p[0], p[0], p[1]])
        .collect();
    assert_eq!(px.channels, 4);
    assert!(px.data == want);
}

#[test]
fn inflating_stops_at_the_tile_size() {
    let (layout, _) = layout(&[Page::rgb(32, 32, 32).deflate(false)]);
    let level = &layout.levels[0];
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&vec![7u8; 64 << 20]).unwrap();
    let bomb = z.finish().unwrap();
    let px = decode_tile(level, &bomb).unwrap();
    assert_eq!(px.data.len(), 32 * 32 * 3);
    assert!(px.data.capacity() <= 32 * 32 * 3);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&[7u8; 100]).unwrap();
    let short = z.finish().unwrap();
    assert!(matches!(
        decode_tile(level, &short),
        Err(TiffError::Malformed(_))
    ));
}

#[test]
fn compose_leaves_out_tiles_that_do_not_fit() {
    let (layout, file) = layout(&[Page::rgb(64, 64, 32)]);
    let level = &layout.levels[0];
    let good = decode_tile(level, tile(level, &file, 0)).unwrap();
    let small = Pixels {
        data: vec![1; 12],
        width: 2,
        height: 2,
        channels: 3,
        orientation: 1,
    };
    let px = compose(
        level,
        Rect::new(0, 0, 64, 64),
        vec![
            (0, good),
            (1, small),
            (99, decode_tile(level, tile(level, &file, 0)).unwrap()),
        ],
    );
    assert_eq!(px.data.len(), 64 * 64 * 3);
    assert_eq!(&px.data[..3], &expected(Rect::new(0, 0, 1, 1), 3)[..]);
    assert!(px.data[32 * 3..64 * 3].iter().all(|&b| b == 0));
}

proptest! {
    #[test]
    fn never_panics_decode_tile(
        bytes in prop::collection::vec(any::<u8>(), 0..4096),
        which in 0usize..4,
    ) {
        let pages = [
            Page::rgb(64, 48, 32),
            Page::rgb(64, 48, 32).deflate(true),
            Page { compression: 7, photometric: 6, ..Page::rgb(64, 48, 32) },
            Page { compression: 7, photometric: 2, ..Page::rgb(64, 48, 32) },
        ];
        let (layout, _) = layout(std::slice::from_ref(&pages[which]));
        let level = &layout.levels[0];
        let mut jpeg = bytes.clone();
        jpeg.splice(0..0, [0xFF, 0xD8]);
        jpeg.extend([0xFF, 0xD9]);
        for data in [&bytes, &jpeg] {
            if let Ok(px) = decode_tile(level, data) {
                let pixels = u64::from(level.tile_width) * u64::from(level.tile_height);
                prop_assert_eq!(px.data.len() as u64, pixels * u64::from(px.channels));
            }
        }
    }
}
