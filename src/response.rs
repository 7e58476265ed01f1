//! Domain outcomes to HTTP responses. Every status imgorigin sends is chosen here, including the
//! one mapping from [`RequestError`] (and so from [`StoreError`]) to a status.

use crate::access::Denied;
use crate::body::ObjectBody;
use crate::config::Config;
use crate::key::KeyError;
use crate::meta::ObjectMeta;
use crate::query::QueryError;
use crate::range::ByteSpan;
use crate::store::StoreError;
use crate::transform::TransformError;
use crate::validators::EntityTag;
use http::header::{
    ACCEPT_RANGES, ALLOW, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_ENCODING, CONTENT_LANGUAGE,
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, EXPIRES, LAST_MODIFIED, RETRY_AFTER,
};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use std::borrow::Cow;
use std::time::SystemTime;

/// Why a request failed before any object byte was sent.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The path names no valid key.
    #[error("bad path: {0}")]
    BadPath(#[from] KeyError),
    /// The query does not read (a bad escape, one of our names spelled with escapes).
    #[error("bad query: {0}")]
    BadQuery(#[from] QueryError),
    /// Not GET or HEAD (or OPTIONS with CORS).
    #[error("method not allowed")]
    MethodNotAllowed,
    /// A preflight from an origin or for a method that is not allowed.
    #[error("CORS preflight refused")]
    PreflightRefused,
    /// The whole object (this many bytes) does not fit the transport's response budget.
    #[error("object of {0} bytes exceeds the response size limit")]
    TooLarge(u64),
    /// Refused by the access rules before any store call.
    #[error("access denied: {0}")]
    Denied(#[from] Denied),
    /// The store could not answer.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A transform was refused or failed.
    #[error(transparent)]
    Transform(#[from] TransformError),
    /// An IIIF image or information request that cannot be served as asked.
    #[error("IIIF: {0}")]
    Iiif(#[from] crate::iiif::IiifError),
}

/// A TIFF source that cannot be served: the object's fault (422), a layout the service does
/// not read (501), or the store's own error.
impl From<crate::iiif::tiff::TiffError> for RequestError {
    fn from(e: crate::iiif::tiff::TiffError) -> Self {
        use crate::iiif::tiff::TiffError as T;
        match e {
            T::Store(e) => RequestError::Store(e),
            T::NotTiff => TransformError::Malformed("not a TIFF file".into()).into(),
            T::Malformed(m) => TransformError::Malformed(format!("TIFF: {m}")).into(),
            T::Unsupported(reason) => {
                tracing::info!(%reason, "TIFF source in a layout not served");
                crate::iiif::IiifError::TiffUnsupported.into()
            }
        }
    }
}

impl RequestError {
    /// A short stable word for the access log and metrics: what kind of failure this was.
    pub fn class(&self) -> &'static str {
        match self {
            RequestError::BadPath(_) => "bad_path",
            RequestError::BadQuery(_) => "bad_query",
            RequestError::MethodNotAllowed => "method",
            RequestError::PreflightRefused => "preflight",
            RequestError::TooLarge(_) => "too_large",
            RequestError::Denied(Denied::NotAllowed) => "not_allowed",
            RequestError::Denied(Denied::OriginLock) => "origin_lock",
            RequestError::Denied(Denied::Signature(_)) => "signature",
            RequestError::Store(e) => match e {
                StoreError::NotFound(_) => "not_found",
                StoreError::Changed => "store_changed",
                StoreError::Unavailable(_) => "store_unavailable",
                StoreError::Timeout(_) => "store_timeout",
                StoreError::Interrupted(_) | StoreError::Failed(_) => "store_failed",
            },
            RequestError::Transform(e) => match e {
                TransformError::Param(_) => "transform_param",
                TransformError::Unsupported(_) => "transform_unsupported",
                TransformError::Malformed(_) => "transform_malformed",
                TransformError::TooManyPixels { .. }
                | TransformError::TooLarge { .. }
                | TransformError::TooComplex(_) => "transform_limit",
                TransformError::Busy => "busy",
                TransformError::Encode(_) => "transform_encode",
            },
            RequestError::Iiif(_) => "iiif_request",
        }
    }
}

/// Status, short public text, and extra headers for an error. Texts say what a client can act
/// on and nothing about internals (the log has the cause).
pub fn error(err: &RequestError, config: &Config) -> Response<ObjectBody> {
    let (status, text): (StatusCode, Cow<'static, str>) = match err {
        RequestError::Transform(e) => transform_status(e),
        // The spec's status (IIIF §7.3); the text says which parameter, nothing internal.
        RequestError::Iiif(e) => (e.status(), Cow::Owned(format!("{e}\n"))),
        other => {
            let (status, text) = status_text(other);
            (status, Cow::Borrowed(text))
        }
    };
    let length = text.len();
    let mut response = Response::new(match text {
        Cow::Borrowed(t) => ObjectBody::text(t),
        Cow::Owned(t) => ObjectBody::bytes(t.into()),
    });
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(CONTENT_LENGTH, HeaderValue::from(length));
    let cache = match status {
        StatusCode::NOT_FOUND => config.not_found_cache_control.clone(),
        _ => HeaderValue::from_static("no-store"),
    };
    h.insert(CACHE_CONTROL, cache);
    match status {
        StatusCode::SERVICE_UNAVAILABLE => {
            h.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        StatusCode::METHOD_NOT_ALLOWED => {
            h.insert(ALLOW, HeaderValue::from_static(ALLOWED));
        }
        _ => {}
    }
    response
}

/// Transform refusals: what the client sent is wrong (400), the source is not an image we
/// read (415), or it is one we will not decode (422, with the reason, which is about the
/// image and not about us). Encoder failures are ours (500) and say nothing more.
fn transform_status(e: &TransformError) -> (StatusCode, Cow<'static, str>) {
    let said = |status, e: &TransformError| (status, Cow::Owned(format!("{e}\n")));
    match e {
        TransformError::Param(_) => said(StatusCode::BAD_REQUEST, e),
        TransformError::Unsupported(_) => (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "source is not an image this server transforms (JPEG, PNG, WebP, GIF)\n".into(),
        ),
        TransformError::Malformed(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "source image is malformed or truncated\n".into(),
        ),
        TransformError::TooManyPixels { .. }
        | TransformError::TooLarge { .. }
        | TransformError::TooComplex(_) => said(StatusCode::UNPROCESSABLE_ENTITY, e),
        TransformError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "busy transforming other images, retry shortly\n".into(),
        ),
        TransformError::Encode(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not encode the image\n".into(),
        ),
    }
}

/// Status and fixed text of every other error.
fn status_text(err: &RequestError) -> (StatusCode, &'static str) {
    match err {
        RequestError::Transform(_) | RequestError::Iiif(_) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "error\n")
        }
        RequestError::BadPath(_) => (
            StatusCode::BAD_REQUEST,
            "bad request: invalid object path\n",
        ),
        RequestError::BadQuery(_) => (
            StatusCode::BAD_REQUEST,
            "bad request: invalid query (percent-escapes, or an escaped parameter name)\n",
        ),
        RequestError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n"),
        // 501: this transport lacks the functionality (RFC 9110 §15.6.2); the object is fine
        // and a Range request (or the container server) gets it.
        RequestError::TooLarge(_) => (
            StatusCode::NOT_IMPLEMENTED,
            "object too large for one response here: request it in byte ranges\n",
        ),
        RequestError::PreflightRefused => {
            (StatusCode::FORBIDDEN, "cross-origin request not allowed\n")
        }
        // A key outside the allowed ones looks exactly like a missing object.
        RequestError::Denied(Denied::NotAllowed) => (StatusCode::NOT_FOUND, "not found\n"),
        RequestError::Denied(Denied::Signature(e)) if e.word() == "expired" => {
            (StatusCode::FORBIDDEN, "expired\n")
        }
        RequestError::Denied(_) => (StatusCode::FORBIDDEN, "forbidden\n"),
        RequestError::Store(e) => match e {
            StoreError::NotFound(_) => (StatusCode::NOT_FOUND, "not found\n"),
            StoreError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage busy, retry shortly\n",
            ),
            StoreError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "storage timed out\n"),
            StoreError::Changed | StoreError::Interrupted(_) | StoreError::Failed(_) => {
                (StatusCode::BAD_GATEWAY, "storage error\n")
            }
        },
    }
}

/// Validator headers shared by 200, 206 and 304 (RFC 9110 §15.4.5 lists what a 304 carries).
fn validators(h: &mut HeaderMap, etag: Option<&EntityTag>, last_modified: Option<SystemTime>) {
    // From a String, HeaderValue keeps the allocation instead of copying it.
    if let Some(v) = etag.and_then(|t| HeaderValue::try_from(t.to_header_string()).ok()) {
        h.insert(ETAG, v);
    }
    if let Some(v) =
        last_modified.and_then(|t| HeaderValue::try_from(httpdate::fmt_http_date(t)).ok())
    {
        h.insert(LAST_MODIFIED, v);
    }
}

fn cache_control(stored: Option<&str>, config: &Config) -> HeaderValue {
    stored
        .and_then(|s| HeaderValue::from_str(s).ok())
        .unwrap_or_else(|| config.cache_control.clone())
}

/// A 304 with ETag, Last-Modified, Cache-Control and the stored Expires, no body (what a 200
/// would carry of RFC 9110 §15.4.5's list).
pub fn not_modified(
    etag: Option<&EntityTag>,
    last_modified: Option<SystemTime>,
    stored_cache_control: Option<&str>,
    stored_expires: Option<&str>,
    config: &Config,
) -> Response<ObjectBody> {
    let mut response = Response::new(ObjectBody::empty());
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    let h = response.headers_mut();
    validators(h, etag, last_modified);
    h.insert(CACHE_CONTROL, cache_control(stored_cache_control, config));
    insert_stored(h, EXPIRES, stored_expires);
    response
}

/// Sends a stored header as it was stored; one that is no valid header value is left out.
fn insert_stored(h: &mut HeaderMap, name: HeaderName, value: Option<&str>) {
    if let Some(v) = value.and_then(|v| HeaderValue::from_str(v).ok()) {
        h.insert(name, v);
    }
}

/// 412, no body: the client's precondition is false, nothing to show.
pub fn precondition_failed() -> Response<ObjectBody> {
    let mut response = Response::new(ObjectBody::empty());
    *response.status_mut() = StatusCode::PRECONDITION_FAILED;
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(0));
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 416 with `Content-Range: bytes */len` (RFC 9110 §15.5.17).
pub fn unsatisfiable(meta: &ObjectMeta) -> Response<ObjectBody> {
    let mut response = Response::new(ObjectBody::empty());
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    let h = response.headers_mut();
    h.insert(CONTENT_RANGE, content_range(None, meta.len));
    h.insert(CONTENT_LENGTH, HeaderValue::from(0));
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Headers of a 200 (`partial` = None) or 206; the body is attached by the caller.
pub fn object(
    meta: &ObjectMeta,
    partial: Option<ByteSpan>,
    config: &Config,
    body: ObjectBody,
) -> Response<ObjectBody> {
    let mut response = Response::new(body);
    let h = response.headers_mut();
    let content_type = HeaderValue::from_str(meta.sent_content_type())
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    h.insert(CONTENT_TYPE, content_type);
    validators(h, Some(&meta.etag), meta.last_modified);
    h.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        CACHE_CONTROL,
        cache_control(meta.cache_control.as_deref(), config),
    );
    let s = &meta.stored;
    insert_stored(h, CONTENT_ENCODING, s.content_encoding.as_deref());
    insert_stored(h, CONTENT_DISPOSITION, s.content_disposition.as_deref());
    insert_stored(h, CONTENT_LANGUAGE, s.content_language.as_deref());
    insert_stored(h, EXPIRES, s.expires.as_deref());
    let length = match partial {
        Some(span) => {
            h.insert(CONTENT_RANGE, content_range(Some(span), meta.len));
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            span.len()
        }
        None => meta.len,
    };
    response
        .headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The methods every resource allows.
const ALLOWED: &str = "GET, HEAD, OPTIONS";

/// An OPTIONS that is not a CORS preflight (RFC 9110 §9.3.7): what the resource allows.
pub fn options() -> Response<ObjectBody> {
    let mut response = Response::new(ObjectBody::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let h = response.headers_mut();
    h.insert(ALLOW, HeaderValue::from_static(ALLOWED));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Headers of a 206 multipart/byteranges (RFC 9110 §14.6): the object's own (validators,
/// caching), with the multipart type and the framed length computed before the first byte.
pub fn multipart(
    meta: &ObjectMeta,
    content_type: &str,
    content_length: u64,
    config: &Config,
    body: ObjectBody,
) -> Response<ObjectBody> {
    let mut response = object(meta, None, config, body);
    *response.status_mut() = StatusCode::PARTIAL_CONTENT;
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(content_type) {
        h.insert(CONTENT_TYPE, value);
    }
    h.insert(CONTENT_LENGTH, HeaderValue::from(content_length));
    response
}

fn content_range(span: Option<ByteSpan>, len: u64) -> HeaderValue {
    let text = match span {
        Some(s) => format!("bytes {}-{}/{len}", s.first, s.last),
        None => format!("bytes */{len}"),
    };
    // Digits, spaces, '-', '/' and '*' only: always a valid header value.
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("bytes */0"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::SignatureError;

    // The one mapping of failures to statuses (issue contract: 404 with a short cache, 503
    // with Retry-After, 504, 502), and no internal detail in the body.
    #[test]
    fn error_status_table() {
        let secret = "s3://internal-bucket/secret-key: connection refused";
        let cases = [
            (RequestError::BadPath(KeyError::DotSegment), 400, "no-store"),
            (RequestError::MethodNotAllowed, 405, "no-store"),
            (RequestError::PreflightRefused, 403, "no-store"),
            (RequestError::TooLarge(1 << 30), 501, "no-store"),
            (
                RequestError::Store(StoreError::NotFound(secret.into())),
                404,
                "public, max-age=60",
            ),
            (
                RequestError::Store(StoreError::Unavailable(secret.into())),
                503,
                "no-store",
            ),
            (
                RequestError::Store(StoreError::Timeout(secret.into())),
                504,
                "no-store",
            ),
            (
                RequestError::Store(StoreError::Failed(secret.into())),
                502,
                "no-store",
            ),
            (
                RequestError::Store(StoreError::Interrupted(secret.into())),
                502,
                "no-store",
            ),
            (RequestError::Store(StoreError::Changed), 502, "no-store"),
            (RequestError::Denied(Denied::OriginLock), 403, "no-store"),
            (
                RequestError::Denied(Denied::NotAllowed),
                404,
                "public, max-age=60",
            ),
            (
                RequestError::Denied(Denied::Signature(SignatureError::Mismatch)),
                403,
                "no-store",
            ),
        ];
        let config = Config::default();
        for (err, status, cache) in cases {
            let r = error(&err, &config);
            assert_eq!(r.status().as_u16(), status, "{err}");
            assert_eq!(r.headers()[CACHE_CONTROL], cache, "{err}");
            assert_eq!(
                r.headers().contains_key(RETRY_AFTER),
                status == 503,
                "{err}"
            );
            assert_eq!(r.headers().contains_key(ALLOW), status == 405, "{err}");
        }
    }

    // Refusals say one short word; the reason (kid, exp, which check) is only in the log, and a
    // key outside the allowed ones is indistinguishable from a missing object.
    #[test]
    fn denied_bodies_are_one_word() {
        use http_body_util::BodyExt;
        let config = Config::default();
        let body = |err: RequestError| {
            let r = error(&err, &config);
            let bytes = futures_util::FutureExt::now_or_never(r.into_body().collect())
                .expect("ready")
                .expect("body")
                .to_bytes();
            String::from_utf8(bytes.to_vec()).expect("utf-8")
        };
        let expired = SignatureError::Expired { exp: 5, now: 6 };
        let unknown = SignatureError::UnknownKey("k-secret-id".into());
        assert_eq!(body(RequestError::Denied(expired.into())), "expired\n");
        assert_eq!(body(RequestError::Denied(unknown.into())), "forbidden\n");
        assert_eq!(
            body(RequestError::Denied(Denied::OriginLock)),
            "forbidden\n"
        );
        assert_eq!(
            body(RequestError::Denied(Denied::NotAllowed)),
            "not found\n"
        );
        let missing = RequestError::Store(StoreError::NotFound("x".into()));
        assert_eq!(body(missing), "not found\n");
    }

    #[test]
    fn content_range_forms() {
        assert_eq!(
            content_range(Some(ByteSpan { first: 0, last: 9 }), 100),
            "bytes 0-9/100"
        );
        assert_eq!(content_range(None, 0), "bytes */0");
    }
}
