//! The head of an answer: parsed with httparse, and only the framing headers and those the
//! caller reads kept.

use super::Error;
use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use std::mem::MaybeUninit;
use std::ops::Range;

const MAX_HEADERS: usize = 128;

/// The answer's head, and whether the connection may carry another request after its body.
pub struct Answer {
    /// The final status (interim 1xx answers are skipped).
    pub status: StatusCode,
    /// The kept fields.
    pub headers: HeaderMap,
    /// HTTP/1.1 without `Connection: close`.
    pub keep_alive: bool,
}

/// Which answer headers a caller reads: the name to keep a field under, for a name in any
/// case, or `None` to drop it. Building a map entry for every field (Server, `x-amz-id-2`,
/// user metadata) cost more than the parse; the caller's list decides which are worth it.
pub type KeepHeader = fn(&str) -> Option<HeaderName>;

/// The fields this client reads itself, whatever the caller keeps: framing (body.rs) and
/// keep-alive.
pub const FRAMING: [HeaderName; 3] = [
    header::CONTENT_LENGTH,
    header::TRANSFER_ENCODING,
    header::CONNECTION,
];

/// The [`FRAMING`] name that `name` is, in any case.
fn framing(name: &str) -> Option<HeaderName> {
    let candidate = match name.len() {
        10 => header::CONNECTION,
        14 => header::CONTENT_LENGTH,
        17 => header::TRANSFER_ENCODING,
        _ => return None,
    };
    candidate
        .as_str()
        .eq_ignore_ascii_case(name)
        .then_some(candidate)
}

/// Parses a complete head off the front of `buf`; `None` while it is incomplete. Header
/// values share the head's bytes rather than being copied one by one.
pub(crate) fn parse_head(buf: &mut BytesMut, keep: KeepHeader) -> Result<Option<Answer>, Error> {
    if buf.is_empty() {
        return Ok(None);
    }
    // Uninitialised slots, as hyper does: zeroing 128 of them cost more than parsing.
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let parsed = match parse_into(buf, &mut slots, keep) {
        Err(Parse::TooMany) => {
            // Many `x-amz-meta-*` fields: one slot per line of the head (at most MAX_HEAD
            // bytes in all, conn.rs), rather than a 502 for an object someone tagged richly.
            let lines = buf.iter().filter(|&&b| b == b'\n').count();
            let mut slots = Vec::with_capacity(lines);
            slots.resize_with(lines, MaybeUninit::uninit);
            parse_into(buf, &mut slots, keep)
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
    Bad(Error),
}

fn bad(what: String) -> Error {
    Error::Malformed(what)
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
    keep: KeepHeader,
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
    let mut fields = Vec::with_capacity(parsed.headers.len().min(24));
    for h in parsed.headers.iter() {
        // httparse has checked the name's characters.
        let Some(name) = keep(h.name).or_else(|| framing(h.name)) else {
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
fn build(head: Head, buf: &mut BytesMut) -> Result<Answer, Error> {
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
