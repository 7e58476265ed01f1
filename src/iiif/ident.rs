//! Identifiers in URIs (§9) and the base URI that info.json's `id` starts with (§3, §5.2).
//!
//! An identifier is one path segment: its `/` travel as `%2F` (§9: "any slashes within the
//! identifier part of the URI MUST be percent-encoded"). Some CDNs and proxies decode or
//! refuse `%2F`, so a slash substitute may be configured (Cantaloupe's `slash_substitute`):
//! a character that stands for `/` in the URI.
//!
//! The substitute is replaced *before* percent-decoding: a literal substitute in an
//! identifier is then written percent-encoded (`%7E` for `~`) and stays literal. Replacing
//! after decoding (Cantaloupe's order) would make every key holding the substitute
//! unreachable, and the escape would mean the same as the bare character. A CDN that
//! mangles `%2F` leaves other escapes alone, so `%7E` reaches us as sent.

use super::IiifError;
use crate::key::percent_decode_strict;
use http::HeaderMap;
use std::borrow::Cow;
use std::net::Ipv6Addr;

/// Characters usable as a slash substitute: ASCII, legal unencoded in a path segment
/// (RFC 3986 §3.3 `pchar`), neither `%` (escapes) nor a letter or digit (identifiers are
/// mostly made of those). A substitute outside this set is ignored by this module's
/// functions; the configuration should refuse it.
pub fn is_valid_slash_substitute(c: char) -> bool {
    "-._~!$&'()*+,;=:@".contains(c)
}

/// The identifier that the path segment `segment` (as sent, still percent-encoded) names:
/// the slash substitute, if any, replaced by `/`, then `%XX` escapes decoded once.
///
/// # Errors
/// [`IiifError::Identifier`] for a `%` not followed by two hex digits, bytes that are not
/// UTF-8, a control character (NUL, C0, DEL, C1) or an empty identifier.
pub fn decode_identifier(
    segment: &str,
    slash_substitute: Option<char>,
) -> Result<String, IiifError> {
    let raw = match slash_substitute.filter(|&c| is_valid_slash_substitute(c)) {
        Some(c) => Cow::Owned(segment.replace(c, "/")),
        None => Cow::Borrowed(segment),
    };
    let bytes = percent_decode_strict(raw.as_bytes()).map_err(|_| IiifError::Identifier)?;
    let id = String::from_utf8(bytes).map_err(|_| IiifError::Identifier)?;
    if id.is_empty() || id.chars().any(char::is_control) {
        return Err(IiifError::Identifier);
    }
    Ok(id)
}

/// The path segment for the identifier `key`, the inverse of [`decode_identifier`]: every
/// byte but RFC 3986 unreserved characters percent-encoded (§9 requires only `/ ? # [ ] @
/// %` and non-ASCII, and adds "Percent-encoding other characters introduces no ambiguity"),
/// except that `/` is written as the slash substitute when one is set, and a literal
/// substitute is then percent-encoded.
pub fn encode_identifier(key: &str, slash_substitute: Option<char>) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let substitute = slash_substitute.filter(|&c| is_valid_slash_substitute(c));
    let mut out = String::with_capacity(key.len() + key.len() / 2);
    for b in key.bytes() {
        // The substitute is ASCII, so comparing bytes cannot match inside a UTF-8 sequence.
        let is_substitute = substitute.is_some_and(|s| u32::from(b) == u32::from(s));
        match (b, substitute) {
            (b'/', Some(s)) => out.push(s),
            _ if !is_substitute && is_unreserved(b) => out.push(char::from(b)),
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
    out
}

/// RFC 3986 §2.3.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// What info.json's `id` starts with, before the service's own path (§3:
/// `{scheme}://{server}{/prefix}/{identifier}`): `scheme://host[:port]`, or with a path.
///
/// - `public_url`, when configured and not empty, as it is (without trailing `/`): the
///   address the service is published at, path prefix included. Only this is safe behind a
///   cache that does not key on the headers below.
/// - Else `X-Forwarded-Proto` (`http` or `https`) and `X-Forwarded-Host`, the first value
///   of each (the one the proxy nearest the client wrote); either may be missing, standing
///   for `http` and `Host`.
/// - Else `Host`, with `http`.
///
/// Hosts are lowercased and a scheme's default port dropped (RFC 3986 §6.2.3), so that one
/// server has one `id`.
///
/// `None` when there is no host, or a header present is not exactly one
/// `reg-name[:port]` or `[IPv6][:port]`: no path, query, fragment, userinfo, whitespace or
/// empty label can come in through a header. The caller answers 400.
pub fn public_base(headers: &HeaderMap, public_url: Option<&str>) -> Option<String> {
    let configured = public_url.map(|u| u.trim_end_matches('/'));
    if let Some(url) = configured.filter(|u| !u.is_empty()) {
        return Some(url.to_owned());
    }
    let scheme = match headers.get("x-forwarded-proto") {
        Some(value) => scheme(first(value)?)?,
        None => "http",
    };
    let host = match headers.get("x-forwarded-host") {
        Some(value) => first(value)?,
        None => headers.get(http::header::HOST)?.to_str().ok()?,
    };
    let authority = authority(host, scheme)?;
    Some(format!("{scheme}://{authority}"))
}

/// The first element of a comma-separated header value, without its optional whitespace.
fn first(value: &http::HeaderValue) -> Option<&str> {
    let text = value.to_str().ok()?;
    let first = text.split(',').next()?;
    Some(first.trim_matches([' ', '\t']))
}

fn scheme(s: &str) -> Option<&'static str> {
    ["http", "https"]
        .into_iter()
        .find(|scheme| s.eq_ignore_ascii_case(scheme))
}

/// `host[:port]` checked and normalised (lowercase, no default port), or `None`.
fn authority(s: &str, scheme: &str) -> Option<String> {
    let (host, port) = match s.strip_prefix('[') {
        Some(rest) => {
            let (address, after) = rest.split_once(']')?;
            address.parse::<Ipv6Addr>().ok()?;
            (s.get(..address.len() + 2)?, after)
        }
        None => {
            let end = s.find(':').unwrap_or(s.len());
            let host = s.get(..end)?;
            is_reg_name(host).then_some(())?;
            (host, s.get(end..)?)
        }
    };
    let port = match port {
        "" => None,
        p => Some(port_number(p.strip_prefix(':')?)?),
    };
    let default = if scheme == "https" { 443 } else { 80 };
    let host = host.to_ascii_lowercase();
    Some(match port {
        Some(p) if p != default => format!("{host}:{p}"),
        _ => host,
    })
}

/// A DNS name or IPv4 address (RFC 1123 §2.1 labels, `_` allowed for internal names): at
/// most 253 bytes of non-empty labels of at most 63 letters, digits, `-` and `_`, no label
/// starting or ending with `-`.
fn is_reg_name(host: &str) -> bool {
    let label_ok = |label: &str| {
        let chars_ok = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        (1..=63).contains(&label.len())
            && chars_ok
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    host.len() <= 253 && host.split('.').all(label_ok)
}

/// 1 to 65535, digits only (`u16::from_str` would take a `+`).
fn port_number(p: &str) -> Option<u16> {
    if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    p.parse::<u16>().ok().filter(|&n| n != 0)
}

#[cfg(test)]
#[path = "ident_tests.rs"]
mod tests;
