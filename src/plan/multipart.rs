//! A `Range` with several ranges (RFC 9110 §14.2, §14.6, §15.3.7.2): which spans to send, in
//! which order, or whether to ignore the header; and the multipart/byteranges framing around
//! them, sized before the first byte. Pure.
//!
//! Rules, in order:
//! 0. an object longer than [`MAX_FRAMED_LEN`] (only a broken store reports one: S3 holds at
//!    most 5 TiB, file offsets are signed 64-bit): the header is ignored, since the framed
//!    answer's length might not be countable;
//! 1. more range-specs than the limit (`--max-ranges`, nginx's `max_ranges` practice): the
//!    header is ignored, 200 with the whole object (§14.2: a server MAY ignore it);
//! 2. a suffix range of a zero-length object: 200 with the (empty) object, as for one range;
//! 3. none satisfiable: 416;
//! 4. egregious requests (§17.15: "more than two overlapping ranges", and as nginx, more bytes
//!    asked than the object has): ignored, 200 with the whole object;
//! 5. spans that overlap or touch are merged (§15.3.7.2 allows merging gaps "smaller than the
//!    overhead of sending multiple parts", whatever their order); the rest are sent in the order
//!    first asked, one part per range. Merging more breaks readers that take the parts as
//!    answers to their ranges in turn without reading each Content-Range (GDAL's
//!    `GDAL_HTTP_MULTIRANGE=SINGLE_GET`, tests/gdal_multirange.rs); nearby parts share one
//!    store read instead ([`reads`]);
//! 6. one span left: a plain 206 (a multipart answer with one part is not worth its framing).

use crate::range::{ByteSpan, RangeSpec, Resolved};
use bytes::Bytes;

/// Default for `--max-ranges`.
pub const DEFAULT_MAX_RANGES: usize = 64;

/// Parts sent one after another, ascending and separated by fewer bytes, are read from the
/// store with one request over their hull, the gaps read and dropped. A separate read costs
/// one more store request (S3 GET: USD 0.0004 per 1,000 in us-east-1); reading the gap costs
/// its bytes from S3 to the function, free in the same region, and the time to read them
/// (5 KiB: tens of microseconds against a request's milliseconds). The request's price also
/// buys about 5,050 bytes of CloudFront transfer (USD 0.085 per GB), the bound kept from when
/// the gap was sent to the viewer.
pub const READ_GAP: u64 = 5 * 1024;

/// Length of the boundary imgorigin generates: 32 hex digits after a fixed prefix, 128 random
/// bits, so that meeting it inside an object's bytes is negligible (RFC 2046 §5.1.1).
pub const BOUNDARY_LEN: usize = "imgorigin-".len() + 32;

/// Longest object a multipart answer is framed for: the parts' bytes are at most the
/// object's, and this leaves the heads (at most `--max-ranges` of them, each a few hundred
/// bytes) more room than they can take, so the Content-Length never overflows.
pub const MAX_FRAMED_LEN: u64 = 1 << 62;

/// What to answer for several ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Multi {
    /// 206 multipart/byteranges with these spans, in this order (two or more).
    Parts(Vec<ByteSpan>),
    /// A plain 206 for this one span.
    One(ByteSpan),
    /// 416.
    Unsatisfiable,
    /// 200 with the whole object: the header is ignored.
    Ignore,
}

/// Decides the answer to `specs` on an object of `len` bytes.
pub fn plan(specs: &[RangeSpec], len: u64, max_ranges: usize) -> Multi {
    if specs.len() > max_ranges || len > MAX_FRAMED_LEN {
        return Multi::Ignore;
    }
    let mut spans = Vec::with_capacity(specs.len());
    for spec in specs {
        match spec.resolve(len) {
            Resolved::Span(span) => spans.push(span),
            Resolved::Whole => return Multi::Ignore,
            Resolved::Unsatisfiable => {}
        }
    }
    if spans.is_empty() {
        return Multi::Unsatisfiable;
    }
    let asked: u64 = spans.iter().map(ByteSpan::len).fold(0, u64::saturating_add);
    if asked > len || overlap_depth(&spans) > 2 {
        return Multi::Ignore;
    }
    let merged = coalesce(&spans);
    match merged.as_slice() {
        [one] => Multi::One(*one),
        _ => Multi::Parts(merged),
    }
}

/// The most requested spans any one byte falls in: the deepest point is some span's start.
fn overlap_depth(spans: &[ByteSpan]) -> usize {
    spans
        .iter()
        .map(|s| {
            spans
                .iter()
                .filter(|o| o.first <= s.first && s.first <= o.last)
                .count()
        })
        .max()
        .unwrap_or(0)
}

/// Merges spans that overlap or touch; a merged span takes the place of the first of its
/// members to be asked.
fn coalesce(spans: &[ByteSpan]) -> Vec<ByteSpan> {
    let near = |a: &ByteSpan, b: &ByteSpan| {
        a.first <= b.last.saturating_add(1) && b.first <= a.last.saturating_add(1)
    };
    let mut out: Vec<ByteSpan> = Vec::with_capacity(spans.len());
    for span in spans {
        let mut grown = *span;
        let mut slot: Option<usize> = None;
        // Absorb every group the span reaches; once grown it may reach more.
        while let Some(i) = (0..out.len()).find(|&i| Some(i) != slot && near(&out[i], &grown)) {
            grown = ByteSpan {
                first: grown.first.min(out[i].first),
                last: grown.last.max(out[i].last),
            };
            let keep = match slot {
                Some(s) if s < i => {
                    out.remove(i);
                    s
                }
                Some(s) => {
                    out.remove(s);
                    i
                }
                None => i,
            };
            out[keep] = grown;
            slot = Some(keep);
        }
        if slot.is_none() {
            out.push(grown);
        }
    }
    out
}

/// The store reads for parts sent in the order of `spans`: each `(hull, n)` covers the next `n`
/// parts, which ascend with fewer than `gap` bytes ([`READ_GAP`]) between one and the next.
/// Parts out of order, or further apart, get reads of their own.
pub fn reads(spans: &[ByteSpan], gap: u64) -> Vec<(ByteSpan, usize)> {
    let mut out: Vec<(ByteSpan, usize)> = Vec::new();
    for span in spans {
        match out.last_mut() {
            Some((hull, n)) if span.first > hull.last && span.first - hull.last - 1 < gap => {
                hull.last = span.last;
                *n += 1;
            }
            _ => out.push((*span, 1)),
        }
    }
    out
}

/// The framing of a multipart/byteranges body (RFC 9110 §14.6, RFC 2046 §5.1.1): each part's
/// head before its bytes, the closing delimiter after the last, and the exact length of it
/// all, known before the first byte is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The message's `Content-Type`.
    pub content_type: String,
    /// Each part's span with the bytes that precede it.
    pub parts: Vec<(Bytes, ByteSpan)>,
    /// The closing delimiter.
    pub tail: Bytes,
    /// Heads, spans and tail together.
    pub content_length: u64,
}

/// The framing of `spans` of an object of `len` bytes whose own type is `part_type` (each part
/// carries it, §14.6), with `boundary`.
pub fn layout(spans: &[ByteSpan], len: u64, part_type: Option<&str>, boundary: &str) -> Layout {
    let mut total = 0u64;
    let parts = spans
        .iter()
        .enumerate()
        .map(|(i, span)| {
            let head = part_head(i == 0, boundary, part_type, *span, len);
            // Saturating, as a second line behind rule 0: a length that cannot be counted
            // must not wrap into a small, wrong one.
            total = total
                .saturating_add(head.len() as u64)
                .saturating_add(span.len());
            (Bytes::from(head), *span)
        })
        .collect();
    let tail = format!("\r\n--{boundary}--\r\n");
    total = total.saturating_add(tail.len() as u64);
    Layout {
        content_type: format!("multipart/byteranges; boundary={boundary}"),
        parts,
        tail: Bytes::from(tail),
        content_length: total,
    }
}

fn part_head(
    first: bool,
    boundary: &str,
    part_type: Option<&str>,
    span: ByteSpan,
    len: u64,
) -> String {
    let lead = if first { "" } else { "\r\n" };
    // Field names as RFC 9110 spells them: some readers match them case-sensitively.
    let content_type = part_type.map_or_else(String::new, |t| format!("Content-Type: {t}\r\n"));
    format!(
        "{lead}--{boundary}\r\n{content_type}Content-Range: bytes {}-{}/{len}\r\n\r\n",
        span.first, span.last
    )
}

/// The leading spans whose multipart answer fits in `max_body` bytes (a transport's budget,
/// Lambda's buffered mode): parts are dropped whole from the end, never cut, so every part
/// sent is what its Content-Range says; the client asks again for the rest (§15.3.7.2 lets a
/// client see from each part which ranges came). `None` when not even two parts fit.
pub fn fitting(
    spans: &[ByteSpan],
    len: u64,
    part_type: Option<&str>,
    max_body: u64,
) -> Option<Vec<ByteSpan>> {
    let boundary = "x".repeat(BOUNDARY_LEN);
    (2..=spans.len())
        .rev()
        .find(|&n| layout(&spans[..n], len, part_type, &boundary).content_length <= max_body)
        .map(|n| spans[..n].to_vec())
}

/// A fresh boundary: 128 bits from the operating system's generator.
pub fn boundary() -> String {
    let mut bits = [0u8; 16];
    if getrandom::fill(&mut bits).is_err() {
        // No OS randomness (never seen on Linux): time and address bits still differ per call.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bits = (nanos ^ (std::ptr::addr_of!(bits) as u128)).to_le_bytes();
    }
    format!("imgorigin-{}", hex::encode(bits))
}

#[cfg(test)]
#[path = "multipart_tests.rs"]
mod tests;
