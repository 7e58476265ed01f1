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
use std::time::{Duration, SystemTime};

const ORIGIN: &str = "https://viewer.example";

/// What a case expects.
struct Case {
    name: String,
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    status: u16,
    /// `Some(v)`: header equals v; `None`: header absent.
    expect_headers: Vec<(&'static str, Option<String>)>,
    /// Expected body bytes (compared by hash).
    body: Vec<u8>,
}

fn case(name: &str, method: &'static str, path: &str, status: u16, body: &[u8]) -> Case {
    Case {
        name: name.to_owned(),
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        status,
        expect_headers: Vec::new(),
        body: body.to_vec(),
    }
}

impl Case {
    fn with(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.push((name, value.into()));
        self
    }

    fn expect(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.expect_headers.push((name, Some(value.into())));
        self
    }

    fn absent(mut self, name: &'static str) -> Case {
        self.expect_headers.push((name, None));
        self
    }
}

/// Validators of the photo as this store reports them.
struct Seen {
    etag: String,
    last_modified: String,
    lm_time: SystemTime,
}

fn date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

fn cases(seen: &Seen) -> Vec<Case> {
    let all = fixtures();
    let photo = &all[0].bytes;
    let len = photo.len();
    let (etag, lm) = (seen.etag.clone(), seen.last_modified.clone());
    let weak = format!("W/{etag}");
    let day = Duration::from_secs(86400);
    let before = date(seen.lm_time - day);
    let later = date(seen.lm_time + Duration::from_secs(1));
    let p = "/photo.jpg";
    let full = |name: &str| {
        case(name, "GET", p, 200, photo)
            .expect("content-length", len.to_string())
            .expect("etag", &etag)
            .absent("content-range")
    };
    let part = |name: &str, range: &str, a: usize, b: usize| {
        case(name, "GET", p, 206, &photo[a..=b])
            .with("range", range)
            .expect("content-range", format!("bytes {a}-{b}/{len}"))
            .expect("content-length", (b - a + 1).to_string())
            .expect("etag", &etag)
    };
    let not_modified = |name: &str| {
        case(name, "GET", p, 304, b"")
            .expect("etag", &etag)
            .expect("last-modified", &lm)
            .expect("cache-control", "public, max-age=31536000")
            .absent("content-range")
    };
    let failed = |name: &str| case(name, "GET", p, 412, b"");
    let mut v = vec![
        full("GET full object")
            .expect("content-type", "image/jpeg")
            .expect("last-modified", &lm)
            .expect("accept-ranges", "bytes")
            .expect("cache-control", "public, max-age=31536000")
            .absent("content-encoding"),
        case("HEAD has GET's headers and no body", "HEAD", p, 200, b"")
            .expect("content-length", len.to_string())
            .expect("content-type", "image/jpeg")
            .expect("etag", &etag)
            .expect("last-modified", &lm)
            .expect("accept-ranges", "bytes")
            .expect("cache-control", "public, max-age=31536000"),
        case("HEAD ignores Range (§14.2)", "HEAD", p, 200, b"")
            .with("range", "bytes=0-9")
            .expect("content-length", len.to_string())
            .absent("content-range"),
        part("range a-b", "bytes=0-99", 0, 99),
        part("range a-", "bytes=100-", 100, len - 1),
        part("range -n", "bytes=-500", len - 500, len - 1),
        part("range one byte", "bytes=0-0", 0, 0),
        part(
            "range last byte",
            &format!("bytes={}-{}", len - 1, len - 1),
            len - 1,
            len - 1,
        ),
        part("range end clamped", "bytes=1000-99999999", 1000, len - 1),
        part(
            "suffix longer than object selects it all",
            "bytes=-99999999",
            0,
            len - 1,
        ),
        part("PMTiles first probe", "bytes=0-16383", 0, 16383),
        part("range unit case-insensitive", "Bytes=5-9", 5, 9),
        case("range past end -> 416", "GET", p, 416, b"")
            .with("range", format!("bytes={len}-"))
            .expect("content-range", format!("bytes */{len}")),
        case("suffix of zero -> 416", "GET", p, 416, b"")
            .with("range", "bytes=-0")
            .expect("content-range", format!("bytes */{len}")),
        full("unparsable range ignored").with("range", "bytes=abc"),
        full("reversed range ignored").with("range", "bytes=9-5"),
        full("other range unit ignored").with("range", "items=0-5"),
        full("several ranges: whole object").with("range", "bytes=0-0,10-19"),
        not_modified("If-None-Match current -> 304").with("if-none-match", &etag),
        not_modified("If-None-Match weak comparison -> 304").with("if-none-match", &weak),
        not_modified("If-None-Match list -> 304")
            .with("if-none-match", format!("\"nope\", {etag}")),
        not_modified("If-None-Match over two lines -> 304")
            .with("if-none-match", "\"nope\"")
            .with("if-none-match", &etag),
        not_modified("If-None-Match * -> 304").with("if-none-match", "*"),
        not_modified("If-None-Match beats Range")
            .with("if-none-match", &etag)
            .with("range", "bytes=0-9"),
        full("If-None-Match other -> 200").with("if-none-match", "\"nope\""),
        case("HEAD If-None-Match -> 304", "HEAD", p, 304, b"")
            .with("if-none-match", &etag)
            .expect("etag", &etag),
        full("If-Match current -> 200").with("if-match", &etag),
        full("If-Match * -> 200").with("if-match", "*"),
        failed("If-Match other -> 412").with("if-match", "\"nope\""),
        failed("If-Match weak never matches -> 412").with("if-match", &weak),
        failed("If-Match before If-None-Match")
            .with("if-match", "\"nope\"")
            .with("if-none-match", &etag),
        failed("If-Match before Range")
            .with("if-match", "\"nope\"")
            .with("range", "bytes=0-9"),
        not_modified("If-Modified-Since = Last-Modified -> 304").with("if-modified-since", &lm),
        full("If-Modified-Since earlier -> 200").with("if-modified-since", &before),
        full("If-None-Match takes precedence over If-Modified-Since")
            .with("if-none-match", "\"nope\"")
            .with("if-modified-since", &lm),
        failed("If-Unmodified-Since earlier -> 412").with("if-unmodified-since", &before),
        full("If-Unmodified-Since = Last-Modified -> 200").with("if-unmodified-since", &lm),
        full("If-Match takes precedence over If-Unmodified-Since")
            .with("if-match", &etag)
            .with("if-unmodified-since", &before),
        part("If-Range ETag match -> 206", "bytes=0-99", 0, 99).with("if-range", &etag),
        full("If-Range ETag mismatch -> 200")
            .with("range", "bytes=0-99")
            .with("if-range", "\"nope\""),
        full("If-Range weak ETag -> 200")
            .with("range", "bytes=0-99")
            .with("if-range", &weak),
        part("If-Range exact date -> 206", "bytes=10-19", 10, 19).with("if-range", &lm),
        full("If-Range other date -> 200")
            .with("range", "bytes=0-99")
            .with("if-range", &later),
        full("If-Range mismatch skips 416")
            .with("range", format!("bytes={len}-"))
            .with("if-range", "\"nope\""),
    ];
    v.extend(other_objects());
    v.extend(errors_and_cors());
    v
}

fn other_objects() -> Vec<Case> {
    let all = fixtures();
    let (nested, big) = (&all[2], &all[3]);
    let mid = 1_000_000..=2_500_000;
    vec![
        case("zero-length object", "GET", "/empty.bin", 200, b"")
            .expect("content-length", "0")
            .expect("content-type", "application/octet-stream"),
        case(
            "zero-length: suffix range -> 200 empty",
            "GET",
            "/empty.bin",
            200,
            b"",
        )
        .with("range", "bytes=-5")
        .expect("content-length", "0")
        .absent("content-range"),
        case(
            "zero-length: int range -> 416",
            "GET",
            "/empty.bin",
            416,
            b"",
        )
        .with("range", "bytes=0-")
        .expect("content-range", "bytes */0"),
        case(
            "percent-encoded unicode key",
            "GET",
            nested.path,
            200,
            &nested.bytes,
        )
        .expect("content-type", "image/png"),
        case(
            "several chunks, exact bytes",
            "GET",
            "/big.bin",
            200,
            &big.bytes,
        ),
        case(
            "range across chunk boundaries",
            "GET",
            "/big.bin",
            206,
            &big.bytes[mid.clone()],
        )
        .with("range", format!("bytes={}-{}", mid.start(), mid.end())),
    ]
}

fn errors_and_cors() -> Vec<Case> {
    let mut v = vec![case(
        "missing object -> 404",
        "GET",
        "/nope.jpg",
        404,
        b"not found\n",
    )
    .expect("cache-control", "public, max-age=60")
    .expect("content-type", "text/plain; charset=utf-8")];
    for (name, path) in [
        ("dot-dot segment", "/../photo.jpg"),
        ("encoded dot-dot", "/a/%2e%2e/photo.jpg"),
        ("empty segment", "/a//photo.jpg"),
        ("NUL byte", "/photo%00.jpg"),
        ("control byte", "/photo%0d.jpg"),
        ("backslash", "/a%5Cphoto.jpg"),
        ("invalid UTF-8", "/photo%ff.jpg"),
        ("bad escape", "/photo%zz.jpg"),
        ("root", "/"),
    ] {
        v.push(case(
            &format!("400 for {name}"),
            "GET",
            path,
            400,
            b"bad request: invalid object path\n",
        ));
    }
    let long = format!("/{}", "k".repeat(1025));
    v.push(case(
        "400 for a key over 1024 bytes",
        "GET",
        &long,
        400,
        b"bad request: invalid object path\n",
    ));
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        v.push(
            case(
                &format!("{method} -> 405"),
                method,
                "/photo.jpg",
                405,
                b"method not allowed\n",
            )
            .expect("allow", "GET, HEAD, OPTIONS"),
        );
    }
    v.push(
        case(
            "CORS: allowed origin sees validators",
            "GET",
            "/photo.jpg",
            200,
            &fixtures()[0].bytes,
        )
        .with("origin", ORIGIN)
        .expect("access-control-allow-origin", ORIGIN)
        .expect(
            "access-control-expose-headers",
            "ETag, Content-Range, Content-Length, Accept-Ranges, Last-Modified",
        )
        .expect("vary", "Origin"),
    );
    v.push(
        case(
            "CORS: other origin gets no grant",
            "GET",
            "/empty.bin",
            200,
            b"",
        )
        .with("origin", "https://evil.example")
        .absent("access-control-allow-origin"),
    );
    v.push(
        case("CORS preflight", "OPTIONS", "/photo.jpg", 204, b"")
            .with("origin", ORIGIN)
            .with("access-control-request-method", "GET")
            .with("access-control-request-headers", "range")
            .expect("access-control-allow-origin", ORIGIN)
            .expect("access-control-allow-methods", "GET, HEAD"),
    );
    v.push(
        case(
            "CORS preflight for PUT refused",
            "OPTIONS",
            "/photo.jpg",
            403,
            b"cross-origin request not allowed\n",
        )
        .with("origin", ORIGIN)
        .with("access-control-request-method", "PUT"),
    );
    v
}

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
    let lambda = common::procs::LambdaWatch::start(&[
        ("IMGORIGIN_BUCKET", common::procs::BUCKET.to_owned()),
        ("IMGORIGIN_ENDPOINT", backend.endpoint()),
        ("IMGORIGIN_CORS_ORIGIN", ORIGIN.to_owned()),
        ("IMGORIGIN_INVOKE_MODE", "stream".to_owned()),
    ]);
    let target = Target {
        addr: lambda.addr,
        prefix: common::procs::LAMBDA_URL_PREFIX,
        renamed_length: true,
    };
    run_suite("Lambda stream (cargo lambda watch, s3s-fs)", &target, true).await;
}
