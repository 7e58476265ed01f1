//! SigV4 for the only two requests the store sends: GET or HEAD of one object, no query
//! string, unsigned payload.
//!
//! Why not `aws_sigv4::http_request::sign`: it derives the signing key (four HMACs) and builds
//! a general canonical request on every call, about half the CPU of an S3 HEAD through
//! imgorigin (callgrind). The key only changes with the day, the region or the credentials,
//! so it is derived once per day here, and the canonical request has a fixed shape. The
//! tests check every signature against aws-sigv4's.

use hmac::{KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The headers a signed request must carry, with the `authorization` value last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SignedHeaders<'s> {
    pub(super) amz_date: String,
    /// The session token as sent (trimmed, as it was signed), borrowed from the secret.
    pub(super) security_token: Option<&'s str>,
    pub(super) authorization: String,
}

/// Access key, secret and session token, as the credentials chain gave them. `Debug` shows
/// the access key id only: the store's `{:?}` must never print the secret or the token.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Secret {
    pub(super) access_key_id: String,
    pub(super) secret_access_key: String,
    pub(super) session_token: Option<String>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// A signing key for one day, region and secret, already absorbed into an HMAC state, and
/// the credential scope it signs for.
struct DayKey {
    day: String,
    secret: String,
    scope: String,
    mac: HmacSha256,
}

impl std::fmt::Debug for DayKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DayKey")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Signs requests for one region and service, caching the day's signing key.
#[derive(Debug)]
pub(super) struct Signer {
    region: String,
    service: String,
    day_key: Mutex<Option<Arc<DayKey>>>,
}

impl Signer {
    /// `service` is the signing name: `s3`, or `s3-outposts`, `s3-object-lambda` as the
    /// endpoint rules say.
    pub(super) fn new(region: &str, service: &str) -> Signer {
        Signer {
            region: region.to_owned(),
            service: service.to_owned(),
            day_key: Mutex::new(None),
        }
    }

    pub(super) fn region(&self) -> &str {
        &self.region
    }

    pub(super) fn service(&self) -> &str {
        &self.service
    }

    /// Signs `method host path` at `time`. `path` is the URI path exactly as sent (S3 signs
    /// it without re-encoding or normalising), `host` the Host header as sent.
    pub(super) fn sign<'s>(
        &self,
        method: &str,
        host: &str,
        path: &str,
        secret: &'s Secret,
        time: SystemTime,
    ) -> SignedHeaders<'s> {
        let amz_date = amz_date(time);
        let key = self.day_key(&amz_date[..8], &secret.secret_access_key);
        let token = secret.session_token.as_deref().map(str::trim);
        let request = CanonicalRequest {
            method,
            path,
            host,
            amz_date: &amz_date,
            token,
        };
        let mut canonical = Sha256::new();
        for piece in request.pieces() {
            canonical.update(piece.as_bytes());
        }
        let mut mac = key.mac.clone();
        for part in ["AWS4-HMAC-SHA256\n", &amz_date, "\n", &key.scope, "\n"] {
            mac.update(part.as_bytes());
        }
        mac.update(&hex32(&canonical.finalize().into()));
        let signature = hex32(&mac.finalize().into_bytes().into());
        let mut authorization = String::with_capacity(200 + secret.access_key_id.len());
        for part in [
            "AWS4-HMAC-SHA256 Credential=",
            &secret.access_key_id,
            "/",
            &key.scope,
            ", SignedHeaders=",
            request.signed_names(),
            ", Signature=",
        ] {
            authorization.push_str(part);
        }
        authorization.extend(signature.iter().map(|&b| char::from(b)));
        SignedHeaders {
            authorization,
            security_token: token,
            amz_date,
        }
    }

    fn day_key(&self, day: &str, secret: &str) -> Arc<DayKey> {
        // A poisoned lock only means another request panicked while swapping an Arc: the
        // value is still whole.
        let mut slot = self.day_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = slot.as_ref().filter(|k| k.day == day && k.secret == secret) {
            return Arc::clone(k);
        }
        let k = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
        let k = hmac(&k, self.region.as_bytes());
        let k = hmac(&k, self.service.as_bytes());
        let k = hmac(&k, b"aws4_request");
        let key = Arc::new(DayKey {
            day: day.to_owned(),
            secret: secret.to_owned(),
            scope: format!("{day}/{}/{}/aws4_request", self.region, self.service),
            // HMAC takes keys of any length, so this cannot fail.
            mac: HmacSha256::new_from_slice(&k).unwrap_or_else(|_| unreachable!()),
        });
        *slot = Some(Arc::clone(&key));
        key
    }
}

/// The canonical request (SigV4 task 1) of one signed GET or HEAD without query or payload.
/// One list of pieces feeds both the hash that is signed and the `Display` that shows it
/// when S3 answers `SignatureDoesNotMatch`, to compare with the `<CanonicalRequest>` S3
/// puts in that answer (aws-sigv4 logs its canonical request the same way).
#[derive(Debug, Clone, Copy)]
pub(super) struct CanonicalRequest<'a> {
    pub(super) method: &'a str,
    /// The URI path exactly as sent.
    pub(super) path: &'a str,
    /// The Host header as sent.
    pub(super) host: &'a str,
    pub(super) amz_date: &'a str,
    /// The session token, trimmed.
    pub(super) token: Option<&'a str>,
}

impl<'a> CanonicalRequest<'a> {
    fn signed_names(&self) -> &'static str {
        match self.token {
            Some(_) => "host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
            None => "host;x-amz-content-sha256;x-amz-date",
        }
    }

    /// Method, path, the empty query, the signed headers in order, their names, the
    /// payload hash; written out piece by piece, never joined (the hash takes them as they
    /// come).
    fn pieces(&self) -> [&'a str; 14] {
        let (token_name, token, token_end) = match self.token {
            Some(token) => ("x-amz-security-token:", token, "\n"),
            None => ("", "", ""),
        };
        [
            self.method,
            "\n",
            self.path,
            "\n\nhost:",
            self.host,
            "\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:",
            self.amz_date,
            "\n",
            token_name,
            token,
            token_end,
            "\n",
            self.signed_names(),
            "\nUNSIGNED-PAYLOAD",
        ]
    }
}

/// What stands for the session token in the `Display`: secrets never reach a log.
pub(super) const TOKEN_SHOWN_AS: &str = "** session token **";

impl CanonicalRequest<'_> {
    /// Hex SHA-256 of the canonical request, as the string to sign carries it (and S3's
    /// `<StringToSign>` in a `SignatureDoesNotMatch` answer).
    pub(super) fn hash(&self) -> String {
        let mut canonical = Sha256::new();
        for piece in self.pieces() {
            canonical.update(piece.as_bytes());
        }
        String::from_utf8_lossy(&hex32(&canonical.finalize().into())).into_owned()
    }
}

/// The canonical request as signed, but for the session token ([`TOKEN_SHOWN_AS`]).
impl std::fmt::Display for CanonicalRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let token = self.token.unwrap_or_default();
        for piece in self.pieces() {
            match !token.is_empty() && std::ptr::eq(piece, token) {
                true => f.write_str(TOKEN_SHOWN_AS)?,
                false => f.write_str(piece)?,
            }
        }
        Ok(())
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex of a SHA-256 value.
fn hex32(bytes: &[u8; 32]) -> [u8; 64] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0; 64];
    for (i, b) in bytes.iter().enumerate() {
        out[2 * i] = HEX[usize::from(b >> 4)];
        out[2 * i + 1] = HEX[usize::from(b & 15)];
    }
    out
}

/// `YYYYMMDDTHHMMSSZ` in UTC. Digits written by hand: `format!` cost about 2,000
/// instructions per signed request (callgrind), more than the rest of the date handling.
fn amz_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    let mut out = String::with_capacity(16);
    for (value, width) in [(y, 4), (m, 2), (d, 2)] {
        push_digits(&mut out, value, width);
    }
    out.push('T');
    for value in [rem / 3600, rem / 60 % 60, rem % 60] {
        push_digits(&mut out, value, 2);
    }
    out.push('Z');
    out
}

/// The last `width` decimal digits of `value`, zero-padded.
fn push_digits(out: &mut String, value: u64, width: u32) {
    for place in (0..width).rev() {
        let digit = value / 10u64.pow(place) % 10;
        out.push(char::from(b"0123456789"[digit as usize]));
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + u64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
#[path = "sigv4_tests.rs"]
mod tests;
