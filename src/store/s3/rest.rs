//! GetObject and HeadObject as plain signed HTTP requests on one pooled connection pool.
//!
//! Why not the SDK's operations: measured with callgrind, an SDK HeadObject costs about 430,000
//! instructions of orchestration (runtime plugins, interceptors, a signing key derived per
//! request, output deserialisation) against roughly 35,000 for the whole rest of a request.
//! The SDK still does what it is good at, once, at start-up: region, credentials chain and
//! endpoint resolution. Signing is [`sigv4`](super::sigv4), checked against aws-sigv4 (the SDK's
//! own signer) in its tests.

use super::answer_headers;
use super::credentials::CredentialCache;
use super::error_answer::ErrorAnswer;
use super::retry::{self, Policy, Quota};
use super::sigv4::{CanonicalRequest, Secret, Signer, TOKEN_SHOWN_AS};
use super::skew::ClockSkew;
use super::StoreError;
use crate::http1::{self, Pool};
use crate::store::ChunkStream;
use futures_util::StreamExt;
use http::{Method, Response, StatusCode};
use std::sync::Arc;
use std::time::SystemTime;

/// Requests to one bucket: `base` is the bucket's URL (path-style `http://host/bucket` or
/// virtual-hosted `https://bucket.s3.region.amazonaws.com`), without a trailing slash.
#[derive(Debug)]
pub(super) struct Rest {
    /// `Err` for a base that is no usable URL: every request then fails with why.
    pool: Result<Arc<Pool>, String>,
    base: String,
    /// The Host header and the path prefix (`/bucket` or empty) that `base` sends.
    host: String,
    path_prefix: String,
    signer: Signer,
    policy: Policy,
    /// Shared by every worker's `Rest` ([`Rest::reopen`]), as the SDK's is by its clients.
    quota: Arc<Quota>,
    /// Sent with every request (S3Store's `user_agent`), unsigned.
    user_agent: String,
    /// `None` for anonymous access. Shared by every worker, as the SDK's identity cache is.
    credentials: Option<Arc<CredentialCache>>,
    /// Shared by every worker, as the SDK's is by its clients.
    skew: Arc<ClockSkew>,
    /// SO_RCVBUF of every connection, kept for [`Rest::reopen`].
    receive_buffer: Option<usize>,
}

/// Who a request is signed as and how: the scheme's signing name and region come from the
/// endpoint rules (endpoint.rs).
#[derive(Debug, Clone)]
pub(super) struct Signing {
    pub(super) name: String,
    pub(super) region: String,
    pub(super) credentials: Option<Arc<CredentialCache>>,
}

impl Rest {
    /// `receive_buffer`: SO_RCVBUF of every connection (`None`: the kernel's autotuning).
    pub(super) fn new(
        base: String,
        signing: Signing,
        policy: Policy,
        user_agent: String,
        receive_buffer: Option<usize>,
    ) -> Rest {
        let uri = http::Uri::try_from(base.as_str()).map_err(|e| format!("S3 URL {base:?}: {e}"));
        let (host, path_prefix) = match &uri {
            Ok(uri) => (
                uri.authority()
                    .map_or_else(String::new, |a| a.as_str().to_owned()),
                uri.path().trim_end_matches('/').to_owned(),
            ),
            Err(_) => (String::new(), String::new()),
        };
        Rest {
            pool: uri
                .and_then(|uri| {
                    let proxy = http1::proxy::from_env(&uri)?;
                    Pool::new(&uri, proxy, answer_headers::kept)
                        .map(|pool| pool.with_receive_buffer(receive_buffer))
                        .map_err(|e| format!("S3 URL {base:?}: {e}"))
                })
                .map(Arc::new),
            base,
            host,
            path_prefix,
            signer: Signer::new(&signing.region, &signing.name),
            policy,
            quota: Arc::new(Quota::new(Quota::CAPACITY)),
            user_agent,
            credentials: signing.credentials,
            skew: Arc::new(ClockSkew::default()),
            receive_buffer,
        }
    }

    /// Why no request can be sent (an unusable URL or proxy), for start-up to refuse.
    pub(super) fn unusable(&self) -> Option<&str> {
        self.pool.as_ref().err().map(String::as_str)
    }

    /// Another `Rest` to the same bucket with its own connection pool; the retry quota, the
    /// credentials and the clock skew are shared.
    pub(super) fn reopen(&self) -> Rest {
        let signing = Signing {
            name: self.signer.service().to_owned(),
            region: self.signer.region().to_owned(),
            credentials: self.credentials.clone(),
        };
        Rest {
            quota: Arc::clone(&self.quota),
            skew: Arc::clone(&self.skew),
            ..Rest::new(
                self.base.clone(),
                signing,
                self.policy,
                self.user_agent.clone(),
                self.receive_buffer,
            )
        }
    }

    /// Sends a signed GET or HEAD for `key` with the extra header `fields`, retrying what
    /// [`retry::classify`] allows while the attempts and the quota last (before any body byte
    /// was read, so a retry is always safe), and once more with fresh credentials when S3
    /// says they expired. Error answers of a GET, and any 5xx or 429, are read for their code
    /// here and returned as errors; other answers go to the caller as they came (a HEAD's 400
    /// and 403 too: they have no body).
    pub(super) async fn send(
        &self,
        method: Method,
        key: &str,
        fields: &[(&'static str, String)],
    ) -> Result<Response<ChunkStream>, StoreError> {
        let pool = self
            .pool
            .as_ref()
            .map_err(|e| StoreError::Failed(e.clone()))?;
        let head_request = method == Method::HEAD;
        let mut held = None;
        let mut failed = 0;
        let mut refreshed = false;
        loop {
            let secret = match &self.credentials {
                Some(cache) => Some(cache.get().await?),
                None => None, // anonymous access (public buckets, test servers)
            };
            let request = self.request_head(&method, key, fields, secret.as_deref())?;
            let sent = SystemTime::now();
            // Connecting and answering have their own deadlines (crate::http1).
            let (error, kind) = match pool.exchange(&request, head_request).await {
                Ok(resp) => {
                    self.skew.record(resp.headers(), sent, SystemTime::now());
                    if !is_read_for_code(resp.status(), head_request) {
                        self.quota.succeeded(held);
                        return Ok(resp.map(into_chunks));
                    }
                    let answer = ErrorAnswer::read(resp).await;
                    let code = answer.code.as_deref();
                    if let (Some(secret), Some(cache)) = (&secret, &self.credentials) {
                        if !refreshed
                            && code.is_some_and(|c| retry::EXPIRED_CREDENTIALS.contains(&c))
                        {
                            tracing::warn!(
                                key,
                                code,
                                "S3 refused the credentials; fetching them again"
                            );
                            cache.invalidate(secret);
                            refreshed = true;
                            continue;
                        }
                    }
                    if let (Some("SignatureDoesNotMatch"), Some(secret)) = (code, &secret) {
                        self.log_signature_mismatch(&request, secret, &answer);
                    }
                    let kind = retry::classify(retry::Met::Answer {
                        status: answer.status.as_u16(),
                        code,
                        skewed: self.skew.is_large(),
                    });
                    (answer.into_error(key), kind)
                }
                Err(e) => (store_error(e), retry::classify(retry::Met::Transport)),
            };
            failed += 1;
            let Some(kind) = kind.filter(|_| failed < self.policy.max_attempts) else {
                return Err(error);
            };
            let Some(cost) = self.quota.take(kind) else {
                tracing::warn!(key, cause = %error, "S3 retry quota spent: not retried");
                return Err(error);
            };
            held = Some(cost);
            tracing::debug!(key, attempt = failed, cause = %error, "S3 request failed; retrying");
            crate::observe::note_retry();
            tokio::time::sleep(self.policy.backoff(failed, fastrand::f64())).await;
        }
    }

    /// The request as written on the wire: request line, the signed headers, `fields`. A
    /// field whose value could not be a header value (a control character) is left out, as
    /// `http::HeaderValue` would refuse it; such a value only comes from a client's header
    /// that should not reach S3 anyway.
    fn request_head(
        &self,
        method: &Method,
        key: &str,
        fields: &[(&'static str, String)],
        secret: Option<&Secret>,
    ) -> Result<Vec<u8>, StoreError> {
        let mut path = String::with_capacity(self.path_prefix.len() + key.len() + 16);
        path.push_str(&self.path_prefix);
        path.push('/');
        encode_key_into(key, &mut path);
        let mut out = Vec::with_capacity(512 + path.len());
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
        out.extend_from_slice(self.host.as_bytes());
        out.extend_from_slice(b"\r\nx-amz-content-sha256: UNSIGNED-PAYLOAD\r\n");
        if is_field_value(&self.user_agent) {
            push_field(&mut out, "user-agent", self.user_agent.as_bytes());
        }
        if let Some(secret) = secret {
            let signed =
                self.signer
                    .sign(method.as_str(), &self.host, &path, secret, self.skew.now());
            let token = signed.security_token;
            let auth_fields = [
                Some(("x-amz-date", signed.amz_date.as_str())),
                token.map(|t| ("x-amz-security-token", t)),
                Some(("authorization", signed.authorization.as_str())),
            ];
            for (name, value) in auth_fields.into_iter().flatten() {
                if !(value.is_ascii() && is_field_value(value)) {
                    return Err(StoreError::Failed(
                        "credentials are not a header value".into(),
                    ));
                }
                push_field(&mut out, name, value.as_bytes());
            }
        }
        for (name, value) in fields {
            if is_field_value(value) {
                push_field(&mut out, name, value.as_bytes());
            }
        }
        out.extend_from_slice(b"\r\n");
        Ok(out)
    }
}

impl Rest {
    /// Logs the canonical request that was signed (the session token masked) and its hash
    /// beside what S3 says it signed: where they differ is why S3 refused the signature.
    fn log_signature_mismatch(&self, request: &[u8], secret: &Secret, answer: &ErrorAnswer) {
        let text = String::from_utf8_lossy(request);
        let mut words = text.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let amz_date = text
            .lines()
            .find_map(|line| line.strip_prefix("x-amz-date: "))
            .unwrap_or("");
        let token = secret.session_token.as_deref().map(str::trim);
        let ours = CanonicalRequest {
            method,
            path,
            host: &self.host,
            amz_date,
            token,
        };
        let (s3_string_to_sign, s3_canonical) = answer.s3_signed.clone().unwrap_or_default();
        let s3_canonical = match token.filter(|t| !t.is_empty()) {
            Some(token) => s3_canonical.replace(token, TOKEN_SHOWN_AS),
            None => s3_canonical,
        };
        tracing::warn!(
            canonical_request = %ours,
            canonical_request_hash = %ours.hash(),
            s3_string_to_sign,
            s3_canonical_request = %s3_canonical,
            "S3 refused the signature (SignatureDoesNotMatch): what was signed, and what S3 \
             expected"
        );
    }
}

/// What `http::HeaderValue` accepts: no control character but tab, no DEL.
fn is_field_value(value: &str) -> bool {
    value
        .bytes()
        .all(|b| b == b'\t' || (b >= b' ' && b != 0x7f))
}

fn push_field(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Answers read for their code here: server errors and 429 (a throttling code makes them
/// retryable; a codeless 429 is not retried, as in the SDK), and a GET's 400 and 403 (expired
/// credentials, clock skew). A HEAD's error answers have no body to read.
fn is_read_for_code(status: StatusCode, head_request: bool) -> bool {
    status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || (!head_request && matches!(status.as_u16(), 400 | 403))
}

/// What a failure of the HTTP/1.1 client means to the store: timeouts are answered 504, a
/// body cut short may be resumed, anything else is S3 failing.
pub(super) fn store_error(e: http1::Error) -> StoreError {
    match e {
        http1::Error::ConnectTimeout(..) | http1::Error::AnswerTimeout(_) => {
            StoreError::Timeout(format!("S3: {e}"))
        }
        http1::Error::BodyCut(_) => StoreError::Interrupted(format!("S3: {e}")),
        e => StoreError::Failed(format!("S3: {e}")),
    }
}

fn into_chunks(body: http1::Body) -> ChunkStream {
    body.map(|chunk| chunk.map_err(store_error)).boxed()
}

/// URI-encodes a key for S3: every byte but unreserved characters and `/`.
#[cfg(test)]
pub(super) fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 8);
    encode_key_into(key, &mut out);
    out
}

/// [`encode_key`], appended to `out`.
fn encode_key_into(key: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => {
                out.push('%');
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 15)]));
            }
        }
    }
}
