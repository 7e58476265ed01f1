//! One connection: a round trip to an answer head, and the probe that proves an idle
//! connection clean.

use super::head::{parse_head, Answer, KeepHeader};
use super::Error;
use bytes::BytesMut;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;

/// An answer's head larger than this is refused (S3's are a few hundred bytes, plus metadata
/// of at most 2 KB).
pub(super) const MAX_HEAD: usize = 64 * 1024;
/// Bytes asked of the socket per read.
const READ_CHUNK: usize = 64 * 1024;

/// One connection and the bytes read from it but not yet used. Between requests `buf` is
/// empty (the pool's invariant 1); during a body it holds what was read past the head.
#[derive(Debug)]
pub(super) struct Conn {
    io: Io,
    pub(super) buf: BytesMut,
    pub(super) idle_since: Instant,
    /// The answer deadline, one timer for the connection's life, pushed forward per request:
    /// tokio only touches its timer wheel when a deadline moves nearer, so moving it later
    /// is an atomic store, where a fresh `timeout` per request cost a wheel insert and
    /// removal (about 1,500 instructions, callgrind).
    deadline: Pin<Box<tokio::time::Sleep>>,
}

#[derive(Debug)]
pub(super) enum Io {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

impl Conn {
    pub(super) fn new(io: Io, answer_timeout: Duration) -> Conn {
        Conn {
            io,
            buf: BytesMut::with_capacity(8 * 1024),
            idle_since: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(answer_timeout)),
        }
    }

    /// The socket's receive buffer as the kernel reports it (tests).
    #[cfg(test)]
    pub(super) fn receive_buffer(&self) -> io::Result<usize> {
        let tcp = match &self.io {
            Io::Plain(tcp) => tcp,
            Io::Tls(tls) => tls.get_ref().0,
        };
        socket2::SockRef::from(tcp).recv_buffer_size()
    }

    /// Writes `head` and reads until an answer head (not an interim 1xx) is complete, within
    /// `timeout`.
    pub(super) async fn round_trip(
        &mut self,
        head: &[u8],
        timeout: Duration,
        keep: KeepHeader,
    ) -> Result<Answer, Error> {
        let Conn {
            io, buf, deadline, ..
        } = self;
        deadline
            .as_mut()
            .reset(tokio::time::Instant::now() + timeout);
        tokio::select! {
            biased;
            answer = exchange_on(io, buf, head, keep) => answer,
            () = deadline.as_mut() => Err(Error::AnswerTimeout(timeout)),
        }
    }

    /// Reads what the socket has into `buf`; 0 at end of stream.
    pub(super) async fn fill(&mut self) -> io::Result<usize> {
        fill(&mut self.io, &mut self.buf).await
    }

    /// Whether an idle connection has nothing to read, checked without waiting. Bytes that
    /// arrived unasked (a late or extra answer from a broken or hostile server) would be read
    /// as the next request's answer, and an end of stream means the server closed it: either
    /// way it must not be reused. hyper-util's pool makes the same check at checkout
    /// (`Poolable::is_open`, hyper#1429).
    pub(super) fn is_clean(&mut self) -> bool {
        let mut probe = [0u8; 1];
        let mut probe = ReadBuf::new(&mut probe);
        let mut cx = Context::from_waker(std::task::Waker::noop());
        matches!(
            Pin::new(&mut self.io).poll_read(&mut cx, &mut probe),
            Poll::Pending
        )
    }
}

async fn exchange_on(
    io: &mut Io,
    buf: &mut BytesMut,
    head: &[u8],
    keep: KeepHeader,
) -> Result<Answer, Error> {
    io.write_all(head).await.map_err(from_io)?;
    io.flush().await.map_err(from_io)?;
    loop {
        if let Some(answer) = parse_head(buf, keep)? {
            // Interim answers (100 Continue) precede the real one (RFC 9110 §15.2).
            if !answer.status.is_informational() {
                return Ok(answer);
            }
            continue;
        }
        if buf.len() >= MAX_HEAD {
            return Err(Error::Malformed("answer head over 64 KiB".into()));
        }
        if fill(io, buf).await.map_err(from_io)? == 0 {
            return Err(match buf.is_empty() {
                true => Error::Closed,
                false => Error::Malformed("the server closed the connection mid-head".into()),
            });
        }
    }
}

/// Reads what the socket has into `buf`; 0 at end of stream.
async fn fill(io: &mut Io, buf: &mut BytesMut) -> io::Result<usize> {
    buf.reserve(READ_CHUNK);
    io.read_buf(buf).await
}

fn from_io(e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::UnexpectedEof => Error::Closed,
        _ => Error::Io(e),
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_flush(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Io::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Io::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
