//! The Lambda runtime outlives a Runtime API connection that closes under it. The fake Runtime
//! API (tests/common/runtime_api.rs) closes each connection 50 ms after answering a POST on
//! it, while the runtime's next `GET .../next` waits on that pooled connection: the request
//! fails without an answer, as `cargo lambda watch` made it fail on a busy CI machine (the
//! process exited and every later request of the run hung). In both invoke modes every event
//! of a row must still be answered with the object's exact bytes, and the log must show that
//! `next` was asked again (so the fault really happened).

mod common;

use common::fake_s3::FakeS3;
use common::runtime_api::{event, FakeRuntimeApi};
use common::{pattern, sha256};
use std::process::Stdio;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn closed_connections_do_not_stop_the_runtime() {
    let fake = FakeS3::start();
    let object = pattern(300_000, 4);
    fake.put("a.bin", object.clone(), "application/octet-stream");
    let logs = tempfile::tempdir().expect("tempdir");
    for mode in ["stream", "buffered"] {
        let mut api = FakeRuntimeApi::start().await;
        api.close_after_posts();
        let log = logs.path().join(mode);
        let mut child = common::procs::imgorigin_command()
            .env("AWS_LAMBDA_RUNTIME_API", api.host_port())
            .env("IMGORIGIN_INVOKE_MODE", mode)
            .env("IMGORIGIN_BUCKET", common::procs::BUCKET)
            .env("IMGORIGIN_ENDPOINT", fake.endpoint())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log file"))
            .spawn()
            .expect("start imgorigin");
        for i in 0..4 {
            let post = api.invoke(event("GET", "/a.bin", &[])).await;
            let (json, body) = post.answer(mode);
            assert_eq!(json["statusCode"], 200, "{mode} event {i}");
            assert_eq!(sha256(&body), sha256(&object), "{mode} event {i}");
            // Past the 50 ms: the connection is closed while `next` waits on it.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let exited = child.try_wait().expect("try_wait");
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                exited.is_none(),
                "{mode}: the runtime exited ({exited:?}) after event {i}; its log:\n{text}"
            );
        }
        let _ = child.kill();
        let _ = child.wait();
        let text = std::fs::read_to_string(&log).expect("log");
        let retries = text
            .matches("asking the runtime API again for the next event")
            .count();
        println!("{mode}: 4 events answered, next asked again {retries} times");
        assert!(retries >= 3, "{mode}: the fault did not happen:\n{text}");
    }
}
