//! The Lambda path at the Runtime API wire level: a fake Runtime API (tests/common/runtime_api.rs)
//! feeds Function URL events to the real `imgorigin` binary (no subcommand, as Lambda's
//! bootstrap runs it) and records exactly what it posts back.
//!
//! Both invoke modes: 200, 206, 416, 304, HEAD, 404, a large object (hash), the body budget
//! (stream: 190 MiB; buffered: 4 MiB, JSON under 6 MB), an S3 server restarted mid-stream
//! (resumed) and killed mid-stream (stream: the POST breaks off after a correct prefix, nothing
//! appended; buffered: a clean 502), the function's deadline reached mid-stream (cut off a
//! second early; buffered: a 504 posted in time), an unusable event (posted to /error). Also:
//! init makes no network call to S3, and the init time (process start to first `next`) is
//! printed.

mod common;

use base64::Engine;
use common::procs::{Kind, BUCKET};
use common::proxy::CountingProxy;
use common::runtime_api::{event, FakeRuntimeApi, Post};
use common::{pattern, pattern_sha256, sha256, Backend};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const MIB: u64 = 1024 * 1024;

struct Lambda {
    child: Child,
    spawned: Instant,
}

impl Drop for Lambda {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_lambda(api: &FakeRuntimeApi, mode: &str, endpoint: &str) -> Lambda {
    let mut cmd = common::procs::imgorigin_command();
    cmd.env("AWS_LAMBDA_RUNTIME_API", api.host_port())
        .env("IMGORIGIN_INVOKE_MODE", mode)
        .env("IMGORIGIN_BUCKET", BUCKET)
        .env("IMGORIGIN_ENDPOINT", endpoint)
        .stdout(Stdio::null());
    let spawned = Instant::now();
    Lambda {
        child: cmd.spawn().expect("start imgorigin"),
        spawned,
    }
}

struct World {
    backend: Backend,
    proxy: CountingProxy,
    photo: Vec<u8>,
    big_sha: String,
}

const BIG: u64 = 64 * MIB;
const HUGE: u64 = 191 * MIB;

async fn world() -> World {
    let backend = Backend::start(Kind::S3sFs).await;
    let photo = pattern(200 * 1024 + 17, 1);
    backend
        .put("photo.jpg", photo.clone(), "image/jpeg", None)
        .await;
    let big_sha = backend.put_pattern("big.bin", BIG, 31).await;
    backend.put_pattern("huge.bin", HUGE, 32).await;
    let proxy = CountingProxy::start(backend.port).await;
    World {
        backend,
        proxy,
        photo,
        big_sha,
    }
}

fn header<'a>(json: &'a serde_json::Value, name: &str) -> Option<&'a str> {
    json["headers"][name].as_str()
}

fn assert_single_valued(json: &serde_json::Value) {
    for (name, value) in json["headers"].as_object().expect("headers object") {
        assert!(
            value.is_string(),
            "header {name} is not a single string: {value}"
        );
    }
    assert!(json["cookies"].is_array());
}

/// Checks a streamed answer: wire headers, a clean end without trailers, the prelude status.
fn streamed(post: &Post, status: u64) -> (serde_json::Value, Vec<u8>) {
    assert_eq!(
        post.headers["lambda-runtime-function-response-mode"],
        "streaming"
    );
    assert_eq!(
        post.headers["content-type"],
        "application/vnd.awslambda.http-integration-response"
    );
    let (prelude, payload) = post.prelude_and_payload();
    assert_eq!(prelude["statusCode"], status, "prelude {prelude}");
    assert_single_valued(&prelude);
    (prelude, payload.to_vec())
}

fn clean(post: &Post) {
    assert_eq!(post.ended, Ok(()));
    assert!(
        post.trailers.as_ref().is_none_or(|t| t.is_empty()),
        "unexpected trailers {:?}",
        post.trailers
    );
}

/// Checks a buffered answer: JSON under the 6 MB payload limit, base64 body.
fn buffered(post: &Post, status: u64) -> (serde_json::Value, Vec<u8>) {
    assert!(
        post.body.len() < 6 * 1024 * 1024,
        "buffered payload of {} bytes",
        post.body.len()
    );
    assert!(post
        .headers
        .get("lambda-runtime-function-response-mode")
        .is_none());
    let json = post.json();
    assert_eq!(
        json["statusCode"],
        status,
        "response {}",
        String::from_utf8_lossy(&post.body[..post.body.len().min(400)])
    );
    assert_single_valued(&json);
    assert_eq!(json["isBase64Encoded"], true);
    let body = base64::engine::general_purpose::STANDARD
        .decode(json["body"].as_str().expect("body"))
        .expect("base64");
    (json, body)
}

#[tokio::test(flavor = "multi_thread")]
async fn stream_mode_contract() {
    let mut w = world().await;
    let mut api = FakeRuntimeApi::start().await;
    let endpoint = format!("http://127.0.0.1:{}", w.proxy.port);
    let lambda = start_lambda(&api, "stream", &endpoint);
    let p = &w.photo;

    let post = api.invoke(event("GET", "/photo.jpg", &[])).await;
    let init = api.first_next().expect("asked for an event") - lambda.spawned;
    println!(
        "init time (process start to first next): {} ms",
        init.as_millis()
    );
    assert_eq!(
        w.proxy.requests(),
        1,
        "init made no S3 call; the first GET made one"
    );
    clean(&post);
    let (prelude, payload) = streamed(&post, 200);
    assert_eq!(
        header(&prelude, "content-length"),
        Some(p.len().to_string().as_str())
    );
    assert_eq!(header(&prelude, "content-type"), Some("image/jpeg"));
    assert!(header(&prelude, "etag").is_some());
    assert_eq!(sha256(&payload), sha256(p));
    let etag = header(&prelude, "etag").expect("etag").to_owned();

    let post = api
        .invoke(event("GET", "/photo.jpg", &[("range", "bytes=100-199")]))
        .await;
    clean(&post);
    let (prelude, payload) = streamed(&post, 206);
    assert_eq!(
        header(&prelude, "content-range"),
        Some(format!("bytes 100-199/{}", p.len()).as_str())
    );
    assert_eq!(payload, &p[100..200]);

    for (method, headers, status) in [
        ("GET", vec![("range", "bytes=999999-")], 416),
        ("GET", vec![("if-none-match", etag.as_str())], 304),
        ("GET", vec![("if-match", "\"other\"")], 412),
        ("HEAD", vec![], 200),
    ] {
        let post = api.invoke(event(method, "/photo.jpg", &headers)).await;
        clean(&post);
        let (prelude, payload) = streamed(&post, status);
        assert!(
            payload.is_empty(),
            "{method} {headers:?}: empty body, closed at once"
        );
        if method == "HEAD" {
            assert_eq!(
                header(&prelude, "content-length"),
                Some(p.len().to_string().as_str())
            );
        }
    }
    let post = api.invoke(event("GET", "/missing.jpg", &[])).await;
    let (prelude, payload) = streamed(&post, 404);
    assert_eq!(
        header(&prelude, "cache-control"),
        Some("public, max-age=60")
    );
    assert_eq!(payload, b"not found\n");

    let post = api.invoke(event("GET", "/big.bin", &[])).await;
    clean(&post);
    let (_, payload) = streamed(&post, 200);
    assert_eq!(sha256(&payload), w.big_sha, "64 MiB streamed exactly");

    // Over the streaming budget: a range gets its first 190 MiB, a whole GET a clear 501.
    let post = api
        .invoke(event("GET", "/huge.bin", &[("range", "bytes=0-")]))
        .await;
    clean(&post);
    let (prelude, payload) = streamed(&post, 206);
    let last = 190 * MIB - 1;
    assert_eq!(
        header(&prelude, "content-range"),
        Some(format!("bytes 0-{last}/{HUGE}").as_str())
    );
    assert_eq!(payload.len() as u64, 190 * MIB);
    assert_eq!(sha256(&payload), pattern_sha256(190 * MIB, 32));
    let post = api.invoke(event("GET", "/huge.bin", &[])).await;
    let (_, payload) = streamed(&post, 501);
    assert!(String::from_utf8_lossy(&payload).contains("byte ranges"));

    let post = api
        .invoke(b"{\"not\": \"a function url event\"}".to_vec())
        .await;
    assert!(
        post.path.ends_with("/error"),
        "unusable event reported as an invocation error"
    );

    // S3 restarted mid-stream: resumed, exact bytes, clean end.
    api.throttle(32 * MIB);
    let bytes = stream_while(&mut api, &mut w.backend, Backend::restart).await;
    clean(&bytes);
    let (_, payload) = streamed(&bytes, 200);
    assert_eq!(sha256(&payload), w.big_sha);

    // The function's deadline comes first: 3 s for a 64 MiB stream read at 8 MiB/s (8 s from
    // a healthy S3). The body breaks off a second before it (no terminating chunk), after a
    // correct prefix. (The time printed includes this fake draining what was in flight.)
    api.set_timeout(Duration::from_secs(3));
    api.throttle(8 * MIB);
    let asked = Instant::now();
    let post = api.invoke(event("GET", "/big.bin", &[])).await;
    println!(
        "deadline 3 s: {} of {BIG} bytes, POST over after {:?}",
        post.body.len(),
        asked.elapsed()
    );
    assert_cut_off(&post, "deadline");
    api.set_timeout(Duration::from_secs(900));
    api.throttle(32 * MIB);

    // S3 killed mid-stream: the body breaks off after a correct prefix of the object and
    // nothing else, and the function goes on to the next event.
    let post = stream_while(&mut api, &mut w.backend, Backend::kill).await;
    assert_cut_off(&post, "S3 killed");
    w.backend.restart();
    let post = api.invoke(event("GET", "/photo.jpg", &[])).await;
    clean(&post);
    assert_eq!(sha256(&streamed(&post, 200).1), sha256(p));
    drop(lambda);
}

/// A streamed answer of big.bin cut off on purpose: a correct prefix, no error text, no
/// trailers, and the POST's body broken off (the Runtime API's truncated response) rather
/// than ended.
fn assert_cut_off(post: &Post, what: &str) {
    let (_, payload) = streamed(post, 200);
    assert!((payload.len() as u64) < BIG, "{what}: cut short");
    assert_eq!(
        sha256(&payload),
        pattern_sha256(payload.len() as u64, 31),
        "{what}: payload is a correct prefix, nothing appended"
    );
    assert!(post.ended.is_err(), "{what}: the POST must break off");
    assert!(post.trailers.is_none(), "{what}: no trailers");
}

/// Invokes a GET of big.bin and calls `disrupt` once 8 MiB of the answer have arrived.
async fn stream_while(
    api: &mut FakeRuntimeApi,
    backend: &mut Backend,
    disrupt: fn(&mut Backend),
) -> Post {
    let payload = event("GET", "/big.bin", &[]);
    let progress = api.progress();
    let invoke = api.invoke(payload);
    tokio::pin!(invoke);
    let mut disrupted = false;
    loop {
        tokio::select! {
            post = &mut invoke => return post,
            () = tokio::time::sleep(Duration::from_millis(5)), if !disrupted => {}
        }
        if !disrupted && progress.load(std::sync::atomic::Ordering::SeqCst) >= 8 * MIB {
            disrupt(backend);
            disrupted = true;
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn buffered_mode_contract() {
    let mut w = world().await;
    let mut api = FakeRuntimeApi::start().await;
    let endpoint = format!("http://127.0.0.1:{}", w.proxy.port);
    let _lambda = start_lambda(&api, "buffered", &endpoint);
    let p = &w.photo;

    let post = api.invoke(event("GET", "/photo.jpg", &[])).await;
    let (json, body) = buffered(&post, 200);
    assert_eq!(body, *p);
    assert_eq!(
        header(&json, "content-length"),
        Some(p.len().to_string().as_str())
    );
    let etag = header(&json, "etag").expect("etag").to_owned();

    let post = api
        .invoke(event("GET", "/photo.jpg", &[("range", "bytes=-50")]))
        .await;
    let (json, body) = buffered(&post, 206);
    assert_eq!(
        header(&json, "content-range"),
        Some(format!("bytes {}-{}/{}", p.len() - 50, p.len() - 1, p.len()).as_str())
    );
    assert_eq!(body, &p[p.len() - 50..]);

    for (method, headers, status) in [
        ("GET", vec![("range", "bytes=999999-")], 416),
        ("GET", vec![("if-none-match", etag.as_str())], 304),
        ("HEAD", vec![], 200),
        ("GET", vec![("if-match", "\"other\"")], 412),
    ] {
        let post = api.invoke(event(method, "/photo.jpg", &headers)).await;
        let (_, body) = buffered(&post, status);
        assert!(body.is_empty(), "{method} {headers:?}");
    }
    let post = api.invoke(event("GET", "/missing.jpg", &[])).await;
    assert_eq!(buffered(&post, 404).1, b"not found\n");

    // The 4 MiB budget: ranges are cut to it (Content-Range says so), whole objects refused.
    let post = api
        .invoke(event("GET", "/big.bin", &[("range", "bytes=1000-")]))
        .await;
    let (json, body) = buffered(&post, 206);
    let last = 1000 + 4 * MIB - 1;
    assert_eq!(
        header(&json, "content-range"),
        Some(format!("bytes 1000-{last}/{BIG}").as_str())
    );
    assert_eq!(body.len() as u64, 4 * MIB);
    assert_eq!(body, pattern(1000 + 4 * MIB as usize, 31)[1000..]);
    let post = api.invoke(event("GET", "/big.bin", &[])).await;
    assert_eq!(
        buffered(&post, 501).0["headers"]["cache-control"],
        "no-store"
    );

    // S3 gone: nothing partial can be sent in buffered mode, the answer is a plain 502.
    w.backend.kill();
    let post = api
        .invoke(event("GET", "/photo.jpg", &[("range", "bytes=0-10")]))
        .await;
    assert_eq!(buffered(&post, 502).1, b"storage error\n");
}

/// Several ranges in buffered mode: 206 multipart/byteranges within the 4 MiB budget. Three
/// 1.5 MiB ranges make a 4.5 MiB answer: the first two parts are sent whole and the third is
/// left for the client to ask again (RFC 9110 §15.3.7: a 206 may carry a subset of the ranges
/// asked, and says which in each part). One part over the budget: a plain 206, cut.
#[tokio::test(flavor = "multi_thread")]
async fn buffered_mode_multipart_within_budget() {
    const LEN: u64 = 12 * MIB;
    let backend = Backend::start(Kind::S3sFs).await;
    let object = pattern(LEN as usize, 8);
    backend
        .put("big.tif", object.clone(), "image/tiff", None)
        .await;
    let mut api = FakeRuntimeApi::start().await;
    let _lambda = start_lambda(&api, "buffered", &backend.endpoint());
    let part = |first: u64, last: u64| {
        let bytes = object[first as usize..=last as usize].to_vec();
        (format!("bytes {first}-{last}/{LEN}"), bytes)
    };
    let span = |i: u64| (i * 4 * MIB, i * 4 * MIB + 3 * MIB / 2 - 1);
    let three: Vec<String> = (0..3)
        .map(|i| format!("{}-{}", span(i).0, span(i).1))
        .collect();
    type Parts = Vec<(String, Vec<u8>)>;
    let cases: [(String, Parts); 2] = [
        (
            format!("bytes={}", three.join(",")),
            vec![part(span(0).0, span(0).1), part(span(1).0, span(1).1)],
        ),
        (
            "bytes=5000000-5000099,0-99,-100".to_owned(),
            vec![
                part(5_000_000, 5_000_099),
                part(0, 99),
                part(LEN - 100, LEN - 1),
            ],
        ),
    ];
    for (range, want) in cases {
        let post = api
            .invoke(event("GET", "/big.tif", &[("range", &range)]))
            .await;
        let (json, body) = buffered(&post, 206);
        let problems =
            common::multipart::problems(header(&json, "content-type"), "image/tiff", &body, &want);
        assert!(problems.is_empty(), "{range}: {problems:?}");
        let length = body.len().to_string();
        assert_eq!(header(&json, "content-length"), Some(length.as_str()));
    }
    let range = format!("bytes=0-{},{}-", 5 * MIB - 1, 8 * MIB);
    let post = api
        .invoke(event("GET", "/big.tif", &[("range", &range)]))
        .await;
    let (json, body) = buffered(&post, 206);
    let (content_range, bytes) = part(0, 4 * MIB - 1);
    assert_eq!(header(&json, "content-range"), Some(content_range.as_str()));
    assert_eq!(sha256(&body), sha256(&bytes));
}

/// The function's deadline in buffered mode: S3 stalls mid-body (every read, resumes too), so
/// the answer cannot be collected; a 504 is posted a second before the deadline, never
/// nothing (Lambda would end the invocation with no answer of ours). The next event is served.
#[tokio::test(flavor = "multi_thread")]
async fn buffered_deadline_is_a_504_in_time() {
    use common::fake_s3::{FakeS3, Fault};
    let fake = FakeS3::start();
    let object = pattern(1024 * 1024, 5);
    fake.put("a.bin", object.clone(), "application/octet-stream");
    fake.put("b.bin", object.clone(), "application/octet-stream");
    fake.script(|req, _| match (req.method.as_str(), req.key.as_deref()) {
        ("GET", Some("a.bin")) => Fault::StallAfter(100_000).into(),
        _ => Default::default(),
    });
    let mut api = FakeRuntimeApi::start().await;
    api.set_timeout(Duration::from_secs(4));
    let _lambda = start_lambda(&api, "buffered", &fake.endpoint());
    let asked = Instant::now();
    let post = api.invoke(event("GET", "/a.bin", &[])).await;
    let took = asked.elapsed();
    println!("buffered deadline 4 s: 504 posted after {took:?}");
    let (json, body) = buffered(&post, 504);
    assert_eq!(body, b"storage too slow\n");
    assert_eq!(json["headers"]["cache-control"], "no-store");
    assert!(
        took < Duration::from_millis(3500),
        "posted {took:?} after the event, past the 1 s margin before the 4 s deadline"
    );
    api.set_timeout(Duration::from_secs(900));
    let post = api.invoke(event("GET", "/b.bin", &[])).await;
    assert_eq!(sha256(&buffered(&post, 200).1), sha256(&object));
}

/// An in-process runtime over the fault-injecting memory store, holding a 3 MiB object.
async fn memory_lambda(failing_reads: u64) -> FakeRuntimeApi {
    use imgorigin::store::{MemoryStore, Store};
    let store = MemoryStore::new(64 * 1024);
    store.put("a.bin", pattern(3 * MIB as usize, 3), None);
    store.fail_next_reads(failing_reads, MIB);
    let api = FakeRuntimeApi::start().await;
    let store = std::sync::Arc::new(store) as std::sync::Arc<dyn Store>;
    let origin = imgorigin::Origin::new(store, imgorigin::Config::default());
    let host = api.host_port();
    let mode = imgorigin::lambda::InvokeMode::Buffered;
    tokio::spawn(async move { imgorigin::lambda::run(&host, origin, mode, Instant::now()).await });
    api
}

/// A store failure in the middle of a buffered body that cannot be resumed: the answer is a
/// clean 502, never a partial body.
#[tokio::test(flavor = "multi_thread")]
async fn buffered_mid_body_failure_is_a_clean_502() {
    let mut api = memory_lambda(100).await;
    let post = api.invoke(event("GET", "/a.bin", &[])).await;
    let (json, body) = buffered(&post, 502);
    assert_eq!(body, b"storage error\n");
    assert_eq!(json["headers"]["cache-control"], "no-store");
}

/// A store failure in the middle of a buffered body that the resume recovers: exact bytes.
#[tokio::test(flavor = "multi_thread")]
async fn buffered_mid_body_failure_is_resumed() {
    let mut api = memory_lambda(2).await;
    let post = api.invoke(event("GET", "/a.bin", &[])).await;
    let (_, body) = buffered(&post, 200);
    assert_eq!(sha256(&body), sha256(&pattern(3 * MIB as usize, 3)));
}
