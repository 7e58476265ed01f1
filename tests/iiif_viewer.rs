//! OpenSeadragon (npm `openseadragon` 6.1.1, pinned in tests/viewer) in headless Chromium
//! (Debian's, driven by Playwright for Python: tests/iiif_viewer.py) opens info.json of
//! (a) a 20,000 x 15,000 baseline JPEG and (b) a pyramidal JPEG TIFF made by `vips tiffsave
//! --tile --pyramid`, served by `imgorigin serve`, and zooms to full resolution at several
//! points. Every answer the viewer gets is 200, and each view's pixels (a screenshot of the
//! canvas) match the same region of the source decoded independently, by vips, at the image
//! coordinates the viewer reports for the canvas's corner: mean absolute error under
//! [`MAX_MAE`] at the best offset within one pixel (the viewer draws tiles to within a
//! pixel), and over four times as large 8 pixels off, so a tile misplaced by more than a
//! pixel, or the wrong tile, fails.
//!
//! Needs chromium (CHROMIUM or PATH), Playwright for Python (PLAYWRIGHT_PYTHON, a python
//! that imports it), OpenSeadragon (`npm ci` in tests/viewer; tests/run.sh does both) and
//! vips. A missing tool fails the test.

mod common;
#[path = "common/images.rs"]
#[allow(dead_code)]
mod images;
#[path = "common/vips.rs"]
mod vips;

use common::procs::{find_tool, Imgorigin};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Mean absolute error bound per channel for a view against vips's decode of the same
/// region, at the best offset within a pixel (see [`check_views`]; measured: the output).
const MAX_MAE: f64 = 3.5;

/// The picture: waves of different periods in each channel (a pixel's shift changes every
/// channel by a few levels) and dark lines every 1000 pixels.
fn pixel(x: u32, y: u32) -> [u8; 3] {
    if x % 1000 < 4 || y % 1000 < 4 {
        return [20, 20, 30];
    }
    let (fx, fy) = (f64::from(x), f64::from(y));
    [
        128.0 + 90.0 * (fx / 13.0).sin(),
        128.0 + 90.0 * (fy / 17.0).sin(),
        128.0 + 60.0 * ((fx + fy) / 23.0).sin(),
    ]
    .map(|v| v.round() as u8)
}

/// Writes a `w` x `h` baseline 4:2:0 JPEG of [`pixel`] at quality 90, 16 rows at a time.
fn write_jpeg(path: &Path, w: u32, h: u32) {
    let file = BufWriter::new(std::fs::File::create(path).expect("create"));
    let file = images::mozjpeg_write(file, (w, h), 90.0, false, pixel);
    file.into_inner().expect("flush");
}

fn osd() -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/viewer/node_modules/openseadragon/build/openseadragon/openseadragon.min.js");
    assert!(
        path.is_file(),
        "{} is missing: run `npm ci` in tests/viewer (tests/run.sh does)",
        path.display()
    );
    path
}

fn python() -> PathBuf {
    let python = std::env::var_os("PLAYWRIGHT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".venv/bin/python"));
    let ok = Command::new(&python)
        .args(["-c", "import playwright"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "{} cannot import playwright: set PLAYWRIGHT_PYTHON or run tests/run.sh",
        python.display()
    );
    python
}

/// What the viewer showed at each point.
struct View {
    x: f64,
    y: f64,
    image: image::RgbImage,
}

/// Runs tests/iiif_viewer.py on `info` and `points`.
fn run_viewer(info: &str, points: &[(u32, u32)]) -> std::process::Output {
    let chromium = find_tool("CHROMIUM", "chromium", "apt-get install chromium");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/iiif_viewer.py");
    let mut cmd = Command::new(python());
    cmd.arg(script)
        .arg("--chromium")
        .arg(chromium)
        .arg("--osd")
        .arg(osd())
        .args(["--info", info]);
    for (x, y) in points {
        cmd.args(["--point", &format!("{x},{y}")]);
    }
    cmd.output().expect("run tests/iiif_viewer.py")
}

/// Runs tests/iiif_viewer.py on `info`; returns the views and checks every IIIF answer.
fn view(info: &str, points: &[(u32, u32)]) -> Vec<View> {
    let out = run_viewer(info, points);
    assert!(
        out.status.success(),
        "tests/iiif_viewer.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    let responses = report["responses"].as_array().expect("responses");
    let bad: Vec<_> = responses.iter().filter(|r| r[0] != 200).collect();
    assert!(bad.is_empty(), "answers that were not 200: {bad:?}");
    assert!(responses.len() > points.len(), "{responses:?}");
    println!(
        "{info}: {} answers, all 200 (Chromium {})",
        responses.len(),
        report["chromium"]
    );
    let views = report["views"].as_array().expect("views");
    views
        .iter()
        .map(|v| {
            use base64::Engine;
            let png = base64::engine::general_purpose::STANDARD
                .decode(v["png"].as_str().expect("png"))
                .expect("base64");
            View {
                x: v["x"].as_f64().expect("x"),
                y: v["y"].as_f64().expect("y"),
                image: image::load_from_memory(&png).expect("a PNG").to_rgb8(),
            }
        })
        .collect()
}

/// Pixels of reference around each view, on every side.
const MARGIN: u32 = 8;

/// Mean absolute error of `view` against `reference` (RGB rows `ref_width` wide, whose
/// top-left is [`MARGIN`] pixels up and left of the view's corner), the view moved by
/// (dx, dy) within the reference.
fn error(view: &View, reference: &[u8], ref_width: u32, dx: u32, dy: u32) -> f64 {
    let (mut sum, mut n) = (0u64, 0u64);
    for (i, j, px) in view.image.enumerate_pixels() {
        let at = (((j + dy) * ref_width + i + dx) * 3) as usize;
        let want = &reference[at..at + 3];
        sum += (0..3)
            .map(|c| u64::from(px[c].abs_diff(want[c])))
            .sum::<u64>();
        n += 3;
    }
    sum as f64 / n as f64
}

/// Compares each view with the same region of `image` (a file, or a TIFF page) as vips
/// decodes it (libjpeg-turbo: independent of the server's decoders and of the browser's).
/// OpenSeadragon's canvas drawer places tiles to within a pixel (measured: the best offset
/// of 100-pixel blocks of one view varies between 0 and -1 in each axis), so a view is
/// compared at its best offset within one pixel; 8 pixels off must be far worse.
fn check_views(work: &Path, what: &str, image: &str, views: &[View]) {
    for v in views {
        let (x0, y0) = (v.x.round() as u32, v.y.round() as u32);
        assert!(
            (v.x - f64::from(x0)).abs() < 0.01 && (v.y - f64::from(y0)).abs() < 0.01,
            "{what}: corner at ({}, {}), not on a pixel",
            v.x,
            v.y
        );
        let (w, h) = v.image.dimensions();
        let m = MARGIN;
        let rect = imgorigin::iiif::Rect::new(x0 - m, y0 - m, w + 2 * m, h + 2 * m);
        let reference = vips::vips_crop(work, image, rect);
        let at = |dx: u32, dy: u32| error(v, &reference, w + 2 * m, dx, dy);
        let near = [m - 1, m, m + 1];
        let mae = near
            .iter()
            .flat_map(|&dx| near.map(|dy| at(dx, dy)))
            .fold(f64::MAX, f64::min);
        let off = [(0, m), (2 * m, m), (m, 0), (m, 2 * m)]
            .map(|(dx, dy)| at(dx, dy))
            .into_iter()
            .fold(f64::MAX, f64::min);
        println!("{what} at ({x0}, {y0}): MAE {mae:.2} against vips, {m} pixels off {off:.2}");
        assert!(mae < MAX_MAE, "{what} at ({x0}, {y0}): MAE {mae}");
        assert!(
            off > 4.0 * mae,
            "{what} at ({x0}, {y0}): {off} when {m} pixels off"
        );
    }
}

#[test]
fn openseadragon_shows_full_resolution_tiles_of_a_jpeg_and_a_pyramidal_tiff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let big = (20_000, 15_000);
    write_jpeg(&dir.path().join("big.jpg"), big.0, big.1);
    let small = (6000, 4000);
    let src = dir.path().join("small.jpg");
    write_jpeg(&src, small.0, small.1);
    let tif = dir.path().join("pyramid.tif");
    vips::pyramid(&src, &tif, 90);
    let server = Imgorigin::start(&["--root".into(), dir.path().display().to_string()]);
    let base = format!("http://{}/iiif/3", server.addr);

    // Views of 800 x 600 with MARGIN to spare around each: the top-left, the centre and the
    // bottom-right corner (the last row and column of tiles, cut at the image's edge).
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    let points = [(1000, 1000), (10_500, 7_300), (19_591, 14_691)];
    let views = view(&format!("{base}/big.jpg/info.json"), &points);
    let file = dir.path().join("big.jpg").display().to_string();
    check_views(&work, "big.jpg", &file, &views);
    let points = [(1000, 1000), (3_100, 2_050), (5_591, 3_691)];
    let views = view(&format!("{base}/pyramid.tif/info.json"), &points);
    check_views(
        &work,
        "pyramid.tif",
        &format!("{}[page=0]", tif.display()),
        &views,
    );
}

/// A private image (under `--signed-prefix`) opens from the one URL `imgorigin sign --iiif`
/// prints, every tile URL carrying its token through info.json's `id`; without the token
/// the viewer cannot open it (403).
#[test]
fn openseadragon_opens_a_private_image_from_a_signed_link_only() {
    const KEYS: &str = "k1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("private")).expect("mkdir");
    let src = dir.path().join("src.jpg");
    write_jpeg(&src, 3000, 2000);
    let tif = dir.path().join("private/p.tif");
    vips::pyramid(&src, &tif, 90);
    let args = [
        "--root",
        &dir.path().display().to_string(),
        "--signing-keys",
        KEYS,
    ]
    .into_iter()
    .chain(["--signed-prefix", "private/"])
    .map(String::from)
    .collect::<Vec<_>>();
    let server = Imgorigin::start(&args);
    let args = ["--iiif", "--expires-in", "1h", "/private/p.tif"];
    let info = common::procs::imgorigin_sign(&args, KEYS);
    let info = format!("http://{}{info}", server.addr);
    let views = view(&info, &[(1500, 1000)]);
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    check_views(
        &work,
        "private p.tif",
        &format!("{}[page=0]", tif.display()),
        &views,
    );
    let unsigned = format!("http://{}/iiif/3/private%2Fp.tif/info.json", server.addr);
    let out = run_viewer(&unsigned, &[(1500, 1000)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("open failed"),
        "the viewer opened the private image without a token: {stderr}"
    );
}
