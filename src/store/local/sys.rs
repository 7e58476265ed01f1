//! Where the local store's system calls run: on the worker thread, or on the blocking pool.
//!
//! A hop through tokio's blocking pool costs two thread wake-ups, several times the cost of a
//! `stat` or a 64 KiB read from the page cache; with one hop per call the `--root` load test
//! ran at 0.2-0.3x of nginx serving the same files, with more CPU. nginx makes these calls on
//! its event loop, and so do we where they cannot wait on a device for long:
//! - metadata (`lstat`, `open`, `fstat`) on a local filesystem runs inline; on a network
//!   filesystem (NFS, EFS, SMB, FUSE, Ceph...), where a `stat` is a round trip, on the pool;
//! - reads first try `preadv2(RWF_NOWAIT)`, which copies what the page cache holds and refuses
//!   instead of waiting for the disk; only what it refuses goes to the pool.

use crate::store::StoreError;
use bytes::{Bytes, BytesMut};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// Where metadata calls run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaIo {
    /// On the calling (worker) thread.
    Inline,
    /// On the blocking pool.
    Pool,
}

impl MetaIo {
    /// Inline unless `root` lies on a network filesystem (or its type cannot be read).
    pub fn for_root(root: &Path) -> MetaIo {
        match filesystem_type(root) {
            Some(magic) if !NETWORK_FILESYSTEMS.contains(&magic) => MetaIo::Inline,
            _ => MetaIo::Pool,
        }
    }

    /// Runs `f` where this mode says.
    pub async fn run<T: Send + 'static>(
        self,
        f: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        match self {
            MetaIo::Inline => f(),
            MetaIo::Pool => tokio::task::spawn_blocking(f)
                .await
                .map_err(|e| io::Error::other(format!("blocking task: {e}")))?,
        }
    }
}

/// `statfs` magic numbers of filesystems whose metadata calls go over a network (linux/magic.h
/// and the filesystems' sources): NFS (and so EFS), SMB, CIFS, SMB2, FUSE, Ceph, 9P, AFS, Coda,
/// GFS2, OCFS2, Lustre.
const NETWORK_FILESYSTEMS: [i64; 12] = [
    0x6969,
    0x517B,
    0xFF53_4D42,
    0xFE53_4D42,
    0x6573_5546,
    0x00C3_6400,
    0x0102_1997,
    0x5346_414F,
    0x7375_7245,
    0x0116_1970,
    0x7461_636F,
    0x0BD0_0BD0,
];

fn filesystem_type(path: &Path) -> Option<i64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: a NUL-terminated path and a zeroed struct the call fills in.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; the pointers outlive the call.
    let rc = unsafe { libc::statfs(c_path.as_ptr(), &mut st) };
    #[allow(clippy::unnecessary_cast)] // f_type's width differs between libcs
    (rc == 0).then_some(st.f_type as i64)
}

/// The root directory as a handle that `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)` opens
/// keys under: one system call resolves and opens a key with no symlink on its way, where a
/// walk costs an `lstat` per segment. `None` where the kernel (before 5.6) or a seccomp policy
/// refuses `openat2`.
pub fn beneath(root: &Path) -> Option<OwnedFd> {
    let dir = File::open(root).ok()?;
    let probe = open_beneath_raw(&dir, c".", libc::O_PATH).ok()?;
    drop(probe);
    Some(dir.into())
}

/// Opens `key` for reading under `dir` (from [`beneath`]); `None` when a symlink is on the
/// way (ELOOP), for the caller's slower path that resolves links and applies their policy.
/// `O_NONBLOCK` so that a FIFO left under the root cannot hang the thread (regular files
/// ignore it); a device node under the root is opened before the caller refuses it.
pub fn open_beneath(dir: &OwnedFd, key: &str) -> io::Result<Option<File>> {
    let key = std::ffi::CString::new(key).map_err(|_| io::ErrorKind::NotFound)?;
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
    match open_beneath_raw(dir, &key, flags) {
        Ok(file) => Ok(Some(file)),
        Err(e) if matches!(e.raw_os_error(), Some(libc::ELOOP | libc::EXDEV)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn open_beneath_raw(
    dir: &impl AsRawFd,
    path: &std::ffi::CStr,
    flags: libc::c_int,
) -> io::Result<File> {
    use std::os::fd::FromRawFd;
    // SAFETY: open_how is plain integers; zero is "no flags".
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = u64::try_from(flags | libc::O_CLOEXEC).unwrap_or_default();
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS;
    loop {
        // SAFETY: a directory fd, a NUL-terminated path and an open_how of the size passed,
        // all alive for the call.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        match libc::c_int::try_from(fd) {
            // SAFETY: a new fd that nothing else owns.
            Ok(fd) if fd >= 0 => return Ok(unsafe { File::from_raw_fd(fd) }),
            _ => {
                let e = io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINTR) {
                    return Err(e);
                }
            }
        }
    }
}

/// What a read from the page cache alone got.
pub enum Cached {
    /// All `want` bytes.
    All(Bytes),
    /// The first bytes (maybe none); the rest is not cached, or the file cannot say.
    Part(BytesMut),
}

/// Reads `want` bytes at `at` from the page cache only, never waiting for the device.
pub fn read_cached(file: &File, at: u64, want: usize) -> Result<Cached, StoreError> {
    // Not zeroed first: the kernel writes what it reads, and only that becomes the length.
    let mut buf = BytesMut::with_capacity(want);
    while buf.len() < want {
        let got = buf.len();
        let offset = i64::try_from(at + got as u64)
            .map_err(|_| StoreError::Interrupted(format!("offset {at} out of range")))?;
        let spare = buf.spare_capacity_mut();
        let iov = libc::iovec {
            iov_base: spare.as_mut_ptr().cast(),
            iov_len: want - got,
        };
        // SAFETY: one iovec over the spare capacity of `buf` (at least `want - got` bytes),
        // which outlives the call; the fd is open for the life of `file`.
        let n = unsafe { libc::preadv2(file.as_raw_fd(), &iov, 1, offset, libc::RWF_NOWAIT) };
        match usize::try_from(n) {
            Ok(0) => return Err(shrank(at + got as u64)),
            // SAFETY: the kernel initialised the `n` bytes after the current length.
            Ok(n) => unsafe { buf.set_len(got + n.min(want - got)) },
            Err(_) => {
                let e = io::Error::last_os_error();
                match e.raw_os_error() {
                    Some(libc::EINTR) => continue,
                    // Not cached (EAGAIN), or no RWF_NOWAIT here (EOPNOTSUPP; old kernels
                    // reject the flag with EINVAL): the pool reads the rest.
                    Some(libc::EAGAIN | libc::EOPNOTSUPP | libc::EINVAL) => {
                        return Ok(Cached::Part(buf))
                    }
                    _ => return Err(StoreError::Interrupted(format!("reading at {at}: {e}"))),
                }
            }
        }
    }
    Ok(Cached::All(buf.freeze()))
}

/// Fills `buf` up to `want` bytes from `at + buf.len()`, waiting for the device as needed:
/// exactly `want` bytes, or an error (a file that shrank is a read to resume, and then a
/// changed version, never a short chunk).
pub fn read_rest(
    file: &File,
    at: u64,
    mut buf: BytesMut,
    want: usize,
) -> Result<Bytes, StoreError> {
    use std::os::unix::fs::FileExt;
    let have = buf.len();
    buf.resize(want, 0);
    file.read_exact_at(&mut buf[have..], at + have as u64)
        .map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => shrank(at + have as u64),
            _ => StoreError::Interrupted(format!("reading at {at}: {e}")),
        })?;
    Ok(buf.freeze())
}

fn shrank(at: u64) -> StoreError {
    StoreError::Interrupted(format!("file ends before {at}: it shrank while read"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        (dir, File::open(path).unwrap())
    }

    fn whole(file: &File, at: u64, want: usize) -> Bytes {
        match read_cached(file, at, want).unwrap() {
            Cached::All(b) => b,
            Cached::Part(part) => read_rest(file, at, part, want).unwrap(),
        }
    }

    #[test]
    fn cached_and_pool_reads_give_the_same_bytes() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let (_dir, file) = file_of(&data);
        for (at, want) in [(0, 1), (0, 65_536), (12_345, 70_000), (299_999, 1)] {
            let got = whole(&file, at, want);
            assert_eq!(&got[..], &data[at as usize..at as usize + want], "at {at}");
            let rest = read_rest(&file, at, BytesMut::new(), want).unwrap();
            assert_eq!(rest, got);
        }
    }

    #[test]
    fn reading_past_the_end_is_an_interruption_not_a_short_chunk() {
        let (_dir, file) = file_of(b"0123456789");
        for read in [
            read_cached(&file, 5, 10).map(|_| ()),
            read_rest(&file, 5, BytesMut::new(), 10).map(|_| ()),
        ] {
            assert!(matches!(read, Err(StoreError::Interrupted(_))));
        }
    }

    #[test]
    fn open_beneath_opens_plain_paths_and_declines_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/f"), b"bytes").unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink("f", dir.path().join("a/flink")).unwrap();
        let root = beneath(dir.path()).expect("openat2 on this kernel (5.6 or later)");
        let file = open_beneath(&root, "a/f")
            .unwrap()
            .expect("a plain path opens");
        assert_eq!(std::io::read_to_string(file).unwrap(), "bytes");
        for linked in ["link/f", "a/flink"] {
            assert!(open_beneath(&root, linked).unwrap().is_none(), "{linked}");
        }
        let missing = open_beneath(&root, "a/missing").unwrap_err();
        assert_eq!(missing.kind(), io::ErrorKind::NotFound);
    }

    #[test]
    fn a_local_root_runs_metadata_inline() {
        let dir = tempfile::tempdir().unwrap();
        // tmpfs, ext4, xfs, overlay...: whatever the test machine has is local.
        assert_eq!(MetaIo::for_root(dir.path()), MetaIo::Inline);
        assert_eq!(MetaIo::for_root(Path::new("/no/such/dir")), MetaIo::Pool);
    }
}
