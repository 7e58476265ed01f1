//! IIIF tiles of a 400 MP baseline JPEG in bounded memory (issue 19: "full-resolution tiles
//! of a 400 MP baseline JPEG under 128 MiB VmHWM"), through
//! `imgorigin::transform::region::jpeg_region`:
//! - a 20,000 x 20,000 baseline 4:2:0 JPEG (colour gradients, a grid of dark lines, grain) is
//!   written row by row to a file, never whole in memory;
//! - a fresh child process (this test binary again, running only `child_decodes_tiles`)
//!   decodes 512 x 512 regions at full resolution at the top-left, the centre (off the MCU
//!   grid) and the bottom-right, each from a `BufReader<File>`: its VmHWM stays under
//!   128 MiB, and grows by less than 16 MiB over the harness's own (the source is 50 MiB);
//! - those regions equal the same regions of the whole-image decode (`decode::jpeg` at 8/8,
//!   in this process, timed for comparison), and are close to the function drawn.

mod common;
#[path = "common/images.rs"]
#[allow(dead_code)]
mod images;

use common::procs::proc_status_kib;
use imgorigin::iiif::Rect;
use imgorigin::transform::{decode, region};
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const SIDE: u32 = 20_000;
const TILE: u32 = 512;
const LIMIT_KIB: u64 = 128 * 1024;
/// What the decodes may add to the child's VmHWM: far below the source's size, so that a
/// decoder holding the source whole (or rows of the whole width per region row) would fail.
const GROWTH_KIB: u64 = 16 * 1024;
/// Where the child finds the JPEG and leaves its tiles; unset outside the child.
const CHILD_DIR: &str = "IIIF_JPEG_MEMORY_DIR";

/// Top-left, centre (at odd offsets, off the 16-pixel MCU grid), bottom-right.
fn tiles() -> [Rect<u32>; 3] {
    let centre = SIDE / 2 - TILE / 2 + 1;
    let last = SIDE - TILE;
    [
        Rect::new(0, 0, TILE, TILE),
        Rect::new(centre, centre - 2, TILE, TILE),
        Rect::new(last, last, TILE, TILE),
    ]
}

/// The picture without grain: gradients in red and green, a blue that varies along both,
/// and 3-pixel dark lines every 500 pixels (edges for the crop to get right).
fn clean(x: u32, y: u32) -> [u8; 3] {
    if x % 500 < 3 || y % 500 < 3 {
        return [20, 20, 30];
    }
    [
        (30 + x * 200 / SIDE) as u8,
        (30 + y * 200 / SIDE) as u8,
        (60 + (x / 7 + y / 11) % 140) as u8,
    ]
}

/// `clean` with +-6 of grain per channel, so the file is photo-like in size and entropy.
fn pixel(x: u32, y: u32) -> [u8; 3] {
    let g = common::splitmix((u64::from(y) << 32) | u64::from(x)).to_le_bytes();
    clean(x, y).map(|c| c.saturating_add(g[0] % 13).saturating_sub(6))
}

/// Writes a SIDE x SIDE baseline 4:2:0 JPEG of `pixel` to `path`, 16 rows at a time.
fn write_jpeg(path: &Path) {
    let file = BufWriter::new(std::fs::File::create(path).expect("create"));
    let file = images::mozjpeg_write(file, (SIDE, SIDE), 85.0, false, pixel);
    file.into_inner().expect("flush");
}

fn tile_path(dir: &Path, r: Rect<u32>) -> PathBuf {
    dir.join(format!("tile-{}-{}.rgb", r.x, r.y))
}

#[test]
fn full_resolution_tiles_of_a_400_mp_jpeg_stay_under_128_mib() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jpg = dir.path().join("big.jpg");
    let start = Instant::now();
    write_jpeg(&jpg);
    let size = std::fs::metadata(&jpg).expect("metadata").len();
    println!(
        "{SIDE} x {SIDE} baseline 4:2:0 JPEG: {} MiB, written in {:?}",
        size >> 20,
        start.elapsed()
    );
    assert!(
        size > 2 * GROWTH_KIB * 1024,
        "the source must dwarf the growth limit"
    );

    let child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["child_decodes_tiles", "--exact", "--ignored", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(CHILD_DIR, dir.path())
        .output()
        .expect("run the child");
    let out = String::from_utf8_lossy(&child.stdout);
    print!("child: {out}");
    assert!(
        child.status.success(),
        "child failed: {out}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    let hwm: u64 = out
        .lines()
        .find_map(|l| l.strip_prefix("child VmHWM KiB: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("the child's VmHWM line");
    assert!(
        hwm < LIMIT_KIB,
        "child VmHWM {hwm} KiB over {LIMIT_KIB} KiB"
    );

    let tiles = tiles().map(|r| (r, std::fs::read(tile_path(dir.path(), r)).expect("tile")));
    for (r, data) in &tiles {
        assert_eq!(data.len(), (TILE * TILE * 3) as usize, "{r}");
        let err = mean_abs_error_to_clean(*r, data);
        println!("tile {r}: mean abs error to the drawn function {err:.2}");
        assert!(err < 6.0, "tile {r}: mean abs error {err:.2}");
    }

    through_the_server(dir.path(), &tiles);

    // The second path: the whole image at 8/8, cropped (1.2 GB of pixels, here only).
    let bytes = std::fs::read(&jpg).expect("read JPEG");
    let start = Instant::now();
    let header = decode::jpeg_header(&bytes, u64::MAX).expect("header");
    let whole = decode::jpeg(&bytes, header, 8).expect("whole decode");
    println!(
        "whole-image decode::jpeg at 8/8: {:?}, VmHWM of this process {} MiB",
        start.elapsed(),
        proc_status_kib(std::process::id(), "VmHWM:") >> 10
    );
    drop(bytes);
    let row = SIDE as usize * 3;
    for (r, data) in &tiles {
        let same = (0..r.height as usize).all(|i| {
            let at = (r.y as usize + i) * row + r.x as usize * 3;
            let len = r.width as usize * 3;
            whole.data[at..at + len] == data[i * len..(i + 1) * len]
        });
        assert!(same, "tile {r} differs from the whole decode");
    }
}

/// The same tiles through `imgorigin serve --root` as IIIF requests (PNG, so lossless):
/// equal to the child's decodes, and the server's VmHWM under the limit after them and a
/// reduced full view (1000 px wide, decoded at 1/8).
fn through_the_server(dir: &Path, tiles: &[(Rect<u32>, Vec<u8>)]) {
    let server = common::procs::Imgorigin::start(&["--root".into(), dir.display().to_string()]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let info = common::fetch(server.addr, "GET", "/iiif/3/big.jpg/info.json", &[]).await;
        let doc: serde_json::Value = serde_json::from_slice(info.bytes()).expect("info.json");
        assert_eq!(
            (doc["width"].as_u64(), doc["height"].as_u64()),
            (Some(20_000), Some(20_000))
        );
        for (r, data) in tiles {
            let path = format!("/iiif/3/big.jpg/{r}/max/0/default.png");
            let start = Instant::now();
            let got = common::fetch(server.addr, "GET", &path, &[]).await;
            assert_eq!(got.status, 200, "{path}");
            let img = image::load_from_memory(got.bytes())
                .expect("PNG")
                .into_rgb8();
            println!("server {path}: {:?}", start.elapsed());
            assert_eq!((img.width(), img.height()), (TILE, TILE));
            assert!(
                img.as_raw() == data,
                "{path} differs from the region decode"
            );
        }
        let start = Instant::now();
        let got = common::fetch(
            server.addr,
            "GET",
            "/iiif/3/big.jpg/full/1000,/0/default.jpg",
            &[],
        )
        .await;
        assert_eq!(got.status, 200);
        println!("server full/1000,: {:?}", start.elapsed());
    });
    let hwm = server.peak_rss_kib();
    println!("server VmHWM KiB: {hwm}");
    assert!(
        hwm < LIMIT_KIB,
        "server VmHWM {hwm} KiB over {LIMIT_KIB} KiB"
    );
}

/// Mean over samples of |decoded - clean|: JPEG error plus the grain (mean 3).
fn mean_abs_error_to_clean(r: Rect<u32>, data: &[u8]) -> f64 {
    let mut sum = 0u64;
    for (i, px) in data.chunks_exact(3).enumerate() {
        let (x, y) = (r.x + i as u32 % r.width, r.y + i as u32 / r.width);
        let want = clean(x, y);
        sum += px
            .iter()
            .zip(want)
            .map(|(&a, b)| u64::from(a.abs_diff(b)))
            .sum::<u64>();
    }
    sum as f64 / data.len() as f64
}

/// Run by the test above in a fresh process, so that VmHWM is this decode's alone.
#[test]
#[ignore = "the child process of full_resolution_tiles_of_a_400_mp_jpeg_stay_under_128_mib"]
fn child_decodes_tiles() {
    let Some(dir) = std::env::var_os(CHILD_DIR).map(PathBuf::from) else {
        return;
    };
    let me = std::process::id();
    let before = proc_status_kib(me, "VmHWM:");
    println!("child VmHWM before decoding: {before} KiB");
    for r in tiles() {
        let file = std::fs::File::open(dir.join("big.jpg")).expect("open");
        let start = Instant::now();
        let px = region::jpeg_region(
            BufReader::new(file),
            8,
            r,
            u64::from(SIDE) * u64::from(SIDE),
        )
        .unwrap_or_else(|e| panic!("tile {r}: {e}"));
        let took = start.elapsed();
        assert_eq!((px.width, px.height, px.channels), (TILE, TILE, 3));
        std::fs::write(tile_path(&dir, r), &px.data).expect("write tile");
        println!(
            "tile {r}: {took:?}, VmHWM so far {} KiB",
            proc_status_kib(me, "VmHWM:")
        );
    }
    let hwm = proc_status_kib(me, "VmHWM:");
    println!("child VmHWM KiB: {hwm}");
    assert!(hwm < LIMIT_KIB, "VmHWM {hwm} KiB");
    assert!(
        hwm - before < GROWTH_KIB,
        "the decodes took VmHWM from {before} to {hwm} KiB"
    );
}
