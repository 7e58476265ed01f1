//! IIIF flags: where the Image API service lives and how its `id`s are spelled.

use crate::iiif::ident::is_valid_slash_substitute;
use crate::iiif::Settings;
use clap::Args;

/// The IIIF Image API service (docs/iiif.md).
#[derive(Debug, Clone, Args)]
pub struct IiifArgs {
    /// Turn the IIIF service off: paths under its prefix are plain keys again.
    #[arg(long, env = "IMGORIGIN_NO_IIIF")]
    pub no_iiif: bool,
    /// Path the IIIF service answers under, starting and ending with `/`.
    #[arg(long, env = "IMGORIGIN_IIIF_PREFIX", default_value = crate::iiif::DEFAULT_PREFIX, value_parser = parse_prefix)]
    pub iiif_prefix: String,
    /// A character that stands for `/` in identifiers, for CDNs and viewers that mangle
    /// `%2F` (Cantaloupe's slash_substitute): one of - . _ ~ ! $ & ' ( ) * + , ; = : @.
    #[arg(long, env = "IMGORIGIN_IIIF_SLASH_SUBSTITUTE", value_parser = parse_substitute)]
    pub iiif_slash_substitute: Option<char>,
    /// The public address of this service (`https://images.example.com`), which info.json's
    /// `id` starts with; without it the request's Host or X-Forwarded-Host/-Proto. Set it
    /// behind CloudFront, where the function sees the origin's host, not the viewer's.
    #[arg(long, env = "IMGORIGIN_PUBLIC_URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
}

impl IiifArgs {
    /// The service settings, `None` when off.
    pub fn settings(&self) -> Option<Settings> {
        (!self.no_iiif).then(|| Settings {
            prefix: self.iiif_prefix.clone(),
            slash_substitute: self.iiif_slash_substitute,
            public_url: self.public_url.clone(),
        })
    }
}

fn parse_prefix(value: &str) -> Result<String, String> {
    let inner = value.strip_prefix('/').and_then(|v| v.strip_suffix('/'));
    let plain = |s: &str| {
        !s.is_empty()
            && s.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
            })
    };
    match inner {
        Some(inner) if plain(inner) => Ok(value.to_owned()),
        _ => Err("a path like /iiif/3/: starts and ends with /, letters, digits and - . _ ~ in non-empty segments".to_owned()),
    }
}

fn parse_substitute(value: &str) -> Result<char, String> {
    let mut chars = value.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) if is_valid_slash_substitute(c) => Ok(c),
        _ => Err("one of - . _ ~ ! $ & ' ( ) * + , ; = : @".to_owned()),
    }
}

fn parse_public_url(value: &str) -> Result<String, String> {
    let bad = || "an http:// or https:// URL without query or fragment".to_owned();
    let uri: http::Uri = value.parse().map_err(|_| bad())?;
    let scheme_ok = matches!(uri.scheme_str(), Some("http" | "https"));
    if !scheme_ok
        || uri.host().is_none_or(str::is_empty)
        || uri.query().is_some()
        || value.contains('#')
    {
        return Err(bad());
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values() {
        assert_eq!(parse_prefix("/iiif/3/").as_deref(), Ok("/iiif/3/"));
        assert_eq!(parse_prefix("/tiles/").as_deref(), Ok("/tiles/"));
        for bad in [
            "",
            "/",
            "iiif/3/",
            "/iiif/3",
            "/iiif//3/",
            "/../",
            "/a b/",
            "/%41/",
        ] {
            assert!(parse_prefix(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_substitute("~"), Ok('~'));
        for bad in ["", "ab", "a", "%", "/", "é"] {
            assert!(parse_substitute(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            parse_public_url("https://d1.cloudfront.net/").as_deref(),
            Ok("https://d1.cloudfront.net")
        );
        assert_eq!(
            parse_public_url("http://127.0.0.1:8080/images").as_deref(),
            Ok("http://127.0.0.1:8080/images")
        );
        for bad in [
            "",
            "d1.cloudfront.net",
            "ftp://x/",
            "https://x/?a=1",
            "https://x/#f",
            "https:///",
        ] {
            assert!(parse_public_url(bad).is_err(), "{bad:?}");
        }
    }
}
