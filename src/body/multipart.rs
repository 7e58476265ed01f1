//! A multipart/byteranges body: each part's head, then its span's bytes, then the closing
//! delimiter. The bytes come from store reads planned by `plan::multipart::reads`: nearby
//! parts share one read over their hull, whose gap bytes are dropped here. Each read streams
//! as a single-range body does ([`Streaming`], with the same resume-or-abort rules, pinned to
//! the one ETag the headers carry), one after another, so memory is that of one streamed read
//! whatever the number of parts.

use super::{BodyError, ResumePolicy, Source, Streaming};
use crate::range::ByteSpan;
use bytes::{Buf, Bytes};
use std::collections::VecDeque;
use std::task::{Context, Poll};

pub(super) struct Multipart {
    source: Source,
    policy: ResumePolicy,
    /// Parts not yet sent in full, in the order sent: head and span.
    parts: VecDeque<(Bytes, ByteSpan)>,
    /// Store reads still to open: hull and how many parts it holds.
    reads: std::vec::IntoIter<(ByteSpan, usize)>,
    /// The head of the part being started, sent before its first byte.
    head: Option<Bytes>,
    current: Option<Box<Streaming>>,
    /// Parts of the current read not yet sent in full.
    left_in_read: usize,
    /// Bytes of the current read not yet sent or dropped, starting at object offset `at`.
    pending: Bytes,
    at: u64,
    tail: Option<Bytes>,
    /// Bytes still to send, framing included: the body's exact size hint.
    pub(super) remaining: u64,
}

impl Multipart {
    pub(super) fn new(
        source: Source,
        parts: Vec<(Bytes, ByteSpan)>,
        reads: Vec<(ByteSpan, usize)>,
        tail: Bytes,
        content_length: u64,
        policy: ResumePolicy,
    ) -> Multipart {
        Multipart {
            source,
            policy,
            parts: parts.into(),
            reads: reads.into_iter(),
            head: None,
            current: None,
            left_in_read: 0,
            pending: Bytes::new(),
            at: 0,
            tail: Some(tail),
            remaining: content_length,
        }
    }

    pub(super) fn poll_chunk(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, BodyError>>> {
        loop {
            if let Some(head) = self.head.take() {
                return Poll::Ready(Some(Ok(self.sent(head))));
            }
            if !self.pending.is_empty() {
                match self.next_piece() {
                    Some(piece) => return Poll::Ready(Some(Ok(self.sent(piece)))),
                    None => continue,
                }
            }
            if let Some(read) = self.current.as_mut() {
                match std::task::ready!(read.poll_chunk(cx)) {
                    Some(Ok(bytes)) => self.pending = bytes,
                    Some(Err(e)) => {
                        // Nothing after an aborted read: the transfer ends short.
                        self.current = None;
                        self.parts.clear();
                        self.reads = Vec::new().into_iter();
                        self.tail = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                    // Streaming yields exactly the hull's bytes, so its parts are all sent.
                    None => self.current = None,
                }
                continue;
            }
            match self.reads.next() {
                Some((hull, parts)) => {
                    self.head = self.parts.front().map(|(head, _)| head.clone());
                    self.current = Some(Box::new(Streaming::new(
                        self.source.clone(),
                        hull,
                        self.policy,
                        None,
                    )));
                    self.left_in_read = parts;
                    self.at = hull.first;
                }
                None => return Poll::Ready(self.tail.take().map(|t| Ok(self.sent(t)))),
            }
        }
    }

    /// The next bytes of the current part out of `pending`, after dropping any gap before it;
    /// queues the next part's head when this one is complete. `None` when `pending` held only
    /// gap bytes.
    fn next_piece(&mut self) -> Option<Bytes> {
        let Some(&(_, span)) = self.parts.front().filter(|_| self.left_in_read > 0) else {
            // Past the read's last part (never expected: the hull ends with it).
            self.pending.clear();
            return None;
        };
        if self.at < span.first {
            let gap = usize::try_from(span.first - self.at)
                .unwrap_or(usize::MAX)
                .min(self.pending.len());
            self.pending.advance(gap);
            self.at += gap as u64;
            if self.pending.is_empty() {
                return None;
            }
        }
        let want = usize::try_from(span.last + 1 - self.at).unwrap_or(usize::MAX);
        let piece = self.pending.split_to(want.min(self.pending.len()));
        self.at += piece.len() as u64;
        if self.at > span.last {
            self.parts.pop_front();
            self.left_in_read -= 1;
            if self.left_in_read > 0 {
                self.head = self.parts.front().map(|(head, _)| head.clone());
            }
        }
        Some(piece)
    }

    fn sent(&mut self, bytes: Bytes) -> Bytes {
        self.remaining = self.remaining.saturating_sub(bytes.len() as u64);
        bytes
    }
}
