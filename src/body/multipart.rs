//! A multipart/byteranges body: each part's head, then its span's bytes, then the closing
//! delimiter. The bytes come from store reads planned by `plan::multipart::reads`: nearby
//! parts share one read over their hull, whose gap bytes are dropped here. Each read streams
//! as a single-range body does ([`Streaming`], with the same resume-or-abort rules, pinned to
//! the one ETag the headers carry). Reads are sent one after another; the next one is opened
//! while the current one streams (one ahead, its bytes left in the socket until its turn), so
//! a request of N reads does not wait N first-byte latencies of the store in a row, and memory
//! stays that of one streamed read whatever the number of parts.

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
    /// The next read (and its part count), already being opened.
    ahead: Option<(Box<Streaming>, usize, u64)>,
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
            ahead: None,
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
            if let Some((next, _, _)) = self.ahead.as_mut() {
                next.poll_open(cx);
            }
            if let Some(read) = self.current.as_mut() {
                match std::task::ready!(read.poll_chunk(cx)) {
                    Some(Ok(bytes)) => self.pending = bytes,
                    Some(Err(e)) => {
                        // Nothing after an aborted read: the transfer ends short.
                        self.current = None;
                        self.ahead = None;
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
            match self.ahead.take().or_else(|| self.open_next()) {
                Some((mut read, parts, first)) => {
                    read.start();
                    self.head = self.parts.front().map(|(head, _)| head.clone());
                    self.current = Some(read);
                    self.left_in_read = parts;
                    self.at = first;
                    self.ahead = self.open_next();
                }
                None => return Poll::Ready(self.tail.take().map(|t| Ok(self.sent(t)))),
            }
        }
    }

    /// The next read with its part count and first offset, to be opened on the next poll.
    fn open_next(&mut self) -> Option<(Box<Streaming>, usize, u64)> {
        let (hull, parts) = self.reads.next()?;
        let read = Streaming::new(self.source.clone(), hull, self.policy, None);
        Some((Box::new(read), parts, hull.first))
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

#[cfg(test)]
mod tests {
    use super::super::{ObjectBody, ResumePolicy, Source};
    use crate::plan::multipart::Layout;
    use crate::range::ByteSpan;
    use crate::store::{MemoryStore, Store};
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use std::sync::Arc;

    fn span(first: u64, last: u64) -> ByteSpan {
        ByteSpan { first, last }
    }

    /// A 256-byte object in 4-byte chunks, and a body of `spans` with heads `<hN>`, tail `<t>`.
    async fn body(
        store: &Arc<MemoryStore>,
        spans: &[ByteSpan],
        reads: Vec<(ByteSpan, usize)>,
    ) -> (ObjectBody, Vec<u8>) {
        let object: Vec<u8> = (0..=255).collect();
        store.put("k", object.clone(), None);
        let etag = store.head("k").await.expect("meta").etag;
        let source = Source {
            store: store.clone(),
            key: Arc::from("k"),
            etag,
            request_id: 1,
        };
        let parts: Vec<(Bytes, ByteSpan)> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (Bytes::from(format!("<h{i}>")), *s))
            .collect();
        let mut want = Vec::new();
        for (head, s) in &parts {
            want.extend_from_slice(head);
            want.extend_from_slice(&object[s.first as usize..=s.last as usize]);
        }
        want.extend_from_slice(b"<t>");
        let layout = Layout {
            content_type: String::new(),
            content_length: want.len() as u64,
            parts,
            tail: Bytes::from("<t>"),
        };
        let body = ObjectBody::multipart(source, layout, reads, ResumePolicy::default());
        (body, want)
    }

    async fn next_data(body: &mut ObjectBody) -> Bytes {
        let frame = body.frame().await.expect("a frame").expect("no error");
        frame.into_data().expect("data")
    }

    // The next read is open while the current one streams, and only the next one: with the
    // first part's first bytes out, two reads are open, not one and not all three.
    #[tokio::test]
    async fn next_read_is_opened_one_ahead() {
        let store = Arc::new(MemoryStore::new(4));
        let spans = [span(0, 9), span(100, 109), span(200, 209)];
        let reads = spans.iter().map(|s| (*s, 1)).collect();
        let (mut body, want) = body(&store, &spans, reads).await;
        let mut got = next_data(&mut body).await.to_vec();
        assert_eq!(got, b"<h0>");
        got.extend_from_slice(&next_data(&mut body).await);
        assert_eq!(got.len(), 8);
        assert_eq!(store.reads(), 2, "the current read and the next one");
        while let Some(frame) = body.frame().await {
            got.extend_from_slice(&frame.expect("ok").into_data().expect("data"));
        }
        assert_eq!(got, want);
        assert_eq!(store.reads(), 3);
    }

    // Two parts in one read over their hull: the gap's bytes are dropped, chunk boundaries
    // falling anywhere (4-byte chunks against 3-byte parts and a 5-byte gap).
    #[tokio::test]
    async fn parts_sharing_a_read_drop_the_gap() {
        let store = Arc::new(MemoryStore::new(4));
        let spans = [span(1, 3), span(9, 11), span(13, 13), span(50, 50)];
        let reads = vec![(span(1, 13), 3), (span(50, 50), 1)];
        let (body, want) = body(&store, &spans, reads).await;
        let got = body.collect().await.expect("complete").to_bytes();
        assert_eq!(got, want);
        assert_eq!(store.reads(), 2);
    }

    // A read that breaks off mid-hull is resumed from where it stopped, pinned to the same
    // ETag, and the whole body stays exact (the single-range rules, per read).
    #[tokio::test]
    async fn a_broken_read_is_resumed_exactly() {
        let store = Arc::new(MemoryStore::new(4));
        let spans = [span(0, 9), span(100, 109)];
        let reads = vec![(span(0, 109), 2)];
        store.fail_next_reads(1, 50);
        let (body, want) = body(&store, &spans, reads).await;
        let got = body.collect().await.expect("complete").to_bytes();
        assert_eq!(got, want);
        assert_eq!(store.reads(), 2, "one read and one resume");
    }
}
