//! Faults of names and links with the local store (`--root`): overlong names, symlinks into a
//! signed prefix, percent-encoded transform parameter names on signed links.

use crate::common::{fetch, procs::imgorigin_command, Imgorigin};
use crate::images;
use std::path::Path;

const K1: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn write(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write fixture");
}

/// `imgorigin serve --root DIR` with signing required under `private/`.
fn serve_signed(root: &Path) -> Imgorigin {
    Imgorigin::start(&[
        "--root".into(),
        root.display().to_string(),
        "--signing-keys".into(),
        format!("k1:{K1}"),
        "--signed-prefix".into(),
        "private/".into(),
    ])
}

/// `imgorigin sign TARGET` with the key `serve_signed` knows.
fn sign(target: &str) -> String {
    let out = imgorigin_command()
        .args(["sign", target])
        .env("IMGORIGIN_SIGNING_KEYS", format!("k1:{K1}"))
        .output()
        .expect("run imgorigin sign");
    assert!(out.status.success(), "imgorigin sign {target}: {out:?}");
    String::from_utf8(out.stdout)
        .expect("sign prints UTF-8")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn overlong_names_are_client_errors_not_5xx() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "dir/ok.jpg", b"ok");
    let server = Imgorigin::start(&["--root".into(), dir.path().display().to_string()]);
    let long = "a".repeat(300);
    for path in [format!("/{long}.jpg"), format!("/dir/{long}")] {
        for method in ["GET", "HEAD"] {
            let got = fetch(server.addr, method, &path, &[]).await;
            let status = got.status.as_u16();
            let short = format!("{}...({} bytes)", &path[..8], path.len());
            assert!(
                matches!(status, 400 | 404),
                "{method} {short}: {status} {:?}, want 404 or 400",
                String::from_utf8_lossy(got.bytes())
            );
        }
    }
    let got = fetch(server.addr, "GET", "/dir/ok.jpg", &[]).await;
    assert_eq!((got.status.as_u16(), got.bytes()), (200, &b"ok"[..]));
}

#[tokio::test(flavor = "multi_thread")]
async fn symlink_into_a_signed_prefix_is_not_served_unsigned() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(root, "private/secret.jpg", b"the secret bytes");
    write(root, "public/real.jpg", b"public bytes");
    let link = |target: &str, at: &str| {
        std::os::unix::fs::symlink(target, root.join(at)).expect("symlink");
    };
    link("../private/secret.jpg", "public/link.jpg");
    link("../public/real.jpg", "public/ok.jpg");
    let server = serve_signed(root);
    let addr = server.addr;
    let status_of = move |path: &'static str| async move {
        let got = fetch(addr, "GET", path, &[]).await;
        (got.status.as_u16(), got.bytes().to_vec())
    };
    assert_eq!(status_of("/private/secret.jpg").await.0, 403, "unsigned");
    let public = (200, b"public bytes".to_vec());
    assert_eq!(status_of("/public/real.jpg").await, public);
    assert_eq!(
        status_of("/public/ok.jpg").await,
        public,
        "a symlink within the same access"
    );
    let (status, body) = status_of("/public/link.jpg").await;
    assert!(
        body != b"the secret bytes",
        "unsigned GET /public/link.jpg served private/secret.jpg ({status})"
    );
    assert_eq!(status, 404, "unsigned GET /public/link.jpg");
}

#[tokio::test(flavor = "multi_thread")]
async fn percent_encoded_parameter_names_cannot_strip_a_signed_transform() {
    let dir = tempfile::tempdir().expect("tempdir");
    let jpg = images::jpeg(&images::scene(400, 300), 85);
    write(dir.path(), "private/a.jpg", &jpg);
    let server = serve_signed(dir.path());
    // (what is signed, how it is re-spelled, the format the signed link answers)
    let cases = [
        ("/private/a.jpg?w=100", ("?w=100", "?%77=100"), "jpeg"),
        (
            "/private/a.jpg?format=webp",
            ("?format=webp", "?%66ormat=webp"),
            "webp",
        ),
    ];
    for (target, (spelled, respelled), format) in cases {
        let link = sign(target);
        let got = fetch(server.addr, "GET", &link, &[]).await;
        assert_eq!(got.status, 200, "{link}");
        assert_eq!(got.header("content-type"), Some(images::mime(format)));
        let out = images::decode_as(got.bytes(), format);
        if format == "jpeg" {
            assert_eq!(out.width(), 100, "{link}");
        }
        let bent = link.replacen(spelled, respelled, 1);
        assert_ne!(bent, link, "the link has {spelled}");
        let got = fetch(server.addr, "GET", &bent, &[]).await;
        let status = got.status.as_u16();
        assert!(
            got.bytes() != jpg.as_slice(),
            "{bent}: {status} with the original's bytes: the signed transform was stripped"
        );
        assert_eq!(status, 400, "{bent}");
    }
}
