//! Table-driven tests of [`decide`], each row citing the RFC 9110 rule it pins.

use super::*;
use crate::range::RangeSpec;
use crate::validators::{EntityTag, TagCondition};
use std::time::{Duration, UNIX_EPOCH};

const LEN: u64 = 1000;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn tag(s: &str) -> EntityTag {
    EntityTag::parse(s).unwrap()
}

fn tags(list: &[&str]) -> Option<TagCondition> {
    Some(TagCondition::Tags(list.iter().map(|s| tag(s)).collect()))
}

fn meta() -> ObjectMeta {
    ObjectMeta::new(LEN, tag(r#""v1""#), Some(at(1_000_000)))
}

fn span(first: u64, last: u64) -> ByteSpan {
    ByteSpan { first, last }
}

fn decide_with(head: bool, conditions: Conditions, range: RangeRequest) -> Decision {
    let ask = Ask {
        head,
        conditions: &conditions,
        range,
        now: at(2_000_000),
        max_body: None,
        max_ranges: 64,
    };
    decide(&ask, &meta())
}

#[test]
fn decision_table() {
    use Decision::*;
    let none = RangeRequest::None;
    let first100 = RangeRequest::Single(RangeSpec::FromTo(0, 99));
    let full = Full(Some(span(0, LEN - 1)));
    let c = Conditions::default;
    let rows: Vec<(&str, bool, Conditions, RangeRequest, Decision)> = vec![
        ("plain GET", false, c(), none.clone(), full.clone()),
        (
            "§14.2 single range",
            false,
            c(),
            first100.clone(),
            Partial(span(0, 99)),
        ),
        (
            "§14.2 HEAD ignores Range",
            true,
            c(),
            first100.clone(),
            full.clone(),
        ),
        (
            "§14.2 several ranges, coalesced into one (multipart_tests.rs has the rest)",
            false,
            c(),
            RangeRequest::Multiple(vec![RangeSpec::FromTo(0, 9), RangeSpec::FromTo(5, 509)]),
            Partial(span(0, 509)),
        ),
        (
            "§15.5.17 unsatisfiable",
            false,
            c(),
            RangeRequest::Single(RangeSpec::From(LEN)),
            Unsatisfiable,
        ),
        (
            "§13.1.1 If-Match strong hit",
            false,
            Conditions {
                if_match: tags(&[r#""v1""#]),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
        (
            "§13.1.1 If-Match miss -> 412",
            false,
            Conditions {
                if_match: tags(&[r#""v0""#]),
                ..c()
            },
            none.clone(),
            PreconditionFailed,
        ),
        (
            "§13.1.1 If-Match weak tag never matches",
            false,
            Conditions {
                if_match: tags(&[r#"W/"v1""#]),
                ..c()
            },
            none.clone(),
            PreconditionFailed,
        ),
        (
            "§13.1.1 If-Match * matches",
            false,
            Conditions {
                if_match: Some(TagCondition::Any),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
        (
            "§13.1.1 If-Match garbage fails closed",
            false,
            Conditions {
                if_match: tags(&[]),
                ..c()
            },
            none.clone(),
            PreconditionFailed,
        ),
        (
            "§13.1.4 If-Unmodified-Since before LM -> 412",
            false,
            Conditions {
                if_unmodified_since: Some(at(999_999)),
                ..c()
            },
            none.clone(),
            PreconditionFailed,
        ),
        (
            "§13.1.4 If-Unmodified-Since at LM passes",
            false,
            Conditions {
                if_unmodified_since: Some(at(1_000_000)),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
        (
            "§13.2.2 If-Match takes precedence over If-Unmodified-Since",
            false,
            Conditions {
                if_match: tags(&[r#""v1""#]),
                if_unmodified_since: Some(at(1)),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
        (
            "§13.1.2 If-None-Match weak hit -> 304",
            false,
            Conditions {
                if_none_match: tags(&[r#"W/"v1""#]),
                ..c()
            },
            none.clone(),
            NotModified,
        ),
        (
            "§13.1.2 If-None-Match hit on HEAD -> 304",
            true,
            Conditions {
                if_none_match: tags(&[r#""v1""#]),
                ..c()
            },
            none.clone(),
            NotModified,
        ),
        (
            "§13.1.2 If-None-Match miss -> 200",
            false,
            Conditions {
                if_none_match: tags(&[r#""v0""#]),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
        (
            "§13.1.2 If-None-Match * -> 304",
            false,
            Conditions {
                if_none_match: Some(TagCondition::Any),
                ..c()
            },
            none.clone(),
            NotModified,
        ),
        (
            "§13.1.3 If-Modified-Since at LM -> 304",
            false,
            Conditions {
                if_modified_since: Some(at(1_000_000)),
                ..c()
            },
            none.clone(),
            NotModified,
        ),
        (
            "§13.1.3 If-Modified-Since before LM -> 200",
            false,
            Conditions {
                if_modified_since: Some(at(999_999)),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
        (
            "§13.1.3 future If-Modified-Since is ignored",
            false,
            Conditions {
                if_modified_since: Some(at(3_000_000)),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
        (
            "§13.2.2 If-None-Match takes precedence over If-Modified-Since",
            false,
            Conditions {
                if_none_match: tags(&[r#""v0""#]),
                if_modified_since: Some(at(1_000_000)),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
        (
            "§13.2.2 412 before 304",
            false,
            Conditions {
                if_match: tags(&[r#""v0""#]),
                if_none_match: tags(&[r#""v1""#]),
                ..c()
            },
            none.clone(),
            PreconditionFailed,
        ),
        (
            "§13.2.2 304 before range",
            false,
            Conditions {
                if_none_match: tags(&[r#""v1""#]),
                ..c()
            },
            first100.clone(),
            NotModified,
        ),
        (
            "§13.2.2 412 before 416",
            false,
            Conditions {
                if_match: tags(&[r#""v0""#]),
                ..c()
            },
            RangeRequest::Single(RangeSpec::From(LEN)),
            PreconditionFailed,
        ),
        (
            "§13.1.5 If-Range tag match -> 206",
            false,
            Conditions {
                if_range: Some(IfRange::Tag(tag(r#""v1""#))),
                ..c()
            },
            first100.clone(),
            Partial(span(0, 99)),
        ),
        (
            "§13.1.5 If-Range tag mismatch -> 200",
            false,
            Conditions {
                if_range: Some(IfRange::Tag(tag(r#""v0""#))),
                ..c()
            },
            first100.clone(),
            full.clone(),
        ),
        (
            "§13.1.5 If-Range weak tag -> 200",
            false,
            Conditions {
                if_range: Some(IfRange::Tag(tag(r#"W/"v1""#))),
                ..c()
            },
            first100.clone(),
            full.clone(),
        ),
        (
            "§13.1.5 If-Range exact date -> 206",
            false,
            Conditions {
                if_range: Some(IfRange::Date(at(1_000_000))),
                ..c()
            },
            first100.clone(),
            Partial(span(0, 99)),
        ),
        (
            "§13.1.5 If-Range later date is not a match -> 200",
            false,
            Conditions {
                if_range: Some(IfRange::Date(at(1_000_001))),
                ..c()
            },
            first100.clone(),
            full.clone(),
        ),
        (
            "§13.1.5 If-Range invalid -> 200",
            false,
            Conditions {
                if_range: Some(IfRange::Invalid),
                ..c()
            },
            first100.clone(),
            full.clone(),
        ),
        (
            "§13.1.5 If-Range mismatch also skips 416",
            false,
            Conditions {
                if_range: Some(IfRange::Tag(tag(r#""v0""#))),
                ..c()
            },
            RangeRequest::Single(RangeSpec::From(LEN)),
            full.clone(),
        ),
        (
            "§13.1.5 If-Range without Range is ignored",
            false,
            Conditions {
                if_range: Some(IfRange::Tag(tag(r#""v0""#))),
                ..c()
            },
            none.clone(),
            full.clone(),
        ),
    ];
    for (name, head, conditions, range, want) in rows {
        assert_eq!(decide_with(head, conditions, range), want, "{name}");
    }
}

#[test]
fn zero_length_object() {
    let conditions = Conditions::default();
    let empty = ObjectMeta::new(0, tag(r#""e""#), Some(at(1)));
    let ask = |range| Ask {
        head: false,
        conditions: &conditions,
        range,
        now: at(2),
        max_body: None,
        max_ranges: 64,
    };
    let suffix = RangeRequest::Single(RangeSpec::Suffix(10));
    let from0 = RangeRequest::Single(RangeSpec::From(0));
    assert_eq!(
        decide(&ask(RangeRequest::None), &empty),
        Decision::Full(None)
    );
    assert_eq!(decide(&ask(suffix), &empty), Decision::Full(None));
    assert_eq!(decide(&ask(from0), &empty), Decision::Unsatisfiable);
}

#[test]
fn meta_dates_are_truncated_to_seconds() {
    let m = ObjectMeta::new(1, tag(r#""x""#), Some(at(5) + Duration::from_nanos(999)));
    assert_eq!(m.last_modified, Some(at(5)));
}

// A transport that can carry at most `max_body` bytes (Lambda: 6 MB buffered, 200 MB streamed):
// ranges shrink to their first part, with the Content-Range of what is sent (§14.4 lets a
// server send less than asked); a whole object that cannot fit is refused, never cut off.
#[test]
fn body_budget_table() {
    use Decision::*;
    let conditions = Conditions::default();
    let ask = |head, range, max_body| Ask {
        head,
        conditions: &conditions,
        range,
        now: at(2_000_000),
        max_body,
        max_ranges: 64,
    };
    let r = |spec| RangeRequest::Single(spec);
    let rows = [
        (
            "range within budget",
            ask(false, r(RangeSpec::FromTo(0, 99)), Some(100)),
            Partial(span(0, 99)),
        ),
        (
            "range cut to budget",
            ask(false, r(RangeSpec::FromTo(10, 999)), Some(100)),
            Partial(span(10, 109)),
        ),
        (
            "open range cut",
            ask(false, r(RangeSpec::From(900)), Some(50)),
            Partial(span(900, 949)),
        ),
        (
            "suffix cut to its first part",
            ask(false, r(RangeSpec::Suffix(500)), Some(100)),
            Partial(span(500, 599)),
        ),
        (
            "whole object over budget",
            ask(false, RangeRequest::None, Some(999)),
            TooLarge,
        ),
        (
            "whole object at budget",
            ask(false, RangeRequest::None, Some(LEN)),
            Full(Some(span(0, LEN - 1))),
        ),
        (
            "HEAD sends no body",
            ask(true, RangeRequest::None, Some(1)),
            Full(Some(span(0, LEN - 1))),
        ),
        (
            "no budget",
            ask(false, RangeRequest::None, None),
            Full(Some(span(0, LEN - 1))),
        ),
    ];
    for (name, ask, want) in rows {
        assert_eq!(decide(&ask, &meta()), want, "{name}");
    }
}
