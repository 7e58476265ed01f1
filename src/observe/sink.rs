//! Where access-log and EMF lines go: standard output, written on the request's own thread
//! (Lambda: the line must be out before the environment is frozen) or by a writer thread
//! behind a bounded queue (`serve`: a slow reader of stdout must never hold a request, so a
//! full queue drops the line and counts it; lines reach stdout within [`PAUSE`]).

use std::io::Write;
use std::sync::mpsc::{sync_channel, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex};

/// Lines waiting for the writer thread, at most.
const QUEUE: usize = 8192;

/// Bytes the writer thread gathers into one write.
const BURST: usize = 64 * 1024;

/// How long the writer thread sleeps once the queue is empty. It polls rather than waits on
/// the queue: waking a waiting thread costs each request a futex call and a context switch,
/// measured at over a third of a HEAD's CPU.
const PAUSE: std::time::Duration = std::time::Duration::from_millis(20);

/// A destination for lines. Cheap to clone.
#[derive(Clone)]
pub enum Sink {
    /// Written to stdout at once, by the caller.
    Stdout,
    /// Queued for a writer thread that writes them to stdout.
    Queued(SyncSender<String>),
    /// Kept in memory (tests).
    Memory(Arc<Mutex<Vec<String>>>),
}

impl Sink {
    /// A writer thread on stdout, with its queue.
    ///
    /// # Errors
    /// When the thread cannot be started.
    pub fn queued() -> std::io::Result<Sink> {
        let (tx, rx) = sync_channel::<String>(QUEUE);
        std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || {
                let mut burst = String::new();
                loop {
                    burst.clear();
                    let mut closed = false;
                    while burst.len() < BURST {
                        match rx.try_recv() {
                            Ok(line) => {
                                burst.push_str(&line);
                                burst.push('\n');
                            }
                            Err(TryRecvError::Empty) => break,
                            Err(TryRecvError::Disconnected) => {
                                closed = true;
                                break;
                            }
                        }
                    }
                    // A closed stdout (its reader went away) loses lines, never a request.
                    let _ = std::io::stdout().lock().write_all(burst.as_bytes());
                    if closed {
                        break;
                    }
                    if burst.len() < BURST {
                        std::thread::sleep(PAUSE);
                    }
                }
            })?;
        Ok(Sink::Queued(tx))
    }

    /// Writes one line (without its newline).
    pub fn write(&self, line: String) {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{line}").and_then(|()| out.flush());
            }
            Sink::Queued(tx) => match tx.try_send(line) {
                Ok(()) => {}
                Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                    super::metrics::global().log_line_dropped();
                }
            },
            Sink::Memory(lines) => lines.lock().unwrap_or_else(|e| e.into_inner()).push(line),
        }
    }
}
