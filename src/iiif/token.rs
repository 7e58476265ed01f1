//! The access token an IIIF URL may carry as its first segment after the prefix, so that a
//! private image opens in a viewer from one signed link (issue 19 item 4): viewers build tile
//! URLs from info.json's `id`, so a per-URL signature cannot work, but a segment that `id`
//! carries travels in every tile URL.
//!
//! The segment is `t.{kid}.{exp}.{sig}`: exactly the `kid`, `exp` and `sig` of a signed link to
//! the object itself (`imgorigin sign /key`, [`crate::access::signature`]), so it covers that
//! one identifier until `exp`, is verified by the same code at the origin and at the edge
//! (deploy/template.yaml's router, Note 10), and needs no new key or canonical form. A segment
//! of any other shape is not a token and is read as part of the identifier.

/// A token segment, borrowed from the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The whole segment, `t.{kid}.{exp}.{sig}`.
    pub segment: &'a str,
    /// The signing key's id.
    pub kid: &'a str,
    /// Expiry, Unix seconds.
    pub exp: &'a str,
    /// The signature, base64url.
    pub sig: &'a str,
}

impl Token<'_> {
    /// The signed-link query the token stands for.
    pub fn query(&self) -> String {
        format!("exp={}&kid={}&sig={}", self.exp, self.kid, self.sig)
    }
}

/// The token at the start of `rest` (the path after the prefix) and what follows it, or no
/// token and `rest` whole.
pub fn split_token(rest: &str) -> (Option<Token<'_>>, &str) {
    let Some((segment, after)) = rest.split_once('/') else {
        return (None, rest);
    };
    match parse(segment) {
        Some(token) if !after.is_empty() => (Some(token), after),
        _ => (None, rest),
    }
}

/// The segment for `kid`, `exp` and `sig` (from a signed link).
pub fn segment(kid: &str, exp: u64, sig: &str) -> String {
    format!("t.{kid}.{exp}.{sig}")
}

fn parse(segment: &str) -> Option<Token<'_>> {
    let mut parts = segment.strip_prefix("t.")?.split('.');
    let (kid, exp, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let b64 = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    };
    let ok = parts.next().is_none()
        && (1..=32).contains(&kid.len())
        && b64(kid)
        && (1..=15).contains(&exp.len())
        && exp.bytes().all(|b| b.is_ascii_digit())
        && !exp.starts_with('0')
        && sig.len() == 43
        && b64(sig);
    ok.then_some(Token {
        segment,
        kid,
        exp,
        sig,
    })
}

#[cfg(test)]
#[path = "token_tests.rs"]
mod tests;
