//! AVIF output (part of the `transforms` test binary), through the real binary over TCP,
//! every AVIF answer decoded by libavif's `avifdec`:
//! - off by default: `format=avif` is 400 and `auto` never picks it (see also
//!   `bad_parameters_are_400_without_internals`, `format_auto_follows_accept_then_source`);
//! - with `--formats avif,...`: `auto` picks AVIF exactly when Accept lists `image/avif` with
//!   a non-zero weight, with `Vary: Accept` and an ETag per format;
//! - AVIF's own default quality: `q` left out equals `q=` that default, not `q=80`;
//! - the 2048 px cap on AVIF outputs: `format=avif` capped or 400, `auto` falls back to WebP;
//! - peak RSS of 24 MP and 100 MP JPEGs to AVIF (the encoder's frames on top of the decode).
//!
//! Each source format to AVIF, with similarity to the reference resize and alpha kept, is in
//! `every_source_format_to_every_output_format`; the Lambda path in
//! `lambda_transforms_in_both_invoke_modes`.

use crate::images::*;

/// The flag value that turns AVIF on, as an operator would write it.
pub const AVIF_ON: [&str; 2] = ["--formats", "avif,webp,jpeg,png"];

const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";

#[tokio::test(flavor = "multi_thread")]
async fn avif_is_off_unless_enabled() {
    let s = site(&[("a.jpg", jpeg(&scene(300, 200), 90))], &[]);
    let got = s.get("/a.jpg?w=100&format=avif").await;
    assert_refused(&got, 400, "format=avif, AVIF not enabled", s.dir.path());
    let text = String::from_utf8_lossy(got.bytes()).into_owned();
    assert!(!text.contains("avif"), "offers avif: {text:?}");
    for accept in [CHROME, "image/avif"] {
        let got = s.send("GET", "/a.jpg?w=100", &[("accept", accept)]).await;
        assert_ok(&got, accept);
        let want = if accept == CHROME { "webp" } else { "jpeg" };
        assert_eq!(got.header("content-type"), Some(mime(want)), "{accept}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn format_auto_picks_avif_when_enabled_and_accepted() {
    let rgb = scene(300, 200);
    let s = site(
        &[
            ("a.jpg", jpeg(&rgb, 90)),
            ("t.png", png(&scene_alpha(300, 200))),
        ],
        &AVIF_ON,
    );
    for (path, accept, want) in [
        ("/a.jpg?w=100", Some(CHROME), "avif"),
        ("/a.jpg?w=100&format=auto", Some("image/avif"), "avif"),
        ("/a.jpg?w=100", Some("IMAGE/AVIF;q=0.5"), "avif"),
        ("/t.png?w=100", Some("image/avif,*/*"), "avif"),
        ("/a.jpg?w=100", Some("image/avif;q=0,image/webp"), "webp"),
        ("/a.jpg?w=100", Some("image/webp"), "webp"),
        ("/a.jpg?w=100", Some("image/*,*/*"), "jpeg"),
        ("/a.jpg?w=100", None, "jpeg"),
        ("/t.png?w=100", Some("image/avif;q=0"), "png"),
    ] {
        let what = format!("{path} Accept {accept:?}");
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let got = s.send("GET", path, &headers).await;
        assert_ok(&got, &what);
        assert_eq!(got.header("content-type"), Some(mime(want)), "{what}");
        let out = decode_as(got.bytes(), want);
        assert_eq!((out.width(), out.height()), (100, 67), "{what}");
        assert!(vary_has_accept(&got), "{what}: no Vary: Accept");
    }
    // One URL, two formats: two ETags, and neither validates the other.
    let path = "/a.jpg?w=100";
    let avif = s.send("GET", path, &[("accept", CHROME)]).await;
    let webp = s.send("GET", path, &[("accept", "image/webp")]).await;
    let (a, w) = (avif.header("etag"), webp.header("etag"));
    assert!(a.is_some() && a != w, "ETags {a:?} / {w:?}");
    let etag = a.unwrap_or_default();
    let cond = [("accept", CHROME), ("if-none-match", etag)];
    assert_eq!(s.send("GET", path, &cond).await.status, 304, "same Accept");
    let cond = [("accept", "image/webp"), ("if-none-match", etag)];
    assert_eq!(s.send("GET", path, &cond).await.status, 200, "other format");
    // An explicit format does not vary.
    let fixed = s.get("/a.jpg?w=100&format=avif").await;
    assert_eq!(fixed.header("content-type"), Some("image/avif"));
    assert!(!vary_has_accept(&fixed), "format=avif with Vary: Accept");
}

#[tokio::test(flavor = "multi_thread")]
async fn avif_quality_defaults_to_its_own_scale() {
    let s = site(&[("p.jpg", jpeg(&scene(600, 400), 90))], &AVIF_ON);
    let path = |q: &str| format!("/p.jpg?w=400&format=avif{q}");
    let default = s.get(&path("")).await;
    decode_as(default.bytes(), "avif");
    let same = s.get(&path("&q=75")).await;
    assert_eq!(
        default.header("etag"),
        same.header("etag"),
        "q=75 is the default"
    );
    assert_eq!(default.bytes(), same.bytes(), "q=75 is the default");
    let q80 = s.get(&path("&q=80")).await;
    assert_ne!(default.header("etag"), q80.header("etag"), "q=80 is not");
    let (low, high) = (s.get(&path("&q=10")).await, s.get(&path("&q=95")).await);
    decode_as(low.bytes(), "avif");
    assert!(
        low.bytes().len() * 2 < high.bytes().len(),
        "q=10 {} vs q=95 {} bytes",
        low.bytes().len(),
        high.bytes().len()
    );
}

// rav1e's time and memory grow with the pixels: AVIF outputs stop at 2048 px a side, below
// --max-dimension. format=avif is capped (400 past it); auto picks the next format instead of
// shrinking the image.
#[tokio::test(flavor = "multi_thread")]
async fn avif_outputs_are_at_most_2048_px() {
    let s = site(&[("wide.png", png(&scene(3000, 300)))], &AVIF_ON);
    for (path, accept, want) in [
        ("/wide.png?format=avif", None, ("avif", 2048, 205)),
        ("/wide.png?w=2048&format=avif", None, ("avif", 2048, 205)),
        ("/wide.png?w=2048", Some(CHROME), ("avif", 2048, 205)),
        ("/wide.png?w=2100", Some(CHROME), ("webp", 2100, 210)),
        ("/wide.png?format=auto", Some(CHROME), ("webp", 3000, 300)),
        ("/wide.png?w=2100&format=webp", None, ("webp", 2100, 210)),
    ] {
        let (format, w, h) = want;
        let out = s.image(path, accept, format).await;
        assert_eq!(
            (out.width(), out.height()),
            (w, h),
            "{path} Accept {accept:?}"
        );
    }
    for query in [
        "w=2049&format=avif",
        "h=2049&format=avif",
        "w=100&h=4096&format=avif",
    ] {
        let got = s.get(&format!("/wide.png?{query}")).await;
        assert_refused(&got, 400, query, s.dir.path());
        let text = String::from_utf8_lossy(got.bytes()).into_owned();
        assert!(text.contains("2048"), "{query}: {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_24_mp_jpeg_to_avif_under_128_mib() {
    large_jpeg(
        (6000, 4000),
        false,
        (&AVIF_ON, "w=1280&format=avif"),
        Some(("avif", 1280, 853)),
        128,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn memory_100_mp_jpeg_to_avif_under_200_mib() {
    large_jpeg(
        (12240, 8160),
        false,
        (&AVIF_ON, "w=400&format=avif"),
        Some(("avif", 400, 267)),
        200,
    )
    .await;
}
