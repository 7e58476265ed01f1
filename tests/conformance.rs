//! One conformance suite of HTTP cases, run through the real server over TCP against every
//! store: a local directory, s3s-fs and moto (real S3-protocol servers on loopback). Every case
//! checks the status, the headers that matter and the exact body (by SHA-256); the expected
//! answers are the same for every store, and for the Lambda path in both invoke modes: stream
//! under `cargo lambda watch` (several ranges answered whole: `InvokeMode::max_ranges`),
//! buffered behind a fake Runtime API and Function URL front (tests/common/function_url.rs).
//!
//! Covers: full GET and HEAD headers; single ranges (int, open, suffix, clamped, longer
//! suffix, last byte), 416, ignored ranges (unparsable, reversed, other unit), several ranges;
//! zero-length objects; If-Match, If-None-Match (lists, weak/strong, `*`, repeated lines),
//! If-Modified-Since, If-Unmodified-Since and their precedence (RFC 9110 §13.2.2); If-Range by
//! ETag and date; percent-encoded keys, and keys with every sub-delimiter, `%`, spaces,
//! unicode and emoji (fully encoded and with RFC 3986 pchars raw); 400 for unsafe paths; 404 with its short cache; 405;
//! CORS on answers and preflights.
//!
//! With signing on (every key signed; local directory and S3 via s3s-fs) the same cases, sent
//! as signed links, get the same answers; unsigned, tampered, extended and expired links are
//! 403 with `Cache-Control: no-store`, and a counting proxy in front of S3 sees no request
//! for them.

mod common;

use common::access_log;
use common::fixtures::special_keys;
use common::procs::Kind;
use common::procs::LogLines;
use common::proxy::CountingProxy;
use common::{fetch, fixtures, sha256, Backend, Imgorigin};
use imgorigin::access::link::sign_link;
use imgorigin::access::KeyRing;

#[path = "conformance/cases.rs"]
mod cases;

use cases::{case, cases, Seen, ORIGIN};

/// Where the suite sends its requests.
struct Target {
    addr: std::net::SocketAddr,
    /// Path prefix of the Function URL under `cargo lambda watch`; empty for the server and
    /// the Function URL front (tests/common/function_url.rs).
    prefix: &'static str,
    /// Streamed Function URL answers carry Content-Length renamed (DESIGN.md).
    renamed_length: bool,
    /// When the server requires signatures: the keys to sign every case's path with.
    keys: Option<KeyRing>,
    /// Several ranges are answered with the whole object (the Lambda stream mode:
    /// `InvokeMode::max_ranges`).
    several_ranges_whole: bool,
    /// The JSON access log, checked line by line against what the client saw.
    log: Option<LogLines>,
}

const SIGNING_KEYS: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// 2100-01-01: far enough that the suite never sees it expire.
const FAR: u64 = 4_102_444_800;

impl Target {
    /// The request target for a case path: signed when the server wants signatures and the
    /// path names a key (paths the origin rejects with 400 cannot be signed, and need not be).
    fn url(&self, path: &str) -> String {
        let signed = self
            .keys
            .as_ref()
            .and_then(|keys| sign_link(keys, None, path, FAR).ok());
        format!("{}{}", self.prefix, signed.as_deref().unwrap_or(path))
    }
}

async fn seeded(kind: Kind) -> Backend {
    let backend = Backend::start(kind).await;
    for f in fixtures() {
        backend.put(f.key, f.bytes, f.content_type, None).await;
    }
    for (key, bytes) in special_keys() {
        backend
            .put(key, bytes, "application/octet-stream", None)
            .await;
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
    let head = fetch(target.addr, "HEAD", &target.url("/photo.jpg"), &[]).await;
    let last_modified = head
        .header("last-modified")
        .expect("last-modified")
        .to_owned();
    if let Some(log) = &target.log {
        log.wait_for(1);
    }
    let seen = Seen {
        etag: head.header("etag").expect("etag").to_owned(),
        lm_time: httpdate::parse_http_date(&last_modified).expect("date"),
        last_modified,
    };
    let mut list = cases(&seen);
    if target.several_ranges_whole {
        list = list.into_iter().map(several_ranges_whole).collect();
    }
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
        if !target.prefix.is_empty() {
            headers = joined_like_function_urls(headers);
        }
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let logged = target.log.as_ref().map(|log| log.access().len());
        let got = fetch(target.addr, c.method, &target.url(&c.path), &headers).await;
        let mut problems = Vec::new();
        if let (Some(log), Some(n)) = (&target.log, logged) {
            problems.extend(log_problems(&log.wait_for(n + 1)[n], target, c, &got));
        }
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
            Ok(body) if !c.parts.is_empty() => {
                problems.extend(common::multipart::problems(
                    got.header("content-type"),
                    "image/jpeg",
                    body,
                    &c.parts,
                ));
            }
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

/// What is wrong with the access-log line of case `c`, answered `got`.
fn log_problems(
    line: &str,
    target: &Target,
    c: &cases::Case,
    got: &common::client::Fetched,
) -> Vec<String> {
    let url = target.url(&c.path);
    let seen = access_log::Seen {
        method: c.method,
        path: url.split('?').next().unwrap_or_default(),
        range: c
            .headers
            .iter()
            .find(|(n, _)| *n == "range")
            .map(|(_, v)| v.as_str()),
        status: got.status.as_u16(),
        bytes: got.bytes().len() as u64,
        complete: got.body.is_ok(),
    };
    access_log::problems(line, &seen)
}

/// The case as a transport that answers every GET with several ranges whole expects it:
/// 200, the whole photo, no Content-Range.
fn several_ranges_whole(mut c: cases::Case) -> cases::Case {
    let several = c
        .headers
        .iter()
        .any(|(n, v)| *n == "range" && v.contains(','));
    if c.method != "GET" || !several || c.path != "/photo.jpg" {
        return c;
    }
    let photo = fixtures().swap_remove(0).bytes;
    c.name = format!("{} (stream mode: the whole object)", c.name);
    c.status = 200;
    c.parts.clear();
    c.expect_headers = vec![
        ("content-range", None),
        ("content-length", Some(photo.len().to_string())),
    ];
    c.body = photo;
    c
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
    args.extend(["--log-format".into(), "json".into()]);
    let server = Imgorigin::start(&args);
    let target = Target {
        addr: server.addr,
        prefix: "",
        renamed_length: false,
        keys: None,
        several_ranges_whole: false,
        log: Some(server.log.clone()),
    };
    run_suite(&format!("{kind:?}"), &target, kind != Kind::Local).await;
}

/// The suite with every key signed; for S3 through a counting proxy, which must see no
/// request for the refused links.
async fn run_signed_suite(kind: Kind) {
    let backend = seeded(kind).await;
    let proxy = match kind {
        Kind::Local => None,
        _ => Some(CountingProxy::start(backend.port).await),
    };
    let mut args = match &proxy {
        Some(p) => vec![
            "--bucket".into(),
            common::procs::BUCKET.into(),
            "--endpoint".into(),
            format!("http://127.0.0.1:{}", p.port),
        ],
        None => backend.serve_args(),
    };
    args.extend(["--cors-origin".into(), ORIGIN.into()]);
    args.extend([
        "--signing-keys".into(),
        SIGNING_KEYS.into(),
        "--sign-all".into(),
        "--log-format".into(),
        "json".into(),
    ]);
    let server = Imgorigin::start(&args);
    let target = Target {
        addr: server.addr,
        prefix: "",
        renamed_length: false,
        keys: Some(KeyRing::parse_list(SIGNING_KEYS).expect("keys")),
        several_ranges_whole: false,
        log: Some(server.log.clone()),
    };
    run_suite(&format!("{kind:?}, signed"), &target, kind != Kind::Local).await;
    let before = proxy.as_ref().map(CountingProxy::requests);
    refusals(&target).await;
    assert_eq!(
        proxy.as_ref().map(CountingProxy::requests),
        before,
        "a refused request reached S3"
    );
}

/// Unsigned, tampered, extended and expired links: 403 with a one-word body, never cached.
async fn refusals(target: &Target) {
    let good = target.url("/photo.jpg");
    let keys = target.keys.as_ref().expect("keys");
    let expired = sign_link(keys, None, "/photo.jpg", 1).expect("sign");
    let cases = [
        ("unsigned", "/photo.jpg".to_owned(), "forbidden\n"),
        (
            "other key",
            good.replace("photo.jpg", "big.bin"),
            "forbidden\n",
        ),
        (
            "exp moved",
            good.replace(&FAR.to_string(), &(FAR + 1).to_string()),
            "forbidden\n",
        ),
        ("sig twice", format!("{good}&sig=AAAA"), "forbidden\n"),
        ("extended", format!("{good}&w=10"), "forbidden\n"),
        ("unknown parameter", format!("{good}&x=1"), "forbidden\n"),
        ("expired", expired, "expired\n"),
    ];
    for (name, uri, body) in cases {
        for method in ["GET", "HEAD"] {
            let got = fetch(target.addr, method, &uri, &[("range", "bytes=0-9")]).await;
            let want_body = if method == "GET" {
                body.as_bytes()
            } else {
                b""
            };
            assert_eq!(got.status, 403, "{name} {method}");
            assert_eq!(got.header("cache-control"), Some("no-store"), "{name}");
            assert_eq!(got.bytes(), want_body, "{name} {method}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_local_directory_signed() {
    run_signed_suite(Kind::Local).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn conformance_s3_via_s3s_fs_signed() {
    run_signed_suite(Kind::S3sFs).await;
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
        keys: None,
        several_ranges_whole: true,
        // The function's stdout stays inside the emulator.
        log: None,
    };
    run_suite("Lambda stream (cargo lambda watch, s3s-fs)", &target, true).await;
}

/// The Lambda path in buffered mode (S3 via s3s-fs): the real function behind a fake Runtime
/// API and a Function URL stand-in (tests/common/function_url.rs: `cargo lambda watch` loses
/// some buffered answers). The same cases and answers as the server, multipart included (the
/// fixtures fit the 4 MiB budget; tests/lambda_contract.rs covers the budget).
#[tokio::test(flavor = "multi_thread")]
async fn conformance_lambda_buffered_via_runtime_api() {
    let backend = seeded(Kind::S3sFs).await;
    let lambda = common::function_url::FunctionUrl::start(&[
        ("IMGORIGIN_BUCKET", common::procs::BUCKET.to_owned()),
        ("IMGORIGIN_ENDPOINT", backend.endpoint()),
        ("IMGORIGIN_CORS_ORIGIN", ORIGIN.to_owned()),
        ("IMGORIGIN_INVOKE_MODE", "buffered".to_owned()),
    ])
    .await;
    let target = Target {
        addr: lambda.addr,
        prefix: "",
        renamed_length: false,
        keys: None,
        several_ranges_whole: false,
        log: Some(lambda.log.clone()),
    };
    run_suite("Lambda buffered (Runtime API, s3s-fs)", &target, true).await;
    // Each invocation writes its access-log line, then its EMF document.
    let requests = lambda.log.access().len();
    assert_eq!(
        lambda.log.wait_for_emf(requests).len(),
        requests,
        "one EMF document per request"
    );
}
