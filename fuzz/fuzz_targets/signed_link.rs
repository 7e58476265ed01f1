//! Signed links: the verifier on any query, and the signer (`imgorigin sign`) on any target,
//! whose links must verify until their expiry.
//!
//! Input: one mode byte, 8 bytes little-endian (expiry, or the clock), then UTF-8 text: a query
//! to verify (even mode) or a target to sign (odd mode).
#![no_main]

use imgorigin::access::link::sign_link;
use imgorigin::access::{signature, KeyRing};
use imgorigin::key::object_key;
use imgorigin::query::Query;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The keys of src/access/signature_tests.rs.
fn keys() -> &'static KeyRing {
    static KEYS: OnceLock<KeyRing> = OnceLock::new();
    KEYS.get_or_init(|| {
        KeyRing::parse_list(
            "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f,\
             k2:fd7aed65e0edee4e193e242ff19780cd79a1075a66b450de5e489085e2c3e2b1",
        )
        .expect("test keys")
    })
}

/// Largest expiry the verifier reads (15 digits, exact in a JavaScript number).
const MAX_EXP: u64 = 999_999_999_999_999;

/// The request key a link's path names, as the origin derives it (decoded, no prefix).
fn link_key(link: &str) -> Option<String> {
    let without_query = link.split_once('?').map_or(link, |(before, _)| before);
    let path = match without_query.split_once("://") {
        Some((_, rest)) => &rest[rest.find('/')?..],
        None => without_query,
    };
    object_key(path, "").ok().map(|k| k.as_str().to_owned())
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((number, text)) = rest.split_first_chunk::<8>() else {
        return;
    };
    let number = u64::from_le_bytes(*number);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    if mode % 2 == 0 {
        let _ = signature::parse(text);
        if let Ok(query) = Query::parse(Some(text)) {
            for path in ["/private/cat.jpg", "/a b/é.png"] {
                let _ = signature::verify(keys(), path, &query, number);
            }
        }
        return;
    }
    let exp = 1 + number % MAX_EXP;
    let kid = match mode % 4 {
        1 => None,
        _ => Some("k2"),
    };
    let Ok(link) = sign_link(keys(), kid, text, exp) else {
        return;
    };
    let key = link_key(&link).unwrap_or_else(|| panic!("signed {text:?} as {link:?}: no key"));
    let query = link.split_once('?').map(|(_, q)| q);
    let query = Query::parse(query).unwrap_or_else(|e| panic!("{link:?}: {e}"));
    let path = format!("/{key}");
    let verified = signature::verify(keys(), &path, &query, exp - 1);
    assert_eq!(verified, Ok(()), "signed {text:?} as {link:?}");
    assert_eq!(
        signature::verify(keys(), &path, &query, exp),
        Err(signature::SignatureError::Expired { exp, now: exp })
    );
});
