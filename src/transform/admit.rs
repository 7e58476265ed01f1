//! The process-wide transform memory budget: a semaphore of KiB shared by every worker. A
//! transform runs only once its estimate ([`super::budget`]) fits beside the others'; it
//! waits for that up to the queue timeout, then gets 503. The transform slots still bound
//! how many run at once (CPU); this bounds what they hold (memory).

use super::host_memory::{self, HostMemory, LimitSource};
use super::TransformError;
use bytes::Bytes;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// Largest budget: permits are KiB, and one request takes at most u32::MAX of them.
const MAX_MIB: u64 = (u32::MAX as u64) >> 10;

/// The budget: its size, where that came from, and the permits (cloned into every worker).
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    kib: u64,
    source: LimitSource,
    /// The process's memory limit the default was derived from, for the start-up log.
    limit: Option<u64>,
    permits: Arc<Semaphore>,
}

/// Equal when of the same size and origin: the permits are state, not configuration.
impl PartialEq for MemoryBudget {
    fn eq(&self, other: &Self) -> bool {
        (self.kib, self.source) == (other.kib, other.source)
    }
}

impl Eq for MemoryBudget {}

impl MemoryBudget {
    /// A budget of `mib` MiB (1 to 4 TiB).
    pub fn new(mib: u64, source: LimitSource) -> MemoryBudget {
        let kib = mib.clamp(1, MAX_MIB) << 10;
        MemoryBudget {
            kib,
            source,
            limit: None,
            permits: Arc::new(Semaphore::new(usize::try_from(kib).unwrap_or(usize::MAX))),
        }
    }

    /// Half of what this process may use (Lambda size, cgroup limit or MemTotal), within
    /// 16 MiB and 1 GiB ([`host_memory::default_budget`]).
    pub fn from_host() -> MemoryBudget {
        let limit = host_memory::process_limit(&HostMemory::read());
        let (mib, source) = host_memory::default_budget(limit);
        MemoryBudget {
            limit: limit.map(|(bytes, _)| bytes),
            ..MemoryBudget::new(mib, source)
        }
    }

    /// The memory limit a default budget was derived from (bytes), if any.
    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// The size in MiB.
    pub fn mib(&self) -> u64 {
        self.kib >> 10
    }

    /// Where the size came from.
    pub fn source(&self) -> LimitSource {
        self.source
    }

    /// Bytes not held by any transform now.
    pub fn available_bytes(&self) -> u64 {
        (self.permits.available_permits() as u64) << 10
    }

    /// Waits until `estimate` bytes fit, until `deadline` (then [`TransformError::Busy`],
    /// 503). An estimate larger than the whole budget is refused at once with 422
    /// ([`TransformError::TooComplex`]), not 503: it can never run on this server, so
    /// "retry later" would be false, and it is a property of the request and the image, like
    /// the other 422 refusals; the message says to ask for a smaller size.
    ///
    /// # Errors
    /// As above.
    pub async fn admit(
        &self,
        estimate: u64,
        deadline: Instant,
    ) -> Result<Admitted, TransformError> {
        let kib = estimate.div_ceil(1024).max(1);
        let n = match u32::try_from(kib) {
            Ok(n) if kib <= self.kib => n,
            _ => return Err(self.refusal(estimate)),
        };
        let permit = tokio::time::timeout_at(deadline, self.permits.clone().acquire_many_owned(n))
            .await
            .map_err(|_| TransformError::Busy)?
            .map_err(|_| TransformError::Busy)?;
        Ok(Admitted { permit })
    }

    /// Refuses early what can never fit: `bytes` (the source alone) over the whole budget.
    ///
    /// # Errors
    /// [`TransformError::TooComplex`] when it does not fit.
    pub fn check_fits(&self, bytes: u64) -> Result<(), TransformError> {
        match bytes.div_ceil(1024) <= self.kib {
            true => Ok(()),
            false => Err(self.refusal(bytes)),
        }
    }

    fn refusal(&self, estimate: u64) -> TransformError {
        TransformError::TooComplex(format!(
            "this transform needs about {} MiB of memory and this server allows {} MiB for \
             transforms; ask for a smaller size",
            estimate.div_ceil(1 << 20),
            self.mib()
        ))
    }
}

/// A transform's share of the budget, held until it is dropped (the render done). The
/// output's part can outlive it, until the response body is dropped ([`Admitted::charge`]).
#[derive(Debug)]
pub struct Admitted {
    permit: OwnedSemaphorePermit,
}

impl Admitted {
    /// Holds at least `estimate` bytes in all: waits for what is missing until `deadline`
    /// (then [`TransformError::Busy`]); an estimate over the whole budget is
    /// [`TransformError::TooComplex`] at once. A transform is first admitted for its source's
    /// bytes, before they are read, then grown to its estimate once the header is known.
    ///
    /// # Errors
    /// As [`MemoryBudget::admit`].
    pub async fn grow_to(
        &mut self,
        budget: &MemoryBudget,
        estimate: u64,
        deadline: Instant,
    ) -> Result<(), TransformError> {
        let held = self.permit.num_permits() as u64;
        let wanted = estimate.div_ceil(1024).max(1);
        if wanted > budget.kib {
            return Err(budget.refusal(estimate));
        }
        if wanted > held {
            let more = budget.admit((wanted - held) << 10, deadline).await?;
            self.permit.merge(more.permit);
        }
        Ok(())
    }

    /// The output as response bytes that keep their share of the budget until the body is
    /// sent or dropped: a 20 MB PNG held by a slow client counts as long as it is held.
    pub fn charge(&mut self, output: Vec<u8>) -> Bytes {
        let kib = usize::try_from((output.len() as u64).div_ceil(1024)).unwrap_or(usize::MAX);
        let share = self.permit.split(kib.min(self.permit.num_permits()));
        match share {
            Some(permit) => Bytes::from_owner(Charged {
                bytes: output,
                _permit: permit,
            }),
            None => Bytes::from(output),
        }
    }
}

/// Output bytes with the budget they hold.
struct Charged {
    bytes: Vec<u8>,
    _permit: OwnedSemaphorePermit,
}

impl AsRef<[u8]> for Charged {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn soon() -> Instant {
        Instant::now() + Duration::from_millis(50)
    }

    #[tokio::test]
    async fn admits_what_fits_waits_then_busy_refuses_the_impossible() {
        let budget = MemoryBudget::new(10, LimitSource::Flag);
        let mib = 1u64 << 20;
        let a = budget.admit(6 * mib, soon()).await.expect("6 of 10 MiB");
        assert_eq!(budget.available_bytes(), 4 * mib);
        // 6 more do not fit beside the first: busy at the deadline.
        let err = budget.admit(6 * mib, soon()).await.expect_err("over");
        assert!(matches!(err, TransformError::Busy), "{err:?}");
        // Over the whole budget: refused at once, whatever is free.
        let err = budget
            .admit(11 * mib, soon())
            .await
            .expect_err("never fits");
        assert!(matches!(err, TransformError::TooComplex(_)), "{err:?}");
        assert!(budget.check_fits(11 * mib).is_err() && budget.check_fits(10 * mib).is_ok());
        drop(a);
        assert_eq!(budget.available_bytes(), 10 * mib);
        let _b = budget
            .admit(6 * mib, soon())
            .await
            .expect("fits once freed");
    }

    #[tokio::test]
    async fn a_share_grows_from_the_source_to_the_estimate() {
        let budget = MemoryBudget::new(10, LimitSource::Flag);
        let mib = 1u64 << 20;
        let mut a = budget.admit(2 * mib, soon()).await.expect("the source");
        a.grow_to(&budget, 6 * mib, soon())
            .await
            .expect("the estimate");
        assert_eq!(budget.available_bytes(), 4 * mib);
        a.grow_to(&budget, 5 * mib, soon())
            .await
            .expect("held already");
        assert_eq!(budget.available_bytes(), 4 * mib);
        let _b = budget.admit(3 * mib, soon()).await.expect("another");
        let err = a
            .grow_to(&budget, 8 * mib, soon())
            .await
            .expect_err("1 free");
        assert!(matches!(err, TransformError::Busy), "{err:?}");
        let err = a
            .grow_to(&budget, 11 * mib, soon())
            .await
            .expect_err("never");
        assert!(err.to_string().contains("11 MiB"), "{err}");
        drop(a);
        assert_eq!(budget.available_bytes(), 7 * mib);
    }

    #[tokio::test]
    async fn output_keeps_its_share_until_dropped() {
        let budget = MemoryBudget::new(10, LimitSource::Flag);
        let mut a = budget.admit(4 << 20, soon()).await.expect("fits");
        let out = a.charge(vec![7u8; 3 << 20]);
        assert_eq!(out.len(), 3 << 20);
        drop(a);
        assert_eq!(
            budget.available_bytes(),
            7 << 20,
            "the output's 3 MiB stay held"
        );
        drop(out);
        assert_eq!(budget.available_bytes(), 10 << 20);
    }
}
