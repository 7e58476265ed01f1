//! The request's query, read once: every parser that gives a parameter a meaning (the
//! signature check, the transform parameters) reads this one structure, so the same bytes can
//! never mean one thing to the signature and another to the transform.
//!
//! Rules (RFC 3986 §3.4 and §2.1; no form-encoding, so `+` is a plus sign):
//! - pairs are split on `&`; empty pairs (`a=1&&b=2`, a trailing `&`) are skipped;
//! - a pair without `=` is the name with an empty value (`w` reads as `w=`);
//! - names and values are percent-decoded once, strictly: a stray `%` or an escape that does
//!   not decode to UTF-8 refuses the whole query ([`QueryError::BadEscape`]);
//! - a name that is one of ours ([`RESERVED`]) only after decoding (`%77=100` for `w=100`) is
//!   refused ([`QueryError::EncodedName`]). Decoding it instead would make it mean `w` here
//!   while a CDN's cache key, which lists parameters by their literal name, reads no `w`: the
//!   same URL would be two things in two places.

use crate::key::percent_decode_strict;
use std::borrow::Cow;

/// Parameter names with a meaning to imgorigin: the transform parameters, the signature's.
pub const RESERVED: &[&str] = &["exp", "fit", "format", "h", "kid", "q", "sig", "w"];

/// Why a query cannot be read. Answered 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A `%` not followed by two hex digits, or an escape that is not UTF-8.
    #[error("query has an invalid percent-escape")]
    BadEscape,
    /// One of our parameter names spelled with escapes.
    #[error("query parameter name {0:?} must be written without percent-escapes")]
    EncodedName(String),
}

/// A decoded query: `(name, value)` pairs in URL order, borrowed where nothing was escaped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Query<'a> {
    /// Reads `raw` (the URI's query without `?`; `None` when the URI has none).
    ///
    /// # Errors
    /// [`QueryError`] for a bad escape or an encoded reserved name.
    pub fn parse(raw: Option<&'a str>) -> Result<Query<'a>, QueryError> {
        let raw = raw.unwrap_or("");
        let mut pairs = Vec::new();
        for pair in raw.split('&').filter(|p| !p.is_empty()) {
            let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = decode(raw_name)?;
            if matches!(name, Cow::Owned(_)) && RESERVED.contains(&name.as_ref()) {
                return Err(QueryError::EncodedName(name.into_owned()));
            }
            pairs.push((name, decode(raw_value)?));
        }
        Ok(Query { pairs })
    }

    /// Every pair, decoded, in URL order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pairs.iter().map(|(n, v)| (n.as_ref(), v.as_ref()))
    }

    /// Whether the query has no pair at all.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

fn decode(raw: &str) -> Result<Cow<'_, str>, QueryError> {
    if !raw.contains('%') {
        return Ok(Cow::Borrowed(raw));
    }
    let bytes = percent_decode_strict(raw.as_bytes()).map_err(|_| QueryError::BadEscape)?;
    String::from_utf8(bytes)
        .map(Cow::Owned)
        .map_err(|_| QueryError::BadEscape)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pairs(raw: &str) -> Result<Vec<(String, String)>, QueryError> {
        Query::parse(Some(raw)).map(|q| {
            q.pairs()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect()
        })
    }

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect()
    }

    // RFC 3986 §3.4 (query), §2.1 (percent-encoding: `%` + two hex digits).
    #[test]
    fn query_reading_table() {
        let ok: &[(&str, &[(&str, &str)])] = &[
            ("", &[]),
            ("w=100", &[("w", "100")]),
            // empty pairs skipped, so `w=100&` and `w=100` are one thing
            ("w=100&&h=5&", &[("w", "100"), ("h", "5")]),
            // no `=`: empty value
            ("w", &[("w", "")]),
            // values decode once: %2541 is "%41", not "A"
            ("w=%31%30%30&x=%2541", &[("w", "100"), ("x", "%41")]),
            // `+` is a plus sign (no form-encoding)
            ("x=a+b", &[("x", "a+b")]),
            // an encoded name that is not ours is only decoded
            ("utm%5Fsource=x", &[("utm_source", "x")]),
            // `=` inside a value stays in the value
            ("x=a=b", &[("x", "a=b")]),
        ];
        for (raw, want) in ok {
            assert_eq!(pairs(raw), Ok(owned(want)), "{raw}");
        }
        let bad: &[(&str, QueryError)] = &[
            ("w=%zz", QueryError::BadEscape),
            ("w=100%", QueryError::BadEscape),
            ("x=%ff", QueryError::BadEscape),
            ("%77=100", QueryError::EncodedName("w".into())),
            ("%66ormat=webp", QueryError::EncodedName("format".into())),
            ("si%67=x", QueryError::EncodedName("sig".into())),
        ];
        for (raw, want) in bad {
            assert_eq!(pairs(raw), Err(want.clone()), "{raw}");
        }
    }

    #[test]
    fn no_query_is_empty() {
        assert!(Query::parse(None).expect("empty").is_empty());
    }

    proptest! {
        #[test]
        fn never_panics(raw in ".{0,64}") {
            let _ = Query::parse(Some(&raw));
        }

        // A reserved name read back from any query was written literally in it.
        #[test]
        fn reserved_names_are_literal(raw in "[a-z%0-9=&]{0,40}") {
            if let Ok(q) = Query::parse(Some(&raw)) {
                for (name, _) in q.pairs() {
                    if RESERVED.contains(&name) {
                        prop_assert!(raw.split('&').any(|p| p.split('=').next() == Some(name)));
                    }
                }
            }
        }
    }
}
