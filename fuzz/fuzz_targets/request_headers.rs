//! The request's headers (`Range` and the conditionals, every line of each) and path, as the
//! pipeline reads them before any store call, then planned against an object of fuzzed length.
//!
//! Input: 8 bytes little-endian object length, 8 bytes body budget (0 = none), then lines
//! split on `\n`, each a selector byte and a value: 0-5 a header line (Range, If-Match,
//! If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range), 6 the request path
//! (no prefix), 7 the request path under the prefix `images/`; other selectors pick a header
//! by `% 6` (so mutations keep producing header lines).
#![no_main]

use http::header::{
    HeaderName, IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderValue};
use imgorigin::key::{object_key, MAX_KEY_BYTES};
use imgorigin::meta::ObjectMeta;
use imgorigin::plan::{self, Ask, Decision};
use imgorigin::range::{ByteSpan, RangeRequest, RangeSpec, Resolved};
use imgorigin::validators::{Conditions, EntityTag};
use libfuzzer_sys::fuzz_target;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const NAMES: [HeaderName; 6] = [
    RANGE,
    IF_MATCH,
    IF_NONE_MATCH,
    IF_MODIFIED_SINCE,
    IF_UNMODIFIED_SINCE,
    IF_RANGE,
];

fn within(span: ByteSpan, len: u64) -> bool {
    span.first <= span.last && span.last < len
}

fn check_key(path: &[u8], prefix: &str) {
    let Ok(path) = std::str::from_utf8(path) else {
        return;
    };
    if let Ok(key) = object_key(path, prefix) {
        let key = key.as_str();
        assert!(key.len() <= MAX_KEY_BYTES, "{path:?}");
        let rest = key.strip_prefix(prefix).expect("key keeps its prefix");
        assert!(
            rest.split('/').all(|s| !matches!(s, "" | "." | "..")),
            "{path:?} -> {key:?}"
        );
        assert!(
            !rest.contains('\\') && !rest.chars().any(char::is_control),
            "{path:?}"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((len, rest)) = data.split_first_chunk::<8>() else {
        return;
    };
    let Some((budget, rest)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let len = u64::from_le_bytes(*len);
    let max_body = Some(u64::from_le_bytes(*budget)).filter(|b| *b > 0);
    let mut headers = HeaderMap::new();
    for line in rest.split(|b| *b == b'\n') {
        let Some((&selector, value)) = line.split_first() else {
            continue;
        };
        match selector {
            6 => check_key(value, ""),
            7 => check_key(value, "images/"),
            _ => {
                if let Ok(value) = HeaderValue::from_bytes(value) {
                    headers.append(NAMES[usize::from(selector) % 6].clone(), value);
                }
            }
        }
    }

    let range = RangeRequest::from_headers(&headers);
    let conditions = Conditions::from_headers(&headers);
    if let RangeRequest::Single(spec) = range.clone() {
        if let RangeSpec::FromTo(first, last) = spec {
            assert!(first <= last, "{spec:?}");
        }
        // The header we would send S3 for this range reads back as the same range.
        let mut again = HeaderMap::new();
        again.insert(
            RANGE,
            HeaderValue::from_str(&spec.header_value()).expect("ASCII"),
        );
        assert_eq!(RangeRequest::from_headers(&again), range);
        match spec.resolve(len) {
            Resolved::Span(span) => assert!(within(span, len), "{spec:?} on {len}: {span:?}"),
            Resolved::Whole => assert!(len == 0 && matches!(spec, RangeSpec::Suffix(_))),
            Resolved::Unsatisfiable => {}
        }
        if let Resolved::Span(span) = spec.limited(max_body).resolve(len) {
            assert!(
                within(span, len),
                "{spec:?} limited to {max_body:?} on {len}"
            );
            if let (Some(max), RangeSpec::FromTo(..) | RangeSpec::From(_)) = (max_body, spec) {
                assert!(
                    span.len() <= max,
                    "{spec:?} limited to {max} on {len}: {span:?}"
                );
            }
        }
    }

    // The RFC 9110 decision on an object of that length.
    let modified = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let meta = ObjectMeta::new(len, EntityTag::strong("\"v1\"".into()), Some(modified));
    for head in [false, true] {
        let ask = Ask {
            head,
            conditions: &conditions,
            range: range.clone(),
            now: SystemTime::now(),
            max_body,
            max_ranges: plan::multipart::DEFAULT_MAX_RANGES,
        };
        match plan::decide(&ask, &meta) {
            Decision::Partial(span) => {
                assert!(!head && within(span, len), "{ask:?} on {len}: {span:?}");
                assert!(
                    max_body.is_none_or(|m| span.len() <= m.max(1)),
                    "{ask:?}: {span:?}"
                );
            }
            Decision::Full(Some(span)) => {
                assert!(
                    span.first == 0 && span.last + 1 == len,
                    "{ask:?} on {len}: {span:?}"
                );
            }
            Decision::Full(None) => assert_eq!(len, 0),
            // Several ranges: two or more parts inside the object, neither overlapping nor
            // touching, and within the body budget once framed.
            Decision::Multipart(spans) => {
                assert!(!head && spans.len() >= 2, "{ask:?}: {spans:?}");
                for (i, a) in spans.iter().enumerate() {
                    assert!(within(*a, len), "{ask:?} on {len}: {a:?}");
                    for b in &spans[i + 1..] {
                        assert!(
                            a.last + 1 < b.first || b.last + 1 < a.first,
                            "{spans:?}"
                        );
                    }
                }
                if let Some(max) = max_body {
                    let boundary = "x".repeat(plan::multipart::BOUNDARY_LEN);
                    let layout = plan::multipart::layout(
                        &spans,
                        len,
                        Some(meta.sent_content_type()),
                        &boundary,
                    );
                    assert!(layout.content_length <= max, "{ask:?}: {spans:?}");
                }
            }
            _ => {}
        }
    }
});
