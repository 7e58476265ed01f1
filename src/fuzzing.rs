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

/// What [`crate::iiif::tiff::read_layout`] made of a whole file in memory, and the reads it
/// asked for.
#[derive(Debug)]
pub struct TiffLayout {
    /// The layout, or why not.
    pub layout: Result<crate::iiif::tiff::Layout, crate::iiif::tiff::TiffError>,
    /// Every read: offset and length.
    pub reads: Vec<(u64, u64)>,
}

/// The whole object in memory; every read is ready at once.
struct InMemory {
    data: bytes::Bytes,
    reads: std::sync::Mutex<Vec<(u64, u64)>>,
}

impl crate::iiif::tiff::RangeRead for InMemory {
    fn read(
        &self,
        offset: u64,
        len: u64,
    ) -> impl std::future::Future<Output = Result<bytes::Bytes, crate::store::StoreError>> + Send
    {
        if let Ok(mut reads) = self.reads.lock() {
            reads.push((offset, len));
        }
        let size = self.data.len() as u64;
        let (start, end) = (offset.min(size), offset.saturating_add(len).min(size));
        std::future::ready(Ok(self.data.slice(start as usize..end as usize)))
    }
}

/// Reads the layout of `data` as a store would serve it, polled once: the reads are always
/// ready, so the future completes in one poll (`None` if it did not).
pub fn tiff_layout(data: &[u8]) -> Option<TiffLayout> {
    use std::future::Future;
    let reader = InMemory {
        data: bytes::Bytes::copy_from_slice(data),
        reads: std::sync::Mutex::new(Vec::new()),
    };
    let poll = {
        let future = crate::iiif::tiff::read_layout(&reader, data.len() as u64);
        let mut future = std::pin::pin!(future);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        future.as_mut().poll(&mut cx)
    };
    match poll {
        std::task::Poll::Ready(layout) => Some(TiffLayout {
            layout,
            reads: reader.reads.into_inner().unwrap_or_default(),
        }),
        std::task::Poll::Pending => None,
    }
}
