//! A response body read as a blocking [`BufRead`], for a decoder on the blocking pool that
//! takes its source as it arrives ([`crate::transform::region`]): a task pumps the body's
//! frames into a channel of a few chunks, the decoder's thread takes them in turn.
//!
//! Memory stays at a few chunks whatever the object's size. When the decoder stops early
//! (it has its region) the channel closes and the pump drops the body, which ends the read.
//! A store failure, or the whole read outlasting its deadline, ends the stream early and is
//! kept for the caller, whose decoder only sees the source end short.

use crate::body::ObjectBody;
use crate::store::StoreError;
use bytes::{Buf, Bytes};
use http_body_util::BodyExt;
use std::io::{BufRead, Read};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Chunks waiting between the pump and the decoder ([`crate::transform::extract::STREAM_BUFFER_BYTES`]
/// counts four of the store's reads).
const QUEUED_CHUNKS: usize = 3;

/// Why the stream ended short, if it did.
#[derive(Clone, Default)]
pub(super) struct Failure(Arc<Mutex<Option<StoreError>>>);

impl Failure {
    /// The store's error, or the deadline's, once the stream has ended short.
    pub(super) fn take(&self) -> Option<StoreError> {
        self.0.lock().ok()?.take()
    }

    fn set(&self, e: StoreError) {
        if let Ok(mut slot) = self.0.lock() {
            slot.get_or_insert(e);
        }
    }
}

/// The decoder's side.
pub(super) struct BodyReader {
    rx: mpsc::Receiver<Bytes>,
    chunk: Bytes,
}

/// Starts pumping `body` (on the current runtime) and returns its reader and where a
/// failure will be found. The whole body must be read within `limit`.
pub(super) fn body_reader(mut body: ObjectBody, limit: Duration) -> (BodyReader, Failure) {
    let (tx, rx) = mpsc::channel(QUEUED_CHUNKS);
    let failure = Failure::default();
    let failed = failure.clone();
    tokio::spawn(async move {
        let pump = async {
            while let Some(frame) = body.frame().await {
                let Ok(data) = frame.map_err(|e| e.0)?.into_data() else {
                    continue;
                };
                if tx.send(data).await.is_err() {
                    break; // the decoder has what it needs
                }
            }
            Ok::<(), StoreError>(())
        };
        match tokio::time::timeout(limit, pump).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failed.set(e),
            Err(_) => failed.set(StoreError::Timeout(format!(
                "IIIF source not read within {limit:?}"
            ))),
        }
    });
    let reader = BodyReader {
        rx,
        chunk: Bytes::new(),
    };
    (reader, failure)
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for BodyReader {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.chunk.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.chunk = chunk,
                None => break, // the end, or a failure the caller reads from `Failure`
            }
        }
        Ok(&self.chunk)
    }

    fn consume(&mut self, n: usize) {
        self.chunk.advance(n.min(self.chunk.len()));
    }
}
