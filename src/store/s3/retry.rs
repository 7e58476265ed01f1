//! When a failed S3 read is tried again, and after how long: the AWS SDK's standard retry
//! strategy (aws-smithy-runtime 1.16 `client/retries/strategy/standard.rs` and
//! `token_bucket.rs`, aws-runtime 1.10 `retries/classifiers.rs`), as pure decisions and one
//! quota shared by the whole process.
//! - What: transport failures and timeouts, answers 500, 502, 503 and 504, and the SDK's
//!   throttling and transient error codes (S3's `InternalError` too). A code decides over the
//!   status, as the SDK's classifier order does: a 503 `SlowDown` is throttling.
//! - When: full jitter, `U[0,1) x min(initial x 2^(n-1), max)` after the n-th failed attempt;
//!   the attempts, initial and largest backoff are the AWS configuration's (`AWS_MAX_ATTEMPTS`,
//!   the profile; standard: 3 attempts, 1 s, 20 s). Instances throttled together do not retry
//!   in step.
//! - How much: a quota of 500 tokens per process; a retry takes 5 (throttling) or 10
//!   (transient); a first attempt that succeeds gives one token back, a retry that succeeds
//!   its own cost. With the quota spent no read is retried, so a throttled prefix gets its
//!   503s rather than three times the load.
//!
//! Not taken from the SDK: the adaptive mode's client-side rate limiter (refused at start-up)
//! and `x-amz-retry-after`, which S3 does not send.

use aws_config::retry::{RetryConfig, RetryMode};
use aws_runtime::retries::classifiers::{THROTTLING_ERRORS, TRANSIENT_ERRORS};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Why an attempt may be tried again; the quota charges them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The service asked to slow down.
    Throttling,
    /// A transport failure, a timeout, a server error.
    Transient,
}

/// What one attempt met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Met<'a> {
    /// No answer: connecting, writing or reading failed or timed out, or the answer was
    /// malformed.
    Transport,
    /// An error answer with its `<Code>`, if it had one; `skewed` when the clock skew
    /// measured from S3's answers is over [`SKEW_THRESHOLD`](super::skew::SKEW_THRESHOLD).
    Answer {
        status: u16,
        code: Option<&'a str>,
        skewed: bool,
    },
}

/// The codes of a signature refused because of the clock (aws-runtime 1.10
/// `service_clock_skew.rs`, `CLOCK_SKEW_ERROR_CODES`): retried, signed with the corrected
/// clock, when the measured skew is large, as the SDK's `ServiceClockSkewClassifier` does.
pub(super) const CLOCK_SKEW_ERRORS: &[&str] = &[
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
    "RequestTimeTooSkewed",
    "AccessDeniedException",
];

/// The codes of credentials S3 no longer accepts: the cached ones are dropped and the request
/// is signed once more with fresh ones. (The SDK leaves this to the credentials' expiry; a
/// token revoked or expired early, or credentials without an expiry that were rotated, would
/// otherwise fail every read until the next refresh.)
pub(super) const EXPIRED_CREDENTIALS: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "TokenRefreshRequired",
    "InvalidAccessKeyId",
];

/// Whether `code` is one of the SDK's throttling codes (a 503 to our client, whatever S3's
/// status).
pub(super) fn is_throttling(code: &str) -> bool {
    THROTTLING_ERRORS.contains(&code)
}

/// Whether what an attempt met may be retried, and as what.
pub(super) fn classify(met: Met) -> Option<Kind> {
    let (status, code, skewed) = match met {
        Met::Transport => return Some(Kind::Transient),
        Met::Answer {
            status,
            code,
            skewed,
        } => (status, code, skewed),
    };
    match code {
        Some(c) if skewed && CLOCK_SKEW_ERRORS.contains(&c) => Some(Kind::Transient),
        Some(c) if is_throttling(c) => Some(Kind::Throttling),
        Some(c) if TRANSIENT_ERRORS.contains(&c) || c == "InternalError" => Some(Kind::Transient),
        _ if matches!(status, 500 | 502 | 503 | 504) => Some(Kind::Transient),
        _ => None,
    }
}

/// Attempts and backoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Policy {
    /// Attempts in all, the first included (at least 1).
    pub(super) max_attempts: u32,
    /// The backoff's scale after the first failure.
    pub(super) initial: Duration,
    /// The largest backoff.
    pub(super) max: Duration,
}

impl Policy {
    /// The SDK's standard mode.
    pub(super) const STANDARD: Policy = Policy {
        max_attempts: 3,
        initial: Duration::from_secs(1),
        max: Duration::from_secs(20),
    };

    /// The policy the AWS configuration gives (environment, profile); standard without one.
    ///
    /// # Errors
    /// Adaptive mode, whose client-side rate limiter these reads do not have.
    pub(super) fn from_config(config: Option<&RetryConfig>) -> Result<Policy, String> {
        let Some(c) = config else {
            return Ok(Policy::STANDARD);
        };
        if c.mode() == RetryMode::Adaptive {
            return Err(
                "retry mode `adaptive` (AWS_RETRY_MODE or the profile's retry_mode) \
                        is not supported by imgorigin's S3 reads: unset it or use `standard`"
                    .into(),
            );
        }
        Ok(Policy {
            max_attempts: c.max_attempts().max(1),
            initial: c.initial_backoff(),
            max: c.max_backoff(),
        })
    }

    /// How long to wait after the `failed`-th failed attempt (1-based), for `unit` drawn
    /// uniformly from [0, 1).
    pub(super) fn backoff(&self, failed: u32, unit: f64) -> Duration {
        let scale = self.initial.as_secs_f64() * 2f64.powi(failed.saturating_sub(1).min(62) as i32);
        Duration::from_secs_f64(unit.clamp(0.0, 1.0) * scale.min(self.max.as_secs_f64()))
    }
}

/// The retry quota (the SDK's token bucket), shared by every worker's store.
#[derive(Debug)]
pub(super) struct Quota {
    tokens: AtomicU32,
    capacity: u32,
}

impl Quota {
    /// The SDK's capacity.
    pub(super) const CAPACITY: u32 = 500;

    pub(super) fn new(capacity: u32) -> Quota {
        Quota {
            tokens: AtomicU32::new(capacity),
            capacity,
        }
    }

    /// Takes a retry's cost; `None` when the quota cannot pay it (no retry then).
    pub(super) fn take(&self, kind: Kind) -> Option<u32> {
        let cost = match kind {
            Kind::Throttling => 5,
            Kind::Transient => 10,
        };
        self.tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                t.checked_sub(cost)
            })
            .ok()
            .map(|_| cost)
    }

    /// An attempt succeeded: the cost of the retry that made it (`held`) comes back, or one
    /// token for a first attempt.
    pub(super) fn succeeded(&self, held: Option<u32>) {
        let back = held.unwrap_or(1);
        let _ = self
            .tokens
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |t| {
                Some(t.saturating_add(back).min(self.capacity))
            });
    }

    /// Tokens left.
    #[cfg(test)]
    pub(super) fn left(&self) -> u32 {
        self.tokens.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // What is retried, and as what (aws-runtime's classifiers; a code decides over the status).
    #[test]
    fn classification_table() {
        let answer = |status, code| Met::Answer {
            status,
            code,
            skewed: false,
        };
        let skewed = |status, code| Met::Answer {
            status,
            code: Some(code),
            skewed: true,
        };
        let cases = [
            (Met::Transport, Some(Kind::Transient)),
            (answer(503, Some("SlowDown")), Some(Kind::Throttling)),
            (answer(503, None), Some(Kind::Transient)),
            (answer(500, Some("InternalError")), Some(Kind::Transient)),
            (answer(502, None), Some(Kind::Transient)),
            (answer(504, None), Some(Kind::Transient)),
            (answer(400, Some("RequestTimeout")), Some(Kind::Transient)),
            (answer(429, Some("Throttling")), Some(Kind::Throttling)),
            (answer(429, None), None),
            (answer(501, Some("NotImplemented")), None),
            (answer(403, Some("AccessDenied")), None),
            (answer(400, Some("ExpiredToken")), None),
            // Clock skew: retried only when the measured skew is large (> 4 min).
            (answer(403, Some("RequestTimeTooSkewed")), None),
            (skewed(403, "RequestTimeTooSkewed"), Some(Kind::Transient)),
            (skewed(403, "SignatureDoesNotMatch"), Some(Kind::Transient)),
            (skewed(403, "AccessDenied"), None),
        ];
        for (met, want) in cases {
            assert_eq!(classify(met), want, "{met:?}");
        }
    }

    // U[0,1) x min(initial x 2^(n-1), max): the bounds and the doubling.
    #[test]
    fn backoff_is_full_jitter_of_a_doubling_capped_scale() {
        let p = Policy::STANDARD;
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(p.backoff(1, 0.0)), 0);
        assert_eq!(ms(p.backoff(1, 0.5)), 500);
        assert_eq!(ms(p.backoff(2, 0.5)), 1000);
        assert_eq!(ms(p.backoff(3, 0.999)), 3996);
        assert_eq!(ms(p.backoff(10, 1.0)), 20_000, "capped at max");
        assert_eq!(ms(p.backoff(u32::MAX, 0.25)), 5_000, "no overflow");
    }

    #[test]
    fn adaptive_mode_is_refused_standard_settings_kept() {
        assert_eq!(Policy::from_config(None), Ok(Policy::STANDARD));
        let adaptive = RetryConfig::adaptive();
        assert!(Policy::from_config(Some(&adaptive)).is_err());
        let custom = RetryConfig::standard()
            .with_max_attempts(5)
            .with_initial_backoff(Duration::from_millis(200));
        let p = Policy::from_config(Some(&custom)).expect("standard");
        assert_eq!((p.max_attempts, p.initial), (5, Duration::from_millis(200)));
    }

    // The token bucket: retries spend it, successes refill it, an empty one stops retries.
    #[test]
    fn quota_runs_dry_and_refills() {
        let q = Quota::new(20);
        assert_eq!(q.take(Kind::Transient), Some(10));
        assert_eq!(q.take(Kind::Throttling), Some(5));
        assert_eq!(q.take(Kind::Transient), None, "5 left, 10 asked");
        assert_eq!(q.left(), 5);
        q.succeeded(Some(10));
        assert_eq!(q.left(), 15);
        q.succeeded(None);
        assert_eq!(q.left(), 16);
        q.succeeded(Some(10));
        assert_eq!(q.left(), 20, "never over capacity");
    }
}
