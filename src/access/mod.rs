//! Access control, decided before any store call: the origin lock (a secret header only the
//! CDN sends), allowed keys (prefixes and extensions), and signed URLs ([`signature`]) for
//! the keys under signed prefixes. Pure functions over `http` types; the one mapping to
//! statuses is in [`crate::response`].

pub mod keys;
pub mod link;
pub mod signature;

pub use keys::{KeyConfigError, KeyRing, SigningKey};
pub use signature::SignatureError;

use crate::query::Query;
use http::{HeaderMap, HeaderName};
use std::fmt;
use subtle::ConstantTimeEq;

/// Why a request is refused before the store is asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// The origin-lock header is missing, repeated or wrong: 403.
    #[error("origin lock header missing or wrong")]
    OriginLock,
    /// The key is outside the allowed prefixes or extensions: 404, like a missing object, so
    /// the origin cannot be used to enumerate the bucket.
    #[error("key outside the allowed prefixes or extensions")]
    NotAllowed,
    /// The key is under a signed prefix and the signature is refused: 403.
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
}

/// `--require-header NAME:VALUE`: every request must carry exactly one such header line with
/// exactly this value.
#[derive(Clone)]
pub struct RequiredHeader {
    name: HeaderName,
    value: Vec<u8>,
}

impl fmt::Debug for RequiredHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RequiredHeader({}: <redacted>)", self.name)
    }
}

/// An unusable `--require-header`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--require-header must be NAME:VALUE with a valid header name and a non-empty value")]
pub struct RequiredHeaderError;

impl RequiredHeader {
    /// Parses `NAME:VALUE` (spaces around the value are trimmed, as in an HTTP header line).
    ///
    /// # Errors
    /// When the name is not a header name or the value is empty or not a header value.
    pub fn parse(spec: &str) -> Result<RequiredHeader, RequiredHeaderError> {
        let (name, value) = spec.split_once(':').ok_or(RequiredHeaderError)?;
        let name =
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|_| RequiredHeaderError)?;
        let value = value.trim();
        if value.is_empty() || http::HeaderValue::from_str(value).is_err() {
            return Err(RequiredHeaderError);
        }
        Ok(RequiredHeader {
            name,
            value: value.as_bytes().to_vec(),
        })
    }

    fn admits(&self, headers: &HeaderMap) -> bool {
        let mut lines = headers.get_all(&self.name).iter();
        match (lines.next(), lines.next()) {
            // Constant time in the value: the secret cannot be guessed byte by byte.
            (Some(v), None) => bool::from(v.as_bytes().ct_eq(&self.value)),
            _ => false,
        }
    }
}

/// Which keys need a signature, and the keys that sign them.
#[derive(Debug, Clone)]
pub struct Signing {
    /// Active keys.
    pub keys: KeyRing,
    /// Key prefixes that need a signature; empty means every key.
    pub prefixes: Vec<String>,
}

impl Signing {
    fn covers(&self, key: &str) -> bool {
        self.prefixes.is_empty() || self.prefixes.iter().any(|p| key.starts_with(p.as_str()))
    }
}

/// The access rules; the default admits everything (no lock, no limits, no signatures).
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Origin lock.
    pub require_header: Option<RequiredHeader>,
    /// Allowed key prefixes; empty allows every prefix.
    pub allow_prefixes: Vec<String>,
    /// Allowed extensions, lower case without the dot; empty allows every key.
    pub allow_exts: Vec<String>,
    /// Signed URLs.
    pub signing: Option<Signing>,
}

impl Access {
    /// The origin lock, checked first, before even the method.
    ///
    /// # Errors
    /// [`Denied::OriginLock`].
    pub fn check_origin(&self, headers: &HeaderMap) -> Result<(), Denied> {
        match &self.require_header {
            Some(required) if !required.admits(headers) => Err(Denied::OriginLock),
            _ => Ok(()),
        }
    }

    /// Allowed keys, then the signature, for the request key `key` (the decoded path without
    /// its leading `/`, before `--prefix` is prepended) with the request's decoded `query`, at
    /// `now` (Unix seconds). Unsigned prefixes ignore the query entirely.
    ///
    /// # Errors
    /// [`Denied::NotAllowed`] or [`Denied::Signature`].
    pub fn check_key(&self, key: &str, query: &Query<'_>, now: u64) -> Result<(), Denied> {
        if !self.allowed(key) {
            return Err(Denied::NotAllowed);
        }
        match &self.signing {
            Some(signing) if signing.covers(key) => {
                let path = format!("/{key}");
                Ok(signature::verify(&signing.keys, &path, query, now)?)
            }
            _ => Ok(()),
        }
    }

    /// Whether the request key `requested` may be answered with the bytes of `resolved`, the
    /// key a local file reached through a symlink really is (both without `--prefix`). The
    /// rules hold for what is read: the target must be an allowed key, and a link outside
    /// the signed prefixes may not reach a key inside them.
    pub fn admits_link(&self, requested: &str, resolved: &str) -> bool {
        let signed = |key: &str| self.signing.as_ref().is_some_and(|s| s.covers(key));
        self.allowed(resolved) && (signed(requested) || !signed(resolved))
    }

    fn allowed(&self, key: &str) -> bool {
        let prefix_ok = self.allow_prefixes.is_empty()
            || self
                .allow_prefixes
                .iter()
                .any(|p| key.starts_with(p.as_str()));
        prefix_ok && (self.allow_exts.is_empty() || self.ext_allowed(key))
    }

    fn ext_allowed(&self, key: &str) -> bool {
        let name = key.rsplit('/').next().unwrap_or(key);
        name.rsplit_once('.')
            .is_some_and(|(_, ext)| self.allow_exts.iter().any(|a| a.eq_ignore_ascii_case(ext)))
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
