use super::*;
use crate::observe::record::Kind;
use std::time::Duration;

fn record(status: u16, end: End) -> Record {
    Record {
        time: std::time::UNIX_EPOCH + Duration::from_millis(1_796_000_000_123),
        id: 1,
        aws_request_id: Some("req-1".into()),
        cf_id: None,
        client: None,
        method: "GET".into(),
        path: "/secret/key.jpg".into(),
        kind: Kind::Object,
        status,
        bytes: 42,
        length: Some(42),
        complete: end == End::Complete,
        end,
        duration: Duration::from_millis(5),
        ttfb: Some(Duration::from_millis(1)),
        store: Duration::from_millis(2),
        store_calls: 1,
        retries: 1,
        resumes: 0,
        range: None,
        served: None,
        transform: None,
        queue: None,
        error: None,
    }
}

/// The EMF specification's structure: `_aws.Timestamp` (ms), one directive with Namespace,
/// Dimensions (arrays of names of top-level string members) and Metrics (Name, Unit), each
/// metric a top-level number.
#[test]
fn document_follows_the_specification() {
    let emf = Emf::new("imgorigin", DEFAULT_DIMENSIONS, "fn".into(), "stream").expect("emf");
    let doc: serde_json::Value =
        serde_json::from_str(&emf.document(&record(200, End::Complete))).expect("json");
    assert_eq!(doc["_aws"]["Timestamp"], 1_796_000_000_123u64);
    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "imgorigin");
    assert_eq!(
        directive["Dimensions"],
        serde_json::json!([
            ["FunctionName"],
            ["FunctionName", "StatusClass"],
            ["FunctionName", "Kind"]
        ])
    );
    for set in directive["Dimensions"].as_array().expect("sets") {
        for name in set.as_array().expect("set") {
            assert!(doc[name.as_str().expect("name")].is_string(), "{name}");
        }
    }
    let metrics = directive["Metrics"].as_array().expect("metrics");
    for m in metrics {
        let name = m["Name"].as_str().expect("name");
        assert!(doc[name].is_number(), "{name}");
        assert!(["Count", "Bytes", "Milliseconds"].contains(&m["Unit"].as_str().expect("unit")));
    }
    assert_eq!(doc["StatusClass"], "2xx");
    assert_eq!(doc["Kind"], "object");
    assert_eq!(doc["Requests"], 1);
    assert_eq!(doc["BytesOut"], 42);
    assert_eq!(doc["StoreRetries"], 1);
    assert_eq!(doc["AbortedBodies"], 0);
    assert_eq!(doc["requestId"], "req-1");
    assert!(
        !doc.to_string().contains("/secret/key.jpg"),
        "no path in EMF"
    );
}

#[test]
fn flags_are_zero_or_one() {
    let emf = Emf::new("a/b", "Mode", "fn".into(), "buffered").expect("emf");
    let doc: serde_json::Value =
        serde_json::from_str(&emf.document(&record(502, End::Store))).expect("json");
    assert_eq!(doc["Errors5xx"], 1);
    assert_eq!(doc["AbortedBodies"], 1);
    assert_eq!(doc["StatusClass"], "5xx");
    assert_eq!(
        doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([["Mode"]])
    );
    let doc: serde_json::Value =
        serde_json::from_str(&emf.document(&record(501, End::Complete))).expect("json");
    assert_eq!(
        doc["Errors5xx"], 0,
        "501 is a refusal of the transport, not a fault"
    );
}

#[test]
fn configuration_errors() {
    let new = |ns: &str, dims: &str| Emf::new(ns, dims, "f".into(), "stream").map(|_| ());
    assert_eq!(new("ok.Name-1_/#:", "Kind;Mode,Kind"), Ok(()));
    assert_eq!(new("", "Kind"), Err(EmfError::Namespace(String::new())));
    assert!(new("AWS/Lambda", "Kind").is_err());
    assert!(new("has space", "Kind").is_err());
    assert!(new(&"x".repeat(256), "Kind").is_err());
    assert!(new("ns", "Key").is_err(), "unknown dimension");
    assert!(new("ns", "Kind,Kind").is_err(), "repeated in a set");
    assert_eq!(
        new("ns", ""),
        Ok(()),
        "no dimension sets: metrics without dimensions"
    );
}
