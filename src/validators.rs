//! Validators and conditional request headers (RFC 9110 §8.8, §13.1), parsed without judging:
//! [`crate::plan`] decides what they mean for a given object.

use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE};
use http::{HeaderMap, HeaderName};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// An entity-tag (RFC 9110 §8.8.3): `"opaque"` or `W/"opaque"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityTag {
    weak: bool,
    /// The opaque-tag with its quotes, exactly as on the wire.
    opaque: String,
}

impl EntityTag {
    /// Parses one entity-tag; `None` if it is not well-formed.
    pub fn parse(text: &str) -> Option<EntityTag> {
        let (weak, quoted) = match text.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
        // etagc = %x21 / %x23-7E / obs-text: anything visible but DQUOTE.
        if !inner
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        {
            return None;
        }
        Some(EntityTag {
            weak,
            opaque: quoted.to_owned(),
        })
    }

    /// A strong tag from an opaque value that is known to be valid (our own, or S3's).
    pub fn strong(opaque_with_quotes: String) -> EntityTag {
        EntityTag {
            weak: false,
            opaque: opaque_with_quotes,
        }
    }

    /// Strong comparison (§8.8.3.2): both strong and the opaque-tags identical.
    pub fn strong_eq(&self, other: &EntityTag) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }

    /// Weak comparison (§8.8.3.2): the opaque-tags identical, weakness ignored.
    pub fn weak_eq(&self, other: &EntityTag) -> bool {
        self.opaque == other.opaque
    }

    /// The tag as a header value.
    pub fn to_header_string(&self) -> String {
        let mut out = String::with_capacity(self.opaque.len() + 2);
        self.write_header_value(&mut out);
        out
    }

    /// Length of [`EntityTag::to_header_string`], without building it.
    pub fn header_len(&self) -> usize {
        self.opaque.len() + if self.weak { 2 } else { 0 }
    }

    /// [`EntityTag::to_header_string`], appended to `out`.
    pub fn write_header_value(&self, out: &mut String) {
        if self.weak {
            out.push_str("W/");
        }
        out.push_str(&self.opaque);
    }
}

/// The value of `If-Match` or `If-None-Match`: `*` or a list of entity-tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TagCondition {
    /// `*`: any current representation.
    Any,
    /// The well-formed tags of the list; malformed members are dropped, so a list of garbage
    /// is empty and matches nothing (`If-Match` then fails closed, `If-None-Match` passes).
    Tags(Vec<EntityTag>),
}

impl TagCondition {
    /// Whether `current` matches under the given comparison.
    pub fn matches(&self, current: &EntityTag, strong: bool) -> bool {
        match self {
            TagCondition::Any => true,
            TagCondition::Tags(tags) => tags.iter().any(|t| {
                if strong {
                    t.strong_eq(current)
                } else {
                    t.weak_eq(current)
                }
            }),
        }
    }
}

/// The validator in `If-Range` (§13.1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfRange {
    /// An entity-tag, compared strongly.
    Tag(EntityTag),
    /// An HTTP-date, which must equal Last-Modified exactly.
    Date(SystemTime),
    /// Unparsable: treated as a mismatch, so the client gets the full current object rather
    /// than a part it might splice onto a different version.
    Invalid,
}

/// Every conditional header of a request, all lines read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `If-Match`.
    pub if_match: Option<TagCondition>,
    /// `If-None-Match`.
    pub if_none_match: Option<TagCondition>,
    /// `If-Modified-Since`, when it is a single valid date.
    pub if_modified_since: Option<SystemTime>,
    /// `If-Unmodified-Since`, when it is a single valid date.
    pub if_unmodified_since: Option<SystemTime>,
    /// `If-Range`.
    pub if_range: Option<IfRange>,
}

impl Conditions {
    /// Reads the conditional headers. List headers are combined across lines (§5.3); date
    /// headers with more than one line or an invalid date are ignored (§13.1.3, §13.1.4).
    pub fn from_headers(headers: &HeaderMap) -> Conditions {
        Conditions {
            if_match: tag_condition(headers, &IF_MATCH),
            if_none_match: tag_condition(headers, &IF_NONE_MATCH),
            if_modified_since: single_line(headers, &IF_MODIFIED_SINCE).and_then(parse_date),
            if_unmodified_since: single_line(headers, &IF_UNMODIFIED_SINCE).and_then(parse_date),
            if_range: if_range(headers),
        }
    }
}

fn tag_condition(headers: &HeaderMap, name: &HeaderName) -> Option<TagCondition> {
    let mut lines = headers.get_all(name).iter().peekable();
    lines.peek()?;
    let mut tags = Vec::new();
    for line in lines {
        let Ok(text) = line.to_str() else { continue };
        for member in split_tag_list(text) {
            if member == "*" {
                return Some(TagCondition::Any);
            }
            tags.extend(EntityTag::parse(member));
        }
    }
    Some(TagCondition::Tags(tags))
}

/// Splits a comma-separated entity-tag list, skipping empty members. Commas are legal inside
/// an opaque-tag, so the split follows quotes rather than every comma.
fn split_tag_list(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut quoted = false;
        let end = text.bytes().position(|b| {
            quoted ^= b == b'"';
            b == b',' && !quoted
        });
        let member = match end {
            Some(at) => {
                rest = Some(&text[at + 1..]);
                &text[..at]
            }
            None => {
                rest = None;
                text
            }
        };
        Some(member.trim_matches([' ', '\t']))
    })
    .filter(|m| !m.is_empty())
}

fn single_line<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<&'a str> {
    let mut lines = headers.get_all(name).iter();
    match (lines.next(), lines.next()) {
        (Some(value), None) => value.to_str().ok(),
        _ => None,
    }
}

fn if_range(headers: &HeaderMap) -> Option<IfRange> {
    if !headers.contains_key(IF_RANGE) {
        return None;
    }
    let Some(text) = single_line(headers, &IF_RANGE) else {
        return Some(IfRange::Invalid);
    };
    let text = text.trim_matches([' ', '\t']);
    let parsed = if text.starts_with('"') || text.starts_with("W/") {
        EntityTag::parse(text).map(IfRange::Tag)
    } else {
        parse_date(text).map(IfRange::Date)
    };
    Some(parsed.unwrap_or(IfRange::Invalid))
}

fn parse_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text.trim_matches([' ', '\t'])).ok()
}

/// Truncates to whole seconds, the resolution of HTTP-dates, so that a file's nanosecond
/// mtime compares equal to the Last-Modified date we sent for it.
pub fn to_http_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => UNIX_EPOCH + Duration::from_secs(d.as_secs()),
        Err(_) => UNIX_EPOCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;
    use proptest::prelude::*;

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn tag(s: &str) -> EntityTag {
        EntityTag::parse(s).unwrap()
    }

    // RFC 9110 §8.8.3.2, the comparison table.
    #[test]
    fn comparison_table() {
        let cases = [
            (r#"W/"1""#, r#"W/"1""#, false, true),
            (r#"W/"1""#, r#"W/"2""#, false, false),
            (r#"W/"1""#, r#""1""#, false, true),
            (r#""1""#, r#""1""#, true, true),
        ];
        for (a, b, strong, weak) in cases {
            assert_eq!(tag(a).strong_eq(&tag(b)), strong, "{a} {b}");
            assert_eq!(tag(a).weak_eq(&tag(b)), weak, "{a} {b}");
        }
    }

    #[test]
    fn entity_tag_syntax() {
        assert!(EntityTag::parse(r#""a,b""#).is_some()); // comma is an etagc
        assert!(EntityTag::parse(r#""""#).is_some());
        assert!(EntityTag::parse("abc").is_none());
        assert!(EntityTag::parse(r#""a"b""#).is_none());
        assert!(EntityTag::parse(r#"w/"a""#).is_none()); // W/ is case-sensitive
    }

    // §5.3: a list header may be split over several lines; all of them count.
    #[test]
    fn if_none_match_reads_every_line() {
        let h = headers(&[
            (IF_NONE_MATCH, r#""a", "b,c""#),
            (IF_NONE_MATCH, r#"W/"d""#),
        ]);
        let want = TagCondition::Tags(vec![tag(r#""a""#), tag(r#""b,c""#), tag(r#"W/"d""#)]);
        assert_eq!(Conditions::from_headers(&h).if_none_match, Some(want));
    }

    #[test]
    fn star_and_garbage() {
        let h = headers(&[(IF_MATCH, r#""a", *"#)]);
        assert_eq!(
            Conditions::from_headers(&h).if_match,
            Some(TagCondition::Any)
        );
        let h = headers(&[(IF_MATCH, "garbage")]);
        assert_eq!(
            Conditions::from_headers(&h).if_match,
            Some(TagCondition::Tags(vec![]))
        );
    }

    // §13.1.3/§13.1.4: ignore invalid dates and fields with more than one member.
    #[test]
    fn date_headers() {
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        let when = UNIX_EPOCH + Duration::from_secs(784111777);
        let c = Conditions::from_headers(&headers(&[(IF_MODIFIED_SINCE, date)]));
        assert_eq!(c.if_modified_since, Some(when));
        let c = Conditions::from_headers(&headers(&[(
            IF_MODIFIED_SINCE,
            "Sunday, 06-Nov-94 08:49:37 GMT",
        )]));
        assert_eq!(c.if_modified_since, Some(when)); // obsolete RFC 850 form
        let c = Conditions::from_headers(&headers(&[(IF_MODIFIED_SINCE, "yesterday")]));
        assert_eq!(c.if_modified_since, None);
        let c = Conditions::from_headers(&headers(&[
            (IF_UNMODIFIED_SINCE, date),
            (IF_UNMODIFIED_SINCE, date),
        ]));
        assert_eq!(c.if_unmodified_since, None);
    }

    // §13.1.5: If-Range holds one entity-tag or one date.
    #[test]
    fn if_range_forms() {
        let c = |v: &str| Conditions::from_headers(&headers(&[(IF_RANGE, v)])).if_range;
        assert_eq!(c(r#""x""#), Some(IfRange::Tag(tag(r#""x""#))));
        assert_eq!(c(r#"W/"x""#), Some(IfRange::Tag(tag(r#"W/"x""#))));
        assert!(matches!(
            c("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(IfRange::Date(_))
        ));
        assert_eq!(c("nonsense"), Some(IfRange::Invalid));
        assert_eq!(Conditions::from_headers(&HeaderMap::new()).if_range, None);
    }

    proptest! {
        #[test]
        fn never_panics(value in "[ -~\t]{0,80}") {
            if let Ok(v) = HeaderValue::from_str(&value) {
                for name in [IF_MATCH, IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE, IF_RANGE] {
                    let mut h = HeaderMap::new();
                    h.insert(name, v.clone());
                    let _ = Conditions::from_headers(&h);
                }
            }
        }

        #[test]
        fn never_panics_on_bytes(value in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(v) = HeaderValue::from_bytes(&value) {
                let mut h = HeaderMap::new();
                h.insert(IF_NONE_MATCH, v.clone());
                h.insert(IF_RANGE, v);
                let _ = Conditions::from_headers(&h);
            }
        }
    }
}
