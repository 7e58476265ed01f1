//! What operators see: one access-log line per request, metrics (Prometheus on `serve`'s admin
//! listener, CloudWatch Embedded Metric Format lines on Lambda) and the health the admin
//! listener reports.
//!
//! A transport opens an [`Exchange`] per request ([`Observer::start`]), runs the origin inside
//! it ([`Exchange::run`]) and sends the body wrapped in [`Observed`], which counts the bytes
//! handed to the transport and sees how the body ended. Code deep in the pipeline (the store
//! deadline, S3 retries, body resumes, the transform queue) adds to the request's facts with
//! the `note_*` functions, through a task-local, so no signature carries the exchange. When the
//! last handle on the exchange goes (the body sent or given up, and the transport done with
//! it) the [`Record`] is final: it is logged, counted and, on Lambda, emitted as EMF.
//!
//! Layout: `observe/record.rs` (the facts of one request and the log line, pure),
//! `observe/exchange.rs` (collecting them), `observe/metrics.rs` (the process's counters and
//! histograms, Prometheus exposition), `observe/emf.rs` (EMF documents, pure),
//! `observe/sink.rs` (where lines go), `observe/health.rs` (readiness).

#[path = "observe/emf.rs"]
pub mod emf;
#[path = "observe/exchange.rs"]
mod exchange;
#[path = "observe/health.rs"]
pub mod health;
#[path = "observe/metrics.rs"]
pub mod metrics;
#[path = "observe/record.rs"]
pub mod record;
#[path = "observe/sink.rs"]
mod sink;

pub use exchange::{Exchange, Observed, Start};
pub use record::{End, Kind, LogFormat, Record};
pub use sink::Sink;

use std::time::Duration;

/// Where a process sends what it observes: the access log (or none), EMF (Lambda only).
#[derive(Clone, Default)]
pub struct Observer {
    /// Access-log lines, in this format; `None`: no access log.
    pub access_log: Option<(LogFormat, Sink)>,
    /// EMF documents (one per request), and where they go.
    pub emf: Option<(emf::Emf, Sink)>,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observer")
            .field("access_log", &self.access_log.as_ref().map(|(f, _)| f))
            .field("emf", &self.emf.is_some())
            .finish()
    }
}

impl Observer {
    /// Opens the exchange of one request.
    pub fn start(&self, start: Start) -> Exchange {
        Exchange::new(self.clone(), start)
    }

    /// Writes out a finished request: log line, metrics, EMF.
    fn finish(&self, record: &Record) {
        metrics::global().observe(record);
        if let Some((format, sink)) = &self.access_log {
            sink.write(record.line(*format));
        }
        if let Some((emf, sink)) = &self.emf {
            sink.write(emf.document(record));
        }
    }
}

tokio::task_local! {
    static CURRENT: Exchange;
}

/// Adds to the facts of the request under way on this task, if any.
fn with_current(f: impl FnOnce(&Exchange)) {
    let _ = CURRENT.try_with(f);
}

/// A store call answered (or failed) after `waited`; `answered`: the store itself answered
/// (an object, or a refusal such as not found), as opposed to a timeout or a broken
/// connection. Also feeds readiness ([`health`]).
pub fn note_store(waited: Duration, answered: bool) {
    if answered {
        health::global().store_answered();
    }
    with_current(|x| x.add_store(waited));
}

/// The S3 client is about to try a request again.
pub fn note_retry() {
    with_current(Exchange::add_retry);
}

/// A body resumes its read after a store failure.
pub fn note_resume() {
    with_current(Exchange::add_resume);
}

/// The request is a transform, with these parameters in canonical form.
pub fn note_transform(canonical: String) {
    with_current(|x| x.set_transform(canonical));
}

/// The transform waited this long for its slot and memory.
pub fn note_queue(waited: Duration) {
    with_current(|x| x.set_queue(waited));
}

/// The request failed with this error class (a short stable word, [`crate::response`]).
pub fn note_error(class: &'static str) {
    with_current(|x| x.set_error(class));
}
