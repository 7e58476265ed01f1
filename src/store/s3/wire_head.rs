//! The head of an S3 answer: parsed with httparse, and only the headers the store reads kept.

use super::Failure;
use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};

const MAX_HEADERS: usize = 128;

/// The answer's head, and whether the connection may carry another request after its body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) keep_alive: bool,
}

/// The answer headers the store reads: framing (wire_body.rs), keep-alive, and what
/// becomes [`crate::meta::ObjectMeta`] or a 206 (S3Store).
pub(crate) static KEPT: [HeaderName; 14] = [
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
    let bad = |what: String| Failure::Protocol(format!("malformed S3 answer: {what}"));
    // Uninitialised slots, as hyper does: zeroing 128 of them cost more than parsing.
    let mut slots =
        [const { std::mem::MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
    let mut parsed = httparse::Response::new(&mut []);
    let config = httparse::ParserConfig::default();
    let len = match config.parse_response_with_uninit_headers(&mut parsed, buf, &mut slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(bad(e.to_string())),
    };
    let code = parsed.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| bad(format!("status {code}")))?;
    let http11 = parsed.version == Some(1);
    let start = buf.as_ptr() as usize;
    let mut fields = Vec::with_capacity(KEPT.len().min(parsed.headers.len()));
    for h in parsed.headers.iter() {
        // httparse has checked the name's characters; the rest (Server, Date, x-amz-id-2,
        // user metadata) nobody reads, and building a map entry for each cost more than the
        // parse.
        let Some(name) = kept(h.name) else {
            continue;
        };
        let at = h.value.as_ptr() as usize - start;
        fields.push((name, at..at + h.value.len()));
    }
    let head: Bytes = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, span) in fields {
        let value = HeaderValue::from_maybe_shared(head.slice(span))
            .map_err(|e| bad(format!("header {name}: {e}")))?;
        headers.append(name, value);
    }
    let close = headers
        .get_all(http::header::CONNECTION)
        .iter()
        .any(|v| v.to_str().is_ok_and(|v| has_token(v, "close")));
    Ok(Some(Answer {
        status,
        headers,
        keep_alive: http11 && !close,
    }))
}

/// Whether a comma-separated header value lists `token` (case-insensitive).
fn has_token(value: &str, token: &str) -> bool {
    value
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}
