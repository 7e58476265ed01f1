use super::*;
use crate::meta::ObjectMeta;
use crate::range::RangeRequest;
use proptest::prelude::*;
use RangeSpec::{From, FromTo, Suffix};

fn s(first: u64, last: u64) -> ByteSpan {
    ByteSpan { first, last }
}

const LEN: u64 = 100_000;

// RFC 9110 §14.2 (a server MAY ignore a Range), §15.3.7.2 (coalescing; parts in the order
// asked), §17.15 (egregious requests), for a 100,000-byte object unless noted.
#[test]
fn plan_table() {
    let cases: Vec<(&str, Vec<RangeSpec>, u64, Multi)> = vec![
        (
            "two disjoint",
            vec![FromTo(0, 99), FromTo(50_000, 50_099)],
            LEN,
            Multi::Parts(vec![s(0, 99), s(50_000, 50_099)]),
        ),
        (
            "descending: answered in the order asked",
            vec![FromTo(50_000, 50_099), FromTo(0, 99)],
            LEN,
            Multi::Parts(vec![s(50_000, 50_099), s(0, 99)]),
        ),
        (
            "overlapping: merged",
            vec![FromTo(0, 999), FromTo(500, 1499)],
            LEN,
            Multi::One(s(0, 1499)),
        ),
        (
            "adjacent: merged",
            vec![FromTo(0, 99), FromTo(100, 199)],
            LEN,
            Multi::One(s(0, 199)),
        ),
        (
            "one byte apart: two parts, as asked (only overlapping or touching ranges merge)",
            vec![FromTo(0, 99), FromTo(101, 200)],
            LEN,
            Multi::Parts(vec![s(0, 99), s(101, 200)]),
        ),
        (
            "a span bridging two others merges all three",
            vec![FromTo(0, 99), FromTo(3000, 3099), FromTo(50, 3049)],
            LEN,
            Multi::One(s(0, 3099)),
        ),
        (
            "a merged span keeps its first member's place",
            vec![FromTo(50_000, 50_099), FromTo(0, 99), FromTo(100, 3099)],
            LEN,
            Multi::Parts(vec![s(50_000, 50_099), s(0, 3099)]),
        ),
        (
            "suffix and open ranges",
            vec![Suffix(100), FromTo(0, 99)],
            LEN,
            Multi::Parts(vec![s(99_900, 99_999), s(0, 99)]),
        ),
        (
            "open range clamped",
            vec![FromTo(0, 9), From(90_000)],
            LEN,
            Multi::Parts(vec![s(0, 9), s(90_000, 99_999)]),
        ),
        (
            "unsatisfiable ones left out",
            vec![FromTo(0, 99), FromTo(200_000, 200_099)],
            LEN,
            Multi::One(s(0, 99)),
        ),
        (
            "none satisfiable: 416",
            vec![From(200_000), FromTo(300_000, 300_001), Suffix(0)],
            LEN,
            Multi::Unsatisfiable,
        ),
        (
            "three overlapping: ignored",
            vec![FromTo(0, 999), FromTo(100, 1099), FromTo(200, 1299)],
            LEN,
            Multi::Ignore,
        ),
        (
            "two overlapping twice: kept",
            vec![
                FromTo(0, 999),
                FromTo(100, 1099),
                FromTo(2000, 2099),
                FromTo(2050, 2149),
            ],
            LEN,
            Multi::Parts(vec![s(0, 1099), s(2000, 2149)]),
        ),
        (
            "more bytes asked than the object has: ignored",
            vec![FromTo(0, 60_000), FromTo(50_000, 99_999)],
            LEN,
            Multi::Ignore,
        ),
        (
            "zero-length object, suffix ranges: the empty object",
            vec![Suffix(1), Suffix(2)],
            0,
            Multi::Ignore,
        ),
        (
            "zero-length object, int ranges: 416",
            vec![FromTo(0, 1), FromTo(2, 3)],
            0,
            Multi::Unsatisfiable,
        ),
        (
            "object longer than any store holds: ignored (fuzz: framing overflowed u64)",
            vec![FromTo(0, 9), From(20)],
            u64::MAX,
            Multi::Ignore,
        ),
        (
            "object at the framing limit: parts",
            vec![FromTo(0, 9), Suffix(10)],
            MAX_FRAMED_LEN,
            Multi::Parts(vec![s(0, 9), s(MAX_FRAMED_LEN - 10, MAX_FRAMED_LEN - 1)]),
        ),
    ];
    for (name, specs, len, want) in cases {
        assert_eq!(plan(&specs, len, DEFAULT_MAX_RANGES), want, "{name}");
    }
}

#[test]
fn layout_length_saturates_rather_than_wraps() {
    let l = layout(&[s(0, 9), s(20, u64::MAX - 1)], u64::MAX, None, "B");
    assert_eq!(l.content_length, u64::MAX);
}

#[test]
fn more_ranges_than_the_limit_are_ignored() {
    let specs: Vec<RangeSpec> = (0..65).map(|i| FromTo(i * 10_000, i * 10_000)).collect();
    let len = 1_000_000;
    assert!(matches!(plan(&specs, len, 65), Multi::Parts(p) if p.len() == 65));
    assert_eq!(plan(&specs, len, 64), Multi::Ignore);
}

#[test]
fn layout_is_exact() {
    let l = layout(&[s(0, 1), s(10, 12)], 1000, Some("image/jpeg"), "B");
    assert_eq!(l.content_type, "multipart/byteranges; boundary=B");
    let mut body = Vec::new();
    for (head, span) in &l.parts {
        body.extend_from_slice(head);
        body.extend(std::iter::repeat_n(b'.', span.len() as usize));
    }
    body.extend_from_slice(&l.tail);
    assert_eq!(
        String::from_utf8(body.clone()).unwrap(),
        "--B\r\nContent-Type: image/jpeg\r\nContent-Range: bytes 0-1/1000\r\n\r\n..\
         \r\n--B\r\nContent-Type: image/jpeg\r\nContent-Range: bytes 10-12/1000\r\n\r\n...\
         \r\n--B--\r\n"
    );
    assert_eq!(l.content_length, body.len() as u64);
    // No Content-Type for an object without one (§14.6: only if a 200 would have had it).
    let bare = layout(&[s(0, 0), s(5, 5)], 6, None, "B");
    assert!(!String::from_utf8_lossy(&bare.parts[0].0).contains("Content-Type"));
}

#[test]
fn fitting_drops_whole_parts_from_the_end() {
    let spans = [s(0, 999), s(10_000, 10_999), s(20_000, 20_999)];
    let size =
        |n: usize| layout(&spans[..n], LEN, Some("a/b"), &"x".repeat(BOUNDARY_LEN)).content_length;
    assert_eq!(
        fitting(&spans, LEN, Some("a/b"), size(3)),
        Some(spans.to_vec())
    );
    assert_eq!(
        fitting(&spans, LEN, Some("a/b"), size(3) - 1),
        Some(spans[..2].to_vec())
    );
    assert_eq!(fitting(&spans, LEN, Some("a/b"), size(2) - 1), None);
}

// Nearby parts share a store read over their hull; order and distance split reads.
#[test]
fn reads_group_nearby_ascending_parts() {
    let g = READ_GAP;
    type Reads = Vec<(ByteSpan, usize)>;
    let cases: Vec<(&str, Vec<ByteSpan>, Reads)> = vec![
        (
            "gap under READ_GAP: one read",
            vec![s(0, 99), s(100 + g - 1, 200 + g)],
            vec![(s(0, 200 + g), 2)],
        ),
        (
            "gap of READ_GAP: two reads",
            vec![s(0, 99), s(100 + g, 200 + g)],
            vec![(s(0, 99), 1), (s(100 + g, 200 + g), 1)],
        ),
        (
            "descending: a read each",
            vec![s(1000, 1099), s(0, 99)],
            vec![(s(1000, 1099), 1), (s(0, 99), 1)],
        ),
        (
            "three near, then far, then near again",
            vec![
                s(0, 9),
                s(20, 29),
                s(40, 49),
                s(90_000, 90_009),
                s(90_020, 90_029),
            ],
            vec![(s(0, 49), 3), (s(90_000, 90_029), 2)],
        ),
    ];
    for (name, spans, want) in cases {
        assert_eq!(reads(&spans, g), want, "{name}");
    }
}

#[test]
fn boundaries_are_fresh_and_of_the_stated_length() {
    let (a, b) = (boundary(), boundary());
    assert_ne!(a, b);
    assert_eq!(a.len(), BOUNDARY_LEN);
    assert!(
        a.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-'),
        "{a}"
    );
}

fn spec() -> impl Strategy<Value = RangeSpec> {
    prop_oneof![
        (0u64..2000, 0u64..2000).prop_map(|(a, b)| FromTo(a.min(b), a.max(b))),
        (0u64..2000).prop_map(From),
        (0u64..2000).prop_map(Suffix),
    ]
}

proptest! {
    // Whatever is asked: parts lie in the object, are disjoint and do not touch, cover every satisfiable byte asked, and the layout's length is the sum of its bytes.
    #[test]
    fn parts_cover_what_was_asked(specs in prop::collection::vec(spec(), 2..10), len in 0u64..1500) {
        let want: Vec<ByteSpan> = specs.iter().filter_map(|r| match r.resolve(len) {
            Resolved::Span(s) => Some(s),
            _ => None,
        }).collect();
        match plan(&specs, len, DEFAULT_MAX_RANGES) {
            Multi::Parts(parts) => {
                prop_assert!(parts.len() >= 2);
                for (i, a) in parts.iter().enumerate() {
                    prop_assert!(a.first <= a.last && a.last < len);
                    for b in &parts[i + 1..] {
                        prop_assert!(a.last + 1 < b.first || b.last + 1 < a.first);
                    }
                }
                for w in &want {
                    prop_assert!(parts.iter().any(|p| p.first <= w.first && w.last <= p.last));
                }
                let l = layout(&parts, len, Some("t/t"), "b");
                let sum: u64 = l.parts.iter().map(|(h, s)| h.len() as u64 + s.len()).sum::<u64>() + l.tail.len() as u64;
                prop_assert_eq!(l.content_length, sum);
            }
            Multi::One(one) => {
                prop_assert!(one.last < len);
                for w in &want {
                    prop_assert!(one.first <= w.first && w.last <= one.last);
                }
            }
            Multi::Unsatisfiable => prop_assert!(want.is_empty()),
            Multi::Ignore => {}
        }
    }
}

/// Name, HEAD, conditions, body budget, object, expected decision.
type Row<'a> = (
    &'a str,
    bool,
    &'a crate::validators::Conditions,
    Option<u64>,
    &'a ObjectMeta,
    crate::plan::Decision,
);

// The whole decision (crate::plan::decide) for several ranges: preconditions and If-Range as
// for one range (§13.2.2, §13.1.5), HEAD ignores Range (§14.2), a body budget keeps whole
// leading parts (Lambda's buffered mode), an encoded object is sent whole.
#[test]
fn decide_table() {
    use crate::plan::{decide, Ask, Decision};
    use crate::validators::{Conditions, EntityTag, IfRange};
    use std::time::{Duration, SystemTime};
    let tag = EntityTag::parse(r#""v1""#).expect("tag");
    let mut meta = ObjectMeta::new(LEN, tag.clone(), None);
    meta.content_type = Some("image/jpeg".into());
    let mut encoded = meta.clone();
    encoded.stored.content_encoding = Some("gzip".into());
    let spans = [s(0, 999), s(10_000, 10_999), s(20_000, 20_999)];
    let range = RangeRequest::Multiple(spans.iter().map(|x| FromTo(x.first, x.last)).collect());
    let size = |n: usize| {
        layout(
            &spans[..n],
            LEN,
            Some("image/jpeg"),
            &"x".repeat(BOUNDARY_LEN),
        )
        .content_length
    };
    let plain = Conditions::default();
    let stale = Conditions {
        if_range: Some(IfRange::Tag(EntityTag::parse(r#""v0""#).expect("tag"))),
        ..Conditions::default()
    };
    let fresh = Conditions {
        if_range: Some(IfRange::Tag(tag)),
        ..Conditions::default()
    };
    let whole = Decision::Full(Some(s(0, LEN - 1)));
    let rows: Vec<Row> = vec![
        (
            "three parts",
            false,
            &plain,
            None,
            &meta,
            Decision::Multipart(spans.to_vec()),
        ),
        (
            "If-Range matches",
            false,
            &fresh,
            None,
            &meta,
            Decision::Multipart(spans.to_vec()),
        ),
        (
            "If-Range stale: whole object",
            false,
            &stale,
            None,
            &meta,
            whole.clone(),
        ),
        (
            "HEAD: whole object's headers",
            true,
            &plain,
            None,
            &meta,
            whole.clone(),
        ),
        (
            "encoded object: whole",
            false,
            &plain,
            None,
            &encoded,
            whole,
        ),
        (
            "budget for all",
            false,
            &plain,
            Some(size(3)),
            &meta,
            Decision::Multipart(spans.to_vec()),
        ),
        (
            "budget for two",
            false,
            &plain,
            Some(size(3) - 1),
            &meta,
            Decision::Multipart(spans[..2].to_vec()),
        ),
        (
            "budget under two parts: first span, cut",
            false,
            &plain,
            Some(600),
            &meta,
            Decision::Partial(s(0, 599)),
        ),
    ];
    for (name, head, conditions, max_body, meta, want) in rows {
        let ask = Ask {
            head,
            conditions,
            range: range.clone(),
            now: SystemTime::UNIX_EPOCH + Duration::from_secs(2_000_000_000),
            max_body,
            max_ranges: DEFAULT_MAX_RANGES,
        };
        assert_eq!(decide(&ask, meta), want, "{name}");
    }
}
