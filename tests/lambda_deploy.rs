//! The stream function as CloudFront meets it, through `cargo lambda watch` and a real HTTP
//! client (curl): a stream that fails after its first bytes must reach the client as an
//! incomplete transfer (curl exit 18 or a reset), never as a clean end a cache would keep; a
//! bodyless streamed answer (HEAD, 304) must end at once, not hang until a timeout; the key
//! spelling the CloudFront Function uses for keys with spaces or `+` (`/~/` + base64url)
//! reaches the object.
//!
//! The Runtime API wire of the same cases is in tests/lambda_contract.rs.

mod common;

use common::fake_s3::{FakeS3, Fault, Plan};
use common::lambda_watch::{LambdaWatch, LAMBDA_URL_PREFIX};
use common::procs::BUCKET;
use common::{pattern, sha256};
use std::process::Command;
use std::time::{Duration, Instant};

const MIB: usize = 1024 * 1024;

/// What curl saw of one request.
struct Curl {
    /// curl's exit code: 0 a complete transfer, 18 a partial one, 56 a receive failure.
    exit: i32,
    status: String,
    body: Vec<u8>,
    took: Duration,
}

/// `curl` against the emulated Function URL, with a hard limit so that a hang fails the test
/// rather than the run.
fn curl(watch: &LambdaWatch, path: &str, extra: &[&str]) -> Curl {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("body");
    let url = format!("http://{}{LAMBDA_URL_PREFIX}{path}", watch.addr);
    let start = Instant::now();
    let run = Command::new("curl")
        .args(["-s", "--max-time", "60", "-o"])
        .arg(&out)
        .args(["-w", "%{http_code}"])
        .args(extra)
        .arg(&url)
        .output()
        .expect("run curl (apt-get install curl)");
    Curl {
        exit: run.status.code().unwrap_or(-1),
        status: String::from_utf8_lossy(&run.stdout).into_owned(),
        body: std::fs::read(&out).unwrap_or_default(),
        took: start.elapsed(),
    }
}

fn watch(fake: &FakeS3) -> LambdaWatch {
    LambdaWatch::start(&[
        ("IMGORIGIN_BUCKET", BUCKET.to_owned()),
        ("IMGORIGIN_ENDPOINT", fake.endpoint()),
        ("IMGORIGIN_STORE_TIMEOUT", "5".to_owned()),
        ("IMGORIGIN_INVOKE_MODE", "stream".to_owned()),
    ])
}

#[test]
fn a_stream_cut_off_mid_way_is_incomplete_for_the_client() {
    let fake = FakeS3::start();
    let object = pattern(32 * MIB, 7);
    fake.put("big.bin", object.clone(), "application/octet-stream");
    let small = pattern(1000, 8);
    fake.put("small.bin", small.clone(), "application/octet-stream");
    // Every read of big.bin breaks off: the first after 4 MiB, the resumes at once.
    fake.script(|req, _| match req.key.as_deref() {
        Some("big.bin") if req.method == "GET" => match req.header("range") {
            None => Fault::ResetAfter(4 * MIB).into(),
            Some(_) => Fault::ResetAfter(0).into(),
        },
        _ => Plan::default(),
    });
    let watch = watch(&fake);
    // Warm up: the function is ready and the emulator routes to it.
    let ok = curl(&watch, "/small.bin", &[]);
    assert_eq!((ok.exit, ok.status.as_str()), (0, "200"));

    let cut = curl(&watch, "/big.bin", &[]);
    println!(
        "cut-off stream: curl exit {}, status {}, {} of {} bytes, {:?}",
        cut.exit,
        cut.status,
        cut.body.len(),
        object.len(),
        cut.took
    );
    assert_eq!(cut.status, "200", "the head was already sent");
    assert!(
        cut.exit == 18 || cut.exit == 56,
        "curl must see an incomplete transfer, got exit {}",
        cut.exit
    );
    assert!(cut.body.len() < object.len());
    assert_eq!(
        sha256(&cut.body),
        sha256(&object[..cut.body.len()]),
        "what arrived is a prefix of the object, nothing appended"
    );

    // The function goes on serving.
    let after = curl(&watch, "/small.bin", &[]);
    assert_eq!((after.exit, after.status.as_str()), (0, "200"));
    assert_eq!(sha256(&after.body), sha256(&small));
}

#[test]
fn bodyless_streamed_answers_end_at_once() {
    let fake = FakeS3::start();
    let photo = pattern(300 * 1024, 9);
    let etag = fake.put("photo.jpg", photo, "image/jpeg");
    let watch = watch(&fake);
    let warm = curl(&watch, "/photo.jpg", &[]);
    assert_eq!((warm.exit, warm.status.as_str()), (0, "200"));
    let inm = format!("If-None-Match: {etag}");
    let cases: [(&str, &[&str], &str); 4] = [
        ("HEAD", &["-I"], "200"),
        ("If-None-Match", &["-H", &inm], "304"),
        ("If-Match mismatch", &["-H", "If-Match: \"other\""], "412"),
        (
            "unsatisfiable range",
            &["-H", "Range: bytes=999999999-"],
            "416",
        ),
    ];
    for (what, args, status) in cases {
        let got = curl(&watch, "/photo.jpg", args);
        println!("{what}: curl exit {}, {:?}", got.exit, got.took);
        assert_eq!((got.exit, got.status.as_str()), (0, status), "{what}");
        // A hang would end at curl's 60 s limit (exit 28); an answer ends in milliseconds.
        assert!(
            got.took < Duration::from_secs(10),
            "{what} took {:?}",
            got.took
        );
    }
}

#[test]
fn the_routers_key_spelling_reaches_the_object() {
    let fake = FakeS3::start();
    let bytes = pattern(5000, 10);
    fake.put("a b+c.jpg", bytes.clone(), "image/jpeg");
    let watch = watch(&fake);
    // base64url("a b+c.jpg"), as deploy/template.yaml's lambdaUri spells it.
    let got = curl(&watch, "/~/YSBiK2MuanBn", &[]);
    assert_eq!((got.exit, got.status.as_str()), (0, "200"));
    assert_eq!(sha256(&got.body), sha256(&bytes));
    let bad = curl(&watch, "/~/YSBiK2MuanBn==", &[]);
    assert_eq!(bad.status, "400");
}

// S3 answers the head, then fails before any body byte, on every attempt: nothing of the
// object was sent, so the viewer gets a complete, uncacheable 502 rather than a stream cut
// off before its first byte (which left curl without even a status line).
#[test]
fn a_store_failing_before_the_first_byte_is_a_clean_502() {
    let fake = FakeS3::start();
    fake.put("broken.bin", pattern(MIB, 11), "application/octet-stream");
    fake.script(|req, _| match (req.key.as_deref(), req.method.as_str()) {
        (Some("broken.bin"), "GET") => Fault::ResetAfter(0).into(),
        _ => Plan::default(),
    });
    let watch = watch(&fake);
    let got = curl(&watch, "/broken.bin", &[]);
    println!(
        "store failing at byte 0: curl exit {}, {:?}",
        got.exit, got.took
    );
    assert_eq!((got.exit, got.status.as_str()), (0, "502"));
    assert_eq!(got.body, b"storage error\n");
}
