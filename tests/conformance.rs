//! One conformance suite of HTTP cases, run through the real server over TCP against every
//! store: a local directory, s3s-fs and moto (real S3-protocol servers on loopback). Every case
//! checks the status, the headers that matter and the exact body (by SHA-256); the expected
//! answers are the same for every store, and for the Lambda path in stream mode under
//! `cargo lambda watch`.
//!
//! Covers: full GET and HEAD headers; single ranges (int, open, suffix, clamped, longer
//! suffix, last byte), 416, ignored ranges (unparsable, reversed, other unit), several ranges;
//! zero-length objects; If-Match, If-None-Match (lists, weak/strong, `*`, repeated lines),
//! If-Modified-Since, If-Unmodified-Since and their precedence (RFC 9110 §13.2.2); If-Range by
//! ETag and date; percent-encoded keys; 400 for unsafe paths; 404 with its short cache; 405;
//! CORS on answers and preflights.

mod common;

use common::procs::Kind;
use common::{fetch, fixtures, sha256, Backend, Imgorigin};

#[path = "conformance/cases.rs"]
mod cases;

use cases::{case, cases, Seen, ORIGIN};

/// Where the suite sends its requests.
struct Target {
    addr: std::net::SocketAddr,
    /// Path prefix of the Function URL under `cargo lambda watch`, empty for the server.
    prefix: &'static str,
    /// Streamed Function URL answers carry Content-Length renamed (DESIGN.md).
    renamed_length: bool,
}

async fn seeded(kind: Kind) -> Backend {
    let backend = Backend::start(kind).await;
    for f in fixtures() {
        backend.put(f.key, f.bytes, f.content_type, None).await;
    }
    backend
        .put(
            "cached.jpg",
            b"x".to_vec(),
            "image/jpeg",
            Some("public, max-age=60"),
        )
        .await;
    backend
}

/// Runs every case against `target`; returns (passed, total) or panics listing failures.
async fn run_suite(name: &str, target: &Target, s3: bool) -> (usize, usize) {
    let path = |p: &str| format!("{}{p}", target.prefix);
    let head = fetch(target.addr, "HEAD", &path("/photo.jpg"), &[]).await;
    let last_modified = head
        .header("last-modified")
        .expect("last-modified")
        .to_owned();
    let seen = Seen {
        etag: head.header("etag").expect("etag").to_owned(),
        lm_time: httpdate::parse_http_date(&last_modified).expect("date"),
        last_modified,
    };
    let mut list = cases(&seen);
    if s3 {
        list.push(
            case(
                "S3: the object's own Cache-Control wins",
                "GET",
                "/cached.jpg",
                200,
                b"x",
            )
            .expect("cache-control", "public, max-age=60"),
        );
    }
    let mut failures = Vec::new();
    for c in &list {
        let mut headers: Vec<(&str, String)> = c.headers.clone();
        if target.renamed_length {
            headers = joined_like_function_urls(headers);
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let got = fetch(target.addr, c.method, &path(&c.path), &headers).await;
        let mut problems = Vec::new();
        if got.status.as_u16() != c.status {
            problems.push(format!("status {} != {}", got.status.as_u16(), c.status));
        }
        for (name, want) in &c.expect_headers {
            let name = match (*name, target.renamed_length) {
                ("content-length", true) => "x-amzn-remapped-content-length",
                (n, _) => n,
            };
            if got.header(name) != want.as_deref() {
                problems.push(format!("{name}: {:?} != {want:?}", got.header(name)));
            }
        }
        match &got.body {
            Ok(body) if sha256(body) == sha256(&c.body) => {}
            Ok(body) => problems.push(format!(
                "body: {} bytes, sha256 differs from {} expected",
                body.len(),
                c.body.len()
            )),
            Err((_, e)) => problems.push(format!("body aborted: {e}")),
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", c.name, problems.join("; ")));
        }
    }
    println!(
        "conformance {name}: {} of {} cases passed",
        list.len() - failures.len(),
        list.len()
    );
    assert!(
        failures.is_empty(),
        "{name} failed cases:\n{}",
        failures.join("\n")
    );
    (list.len(), list.len())
}

/// AWS Function URLs deliver repeated request headers joined with commas (payload format
/// 2.0); `cargo lambda watch` keeps only the first line. Sending them joined tests what AWS
/// hands the function.
fn joined_like_function_urls(headers: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (name, value) in headers {
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => *v = format!("{v}, {value}"),
            None => out.push((name, value)),
        }
    }
    out
}

async fn run_server_suite(kind: Kind) {
    let backend = seeded(kind).await;
    let mut args = backend.serve_args();
    args.extend(["--cors-origin".into(), ORIGIN.into()]);
    let server = Imgorigin::start(&args);
    let target = Target {
        addr: server.addr,
        prefix: "",
        renamed_length: false,
    };
    run_suite(&format!("{kind:?}"), &target, kind != Kind::Local).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_local_directory() {
    run_server_suite(Kind::Local).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_s3_via_s3s_fs() {
    run_server_suite(Kind::S3sFs).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_s3_via_moto() {
    run_server_suite(Kind::Moto).await;
}

/// The Lambda path in stream mode under `cargo lambda watch` (S3 via s3s-fs), with the same
/// cases and expectations as the server; the one platform difference is that Content-Length
/// arrives renamed `x-amzn-remapped-content-length`, as on AWS.
#[tokio::test(flavor = "multi_thread")]
async fn conformance_lambda_stream_via_cargo_lambda_watch() {
    let backend = seeded(Kind::S3sFs).await;
    let lambda = common::lambda_watch::LambdaWatch::start(&[
        ("IMGORIGIN_BUCKET", common::procs::BUCKET.to_owned()),
        ("IMGORIGIN_ENDPOINT", backend.endpoint()),
        ("IMGORIGIN_CORS_ORIGIN", ORIGIN.to_owned()),
        ("IMGORIGIN_INVOKE_MODE", "stream".to_owned()),
    ]);
    let target = Target {
        addr: lambda.addr,
        prefix: common::lambda_watch::LAMBDA_URL_PREFIX,
        renamed_length: true,
    };
    run_suite("Lambda stream (cargo lambda watch, s3s-fs)", &target, true).await;
}
