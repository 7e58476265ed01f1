//! Faults of clients: many that never read what they asked for, more connections than the
//! server takes.

use crate::common::procs::{imgorigin_command, proc_status_kib, Kind};
use crate::common::{fetch, pattern, sha256, write_pattern_file, Backend, Imgorigin};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BIG: u64 = 8 << 20;
/// How far above the idle server's RSS memory may stay once the clients are gone.
const IDLE_SLACK_KIB: u64 = 8 * 1024;
const REQUEST: &[u8] = b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n";

/// Fails with a clear message while `serve` does not know `flag` (it would not start).
fn require_flag(flag: &str) {
    let out = imgorigin_command()
        .args(["serve", "--help"])
        .output()
        .expect("run imgorigin serve --help");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains(flag), "imgorigin serve has no {flag} flag");
}

/// A store with `big.bin` (8 MiB) and `small.bin` (1000 bytes, returned).
async fn store(kind: Kind) -> (Backend, Vec<u8>) {
    let backend = Backend::start(kind).await;
    write_pattern_file(&backend.put_file("big.bin"), BIG, 61);
    let small = pattern(1000, 62);
    backend
        .put("small.bin", small.clone(), "application/octet-stream", None)
        .await;
    (backend, small)
}

/// `n` connections that each ask for big.bin and never read.
async fn never_reading(addr: SocketAddr, n: usize) -> Vec<TcpStream> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut conn = TcpStream::connect(addr).await.expect("connect");
        conn.write_all(REQUEST).await.expect("send request");
        out.push(conn);
    }
    out
}

async fn never_reading_clients_leave_the_server_responsive_and_small(kind: Kind) {
    let (backend, small) = store(kind).await;
    let server = Imgorigin::start(&backend.serve_args());
    let warm = fetch(server.addr, "GET", "/small.bin", &[]).await;
    assert_eq!(warm.status, 200, "{kind:?}: warm-up");
    let idle = proc_status_kib(server.pid(), "VmRSS:");
    let stuck = never_reading(server.addr, 300).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let start = Instant::now();
    let got = tokio::time::timeout(
        Duration::from_secs(2),
        fetch(server.addr, "GET", "/small.bin", &[]),
    )
    .await
    .unwrap_or_else(|_| panic!("{kind:?}: no answer within 2 s with 300 clients not reading"));
    println!("{kind:?}: small GET in {:.2?}", start.elapsed());
    assert_eq!(got.status, 200, "{kind:?}");
    assert_eq!(sha256(got.body.as_ref().expect("complete")), sha256(&small));
    let peak = server.peak_rss_kib();
    println!("{kind:?}: peak RSS {peak} KiB with 300 clients not reading");
    assert!(
        peak <= 64 * 1024,
        "{kind:?}: peak RSS {peak} KiB with 300 clients not reading 8 MiB each, over 64 MiB"
    );
    drop(stuck);
    // Memory goes back once they are gone: RSS near the idle server's within 10 s.
    let back = idle + IDLE_SLACK_KIB;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut rss = proc_status_kib(server.pid(), "VmRSS:");
    while rss > back && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        rss = proc_status_kib(server.pid(), "VmRSS:");
    }
    println!("{kind:?}: RSS {rss} KiB after the clients left (idle {idle} KiB)");
    assert!(
        rss <= back,
        "{kind:?}: RSS {rss} KiB 10 s after the clients left, over idle {idle} + {IDLE_SLACK_KIB} KiB"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn never_reading_clients_leave_the_server_responsive_and_small_local() {
    never_reading_clients_leave_the_server_responsive_and_small(Kind::Local).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn never_reading_clients_leave_the_server_responsive_and_small_s3s_fs() {
    never_reading_clients_leave_the_server_responsive_and_small(Kind::S3sFs).await;
}

/// Reads until EOF or an error: (bytes read, how it ended), or `None` for the end when a read
/// waits over 2 s (the server still holds the connection).
async fn drain(conn: &mut TcpStream) -> (u64, Option<String>) {
    let mut buf = vec![0u8; 256 * 1024];
    let mut total = 0;
    loop {
        match tokio::time::timeout(Duration::from_secs(2), conn.read(&mut buf)).await {
            Err(_) => return (total, None),
            Ok(Ok(0)) => return (total, Some("EOF".into())),
            Ok(Ok(n)) => total += n as u64,
            Ok(Err(e)) => return (total, Some(e.to_string())),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn send_timeout_drops_connections_that_never_read() {
    require_flag("--send-timeout");
    let (backend, _) = store(Kind::Local).await;
    let mut args = backend.serve_args();
    args.extend(["--send-timeout".into(), "2".into()]);
    let server = Imgorigin::start(&args);
    let opened = Instant::now();
    let stuck = never_reading(server.addr, 20).await;
    tokio::time::sleep_until((opened + Duration::from_secs(10)).into()).await;
    for (i, mut conn) in stuck.into_iter().enumerate() {
        let (read, end) = drain(&mut conn).await;
        let end = end.unwrap_or_else(|| {
            panic!("connection {i}: still open 10 s after it stopped reading ({read} bytes)")
        });
        println!("connection {i}: {read} bytes, then {end}");
        assert!(
            read < BIG,
            "connection {i}: the whole object was sent ({read} bytes)"
        );
    }
}

/// Reads one answer head (and a Content-Length body) off `conn`: status, lower-cased headers.
async fn read_answer(conn: &mut TcpStream) -> (u16, Vec<(String, String)>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Response::new(&mut slots);
        if let httparse::Status::Complete(len) = parsed.parse(&buf).expect("an HTTP answer") {
            let headers: Vec<(String, String)> = parsed
                .headers
                .iter()
                .map(|h| {
                    let value = String::from_utf8_lossy(h.value).into_owned();
                    (h.name.to_ascii_lowercase(), value)
                })
                .collect();
            let status = parsed.code.expect("status");
            let length = headers.iter().find(|(n, _)| n == "content-length");
            let length: usize = length.map_or(0, |(_, v)| v.parse().expect("Content-Length"));
            while buf.len() < len + length {
                let n = conn.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "connection closed inside the body");
                buf.extend_from_slice(&chunk[..n]);
            }
            return (status, headers);
        }
        let n = conn.read(&mut chunk).await.expect("read head");
        assert!(n > 0, "connection closed before an answer head: {buf:?}");
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn max_connections_refuses_the_excess_with_503_then_recovers() {
    require_flag("--max-connections");
    let (backend, small) = store(Kind::Local).await;
    let mut args = backend.serve_args();
    args.extend(["--max-connections", "50", "--workers", "1"].map(String::from));
    let server = Imgorigin::start(&args);
    let request = b"GET /small.bin HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut held = Vec::new();
    for i in 0..50 {
        let mut conn = TcpStream::connect(server.addr).await.expect("connect");
        conn.write_all(request).await.expect("send");
        let (status, _) = read_answer(&mut conn).await;
        assert_eq!(status, 200, "connection {i} of the first 50");
        held.push(conn); // kept alive, idle
    }
    let start = Instant::now();
    let mut extra = TcpStream::connect(server.addr).await.expect("connect 51st");
    let _ = extra.write_all(request).await; // the server may answer before reading it
    let answer = tokio::time::timeout(Duration::from_secs(2), read_answer(&mut extra));
    let (status, headers) = answer
        .await
        .expect("the 51st connection: no answer within 2 s");
    println!("51st connection: {status} in {:.2?}", start.elapsed());
    assert_eq!(status, 503, "the 51st connection");
    let connection = headers.iter().find(|(n, _)| n == "connection");
    assert_eq!(
        connection.map(|(_, v)| v.to_ascii_lowercase()),
        Some("close".to_owned()),
        "the 503's Connection header"
    );
    drop(extra);
    drop(held);
    // Raw connections while the server notices the closes: its 503 can arrive before the
    // request is written, which an HTTP client library reports as an error, not a status.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut conn = TcpStream::connect(server.addr).await.expect("connect");
        let _ = conn.write_all(request).await;
        let (status, _) = read_answer(&mut conn).await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still {status} 5 s after the other connections closed"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = fetch(server.addr, "GET", "/small.bin", &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.bytes(), small.as_slice());
}
