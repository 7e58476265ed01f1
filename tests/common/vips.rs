//! The real vips (Debian's libvips-tools) for the TIFF tests: running its tools, and the
//! pixels it gives for part of an image. `vips` comes from `VIPS` (its path; `vipsheader`
//! beside it) or PATH; a missing tool fails the test with how to install it.

#![allow(dead_code)]

use imgorigin::iiif::Rect;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The path of `vips`.
pub fn vips() -> PathBuf {
    if let Some(p) = std::env::var_os("VIPS") {
        return PathBuf::from(p);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join("vips"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "vips not found (set VIPS or put it on PATH). Install Debian's libvips-tools: \
                 apt-get install libvips-tools"
            )
        })
}

/// Runs a libvips tool (`vips`, `vipsheader`) and returns its standard output.
pub fn run(tool: &str, args: &[&str]) -> String {
    let bin = vips().with_file_name(tool);
    let out = Command::new(&bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} (from libvips-tools) did not run: {e}", bin.display()));
    assert!(
        out.status.success(),
        "{tool} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `src` as a pyramidal TIFF at `tif` as the docs tell users to: JPEG tiles at
/// `quality` (the docs say 90), 256 pixels square (`vips tiffsave --tile --pyramid`).
pub fn pyramid(src: &Path, tif: &Path, quality: u8) {
    let (s, t) = (src.to_str().unwrap(), tif.to_str().unwrap());
    let args = [
        "tiffsave",
        s,
        t,
        "--tile",
        "--pyramid",
        "--compression",
        "jpeg",
    ];
    let q = quality.to_string();
    let size = ["--Q", &q, "--tile-width", "256", "--tile-height", "256"];
    run("vips", &[&args[..], &size[..]].concat());
}

/// The pixels vips gives for `rect` of a page: RGB, row by row.
pub fn vips_crop(dir: &Path, image: &str, rect: Rect<u32>) -> Vec<u8> {
    let (v, raw) = (dir.join("crop.v"), dir.join("crop.raw"));
    let r = [rect.x, rect.y, rect.width, rect.height].map(|n| n.to_string());
    run(
        "vips",
        &[
            "crop",
            image,
            v.to_str().unwrap(),
            &r[0],
            &r[1],
            &r[2],
            &r[3],
        ],
    );
    run(
        "vips",
        &["rawsave", v.to_str().unwrap(), raw.to_str().unwrap()],
    );
    std::fs::read(raw).unwrap()
}

/// Mean absolute difference of two equal-length sample buffers.
pub fn mean_abs_error(a: &[u8], b: &[u8]) -> f64 {
    assert_eq!(a.len(), b.len());
    let sum: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.len() as f64
}
