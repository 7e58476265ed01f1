//! Access control on the Lambda path, at the Runtime API wire level (fake Runtime API, real
//! binary started as Lambda's bootstrap runs it, settings from the environment): in both invoke
//! modes a signed link is served and the same path unsigned or tampered is 403 `forbidden`
//! with `Cache-Control: no-store`, and S3 (s3s-fs behind a counting proxy) sees no request
//! for the refusals.

mod common;

use common::procs::{Kind, BUCKET};
use common::proxy::CountingProxy;
use common::runtime_api::{event_with_query, FakeRuntimeApi};
use common::{pattern, sha256, Backend};
use imgorigin::access::link::sign_link;
use imgorigin::access::KeyRing;
use std::process::Stdio;

const KEYS: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

#[tokio::test(flavor = "multi_thread")]
async fn signed_and_unsigned_pair_in_both_invoke_modes() {
    let backend = Backend::start(Kind::S3sFs).await;
    let photo = pattern(20_000, 9);
    backend
        .put("private/photo.jpg", photo.clone(), "image/jpeg", None)
        .await;
    let proxy = CountingProxy::start(backend.port).await;
    let keys = KeyRing::parse_list(KEYS).expect("keys");
    let link = sign_link(&keys, None, "/private/photo.jpg", 4_102_444_800).expect("sign");
    let (path, query) = link.split_once('?').expect("query");
    for mode in ["stream", "buffered"] {
        let mut api = FakeRuntimeApi::start().await;
        let mut child = common::procs::imgorigin_command()
            .env("AWS_LAMBDA_RUNTIME_API", api.host_port())
            .env("IMGORIGIN_INVOKE_MODE", mode)
            .env("IMGORIGIN_BUCKET", BUCKET)
            .env(
                "IMGORIGIN_ENDPOINT",
                format!("http://127.0.0.1:{}", proxy.port),
            )
            .env("IMGORIGIN_SIGNING_KEYS", KEYS)
            .env("IMGORIGIN_SIGNED_PREFIX", "private/")
            .stdout(Stdio::null())
            .spawn()
            .expect("start imgorigin");
        let before = proxy.requests();
        for bad in ["", "exp=4102444800&kid=k1", &format!("{query}&{query}")] {
            let post = api.invoke(event_with_query("GET", path, bad, &[])).await;
            let (json, body) = post.answer(mode);
            assert_eq!(json["statusCode"], 403, "{mode} ?{bad}");
            assert_eq!(json["headers"]["cache-control"], "no-store", "{mode}");
            assert_eq!(body, b"forbidden\n", "{mode} ?{bad}");
        }
        assert_eq!(proxy.requests(), before, "{mode}: a refusal reached S3");
        let post = api.invoke(event_with_query("GET", path, query, &[])).await;
        let (json, body) = post.answer(mode);
        assert_eq!(json["statusCode"], 200, "{mode}");
        assert_eq!(sha256(&body), sha256(&photo), "{mode}");
        let _ = child.kill();
        let _ = child.wait();
    }
}
