//! GetObject and HeadObject as plain signed HTTP requests on one pooled connection pool.
//!
//! Why not the SDK's operations: measured with callgrind, an SDK HeadObject costs about 430,000
//! instructions of orchestration (runtime plugins, interceptors, a signing key derived per
//! request, output deserialisation) against roughly 35,000 for the whole rest of a request.
//! The SDK still does what it is good at, once, at start-up: region, credentials chain and
//! endpoint resolution. Signing is [`sigv4`](super::sigv4), checked against aws-sigv4 (the SDK's
//! own signer) in its tests.

use super::sigv4::{Secret, Signer};
use super::StoreError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

type Https = hyper_rustls::HttpsConnector<HttpConnector>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Until the response head arrives; the body has its own idle timeout (crate::body).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const ATTEMPTS: u32 = 3;
/// Refresh credentials this long before they expire, so no request is signed with a key that
/// expires in flight.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Requests to one bucket: `base` is the bucket's URL (path-style `http://host/bucket` or
/// virtual-hosted `https://bucket.s3.region.amazonaws.com`), without a trailing slash.
#[derive(Debug)]
pub(super) struct Rest {
    http: Client<Https, Empty<Bytes>>,
    base: String,
    /// The Host header and the path prefix (`/bucket` or empty) that `base` sends.
    host: String,
    path_prefix: String,
    signer: Signer,
    provider: Option<SharedCredentialsProvider>,
    cached: Mutex<Option<Cached>>,
    /// Held while fetching credentials, so expiry brings one fetch rather than one per request.
    refreshing: tokio::sync::Mutex<()>,
}

#[derive(Debug)]
struct Cached {
    secret: Arc<Secret>,
    expiry: Option<SystemTime>,
}

impl Rest {
    pub(super) fn new(
        base: String,
        region: String,
        provider: Option<SharedCredentialsProvider>,
    ) -> Rest {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(CONNECT_TIMEOUT));
        http.set_nodelay(true);
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_native_roots() {
            Ok(b) => b,
            Err(e) => {
                // Plain-HTTP endpoints still work; HTTPS fails per request with a TLS error.
                tracing::warn!(cause = %e, "no system CA certificates: HTTPS to S3 will fail");
                hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder()
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                )
            }
        };
        let connector = builder.https_or_http().enable_http1().wrap_connector(http);
        let http = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        let (host, path_prefix) = match http::Uri::try_from(base.as_str()) {
            Ok(uri) => (
                uri.authority()
                    .map_or_else(String::new, |a| a.as_str().to_owned()),
                uri.path().trim_end_matches('/').to_owned(),
            ),
            // Requests to a base that is no URI fail one by one with the parse error.
            Err(_) => (String::new(), String::new()),
        };
        Rest {
            http,
            base,
            host,
            path_prefix,
            signer: Signer::new(&region),
            provider,
            cached: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// Another `Rest` to the same bucket with its own connection pool.
    pub(super) fn reopen(&self) -> Rest {
        Rest::new(
            self.base.clone(),
            self.signer.region().to_owned(),
            self.provider.clone(),
        )
    }

    /// Sends a signed GET or HEAD for `key`, retrying transport failures and 5xx answers
    /// (before any body byte was read, so a retry is always safe).
    pub(super) async fn send(
        &self,
        method: Method,
        key: &str,
        headers: &HeaderMap,
    ) -> Result<Response<Incoming>, StoreError> {
        let mut last = None;
        for attempt in 0..ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(50 << attempt)).await;
            }
            let req = self.signed(method.clone(), key, headers).await?;
            match tokio::time::timeout(ATTEMPT_TIMEOUT, self.http.request(req)).await {
                Err(_) => last = Some(StoreError::Timeout("no answer from S3 within 10 s".into())),
                Ok(Err(e)) => last = Some(transport_error(&e)),
                Ok(Ok(resp)) if resp.status().is_server_error() && attempt + 1 < ATTEMPTS => {
                    last = Some(StoreError::Unavailable(format!(
                        "S3 answered {}",
                        resp.status()
                    )));
                }
                Ok(Ok(resp)) => return Ok(resp),
            }
        }
        Err(last.unwrap_or_else(|| StoreError::Failed("no attempt made".into())))
    }

    async fn signed(
        &self,
        method: Method,
        key: &str,
        headers: &HeaderMap,
    ) -> Result<Request<Empty<Bytes>>, StoreError> {
        let encoded = encode_key(key);
        let uri = format!("{}/{encoded}", self.base);
        let mut req = Request::builder()
            .method(method)
            .uri(&uri)
            .body(Empty::new())
            .map_err(|e| StoreError::Failed(format!("request for {key:?}: {e}")))?;
        *req.headers_mut() = headers.clone();
        let h = req.headers_mut();
        h.insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        let Some(secret) = self.credentials().await? else {
            return Ok(req); // anonymous access (public buckets, test servers)
        };
        let path = format!("{}/{encoded}", self.path_prefix);
        let signed = self.signer.sign(
            req.method().as_str(),
            &self.host,
            &path,
            &secret,
            SystemTime::now(),
        );
        let value = |v: &str| {
            HeaderValue::from_str(v)
                .map_err(|_| StoreError::Failed("credentials are not a header value".into()))
        };
        let h = req.headers_mut();
        // The Host header is the one signed, whatever the client would derive.
        h.insert(http::header::HOST, value(&self.host)?);
        h.insert("x-amz-date", value(&signed.amz_date)?);
        if let Some(token) = &signed.security_token {
            h.insert("x-amz-security-token", value(token.trim())?);
        }
        h.insert(http::header::AUTHORIZATION, value(&signed.authorization)?);
        Ok(req)
    }

    async fn credentials(&self) -> Result<Option<Arc<Secret>>, StoreError> {
        let Some(provider) = &self.provider else {
            return Ok(None);
        };
        if let Some(secret) = self.fresh() {
            return Ok(Some(secret));
        }
        let _one_fetch = self.refreshing.lock().await;
        if let Some(secret) = self.fresh() {
            return Ok(Some(secret)); // another request fetched them meanwhile
        }
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| StoreError::Unavailable(format!("credentials: {e}")))?;
        let secret = Arc::new(Secret {
            access_key_id: creds.access_key_id().to_owned(),
            secret_access_key: creds.secret_access_key().to_owned(),
            session_token: creds.session_token().map(str::to_owned),
        });
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) = Some(Cached {
            secret: Arc::clone(&secret),
            expiry: creds.expiry(),
        });
        Ok(Some(secret))
    }

    /// The cached credentials while they have more than the refresh margin left.
    fn fresh(&self) -> Option<Arc<Secret>> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let c = cached.as_ref()?;
        let fresh = c
            .expiry
            .is_none_or(|t| t > SystemTime::now() + REFRESH_MARGIN);
        fresh.then(|| Arc::clone(&c.secret))
    }
}

/// A request that got no answer: a timeout (504 upstream) or an unreachable store (502).
fn transport_error(e: &hyper_util::client::legacy::Error) -> StoreError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return StoreError::Timeout(format!("connecting to S3: {io}"));
            }
        }
        source = err.source();
    }
    StoreError::Failed(format!("S3 unreachable: {e:?}"))
}

/// Reads an error answer's `<Code>` (bounded: an error body is a few hundred bytes).
pub(super) async fn error_code(resp: Response<Incoming>) -> (StatusCode, Option<String>) {
    let status = resp.status();
    let body = Limited::new(resp.into_body(), 64 * 1024).collect().await;
    let code = body.ok().and_then(|b| {
        let text = String::from_utf8_lossy(&b.to_bytes()).into_owned();
        let start = text.find("<Code>")? + "<Code>".len();
        let end = start + text[start..].find("</Code>")?;
        Some(text[start..end].to_owned())
    });
    (status, code)
}

/// URI-encodes a key for S3: every byte but unreserved characters and `/`.
pub(super) fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 8);
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
