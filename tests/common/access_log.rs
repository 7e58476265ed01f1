//! Checks of JSON access-log lines (src/observe/record.rs) against what a client saw.

/// Fields every line carries.
pub const REQUIRED: [&str; 14] = [
    "time",
    "id",
    "method",
    "path",
    "kind",
    "status",
    "bytes",
    "complete",
    "end",
    "duration_ms",
    "store_ms",
    "store_calls",
    "retries",
    "resumes",
];

/// What the client sent and received.
pub struct Seen<'a> {
    pub method: &'a str,
    /// The request target's path, without the query.
    pub path: &'a str,
    pub range: Option<&'a str>,
    pub status: u16,
    /// Body bytes received.
    pub bytes: u64,
    /// Whether the body ended complete.
    pub complete: bool,
}

/// What is wrong with `line` as the record of `seen` (empty: nothing).
pub fn problems(line: &str, seen: &Seen) -> Vec<String> {
    let v: serde_json::Value = match serde_json::from_str(line) {
        Ok(v) => v,
        Err(e) => return vec![format!("log line is not JSON ({e}): {line}")],
    };
    let mut out = Vec::new();
    for field in REQUIRED {
        if v.get(field).is_none() {
            out.push(format!("log line lacks {field}"));
        }
    }
    let mut check = |field: &str, want: serde_json::Value| {
        if v[field] != want {
            out.push(format!("log {field} {} != {want}", v[field]));
        }
    };
    check("method", seen.method.into());
    check("path", seen.path.into());
    check("status", seen.status.into());
    check("bytes", seen.bytes.into());
    check("complete", seen.complete.into());
    // A long Range value is logged cut, with "..." after its first 200 bytes.
    let range = match (seen.range, v["range"].as_str()) {
        (Some(sent), Some(logged)) if logged.ends_with("...") => {
            let kept = &logged[..logged.len() - 3];
            (kept.len() == 200 && sent.starts_with(kept)).then_some(logged)
        }
        (sent, _) => sent,
    };
    check("range", range.map_or(serde_json::Value::Null, Into::into));
    if seen.complete != (v["end"] == "complete") {
        out.push(format!(
            "log end {} with complete {}",
            v["end"], seen.complete
        ));
    }
    if line.contains("sig=") {
        out.push("a query reached the log".into());
    }
    out
}
