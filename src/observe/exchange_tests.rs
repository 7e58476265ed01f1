use super::*;
use crate::body::ObjectBody;
use crate::observe::{LogFormat, Sink};
use http_body_util::BodyExt;

/// An observer that keeps its JSON lines, and the lines.
fn observer() -> (Observer, Arc<Mutex<Vec<String>>>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let observer = Observer {
        access_log: Some((LogFormat::Json, Sink::Memory(lines.clone()))),
        emf: None,
    };
    (observer, lines)
}

fn only_line(lines: &Mutex<Vec<String>>) -> serde_json::Value {
    let lines = lines.lock().expect("lines");
    assert_eq!(lines.len(), 1, "{lines:?}");
    serde_json::from_str(&lines[0]).expect("json")
}

fn request(method: &str) -> http::Request<()> {
    http::Request::builder()
        .method(method)
        .uri("/a.bin?sig=secret")
        .header("range", "bytes=0-2")
        .body(())
        .expect("request")
}

async fn answer(status: u16, body: &'static str) -> http::Response<ObjectBody> {
    let mut r = http::Response::new(ObjectBody::text(body));
    *r.status_mut() = http::StatusCode::from_u16(status).expect("status");
    r.headers_mut()
        .insert(http::header::CONTENT_LENGTH, body.len().into());
    r
}

#[tokio::test]
async fn a_body_sent_to_its_end_is_complete_and_counted() {
    let (observer, lines) = observer();
    let exchange = observer.start(Start::default());
    let response = exchange.run(request("GET"), |_| answer(206, "abc")).await;
    let body = response.map(|b| exchange.body(b)).into_body();
    let sent = body.collect().await.expect("body").to_bytes();
    assert_eq!(&sent[..], b"abc");
    let v = only_line(&lines);
    assert_eq!(v["status"], 206);
    assert_eq!(v["bytes"], 3);
    assert_eq!(v["length"], 3);
    assert_eq!(v["complete"], true);
    assert_eq!(v["kind"], "range");
    assert_eq!(v["path"], "/a.bin", "no query");
}

#[tokio::test]
async fn a_body_given_up_is_the_clients_doing() {
    let (observer, lines) = observer();
    let exchange = observer.start(Start::default());
    let response = exchange.run(request("GET"), |_| answer(200, "abc")).await;
    drop(response.map(|b| exchange.body(b)));
    let v = only_line(&lines);
    assert_eq!(
        (v["complete"].clone(), v["end"].clone()),
        (false.into(), "client".into())
    );
    assert_eq!(v["bytes"], 0);
}

#[tokio::test]
async fn a_head_answer_is_complete_without_being_polled() {
    let (observer, lines) = observer();
    let exchange = observer.start(Start::default());
    let response = exchange.run(request("HEAD"), |_| answer(200, "abc")).await;
    drop(response.map(|b| exchange.body(b)));
    let v = only_line(&lines);
    assert_eq!(v["complete"], true);
    assert_eq!(v["kind"], "head");
}

#[tokio::test]
async fn a_client_gone_before_the_head_is_499_not_a_5xx() {
    let (observer, lines) = observer();
    let exchange = observer.start(Start::default());
    let pending = exchange.run(request("GET"), |_| {
        std::future::pending::<http::Response<ObjectBody>>()
    });
    // The transport drops the request's future when its client goes away.
    let _ = tokio::time::timeout(std::time::Duration::from_millis(10), pending).await;
    drop(exchange);
    let v = only_line(&lines);
    assert_eq!(v["status"], 499);
    assert_eq!(v["error"], "client_gone");
}
