//! Who the S3 reads sign as and when (issue 14, items 1-3, 8, 13, 14), through the real binary
//! against the scriptable fake S3, with credentials from a counting `credential_process`:
//! - credentials are fetched once and shared by every worker until the SDK's refresh time
//!   (before: once per request when less than 5 minutes were left);
//! - a refresh that fails while the current credentials are still valid keeps them;
//! - S3's `ExpiredToken` drops the cached credentials and signs once more with fresh ones;
//! - S3's clock, from its `Date`, corrects ours: a skewed clock costs one refused request;
//! - an answer with more than 128 header fields is read, not a 502;
//! - the shared config file's `endpoint_url` is honoured, and ignored under
//!   `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`.

mod common;

use common::fake_s3::{FakeS3, Fault, Plan};
use common::{fetch, pattern, sha256, Imgorigin};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A `credential_process` that counts its runs in `dir/runs` and answers with access key
/// `AKID<run>`. `expires_in` gives the credentials an expiry that many seconds ahead; runs
/// after the first fail when `fail_after_first`.
fn credential_process(dir: &Path, expires_in: Option<u64>, fail_after_first: bool) -> PathBuf {
    let expiration = match expires_in {
        Some(s) => {
            format!(",\\\"Expiration\\\":\\\"$(date -u -d '+{s} seconds' +%Y-%m-%dT%H:%M:%SZ)\\\"")
        }
        None => String::new(),
    };
    let fail = match fail_after_first {
        true => "if [ \"$n\" -gt 1 ]; then echo 'IMDS is down' >&2; exit 1; fi",
        false => "",
    };
    let script = format!(
        "#!/bin/sh\nd=$(dirname \"$0\")\nn=$(( $(cat \"$d/runs\" 2>/dev/null || echo 0) + 1 ))\n\
         echo \"$n\" > \"$d/runs\"\n{fail}\n\
         echo \"{{\\\"Version\\\":1,\\\"AccessKeyId\\\":\\\"AKID$n\\\",\
         \\\"SecretAccessKey\\\":\\\"secret\\\",\\\"SessionToken\\\":\\\"token$n\\\"{expiration}}}\"\n"
    );
    let path = dir.join("creds.sh");
    std::fs::write(&path, script).expect("write script");
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&path, mode).expect("chmod");
    let config = format!("[default]\ncredential_process = {}\n", path.display());
    std::fs::write(dir.join("config"), config).expect("write config");
    path
}

fn runs(dir: &Path) -> u32 {
    let text = std::fs::read_to_string(dir.join("runs")).unwrap_or_default();
    text.trim().parse().unwrap_or(0)
}

/// `serve` over `fake` with credentials from the profile in `dir` only.
fn serve_with_profile(fake: &FakeS3, dir: &Path, extra: &[(&str, &str)]) -> Imgorigin {
    let config = dir.join("config");
    let mut env = vec![
        ("AWS_ACCESS_KEY_ID", ""),
        ("AWS_SECRET_ACCESS_KEY", ""),
        ("AWS_CONFIG_FILE", config.to_str().expect("utf-8 path")),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent"),
    ];
    env.extend_from_slice(extra);
    Imgorigin::start_with_env(&fake.serve_args(), &env)
}

/// The access key id a request was signed with.
fn akid(req: &common::fake_s3::Req) -> String {
    let auth = req.header("authorization").unwrap_or("");
    let cred = auth.split("Credential=").nth(1).unwrap_or("");
    cred.split('/').next().unwrap_or("").to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn credentials_are_fetched_once_for_all_requests_and_workers() {
    let dir = tempfile::tempdir().expect("tempdir");
    credential_process(dir.path(), Some(200), false);
    let fake = FakeS3::start();
    let body = pattern(20_000, 51);
    fake.put("a.bin", body.clone(), "application/octet-stream");
    let server = serve_with_profile(&fake, dir.path(), &[]);
    // 20 one after the other, then 10 at once (spread over the workers' pools).
    for _ in 0..20 {
        let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
        assert_eq!(got.status, 200);
    }
    let started = Instant::now();
    let all = (0..10).map(|_| tokio::spawn(fetch(server.addr, "GET", "/a.bin", &[])));
    for got in futures_util::future::join_all(all).await {
        let got = got.expect("join");
        assert_eq!(
            (got.status.as_u16(), sha256(got.bytes())),
            (200, sha256(&body))
        );
    }
    let took = started.elapsed();
    // Before: 20 runs for the first 20 requests, and the 10 finished one after the other
    // (0.5 ... 5.1 s): the 200 s expiry was inside the 5-minute margin.
    assert_eq!(runs(dir.path()), 1, "credential_process runs");
    assert!(
        took < Duration::from_secs(2),
        "10 concurrent reads took {took:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_refresh_keeps_credentials_that_are_still_valid() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 8 s left: inside the SDK's 10 s buffer, so every request wants a refresh; every
    // refresh after the first fails.
    credential_process(dir.path(), Some(8), true);
    let fake = FakeS3::start();
    fake.put("a.bin", pattern(1000, 52), "application/octet-stream");
    let server = serve_with_profile(&fake, dir.path(), &[]);
    let started = Instant::now();
    let mut statuses = Vec::new();
    while started.elapsed() < Duration::from_secs(3) {
        statuses.push(
            fetch(server.addr, "GET", "/a.bin", &[])
                .await
                .status
                .as_u16(),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(statuses.len() > 20);
    // Before: the first 200, then 503 for every request whose refresh failed.
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let n = runs(dir.path());
    // One fetch, then at most one failed attempt per second (RETRY_FAILED_AFTER).
    assert!((2..=5).contains(&n), "{n} runs in 3 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_token_fetches_once_more_and_the_read_succeeds() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No expiry: before, such credentials were never read again.
    credential_process(dir.path(), None, false);
    let fake = FakeS3::start();
    let body = pattern(5000, 53);
    fake.put("a.bin", body.clone(), "application/octet-stream");
    // S3 no longer accepts the first credentials.
    fake.script(|req, _| match akid(req).as_str() {
        "AKID1" => Fault::Error {
            status: 400,
            code: "ExpiredToken",
        }
        .into(),
        _ => Plan::default(),
    });
    let server = serve_with_profile(&fake, dir.path(), &[]);
    let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
    // Before: 502 with no refresh and no retry.
    assert_eq!(got.status, 200);
    assert_eq!(sha256(got.bytes()), sha256(&body));
    let got = fetch(server.addr, "HEAD", "/a.bin", &[]).await;
    assert_eq!(got.status, 200, "HEAD");
    assert_eq!(got.header("content-length"), Some("5000"));
    assert_eq!(runs(dir.path()), 2, "one fetch more, not one per request");
    let signed_with: Vec<_> = fake.requests().iter().map(akid).collect();
    assert_eq!(signed_with.first().map(String::as_str), Some("AKID1"));
    assert!(
        signed_with[1..].iter().all(|k| k == "AKID2"),
        "{signed_with:?}"
    );
}

/// Whether a request was signed more than 15 minutes off `fake_now`, which S3 refuses with
/// `RequestTimeTooSkewed`.
fn signed_off_clock(fake_now: std::time::SystemTime, req: &common::fake_s3::Req) -> bool {
    let signed = req.header("x-amz-date").and_then(amz_date_time);
    let off = signed.map(|t| t.duration_since(fake_now).unwrap_or_else(|e| e.duration()));
    off.is_none_or(|off| off > Duration::from_secs(15 * 60))
}

/// `YYYYMMDDTHHMMSSZ` as a time (days from the civil date, as in Howard Hinnant's algorithm).
fn amz_date_time(d: &str) -> Option<std::time::SystemTime> {
    let num = |r: std::ops::Range<usize>| d.get(r)?.parse::<i64>().ok();
    let (y, m, day) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (hh, mm, ss) = (num(9..11)?, num(11..13)?, num(13..15)?);
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss).ok()?;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(secs))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skewed_clock_is_corrected_from_s3s_date() {
    let fake = std::sync::Arc::new(FakeS3::start());
    let body = pattern(3000, 54);
    fake.put("a.bin", body.clone(), "application/octet-stream");
    // S3's clock an hour ahead of this machine's (a VM resumed after a pause).
    fake.set_clock_offset(3600);
    let clock = std::sync::Arc::downgrade(&fake);
    fake.script(move |req, _| match clock.upgrade() {
        Some(fake) if signed_off_clock(fake.now(), req) => Fault::Error {
            status: 403,
            code: "RequestTimeTooSkewed",
        }
        .into(),
        _ => Plan::default(),
    });
    let server = Imgorigin::start(&fake.serve_args());
    // Before: 502 for every request, RequestTimeTooSkewed not retried.
    for method in ["GET", "HEAD", "GET"] {
        let got = fetch(server.addr, method, "/a.bin", &[]).await;
        assert_eq!(got.status, 200, "{method}");
    }
    let refused = fake
        .requests()
        .iter()
        .filter(|r| signed_off_clock(fake.now(), r))
        .count();
    assert_eq!(
        refused, 1,
        "only the first request was signed with our clock"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_with_many_metadata_fields_is_read() {
    let fake = FakeS3::start();
    let body = pattern(4000, 55);
    fake.put("tagged.bin", body.clone(), "application/octet-stream");
    // 200 user-metadata fields (S3 allows 2 KB of them): with the other headers, more than
    // the 128 the answer parser has room for at first.
    let names: Vec<&'static str> = (0..200)
        .map(|i| &*Box::leak(format!("x-amz-meta-k{i}").into_boxed_str()))
        .collect();
    let fields: Vec<_> = names.iter().map(|n| (*n, "v")).collect();
    fake.set_stored("tagged.bin", &fields);
    let server = Imgorigin::start(&fake.serve_args());
    for method in ["GET", "HEAD"] {
        let got = fetch(server.addr, method, "/tagged.bin", &[]).await;
        // Before: 502 (httparse's TooManyHeaders).
        assert_eq!(got.status, 200, "{method}");
        assert_eq!(got.header("content-length"), Some("4000"), "{method}");
    }
    let got = fetch(server.addr, "GET", "/tagged.bin", &[]).await;
    assert_eq!(sha256(got.bytes()), sha256(&body));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_shared_config_files_endpoint_url_is_honoured_unless_ignored() {
    let fake = FakeS3::start();
    fake.put("a.bin", pattern(100, 56), "application/octet-stream");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config");
    let text = format!("[default]\nendpoint_url = {}\n", fake.endpoint());
    std::fs::write(&config, text).expect("config");
    let config = config.to_str().expect("utf-8");
    let args = ["--bucket".to_owned(), "images".to_owned()];
    let env = [("AWS_CONFIG_FILE", config)];
    let server = Imgorigin::start_with_env(&args, &env);
    let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
    // Before: the file's endpoint_url was ignored and the read went to AWS.
    assert_eq!(got.status, 200);
    assert_eq!(fake.requests().len(), 1);
    let ignoring = [
        ("AWS_CONFIG_FILE", config),
        ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
    ];
    let server = Imgorigin::start_with_env(&args, &ignoring);
    let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
    assert_ne!(got.status, 200);
    assert_eq!(
        fake.requests().len(),
        1,
        "the ignored endpoint got a request"
    );
}
