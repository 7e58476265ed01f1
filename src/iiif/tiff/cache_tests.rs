use super::*;
use crate::iiif::tiff::layout::Layout;

fn layout() -> Arc<Layout> {
    Arc::new(Layout { levels: Vec::new() })
}

/// What one entry of key `k` (one byte) and ETag `"e"` (3 bytes) weighs.
fn weight() -> u64 {
    layout().memory_bytes() + 2 + 3 + ENTRY_OVERHEAD
}

#[test]
fn hits_only_the_same_etag() {
    let c = LayoutCache::new(1 << 20);
    let l = layout();
    c.insert("k", "\"e\"", Arc::clone(&l));
    assert!(Arc::ptr_eq(&c.get("k", "\"e\"").unwrap(), &l));
    assert!(c.get("k", "\"f\"").is_none());
    assert!(c.get("j", "\"e\"").is_none());
}

#[test]
fn a_new_version_replaces_the_old() {
    let c = LayoutCache::new(1 << 20);
    c.insert("k", "\"e\"", layout());
    c.insert("k", "\"f\"", layout());
    assert_eq!(c.len(), 1);
    assert!(c.get("k", "\"e\"").is_none());
    assert!(c.get("k", "\"f\"").is_some());
    assert_eq!(c.bytes(), weight());
}

#[test]
fn evicts_the_least_recently_used_by_weight() {
    let c = LayoutCache::new(3 * weight());
    for k in ["a", "b", "c"] {
        c.insert(k, "\"e\"", layout());
    }
    assert_eq!(c.len(), 3);
    // a used after b: b is now the oldest.
    assert!(c.get("a", "\"e\"").is_some());
    c.insert("d", "\"e\"", layout());
    assert_eq!(c.len(), 3);
    assert!(c.get("b", "\"e\"").is_none());
    for k in ["a", "c", "d"] {
        assert!(c.get(k, "\"e\"").is_some(), "{k}");
    }
    assert_eq!(c.bytes(), 3 * weight());
}

#[test]
fn a_heavy_entry_evicts_several_and_one_over_the_budget_is_not_kept() {
    let c = LayoutCache::new(3 * weight());
    for k in ["a", "b", "c"] {
        c.insert(k, "\"e\"", layout());
    }
    // About twice an entry's weight (a key counts twice): evicts the two oldest.
    let long = "x".repeat((weight() / 2) as usize);
    c.insert(&long, "\"e\"", layout());
    assert!(c.get(&long, "\"e\"").is_some());
    assert!(c.get("a", "\"e\"").is_none() && c.get("b", "\"e\"").is_none());
    assert!(c.bytes() <= 3 * weight());
    let huge = "x".repeat((3 * weight()) as usize);
    c.insert(&huge, "\"e\"", layout());
    assert!(c.get(&huge, "\"e\"").is_none());
    assert!(c.bytes() <= 3 * weight());
}

#[test]
fn shared_between_threads() {
    let c = Arc::new(LayoutCache::new(10 * weight()));
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let c = Arc::clone(&c);
            std::thread::spawn(move || {
                for i in 0..200 {
                    let k = format!("{}", (t * 7 + i) % 23);
                    c.insert(&k, "\"e\"", layout());
                    let _ = c.get(&k, "\"e\"");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert!(c.len() <= 10 && c.bytes() <= 10 * weight());
}
