//! imgorigin's transforms against npm `sharp` on this machine: thumbnails/s and SSIM for a
//! 24 MP (6000 x 4000) JPEG made into 400 and 1280 px wide WebP and JPEG at q=80.
//!
//! `cargo bench --bench transform` runs it end to end:
//! 1. writes a deterministic photo-like source (smooth gradients, shapes, textured patches,
//!    mild per-pixel noise) as a baseline q90 JPEG with mozjpeg;
//! 2. times [`imgorigin::transform::render`] on 1 and 2 threads, each thread rendering on its
//!    own, and `benches/sharp/thumbs.mjs` with 1 and 2 images in flight (sharp.concurrency(1),
//!    UV_THREADPOOL_SIZE = in flight, so both sides use as many cores), alternating the two
//!    sides over several rounds and keeping each one's best round;
//! 3. scores both outputs with SSIM (luma, 8 x 8 windows) against the source decoded at full
//!    size by `image` and resized by `image`'s Lanczos3 to the output size;
//! 4. prints a Markdown table and writes it to `target/transform-bench.md`.
//!
//! Needs `node` (>= 20.9) on PATH, and `npm` when `benches/sharp/node_modules` is missing (it
//! runs `npm ci` there). Environment:
//! - `IMGORIGIN_BENCH_DIR`: where the source and the outputs go (kept; the source is reused
//!   when present); default a temporary directory.
//! - `IMGORIGIN_BENCH_COUNT`: thumbnails per thread (per image in flight) per round; 40.
//! - `IMGORIGIN_BENCH_ROUNDS`: rounds; 3.

use imgorigin::transform::{params, render, Limits, Params};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::Barrier;
use std::time::Instant;

const SOURCE_W: u32 = 6000;
const SOURCE_H: u32 = 4000;
const SOURCE_QUALITY: f32 = 90.0;
const QUALITY: u8 = 80;
const THREADS: [usize; 2] = [1, 2];

#[derive(Clone, Copy)]
struct Case {
    width: u32,
    format: &'static str,
}

const CASES: [Case; 4] = [
    Case {
        width: 400,
        format: "webp",
    },
    Case {
        width: 400,
        format: "jpeg",
    },
    Case {
        width: 1280,
        format: "webp",
    },
    Case {
        width: 1280,
        format: "jpeg",
    },
];

impl Case {
    fn name(self) -> String {
        format!("JPEG -> {} px {}", self.width, self.format.to_uppercase())
    }

    fn file(self, side: &str) -> String {
        format!("{side}-{}.{}", self.width, self.format)
    }
}

/// What one side measured for one case.
#[derive(Clone)]
struct Side {
    /// Best thumbnails/s per thread count (index as [`THREADS`]).
    rate: [f64; 2],
    /// Least CPU time per thumbnail, milliseconds, all threads of the process.
    cpu_ms: [f64; 2],
    bytes: usize,
    size: (u32, u32),
    output: PathBuf,
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("transform bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let sharp_dir = root.join("benches/sharp");
    let node = check_tools(&sharp_dir)?;
    let count = env_number("IMGORIGIN_BENCH_COUNT", 40)?;
    let rounds = env_number("IMGORIGIN_BENCH_ROUNDS", 3)?;

    let temp;
    let dir = match std::env::var_os("IMGORIGIN_BENCH_DIR") {
        Some(d) => {
            let d = PathBuf::from(d);
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
            d
        }
        None => {
            temp = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
            temp.path().to_path_buf()
        }
    };
    let source_path = dir.join(format!(
        "source-{SOURCE_W}x{SOURCE_H}-q{SOURCE_QUALITY}.jpg"
    ));
    if !source_path.exists() {
        let t = Instant::now();
        let jpeg = photo_jpeg(SOURCE_W, SOURCE_H, SOURCE_QUALITY)?;
        let partial = source_path.with_extension("partial");
        std::fs::write(&partial, &jpeg).map_err(|e| format!("{}: {e}", partial.display()))?;
        std::fs::rename(&partial, &source_path)
            .map_err(|e| format!("{}: {e}", source_path.display()))?;
        eprintln!("source written in {:.1} s", t.elapsed().as_secs_f64());
    }
    let source =
        std::fs::read(&source_path).map_err(|e| format!("{}: {e}", source_path.display()))?;
    eprintln!(
        "source: {} ({SOURCE_W} x {SOURCE_H}, {:.2} MB, baseline, q{SOURCE_QUALITY}); {count} thumbnails per thread per round, {rounds} rounds",
        source_path.display(),
        source.len() as f64 / 1e6
    );

    let load_start = load_average();
    let limits = Limits::default();
    let empty = Side {
        rate: [0.0; 2],
        cpu_ms: [f64::INFINITY; 2],
        bytes: 0,
        size: (0, 0),
        output: PathBuf::new(),
    };
    let mut ours = vec![empty.clone(); CASES.len()];
    let mut theirs = vec![empty; CASES.len()];
    let mut sharp_versions = String::new();
    for round in 1..=rounds {
        for (i, case) in CASES.iter().enumerate() {
            let query = format!("w={}&format={}&q={QUALITY}", case.width, case.format);
            let params = params::parse(Some(&query), &limits)
                .map_err(|e| format!("{query}: {e}"))?
                .ok_or_else(|| format!("{query}: no transform"))?;
            for (t, &threads) in THREADS.iter().enumerate() {
                let (rate, cpu_ms, out) = measure_ours(&source, &params, &limits, threads, count)?;
                ours[i].rate[t] = ours[i].rate[t].max(rate);
                ours[i].cpu_ms[t] = ours[i].cpu_ms[t].min(cpu_ms);
                ours[i].bytes = out.bytes.len();
                ours[i].size = (out.width, out.height);
                ours[i].output = dir.join(case.file("imgorigin"));
                std::fs::write(&ours[i].output, &out.bytes)
                    .map_err(|e| format!("{}: {e}", ours[i].output.display()))?;

                theirs[i].output = dir.join(case.file("sharp"));
                let report = measure_sharp(
                    &node,
                    &sharp_dir,
                    &source_path,
                    *case,
                    count * threads,
                    threads,
                    &theirs[i].output,
                )?;
                let number = |k: &str| {
                    report
                        .get(k)
                        .and_then(serde_json::Value::as_f64)
                        .unwrap_or(0.0)
                };
                let rate_sharp = number("thumbs_per_s");
                theirs[i].rate[t] = theirs[i].rate[t].max(rate_sharp);
                let cpu_sharp = number("cpu_seconds") * 1e3 / (count * threads) as f64;
                theirs[i].cpu_ms[t] = theirs[i].cpu_ms[t].min(cpu_sharp);
                theirs[i].bytes = number("bytes") as usize;
                theirs[i].size = (number("width") as u32, number("height") as u32);
                sharp_versions = ["sharp", "libvips", "mozjpeg", "libwebp", "highway"]
                    .iter()
                    .map(|k| {
                        format!(
                            "{k} {}",
                            report.get(*k).and_then(|v| v.as_str()).unwrap_or("?")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                eprintln!(
                    "round {round}/{rounds} {:<22} {threads} thread(s): imgorigin {rate:7.2}/s {cpu_ms:6.1} CPU ms each; sharp {rate_sharp:7.2}/s {cpu_sharp:6.1} CPU ms each",
                    case.name()
                );
            }
        }
    }

    eprintln!("SSIM against image's full-size decode + Lanczos3 resize...");
    let reference_source = image::load_from_memory_with_format(&source, image::ImageFormat::Jpeg)
        .map_err(|e| format!("reference decode: {e}"))?
        .into_rgb8();
    let mut table = String::new();
    let _ = writeln!(
        table,
        "| case | imgorigin 1 thread | imgorigin 2 threads | sharp 1 in flight | sharp 2 in flight | ratio 1 | ratio 2 | SSIM imgorigin | SSIM sharp | bytes imgorigin | bytes sharp |"
    );
    let _ = writeln!(table, "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let mut cpu_table = String::new();
    let _ = writeln!(
        cpu_table,
        "| case | imgorigin 1 thread | imgorigin 2 threads | sharp 1 in flight | sharp 2 in flight |"
    );
    let _ = writeln!(cpu_table, "|---|--:|--:|--:|--:|");
    let mut notes = Vec::new();
    for (i, case) in CASES.iter().enumerate() {
        let (o, s) = (&ours[i], &theirs[i]);
        if o.size != s.size {
            notes.push(format!(
                "{}: imgorigin made {} x {}, sharp {} x {}",
                case.name(),
                o.size.0,
                o.size.1,
                s.size.0,
                s.size.1
            ));
        }
        let reference = image::imageops::resize(
            &reference_source,
            o.size.0,
            o.size.1,
            image::imageops::FilterType::Lanczos3,
        );
        let score = |path: &Path| -> Result<f64, String> {
            let img = image::open(path)
                .map_err(|e| format!("{}: {e}", path.display()))?
                .into_rgb8();
            if img.dimensions() != reference.dimensions() {
                return Err(format!(
                    "{}: {:?}, reference {:?}",
                    path.display(),
                    img.dimensions(),
                    reference.dimensions()
                ));
            }
            Ok(ssim(
                &luma(&img),
                &luma(&reference),
                img.width() as usize,
                img.height() as usize,
            ))
        };
        let (ssim_ours, ssim_sharp) = (score(&o.output)?, score(&s.output)?);
        let _ = writeln!(
            table,
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} | {:.2} | {:.4} | {:.4} | {} | {} |",
            case.name(),
            o.rate[0],
            o.rate[1],
            s.rate[0],
            s.rate[1],
            o.rate[0] / s.rate[0],
            o.rate[1] / s.rate[1],
            ssim_ours,
            ssim_sharp,
            o.bytes,
            s.bytes
        );
        let _ = writeln!(
            cpu_table,
            "| {} | {:.1} | {:.1} | {:.1} | {:.1} |",
            case.name(),
            o.cpu_ms[0],
            o.cpu_ms[1],
            s.cpu_ms[0],
            s.cpu_ms[1]
        );
    }

    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let mut report = String::new();
    let _ = writeln!(report, "## imgorigin transforms vs sharp\n");
    let _ = writeln!(
        report,
        "Source: {SOURCE_W} x {SOURCE_H} photo-like baseline JPEG, q{SOURCE_QUALITY}, {:.2} MB (generated by benches/transform.rs). Output q={QUALITY}, width as given, height by aspect.\n",
        source.len() as f64 / 1e6
    );
    let _ = writeln!(
        report,
        "Thumbnails/s, best of {rounds} rounds of {count} per thread (imgorigin: N threads each calling `render` in a loop; sharp: N images in flight, `sharp.concurrency(1)`, `UV_THREADPOOL_SIZE=N`, cache off). Ratio = imgorigin / sharp at the same N. SSIM: luma, 8 x 8 windows every 4 px, against the source decoded at full size and resized with `image`'s Lanczos3.\n"
    );
    report.push_str(&table);
    let _ = writeln!(
        report,
        "\nCPU time per thumbnail, milliseconds (user + system of the whole process over the timed part, least of {rounds} rounds; less sensitive than thumbnails/s to other load on the machine):\n"
    );
    report.push_str(&cpu_table);
    let _ = writeln!(
        report,
        "\n{cpu}, {cores} cores; load average (1, 5, 15 min) at the start: {load_start}, at the end: {}; {node_version}; {sharp_versions}.",
        load_average(),
        node_version = node_version(&node)
    );
    for n in notes {
        let _ = writeln!(report, "\nNote: {n}.");
    }
    println!("{report}");
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let out = target.join("transform-bench.md");
    std::fs::write(&out, &report).map_err(|e| format!("{}: {e}", out.display()))?;
    eprintln!("written to {}; outputs in {}", out.display(), dir.display());
    Ok(())
}

fn load_average() -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    load.split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// User + system CPU seconds of this process so far, all threads (also those that ended).
fn process_cpu_seconds() -> f64 {
    // Fields 14 and 15 of /proc/self/stat, in USER_HZ (100 on Linux) ticks; the command name
    // (field 2) may hold spaces, so count from its closing parenthesis.
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: f64 = after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse::<f64>().ok())
        .sum();
    ticks / 100.0
}

fn env_number(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Err(_) => Ok(default),
        Ok(v) => v
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| format!("{name}={v}: expected a whole number above 0")),
    }
}

/// `node` from PATH (and sharp installed next to the script), or why not.
fn check_tools(sharp_dir: &Path) -> Result<PathBuf, String> {
    let node = PathBuf::from("node");
    let ok = Command::new(&node)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Err("`node` not found on PATH: install Node.js 20.9 or later (sharp 0.35 needs it), e.g. `apt-get install nodejs npm`".into());
    }
    if !sharp_dir.join("node_modules/sharp").exists() {
        eprintln!("benches/sharp/node_modules missing: npm ci");
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(sharp_dir)
            .status()
            .map_err(|e| {
                format!(
                    "`npm` not found on PATH ({e}): install npm, or run `npm ci` in {}",
                    sharp_dir.display()
                )
            })?;
        if !status.success() {
            return Err(format!(
                "`npm ci` in {} failed ({status})",
                sharp_dir.display()
            ));
        }
    }
    Ok(node)
}

fn node_version(node: &Path) -> String {
    Command::new(node)
        .arg("--version")
        .output()
        .map(|o| format!("node {}", String::from_utf8_lossy(&o.stdout).trim()))
        .unwrap_or_default()
}

/// Thumbnails/s and CPU milliseconds per thumbnail of `threads` threads each rendering
/// `count` times (after one warm-up each), and one of the outputs.
fn measure_ours(
    source: &[u8],
    params: &Params,
    limits: &Limits,
    threads: usize,
    count: usize,
) -> Result<(f64, f64, imgorigin::transform::Rendered), String> {
    let headers = http::HeaderMap::new();
    let start = Barrier::new(threads + 1);
    let one = || render(source, params, &headers, limits).map_err(|e| format!("render: {e}"));
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let warm = one();
                    start.wait();
                    let mut last = warm?;
                    for _ in 0..count {
                        last = one()?;
                    }
                    Ok::<_, String>(last)
                })
            })
            .collect();
        start.wait();
        let t = Instant::now();
        let cpu = process_cpu_seconds();
        let mut last = None;
        for w in workers {
            last = Some(
                w.join()
                    .map_err(|_| "render thread panicked".to_owned())??,
            );
        }
        let seconds = t.elapsed().as_secs_f64();
        let cpu = process_cpu_seconds() - cpu;
        let last = last.ok_or("no thread")?;
        let n = (threads * count) as f64;
        Ok((n / seconds, cpu * 1e3 / n, last))
    })
}

fn measure_sharp(
    node: &Path,
    sharp_dir: &Path,
    source: &Path,
    case: Case,
    count: usize,
    in_flight: usize,
    out: &Path,
) -> Result<serde_json::Value, String> {
    let output = Command::new(node)
        .arg(sharp_dir.join("thumbs.mjs"))
        .arg(source)
        .args([
            case.width.to_string(),
            case.format.to_owned(),
            QUALITY.to_string(),
            count.to_string(),
            in_flight.to_string(),
        ])
        .arg(out)
        .env("UV_THREADPOOL_SIZE", in_flight.to_string())
        .current_dir(sharp_dir)
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "thumbs.mjs failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "thumbs.mjs printed no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A deterministic photo-like image as a baseline JPEG: low-frequency colour gradients, a
/// vignette, overlapping soft-edged shapes with their own gradients, textured patches (the
/// fine detail of foliage or fabric) and mild per-pixel sensor noise.
fn photo_jpeg(w: u32, h: u32, quality: f32) -> Result<Vec<u8>, String> {
    let (wu, hu) = (w as usize, h as usize);
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let mut px = vec![0f32; wu * hu * 3];
    // Background: per channel, separable low-frequency waves, and a vignette.
    let wave = |n: usize, f: [f32; 3], p: f32| -> Vec<f32> {
        (0..n)
            .map(|i| {
                let t = i as f32 / n as f32;
                (t * f[0] + p).sin() * 0.6
                    + (t * f[1] + p * 2.0).sin() * 0.3
                    + (t * f[2]).cos() * 0.1
            })
            .collect()
    };
    for c in 0..3 {
        let cx = wave(
            wu,
            [3.1 + c as f32, 7.3, 13.0 + c as f32 * 2.0],
            c as f32 * 1.7,
        );
        let cy = wave(hu, [2.3, 5.9 + c as f32, 11.0], c as f32 * 0.9 + 0.4);
        let base = [110.0, 120.0, 135.0][c];
        for y in 0..hu {
            let vy = (y as f32 / hu as f32 - 0.5) * 2.0;
            for x in 0..wu {
                let vx = (x as f32 / wu as f32 - 0.5) * 2.0;
                let vignette = 1.0 - 0.25 * (vx * vx + vy * vy);
                px[(y * wu + x) * 3 + c] =
                    (base + 55.0 * cx[x] + 45.0 * cy[y] + 20.0 * cx[x] * cy[y]) * vignette;
            }
        }
    }
    // Shapes: ellipses and rectangles, each with a colour, a gradient and a soft edge.
    for i in 0..140 {
        let (cx, cy) = (rng.unit() * w as f32, rng.unit() * h as f32);
        let (rx, ry) = (40.0 + rng.unit() * 700.0, 40.0 + rng.unit() * 500.0);
        let colour = [rng.unit() * 255.0, rng.unit() * 255.0, rng.unit() * 255.0];
        let (gx, gy) = ((rng.unit() - 0.5) * 0.3, (rng.unit() - 0.5) * 0.3);
        let ellipse = i % 3 != 0;
        let opacity = 0.5 + rng.unit() * 0.5;
        let textured = i % 5 == 0;
        let (fx, fy) = (0.2 + rng.unit() * 1.2, 0.2 + rng.unit() * 1.2);
        let x0 = (cx - rx).max(0.0) as usize;
        let x1 = ((cx + rx) as usize).min(wu);
        let y0 = (cy - ry).max(0.0) as usize;
        let y1 = ((cy + ry) as usize).min(hu);
        for y in y0..y1 {
            let dy = (y as f32 - cy) / ry;
            for x in x0..x1 {
                let dx = (x as f32 - cx) / rx;
                // Distance inside the shape, 0 at the edge, ~1 at the centre.
                let inside = if ellipse {
                    1.0 - (dx * dx + dy * dy).sqrt()
                } else {
                    1.0 - dx.abs().max(dy.abs())
                };
                if inside <= 0.0 {
                    continue;
                }
                let edge = (inside * rx.min(ry) / 3.0).min(1.0) * opacity; // ~3 px soft edge
                let shade = 1.0 + gx * dx * rx / 100.0 + gy * dy * ry / 100.0;
                let texture = if textured {
                    18.0 * ((x as f32 * fx).sin() * (y as f32 * fy).sin())
                } else {
                    0.0
                };
                let p = (y * wu + x) * 3;
                for c in 0..3 {
                    let v = colour[c] * shade.clamp(0.3, 1.7) + texture;
                    px[p + c] = px[p + c] * (1.0 - edge) + v * edge;
                }
            }
        }
    }
    // Sensor noise: luma-correlated, roughly Gaussian (sum of uniforms), plus a little chroma.
    let mut rgb = vec![0u8; wu * hu * 3];
    for (p, out) in px.chunks_exact(3).zip(rgb.chunks_exact_mut(3)) {
        let n = (rng.unit() + rng.unit() + rng.unit() - 1.5) * 7.0;
        for c in 0..3 {
            let v = p[c] + n + (rng.unit() - 0.5) * 3.0;
            out[c] = v.round().clamp(0.0, 255.0) as u8;
        }
    }
    let run = std::panic::catch_unwind(|| -> std::io::Result<Vec<u8>> {
        let mut c = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        c.set_fastest_defaults(); // baseline, 4:2:0, standard Huffman tables: like a camera
        c.set_size(wu, hu);
        c.set_quality(quality);
        let mut started = c.start_compress(Vec::new())?;
        started.write_scanlines(&rgb)?;
        started.finish()
    });
    match run {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => Err(format!("source JPEG: {e}")),
        Err(_) => Err("source JPEG: mozjpeg failed".into()),
    }
}

struct XorShift(u64);

impl XorShift {
    /// Uniform in [0, 1).
    fn unit(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// BT.601 luma of RGB8.
fn luma(img: &image::RgbImage) -> Vec<f64> {
    img.pixels()
        .map(|p| 0.299 * f64::from(p[0]) + 0.587 * f64::from(p[1]) + 0.114 * f64::from(p[2]))
        .collect()
}

/// Mean SSIM (Wang et al. 2004) over 8 x 8 windows every 4 pixels, uniform weights,
/// C1 = (0.01 L)^2, C2 = (0.03 L)^2 with L = 255, sample (N - 1) variances.
fn ssim(a: &[f64], b: &[f64], w: usize, h: usize) -> f64 {
    const WIN: usize = 8;
    const STEP: usize = 4;
    const C1: f64 = (0.01 * 255.0) * (0.01 * 255.0);
    const C2: f64 = (0.03 * 255.0) * (0.03 * 255.0);
    if w < WIN || h < WIN {
        return f64::NAN;
    }
    let n = (WIN * WIN) as f64;
    let (mut total, mut windows) = (0.0, 0usize);
    for y0 in (0..=h - WIN).step_by(STEP) {
        for x0 in (0..=w - WIN).step_by(STEP) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for y in y0..y0 + WIN {
                for x in x0..x0 + WIN {
                    let (va, vb) = (a[y * w + x], b[y * w + x]);
                    sa += va;
                    sb += vb;
                    saa += va * va;
                    sbb += vb * vb;
                    sab += va * vb;
                }
            }
            let (ma, mb) = (sa / n, sb / n);
            let var_a = (saa - n * ma * ma) / (n - 1.0);
            let var_b = (sbb - n * mb * mb) / (n - 1.0);
            let cov = (sab - n * ma * mb) / (n - 1.0);
            total += ((2.0 * ma * mb + C1) * (2.0 * cov + C2))
                / ((ma * ma + mb * mb + C1) * (var_a + var_b + C2));
            windows += 1;
        }
    }
    total / windows as f64
}
