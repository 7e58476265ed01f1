//! A multipart/byteranges body: each part's head, then its span streamed from the store as a
//! single-range body is ([`Streaming`], with the same resume-or-abort rules, pinned to the one
//! ETag the headers carry), then the closing delimiter. Parts are read one after another, so
//! memory is that of one streamed span whatever the number of parts.

use super::{BodyError, ResumePolicy, Source, Streaming};
use crate::range::ByteSpan;
use bytes::Bytes;
use std::task::{Context, Poll};

pub(super) struct Multipart {
    source: Source,
    policy: ResumePolicy,
    parts: std::vec::IntoIter<(Bytes, ByteSpan)>,
    /// The head of the part being started, sent before its first byte.
    head: Option<Bytes>,
    current: Option<Box<Streaming>>,
    tail: Option<Bytes>,
    /// Bytes still to send, framing included: the body's exact size hint.
    pub(super) remaining: u64,
}

impl Multipart {
    pub(super) fn new(
        source: Source,
        parts: Vec<(Bytes, ByteSpan)>,
        tail: Bytes,
        policy: ResumePolicy,
    ) -> Multipart {
        let framing: u64 = parts.iter().map(|(h, _)| h.len() as u64).sum();
        let data: u64 = parts.iter().map(|(_, s)| s.len()).sum();
        Multipart {
            source,
            policy,
            remaining: framing + data + tail.len() as u64,
            parts: parts.into_iter(),
            head: None,
            current: None,
            tail: Some(tail),
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
            if let Some(part) = self.current.as_mut() {
                match std::task::ready!(part.poll_chunk(cx)) {
                    Some(Ok(bytes)) => return Poll::Ready(Some(Ok(self.sent(bytes)))),
                    Some(Err(e)) => {
                        // Nothing after an aborted part: the transfer ends short.
                        self.current = None;
                        self.parts = Vec::new().into_iter();
                        self.tail = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                    None => self.current = None,
                }
            }
            match self.parts.next() {
                Some((head, span)) => {
                    self.head = Some(head);
                    let part = Streaming::new(self.source.clone(), span, self.policy, None);
                    self.current = Some(Box::new(part));
                }
                None => return Poll::Ready(self.tail.take().map(|t| Ok(self.sent(t)))),
            }
        }
    }

    fn sent(&mut self, bytes: Bytes) -> Bytes {
        self.remaining = self.remaining.saturating_sub(bytes.len() as u64);
        bytes
    }
}
