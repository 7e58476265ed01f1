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
use futures_util::future::BoxFuture;
use futures_util::{FutureExt, StreamExt};
use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;

/// Read size per chunk: large enough that per-chunk overhead (a blocking-pool hop, a frame)
/// is small, small enough that 8 slow clients hold little memory.
const CHUNK: usize = 128 * 1024;

/// Serves regular files under one directory.
#[derive(Debug, Clone)]
pub struct LocalStore {
    root: PathBuf,
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
        Ok(LocalStore { root })
    }

    async fn resolve(&self, key: &str) -> Result<(PathBuf, std::fs::Metadata), StoreError> {
        let path = tokio::fs::canonicalize(self.root.join(key))
            .await
            .map_err(io_error)?;
        if !path.starts_with(&self.root) {
            return Err(StoreError::NotFound(format!(
                "{} leaves the root",
                path.display()
            )));
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
        let mut file = tokio::fs::File::open(&path).await.map_err(io_error)?;
        // The validator is checked on the open handle, so the bytes read are the version the
        // response headers describe even if the path is replaced meanwhile.
        let md = file.metadata().await.map_err(io_error)?;
        if !md.is_file() || !meta_of(key, &md).etag.strong_eq(etag) {
            return Err(StoreError::Changed);
        }
        file.seek(SeekFrom::Start(span.first))
            .await
            .map_err(io_error)?;
        let stream = ReaderStream::with_capacity(file.take(span.len()), CHUNK)
            .map(|r| r.map_err(|e| StoreError::Interrupted(e.to_string())));
        Ok(stream.boxed())
    }
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
        // ELOOP (symlink loops) and EACCES hide the object rather than report a server fault.
        _ if e.raw_os_error() == Some(40) => StoreError::NotFound(e.to_string()),
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
