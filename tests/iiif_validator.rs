//! The official IIIF Image API validator (PyPI `iiif-validator` 1.0.5, `iiif-validate.py`)
//! against the IIIF service (issue 19), through every transport and store:
//! `serve --root`, `serve --bucket` on s3s-fs and on moto, and the Lambda adapter under
//! `cargo lambda watch` (whose Function URL sits under `/lambda-url/_`, so `--public-url`
//! carries that path into info.json's `id`), and the buffered function the deploy routes IIIF
//! to, behind the Function URL stand-in, on a pyramidal TIFF.
//!
//! Its test image cannot be downloaded here, so it is generated from the validator's own
//! table (`ValidationInfo().colorInfo`): 1000 x 1000 px, 10 x 10 squares of 100 px, pixel
//! (x, y) of colour `colorInfo[x // 100][y // 100]`; a JPEG (q95, 4:4:4) for the directory,
//! s3s-fs and Lambda, a PNG for moto, so both decoders are validated, and a pyramidal TIFF
//! of JPEG tiles (vips) on s3s-fs, so tiles passed through and composed are too.
//!
//! Tests run: every 3.0 test of level 2 or below but `size_noup`, plus the optional tests of
//! the features info.json advertises (canonical and profile Link headers, mirroring). Not
//! `format_webp`: in 1.0.5 it calls Python 2's `urllib.urlopen` and fails on every server;
//! tests/iiif.rs checks WebP answers instead.
//!
//! Two tests are run alone and must fail exactly where the validator departs from the spec
//! (the checks before that point in the same test pass):
//! - `size_noup` on `!2000,3000`: the validator wants 400 for a confined size larger than
//!   the image, while §4.2 says `!w,h` returns the image "as large as possible but not
//!   larger than the extracted region, w or h" (IIIF/image-validator#100, iipsrv#271,
//!   Cantaloupe#600). Its four sizes before (`s,s`, `,s`, `s,`, `pct:200`) get 400.
//! - `size_up` (upscaling, optional, advertised) on `^max`: the validator wants the image's
//!   own 1000 x 1000, while §4.2 says `^max` is "scaled to the maximum size permitted by
//!   maxWidth, maxHeight, or maxArea" (4096 here; the validator's own comment: "needs a bit
//!   more thought as maximum may not be the same as full"). Its sizes before (`^s,s`,
//!   `^,s`, `^s,`) pass, and `,s` without `^` gets 400.
//!
//! Needs `iiif-validate.py` (`.venv/bin/pip install iiif-validator==1.0.5`, or
//! IIIF_VALIDATOR=path; tests/run.sh installs it), s3s-fs, moto and cargo-lambda as the other
//! tests do. A missing tool fails the test.

mod common;
#[path = "common/vips.rs"]
mod vips;

use common::lambda_watch::{LambdaWatch, LAMBDA_URL_PREFIX};
use common::procs::{find_tool, Backend, Imgorigin, Kind};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

const ID: &str = "67352ccc-d1b0-11e1-89ae-279075081939";

/// Optional tests for what info.json lists in extraFeatures and extraFormats.
const OPTIONAL: &[&str] = &[
    "linkheader_canonical",
    "linkheader_profile",
    "rot_mirror",
    "rot_mirror_180",
];

/// Tests where the validator departs from the spec, run alone: each must fail once, on
/// this size and no other (the checks before it passed).
const PINNED: &[(&str, &str)] = &[("size_noup", "!2000,3000"), ("size_up", "^max")];

fn validator() -> PathBuf {
    find_tool(
        "IIIF_VALIDATOR",
        "iiif-validate.py",
        ".venv/bin/pip install iiif-validator==1.0.5",
    )
}

/// The Python the validator runs under (its script's directory holds it in a venv).
fn python() -> PathBuf {
    let v = validator();
    let venv = v.with_file_name("python");
    if venv.is_file() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

fn py(script: &str) -> Vec<u8> {
    let out = Command::new(python())
        .args(["-c", script])
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The validator's test image, encoded by PIL as `format` ("JPEG" or "PNG"), or "TIFF": the
/// PNG made a pyramidal TIFF of 256-pixel JPEG tiles by vips. Written to a file: importing
/// the validator prints to stdout.
fn test_image(format: &str) -> Vec<u8> {
    if format == "TIFF" {
        let dir = tempfile::tempdir().expect("tempdir");
        let (png, tif) = (dir.path().join("image.png"), dir.path().join("image.tif"));
        std::fs::write(&png, test_image("PNG")).expect("write");
        vips::pyramid(&png, &tif, 95);
        return std::fs::read(&tif).expect("TIFF");
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("image");
    py(&format!(
        r#"
from PIL import Image
from iiif_validator.validator import ValidationInfo
colors = ValidationInfo().colorInfo
img = Image.new("RGB", (1000, 1000))
px = img.load()
for x in range(1000):
    for y in range(1000):
        px[x, y] = tuple(colors[x // 100][y // 100])
img.save("{path}", "{format}", **({{"quality": 95, "subsampling": 0}} if "{format}" == "JPEG" else {{}}))
"#,
        path = path.display()
    ));
    std::fs::read(&path).expect("test image")
}

/// The tests to run: level <= 2 for 3.0 but the pinned ones, then the optional ones.
fn selected_tests() -> Vec<String> {
    let listed = py(r#"
from iiif_validator.validator import TestSuite, ValidationInfo
for name, t in sorted(TestSuite(ValidationInfo()).list_tests("3.0").items()):
    print(name, t["level"])
"#);
    let listed = String::from_utf8(listed).expect("utf-8");
    let mut tests: Vec<String> = listed
        .lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, level)| level.parse::<u8>().is_ok_and(|l| l <= 2))
        .filter(|(name, _)| PINNED.iter().all(|(pinned, _)| pinned != name))
        .map(|(name, _)| name.to_owned())
        .collect();
    assert!(tests.len() >= 30, "the validator lists {tests:?}");
    tests.extend(OPTIONAL.iter().map(|t| (*t).to_owned()));
    tests
}

/// Runs the validator on `tests`; its exit code is the number of failures.
fn validate(addr: SocketAddr, prefix: &str, tests: &[String]) -> (i32, String) {
    let mut cmd = Command::new(validator());
    cmd.args(["-s", &addr.to_string(), "-p", prefix, "-i", ID])
        .args(["--version=3.0", "-v"]);
    for t in tests {
        cmd.args(["--test", t]);
    }
    let out = cmd.output().expect("run iiif-validate.py");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

async fn assert_passes(addr: SocketAddr, prefix: &str, what: &str) {
    let tests = selected_tests();
    let (failures, text) = validate(addr, prefix, &tests);
    let done = format!("Done ({} tests, 0 failures)", tests.len());
    assert!(
        failures == 0 && text.contains(&done),
        "{what}: {failures} validator failures\n{text}"
    );
    for (test, _) in PINNED {
        let (failures, text) = validate(addr, prefix, &[(*test).to_owned()]);
        assert_eq!(failures, 1, "{what}: {test}\n{text}");
    }
    // What the pinned tests ask, answered as the spec says.
    let sizes = [
        ("1500,1500", 400, None),
        (",1500", 400, None),
        ("1500,", 400, None),
        ("pct:200", 400, None),
        ("!2000,3000", 200, Some((1000, 1000))),
        ("^1500,1500", 200, Some((1500, 1500))),
        ("^,1500", 200, Some((1500, 1500))),
        ("^1500,", 200, Some((1500, 1500))),
        ("^max", 200, Some((4096, 4096))),
        ("^pct:200", 200, Some((2000, 2000))),
        ("^!2000,500", 200, Some((500, 500))),
        ("^!2000,3000", 200, Some((2000, 2000))),
    ];
    for (size, status, dims) in sizes {
        let path = format!("/{prefix}/{ID}/full/{size}/0/default.png");
        let got = common::fetch(addr, "GET", &path, &[]).await;
        assert_eq!(got.status.as_u16(), status, "{what}: {path}");
        if let Some(dims) = dims {
            let img = image::load_from_memory(got.bytes()).expect("a PNG");
            assert_eq!((img.width(), img.height()), dims, "{what}: {path}");
        }
    }
}

async fn serve_and_validate(kind: Kind, format: &str) {
    let backend = Backend::start(kind).await;
    backend
        .put(ID, test_image(format), "application/octet-stream", None)
        .await;
    let server = Imgorigin::start(&backend.serve_args());
    assert_passes(server.addr, "iiif/3", &format!("{kind:?} with a {format}")).await;
}

#[tokio::test]
async fn validator_passes_on_a_directory() {
    serve_and_validate(Kind::Local, "JPEG").await;
}

#[tokio::test]
async fn validator_passes_on_s3s_fs() {
    serve_and_validate(Kind::S3sFs, "JPEG").await;
}

#[tokio::test]
async fn validator_passes_on_a_pyramidal_tiff_in_s3s_fs() {
    serve_and_validate(Kind::S3sFs, "TIFF").await;
}

#[tokio::test]
async fn validator_passes_on_moto() {
    serve_and_validate(Kind::Moto, "PNG").await;
}

#[tokio::test]
async fn validator_passes_through_lambda() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(ID), test_image("JPEG")).expect("write");
    let port = common::procs::free_port();
    let public = format!("http://127.0.0.1:{port}{LAMBDA_URL_PREFIX}");
    let watch = LambdaWatch::start_on(
        port,
        &[
            ("IMGORIGIN_ROOT", dir.path().display().to_string()),
            ("IMGORIGIN_PUBLIC_URL", public),
        ],
    );
    let prefix = format!("{}/iiif/3", LAMBDA_URL_PREFIX.trim_start_matches('/'));
    assert_passes(watch.addr, &prefix, "Lambda (cargo lambda watch)").await;
}

/// The deploy routes IIIF to the buffered function (deploy/template.yaml, Note 9): the real
/// function in buffered mode behind the Function URL stand-in (tests/common/function_url.rs,
/// as cargo lambda watch loses some buffered answers), on the pyramidal TIFF.
#[tokio::test(flavor = "multi_thread")]
async fn validator_passes_through_the_buffered_function_on_a_tiff() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join(ID), test_image("TIFF")).expect("write");
    let lambda = common::function_url::FunctionUrl::start(&[
        ("IMGORIGIN_ROOT", dir.path().display().to_string()),
        ("IMGORIGIN_INVOKE_MODE", "buffered".to_owned()),
    ])
    .await;
    assert_passes(lambda.addr, "iiif/3", "Lambda buffered with a TIFF").await;
}
