//! The response decision for one GET or HEAD of one object: pure, over the request's parsed
//! headers and the object's metadata.
//!
//! Evaluate preconditions per RFC 9110 §13.2.2:
//! 1. If-Match (strong comparison); false -> 412
//! 2. If-Unmodified-Since, only without If-Match; false -> 412
//! 3. If-None-Match (weak comparison); false -> 304 for GET and HEAD
//! 4. If-Modified-Since, only without If-None-Match; false -> 304
//! 5. If-Range (§13.1.5), only for a GET with a Range; false -> ignore the Range (200)
//!
//! (steps 1-4 are [`preconditions`], which also checks an origin's own 304; what goes to
//! such an origin is [`forward`]), then the Range (§14.2): GET only, one range -> 206 or 416,
//! several -> [`multipart`]'s plan (206 multipart/byteranges, 206, 416 or the whole object);
//! then the transport's body budget (Lambda): a 206 is cut to its first `max_body` bytes (the
//! Content-Range says what was sent), a multipart 206 keeps the leading parts that fit whole
//! (or becomes its first span, cut), a 200 that cannot fit is refused.

pub mod forward;
pub mod multipart;

use crate::meta::ObjectMeta;
use crate::range::{ByteSpan, RangeRequest, Resolved};
use crate::validators::{Conditions, EntityTag, IfRange};
use std::time::SystemTime;

/// What to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// 412: If-Match or If-Unmodified-Since failed.
    PreconditionFailed,
    /// 304: If-None-Match or If-Modified-Since says the client's copy is current.
    NotModified,
    /// 200 with the whole object (`None` for a zero-length object: no bytes to read).
    Full(Option<ByteSpan>),
    /// 206 with this span.
    Partial(ByteSpan),
    /// 206 multipart/byteranges with these spans, in this order (two or more).
    Multipart(Vec<ByteSpan>),
    /// 416 with `Content-Range: bytes */len`.
    Unsatisfiable,
    /// A 200 whose body exceeds the transport's budget: refused rather than cut off.
    TooLarge,
}

/// The request as planning needs it.
#[derive(Debug, Clone)]
pub struct Ask<'a> {
    /// HEAD rather than GET: ranges do not apply (§14.2 defines them for GET only).
    pub head: bool,
    /// Parsed conditional headers.
    pub conditions: &'a Conditions,
    /// Parsed Range header.
    pub range: RangeRequest,
    /// The server's clock, for §13.1.3's rule that a future If-Modified-Since is invalid.
    pub now: SystemTime,
    /// Most body bytes the transport can carry in one response (Lambda), if limited.
    pub max_body: Option<u64>,
    /// Most range-specs in one `Range` before it is ignored (`--max-ranges`).
    pub max_ranges: usize,
}

/// Decides the response for `ask` on the object described by `meta`.
pub fn decide(ask: &Ask<'_>, meta: &ObjectMeta) -> Decision {
    let cut = |span: ByteSpan, max: u64| ByteSpan {
        first: span.first,
        last: span.first + max.max(1) - 1,
    };
    match (decide_unlimited(ask, meta), ask.max_body) {
        (Decision::Partial(span), Some(max)) if span.len() > max => {
            Decision::Partial(cut(span, max))
        }
        (Decision::Multipart(spans), Some(max)) => {
            let part_type = meta.sent_content_type();
            match multipart::fitting(&spans, meta.len, Some(part_type), max) {
                Some(fit) => Decision::Multipart(fit),
                None => Decision::Partial(cut(spans[0], max.min(spans[0].len()))),
            }
        }
        (Decision::Full(Some(span)), Some(max)) if !ask.head && span.len() > max => {
            Decision::TooLarge
        }
        (decision, _) => decision,
    }
}

fn decide_unlimited(ask: &Ask<'_>, meta: &ObjectMeta) -> Decision {
    let c = ask.conditions;
    if let Some(decision) = preconditions(c, &meta.etag, meta.last_modified, ask.now) {
        return decision;
    }
    let whole = Decision::Full(ByteSpan::whole(meta.len));
    // Step 5 and the range itself.
    if ask.head || !if_range_holds(c.if_range.as_ref(), meta) {
        return whole;
    }
    match &ask.range {
        RangeRequest::Single(spec) => match spec.resolve(meta.len) {
            Resolved::Span(span) => Decision::Partial(span),
            Resolved::Whole => whole,
            Resolved::Unsatisfiable => Decision::Unsatisfiable,
        },
        // Parts of an encoded object would be fragments of the encoding with no header to say
        // so (a message-level Content-Encoding would claim the multipart body is encoded).
        RangeRequest::Multiple(_) if meta.stored.content_encoding.is_some() => whole,
        RangeRequest::Multiple(specs) => match multipart::plan(specs, meta.len, ask.max_ranges) {
            multipart::Multi::Parts(spans) => Decision::Multipart(spans),
            multipart::Multi::One(span) => Decision::Partial(span),
            multipart::Multi::Unsatisfiable => Decision::Unsatisfiable,
            multipart::Multi::Ignore => whole,
        },
        RangeRequest::None => whole,
    }
}

/// Steps 1-4 for a representation with `etag` and `last_modified`: 412, 304, or `None` to
/// go on. Also what an origin's own 304 is checked against (S3Store): it is used only when
/// these rules give the same answer.
pub fn preconditions(
    c: &Conditions,
    etag: &EntityTag,
    last_modified: Option<SystemTime>,
    now: SystemTime,
) -> Option<Decision> {
    let modified_after = |date: SystemTime| last_modified.is_some_and(|lm| lm > date);
    // Steps 1-2.
    if let Some(cond) = &c.if_match {
        if !cond.matches(etag, true) {
            return Some(Decision::PreconditionFailed);
        }
    } else if let Some(date) = c.if_unmodified_since {
        // Without a Last-Modified the condition cannot be evaluated, so it is ignored.
        if modified_after(date) {
            return Some(Decision::PreconditionFailed);
        }
    }
    // Steps 3-4.
    if let Some(cond) = &c.if_none_match {
        if cond.matches(etag, false) {
            return Some(Decision::NotModified);
        }
    } else if let Some(date) = c.if_modified_since {
        if date <= now && last_modified.is_some() && !modified_after(date) {
            return Some(Decision::NotModified);
        }
    }
    None
}

/// §13.1.5: an entity-tag must match strongly, a date must equal Last-Modified exactly.
fn if_range_holds(if_range: Option<&IfRange>, meta: &ObjectMeta) -> bool {
    match if_range {
        None => true,
        Some(IfRange::Tag(tag)) => tag.strong_eq(&meta.etag),
        Some(IfRange::Date(date)) => meta.last_modified == Some(*date),
        Some(IfRange::Invalid) => false,
    }
}

#[cfg(test)]
mod tests;
