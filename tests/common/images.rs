//! Image fixtures for the transform tests, generated deterministically (no committed
//! binaries), and the checks run on what the server answers: the format by magic bytes and
//! by decoding, dimensions, and similarity to a reference resize. Also: a directory served by
//! a fresh server (`site`), answer checks (`assert_refused`, `vary_has_accept`), the large-JPEG
//! memory case (`large_jpeg`).

use crate::common::client::Fetched;
use crate::common::{fetch, Imgorigin};
use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, Frame, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use std::io::Cursor;
use std::time::{Duration, Instant};

/// A smooth colour at (x, y) of a w x h picture: gradients and a slow wave, nothing a
/// resampler could disagree about.
pub fn smooth(x: u32, y: u32, w: u32, h: u32) -> [u8; 3] {
    smooth_at(x as f64 / w as f64, y as f64 / h as f64)
}

/// The smooth colour at a fraction (0..1, 0..1) of the picture.
pub fn smooth_at(fx: f64, fy: f64) -> [u8; 3] {
    let wave = ((fx * 3.0 + fy * 2.0) * std::f64::consts::PI).sin();
    [
        (30.0 + 200.0 * fx) as u8,
        (30.0 + 200.0 * fy) as u8,
        (128.0 + 90.0 * wave) as u8,
    ]
}

/// `smooth` with grain of +-12 per channel, so a large JPEG is photo-sized, not tiny.
pub fn grainy(x: u32, y: u32, w: u32, h: u32) -> [u8; 3] {
    let g = crate::common::splitmix(((y as u64) << 32) | x as u64).to_le_bytes();
    let base = smooth(x, y, w, h);
    [0, 1, 2].map(|c| (base[c] as i32 + (g[c] % 25) as i32 - 12).clamp(0, 255) as u8)
}

/// Gradient + wave with two shapes (a disc and a bar), w x h.
pub fn scene(w: u32, h: u32) -> RgbImage {
    let (cx, cy, r) = (w as f64 * 0.35, h as f64 * 0.45, h.min(w) as f64 * 0.2);
    RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = (x as f64 - cx, y as f64 - cy);
        if dx * dx + dy * dy < r * r {
            Rgb([240, 220, 40])
        } else if x > w * 6 / 10 && x < w * 8 / 10 && y > h / 5 && y < h * 4 / 5 {
            Rgb([20, 40, 160])
        } else {
            Rgb(smooth(x, y, w, h))
        }
    })
}

/// The scene with alpha falling smoothly from 255 (left) to 64 (right).
pub fn scene_alpha(w: u32, h: u32) -> RgbaImage {
    let rgb = scene(w, h);
    RgbaImage::from_fn(w, h, |x, y| {
        let [r, g, b] = rgb.get_pixel(x, y).0;
        Rgba([r, g, b, (255 - 191 * x / w.max(1)) as u8])
    })
}

/// Left half red, right half blue: shows which way an image was turned.
pub fn halves(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, _| {
        if x < w / 2 {
            Rgb([220, 20, 20])
        } else {
            Rgb([20, 20, 220])
        }
    })
}

/// Noise: large files, slow to decode and encode.
pub fn noise(w: u32, h: u32, seed: u64) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        let v = crate::common::splitmix(seed ^ (((y as u64) << 32) | x as u64)).to_le_bytes();
        Rgb([v[0], v[1], v[2]])
    })
}

/// Baseline JPEG from the `image` crate's encoder (independent of the server's codec).
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encode jpeg");
    out
}

pub fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).expect("encode fixture");
    out.into_inner()
}

pub fn png<I: Clone + Into<DynamicImage>>(img: &I) -> Vec<u8> {
    encode(&img.clone().into(), ImageFormat::Png)
}

/// Lossless WebP (the `image` crate writes no lossy WebP).
pub fn webp<I: Clone + Into<DynamicImage>>(img: &I) -> Vec<u8> {
    encode(&img.clone().into(), ImageFormat::WebP)
}

pub fn rgba(img: &RgbImage) -> RgbaImage {
    DynamicImage::ImageRgb8(img.clone()).to_rgba8()
}

/// A two-frame GIF: `first`, then a black frame the server must not show.
pub fn gif_two_frames(first: &RgbaImage) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        let black = RgbaImage::from_pixel(first.width(), first.height(), Rgba([0, 0, 0, 255]));
        enc.encode_frames([Frame::new(first.clone()), Frame::new(black)])
            .expect("encode gif");
    }
    out
}

/// A JPEG from mozjpeg with libjpeg-turbo's defaults (baseline, 4:2:0), fed in strips of
/// rows from `pixel`, so a 100 MP fixture never exists as pixels in this process.
/// `progressive` switches to the standard progressive script.
pub fn mozjpeg_from_fn(
    w: u32,
    h: u32,
    progressive: bool,
    pixel: impl Fn(u32, u32) -> [u8; 3],
) -> Vec<u8> {
    mozjpeg_write(Vec::new(), (w, h), 85.0, progressive, pixel)
}

/// As [`mozjpeg_from_fn`] at `quality`, written to `out` (a file, for fixtures too large to
/// hold in memory); returns `out`.
pub fn mozjpeg_write<W: std::io::Write>(
    out: W,
    (w, h): (u32, u32),
    quality: f32,
    progressive: bool,
    pixel: impl Fn(u32, u32) -> [u8; 3],
) -> W {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_fastest_defaults();
    c.set_size(w as usize, h as usize);
    c.set_quality(quality);
    if progressive {
        c.set_progressive_mode();
    }
    let mut s = c.start_compress(out).expect("start compress");
    let mut strip = Vec::with_capacity(w as usize * 3 * 16);
    for y0 in (0..h).step_by(16) {
        strip.clear();
        for y in y0..(y0 + 16).min(h) {
            for x in 0..w {
                strip.extend_from_slice(&pixel(x, y));
            }
        }
        s.write_scanlines(&strip).expect("write scanlines");
    }
    s.finish().expect("finish jpeg")
}

/// A progressive JPEG of `img` (mozjpeg, as the brief's recipe).
pub fn progressive_jpeg(img: &RgbImage) -> Vec<u8> {
    let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    c.set_size(img.width() as usize, img.height() as usize);
    c.set_quality(85.0);
    c.set_progressive_mode();
    let mut s = c.start_compress(Vec::new()).expect("start compress");
    s.write_scanlines(img.as_raw()).expect("write scanlines");
    s.finish().expect("finish jpeg")
}

/// The start-of-frame marker (0xC0 baseline, 0xC2 progressive) and the dimensions it gives.
pub fn jpeg_sof(jpg: &[u8]) -> (u8, u32, u32) {
    let at = sof_offset(jpg);
    let be = |i: usize| u16::from_be_bytes([jpg[i], jpg[i + 1]]) as u32;
    (jpg[at + 1], be(at + 7), be(at + 5))
}

/// The first component's sampling factors (H << 4 | V): 0x22 for 4:2:0.
pub fn jpeg_luma_sampling(jpg: &[u8]) -> u8 {
    jpg[sof_offset(jpg) + 11]
}

/// Offset of the FF Cn start-of-frame marker.
fn sof_offset(jpg: &[u8]) -> usize {
    segment_offset(jpg, |m| {
        matches!(m, 0xC0..=0xCF) && !matches!(m, 0xC4 | 0xC8 | 0xCC)
    })
    .expect("no SOF marker")
}

/// Offset of the first header segment whose marker `want` accepts, walking the segments
/// from SOI up to the first scan.
fn segment_offset(jpg: &[u8], want: impl Fn(u8) -> bool) -> Option<usize> {
    let mut i = 2;
    while i + 4 <= jpg.len() {
        assert_eq!(jpg[i], 0xFF, "marker expected at {i}");
        if want(jpg[i + 1]) {
            return Some(i);
        }
        if jpg[i + 1] == 0xDA {
            return None;
        }
        i += 2 + u16::from_be_bytes([jpg[i + 2], jpg[i + 3]]) as usize;
    }
    None
}

/// The same JPEG whose SOF claims `w` x `h` (the data after it no longer matches).
pub fn jpeg_claiming(jpg: &[u8], w: u16, h: u16) -> Vec<u8> {
    let mut out = jpg.to_vec();
    let at = sof_offset(jpg);
    out[at + 5..at + 7].copy_from_slice(&h.to_be_bytes());
    out[at + 7..at + 9].copy_from_slice(&w.to_be_bytes());
    out
}

/// The JPEG with an EXIF APP1 segment (big-endian TIFF, IFD0 with one entry: Orientation)
/// inserted right after SOI.
pub fn with_orientation(jpg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0*\0\0\0\x08\0\x01".to_vec();
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]); // value padding, no next IFD
    let mut app1 = vec![0xFF, 0xE1];
    app1.extend_from_slice(&((2 + 6 + tiff.len()) as u16).to_be_bytes());
    app1.extend_from_slice(b"Exif\0\0");
    app1.extend_from_slice(&tiff);
    assert_eq!(&jpg[..2], [0xFF, 0xD8]);
    [&jpg[..2], &app1[..], &jpg[2..]].concat()
}

/// A progressive JPEG's header followed by `scans` empty start-of-scan segments.
pub fn jpeg_many_scans(progressive: &[u8], scans: usize) -> Vec<u8> {
    let sos = segment_offset(progressive, |m| m == 0xDA).expect("SOS");
    let len = u16::from_be_bytes([progressive[sos + 2], progressive[sos + 3]]) as usize;
    let segment = &progressive[sos..sos + 2 + len];
    let mut out = progressive[..sos].to_vec();
    for _ in 0..scans {
        out.extend_from_slice(segment);
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A tiny, well-formed PNG (valid CRCs) whose IHDR claims `w` x `h` RGB pixels.
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(&mut out, b"IDAT", &[0x78, 0x9C, 0x03, 0x00, 0, 0, 0, 1]);
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// The format by magic bytes: "jpeg", "png", "webp", "gif", "avif", or "unknown".
pub fn magic(bytes: &[u8]) -> &'static str {
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && &bytes[8..12] == b"avif" {
        "avif"
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        "jpeg"
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        "png"
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        "webp"
    } else if bytes.starts_with(b"GIF8") {
        "gif"
    } else {
        "unknown"
    }
}

/// Decodes an answer whose magic bytes say `want`, checking the decoder agrees.
pub fn decode_as(bytes: &[u8], want: &str) -> DynamicImage {
    assert_eq!(magic(bytes), want, "magic bytes");
    if want == "avif" {
        return avifdec(bytes);
    }
    let format = match want {
        "jpeg" => ImageFormat::Jpeg,
        "png" => ImageFormat::Png,
        "webp" => ImageFormat::WebP,
        other => panic!("unexpected output format {other}"),
    };
    image::load_from_memory_with_format(bytes, format)
        .unwrap_or_else(|e| panic!("answer does not decode as {want}: {e}"))
}

/// AVIF through libavif's `avifdec` (the `image` crate reads no AVIF without dav1d): a
/// decoder independent of our encoder. Missing, it fails the test with how to install it.
fn avifdec(bytes: &[u8]) -> DynamicImage {
    let tool = crate::common::procs::find_tool("AVIFDEC", "avifdec", "apt-get install libavif-bin");
    let dir = tempfile::tempdir().expect("tempdir");
    let (input, output) = (dir.path().join("in.avif"), dir.path().join("out.png"));
    std::fs::write(&input, bytes).expect("write AVIF");
    let run = std::process::Command::new(&tool)
        .arg(&input)
        .arg(&output)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", tool.display()));
    assert!(
        run.status.success(),
        "answer does not decode as avif: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    image::open(&output).expect("avifdec's PNG")
}

/// What a reference resizer makes of `src` at exactly w x h.
pub fn reference(src: &DynamicImage, w: u32, h: u32) -> RgbaImage {
    src.resize_exact(w, h, FilterType::Lanczos3).to_rgba8()
}

/// Largest per-channel mean absolute error between two same-sized images, on colours
/// premultiplied by alpha, and on alpha.
pub fn mean_abs_error(a: &RgbaImage, b: &RgbaImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions(), "compared sizes");
    let mut sums = [0f64; 4];
    for (p, q) in a.pixels().zip(b.pixels()) {
        let (pa, qa) = (p[3] as f64 / 255.0, q[3] as f64 / 255.0);
        for (sum, (&u, &v)) in sums.iter_mut().zip(p.0[..3].iter().zip(&q.0[..3])) {
            *sum += (u as f64 * pa - v as f64 * qa).abs();
        }
        sums[3] += (p[3] as f64 - q[3] as f64).abs();
    }
    let n = (a.width() * a.height()) as f64;
    sums.iter().map(|s| s / n).fold(0.0, f64::max)
}

/// Mean colour of a rectangle.
pub fn mean_rgb(img: &RgbaImage, x0: u32, y0: u32, x1: u32, y1: u32) -> [f64; 3] {
    let mut sum = [0f64; 3];
    for y in y0..y1 {
        for x in x0..x1 {
            let p = img.get_pixel(x, y);
            for (s, &v) in sum.iter_mut().zip(&p.0[..3]) {
                *s += v as f64;
            }
        }
    }
    let n = ((x1 - x0) * (y1 - y0)) as f64;
    sum.map(|s| s / n)
}

/// Whether the answer carries EXIF: an `Exif\0\0` APP1 in a JPEG, an `EXIF` chunk in WebP,
/// an `eXIf` chunk in PNG.
pub fn has_exif(bytes: &[u8]) -> bool {
    match magic(bytes) {
        "webp" => {
            let mut i = 12;
            while i + 8 <= bytes.len() {
                if &bytes[i..i + 4] == b"EXIF" {
                    return true;
                }
                let len = u32::from_le_bytes(bytes[i + 4..i + 8].try_into().expect("4")) as usize;
                i += 8 + len + (len & 1);
            }
            false
        }
        "png" => bytes.windows(4).any(|w| w == b"eXIf"),
        _ => bytes.windows(6).any(|w| w == b"Exif\0\0"),
    }
}

// Serving fixtures and checking answers.

/// A directory of fixtures served by a fresh `imgorigin serve --root DIR FLAGS`.
pub struct Site {
    pub dir: tempfile::TempDir,
    pub server: Imgorigin,
}

pub fn site(files: &[(&str, Vec<u8>)], flags: &[&str]) -> Site {
    site_with_env(files, flags, &[])
}

/// As [`site`], the server started with `env` added to its environment.
pub fn site_with_env(files: &[(&str, Vec<u8>)], flags: &[&str], env: &[(&str, &str)]) -> Site {
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write fixture");
    }
    let mut args = vec!["--root".to_owned(), dir.path().display().to_string()];
    args.extend(flags.iter().map(|f| f.to_string()));
    let server = Imgorigin::start_with_env(&args, env);
    Site { dir, server }
}

impl Site {
    pub async fn get(&self, path: &str) -> Fetched {
        self.send("GET", path, &[]).await
    }

    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> Fetched {
        let got = fetch(self.server.addr, method, path, headers).await;
        assert!(got.body.is_ok(), "{method} {path}: transfer aborted");
        got
    }

    /// GETs a transform that must succeed; returns the decoded answer after checking the
    /// status, Content-Type, Content-Length and the magic bytes against `format`.
    pub async fn image(&self, path: &str, accept: Option<&str>, format: &str) -> DynamicImage {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("accept", a)).into_iter().collect();
        let got = self.send("GET", path, &headers).await;
        assert_ok(&got, path);
        assert_eq!(got.header("content-type"), Some(mime(format)), "{path}");
        let len = got.bytes().len().to_string();
        assert_eq!(got.header("content-length"), Some(&*len), "{path}");
        decode_as(got.bytes(), format)
    }
}

pub fn mime(format: &str) -> &'static str {
    match format {
        "webp" => "image/webp",
        "jpeg" => "image/jpeg",
        "png" => "image/png",
        "avif" => "image/avif",
        other => panic!("{other}"),
    }
}

/// A client error answer: the status, text/plain, and a body that tells nothing internal.
pub fn assert_refused(got: &Fetched, status: u16, what: &str, root: &std::path::Path) {
    let body = String::from_utf8_lossy(got.bytes());
    assert_eq!(got.status, status, "{what}: body {body:?}");
    let ct = got.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/plain"), "{what}: content-type {ct:?}");
    assert!(!body.trim().is_empty(), "{what}: empty body");
    let root = root.display().to_string();
    for leak in [
        &*root,
        ".rs:",
        "panick",
        "backtrace",
        "os error",
        "{",
        "mozjpeg",
        "libwebp",
    ] {
        assert!(
            !body.contains(leak),
            "{what}: body leaks {leak:?}: {body:?}"
        );
    }
}

pub fn assert_ok(got: &Fetched, what: &str) {
    let body = String::from_utf8_lossy(got.bytes());
    assert_eq!(got.status, 200, "{what}: {body:?}");
}

pub fn vary_has_accept(got: &Fetched) -> bool {
    got.headers
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            v.split(',')
                .any(|t| t.trim().eq_ignore_ascii_case("accept"))
        })
}

/// A fresh server started with `flags` for one w x h baseline or progressive JPEG of `smooth`
/// and one request `query`: the answer must be `want` (format, width, height) or, for
/// `None`, a quick 422; the server's peak RSS must stay under `limit_mib`.
pub async fn large_jpeg(
    (w, h): (u32, u32),
    progressive: bool,
    (flags, query): (&[&str], &str),
    want: Option<(&str, u32, u32)>,
    limit_mib: u64,
) {
    let jpg = mozjpeg_from_fn(w, h, progressive, |x, y| grainy(x, y, w, h));
    let sof = if progressive { 0xC2 } else { 0xC0 };
    assert_eq!(jpeg_sof(&jpg), (sof, w, h), "fixture");
    assert_eq!(jpeg_luma_sampling(&jpg), 0x22, "fixture is 4:2:0");
    let source_mib = jpg.len() >> 20;
    let s = site(&[("big.jpg", jpg)], flags);
    let start = Instant::now();
    let got = s.get(&format!("/big.jpg?{query}")).await;
    let (took, rss) = (start.elapsed(), s.server.peak_rss_kib());
    let what = format!("{w}x{h} progressive={progressive} ?{query}");
    println!(
        "{what} ({source_mib} MiB source): {} in {took:?}, peak RSS {} MiB",
        got.status,
        rss / 1024
    );
    match want {
        Some((format, ow, oh)) => {
            assert_ok(&got, &what);
            let out = decode_as(got.bytes(), format);
            assert_eq!((out.width(), out.height()), (ow, oh), "{what}");
            // Against the function itself at the output's pixel centres.
            let reference = image::RgbaImage::from_fn(ow, oh, |x, y| {
                let [r, g, b] =
                    smooth_at((x as f64 + 0.5) / ow as f64, (y as f64 + 0.5) / oh as f64);
                image::Rgba([r, g, b, 255])
            });
            let err = mean_abs_error(&out.to_rgba8(), &reference);
            assert!(err < 8.0, "{what}: mean abs error {err:.2}");
        }
        None => {
            assert_refused(&got, 422, &what, s.dir.path());
            assert!(took < Duration::from_secs(5), "{what}: took {took:?}");
        }
    }
    assert!(
        rss < limit_mib * 1024,
        "{what}: peak RSS {rss} KiB over {limit_mib} MiB"
    );
}
