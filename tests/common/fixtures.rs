//! The objects every store is seeded with, identically.

use super::pattern;

pub struct Fixture {
    pub key: &'static str,
    /// Percent-encoded request path.
    pub path: &'static str,
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

pub fn fixtures() -> Vec<Fixture> {
    vec![
        Fixture {
            key: "photo.jpg",
            path: "/photo.jpg",
            bytes: pattern(200 * 1024 + 17, 1),
            content_type: "image/jpeg",
        },
        Fixture {
            key: "empty.bin",
            path: "/empty.bin",
            bytes: Vec::new(),
            content_type: "application/octet-stream",
        },
        Fixture {
            key: "maps/tile set ü.png",
            path: "/maps/tile%20set%20%C3%BC.png",
            bytes: pattern(1000, 2),
            content_type: "image/png",
        },
        Fixture {
            key: "big.bin",
            path: "/big.bin",
            bytes: pattern(3 * 1024 * 1024 + 5, 3),
            content_type: "application/octet-stream",
        },
    ]
}

/// Keys with every character S3 users trip over: the sub-delimiters and `%`, spaces (runs of
/// them, at the ends of a segment), unicode in several scripts and emoji (4-byte UTF-8 and a
/// variation selector). The S3 stores check SigV4 on each request, so a canonical-URI
/// encoding that differs from S3's fails here as SignatureDoesNotMatch.
pub fn special_keys() -> Vec<(&'static str, Vec<u8>)> {
    [
        "special/a+b c.bin",
        "special/100%.bin",
        "special/~*&=!'():@.bin",
        "special/[x]$,;.bin",
        "special/  two  spaces  .bin",
        "special/ünïcødé/日本語/кириллица.bin",
        "special/🗺️ map 📷.bin",
        "special/all +%~*&=!'():@[]$,; ü🙂.bin",
    ]
    .into_iter()
    .zip(10u64..)
    .map(|(key, seed)| (key, pattern(700 + seed as usize, seed)))
    .collect()
}

/// The request path for `key`: every byte percent-encoded but unreserved characters, `/` and
/// the bytes in `raw` (RFC 3986 §3.3 allows sub-delimiters, `:` and `@` unencoded in a path).
pub fn key_path(key: &str, raw: &str) -> String {
    let mut path = String::from("/");
    for &b in key.as_bytes() {
        let keep =
            b.is_ascii_alphanumeric() || b"-._~/".contains(&b) || raw.as_bytes().contains(&b);
        match keep {
            true => path.push(b as char),
            false => path.push_str(&format!("%{b:02X}")),
        }
    }
    path
}

/// The characters a path may carry unencoded beyond the unreserved ones (RFC 3986 §3.3
/// `pchar`: sub-delims, `:` and `@`).
pub const PCHAR_RAW: &str = "!$&'()*+,;=:@";
