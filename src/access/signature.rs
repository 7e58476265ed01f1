//! Signed URLs: `path?exp=UNIX_SECONDS&kid=ID&sig=BASE64URL`, HMAC-SHA256 over a canonical form
//! of the request, verified in constant time.
//!
//! The canonical form (docs/access-control.md has it with a test vector) is four lines joined by `\n`:
//! [`VERSION`], the method class (`GET` for GET and HEAD), the percent-decoded path with its
//! leading `/`, and the signed query parameters (every name in [`SIGNED_PARAMS`] present,
//! which includes `exp` and `kid`) sorted by name as `name=value` joined by `&`, each value
//! decoded once and re-encoded with every byte outside `A-Z a-z 0-9 - . _ ~` as `%XX`
//! (upper-case hex). So `%41` and `A`, or `%2F` and `/`, sign the same thing, and the order of
//! parameters in the URL does not matter.
//!
//! The query is parsed by position, every parameter exactly once: thumbor's signature bypass
//! came from removing the signature with a string replace that removed every copy. Any name
//! outside [`SIGNED_PARAMS`] and `sig`, or any name twice, is refused, so a signed URL cannot
//! be extended or made ambiguous.

use super::keys::{valid_kid, HmacSha256, KeyRing, SigningKey};
use crate::query::Query;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::Mac;
use std::fmt::Write;

/// First line of the canonical form; a new form gets a new tag, so an old signature can never
/// be read under new rules.
pub const VERSION: &str = "imgorigin-v1";

/// The method class every signature is made for: GET and HEAD read the same object, and no
/// other method reaches verification (405 comes first).
pub const METHOD_CLASS: &str = "GET";

/// Query parameters covered by the signature, sorted. Besides `exp` and `kid` these are the
/// parameters that will change the response (the transforms `fit`, `format`, `h`, `q`, `w`):
/// they are signed from now on so that links minted today stay valid when transforms land.
pub const SIGNED_PARAMS: &[&str] = &["exp", "fit", "format", "h", "kid", "q", "w"];

/// Holds the signature; never part of the canonical form.
pub const SIG_PARAM: &str = "sig";

/// Longest `exp`: 15 digits stay exact in a JavaScript number, so the edge function and the
/// origin read the same time.
const MAX_EXP_DIGITS: usize = 15;

/// Why a request's signature is refused. The client sees only [`SignatureError::word`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// No `sig`, `exp` or `kid`.
    #[error("signature parameters missing")]
    Missing,
    /// A query [`Query::parse`] refuses, or a bad `exp`/`kid`/`sig` value.
    #[error("malformed signature parameter {0:?}")]
    Malformed(&'static str),
    /// A parameter given twice.
    #[error("parameter {0:?} given more than once")]
    Duplicate(String),
    /// A parameter the signature does not cover.
    #[error("unsigned query parameter {0:?}")]
    Unsigned(String),
    /// No active key has this id.
    #[error("unknown key id {0:?}")]
    UnknownKey(String),
    /// The HMAC does not match.
    #[error("signature does not match")]
    Mismatch,
    /// Authentic, but `now >= exp`.
    #[error("link expired at {exp} (now {now})")]
    Expired {
        /// The link's expiry.
        exp: u64,
        /// The time of the check.
        now: u64,
    },
}

impl SignatureError {
    /// The short public word: `expired` for an authentic but expired link, else `forbidden`.
    pub fn word(&self) -> &'static str {
        match self {
            SignatureError::Expired { .. } => "expired",
            _ => "forbidden",
        }
    }
}

/// A parsed signed query: the signed parameters (decoded) and the signature bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedQuery {
    /// `(name, decoded value)`, each name of [`SIGNED_PARAMS`] at most once, in URL order.
    pub params: Vec<(&'static str, String)>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Key id.
    pub kid: String,
    /// The 32 signature bytes.
    pub sig: Vec<u8>,
}

/// Reads the signature parameters of a raw query (tests, tools): [`Query::parse`], then
/// [`from_query`].
///
/// # Errors
/// As [`from_query`]; a query [`Query::parse`] refuses is `Malformed("query")`.
pub fn parse(query: &str) -> Result<SignedQuery, SignatureError> {
    let query = Query::parse(Some(query)).map_err(|_| SignatureError::Malformed("query"))?;
    from_query(&query)
}

/// Reads every pair of the request's one decoded [`Query`] once, by position.
///
/// # Errors
/// [`SignatureError::Missing`], `Malformed`, `Duplicate` or `Unsigned`.
pub fn from_query(query: &Query<'_>) -> Result<SignedQuery, SignatureError> {
    let mut params: Vec<(&'static str, String)> = Vec::new();
    let mut sig: Option<&str> = None;
    for (name, value) in query.pairs() {
        let seen = params.iter().any(|(n, _)| *n == name);
        if seen || (name == SIG_PARAM && sig.is_some()) {
            return Err(SignatureError::Duplicate(name.to_owned()));
        }
        match SIGNED_PARAMS.iter().find(|n| **n == name) {
            Some(known) => params.push((known, value.to_owned())),
            None if name == SIG_PARAM => sig = Some(value),
            None => return Err(SignatureError::Unsigned(name.to_owned())),
        }
    }
    let get = |name| params.iter().find(|(n, _)| *n == name).map(|(_, v)| v);
    let (Some(exp), Some(kid), Some(sig)) = (get("exp"), get("kid"), sig) else {
        return Err(SignatureError::Missing);
    };
    let exp = parse_exp(exp).ok_or(SignatureError::Malformed("exp"))?;
    if !valid_kid(kid) {
        return Err(SignatureError::Malformed("kid"));
    }
    // The decoder refuses padding and non-zero trailing bits: one spelling per signature.
    let sig = URL_SAFE_NO_PAD
        .decode(sig.as_bytes())
        .ok()
        .filter(|s| s.len() == 32)
        .ok_or(SignatureError::Malformed("sig"))?;
    let kid = kid.clone();
    Ok(SignedQuery {
        params,
        exp,
        kid,
        sig,
    })
}

/// Canonical decimal only: no sign, no leading zero, at most [`MAX_EXP_DIGITS`] digits.
fn parse_exp(text: &str) -> Option<u64> {
    let digits = text.bytes().all(|b| b.is_ascii_digit());
    let canonical = !text.starts_with('0') && (1..=MAX_EXP_DIGITS).contains(&text.len());
    (digits && canonical).then(|| text.parse().ok()).flatten()
}

/// The canonical form for `path` (percent-decoded, leading `/`) and the signed parameters
/// (decoded values; any order, names from [`SIGNED_PARAMS`]).
pub fn canonical(path: &str, params: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = params.iter().collect();
    sorted.sort_by_key(|(name, _)| *name);
    let mut out = format!("{VERSION}\n{METHOD_CLASS}\n{path}\n");
    for (i, (name, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        encode_into(&mut out, value);
    }
    out
}

fn encode_into(out: &mut String, value: &str) {
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
}

fn mac(key: &SigningKey, canonical: &str) -> HmacSha256 {
    let mut mac = key.mac();
    mac.update(canonical.as_bytes());
    mac
}

/// The `sig` value (base64url, no padding) for a canonical form.
pub fn sign(key: &SigningKey, canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(mac(key, canonical).finalize().into_bytes())
}

/// Verifies the signed `query` of a request for `path` (percent-decoded, leading `/`) at
/// `now` (Unix seconds). The link is valid while `now < exp`: `exp` is the first second at
/// which it no longer works. The signature is checked before the expiry, so `expired` is only
/// ever said about an authentic link.
///
/// # Errors
/// The first [`SignatureError`] found.
pub fn verify(
    keys: &KeyRing,
    path: &str,
    query: &Query<'_>,
    now: u64,
) -> Result<(), SignatureError> {
    let signed = from_query(query)?;
    let key = keys
        .get(&signed.kid)
        .ok_or_else(|| SignatureError::UnknownKey(signed.kid.clone()))?;
    let params: Vec<(&str, &str)> = signed
        .params
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    mac(key, &canonical(path, &params))
        .verify_slice(&signed.sig)
        .map_err(|_| SignatureError::Mismatch)?;
    match now < signed.exp {
        true => Ok(()),
        false => Err(SignatureError::Expired {
            exp: signed.exp,
            now,
        }),
    }
}

#[cfg(test)]
#[path = "signature_tests.rs"]
mod tests;
