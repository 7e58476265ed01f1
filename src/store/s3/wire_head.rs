//! The head of an S3 answer: parsed with httparse, and only the headers the store reads kept.

use super::Failure;
use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::mem::MaybeUninit;
use std::ops::Range;

const MAX_HEADERS: usize = 128;

/// The answer's head, and whether the connection may carry another request after its body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) keep_alive: bool,
}

/// The answer headers the store reads: framing (wire_body.rs), keep-alive, what becomes
/// [`crate::meta::ObjectMeta`] or a 206 (S3Store), what its errors are logged with, and
/// S3's clock. A header read anywhere must be listed here (and in [`kept`]): the test
/// `every_header_the_store_reads_is_kept` fails otherwise.
pub(crate) static KEPT: [HeaderName; 16] = [
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
    header::ETAG,
    header::LAST_MODIFIED,
    header::CONTENT_RANGE,
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::CONTENT_ENCODING,
    header::CONTENT_DISPOSITION,
    header::CONTENT_LANGUAGE,
    header::EXPIRES,
    HeaderName::from_static(X_AMZ_REQUEST_ID),
    HeaderName::from_static(X_AMZ_BUCKET_REGION),
    // S3's clock and a cache's age: clock-skew correction (skew.rs).
    header::DATE,
    header::AGE,
];

/// S3's id of the request, logged with its errors (for AWS support).
const X_AMZ_REQUEST_ID: &str = "x-amz-request-id";
/// The bucket's region, named in the error of a request sent to another region.
const X_AMZ_BUCKET_REGION: &str = "x-amz-bucket-region";

/// The [`KEPT`] name that `name` is, in any case. Picked by length and first letter, then
/// compared once: scanning the names per header cost about 1,500 instructions per
/// answer (callgrind).
pub(super) fn kept(name: &str) -> Option<HeaderName> {
    let bytes = name.as_bytes();
    let candidate = match (bytes.len(), bytes.first()?.to_ascii_lowercase()) {
        (3, b'a') => header::AGE,
        (4, b'd') => header::DATE,
        (4, b'e') => header::ETAG,
        (7, b'e') => header::EXPIRES,
        (10, b'c') => header::CONNECTION,
        (12, b'c') => header::CONTENT_TYPE,
        (13, b'l') => header::LAST_MODIFIED,
        // content-range and cache-control first differ at index 8: 'r' against 'n'.
        (13, b'c') if bytes[8].eq_ignore_ascii_case(&b'r') => header::CONTENT_RANGE,
        (13, b'c') => header::CACHE_CONTROL,
        (14, b'c') => header::CONTENT_LENGTH,
        (17, b't') => header::TRANSFER_ENCODING,
        (16, b'x') => HeaderName::from_static(X_AMZ_REQUEST_ID),
        (19, b'x') => HeaderName::from_static(X_AMZ_BUCKET_REGION),
        // content-encoding and content-language first differ at index 8: 'e' against 'l'.
        (16, b'c') if bytes[8].eq_ignore_ascii_case(&b'e') => header::CONTENT_ENCODING,
        (16, b'c') => header::CONTENT_LANGUAGE,
        (19, b'c') => header::CONTENT_DISPOSITION,
        _ => return None,
    };
    candidate
        .as_str()
        .eq_ignore_ascii_case(name)
        .then_some(candidate)
}

/// Parses a complete head off the front of `buf`; `None` while it is incomplete. Header
/// values share the head's bytes rather than being copied one by one.
pub(crate) fn parse_head(buf: &mut BytesMut) -> Result<Option<Answer>, Failure> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Uninitialised slots, as hyper does: zeroing 128 of them cost more than parsing.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let parsed = match parse_into(buf, &mut slots) {
        Err(Parse::TooMany) => {
            // Many `x-amz-meta-*` fields: one slot per line of the head (at most MAX_HEAD
            // bytes in all, wire.rs), rather than a 502 for an object someone tagged richly.
            let lines = buf.iter().filter(|&&b| b == b'\n').count();
            let mut slots = Vec::with_capacity(lines);
            slots.resize_with(lines, MaybeUninit::uninit);
            parse_into(buf, &mut slots)
        }
        other => other,
    };
    let head = match parsed {
        Ok(Some(head)) => head,
        Ok(None) => return Ok(None),
        Err(Parse::TooMany) => return Err(bad("too many header fields".into())),
        Err(Parse::Bad(e)) => return Err(e),
    };
    build(head, buf).map(Some)
}

enum Parse {
    /// More header fields than slots.
    TooMany,
    Bad(Failure),
}

fn bad(what: String) -> Failure {
    Failure::Protocol(format!("malformed S3 answer: {what}"))
}

/// A parsed head, owning nothing of the buffer: the kept fields as spans of it.
struct Head {
    len: usize,
    code: u16,
    http11: bool,
    fields: Vec<(HeaderName, Range<usize>)>,
}

fn parse_into<'b>(
    buf: &'b [u8],
    slots: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Result<Option<Head>, Parse> {
    let mut parsed = httparse::Response::new(&mut []);
    let config = httparse::ParserConfig::default();
    let len = match config.parse_response_with_uninit_headers(&mut parsed, buf, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Parse::TooMany),
        Err(e) => return Err(Parse::Bad(bad(e.to_string()))),
    };
    let start = buf.as_ptr() as usize;
    let mut fields = Vec::with_capacity(KEPT.len().min(parsed.headers.len()));
    for h in parsed.headers.iter() {
        // httparse has checked the name's characters; the rest (Server, x-amz-id-2, user
        // metadata) nobody reads, and building a map entry for each cost more than the
        // parse.
        let Some(name) = kept(h.name) else {
            continue;
        };
        let at = h.value.as_ptr() as usize - start;
        fields.push((name, at..at + h.value.len()));
    }
    Ok(Some(Head {
        len,
        code: parsed.code.unwrap_or(0),
        http11: parsed.version == Some(1),
        fields,
    }))
}

/// The answer `head` describes, its bytes taken off the front of `buf`.
fn build(head: Head, buf: &mut BytesMut) -> Result<Answer, Failure> {
    let code = head.code;
    let status = StatusCode::from_u16(code).map_err(|_| bad(format!("status {code}")))?;
    let bytes: Bytes = buf.split_to(head.len).freeze();
    let mut headers = HeaderMap::with_capacity(head.fields.len());
    for (name, span) in head.fields {
        let value = HeaderValue::from_maybe_shared(bytes.slice(span))
            .map_err(|e| bad(format!("header {name}: {e}")))?;
        headers.append(name, value);
    }
    let close = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| has_token(v, "close")));
    Ok(Answer {
        status,
        headers,
        keep_alive: head.http11 && !close,
    })
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}
