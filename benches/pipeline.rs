//! The streaming pipeline end to end in-process: request in, body drained, from the in-memory
//! store, for 64 KiB and 64 MiB objects and several store chunk sizes. Criterion reports
//! throughput; allocations per MiB are counted by a wrapping global allocator and printed
//! once per case. `cargo bench --bench pipeline`.

use bytes::Bytes;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use http_body_util::BodyExt;
use imgorigin::store::{MemoryStore, Store};
use imgorigin::{Config, Origin};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded unchanged to the system allocator.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

async fn drain(origin: &Origin) -> u64 {
    let request = http::Request::get("/obj.bin").body(()).expect("request");
    let mut body = origin.handle(request).await.into_body();
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("body").into_data() {
            n += data.len() as u64;
        }
    }
    n
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut group = c.benchmark_group("pipeline");
    for (label, len) in [("64KiB", 64usize << 10), ("64MiB", 64usize << 20)] {
        let bytes = Bytes::from(vec![7u8; len]);
        group.throughput(Throughput::Bytes(len as u64));
        for chunk in [16usize << 10, 64 << 10, 256 << 10, 1 << 20] {
            if chunk > len && chunk != 16 << 10 {
                continue;
            }
            let store = MemoryStore::new(chunk);
            store.put("obj.bin", bytes.clone(), Some("image/jpeg"));
            let origin = Origin::new(Arc::new(store) as Arc<dyn Store>, Config::default());
            let before = ALLOCATIONS.load(Ordering::Relaxed);
            let runs = if len > 1 << 20 { 4 } else { 256 };
            for _ in 0..runs {
                assert_eq!(rt.block_on(drain(&origin)), len as u64);
            }
            let per_mib = (ALLOCATIONS.load(Ordering::Relaxed) - before) as f64
                / (runs as f64 * len as f64 / (1 << 20) as f64);
            println!(
                "pipeline/{label}/chunk {} KiB: {per_mib:.1} allocations per MiB",
                chunk >> 10
            );
            group.bench_with_input(
                BenchmarkId::new(label, format!("chunk {}KiB", chunk >> 10)),
                &origin,
                |b, origin| b.iter(|| rt.block_on(drain(origin))),
            );
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
