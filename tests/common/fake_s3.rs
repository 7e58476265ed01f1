//! A scriptable fake S3 over real TCP, for the fault tests (tests/faults.rs).
//!
//! By default (fake_s3_answers.rs) it behaves like S3 for path-style `GET`/`HEAD
//! /images/<key>`: 200 with Content-Length, a strong ETag, Last-Modified and Content-Type; 206
//! with Content-Range for one `bytes=a-b`, `bytes=a-` or `bytes=-n`; 416 when unsatisfiable;
//! If-Match (412) and If-None-Match (304), then If-Unmodified-Since and If-Modified-Since; 404
//! with an XML `NoSuchKey` body; 431 without body and `Connection: close` for a request head
//! over 8 KiB; connections kept alive. Every request is recorded (method, path, headers,
//! time) and every connection counted.
//!
//! Faults (fake_s3_faults.rs) come from a script, `Fn(&Req, n) -> Plan`, asked once per request
//! with `n`, the request's 0-based ordinal among requests of the same method for the same key.
//! A plan may also replace the object (new bytes, new ETag) for the requests after this one.
//!
//! The server runs on its own runtime, so a test that blocks its own threads cannot stall it,
//! and dropping the `FakeS3` closes every socket it holds.

#[path = "fake_s3_answers.rs"]
mod answers;
#[path = "fake_s3_faults.rs"]
mod faults;

pub use answers::Answer;
pub use faults::{Fault, Plan};

use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The answer written, unasked, on a kept-alive connection by [`Fault::Unsolicited`].
pub const UNSOLICITED: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nETag: \"evil\"\r\n\
Content-Length: 22\r\n\r\n<script>evil</script>\n";

/// The bucket imgorigin is pointed at (`--bucket`).
pub const BUCKET: &str = super::procs::BUCKET;
/// S3 refuses request heads larger than this with 431.
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;

/// One stored version.
#[derive(Clone, Debug)]
pub struct Object {
    pub bytes: Bytes,
    /// Quoted, as sent: `"<32 hex digits>"`.
    pub etag: String,
    pub last_modified: SystemTime,
    pub content_type: String,
    /// Headers stored with it (Content-Encoding, Content-Disposition, Expires...), sent with
    /// 200 and 206, and Expires with 304.
    pub stored: Vec<(&'static str, String)>,
}

/// A request as the fake received it.
#[derive(Clone, Debug)]
pub struct Req {
    pub method: String,
    /// The raw request target.
    pub path: String,
    /// The decoded key, for `/images/<key>`.
    pub key: Option<String>,
    /// Names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    pub at: Instant,
    /// Which connection (0-based, in accept order) carried it.
    pub conn: usize,
}

impl Req {
    /// The first header called `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

type Script = dyn Fn(&Req, usize) -> Plan + Send + Sync;

#[derive(Default)]
struct State {
    objects: Mutex<HashMap<String, Object>>,
    requests: Mutex<Vec<Req>>,
    connections: AtomicUsize,
    script: Mutex<Option<Arc<Script>>>,
    ignore_conditionals: AtomicBool,
    /// The fake's clock minus the real one, in seconds (its `Date` headers).
    clock_offset: AtomicI64,
}

/// The running fake; dropping it stops the server and closes its connections.
pub struct FakeS3 {
    pub addr: SocketAddr,
    state: Arc<State>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl FakeS3 {
    /// Listens on 127.0.0.1:0 with no objects and no faults.
    pub fn start() -> FakeS3 {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("fake-s3")
            .enable_all()
            .build()
            .expect("fake S3 runtime");
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind fake S3");
        listener
            .set_nonblocking(true)
            .expect("fake S3 listener nonblocking");
        let addr = listener.local_addr().expect("fake S3 address");
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        runtime.spawn(async move {
            let listener =
                tokio::net::TcpListener::from_std(listener).expect("fake S3 tokio listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let conn = shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve_connection(Arc::clone(&shared), stream, conn));
            }
        });
        FakeS3 {
            addr,
            state,
            runtime: Some(runtime),
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `--bucket images --endpoint http://127.0.0.1:PORT`.
    pub fn serve_args(&self) -> Vec<String> {
        vec![
            "--bucket".into(),
            BUCKET.into(),
            "--endpoint".into(),
            self.endpoint(),
        ]
    }

    /// Stores `bytes` under `key` (a new version: new ETag); returns the quoted ETag.
    pub fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> String {
        self.state.put(key, bytes, content_type)
    }

    /// Stores `headers` with the current version of `key` (S3 object metadata).
    pub fn set_stored(&self, key: &str, headers: &[(&'static str, &str)]) {
        let mut objects = self.state.objects.lock().expect("objects lock");
        let object = objects
            .get_mut(key)
            .expect("an object to store headers with");
        object.stored = headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect();
    }

    /// The quoted ETag of the current version.
    pub fn etag(&self, key: &str) -> Option<String> {
        let objects = self.state.objects.lock().expect("objects lock");
        objects.get(key).map(|o| o.etag.clone())
    }

    /// Sets the script asked for every request's plan (replaces the previous one).
    pub fn script(&self, f: impl Fn(&Req, usize) -> Plan + Send + Sync + 'static) {
        *self.state.script.lock().expect("script lock") = Some(Arc::new(f));
    }

    /// With `true`, If-Match, If-None-Match and the date conditions are ignored: the current
    /// version is answered whatever validator the request names.
    pub fn ignore_conditionals(&self, on: bool) {
        self.state.ignore_conditionals.store(on, Ordering::SeqCst);
    }

    /// Runs the fake's clock `secs` ahead of the real one (behind when negative): its `Date`
    /// headers, and [`FakeS3::now`], which a script checks signatures' times against.
    pub fn set_clock_offset(&self, secs: i64) {
        self.state.clock_offset.store(secs, Ordering::SeqCst);
    }

    /// The fake's clock.
    pub fn now(&self) -> SystemTime {
        self.state.now()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<Req> {
        self.state.requests.lock().expect("requests lock").clone()
    }

    /// The requests of `method` for `key`.
    pub fn requests_for(&self, method: &str, key: &str) -> Vec<Req> {
        let all = self.requests();
        let wanted = |r: &Req| r.method == method && r.key.as_deref() == Some(key);
        all.into_iter().filter(wanted).collect()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.state.connections.load(Ordering::SeqCst)
    }
}

impl Drop for FakeS3 {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl State {
    fn now(&self) -> SystemTime {
        shift(SystemTime::now(), self.clock_offset.load(Ordering::SeqCst))
    }

    fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> String {
        let etag = format!("\"{}\"", &super::sha256(&bytes)[..32]);
        let object = Object {
            bytes: Bytes::from(bytes),
            etag: etag.clone(),
            last_modified: SystemTime::now(),
            content_type: content_type.to_owned(),
            stored: Vec::new(),
        };
        let mut objects = self.objects.lock().expect("objects lock");
        objects.insert(key.to_owned(), object);
        etag
    }

    /// Records `req` and draws its plan.
    fn plan(&self, req: &Req) -> Plan {
        let n = {
            let mut requests = self.requests.lock().expect("requests lock");
            let same = |r: &&Req| r.method == req.method && r.key == req.key;
            let n = requests.iter().filter(same).count();
            requests.push(req.clone());
            n
        };
        let script = self.script.lock().expect("script lock").clone();
        script.map_or_else(Plan::default, |f| f(req, n))
    }

    fn object(&self, key: &str) -> Option<Object> {
        self.objects.lock().expect("objects lock").get(key).cloned()
    }
}

/// `time` moved `secs` later (earlier when negative).
fn shift(time: SystemTime, secs: i64) -> SystemTime {
    let d = Duration::from_secs(secs.unsigned_abs());
    match secs >= 0 {
        true => time + d,
        false => time - d,
    }
}

/// What the head reader found.
enum Head {
    Request(Req),
    TooLarge,
    Malformed,
    Closed,
}

async fn serve_connection(state: Arc<State>, mut stream: TcpStream, conn: usize) {
    let _ = stream.set_nodelay(true);
    let mut buf = BytesMut::with_capacity(16 * 1024);
    loop {
        let req = match read_head(&mut stream, &mut buf, conn).await {
            Head::Request(req) => req,
            Head::TooLarge => {
                let head = "HTTP/1.1 431 Request Header Fields Too Large\r\n\
                            Content-Length: 0\r\nConnection: close\r\n\r\n";
                return faults::close_after(stream, head.as_bytes()).await;
            }
            Head::Malformed => {
                let head = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\
                            Connection: close\r\n\r\n";
                return faults::close_after(stream, head.as_bytes()).await;
            }
            Head::Closed => return,
        };
        let plan = state.plan(&req);
        let head_only = req.method == "HEAD";
        let mut answer = match plan.fault {
            Fault::Error { status, code } | Fault::StalledError { status, code } => {
                Answer::error(status, code, head_only)
            }
            Fault::Skewed { .. } => Answer::error(403, "RequestTimeTooSkewed", head_only),
            _ => answers::respond(&state, &req),
        };
        let date = match plan.fault {
            Fault::Skewed { secs } => shift(state.now(), secs),
            _ => state.now(),
        };
        answer.headers.push(("Date", httpdate::fmt_http_date(date)));
        if let (Some(bytes), Some(key)) = (plan.replace, &req.key) {
            let content_type = state.object(key).map(|o| o.content_type);
            let content_type = content_type.unwrap_or_else(|| "application/octet-stream".into());
            state.put(key, bytes, &content_type);
        }
        let close = req
            .header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if !faults::send(&mut stream, &answer, &plan.fault).await || close {
            return;
        }
    }
}

/// Reads one request head (requests to S3 here carry no body).
async fn read_head(stream: &mut TcpStream, buf: &mut BytesMut, conn: usize) -> Head {
    loop {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut parsed = httparse::Request::new(&mut slots);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) if len > MAX_REQUEST_HEAD => return Head::TooLarge,
            Ok(httparse::Status::Complete(len)) => {
                let path = parsed.path.unwrap_or("/").to_owned();
                let headers = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        let value = String::from_utf8_lossy(h.value).into_owned();
                        (h.name.to_ascii_lowercase(), value)
                    })
                    .collect();
                let req = Req {
                    method: parsed.method.unwrap_or("").to_owned(),
                    key: key_of(&path),
                    path,
                    headers,
                    at: Instant::now(),
                    conn,
                };
                let _ = buf.split_to(len);
                return Head::Request(req);
            }
            Ok(httparse::Status::Partial) if buf.len() > MAX_REQUEST_HEAD => return Head::TooLarge,
            Ok(httparse::Status::Partial) => {}
            Err(_) => return Head::Malformed,
        }
        buf.reserve(16 * 1024);
        match stream.read_buf(buf).await {
            Ok(0) | Err(_) => return Head::Closed,
            Ok(_) => {}
        }
    }
}

/// `/images/<percent-encoded key>` -> key.
fn key_of(path: &str) -> Option<String> {
    let raw = path.split('?').next()?.strip_prefix("/images/")?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}
