//! Amazon S3 (or any S3-compatible server) as a store.
//!
//! One round trip per request in the common case: GET sends the client's single range and its
//! validators with the GetObject, HEAD is one HeadObject. The answer is re-checked by
//! [`crate::plan`] on the metadata S3 returns, because S3-compatible servers differ (s3s-fs
//! ignores If-None-Match). If-Range is emulated with If-Match + Range and a full GET when that
//! fails (412), as S3 servers differ on it.
//!
//! aws-config and aws-sdk-s3 provide the configuration at start-up (region, credentials
//! chain, retry settings, the endpoint rules: [`endpoint`]); the reads themselves go out as
//! signed requests ([`rest`], [`sigv4`]) on a pool of kept-alive connections that the
//! requesting task drives itself ([`crate::http1`]). docs/s3.md lists what matches the SDK and what
//! is refused.

pub(crate) mod answer_headers;
mod credentials;
mod endpoint;
mod error_answer;
mod rest;
mod retry;
mod sigv4;
mod skew;

use super::{ChunkStream, Fetched, GetRequest, Prefetched, Store, StoreError};
use crate::meta::{ObjectMeta, StoredHeaders};
use crate::plan::{self, forward, Decision};
use crate::range::{ByteSpan, RangeSpec};
use crate::validators::{to_http_seconds, Conditions, EntityTag};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use http::{HeaderMap, Method, Response};
use std::sync::Arc;
use std::time::SystemTime;

/// How to reach the bucket.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Bucket name, or an access point ARN.
    pub bucket: String,
    /// Endpoint of an S3-compatible server; implies path-style addressing. Otherwise the
    /// AWS configuration's endpoint URL, if any.
    pub endpoint: Option<String>,
    /// Region; otherwise the SDK's chain, then `us-east-1`.
    pub region: Option<String>,
    /// SO_RCVBUF of every connection to S3; `None` leaves it to the kernel's autotuning.
    pub receive_buffer: Option<usize>,
}

/// A bucket, with its connection pool and credentials built at start-up and reused.
#[derive(Debug, Clone)]
pub struct S3Store {
    rest: Arc<rest::Rest>,
}

impl S3Store {
    /// Builds the store from the standard AWS configuration chain. No network call is made
    /// here: credentials and region from IMDS are only fetched on first use.
    ///
    /// # Errors
    /// An AWS configuration these reads do not support (adaptive retry mode, SigV4a, S3
    /// Express session auth) or that the endpoint rules refuse, with what to do.
    pub async fn new(options: S3Options) -> Result<S3Store, String> {
        use aws_config::meta::region::RegionProviderChain;
        use aws_config::{BehaviorVersion, Region};
        let region = RegionProviderChain::first_try(options.region.clone().map(Region::new))
            .or_default_provider()
            .or_else("us-east-1");
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .load()
            .await;
        let region = shared
            .region()
            .map_or_else(|| "us-east-1".to_owned(), |r| r.to_string());
        let settings = endpoint::Settings {
            bucket: options.bucket.clone(),
            region,
            endpoint_url: options
                .endpoint
                .clone()
                .or_else(|| configured_endpoint(&shared)),
            use_fips: shared.use_fips().unwrap_or(false),
            use_dual_stack: shared.use_dual_stack().unwrap_or(false),
            disable_express_session_auth: s3_setting(
                &shared,
                "AWS_S3_DISABLE_EXPRESS_SESSION_AUTH",
                "s3_disable_express_session_auth",
            )
            .and_then(|v| v.parse().ok()),
        };
        let resolved = endpoint::resolve(&settings).await?;
        tracing::info!(
            url = %resolved.url,
            signing_name = %resolved.signing_name,
            signing_region = %resolved.signing_region,
            receive_buffer = options.receive_buffer.map_or_else(|| "auto".to_owned(), |b| b.to_string()),
            "S3 endpoint"
        );
        let policy = retry::Policy::from_config(shared.retry_config())?;
        let signing = rest::Signing {
            name: resolved.signing_name,
            region: resolved.signing_region,
            credentials: shared
                .credentials_provider()
                .map(|p| Arc::new(credentials::CredentialCache::new(p))),
        };
        let rest = rest::Rest::new(
            resolved.url,
            signing,
            policy,
            user_agent(shared.app_name()),
            options.receive_buffer,
        );
        if let Some(why) = rest.unusable() {
            return Err(why.to_owned());
        }
        Ok(S3Store {
            rest: Arc::new(rest),
        })
    }

    /// A copy with its own connection pool, for a worker thread; credentials, clock skew and
    /// the retry quota are shared.
    pub fn with_own_pool(&self) -> S3Store {
        S3Store {
            rest: Arc::new(self.rest.reopen()),
        }
    }

    async fn head_object(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let resp = self.rest.send(Method::HEAD, key, &[]).await?;
        match resp.status().as_u16() {
            200..=299 => {
                let len = content_length(resp.headers())
                    .ok_or_else(|| no_length(resp.status().as_u16()))?;
                object_meta(resp.headers(), len)
            }
            400 | 403 => self.head_after_refusal(key).await,
            _ => Err(classify(resp, key).await),
        }
    }

    /// A HEAD answered 400 or 403 has no body, so no error code: whether the key is missing
    /// (S3's AccessDenied without s3:ListBucket) or the request was refused (signature,
    /// clock, expired credentials, KMS) cannot be told. One GET of the first byte tells: its
    /// error answer has the code (and [`rest::Rest::send`] refreshes credentials or corrects
    /// the clock on it); if it succeeds, its headers answer the HEAD.
    async fn head_after_refusal(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let fields = [("range", "bytes=0-0".to_owned())];
        let resp = self.rest.send(Method::GET, key, &fields).await?;
        match resp.status().as_u16() {
            // The unread byte (or a whole object from a server that ignored the range)
            // closes its connection when dropped.
            200 | 206 => match prefetched(resp)? {
                Fetched::Object { meta, .. } => Ok(meta),
                Fetched::NotModified { .. } => Err(StoreError::Failed("unexpected 304".into())),
            },
            _ => Err(classify(resp, key).await),
        }
    }

    async fn send_get(
        &self,
        key: &str,
        range: Option<RangeSpec>,
        cond: &Conditions,
        if_match_tag: Option<&EntityTag>,
    ) -> Result<Outcome, StoreError> {
        let fields = forward::fields(range, cond, if_match_tag, SystemTime::now());
        let resp = self.rest.send(Method::GET, key, &fields).await?;
        match resp.status().as_u16() {
            200 | 206 => Ok(Outcome::Object(resp)),
            304 => Ok(not_modified(resp.headers())),
            412 | 416 => Ok(Outcome::Refused),
            _ => Err(classify(resp, key).await),
        }
    }

    async fn get_object(&self, req: GetRequest<'_>) -> Result<Fetched, StoreError> {
        let cond = req.conditions;
        let ask = forward::first_ask(req.range, cond);
        let (range, emulated) = (ask.range, ask.if_range_tag);
        let mut outcome = match self.send_get(req.key, range, cond, emulated).await {
            // Some S3-compatible servers fail on suffix ranges longer than the object (s3s-fs
            // 0.14 answers 500): plan from metadata and read an explicit span instead.
            Err(e @ (StoreError::Unavailable(_) | StoreError::Failed(_)))
                if matches!(range, Some(RangeSpec::Suffix(_))) =>
            {
                tracing::warn!(key = req.key, cause = %e, "suffix range failed at the store; planning from HeadObject");
                Outcome::Refused
            }
            other => other?,
        };
        if emulated.is_some() && matches!(outcome, Outcome::Refused) {
            outcome = self.send_get(req.key, None, cond, None).await?;
        }
        match outcome {
            Outcome::Object(out) => prefetched(out),
            // S3's 304 stands only where RFC 9110 §13.2.2 (plan::preconditions) gives 304 on
            // the validators it came with.
            Outcome::NotModified(fetched) if agrees(&fetched, cond) => Ok(fetched),
            // 412 and 416 are rare, and so is a 304 without validators (moto omits
            // Last-Modified) or one the rules do not give: let the planner decide from fresh
            // metadata, so that the answer (and the zero-length and suffix rules) match the
            // local store exactly.
            Outcome::NotModified(_) | Outcome::Refused | Outcome::Incomplete304 => {
                Ok(Fetched::Object {
                    meta: self.head_object(req.key).await?,
                    body: None,
                })
            }
        }
    }

    async fn read_span(
        &self,
        key: &str,
        span: ByteSpan,
        etag: &EntityTag,
    ) -> Result<ChunkStream, StoreError> {
        let cond = Conditions::default();
        let range = Some(RangeSpec::FromTo(span.first, span.last));
        match self.send_get(key, range, &cond, Some(etag)).await? {
            Outcome::Object(out) => match prefetched(out)? {
                // Some S3-compatible servers ignore If-Match: the answer's own ETag decides, or
                // a resumed body would splice two versions into one clean response.
                Fetched::Object { meta, .. } if !meta.etag.strong_eq(etag) => {
                    Err(StoreError::Changed)
                }
                Fetched::Object { body: Some(p), .. } if p.span == span => Ok(p.chunks),
                _ => Err(StoreError::Failed(
                    "S3 returned another range than asked".into(),
                )),
            },
            Outcome::Refused => Err(StoreError::Changed),
            Outcome::NotModified(_) | Outcome::Incomplete304 => {
                Err(StoreError::Failed("unexpected 304".into()))
            }
        }
    }
}

enum Outcome {
    Object(Response<ChunkStream>),
    NotModified(Fetched),
    /// 304 lacking ETag or Last-Modified, which our 304 must carry.
    Incomplete304,
    /// 412 or 416.
    Refused,
}

/// Whether S3's 304 is the one RFC 9110 §13.2.2 gives for `cond` on its validators.
fn agrees(fetched: &Fetched, cond: &Conditions) -> bool {
    let Fetched::NotModified {
        etag: Some(etag),
        last_modified,
        ..
    } = fetched
    else {
        return false;
    };
    let rules = plan::preconditions(cond, etag, *last_modified, SystemTime::now());
    rules == Some(Decision::NotModified)
}

fn not_modified(headers: &HeaderMap) -> Outcome {
    let etag = header(headers, "etag").and_then(EntityTag::parse);
    let last_modified =
        header(headers, "last-modified").and_then(|d| httpdate::parse_http_date(d).ok());
    match (etag, last_modified) {
        (Some(etag), Some(lm)) => Outcome::NotModified(Fetched::NotModified {
            etag: Some(etag),
            last_modified: Some(to_http_seconds(lm)),
            cache_control: header(headers, "cache-control").map(str::to_owned),
            expires: header(headers, "expires").map(str::to_owned),
        }),
        _ => Outcome::Incomplete304,
    }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    header(headers, "content-length").and_then(|n| n.parse().ok())
}

/// A 2xx without Content-Length (a chunked answer from an S3-compatible server): the object's
/// size, which our Content-Length, ranges and validators rest on, is unknown. Refused rather
/// than served as an empty object that a CDN would keep for a year.
fn no_length(status: u16) -> StoreError {
    StoreError::Failed(format!(
        "S3 answered {status} without Content-Length: the object's size is unknown"
    ))
}

fn prefetched(resp: Response<ChunkStream>) -> Result<Fetched, StoreError> {
    let headers = resp.headers();
    let sent = content_length(headers).ok_or_else(|| no_length(resp.status().as_u16()))?;
    let (span, len) = match header(headers, "content-range") {
        Some(cr) => {
            let (span, len) = parse_content_range(cr)
                .ok_or_else(|| StoreError::Failed(format!("bad Content-Range {cr:?}")))?;
            (Some(span), len)
        }
        None => (ByteSpan::whole(sent), sent),
    };
    if span.map_or(0, |s| s.len()) != sent {
        return Err(StoreError::Failed(
            "Content-Length disagrees with Content-Range".into(),
        ));
    }
    let meta = object_meta(headers, len)?;
    let body = span.map(|span| Prefetched {
        span,
        chunks: resp.into_body(),
    });
    Ok(Fetched::Object { meta, body })
}

/// Metadata from the headers HeadObject and GetObject answers share.
fn object_meta(headers: &HeaderMap, len: u64) -> Result<ObjectMeta, StoreError> {
    let last_modified =
        header(headers, "last-modified").and_then(|d| httpdate::parse_http_date(d).ok());
    let mut meta = ObjectMeta::new(len, parse_etag(header(headers, "etag"))?, last_modified);
    let own = |name| header(headers, name).map(str::to_owned);
    meta.content_type = own("content-type");
    meta.cache_control = own("cache-control");
    meta.stored = StoredHeaders {
        content_encoding: header(headers, "content-encoding").and_then(stored_encoding),
        content_disposition: own("content-disposition"),
        content_language: own("content-language"),
        expires: own("expires"),
    };
    Ok(meta)
}

/// The object's Content-Encoding without `aws-chunked`, an upload framing that S3 does not
/// store or return but that some S3-compatible servers keep (s3s-fs; Ceph RGW before its
/// fix, ceph/ceph#65219): sent on, it would make clients decode bytes that are not encoded.
fn stored_encoding(value: &str) -> Option<String> {
    let kept: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("aws-chunked"))
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// `bytes first-last/len`.
fn parse_content_range(value: &str) -> Option<(ByteSpan, u64)> {
    let rest = value.strip_prefix("bytes ")?;
    let (range, len) = rest.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let span = ByteSpan {
        first: first.parse().ok()?,
        last: last.parse().ok()?,
    };
    let len: u64 = len.parse().ok()?;
    (span.first <= span.last && span.last < len).then_some((span, len))
}

fn parse_etag(raw: Option<&str>) -> Result<EntityTag, StoreError> {
    let raw = raw.ok_or_else(|| StoreError::Failed("no ETag from S3".into()))?;
    // Some S3-compatible servers send the tag unquoted.
    EntityTag::parse(raw)
        .or_else(|| EntityTag::parse(&format!("\"{raw}\"")))
        .ok_or_else(|| StoreError::Failed(format!("malformed ETag {raw:?}")))
}

/// An error answer read for its code, then [`error_for`].
async fn classify(resp: Response<ChunkStream>, key: &str) -> StoreError {
    error_answer::ErrorAnswer::read(resp).await.into_error(key)
}

/// The one place S3 error answers become store errors; `detail` says what S3 answered.
fn error_for(status: u16, code: Option<&str>, key: &str, detail: String) -> StoreError {
    match (status, code) {
        (404, _) | (_, Some("NoSuchKey" | "NotFound")) => {
            StoreError::NotFound(format!("{key}: {detail}"))
        }
        // Without s3:ListBucket, S3 answers a key that does not exist with 403 AccessDenied
        // (and words a policy's denial the same). Any other 403, and one without a code
        // (signature, clock skew, credentials, KMS, requester pays), is no missing key: a
        // 502 that no cache keeps, not a 404 that a CDN would.
        (403, Some("AccessDenied")) => {
            StoreError::NotFound(format!("{key}: access denied: {detail}"))
        }
        (429 | 500..=599, _) => StoreError::Unavailable(detail),
        (_, Some(c)) if retry::is_throttling(c) => StoreError::Unavailable(detail),
        _ => StoreError::Failed(detail),
    }
}

/// The User-Agent the SDK would send for S3 (its `aws-sdk-rust/... api/s3/...` form, with
/// the execution environment and `AWS_SDK_UA_APP_ID`), naming imgorigin as the framework:
/// CloudTrail and AWS support attribute requests by it. Unsigned, as aws-sigv4 leaves it;
/// the SDK's `x-amz-user-agent` copy is not sent, since S3 refuses unsigned `x-amz-*` headers.
fn user_agent(app_name: Option<&aws_config::AppName>) -> String {
    use aws_runtime::user_agent::{ApiMetadata, AwsUserAgent, FrameworkMetadata};
    const API: ApiMetadata = ApiMetadata::new("s3", aws_sdk_s3::meta::PKG_VERSION);
    let mut ua = AwsUserAgent::new_from_environment(aws_types::os_shim_internal::Env::real(), API);
    if let Ok(framework) = FrameworkMetadata::new("imgorigin", Some(env!("CARGO_PKG_VERSION"))) {
        ua.add_framework_metadata(framework);
    }
    if let Some(app) = app_name {
        ua.set_app_name(app.clone());
    }
    ua.ua_header()
}

/// The endpoint URL the AWS configuration gives S3, as aws-sdk-s3's client takes it: the
/// S3-specific one (`AWS_ENDPOINT_URL_S3`, the profile's `services` section), else the
/// general one (`AWS_ENDPOINT_URL`, the profile's `endpoint_url`); aws-config leaves both out
/// under `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`.
fn configured_endpoint(shared: &aws_config::SdkConfig) -> Option<String> {
    s3_setting(shared, "AWS_ENDPOINT_URL", "endpoint_url")
        .or_else(|| shared.endpoint_url().map(str::to_owned))
        .filter(|url| !url.is_empty())
}

/// An S3 setting from the environment or the profile, by the SDK's service config keys.
fn s3_setting(shared: &aws_config::SdkConfig, env: &str, profile: &str) -> Option<String> {
    use aws_types::service_config::ServiceConfigKey;
    let key = ServiceConfigKey::builder()
        .service_id("S3")
        .env(env)
        .profile(profile)
        .build()
        .ok()?;
    shared.service_config()?.load_config(key)
}

impl Store for S3Store {
    fn head<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ObjectMeta, StoreError>> {
        self.head_object(key).boxed()
    }

    fn get<'a>(&'a self, req: GetRequest<'a>) -> BoxFuture<'a, Result<Fetched, StoreError>> {
        self.get_object(req).boxed()
    }

    fn read<'a>(
        &'a self,
        key: &'a str,
        span: ByteSpan,
        etag: &'a EntityTag,
    ) -> BoxFuture<'a, Result<ChunkStream, StoreError>> {
        self.read_span(key, span, etag).boxed()
    }
}

#[cfg(test)]
mod tests;
