use super::*;
use crate::iiif::tiff::testing::{now, pyramid, MemReader, Page, Writer};
use proptest::prelude::*;

fn read(file: &[u8]) -> (Result<Layout, TiffError>, Vec<(u64, u64)>) {
    let r = MemReader::new(file.to_vec());
    let layout = now(read_layout(&r, file.len() as u64));
    (layout, r.reads())
}

fn sizes(layout: &Layout) -> Vec<(u32, u32)> {
    layout.levels.iter().map(|l| (l.width, l.height)).collect()
}

/// 1000 x 700 in 64-pixel tiles halved to one tile: five levels.
const LEVELS: [(u32, u32); 5] = [(1000, 700), (500, 350), (250, 175), (125, 87), (62, 43)];

#[test]
fn every_variant_reads_the_same_levels() {
    let pages = pyramid(1000, 700, 64);
    for big in [false, true] {
        for big_endian in [false, true] {
            for subifd in [false, true] {
                let w = Writer {
                    big,
                    big_endian,
                    subifd,
                    ..Writer::default()
                };
                let file = w.write(&pages);
                let (layout, reads) = read(&file);
                let layout = layout.unwrap();
                assert_eq!(sizes(&layout), LEVELS, "{w:?}");
                // Every tile's range is the bytes the writer put there.
                for (level, page) in layout.levels.iter().zip(&pages) {
                    for (i, tile) in page.tiles.iter().enumerate() {
                        let (o, l) = level.tile_range(i).unwrap();
                        assert_eq!(&file[o as usize..(o + l) as usize], &tile[..], "{w:?}");
                    }
                }
                // Tiles first, IFDs and arrays at the end (as libtiff): the first read, then
                // the IFDs lie within 16 KiB of each other: one more read.
                assert_eq!(reads.len(), 2, "{w:?}: {reads:?}");
            }
        }
    }
}

#[test]
fn ifds_far_apart_cost_one_round_each() {
    // Each level's IFD right after its tiles, as vips writes them: the links of the chain
    // lie a level's data apart and cost one read each, arrays included: the first read and
    // one a level. As SubIFDs, the three reduced levels are read in one round of three.
    let pages = pyramid(2000, 1500, 256);
    for subifd in [false, true] {
        let w = Writer {
            interleave: true,
            subifd,
            ..Writer::default()
        };
        let file = w.write(&pages);
        let (layout, reads) = read(&file);
        assert_eq!(layout.unwrap().levels.len(), 4);
        assert_eq!(reads.len(), 5, "{w:?}: {reads:?}");
    }
}

#[test]
fn a_cloud_optimized_layout_takes_one_read() {
    // IFDs and arrays first, within the first 64 KiB, as a COG has them.
    let pages = pyramid(2000, 1500, 256);
    for subifd in [false, true] {
        let w = Writer {
            ifds_first: true,
            subifd,
            ..Writer::default()
        };
        let file = w.write(&pages);
        let (layout, reads) = read(&file);
        let layout = layout.unwrap();
        assert_eq!(layout.levels.len(), 4);
        let (o, l) = layout.levels[3].tile_range(0).unwrap();
        assert_eq!(&file[o as usize..(o + l) as usize], &pages[3].tiles[0][..]);
        assert_eq!(reads, [(0, 64 << 10)], "{w:?}");
    }
}

#[test]
fn strips_are_unsupported_after_one_ifd() {
    let mut p = Page::rgb(300, 200, 32);
    p.strips = true;
    let (layout, reads) = read(&Writer::default().write(&[p]));
    assert!(
        matches!(&layout, Err(TiffError::Unsupported(w)) if w.contains("strips")),
        "{layout:?}"
    );
    assert!(reads.len() <= 2, "{reads:?}");
}

#[test]
fn unsupported_reduced_levels_and_masks_are_skipped() {
    let mut pages = pyramid(1000, 700, 64);
    pages[2].compression = 5; // LZW
    pages[3].subfile_type = 4; // mask
    let (layout, _) = read(&Writer::default().write(&pages));
    assert_eq!(sizes(&layout.unwrap()), [LEVELS[0], LEVELS[1], LEVELS[4]]);
    pages[0].compression = 5;
    let (layout, _) = read(&Writer::default().write(&pages));
    assert!(
        matches!(layout, Err(TiffError::Unsupported(_))),
        "{layout:?}"
    );
}

#[test]
fn masks_alone_are_malformed() {
    let mut pages = pyramid(100, 70, 64);
    for p in &mut pages {
        p.subfile_type = 4;
    }
    let (layout, _) = read(&Writer::default().write(&pages));
    assert!(matches!(layout, Err(TiffError::Malformed(_))), "{layout:?}");
}

#[test]
fn pages_of_another_shape_are_not_levels() {
    let mut pages = pyramid(1000, 700, 64);
    pages.push(Page::rgb(300, 100, 64)); // a label
    pages.push(Page::rgb(62, 43, 64)); // a repeat
    let (layout, _) = read(&Writer::default().write(&pages));
    assert_eq!(sizes(&layout.unwrap()), LEVELS);
}

#[test]
fn a_loop_in_the_chain_is_malformed() {
    let pages = pyramid(1000, 700, 64);
    let mut file = Writer::default().write(&pages[..2]);
    // The second IFD's next offset is the last 4 bytes before its values: find it by
    // pointing the first IFD's next at itself instead.
    let first = u32::from_le_bytes(file[4..8].try_into().unwrap()) as usize;
    let n = u16::from_le_bytes(file[first..first + 2].try_into().unwrap()) as usize;
    let next_at = first + 2 + 12 * n;
    file[next_at..next_at + 4].copy_from_slice(&(first as u32).to_le_bytes());
    let (layout, _) = read(&file);
    assert!(
        matches!(&layout, Err(TiffError::Malformed(w)) if w.contains("loop")),
        "{layout:?}"
    );
}

#[test]
fn not_a_tiff_and_cut_short() {
    let (layout, reads) = read(b"\xff\xd8\xff\xe0 a JPEG");
    assert!(matches!(layout, Err(TiffError::NotTiff)));
    assert_eq!(reads, [(0, 11)]);
    let file = Writer::default().write(&pyramid(1000, 700, 64));
    for cut in [8, 100, file.len() - 100, file.len() - 1] {
        let (layout, _) = read(&file[..cut]);
        assert!(
            matches!(layout, Err(TiffError::Malformed(_))),
            "{cut}: {layout:?}"
        );
    }
}

#[test]
fn a_short_read_is_a_store_error() {
    let file = Writer::default().write(&pyramid(1000, 700, 64));
    let r = MemReader::new(file.clone());
    let layout = now(read_layout(&r, file.len() as u64 + 100));
    assert!(matches!(layout, Err(TiffError::Store(_))), "{layout:?}");
}

#[test]
fn coalescing_merges_near_ranges_only() {
    // (needs, reads): worked examples with MERGE_GAP = 16 KiB.
    type Row = (Vec<(u64, u64)>, Vec<(u64, u64)>);
    let table: Vec<Row> = vec![
        (vec![(100, 10), (0, 10)], vec![(0, 110)]),
        (
            vec![(0, 10), (10 + MERGE_GAP, 5)],
            vec![(0, 15 + MERGE_GAP)],
        ),
        (
            vec![(0, 10), (11 + MERGE_GAP, 5)],
            vec![(0, 10), (11 + MERGE_GAP, 5)],
        ),
        (vec![(0, 100), (50, 10)], vec![(0, 100)]),
        (
            vec![(0, MAX_READ), (MAX_READ, 1)],
            vec![(0, MAX_READ), (MAX_READ, 1)],
        ),
    ];
    for (needs, reads) in table {
        assert_eq!(coalesce(needs.clone()), reads, "{needs:?}");
    }
}

/// Every read is bounded, and so is their number.
fn check_reads(reads: &[(u64, u64)]) {
    assert!(
        reads.len() <= 1 + MAX_ROUNDS * MAX_READS_PER_ROUND,
        "{}",
        reads.len()
    );
    assert!(reads.iter().all(|&(_, l)| l <= MAX_READ), "{reads:?}");
}

/// Files vips 8.14 wrote (the fuzz target's seeds: 100 x 80, 32-pixel tiles, a pyramid of
/// three levels), and synthetic ones in the layouts vips does not write.
fn small_files() -> Vec<Vec<u8>> {
    let mut files = vec![
        include_bytes!("../../../fuzz/corpus/tiff_layout/vips-jpeg.tif").to_vec(),
        include_bytes!("../../../fuzz/corpus/tiff_layout/vips-jpeg-bigtiff.tif").to_vec(),
        include_bytes!("../../../fuzz/corpus/tiff_layout/vips-deflate-subifd.tif").to_vec(),
        include_bytes!("../../../fuzz/corpus/tiff_layout/vips-grey-none.tif").to_vec(),
    ];
    let pages = pyramid(300, 200, 32);
    for big in [false, true] {
        let w = Writer {
            big,
            big_endian: true,
            subifd: big,
            ifds_first: !big,
            ..Writer::default()
        };
        files.push(w.write(&pages));
    }
    files
}

#[test]
fn the_seeds_read() {
    for (i, file) in small_files().iter().enumerate() {
        let (layout, reads) = read(file);
        let layout = layout.unwrap_or_else(|e| panic!("file {i}: {e}"));
        assert!(layout.levels.len() >= 3, "file {i}");
        assert!(reads.len() <= 2, "file {i}: {reads:?}");
        let level = &layout.levels[0];
        let (o, l) = level.tile_range(0).unwrap();
        let px = super::super::decode_tile(level, &file[o as usize..(o + l) as usize]);
        assert_eq!(px.unwrap().data.len(), 32 * 32 * 3, "file {i}");
    }
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_bytes(
        mut bytes in prop::collection::vec(any::<u8>(), 0..2048),
        header in 0usize..4,
    ) {
        // Give most inputs a valid header so the IFD code runs.
        let headers: [&[u8]; 4] = [b"II*\0", b"MM\0*", b"II+\0\x08\0\0\0", b""];
        let h = headers[header];
        if bytes.len() >= h.len() {
            bytes[..h.len()].copy_from_slice(h);
        }
        let (_, reads) = read(&bytes);
        check_reads(&reads);
    }

    #[test]
    fn never_panics_on_mutated_tiffs(
        file in 0usize..6,
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut bytes = small_files().swap_remove(file);
        // Mutate the IFD area (the last quarter) more often than tile data.
        for (at, value) in edits {
            let i = if value % 2 == 0 {
                bytes.len() * 3 / 4 + at.index(bytes.len() / 4)
            } else {
                at.index(bytes.len())
            };
            bytes[i] = value;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        let (layout, reads) = read(&bytes);
        check_reads(&reads);
        if let Ok(layout) = layout {
            for level in &layout.levels {
                for i in 0..(level.tiles_across() * level.tiles_down()) as usize {
                    let Some((o, l)) = level.tile_range(i) else {
                        continue;
                    };
                    prop_assert!(o + l <= bytes.len() as u64);
                    // Mutated tiles decode or fail; nothing else.
                    if i < 2 && level.tile_samples() <= 64 * 64 * 4 {
                        let _ = super::super::decode_tile(level, &bytes[o as usize..(o + l) as usize]);
                    }
                }
            }
        }
    }
}
