//! Cost: one S3 request per GET or HEAD in the common case (full, ranged, revalidated, HEAD,
//! missing), counted by a proxy between imgorigin and a real S3-protocol server (s3s-fs); the
//! If-Range fallback costs two; several ranges cost a HeadObject plus one GetObject per store
//! read (ascending parts under 5 KiB apart share one, `plan::multipart::reads`). The SDK client is reused across requests (one connection serves them
//! all).

mod common;

use common::procs::Kind;
use common::proxy::CountingProxy;
use common::{fetch, pattern, Backend, Imgorigin};

/// Method, path, request headers, expected status, expected S3 requests.
type Row<'a> = (&'a str, &'a str, Vec<(&'a str, &'a str)>, u16, u64);

#[tokio::test(flavor = "multi_thread")]
async fn one_s3_request_per_client_request() {
    let backend = Backend::start(Kind::S3sFs).await;
    backend
        .put("a.jpg", pattern(300_000, 4), "image/jpeg", None)
        .await;
    let proxy = CountingProxy::start(backend.port).await;
    let endpoint = format!("http://127.0.0.1:{}", proxy.port);
    let server = Imgorigin::start(&[
        "--bucket".into(),
        common::procs::BUCKET.into(),
        "--endpoint".into(),
        endpoint,
    ]);
    let head = fetch(server.addr, "HEAD", "/a.jpg", &[]).await;
    let etag = head.header("etag").expect("etag").to_owned();
    let cases: Vec<Row> = vec![
        ("GET", "/a.jpg", vec![], 200, 1),
        ("GET", "/a.jpg", vec![("range", "bytes=0-99")], 206, 1),
        ("GET", "/a.jpg", vec![("range", "bytes=-100")], 206, 1),
        ("HEAD", "/a.jpg", vec![], 200, 1),
        ("GET", "/a.jpg", vec![("if-none-match", &etag)], 304, 1),
        (
            "GET",
            "/a.jpg",
            vec![("range", "bytes=0-99"), ("if-range", &etag)],
            206,
            1,
        ),
        (
            "GET",
            "/a.jpg",
            vec![("range", "bytes=0-99"), ("if-range", "\"old\"")],
            200,
            2,
        ),
        ("GET", "/missing.jpg", vec![], 404, 1),
        // Four parts in three reads (the first two are under 5 KiB apart); then two parts
        // in one read.
        (
            "GET",
            "/a.jpg",
            vec![("range", "bytes=0-99,1000-1099,100000-100099,200000-200099")],
            206,
            4,
        ),
        (
            "GET",
            "/a.jpg",
            vec![("range", "bytes=0-99,200-299")],
            206,
            2,
        ),
        (
            "GET",
            "/a.jpg",
            vec![("range", "bytes=0-99,10-109,20-119")],
            200,
            2,
        ),
    ];
    for (method, path, headers, status, trips) in cases {
        let before = proxy.requests();
        let got = fetch(server.addr, method, path, &headers).await;
        assert_eq!(got.status.as_u16(), status, "{method} {path} {headers:?}");
        assert!(got.body.is_ok());
        let used = proxy.requests() - before;
        assert_eq!(used, trips, "S3 requests for {method} {path} {headers:?}");
    }
}
