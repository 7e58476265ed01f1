//! Where the own S3 read path must answer as S3 means it (issue 14), through the real binary
//! over TCP against the scriptable fake S3 (tests/common/fake_s3.rs):
//! - an answer without Content-Length (chunked, as some S3-compatible servers send) is a 502
//!   that no cache keeps, never an empty object with a one-year Cache-Control;
//! - a 403 is a 404 only when S3 says AccessDenied (its answer for a missing key without
//!   s3:ListBucket); a HEAD's 403, which has no code, is asked again as a one-byte GET, whose
//!   answer decides (and whose headers answer the HEAD when the GET is allowed).

mod common;

use common::fake_s3::{FakeS3, Fault, Plan};
use common::{fetch, pattern, Imgorigin};

fn serve(fake: &FakeS3) -> Imgorigin {
    Imgorigin::start(&fake.serve_args())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_without_content_length_is_502_never_an_empty_object() {
    let fake = FakeS3::start();
    fake.put(
        "chunked.bin",
        pattern(300_000, 41),
        "application/octet-stream",
    );
    fake.script(|_, _| Fault::Chunked.into());
    let server = serve(&fake);
    // (method, client headers); before: 200 with Content-Length 0 and max-age=31536000.
    let cases: [(&str, &[(&str, &str)]); 3] = [
        ("GET", &[]),
        ("HEAD", &[]),
        ("GET", &[("range", "bytes=0-99")]),
    ];
    for (method, headers) in cases {
        let got = fetch(server.addr, method, "/chunked.bin", headers).await;
        let what = format!("{method} {headers:?}");
        assert_eq!(
            got.status,
            502,
            "{what}: {:?}",
            got.header("content-length")
        );
        assert_eq!(got.header("cache-control"), Some("no-store"), "{what}");
    }
}

/// The 403 code the fake gives for a key, for every GET and HEAD of it.
fn denial(key: &str) -> Option<&'static str> {
    match key {
        "missing.jpg" => Some("AccessDenied"),
        "skewed.jpg" => Some("RequestTimeTooSkewed"),
        "badsig.jpg" => Some("SignatureDoesNotMatch"),
        "kms.jpg" => Some("KMS.AccessDeniedException"),
        "nocode.jpg" => Some(""),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_403_is_404_only_when_s3_says_access_denied() {
    let fake = FakeS3::start();
    for key in [
        "skewed.jpg",
        "badsig.jpg",
        "kms.jpg",
        "nocode.jpg",
        "head-denied.jpg",
    ] {
        fake.put(key, pattern(1000, 42), "image/jpeg");
    }
    fake.script(|req, _| {
        let key = req.key.as_deref().unwrap_or("");
        match (denial(key), req.method.as_str(), key) {
            (Some(code), ..) => Fault::Error { status: 403, code }.into(),
            // A policy that denies HEAD alone: the GET of the first byte answers it.
            (None, "HEAD", "head-denied.jpg") => Fault::Error {
                status: 403,
                code: "AccessDenied",
            }
            .into(),
            _ => Plan::default(),
        }
    });
    let server = serve(&fake);
    // (key, status, Cache-Control); before, every HEAD here was a 404 for 60 s, and so was
    // the GET of nocode.jpg.
    let cases = [
        ("missing.jpg", 404, "public, max-age=60"),
        ("skewed.jpg", 502, "no-store"),
        ("badsig.jpg", 502, "no-store"),
        ("kms.jpg", 502, "no-store"),
        ("nocode.jpg", 502, "no-store"),
    ];
    for (key, status, cache) in cases {
        for method in ["GET", "HEAD"] {
            let got = fetch(server.addr, method, &format!("/{key}"), &[]).await;
            assert_eq!(got.status, status, "{method} {key}");
            assert_eq!(got.header("cache-control"), Some(cache), "{method} {key}");
        }
        let probes = fake.requests_for("GET", key);
        assert!(
            probes
                .iter()
                .any(|r| r.header("range") == Some("bytes=0-0")),
            "{key}: the HEAD's 403 was not asked again as a one-byte GET"
        );
    }
    let got = fetch(server.addr, "HEAD", "/head-denied.jpg", &[]).await;
    assert_eq!(got.status, 200, "HEAD answered from the one-byte GET");
    assert_eq!(got.header("content-length"), Some("1000"));
    assert_eq!(
        got.header("etag"),
        fake.etag("head-denied.jpg").as_deref(),
        "HEAD's ETag"
    );
}

/// The gaps between the attempts the fake received for each key, in ms.
fn gaps(fake: &FakeS3, keys: &[String]) -> Vec<Vec<f64>> {
    keys.iter()
        .map(|key| {
            let at: Vec<_> = fake.requests_for("GET", key).iter().map(|r| r.at).collect();
            at.windows(2)
                .map(|w| (w[1] - w[0]).as_secs_f64() * 1000.0)
                .collect()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn slowdown_is_retried_with_full_jitter_within_the_sdk_bounds() {
    let fake = FakeS3::start();
    let keys: Vec<String> = (0..8).map(|i| format!("slow-{i}.bin")).collect();
    let body = pattern(10_000, 43);
    for key in &keys {
        fake.put(key, body.clone(), "application/octet-stream");
    }
    // Two SlowDowns, then the object.
    fake.script(|req, n| match (req.method.as_str(), n) {
        ("GET", 0 | 1) => Fault::Error {
            status: 503,
            code: "SlowDown",
        }
        .into(),
        _ => Plan::default(),
    });
    let server = serve(&fake);
    let tasks: Vec<_> = keys
        .iter()
        .map(|key| {
            let (addr, path) = (server.addr, format!("/{key}"));
            tokio::spawn(async move { fetch(addr, "GET", &path, &[]).await })
        })
        .collect();
    for (key, task) in keys.iter().zip(tasks) {
        let got = task.await.expect("join");
        assert_eq!(got.status, 200, "{key}");
        assert_eq!(got.body.as_deref().ok(), Some(&body[..]), "{key}");
    }
    let gaps = gaps(&fake, &keys);
    println!("gaps between attempts (ms): {gaps:.0?}");
    // U[0,1) x 1 s after the first, U[0,1) x 2 s after the second (+ a request's time).
    for (key, g) in keys.iter().zip(&gaps) {
        assert_eq!(g.len(), 2, "{key}: three attempts");
        assert!(
            g[0] < 1000.0 + 250.0 && g[1] < 2000.0 + 250.0,
            "{key}: {g:?}"
        );
    }
    // Full jitter: eight clients throttled together do not come back in step (before: every
    // first retry 100 ms after the SlowDown, every second one 200 ms).
    let firsts: Vec<f64> = gaps.iter().map(|g| g[0]).collect();
    let spread = firsts.iter().cloned().fold(f64::MIN, f64::max)
        - firsts.iter().cloned().fold(f64::MAX, f64::min);
    assert!(
        spread > 100.0,
        "first retries within {spread:.0} ms of each other: {firsts:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_bucket_gets_its_503s_not_three_times_the_load() {
    let fake = FakeS3::start();
    fake.put("hot.bin", pattern(1000, 44), "application/octet-stream");
    fake.script(|_, _| {
        Fault::Error {
            status: 503,
            code: "SlowDown",
        }
        .into()
    });
    let server = serve(&fake);
    let clients = 200;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let addr = server.addr;
            tokio::spawn(async move { fetch(addr, "GET", "/hot.bin", &[]).await })
        })
        .collect();
    for task in tasks {
        let got = task.await.expect("join");
        assert_eq!(got.status, 503, "SlowDown throughout is 503 to the client");
    }
    // The quota (500 tokens, 5 a throttling retry) pays for 100 retries in all: S3 sees at
    // most 300 requests for 200, where three attempts each would be 600.
    let seen = fake.requests_for("GET", "hot.bin").len();
    println!("{clients} client requests, {seen} S3 requests");
    assert!(
        (clients..=clients + 100).contains(&seen),
        "{seen} S3 requests for {clients}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn stored_representation_headers_reach_the_client() {
    let fake = FakeS3::start();
    let gz = pattern(5000, 45);
    fake.put("page.html.gz", gz.clone(), "text/html");
    let stored: [(&str, &str); 4] = [
        ("Content-Encoding", "gzip"),
        ("Content-Disposition", "attachment; filename=\"page.html\""),
        ("Content-Language", "de-CH"),
        ("Expires", "Thu, 01 Dec 2044 16:00:00 GMT"),
    ];
    fake.set_stored("page.html.gz", &stored);
    let server = serve(&fake);
    let etag = fake.etag("page.html.gz").expect("etag");
    // (method, client headers, status); before: none of the four reached the client.
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], u16);
    let cases: [Case; 3] = [
        ("GET", &[], 200),
        ("HEAD", &[], 200),
        ("GET", &[("range", "bytes=100-199")], 206),
    ];
    for (method, headers, status) in cases {
        let got = fetch(server.addr, method, "/page.html.gz", headers).await;
        assert_eq!(got.status, status, "{method} {headers:?}");
        for (name, value) in stored {
            let name = name.to_ascii_lowercase();
            assert_eq!(
                got.header(&name),
                Some(value),
                "{method} {headers:?}: {name}"
            );
        }
    }
    let got = fetch(server.addr, "GET", "/page.html.gz", &[]).await;
    assert_eq!(
        got.body.as_deref().ok(),
        Some(&gz[..]),
        "the stored bytes, not decoded"
    );
    // A 304 carries Expires (RFC 9110 §15.4.5), not the body's encoding.
    let got = fetch(
        server.addr,
        "GET",
        "/page.html.gz",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(got.status, 304);
    assert_eq!(got.header("expires"), Some(stored[3].1));
    assert_eq!(got.header("content-encoding"), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_carry_the_sdk_user_agent_naming_imgorigin() {
    let fake = FakeS3::start();
    fake.put("ua.bin", pattern(100, 46), "application/octet-stream");
    let server = serve(&fake);
    for method in ["GET", "HEAD"] {
        assert_eq!(fetch(server.addr, method, "/ua.bin", &[]).await.status, 200);
    }
    // Before: no User-Agent at all, so CloudTrail could not attribute the reads.
    for req in fake.requests() {
        let ua = req.header("user-agent").unwrap_or("");
        assert!(
            ua.starts_with("aws-sdk-rust/")
                && ua.contains(" api/s3/")
                && ua.contains(" lib/imgorigin/"),
            "{} {}: User-Agent {ua:?}",
            req.method,
            req.path
        );
        assert_eq!(
            req.header("x-amz-user-agent"),
            None,
            "unsigned x-amz-* header"
        );
    }
}
