//! Regression tests for faults of the store, the clients and the request, each through the real
//! binary over TCP. S3 is the scriptable fake in tests/common/fake_s3.rs:
//! - a resume after a reset never splices another version of the object into the answer, even
//!   when S3 ignores If-Match: the transfer ends short, with only the old version's bytes
//!   (whole GET, `bytes=0-`, `bytes=1000-7999999`);
//! - bytes S3 writes unasked on an idle kept-alive connection are never taken for the answer to
//!   a later request (for another key);
//! - every stall ends within 30 s: no answer head (HEAD and GET: 504), a 404 whose body stalls
//!   (404), a body that stalls for good and a resume refused by a stalled 403 (transfer
//!   aborted), transforms whose source drips (every GET, resumes included, stalls after
//!   10 KB: 502/504, and their slots are freed);
//! - If-None-Match with 5,000 tags (a head S3 refuses with 431) is still answered: 200, or
//!   304 when the real tag is among them;
//! - a transform's source read is resumed after a reset;
//! - local store and signing (faults/local.rs): overlong names are 400/404, a symlink cannot
//!   reach into a signed prefix, percent-encoded parameter names cannot strip a signed
//!   transform;
//! - the randomized fault run (faults/random.rs): 100 reads, each through a random sequence
//!   of S3 faults, none answered with wrong bytes or past its deadline;
//! - clients (faults/clients.rs): 300 clients that never read leave the server responsive and
//!   small, `--send-timeout` drops them, `--max-connections` refuses the excess with 503.
//!
//! The stall tests take up to 30 s each; cargo runs them in parallel (`--test-threads`).

#[path = "faults/clients.rs"]
mod clients;
mod common;
#[allow(dead_code)]
#[path = "common/images.rs"]
mod images;
#[path = "faults/local.rs"]
mod local;
#[path = "faults/random.rs"]
mod random;

use common::client::{fetch_streamed, Streamed};
use common::fake_s3::{FakeS3, Fault, Plan};
use common::{fetch, pattern, pattern_sha256, sha256, Imgorigin};
use std::future::Future;
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;
/// What the fixed binary guarantees for every stall: answered or aborted within this.
const STALL_LIMIT: Duration = Duration::from_secs(30);
/// How long a test waits before calling a stall unanswered.
const GIVE_UP: Duration = Duration::from_secs(35);

fn serve(fake: &FakeS3, extra: &[&str]) -> Imgorigin {
    let mut args = fake.serve_args();
    args.extend(extra.iter().map(|a| a.to_string()));
    Imgorigin::start(&args)
}

/// Runs `f` and returns its output and duration (printed); fails after [`GIVE_UP`].
async fn timed<T>(what: &str, f: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    match tokio::time::timeout(GIVE_UP, f).await {
        Ok(out) => {
            let took = start.elapsed();
            println!("{what}: {took:.2?}");
            (out, took)
        }
        Err(_) => panic!("{what}: nothing within {GIVE_UP:?} (the limit is {STALL_LIMIT:?})"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_never_splices_a_replaced_object() {
    let fake = FakeS3::start();
    fake.ignore_conditionals(true);
    let old = pattern(8 * MIB, 11);
    // (key, client Range, first byte, status)
    let cases = [
        ("whole.bin", None, 0, 200u16),
        ("open.bin", Some("bytes=0-"), 0, 206),
        ("middle.bin", Some("bytes=1000-7999999"), 1000, 206),
    ];
    for (key, ..) in cases {
        fake.put(key, old.clone(), "application/octet-stream");
    }
    // The first GET of each key is reset after 2 MiB, and the object replaced: the resume
    // (with If-Match on the old ETag, which the fake ignores) gets the new version.
    fake.script(|req, n| match (req.method.as_str(), n) {
        ("GET", 0) => Plan::from(Fault::ResetAfter(2 * MIB)).then_replace(pattern(8 * MIB, 12)),
        _ => Plan::default(),
    });
    let server = serve(&fake, &[]);
    let addr = server.addr;
    let gets = cases.map(|(key, range, ..)| {
        let headers: Vec<(&str, &str)> = range.map(|r| ("range", r)).into_iter().collect();
        let path = format!("/{key}");
        async move { fetch(addr, "GET", &path, &headers).await }
    });
    let answers = futures_util::future::join_all(gets).await;
    for ((key, range, ..), got) in cases.iter().zip(&answers) {
        println!(
            "GET /{key} with Range {range:?}: {} {} bytes, {:?}; {} GETs at S3",
            got.status,
            got.bytes().len(),
            got.body.as_ref().err().map(|e| &e.1),
            fake.requests_for("GET", key).len()
        );
    }
    for ((key, range, first, status), got) in cases.iter().zip(&answers) {
        let what = format!("GET /{key} with Range {range:?}");
        let received = got.bytes();
        assert_eq!(got.status, *status, "{what}");
        assert!(
            got.body.is_err(),
            "{what}: a clean {} of {} bytes: the resume spliced the new version in",
            got.status,
            received.len()
        );
        let old_part = &old[*first..];
        assert!(
            received.len() < old_part.len() && received == &old_part[..received.len()],
            "{what}: the bytes received are not a prefix of the old version"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unsolicited_bytes_on_an_idle_s3_connection_never_answer_a_request() {
    let fake = FakeS3::start();
    let a = pattern(100_000, 21);
    let b = pattern(100_000, 22);
    fake.put("a.bin", a.clone(), "application/octet-stream");
    let b_etag = fake.put("b.bin", b.clone(), "application/octet-stream");
    fake.script(
        |req, n| match (req.method.as_str(), req.key.as_deref(), n) {
            ("GET", Some("a.bin"), 0) => Fault::Unsolicited(Duration::from_millis(200)).into(),
            _ => Plan::default(),
        },
    );
    // One worker: one S3 connection pool, so b.bin would reuse a.bin's connection.
    let server = serve(&fake, &["--workers", "1"]);
    let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
    assert_eq!(got.status, 200, "GET /a.bin");
    assert_eq!(
        sha256(got.body.as_ref().expect("a.bin complete")),
        sha256(&a)
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = fetch(server.addr, "GET", "/b.bin", &[]).await;
    let text = String::from_utf8_lossy(got.bytes());
    assert!(
        !text.contains("<script>") && got.header("etag") != Some("\"evil\""),
        "GET /b.bin was answered with the bytes S3 sent unasked: {} {:?} {:?} {text:?}",
        got.status,
        got.header("content-type"),
        got.header("etag")
    );
    assert_eq!(got.status, 200, "GET /b.bin");
    assert_eq!(got.header("etag"), Some(b_etag.as_str()), "GET /b.bin ETag");
    let body = got.body.as_ref().expect("b.bin complete");
    assert_eq!(sha256(body), sha256(&b), "GET /b.bin bytes");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_silent_before_the_answer_head_is_504_within_30s() {
    let fake = FakeS3::start();
    fake.put("silent.jpg", pattern(1000, 31), "image/jpeg");
    fake.script(|_, _| Fault::StallHead.into());
    let server = serve(&fake, &[]);
    let (head, get) = tokio::join!(
        timed(
            "HEAD, S3 silent",
            fetch(server.addr, "HEAD", "/silent.jpg", &[])
        ),
        timed(
            "GET, S3 silent",
            fetch(server.addr, "GET", "/silent.jpg", &[])
        ),
    );
    for (what, (got, took)) in [("HEAD", head), ("GET", get)] {
        assert!(took < STALL_LIMIT, "{what}: answered after {took:.2?}");
        assert_eq!(got.status, 504, "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_404_whose_body_stalls_is_404_within_30s() {
    let fake = FakeS3::start();
    fake.script(|req, _| match req.method.as_str() {
        "GET" => Fault::StalledError {
            status: 404,
            code: "NoSuchKey",
        }
        .into(),
        _ => Plan::default(),
    });
    let server = serve(&fake, &[]);
    let get = fetch(server.addr, "GET", "/missing.jpg", &[]);
    let (got, took) = timed("GET of a 404 whose body stalls", get).await;
    assert!(took < STALL_LIMIT, "answered after {took:.2?}");
    assert_eq!(got.status, 404);
}

/// The answer began (200) and was cut short of Content-Length, with only the object's bytes,
/// within the limit.
fn assert_aborted(what: &str, got: &Streamed, took: Duration, len: usize, seed: u64) {
    assert_eq!(got.status, 200, "{what}");
    assert!(
        got.error.is_some() && got.received < len as u64,
        "{what}: the transfer ended cleanly with {} of {len} bytes",
        got.received
    );
    let prefix = pattern_sha256(got.received, seed);
    assert_eq!(got.sha256, prefix, "{what}: not the object's first bytes");
    assert!(took < STALL_LIMIT, "{what}: aborted after {took:.2?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_body_stalling_for_good_aborts_the_transfer_within_30s() {
    let fake = FakeS3::start();
    fake.put(
        "stall.bin",
        pattern(8 * MIB, 41),
        "application/octet-stream",
    );
    // The first GET stalls after 1 MiB; every resume gets no answer at all.
    fake.script(|req, n| match (req.method.as_str(), n) {
        ("GET", 0) => Fault::StallAfter(MIB).into(),
        ("GET", _) => Fault::StallHead.into(),
        _ => Plan::default(),
    });
    let server = serve(&fake, &[]);
    let what = "GET whose body stalls after 1 MiB";
    let (got, took) = timed(what, fetch_streamed(server.addr, "/stall.bin", None, None)).await;
    assert_aborted(what, &got, took, 8 * MIB, 41);
}

#[tokio::test(flavor = "multi_thread")]
async fn resume_refused_by_a_stalled_403_aborts_within_30s() {
    let fake = FakeS3::start();
    fake.put(
        "denied.bin",
        pattern(8 * MIB, 42),
        "application/octet-stream",
    );
    fake.script(|req, n| match (req.method.as_str(), n) {
        ("GET", 0) => Fault::ResetAfter(MIB).into(),
        ("GET", _) => Fault::StalledError {
            status: 403,
            code: "AccessDenied",
        }
        .into(),
        _ => Plan::default(),
    });
    let server = serve(&fake, &[]);
    let what = "GET reset after 1 MiB, resume refused by a 403 whose body stalls";
    let (got, took) = timed(what, fetch_streamed(server.addr, "/denied.bin", None, None)).await;
    assert_aborted(what, &got, took, 8 * MIB, 42);
}

#[tokio::test(flavor = "multi_thread")]
async fn transforms_of_stalled_sources_end_within_30s_and_free_their_slots() {
    let fake = FakeS3::start();
    let jpg = images::jpeg(&images::scene(2000, 1500), 85);
    for key in ["stall1.jpg", "stall2.jpg", "good.jpg"] {
        fake.put(key, jpg.clone(), "image/jpeg");
    }
    // Every GET of the two sources, resumes included, stalls after 10 KB: progress now and
    // then must not keep a transform (and its slot) alive past the limit.
    fake.script(|req, _| match (req.method.as_str(), req.key.as_deref()) {
        ("GET", Some("stall1.jpg" | "stall2.jpg")) => Fault::StallAfter(10_000).into(),
        _ => Plan::default(),
    });
    let server = serve(&fake, &["--transform-concurrency", "2"]);
    let (one, two) = tokio::join!(
        timed(
            "?w=100, source stalls",
            fetch(server.addr, "GET", "/stall1.jpg?w=100", &[])
        ),
        timed(
            "?w=100, source stalls",
            fetch(server.addr, "GET", "/stall2.jpg?w=100", &[])
        ),
    );
    for (what, (got, took)) in [("stall1.jpg", one), ("stall2.jpg", two)] {
        assert!(took < STALL_LIMIT, "{what}: answered after {took:.2?}");
        let status = got.status.as_u16();
        assert!(matches!(status, 502 | 504), "{what}: status {status}");
    }
    let good = fetch(server.addr, "GET", "/good.jpg?w=100", &[]);
    let (got, _) = timed("?w=100 after the stalls", good).await;
    let text = String::from_utf8_lossy(&got.bytes()[..got.bytes().len().min(200)]).into_owned();
    assert_eq!(got.status, 200, "good.jpg after the stalls: {text:?}");
    assert_eq!(got.header("content-type"), Some("image/jpeg"));
    assert_eq!(images::decode_as(got.bytes(), "jpeg").width(), 100);
}

fn base36(mut n: u32) -> String {
    let mut digits = Vec::new();
    loop {
        digits.push(char::from_digit(n % 36, 36).expect("digit"));
        n /= 36;
        if n == 0 {
            return digits.iter().rev().collect();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn if_none_match_with_5000_tags_is_answered_not_502() {
    let fake = FakeS3::start();
    let bytes = pattern(100_000, 51);
    let etag = fake.put("cond.bin", bytes.clone(), "application/octet-stream");
    let server = serve(&fake, &[]);
    // Short tags (base 36), so that the request stays under the server's own head limit
    // (32 KiB) while the list alone is far over the 8 KiB S3 accepts.
    let tags: Vec<String> = (0..5000).map(|i| format!("\"{}\"", base36(i))).collect();
    let list = tags.join(",");
    assert!(
        (8 * 1024..30 * 1024).contains(&list.len()),
        "{} bytes of tags",
        list.len()
    );
    let got = fetch(server.addr, "GET", "/cond.bin", &[("if-none-match", &list)]).await;
    let text = String::from_utf8_lossy(&got.bytes()[..got.bytes().len().min(100)]).into_owned();
    assert_eq!(got.status, 200, "5,000 tags, none matching: {text:?}");
    let body = got.body.as_ref().expect("complete body");
    assert_eq!(sha256(body), sha256(&bytes));
    let with_real = format!("{list},{etag}");
    let got = fetch(
        server.addr,
        "GET",
        "/cond.bin",
        &[("if-none-match", &with_real)],
    )
    .await;
    assert_eq!(got.status, 304, "5,000 tags, the last one the ETag");
    assert_eq!(got.header("etag"), Some(etag.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn transform_source_read_is_resumed_after_a_reset() {
    let fake = FakeS3::start();
    let jpg = images::jpeg(&images::scene(2000, 1500), 85);
    assert!(jpg.len() > 20_000, "the source is cut inside its data");
    fake.put("src.jpg", jpg, "image/jpeg");
    fake.script(|req, n| match (req.method.as_str(), n) {
        ("GET", 0) => Fault::ResetAfter(10_000).into(),
        _ => Plan::default(),
    });
    let server = serve(&fake, &[]);
    let got = fetch(server.addr, "GET", "/src.jpg?w=100", &[]).await;
    let text = String::from_utf8_lossy(&got.bytes()[..got.bytes().len().min(100)]).into_owned();
    assert_eq!(got.status, 200, "source reset after 10 KB once: {text:?}");
    assert_eq!(got.header("content-type"), Some("image/jpeg"));
    assert_eq!(images::decode_as(got.bytes(), "jpeg").width(), 100);
    let gets = fake.requests_for("GET", "src.jpg").len();
    assert!(
        gets >= 2,
        "{gets} GET of the source: the reset was not exercised"
    );
}
