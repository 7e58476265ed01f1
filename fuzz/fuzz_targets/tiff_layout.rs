//! The pyramidal TIFF reader (`iiif::tiff::read_layout`: the header, IFD chains and
//! SubIFDs, the tile arrays) on a whole file in memory, then the first tiles of each level
//! through `jpeg_tile_stream` and `decode_tile`. Checks the reads stay bounded, the levels
//! come largest first and every tile range lies inside the file.
#![no_main]

use imgorigin::fuzzing;
use imgorigin::iiif::tiff::{decode_tile, jpeg_tile_stream, MAX_READ};
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
            let _ = jpeg_tile_stream(level, tile);
            if let Ok(px) = decode_tile(level, tile) {
                let pixels = u64::from(px.width) * u64::from(px.height);
                assert_eq!(px.data.len() as u64, pixels * u64::from(px.channels));
            }
        }
    }
});
