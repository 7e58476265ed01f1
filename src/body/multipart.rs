//! A multipart/byteranges body: each part's head, then its span streamed from the store as a
//! single-range body is ([`Streaming`], with the same resume-or-abort rules, pinned to the one
//! ETag the headers carry), then the closing delimiter. Parts are sent one after another; the
//! next part's read is opened while the current one streams (one part ahead, its bytes left in
//! the socket until its turn), so a request of N spans does not wait N first-byte latencies of
//! the store in a row, and memory stays that of one streamed span whatever the number of parts.

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
    /// The part after the current one, its read already being opened.
    ahead: Option<(Bytes, Box<Streaming>)>,
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
            ahead: None,
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
            if let Some((_, next)) = self.ahead.as_mut() {
                next.poll_open(cx);
            }
            if let Some(part) = self.current.as_mut() {
                match std::task::ready!(part.poll_chunk(cx)) {
                    Some(Ok(bytes)) => return Poll::Ready(Some(Ok(self.sent(bytes)))),
                    Some(Err(e)) => {
                        // Nothing after an aborted part: the transfer ends short.
                        self.current = None;
                        self.ahead = None;
                        self.parts = Vec::new().into_iter();
                        self.tail = None;
                        return Poll::Ready(Some(Err(e)));
                    }
                    None => self.current = None,
                }
            }
            match self.ahead.take().or_else(|| self.open_next()) {
                Some((head, mut part)) => {
                    part.start();
                    self.head = Some(head);
                    self.current = Some(part);
                    self.ahead = self.open_next();
                }
                None => return Poll::Ready(self.tail.take().map(|t| Ok(self.sent(t)))),
            }
        }
    }

    /// The next part, its read to be opened on the next poll.
    fn open_next(&mut self) -> Option<(Bytes, Box<Streaming>)> {
        let (head, span) = self.parts.next()?;
        let part = Streaming::new(self.source.clone(), span, self.policy, None);
        Some((head, Box::new(part)))
    }

    fn sent(&mut self, bytes: Bytes) -> Bytes {
        self.remaining = self.remaining.saturating_sub(bytes.len() as u64);
        bytes
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ObjectBody, ResumePolicy, Source};
    use crate::range::ByteSpan;
    use crate::store::{MemoryStore, Store};
    use bytes::Bytes;
    use http_body_util::BodyExt;
    use std::sync::Arc;

    // The next part's read is open while the current part streams, and only the next one:
    // with the first part's first bytes out, two reads are open, not one and not all three.
    // The whole body is still exactly the heads, spans and tail in order.
    #[tokio::test]
    async fn next_part_is_opened_one_ahead() {
        let store = Arc::new(MemoryStore::new(4));
        let object: Vec<u8> = (0..=255).collect();
        store.put("k", object.clone(), None);
        let etag = store.head("k").await.expect("meta").etag;
        let source = Source {
            store: store.clone(),
            key: Arc::from("k"),
            etag,
            request_id: 1,
        };
        let spans = [(0, 9), (100, 109), (200, 209)].map(|(first, last)| ByteSpan { first, last });
        let parts = spans
            .iter()
            .enumerate()
            .map(|(i, s)| (Bytes::from(format!("<h{i}>")), *s))
            .collect();
        let mut body =
            ObjectBody::multipart(source, parts, Bytes::from("<t>"), ResumePolicy::default());
        let head = body
            .frame()
            .await
            .expect("frame")
            .expect("ok")
            .into_data()
            .expect("data");
        assert_eq!(head, "<h0>");
        let first = body
            .frame()
            .await
            .expect("frame")
            .expect("ok")
            .into_data()
            .expect("data");
        assert_eq!(first, object[0..4]);
        assert_eq!(store.reads(), 2, "the current part and the next one");
        let mut rest = Vec::new();
        while let Some(frame) = body.frame().await {
            rest.extend_from_slice(&frame.expect("ok").into_data().expect("data"));
        }
        let mut want = object[4..10].to_vec();
        for (i, s) in spans.iter().enumerate().skip(1) {
            want.extend_from_slice(format!("<h{i}>").as_bytes());
            want.extend_from_slice(&object[s.first as usize..=s.last as usize]);
        }
        want.extend_from_slice(b"<t>");
        assert_eq!(rest, want);
        assert_eq!(store.reads(), 3);
    }

    // A part whose read breaks off mid-span is resumed from where it stopped, pinned to the
    // same ETag, and the whole body stays exact (the single-range rules, per part).
    #[tokio::test]
    async fn a_broken_part_is_resumed_exactly() {
        let store = Arc::new(MemoryStore::new(4));
        let object: Vec<u8> = (0..=255).collect();
        store.put("k", object.clone(), None);
        let etag = store.head("k").await.expect("meta").etag;
        let source = Source {
            store: store.clone(),
            key: Arc::from("k"),
            etag,
            request_id: 2,
        };
        let spans = [(0, 9), (100, 109)].map(|(first, last)| ByteSpan { first, last });
        let parts = spans.iter().map(|s| (Bytes::from("<h>"), *s)).collect();
        store.fail_next_reads(2, 105);
        let body = ObjectBody::multipart(source, parts, Bytes::new(), ResumePolicy::default());
        let got = body.collect().await.expect("complete").to_bytes();
        let mut want = b"<h>".to_vec();
        want.extend_from_slice(&object[0..10]);
        want.extend_from_slice(b"<h>");
        want.extend_from_slice(&object[100..110]);
        assert_eq!(got, want);
        assert_eq!(store.reads(), 3, "two parts and one resume");
    }
}
