use super::link::{sign_link, LinkError};
use super::*;
use crate::key::object_key;
use http::HeaderValue;
use proptest::prelude::*;

const HEX32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// The shared vectors, also run by `node --test deploy/` against the CloudFront Function.
const VECTORS: &str = include_str!("../../deploy/test/signing-vectors.json");

fn signing(prefixes: &[&str]) -> Access {
    Access {
        signing: Some(Signing {
            keys: KeyRing::parse_list(&format!("k1:{HEX32}")).expect("keys"),
            prefixes: prefixes.iter().map(|p| p.to_string()).collect(),
        }),
        ..Access::default()
    }
}

/// What the origin answers for a path (percent-encoded) and query: the 403 body word, ok, or
/// `bad-query` for the 400 of a query that does not read.
fn verdict(access: &Access, path: &str, query: &str, now: u64) -> String {
    let key = object_key(path, "").expect("valid path");
    let query = match Query::parse(Some(query)) {
        Ok(q) => q,
        Err(_) => return "bad-query".into(),
    };
    match access.check_key(key.as_str(), &query, now) {
        Ok(()) => "ok".into(),
        Err(Denied::Signature(e)) => e.word().into(),
        Err(other) => format!("{other:?}"),
    }
}

#[test]
fn shared_vectors() {
    let v: serde_json::Value = serde_json::from_str(VECTORS).expect("vectors JSON");
    let keys: Vec<String> = v["keys"]
        .as_object()
        .expect("keys")
        .iter()
        .map(|(kid, hex)| format!("{kid}:{}", hex.as_str().expect("hex")))
        .collect();
    let prefixes = v["signed_prefixes"].as_array().expect("prefixes");
    let access = Access {
        signing: Some(Signing {
            keys: KeyRing::parse_list(&keys.join(",")).expect("keys"),
            prefixes: prefixes
                .iter()
                .filter_map(|p| p.as_str())
                .map(String::from)
                .collect(),
        }),
        ..Access::default()
    };
    let now = v["now"].as_u64().expect("now");
    let cases = v["cases"].as_array().expect("cases");
    assert!(cases.len() >= 40, "{} cases", cases.len());
    for case in cases {
        let field = |name: &str| case[name].as_str().expect(name);
        let got = verdict(&access, field("path"), field("query"), now);
        assert_eq!(got, field("verdict"), "{}", field("name"));
    }
    let example = &v["example"];
    let canonical = signature::canonical(
        example["path"].as_str().expect("path"),
        &[("exp", "1767225600"), ("kid", "k1")],
    );
    assert_eq!(canonical, example["canonical"].as_str().expect("canonical"));
}

// Signed prefixes are matched on the decoded key: %2F or %70 cannot hide one.
#[test]
fn signed_prefix_table() {
    let cases = [
        (&["private/"][..], "/private/a.jpg", "forbidden"),
        (&["private/"], "/private%2Fa.jpg", "forbidden"),
        (&["private/"], "/%70rivate/a.jpg", "forbidden"),
        (&["private/"], "/public/a.jpg", "ok"),
        (&["private/"], "/privateer.jpg", "ok"),
        (&["private/", "members/"], "/members/x/y.png", "forbidden"),
        // No prefix configured with keys: every key is signed (fail closed).
        (&[], "/anything.jpg", "forbidden"),
    ];
    for (prefixes, path, want) in cases {
        assert_eq!(
            verdict(&signing(prefixes), path, "", 0),
            want,
            "{prefixes:?} {path}"
        );
    }
}

#[test]
fn allowed_keys_table() {
    let access = Access {
        allow_prefixes: vec!["images/".into(), "thumbs/".into()],
        allow_exts: vec!["jpg".into(), "png".into()],
        ..Access::default()
    };
    let cases = [
        ("images/a.jpg", true),
        ("thumbs/x/y.PNG", true),
        ("images/a.JpG", true),
        ("images/a.gif", false),
        ("images/noext", false),
        ("images/dir.jpg/file", false),
        ("secrets/a.jpg", false),
        ("imagesa.jpg", false),
        ("images/.jpg", true),
    ];
    for (key, allowed) in cases {
        let want = if allowed {
            Ok(())
        } else {
            Err(Denied::NotAllowed)
        };
        assert_eq!(access.check_key(key, &Query::default(), 0), want, "{key}");
    }
    let ext_only = Access {
        allow_exts: vec!["webp".into()],
        ..Access::default()
    };
    assert_eq!(
        ext_only.check_key("any/where.webp", &Query::default(), 0),
        Ok(())
    );
    assert_eq!(
        ext_only.check_key("x.webp.exe", &Query::default(), 0),
        Err(Denied::NotAllowed)
    );
}

// Allowed keys come before the signature: a key outside them is 404 even with no signature.
#[test]
fn allowed_keys_before_signature() {
    let mut access = signing(&[]);
    access.allow_exts = vec!["jpg".into()];
    assert_eq!(
        access.check_key("a.txt", &Query::default(), 0),
        Err(Denied::NotAllowed)
    );
    assert!(matches!(
        access.check_key("a.jpg", &Query::default(), 0),
        Err(Denied::Signature(_))
    ));
}

#[test]
fn origin_lock_table() {
    let access = Access {
        require_header: Some(RequiredHeader::parse("X-Origin-Secret: s3cr3t").expect("spec")),
        ..Access::default()
    };
    let headers = |lines: &[(&str, &str)]| {
        let mut h = HeaderMap::new();
        for (k, v) in lines {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).expect("name"),
                HeaderValue::from_str(v).expect("value"),
            );
        }
        h
    };
    let cases: &[(&[(&str, &str)], bool)] = &[
        (&[("x-origin-secret", "s3cr3t")], true),
        (&[("X-ORIGIN-SECRET", "s3cr3t")], true),
        (&[], false),
        (&[("x-origin-secret", "s3cr3")], false),
        (&[("x-origin-secret", "s3cr3t ")], false),
        (&[("x-origin-secret", "S3CR3T")], false),
        (
            &[("x-origin-secret", "s3cr3t"), ("x-origin-secret", "s3cr3t")],
            false,
        ),
        (
            &[("x-origin-secret", "nope"), ("x-origin-secret", "s3cr3t")],
            false,
        ),
        (&[("x-other", "s3cr3t")], false),
    ];
    for (lines, admitted) in cases {
        let want = if *admitted {
            Ok(())
        } else {
            Err(Denied::OriginLock)
        };
        assert_eq!(access.check_origin(&headers(lines)), want, "{lines:?}");
    }
    assert_eq!(Access::default().check_origin(&HeaderMap::new()), Ok(()));
}

#[test]
fn required_header_spec_table() {
    for bad in [
        "",
        "novalue",
        "X-A:",
        "X-A:   ",
        ":v",
        "bad name:v",
        "X-A:a\u{1}b",
    ] {
        assert_eq!(
            RequiredHeader::parse(bad).map(|_| ()),
            Err(RequiredHeaderError),
            "{bad:?}"
        );
    }
    let debug = format!(
        "{:?}",
        RequiredHeader::parse("x-a: topsecret").expect("spec")
    );
    assert!(!debug.contains("topsecret"), "{debug}");
}

#[test]
fn sign_link_round_trips_through_the_verifier() {
    let access = signing(&["private/"]);
    let keys = &access.signing.as_ref().expect("signing").keys;
    let exp = 2_000_000_000;
    for target in [
        "/private/cat.jpg",
        "/private/caf%C3%A9.jpg",
        "https://cdn.example/private/cat.jpg?w=200&fit=cover",
        "http://localhost:8080/private/a%20b.png?format=image%2Fwebp",
    ] {
        let link = sign_link(keys, None, target, exp).expect(target);
        assert!(link.starts_with(target), "{link}");
        let after_scheme = link
            .split_once("://")
            .map_or(link.as_str(), |(_, rest)| rest);
        let start = if link.starts_with('/') {
            0
        } else {
            after_scheme.find('/').expect("path")
        };
        let (path, query) = after_scheme[start..].split_once('?').expect("query");
        assert_eq!(verdict(&access, path, query, exp - 1), "ok", "{link}");
        assert_eq!(verdict(&access, path, query, exp), "expired", "{link}");
    }
}

#[test]
fn sign_link_refusals() {
    let keys = KeyRing::parse_list(&format!("k1:{HEX32}")).expect("keys");
    let err = |kid: Option<&str>, target: &str| sign_link(&keys, kid, target, 1).expect_err(target);
    assert_eq!(
        err(Some("k9"), "/a.jpg"),
        LinkError::UnknownKey("k9".into())
    );
    assert_eq!(err(None, "a.jpg"), LinkError::BadTarget);
    assert_eq!(err(None, "ftp://h/a.jpg"), LinkError::BadTarget);
    assert_eq!(err(None, "https://h"), LinkError::BadTarget);
    // Found by fuzzing (signed_link): the path must come before the query.
    assert_eq!(err(None, "http://h?/a"), LinkError::BadTarget);
    assert_eq!(err(None, "/a.jpg#x"), LinkError::BadTarget);
    assert!(matches!(err(None, "/a/../b.jpg"), LinkError::BadPath(_)));
    assert_eq!(err(None, "/a.jpg?x=1"), LinkError::Param("x=1".into()));
    assert_eq!(err(None, "/a.jpg?exp=1"), LinkError::Param("exp=1".into()));
    assert_eq!(err(None, "/a.jpg?w=1&w=2"), LinkError::Param("w=2".into()));
    assert_eq!(err(None, "/a.jpg?w"), LinkError::Param("w=".into()));
    assert_eq!(err(None, "/a.jpg?%77=1"), LinkError::Param("%77=1".into()));
}

proptest! {
    #[test]
    fn never_panics(text in any::<String>(), query in "[a-z%0-9=&_-]{0,60}", now in any::<u64>()) {
        let _ = RequiredHeader::parse(&text);
        let keys = KeyRing::parse_list(&format!("k1:{HEX32}")).expect("keys");
        let _ = sign_link(&keys, None, &text, now);
        let _ = sign_link(&keys, Some(&text), &format!("/{text}"), now);
        let mut access = signing(&["p/"]);
        access.allow_exts = vec!["jpg".into()];
        if let Ok(q) = Query::parse(Some(&text)) {
            let _ = access.check_key(&text, &q, now);
        }
        if let Ok(q) = Query::parse(Some(&query)) {
            let _ = access.check_key(&format!("p/{text}"), &q, now);
        }
    }
}
