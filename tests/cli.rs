//! The CLI contract scripts rely on:
//! - `--listen 127.0.0.1:0` binds a free port and the first stdout line is
//!   `listening on http://HOST:PORT`;
//! - every flag reads an `IMGORIGIN_*` variable;
//! - SIGTERM lets an in-flight response finish, refuses new connections, and exits 0;
//!   SIGINT exits 0 too;
//! - an unusable configuration fails at start with a clear message and a non-zero status.

mod common;

use common::client::fetch_streamed;
use common::procs::Kind;
use common::{fetch, write_pattern_file, Backend, Imgorigin};
use std::process::Command;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn settings_come_from_imgorigin_variables() {
    let backend = Backend::start(Kind::Local).await;
    backend
        .put("sub/a.txt", b"hello".to_vec(), "text/plain", None)
        .await;
    let root = backend.dir.path().display().to_string();
    let env = [
        ("IMGORIGIN_ROOT", root.as_str()),
        ("IMGORIGIN_PREFIX", "sub/"),
        ("IMGORIGIN_CACHE_CONTROL", "public, max-age=5"),
        ("IMGORIGIN_NOT_FOUND_CACHE_CONTROL", "no-cache"),
        (
            "IMGORIGIN_CORS_ORIGIN",
            "https://a.example,https://b.example",
        ),
    ];
    let server = Imgorigin::start_with_env(&[], &env);
    let got = fetch(
        server.addr,
        "GET",
        "/a.txt",
        &[("origin", "https://b.example")],
    )
    .await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes(), b"hello");
    assert_eq!(got.header("cache-control"), Some("public, max-age=5"));
    assert_eq!(
        got.header("access-control-allow-origin"),
        Some("https://b.example")
    );
    let missing = fetch(server.addr, "GET", "/nope", &[]).await;
    assert_eq!(
        (missing.status.as_u16(), missing.header("cache-control")),
        (404, Some("no-cache"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_drains_in_flight_responses_and_exits_zero() {
    let backend = Backend::start(Kind::Local).await;
    let len = 48 * 1024 * 1024;
    let sha = write_pattern_file(&backend.put_file("video.mp4"), len, 5);
    let mut server = Imgorigin::start(&backend.serve_args());
    let addr = server.addr;
    // About 1.5 s at 32 MiB/s: the signal arrives in the middle.
    let task = tokio::spawn(async move {
        fetch_streamed(addr, "/video.mp4", Some(32 * 1024 * 1024), None).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.signal("TERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still accepting after SIGTERM"
    );
    let got = task.await.expect("join");
    assert_eq!(got.error, None, "in-flight response was cut");
    assert_eq!((got.received, got.sha256.as_str()), (len, sha.as_str()));
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.try_wait() {
            break status;
        }
        assert!(Instant::now() < deadline, "did not exit after draining");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_exits_zero() {
    let backend = Backend::start(Kind::Local).await;
    let mut server = Imgorigin::start(&backend.serve_args());
    server.signal("INT");
    let status = tokio::task::spawn_blocking(move || server.terminate_wait())
        .await
        .expect("join");
    assert!(status.success());
}

#[test]
fn unusable_root_fails_at_start_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_imgorigin"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--root",
            "/nonexistent/imgorigin",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "must not claim to listen");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--root /nonexistent/imgorigin"),
        "stderr: {err}"
    );
}

#[test]
fn root_and_bucket_are_exclusive() {
    let out = Command::new(env!("CARGO_BIN_EXE_imgorigin"))
        .args(["serve", "--root", ".", "--bucket", "b"])
        .env_remove("IMGORIGIN_ROOT")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
}
