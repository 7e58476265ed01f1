//! Multipart/byteranges answers read by another implementation, Python's `email` package
//! (tests/multipart_parse.py), on `serve`. The shared table in conformance.rs checks the same
//! answers byte by byte on every store (the Lambda function answers several ranges whole).

mod common;

use common::procs::Kind;
use common::{fetch, pattern, Backend, Imgorigin};
use std::net::SocketAddr;
use std::process::Command;

/// GETs `path` with `range` and has Python parse the answer against `object`; returns the
/// parts Python found (`type first-last` lines).
async fn parts_python_reads(
    addr: SocketAddr,
    path: &str,
    range: &str,
    object: &[u8],
) -> Vec<String> {
    let got = fetch(addr, "GET", path, &[("range", range)]).await;
    assert_eq!(got.status.as_u16(), 206, "{range}");
    let content_type = got.header("content-type").expect("content-type").to_owned();
    let body = got.body.as_ref().expect("a complete body");
    let dir = tempfile::tempdir().expect("tempdir");
    let (answer, whole) = (dir.path().join("answer"), dir.path().join("object"));
    let mut message = format!("Content-Type: {content_type}\r\n\r\n").into_bytes();
    message.extend_from_slice(body);
    std::fs::write(&answer, message).expect("write answer");
    std::fs::write(&whole, object).expect("write object");
    let out = Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/multipart_parse.py"
        ))
        .args([&answer, &whole])
        .output()
        .expect("python3 (tests/run.sh's machines have it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{range}: {stderr}");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn python_reads_every_part_from_serve() {
    let backend = Backend::start(Kind::Local).await;
    let object = pattern(300_000, 7);
    backend
        .put("a.bin", object.clone(), "application/octet-stream", None)
        .await;
    let server = Imgorigin::start(&backend.serve_args());
    let cases: [(&str, &[&str]); 3] = [
        (
            "bytes=0-9,100000-100009,-5",
            &["0-9", "100000-100009", "299995-299999"],
        ),
        ("bytes=200000-200099,0-0", &["200000-200099", "0-0"]),
        (
            "bytes=0-99,50-149,20000-20099,290000-",
            &["0-149", "20000-20099", "290000-299999"],
        ),
    ];
    for (range, want) in cases {
        let got = parts_python_reads(server.addr, "/a.bin", range, &object).await;
        let want: Vec<String> = want
            .iter()
            .map(|s| format!("application/octet-stream {s}"))
            .collect();
        assert_eq!(got, want, "{range}");
    }
}
