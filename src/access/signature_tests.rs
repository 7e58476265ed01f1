use super::*;
use proptest::prelude::*;

const HEX32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const HEX32B: &str = "fd7aed65e0edee4e193e242ff19780cd79a1075a66b450de5e489085e2c3e2b1";
const EXP: u64 = 1_767_225_600;

/// The verifier over a raw query, as a request presents it (read by [`Query::parse`] first).
fn verify(keys: &KeyRing, path: &str, query: &str, now: u64) -> Result<(), SignatureError> {
    let query = Query::parse(Some(query)).map_err(|_| SignatureError::Malformed("query"))?;
    super::verify(keys, path, &query, now)
}

fn ring() -> KeyRing {
    KeyRing::parse_list(&format!("k1:{HEX32},k2:{HEX32B}")).expect("keys")
}

fn signed_query(kid: &str, path: &str, exp: u64, extra: &[(&str, &str)]) -> String {
    let ring = ring();
    let key = ring.get(kid).expect("kid");
    let exp_s = exp.to_string();
    let mut params = extra.to_vec();
    params.extend([("exp", exp_s.as_str()), ("kid", kid)]);
    let sig = sign(key, &canonical(path, &params));
    let mut q: Vec<String> = extra.iter().map(|(n, v)| format!("{n}={v}")).collect();
    q.push(format!("exp={exp}&kid={kid}&sig={sig}"));
    q.join("&")
}

// The test vector of docs/access-control.md, pinned here too.
#[test]
fn canonical_form_and_readme_vector() {
    let c = canonical("/private/cat.jpg", &[("kid", "k1"), ("exp", "1767225600")]);
    assert_eq!(
        c,
        "imgorigin-v1\nGET\n/private/cat.jpg\nexp=1767225600&kid=k1"
    );
    let ring = ring();
    assert_eq!(
        sign(ring.get("k1").expect("k1"), &c),
        "M47cd3XvdjFDhWZ0ofA69bzw_X5NZSW0Mm2nDNwvA3M"
    );
}

#[test]
fn canonical_values_are_reencoded_once() {
    let c = canonical("/a b", &[("format", "image/webp"), ("w", "2 0~x")]);
    assert_eq!(c, "imgorigin-v1\nGET\n/a b\nformat=image%2Fwebp&w=2%200~x");
    let c = canonical("/x", &[("q", "é")]);
    assert!(c.ends_with("q=%C3%A9"), "{c}");
}

#[test]
fn parse_table() {
    let sig = "M47cd3XvdjFDhWZ0ofA69bzw_X5NZSW0Mm2nDNwvA3M";
    let ok = format!("exp={EXP}&kid=k1&sig={sig}");
    let malformed = |what| Err(SignatureError::Malformed(what));
    let dup = |name: &str| Err(SignatureError::Duplicate(name.into()));
    let cases: Vec<(String, Result<(), SignatureError>)> = vec![
        (ok.clone(), Ok(())),
        (String::new(), Err(SignatureError::Missing)),
        (format!("exp={EXP}&kid=k1"), Err(SignatureError::Missing)),
        (format!("{ok}&sig={sig}"), dup("sig")),
        // An escaped name of ours is refused before it could count as a second `sig`.
        (format!("{ok}&%73ig={sig}"), malformed("query")),
        (format!("{ok}&exp={EXP}"), dup("exp")),
        (format!("kid=k2&{ok}"), dup("kid")),
        (format!("w=1&w=1&{ok}"), dup("w")),
        (
            format!("{ok}&x=1"),
            Err(SignatureError::Unsigned("x".into())),
        ),
        (
            format!("{ok}&W=1"),
            Err(SignatureError::Unsigned("W".into())),
        ),
        // Empty pairs are skipped and `w` reads as `w=` for every parser (crate::query):
        // these parse, and then fail or pass on the signature alone.
        (format!("{ok}&"), Ok(())),
        (format!("{ok}&&w=1"), Ok(())),
        (format!("{ok}&w"), Ok(())),
        (format!("{ok}&w=%zz"), malformed("query")),
        (format!("{ok}&w=%FF"), malformed("query")),
        (format!("{ok}&%zz=1"), malformed("query")),
        // A name of ours spelled with escapes is refused, never decoded into `w`.
        (format!("{ok}&%77=1"), malformed("query")),
        (format!("exp=0{EXP}&kid=k1&sig={sig}"), malformed("exp")),
        (format!("exp=+{EXP}&kid=k1&sig={sig}"), malformed("exp")),
        (format!("exp=-1&kid=k1&sig={sig}"), malformed("exp")),
        (format!("exp=1e9&kid=k1&sig={sig}"), malformed("exp")),
        (format!("exp=&kid=k1&sig={sig}"), malformed("exp")),
        (
            format!("exp=1234567890123456&kid=k1&sig={sig}"),
            malformed("exp"),
        ),
        (format!("exp={EXP}&kid=k%201&sig={sig}"), malformed("kid")),
        (format!("exp={EXP}&kid=&sig={sig}"), malformed("kid")),
        (format!("exp={EXP}&kid=k1&sig={sig}="), malformed("sig")),
        (
            format!("exp={EXP}&kid=k1&sig={}", &sig[1..]),
            malformed("sig"),
        ),
        // Same bits as ...A3M but non-zero trailing bits: a second spelling, refused.
        (
            format!("exp={EXP}&kid=k1&sig={}N", &sig[..42]),
            malformed("sig"),
        ),
        (
            format!("exp={EXP}&kid=k1&sig={}", sig.replace('_', "/")),
            malformed("sig"),
        ),
    ];
    for (query, want) in cases {
        assert_eq!(parse(&query).map(|_| ()), want, "{query}");
    }
}

#[test]
fn verify_accepts_either_active_key_and_any_order() {
    let path = "/private/cat.jpg";
    for kid in ["k1", "k2"] {
        let q = signed_query(kid, path, EXP, &[("w", "200")]);
        assert_eq!(verify(&ring(), path, &q, EXP - 1), Ok(()), "{kid}");
        let mut pairs: Vec<&str> = q.split('&').collect();
        pairs.reverse();
        assert_eq!(verify(&ring(), path, &pairs.join("&"), EXP - 1), Ok(()));
    }
}

// exp is the first second at which the link no longer works.
#[test]
fn expiry_edges() {
    let path = "/p.jpg";
    let q = signed_query("k1", path, EXP, &[]);
    let expired = |now| Err(SignatureError::Expired { exp: EXP, now });
    assert_eq!(verify(&ring(), path, &q, 0), Ok(()));
    assert_eq!(verify(&ring(), path, &q, EXP - 1), Ok(()));
    assert_eq!(verify(&ring(), path, &q, EXP), expired(EXP));
    assert_eq!(verify(&ring(), path, &q, EXP + 1), expired(EXP + 1));
    assert_eq!(verify(&ring(), path, &q, u64::MAX), expired(u64::MAX));
}

// Rotation: a key that is removed from the ring stops verifying its links at once.
#[test]
fn removed_key_no_longer_verifies() {
    let q = signed_query("k2", "/a.jpg", EXP, &[]);
    let only_k1 = KeyRing::parse_list(&format!("k1:{HEX32}")).expect("keys");
    assert_eq!(
        verify(&only_k1, "/a.jpg", &q, 0),
        Err(SignatureError::UnknownKey("k2".into()))
    );
}

#[test]
fn tampering_with_any_part_is_refused() {
    let path = "/private/cat.jpg";
    let q = signed_query("k1", path, EXP, &[("w", "200")]);
    let now = EXP - 100;
    let sig = q.rsplit_once("sig=").expect("sig").1.to_owned();
    let other_key_sig = signed_query("k2", path, EXP, &[("w", "200")]);
    let other_sig = other_key_sig.rsplit_once("sig=").expect("sig").1;
    let tampered = [
        ("/private/cat.png".to_owned(), q.clone()),
        ("/private/Cat.jpg".to_owned(), q.clone()),
        (path.to_owned(), q.replace("w=200", "w=201")),
        (path.to_owned(), q.replace("w=200&", "")),
        (path.to_owned(), format!("h=1&{q}")),
        (
            path.to_owned(),
            q.replace(&EXP.to_string(), &(EXP + 1).to_string()),
        ),
        (path.to_owned(), q.replace("kid=k1", "kid=k2")),
        (path.to_owned(), q.replace(&sig, other_sig)),
    ];
    for (p, query) in tampered {
        let got = verify(&ring(), &p, &query, now);
        assert_eq!(got.map_err(|e| e.word()), Err("forbidden"), "{p}?{query}");
    }
    // Every byte of the signature matters.
    for i in 0..sig.len() {
        let mut bytes = sig.clone().into_bytes();
        bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
        let forged = q.replace(&sig, std::str::from_utf8(&bytes).expect("ascii"));
        assert!(verify(&ring(), path, &forged, now).is_err(), "byte {i}");
    }
}

#[test]
fn words_are_short_and_say_nothing_more() {
    assert_eq!(SignatureError::Expired { exp: 1, now: 2 }.word(), "expired");
    for e in [
        SignatureError::Missing,
        SignatureError::Mismatch,
        SignatureError::UnknownKey("k".into()),
        SignatureError::Duplicate("sig".into()),
    ] {
        assert_eq!(e.word(), "forbidden");
    }
}

proptest! {
    #[test]
    fn never_panics(query in any::<String>(), path in any::<String>(), now in any::<u64>()) {
        let _ = parse(&query);
        let _ = verify(&ring(), &path, &query, now);
    }

    #[test]
    fn never_panics_on_query_like_input(query in "[a-z%0-9=&_-]{0,80}") {
        let _ = parse(&query);
        let _ = verify(&ring(), "/a", &query, 0);
    }

    // Any order of the parameters verifies; order is not part of the signature.
    #[test]
    fn any_order_verifies(seed in any::<u64>(), w in 1u32..5000) {
        let w = w.to_string();
        let q = signed_query("k1", "/x/y.jpg", EXP, &[("w", &w), ("fit", "cover"), ("q", "80")]);
        let mut pairs: Vec<&str> = q.split('&').collect();
        let n = pairs.len();
        for i in 0..n {
            let j = (seed.rotate_left(i as u32 * 7) as usize) % n;
            pairs.swap(i, j);
        }
        prop_assert_eq!(verify(&ring(), "/x/y.jpg", &pairs.join("&"), 0), Ok(()));
    }

    // Changing any one byte of a signed query never yields another valid link.
    #[test]
    fn any_single_byte_change_is_refused(i in 0usize..200, c in "[ -~]") {
        let q = signed_query("k1", "/x/y.jpg", EXP, &[("w", "300")]);
        let i = i % q.len();
        let c = c.as_bytes()[0];
        prop_assume!(q.as_bytes()[i] != c);
        let mut bytes = q.into_bytes();
        bytes[i] = c;
        let forged = String::from_utf8(bytes).expect("ascii");
        prop_assert!(verify(&ring(), "/x/y.jpg", &forged, 0).is_err(), "{}", forged);
    }
}
