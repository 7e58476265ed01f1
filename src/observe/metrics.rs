//! The process's metrics (prometheus-client), fed by every finished [`Record`], exposed by
//! `serve`'s admin listener in the Prometheus text format. The same quantities go out as EMF
//! on Lambda (`observe/emf.rs`).
//!
//! Every labelled series is created at start-up (7 kinds x 5 status classes), so a scrape
//! shows zeros rather than missing series, and counting a request takes no lock.

use super::record::{End, Kind, Record};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::OnceLock;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: &'static str,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CauseLabel {
    cause: &'static str,
}

/// Status classes, as labels: 1xx to 5xx (index = first digit - 1).
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// The class of a status (anything outside 100-599 counts as 5xx: it is ours and wrong).
pub fn status_class(status: u16) -> &'static str {
    CLASSES[class_index(status)]
}

/// The index of a status's class in [`CLASSES`].
fn class_index(status: u16) -> usize {
    match status {
        100..=599 => usize::from(status / 100) - 1,
        _ => CLASSES.len() - 1,
    }
}

/// Durations from 1 ms to about 131 s (a 190 MiB stream at Lambda's 2 MB/s takes ~97 s).
fn duration_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.001, 2.0, 18)
}

/// Series per kind, in [`Kind::ALL`] order.
struct PerKind {
    requests: [Counter; 5],
    bytes: Counter,
    duration: Histogram,
    ttfb: Histogram,
}

/// The metrics of this process.
pub struct Metrics {
    registry: Registry,
    kinds: Vec<PerKind>,
    store_wait: Histogram,
    store_calls: Counter,
    retries: Counter,
    resumes: Counter,
    aborted: [Counter; 3],
    queue_wait: Histogram,
    overloaded: Counter,
    in_flight: Gauge,
    log_dropped: Counter,
}

/// The metrics every part of the process reports to.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Metrics {
        let mut r = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let bytes = Family::<KindLabel, Counter>::default();
        let hist = || Histogram::new(duration_buckets());
        let duration = Family::<KindLabel, Histogram>::new_with_constructor(hist);
        let ttfb = Family::<KindLabel, Histogram>::new_with_constructor(hist);
        let aborted = Family::<CauseLabel, Counter>::default();
        let kinds = Kind::ALL
            .iter()
            .map(|k| {
                let kind = k.as_str();
                let class = |status_class| {
                    requests.get_or_create_owned(&RequestLabels { kind, status_class })
                };
                PerKind {
                    requests: CLASSES.map(class),
                    bytes: bytes.get_or_create_owned(&KindLabel { kind }),
                    duration: duration.get_or_create_owned(&KindLabel { kind }),
                    ttfb: ttfb.get_or_create_owned(&KindLabel { kind }),
                }
            })
            .collect();
        let abort = |cause| aborted.get_or_create_owned(&CauseLabel { cause });
        let m = Metrics {
            kinds,
            store_wait: hist(),
            store_calls: Counter::default(),
            retries: Counter::default(),
            resumes: Counter::default(),
            aborted: ["store", "client", "deadline"].map(abort),
            queue_wait: hist(),
            overloaded: Counter::default(),
            in_flight: Gauge::default(),
            log_dropped: Counter::default(),
            registry: Registry::default(),
        };
        r.register(
            "imgorigin_requests",
            "Requests answered, by kind and status class",
            requests,
        );
        r.register(
            "imgorigin_response_body_bytes",
            "Response body bytes handed to the transport",
            bytes,
        );
        r.register(
            "imgorigin_request_duration_seconds",
            "Arrival to the end of the response body",
            duration,
        );
        r.register(
            "imgorigin_time_to_first_byte_seconds",
            "Arrival to the first body byte (the head for bodyless answers)",
            ttfb,
        );
        r.register(
            "imgorigin_store_wait_seconds",
            "Per request, time waiting for the store's answers (lookups, opening reads)",
            m.store_wait.clone(),
        );
        r.register(
            "imgorigin_store_calls",
            "Store calls",
            m.store_calls.clone(),
        );
        r.register(
            "imgorigin_store_retries",
            "S3 requests sent again after a failure",
            m.retries.clone(),
        );
        r.register(
            "imgorigin_body_resumes",
            "Body reads resumed after a store failure mid-body",
            m.resumes.clone(),
        );
        r.register(
            "imgorigin_aborted_bodies",
            "Response bodies that ended short, by cause",
            aborted,
        );
        r.register(
            "imgorigin_transform_queue_wait_seconds",
            "Time transforms waited for a slot and memory",
            m.queue_wait.clone(),
        );
        r.register(
            "imgorigin_overloaded",
            "Requests answered 503 (busy transforming, or the store throttled)",
            m.overloaded.clone(),
        );
        r.register(
            "imgorigin_requests_in_flight",
            "Requests whose response has not ended",
            m.in_flight.clone(),
        );
        r.register(
            "imgorigin_access_log_dropped_lines",
            "Access-log lines dropped because stdout did not keep up",
            m.log_dropped.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// Counts a finished request.
    pub fn observe(&self, rec: &Record) {
        let i = Kind::ALL.iter().position(|k| *k == rec.kind).unwrap_or(0);
        let kind = &self.kinds[i];
        kind.requests[class_index(rec.status)].inc();
        kind.bytes.inc_by(rec.bytes);
        kind.duration.observe(rec.duration.as_secs_f64());
        if let Some(t) = rec.ttfb {
            kind.ttfb.observe(t.as_secs_f64());
        }
        if rec.store_calls > 0 {
            self.store_wait.observe(rec.store.as_secs_f64());
            self.store_calls.inc_by(u64::from(rec.store_calls));
        }
        self.retries.inc_by(u64::from(rec.retries));
        self.resumes.inc_by(u64::from(rec.resumes));
        match rec.end {
            End::Complete => {}
            End::Store => _ = self.aborted[0].inc(),
            End::Client => _ = self.aborted[1].inc(),
            End::Deadline => _ = self.aborted[2].inc(),
        }
        if let Some(q) = rec.queue {
            self.queue_wait.observe(q.as_secs_f64());
        }
        if rec.status == 503 {
            self.overloaded.inc();
        }
    }

    /// A request started (its record will be observed when it ends).
    pub fn started(&self) {
        self.in_flight.inc();
    }

    /// A request ended.
    pub fn ended(&self) {
        self.in_flight.dec();
    }

    pub(super) fn log_line_dropped(&self) {
        self.log_dropped.inc();
    }

    /// The Prometheus text format (0.0.4), or OpenMetrics 1.0 when `openmetrics`.
    pub fn exposition(&self, openmetrics: bool) -> (&'static str, String) {
        use prometheus_client::encoding::{prometheus_text, text};
        let mut out = String::with_capacity(16 * 1024);
        // Writing into a String cannot fail.
        match openmetrics {
            true => {
                let _ = text::encode(&mut out, &self.registry);
                (
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    out,
                )
            }
            false => {
                let _ = prometheus_text::encode(&mut out, &self.registry);
                (prometheus_text::CONTENT_TYPE, out)
            }
        }
    }
}
