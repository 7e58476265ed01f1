//! Deadlines on writing to a client. A response is streamed with backpressure, so a client
//! that never reads holds its connection, a store read and the chunk in flight until
//! something gives up: this does. A write that makes no progress for [`SendLimits::timeout`]
//! fails, and so does a client that, while it holds writes back, takes fewer than
//! [`SendLimits::min_rate`] bytes per second over a period of that same length (a slow-read
//! attack). Failing the write makes hyper drop the connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How slow a client may read.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    /// The longest a write may wait for the client; also the period the rate is measured over.
    pub timeout: Duration,
    /// Bytes per second a client must take, on average over a period in which it held us back.
    pub min_rate: u64,
}

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits {
            timeout: Duration::from_secs(30),
            min_rate: 1024,
        }
    }
}

/// A client connection with [`SendLimits`] on its writes. Reads pass through (hyper's header
/// read timeout bounds them).
pub struct SendGuard<T> {
    inner: T,
    limits: SendLimits,
    /// Since when the current write has been waiting; `None` while writes go through.
    blocked_since: Option<Instant>,
    /// The rate period: its start and the bytes written since. Opened by the first write that
    /// waits; closed when no write waited for a whole period (the client caught up).
    period: Option<(Instant, u64)>,
    last_blocked: Option<Instant>,
    /// Made on the first write that waits: most connections never need one.
    timer: Option<Pin<Box<Sleep>>>,
}

impl<T> SendGuard<T> {
    /// Guards `inner`.
    pub fn new(inner: T, limits: SendLimits) -> SendGuard<T> {
        SendGuard {
            inner,
            limits,
            blocked_since: None,
            period: None,
            last_blocked: None,
            timer: None,
        }
    }

    /// Books the outcome of one write and turns a wait past the limits into an error.
    fn guard(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match polled {
            Poll::Ready(Ok(n)) => {
                self.blocked_since = None;
                if let Some((_, bytes)) = &mut self.period {
                    *bytes += n as u64;
                }
                Poll::Ready(Ok(n))
            }
            Poll::Pending => match self.blocked(Instant::now()) {
                Ok(deadline) => {
                    let timer = self
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    timer.as_mut().reset(deadline);
                    if timer.as_mut().poll(cx).is_ready() {
                        cx.waker().wake_by_ref(); // the deadline passed meanwhile: check again
                    }
                    Poll::Pending
                }
                Err(e) => Poll::Ready(Err(e)),
            },
            ready_err => ready_err,
        }
    }

    /// A write waits at `now`: the error that ends the connection, or when to check again.
    fn blocked(&mut self, now: Instant) -> io::Result<Instant> {
        let period = self.limits.timeout;
        let caught_up = self.last_blocked.is_none_or(|t| now >= t + period);
        self.last_blocked = Some(now);
        if caught_up || self.period.is_none() {
            self.period = Some((now, 0));
        }
        let since = *self.blocked_since.get_or_insert(now);
        let (start, bytes) = self.period.unwrap_or((now, 0));
        if now >= since + period {
            return Err(timed_out("no write progress within the send timeout"));
        }
        if now >= start + period {
            let floor = self.limits.min_rate.saturating_mul(period.as_secs().max(1));
            if bytes < floor {
                return Err(timed_out("client reads slower than the minimum send rate"));
            }
            self.period = Some((now, 0));
        }
        let (start, _) = self.period.unwrap_or((now, 0));
        Ok((since + period).min(start + period))
    }
}

fn timed_out(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, what)
}

impl<T: AsyncRead + Unpin> AsyncRead for SendGuard<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for SendGuard<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.guard(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.guard(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The guard's arithmetic only: `blocked` is called with chosen instants, so no runtime
    /// (and no timer) is needed.
    fn guard() -> SendGuard<()> {
        SendGuard::new(
            (),
            SendLimits {
                timeout: Duration::from_secs(30),
                min_rate: 1000,
            },
        )
    }

    #[test]
    fn a_write_blocked_for_the_timeout_fails() {
        let mut g = guard();
        let t0 = Instant::now();
        assert_eq!(g.blocked(t0).ok(), Some(t0 + Duration::from_secs(30)));
        assert!(g.blocked(t0 + Duration::from_secs(29)).is_ok());
        assert!(g.blocked(t0 + Duration::from_secs(30)).is_err());
    }

    #[test]
    fn a_slow_reader_under_the_floor_fails_at_the_period_end() {
        let mut g = guard();
        let t0 = Instant::now();
        // Each write waits a little, then goes through with 10 bytes: progress, but 1/100 of
        // the floor (1000 B/s over 30 s).
        for s in 0..30 {
            assert!(g.blocked(t0 + Duration::from_secs(s)).is_ok(), "{s}");
            g.blocked_since = None;
            if let Some((_, bytes)) = &mut g.period {
                *bytes += 10;
            }
        }
        assert!(g.blocked(t0 + Duration::from_secs(30)).is_err());
    }

    #[test]
    fn a_reader_at_the_floor_keeps_its_connection() {
        let mut g = guard();
        let t0 = Instant::now();
        for s in 0..=90 {
            assert!(g.blocked(t0 + Duration::from_secs(s)).is_ok(), "{s}");
            g.blocked_since = None;
            if let Some((_, bytes)) = &mut g.period {
                *bytes += 1000;
            }
        }
    }

    #[test]
    fn an_idle_gap_opens_a_new_period() {
        let mut g = guard();
        let t0 = Instant::now();
        assert!(g.blocked(t0).is_ok());
        g.blocked_since = None;
        // 40 s later (keep-alive idle, next response): the old period, with its few bytes,
        // does not count against the client.
        assert!(g.blocked(t0 + Duration::from_secs(40)).is_ok());
    }
}
