//! Transform memory admission (issue 13 item 8) through the real binary:
//! - the estimate (`imgorigin::transform::prepare(..).estimate()`) bounds the peak RSS a
//!   request adds to a fresh server, for the worst cases of the issue;
//! - 20 concurrent worst cases (a 24 MP JPEG to 4096 px WebP, a 16-bit RGBA 4090 x 4090 PNG)
//!   under `--transform-memory 256`: only 200 or 503, at least one 200, and peak RSS within
//!   the budget plus the idle server plus a stated slack; without the budget the same burst
//!   held two of them at once;
//! - a transform whose estimate exceeds the whole budget is 422 at once;
//! - after the burst RSS falls back near the idle server's within 10 s.

mod common;
#[path = "common/images.rs"]
#[allow(dead_code)]
mod images;

use common::fetch;
use common::procs::proc_status_kib;
use images::{grainy, mozjpeg_from_fn, Site};
use imgorigin::transform::{params, prepare, Limits};
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;
/// Peak RSS beyond base + budget that the burst may reach: connection and HTTP buffers of 20
/// clients, thread stacks, allocator rounding (the sources' bytes are in the budget).
const SLACK_MIB: u64 = 24;
/// How close to the idle server RSS must come back after the burst.
const IDLE_SLACK_MIB: u64 = 16;

const PHOTO: &str = "/photo.jpg?w=4096&format=webp";
const DEEP: &str = "/deep.png?w=400&format=webp";

/// A 16-bit RGBA PNG: a horizontal gradient, so it compresses to well under a MB while its
/// decode needs 8 bytes a pixel (then 4 more for the RGBA8 copy).
fn png16(w: u32, h: u32) -> Vec<u8> {
    let img = image::ImageBuffer::<image::Rgba<u16>, Vec<u16>>::from_fn(w, h, |x, _| {
        let v = (x * 16) as u16;
        image::Rgba([v, 30000, u16::MAX - v, 50000])
    });
    images::encode(
        &image::DynamicImage::ImageRgba16(img),
        image::ImageFormat::Png,
    )
}

/// The two worst cases: the 24 MP photo and the 16-bit PNG.
fn worst_cases() -> Vec<(&'static str, Vec<u8>)> {
    let (w, h) = (6000, 4000);
    vec![
        (
            "photo.jpg",
            mozjpeg_from_fn(w, h, false, |x, y| grainy(x, y, w, h)),
        ),
        ("deep.png", png16(4090, 4090)),
        ("small.jpg", images::jpeg(&images::scene(300, 200), 90)),
    ]
}

fn site(files: &[(&str, Vec<u8>)], flags: &[&str]) -> Site {
    images::site(files, flags)
}

/// Peak RSS (KiB) after start and one small transform: the process's base.
async fn base_kib(s: &Site) -> u64 {
    let got = s.get("/small.jpg?w=64&format=webp").await;
    assert_eq!(got.status, 200, "warm-up transform");
    s.server.peak_rss_kib()
}

fn estimate(bytes: &[u8], query: &str) -> u64 {
    let limits = Limits::default();
    let params = params::parse(Some(query), &limits)
        .expect("query")
        .expect("transform parameters");
    prepare(bytes, &params, &http::HeaderMap::new(), &limits)
        .expect("header")
        .estimate()
}

#[tokio::test(flavor = "multi_thread")]
async fn estimates_bound_single_request_peaks() {
    let files = worst_cases();
    let cases = [
        (&files[0], "w=400&format=webp"),
        (&files[0], "w=4096&format=webp"),
        (&files[0], "w=1280&format=jpeg"),
        (&files[0], "w=2048&format=png"),
        (&files[1], "w=400&format=webp"),
        (&files[1], "w=2048&format=jpeg"),
    ];
    for ((name, bytes), query) in cases {
        let s = site(&files, &[]);
        let base = base_kib(&s).await;
        let got = s.get(&format!("/{name}?{query}")).await;
        assert_eq!(got.status, 200, "{name}?{query}");
        let used = (s.server.peak_rss_kib() - base) * 1024;
        let est = estimate(bytes, query);
        println!(
            "{name}?{query}: peak {:.1} MiB over the idle server, estimate {:.1} MiB",
            used as f64 / MIB as f64,
            est as f64 / MIB as f64
        );
        assert!(
            used <= est,
            "{name}?{query}: {used} bytes used, estimated {est}"
        );
        assert!(
            est <= used * 2 + 6 * MIB,
            "{name}?{query}: estimate {est} far over {used}"
        );
    }
}

/// Sends every path at once; returns the statuses in order.
async fn burst(s: &Site, paths: &[&str]) -> Vec<u16> {
    let tasks: Vec<_> = paths
        .iter()
        .map(|p| {
            let (addr, path) = (s.server.addr, p.to_string());
            tokio::spawn(async move { fetch(addr, "GET", &path, &[]).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let got = t.await.expect("join");
        let status = got.status.as_u16();
        if status == 503 {
            assert!(
                got.header("retry-after").is_some(),
                "503 without Retry-After"
            );
        }
        statuses.push(status);
    }
    statuses
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_worst_cases_stay_within_the_budget() {
    let files = worst_cases();
    let budget = 256;
    let flags = [
        "--transform-memory",
        "256",
        "--transform-queue-timeout",
        "4",
    ];
    let mut s = site(&files, &flags);
    let base = base_kib(&s).await;
    let paths: Vec<&str> = (0..20)
        .map(|i| if i % 2 == 0 { PHOTO } else { DEEP })
        .collect();
    let started = Instant::now();
    let statuses = burst(&s, &paths).await;
    let peak = s.server.peak_rss_kib();
    let (ok, busy) = (
        statuses.iter().filter(|&&c| c == 200).count(),
        statuses.iter().filter(|&&c| c == 503).count(),
    );
    println!(
        "20 worst cases, budget {budget} MiB: {ok} x 200, {busy} x 503 in {:?}; base {} MiB, \
         peak {} MiB",
        started.elapsed(),
        base / 1024,
        peak / 1024
    );
    assert_eq!(ok + busy, 20, "only 200 or 503: {statuses:?}");
    assert!(ok >= 1, "nothing was admitted: {statuses:?}");
    assert!(s.server.try_wait().is_none(), "the server exited");
    let limit = base + (budget + SLACK_MIB) * 1024;
    assert!(peak <= limit, "peak RSS {peak} KiB over {limit} KiB");
    return_to_idle(&s, base).await;

    // The contrast: with room for two, two of the PNGs (192 MiB each, for as long as they
    // decode) run at once, started together, and pass that limit: the budget is what held it.
    let roomy = site(&files, &["--transform-memory", "1024"]);
    let roomy_base = base_kib(&roomy).await;
    let statuses = burst(&roomy, &[DEEP, DEEP]).await;
    let roomy_peak = roomy.server.peak_rss_kib();
    println!(
        "two PNGs with a 1024 MiB budget: {statuses:?}, peak {} MiB",
        roomy_peak / 1024
    );
    let roomy_limit = roomy_base + (budget + SLACK_MIB) * 1024;
    assert!(
        roomy_peak > roomy_limit,
        "two at once stayed under {roomy_limit} KiB ({roomy_peak} KiB): the test cannot tell"
    );
}

/// After the burst the memory goes back: RSS near the idle server's within 10 s.
async fn return_to_idle(s: &Site, base: u64) {
    let pid = s.server.pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    let back = base + IDLE_SLACK_MIB * 1024;
    let mut rss = proc_status_kib(pid, "VmRSS:");
    while rss > back && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        rss = proc_status_kib(pid, "VmRSS:");
    }
    println!(
        "RSS after the burst: {} MiB (base {} MiB)",
        rss / 1024,
        base / 1024
    );
    assert!(
        rss <= back,
        "RSS {rss} KiB 10 s after the burst, over {back} KiB"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn over_the_whole_budget_is_422_at_once() {
    let files = worst_cases();
    let s = site(&files, &["--transform-memory", "128"]);
    for path in [PHOTO, DEEP] {
        let started = Instant::now();
        let got = s.get(path).await;
        let text = String::from_utf8_lossy(got.bytes()).into_owned();
        assert_eq!(got.status, 422, "{path}: {text}");
        assert!(text.contains("128 MiB"), "{path}: {text}");
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{path}: not at once"
        );
    }
    // What fits is served.
    assert_eq!(s.get("/photo.jpg?w=1280&format=webp").await.status, 200);
}
