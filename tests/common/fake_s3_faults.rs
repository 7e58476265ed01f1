//! The fake S3's faults (see fake_s3.rs): how one answer is sent, cut, stalled or followed by
//! bytes nobody asked for.

use super::{Answer, UNSOLICITED};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a stalled connection is held open at most (the peer closing ends it sooner).
const HOLD: Duration = Duration::from_secs(600);
/// Before a reset: time for the bytes written to reach the peer, so that the RST (which
/// discards what is still in our send buffer) cuts where the plan says.
const BEFORE_RESET: Duration = Duration::from_millis(100);

/// What goes wrong with one answer. Counts are bytes of the body (not of the head).
#[derive(Clone, Copy, Debug, Default)]
pub enum Fault {
    /// The answer S3 would give.
    #[default]
    Normal,
    /// Head and the first N body bytes, then RST (SO_LINGER 0, close).
    ResetAfter(usize),
    /// Head and the first N body bytes, then FIN.
    FinAfter(usize),
    /// Head and the first N body bytes, then nothing: the socket stays open.
    StallAfter(usize),
    /// Nothing at all: the request is read and never answered; the socket stays open.
    StallHead,
    /// A complete S3 error answer (`status`, XML body with `<Code>code</Code>`).
    Error { status: u16, code: &'static str },
    /// An S3 error answer whose head (with Content-Length) is sent, then a few bytes of its
    /// body, then nothing: the socket stays open.
    StalledError { status: u16, code: &'static str },
    /// The normal answer, then after the delay [`UNSOLICITED`] on the same connection, which
    /// stays open for the next request.
    Unsolicited(Duration),
    /// A 403 `RequestTimeTooSkewed` whose `Date` is `secs` off the fake's clock, as S3 answers
    /// a request signed with a clock that far off.
    Skewed { secs: i64 },
    /// The normal answer framed with `Transfer-Encoding: chunked` (64 KiB chunks) and no
    /// Content-Length; a HEAD gets the head alone.
    Chunked,
}

/// The script's decision for one request.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub fault: Fault,
    /// Replace the object with these bytes (a new version, new ETag) once this request's
    /// answer has been chosen: this answer still carries the old version, later ones the new.
    pub replace: Option<Vec<u8>>,
}

impl From<Fault> for Plan {
    fn from(fault: Fault) -> Plan {
        Plan {
            fault,
            replace: None,
        }
    }
}

impl Plan {
    /// This plan, then the object replaced by `bytes`.
    pub fn then_replace(mut self, bytes: Vec<u8>) -> Plan {
        self.replace = Some(bytes);
        self
    }
}

/// Sends `answer` as `fault` says. Returns whether the connection may carry another request.
pub(super) async fn send(stream: &mut TcpStream, answer: &Answer, fault: &Fault) -> bool {
    if let Fault::StallHead = fault {
        hold(stream).await;
        return false;
    }
    let body: &[u8] = match answer.head_only {
        true => &[],
        false => &answer.body[..],
    };
    if let Fault::Chunked = fault {
        return send_chunked(stream, answer, body).await;
    }
    let head = answer.head();
    if stream.write_all(&head).await.is_err() {
        return false;
    }
    let sent = match fault {
        Fault::Normal | Fault::Error { .. } | Fault::Skewed { .. } | Fault::Unsolicited(_) => body,
        Fault::ResetAfter(n) | Fault::FinAfter(n) | Fault::StallAfter(n) => prefix(body, *n),
        Fault::StalledError { .. } => prefix(body, body.len().min(16).saturating_sub(1)),
        Fault::StallHead | Fault::Chunked => &[],
    };
    if stream.write_all(sent).await.is_err() || stream.flush().await.is_err() {
        return false;
    }
    match fault {
        Fault::Normal | Fault::Error { .. } | Fault::Skewed { .. } | Fault::Chunked => true,
        Fault::Unsolicited(delay) => {
            tokio::time::sleep(*delay).await;
            stream.write_all(UNSOLICITED).await.is_ok()
        }
        Fault::ResetAfter(_) => {
            tokio::time::sleep(BEFORE_RESET).await;
            let _ = stream.set_zero_linger();
            false // the caller drops the stream: RST
        }
        Fault::FinAfter(_) => {
            let _ = stream.shutdown().await;
            false
        }
        Fault::StallAfter(_) | Fault::StalledError { .. } | Fault::StallHead => {
            hold(stream).await;
            false
        }
    }
}

/// `answer` with chunked framing: `body` in 64 KiB chunks, then the last chunk (none for a
/// HEAD). Returns whether the connection may carry another request.
async fn send_chunked(stream: &mut TcpStream, answer: &Answer, body: &[u8]) -> bool {
    let mut out = answer.head_framed(true);
    if !answer.head_only {
        for chunk in body.chunks(64 * 1024) {
            out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    }
    stream.write_all(&out).await.is_ok() && stream.flush().await.is_ok()
}

fn prefix(body: &[u8], n: usize) -> &[u8] {
    &body[..n.min(body.len())]
}

/// Keeps the connection open and silent until the peer closes it (or [`HOLD`] passes);
/// whatever the peer sends meanwhile is read and dropped.
async fn hold(stream: &mut TcpStream) {
    let drain = async {
        let mut sink = vec![0u8; 16 * 1024];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(HOLD, drain).await;
}

/// Writes `head` (an answer without body), sends FIN, and reads what the peer still sends
/// for a while before closing, so that the unread rest of its request does not turn our close
/// into a RST that could destroy the answer (a "lingering close", as S3 and nginx do).
pub(super) async fn close_after(mut stream: TcpStream, head: &[u8]) {
    if stream.write_all(head).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let drain = async {
        let mut sink = vec![0u8; 16 * 1024];
        while matches!(stream.read(&mut sink).await, Ok(n) if n > 0) {}
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}
