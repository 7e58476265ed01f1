//! The fake S3's answers when nothing goes wrong (see fake_s3.rs): objects, ranges,
//! conditional requests and error answers, as S3 gives them.

use super::{Object, Req, State};
use bytes::Bytes;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

/// A complete answer: status, headers, and the body (left out on the wire for HEAD).
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
    pub head_only: bool,
}

impl Answer {
    /// An S3 error answer with its XML body.
    pub fn error(status: u16, code: &str, head_only: bool) -> Answer {
        let xml = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>fake S3: {code}</Message><RequestId>FAKE0000</RequestId></Error>"
        );
        Answer {
            status,
            headers: vec![("Content-Type", "application/xml".into())],
            body: Bytes::from(xml),
            head_only,
        }
    }

    /// Status line and headers, Content-Length included.
    pub fn head(&self) -> Vec<u8> {
        self.head_framed(false)
    }

    /// Status line and headers, with `Transfer-Encoding: chunked` instead of Content-Length
    /// when `chunked` (as some S3-compatible servers answer).
    pub fn head_framed(&self, chunked: bool) -> Vec<u8> {
        let mut out = format!("HTTP/1.1 {} {}\r\n", self.status, reason(self.status));
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        if chunked {
            out.push_str("Transfer-Encoding: chunked\r\n");
        } else if !matches!(self.status, 204 | 304) {
            out.push_str(&format!("Content-Length: {}\r\n", self.body.len()));
        }
        out.push_str("Server: AmazonS3\r\nx-amz-request-id: FAKE0000\r\n\r\n");
        out.into_bytes()
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        206 => "Partial Content",
        304 => "Not Modified",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        412 => "Precondition Failed",
        416 => "Requested Range Not Satisfiable",
        500 => "Internal Server Error",
        503 => "Slow Down",
        _ => "Error",
    }
}

/// What S3 answers `req` with, from the current version.
pub(super) fn respond(state: &State, req: &Req) -> Answer {
    let head_only = req.method == "HEAD";
    if !head_only && req.method != "GET" {
        return Answer::error(405, "MethodNotAllowed", head_only);
    }
    let Some(key) = &req.key else {
        return Answer::error(404, "NoSuchBucket", head_only);
    };
    let Some(object) = state.object(key) else {
        return Answer::error(404, "NoSuchKey", head_only);
    };
    let mut validators = vec![
        ("ETag", object.etag.clone()),
        (
            "Last-Modified",
            httpdate::fmt_http_date(object.last_modified),
        ),
    ];
    let expires = object.stored.iter().find(|(n, _)| *n == "Expires");
    validators.extend(expires.cloned());
    if !state.ignore_conditionals.load(Ordering::SeqCst) {
        match conditional(req, &object) {
            Some(412) => return Answer::error(412, "PreconditionFailed", head_only),
            Some(_) => {
                return Answer {
                    status: 304,
                    headers: validators,
                    body: Bytes::new(),
                    head_only: true,
                }
            }
            None => {}
        }
    }
    let mut headers = validators;
    headers.retain(|(n, _)| *n != "Expires");
    headers.extend(object.stored.iter().cloned());
    headers.push(("Content-Type", object.content_type.clone()));
    headers.push(("Accept-Ranges", "bytes".into()));
    let len = object.bytes.len() as u64;
    let (status, body) = match req.header("range").map(|r| single_range(r, len)) {
        Some(Some(Ok((first, last)))) => {
            headers.push(("Content-Range", format!("bytes {first}-{last}/{len}")));
            (206, object.bytes.slice(first as usize..=last as usize))
        }
        Some(Some(Err(()))) => {
            let mut answer = Answer::error(416, "InvalidRange", head_only);
            answer
                .headers
                .push(("Content-Range", format!("bytes */{len}")));
            return answer;
        }
        // No Range, or one S3 ignores (several ranges, another unit).
        Some(None) | None => (200, object.bytes.clone()),
    };
    Answer {
        status,
        headers,
        body,
        head_only,
    }
}

/// 412, 304 or nothing, in RFC 9110 §13.2.2 order.
fn conditional(req: &Req, object: &Object) -> Option<u16> {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_owned();
    let lists = |v: &str, tag: &str, weak: bool| {
        v.split(',').any(|t| {
            let t = t.trim();
            t == "*" || ((weak || !t.starts_with("W/")) && opaque(t) == opaque(tag))
        })
    };
    let date = |name: &str| {
        let value = req.header(name)?;
        httpdate::parse_http_date(value).ok()
    };
    let modified = object.last_modified;
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    };
    if let Some(v) = req.header("if-match") {
        if !lists(v, &object.etag, false) {
            return Some(412);
        }
    } else if let Some(since) = date("if-unmodified-since") {
        if secs(modified) > secs(since) {
            return Some(412);
        }
    }
    if let Some(v) = req.header("if-none-match") {
        if lists(v, &object.etag, true) {
            return Some(304);
        }
    } else if let Some(since) = date("if-modified-since") {
        if secs(modified) <= secs(since) {
            return Some(304);
        }
    }
    None
}

/// One `bytes=` range: `Some(Ok(span))`, `Some(Err(()))` when unsatisfiable, `None` when S3
/// would ignore the header.
fn single_range(value: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (first, last) = spec.split_once('-')?;
    let (first, last) = (first.trim(), last.trim());
    let span = if first.is_empty() {
        let n: u64 = last.parse().ok()?;
        (n > 0 && len > 0).then(|| (len.saturating_sub(n), len - 1))
    } else {
        let first: u64 = first.parse().ok()?;
        let last = match last {
            "" => len.saturating_sub(1),
            l => {
                let l: u64 = l.parse().ok()?;
                if l < first {
                    return None; // invalid: ignored, as RFC 9110 §14.2 says
                }
                l.min(len.saturating_sub(1))
            }
        };
        (first < len && first <= last).then_some((first, last))
    };
    Some(span.ok_or(()))
}
