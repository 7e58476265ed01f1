//! Memory and integrity of large transfers, measured on the real binary (peak RSS = VmHWM of
//! the `imgorigin serve` process):
//! - peak RSS does not depend on object size: 1 MiB vs 1 GiB with 8 concurrent clients differ
//!   by less than 16 MiB, and both stay under 64 MiB;
//! - a 256 MiB object through the S3 store (s3s-fs) arrives with the exact hash, within the
//!   same bound, and slow clients hold back the S3 read instead of filling memory;
//! - 8 clients asking 64 ranges each of a 190 MiB S3 object get 206 multipart answers within
//!   the same bound;
//! - killing the S3 server mid-stream gives the client the complete correct bytes (resumed
//!   after a restart) or an aborted transfer whose bytes are a correct prefix, never a clean
//!   short body.

mod common;

use common::client::fetch_streamed;
use common::procs::{Kind, BUCKET};
use common::{pattern_sha256, write_pattern_file, Backend, Imgorigin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;
const LIMIT_KIB: u64 = 64 * 1024;

/// Starts a server over `backend`, runs `clients` concurrent full GETs of `path`, checks each
/// hash, and returns the server's peak RSS in KiB.
async fn peak_rss_serving(
    backend: &Backend,
    path: &str,
    clients: usize,
    want_sha: &str,
    want_len: u64,
) -> u64 {
    let server = Imgorigin::start(&backend.serve_args());
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let addr = server.addr;
        let path = path.to_owned();
        tasks.push(tokio::spawn(async move {
            fetch_streamed(addr, &path, None, None).await
        }));
    }
    for t in tasks {
        let got = t.await.expect("join");
        assert_eq!(got.status, 200);
        assert_eq!(got.error, None, "transfer failed");
        assert_eq!(got.received, want_len);
        assert_eq!(got.sha256, want_sha, "exact bytes");
    }
    server.peak_rss_kib()
}

#[tokio::test(flavor = "multi_thread")]
async fn peak_rss_does_not_grow_with_object_size() {
    let backend = Backend::start(Kind::Local).await;
    let small_sha = write_pattern_file(&backend.put_file("small.bin"), MIB, 11);
    let large_sha = write_pattern_file(&backend.put_file("large.bin"), 1024 * MIB, 12);
    let small = peak_rss_serving(&backend, "/small.bin", 8, &small_sha, MIB).await;
    let large = peak_rss_serving(&backend, "/large.bin", 8, &large_sha, 1024 * MIB).await;
    println!(
        "peak RSS, 8 clients, local store: 1 MiB object {small} KiB, 1 GiB object {large} KiB"
    );
    assert!(
        small < LIMIT_KIB && large < LIMIT_KIB,
        "over 64 MiB: {small} / {large} KiB"
    );
    assert!(
        large.abs_diff(small) < 16 * 1024,
        "RSS grew with object size: {small} -> {large} KiB"
    );
}

async fn s3_with_large_object(len: u64) -> (Backend, String) {
    let backend = Backend::start(Kind::S3sFs).await;
    let sha = backend.put_pattern("large.bin", len, 21).await;
    (backend, sha)
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_large_object_exact_bytes_in_bounded_memory() {
    let (backend, sha) = s3_with_large_object(256 * MIB).await;
    let rss = peak_rss_serving(&backend, "/large.bin", 4, &sha, 256 * MIB).await;
    println!("peak RSS, 4 clients, 256 MiB object via S3 (s3s-fs): {rss} KiB");
    assert!(rss < LIMIT_KIB, "peak RSS {rss} KiB");

    // Slow clients: 8 readers at 4 MiB/s for 3 s. Without backpressure the S3 bytes would
    // pile up in memory (the backend sends at hundreds of MiB/s).
    let server = Imgorigin::start(&backend.serve_args());
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let addr = server.addr;
        let task =
            tokio::spawn(
                async move { fetch_streamed(addr, "/large.bin", Some(4 * MIB), None).await },
            );
        tasks.push(task);
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let slow = server.peak_rss_kib();
    for t in &tasks {
        t.abort();
    }
    println!("peak RSS, 8 slow clients (4 MiB/s) on a 256 MiB S3 object: {slow} KiB");
    assert!(
        slow < LIMIT_KIB,
        "slow clients made the server buffer: {slow} KiB"
    );
}

// 64 ranges spread over a 190 MiB object through S3, 8 clients at once: each answer is a
// 206 multipart/byteranges of 64 parts with an exact Content-Length, the spans read one after
// another, and the server's peak RSS stays within the same bound.
#[tokio::test(flavor = "multi_thread")]
async fn s3_multirange_64_spans_in_bounded_memory() {
    let (backend, _) = s3_with_large_object(190 * MIB).await;
    let server = Imgorigin::start(&backend.serve_args());
    let step = 190 * MIB / 64;
    let spans: Vec<String> = (0..64)
        .map(|i| format!("{}-{}", i * step, i * step + 16_383))
        .collect();
    let range = format!("bytes={}", spans.join(","));
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (addr, range) = (server.addr, range.clone());
        tasks.push(tokio::spawn(async move {
            common::fetch(addr, "GET", "/large.bin", &[("range", range.as_str())]).await
        }));
    }
    for t in tasks {
        let got = t.await.expect("join");
        assert_eq!(got.status.as_u16(), 206);
        let body = got.body.as_ref().expect("a complete body");
        assert_eq!(
            got.header("content-length"),
            Some(body.len().to_string().as_str())
        );
        let parts = String::from_utf8_lossy(body)
            .matches("Content-Range: bytes ")
            .count();
        assert_eq!(parts, 64);
    }
    let rss = server.peak_rss_kib();
    println!("peak RSS, 8 clients asking 64 ranges of a 190 MiB S3 object: {rss} KiB");
    assert!(rss < LIMIT_KIB, "peak RSS {rss} KiB");
}

/// Starts a 256 MiB GET at 64 MiB/s, and calls `disrupt` once 24 MiB have arrived.
async fn download_while(
    backend: &mut Backend,
    disrupt: impl FnOnce(&mut Backend),
) -> common::client::Streamed {
    let server = Imgorigin::start(&backend.serve_args());
    let progress = Arc::new(AtomicU64::new(0));
    let p = progress.clone();
    let addr = server.addr;
    let task =
        tokio::spawn(
            async move { fetch_streamed(addr, "/large.bin", Some(64 * MIB), Some(p)).await },
        );
    let deadline = Instant::now() + Duration::from_secs(60);
    while progress.load(Ordering::SeqCst) < 24 * MIB {
        assert!(Instant::now() < deadline, "download did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    disrupt(backend);
    tokio::time::timeout(Duration::from_secs(120), task)
        .await
        .expect("download finished")
        .expect("join")
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_server_restarted_mid_stream_is_resumed() {
    let (mut backend, sha) = s3_with_large_object(256 * MIB).await;
    let got = download_while(&mut backend, Backend::restart).await;
    assert_eq!(
        got.error, None,
        "the resume should have completed the transfer"
    );
    assert_eq!(got.received, 256 * MIB);
    assert_eq!(got.sha256, sha, "resumed bytes are exact");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_server_killed_mid_stream_aborts_the_transfer() {
    let (mut backend, _) = s3_with_large_object(256 * MIB).await;
    let got = download_while(&mut backend, Backend::kill).await;
    assert_eq!(got.status, 200);
    assert!(
        got.error.is_some(),
        "a transfer cut short must not end cleanly"
    );
    assert!(got.received < 256 * MIB, "got {} bytes", got.received);
    assert_eq!(
        got.sha256,
        pattern_sha256(got.received, 21),
        "received bytes are a correct prefix"
    );
}

/// The Lambda path in stream mode under `cargo lambda watch`: a 190 MiB object (the streaming
/// budget) arrives exact, and the function's peak RSS stays within the same bound.
#[tokio::test(flavor = "multi_thread")]
async fn lambda_stream_190_mib_via_cargo_lambda_watch() {
    let len = 190 * MIB;
    let backend = Backend::start(Kind::S3sFs).await;
    let sha = backend.put_pattern("video.mp4", len, 41).await;
    let lambda = common::lambda_watch::LambdaWatch::start(&[
        ("IMGORIGIN_BUCKET", BUCKET.to_owned()),
        ("IMGORIGIN_ENDPOINT", backend.endpoint()),
    ]);
    let path = format!("{}/video.mp4", common::lambda_watch::LAMBDA_URL_PREFIX);
    let got = fetch_streamed(lambda.addr, &path, None, None).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.error, None);
    assert_eq!((got.received, got.sha256.as_str()), (len, sha.as_str()));
    let rss = lambda.function_peak_rss_kib();
    println!("peak RSS of the Lambda function streaming 190 MiB via cargo lambda watch: {rss} KiB");
    assert!(rss < LIMIT_KIB, "function peak RSS {rss} KiB");
}
