//! The admin listener of `serve` (`--admin-listen`): what an orchestrator and a Prometheus
//! server ask. Runs on a thread of its own, so that it keeps answering while the workers
//! drain (when `/readyz` must say so).
//!
//! - `/metrics`: the process's metrics ([`crate::observe::metrics`]) in the Prometheus text
//!   format, or OpenMetrics when the scraper's Accept asks for it;
//! - `/healthz`: 200 while the process runs;
//! - `/readyz`: 200 while the store answers and the process is not draining, else 503 with
//!   the reason ([`crate::observe::health`]).

use crate::observe::{health, metrics};
use bytes::Bytes;
use http::header::{ACCEPT, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::time::Duration;
use tokio::net::TcpListener;

/// Serves the admin endpoints on `listener` until the process ends.
pub async fn run(listener: TcpListener) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!(error = %e, "admin accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(10))
            .serve_connection(
                TokioIo::new(stream),
                service_fn(|req| async move { Ok::<_, Infallible>(answer(&req)) }),
            );
        tokio::spawn(async move {
            let _ = conn.await;
        });
    }
}

/// The answer to one admin request.
pub fn answer<B>(req: &Request<B>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed\n".into(),
        );
        r.headers_mut()
            .insert(ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    match req.uri().path() {
        "/metrics" => {
            let openmetrics = req
                .headers()
                .get_all(ACCEPT)
                .iter()
                .any(|v| v.as_bytes().starts_with(b"application/openmetrics-text"));
            let (content_type, body) = metrics::global().exposition(openmetrics);
            let mut r = text(StatusCode::OK, body);
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            r
        }
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" => match health::global().ready() {
            Ok(()) => text(StatusCode::OK, "ready\n".into()),
            Err(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
