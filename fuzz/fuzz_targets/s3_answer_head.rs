//! The head of an S3 answer as the store's connection reads it (src/http1/head.rs):
//! parsed again as more bytes arrive, header values sliced out of the read buffer, only the
//! headers the store reads kept.
//!
//! Input: one byte choosing where the first read ends, then the bytes the server sent.
#![no_main]

use bytes::BytesMut;
use imgorigin::fuzzing::{s3_answer_head, s3_kept_headers, AnswerHead};
use libfuzzer_sys::fuzz_target;

fn parse(bytes: &[u8]) -> (AnswerHead, BytesMut) {
    let mut buf = BytesMut::from(bytes);
    let head = s3_answer_head(&mut buf);
    (head, buf)
}

fuzz_target!(|data: &[u8]| {
    let Some((&cut, input)) = data.split_first() else {
        return;
    };
    let (head, rest) = parse(input);
    match &head {
        AnswerHead::Partial | AnswerHead::Malformed => {
            assert_eq!(
                &rest[..],
                input,
                "a head that is not complete leaves the buffer as it was"
            )
        }
        AnswerHead::Complete {
            consumed,
            status,
            headers,
            keep_alive,
        } => {
            // The head came off the front; the rest (the body's first bytes) is left whole.
            assert_eq!(&rest[..], &input[*consumed..]);
            assert!((100..=999).contains(status), "{status}");
            // The same head read by httparse directly: the status, and each kept header's
            // value equal to the one the store sliced out of its buffer by offset.
            // As many slots as lines: the store reads heads with more than 128 fields
            // (richly tagged objects) rather than refusing them.
            let lines = input[..*consumed].iter().filter(|&&b| b == b'\n').count();
            let mut slots = vec![httparse::EMPTY_HEADER; lines.max(1)];
            let mut reference = httparse::Response::new(&mut slots);
            let len = match reference.parse(&input[..*consumed]) {
                Ok(httparse::Status::Complete(len)) => len,
                other => panic!("httparse on the consumed head: {other:?}"),
            };
            assert_eq!(len, *consumed);
            assert_eq!(reference.code, Some(*status));
            if *keep_alive {
                assert_eq!(reference.version, Some(1), "keep-alive only on HTTP/1.1");
            }
            let expected: Vec<(String, &[u8])> = reference
                .headers
                .iter()
                .map(|h| (h.name.to_ascii_lowercase(), h.value))
                .filter(|(name, _)| s3_kept_headers().any(|k| k == name.as_str()))
                .collect();
            let kept: Vec<(String, &[u8])> = headers
                .iter()
                .map(|(name, value)| (name.as_str().to_owned(), value.as_bytes()))
                .collect();
            let mut expected_sorted = expected.clone();
            expected_sorted.sort();
            let mut kept_sorted = kept.clone();
            kept_sorted.sort();
            assert_eq!(
                kept_sorted, expected_sorted,
                "kept headers differ from httparse's"
            );
        }
    }

    // The store parses again after every read: an earlier, shorter read either waits for more
    // or, when the head was already complete in it, gives the same head.
    let cut = usize::from(cut) * input.len() / 256;
    let (early, early_rest) = parse(&input[..cut]);
    match (&early, &head) {
        (AnswerHead::Partial, _) => assert_eq!(&early_rest[..], &input[..cut]),
        (
            AnswerHead::Complete {
                consumed: a,
                status: sa,
                keep_alive: ka,
                ..
            },
            AnswerHead::Complete {
                consumed: b,
                status: sb,
                keep_alive: kb,
                ..
            },
        ) => assert_eq!((a, sa, ka), (b, sb, kb), "head read early differs"),
        (AnswerHead::Malformed, AnswerHead::Malformed) => {}
        (early, head) => panic!("{cut} bytes: {early:?}; all {}: {head:?}", input.len()),
    }
});
