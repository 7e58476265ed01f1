//! The pyramidal TIFF reader (`iiif::tiff::read_layout`: the header, IFD chains and
//! SubIFDs, the tile arrays) on a whole file in memory, then the first tiles of each level
//! through `jpeg_tile_stream` (and an edge tile's cut of the stream, `crop_jpeg`) and
//! `decode_tile`. Checks the reads stay bounded, the levels come largest first, every tile
//! range lies inside the file, and a cut that succeeds has the asked frame size.
#![no_main]

use imgorigin::fuzzing;
use imgorigin::iiif::tiff::{crop_jpeg, decode_tile, jpeg_tile_stream, MAX_READ};
use imgorigin::transform::probe;
use libfuzzer_sys::fuzz_target;

/// Tiles decoded per level, and their largest size: 256 x 256 RGBA.
const TILES: u32 = 4;
const MAX_SAMPLES: u64 = 256 * 256 * 4;

fuzz_target!(|data: &[u8]| {
    let run = fuzzing::tiff_layout(data).expect("in-memory reads complete in one poll");
    assert!(
        run.reads.iter().all(|&(_, len)| len <= MAX_READ),
        "{:?}",
        run.reads
    );
    assert!(run.reads.len() <= 2048, "{} reads", run.reads.len());
    let Ok(layout) = run.layout else {
        return;
    };
    for pair in layout.levels.windows(2) {
        assert!(pair[0].width >= pair[1].width && pair[0].height >= pair[1].height);
    }
    for level in &layout.levels {
        let tiles = u64::from(level.tiles_across()) * u64::from(level.tiles_down());
        for index in 0..tiles.min(u64::from(TILES)) as usize {
            let Some((offset, len)) = level.tile_range(index) else {
                continue;
            };
            assert!(offset + len <= data.len() as u64);
            if level.tile_samples() > MAX_SAMPLES {
                continue;
            }
            let tile = &data[offset as usize..(offset + len) as usize];
            if let Ok(stream) = jpeg_tile_stream(level, tile) {
                let (w, h) = (
                    (level.tile_width / 2).max(1),
                    (level.tile_height / 3).max(1),
                );
                if let Ok(cut) = crop_jpeg(&stream, w, h) {
                    let info = probe::jpeg(&cut).expect("a cut JPEG parses");
                    assert_eq!((info.width, info.height), (w, h));
                }
            }
            if let Ok(px) = decode_tile(level, tile) {
                let pixels = u64::from(px.width) * u64::from(px.height);
                assert_eq!(px.data.len() as u64, pixels * u64::from(px.channels));
            }
        }
    }
});
