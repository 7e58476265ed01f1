//! Table tests of what goes to the origin, each row citing the RFC 9110 rule it pins.

use super::*;
use std::time::{Duration, UNIX_EPOCH};

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn tag(s: &str) -> EntityTag {
    EntityTag::parse(s).expect("tag")
}

fn tags(list: &[&str]) -> Option<TagCondition> {
    Some(TagCondition::Tags(list.iter().map(|s| tag(s)).collect()))
}

const NOW: u64 = 2_000_000_000;

/// (why, range, conditions, If-Match tag standing in, expected fields)
type Row<'a> = (
    &'a str,
    Option<RangeSpec>,
    Conditions,
    Option<&'a EntityTag>,
    Vec<(&'a str, &'a str)>,
);

#[test]
fn fields_table() {
    let c = Conditions::default;
    let past = at(NOW - 86_400);
    let future = at(NOW + 86_400);
    let past_text = httpdate::fmt_http_date(past);
    let long: Vec<String> = (0..100).map(|i| format!("\"{i:020}\"")).collect();
    let long: Vec<&str> = long.iter().map(String::as_str).collect();
    let resumed = tag("\"v2\"");
    let rows: Vec<Row> = vec![
        ("nothing to forward", None, c(), None, vec![]),
        (
            "§14.2 the range",
            Some(RangeSpec::FromTo(0, 99)),
            c(),
            None,
            vec![("range", "bytes=0-99")],
        ),
        (
            "§14.2 suffix range",
            Some(RangeSpec::Suffix(5)),
            c(),
            None,
            vec![("range", "bytes=-5")],
        ),
        (
            "§13.1.1 If-Match list, in order",
            None,
            Conditions {
                if_match: tags(&["\"a\"", "\"b\""]),
                ..c()
            },
            None,
            vec![("if-match", "\"a\", \"b\"")],
        ),
        (
            "§13.1.1 If-Match *",
            None,
            Conditions {
                if_match: Some(TagCondition::Any),
                ..c()
            },
            None,
            vec![("if-match", "*")],
        ),
        (
            "§13.1.4 If-Unmodified-Since is ignored beside If-Match",
            None,
            Conditions {
                if_match: tags(&["\"a\""]),
                if_unmodified_since: Some(past),
                ..c()
            },
            None,
            vec![("if-match", "\"a\"")],
        ),
        (
            "§13.1.4 If-Unmodified-Since alone",
            None,
            Conditions {
                if_unmodified_since: Some(past),
                ..c()
            },
            None,
            vec![("if-unmodified-since", &past_text)],
        ),
        (
            "§13.1.3 If-Modified-Since is ignored beside If-None-Match",
            None,
            Conditions {
                if_none_match: tags(&["W/\"a\""]),
                if_modified_since: Some(past),
                ..c()
            },
            None,
            vec![("if-none-match", "W/\"a\"")],
        ),
        (
            "§13.1.3 If-Modified-Since alone",
            None,
            Conditions {
                if_modified_since: Some(past),
                ..c()
            },
            None,
            vec![("if-modified-since", &past_text)],
        ),
        (
            "§13.1.3 a future If-Modified-Since is invalid",
            None,
            Conditions {
                if_modified_since: Some(future),
                ..c()
            },
            None,
            vec![],
        ),
        (
            "a tag list over 1 KiB stays here (decide evaluates it)",
            None,
            Conditions {
                if_match: tags(&long),
                if_unmodified_since: Some(past),
                ..c()
            },
            None,
            vec![],
        ),
        (
            "a list of garbage (no tag) is not sent",
            None,
            Conditions {
                if_none_match: tags(&[]),
                ..c()
            },
            None,
            vec![],
        ),
        (
            "§13.1.5 If-Range emulated: its tag as If-Match, with the range",
            Some(RangeSpec::From(10)),
            Conditions {
                if_unmodified_since: Some(past),
                ..c()
            },
            Some(&resumed),
            vec![("range", "bytes=10-"), ("if-match", "\"v2\"")],
        ),
        (
            "§13.2.2 both pairs: one field of each",
            Some(RangeSpec::FromTo(1, 2)),
            Conditions {
                if_match: tags(&["\"a\""]),
                if_unmodified_since: Some(past),
                if_none_match: tags(&["\"b\""]),
                if_modified_since: Some(past),
                ..c()
            },
            None,
            vec![
                ("range", "bytes=1-2"),
                ("if-match", "\"a\""),
                ("if-none-match", "\"b\""),
            ],
        ),
    ];
    for (why, range, cond, tag, want) in rows {
        let got = fields(range, &cond, tag, at(NOW));
        let got: Vec<(&str, &str)> = got.iter().map(|(n, v)| (*n, v.as_str())).collect();
        assert_eq!(got, want, "{why}");
    }
}

#[test]
fn first_ask_table() {
    let strong = tag("\"v1\"");
    let weak = tag("W/\"v1\"");
    let range = Some(RangeSpec::FromTo(0, 9));
    let with = |if_range: Option<IfRange>, if_match: Option<TagCondition>| Conditions {
        if_range,
        if_match,
        ..Conditions::default()
    };
    // (why, range, conditions, range sent, If-Range tag emulated)
    let rows = [
        (
            "no If-Range: the range as asked",
            range,
            with(None, None),
            range,
            None,
        ),
        (
            "§13.1.5 strong tag: emulated with If-Match",
            range,
            with(Some(IfRange::Tag(strong.clone())), None),
            range,
            Some(&strong),
        ),
        (
            "§13.1.5 a weak tag never matches: whole object",
            range,
            with(Some(IfRange::Tag(weak)), None),
            None,
            None,
        ),
        (
            "§13.1.5 invalid If-Range: whole object",
            range,
            with(Some(IfRange::Invalid), None),
            None,
            None,
        ),
        (
            "§13.1.5 a date: the range, decide checks the date",
            range,
            with(Some(IfRange::Date(at(NOW))), None),
            range,
            None,
        ),
        (
            "§13.2.2 If-Match decides first: no emulation",
            range,
            with(Some(IfRange::Tag(strong.clone())), tags(&["\"x\""])),
            range,
            None,
        ),
        (
            "§13.1.5 If-Range without Range is ignored",
            None,
            with(Some(IfRange::Invalid), None),
            None,
            None,
        ),
    ];
    for (why, asked, cond, sent, emulated) in &rows {
        let got = first_ask(*asked, cond);
        assert_eq!(
            got,
            FirstAsk {
                range: *sent,
                if_range_tag: *emulated
            },
            "{why}"
        );
    }
}
