//! A stand-in for the Function URL frontend in buffered mode: an HTTP/1.1 server on loopback
//! that turns each request into a Function URL event (payload format 2.0), hands it to the
//! real `imgorigin` binary through [`FakeRuntimeApi`] (one invocation at a time, as one Lambda
//! instance), and turns the buffered JSON answer back into an HTTP response.
//!
//! Why not `cargo lambda watch` (1.9.2): its Runtime API answers the function's
//! `POST .../invocation/{id}/response` with 200 before reading the body, and about 1 in 8
//! buffered answers of a few hundred KB never reached the HTTP client (the function sent every
//! byte, the emulator received them). [`FakeRuntimeApi`] reads the whole POST first.
//!
//! As AWS does: repeated request headers joined with ", ", Cookie moved to `cookies`, the
//! answer's `cookies` sent as Set-Cookie lines, Content-Length set from the decoded body, a
//! function error answered 502. Request bodies are not passed on (the origin refuses those
//! methods unread). A HEAD answer keeps the function's Content-Length: what AWS does with it
//! is not verified (docs/lambda.md).

use super::runtime_api::{event_with_query, FakeRuntimeApi};
use base64::Engine;
use bytes::Bytes;
use http::header::{CONTENT_LENGTH, COOKIE, SET_COOKIE};
use http::{Method, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Child, Stdio};
use std::sync::Arc;
use tokio::sync::Mutex;

/// The front and the function behind it; both stop when this is dropped.
pub struct FunctionUrl {
    pub addr: SocketAddr,
    /// The function's stdout: access-log lines and EMF documents.
    pub log: super::procs::LogLines,
    function: Child,
    server: tokio::task::JoinHandle<()>,
}

impl FunctionUrl {
    /// Starts a fake Runtime API, the function on it with `env` (buffered mode is the
    /// caller's `IMGORIGIN_INVOKE_MODE`), and the front on 127.0.0.1.
    pub async fn start(env: &[(&str, String)]) -> FunctionUrl {
        let api = FakeRuntimeApi::start().await;
        let mut function = super::procs::imgorigin_command()
            .env("AWS_LAMBDA_RUNTIME_API", api.host_port())
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .stdout(Stdio::piped())
            .spawn()
            .expect("start imgorigin as a Lambda function");
        let log = super::procs::LogLines::collect(function.stdout.take().expect("stdout"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let api = Arc::new(Mutex::new(api));
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = api.clone();
                let service = hyper::service::service_fn(move |req| invoke(api.clone(), req));
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service),
                );
            }
        });
        FunctionUrl {
            addr,
            log,
            function,
            server,
        }
    }
}

impl Drop for FunctionUrl {
    fn drop(&mut self) {
        self.server.abort();
        let _ = self.function.kill();
        let _ = self.function.wait();
    }
}

async fn invoke(
    api: Arc<Mutex<FakeRuntimeApi>>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut cookies: Vec<String> = Vec::new();
    for (name, value) in req.headers() {
        let value = String::from_utf8_lossy(value.as_bytes());
        if name == COOKIE {
            let each = value.split(';').map(str::trim).filter(|c| !c.is_empty());
            cookies.extend(each.map(str::to_owned));
        } else if let Some((_, v)) = headers.iter_mut().find(|(n, _)| n == name.as_str()) {
            *v = format!("{v}, {value}");
        } else {
            headers.push((name.as_str().to_owned(), value.into_owned()));
        }
    }
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (&**k, &**v)).collect();
    let (method, uri) = (req.method().as_str(), req.uri());
    let query = uri.query().unwrap_or("");
    let event = event_with_query(method, uri.path(), query, &pairs);
    let mut event: serde_json::Value = serde_json::from_slice(&event).expect("event");
    if !cookies.is_empty() {
        event["cookies"] = cookies.into();
    }
    let event = event.to_string().into_bytes();
    let post = api.lock().await.invoke(event).await;
    if post.path.ends_with("/error") {
        let body = Full::new(Bytes::from_static(b"Internal Server Error"));
        return Ok(Response::builder().status(502).body(body).expect("502"));
    }
    let json = post.json();
    let text = json["body"].as_str().unwrap_or("");
    let body = match json["isBase64Encoded"].as_bool() {
        Some(true) => base64::engine::general_purpose::STANDARD
            .decode(text)
            .expect("base64 body"),
        _ => text.as_bytes().to_vec(),
    };
    let status = json["statusCode"].as_u64().unwrap_or(200);
    let mut response = Response::builder().status(status as u16);
    let fields = json["headers"].as_object().into_iter().flatten();
    for (name, value) in fields.filter_map(|(n, v)| Some((n, v.as_str()?))) {
        if *req.method() == Method::HEAD || !name.eq_ignore_ascii_case(CONTENT_LENGTH.as_str()) {
            response = response.header(name, value);
        }
    }
    for cookie in json["cookies"].as_array().into_iter().flatten() {
        response = response.header(SET_COOKIE, cookie.as_str().unwrap_or(""));
    }
    // hyper sets Content-Length from the body (and none on 204 and 304).
    let body = match *req.method() {
        Method::HEAD => Bytes::new(),
        _ => Bytes::from(body),
    };
    Ok(response.body(Full::new(body)).expect("response"))
}
