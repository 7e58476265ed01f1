//! A directory on local disk as a store.
//!
//! Safety: keys are already free of `..`, empty segments and backslashes; on top of that every
//! path is canonicalised (symlinks resolved) and must still lie under the canonical root, and
//! only regular files are served. Someone with write access to the root could still race a
//! symlink swap between the check and the open; the root is trusted to that extent.

use super::{ChunkStream, Fetched, GetRequest, Store, StoreError};
use crate::meta::ObjectMeta;
use crate::range::ByteSpan;
use crate::validators::EntityTag;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

/// Read size per chunk: large enough that per-chunk overhead (a blocking-pool hop, a frame)
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
}

impl std::fmt::Debug for LocalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalStore")
            .field("root", &self.root)
            .field("links", &self.links.as_ref().map(|_| "policy"))
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
        Ok(LocalStore { root, links: None })
    }

    /// The same store, serving a key reached through a symlink only when `policy` admits it
    /// (the access rules checked on the resolved key: crate::access::Access::admits_link).
    pub fn with_link_policy(mut self, policy: LinkPolicy) -> LocalStore {
        self.links = Some(policy);
        self
    }

    async fn resolve(&self, key: &str) -> Result<(PathBuf, std::fs::Metadata), StoreError> {
        let path = tokio::fs::canonicalize(self.root.join(key))
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
        let md = tokio::fs::metadata(&path).await.map_err(io_error)?;
        if !md.is_file() {
            return Err(StoreError::NotFound("not a regular file".into()));
        }
        Ok((path, md))
    }

    async fn meta(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let (_, md) = self.resolve(key).await?;
        Ok(meta_of(key, &md))
    }

    async fn open(
        &self,
        key: &str,
        span: ByteSpan,
        etag: &EntityTag,
    ) -> Result<ChunkStream, StoreError> {
        let (path, _) = self.resolve(key).await?;
        let (file, md) = tokio::task::spawn_blocking(move || {
            let file = std::fs::File::open(&path)?;
            let md = file.metadata()?;
            io::Result::Ok((file, md))
        })
        .await
        .map_err(|e| StoreError::Failed(format!("open task: {e}")))?
        .map_err(io_error)?;
        // The validator is checked on the open handle, so the bytes read are the version the
        // response headers describe even if the path is replaced meanwhile.
        if !md.is_file() || !meta_of(key, &md).etag.strong_eq(etag) {
            return Err(StoreError::Changed);
        }
        Ok(chunks(Arc::new(file), span))
    }
}

/// The bytes of `span` as positional reads of [`CHUNK`] bytes, each on the blocking pool into
/// a buffer of its own. Nothing is kept between reads: a connection whose client does not
/// read holds the one chunk it was handed and no reader buffer besides (tokio's `File` keeps
/// its last buffer, and `ReaderStream` reserves the next).
fn chunks(file: Arc<std::fs::File>, span: ByteSpan) -> ChunkStream {
    futures_util::stream::try_unfold(span.first, move |at| {
        let file = Arc::clone(&file);
        async move {
            if at > span.last {
                return Ok(None);
            }
            let want = usize::try_from((span.last - at + 1).min(CHUNK as u64)).unwrap_or(CHUNK);
            let chunk = tokio::task::spawn_blocking(move || read_at(&file, at, want))
                .await
                .map_err(|e| StoreError::Interrupted(format!("read task: {e}")))??;
            Ok(Some((chunk, at + want as u64)))
        }
    })
    .boxed()
}

/// Exactly `want` bytes at `at`, or an error: a file that shrank is a read to resume (and
/// then a changed version), never a short chunk.
fn read_at(file: &std::fs::File, at: u64, want: usize) -> Result<Bytes, StoreError> {
    use std::os::unix::fs::FileExt;
    let mut buf = vec![0u8; want];
    file.read_exact_at(&mut buf, at)
        .map_err(|e| StoreError::Interrupted(format!("reading at {at}: {e}")))?;
    Ok(Bytes::from(buf))
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
        async move {
            let meta = self.meta(req.key).await?;
            Ok(Fetched::Object { meta, body: None })
        }
        .boxed()
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
