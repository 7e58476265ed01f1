//! The IIIF service over pyramidal TIFFs written by the real vips (`tiffsave --tile --pyramid`,
//! JPEG Q90, 256-pixel tiles), through `imgorigin serve`:
//! - over s3s-fs behind a counting proxy: info.json's `tiles` are the file's own 256-pixel
//!   tiles with one scale factor per level vips wrote; a viewer's request for one whole tile
//!   of any level costs one HeadObject and one GetObject whose bytes from S3 (headers
//!   included) are within 10% of the answer, and the answer decodes to the pixels vips gives
//!   for that tile; an edge tile asked as JPEG is cut from its stored bytes (one GetObject,
//!   the stored pixels); an edge tile as PNG, a region crossing tiles (mirrored, turned) and
//!   a whole smaller level are decoded and composed, and match vips's pixels of that level;
//! - over a directory: a TIFF whose full level is over 1 GB (18,500 x 18,500 RGB,
//!   uncompressed, 1.37 GB with its pyramid) answers info.json, tiles of every level and an
//!   overview with the server's peak RSS under 64 MiB;
//! - a TIFF in strips is 501 and a cut-off one 422, with nothing of the parser's reasons in
//!   the answer.
//!
//! Needs vips (Debian libvips-tools; VIPS or PATH) and s3s-fs, as tests/iiif_tiff.rs and the
//! S3 tests do. A missing tool fails the test.

mod common;
#[path = "common/vips.rs"]
mod vips;

use common::client::Fetched;
use common::fetch;
use common::procs::{Backend, Imgorigin, Kind, BUCKET};
use common::proxy::CountingProxy;
use imgorigin::iiif::Rect;
use std::net::SocketAddr;
use std::path::Path;
use vips::{mean_abs_error, run, vips_crop};

/// Decoding differences only: vips (libjpeg-turbo) against the image crate's JPEG decoder,
/// which upsamples chroma and rounds its IDCT its own way.
const MAX_MAE: f64 = 2.0;
/// The same, for a tile passed through: the same JPEG bytes on both sides (0.009 measured).
const PASSED_MAE: f64 = 0.1;

/// A 2000 x 1500 photo-like image with grain, so that a 256-pixel JPEG tile at Q90 takes
/// tens of KB and an S3 answer's headers are small beside it.
fn pyramid(dir: &Path) -> std::path::PathBuf {
    let (w, h) = (2000u32, 1500u32);
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let grain = ((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 7) % 48;
        let wave = ((x as f32 / 9.0).sin() * (y as f32 / 13.0).cos() * 70.0 + 120.0) as u32;
        image::Rgb([
            (x * 200 / w + grain) as u8,
            (wave + grain) as u8,
            ((x / 80 + y / 60) % 2 * 150 + grain) as u8,
        ])
    });
    let src = dir.join("source.png");
    img.save(&src).unwrap();
    let tif = dir.join("photo.tif");
    vips::pyramid(&src, &tif, 90);
    tif
}

fn pages(tif: &Path) -> usize {
    let n = run("vipsheader", &["-f", "n-pages", tif.to_str().unwrap()]);
    n.trim().parse().expect("n-pages")
}

async fn get(addr: SocketAddr, path: &str) -> Fetched {
    let got = fetch(addr, "GET", path, &[]).await;
    assert_eq!(
        got.status,
        200,
        "{path}: {:?}",
        String::from_utf8_lossy(got.bytes())
    );
    got
}

fn rgb(got: &Fetched) -> image::RgbImage {
    image::load_from_memory(got.bytes())
        .expect("decodes")
        .to_rgb8()
}

#[tokio::test(flavor = "multi_thread")]
async fn tiles_pass_through_and_regions_compose_over_s3() {
    let work = tempfile::tempdir().unwrap();
    let tif = pyramid(work.path());
    let levels = pages(&tif);
    assert_eq!(levels, 4, "2000 x 1500 halved until one 256 tile holds it");
    let backend = Backend::start(Kind::S3sFs).await;
    backend
        .put(
            "maps/photo.tif",
            std::fs::read(&tif).unwrap(),
            "image/tiff",
            None,
        )
        .await;
    let proxy = CountingProxy::start(backend.port).await;
    let endpoint = format!("http://127.0.0.1:{}", proxy.port);
    let args = ["--bucket", BUCKET, "--endpoint", &endpoint].map(String::from);
    let server = Imgorigin::start(&args);
    let base = "/iiif/3/maps%2Fphoto.tif";

    let info: serde_json::Value =
        serde_json::from_slice(get(server.addr, &format!("{base}/info.json")).await.bytes())
            .unwrap();
    assert_eq!(
        (info["width"].as_u64(), info["height"].as_u64()),
        (Some(2000), Some(1500))
    );
    let factors: Vec<u64> = (0..levels).map(|i| 1 << i).collect();
    assert_eq!(
        info["tiles"],
        serde_json::json!([{"width": 256, "height": 256, "scaleFactors": factors}])
    );

    // One whole tile of each level that has one (level 3, 250 x 187, is a single edge tile),
    // as OpenSeadragon asks for it.
    for level in 0..levels as u32 - 1 {
        let s = 1u32 << level;
        let (col, row) = (1 / s.min(2), 1 / s.min(2));
        let (x, y, side) = (col * 256 * s, row * 256 * s, 256 * s);
        let path = format!("{base}/{x},{y},{side},{side}/256,256/0/default.jpg");
        let (requests, bytes) = (proxy.requests(), proxy.down_bytes());
        let got = get(server.addr, &path).await;
        let (requests, bytes) = (proxy.requests() - requests, proxy.down_bytes() - bytes);
        let body = got.bytes().len() as u64;
        assert_eq!(requests, 2, "{path}: a HeadObject and the tile's GetObject");
        assert!(
            bytes.abs_diff(body) * 10 <= body,
            "{path}: {bytes} bytes from S3 for a {body}-byte tile"
        );
        let px = rgb(&got);
        assert_eq!(px.dimensions(), (256, 256), "{path}");
        let page = format!("{}[page={level}]", tif.display());
        let want = vips_crop(
            work.path(),
            &page,
            Rect::new(col * 256, row * 256, 256, 256),
        );
        // The stored bytes, decoded by two decoders: a re-encoded tile would differ more.
        let mae = mean_abs_error(px.as_raw(), &want);
        assert!(mae < PASSED_MAE, "{path}: MAE {mae} against vips's tile");
        println!("{path}: {body} bytes, {bytes} from S3, MAE {mae:.3}");
    }

    // Decoded and composed: the padded edge tile of level 0 (2000 = 7 * 256 + 208).
    let got = get(
        server.addr,
        &format!("{base}/1792,0,208,256/208,256/0/default.png"),
    )
    .await;
    let want = vips_crop(
        work.path(),
        &format!("{}[page=0]", tif.display()),
        Rect::new(1792, 0, 208, 256),
    );
    let px = rgb(&got);
    assert_eq!(px.dimensions(), (208, 256));
    assert!(mean_abs_error(px.as_raw(), &want) < MAX_MAE);
    // The same edge tile as a viewer asks for it, JPEG: cut from the stored tile in the DCT
    // domain, so its pixels are the stored ones, as close to vips's as a whole tile's.
    let path = format!("{base}/1792,0,208,256/208,/0/default.jpg");
    let requests = proxy.requests();
    let got = get(server.addr, &path).await;
    let requests = proxy.requests() - requests;
    assert_eq!(requests, 2, "{path}: a HeadObject and the tile's GetObject");
    let px = rgb(&got);
    assert_eq!(px.dimensions(), (208, 256), "{path}");
    let mae = mean_abs_error(px.as_raw(), &want);
    assert!(mae < PASSED_MAE, "{path}: MAE {mae} against vips's tile");
    println!(
        "{path}: {} bytes, cut from the stored tile, MAE {mae:.3}",
        got.bytes().len()
    );
    // Level 2 whole (500 x 375): full/500, reads that level, no resize.
    let got = get(server.addr, &format!("{base}/full/500,/0/default.png")).await;
    let want = vips_crop(
        work.path(),
        &format!("{}[page=2]", tif.display()),
        Rect::new(0, 0, 500, 375),
    );
    let px = rgb(&got);
    assert_eq!(px.dimensions(), (500, 375));
    assert!(mean_abs_error(px.as_raw(), &want) < MAX_MAE);
    // A region over four tiles at full size, mirrored and turned a quarter clockwise.
    let got = get(
        server.addr,
        &format!("{base}/200,180,120,90/max/!90/default.png"),
    )
    .await;
    let src = vips_crop(
        work.path(),
        &format!("{}[page=0]", tif.display()),
        Rect::new(200, 180, 120, 90),
    );
    let px = rgb(&got);
    assert_eq!(px.dimensions(), (90, 120));
    // §4.3: mirror first, M(mx, my) = S(119 - mx, my); then a quarter turn clockwise,
    // O(ox, oy) = M(oy, 89 - ox).
    let want: Vec<u8> = (0..120u32)
        .flat_map(|y| (0..90u32).map(move |x| (y, x)))
        .flat_map(|(y, x)| {
            let (mx, my) = (y, 89 - x);
            let (sx, sy) = (119 - mx, my);
            let i = ((sy * 120 + sx) * 3) as usize;
            src[i..i + 3].to_vec()
        })
        .collect();
    assert!(mean_abs_error(px.as_raw(), &want) < MAX_MAE);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tiff_over_1_gb_is_served_in_bounded_memory() {
    let side = 18_500u32;
    let dir = tempfile::tempdir().unwrap();
    let (v, tif) = (dir.path().join("black.v"), dir.path().join("big.tif"));
    let s = side.to_string();
    run(
        "vips",
        &["black", v.to_str().unwrap(), &s, &s, "--bands", "3"],
    );
    run(
        "vips",
        &[
            "tiffsave",
            v.to_str().unwrap(),
            tif.to_str().unwrap(),
            "--tile",
            "--pyramid",
            "--compression",
            "none",
            "--tile-width",
            "256",
            "--tile-height",
            "256",
            "--bigtiff",
        ],
    );
    std::fs::remove_file(&v).unwrap();
    let size = std::fs::metadata(&tif).unwrap().len();
    assert!(size > 1_300_000_000, "{size} bytes");
    let server = Imgorigin::start(&["--root".into(), dir.path().display().to_string()]);
    let info: serde_json::Value =
        serde_json::from_slice(get(server.addr, "/iiif/3/big.tif/info.json").await.bytes())
            .unwrap();
    assert_eq!(info["width"], side);
    let levels = info["tiles"][0]["scaleFactors"].as_array().unwrap().len() as u32;
    assert!(levels >= 7, "{info}");
    for level in 0..levels {
        let s = 1u32 << level;
        for (col, row) in [(0, 0), (3, 2), (1, 5)] {
            let (x, y) = (col * 256 * s, row * 256 * s);
            if x >= side || y >= side {
                continue;
            }
            let w = (256 * s).min(side - x);
            let h = (256 * s).min(side - y);
            let path = format!(
                "/iiif/3/big.tif/{x},{y},{w},{h}/{},/0/default.jpg",
                w.div_ceil(s)
            );
            let got = get(server.addr, &path).await;
            assert_eq!(got.header("content-type"), Some("image/jpeg"), "{path}");
        }
    }
    get(server.addr, "/iiif/3/big.tif/full/1000,/0/default.jpg").await;
    get(
        server.addr,
        "/iiif/3/big.tif/pct:40,40,10,10/max/0/default.webp",
    )
    .await;
    let hwm = server.peak_rss_kib();
    println!("{size} bytes of TIFF: server VmHWM {hwm} KiB");
    assert!(hwm < 64 * 1024, "server VmHWM {hwm} KiB");
}

#[tokio::test(flavor = "multi_thread")]
async fn tiffs_it_does_not_serve_are_501_or_422() {
    let dir = tempfile::tempdir().unwrap();
    let tif = pyramid(dir.path());
    let strips = dir.path().join("strips.tif");
    let (s, t) = (tif.to_str().unwrap(), strips.to_str().unwrap());
    run("vips", &["tiffsave", s, t, "--compression", "jpeg"]);
    let bytes = std::fs::read(&tif).unwrap();
    std::fs::write(dir.path().join("cut.tif"), &bytes[..4096]).unwrap();
    let server = Imgorigin::start(&["--root".into(), dir.path().display().to_string()]);
    for (name, status) in [("strips.tif", 501), ("cut.tif", 422)] {
        for path in ["info.json", "full/100,/0/default.jpg"] {
            let path = format!("/iiif/3/{name}/{path}");
            let got = fetch(server.addr, "GET", &path, &[]).await;
            let body = String::from_utf8_lossy(got.bytes()).into_owned();
            assert_eq!(got.status, status, "{path}: {body}");
            assert!(
                !body.contains("TIFF:") && !body.contains("offset"),
                "{path}: {body}"
            );
        }
    }
    // The server still serves the whole file.
    get(server.addr, "/iiif/3/photo.tif/full/100,/0/default.jpg").await;
}
