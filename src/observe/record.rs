//! The facts of one finished request, and its access-log line (JSON or text). Pure.

use serde::Serialize;
use std::fmt::Write;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

/// What a request asked for, by the first rule that matches: a transform, a HEAD, a
/// conditional GET, several ranges, one range, a whole object; `other` for the rest (OPTIONS,
/// refused methods). A small fixed set, so it can be a metric dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A GET of the whole object.
    Object,
    /// A GET with one range.
    Range,
    /// A GET with several ranges.
    Multirange,
    /// A HEAD.
    Head,
    /// A GET with If-None-Match, If-Modified-Since, If-Match or If-Unmodified-Since.
    Conditional,
    /// A GET with transform parameters.
    Transform,
    /// Anything else.
    Other,
}

impl Kind {
    /// Every kind, in a fixed order.
    pub const ALL: [Kind; 7] = [
        Kind::Object,
        Kind::Range,
        Kind::Multirange,
        Kind::Head,
        Kind::Conditional,
        Kind::Transform,
        Kind::Other,
    ];

    /// The kind of a request from its method and headers (transforms are noted later, once
    /// the query has been read).
    pub fn of(method: &http::Method, headers: &http::HeaderMap) -> Kind {
        use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_UNMODIFIED_SINCE};
        match *method {
            http::Method::HEAD => return Kind::Head,
            http::Method::GET => {}
            _ => return Kind::Other,
        }
        let conditional = [
            IF_NONE_MATCH,
            IF_MODIFIED_SINCE,
            IF_MATCH,
            IF_UNMODIFIED_SINCE,
        ]
        .iter()
        .any(|h| headers.contains_key(h));
        if conditional {
            return Kind::Conditional;
        }
        match headers.get(http::header::RANGE).map(|v| v.as_bytes()) {
            Some(v) if v.contains(&b',') => Kind::Multirange,
            Some(_) => Kind::Range,
            None => Kind::Object,
        }
    }

    /// Its name in logs, labels and dimensions.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Object => "object",
            Kind::Range => "range",
            Kind::Multirange => "multirange",
            Kind::Head => "head",
            Kind::Conditional => "conditional",
            Kind::Transform => "transform",
            Kind::Other => "other",
        }
    }
}

/// How a response body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    /// Every byte was handed to the transport.
    Complete,
    /// The store failed and the body was aborted short of its length.
    Store,
    /// The transport gave the body up (the client went away or stopped reading).
    Client,
    /// The function's deadline cut the answer off (Lambda).
    Deadline,
}

/// Access-log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (CloudWatch Logs Insights reads its fields).
    Json,
    /// `key=value` pairs after time, method, path and status.
    Text,
}

/// One request, as it ended.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    /// When the request arrived.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// This process's request number (also in the error log lines, as `rid`).
    pub id: u64,
    /// The Lambda invocation's `awsRequestId`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aws_request_id: Option<String>,
    /// CloudFront's `X-Amz-Cf-Id`, when the request came through CloudFront.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cf_id: Option<String>,
    /// The client's address (the peer of the connection on `serve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client: Option<IpAddr>,
    /// The method.
    pub method: String,
    /// The path, without the query: signatures must not reach logs.
    pub path: String,
    /// What was asked.
    pub kind: Kind,
    /// The status sent.
    pub status: u16,
    /// Body bytes handed to the transport.
    pub bytes: u64,
    /// The body length the head declared, when it declared one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    /// Whether the body ended complete.
    pub complete: bool,
    /// How it ended.
    pub end: End,
    /// Arrival to the end of the body, in milliseconds.
    #[serde(rename = "duration_ms", serialize_with = "millis")]
    pub duration: Duration,
    /// Arrival to the first body byte (or to the head, without a body).
    #[serde(
        rename = "ttfb_ms",
        serialize_with = "opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub ttfb: Option<Duration>,
    /// Time spent waiting for the store's answers (lookups and the opening of reads).
    #[serde(rename = "store_ms", serialize_with = "millis")]
    pub store: Duration,
    /// Store calls made.
    pub store_calls: u32,
    /// S3 requests sent again after a failure.
    pub retries: u32,
    /// Reads resumed mid-body.
    pub resumes: u32,
    /// The Range header as received (at most [`MAX_RANGE_LOGGED`] bytes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub range: Option<String>,
    /// What was served: the Content-Range sent, or `multipart` with its part count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served: Option<String>,
    /// Transform parameters in canonical form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
    /// Time a transform waited for its slot and memory.
    #[serde(
        rename = "queue_ms",
        serialize_with = "opt_millis",
        skip_serializing_if = "Option::is_none"
    )]
    pub queue: Option<Duration>,
    /// The error class, for a request that failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<&'static str>,
}

/// The longest Range value logged; a longer one is cut (and marked with `...`).
pub const MAX_RANGE_LOGGED: usize = 200;

impl Record {
    /// The access-log line, without its newline.
    pub fn line(&self, format: LogFormat) -> String {
        match format {
            // Serializing plain fields into a String cannot fail.
            LogFormat::Json => serde_json::to_string(self).unwrap_or_default(),
            LogFormat::Text => self.text(),
        }
    }

    fn text(&self) -> String {
        let mut s = String::with_capacity(192);
        push_time(&mut s, self.time);
        s.push(' ');
        push_int(&mut s, self.id);
        for part in [" ", &self.method, " ", &self.path, " "] {
            s.push_str(part);
        }
        push_int(&mut s, self.status);
        s.push_str(" bytes=");
        push_int(&mut s, self.bytes);
        s.push_str(match self.end {
            End::Complete => " complete ",
            End::Store => " aborted:store ",
            End::Client => " aborted:client ",
            End::Deadline => " aborted:deadline ",
        });
        push_ms(&mut s, self.duration);
        if let Some(t) = self.ttfb {
            s.push_str(" ttfb=");
            push_ms(&mut s, t);
        }
        s.push_str(" store=");
        push_ms(&mut s, self.store);
        s.push('/');
        push_int(&mut s, self.store_calls);
        s.push_str(" kind=");
        s.push_str(self.kind.as_str());
        self.text_options(&mut s);
        s
    }

    /// The fields a request may lack, for [`Record::text`].
    fn text_options(&self, s: &mut String) {
        for (name, value) in [
            ("range", &self.range),
            ("served", &self.served),
            ("transform", &self.transform),
            ("aws_request_id", &self.aws_request_id),
            ("cf_id", &self.cf_id),
        ] {
            if let Some(v) = value {
                let _ = write!(s, " {name}={v:?}");
            }
        }
        if self.retries > 0 || self.resumes > 0 {
            let _ = write!(s, " retries={} resumes={}", self.retries, self.resumes);
        }
        if let Some(q) = self.queue {
            s.push_str(" queue=");
            push_ms(s, q);
        }
        if let Some(e) = self.error {
            s.push_str(" error=");
            s.push_str(e);
        }
        if let Some(c) = self.client {
            s.push_str(" client=");
            push_ip(s, c);
        }
    }
}

/// An integer without `core::fmt`: the text line is written for every request, and the
/// formatting machinery was most of its cost.
fn push_int(s: &mut String, n: impl itoa::Integer) {
    s.push_str(itoa::Buffer::new().format(n));
}

/// An address without `core::fmt` for IPv4 (every request on most deployments; `Display`
/// was 40% of the line's instructions under callgrind), `Display` for IPv6.
fn push_ip(s: &mut String, ip: IpAddr) {
    match ip {
        IpAddr::V4(v4) => {
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    s.push('.');
                }
                push_int(s, octet);
            }
        }
        IpAddr::V6(v6) => {
            let _ = write!(s, "{v6}");
        }
    }
}

/// `12.3ms`, with integer arithmetic.
fn push_ms(s: &mut String, d: Duration) {
    let tenths = d.as_micros() / 100;
    push_int(s, tenths / 10);
    s.push('.');
    push_int(s, (tenths % 10) as u8);
    s.push_str("ms");
}

/// [`time_text`] into `s`, the part up to the second computed once per second per thread.
fn push_time(s: &mut String, t: SystemTime) {
    thread_local! {
        static SECOND: std::cell::RefCell<(u64, String)> = const {
            std::cell::RefCell::new((u64::MAX, String::new()))
        };
    }
    let since = t.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    SECOND.with_borrow_mut(|(second, text)| {
        if *second != since.as_secs() {
            *second = since.as_secs();
            let full = time_text(std::time::UNIX_EPOCH + Duration::from_secs(*second));
            // "...:SS." without the "000Z".
            *text = full[..full.len() - 4].to_owned();
        }
        s.push_str(text);
    });
    let ms = since.subsec_millis();
    for digit in [ms / 100, ms / 10 % 10, ms % 10] {
        s.push(char::from(b'0' + digit as u8));
    }
    s.push('Z');
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// RFC 3339 in UTC with milliseconds (`2026-12-03T17:00:00.123Z`).
pub fn time_text(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&format).unwrap_or_default()
}

fn rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let mut text = String::with_capacity(24);
    push_time(&mut text, *t);
    s.serialize_str(&text)
}

/// Milliseconds with microsecond precision.
fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((ms(*d) * 1000.0).round() / 1000.0)
}

fn opt_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => millis(d, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
#[path = "record_tests.rs"]
mod tests;
