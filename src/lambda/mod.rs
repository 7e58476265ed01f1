//! The AWS Lambda transport: Function URL events in, responses out through the Runtime API,
//! served by the same [`Origin`] as the HTTP server.
//!
//! The invocation loop is ours, over `lambda_runtime_api_client` (the Runtime API client that
//! lambda_runtime itself uses), because lambda_runtime's runner cannot fail a response stream
//! without writing the error into the body (see [`wire`]). It is the Runtime API's documented
//! loop: `GET .../invocation/next`, then `POST .../invocation/{id}/response` (or `/error` for
//! an event that is not a Function URL request).
//!
//! Two invoke modes, one per Function URL (see the deploy template):
//! - `stream` (RESPONSE_STREAM): chunks are forwarded as they arrive; bodies are limited to
//!   [`STREAM_MAX_BODY`], below the platform's 200 MB.
//! - `buffered` (BUFFERED): a normal JSON response with a real Content-Length, which CloudFront
//!   needs to serve and cache ranges; bodies are limited to [`BUFFERED_MAX_BODY`] so that the
//!   base64 JSON stays under the 6 MB payload limit.
//!
//! Over the limit, a range is answered with its first part (206 with the Content-Range sent),
//! and a whole object with 501 and a message asking for ranges.
//!
//! The function's deadline (`Lambda-Runtime-Deadline-Ms`): a stream still running a second
//! before it is cut off after a correct prefix ([`wire::StreamedInvocation`]); a buffered answer
//! not ready by then is a 504, sent in time.

pub mod event;
pub mod wire;

use crate::observe::Start;
use crate::service::Origin;
use bytes::Bytes;
use http::{Method, Request, Uri};
use http_body_util::BodyExt;
use lambda_runtime_api_client::body::Body;
use lambda_runtime_api_client::{build_request, PooledClient};
use std::time::Instant;

/// Most body bytes of a streamed response: 190 MiB, under the 200 MB streaming limit however
/// "MB" is counted, with room for the prelude.
pub const STREAM_MAX_BODY: u64 = 190 * 1024 * 1024;

/// Most body bytes of a buffered response: 4 MiB is 5.6 MB in base64, leaving room for
/// headers under the 6 MB (6,291,456 bytes) payload limit.
pub const BUFFERED_MAX_BODY: u64 = 4 * 1024 * 1024;

/// How responses go back to the Runtime API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InvokeMode {
    /// Response streaming (Function URL InvokeMode RESPONSE_STREAM).
    Stream,
    /// One JSON response (Function URL InvokeMode BUFFERED).
    Buffered,
}

impl InvokeMode {
    /// The body budget of this mode.
    pub fn max_body(self) -> u64 {
        match self {
            InvokeMode::Stream => STREAM_MAX_BODY,
            InvokeMode::Buffered => BUFFERED_MAX_BODY,
        }
    }

    /// Range-specs one request may hold in this mode (`configured`: `--max-ranges`). A
    /// streamed answer reaches CloudFront chunked, and to a Range answered chunked CloudFront
    /// "returns the entire object to the viewer instead of the requested range" (Developer
    /// Guide, RangeGETs): what it would do with a multipart body there is not documented, and
    /// such a body must never be taken for the object. So in stream mode several ranges get
    /// the whole object (200), which CloudFront caches and then serves ranges from.
    pub fn max_ranges(self, configured: usize) -> usize {
        match self {
            InvokeMode::Stream => 1,
            InvokeMode::Buffered => configured,
        }
    }
}

/// Why the runtime stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LambdaError {
    /// `AWS_LAMBDA_RUNTIME_API` is missing or not a host:port.
    #[error("AWS_LAMBDA_RUNTIME_API is not a host:port or URL")]
    NoRuntimeApi,
    /// The Runtime API could not be reached or answered oddly.
    #[error("runtime API: {0}")]
    RuntimeApi(String),
}

/// The error with its whole source chain: "client error (SendRequest)" alone says nothing.
fn api_error(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> LambdaError {
    let e: Box<dyn std::error::Error + Send + Sync> = e.into();
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    LambdaError::RuntimeApi(text)
}

/// Serves invocations from the Runtime API at `api` (`host:port`, the value of
/// `AWS_LAMBDA_RUNTIME_API`) until it goes away. `started` is when the process began, for the
/// init-time log line.
///
/// # Errors
/// When the Runtime API cannot be reached for the next event ([`NEXT_ATTEMPTS`] times); Lambda
/// then restarts the environment.
pub async fn run(
    api: &str,
    origin: Origin,
    mode: InvokeMode,
    started: Instant,
) -> Result<(), LambdaError> {
    // Lambda sets host:port; emulators (cargo lambda watch) set a URL with a path prefix.
    let base = match api.contains("://") {
        true => api.to_owned(),
        false => format!("http://{api}"),
    };
    let base: Uri = base.parse().map_err(|_| LambdaError::NoRuntimeApi)?;
    if base.authority().is_none() {
        return Err(LambdaError::NoRuntimeApi);
    }
    let client = PooledClient::builder().with_endpoint(base).build();
    tracing::info!(
        ?mode,
        init_ms = started.elapsed().as_millis() as u64,
        "lambda runtime ready"
    );
    loop {
        let Invocation {
            id,
            payload,
            deadline,
        } = next_event(&client).await?;
        let request = match event::to_request(&payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(request_id = id, cause = %e, "unusable event");
                let body = Bytes::from(error_body(&e.to_string()));
                post_again_once(&client, &id, || error_post(&id, body.clone())).await;
                continue;
            }
        };
        let exchange = origin.observer().start(Start {
            client: None,
            aws_request_id: Some(id.clone()),
        });
        let max_body = Some(mode.max_body());
        let response = exchange.run(request, |r| origin.handle_limited(r, max_body));
        let observed = async { response.await.map(|b| exchange.clone().body(b)) };
        match mode {
            InvokeMode::Stream => {
                if let Err(e) = stream(&client, &id, observed.await, deadline).await {
                    answer_lost(&id, &e);
                }
            }
            InvokeMode::Buffered => {
                let json = Bytes::from(wire::buffered(observed, &exchange, deadline).await);
                let request = || {
                    response_post(&id)
                        .body(Body::from(json.clone()))
                        .map_err(api_error)
                };
                post_again_once(&client, &id, request).await;
            }
        }
    }
}

/// A failed POST loses this invocation's answer (Lambda times it out), not the function: the
/// next `next` shows whether the Runtime API is still there. Exiting instead would leave a
/// runtime that nothing restarts (an emulator) without an answer for every later event.
fn answer_lost(id: &str, e: &LambdaError) {
    tracing::error!(request_id = id, cause = %e, "the answer could not be posted");
}

/// Posts a body held in memory, once more if the connection failed: a pooled connection the
/// Runtime API closed as it was reused fails the request without an answer (seen with
/// `cargo lambda watch` on a busy machine). A copy that did arrive twice is refused (4xx,
/// logged), which is harmless.
async fn post_again_once(
    client: &PooledClient,
    id: &str,
    request: impl Fn() -> Result<Request<Body>, LambdaError>,
) {
    let attempt = || async { post(client, request()?).await };
    let Err(e) = attempt().await else { return };
    tracing::warn!(request_id = id, cause = %e, "posting the answer again");
    if let Err(e) = attempt().await {
        answer_lost(id, &e);
    }
}

/// Streams one answer; returns once its body has ended, been given up or cut off.
async fn stream(
    client: &PooledClient,
    id: &str,
    response: http::Response<wire::ObservedBody>,
    deadline: Option<tokio::time::Instant>,
) -> Result<(), LambdaError> {
    let (body, finished) = wire::StreamedInvocation::new(response, deadline);
    let posted = post(client, stream_post(id, body)?).await;
    // The Runtime API may answer before it has read the whole stream (the emulator does):
    // the next event waits until our body has ended.
    let ended = finished.await.unwrap_or(wire::Ended::Sent);
    match (posted, ended) {
        // Cutting the body off fails the POST: that was the point.
        (Err(_), wire::Ended::Aborted) => Ok(()),
        (posted, _) => posted,
    }
}

/// One event from `next`.
struct Invocation {
    id: String,
    payload: Bytes,
    /// From `Lambda-Runtime-Deadline-Ms`, when the Runtime API sends it.
    deadline: Option<tokio::time::Instant>,
}

/// The deadline in Unix milliseconds as an instant of this process's clock. One already past
/// when the event arrives is no deadline Lambda would set (`cargo lambda watch` sends the
/// constant 600000): it is ignored rather than cutting every stream off at once.
fn deadline(headers: &http::HeaderMap) -> Option<tokio::time::Instant> {
    let ms: u64 = headers
        .get("lambda-runtime-deadline-ms")?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    let left = at.duration_since(std::time::SystemTime::now()).ok()?;
    Some(tokio::time::Instant::now() + left)
}

/// Attempts at `next` before the runtime gives up and exits (Lambda then restarts it).
const NEXT_ATTEMPTS: u32 = 5;

/// The next event. A request that failed before any answer is asked again, after 10, 40, 160
/// and 640 ms: the Runtime API handed nothing out on it, and a pooled connection it closed just
/// as it was reused fails exactly so.
async fn next_event(client: &PooledClient) -> Result<Invocation, LambdaError> {
    let mut pause = std::time::Duration::from_millis(10);
    let mut attempt = 1;
    let response = loop {
        let req = build_request()
            .method(Method::GET)
            .uri("/2018-06-01/runtime/invocation/next")
            .body(Body::empty())
            .map_err(api_error)?;
        match client.call(req).await {
            Ok(response) => break response,
            Err(e) if attempt < NEXT_ATTEMPTS => {
                tracing::warn!(attempt, cause = %api_error(e), "asking the runtime API again for the next event");
                tokio::time::sleep(pause).await;
                pause *= 4;
                attempt += 1;
            }
            Err(e) => return Err(api_error(e)),
        }
    };
    let id = response
        .headers()
        .get("lambda-runtime-aws-request-id")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| api_error("next invocation without a request id"))?
        .to_owned();
    let deadline = deadline(response.headers());
    let payload = response
        .into_body()
        .collect()
        .await
        .map_err(api_error)?
        .to_bytes();
    Ok(Invocation {
        id,
        payload,
        deadline,
    })
}

fn response_post(id: &str) -> http::request::Builder {
    build_request()
        .method(Method::POST)
        .uri(format!("/2018-06-01/runtime/invocation/{id}/response"))
}

fn stream_post(id: &str, body: wire::StreamedInvocation) -> Result<Request<Body>, LambdaError> {
    response_post(id)
        .header("lambda-runtime-function-response-mode", "streaming")
        .header(
            "content-type",
            "application/vnd.awslambda.http-integration-response",
        )
        .header("transfer-encoding", "chunked")
        .body(Body::new(body))
        .map_err(api_error)
}

fn error_body(message: &str) -> String {
    serde_json::json!({ "errorType": "InvalidEvent", "errorMessage": message }).to_string()
}

fn error_post(id: &str, body: Bytes) -> Result<Request<Body>, LambdaError> {
    build_request()
        .method(Method::POST)
        .uri(format!("/2018-06-01/runtime/invocation/{id}/error"))
        .header("lambda-runtime-function-error-type", "InvalidEvent")
        .body(Body::from(body))
        .map_err(api_error)
}

async fn post(client: &PooledClient, req: Request<Body>) -> Result<(), LambdaError> {
    let response = client.call(req).await.map_err(api_error)?;
    let status = response.status();
    // Drain the (tiny) answer so the connection can be reused.
    let _ = response.into_body().collect().await;
    if !status.is_success() {
        // 4xx here means this invocation's answer was refused (for example the payload was
        // too large); the loop goes on with the next event.
        tracing::error!(%status, "runtime API refused the response");
    }
    Ok(())
}
