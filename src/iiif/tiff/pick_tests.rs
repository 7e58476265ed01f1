use super::*;
use crate::iiif::tiff::layout::{Compression, Photometric, TileArray};

fn level(width: u32, height: u32, tile: u32) -> Level {
    let tiles = u64::from(width.div_ceil(tile) * height.div_ceil(tile));
    Level {
        width,
        height,
        tile_width: tile,
        tile_height: tile,
        compression: Compression::Jpeg,
        photometric: Photometric::YCbCr,
        samples_per_pixel: 3,
        horizontal_predictor: false,
        jpeg_tables: None,
        offsets: TileArray::new((0..tiles).map(|i| i * 100).collect()),
        byte_counts: TileArray::new(vec![100; tiles as usize]),
        object_len: 1 << 40,
    }
}

/// What vips writes for 3001 x 1999 in 256-pixel tiles: halves rounded down.
fn vips_pyramid() -> Layout {
    let sizes = [
        (3001, 1999),
        (1500, 999),
        (750, 499),
        (375, 249),
        (187, 124),
    ];
    Layout {
        levels: sizes.iter().map(|&(w, h)| level(w, h, 256)).collect(),
    }
}

#[test]
fn tiff_headers_are_recognised() {
    // TIFF 6.0 §2: byte order, 42, first IFD; BigTIFF: 43, 8, 0, first IFD.
    assert!(is_tiff(b"II*\0\x08\0\0\0"));
    assert!(is_tiff(b"MM\0*\0\0\0\x08"));
    assert!(is_tiff(b"II+\0\x08\0\0\0\x10\0\0\0\0\0\0\0"));
    for other in [
        &b"\xff\xd8\xff\xe0"[..],
        b"\x89PNG\r\n",
        b"II*",
        b"",
        b"RIFF\0\0\0\0WEBP",
    ] {
        assert!(!is_tiff(other), "{other:?}");
    }
}

#[test]
fn pyramid_levels_stop_at_the_first_level_that_does_not_halve() {
    assert_eq!(pyramid_levels(&vips_pyramid()), 5);
    // Halves rounded up are read too.
    let up = Layout {
        levels: vec![level(3001, 1999, 256), level(1501, 1000, 256)],
    };
    assert_eq!(pyramid_levels(&up), 2);
    // A thumbnail page that is not a half, or another tile size, ends the pyramid.
    let mut odd = vips_pyramid();
    odd.levels[2] = level(700, 499, 256);
    assert_eq!(pyramid_levels(&odd), 2);
    let mut tiles = vips_pyramid();
    tiles.levels[3] = level(375, 249, 128);
    assert_eq!(pyramid_levels(&tiles), 3);
    assert_eq!(pyramid_levels(&Layout { levels: vec![] }), 0);
}

#[test]
fn a_viewers_tile_request_names_one_stored_tile() {
    let l = vips_pyramid();
    // Level 0, tile (1, 2): region 256,512,256,256 at 256,256.
    let r = Rect::new(256, 512, 256, 256);
    assert_eq!(stored_tile(&l, 5, r, (256, 256)), Some((0, 2 * 12 + 1)));
    // Level 1 (1500 x 999: 6 x 4 tiles), tile (2, 1): 1024,512,512,512 at 256,256.
    let r = Rect::new(1024, 512, 512, 512);
    assert_eq!(stored_tile(&l, 5, r, (256, 256)), Some((1, 6 + 2)));
    // Level 2 (750 x 499: 3 x 2), tile (0, 0).
    assert_eq!(
        stored_tile(&l, 5, Rect::new(0, 0, 1024, 1024), (256, 256)),
        Some((2, 0))
    );
    // Edge tiles, asked at their part inside the level (stored padded: the caller cuts):
    // level 0's last column (3001 = 11 * 256 + 185), level 3's tile (0, 0) of 375 x 249.
    assert_eq!(
        stored_tile(&l, 5, Rect::new(2816, 0, 185, 256), (185, 256)),
        Some((0, 11))
    );
    assert_eq!(
        stored_tile(&l, 5, Rect::new(0, 0, 2048, 1992), (256, 249)),
        Some((3, 0))
    );
}

#[test]
fn other_requests_name_no_stored_tile() {
    let l = vips_pyramid();
    let cases = [
        // The edge tile of level 0 asked at the padded size.
        (Rect::new(2816, 0, 185, 256), (256, 256)),
        // Off the grid, the wrong size, a size of another level.
        (Rect::new(100, 0, 256, 256), (256, 256)),
        (Rect::new(0, 0, 256, 256), (128, 128)),
        (Rect::new(0, 0, 512, 512), (512, 512)),
        // Level 1's tile at a scale the pyramid does not have.
        (Rect::new(0, 0, 512, 512), (255, 255)),
        // Beyond the levels offered.
        (Rect::new(0, 0, 2048, 2048), (256, 256)),
    ];
    for (region, size) in cases {
        assert_eq!(stored_tile(&l, 3, region, size), None, "{region} {size:?}");
    }
    // The last case when level 3 is offered: its tile (0, 0) is 256 x 249, not 256 x 256.
    assert_eq!(
        stored_tile(&l, 5, Rect::new(0, 0, 2048, 2048), (256, 256)),
        None
    );
}

#[test]
fn level_for_picks_the_smallest_level_holding_the_size() {
    let l = vips_pyramid();
    let full = Rect::new(0, 0, 3001, 1999);
    // full/max: level 0. full/700,: level 2 (750 wide); full/100,: level 4 (187).
    assert_eq!(level_for(&l, 5, full, (3001, 1999)), Some((0, full)));
    assert_eq!(
        level_for(&l, 5, full, (700, 466)),
        Some((2, Rect::new(0, 0, 750, 499)))
    );
    assert_eq!(
        level_for(&l, 5, full, (100, 67)),
        Some((4, Rect::new(0, 0, 187, 124)))
    );
    // Only the offered levels: level 2 at most.
    assert_eq!(level_for(&l, 3, full, (100, 67)).map(|p| p.0), Some(2));
    // A region off the grid: edges rounded outward in the level (1001 / 2 down, 1501 / 2 up).
    assert_eq!(
        level_for(&l, 5, Rect::new(1001, 3, 500, 100), (250, 50)),
        Some((1, Rect::new(500, 1, 251, 51)))
    );
    // Upscaling reads the full level.
    assert_eq!(
        level_for(&l, 5, Rect::new(0, 0, 10, 10), (40, 40)),
        Some((0, Rect::new(0, 0, 10, 10)))
    );
}
