//! A directory on local disk as a store.
//!
//! Safety: keys are already free of `..`, empty segments and backslashes; on top of that every
//! path is canonicalised (symlinks resolved) and must still lie under the canonical root, and
//! only regular files are served. Someone with write access to the root could still race a
//! symlink swap between the check and the open; the root is trusted to that extent.

use super::{ChunkStream, Fetched, GetRequest, Prefetched, Store, StoreError};
use crate::meta::ObjectMeta;
use crate::range::{ByteSpan, Resolved};
use crate::validators::{Conditions, EntityTag};
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

mod sys;
use sys::{Cached, MetaIo};

/// Read size per chunk: large enough that per-chunk overhead (a system call, a frame)
/// is small, small enough that hundreds of clients that do not read hold little memory (each
/// holds at most about one chunk in the server's write queue).
const CHUNK: usize = 64 * 1024;

/// Decides whether a key whose path resolves, through symlinks, to another key under the root
/// may be served: `(requested, resolved)`, both keys as the store sees them.
pub type LinkPolicy = Arc<dyn Fn(&str, &str) -> bool + Send + Sync>;

/// Serves regular files under one directory.
#[derive(Clone)]
pub struct LocalStore {
    root: PathBuf,
    /// `None` serves any link that stays under the root.
    links: Option<LinkPolicy>,
    /// Where metadata calls run, from the root's filesystem.
    meta_io: MetaIo,
    /// The root as a directory handle to open keys beneath, where the kernel allows it.
    beneath: Option<Arc<OwnedFd>>,
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.root)
            .field("links", &self.links.as_ref().map(|_| "policy"))
            .field("meta_io", &self.meta_io)
            .finish()
    }
}

impl LocalStore {
    /// Opens a store over `root`.
    ///
    /// # Errors
    /// If `root` does not exist or is not a directory.
    pub fn new(root: impl AsRef<Path>) -> io::Result<LocalStore> {
        let root = std::fs::canonicalize(root)?;
        if !root.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "root is not a directory",
            ));
        }
        let meta_io = MetaIo::for_root(&root);
        let beneath = sys::beneath(&root).map(Arc::new);
        tracing::debug!(root = %root.display(), ?meta_io, openat2 = beneath.is_some(), "local store");
        Ok(LocalStore {
            root,
            links: None,
            meta_io,
            beneath,
        })
    }

    /// The same store, serving a key reached through a symlink only when `policy` admits it
    /// (the access rules checked on the resolved key: crate::access::Access::admits_link).
    pub fn with_link_policy(mut self, policy: LinkPolicy) -> LocalStore {
        self.links = Some(policy);
        self
    }

    /// The path of `key` and its metadata, or why it is not served. A path whose components
    /// under the root are none of them symlinks is already canonical (keys hold no `..` or
    /// empty segments), so the common case costs one `lstat` per segment; a symlink on the way
    /// takes the full canonicalisation and the link policy.
    async fn resolve(&self, key: &str) -> Result<(PathBuf, std::fs::Metadata), StoreError> {
        let root = self.root.clone();
        let owned = key.to_owned();
        let walked = self
            .meta_io
            .run(move || walk(&root, &owned))
            .await
            .map_err(io_error)?;
        let (path, md) = match walked {
            Walked::Plain(path, md) => (path, md),
            Walked::Link(path) => self.resolve_link(key, path).await?,
        };
        if !md.is_file() {
            return Err(StoreError::NotFound("not a regular file".into()));
        }
        Ok((path, md))
    }

    async fn resolve_link(
        &self,
        key: &str,
        path: PathBuf,
    ) -> Result<(PathBuf, std::fs::Metadata), StoreError> {
        let (path, md) = self
            .meta_io
            .run(move || {
                let path = std::fs::canonicalize(path)?;
                let md = std::fs::metadata(&path)?;
                Ok((path, md))
            })
            .await
            .map_err(io_error)?;
        let resolved = path
            .strip_prefix(&self.root)
            .ok()
            .and_then(|rel| rel.to_str())
            .ok_or_else(|| StoreError::NotFound(format!("{} leaves the root", path.display())))?;
        if let Some(admits) = self.links.as_ref().filter(|_| resolved != key) {
            if !admits(key, resolved) {
                return Err(StoreError::NotFound(format!(
                    "{key} links to {resolved}, which the access rules do not admit for it"
                )));
            }
        }
        Ok((path, md))
    }

    async fn meta(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let (_, md) = self.resolve(key).await?;
        Ok(meta_of(key, &md))
    }

    /// The open file of `key` and its metadata (from the handle), or why it is not served.
    async fn open_file(&self, key: &str) -> Result<(std::fs::File, std::fs::Metadata), StoreError> {
        let opened = match &self.beneath {
            Some(dir) => {
                let (dir, owned) = (Arc::clone(dir), key.to_owned());
                let direct = move || match sys::open_beneath(&dir, &owned)? {
                    Some(file) => file.metadata().map(|md| Some((file, md))),
                    None => Ok(None),
                };
                self.meta_io.run(direct).await.map_err(io_error)?
            }
            None => None,
        };
        let (file, md) = match opened {
            Some(pair) => pair,
            // No openat2, or a symlink on the way.
            None => {
                let (path, _) = self.resolve(key).await?;
                let open = move || {
                    let file = std::fs::File::open(&path)?;
                    let md = file.metadata()?;
                    Ok((file, md))
                };
                self.meta_io.run(open).await.map_err(io_error)?
            }
        };
        if !md.is_file() {
            return Err(StoreError::NotFound("not a regular file".into()));
        }
        Ok((file, md))
    }

    async fn open(
        &self,
        key: &str,
        span: ByteSpan,
        etag: &EntityTag,
    ) -> Result<ChunkStream, StoreError> {
        let (file, md) = self.open_file(key).await?;
        // The validator is checked on the open handle, so the bytes read are the version the
        // response headers describe even if the path is replaced meanwhile.
        if !meta_of(key, &md).etag.strong_eq(etag) {
            return Err(StoreError::Changed);
        }
        Ok(chunks(Arc::new(file), span))
    }

    /// A plain GET opens the file at once and hands the read along with the metadata (one
    /// lookup instead of two); a conditional one, often answered 304, only looks.
    async fn get(&self, req: GetRequest<'_>) -> Result<Fetched, StoreError> {
        if *req.conditions != Conditions::default() {
            let meta = self.meta(req.key).await?;
            return Ok(Fetched::Object { meta, body: None });
        }
        let (file, md) = self.open_file(req.key).await?;
        let meta = meta_of(req.key, &md);
        let span = match req.range.map(|spec| spec.resolve(md.len())) {
            None => ByteSpan::whole(md.len()),
            Some(Resolved::Span(span)) => Some(span),
            Some(Resolved::Whole | Resolved::Unsatisfiable) => None,
        };
        let body = span.map(|span| Prefetched {
            span,
            chunks: chunks(Arc::new(file), span),
        });
        Ok(Fetched::Object { meta, body })
    }
}

/// What walking a key's segments under the root found.
enum Walked {
    /// No symlink on the way: the path is canonical; the last segment's metadata.
    Plain(PathBuf, std::fs::Metadata),
    /// A symlink on the way: the path as joined, to canonicalise.
    Link(PathBuf),
}

fn walk(root: &Path, key: &str) -> io::Result<Walked> {
    let mut path = root.to_path_buf();
    let mut segments = key.split('/').peekable();
    while let Some(segment) = segments.next() {
        path.push(segment);
        let md = std::fs::symlink_metadata(&path)?;
        if md.file_type().is_symlink() {
            return Ok(Walked::Link(root.join(key)));
        }
        if segments.peek().is_none() {
            return Ok(Walked::Plain(path, md));
        }
    }
    Err(io::Error::new(io::ErrorKind::NotFound, "empty key"))
}

/// The bytes of `span` as positional reads of [`CHUNK`] bytes, each into a buffer of its own:
/// from the page cache on the worker thread, and what is not cached on the blocking pool.
/// Nothing is kept between reads: a connection whose client does not read holds the one chunk
/// it was handed and no reader buffer besides (tokio's `File` keeps its last buffer, and
/// `ReaderStream` reserves the next).
fn chunks(file: Arc<std::fs::File>, span: ByteSpan) -> ChunkStream {
    futures_util::stream::try_unfold(span.first, move |at| {
        let file = Arc::clone(&file);
        async move {
            if at > span.last {
                return Ok(None);
            }
            let want = usize::try_from((span.last - at + 1).min(CHUNK as u64)).unwrap_or(CHUNK);
            let chunk = match sys::read_cached(&file, at, want)? {
                Cached::All(chunk) => chunk,
                Cached::Part(part) => {
                    tokio::task::spawn_blocking(move || sys::read_rest(&file, at, part, want))
                        .await
                        .map_err(|e| StoreError::Interrupted(format!("read task: {e}")))??
                }
            };
            Ok(Some((chunk, at + want as u64)))
        }
    })
    .boxed()
}

fn meta_of(key: &str, md: &std::fs::Metadata) -> ObjectMeta {
    let modified = md.modified().ok();
    let nanos = modified
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    // Size and mtime in ns identify a version well enough for a directory of images, and need
    // no read of the content.
    let etag = EntityTag::strong(format!("\"{:x}-{:x}\"", md.len(), nanos));
    let mut meta = ObjectMeta::new(md.len(), etag, modified);
    meta.content_type = mime_guess::from_path(key).first_raw().map(str::to_owned);
    meta
}

fn io_error(e: io::Error) -> StoreError {
    match e.kind() {
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory | io::ErrorKind::IsADirectory => {
            StoreError::NotFound(e.to_string())
        }
        // ELOOP (symlink loops), ENAMETOOLONG (a name the client made up) and EACCES hide the
        // object rather than report a server fault.
        _ if matches!(e.raw_os_error(), Some(40 | 36)) => StoreError::NotFound(e.to_string()),
        io::ErrorKind::PermissionDenied => StoreError::NotFound(e.to_string()),
        io::ErrorKind::TimedOut => StoreError::Timeout(e.to_string()),
        _ => StoreError::Failed(e.to_string()),
    }
}

impl Store for LocalStore {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta, StoreError>> {
        self.meta(key).boxed()
    }

    fn get<'a>(&'a self, req: GetRequest<'a>) -> BoxFuture<'a, Result<Fetched, StoreError>> {
        LocalStore::get(self, req).boxed()
    }

    fn read<'a>(
        &'a self,
        key: &'a str,
        span: ByteSpan,
        etag: &'a EntityTag,
    ) -> BoxFuture<'a, Result<ChunkStream, StoreError>> {
        self.open(key, span, etag).boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::range::RangeSpec;

    /// The store's two ways to reach a file: `openat2` with metadata on the worker thread (a
    /// local disk on a recent kernel), and the walk with everything on the blocking pool (a
    /// network filesystem, or no `openat2`).
    fn stores(root: &Path) -> [LocalStore; 2] {
        let fast = LocalStore::new(root).unwrap();
        assert!(fast.beneath.is_some() && fast.meta_io == MetaIo::Inline);
        let mut slow = fast.clone();
        slow.beneath = None;
        slow.meta_io = MetaIo::Pool;
        [fast, slow]
    }

    async fn body_of(
        store: &LocalStore,
        key: &str,
        range: Option<RangeSpec>,
    ) -> Result<Vec<u8>, StoreError> {
        let conditions = Conditions::default();
        let req = GetRequest {
            key,
            range,
            conditions: &conditions,
        };
        let Fetched::Object { meta, body } = store.get(req).await? else {
            panic!("a plain GET is never answered 304");
        };
        let span = body.as_ref().map(|b| b.span);
        let mut chunks = match body {
            Some(p) => p.chunks,
            None => return Ok(Vec::new()),
        };
        let mut out = Vec::new();
        while let Some(chunk) = chunks.next().await {
            out.extend_from_slice(&chunk?);
        }
        // The same bytes through the lookup-then-read path the service takes for other spans.
        if let Some(span) = span {
            let mut again = store.read(key, span, &meta.etag).await?;
            let mut second = Vec::new();
            while let Some(chunk) = again.next().await {
                second.extend_from_slice(&chunk?);
            }
            assert_eq!(second, out);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn both_paths_serve_the_same_files_and_refuse_the_same_others() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 253) as u8).collect();
        std::fs::write(root.join("a/b/big.bin"), &data).unwrap();
        std::fs::write(dir.path().join("outside.txt"), b"secret").unwrap();
        std::os::unix::fs::symlink("b/big.bin", root.join("a/inside-link")).unwrap();
        std::os::unix::fs::symlink("../outside.txt", root.join("out-link")).unwrap();
        let fifo = std::ffi::CString::new(root.join("fifo").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        for store in stores(&root) {
            let io = store.meta_io;
            assert_eq!(
                body_of(&store, "a/b/big.bin", None).await.unwrap(),
                data,
                "{io:?}"
            );
            let tail = body_of(&store, "a/b/big.bin", Some(RangeSpec::Suffix(70_000)));
            assert_eq!(tail.await.unwrap(), &data[130_000..], "{io:?}");
            let linked = body_of(&store, "a/inside-link", None).await.unwrap();
            assert_eq!(linked, data, "{io:?}: a link that stays under the root");
            for refused in ["out-link", "fifo", "a/b", "a/missing", "a/b/big.bin/x"] {
                let got = body_of(&store, refused, None).await;
                assert!(
                    matches!(got, Err(StoreError::NotFound(_))),
                    "{io:?} {refused}: {:?}",
                    got.map(|b| b.len())
                );
            }
        }
    }
}
