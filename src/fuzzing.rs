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

/// The S3 store's answer-head parser (`parse_head`, src/store/s3/wire_head.rs) on `buf`, called
/// as the store calls it on a connection's read buffer.
pub fn s3_answer_head(buf: &mut BytesMut) -> AnswerHead {
    let before = buf.len();
    match crate::store::s3::wire::head::parse_head(buf) {
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

/// The answer headers the S3 store keeps (`KEPT`, src/store/s3/wire_head.rs), lower case.
pub fn s3_kept_headers() -> impl Iterator<Item = &'static str> {
    crate::store::s3::wire::head::KEPT
        .iter()
        .map(|n| n.as_str())
}
