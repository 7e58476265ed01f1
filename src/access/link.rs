//! Minting signed links (`imgorigin sign`): the same canonical form the verifier uses, so a
//! backend can shell out to the binary or follow docs/access-control.md in its own language.

use super::keys::KeyRing;
use super::signature::{self, SIGNED_PARAMS};
use crate::key::{object_key, KeyError};
use crate::query::Query;

/// Why a link cannot be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// Not `/path[?query]` or `http(s)://host/path[?query]`, or it has a fragment.
    #[error("give a path (/a/b.jpg) or an http(s) URL, without #fragment")]
    BadTarget,
    /// The path names no object the origin would serve.
    #[error("the path names no valid key: {0}")]
    BadPath(#[from] KeyError),
    /// A query parameter that is not signable, given twice, or not `name=value`.
    #[error("query parameter {0:?} cannot be signed (allowed once each: fit, format, h, q, w)")]
    Param(String),
    /// `--key-id` names no configured key.
    #[error("no signing key with id {0:?}")]
    UnknownKey(String),
}

/// Signs `target` (a path or an http(s) URL, maybe with transform parameters) to expire at
/// `exp` (Unix seconds) with key `kid` (default: the first key). Returns the target with
/// `exp`, `kid` and `sig` appended to its query.
///
/// # Errors
/// A [`LinkError`].
pub fn sign_link(
    keys: &KeyRing,
    kid: Option<&str>,
    target: &str,
    exp: u64,
) -> Result<String, LinkError> {
    let key = match kid {
        Some(kid) => keys
            .get(kid)
            .ok_or_else(|| LinkError::UnknownKey(kid.to_owned()))?,
        None => keys.first(),
    };
    if target.contains('#') {
        return Err(LinkError::BadTarget);
    }
    // The path is looked for before the query: `http://h?/a` has no path (a fuzzer found
    // the index taken from the whole target running past the part before `?`).
    let (without_query, query) = match target.split_once('?') {
        Some((before, query)) => (before, query),
        None => (target, ""),
    };
    let path_start = match without_query.split_once("://") {
        Some((scheme, rest)) if scheme == "http" || scheme == "https" => rest
            .find('/')
            .map(|i| scheme.len() + 3 + i)
            .ok_or(LinkError::BadTarget)?,
        Some(_) => return Err(LinkError::BadTarget),
        None if target.starts_with('/') => 0,
        None => return Err(LinkError::BadTarget),
    };
    let decoded = object_key(&without_query[path_start..], "")?;
    let mut params = transform_params(query)?;
    let exp = exp.to_string();
    params.push(("exp", exp.clone()));
    params.push(("kid", key.kid().to_owned()));
    let pairs: Vec<(&str, &str)> = params.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let sig = signature::sign(key, &signature::canonical(&format!("/{decoded}"), &pairs));
    let joiner = if query.is_empty() { "" } else { "&" };
    Ok(format!(
        "{without_query}?{query}{joiner}exp={exp}&kid={}&sig={sig}",
        key.kid()
    ))
}

/// The IIIF info.json URL that opens `target` (a path or an http(s) URL without a query) in a
/// viewer until `exp`: the signed link's `kid`, `exp` and `sig` as a token segment under the
/// IIIF prefix `prefix` (`crate::iiif::token`), then the identifier.
///
/// # Errors
/// As [`sign_link`]; a target with a query is [`LinkError::Param`].
pub fn iiif_link(
    keys: &KeyRing,
    kid: Option<&str>,
    target: &str,
    exp: u64,
    prefix: &str,
) -> Result<String, LinkError> {
    if let Some((_, query)) = target.split_once('?') {
        return Err(LinkError::Param(query.to_owned()));
    }
    let link = sign_link(keys, kid, target, exp)?;
    let (base, query) = link.split_once('?').ok_or(LinkError::BadTarget)?;
    let signed = signature::parse(query).map_err(|_| LinkError::BadTarget)?;
    let sig = query.rsplit_once("sig=").map_or("", |(_, s)| s);
    let path_start = match base.split_once("://") {
        Some((scheme, rest)) => rest.find('/').map_or(base.len(), |i| scheme.len() + 3 + i),
        None => 0,
    };
    let key = object_key(&base[path_start..], "")?;
    let token = crate::iiif::token::segment(&signed.kid, signed.exp, sig);
    let id = crate::iiif::ident::encode_identifier(key.as_str(), None);
    Ok(format!(
        "{}{prefix}{token}/{id}/info.json",
        &base[..path_start]
    ))
}

/// The parameters already in the target: transforms only, once each, read as the origin reads
/// them ([`Query`]).
fn transform_params(query: &str) -> Result<Vec<(&'static str, String)>, LinkError> {
    let parsed = Query::parse(Some(query)).map_err(|_| LinkError::Param(query.to_owned()))?;
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (name, value) in parsed.pairs() {
        let bad = || LinkError::Param(format!("{name}={value}"));
        if value.is_empty() {
            return Err(bad());
        }
        let known = SIGNED_PARAMS
            .iter()
            .find(|n| **n == name && !matches!(**n, "exp" | "kid"))
            .ok_or_else(bad)?;
        if out.iter().any(|(n, _)| n == known) {
            return Err(bad());
        }
        out.push((known, value.to_owned()));
    }
    Ok(out)
}
