//! GetObject and HeadObject as plain signed HTTP requests on one pooled connection pool.
//!
//! Why not the SDK's operations: measured with callgrind, an SDK HeadObject costs about 430,000
//! instructions of orchestration (runtime plugins, interceptors, a signing key derived per
//! request, output deserialisation) against roughly 35,000 for the whole rest of a request.
//! The SDK still does what it is good at, once, at start-up: region, credentials chain and
//! endpoint resolution. Signing is aws-sigv4 (the SDK's own signer), with S3's settings.

use super::StoreError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_smithy_runtime_api::client::identity::Identity;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, SystemTime};
use tokio::sync::Mutex;

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
    region: String,
    provider: Option<SharedCredentialsProvider>,
    cached: Mutex<Option<Credentials>>,
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
        Rest {
            http,
            base,
            region,
            provider,
            cached: Mutex::new(None),
        }
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
        let uri = format!("{}/{}", self.base, encode_key(key));
        let mut req = Request::builder()
            .method(method)
            .uri(&uri)
            .body(Empty::new())
            .map_err(|e| StoreError::Failed(format!("request for {key:?}: {e}")))?;
        *req.headers_mut() = headers.clone();
        req.headers_mut().insert(
            "x-amz-content-sha256",
            HeaderValue::from_static("UNSIGNED-PAYLOAD"),
        );
        let Some(creds) = self.credentials().await? else {
            return Ok(req); // anonymous access (public buckets, test servers)
        };
        let identity = Identity::from(creds);
        let mut settings = SigningSettings::default();
        // S3 signs the path as sent (no double encoding, no normalisation of `..` or `//`).
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region(&self.region)
            .name("s3")
            .time(SystemTime::now())
            .settings(settings)
            .build()
            .map_err(|e| StoreError::Failed(format!("signing parameters: {e}")))?
            .into();
        let header_pairs = req
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
        let signable = SignableRequest::new(
            req.method().as_str(),
            uri.as_str(),
            header_pairs,
            SignableBody::UnsignedPayload,
        )
        .map_err(|e| StoreError::Failed(format!("signing: {e}")))?;
        let (instructions, _) = sign(signable, &params)
            .map_err(|e| StoreError::Failed(format!("signing: {e}")))?
            .into_parts();
        instructions.apply_to_request_http1x(&mut req);
        Ok(req)
    }

    async fn credentials(&self) -> Result<Option<Credentials>, StoreError> {
        let Some(provider) = &self.provider else {
            return Ok(None);
        };
        let mut cached = self.cached.lock().await;
        let fresh = |c: &Credentials| {
            c.expiry()
                .is_none_or(|t| t > SystemTime::now() + REFRESH_MARGIN)
        };
        if let Some(c) = cached.as_ref().filter(|c| fresh(c)) {
            return Ok(Some(c.clone()));
        }
        let creds = provider
            .provide_credentials()
            .await
            .map_err(|e| StoreError::Unavailable(format!("credentials: {e}")))?;
        *cached = Some(creds.clone());
        Ok(Some(creds))
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
