//! Access-control flags: signing keys, signed prefixes, origin lock, allowed keys, and the
//! `imgorigin sign` subcommand. Secrets are held in [`Secret`] so that `Debug`, `--help` and
//! errors never print them.

use super::ConfigError;
use crate::access::{Access, KeyRing, RequiredHeader, Signing};
use clap::Args;
use std::path::PathBuf;

/// `imgorigin sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// `/a/b.jpg` or `https://cdn.example/a/b.jpg`, maybe with transform parameters
    /// (`?w=200`).
    pub target: String,
    /// The key to sign with (default: the first key).
    #[arg(long)]
    pub key_id: Option<String>,
    /// Lifetime: seconds, or a number with s, m, h or d (`90s`, `15m`, `1h`, `7d`).
    #[arg(long, default_value = "1h", conflicts_with = "expires_at")]
    pub expires_in: String,
    /// Expiry: Unix seconds or an RFC 3339 time (`2027-01-01T00:00:00Z`); the link works
    /// until the second before.
    #[arg(long, value_parser = parse_expires_at)]
    pub expires_at: Option<u64>,
    /// Print the IIIF info.json URL that opens the object in a viewer until the expiry (a
    /// token segment under the default prefix, /iiif/3/) instead of the signed link.
    #[arg(long)]
    pub iiif: bool,
    /// Signing keys.
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// Unix seconds, or an RFC 3339 date-time with its offset, as `aws cloudfront sign
/// --date-less-than` takes it.
fn parse_expires_at(text: &str) -> Result<u64, String> {
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(secs);
    }
    let rfc3339 = &time::format_description::well_known::Rfc3339;
    let at = time::OffsetDateTime::parse(text, rfc3339).map_err(|e| {
        format!("neither Unix seconds nor an RFC 3339 time such as 2027-01-01T00:00:00Z ({e})")
    })?;
    u64::try_from(at.unix_timestamp()).map_err(|_| "a time before 1970".to_owned())
}

/// A setting whose value must not be printed (help, `Debug`, errors).
#[derive(Clone, Default)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Secret, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

/// Where signing keys come from.
#[derive(Debug, Clone, Args)]
pub struct KeyArgs {
    /// Signing keys `KID:HEX,KID:HEX` (at least 32 bytes each; the first signs by default).
    #[arg(
        long,
        env = "IMGORIGIN_SIGNING_KEYS",
        hide_env_values = true,
        conflicts_with = "signing_keys_file"
    )]
    pub signing_keys: Option<Secret>,
    /// A file of signing keys, one `KID:HEX` per line (`#` comments).
    #[arg(long, env = "IMGORIGIN_SIGNING_KEYS_FILE")]
    pub signing_keys_file: Option<PathBuf>,
}

impl KeyArgs {
    /// The configured keys, if any.
    ///
    /// # Errors
    /// When the file cannot be read or a key is unusable.
    pub fn keys(&self) -> Result<Option<KeyRing>, ConfigError> {
        if let Some(Secret(list)) = &self.signing_keys {
            return Ok(Some(KeyRing::parse_list(list)?));
        }
        let Some(path) = &self.signing_keys_file else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::KeysFile {
            path: path.clone(),
            source,
        })?;
        Ok(Some(KeyRing::parse_file(&text)?))
    }
}

/// Access control: origin lock, allowed keys, signed URLs.
#[derive(Debug, Clone, Args)]
pub struct AccessArgs {
    /// Signing keys.
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Keys under this prefix need a signature (repeatable; `''` means every key). With
    /// signing keys and no prefix, every key needs a signature.
    #[arg(
        long = "signed-prefix",
        env = "IMGORIGIN_SIGNED_PREFIX",
        value_delimiter = ','
    )]
    pub signed_prefixes: Vec<String>,
    /// Every key needs a signature.
    #[arg(long, env = "IMGORIGIN_SIGN_ALL")]
    pub sign_all: bool,
    /// Origin lock `NAME:VALUE`: requests without exactly this header get 403.
    #[arg(long, env = "IMGORIGIN_REQUIRE_HEADER", hide_env_values = true)]
    pub require_header: Option<Secret>,
    /// Serve only keys under this prefix (repeatable); others are 404.
    #[arg(
        long = "allow-prefix",
        env = "IMGORIGIN_ALLOW_PREFIX",
        value_delimiter = ','
    )]
    pub allow_prefixes: Vec<String>,
    /// Serve only these extensions (`jpg,png`, case-insensitive); others are 404.
    #[arg(long = "allow-ext", env = "IMGORIGIN_ALLOW_EXT", value_delimiter = ',')]
    pub allow_exts: Vec<String>,
}

impl AccessArgs {
    /// The access rules.
    ///
    /// # Errors
    /// Unusable keys, a signed prefix without keys, or a bad origin-lock header.
    pub fn access(&self) -> Result<Access, ConfigError> {
        let require_header = match &self.require_header {
            Some(Secret(spec)) => Some(RequiredHeader::parse(spec)?),
            None => None,
        };
        let wants_signing = self.sign_all || !self.signed_prefixes.is_empty();
        let signing = match (self.keys.keys()?, wants_signing) {
            (None, true) => return Err(ConfigError::NoKeys),
            (None, false) => None,
            (Some(keys), _) => {
                // An empty prefix, or --sign-all, covers every key: fail closed.
                let all = self.sign_all || self.signed_prefixes.iter().any(String::is_empty);
                let prefixes = match all {
                    true => Vec::new(),
                    false => self.signed_prefixes.clone(),
                };
                Some(Signing { keys, prefixes })
            }
        };
        let allow_exts = self.allow_exts.iter();
        Ok(Access {
            require_header,
            allow_prefixes: self.allow_prefixes.clone(),
            allow_exts: allow_exts
                .map(|e| e.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect(),
            signing,
        })
    }
}

impl SignArgs {
    /// The expiry in Unix seconds, from `--expires-at` or now + `--expires-in`.
    ///
    /// # Errors
    /// When `--expires-in` is not a duration.
    pub fn expiry(&self, now: std::time::SystemTime) -> Result<u64, ConfigError> {
        if let Some(at) = self.expires_at {
            return Ok(at);
        }
        let bad = || ConfigError::Duration(self.expires_in.clone());
        let text = self.expires_in.trim();
        let (digits, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
            Some(i) => text.split_at(i),
            None => (text, "s"),
        };
        let scale = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86400,
            _ => return Err(bad()),
        };
        let n: u64 = digits.parse().map_err(|_| bad())?;
        let now = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        n.checked_mul(scale)
            .and_then(|d| now.checked_add(d))
            .ok_or_else(bad)
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn serve(extra: &[&str]) -> crate::access::Access {
        let mut args = vec!["imgorigin", "serve", "--root", "."];
        args.extend_from_slice(extra);
        let cli = Cli::try_parse_from(args).expect("parse");
        let debug = format!("{cli:?}");
        assert!(
            !debug.contains("0a0b0c") && !debug.contains("hunter2"),
            "{debug}"
        );
        match cli.command {
            Some(Command::Serve(s)) => s.pipeline.access.access().expect("access"),
            _ => unreachable!("serve was given"),
        }
    }

    // Which keys need a signature: an empty prefix, --sign-all, or keys alone mean all of them
    // (Signing::prefixes empty); prefixes are kept as given otherwise.
    #[test]
    fn signed_prefix_settings() {
        let prefixes = |extra: &[&str]| serve(extra).signing.map(|s| s.prefixes);
        let all = Some(Vec::<String>::new());
        assert_eq!(prefixes(&["--signing-keys", K1]), all);
        assert_eq!(prefixes(&["--signing-keys", K1, "--sign-all"]), all);
        assert_eq!(
            prefixes(&["--signing-keys", K1, "--signed-prefix", ""]),
            all
        );
        let p = prefixes(&[
            "--signing-keys",
            K1,
            "--signed-prefix",
            "a/",
            "--signed-prefix",
            "b/",
        ]);
        assert_eq!(p, Some(vec!["a/".to_owned(), "b/".to_owned()]));
        assert_eq!(prefixes(&[]), None);
    }

    #[test]
    fn allowed_extensions_are_normalised() {
        let access = serve(&[
            "--allow-ext",
            "JPG,.png, webp",
            "--require-header",
            "x-a:hunter2",
        ]);
        assert_eq!(access.allow_exts, ["jpg", "png", "webp"]);
        assert!(access.require_header.is_some());
    }

    // Unix seconds, or RFC 3339 (§5.6) with Z or an offset; 2027-01-01T00:00:00Z = 1798761600.
    #[test]
    fn expires_at_takes_unix_seconds_or_rfc3339() {
        let expiry = |at: &str| -> Result<u64, String> {
            let cli = Cli::try_parse_from(["imgorigin", "sign", "--expires-at", at, "/a.jpg"])
                .map_err(|e| e.to_string())?;
            match cli.command {
                Some(Command::Sign(s)) => Ok(s.expiry(std::time::UNIX_EPOCH).expect("expiry")),
                _ => unreachable!("sign was given"),
            }
        };
        for at in [
            "1798761600",
            "2027-01-01T00:00:00Z",
            "2027-01-01T01:00:00+01:00",
            "2026-12-31t19:00:00-05:00",
        ] {
            assert_eq!(expiry(at), Ok(1_798_761_600), "{at}");
        }
        for bad in [
            "tomorrow",
            "2027-01-01",
            "2027-01-01T00:00:00",
            "1969-12-31T23:59:59Z",
            "-1",
        ] {
            assert!(expiry(bad).is_err(), "{bad}");
        }
    }
}
