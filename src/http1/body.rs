//! The body of an answer, streamed off its connection: Content-Length or chunked framing, or
//! until the server closes. The connection goes back to the pool when the last byte is read;
//! a body dropped earlier closes it.

use super::conn::{Conn, MAX_HEAD};
use super::head::Answer;
use super::pool::Pool;
use super::{Body, Error};
use bytes::{Buf, Bytes};
use futures_util::StreamExt;
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderValue, Response};
use std::sync::Arc;

enum Framing {
    Length(u64),
    Chunked(Chunk),
    UntilClose,
    Done,
}

#[derive(Clone, Copy)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    /// Trailer lines after the last chunk, with how many bytes of them were seen.
    Trailers(usize),
}

struct Reader {
    conn: Option<Conn>,
    framing: Framing,
    keep_alive: bool,
    pool: Arc<Pool>,
}

/// The answer as a response whose body reads from `conn`.
pub(super) fn attach(
    answer: Answer,
    conn: Conn,
    head_request: bool,
    pool: &Arc<Pool>,
) -> Result<Response<Body>, Error> {
    let framing = framing(&answer, head_request).map_err(Error::Malformed)?;
    let keep_alive = answer.keep_alive && !matches!(framing, Framing::UntilClose);
    let body: Body = match framing {
        Framing::Done => {
            if keep_alive {
                pool.checkin(conn);
            }
            futures_util::stream::empty().boxed()
        }
        framing => {
            let reader = Reader {
                conn: Some(conn),
                framing,
                keep_alive,
                pool: Arc::clone(pool),
            };
            futures_util::stream::unfold(reader, |mut r| async move {
                match r.next().await {
                    Ok(Some(chunk)) => Some((Ok(chunk), r)),
                    Ok(None) => None,
                    Err(e) => {
                        // Nothing after an error: the connection is in an unknown state.
                        r.conn = None;
                        r.framing = Framing::Done;
                        Some((Err(e), r))
                    }
                }
            })
            .boxed()
        }
    };
    let mut response = Response::new(body);
    *response.status_mut() = answer.status;
    *response.headers_mut() = answer.headers;
    Ok(response)
}

/// RFC 9112 §6.3, for answers to requests without a body: no body after a HEAD, a 1xx, 204
/// or 304 (rule 1); chunked when it is the final transfer coding (rule 4), until close for
/// any other (rule 4, a response); then Content-Length, whose differing values are an error
/// (rule 5) and equal repeated ones one length; else until the server closes (rule 8). A
/// 2xx to CONNECT (rule 2) never reaches here: proxy.rs reads that answer itself.
fn framing(answer: &Answer, head_request: bool) -> Result<Framing, String> {
    let status = answer.status.as_u16();
    if head_request || status == 204 || status == 304 || answer.status.is_informational() {
        return Ok(Framing::Done);
    }
    let headers = &answer.headers;
    if headers.contains_key(TRANSFER_ENCODING) {
        let last = headers.get_all(TRANSFER_ENCODING).iter().next_back();
        let chunked = last
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("chunked"));
        return Ok(match chunked {
            true => Framing::Chunked(Chunk::Size),
            false => Framing::UntilClose,
        });
    }
    let mut lengths = headers.get_all(CONTENT_LENGTH).iter();
    let Some(first) = lengths.next() else {
        return Ok(Framing::UntilClose);
    };
    let len = parse_length(first)?;
    if lengths.any(|other| parse_length(other) != Ok(len)) {
        return Err("conflicting Content-Length".into());
    }
    Ok(match len {
        0 => Framing::Done,
        n => Framing::Length(n),
    })
}

fn parse_length(value: &HeaderValue) -> Result<u64, String> {
    let text = value.to_str().unwrap_or_default();
    match text.bytes().all(|b| b.is_ascii_digit()) {
        true => text.parse().map_err(|_| format!("Content-Length {text:?}")),
        false => Err(format!("Content-Length {text:?}")),
    }
}

impl Reader {
    async fn next(&mut self) -> Result<Option<Bytes>, Error> {
        let Some(conn) = self.conn.as_mut() else {
            return Ok(None);
        };
        loop {
            match self.framing {
                Framing::Done => break,
                Framing::Length(left) => {
                    if conn.buf.is_empty() {
                        more(conn, left).await?;
                    }
                    let chunk = take(conn, left);
                    let left = left - chunk.len() as u64;
                    self.framing = Framing::Length(left);
                    if left == 0 {
                        self.framing = Framing::Done;
                        self.finish();
                    }
                    return Ok(Some(chunk));
                }
                Framing::Chunked(Chunk::Data(left)) => {
                    if conn.buf.is_empty() {
                        more(conn, left).await?;
                    }
                    let chunk = take(conn, left);
                    self.framing = Framing::Chunked(match left - chunk.len() as u64 {
                        0 => Chunk::DataEnd,
                        left => Chunk::Data(left),
                    });
                    return Ok(Some(chunk));
                }
                Framing::Chunked(step) => {
                    if let Some(next) = chunk_step(conn, step)? {
                        self.framing = next;
                    } else {
                        more(conn, 0).await?;
                    }
                }
                Framing::UntilClose => {
                    if conn.buf.is_empty() && fill(conn).await? == 0 {
                        self.framing = Framing::Done;
                        self.conn = None;
                        return Ok(None);
                    }
                    return Ok(Some(conn.buf.split().freeze()));
                }
            }
        }
        self.finish();
        Ok(None)
    }

    fn finish(&mut self) {
        if let Some(conn) = self.conn.take() {
            if self.keep_alive {
                self.pool.checkin(conn);
            }
        }
    }
}

/// Chunk sizes, chunk ends and trailers: the next state, or `None` when more bytes are needed.
fn chunk_step(conn: &mut Conn, step: Chunk) -> Result<Option<Framing>, Error> {
    let bad = |what: &str| Error::BodyCut(format!("malformed chunked body: {what}"));
    let buf = &mut conn.buf;
    match step {
        Chunk::Size => match httparse::parse_chunk_size(buf) {
            Ok(httparse::Status::Complete((used, size))) => {
                buf.advance(used);
                Ok(Some(Framing::Chunked(match size {
                    0 => Chunk::Trailers(0),
                    n => Chunk::Data(n),
                })))
            }
            Ok(httparse::Status::Partial) if buf.len() < 1024 => Ok(None),
            _ => Err(bad("chunk size")),
        },
        Chunk::DataEnd => match buf.get(..2) {
            None => Ok(None),
            Some(b"\r\n") => {
                buf.advance(2);
                Ok(Some(Framing::Chunked(Chunk::Size)))
            }
            Some(_) => Err(bad("no CRLF after a chunk")),
        },
        Chunk::Trailers(seen) => match buf.windows(2).position(|w| w == b"\r\n") {
            Some(0) => {
                buf.advance(2);
                Ok(Some(Framing::Done))
            }
            Some(line) if seen + line < MAX_HEAD => {
                buf.advance(line + 2);
                Ok(Some(Framing::Chunked(Chunk::Trailers(seen + line + 2))))
            }
            None if seen + buf.len() < MAX_HEAD => Ok(None),
            _ => Err(bad("trailers over 64 KiB")),
        },
        Chunk::Data(_) => Ok(None),
    }
}

/// Up to `left` bytes from the front of the buffer.
fn take(conn: &mut Conn, left: u64) -> Bytes {
    let n = usize::try_from(left).map_or(conn.buf.len(), |l| l.min(conn.buf.len()));
    conn.buf.split_to(n).freeze()
}

/// Reads more of a body that is not complete: the end of the stream here is a cut transfer.
async fn more(conn: &mut Conn, left: u64) -> Result<(), Error> {
    match fill(conn).await? {
        0 if left > 0 => Err(Error::BodyCut(format!(
            "the server closed the connection with {left} bytes of the body unsent"
        ))),
        0 => Err(Error::BodyCut(
            "the server closed the connection before the body's end".into(),
        )),
        _ => Ok(()),
    }
}

async fn fill(conn: &mut Conn) -> Result<usize, Error> {
    conn.fill()
        .await
        .map_err(|e| Error::BodyCut(format!("reading: {e}")))
}
