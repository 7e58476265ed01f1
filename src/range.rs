//! The `Range` request header (RFC 9110 §14.2) reduced to what an origin acts on: no range, one
//! range, or several (planned in [`crate::plan::multipart`]).
//!
//! Syntax comes from `http-range-header`, which follows RFC 9110; resolving a range against an
//! object length is ours, so that the zero-length and suffix rules sit in one table.

use http::header::RANGE;
use http::HeaderMap;
use http_range_header::SyntacticallyCorrectRange;

/// One `bytes` range-spec, not yet resolved against a length (RFC 9110 §14.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeSpec {
    /// `bytes=first-last`, first <= last.
    FromTo(u64, u64),
    /// `bytes=first-`.
    From(u64),
    /// `bytes=-suffix_length`.
    Suffix(u64),
}

/// What the `Range` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeRequest {
    /// No header, a repeated header, or one we must ignore (unparsable, another unit,
    /// invalid per §14.1.1).
    None,
    /// Exactly one range-spec.
    Single(RangeSpec),
    /// Several range-specs, in the order sent.
    Multiple(Vec<RangeSpec>),
}

/// An inclusive byte span `first..=last` of an object; never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteSpan {
    /// First byte offset.
    pub first: u64,
    /// Last byte offset, inclusive.
    pub last: u64,
}

impl ByteSpan {
    /// The span of a whole object, or `None` for a zero-length one.
    pub fn whole(len: u64) -> Option<ByteSpan> {
        len.checked_sub(1).map(|last| ByteSpan { first: 0, last })
    }

    /// Number of bytes in the span.
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    /// Spans are never empty; present for API symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// How a [`RangeSpec`] applies to an object of a given length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// 206 for this span.
    Span(ByteSpan),
    /// 200 with the whole (empty) object: a suffix range of a zero-length object.
    Whole,
    /// 416 (RFC 9110 §15.5.17).
    Unsatisfiable,
}

impl RangeSpec {
    /// Resolves against the selected representation's length (RFC 9110 §14.1.1-§14.1.2):
    /// an int-range is satisfiable when `first < len`, and its last position is clamped; a
    /// suffix range is satisfiable when its length is non-zero and selects at most the whole
    /// object.
    pub fn resolve(self, len: u64) -> Resolved {
        match self {
            RangeSpec::FromTo(first, _) | RangeSpec::From(first) if first >= len => {
                Resolved::Unsatisfiable
            }
            RangeSpec::FromTo(first, last) => Resolved::Span(ByteSpan {
                first,
                last: last.min(len - 1),
            }),
            RangeSpec::From(first) => Resolved::Span(ByteSpan {
                first,
                last: len - 1,
            }),
            RangeSpec::Suffix(0) => Resolved::Unsatisfiable,
            RangeSpec::Suffix(_) if len == 0 => Resolved::Whole,
            RangeSpec::Suffix(n) => Resolved::Span(ByteSpan {
                first: len - n.min(len),
                last: len - 1,
            }),
        }
    }

    /// The same range, asking for at most `max` bytes where that is known without the
    /// object's length (a suffix range is left as it is).
    pub fn limited(self, max: Option<u64>) -> RangeSpec {
        let Some(max) = max.filter(|m| *m > 0) else {
            return self;
        };
        match self {
            RangeSpec::FromTo(first, last) => {
                RangeSpec::FromTo(first, last.min(first.saturating_add(max - 1)))
            }
            RangeSpec::From(first) => RangeSpec::FromTo(first, first.saturating_add(max - 1)),
            RangeSpec::Suffix(n) => RangeSpec::Suffix(n),
        }
    }

    /// The header value that asks another server for exactly this range.
    pub fn header_value(self) -> String {
        match self {
            RangeSpec::FromTo(first, last) => format!("bytes={first}-{last}"),
            RangeSpec::From(first) => format!("bytes={first}-"),
            RangeSpec::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

impl RangeRequest {
    /// Reads the `Range` header. Anything but a single well-formed `bytes` header line is
    /// ignored, as RFC 9110 §14.2 requires for ranges the server does not understand.
    pub fn from_headers(headers: &HeaderMap) -> RangeRequest {
        let mut lines = headers.get_all(RANGE).iter();
        let (Some(value), None) = (lines.next(), lines.next()) else {
            return RangeRequest::None;
        };
        let Ok(text) = value.to_str() else {
            return RangeRequest::None;
        };
        let spec = |range: &SyntacticallyCorrectRange| match *range {
            SyntacticallyCorrectRange::Indexed(first, last) => RangeSpec::FromTo(first, last),
            SyntacticallyCorrectRange::FromStart(first) => RangeSpec::From(first),
            SyntacticallyCorrectRange::FromLast(n) => RangeSpec::Suffix(n),
        };
        match http_range_header::parse_range_header(text).map(|p| p.into_ranges()) {
            Ok(ranges) if ranges.len() == 1 => RangeRequest::Single(spec(&ranges[0])),
            Ok(ranges) if ranges.len() > 1 => {
                RangeRequest::Multiple(ranges.iter().map(spec).collect())
            }
            _ => RangeRequest::None,
        }
    }

    /// The single range, if there is exactly one.
    pub fn single(&self) -> Option<RangeSpec> {
        match self {
            RangeRequest::Single(spec) => Some(*spec),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn parse(values: &[&str]) -> RangeRequest {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(RANGE, HeaderValue::from_str(v).unwrap());
        }
        RangeRequest::from_headers(&headers)
    }

    fn span(first: u64, last: u64) -> Resolved {
        Resolved::Span(ByteSpan { first, last })
    }

    // RFC 9110 §14.1.2 examples and §14.1.1 satisfiability, for a 1000-byte object unless noted.
    #[test]
    fn resolve_table() {
        use RangeSpec::*;
        let cases = [
            (FromTo(0, 499), 1000, span(0, 499)),      // first 500 bytes
            (FromTo(500, 999), 1000, span(500, 999)),  // second 500 bytes
            (FromTo(500, 5000), 1000, span(500, 999)), // last-pos clamped (§14.1.2)
            (From(9500), 10000, span(9500, 9999)),     // bytes=9500-
            (Suffix(500), 1000, span(500, 999)),       // bytes=-500
            (Suffix(5000), 1000, span(0, 999)),        // suffix longer selects all
            (FromTo(1000, 1000), 1000, Resolved::Unsatisfiable), // first-pos == len
            (From(1000), 1000, Resolved::Unsatisfiable),
            (Suffix(0), 1000, Resolved::Unsatisfiable), // suffix-length 0
            (FromTo(0, 16383), 100, span(0, 99)),       // PMTiles' first probe on small files
            (FromTo(0, 0), 1, span(0, 0)),
            (FromTo(0, 0), 0, Resolved::Unsatisfiable), // zero-length: int-range never fits
            (From(0), 0, Resolved::Unsatisfiable),
            (Suffix(1), 0, Resolved::Whole), // zero-length: 200, empty body
            (FromTo(0, u64::MAX), u64::MAX, span(0, u64::MAX - 1)),
        ];
        for (spec, len, want) in cases {
            assert_eq!(spec.resolve(len), want, "{spec:?} of {len}");
        }
    }

    // §14.2: "A server MAY ignore the Range header field"; a recipient must ignore ranges it
    // does not understand and invalid ones (§14.1.1: last-pos < first-pos).
    #[test]
    fn header_table() {
        use RangeRequest::*;
        let cases: &[(&[&str], RangeRequest)] = &[
            (&["bytes=0-499"], Single(RangeSpec::FromTo(0, 499))),
            (&["bytes=9500-"], Single(RangeSpec::From(9500))),
            (&["bytes=-500"], Single(RangeSpec::Suffix(500))),
            (&["Bytes=0-1"], Single(RangeSpec::FromTo(0, 1))), // unit is case-insensitive
            (
                &["bytes=0-0,-1"],
                Multiple(vec![RangeSpec::FromTo(0, 0), RangeSpec::Suffix(1)]),
            ),
            (
                &["bytes=500-600, 0-9,-5"],
                Multiple(vec![
                    RangeSpec::FromTo(500, 600),
                    RangeSpec::FromTo(0, 9),
                    RangeSpec::Suffix(5),
                ]),
            ),
            (&["bytes=0-1,5-3"], None), // one invalid spec invalidates the header (§14.1.1)
            (&["bytes=5-1"], None),     // invalid: reversed
            (&["bytes=abc"], None),     // unparsable
            (&["items=0-1"], None),     // other unit
            (&["bytes="], None),
            (&["bytes=0-1", "bytes=2-3"], None), // repeated header line
            (&[], None),
        ];
        for (values, want) in cases {
            assert_eq!(&parse(values), want, "{values:?}");
        }
    }

    // The CloudFront Function sends a Range to the buffered origin exactly when this module
    // reads it as one range (deploy/template.yaml, `oneRange`); both pass these vectors. A
    // value that cannot be a header value cannot reach either.
    #[test]
    fn shared_range_vectors() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../deploy/test/range-vectors.json")).unwrap();
        let cases = vectors["cases"].as_array().unwrap();
        assert!(cases.len() >= 40);
        for case in cases {
            let text = case["range"].as_str().unwrap();
            let parsed = match HeaderValue::from_str(text) {
                Ok(value) => {
                    let mut headers = HeaderMap::new();
                    headers.insert(RANGE, value);
                    RangeRequest::from_headers(&headers)
                }
                Err(_) => RangeRequest::None,
            };
            let (single, count) = match &parsed {
                RangeRequest::None => (false, 0),
                RangeRequest::Single(_) => (true, 1),
                RangeRequest::Multiple(specs) => (false, specs.len() as u64),
            };
            assert_eq!(single, case["single"].as_bool().unwrap(), "{text:?}");
            assert_eq!(count, case["ranges"].as_u64().unwrap(), "{text:?}");
        }
    }

    #[test]
    fn limited_ranges() {
        use RangeSpec::*;
        assert_eq!(FromTo(10, 999).limited(Some(100)), FromTo(10, 109));
        assert_eq!(FromTo(10, 50).limited(Some(100)), FromTo(10, 50));
        assert_eq!(From(7).limited(Some(3)), FromTo(7, 9));
        assert_eq!(From(u64::MAX).limited(Some(3)), FromTo(u64::MAX, u64::MAX));
        assert_eq!(Suffix(500).limited(Some(100)), Suffix(500));
        assert_eq!(From(7).limited(None), From(7));
    }

    #[test]
    fn header_value_round_trips() {
        for spec in [
            RangeSpec::FromTo(3, 9),
            RangeSpec::From(7),
            RangeSpec::Suffix(12),
        ] {
            assert_eq!(parse(&[&spec.header_value()]), RangeRequest::Single(spec));
        }
    }

    proptest! {
        #[test]
        fn never_panics(value in "[ -~]{0,64}", len in any::<u64>()) {
            if let Ok(v) = HeaderValue::from_str(&value) {
                let mut headers = HeaderMap::new();
                headers.insert(RANGE, v);
                if let RangeRequest::Single(spec) = RangeRequest::from_headers(&headers) {
                    if let Resolved::Span(s) = spec.resolve(len) {
                        prop_assert!(s.first <= s.last && s.last < len);
                    }
                }
            }
        }

        #[test]
        fn never_panics_on_range_like_input(value in "(?i)bytes=[0-9,\\- ]{0,40}", len in 0u64..5000) {
            let mut headers = HeaderMap::new();
            headers.insert(RANGE, HeaderValue::from_str(&value).unwrap());
            if let RangeRequest::Single(spec) = RangeRequest::from_headers(&headers) {
                if let Resolved::Span(s) = spec.resolve(len) {
                    prop_assert!(s.first <= s.last && s.last < len);
                }
            }
        }
    }
}
