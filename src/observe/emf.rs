//! CloudWatch Embedded Metric Format: one JSON document per request, written to stdout, from
//! which CloudWatch Logs extracts metrics (AWS's "Specification: Embedded metric format",
//! CloudWatch User Guide). Pure.
//!
//! Dimensions are a fixed small set ([`Dimension`]): keys and paths stay out of them, since
//! every distinct dimension value is a metric CloudWatch bills for.

use super::metrics::status_class;
use super::record::{End, Record};
use serde_json::{json, Map, Value};

/// What a metric may be split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dimension {
    /// The Lambda function's name (`AWS_LAMBDA_FUNCTION_NAME`).
    FunctionName,
    /// The invoke mode: `stream` or `buffered`.
    Mode,
    /// `2xx` ... `5xx`.
    StatusClass,
    /// What was asked ([`super::Kind`]).
    Kind,
}

impl Dimension {
    const ALL: [Dimension; 4] = [
        Dimension::FunctionName,
        Dimension::Mode,
        Dimension::StatusClass,
        Dimension::Kind,
    ];

    fn name(self) -> &'static str {
        match self {
            Dimension::FunctionName => "FunctionName",
            Dimension::Mode => "Mode",
            Dimension::StatusClass => "StatusClass",
            Dimension::Kind => "Kind",
        }
    }
}

/// The dimension sets used unless configured otherwise.
pub const DEFAULT_DIMENSIONS: &str = "FunctionName;FunctionName,StatusClass;FunctionName,Kind";

/// A configuration EMF cannot carry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum EmfError {
    /// CloudWatch's namespace rules: 1-255 of `0-9A-Za-z.-_/#:`, not starting with `AWS/`.
    #[error("metrics namespace {0:?}: 1 to 255 characters of 0-9 A-Z a-z . - _ / # :, not starting with AWS/")]
    Namespace(String),
    /// A dimension that is not one of the known ones, or a set that repeats one.
    #[error("metrics dimensions {0:?}: sets separated by ';', names by ','; names are FunctionName, Mode, StatusClass, Kind, each at most once per set")]
    Dimensions(String),
}

/// How EMF documents are made.
#[derive(Debug, Clone)]
pub struct Emf {
    namespace: String,
    sets: Vec<Vec<Dimension>>,
    function_name: String,
    mode: &'static str,
}

impl Emf {
    /// EMF in `namespace`, with `dimensions` (for example [`DEFAULT_DIMENSIONS`]), for the
    /// function `function_name` in invoke mode `mode`.
    ///
    /// # Errors
    /// A namespace CloudWatch refuses, or unknown or repeated dimensions.
    pub fn new(
        namespace: &str,
        dimensions: &str,
        function_name: String,
        mode: &'static str,
    ) -> Result<Emf, EmfError> {
        let valid = |c: char| c.is_ascii_alphanumeric() || ".-_/#:".contains(c);
        if namespace.is_empty()
            || namespace.len() > 255
            || !namespace.chars().all(valid)
            || namespace.starts_with("AWS/")
        {
            return Err(EmfError::Namespace(namespace.to_owned()));
        }
        let bad = || EmfError::Dimensions(dimensions.to_owned());
        let mut sets = Vec::new();
        for set in dimensions
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            let mut dims = Vec::new();
            for name in set.split(',').map(str::trim) {
                let d = Dimension::ALL
                    .into_iter()
                    .find(|d| d.name() == name)
                    .ok_or_else(bad)?;
                if dims.contains(&d) {
                    return Err(bad());
                }
                dims.push(d);
            }
            sets.push(dims);
        }
        Ok(Emf {
            namespace: namespace.to_owned(),
            sets,
            function_name,
            mode,
        })
    }

    /// The EMF document of one request.
    pub fn document(&self, rec: &Record) -> String {
        let ms = |d: std::time::Duration| (d.as_secs_f64() * 1e6).round() / 1e3;
        let flag = |b: bool| u64::from(b);
        let mut metrics: Vec<(&str, &str, Value)> = vec![
            ("Requests", "Count", json!(1)),
            // 501 is the transport refusing a whole object over its budget, as configured.
            (
                "Errors5xx",
                "Count",
                json!(flag(rec.status >= 500 && rec.status != 501)),
            ),
            ("BytesOut", "Bytes", json!(rec.bytes)),
            ("Duration", "Milliseconds", json!(ms(rec.duration))),
            ("StoreRetries", "Count", json!(rec.retries)),
            ("Resumes", "Count", json!(rec.resumes)),
            (
                "AbortedBodies",
                "Count",
                json!(flag(rec.end != End::Complete)),
            ),
            (
                "DeadlineCuts",
                "Count",
                json!(flag(rec.error == Some("deadline"))),
            ),
            ("Overloaded", "Count", json!(flag(rec.status == 503))),
        ];
        if let Some(t) = rec.ttfb {
            metrics.push(("TimeToFirstByte", "Milliseconds", json!(ms(t))));
        }
        if rec.store_calls > 0 {
            metrics.push(("StoreLatency", "Milliseconds", json!(ms(rec.store))));
        }
        if let Some(q) = rec.queue {
            metrics.push(("TransformQueueWait", "Milliseconds", json!(ms(q))));
        }
        let timestamp = rec
            .time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let sets: Vec<Vec<&str>> = self
            .sets
            .iter()
            .map(|s| s.iter().map(|d| d.name()).collect())
            .collect();
        let definitions: Vec<Value> = metrics
            .iter()
            .map(|(name, unit, _)| json!({ "Name": name, "Unit": unit }))
            .collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": sets,
                    "Metrics": definitions,
                }],
            }),
        );
        doc.insert("FunctionName".into(), json!(self.function_name));
        doc.insert("Mode".into(), json!(self.mode));
        doc.insert("StatusClass".into(), json!(status_class(rec.status)));
        doc.insert("Kind".into(), json!(rec.kind.as_str()));
        for (name, _, value) in metrics {
            doc.insert(name.into(), value);
        }
        // Properties, not dimensions: they let Logs Insights join a metric to its request.
        if let Some(id) = &rec.aws_request_id {
            doc.insert("requestId".into(), json!(id));
        }
        Value::Object(doc).to_string()
    }
}

#[cfg(test)]
#[path = "emf_tests.rs"]
mod tests;
