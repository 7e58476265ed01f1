//! Request path to object key: percent-decode exactly once, then refuse anything that could
//! address something other than one plain object (traversal, empty segments, control bytes).
//!
//! A second spelling, `/~/` + base64url (RFC 4648 §5, no padding) of the key, is what the
//! deploy's CloudFront Function sends to the Function URLs for keys with characters other
//! than RFC 3986 unreserved ones: OAC's signature does not match for a path holding a space
//! or `+`, percent-encoded or not (aws-samples/image-optimization#44). The decoded key passes
//! the same checks.
//!
//! Decisions here never touch a store: a rejected path is a 400 before any I/O.

use std::fmt;

/// S3's limit on key length, applied to the full key (prefix included) so that both stores
/// accept exactly the same keys.
pub const MAX_KEY_BYTES: usize = 1024;

/// Why a request path cannot name an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The path does not start with `/` (asterisk or authority form).
    #[error("path is not absolute")]
    NotAbsolute,
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-encoding")]
    BadEscape,
    /// The decoded bytes are not UTF-8.
    #[error("path is not valid UTF-8")]
    NotUtf8,
    /// `//`, a trailing `/`, or the bare root.
    #[error("empty path segment")]
    EmptySegment,
    /// A `.` or `..` segment (after decoding, so `%2e%2e` counts).
    #[error("dot segment in path")]
    DotSegment,
    /// NUL, other C0/C1 control characters or DEL.
    #[error("control character in path")]
    Control,
    /// Backslashes are path separators on some systems and in some proxies.
    #[error("backslash in path")]
    Backslash,
    /// Longer than [`MAX_KEY_BYTES`] with the prefix.
    #[error("key longer than {MAX_KEY_BYTES} bytes")]
    TooLong,
    /// After [`ENCODED_KEY_MARKER`], not base64url without padding.
    #[error("key after /~/ is not base64url")]
    BadEncodedKey,
}

/// The first segment that marks a key spelled as base64url: `/~/a2V5` is the key `key`.
pub const ENCODED_KEY_MARKER: &str = "/~/";

/// A validated object key, prefix included. Only [`object_key`] makes one, so holding an
/// `ObjectKey` means the checks above passed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// The key as the store sees it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Maps a URI path (without query) to the store key `prefix + decoded path without the
/// leading slash`.
///
/// # Errors
/// A [`KeyError`] naming the first rule the path breaks.
pub fn object_key(path: &str, prefix: &str) -> Result<ObjectKey, KeyError> {
    let decoded = match encoded_key(path) {
        Some(decoded) => decoded?,
        None => {
            let rest = path.strip_prefix('/').ok_or(KeyError::NotAbsolute)?;
            let bytes = percent_decode_strict(rest.as_bytes())?;
            String::from_utf8(bytes).map_err(|_| KeyError::NotUtf8)?
        }
    };
    key_of(decoded, prefix)
}

/// The path a `/~/` + base64url spelling stands for, decoded; `None` when `path` is not so
/// spelled.
pub fn encoded_key(path: &str) -> Option<Result<String, KeyError>> {
    use base64::Engine;
    let encoded = path.strip_prefix(ENCODED_KEY_MARKER)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded);
    let bytes = bytes.map_err(|_| KeyError::BadEncodedKey);
    Some(bytes.and_then(|b| String::from_utf8(b).map_err(|_| KeyError::NotUtf8)))
}

/// The store key `prefix + decoded` for a key already decoded from its spelling in a URI
/// (an IIIF identifier, `crate::iiif::ident`), by the same rules as [`object_key`].
///
/// # Errors
/// A [`KeyError`] naming the first rule the key breaks.
pub fn key_of(decoded: String, prefix: &str) -> Result<ObjectKey, KeyError> {
    for segment in decoded.split('/') {
        match segment {
            "" => return Err(KeyError::EmptySegment),
            "." | ".." => return Err(KeyError::DotSegment),
            _ => {}
        }
    }
    if decoded.chars().any(char::is_control) {
        return Err(KeyError::Control);
    }
    if decoded.contains('\\') {
        return Err(KeyError::Backslash);
    }
    if prefix.len() + decoded.len() > MAX_KEY_BYTES {
        return Err(KeyError::TooLong);
    }
    if prefix.is_empty() {
        return Ok(ObjectKey(decoded));
    }
    let mut key = String::with_capacity(prefix.len() + decoded.len());
    key.push_str(prefix);
    key.push_str(&decoded);
    Ok(ObjectKey(key))
}

/// Decodes `%XX` escapes once. Unlike lenient decoders it refuses a stray `%`, so that two
/// layers (a CDN and us) cannot disagree about what a malformed path means.
pub(crate) fn percent_decode_strict(input: &[u8]) -> Result<Vec<u8>, KeyError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] == b'%' {
            let hi = input.get(i + 1).and_then(|b| hex_value(*b));
            let lo = input.get(i + 2).and_then(|b| hex_value(*b));
            match (hi, lo) {
                (Some(hi), Some(lo)) => out.push(hi << 4 | lo),
                _ => return Err(KeyError::BadEscape),
            }
            i += 3;
        } else {
            out.push(input[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 3986 §2.1 (percent-encoding) and §3.3 (path segments); RFC 9110 §4.2.3 says the path
    // is compared after decoding, which is why dot segments are checked after decoding.
    #[test]
    fn path_to_key_table() {
        let long = format!("/{}", "a".repeat(MAX_KEY_BYTES + 1));
        let cases: &[(&str, &str, Result<&str, KeyError>)] = &[
            ("/a/b.jpg", "", Ok("a/b.jpg")),
            ("/a/b.jpg", "images/", Ok("images/a/b.jpg")),
            ("/hello%20world.txt", "", Ok("hello world.txt")),
            ("/caf%C3%A9.jpg", "", Ok("café.jpg")),
            ("/café.jpg", "", Ok("café.jpg")),
            // Decoded once only: %2520 is the literal "%20".
            ("/a%2520b", "", Ok("a%20b")),
            ("/a%2Fb", "", Ok("a/b")),
            ("/a+b", "", Ok("a+b")),
            ("/", "", Err(KeyError::EmptySegment)),
            ("//a", "", Err(KeyError::EmptySegment)),
            ("/a//b", "", Err(KeyError::EmptySegment)),
            ("/a/", "", Err(KeyError::EmptySegment)),
            ("/../etc/passwd", "", Err(KeyError::DotSegment)),
            ("/a/./b", "", Err(KeyError::DotSegment)),
            ("/a/%2e%2e/b", "", Err(KeyError::DotSegment)),
            ("/a%2F..%2Fb", "", Err(KeyError::DotSegment)),
            ("/a%00b", "", Err(KeyError::Control)),
            ("/a%0Ab", "", Err(KeyError::Control)),
            ("/a%7Fb", "", Err(KeyError::Control)),
            ("/a%C2%85b", "", Err(KeyError::Control)),
            ("/a%5Cb", "", Err(KeyError::Backslash)),
            ("/a\\b", "", Err(KeyError::Backslash)),
            ("/a%FFb", "", Err(KeyError::NotUtf8)),
            ("/a%zzb", "", Err(KeyError::BadEscape)),
            ("/a%4", "", Err(KeyError::BadEscape)),
            ("*", "", Err(KeyError::NotAbsolute)),
            // The router's spelling (deploy/template.yaml, lambdaUri): base64url of the key.
            ("/~/YSBiLmpwZw", "", Ok("a b.jpg")),
            ("/~/YStiLmpwZw", "p/", Ok("p/a+b.jpg")),
            ("/~/fi94LmpwZw", "", Ok("~/x.jpg")),
            ("/~/Y2Fmw6kuanBn", "", Ok("café.jpg")),
            ("/~/YSBiLmpwZw==", "", Err(KeyError::BadEncodedKey)),
            ("/~/a+b", "", Err(KeyError::BadEncodedKey)),
            ("/~/Li4vZXRj", "", Err(KeyError::DotSegment)),
            ("/~/", "", Err(KeyError::EmptySegment)),
            ("/~/_w", "", Err(KeyError::NotUtf8)),
            ("/~x.jpg", "", Ok("~x.jpg")),
            (&long, "", Err(KeyError::TooLong)),
        ];
        for (path, prefix, want) in cases {
            let got = object_key(path, prefix);
            assert_eq!(
                got.as_ref().map(ObjectKey::as_str),
                want.as_ref().map(|s| *s),
                "{path}"
            );
        }
    }

    #[test]
    fn key_of_exactly_the_limit_is_accepted() {
        let path = format!("/{}", "a".repeat(MAX_KEY_BYTES - 2));
        assert!(object_key(&path, "p/").is_ok());
        assert_eq!(object_key(&path, "pp/"), Err(KeyError::TooLong));
    }

    proptest! {
        #[test]
        fn never_panics(path in any::<String>(), prefix in "[a-z/]{0,8}") {
            let _ = object_key(&path, &prefix);
        }

        #[test]
        fn accepted_keys_have_no_traversal(path in "/[a-z./%2eE5cC0-9]{0,24}") {
            if let Ok(key) = object_key(&path, "") {
                prop_assert!(key.as_str().split('/').all(|s| !s.is_empty() && s != "." && s != ".."));
                prop_assert!(!key.as_str().contains('\\'));
            }
        }
    }
}
