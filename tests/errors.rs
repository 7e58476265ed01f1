//! Store failures as a client sees them, against real servers: an unreachable S3 endpoint is
//! 502, a credentials error is 502 (not a 404 that a CDN would cache as "missing"), and no
//! answer leaks internal detail (endpoint, bucket, SDK text).

mod common;

use common::procs::{free_port, Kind, BUCKET};
use common::{fetch, Backend, Imgorigin};

fn assert_opaque(body: &[u8]) {
    let text = String::from_utf8_lossy(body);
    for leak in [
        "127.0.0.1",
        BUCKET,
        "ispatch",
        "refused",
        "Signature",
        "AccessKey",
        "SDK",
    ] {
        assert!(!text.contains(leak), "error body leaks {leak:?}: {text:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_s3_is_502() {
    let endpoint = format!("http://127.0.0.1:{}", free_port());
    let server = Imgorigin::start(&[
        "--bucket".into(),
        BUCKET.into(),
        "--endpoint".into(),
        endpoint,
    ]);
    for method in ["GET", "HEAD"] {
        let got = fetch(server.addr, method, "/a.jpg", &[]).await;
        assert_eq!(got.status, 502, "{method}");
        assert_eq!(got.header("cache-control"), Some("no-store"));
        assert_opaque(got.bytes());
    }
    let got = fetch(server.addr, "GET", "/a.jpg", &[]).await;
    assert_eq!(got.bytes(), b"storage error\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_502_not_404() {
    let backend = Backend::start(Kind::S3sFs).await;
    backend
        .put("a.jpg", b"abc".to_vec(), "image/jpeg", None)
        .await;
    let env = [
        ("AWS_ACCESS_KEY_ID", "wrong"),
        ("AWS_SECRET_ACCESS_KEY", "wrong"),
    ];
    let server = Imgorigin::start_with_env(&backend.serve_args(), &env);
    let got = fetch(server.addr, "GET", "/a.jpg", &[]).await;
    assert_eq!(got.status, 502);
    assert_eq!(got.bytes(), b"storage error\n");
}
