//! The credentials the reads sign with: one cache per process, refreshed as aws-sdk's lazy
//! identity cache refreshes (aws-smithy-runtime `client/identity/cache/lazy.rs`), and kept
//! while a refresh fails and they are still valid.
//!
//! The SDK's numbers: refresh when fewer than 10 s minus a jitter of up to half of that are
//! left, so that instances sharing a role do not refresh in step; credentials without an
//! expiry (environment, static profile, some `credential_process`) are re-read every 15
//! minutes. Where the SDK fails a request whose refresh failed, the cache here keeps the old
//! credentials while they have more than [`USABLE_MARGIN`] left and tries again after
//! [`RETRY_FAILED_AFTER`]: an IMDS or STS hiccup must not fail reads whose signature would
//! still be accepted.

use super::sigv4::Secret;
use super::StoreError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// The SDK's `DEFAULT_BUFFER_TIME`.
const BUFFER: Duration = Duration::from_secs(10);
/// The SDK's `DEFAULT_BUFFER_TIME_JITTER_FRACTION` is `U[0, 0.5)`.
const MAX_JITTER_FRACTION: f64 = 0.5;
/// The SDK's `DEFAULT_EXPIRATION`, for credentials without an expiry.
const NO_EXPIRY_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// A fetch taking longer fails (aws-config's credential providers time out sooner).
const LOAD_TIMEOUT: Duration = Duration::from_secs(5);
/// Old credentials are still signed with until this close to their expiry: a request signed
/// before must reach S3 before it.
const USABLE_MARGIN: Duration = Duration::from_secs(1);
/// After a failed refresh, how long the old credentials are used before the next attempt.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(1);

/// The process's credentials, shared by every worker's connection pool.
#[derive(Debug)]
pub(super) struct CredentialCache {
    provider: SharedCredentialsProvider,
    current: Mutex<Option<Current>>,
    /// Held while fetching, so that expiry brings one fetch, not one per request.
    loading: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Current {
    secret: Arc<Secret>,
    /// When the next request refreshes (the SDK's expiry minus buffer plus jitter).
    refresh_at: SystemTime,
    /// The provider's expiry; `None` when it gave none.
    expires: Option<SystemTime>,
    /// Not before then after a failed refresh.
    next_attempt: Option<Instant>,
}

impl Current {
    fn usable(&self, now: SystemTime) -> bool {
        self.expires.is_none_or(|t| now + USABLE_MARGIN < t)
    }
}

impl CredentialCache {
    pub(super) fn new(provider: SharedCredentialsProvider) -> CredentialCache {
        CredentialCache {
            provider,
            current: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// Credentials to sign with: the cached ones until their refresh time, else fetched once
    /// for all waiting requests; the old ones while a refresh fails and they are usable.
    pub(super) async fn get(&self) -> Result<Arc<Secret>, StoreError> {
        if let Some(secret) = self.cached(false) {
            return Ok(secret);
        }
        let _one_fetch = self.loading.lock().await;
        if let Some(secret) = self.cached(true) {
            return Ok(secret); // fetched meanwhile, or a recent refresh failed
        }
        let fetched = tokio::time::timeout(LOAD_TIMEOUT, self.provider.provide_credentials()).await;
        let now = SystemTime::now();
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        match fetched {
            Ok(Ok(creds)) => {
                let secret = Arc::new(Secret {
                    access_key_id: creds.access_key_id().to_owned(),
                    secret_access_key: creds.secret_access_key().to_owned(),
                    session_token: creds.session_token().map(str::to_owned),
                });
                *current = Some(Current {
                    secret: Arc::clone(&secret),
                    refresh_at: refresh_at(creds.expiry(), now, fastrand::f64()),
                    expires: creds.expiry(),
                    next_attempt: None,
                });
                Ok(secret)
            }
            Ok(Err(e)) => Err(keep_or_fail(
                &mut current,
                now,
                aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
            )),
            Err(_) => Err(keep_or_fail(
                &mut current,
                now,
                format!("no answer within {LOAD_TIMEOUT:?}"),
            )),
        }
        .or_else(|kept| match kept {
            Kept::Old(secret) => Ok(secret),
            Kept::Nothing(e) => Err(e),
        })
    }

    /// Forgets `stale` (S3 said its token expired or its key is unknown), so that the next
    /// request fetches; a newer secret already fetched by another request stays.
    pub(super) fn invalidate(&self, stale: &Arc<Secret>) {
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if current
            .as_ref()
            .is_some_and(|c| Arc::ptr_eq(&c.secret, stale))
        {
            *current = None;
        }
    }

    /// The cached secret when it needs no refresh; with `after_failure`, also when a refresh
    /// failed less than [`RETRY_FAILED_AFTER`] ago and it is still usable.
    fn cached(&self, after_failure: bool) -> Option<Arc<Secret>> {
        let now = SystemTime::now();
        let current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        let c = current.as_ref()?;
        let waiting = after_failure && c.next_attempt.is_some_and(|t| Instant::now() < t);
        (now < c.refresh_at || (waiting && c.usable(now))).then(|| Arc::clone(&c.secret))
    }
}

enum Kept {
    Old(Arc<Secret>),
    Nothing(StoreError),
}

/// After a failed fetch: the old secret while usable (and a pause before the next attempt),
/// else the failure, logged either way.
fn keep_or_fail(current: &mut Option<Current>, now: SystemTime, cause: String) -> Kept {
    match current.as_mut().filter(|c| c.usable(now)) {
        Some(c) => {
            tracing::warn!(%cause, "refreshing credentials failed; signing with the current ones while they last");
            c.next_attempt = Some(Instant::now() + RETRY_FAILED_AFTER);
            Kept::Old(Arc::clone(&c.secret))
        }
        None => {
            tracing::error!(%cause, "no credentials: fetching them failed");
            Kept::Nothing(StoreError::Unavailable(format!("credentials: {cause}")))
        }
    }
}

/// When credentials fetched at `now` are refreshed: `jitter` (in `[0, 1)`) scales the SDK's
/// jitter fraction.
fn refresh_at(expiry: Option<SystemTime>, now: SystemTime, jitter: f64) -> SystemTime {
    let expiration = expiry.unwrap_or(now + NO_EXPIRY_LIFETIME);
    let jittered = BUFFER.mul_f64(jitter.clamp(0.0, 1.0) * MAX_JITTER_FRACTION);
    (expiration + jittered)
        .checked_sub(BUFFER)
        .unwrap_or(expiration)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Duration = Duration::from_secs(1_800_000_000);

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + NOW + Duration::from_secs(secs)
    }

    /// As aws-smithy-runtime's lazy cache: `expiry + buffer x jitter x 0.5 - buffer`.
    #[test]
    fn refreshes_as_the_sdks_lazy_cache() {
        let cases = [
            // (expiry, jitter, refresh at)
            (Some(at(200)), 0.0, at(190)),
            (Some(at(200)), 0.999_999, at(195)),
            (Some(at(3600)), 0.5, at(3600) - Duration::from_millis(7500)),
            (None, 0.0, at(900 - 10)),
        ];
        for (expiry, jitter, want) in cases {
            let got = refresh_at(expiry, at(0), jitter);
            let diff = got.duration_since(want).unwrap_or_else(|e| e.duration());
            assert!(diff < Duration::from_millis(1), "{expiry:?} {jitter}");
        }
    }

    #[test]
    fn old_credentials_are_kept_only_while_usable() {
        let secret = Arc::new(Secret {
            access_key_id: "AKID".into(),
            secret_access_key: "s".into(),
            session_token: None,
        });
        let current = |expires| {
            Some(Current {
                secret: Arc::clone(&secret),
                refresh_at: at(0),
                expires,
                next_attempt: None,
            })
        };
        for (expires, kept) in [
            (Some(at(5)), true),
            (None, true),
            (Some(at(1)), false), // within USABLE_MARGIN
            (Some(at(0)), false),
        ] {
            let mut c = current(expires);
            let got = keep_or_fail(&mut c, at(0), "down".into());
            assert_eq!(matches!(got, Kept::Old(_)), kept, "{expires:?}");
            assert_eq!(c.unwrap().next_attempt.is_some(), kept, "{expires:?}");
        }
        assert!(matches!(
            keep_or_fail(&mut None, at(0), "down".into()),
            Kept::Nothing(StoreError::Unavailable(_))
        ));
    }
}
