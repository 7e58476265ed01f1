//! Signing keys: `kid:HEX` entries, several active at once so that links signed with an old key
//! keep working while a new one is rolled out. Secrets never appear in `Debug` output or in
//! error messages, which name the key id at most.

use hmac::KeyInit;
use std::fmt;

pub(crate) type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Below this a key is refused: HMAC-SHA256 keys shorter than the hash output weaken it
/// (RFC 2104 §3).
pub const MIN_KEY_BYTES: usize = 32;

/// Longest key id; ids travel in every URL and in logs.
const MAX_KID_LEN: usize = 32;

/// Why a key list cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyConfigError {
    /// No keys at all.
    #[error("no signing keys given")]
    Empty,
    /// An entry that is not `kid:HEX` (entry number, from 1).
    #[error("signing key entry {0} is not KID:HEX")]
    Format(usize),
    /// A key id outside `[A-Za-z0-9_-]{1,32}` (entry number, from 1).
    #[error("signing key entry {0}: the key id must be 1-32 of A-Z a-z 0-9 _ -")]
    BadKid(usize),
    /// The secret is not hex.
    #[error("signing key {0:?}: the secret is not hex")]
    BadHex(String),
    /// The secret is shorter than [`MIN_KEY_BYTES`].
    #[error("signing key {kid:?}: {bytes} bytes, at least {MIN_KEY_BYTES} are required")]
    TooShort {
        /// The key id.
        kid: String,
        /// Its length in bytes.
        bytes: usize,
    },
    /// The same key id twice.
    #[error("signing key {0:?} is given twice")]
    DuplicateKid(String),
}

/// One HMAC key and its id. Only the keyed HMAC state is kept (ready to clone per request),
/// not the secret bytes.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    mac: HmacSha256,
}

impl SigningKey {
    /// The key id, as it appears in `kid=`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// A fresh HMAC-SHA256 under this key.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.mac.clone()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, <redacted>)", self.kid)
    }
}

/// The active keys, in the order given: the first one signs unless another is named.
#[derive(Debug, Clone)]
pub struct KeyRing {
    keys: Vec<SigningKey>,
}

/// A key id is safe in a URL, a log line and a KeyValueStore key as it is.
pub fn valid_kid(kid: &str) -> bool {
    (1..=MAX_KID_LEN).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl KeyRing {
    /// Parses `k1:HEX,k2:HEX` (the `IMGORIGIN_SIGNING_KEYS` form). Whitespace around entries is
    /// ignored.
    ///
    /// # Errors
    /// A [`KeyConfigError`] for the first bad entry; the secret is never part of it.
    pub fn parse_list(list: &str) -> Result<KeyRing, KeyConfigError> {
        Self::parse_entries(list.split(','))
    }

    /// Parses a key file: one `kid:HEX` per line; blank lines and lines starting with `#` are
    /// skipped.
    ///
    /// # Errors
    /// As [`KeyRing::parse_list`].
    pub fn parse_file(text: &str) -> Result<KeyRing, KeyConfigError> {
        Self::parse_entries(text.lines().filter(|l| !l.trim_start().starts_with('#')))
    }

    fn parse_entries<'a>(
        entries: impl Iterator<Item = &'a str>,
    ) -> Result<KeyRing, KeyConfigError> {
        let mut keys: Vec<SigningKey> = Vec::new();
        let entries = entries.map(str::trim).filter(|e| !e.is_empty());
        for (i, entry) in entries.enumerate() {
            let (kid, hex_secret) = entry.split_once(':').ok_or(KeyConfigError::Format(i + 1))?;
            if !valid_kid(kid) {
                return Err(KeyConfigError::BadKid(i + 1));
            }
            let secret =
                hex::decode(hex_secret).map_err(|_| KeyConfigError::BadHex(kid.to_owned()))?;
            if secret.len() < MIN_KEY_BYTES {
                let (kid, bytes) = (kid.to_owned(), secret.len());
                return Err(KeyConfigError::TooShort { kid, bytes });
            }
            if keys.iter().any(|k| k.kid == kid) {
                return Err(KeyConfigError::DuplicateKid(kid.to_owned()));
            }
            // HMAC takes keys of any length; the length was checked above.
            let mac =
                HmacSha256::new_from_slice(&secret).map_err(|_| KeyConfigError::Format(i + 1))?;
            keys.push(SigningKey {
                kid: kid.to_owned(),
                mac,
            });
        }
        match keys.is_empty() {
            true => Err(KeyConfigError::Empty),
            false => Ok(KeyRing { keys }),
        }
    }

    /// The key with this id.
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.keys.iter().find(|k| k.kid == kid)
    }

    /// The key links are signed with by default.
    pub fn first(&self) -> &SigningKey {
        // parse_entries never builds an empty ring.
        &self.keys[0]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn never_panics(text in any::<String>(), entries in "[a-z0-9:,\n#]{0,160}") {
            let _ = KeyRing::parse_list(&text);
            let _ = KeyRing::parse_file(&text);
            let _ = KeyRing::parse_list(&entries);
            let _ = KeyRing::parse_file(&entries);
        }
    }

    const HEX32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn key_list_table() {
        let short = "00".repeat(31);
        let cases: Vec<(String, Result<Vec<&str>, KeyConfigError>)> = vec![
            (format!("k1:{HEX32}"), Ok(vec!["k1"])),
            (format!(" k1:{HEX32} , k2:{HEX32} "), Ok(vec!["k1", "k2"])),
            (String::new(), Err(KeyConfigError::Empty)),
            (" , ".into(), Err(KeyConfigError::Empty)),
            (HEX32.into(), Err(KeyConfigError::Format(1))),
            (format!(":{HEX32}"), Err(KeyConfigError::BadKid(1))),
            (format!("k 1:{HEX32}"), Err(KeyConfigError::BadKid(1))),
            (
                format!("{}:{HEX32}", "k".repeat(33)),
                Err(KeyConfigError::BadKid(1)),
            ),
            ("k1:xyz".into(), Err(KeyConfigError::BadHex("k1".into()))),
            ("k1:abc".into(), Err(KeyConfigError::BadHex("k1".into()))),
            (
                format!("k1:{short}"),
                Err(KeyConfigError::TooShort {
                    kid: "k1".into(),
                    bytes: 31,
                }),
            ),
            (
                format!("k1:{HEX32},k1:{HEX32}"),
                Err(KeyConfigError::DuplicateKid("k1".into())),
            ),
        ];
        for (input, want) in cases {
            let got = KeyRing::parse_list(&input)
                .map(|r| r.keys.iter().map(|k| k.kid.clone()).collect::<Vec<_>>());
            let want = want.map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
            assert_eq!(got, want, "{input:?}");
        }
    }

    #[test]
    fn key_file_skips_comments_and_blank_lines() {
        let text = format!("# rotation 2026-11\n\nnew:{HEX32}\nold:{HEX32}\n");
        let ring = KeyRing::parse_file(&text).expect("valid file");
        assert_eq!(ring.first().kid(), "new");
        assert!(ring.get("old").is_some());
        assert!(ring.get("gone").is_none());
    }

    #[test]
    fn secrets_never_appear_in_debug_or_errors() {
        let ring = KeyRing::parse_list(&format!("k1:{HEX32}")).expect("valid");
        let debug = format!("{ring:?}");
        assert!(
            debug.contains("k1") && debug.contains("redacted"),
            "{debug}"
        );
        assert!(
            !debug.contains("0a0b") && !debug.contains("10, 11"),
            "{debug}"
        );
        let err = KeyRing::parse_list("k1:00ff00ff").expect_err("short");
        assert!(!err.to_string().contains("00ff"), "{err}");
    }
}
