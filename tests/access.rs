//! Access control through the whole pipeline (`Origin::handle`) with the in-memory store and a
//! fixed clock:
//! - the order origin lock -> method -> path -> allowed keys -> signature -> store, each
//!   refusal before any store call (the store's call counter stays 0);
//! - refusals are 403 `forbidden` / `expired` with `Cache-Control: no-store`, or 404 exactly
//!   like a missing object for keys outside the allowed ones;
//! - a signed link behaves like an unsigned request did before: GET, HEAD, Range, 304;
//! - expiry exactly on the edge (exp == now is expired), rotation, CORS preflight.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use imgorigin::access::link::sign_link;
use imgorigin::access::{Access, KeyRing, RequiredHeader, Signing};
use imgorigin::body::ObjectBody;
use imgorigin::cors::Cors;
use imgorigin::store::{MemoryStore, Store};
use imgorigin::{Config, Origin};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const K2: &str = "fd7aed65e0edee4e193e242ff19780cd79a1075a66b450de5e489085e2c3e2b1";
const EXP: u64 = 1_767_225_600;

fn just_before_exp() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EXP - 1)
}

fn at_exp() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(EXP)
}

fn keys() -> KeyRing {
    KeyRing::parse_list(&format!("k1:{K1},k2:{K2}")).expect("keys")
}

fn link(kid: &str, path: &str) -> String {
    sign_link(&keys(), Some(kid), path, EXP).expect("sign")
}

struct World {
    store: MemoryStore,
    origin: Origin,
}

fn world(access: Access, clock: fn() -> SystemTime) -> World {
    let store = MemoryStore::new(1024);
    store.put("private/cat.jpg", vec![7u8; 5000], Some("image/jpeg"));
    store.put("public/dog.jpg", vec![8u8; 100], Some("image/jpeg"));
    store.put("public/notes.txt", b"hi".to_vec(), Some("text/plain"));
    let config = Config {
        access,
        clock,
        cors: Cors::from_origins(&["https://app.example".to_owned()]).expect("cors"),
        ..Config::default()
    };
    let origin = Origin::new(Arc::new(store.clone()) as Arc<dyn Store>, config);
    World { store, origin }
}

fn signing(prefixes: &[&str]) -> Access {
    Access {
        signing: Some(Signing {
            keys: keys(),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }),
        ..Access::default()
    }
}

async fn send(
    w: &World,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (u16, String, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp: Response<ObjectBody> = w.origin.handle(req.body(()).expect("request")).await;
    let status = resp.status().as_u16();
    let cc = resp
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (status, cc, body.to_vec())
}

#[tokio::test]
async fn refusals_never_reach_the_store() {
    let w = world(signing(&["private/"]), just_before_exp);
    let good = link("k1", "/private/cat.jpg");
    let tampered = [
        "/private/cat.jpg".to_owned(),
        good.replace("cat.jpg", "cat.jpeg"),
        good.replace(&EXP.to_string(), &(EXP + 60).to_string()),
        good.replace("kid=k1", "kid=k2"),
        format!("{good}&sig=AAAA"),
        format!("{good}&x=1"),
        format!("{good}&w=100"),
        "/private%2Fcat.jpg".to_owned(),
    ];
    for uri in &tampered {
        for method in ["GET", "HEAD"] {
            let (status, cc, body) = send(&w, method, uri, &[]).await;
            assert_eq!((status, cc.as_str()), (403, "no-store"), "{method} {uri}");
            if method == "GET" {
                assert_eq!(body, b"forbidden\n", "{uri}");
            }
        }
    }
    assert_eq!(w.store.calls(), 0, "a refused request reached the store");
    let (status, _, body) = send(&w, "GET", &good, &[]).await;
    assert_eq!((status, body.len()), (200, 5000));
    assert!(w.store.calls() > 0);
}

#[tokio::test]
async fn signed_links_behave_as_before() {
    let w = world(signing(&["private/"]), just_before_exp);
    let good = link("k2", "/private/cat.jpg");
    let (status, _, body) = send(&w, "GET", &good, &[("range", "bytes=10-19")]).await;
    assert_eq!((status, body), (206, vec![7u8; 10]));
    let (status, _, body) = send(&w, "HEAD", &good, &[]).await;
    assert_eq!((status, body.len()), (200, 0));
    let req = Request::head(good.as_str()).body(()).expect("req");
    let etag = w.origin.handle(req).await.headers()["etag"].clone();
    let etag = etag.to_str().expect("etag");
    let (status, _, _) = send(&w, "GET", &good, &[("if-none-match", etag)]).await;
    assert_eq!(status, 304);
    // Public prefixes need nothing and ignore whatever query comes along.
    let (status, _, body) = send(&w, "GET", "/public/dog.jpg?sig=x&sig=y", &[]).await;
    assert_eq!((status, body.len()), (200, 100));
}

#[tokio::test]
async fn expiry_is_exclusive() {
    let good = link("k1", "/private/cat.jpg");
    let before = world(signing(&[]), just_before_exp);
    assert_eq!(send(&before, "GET", &good, &[]).await.0, 200);
    let at = world(signing(&[]), at_exp);
    let (status, cc, body) = send(&at, "GET", &good, &[]).await;
    assert_eq!(
        (status, cc.as_str(), body.as_slice()),
        (403, "no-store", &b"expired\n"[..])
    );
    assert_eq!(at.store.calls(), 0);
}

#[tokio::test]
async fn allowed_keys_are_404_like_missing_objects() {
    let access = Access {
        allow_prefixes: vec!["public/".into()],
        allow_exts: vec!["jpg".into()],
        ..Access::default()
    };
    let w = world(access, SystemTime::now);
    let missing = send(&w, "GET", "/public/nope.jpg", &[]).await;
    assert_eq!(missing.0, 404);
    let calls = w.store.calls();
    for uri in [
        "/public/notes.txt",
        "/private/cat.jpg",
        "/public/dog.JPG.txt",
    ] {
        let got = send(&w, "GET", uri, &[]).await;
        assert_eq!(
            got, missing,
            "{uri}: must look exactly like a missing object"
        );
    }
    assert_eq!(
        w.store.calls(),
        calls,
        "store asked about a key outside the allowed ones"
    );
    w.store.put("public/SHOUT.JPG", b"!".to_vec(), None);
    assert_eq!(send(&w, "GET", "/public/SHOUT.JPG", &[]).await.0, 200);
}

#[tokio::test]
async fn origin_lock_comes_first() {
    let mut access = signing(&[]);
    access.require_header =
        Some(RequiredHeader::parse("x-origin-verify: 0123456789abcdef").expect("spec"));
    let w = world(access, just_before_exp);
    let good = link("k1", "/private/cat.jpg");
    let preflight = [
        ("origin", "https://app.example"),
        ("access-control-request-method", "GET"),
    ];
    for (method, uri) in [
        ("GET", good.as_str()),
        ("POST", "/x"),
        ("GET", "/../x"),
        ("OPTIONS", "/x"),
    ] {
        let got = send(&w, method, uri, &preflight).await;
        assert_eq!(
            (got.0, got.2.as_slice()),
            (403, &b"forbidden\n"[..]),
            "{method} {uri}"
        );
        let wrong = [("x-origin-verify", "0123456789abcdeF")];
        assert_eq!(send(&w, method, uri, &wrong).await.0, 403, "{method} {uri}");
    }
    assert_eq!(w.store.calls(), 0);
    let lock = ("x-origin-verify", "0123456789abcdef");
    assert_eq!(send(&w, "GET", &good, &[lock]).await.0, 200);
    assert_eq!(send(&w, "POST", "/x", &[lock]).await.0, 405);
    assert_eq!(send(&w, "GET", "/../x", &[lock]).await.0, 400);
    assert_eq!(send(&w, "GET", "/private/cat.jpg", &[lock]).await.0, 403);
    // A preflight carries no credentials and touches no object: answered without a signature.
    let mut h = preflight.to_vec();
    h.push(lock);
    assert_eq!(
        send(&w, "OPTIONS", "/private/cat.jpg", &h).await.0,
        StatusCode::NO_CONTENT.as_u16()
    );
}
