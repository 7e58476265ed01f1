//! A real multi-range client: GDAL (Debian's gdal-bin) reads a window of a Cloud Optimized
//! GeoTIFF from `imgorigin serve` over `/vsicurl/` with `GDAL_HTTP_MULTIRANGE=SINGLE_GET`.
//!
//! With that option GDAL's GTiff driver asks for every tile of the window that is not already
//! cached in ONE GET (VSICurlHandle::ReadMultiRangeSingleGet, called through
//! GTiffRasterBand::CacheMultiRange): one range per run of contiguous tiles, i.e. one range per
//! tile row of the window in a COG. It then reads the answer as multipart/byteranges: it finds
//! the boundary in the `Content-Type` header and takes each part, in order, as the bytes of the
//! next range it asked for (it does not read the parts' Content-Range). If the answer is not that,
//! it prints `ERROR 1` and reads the tiles again with plain single-range GETs, so the pixels
//! come out right anyway: the test therefore also checks GDAL's stderr and that no tile byte
//! is fetched twice.
//!
//! A pass-through TCP observer between GDAL and imgorigin records each request line and Range
//! header and each answer's status, Content-Type, bytes on the wire and multipart parts. The
//! window's pixels are compared with the same window read from the local file by GDAL and with
//! the pattern the test wrote.
//!
//! `gdal_translate` comes from `GDAL_TRANSLATE` or PATH (tests/run.sh installs gdal-bin); a
//! missing tool fails the test.

mod common;

use common::procs::find_tool;
use common::wire_observer::{Exchange, Observer};
use common::{sha256, Imgorigin};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Raster size (square, one band, Byte) and COG tile size.
const SIZE: usize = 4096;
const TILE: usize = 256;

fn gdal_translate() -> PathBuf {
    find_tool(
        "GDAL_TRANSLATE",
        "gdal_translate",
        "apt-get install gdal-bin",
    )
}

/// Runs a GDAL tool with a clean network environment; fails on a non-zero exit or after two
/// minutes. Returns its stderr.
fn run_gdal(what: &str, args: &[String], dir: &Path) -> String {
    let (out, err) = (
        dir.join(format!("{what}.out")),
        dir.join(format!("{what}.err")),
    );
    let mut cmd = Command::new(gdal_translate());
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("stdout file"))
        .stderr(std::fs::File::create(&err).expect("stderr file"));
    for var in [
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "GDAL_NUM_THREADS",
        "CPL_DEBUG",
        "CPL_CURL_VERBOSE",
        "VSI_CACHE",
        "GDAL_HTTP_MULTIRANGE",
        "GDAL_DISABLE_READDIR_ON_OPEN",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS",
    ] {
        cmd.env_remove(var);
    }
    let mut child = cmd.spawn().expect("start gdal_translate");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gdal_translate ({what}) took over 2 minutes: {args:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = std::fs::read_to_string(&err).unwrap_or_default();
    assert!(
        status.success(),
        "gdal_translate ({what}) failed: {status}\nargs: {args:?}\nstderr:\n{stderr}"
    );
    stderr
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// The config that makes GDAL read only the file over HTTP (no directory listing, no sidecar
/// probes, no retries that would hide an answer) and ask for a window's tiles in one GET.
const REMOTE_CONFIG: [(&str, &str); 6] = [
    ("GDAL_HTTP_MULTIRANGE", "SINGLE_GET"),
    ("GDAL_DISABLE_READDIR_ON_OPEN", "EMPTY_DIR"),
    ("CPL_VSIL_CURL_ALLOWED_EXTENSIONS", ".tif"),
    ("GDAL_HTTP_MAX_RETRY", "0"),
    ("VSI_CACHE", "FALSE"),
    ("GDAL_HTTP_TIMEOUT", "60"),
];

/// Window (x, y, width, height) in pixels.
type Window = (usize, usize, usize, usize);

/// Writes `pixel` over SIZE x SIZE as a headerless raw file with an ENVI header, and has GDAL
/// turn it into a tiled, DEFLATE-compressed COG at `cog`.
fn make_cog(work: &Path, cog: &Path, pixel: &dyn Fn(usize, usize) -> u8) {
    let raw = work.join("source.raw");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&raw).expect("raw"));
    let mut row = vec![0u8; SIZE];
    for y in 0..SIZE {
        for (x, p) in row.iter_mut().enumerate() {
            *p = pixel(x, y);
        }
        file.write_all(&row).expect("write raw");
    }
    file.flush().expect("flush");
    std::fs::write(
        work.join("source.hdr"),
        format!(
            "ENVI\nsamples = {SIZE}\nlines = {SIZE}\nbands = 1\nheader offset = 0\n\
             file type = ENVI Standard\ndata type = 1\ninterleave = bsq\nbyte order = 0\n"
        ),
    )
    .expect("hdr");
    let tile = TILE.to_string();
    run_gdal(
        "make-cog",
        &strings(&[
            "-q",
            "-of",
            "COG",
            "-co",
            &format!("BLOCKSIZE={tile}"),
            "-co",
            "COMPRESS=DEFLATE",
            "-co",
            "OVERVIEWS=AUTO",
            raw.to_str().expect("utf-8 path"),
            cog.to_str().expect("utf-8 path"),
        ]),
        work,
    );
}

/// Reads `window` of `source` with gdal_translate into an uncompressed GeoTIFF at `out`,
/// with `config` as `--config` options. Returns GDAL's stderr.
fn read_window(
    what: &str,
    source: &str,
    window: Window,
    out: &Path,
    config: &[(&str, &str)],
    work: &Path,
) -> String {
    let mut args = Vec::new();
    for (k, v) in config {
        args.extend(strings(&["--config", k, v]));
    }
    let (x, y, w, h) = window;
    args.extend(strings(&[
        "-q",
        "-of",
        "GTiff",
        "-srcwin",
        &x.to_string(),
        &y.to_string(),
        &w.to_string(),
        &h.to_string(),
        source,
        out.to_str().expect("utf-8 path"),
    ]));
    run_gdal(what, &args, work)
}

/// The pixels of a GeoTIFF as raw bytes, through GDAL's ENVI writer (local files only: with
/// GDAL_DISABLE_READDIR_ON_OPEN=EMPTY_DIR, GDAL 3.6's ENVI writer fails without a message, as it
/// cannot find the .hdr it has just written; so the remote read writes a GeoTIFF).
fn raw_pixels(tif: &Path, work: &Path) -> Vec<u8> {
    let raw = tif.with_extension("raw");
    run_gdal(
        "to-raw",
        &strings(&[
            "-q",
            "-of",
            "ENVI",
            tif.to_str().expect("utf-8 path"),
            raw.to_str().expect("utf-8 path"),
        ]),
        work,
    );
    std::fs::read(raw).expect("read raw pixels")
}

// ---------------------------------------------------------------------------------------------
// The scenario
// ---------------------------------------------------------------------------------------------

struct Scenario {
    name: &'static str,
    pixel: fn(usize, usize) -> u8,
    window: Window,
}

/// Varies with x, y and the tile, so that a tile read from the wrong place shows.
fn textured(x: usize, y: usize) -> u8 {
    let tile = (x / TILE) * 31 + (y / TILE) * 17;
    ((x * 7 + y * 13 + ((x * y) >> 5) + tile) & 0xff) as u8
}

fn run(scenario: &Scenario) {
    let started = Instant::now();
    let root = tempfile::tempdir().expect("tempdir");
    let work = tempfile::tempdir().expect("tempdir");
    let (root, work) = (root.path(), work.path());
    let cog = root.join("cog.tif");
    make_cog(work, &cog, &scenario.pixel);
    let file_size = std::fs::metadata(&cog).expect("cog").len();
    let version = Command::new(gdal_translate())
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();

    // What the window must hold: the pattern, and GDAL's reading of the local file.
    let (x0, y0, w, h) = scenario.window;
    let mut expected = Vec::with_capacity(w * h);
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            expected.push((scenario.pixel)(x, y));
        }
    }
    let local_tif = work.join("local.tif");
    read_window(
        "local",
        cog.to_str().expect("utf-8 path"),
        scenario.window,
        &local_tif,
        &[],
        work,
    );
    let local = raw_pixels(&local_tif, work);
    assert!(
        local == expected,
        "{}: GDAL's reading of the local COG differs from the pattern written",
        scenario.name
    );

    // The same window over HTTP, through the observer.
    let server = Imgorigin::start(&["--root".to_owned(), root.display().to_string()]);
    let observer = Observer::start(server.addr.port());
    let url = format!("/vsicurl/http://127.0.0.1:{}/cog.tif", observer.port);
    let remote_tif = work.join("remote.tif");
    let took = Instant::now();
    let stderr = read_window(
        "remote",
        &url,
        scenario.window,
        &remote_tif,
        &REMOTE_CONFIG,
        work,
    );
    let gdal_took = took.elapsed();
    // The observer records an answer once it has forwarded all of it; GDAL has exited, so it
    // has read every answer: wait for the bookkeeping only.
    let deadline = Instant::now() + Duration::from_secs(10);
    let exchanges = loop {
        let ex = observer.exchanges();
        if ex.iter().all(|e| e.complete) || Instant::now() > deadline {
            break ex;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let remote = raw_pixels(&remote_tif, work);
    let sent = observer.bytes_to_client();

    let tiles_x = (x0 + w - 1) / TILE - x0 / TILE + 1;
    let tiles_y = (y0 + h - 1) / TILE - y0 / TILE + 1;
    let log: Vec<String> = exchanges.iter().map(Exchange::line).collect();
    let multi: Vec<&Exchange> = exchanges
        .iter()
        .filter(|e| e.method == "GET" && e.ranges().len() >= 2)
        .collect();
    let report = format!(
        "{name}: {version}\n  COG {file_size} bytes ({SIZE}x{SIZE} Byte, {TILE}x{TILE} DEFLATE tiles, \
         overviews); window -srcwin {x0} {y0} {w} {h} = {tiles_x}x{tiles_y} tiles\n  \
         {n} requests, {m} with several ranges (ranges each: {per:?}); {sent} bytes sent to GDAL \
         ({pct:.2}% of the file); gdal_translate over HTTP took {gdal_took:?}\n  exchanges:\n    {log}\n  \
         GDAL stderr: {stderr:?}",
        name = scenario.name,
        n = exchanges.len(),
        m = multi.len(),
        per = multi.iter().map(|e| e.ranges().len()).collect::<Vec<_>>(),
        pct = sent as f64 * 100.0 / file_size as f64,
        log = log.join("\n    "),
    );
    eprintln!("{report}");
    let name = scenario.name;

    assert!(
        remote.len() == expected.len() && remote == expected,
        "{name}: the window read over HTTP differs from the pattern ({} bytes, sha256 {}; \
         expected {} bytes, sha256 {})",
        remote.len(),
        sha256(&remote),
        expected.len(),
        sha256(&expected)
    );
    assert!(remote == local, "{name}: remote and local reads differ");
    assert!(
        exchanges.iter().all(|e| e.complete),
        "{name}: an answer's framing was not followed to its end"
    );
    assert!(
        exchanges.iter().all(|e| e.target == "/cog.tif"),
        "{name}: GDAL asked for something else than the file (listing, sidecars)"
    );
    assert!(
        !multi.is_empty(),
        "{name}: GDAL sent no request with several ranges: the test no longer exercises multipart"
    );
    for e in &multi {
        assert!(
            e.status == Some(206) && e.is_multipart(),
            "{name}: a request with {} ranges was not answered 206 multipart/byteranges: {}",
            e.ranges().len(),
            e.line()
        );
        // GDAL takes the parts in order, one per range it asked for, without reading their
        // Content-Range: anything else hands it the wrong bytes or makes it give up.
        assert_eq!(
            e.parts.clone().expect("parts of a multipart answer"),
            Ok(e.ranges()),
            "{name}: the parts do not match the ranges asked, one for one and in order: {}",
            e.line()
        );
    }
    for e in &exchanges {
        assert!(
            !(e.method == "GET" && e.status == Some(200)),
            "{name}: a GET was answered 200 (the whole file): {}",
            e.line()
        );
    }
    assert!(
        !stderr.contains("ERROR"),
        "{name}: GDAL reported errors reading over HTTP: {stderr:?}"
    );
    // GDAL used the multipart answers: no byte they carried was asked for again (when it
    // cannot use one, it repeats the request and then reads the tiles with single ranges).
    let first_multi = exchanges
        .iter()
        .position(|m| m.method == "GET" && m.ranges().len() >= 2)
        .expect("a multi-range request");
    let delivered = exchanges[first_multi].ranges();
    let refetched: Vec<(usize, (u64, u64))> = exchanges
        .iter()
        .enumerate()
        .skip(first_multi + 1)
        .flat_map(|(i, e)| e.ranges().into_iter().map(move |r| (i, r)))
        .filter(|(_, r)| delivered.iter().any(|d| r.0 <= d.1 && d.0 <= r.1))
        .collect();
    assert!(
        refetched.is_empty(),
        "{name}: GDAL asked again for bytes a multipart answer had carried (it could not use \
         the answer): (exchange, range) {refetched:?}"
    );
    // Bytes on the wire: what GDAL asked for plus framing (status line and headers, about
    // 350 bytes an answer; part heads, about 130 bytes a part), and far below the file: the
    // window's tiles are 20 of the 256 full-resolution tiles of the textured COG, and about a
    // ninth of the bordered one.
    let asked: u64 = exchanges
        .iter()
        .flat_map(|e| e.ranges())
        .map(|(a, b)| b - a + 1)
        .sum();
    let parts: u64 = multi.iter().map(|e| e.ranges().len() as u64).sum();
    let framing = 1024 * exchanges.len() as u64 + 256 * parts;
    assert!(
        sent <= asked + framing,
        "{name}: {sent} bytes sent to GDAL, more than the {asked} bytes asked plus {framing} \
         of framing"
    );
    assert!(
        sent < file_size / 4,
        "{name}: {sent} bytes sent to GDAL for a window of {tiles_x}x{tiles_y} tiles: not well \
         below the file's {file_size}"
    );
    eprintln!(
        "{}: pixels identical (sha256 {}); test took {:?}",
        scenario.name,
        sha256(&remote),
        started.elapsed()
    );
}

/// A textured COG: every tile compresses to tens of KiB, so the window's tile rows lie far
/// apart in the file and GDAL asks for one range per tile row.
#[test]
fn gdal_single_get_reads_a_cog_window_from_multipart_answers() {
    run(&Scenario {
        name: "textured",
        pixel: textured,
        window: (600, 700, 1000, 800),
    });
}

/// A COG whose tiles outside the window's columns are all zero (a nodata border, as in most
/// satellite scenes): they compress to a few hundred bytes, so the ranges GDAL asks for are
/// about a KiB apart. GDAL still needs one part per range: RFC 9110 §15.3.7.2 lets a server
/// coalesce only ranges "separated by a gap that is smaller than the overhead of sending
/// multiple parts" (about 80 bytes, it says).
#[test]
fn gdal_single_get_reads_a_window_between_nodata_tiles() {
    fn bordered(x: usize, y: usize) -> u8 {
        if (TILE..4 * TILE).contains(&x) {
            textured(x, y)
        } else {
            0
        }
    }
    run(&Scenario {
        name: "nodata border",
        pixel: bordered,
        window: (300, 300, 700, 700),
    });
}
