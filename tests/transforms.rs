//! On-the-fly resize and format conversion (issue 5) through the real binary over TCP, with
//! fixtures generated here (tests/common/images.rs) and every answer decoded:
//! - each source format (baseline and progressive JPEG, PNG with and without alpha, WebP,
//!   GIF's first frame) to each output format (WebP, JPEG, PNG, AVIF): magic bytes, decoder,
//!   dimensions, similarity to a Lanczos3 reference (alpha included);
//! - AVIF switched on and off, its negotiation and default quality (transforms/avif.rs);
//! - fit modes and rounding; `format=auto` by Accept and source, with `Vary: Accept`;
//! - headers: Content-Type/Length, strong ETag per variant and source, Last-Modified,
//!   Cache-Control, 304, HEAD, canonical parameters, Range ignored on outputs; no parameters =
//!   raw bytes and Range as before;
//! - 400 for bad parameters, 415 for non-images, 422 for broken, bombs and over-limit sources;
//! - EXIF orientation applied and stripped; operator flags; queue timeout 503;
//! - peak RSS of a fresh server for 100 MP and 24 MP JPEGs; the Lambda path in both modes.

#[path = "transforms/avif.rs"]
mod avif;
mod common;
#[path = "common/hostile_webp.rs"]
mod hostile_webp;
#[path = "common/images.rs"]
mod images;

use common::fetch;
use common::procs::{Kind, BUCKET};
use common::runtime_api::{event_with_query, FakeRuntimeApi};
use common::Backend;
use image::{DynamicImage, ImageFormat};
use images::*;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn every_source_format_to_every_output_format() {
    let rgb = scene(600, 400);
    let alpha = scene_alpha(600, 400);
    let sources = [
        ("base.jpg", jpeg(&rgb, 92), 0xC0),
        ("prog.jpg", progressive_jpeg(&rgb), 0xC2),
        ("rgb.png", png(&rgb), 0),
        ("rgba.png", png(&alpha), 0),
        ("rgb.webp", webp(&rgb), 0),
        ("rgba.webp", webp(&alpha), 0),
        ("anim.gif", gif_two_frames(&rgba(&rgb)), 0),
    ];
    for (name, bytes, sof) in &sources {
        if *sof != 0 {
            assert_eq!(jpeg_sof(bytes), (*sof, 600, 400), "fixture {name}");
        }
    }
    let s = site(&sources.clone().map(|(n, b, _)| (n, b)), &avif::AVIF_ON);
    for (name, bytes, _) in &sources {
        // The reference is what a decoder independent of the server sees (GIF: frame 1).
        let src = image::load_from_memory(bytes).expect("fixture decodes");
        let want = reference(&src, 200, 133);
        for format in ["webp", "jpeg", "png", "avif"] {
            let path = format!("/{name}?w=200&format={format}");
            let out = s.image(&path, None, format).await;
            assert_eq!((out.width(), out.height()), (200, 133), "{path}");
            if name.starts_with("rgba") && format == "jpeg" {
                continue; // flattened onto a background: only format and size are specified
            }
            let err = mean_abs_error(&out.to_rgba8(), &want);
            println!("{path}: mean abs error {err:.2}");
            assert!(
                err < 8.0,
                "{path}: mean abs error {err:.2} against the reference"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fit_modes_sizes_and_rounding() {
    let src = DynamicImage::ImageRgb8(scene(600, 400));
    let s = site(
        &[
            ("p.png", encode(&src, ImageFormat::Png)),
            ("small.png", png(&scene(300, 200))),
            ("strip.png", png(&scene(1000, 10))),
        ],
        &[],
    );
    for (query, want) in [
        ("/p.png?w=200&h=200", (200, 133)),
        ("/p.png?w=300&h=100", (150, 100)),
        ("/p.png?h=100", (150, 100)),
        ("/p.png?w=4000", (600, 400)),
        ("/p.png?w=4000&h=4000&fit=inside", (600, 400)),
        ("/p.png?w=200&fit=cover", (200, 133)),
        ("/p.png?h=100&fit=fill", (150, 100)),
        ("/p.png?w=200&h=200&fit=cover", (200, 200)),
        ("/p.png?w=200&h=200&fit=contain", (200, 200)),
        ("/p.png?w=200&h=50&fit=fill", (200, 50)),
        ("/small.png?w=100", (100, 67)),
        ("/strip.png?w=20", (20, 1)),
    ] {
        let out = s.image(&format!("{query}&format=png"), None, "png").await;
        assert_eq!((out.width(), out.height()), want, "{query}");
    }
    let check = |out: &DynamicImage, want: &image::RgbaImage, what: &str| {
        let err = mean_abs_error(&out.to_rgba8(), want);
        assert!(err < 8.0, "{what}: mean abs error {err:.2}");
    };
    // cover: the centre 400 x 400, scaled
    let out = s
        .image("/p.png?w=200&h=200&fit=cover&format=png", None, "png")
        .await;
    check(
        &out,
        &reference(&src.crop_imm(100, 0, 400, 400), 200, 200),
        "cover",
    );
    // fill: stretched
    let out = s
        .image("/p.png?w=200&h=50&fit=fill&format=webp", None, "webp")
        .await;
    check(&out, &reference(&src, 200, 50), "fill");
    // contain: 200 x 133 of image in the middle, padding above and below
    let inner = reference(&src, 200, 133);
    for (format, pad) in [("png", [0u8; 4]), ("webp", [0; 4]), ("jpeg", [255; 4])] {
        let path = format!("/p.png?w=200&h=200&fit=contain&format={format}");
        let out = s.image(&path, None, format).await.to_rgba8();
        for y in (0..30).chain(177..200) {
            for x in (0..200).step_by(7) {
                let p = out.get_pixel(x, y).0;
                let close = if format == "jpeg" {
                    p[..3].iter().all(|&c| c >= 235)
                } else {
                    p[3] <= 8 // transparent, whatever colour it carries
                };
                assert!(close, "{path}: padding at ({x},{y}) is {p:?}, want {pad:?}");
            }
        }
        let band = |top: u32| {
            let a = image::imageops::crop_imm(&out, 0, top + 8, 200, 117).to_image();
            let b = image::imageops::crop_imm(&inner, 0, 8, 200, 117).to_image();
            mean_abs_error(&a, &b)
        };
        let err = band(33).min(band(34)).min(band(32));
        assert!(err < 8.0, "{path}: image band mean abs error {err:.2}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn format_auto_follows_accept_then_source() {
    let rgb = scene(300, 200);
    let alpha = scene_alpha(300, 200);
    let s = site(
        &[
            ("a.jpg", jpeg(&rgb, 90)),
            ("a.png", png(&rgb)),
            ("t.png", png(&alpha)),
            ("a.webp", webp(&rgb)),
            ("t.webp", webp(&alpha)),
        ],
        &[],
    );
    for (bytes, alpha) in [(webp(&rgb), false), (webp(&alpha), true)] {
        let color = image::load_from_memory(&bytes).expect("fixture").color();
        assert_eq!(
            color.has_alpha(),
            alpha,
            "WebP fixture colour type {color:?}"
        );
    }
    let webp = "image/avif,image/webp,*/*;q=0.8";
    for (path, accept, want) in [
        ("/a.jpg?w=100&format=auto", Some(webp), "webp"),
        ("/a.jpg?w=100", Some(webp), "webp"),
        ("/a.png?w=100&format=auto", Some("image/webp"), "webp"),
        ("/a.jpg?w=100&format=auto", Some("image/webp;q=0.5"), "webp"),
        ("/a.jpg?w=100&format=auto", None, "jpeg"),
        (
            "/a.jpg?w=100&format=auto",
            Some("image/webp;q=0,*/*"),
            "jpeg",
        ),
        ("/a.jpg?w=100&format=auto", Some("image/*"), "jpeg"),
        ("/a.jpg?w=100&format=auto", Some("*/*"), "jpeg"),
        ("/a.png?w=100&format=auto", Some("image/png,*/*"), "png"),
        ("/t.png?w=100&format=auto", None, "png"),
        ("/a.webp?w=100&format=auto", Some("text/html,*/*"), "jpeg"),
        ("/t.webp?w=100&format=auto", None, "png"),
        ("/t.webp?w=100&format=auto", Some(webp), "webp"),
    ] {
        let what = format!("{path} Accept {accept:?}");
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let got = s.send("GET", path, &headers).await;
        assert_eq!(got.status, 200, "{what}");
        assert_eq!(got.header("content-type"), Some(mime(want)), "{what}");
        let out = decode_as(got.bytes(), want);
        assert_eq!((out.width(), out.height()), (100, 67), "{what}");
        assert!(vary_has_accept(&got), "{what}: no Vary: Accept");
    }
    for path in [
        "/a.jpg?w=100&format=png",
        "/a.jpg?w=100&format=webp",
        "/a.jpg?w=100&format=jpg",
    ] {
        let got = s.send("GET", path, &[("accept", webp)]).await;
        assert_eq!(got.status, 200, "{path}");
        assert!(
            !vary_has_accept(&got),
            "{path}: explicit format with Vary: Accept"
        );
    }
    let got = s.get("/a.jpg?w=100&format=jpg").await;
    assert_eq!(got.header("content-type"), Some("image/jpeg"), "format=jpg");
}

#[tokio::test(flavor = "multi_thread")]
async fn headers_etags_conditionals_head_and_raw_bytes() {
    let original = jpeg(&scene(600, 400), 90);
    let s = site(&[("photo.jpg", original.clone())], &[]);
    // Without transform parameters: the raw object, Range included, exactly as before.
    let raw = s.get("/photo.jpg").await;
    assert_eq!(raw.status, 200);
    assert_eq!(raw.bytes(), &original[..], "raw bytes");
    let part = s
        .send("GET", "/photo.jpg", &[("range", "bytes=10-109")])
        .await;
    assert_eq!(part.status, 206);
    assert_eq!(part.bytes(), &original[10..110], "raw range");
    let raw_etag = raw.header("etag").expect("raw etag").to_owned();
    let last_modified = raw
        .header("last-modified")
        .expect("last-modified")
        .to_owned();

    let path = "/photo.jpg?w=200&format=webp";
    let a = s.get(path).await;
    assert_eq!(a.status, 200);
    assert_eq!(a.header("content-type"), Some("image/webp"));
    assert_eq!(
        a.header("content-length"),
        Some(&*a.bytes().len().to_string())
    );
    assert_eq!(a.header("last-modified"), Some(&*last_modified));
    assert_eq!(a.header("cache-control"), Some("public, max-age=31536000"));
    let etag = a.header("etag").expect("etag").to_owned();
    assert!(
        etag.len() > 2 && etag.starts_with('"') && etag.ends_with('"'),
        "strong: {etag}"
    );
    assert_ne!(etag, raw_etag, "a variant shares the raw object's ETag");
    assert_eq!(
        s.get(path).await.header("etag"),
        Some(&*etag),
        "same request, same ETag"
    );
    // Order and defaults do not make another variant.
    for same in [
        "format=webp&w=200",
        "w=200&format=webp&q=80&fit=inside",
        "w=200&fit=cover&format=webp",
    ] {
        let got = s.get(&format!("/photo.jpg?{same}")).await;
        assert_eq!(got.header("etag"), Some(&*etag), "{same}: canonical ETag");
    }
    // Outputs are whole: Range ignored, Accept-Ranges: none.
    let ranged = s.send("GET", path, &[("range", "bytes=0-9")]).await;
    assert_eq!(ranged.status, 200, "Range on a transform");
    assert_eq!(
        ranged.bytes().len(),
        a.bytes().len(),
        "Range on a transform"
    );
    assert_eq!(a.header("accept-ranges"), Some("none"));
    let mut seen = vec![raw_etag.clone(), etag.clone()];
    for other in [
        "w=201&format=webp",
        "w=200&format=jpeg",
        "w=200&format=png",
        "w=200&format=webp&q=50",
        "w=200&h=200&fit=cover&format=webp",
    ] {
        let got = s.get(&format!("/photo.jpg?{other}")).await;
        assert_eq!(got.status, 200, "{other}");
        let e = got.header("etag").expect("etag").to_owned();
        assert!(!seen.contains(&e), "{other}: ETag {e} not distinct");
        seen.push(e);
    }
    // auto: WebP and JPEG answers differ
    let w = s
        .send("GET", "/photo.jpg?w=200", &[("accept", "image/webp")])
        .await;
    let j = s
        .send("GET", "/photo.jpg?w=200", &[("accept", "image/jpeg")])
        .await;
    assert_ne!(w.header("etag"), j.header("etag"), "auto: ETag per format");

    let cond = s.send("GET", path, &[("if-none-match", &etag)]).await;
    assert_eq!(cond.status, 304, "If-None-Match");
    assert!(cond.bytes().is_empty(), "304 with a body");
    assert_eq!(cond.header("etag"), Some(&*etag));
    let listed = format!("\"nope\", {etag}");
    let cond = s.send("GET", path, &[("if-none-match", &listed)]).await;
    assert_eq!(cond.status, 304, "If-None-Match list");
    let miss = s.send("GET", path, &[("if-none-match", "\"nope\"")]).await;
    assert_eq!(miss.status, 200, "If-None-Match other");

    let head = s.send("HEAD", path, &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.bytes().is_empty(), "HEAD with a body");
    for name in [
        "content-type",
        "content-length",
        "etag",
        "last-modified",
        "cache-control",
    ] {
        assert_eq!(head.header(name), a.header(name), "HEAD {name}");
    }
    let head304 = s.send("HEAD", path, &[("if-none-match", &etag)]).await;
    assert_eq!(head304.status, 304, "HEAD If-None-Match");

    // Quality reaches the encoder.
    let low = s.get("/photo.jpg?w=400&format=jpeg&q=10").await;
    let high = s.get("/photo.jpg?w=400&format=jpeg&q=95").await;
    decode_as(low.bytes(), "jpeg");
    assert!(
        low.bytes().len() * 2 < high.bytes().len(),
        "q=10 {} vs q=95 {} bytes",
        low.bytes().len(),
        high.bytes().len()
    );

    // A changed source: new ETag and Last-Modified, new pixels.
    let file = s.dir.path().join("photo.jpg");
    std::fs::write(&file, jpeg(&halves(600, 400), 90)).expect("rewrite");
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .expect("open")
        .set_modified(later)
        .expect("mtime");
    let b = s.get(path).await;
    assert_eq!(b.status, 200);
    assert_ne!(b.header("etag"), Some(&*etag), "changed source, same ETag");
    assert_ne!(
        b.header("last-modified"),
        Some(&*last_modified),
        "changed source, same Last-Modified"
    );
    let left = mean_rgb(&decode_as(b.bytes(), "webp").to_rgba8(), 0, 0, 50, 133);
    assert!(
        left[0] > 150.0 && left[2] < 80.0,
        "new source not served: {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_are_400_without_internals() {
    let s = site(&[("p.jpg", jpeg(&scene(300, 200), 90))], &[]);
    const BAD: &str = "w=0 w=01 w=-5 w=%2B5 w=+5 w=5.0 w=abc w= w=%205 w=4097 w=99999999999 \
        h=0 h=4097 h=1e3 fit=stretch fit= format=avif format=gif format=bmp format= q=0 q=101 \
        q=080 q=high w=100&w=100 w=100&w=200 format=webp&format=webp w=100&h=100&h=50 \
        w=100&fit=cover&fit=fill q=50&q=60";
    for query in BAD.split_whitespace() {
        let got = s.get(&format!("/p.jpg?{query}")).await;
        assert_refused(&got, 400, query, s.dir.path());
    }
    // The edges that are allowed.
    for query in "w=4096 h=4096 w=1&h=1&fit=fill q=1&format=jpeg q=100&format=webp".split(' ') {
        assert_ok(&s.get(&format!("/p.jpg?{query}")).await, query);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_sources_are_415_or_422_and_bombs_are_quick() {
    let good = jpeg(&scene(600, 400), 90);
    let png_bytes = png(&scene(600, 400));
    let prog = progressive_jpeg(&scene(64, 64));
    let files = [
        ("random.jpg", common::pattern(5000, 7)),
        ("text.png", b"hello, not an image\n".to_vec()),
        ("half.jpg", good[..good.len() / 2].to_vec()),
        ("half.png", png_bytes[..png_bytes.len() / 2].to_vec()),
        ("bomb.png", png_claiming(100_000, 100_000)),
        ("bomb60k.png", png_claiming(60_000, 60_000)),
        ("sof.jpg", jpeg_claiming(&good, 65_000, 65_000)),
        ("scans.jpg", jpeg_many_scans(&prog, 5000)),
        ("huffman.webp", hostile_webp::oversubscribed_huffman()),
    ];
    // A decoder's panic is logged in one line even when backtraces are asked for: symbolizing
    // one took the server to ~210 MiB.
    let s = site_with_env(&files, &[], &[("RUST_BACKTRACE", "1")]);
    for (name, status) in [
        ("random.jpg", 415),
        ("text.png", 415),
        ("half.jpg", 422),
        ("half.png", 422),
        ("bomb.png", 422),
        ("bomb60k.png", 422),
        ("sof.jpg", 422),
        ("scans.jpg", 422),
        // image-webp panics on it (image-rs/image-webp#118): caught, 422, still serving.
        ("huffman.webp", 422),
    ] {
        for format in ["webp", "jpeg"] {
            let path = format!("/{name}?w=100&format={format}");
            let start = Instant::now();
            let got = s.get(&path).await;
            let took = start.elapsed();
            assert_refused(&got, status, &path, s.dir.path());
            assert!(took < Duration::from_secs(3), "{path} took {took:?}");
        }
        let raw = s.get(&format!("/{name}")).await;
        assert_eq!(raw.status, 200, "{name} raw");
    }
    let rss = s.server.peak_rss_kib();
    assert!(rss < 64 * 1024, "bombs raised peak RSS to {rss} KiB");
}

#[tokio::test(flavor = "multi_thread")]
async fn source_and_size_limits_from_flags() {
    let big = png(&noise(600, 400, 3));
    let small = png(&scene(60, 60));
    let sq = png(&scene(300, 300));
    assert!(
        big.len() > 20_000 && small.len() < 20_000,
        "fixture sizes {} {}",
        big.len(),
        small.len()
    );
    let files = [("big.png", big), ("small.png", small), ("sq.png", sq)];
    let pixels = site(&files, &["--max-pixels", "90000"]);
    let got = pixels.get("/big.png?w=50").await; // 240 000 px
    assert_refused(&got, 422, "over --max-pixels", pixels.dir.path());
    for ok in ["/sq.png?w=50", "/small.png?w=50"] {
        assert_eq!(pixels.get(ok).await.status, 200, "{ok} within --max-pixels");
    }
    let bytes = site(&files, &["--max-source-bytes", "20000"]);
    let got = bytes.get("/big.png?w=50").await;
    assert_refused(&got, 422, "over --max-source-bytes", bytes.dir.path());
    assert_eq!(
        bytes.get("/small.png?w=50").await.status,
        200,
        "within --max-source-bytes"
    );
    assert_eq!(
        bytes.get("/big.png").await.status,
        200,
        "raw object over the limit"
    );
    let dims = site(
        &files,
        &[
            "--max-dimension",
            "1000",
            "--cache-control",
            "public, max-age=60",
        ],
    );
    assert_refused(
        &dims.get("/small.png?w=1001").await,
        400,
        "w over --max-dimension",
        dims.dir.path(),
    );
    assert_refused(
        &dims.get("/small.png?h=1001").await,
        400,
        "h over --max-dimension",
        dims.dir.path(),
    );
    let got = dims.get("/small.png?w=1000&format=png").await;
    assert_eq!(got.status, 200, "w = --max-dimension");
    assert_eq!(
        got.header("cache-control"),
        Some("public, max-age=60"),
        "--cache-control"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn widths_formats_and_no_transforms_flags() {
    let photo = jpeg(&scene(800, 600), 90);
    let files = [("p.jpg", photo.clone())];
    let s = site(
        &files,
        &["--widths", "160,320,640", "--formats", "webp,jpeg"],
    );
    let out = s.image("/p.jpg?w=320&format=webp", None, "webp").await;
    assert_eq!((out.width(), out.height()), (320, 240));
    for bad in [
        "w=300",
        "w=161",
        "w=800",
        "format=png&w=160",
        "format=avif&w=160",
    ] {
        assert_refused(
            &s.get(&format!("/p.jpg?{bad}")).await,
            400,
            bad,
            s.dir.path(),
        );
    }
    let off = site(&files, &["--no-transforms"]);
    for query in ["w=200&format=webp", "w=0", "format=avif&w=1&w=2"] {
        let got = off.get(&format!("/p.jpg?{query}")).await;
        assert_eq!(got.status, 200, "--no-transforms {query}");
        assert_eq!(
            got.bytes(),
            &photo[..],
            "--no-transforms {query}: raw bytes"
        );
        assert_eq!(got.header("content-type"), Some("image/jpeg"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exif_orientation_is_applied_and_stripped() {
    let stored = jpeg(&halves(600, 400), 92);
    let files = [
        ("o6.jpg", with_orientation(&stored, 6)),
        ("o3.jpg", with_orientation(&stored, 3)),
        ("o8.jpg", with_orientation(&stored, 8)),
        ("o1.jpg", with_orientation(&stored, 1)),
    ];
    for (name, bytes) in &files {
        assert!(has_exif(bytes), "fixture {name} has no EXIF");
    }
    let s = site(&files, &[]);
    const RED: [bool; 3] = [true, false, false];
    const BLUE: [bool; 3] = [false, false, true];
    let is = |c: [f64; 3]| c.map(|v| v > 150.0);
    for format in ["jpeg", "webp", "png"] {
        for (name, query, size, first, second) in [
            // first/second: top/bottom halves for quarter turns, left/right otherwise
            ("o6", "w=200", (200, 300), RED, BLUE),
            ("o8", "w=200", (200, 300), BLUE, RED),
            ("o3", "w=300", (300, 200), BLUE, RED),
            ("o1", "w=300", (300, 200), RED, BLUE),
        ] {
            let path = format!("/{name}.jpg?{query}&format={format}");
            let got = s.get(&path).await;
            assert!(!has_exif(got.bytes()), "{path}: EXIF in the output");
            let out = s.image(&path, None, format).await.to_rgba8();
            assert_eq!(out.dimensions(), size, "{path}");
            let (w, h) = size;
            let (a, b) = if w < h {
                (
                    mean_rgb(&out, 0, 0, w, h / 2 - 10),
                    mean_rgb(&out, 0, h / 2 + 10, w, h),
                )
            } else {
                (
                    mean_rgb(&out, 0, 0, w / 2 - 10, h),
                    mean_rgb(&out, w / 2 + 10, 0, w, h),
                )
            };
            assert_eq!(
                (is(a), is(b)),
                (first, second),
                "{path}: halves {a:?} / {b:?}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn queue_timeout_answers_503_with_retry_after() {
    let heavy = png(&noise(3000, 3000, 5));
    let s = site(
        &[("n.png", heavy)],
        &[
            "--transform-concurrency",
            "1",
            "--transform-queue-timeout",
            "1",
        ],
    );
    let mut tasks = Vec::new();
    for i in 0..8 {
        let addr = s.server.addr;
        let path = format!("/n.png?w={}&format=webp&q=95", 2400 + i);
        tasks.push(tokio::spawn(
            async move { fetch(addr, "GET", &path, &[]).await },
        ));
    }
    let (mut ok, mut busy) = (0, 0);
    for t in tasks {
        let got = t.await.expect("join");
        match got.status.as_u16() {
            200 => ok += 1,
            503 => {
                busy += 1;
                let retry = got.header("retry-after").expect("Retry-After on 503");
                assert!(
                    retry.parse::<u32>().is_ok_and(|n| n >= 1),
                    "Retry-After {retry:?}"
                );
            }
            other => panic!("status {other}: {:?}", String::from_utf8_lossy(got.bytes())),
        }
    }
    println!("8 concurrent heavy transforms, 1 slot, 1 s queue: {ok} x 200, {busy} x 503");
    assert!(ok >= 1 && busy >= 1, "{ok} x 200, {busy} x 503");
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_100_mp_jpeg_to_webp_under_200_mib() {
    large_jpeg(
        (12240, 8160),
        false,
        (&[], "w=400&format=webp"),
        Some(("webp", 400, 267)),
        200,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_24_mp_jpeg_to_jpeg_under_128_mib() {
    large_jpeg(
        (6000, 4000),
        false,
        (&[], "w=1280&format=jpeg"),
        Some(("jpeg", 1280, 853)),
        128,
    )
    .await;
}

/// Its coefficient buffers alone (~300 MB at 4:2:0) exceed any budget that fits 200 MiB.
#[tokio::test(flavor = "multi_thread")]
async fn memory_100_mp_progressive_jpeg_refused_quickly() {
    large_jpeg((12240, 8160), true, (&[], "w=400&format=webp"), None, 200).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_transforms_in_both_invoke_modes() {
    let backend = Backend::start(Kind::S3sFs).await;
    backend
        .put("photo.jpg", jpeg(&scene(600, 400), 90), "image/jpeg", None)
        .await;
    for mode in ["stream", "buffered"] {
        let mut api = FakeRuntimeApi::start().await;
        let mut child = common::procs::imgorigin_command()
            .env("AWS_LAMBDA_RUNTIME_API", api.host_port())
            .env("IMGORIGIN_INVOKE_MODE", mode)
            .env("IMGORIGIN_BUCKET", BUCKET)
            .env("IMGORIGIN_ENDPOINT", backend.endpoint())
            .env("IMGORIGIN_FORMATS", "avif,webp,jpeg,png")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("start imgorigin");
        let mut posts = Vec::new();
        for (query, accept) in [("w=200&format=webp", None), ("w=200", Some("image/avif"))] {
            let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
            let event = event_with_query("GET", "/photo.jpg", query, &headers);
            posts.push((query, api.invoke(event).await));
        }
        let _ = child.kill();
        let _ = child.wait();
        for ((query, post), format) in posts.iter().zip(["webp", "avif"]) {
            let what = format!("{mode} {query}");
            let (json, body) = post.answer(mode);
            assert_eq!(json["statusCode"], 200, "{what}: {json}");
            assert_eq!(json["headers"]["content-type"], mime(format), "{what}");
            if mode == "buffered" {
                assert_eq!(
                    json["isBase64Encoded"].as_bool(),
                    Some(true),
                    "buffered binary body"
                );
            }
            let vary = json["headers"]["vary"].as_str();
            assert_eq!(
                vary == Some("Accept"),
                format == "avif",
                "{what}: Vary {vary:?}"
            );
            let out = decode_as(&body, format);
            assert_eq!((out.width(), out.height()), (200, 133), "{what}");
        }
    }
}
