//! What operators see, through the real binary (src/observe.rs):
//! - `serve --admin-listen`: `/metrics` passes `promtool check metrics` (Debian `prometheus`)
//!   and its counters agree with the requests sent, by kind and status class, and with the
//!   access log's bytes; `/healthz` answers; `/readyz` is 200 while the store answers, 503
//!   once S3 (s3s-fs) is down and 200 again when it is back, and 503 while draining after
//!   SIGTERM while `/healthz` stays 200;
//! - the access log: text by default on `serve`, off with `--access-log off`;
//! - Lambda, both invoke modes, through the fake Runtime API: one access-log line (JSON, with
//!   the invocation's `awsRequestId`) and one EMF document per invocation, the EMF checked
//!   against the specification's structure (namespace and dimension sets as configured,
//!   every dimension and metric a top-level member, units from CloudWatch's list); the
//!   function's deadline shows as `DeadlineCuts` (stream: cut off; buffered: the 504).

mod common;
#[path = "observe/lambda.rs"]
mod lambda;

use common::procs::{find_tool, Kind};
use common::{fetch, pattern, Backend, Imgorigin};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// `name{labels} value` samples of a Prometheus text exposition.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(admin: SocketAddr) -> String {
    let got = fetch(admin, "GET", "/metrics", &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(
        got.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    String::from_utf8(got.bytes().to_vec()).expect("utf-8")
}

fn promtool_accepts(text: &str) {
    use std::io::Write;
    let promtool = find_tool("PROMTOOL", "promtool", "apt-get install prometheus");
    let mut child = std::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(text.as_bytes()).expect("write");
    drop(stdin);
    let out = child.wait_with_output().expect("promtool");
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Polls `/readyz` until its status is `want` (or fails after `within`); returns its body.
async fn readyz_becomes(admin: SocketAddr, want: u16, within: Duration) -> (String, Duration) {
    let start = Instant::now();
    loop {
        let got = fetch(admin, "GET", "/readyz", &[]).await;
        if got.status == want {
            let body = String::from_utf8_lossy(got.bytes()).into_owned();
            return (body, start.elapsed());
        }
        assert!(
            start.elapsed() < within,
            "/readyz still {} after {within:?}",
            got.status
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_metrics_agree_with_requests_and_readiness_follows_the_store() {
    let mut backend = Backend::start(Kind::S3sFs).await;
    let small = pattern(100_000, 1);
    backend
        .put("a.bin", small.clone(), "application/octet-stream", None)
        .await;
    let mut args = backend.serve_args();
    args.extend(["--admin-listen", "127.0.0.1:0", "--log-format", "json"].map(String::from));
    let server = Imgorigin::start(&args);
    let admin = server.admin.expect("admin address");
    let (addr, len) = (server.addr, small.len());

    assert_eq!(fetch(admin, "GET", "/healthz", &[]).await.status, 200);
    readyz_becomes(admin, 200, Duration::from_secs(5)).await;
    let etag = fetch(addr, "HEAD", "/a.bin", &[]).await;
    let etag = etag.header("etag").expect("etag").to_owned();
    type Ask<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], u16);
    let asks: &[Ask] = &[
        ("GET", "/a.bin", &[], 200),
        ("GET", "/a.bin?x=1", &[], 200),
        ("GET", "/a.bin", &[("range", "bytes=0-99")], 206),
        ("GET", "/a.bin", &[("range", "bytes=0-9,100-109")], 206),
        ("HEAD", "/a.bin", &[], 200),
        ("GET", "/a.bin", &[("if-none-match", etag.as_str())], 304),
        ("GET", "/missing.bin", &[], 404),
        ("DELETE", "/a.bin", &[], 405),
    ];
    let mut body_bytes = 0;
    for (method, path, headers, status) in asks {
        let got = fetch(addr, method, path, headers).await;
        assert_eq!(got.status, *status, "{method} {path} {headers:?}");
        body_bytes += got.bytes().len() as u64;
    }
    let lines = server.log.wait_for(1 + asks.len());
    let logged: u64 = lines
        .iter()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["bytes"]
                .as_u64()
                .expect("bytes")
        })
        .sum();
    assert_eq!(logged, body_bytes, "the log's bytes are the bytes received");
    assert!(
        lines.iter().all(|l| !l.contains("x=1")),
        "no query in the log"
    );

    let text = scrape(admin).await;
    promtool_accepts(&text);
    let m = samples(&text);
    let count = |kind: &str, class: &str| {
        m[&format!("imgorigin_requests_total{{kind=\"{kind}\",status_class=\"{class}\"}}")]
    };
    assert_eq!(count("object", "2xx"), 2.0);
    assert_eq!(count("object", "4xx"), 1.0);
    assert_eq!(count("range", "2xx"), 1.0);
    assert_eq!(count("multirange", "2xx"), 1.0);
    assert_eq!(count("head", "2xx"), 2.0, "the ETag HEAD and the asked one");
    assert_eq!(count("conditional", "3xx"), 1.0);
    assert_eq!(count("other", "4xx"), 1.0);
    let total: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("imgorigin_requests_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(
        total, 9.0,
        "every request counted once, admin requests not at all"
    );
    let bytes: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("imgorigin_response_body_bytes_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(bytes as u64, body_bytes);
    assert_eq!(
        m["imgorigin_request_duration_seconds_count{kind=\"object\"}"],
        3.0
    );
    assert!(m["imgorigin_store_calls_total"] >= 8.0);
    assert_eq!(m["imgorigin_requests_in_flight"], 0.0);
    println!("{len}-byte object: 9 requests, {body_bytes} body bytes, metrics agree");

    backend.kill();
    let (why, took) = readyz_becomes(admin, 503, Duration::from_secs(20)).await;
    assert_eq!(why, "not ready: store not answering\n");
    println!("S3 down: /readyz 503 after {took:.1?}");
    assert_eq!(fetch(admin, "GET", "/healthz", &[]).await.status, 200);
    backend.restart();
    let (_, took) = readyz_becomes(admin, 200, Duration::from_secs(20)).await;
    println!("S3 back: /readyz 200 after {took:.1?}");
}

/// A response in flight keeps the process draining after SIGTERM: `/readyz` says so while
/// `/healthz` stays 200, and the gauge of requests in flight shows it.
#[tokio::test(flavor = "multi_thread")]
async fn readyz_fails_while_draining() {
    use http_body_util::BodyExt;
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("big.bin"), pattern(64 << 20, 2)).expect("write");
    let args = [
        "--root",
        &dir.path().display().to_string(),
        "--admin-listen",
        "127.0.0.1:0",
        "--drain-timeout",
        "30",
    ]
    .map(String::from);
    let mut server = Imgorigin::start(&args);
    let admin = server.admin.expect("admin");
    readyz_becomes(admin, 200, Duration::from_secs(5)).await;
    // A client that takes the head and a first frame, then stops reading.
    let response = common::client::send(server.addr, "GET", "/big.bin", &[]).await;
    let mut body = response.into_body();
    let _ = body.frame().await;
    let m = samples(&scrape(admin).await);
    assert_eq!(m["imgorigin_requests_in_flight"], 1.0);
    server.signal("TERM");
    let (why, took) = readyz_becomes(admin, 503, Duration::from_secs(5)).await;
    assert_eq!(why, "not ready: draining\n");
    println!("SIGTERM: /readyz 503 draining after {took:.1?}");
    assert_eq!(fetch(admin, "GET", "/healthz", &[]).await.status, 200);
    assert!(server.try_wait().is_none(), "still draining");
    drop(body);
    let status = server.terminate_wait();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn access_log_is_text_by_default_and_can_be_turned_off() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("a.txt"), b"hello").expect("write");
    let root = dir.path().display().to_string();
    let server = Imgorigin::start(&["--root".into(), root.clone()]);
    let got = fetch(
        server.addr,
        "GET",
        "/a.txt?sig=s3cr3t",
        &[("range", "bytes=1-2")],
    )
    .await;
    assert_eq!(got.bytes(), b"el");
    let line = server.log.wait_for(1).remove(0);
    let parts: Vec<&str> = line.split(' ').collect();
    assert!(parts[0].ends_with('Z') && parts[0].contains('T'), "{line}");
    assert_eq!(
        &parts[2..7],
        ["GET", "/a.txt", "206", "bytes=2", "complete"],
        "{line}"
    );
    assert!(
        line.contains(" kind=range range=\"bytes=1-2\" served=\"bytes 1-2/5\""),
        "{line}"
    );
    assert!(!line.contains("s3cr3t"), "{line}");

    let quiet = Imgorigin::start(&["--root".into(), root, "--access-log".into(), "off".into()]);
    assert_eq!(fetch(quiet.addr, "GET", "/a.txt", &[]).await.status, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(quiet.log.lines().is_empty(), "{:?}", quiet.log.lines());
}
