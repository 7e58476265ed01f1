//! Clock-skew correction as the SDK does it (aws-runtime 1.10 `service_clock_skew.rs`): every
//! answer's `Date` measures how far S3's clock is from ours (against the midpoint of the
//! exchange), and requests are signed at our time plus that skew. An instance whose clock
//! drifted (a stopped and resumed VM, a container without NTP) then keeps reading instead of
//! failing every request with `RequestTimeTooSkewed`.

use http::HeaderMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime};

/// A skew above this makes the clock-skew codes retryable (the SDK's
/// `SKEW_DETECTION_THRESHOLD`); S3 itself refuses signatures more than 15 minutes off.
pub(super) const SKEW_THRESHOLD: Duration = Duration::from_secs(4 * 60);
/// An exchange slower than this says too little about the server's time (the SDK's
/// `MAX_TRUSTED_REQUEST_DURATION`).
const MAX_TRUSTED_EXCHANGE: Duration = Duration::from_secs(15 * 60);

/// S3's clock minus ours, in milliseconds, as last measured; shared by every worker.
#[derive(Debug, Default)]
pub(super) struct ClockSkew {
    millis: AtomicI64,
}

impl ClockSkew {
    /// Our time corrected by the skew: the time to sign with.
    pub(super) fn now(&self) -> SystemTime {
        apply(self.millis.load(Ordering::Relaxed), SystemTime::now())
    }

    /// Whether the last measured skew is over [`SKEW_THRESHOLD`].
    pub(super) fn is_large(&self) -> bool {
        Duration::from_millis(self.millis.load(Ordering::Relaxed).unsigned_abs()) > SKEW_THRESHOLD
    }

    /// Records the skew an answer shows, sent at `sent` and received at `received` (our
    /// clock). Answers from a cache (`Age`), without a usable `Date`, or too slow are ignored.
    pub(super) fn record(&self, headers: &HeaderMap, sent: SystemTime, received: SystemTime) {
        if let Some(skew) = measure(headers, sent, received) {
            self.millis.store(skew, Ordering::Relaxed);
        }
    }
}

fn apply(millis: i64, t: SystemTime) -> SystemTime {
    let d = Duration::from_millis(millis.unsigned_abs());
    match millis >= 0 {
        true => t.checked_add(d),
        false => t.checked_sub(d),
    }
    .unwrap_or(t)
}

/// The skew in ms an answer shows, when it can be trusted.
fn measure(headers: &HeaderMap, sent: SystemTime, received: SystemTime) -> Option<i64> {
    if headers.contains_key("age") {
        return None;
    }
    let date = headers.get("date")?.to_str().ok()?;
    let server = httpdate::parse_http_date(date).ok()?;
    let elapsed = received.duration_since(sent).unwrap_or_default();
    if elapsed > MAX_TRUSTED_EXCHANGE {
        return None;
    }
    let midpoint = sent + elapsed / 2;
    let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
    Some(match server.duration_since(midpoint) {
        Ok(ahead) => millis(ahead),
        Err(behind) => -millis(behind.duration()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.insert(*name, value.parse().expect("value"));
        }
        h
    }

    // As aws-runtime's interceptor: the server's Date against the exchange's midpoint; not
    // from cached or slow answers. `Date` has whole seconds, so the cases use whole seconds.
    #[test]
    fn measured_from_date_against_the_midpoint() {
        let t0 = httpdate::parse_http_date("Wed, 02 Dec 2026 12:00:00 GMT").expect("date");
        let s = Duration::from_secs;
        type Case<'a> = (&'a [(&'a str, &'a str)], SystemTime, Option<i64>);
        let cases: [Case; 6] = [
            (
                &[("date", "Wed, 02 Dec 2026 13:00:02 GMT")],
                t0 + s(4),
                Some(3_600_000),
            ),
            (
                &[("date", "Wed, 02 Dec 2026 11:50:00 GMT")],
                t0,
                Some(-600_000),
            ),
            (&[("date", "Wed, 02 Dec 2026 12:00:00 GMT")], t0, Some(0)),
            (
                &[("date", "Wed, 02 Dec 2026 13:00:00 GMT"), ("age", "5")],
                t0,
                None,
            ),
            (&[("date", "not a date")], t0, None),
            (
                &[("date", "Wed, 02 Dec 2026 13:00:00 GMT")],
                t0 + s(16 * 60),
                None,
            ),
        ];
        for (pairs, received, want) in cases {
            assert_eq!(measure(&headers(pairs), t0, received), want, "{pairs:?}");
        }
    }

    #[test]
    fn signing_time_moves_by_the_skew_and_large_means_over_four_minutes() {
        let skew = ClockSkew::default();
        assert!(!skew.is_large());
        let t0 = SystemTime::now();
        let date = httpdate::fmt_http_date(t0 + Duration::from_secs(3600));
        skew.record(&headers(&[("date", &date)]), t0, t0);
        assert!(skew.is_large());
        let off = skew.now().duration_since(SystemTime::now()).expect("ahead");
        assert!(off > Duration::from_secs(3590) && off <= Duration::from_secs(3600));
        let date = httpdate::fmt_http_date(t0 + Duration::from_secs(200));
        skew.record(&headers(&[("date", &date)]), t0, t0);
        assert!(!skew.is_large(), "200 s is under the threshold");
        assert_eq!(apply(-1000, t0), t0 - Duration::from_secs(1));
    }
}
