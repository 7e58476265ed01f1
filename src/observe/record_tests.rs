use super::*;
use http::{HeaderMap, HeaderValue, Method};

fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(*k, HeaderValue::from_static(v));
    }
    h
}

/// The kind of a request: the first matching rule wins (RFC 9110 §13.1 conditionals come
/// before §14.2 Range; If-Range belongs to the range, not to the conditionals).
#[test]
fn kinds() {
    type Row = (Method, &'static [(&'static str, &'static str)], Kind);
    let table: &[Row] = &[
        (Method::GET, &[], Kind::Object),
        (Method::GET, &[("range", "bytes=0-9")], Kind::Range),
        (
            Method::GET,
            &[("range", "bytes=0-9,20-29")],
            Kind::Multirange,
        ),
        (
            Method::GET,
            &[("range", "bytes=0-9"), ("if-range", "\"a\"")],
            Kind::Range,
        ),
        (
            Method::GET,
            &[("if-none-match", "\"a\"")],
            Kind::Conditional,
        ),
        (
            Method::GET,
            &[("if-modified-since", "Sun, 06 Nov 1994 08:49:37 GMT")],
            Kind::Conditional,
        ),
        (
            Method::GET,
            &[("if-match", "\"a\""), ("range", "bytes=0-1")],
            Kind::Conditional,
        ),
        (Method::HEAD, &[("range", "bytes=0-9")], Kind::Head),
        (Method::OPTIONS, &[], Kind::Other),
        (Method::POST, &[], Kind::Other),
    ];
    for (method, pairs, want) in table {
        assert_eq!(
            Kind::of(method, &headers(pairs)),
            *want,
            "{method} {pairs:?}"
        );
    }
}

fn record() -> Record {
    Record {
        time: std::time::UNIX_EPOCH + Duration::from_millis(1_796_000_000_123),
        id: 7,
        aws_request_id: Some("a-b-c".into()),
        cf_id: None,
        client: None,
        method: "GET".into(),
        path: "/a b.jpg".into(),
        kind: Kind::Range,
        status: 206,
        bytes: 100,
        length: Some(100),
        complete: true,
        end: End::Complete,
        duration: Duration::from_micros(12_345),
        ttfb: Some(Duration::from_micros(2_500)),
        store: Duration::from_micros(1_000),
        store_calls: 1,
        retries: 0,
        resumes: 0,
        range: Some("bytes=0-99".into()),
        served: Some("bytes 0-99/1000".into()),
        transform: None,
        queue: None,
        error: None,
    }
}

#[test]
fn json_line_has_every_field_with_units_in_names() {
    let line = record().line(LogFormat::Json);
    let v: serde_json::Value = serde_json::from_str(&line).expect("json");
    assert_eq!(v["time"], "2026-11-30T00:53:20.123Z");
    assert_eq!(v["id"], 7);
    assert_eq!(v["aws_request_id"], "a-b-c");
    assert_eq!(v["method"], "GET");
    assert_eq!(v["path"], "/a b.jpg");
    assert_eq!(v["kind"], "range");
    assert_eq!(v["status"], 206);
    assert_eq!(v["bytes"], 100);
    assert_eq!(v["complete"], true);
    assert_eq!(v["end"], "complete");
    assert_eq!(v["duration_ms"], 12.345);
    assert_eq!(v["ttfb_ms"], 2.5);
    assert_eq!(v["store_ms"], 1.0);
    assert_eq!(v["range"], "bytes=0-99");
    assert_eq!(v["served"], "bytes 0-99/1000");
    for absent in ["cf_id", "client", "transform", "queue_ms", "error"] {
        assert!(v.get(absent).is_none(), "{absent} present: {line}");
    }
    assert!(!line.contains('\n'));
}

#[test]
fn text_line_quotes_what_a_client_chose() {
    let mut r = record();
    r.range = Some("bytes=0-1 \" x=1".into());
    r.end = End::Store;
    r.complete = false;
    let line = r.line(LogFormat::Text);
    assert!(
        line.starts_with(
            "2026-11-30T00:53:20.123Z 7 GET /a b.jpg 206 bytes=100 aborted:store 12.3ms"
        ),
        "{line}"
    );
    assert!(line.contains(r#" range="bytes=0-1 \" x=1""#), "{line}");
    assert!(!line.contains('\n'));
}

#[test]
fn text_line_writes_client_addresses_as_display_does() {
    for ip in [
        "203.0.113.7",
        "0.0.0.0",
        "255.255.255.255",
        "10.0.0.1",
        "2001:db8::1",
        "::1",
    ] {
        let mut r = record();
        r.client = Some(ip.parse().unwrap());
        let line = r.line(LogFormat::Text);
        assert!(line.ends_with(&format!(" client={ip}")), "{line}");
    }
}
