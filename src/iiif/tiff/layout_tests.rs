use super::*;

fn level(width: u32, height: u32, tile: u32, offsets: Vec<u64>, counts: Vec<u64>) -> Level {
    Level {
        width,
        height,
        tile_width: tile,
        tile_height: tile,
        compression: Compression::None,
        photometric: Photometric::Rgb,
        samples_per_pixel: 3,
        horizontal_predictor: false,
        jpeg_tables: None,
        offsets: TileArray::new(offsets),
        byte_counts: TileArray::new(counts),
        object_len: 10_000,
    }
}

/// 100 x 70 in 32-pixel tiles: 4 across, 3 down.
fn grid() -> Level {
    level(
        100,
        70,
        32,
        (0..12).map(|i| i * 100).collect(),
        vec![100; 12],
    )
}

#[test]
fn grid_and_indices() {
    let l = grid();
    assert_eq!((l.tiles_across(), l.tiles_down()), (4, 3));
    assert_eq!(l.tile_index(0, 0), Some(0));
    assert_eq!(l.tile_index(3, 2), Some(11));
    assert_eq!(l.tile_index(4, 0), None);
    assert_eq!(l.tile_index(0, 3), None);
    // Edge tiles cover what is left of the image.
    assert_eq!(l.tile_rect(0), Some(Rect::new(0, 0, 32, 32)));
    assert_eq!(l.tile_rect(3), Some(Rect::new(96, 0, 4, 32)));
    assert_eq!(l.tile_rect(11), Some(Rect::new(96, 64, 4, 6)));
    assert_eq!(l.tile_rect(12), None);
    assert_eq!(l.channels(), 3);
}

#[test]
fn tile_ranges_are_checked_against_the_object() {
    let mut counts = vec![100; 12];
    counts[1] = 0; // sparse
    let mut offsets: Vec<u64> = (0..12).map(|i| i * 100).collect();
    offsets[2] = 9_950; // passes the end
    offsets[3] = u64::MAX; // overflows
    let l = level(100, 70, 32, offsets, counts);
    assert_eq!(l.tile_range(0), Some((0, 100)));
    assert_eq!(l.tile_range(1), None);
    assert_eq!(l.tile_range(2), None);
    assert_eq!(l.tile_range(3), None);
    assert_eq!(l.tile_range(11), Some((1100, 100)));
    assert_eq!(l.tile_range(12), None);
    let huge = level(32, 32, 32, vec![0], vec![l.max_tile_bytes() + 1]);
    assert_eq!(huge.tile_range(0), None);
}

#[test]
fn tiles_covering_rectangles() {
    let l = grid();
    // (rect, tiles): worked examples on the 4 x 3 grid of 32-pixel tiles.
    type Row = (Rect<u32>, Vec<usize>);
    let table: Vec<Row> = vec![
        // the whole image -> every tile
        (Rect::new(0, 0, 100, 70), (0..12).collect()),
        // one pixel -> its tile
        (Rect::new(33, 33, 1, 1), vec![5]),
        // 31..33 x 31..33 straddles four tiles
        (Rect::new(31, 31, 2, 2), vec![0, 1, 4, 5]),
        // past the right and bottom edges -> clipped; y 60 is in row 1 (32..64)
        (Rect::new(90, 60, 500, 500), vec![6, 7, 10, 11]),
        (Rect::new(90, 64, 500, 500), vec![10, 11]),
        // outside, empty
        (Rect::new(100, 0, 10, 10), vec![]),
        (Rect::new(0, 0, 0, 10), vec![]),
        (Rect::new(u32::MAX, u32::MAX, u32::MAX, u32::MAX), vec![]),
    ];
    for (rect, want) in table {
        assert_eq!(l.tiles_covering(rect).collect::<Vec<_>>(), want, "{rect}");
    }
}

#[test]
fn tile_arrays_take_four_bytes_a_tile_when_they_can() {
    let narrow = level(100, 70, 32, (0..12).collect(), vec![1; 12]);
    let wide = level(100, 70, 32, (0..12).map(|i| i << 32).collect(), vec![1; 12]);
    assert!(matches!(narrow.offsets, TileArray::U32(_)));
    assert!(matches!(wide.offsets, TileArray::U64(_)));
    assert_eq!(wide.offsets.get(11), Some(11 << 32));
    let (a, b) = (
        Layout {
            levels: vec![narrow],
        }
        .memory_bytes(),
        Layout { levels: vec![wide] }.memory_bytes(),
    );
    assert_eq!(b - a, 12 * 4);
    assert!(a >= 12 * 8, "{a}");
}
