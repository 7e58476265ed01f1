//! Liveness and readiness, as `serve`'s admin listener reports them: ready while not draining
//! and while the store has answered something (an object, or a refusal such as not found)
//! within [`FRESH`]. When requests do not keep that fresh, [`probe`] asks the store a cheap
//! question every [`PROBE_EVERY`].

use crate::store::Store;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How recent the store's last answer must be for the process to be ready.
pub const FRESH: Duration = Duration::from_secs(10);

/// How often the prober asks the store when nothing else has.
pub const PROBE_EVERY: Duration = Duration::from_secs(2);

/// The key the prober looks up: a HEAD that normally finds nothing, which is an answer.
pub const PROBE_KEY: &str = ".imgorigin-readiness-probe";

/// The process's health.
pub struct Health {
    epoch: Instant,
    /// Milliseconds after `epoch` of the store's last answer, plus one (0: never).
    answered: AtomicU64,
    draining: AtomicBool,
}

/// The health every part of the process reports to.
pub fn global() -> &'static Health {
    static HEALTH: OnceLock<Health> = OnceLock::new();
    HEALTH.get_or_init(|| Health {
        epoch: Instant::now(),
        answered: AtomicU64::new(0),
        draining: AtomicBool::new(false),
    })
}

/// Why the process is not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotReady {
    /// Shutting down: finishing what is in flight, taking nothing new.
    #[error("draining")]
    Draining,
    /// The store has not answered within [`FRESH`].
    #[error("store not answering")]
    Store,
}

impl Health {
    /// The store answered just now.
    pub fn store_answered(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64 + 1;
        self.answered.fetch_max(ms, Ordering::Relaxed);
    }

    /// Shutdown has begun.
    pub fn set_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    /// Time since the store's last answer (`None`: never).
    pub fn since_answer(&self) -> Option<Duration> {
        match self.answered.load(Ordering::Relaxed) {
            0 => None,
            ms => Some(
                self.epoch
                    .elapsed()
                    .saturating_sub(Duration::from_millis(ms - 1)),
            ),
        }
    }

    /// Whether to take traffic.
    ///
    /// # Errors
    /// Why not.
    pub fn ready(&self) -> Result<(), NotReady> {
        if self.draining.load(Ordering::Relaxed) {
            return Err(NotReady::Draining);
        }
        match self.since_answer() {
            Some(d) if d < FRESH => Ok(()),
            _ => Err(NotReady::Store),
        }
    }
}

/// Keeps readiness current: asks `store` for [`PROBE_KEY`] whenever nothing has answered for
/// [`PROBE_EVERY`]. Runs until dropped. The answer is noted by the store's deadline wrapper
/// ([`crate::store::Deadline`]) like any other.
pub async fn probe(store: Arc<dyn Store>) {
    let health = global();
    loop {
        let stale = health.since_answer().is_none_or(|d| d >= PROBE_EVERY);
        if stale {
            if let Err(e) = store.head(PROBE_KEY).await {
                if e.is_transient() {
                    tracing::warn!(cause = %e, "readiness probe: the store did not answer");
                }
            }
        }
        tokio::time::sleep(PROBE_EVERY).await;
    }
}
