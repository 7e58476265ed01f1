//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz) into parsers that are not public.
//! Not an API: hidden from the docs, and nothing but `fuzz/` calls it.

use bytes::BytesMut;
use http::HeaderMap;

/// What the S3 answer-head parser made of a buffer.
#[derive(Debug)]
pub enum AnswerHead {
    /// The head is not complete yet; the buffer is left as it was.
    Partial,
    /// A complete head, taken off the front of the buffer.
    Complete {
        /// Bytes of the buffer the head took.
        consumed: usize,
        /// The status code.
        status: u16,
        /// The headers the store keeps, nothing else.
        headers: HeaderMap,
        /// Whether the connection may carry another request after the body.
        keep_alive: bool,
    },
    /// Refused as malformed.
    Malformed,
}

/// The HTTP/1.1 client's answer-head parser (`parse_head`, src/http1/head.rs) on `buf`, called
/// as the S3 store's connections call it on their read buffer.
pub fn s3_answer_head(buf: &mut BytesMut) -> AnswerHead {
    let before = buf.len();
    match crate::http1::head::parse_head(buf, crate::store::s3::answer_headers::kept) {
        Ok(None) => AnswerHead::Partial,
        Ok(Some(answer)) => AnswerHead::Complete {
            consumed: before - buf.len(),
            status: answer.status.as_u16(),
            headers: answer.headers,
            keep_alive: answer.keep_alive,
        },
        Err(_) => AnswerHead::Malformed,
    }
}

/// The answer headers the S3 store's connections keep (`KEPT`,
/// src/store/s3/answer_headers.rs, and the client's `FRAMING`), lower case.
pub fn s3_kept_headers() -> impl Iterator<Item = &'static str> {
    let kept = crate::store::s3::answer_headers::KEPT.iter();
    kept.chain(crate::http1::FRAMING.iter()).map(|n| n.as_str())
}
