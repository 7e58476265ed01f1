//! A real browser reading cross-origin with Range: headless Chromium (Debian `chromium`, driven
//! by Playwright for Python, tests/browser_cors.py) on a page of one origin fetches an object
//! from `imgorigin serve --cors-origin <that page's origin>` on another, as a zoom viewer does.
//! A pass-through TCP observer between the browser and imgorigin (it forwards every byte and
//! only reads request heads) records each request's method and Range, and this test asserts:
//! - 50 reads whose Range is not CORS-safelisted (suffix ranges `bytes=-N`, two ranges) cost
//!   exactly one preflight (OPTIONS), the preflight cache holding across a pause longer than
//!   Chromium's 5 s default for an answer without Access-Control-Max-Age;
//! - 50 safelisted single ranges (`bytes=N-M`, `bytes=N-`) on the same URL cost none;
//! - all 100 reads reach the origin as the page sent them (100 GETs, in order, Range intact)
//!   and come back right: 206, Content-Range readable from JS (exposed), every byte equal,
//!   the two-range answers parsed as multipart/byteranges in the page;
//! - an OPTIONS that is not a preflight answers 204 with `Allow: GET, HEAD, OPTIONS`.
//!
//! The object is served with `--cache-control no-store`: with a cacheable answer Chromium's
//! HTTP cache serves overlapping ranges itself and sends sub-range If-Range GETs of its own, so
//! the GETs at the origin would no longer be the page's reads. Conditional headers (If-Range,
//! If-Match, If-None-Match) are left out of the reads on purpose: Chromium bypasses its
//! preflight cache for any request carrying one (it turns the request's cache mode to
//! no-store), so each such read is preflighted whatever the server answers.
//!
//! Needs `chromium` (apt-get install chromium; or CHROMIUM=path) and a Python with Playwright
//! (`.venv/bin/python` with `pip install playwright==1.65.2`; or PLAYWRIGHT_PYTHON=path);
//! Playwright's own browser download is never used. A missing tool fails the test.

mod common;

use common::procs::find_tool;
use common::{fetch, pattern, Imgorigin};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const OBJECT_LEN: usize = 1 << 20;
const KEY: &str = "viewer/slide.bin";
/// The whole browser part (start, 100 reads, a 6 s pause) must end within this.
const BROWSER_BUDGET: Duration = Duration::from_secs(60);

/// One request head seen on its way to imgorigin.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    range: Option<String>,
    origin: Option<String>,
    request_headers: Option<String>,
    /// Content-Length other than 0 or Transfer-Encoding: a body the observer would misread.
    has_body: bool,
}

/// A TCP pass-through in front of imgorigin that records every request head (not a mock: the
/// bytes go through unchanged, both ways).
struct Observer {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Observer {
    async fn start(upstream: u16) -> Observer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let up = async move {
                        let mut buf = vec![0u8; 16 * 1024];
                        let mut pending = Vec::new();
                        while let Ok(n) = cr.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                            pending.extend_from_slice(&buf[..n]);
                            while let Some(end) = find(&pending, b"\r\n\r\n") {
                                let head: Vec<u8> = pending.drain(..end + 4).collect();
                                log.lock().unwrap().push(parse_head(&head));
                            }
                            if sw.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let down = async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    tokio::join!(up, down);
                });
            }
        });
        Observer { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn parse_head(head: &[u8]) -> Seen {
    let text = String::from_utf8_lossy(head);
    let mut lines = text.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = request_line.next().unwrap_or_default().to_owned();
    let target = request_line.next().unwrap_or_default().to_owned();
    let mut seen = Seen {
        method,
        target,
        range: None,
        origin: None,
        request_headers: None,
        has_body: false,
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_owned();
        match name.trim().to_ascii_lowercase().as_str() {
            "range" => seen.range = Some(value),
            "origin" => seen.origin = Some(value),
            "access-control-request-headers" => seen.request_headers = Some(value),
            "content-length" => seen.has_body |= value != "0",
            "transfer-encoding" => seen.has_body = true,
            _ => {}
        }
    }
    seen
}

/// Serves one blank HTML page for any path: the page's origin, which is not imgorigin's.
async fn serve_page(listener: TcpListener) {
    while let Ok((mut conn, _)) = listener.accept().await {
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 4096];
            while find(&head, b"\r\n\r\n").is_none() {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let page = "<!doctype html><meta charset=utf-8><title>viewer</title>";
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\
                 cache-control: no-store\r\nconnection: close\r\n\r\n{page}",
                page.len()
            );
            let _ = conn.write_all(answer.as_bytes()).await;
        });
    }
}

/// The Python that has Playwright: PLAYWRIGHT_PYTHON, else the project's .venv.
fn playwright_python() -> PathBuf {
    let install = "python3 -m venv .venv && .venv/bin/pip install playwright==1.65.2 \
                   (tests/run.sh installs it; the browser is Debian's chromium, never \
                   Playwright's download)";
    let python = std::env::var_os("PLAYWRIGHT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    let works = Command::new(&python)
        .args(["-c", "import playwright.sync_api"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        works,
        "{} cannot import playwright (set PLAYWRIGHT_PYTHON to a Python that can). Install: {install}",
        python.display()
    );
    python
}

/// Runs tests/browser_cors.py within BROWSER_BUDGET; kills its whole process group (Python,
/// Playwright's driver, Chromium) when it overruns. Returns its JSON report.
fn run_browser(
    chromium: &Path,
    page: &str,
    url: &str,
    object: &Path,
) -> (serde_json::Value, Duration) {
    use std::os::unix::process::CommandExt;
    let python = playwright_python();
    let start = Instant::now();
    let mut child = Command::new(&python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser_cors.py"
        ))
        .arg("--chromium")
        .arg(chromium)
        .args(["--page", page, "--url", url, "--object"])
        .arg(object)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("start tests/browser_cors.py");
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if start.elapsed() > BROWSER_BUDGET {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "the browser did not finish within {BROWSER_BUDGET:?}; its stderr:\n{}",
                stderr.join().unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let elapsed = start.elapsed();
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    assert!(
        status.success(),
        "tests/browser_cors.py failed ({status}):\n{stderr}"
    );
    let report = stdout.lines().last().unwrap_or_default();
    let report = serde_json::from_str(report)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {stdout}\n{stderr}"));
    (report, elapsed)
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_preflights_once_for_fifty_range_reads() {
    let chromium = find_tool("CHROMIUM", "chromium", "apt-get install chromium");

    let root = tempfile::tempdir().expect("tempdir");
    let object = root.path().join(KEY);
    std::fs::create_dir_all(object.parent().unwrap()).expect("mkdir");
    std::fs::write(&object, pattern(OBJECT_LEN, 0xC0125)).expect("write object");

    let page_listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let page_origin = format!(
        "http://127.0.0.1:{}",
        page_listener.local_addr().unwrap().port()
    );
    tokio::spawn(serve_page(page_listener));

    let server = Imgorigin::start(&[
        "--root".into(),
        root.path().display().to_string(),
        "--cors-origin".into(),
        page_origin.clone(),
        "--cache-control".into(),
        "no-store".into(),
    ]);
    let observer = Observer::start(server.addr.port()).await;
    let url = format!("http://127.0.0.1:{}/{KEY}", observer.port);

    let (report, elapsed) = tokio::task::spawn_blocking({
        let (page, url, object) = (format!("{page_origin}/"), url.clone(), object.clone());
        move || run_browser(&chromium, &page, &url, &object)
    })
    .await
    .expect("browser thread");

    // Every read right, as the page saw it.
    let reads = report["reads"].as_array().expect("reads");
    let phase = |r: &serde_json::Value| r["phase"].as_str().unwrap_or_default().to_owned();
    assert_eq!(reads.len(), 100, "{report}");
    let count = |p: &str| reads.iter().filter(|r| phase(r) == p).count();
    assert_eq!((count("preflighted"), count("simple")), (50, 50));
    let bad: Vec<String> = reads
        .iter()
        .filter(|r| r["ok"] != true || r["status"] != 206)
        .map(|r| format!("{} {}: {} {}", phase(r), r["range"], r["status"], r["why"]))
        .collect();
    assert!(
        bad.is_empty(),
        "reads that failed in the page:\n{}",
        bad.join("\n")
    );

    // What reached the origin: the page's reads in order, one GET each, plus the preflights.
    let seen = observer.seen();
    let log: Vec<String> = seen
        .iter()
        .map(|s| {
            format!(
                "{} {} range={:?} acrh={:?}",
                s.method, s.target, s.range, s.request_headers
            )
        })
        .collect();
    let log = log.join("\n");
    assert!(
        seen.iter()
            .all(|s| s.target == format!("/{KEY}") && !s.has_body),
        "requests for something else, or with a body:\n{log}"
    );
    assert!(
        seen.iter()
            .all(|s| s.origin.as_deref() == Some(&page_origin)),
        "every request carries Origin {page_origin}:\n{log}"
    );
    let gets: Vec<&Seen> = seen.iter().filter(|s| s.method == "GET").collect();
    let options: Vec<(usize, &Seen)> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.method == "OPTIONS")
        .collect();
    assert_eq!(
        gets.len() + options.len(),
        seen.len(),
        "only GET and OPTIONS:\n{log}"
    );
    let sent: Vec<Option<&str>> = reads.iter().map(|r| r["range"].as_str()).collect();
    let got: Vec<Option<&str>> = gets.iter().map(|s| s.range.as_deref()).collect();
    assert_eq!(
        got, sent,
        "the GETs at the origin are not the page's 100 reads, in order:\n{log}"
    );
    // The position in the log of the first simple read's GET splits the two phases.
    let first_simple = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.method == "GET")
        .nth(50)
        .map(|(i, _)| i)
        .unwrap();
    let preflights_before = options.iter().filter(|(i, _)| *i < first_simple).count();
    let preflights_after = options.len() - preflights_before;
    println!(
        "chromium {}: {} preflights for the 50 non-safelisted reads, {} for the 50 simple \
         ones, {} GETs; browser part {:.1} s (6 s of it a pause)",
        report["chromium"].as_str().unwrap_or("?"),
        preflights_before,
        preflights_after,
        gets.len(),
        elapsed.as_secs_f64()
    );
    assert_eq!(
        preflights_before, 1,
        "50 non-safelisted range reads of one URL must cost one preflight (Access-Control-Max-Age \
         86400 is cached):\n{log}"
    );
    assert_eq!(
        seen[0].method, "OPTIONS",
        "the preflight comes before the first read:\n{log}"
    );
    let asked = seen[0].request_headers.as_deref().unwrap_or_default();
    assert_eq!(asked.to_ascii_lowercase(), "range", "{log}");
    assert_eq!(
        preflights_after, 0,
        "safelisted single ranges need no preflight:\n{log}"
    );

    // An OPTIONS that is not a preflight (no Origin, no Access-Control-Request-Method): what
    // the resource allows.
    let plain = fetch(server.addr, "OPTIONS", &format!("/{KEY}"), &[]).await;
    assert_eq!(plain.status.as_u16(), 204, "{:?}", plain.headers);
    let allow = plain.header("allow").unwrap_or_default();
    let mut methods: Vec<&str> = allow.split(',').map(str::trim).collect();
    methods.sort_unstable();
    assert_eq!(methods, ["GET", "HEAD", "OPTIONS"], "Allow: {allow}");
    assert!(
        plain.header("access-control-allow-origin").is_none(),
        "{:?}",
        plain.headers
    );
}
