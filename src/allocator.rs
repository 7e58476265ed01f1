//! Returning freed memory to the system (glibc; elsewhere these do nothing).
//!
//! Two behaviours of glibc's malloc kept memory after a burst:
//! - It serves a block from mmap only above its mmap threshold, and raises that threshold (up
//!   to 32 MiB) to the size of each mmapped block freed. After the first transform, its
//!   multi-MB buffers therefore came from the heaps of the blocking threads' arenas, which
//!   keep them after free: a server that had run a mix of transforms stayed at 200-240 MiB
//!   RSS 10 s after the last one (idle: 11 MiB), and its peak exceeded what the transforms
//!   held at once (freed blocks in one arena are not reused by another). [`tune`] fixes the
//!   threshold at glibc's own default (128 KiB): every transform buffer is mmapped and
//!   unmapped when freed. Streamed bodies use 64 KiB blocks, below it.
//! - Small blocks freed in the middle of an arena's heap are kept: after 300 clients that
//!   never read left, RSS stayed at 19 MiB (local store; idle 9 MiB) and 22 MiB (S3; idle
//!   13 MiB, its peak 23). `malloc_trim(0)` gives the free pages of every arena back
//!   (`madvise`), so [`spawn_trimmer`] calls it at a fixed interval.

use std::time::Duration;

/// Sets the mmap threshold; call once at start-up, before the first transform.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only sets the allocator's parameters; M_MMAP_THRESHOLD takes a
        // byte count, and setting it also disables the dynamic adjustment.
        let ok = unsafe { libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD) };
        tracing::debug!(ok, threshold = MMAP_THRESHOLD, "malloc mmap threshold set");
    }
}

/// glibc's default (DEFAULT_MMAP_THRESHOLD_MIN): set explicitly only to freeze it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MMAP_THRESHOLD: libc::c_int = 128 * 1024;

/// How often free memory is given back. Each call walks the arenas' free lists under their
/// locks (a worker allocating meanwhile waits); its cost under load is in the load test's
/// throughput (docs/limits.md, "Returning memory").
pub const TRIM_INTERVAL: Duration = Duration::from_secs(2);

/// Starts a thread that gives the allocator's free pages back every `interval`, for the life
/// of the process.
///
/// # Errors
/// When the thread cannot be started.
pub fn spawn_trimmer(interval: Duration) -> std::io::Result<()> {
    std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(move || loop {
            std::thread::sleep(interval);
            trim();
        })
        .map(drop)
}

/// Gives free pages back to the system now.
pub fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free; 0 keeps no pad.
    unsafe {
        libc::malloc_trim(0);
    }
}
