use super::*;
use http::{HeaderName, HeaderValue};
use proptest::prelude::*;

/// (segment, slash substitute, identifier or the error's name, the spec's section)
type DecodeRow = (&'static str, Option<char>, &'static str, &'static str);

#[rustfmt::skip]
const DECODE: &[DecodeRow] = &[
    ("id1", None, "id1", "§9 table"),
    ("bb157hs6068", None, "bb157hs6068", "§9 table"),
    ("ark:%2F12025%2F654xz321", None, "ark:/12025/654xz321", "§9 table"),
    ("urn:foo:a123,456", None, "urn:foo:a123,456", "§9 table"),
    // Decoded once: the identifier holds the literal `%3C`.
    ("urn:sici:1046-8188(199501)13:1%253C69:FTTHBI%253E2.0.TX;2-4", None,
     "urn:sici:1046-8188(199501)13:1%3C69:FTTHBI%3E2.0.TX;2-4", "§9 table"),
    ("http:%2F%2Fexample.com%2F%3F54%23a", None, "http://example.com/?54#a", "§9 table"),
    ("ark%3a%2f1", None, "ark:/1", "RFC 3986 §2.1 lowercase hex"),
    // A framework that decoded %2F before us (request.rs reads identifiers from the right).
    ("ark:/12025/654xz321", None, "ark:/12025/654xz321", "§9"),
    ("caf%C3%A9.tif", None, "café.tif", "§9 non-ASCII"),
    ("café.tif", None, "café.tif", "§9"),
    ("a+b%20c", None, "a+b c", "§9: `+` is no space in a path"),
    ("a~b~c.tif", Some('~'), "a/b/c.tif", "slash substitute"),
    ("a%7Eb~c", Some('~'), "a~b/c", "an escaped substitute stays literal (module doc)"),
    ("a%2Fb~c", Some('~'), "a/b/c", "§9 %2F still works"),
    ("a:b", Some(':'), "a/b", "slash substitute"),
    ("a%3Ab", Some(':'), "a:b", "slash substitute"),
    ("a~b", None, "a~b", "no substitute"),
    ("a%2Fb", Some('%'), "a/b", "an invalid substitute is ignored"),
    ("aXb", Some('X'), "aXb", "an invalid substitute is ignored"),
    ("", None, "Identifier", "§9 empty"),
    ("~", Some('~'), "/", "only a slash: a key check's business, not §9's"),
    ("%", None, "Identifier", "RFC 3986 §2.1"),
    ("a%2", None, "Identifier", "RFC 3986 §2.1"),
    ("a%zz", None, "Identifier", "RFC 3986 §2.1"),
    ("a%%41", None, "Identifier", "RFC 3986 §2.1"),
    ("a%00b", None, "Identifier", "NUL"),
    ("a%0Ab", None, "Identifier", "C0"),
    ("a\tb", None, "Identifier", "C0"),
    ("a%7Fb", None, "Identifier", "DEL"),
    ("a%C2%85b", None, "Identifier", "C1"),
    ("a%FFb", None, "Identifier", "not UTF-8"),
    ("a%C3", None, "Identifier", "truncated UTF-8"),
];

#[test]
fn decodes_identifiers() {
    for (segment, substitute, want, section) in DECODE {
        let got = match decode_identifier(segment, *substitute) {
            Ok(id) => id,
            Err(e) => format!("{e:?}"),
        };
        assert_eq!(got, *want, "{segment:?} {substitute:?} {section}");
    }
    // §7.3: what the client must fix is a 400.
    assert_eq!(
        IiifError::Identifier.status(),
        http::StatusCode::BAD_REQUEST
    );
}

#[test]
fn encodes_identifiers() {
    #[rustfmt::skip]
    let rows: &[(&str, Option<char>, &str, &str)] = &[
        ("id1", None, "id1", "§9 table"),
        ("ark:/12025/654xz321", None, "ark%3A%2F12025%2F654xz321", "§9 table"),
        ("http://example.com/?54#a", None, "http%3A%2F%2Fexample.com%2F%3F54%23a", "§9 table"),
        ("a[b]@c%d", None, "a%5Bb%5D%40c%25d", "§9 to-encode set"),
        ("A-Z_a.z~0", None, "A-Z_a.z~0", "RFC 3986 §2.3 unreserved"),
        ("a b+c", None, "a%20b%2Bc", "§9"),
        ("café", None, "caf%C3%A9", "§9 non-ASCII"),
        ("a/b~c", Some('~'), "a~b%7Ec", "slash substitute"),
        ("a/b:c", Some(':'), "a:b%3Ac", "slash substitute"),
        ("a/b", Some('%'), "a%2Fb", "an invalid substitute is ignored"),
    ];
    for (key, substitute, want, section) in rows {
        assert_eq!(
            encode_identifier(key, *substitute),
            *want,
            "{key:?} {section}"
        );
    }
}

#[test]
fn slash_substitutes() {
    for c in [
        '~', ':', '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', '@', '-', '.', '_',
    ] {
        assert!(is_valid_slash_substitute(c), "{c:?} RFC 3986 §3.3 pchar");
    }
    for c in ['%', '/', '?', '#', 'a', 'Z', '0', ' ', 'é', '\0', '[', '"'] {
        assert!(!is_valid_slash_substitute(c), "{c:?}");
    }
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            map.append(n, v);
        }
    }
    map
}

/// (headers, public_url, base or "-" for none, the section)
type BaseRow = (
    &'static [(&'static str, &'static str)],
    Option<&'static str>,
    &'static str,
    &'static str,
);

const XFP: &str = "x-forwarded-proto";
const XFH: &str = "x-forwarded-host";

#[rustfmt::skip]
const BASES: &[BaseRow] = &[
    (&[("host", "internal:8080")], Some("https://images.example.org/iiif/"), "https://images.example.org/iiif", "§5.2 id: configured"),
    (&[(XFH, "evil.example")], Some("https://images.example.org"), "https://images.example.org", "configured wins"),
    (&[("host", "example.org")], Some(""), "http://example.org", "empty: not configured"),
    (&[("host", "example.org")], None, "http://example.org", "§3 {scheme}://{server}"),
    (&[("host", "example.org:8080")], None, "http://example.org:8080", "RFC 3986 §3.2.3"),
    (&[("host", "Example.ORG:80")], None, "http://example.org", "RFC 3986 §6.2.3"),
    (&[("host", "127.0.0.1:9000")], None, "http://127.0.0.1:9000", "RFC 3986 §3.2.2 IPv4"),
    (&[("host", "[::1]:8080")], None, "http://[::1]:8080", "RFC 3986 §3.2.2 IPv6"),
    (&[("host", "[::FFFF:1.2.3.4]")], None, "http://[::ffff:1.2.3.4]", "RFC 3986 §3.2.2 IPv6"),
    (&[("host", "image_server:8182")], None, "http://image_server:8182", "internal names"),
    (&[(XFP, "https"), ("host", "example.org")], None, "https://example.org", "proxy TLS"),
    (&[(XFP, "HTTPS"), ("host", "example.org:443")], None, "https://example.org", "RFC 3986 §6.2.3"),
    (&[(XFP, "https"), ("host", "example.org:80")], None, "https://example.org:80", "not https' default"),
    (&[(XFP, "https, http"), ("host", "example.org")], None, "https://example.org", "first value"),
    (&[(XFP, "https"), (XFH, "cdn.example.org"), ("host", "internal")], None, "https://cdn.example.org", "forwarded host"),
    (&[(XFH, "cdn.example.org")], None, "http://cdn.example.org", "no proto: http"),
    (&[(XFH, " a.example , b.example"), ("host", "internal")], None, "http://a.example", "first value"),
    (&[], None, "-", "no host"),
    (&[(XFP, "https")], None, "-", "no host"),
    (&[(XFP, "ftp"), ("host", "example.org")], None, "-", "not http(s)"),
    (&[(XFP, ""), ("host", "example.org")], None, "-", "empty proto"),
    (&[(XFH, "evil.example/path"), ("host", "example.org")], None, "-", "path injection"),
    (&[(XFH, "evil.example?x=1")], None, "-", "query injection"),
    (&[(XFH, "evil.example#x")], None, "-", "fragment injection"),
    (&[(XFH, "user@evil.example")], None, "-", "userinfo"),
    (&[(XFH, "user:pw@evil.example")], None, "-", "userinfo"),
    (&[(XFH, "evil example")], None, "-", "whitespace"),
    (&[(XFH, "evil.example\\x")], None, "-", "backslash"),
    (&[(XFH, ""), ("host", "example.org")], None, "-", "empty forwarded host"),
    (&[(XFH, ",example.org")], None, "-", "empty first value"),
    (&[("host", "a..b")], None, "-", "empty label"),
    (&[("host", ".a")], None, "-", "empty label"),
    (&[("host", "a.")], None, "-", "empty label"),
    (&[("host", "-a.example")], None, "-", "RFC 1123 §2.1"),
    (&[("host", "example.org:")], None, "-", "empty port"),
    (&[("host", "example.org:0")], None, "-", "port 0"),
    (&[("host", "example.org:65536")], None, "-", "port over 16 bits"),
    (&[("host", "example.org:+80")], None, "-", "signed port"),
    (&[("host", "example.org:80:80")], None, "-", "two ports"),
    (&[("host", "[::1")], None, "-", "unclosed IPv6"),
    (&[("host", "[::1]x")], None, "-", "junk after IPv6"),
    (&[("host", "[fe80::1%25eth0]")], None, "-", "zone id"),
    (&[("host", "[example.org]")], None, "-", "not IPv6"),
    (&[("host", "http://example.org")], None, "-", "a URL is no host"),
];

#[test]
fn public_bases() {
    for (pairs, public_url, want, section) in BASES {
        let got = public_base(&headers(pairs), *public_url);
        let got = got.unwrap_or_else(|| "-".to_owned());
        assert_eq!(got, *want, "{pairs:?} {public_url:?} {section}");
    }
    let long = format!("{}.example", "a".repeat(64));
    assert_eq!(
        public_base(&headers(&[("host", long.as_str())]), None),
        None,
        "63-byte labels"
    );
    let obs_text = HeaderValue::from_bytes(b"caf\xC3\xA9.example").ok();
    let mut map = HeaderMap::new();
    if let Some(v) = obs_text {
        map.insert(http::header::HOST, v);
    }
    assert_eq!(public_base(&map, None), None, "RFC 9110 §5.5 obs-text");
}

/// Keys as decode_identifier accepts them: non-empty, no control characters.
fn any_key() -> impl Strategy<Value = String> {
    "\\P{Cc}{1,40}"
}

proptest! {
    // §9: the identifier survives the trip through its URI segment.
    #[test]
    fn decode_inverts_encode(key in any_key(), sub in proptest::option::of(proptest::sample::select(vec!['~', ':', '!', '+', '@']))) {
        let segment = encode_identifier(&key, sub);
        prop_assert!(!segment.contains('/'), "one path segment: {segment}");
        let unreserved = |c: char| c.is_ascii_alphanumeric() || "-._~%".contains(c);
        prop_assert!(segment.chars().all(|c| unreserved(c) || Some(c) == sub), "{segment}");
        prop_assert_eq!(decode_identifier(&segment, sub), Ok(key));
    }

    #[test]
    fn decode_inverts_encode_on_slashes(key in "[a-z~:/%]{1,12}", sub in proptest::option::of(proptest::sample::select(vec!['~', ':']))) {
        prop_assert_eq!(decode_identifier(&encode_identifier(&key, sub), sub), Ok(key));
    }

    #[test]
    fn never_panics(segment in any::<String>(), sub in proptest::option::of(any::<char>())) {
        if let Ok(id) = decode_identifier(&segment, sub) {
            prop_assert!(!id.is_empty() && !id.chars().any(char::is_control));
        }
        let _ = encode_identifier(&segment, sub);
    }

    #[test]
    fn never_panics_on_headers(
        proto in proptest::collection::vec(any::<u8>(), 0..12),
        forwarded in proptest::collection::vec(any::<u8>(), 0..40),
        host in proptest::collection::vec(any::<u8>(), 0..40),
        near in "(\\[[0-9a-f:.]{0,10}\\]|[a-z0-9.-]{0,12})(:[0-9+]{0,6})?",
        public_url in proptest::option::of(any::<String>()),
    ) {
        for host in [host.clone(), near.clone().into_bytes()] {
            let mut map = HeaderMap::new();
            for (name, value) in [(XFP, &proto), (XFH, &forwarded), ("host", &host)] {
                if let Ok(v) = HeaderValue::from_bytes(value) {
                    map.insert(name, v);
                }
            }
            check_base(&map, public_url.as_deref())?;
        }
        let mut map = HeaderMap::new();
        if let Ok(v) = HeaderValue::from_bytes(near.as_bytes()) {
            map.insert(XFH, v);
        }
        check_base(&map, None)?;
    }
}

/// `public_base` does not panic, and what it makes of headers is a scheme and an authority.
fn check_base(map: &HeaderMap, public_url: Option<&str>) -> Result<(), TestCaseError> {
    let _ = public_base(map, public_url);
    if let Some(base) = public_base(map, None) {
        let uri: http::Uri = format!("{base}/x").parse()?;
        prop_assert!(
            uri.scheme().is_some() && uri.authority().is_some(),
            "{base}"
        );
        prop_assert_eq!(uri.path(), "/x");
        prop_assert!(uri.query().is_none());
        prop_assert!(!base.contains('@'));
    }
    Ok(())
}
