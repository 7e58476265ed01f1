//! A TCP pass-through that records each HTTP exchange it forwards (request line, Range,
//! status, Content-Type, bytes on the wire, multipart parts) without changing a byte: how
//! tests see what a real client (GDAL) asked and got.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// One HTTP request and its answer as seen on the wire.
#[derive(Debug, Clone, Default)]
pub struct Exchange {
    pub method: String,
    pub target: String,
    pub range: Option<String>,
    pub status: Option<u16>,
    pub content_type: Option<String>,
    /// Status line, headers and body, as sent to GDAL.
    pub wire_bytes: u64,
    pub body_bytes: u64,
    /// The parts of a multipart/byteranges body (first, last), or why they could not be read.
    pub parts: Option<Result<Vec<(u64, u64)>, String>>,
    /// The answer's framing was followed to its end.
    pub complete: bool,
}

impl Exchange {
    /// The ranges of the Range header (`bytes=a-b,c-d`); closed ranges only (GDAL sends those).
    pub fn ranges(&self) -> Vec<(u64, u64)> {
        let Some(spec) = self.range.as_deref() else {
            return Vec::new();
        };
        let spec = spec.trim();
        let spec = spec
            .strip_prefix("bytes=")
            .unwrap_or_else(|| panic!("Range {spec:?}"));
        spec.split(',')
            .map(|r| {
                let (a, b) = r.trim().split_once('-').expect("a-b");
                (
                    a.parse().expect("range start"),
                    b.parse().expect("range end"),
                )
            })
            .collect()
    }

    pub fn is_multipart(&self) -> bool {
        self.content_type
            .as_deref()
            .is_some_and(|t| t.to_ascii_lowercase().starts_with("multipart/byteranges"))
    }

    pub fn line(&self) -> String {
        let parts = match &self.parts {
            None => String::new(),
            Some(Ok(p)) => format!(" parts={p:?}"),
            Some(Err(e)) => format!(" parts: {e}"),
        };
        format!(
            "{} {} range={:?} -> {:?} {:?} wire={} body={}{}{}",
            self.method,
            self.target,
            self.range,
            self.status,
            self.content_type,
            self.wire_bytes,
            self.body_bytes,
            parts,
            if self.complete { "" } else { " (incomplete)" }
        )
    }
}

/// A TCP pass-through between GDAL and imgorigin that records each exchange. GDAL's requests
/// carry no body, so each header block toward the server is one request; answers are framed by
/// Content-Length (or run to the close), which is how imgorigin sends them.
pub struct Observer {
    pub port: u16,
    log: Arc<Mutex<Vec<Exchange>>>,
    to_client: Arc<AtomicU64>,
}

impl Observer {
    pub fn start(upstream: u16) -> Observer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind observer");
        let port = listener.local_addr().expect("addr").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let to_client = Arc::new(AtomicU64::new(0));
        let (log2, to_client2) = (log.clone(), to_client.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                let queue = Arc::new(Mutex::new(VecDeque::new()));
                let (c2, s2) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let (log_up, queue_up) = (log2.clone(), queue.clone());
                std::thread::spawn(move || requests(client, server, &log_up, &queue_up));
                let (log_down, counter) = (log2.clone(), to_client2.clone());
                std::thread::spawn(move || answers(s2, c2, &log_down, &queue, &counter));
            }
        });
        Observer {
            port,
            log,
            to_client,
        }
    }

    pub fn exchanges(&self) -> Vec<Exchange> {
        self.log.lock().expect("log").clone()
    }

    pub fn bytes_to_client(&self) -> u64 {
        self.to_client.load(Ordering::SeqCst)
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Header value by case-insensitive name, from a header block.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.split("\r\n").skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Client to server: records each request head before forwarding it, so that the answer side
/// always finds its request queued.
fn requests(
    mut client: TcpStream,
    mut server: TcpStream,
    log: &Mutex<Vec<Exchange>>,
    queue: &Mutex<VecDeque<usize>>,
) {
    let mut pending = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        pending.extend_from_slice(&buf[..n]);
        while let Some(end) = find(&pending, b"\r\n\r\n") {
            let head: Vec<u8> = pending.drain(..end + 4).collect();
            let head = String::from_utf8_lossy(&head).into_owned();
            let mut words = head.split(' ');
            let exchange = Exchange {
                method: words.next().unwrap_or("").to_owned(),
                target: words.next().unwrap_or("").to_owned(),
                range: header(&head, "range").map(str::to_owned),
                ..Exchange::default()
            };
            let mut log = log.lock().expect("log");
            log.push(exchange);
            queue.lock().expect("queue").push_back(log.len() - 1);
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(Shutdown::Write);
}

enum Framing {
    Head,
    Body { left: u64 },
    ToClose,
}

/// The answer being read: its exchange (index in the log) and, for a multipart one, its
/// boundary and body.
pub struct Answer {
    index: usize,
    exchange: Exchange,
    multipart: Option<(String, Vec<u8>)>,
}

/// Server to client: forwards each chunk at once, then follows the answers' framing on a copy.
fn answers(
    mut server: TcpStream,
    mut client: TcpStream,
    log: &Mutex<Vec<Exchange>>,
    queue: &Mutex<VecDeque<usize>>,
    counter: &AtomicU64,
) {
    let mut pending: Vec<u8> = Vec::new();
    let mut framing = Framing::Head;
    let mut current: Option<Answer> = None;
    let mut buf = vec![0u8; 64 * 1024];
    let finish = |answer: &mut Option<Answer>| {
        if let Some(Answer {
            index,
            mut exchange,
            multipart,
        }) = answer.take()
        {
            if let Some((boundary, body)) = multipart {
                exchange.parts = Some(multipart_parts(&body, &boundary));
            }
            exchange.complete = true;
            log.lock().expect("log")[index] = exchange;
        }
    };
    loop {
        let n = match server.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if client.write_all(&buf[..n]).is_err() {
            break;
        }
        counter.fetch_add(n as u64, Ordering::SeqCst);
        pending.extend_from_slice(&buf[..n]);
        loop {
            match framing {
                Framing::Head => {
                    let Some(end) = find(&pending, b"\r\n\r\n") else {
                        break;
                    };
                    let head: Vec<u8> = pending.drain(..end + 4).collect();
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let asked = queue.lock().expect("queue").pop_front();
                    let index = asked.unwrap_or_else(|| {
                        // An answer nobody asked for: recorded on its own.
                        let mut log = log.lock().expect("log");
                        log.push(Exchange {
                            method: "(unsolicited)".into(),
                            ..Exchange::default()
                        });
                        log.len() - 1
                    });
                    let mut ex = log.lock().expect("log")[index].clone();
                    ex.status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
                    ex.content_type = header(&head, "content-type").map(str::to_owned);
                    ex.wire_bytes = head.len() as u64;
                    let status = ex.status.unwrap_or(0);
                    let no_body =
                        ex.method == "HEAD" || status == 204 || status == 304 || status < 200;
                    let length = header(&head, "content-length").and_then(|v| v.parse().ok());
                    let keep = ex.is_multipart().then(|| {
                        let ct = ex.content_type.clone().unwrap_or_default();
                        let boundary = ct
                            .split(';')
                            .find_map(|p| p.trim().strip_prefix("boundary="))
                            .unwrap_or("")
                            .trim_matches('"')
                            .to_owned();
                        (boundary, Vec::new())
                    });
                    current = Some(Answer {
                        index,
                        exchange: ex,
                        multipart: keep,
                    });
                    framing = if no_body {
                        Framing::Body { left: 0 }
                    } else if let Some(left) = length {
                        Framing::Body { left }
                    } else {
                        Framing::ToClose
                    };
                }
                Framing::Body { left } => {
                    let take = (left as usize).min(pending.len());
                    let chunk: Vec<u8> = pending.drain(..take).collect();
                    if let Some(answer) = current.as_mut() {
                        answer.exchange.wire_bytes += take as u64;
                        answer.exchange.body_bytes += take as u64;
                        if let Some((_, body)) = answer.multipart.as_mut() {
                            body.extend_from_slice(&chunk);
                        }
                    }
                    let left = left - take as u64;
                    if left == 0 {
                        finish(&mut current);
                        framing = Framing::Head;
                    } else {
                        framing = Framing::Body { left };
                        break;
                    }
                }
                Framing::ToClose => {
                    if let Some(answer) = current.as_mut() {
                        answer.exchange.wire_bytes += pending.len() as u64;
                        answer.exchange.body_bytes += pending.len() as u64;
                    }
                    pending.clear();
                    break;
                }
            }
        }
    }
    if matches!(framing, Framing::ToClose) {
        finish(&mut current);
    }
    let _ = client.shutdown(Shutdown::Write);
}

/// The parts of a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1), as
/// (first, last) from each part's Content-Range, checking each part's length.
pub fn multipart_parts(body: &[u8], boundary: &str) -> Result<Vec<(u64, u64)>, String> {
    if boundary.is_empty() {
        return Err("no boundary parameter".into());
    }
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delimiter).ok_or("no delimiter")?;
    let mut parts = Vec::new();
    loop {
        at += delimiter.len();
        if body[at..].starts_with(b"--") {
            return Ok(parts);
        }
        if !body[at..].starts_with(b"\r\n") {
            return Err(format!("no CRLF after delimiter at {at}"));
        }
        at += 2;
        let end = find(&body[at..], b"\r\n\r\n").ok_or("part head not ended")?;
        let head = format!("\r\n{}", String::from_utf8_lossy(&body[at..at + end]));
        at += end + 4;
        let range = header(&head, "content-range").ok_or("part without Content-Range")?;
        let span = range
            .strip_prefix("bytes ")
            .and_then(|r| r.split('/').next())
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)))
            .ok_or_else(|| format!("part Content-Range {range:?}"))?;
        let len = (span.1 - span.0 + 1) as usize;
        if body.len() < at + len + 2 {
            return Err(format!("part {span:?} cut short"));
        }
        at += len;
        if !body[at..].starts_with(b"\r\n") {
            return Err(format!("no CRLF after part {span:?}"));
        }
        at += 2;
        if !body[at..].starts_with(&delimiter) {
            return Err(format!("no delimiter after part {span:?}"));
        }
        parts.push(span);
    }
}

// ---------------------------------------------------------------------------------------------
// GDAL
// ---------------------------------------------------------------------------------------------
