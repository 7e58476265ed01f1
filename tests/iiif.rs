//! The IIIF service's HTTP behaviour through `imgorigin serve` (issue 19), beyond what the
//! official validator checks (tests/iiif_validator.rs):
//! - the base URI redirects 303 to info.json; info.json's media type follows Accept (§5.1)
//!   and its `id` follows --public-url, X-Forwarded-Host/-Proto or Host;
//! - ETags: a repeated request with If-None-Match is 304 after one HeadObject and no read of
//!   the image; a replaced source gets new ETags;
//! - WebP output (the validator's own WebP test cannot run, see there), HEAD;
//! - statuses: 400 for bad syntax and regions outside, 404 for a missing identifier, 501
//!   never for bad input; `Access-Control-Allow-Origin: *` unless CORS is configured;
//! - `--iiif-prefix`, `--iiif-slash-substitute` and `--no-iiif`.

mod common;
#[path = "common/images.rs"]
#[allow(dead_code)]
mod images;

use common::fake_s3::FakeS3;
use common::fetch;
use common::procs::Imgorigin;

const KEY: &str = "maps/sheet 1.jpg";
/// KEY as one path segment (§9).
const ID: &str = "maps%2Fsheet%201.jpg";

fn photo() -> Vec<u8> {
    images::jpeg(&images::scene(640, 480), 90)
}

fn server(s3: &FakeS3, extra: &[&str]) -> Imgorigin {
    let mut args = s3.serve_args();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    Imgorigin::start(&args)
}

#[tokio::test]
async fn base_uri_info_json_and_its_id() {
    let s3 = FakeS3::start();
    s3.put(KEY, photo(), "image/jpeg");
    let srv = server(&s3, &[]);
    let got = fetch(
        srv.addr,
        "GET",
        &format!("/iiif/3/{ID}"),
        &[("x-forwarded-host", "img.example:80")],
    )
    .await;
    assert_eq!(got.status, 303);
    let info_url = format!("http://img.example/iiif/3/{ID}/info.json");
    assert_eq!(got.header("location"), Some(info_url.as_str()));
    let info = |headers: Vec<(&'static str, &'static str)>| {
        let path = format!("/iiif/3/{ID}/info.json");
        async move { fetch(srv.addr, "GET", &path, &headers).await }
    };
    let ld = "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"";
    let got = info(vec![("x-forwarded-host", "img.example")]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some(ld), "§5.1: no Accept");
    assert_eq!(got.header("access-control-allow-origin"), Some("*"));
    let doc: serde_json::Value = serde_json::from_slice(got.bytes()).expect("JSON");
    assert_eq!(doc["id"], format!("http://img.example/iiif/3/{ID}"));
    assert_eq!(
        (doc["width"].as_u64(), doc["height"].as_u64()),
        (Some(640), Some(480))
    );
    let got = info(vec![("accept", "application/json")]).await;
    assert_eq!(got.header("content-type"), Some("application/json"));
    let forwarded = vec![
        ("x-forwarded-host", "cdn.example"),
        ("x-forwarded-proto", "https"),
    ];
    let doc: serde_json::Value = serde_json::from_slice(info(forwarded).await.bytes()).unwrap();
    assert_eq!(doc["id"], format!("https://cdn.example/iiif/3/{ID}"));
    let got = info(vec![("x-forwarded-host", "bad host/../x")]).await;
    assert_eq!(got.status, 400, "a Host that is not a host");
    drop(srv);
    let srv = server(&s3, &["--public-url", "https://d1.cloudfront.net/"]);
    let path = format!("/iiif/3/{ID}/info.json");
    let got = fetch(
        srv.addr,
        "GET",
        &path,
        &[("x-forwarded-host", "evil.example")],
    )
    .await;
    let doc: serde_json::Value = serde_json::from_slice(got.bytes()).unwrap();
    assert_eq!(doc["id"], format!("https://d1.cloudfront.net/iiif/3/{ID}"));
}

#[tokio::test]
async fn etags_answer_304_without_reading_the_image() {
    let s3 = FakeS3::start();
    s3.put(KEY, photo(), "image/jpeg");
    let srv = server(&s3, &[]);
    let path = format!("/iiif/3/{ID}/0,0,256,256/128,/0/default.jpg");
    let first = fetch(srv.addr, "GET", &path, &[]).await;
    assert_eq!(first.status, 200);
    let etag = first.header("etag").expect("ETag").to_owned();
    assert!(etag.starts_with('"'), "strong: {etag}");
    let link = first.header("link").unwrap_or_default();
    assert!(
        link.contains(&format!(
            "/iiif/3/{ID}/0,0,256,256/128,128/0/default.jpg>;rel=\"canonical\""
        )),
        "{link}"
    );
    let img = images::decode_as(first.bytes(), "jpeg");
    assert_eq!((img.width(), img.height()), (128, 128));
    let gets_before = s3.requests_for("GET", KEY).len();
    // The same image by another spelling (§4.8): same canonical form, same ETag.
    let same = format!("/iiif/3/{ID}/0,0,256,256/128,128/360/default.jpg");
    let got = fetch(srv.addr, "GET", &same, &[("if-none-match", &etag)]).await;
    assert_eq!(got.status, 304);
    assert_eq!(got.header("etag"), Some(etag.as_str()));
    assert_eq!(
        s3.requests_for("GET", KEY).len(),
        gets_before,
        "304 read no bytes"
    );
    // A new version of the source: a new ETag, and the old one no longer matches.
    s3.put(
        KEY,
        images::jpeg(&images::scene(640, 480), 60),
        "image/jpeg",
    );
    let got = fetch(srv.addr, "GET", &path, &[("if-none-match", &etag)]).await;
    assert_eq!(got.status, 200);
    assert_ne!(got.header("etag"), Some(etag.as_str()));
}

#[tokio::test]
async fn formats_head_and_statuses() {
    let s3 = FakeS3::start();
    s3.put(KEY, photo(), "image/jpeg");
    s3.put("notes.txt", b"not an image".to_vec(), "text/plain");
    let srv = server(&s3, &[]);
    let p = |rest: &str| format!("/iiif/3/{ID}/{rest}");
    let got = fetch(srv.addr, "GET", &p("full/200,/90/gray.webp"), &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("image/webp"));
    let img = images::decode_as(got.bytes(), "webp");
    assert_eq!((img.width(), img.height()), (150, 200), "turned a quarter");
    let head = fetch(srv.addr, "HEAD", &p("full/200,/0/default.png"), &[]).await;
    let get = fetch(srv.addr, "GET", &p("full/200,/0/default.png"), &[]).await;
    assert_eq!(head.status, 200);
    assert!(head.bytes().is_empty());
    assert_eq!(head.header("content-length"), get.header("content-length"));
    assert_eq!(head.header("etag"), get.header("etag"));
    let cases = [
        (p("full/max/0/default.gif"), 400, "format not offered"),
        (p("full/max/0/default.pdf"), 400, "format not offered"),
        (
            p("full/max/45/default.jpg"),
            400,
            "arbitrary rotation not offered",
        ),
        (p("700,0,10,10/max/0/default.jpg"), 400, "region outside"),
        (p("full/1000,/0/default.jpg"), 400, "upscaling without ^"),
        (p("full/^9000,/0/default.jpg"), 400, "over maxWidth"),
        (p("full/max/0/sepia.jpg"), 400, "quality"),
        (p("nope/max/0/default.jpg"), 400, "region syntax"),
        (
            "/iiif/3/missing.jpg/full/max/0/default.jpg".into(),
            404,
            "missing",
        ),
        ("/iiif/3/missing.jpg/info.json".into(), 404, "missing"),
        (
            "/iiif/3/notes.txt/full/max/0/default.jpg".into(),
            415,
            "not an image",
        ),
        // Read from the right (implementation notes §1): a %2F decoded on the way still
        // names the key; one that names nothing is a 404 like any missing identifier.
        (
            "/iiif/3/maps/sheet%201.jpg/full/max/0/default.jpg".into(),
            200,
            "decoded %2F",
        ),
        (
            "/iiif/3/a/b/full/max/0/default.jpg".into(),
            404,
            "unescaped / of no key",
        ),
        ("/iiif/3/".into(), 400, "no identifier"),
    ];
    for (path, status, what) in cases {
        let got = fetch(srv.addr, "GET", &path, &[]).await;
        assert_eq!(got.status, status, "{what}: {path}");
        assert_eq!(
            got.header("access-control-allow-origin"),
            Some("*"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_cloudfront_functions_base64url_spelling() {
    // deploy/template.yaml's router sends a path holding anything but unreserved characters
    // as /~/ + base64url of the path decoded once (OAC signatures, aws-samples/
    // image-optimization#44): `,` `!` `^` and %2F in IIIF paths all do.
    use base64::Engine;
    let s3 = FakeS3::start();
    s3.put(KEY, photo(), "image/jpeg");
    s3.put("100%.jpg", photo(), "image/jpeg");
    let srv = server(&s3, &[]);
    let b64 = |decoded: &str| {
        let enc = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(decoded);
        format!("/~/{enc}")
    };
    let direct = fetch(
        srv.addr,
        "GET",
        &format!("/iiif/3/{ID}/full/!200,200/0/default.png"),
        &[],
    )
    .await;
    let routed = fetch(
        srv.addr,
        "GET",
        &b64("iiif/3/maps/sheet 1.jpg/full/!200,200/0/default.png"),
        &[],
    )
    .await;
    assert_eq!(routed.status, 200);
    assert_eq!(routed.bytes(), direct.bytes());
    assert_eq!(routed.header("etag"), direct.header("etag"));
    let got = fetch(
        srv.addr,
        "GET",
        &b64("iiif/3/100%.jpg/info.json"),
        &[("x-forwarded-host", "h")],
    )
    .await;
    assert_eq!(got.status, 200, "decoded once: a literal % stays");
    let doc: serde_json::Value = serde_json::from_slice(got.bytes()).unwrap();
    assert_eq!(doc["id"], "http://h/iiif/3/100%25.jpg");
    let got = fetch(
        srv.addr,
        "GET",
        &b64("iiif/3/maps/sheet 1.jpg"),
        &[("x-forwarded-host", "h")],
    )
    .await;
    assert_eq!(got.status, 303);
    assert_eq!(
        got.header("location"),
        Some(format!("http://h/iiif/3/{ID}/info.json").as_str())
    );
}

#[tokio::test]
async fn prefix_slash_substitute_and_off() {
    let s3 = FakeS3::start();
    s3.put(KEY, photo(), "image/jpeg");
    s3.put(
        "iiif/3/plain.bin",
        b"plain".to_vec(),
        "application/octet-stream",
    );
    let flags = ["--iiif-prefix", "/tiles/", "--iiif-slash-substitute", "~"];
    let srv = server(&s3, &flags);
    let got = fetch(
        srv.addr,
        "GET",
        "/tiles/maps~sheet%201.jpg/info.json",
        &[("x-forwarded-host", "h")],
    )
    .await;
    assert_eq!(got.status, 200);
    let doc: serde_json::Value = serde_json::from_slice(got.bytes()).unwrap();
    assert_eq!(
        doc["id"], "http://h/tiles/maps~sheet%201.jpg",
        "written with the substitute"
    );
    let got = fetch(srv.addr, "GET", &format!("/tiles/{ID}/info.json"), &[]).await;
    assert_eq!(got.status, 200, "%2F still reads as /");
    let got = fetch(srv.addr, "GET", "/iiif/3/plain.bin", &[]).await;
    assert_eq!(
        (got.status.as_u16(), got.bytes()),
        (200, &b"plain"[..]),
        "a plain key again"
    );
    drop(srv);
    let srv = server(&s3, &["--no-iiif"]);
    let got = fetch(srv.addr, "GET", "/iiif/3/plain.bin", &[]).await;
    assert_eq!((got.status.as_u16(), got.bytes()), (200, &b"plain"[..]));
    let got = fetch(srv.addr, "GET", &format!("/iiif/3/{ID}/info.json"), &[]).await;
    assert_eq!(got.status, 404, "no service");
    drop(srv);
    // With CORS configured, its rule decides: no `*` for an origin it does not allow.
    let srv = server(&s3, &["--cors-origin", "https://viewer.example"]);
    let path = format!("/iiif/3/{ID}/info.json");
    let got = fetch(
        srv.addr,
        "GET",
        &path,
        &[("origin", "https://other.example")],
    )
    .await;
    assert_eq!(got.header("access-control-allow-origin"), None);
    let got = fetch(
        srv.addr,
        "GET",
        &path,
        &[("origin", "https://viewer.example")],
    )
    .await;
    assert_eq!(
        got.header("access-control-allow-origin"),
        Some("https://viewer.example")
    );
}

/// Issue 19 item 4: a private image opens in a viewer from one signed link. `imgorigin sign
/// --iiif` mints the info.json URL (a token segment: the signed link's kid, exp and sig);
/// info.json's `id` carries the token, so every tile URL built from it does; without a valid
/// token for that identifier, 403 before any store call.
#[tokio::test]
async fn a_private_image_opens_from_one_token() {
    const KEYS: &str = "k1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let s3 = FakeS3::start();
    s3.put("private/a.jpg", photo(), "image/jpeg");
    s3.put("private/b.jpg", photo(), "image/jpeg");
    let srv = server(
        &s3,
        &["--signing-keys", KEYS, "--signed-prefix", "private/"],
    );
    let sign = |args: &[&str]| common::procs::imgorigin_sign(args, KEYS);
    let info = sign(&["--iiif", "--expires-in", "1h", "/private/a.jpg"]);
    let token = info.split('/').nth(3).expect("a token segment").to_owned();
    assert!(
        info.starts_with("/iiif/3/t.k1.") && info.ends_with("/private%2Fa.jpg/info.json"),
        "{info}"
    );
    let get = |path: String| async move {
        fetch(srv.addr, "GET", &path, &[("x-forwarded-host", "h")]).await
    };
    let got = get(info.clone()).await;
    assert_eq!(got.status, 200, "{info}");
    let doc: serde_json::Value = serde_json::from_slice(got.bytes()).unwrap();
    let id = doc["id"].as_str().unwrap().to_owned();
    assert_eq!(id, format!("http://h/iiif/3/{token}/private%2Fa.jpg"));
    let tile = format!("{}/0,0,256,256/128,/0/default.jpg", &id["http://h".len()..]);
    let got = get(tile.clone()).await;
    assert_eq!(
        (got.status.as_u16(), got.header("content-type")),
        (200, Some("image/jpeg"))
    );

    let before = s3.requests().len();
    let expired = sign(&["--iiif", "--expires-at", "1", "/private/a.jpg"]);
    let tampered = info.replace(&token, &format!("{}A", &token[..token.len() - 1]));
    let tampered = if tampered == info {
        info.replace(&token, &format!("{}B", &token[..token.len() - 1]))
    } else {
        tampered
    };
    for path in [
        "/iiif/3/private%2Fa.jpg/info.json".to_owned(),
        "/iiif/3/private%2Fa.jpg/0,0,256,256/128,/0/default.jpg".to_owned(),
        "/iiif/3/private%2Fa.jpg".to_owned(),
        info.replace("a.jpg", "b.jpg"),
        tile.replace("a.jpg", "b.jpg"),
        expired,
        tampered,
    ] {
        let got = get(path.clone()).await;
        assert_eq!(got.status, 403, "{path}");
    }
    assert_eq!(s3.requests().len(), before, "no store call for a refusal");
}
