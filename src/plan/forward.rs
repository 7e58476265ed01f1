//! What a GET forwards to an origin that evaluates preconditions itself (S3's GetObject), so
//! that its shortcut answers (304, 412, 206) agree with [`super::decide`]; pure. The store
//! sends these fields and still checks what comes back against `decide`'s rules
//! ([`super::preconditions`]).
//!
//! RFC 9110 §13.2.2 evaluates If-Match before If-Unmodified-Since and ignores the latter
//! when the former is present (§13.1.4); likewise If-None-Match before If-Modified-Since
//! (§13.1.3), and a future If-Modified-Since is invalid (§13.1.3). Forwarding both of a pair
//! would let the origin evaluate one we ignore, so exactly the one §13.2.2 evaluates goes.
//! If-Range (§13.1.5) has no S3 equivalent that S3-compatible servers agree on: a strong tag
//! is sent as If-Match with the Range, and on 412 the whole object is asked for instead;
//! a weak or invalid one never matches, so the Range is not sent at all.

use crate::range::RangeSpec;
use crate::validators::{Conditions, EntityTag, IfRange, TagCondition};
use std::time::SystemTime;

/// The most entity-tag bytes forwarded in one conditional field. S3 refuses request heads
/// over 8 KiB; real clients send one tag, a cache a few. A longer list is left to
/// [`super::decide`] on the answer's metadata (and so is the date its presence makes the
/// origin ignore): a client must not be able to make the request to S3 too large (431) and
/// so mint 502s.
pub const MAX_FORWARDED_TAGS_BYTES: usize = 1024;

/// How a GET is first asked: the range to send, and the If-Range tag to emulate with
/// If-Match (then the caller asks again without range and without that tag on 412).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirstAsk<'c> {
    /// The range to send.
    pub range: Option<RangeSpec>,
    /// If-Range's strong tag, sent as If-Match.
    pub if_range_tag: Option<&'c EntityTag>,
}

/// The first ask for a GET with `range` (a single range) and `cond`.
pub fn first_ask(range: Option<RangeSpec>, cond: &Conditions) -> FirstAsk<'_> {
    match range.and(cond.if_range.as_ref()) {
        // §13.1.5: a weak or invalid validator never matches: the whole object.
        Some(IfRange::Invalid) => FirstAsk {
            range: None,
            if_range_tag: None,
        },
        Some(IfRange::Tag(tag)) if tag.to_header_string().starts_with("W/") => FirstAsk {
            range: None,
            if_range_tag: None,
        },
        // If-Match already decides 412 first (§13.2.2 step 1): the range goes alone and the
        // final answer is planned from the metadata.
        Some(IfRange::Tag(tag)) if cond.if_match.is_none() => FirstAsk {
            range,
            if_range_tag: Some(tag),
        },
        _ => FirstAsk {
            range,
            if_range_tag: None,
        },
    }
}

/// The header fields of a GET with `range` and `cond`, with `if_match_tag` (an emulated
/// If-Range, or the ETag a resumed read must still have) standing for the If-Match pair.
/// At most one field of each pair, so three in all.
pub fn fields(
    range: Option<RangeSpec>,
    cond: &Conditions,
    if_match_tag: Option<&EntityTag>,
    now: SystemTime,
) -> Vec<(&'static str, String)> {
    let mut fields: Vec<(&'static str, String)> = Vec::with_capacity(3);
    if let Some(r) = range {
        fields.push(("range", r.header_value()));
    }
    if let Some(tag) = if_match_tag {
        fields.push(("if-match", tag.to_header_string()));
    } else if let Some(c) = cond.if_match.as_ref() {
        fields.extend(tag_list(c).map(|tags| ("if-match", tags)));
    } else if let Some(date) = cond.if_unmodified_since {
        fields.push(("if-unmodified-since", httpdate::fmt_http_date(date)));
    }
    if let Some(c) = cond.if_none_match.as_ref() {
        fields.extend(tag_list(c).map(|tags| ("if-none-match", tags)));
    } else if let Some(date) = cond.if_modified_since.filter(|d| *d <= now) {
        fields.push(("if-modified-since", httpdate::fmt_http_date(date)));
    }
    fields
}

/// The field value for `c`, or `None` when it is empty or longer than
/// [`MAX_FORWARDED_TAGS_BYTES`].
fn tag_list(c: &TagCondition) -> Option<String> {
    match c {
        TagCondition::Any => Some("*".into()),
        TagCondition::Tags(tags) if tags.is_empty() => None,
        TagCondition::Tags(tags)
            if tags.iter().map(|t| t.header_len() + 2).sum::<usize>()
                > MAX_FORWARDED_TAGS_BYTES =>
        {
            None
        }
        TagCondition::Tags(tags) => {
            let mut list = String::with_capacity(tags.len() * 24);
            for (i, tag) in tags.iter().enumerate() {
                if i > 0 {
                    list.push_str(", ");
                }
                tag.write_header_value(&mut list);
            }
            Some(list)
        }
    }
}

#[cfg(test)]
#[path = "forward_tests.rs"]
mod tests;
