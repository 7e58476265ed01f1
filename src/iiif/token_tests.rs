use super::*;
use proptest::prelude::*;

const SIG: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

#[test]
fn a_token_segment_is_split_off() {
    let rest = format!("t.k1.1798761600.{SIG}/maps%2Fa.tif/info.json");
    let (token, after) = split_token(&rest);
    let token = token.expect("a token");
    assert_eq!((token.kid, token.exp, token.sig), ("k1", "1798761600", SIG));
    assert_eq!(after, "maps%2Fa.tif/info.json");
    assert_eq!(token.segment, segment("k1", 1_798_761_600, SIG));
    assert_eq!(token.query(), format!("exp=1798761600&kid=k1&sig={SIG}"));
}

#[test]
fn other_segments_are_identifiers() {
    let short = &SIG[1..];
    for rest in [
        "a.jpg/info.json".to_owned(),
        format!("t.k1.1798761600.{SIG}"),
        format!("t.k1.1798761600.{SIG}/"),
        format!("t.k1.1798761600.{short}/a.jpg/info.json"),
        format!("t.k1.01798761600.{SIG}/a.jpg/info.json"),
        format!("t.k1.17987x1600.{SIG}/a.jpg/info.json"),
        format!("t..1798761600.{SIG}/a.jpg/info.json"),
        format!("t.k1.1798761600.{SIG}.x/a.jpg/info.json"),
        format!("t.k+1.1798761600.{SIG}/a.jpg/info.json"),
        format!("x.k1.1798761600.{SIG}/a.jpg/info.json"),
    ] {
        assert_eq!(split_token(&rest), (None, rest.as_str()), "{rest}");
    }
}

proptest! {
    #[test]
    fn never_panics(s in any::<String>()) {
        let (token, after) = split_token(&s);
        if let Some(t) = token {
            prop_assert_eq!(format!("{}/{}", t.segment, after), s.clone());
        } else {
            prop_assert_eq!(after, s.as_str());
        }
    }
}

/// The shared signing example (deploy/test/signing-vectors.json, which the CloudFront
/// Function's tests read too) as a token: the origin accepts it for that path and no other.
#[test]
fn the_shared_example_is_a_token_the_origin_accepts() {
    use crate::access::signature;
    use crate::query::Query;
    let v: serde_json::Value =
        serde_json::from_str(include_str!("../../deploy/test/signing-vectors.json")).unwrap();
    let ex = &v["example"];
    let kid = ex["key"].as_str().unwrap();
    let seg = segment(
        kid,
        ex["exp"].as_u64().unwrap(),
        ex["sig"].as_str().unwrap(),
    );
    let rest = format!("{seg}/private%2Fcat.jpg/info.json");
    let query = split_token(&rest).0.expect("a token").query();
    let keys = format!("{kid}:{}", v["keys"][kid].as_str().unwrap());
    let keys = crate::access::KeyRing::parse_list(&keys).unwrap();
    let query = Query::parse(Some(&query)).unwrap();
    let now = v["now"].as_u64().unwrap();
    assert!(signature::verify(&keys, ex["path"].as_str().unwrap(), &query, now).is_ok());
    assert!(signature::verify(&keys, "/private/dog.jpg", &query, now).is_err());
}
