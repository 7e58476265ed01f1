//! Streaming behaviour through the real hyper server over TCP, with the fault-injecting
//! in-memory store:
//! - a store failure mid-stream is resumed transparently (exact bytes, more reads);
//! - when resuming fails, the client sees an aborted transfer (never a clean short body, never
//!   foreign bytes), also when the object changes between reads;
//! - a client that disconnects ends the store read promptly;
//! - HEAD and 304 read no object bytes;
//! - without CORS, 405 allows only GET and HEAD.

mod common;

use common::{fetch, pattern, sha256};
use imgorigin::store::{MemoryStore, Store};
use imgorigin::{server, Config, Origin};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const LEN: usize = 4 * 1024 * 1024;

async fn start(store: MemoryStore) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let origin = Origin::new(Arc::new(store) as Arc<dyn Store>, Config::default());
    let settings = server::Settings {
        drain: Duration::from_secs(1),
        ..server::Settings::default()
    };
    tokio::spawn(server::run(
        listener,
        origin,
        std::future::pending(),
        settings,
    ));
    addr
}

fn store_with_object() -> (MemoryStore, Vec<u8>) {
    let store = MemoryStore::new(64 * 1024);
    let bytes = pattern(LEN, 7);
    store.put("obj.bin", bytes.clone(), None);
    (store, bytes)
}

#[tokio::test(flavor = "multi_thread")]
async fn mid_stream_failure_is_resumed_with_exact_bytes() {
    let (store, bytes) = store_with_object();
    store.fail_next_reads(2, 1_000_000);
    let addr = start(store.clone()).await;
    let got = fetch(addr, "GET", "/obj.bin", &[]).await;
    assert_eq!(got.status, 200);
    let body = got.body.expect("complete body");
    assert_eq!(sha256(&body), sha256(&bytes));
    assert_eq!(store.reads(), 3, "first read and two resumes");
}

#[tokio::test(flavor = "multi_thread")]
async fn resumed_range_keeps_exact_bytes() {
    let (store, bytes) = store_with_object();
    store.fail_next_reads(1, 300_000);
    let addr = start(store.clone()).await;
    let got = fetch(addr, "GET", "/obj.bin", &[("range", "bytes=1000-999999")]).await;
    assert_eq!(got.status, 206);
    assert_eq!(
        sha256(&got.body.expect("complete body")),
        sha256(&bytes[1000..1_000_000])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unrecoverable_failure_aborts_the_transfer() {
    let (store, bytes) = store_with_object();
    store.fail_next_reads(100, 1_000_000);
    let addr = start(store.clone()).await;
    let got = fetch(addr, "GET", "/obj.bin", &[]).await;
    assert_eq!(got.status, 200, "headers were already sent");
    assert_eq!(got.header("content-length"), Some(LEN.to_string().as_str()));
    assert!(
        got.body.is_err(),
        "the transfer must be aborted, not end cleanly"
    );
    let received = got.bytes();
    assert_eq!(
        received.len(),
        1_000_000,
        "everything before the failure, nothing after"
    );
    assert!(
        received == &bytes[..received.len()],
        "only bytes of the object, in order"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn object_replaced_mid_stream_aborts() {
    let (store, bytes) = store_with_object();
    store.fail_next_reads(1, 500_000);
    let addr = start(store.clone()).await;
    let replacer = store.clone();
    // Replace the object once the first read has started: that read keeps the old version
    // and fails at 500,000; the resume (100 ms later) then finds another version.
    let task = tokio::spawn(async move { fetch(addr, "GET", "/obj.bin", &[]).await });
    while store.reads() == 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    replacer.put("obj.bin", pattern(LEN, 8), None);
    let got = task.await.expect("join");
    assert!(
        got.body.is_err(),
        "a resume must not splice another version"
    );
    let received = got.bytes();
    assert_eq!(received.len(), 500_000);
    assert!(received == &bytes[..received.len()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_disconnect_ends_the_store_read() {
    let store = MemoryStore::new(16 * 1024);
    store.put("big.bin", pattern(64 * 1024 * 1024, 9), None);
    let live = store.streams();
    let addr = start(store.clone()).await;
    let mut conn = tokio::net::TcpStream::connect(addr).await.expect("connect");
    conn.write_all(b"GET /big.bin HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("send");
    let mut buf = vec![0u8; 256 * 1024];
    let n = conn.read(&mut buf).await.expect("read");
    assert!(n > 0);
    assert_eq!(
        live.live(),
        1,
        "one read in flight while the client is connected"
    );
    drop(conn);
    let deadline = Instant::now() + Duration::from_secs(2);
    while live.live() != 0 {
        assert!(
            Instant::now() < deadline,
            "store stream still open 2 s after the client left"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn head_and_not_modified_read_no_bytes() {
    let (store, _) = store_with_object();
    let addr = start(store.clone()).await;
    let head = fetch(addr, "HEAD", "/obj.bin", &[]).await;
    assert_eq!(head.status, 200);
    assert_eq!(
        head.header("content-length"),
        Some(LEN.to_string().as_str())
    );
    let etag = head.header("etag").expect("etag").to_owned();
    let nm = fetch(addr, "GET", "/obj.bin", &[("if-none-match", &etag)]).await;
    assert_eq!(nm.status, 304);
    assert_eq!(store.reads(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_cors_options_gets_allow_and_no_grant() {
    let (store, _) = store_with_object();
    let addr = start(store).await;
    let got = fetch(
        addr,
        "OPTIONS",
        "/obj.bin",
        &[("origin", "https://a.example")],
    )
    .await;
    assert_eq!(got.status, 204);
    assert_eq!(got.header("allow"), Some("GET, HEAD, OPTIONS"));
    assert_eq!(got.header("access-control-allow-origin"), None);
}
