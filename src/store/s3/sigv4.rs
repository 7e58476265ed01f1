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
use std::fmt::Write;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

type HmacSha256 = hmac::Hmac<Sha256>;

/// The headers a signed request must carry, with the `authorization` value last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SignedHeaders {
    pub(super) amz_date: String,
    pub(super) security_token: Option<String>,
    pub(super) authorization: String,
}

/// Access key, secret and session token, as the credentials chain gave them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Secret {
    pub(super) access_key_id: String,
    pub(super) secret_access_key: String,
    pub(super) session_token: Option<String>,
}

/// A signing key for one day, region and secret.
#[derive(Debug)]
struct DayKey {
    day: String,
    secret: String,
    key: [u8; 32],
}

/// Signs requests for one region and service, caching the day's signing key.
#[derive(Debug)]
pub(super) struct Signer {
    region: String,
    service: &'static str,
    day_key: Mutex<Option<Arc<DayKey>>>,
}

impl Signer {
    pub(super) fn new(region: &str) -> Signer {
        Signer {
            region: region.to_owned(),
            service: "s3",
            day_key: Mutex::new(None),
        }
    }

    pub(super) fn region(&self) -> &str {
        &self.region
    }

    /// Signs `method host path` at `time`. `path` is the URI path exactly as sent (S3 signs
    /// it without re-encoding or normalising), `host` the Host header as sent.
    pub(super) fn sign(
        &self,
        method: &str,
        host: &str,
        path: &str,
        secret: &Secret,
        time: SystemTime,
    ) -> SignedHeaders {
        let amz_date = amz_date(time);
        let day = &amz_date[..8];
        let signed_names = match secret.session_token {
            Some(_) => "host;x-amz-content-sha256;x-amz-date;x-amz-security-token",
            None => "host;x-amz-content-sha256;x-amz-date",
        };
        let mut canonical = String::with_capacity(256 + path.len());
        let _ = write!(
            canonical,
            "{method}\n{path}\n\nhost:{host}\nx-amz-content-sha256:UNSIGNED-PAYLOAD\nx-amz-date:{amz_date}\n"
        );
        if let Some(token) = &secret.session_token {
            let _ = writeln!(canonical, "x-amz-security-token:{}", token.trim());
        }
        let _ = write!(canonical, "\n{signed_names}\nUNSIGNED-PAYLOAD");
        let scope = format!("{day}/{}/{}/aws4_request", self.region, self.service);
        let string_to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
            hex::encode(Sha256::digest(canonical.as_bytes()))
        );
        let key = self.day_key(day, &secret.secret_access_key);
        let signature = hex::encode(hmac(&key.key, string_to_sign.as_bytes()));
        SignedHeaders {
            authorization: format!(
                "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed_names}, Signature={signature}",
                secret.access_key_id
            ),
            security_token: secret.session_token.clone(),
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
        let key = Arc::new(DayKey {
            day: day.to_owned(),
            secret: secret.to_owned(),
            key: hmac(&k, b"aws4_request"),
        });
        *slot = Some(Arc::clone(&key));
        key
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// `YYYYMMDDTHHMMSSZ` in UTC.
fn amz_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
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
