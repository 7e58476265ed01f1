//! Layouts kept between requests: a tile request then reads only its tiles.

use super::layout::Layout;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

/// Bytes an entry costs beyond its layout and strings: the map slots and the entry.
const ENTRY_OVERHEAD: u64 = 128;

/// Layouts by object key and ETag, within a byte budget, least recently used evicted first.
///
/// One version is kept per key: inserting a layout under a new ETag replaces the old one, as
/// the old version is gone from the store. An entry weighs [`Layout::memory_bytes`] plus its
/// key and ETag; one heavier than the whole budget is not kept. Thread-safe; the lock is held
/// only for map operations, never across an await.
#[derive(Debug)]
pub struct LayoutCache {
    cap: u64,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    by_key: HashMap<String, Entry>,
    /// Keys by last use: the first is evicted first.
    by_use: BTreeMap<u64, String>,
    /// Ticks one a use; never repeats.
    clock: u64,
    /// Sum of the entries' weights.
    bytes: u64,
}

#[derive(Debug)]
struct Entry {
    etag: String,
    layout: Arc<Layout>,
    weight: u64,
    used: u64,
}

impl LayoutCache {
    /// An empty cache holding at most `cap` bytes of entries.
    pub fn new(cap: u64) -> Self {
        LayoutCache {
            cap,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves the maps consistent: every method updates
        // them in an order where stopping halfway only leaves an entry unevictable early.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The layout of `key` at `etag`, marked as just used.
    pub fn get(&self, key: &str, etag: &str) -> Option<Arc<Layout>> {
        let mut inner = self.lock();
        let inner = &mut *inner;
        let entry = inner.by_key.get_mut(key).filter(|e| e.etag == etag)?;
        inner.clock += 1;
        if let Some(k) = inner.by_use.remove(&entry.used) {
            inner.by_use.insert(inner.clock, k);
        }
        entry.used = inner.clock;
        Some(Arc::clone(&entry.layout))
    }

    /// Keeps `layout` as `key` at `etag`, replacing any other version of `key`, and evicts
    /// the least recently used entries until the budget holds.
    pub fn insert(&self, key: &str, etag: &str, layout: Arc<Layout>) {
        let weight =
            layout.memory_bytes() + key.len() as u64 * 2 + etag.len() as u64 + ENTRY_OVERHEAD;
        let mut inner = self.lock();
        inner.remove(key);
        if weight > self.cap {
            return;
        }
        while inner.bytes + weight > self.cap {
            let Some((_, oldest)) = inner.by_use.pop_first() else {
                break;
            };
            inner.remove(&oldest);
        }
        inner.clock += 1;
        let used = inner.clock;
        inner.by_use.insert(used, key.to_owned());
        inner.bytes += weight;
        let entry = Entry {
            etag: etag.to_owned(),
            layout,
            weight,
            used,
        };
        inner.by_key.insert(key.to_owned(), entry);
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.lock().by_key.len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the entries weigh together, at most the budget.
    pub fn bytes(&self) -> u64 {
        self.lock().bytes
    }
}

impl Inner {
    fn remove(&mut self, key: &str) {
        if let Some(e) = self.by_key.remove(key) {
            self.by_use.remove(&e.used);
            self.bytes -= e.weight;
        }
    }
}

#[cfg(test)]
#[path = "cache_tests.rs"]
mod tests;
