//! The client against a scripted server on a real socket: framings S3-compatible servers
//! may use (RFC 9112 §6.3), connection reuse and its limits, cut and malformed answers, and
//! `never_panics` over arbitrary answer bytes.

use super::*;
use bytes::BytesMut;
use head::parse_head;
use http::{HeaderName, Response, StatusCode};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const GET: &[u8] = b"GET /b/k HTTP/1.1\r\nhost: x\r\n\r\n";
const HEAD: &[u8] = b"HEAD /b/k HTTP/1.1\r\nhost: x\r\n\r\n";

/// A server that answers the n-th request on any connection with `answers[n]` (the last one
/// repeats) and then, when `close_after` is set, closes that connection. Counts connections.
async fn script(answers: Vec<Vec<u8>>, close_after: bool) -> (Arc<Pool>, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    let served = Arc::new(AtomicUsize::new(0));
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let (answers, served) = (answers.clone(), Arc::clone(&served));
            tokio::spawn(async move {
                let mut buf = Vec::new();
                loop {
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        let mut chunk = [0; 1024];
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.clear();
                    let n = served.fetch_add(1, Ordering::SeqCst);
                    let answer = &answers[n.min(answers.len() - 1)];
                    if sock.write_all(answer).await.is_err() || close_after {
                        return;
                    }
                }
            });
        }
    });
    let uri = http::Uri::try_from(format!("http://127.0.0.1:{port}/b")).expect("uri");
    (
        Arc::new(Pool::new(&uri, None, keep).expect("pool")),
        accepted,
    )
}

/// The caller's list in these tests: ETag only.
fn keep(name: &str) -> Option<HeaderName> {
    name.eq_ignore_ascii_case("etag")
        .then_some(http::header::ETAG)
}

async fn drain(resp: Response<Body>) -> Result<Vec<u8>, Error> {
    let mut body = resp.into_body();
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        out.extend_from_slice(&chunk?);
    }
    Ok(out)
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[tokio::test]
async fn framings_deliver_exact_bytes() {
    let payload: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n".to_vec();
    for piece in payload.chunks(70_001) {
        chunked.extend_from_slice(format!("{:x};ext=1\r\n", piece.len()).as_bytes());
        chunked.extend_from_slice(piece);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\nx-trailer: 1\r\n\r\n");
    let mut length = format!(
        "HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n",
        payload.len()
    )
    .into_bytes();
    length.extend_from_slice(&payload);
    let mut until_close = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
    until_close.extend_from_slice(&payload);
    // (answer, closes after answering, reused)
    for (name, answer, close, reused) in [
        (
            "RFC 9112 §7.1 chunked, extensions, trailers",
            chunked,
            false,
            true,
        ),
        ("RFC 9112 §6.2 Content-Length", length, false, true),
        (
            "RFC 9112 §6.3 rule 8: until close",
            until_close,
            true,
            false,
        ),
    ] {
        let (pool, accepted) = script(vec![answer], close).await;
        for _ in 0..3 {
            let resp = pool.exchange(GET, false).await.expect(name);
            assert_eq!(resp.status(), StatusCode::OK, "{name}");
            assert_eq!(
                sha(&drain(resp).await.expect(name)),
                sha(&payload),
                "{name}"
            );
        }
        let want = if reused { 1 } else { 3 };
        assert_eq!(accepted.load(Ordering::SeqCst), want, "{name}: connections");
    }
}

// A fixed receive buffer (docs/s3.md "Socket receive buffer") is on every new connection
// (Linux reports twice the value set); without one the kernel's default, tcp_rmem's middle
// value, stays for autotuning to grow.
#[tokio::test]
async fn receive_buffer_is_fixed_on_new_connections() {
    let rmem = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_rmem").expect("tcp_rmem");
    let default: usize = rmem
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("default");
    let asked = if default == 65_536 { 16_384 } else { 32_768 };
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec();
    for (asked, reported) in [(Some(asked), asked * 2), (None, default)] {
        let (pool, _) = script(vec![answer.clone()], false).await;
        let pool = Arc::into_inner(pool).expect("sole owner");
        let pool = Arc::new(pool.with_receive_buffer(asked));
        let resp = pool.exchange(GET, false).await.expect("answer");
        assert_eq!(drain(resp).await.expect("body"), b"ok");
        assert_eq!(pool.idle_receive_buffers(), [reported], "asked {asked:?}");
    }
}

#[tokio::test]
async fn answers_without_body_free_the_connection_at_once() {
    // RFC 9112 §6.3 rules 1-2: HEAD, 204 and 304 have no body whatever the headers say.
    for (request, answer) in [
        (
            HEAD,
            &b"HTTP/1.1 200 OK\r\ncontent-length: 65536\r\netag: \"a\"\r\n\r\n"[..],
        ),
        (GET, b"HTTP/1.1 304 Not Modified\r\netag: \"a\"\r\n\r\n"),
        (GET, b"HTTP/1.1 204 No Content\r\n\r\n"),
        (
            GET,
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
        ),
    ] {
        let (pool, accepted) = script(vec![answer.to_vec()], false).await;
        for _ in 0..3 {
            let resp = pool
                .exchange(request, request == HEAD)
                .await
                .expect("answer");
            assert!(!resp.status().is_informational());
            assert!(drain(resp).await.expect("body").is_empty());
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 1, "{answer:?}");
    }
}

#[tokio::test]
async fn connections_the_server_closed_are_replaced() {
    // The server closes after each answer: the pooled connection is dead when reused, and
    // the request goes out again on a new one instead of failing.
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec();
    let (pool, accepted) = script(vec![answer], true).await;
    for _ in 0..3 {
        let resp = pool.exchange(GET, false).await.expect("answer");
        assert_eq!(drain(resp).await.expect("body"), b"ok");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    // `Connection: close` and HTTP/1.0 answers are never reused.
    for answer in [
        &b"HTTP/1.1 200 OK\r\nconnection: Close\r\ncontent-length: 2\r\n\r\nok"[..],
        b"HTTP/1.0 200 OK\r\ncontent-length: 2\r\n\r\nok",
    ] {
        let (pool, accepted) = script(vec![answer.to_vec()], false).await;
        for _ in 0..2 {
            let resp = pool.exchange(GET, false).await.expect("answer");
            assert_eq!(drain(resp).await.expect("body"), b"ok");
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "{answer:?}");
    }
}

#[tokio::test]
async fn cut_and_malformed_answers_are_errors() {
    let cases: [(&str, &[u8]); 7] = [
        (
            "body cut short",
            b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc",
        ),
        (
            "chunk cut short",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\na\r\nabc",
        ),
        (
            "no last chunk",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n",
        ),
        (
            "bad chunk size",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
        ),
        (
            "conflicting lengths",
            b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
        ),
        ("not HTTP", b"SSH-2.0-OpenSSH\r\n\r\n"),
        ("head cut short", b"HTTP/1.1 200 OK\r\ncontent-le"),
    ];
    for (name, answer) in cases {
        let (pool, _) = script(vec![answer.to_vec()], true).await;
        let result = match pool.exchange(GET, false).await {
            Ok(resp) => drain(resp).await.map(|_| ()),
            Err(e) => Err(e),
        };
        assert!(result.is_err(), "{name}: {result:?}");
    }
}

#[tokio::test]
async fn nothing_listening_is_unreachable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    drop(listener);
    let uri = http::Uri::try_from(format!("http://127.0.0.1:{port}/b")).expect("uri");
    let pool = Arc::new(Pool::new(&uri, None, keep).expect("pool"));
    match pool.exchange(GET, false).await {
        Err(e @ Error::Unreachable { .. }) => assert!(e.to_string().contains("unreachable")),
        other => panic!("{:?}", other.map(|r| r.status())),
    }
}

/// A reused connection's answer deadline starts again with each request: five prompt answers
/// spread over more than the timeout all arrive, on one connection.
#[tokio::test]
async fn answer_deadline_restarts_per_request() {
    let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n".to_vec();
    let (pool, accepted) = script(vec![answer], false).await;
    let pool = Arc::new(
        Arc::into_inner(pool)
            .expect("sole owner")
            .with_answer_timeout(TIMEOUT),
    );
    for _ in 0..5 {
        tokio::time::sleep(TIMEOUT / 2).await;
        let resp = pool.exchange(GET, false).await.expect("answer");
        assert_eq!(resp.status(), 200);
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

/// A server that takes the request and never answers: a timeout, and the connection is not
/// kept for the next request.
#[tokio::test]
async fn silent_server_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&accepted);
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut sock, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let mut chunk = [0; 1024];
            let _ = sock.read(&mut chunk).await;
            held.push(sock); // open, silent
        }
    });
    let uri = http::Uri::try_from(format!("http://127.0.0.1:{port}/b")).expect("uri");
    let pool = Arc::new(
        Pool::new(&uri, None, keep)
            .expect("pool")
            .with_answer_timeout(TIMEOUT),
    );
    for round in 1..=2 {
        let started = Instant::now();
        match pool.exchange(GET, false).await {
            Err(Error::AnswerTimeout(t)) => assert_eq!(t, TIMEOUT),
            other => panic!("{:?}", other.map(|r| r.status())),
        }
        let waited = started.elapsed();
        assert!(waited >= TIMEOUT && waited < TIMEOUT * 10, "{waited:?}");
        assert_eq!(accepted.load(Ordering::SeqCst), round);
    }
}

const TIMEOUT: Duration = Duration::from_millis(300);

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    /// Whatever a server sends, the client answers or errs; a body never exceeds the length
    /// the answer declared.
    #[test]
    fn never_panics(
        head in prop::sample::select(vec![
            "HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n",
            "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n",
            "HTTP/1.1 206 Partial Content\r\n\r\n",
            "",
        ]),
        tail in prop::collection::vec(any::<u8>(), 0..300),
        crlf in prop::collection::vec((0usize..300, any::<bool>()), 0..8),
    ) {
        let mut answer = head.as_bytes().to_vec();
        answer.extend_from_slice(&tail);
        for (at, chunk_end) in crlf {
            let at = at.min(answer.len());
            let insert: &[u8] = if chunk_end { b"\r\n0\r\n\r\n" } else { b"\r\n" };
            answer.splice(at..at, insert.iter().copied());
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(async {
            let (pool, _) = script(vec![answer], true).await;
            let result = tokio::time::timeout(Duration::from_secs(5), async {
                let resp = pool.exchange(GET, false).await?;
                let declared = resp.headers().get("content-length").cloned();
                let body = drain(resp).await?;
                if let Some(n) = declared.and_then(|v| v.to_str().ok()?.parse::<usize>().ok()) {
                    assert!(body.len() <= n);
                }
                Ok::<_, Error>(())
            })
            .await;
            assert!(result.is_ok(), "hung");
        });
    }
}

#[test]
fn head_parsing() {
    // (bytes, parsed?, keep-alive)
    let cases: [(&[u8], Option<bool>); 5] = [
        (b"HTTP/1.1 200 OK\r\netag: \"x\"\r\n\r\n", Some(true)),
        (
            b"HTTP/1.1 200 OK\r\nconnection: keep-alive, close\r\n\r\n",
            Some(false),
        ),
        (b"HTTP/1.0 200 OK\r\n\r\n", Some(false)),
        (b"HTTP/1.1 200 OK\r\netag: \"x\"\r\n", None),
        (b"", None),
    ];
    for (bytes, want) in cases {
        let mut buf = BytesMut::from(bytes);
        let got = parse_head(&mut buf, keep)
            .ok()
            .flatten()
            .map(|a| a.keep_alive);
        assert_eq!(got, want, "{:?}", String::from_utf8_lossy(bytes));
    }
    let mut buf = BytesMut::from(
        &b"HTTP/1.1 200 OK\r\nx-amz-meta-a: b\r\nETag: \"e\"\r\nServer: s\r\nContent-LENGTH: 4\r\n\r\nrest"[..],
    );
    let answer = parse_head(&mut buf, keep).ok().flatten().expect("complete");
    // Kept: what the caller reads and the framing fields, whatever the case of their
    // names; the rest is not.
    assert_eq!(answer.headers["etag"], "\"e\"");
    assert_eq!(answer.headers["content-length"], "4");
    assert_eq!(answer.headers.len(), 2, "{:?}", answer.headers);
    assert_eq!(
        &buf[..],
        b"rest",
        "the body's first bytes stay in the buffer"
    );
}
