//! The Lambda half of tests/observe.rs: the real binary behind the fake Runtime API, in both
//! invoke modes, its stdout read line by line (access log and EMF).

use super::common;
use common::fake_s3::{FakeS3, Fault};
use common::pattern;
use common::procs::LogLines;
use common::runtime_api::{event, FakeRuntimeApi};
use std::process::{Child, Stdio};
use std::time::Duration;

struct Function {
    child: Child,
    log: LogLines,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn function(api: &FakeRuntimeApi, mode: &str, endpoint: &str) -> Function {
    let mut child = common::procs::imgorigin_command()
        .env("AWS_LAMBDA_RUNTIME_API", api.host_port())
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("stack-{mode}"))
        .env("IMGORIGIN_INVOKE_MODE", mode)
        .env("IMGORIGIN_BUCKET", common::procs::BUCKET)
        .env("IMGORIGIN_ENDPOINT", endpoint)
        .env("IMGORIGIN_METRICS_NAMESPACE", "test/imgorigin")
        .stdout(Stdio::piped())
        .spawn()
        .expect("start imgorigin");
    let log = LogLines::collect(child.stdout.take().expect("stdout"));
    Function { child, log }
}

/// CloudWatch's metric units (PutMetricData's StandardUnit).
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// What is wrong with `doc` as an EMF document (AWS, "Specification: Embedded metric
/// format"): the root `_aws` with an integer Timestamp and CloudWatchMetrics directives, each
/// with Namespace, Dimensions (at most 30 names per set, each naming a top-level string) and
/// Metrics (at most 100; Name naming a top-level number or array of numbers, Unit valid).
fn emf_problems(doc: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    let aws = &doc["_aws"];
    if !aws["Timestamp"].is_u64() {
        out.push("_aws.Timestamp is not an integer".into());
    }
    let Some(directives) = aws["CloudWatchMetrics"].as_array() else {
        return vec!["_aws.CloudWatchMetrics is not an array".into()];
    };
    for d in directives {
        if !d["Namespace"]
            .as_str()
            .is_some_and(|n| !n.is_empty() && n.len() <= 255)
        {
            out.push(format!("Namespace {}", d["Namespace"]));
        }
        for set in d["Dimensions"].as_array().into_iter().flatten() {
            let names = set.as_array().map(Vec::as_slice).unwrap_or_default();
            if names.len() > 30 {
                out.push("more than 30 dimensions in a set".into());
            }
            for n in names {
                if !n.as_str().is_some_and(|n| doc[n].is_string()) {
                    out.push(format!("dimension {n} is not a top-level string"));
                }
            }
        }
        let metrics = d["Metrics"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        if metrics.is_empty() || metrics.len() > 100 {
            out.push(format!("{} metrics", metrics.len()));
        }
        for m in metrics {
            let name = m["Name"].as_str().unwrap_or_default();
            if !doc[name].is_number() {
                out.push(format!("metric {name} is not a top-level number"));
            }
            if !m["Unit"].as_str().is_some_and(|u| UNITS.contains(&u)) {
                out.push(format!("metric {name}: unit {}", m["Unit"]));
            }
        }
    }
    out
}

/// One access-log line and one EMF document per invocation, in either mode, tied to the
/// invocation; the deadline counted.
async fn invocations_are_logged(mode: &str) {
    let fake = FakeS3::start();
    fake.put("a.bin", pattern(300_000, 3), "application/octet-stream");
    fake.put("slow.bin", pattern(8 << 20, 4), "application/octet-stream");
    fake.script(|req, _| match (req.method.as_str(), req.key.as_deref()) {
        ("GET", Some("slow.bin")) => Fault::StallAfter(100_000).into(),
        _ => Default::default(),
    });
    let mut api = FakeRuntimeApi::start().await;
    let f = function(&api, mode, &fake.endpoint());
    let events = [
        event("GET", "/a.bin", &[]),
        event("GET", "/a.bin", &[("range", "bytes=10-19")]),
        event("GET", "/a.bin", &[("range", "bytes=0-0,10-19")]),
        event("HEAD", "/a.bin", &[]),
        event("GET", "/missing", &[]),
    ];
    for e in events {
        api.invoke(e).await;
    }
    api.set_timeout(Duration::from_secs(4));
    // Within the buffered budget, so that both modes read it.
    let slow = event("GET", "/slow.bin", &[("range", "bytes=0-1999999")]);
    api.invoke(slow).await;
    let lines = f.log.wait_for(6);
    let emf: Vec<serde_json::Value> = f
        .log
        .wait_for_emf(6)
        .iter()
        .map(|d| serde_json::from_str(d).expect("EMF is JSON"))
        .collect();
    assert_eq!(emf.len(), 6, "one EMF document per invocation");
    let kinds = ["object", "range", "multirange", "head", "object", "range"];
    // Stream mode answers several ranges whole (InvokeMode::max_ranges) and is cut off at
    // the deadline after its 200; buffered mode answers multipart, and 504 at the deadline.
    let statuses = match mode {
        "stream" => [200, 206, 200, 200, 404, 206],
        _ => [200, 206, 206, 200, 404, 504],
    };
    for (i, (line, doc)) in lines.iter().zip(&emf).enumerate() {
        let problems = emf_problems(doc);
        assert!(problems.is_empty(), "{mode} #{i}: {problems:?}\n{doc}");
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "test/imgorigin");
        assert_eq!(
            directive["Dimensions"],
            serde_json::json!([
                ["FunctionName"],
                ["FunctionName", "StatusClass"],
                ["FunctionName", "Kind"]
            ])
        );
        assert_eq!(doc["FunctionName"], format!("stack-{mode}"));
        assert_eq!(doc["Kind"], kinds[i], "{mode} #{i}");
        let access: serde_json::Value = serde_json::from_str(line).expect("access log is JSON");
        assert_eq!(access["status"], statuses[i], "{mode} #{i}: {line}");
        assert_eq!(access["kind"], kinds[i]);
        assert_eq!(doc["requestId"], access["aws_request_id"], "{mode} #{i}");
        assert!(access["aws_request_id"].is_string());
        assert_eq!(doc["BytesOut"], access["bytes"]);
    }
    let cut = &emf[5];
    assert_eq!(cut["DeadlineCuts"], 1, "{mode}: {cut}");
    let last: serde_json::Value = serde_json::from_str(&lines[5]).expect("json");
    match mode {
        "stream" => {
            assert_eq!(last["end"], "deadline", "{last}");
            assert_eq!(last["complete"], false);
            assert_eq!(cut["AbortedBodies"], 1);
        }
        _ => {
            assert_eq!(last["error"], "deadline", "{last}");
            assert_eq!(cut["Errors5xx"], 1);
        }
    }
    assert!(emf[..5].iter().all(|d| d["DeadlineCuts"] == 0));
    println!("{mode}: 6 invocations, 6 access-log lines, 6 EMF documents");
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_stream_logs_and_emf() {
    invocations_are_logged("stream").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lambda_buffered_logs_and_emf() {
    invocations_are_logged("buffered").await;
}
