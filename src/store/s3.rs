//! Amazon S3 (or any S3-compatible server) as a store, through aws-sdk-s3.
//!
//! One round trip per request in the common case: GET sends the client's single range and its
//! validators with the GetObject, HEAD is one HeadObject. The answer is re-checked by
//! [`crate::plan`] on the metadata S3 returns, because S3-compatible servers differ (s3s-fs
//! ignores If-None-Match). The SDK cannot send If-Range, so it is emulated with If-Match + Range
//! and a full GET when that fails (412).

use super::{ChunkStream, Fetched, GetRequest, Prefetched, Store, StoreError};
use crate::meta::ObjectMeta;
use crate::range::{ByteSpan, RangeSpec};
use crate::validators::{to_http_seconds, Conditions, EntityTag, IfRange, TagCondition};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use futures_util::future::BoxFuture;
use futures_util::{stream, FutureExt, StreamExt};
use std::time::{Duration, SystemTime};

/// How to reach the bucket.
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// Bucket name.
    pub bucket: String,
    /// Endpoint of an S3-compatible server; implies path-style addressing.
    pub endpoint: Option<String>,
    /// Region; otherwise the SDK's chain, then `us-east-1`.
    pub region: Option<String>,
}

/// A bucket, with one SDK client built at start-up and reused (connection pooling included).
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    /// Builds the client from the standard AWS configuration chain. No network call is made
    /// here: credentials and region from IMDS are only fetched on first use.
    pub async fn new(options: S3Options) -> S3Store {
        use aws_config::meta::region::RegionProviderChain;
        use aws_config::{timeout::TimeoutConfig, BehaviorVersion, Region};
        let region = RegionProviderChain::first_try(options.region.clone().map(Region::new))
            .or_default_provider()
            .or_else("us-east-1");
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(region)
            .load()
            .await;
        let env_endpoint = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|v| std::env::var_os(v).is_some_and(|s| !s.is_empty()));
        let mut config = aws_sdk_s3::config::Builder::from(&shared)
            // Validation can only complain after every byte was forwarded; it protects
            // nobody here and costs a pass over the data.
            .response_checksum_validation(
                aws_sdk_s3::config::ResponseChecksumValidation::WhenRequired,
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .operation_timeout(Duration::from_secs(25))
                    .build(),
            )
            .force_path_style(options.endpoint.is_some() || env_endpoint);
        if let Some(url) = options.endpoint {
            config = config.endpoint_url(url);
        }
        S3Store {
            client: aws_sdk_s3::Client::from_conf(config.build()),
            bucket: options.bucket,
        }
    }

    /// The SDK client, for tools (tests seed buckets through it).
    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    async fn head_object(&self, key: &str) -> Result<ObjectMeta, StoreError> {
        let out = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await;
        let out = out.map_err(|e| classify(e, key))?;
        let len = out
            .content_length()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        object_meta(
            len,
            out.e_tag(),
            out.last_modified(),
            out.content_type(),
            out.cache_control(),
        )
    }

    async fn send_get(
        &self,
        key: &str,
        range: Option<RangeSpec>,
        cond: &Conditions,
        if_range_tag: Option<&EntityTag>,
    ) -> Result<Outcome, StoreError> {
        let mut get = self.client.get_object().bucket(&self.bucket).key(key);
        get = get.set_range(range.map(RangeSpec::header_value));
        // Forward exactly what RFC 9110 §13.2.2 would evaluate, so S3's own shortcut answers
        // (304, 412) agree with ours.
        if let Some(tag) = if_range_tag {
            get = get.if_match(tag.to_header_string());
        } else if let Some(c) = &cond.if_match {
            get = get.set_if_match(tag_list(c));
        } else if let Some(date) = cond.if_unmodified_since {
            get = get.if_unmodified_since(DateTime::from(date));
        }
        if let Some(c) = &cond.if_none_match {
            get = get.set_if_none_match(tag_list(c));
        } else if let Some(date) = cond.if_modified_since.filter(|d| *d <= SystemTime::now()) {
            get = get.if_modified_since(DateTime::from(date));
        }
        match get.send().await {
            Ok(out) => Ok(Outcome::Object(Box::new(out))),
            Err(SdkError::ServiceError(e)) if e.raw().status().as_u16() == 304 => {
                Ok(not_modified(e.raw()))
            }
            Err(SdkError::ServiceError(e)) if matches!(e.raw().status().as_u16(), 412 | 416) => {
                Ok(Outcome::Refused)
            }
            Err(e) => Err(classify(e, key)),
        }
    }

    async fn get_object(&self, req: GetRequest<'_>) -> Result<Fetched, StoreError> {
        let cond = req.conditions;
        let if_range = req.range.and(cond.if_range.as_ref());
        // A weak, invalid or date If-Range the SDK cannot send; a weak or invalid one never
        // matches, so ask for the whole object straight away.
        let range = match if_range {
            Some(IfRange::Invalid) => None,
            Some(IfRange::Tag(tag)) if tag.to_header_string().starts_with("W/") => None,
            _ => req.range,
        };
        let emulated = match if_range {
            Some(IfRange::Tag(tag)) if range.is_some() && cond.if_match.is_none() => Some(tag),
            _ => None,
        };
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
            Outcome::Object(out) => prefetched(*out),
            Outcome::NotModified(fetched) => Ok(fetched),
            // 412 and 416 are rare, and so is a 304 without validators (moto omits
            // Last-Modified): let the planner decide from fresh metadata, so that the answer
            // (and the zero-length and suffix rules) match the local store exactly.
            Outcome::Refused | Outcome::Incomplete304 => Ok(Fetched::Object {
                meta: self.head_object(req.key).await?,
                body: None,
            }),
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
            Outcome::Object(out) => match prefetched(*out)? {
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
    Object(Box<GetObjectOutput>),
    NotModified(Fetched),
    /// 304 lacking ETag or Last-Modified, which our 304 must carry.
    Incomplete304,
    /// 412 or 416.
    Refused,
}

fn tag_list(c: &TagCondition) -> Option<String> {
    match c {
        TagCondition::Any => Some("*".into()),
        TagCondition::Tags(tags) if tags.is_empty() => None,
        TagCondition::Tags(tags) => Some(
            tags.iter()
                .map(EntityTag::to_header_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
    }
}

fn not_modified(raw: &HttpResponse) -> Outcome {
    let header = |name: &str| raw.headers().get(name).map(str::to_owned);
    let etag = header("etag").as_deref().and_then(EntityTag::parse);
    let last_modified = header("last-modified").and_then(|d| httpdate::parse_http_date(&d).ok());
    match (etag, last_modified) {
        (Some(etag), Some(lm)) => Outcome::NotModified(Fetched::NotModified {
            etag: Some(etag),
            last_modified: Some(to_http_seconds(lm)),
            cache_control: header("cache-control"),
        }),
        _ => Outcome::Incomplete304,
    }
}

fn prefetched(out: GetObjectOutput) -> Result<Fetched, StoreError> {
    let sent = out
        .content_length()
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0);
    let (span, len) = match out.content_range() {
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
    let meta = object_meta(
        len,
        out.e_tag(),
        out.last_modified(),
        out.content_type(),
        out.cache_control(),
    )?;
    let body = span.map(|span| Prefetched {
        span,
        chunks: chunks(out.body),
    });
    Ok(Fetched::Object { meta, body })
}

/// Metadata from the fields HeadObject and GetObject answers share.
fn object_meta(
    len: u64,
    e_tag: Option<&str>,
    last_modified: Option<&DateTime>,
    content_type: Option<&str>,
    cache_control: Option<&str>,
) -> Result<ObjectMeta, StoreError> {
    let mut meta = ObjectMeta::new(len, parse_etag(e_tag)?, system_time(last_modified));
    meta.content_type = content_type.map(str::to_owned);
    meta.cache_control = cache_control.map(str::to_owned);
    Ok(meta)
}

fn chunks(body: ByteStream) -> ChunkStream {
    let mut body = Box::pin(body);
    stream::poll_fn(move |cx| body.as_mut().poll_next(cx))
        .map(|r| r.map_err(|e| StoreError::Interrupted(e.to_string())))
        .boxed()
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

fn system_time(dt: Option<&DateTime>) -> Option<SystemTime> {
    dt.and_then(|d| SystemTime::try_from(*d).ok())
}

/// The one place S3 errors become store errors.
fn classify<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    err: SdkError<E, HttpResponse>,
    key: &str,
) -> StoreError {
    let detail = format!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&err)
    );
    match &err {
        SdkError::TimeoutError(_) => StoreError::Timeout(detail),
        SdkError::DispatchFailure(d) if d.is_timeout() => StoreError::Timeout(detail),
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            match (status, err.code()) {
                (404, _) | (_, Some("NoSuchKey" | "NotFound")) => {
                    StoreError::NotFound(format!("{key}: {detail}"))
                }
                // Without s3:ListBucket, S3 answers 403 for a key that does not exist.
                (403, Some("AccessDenied") | None) => {
                    StoreError::NotFound(format!("{key}: access denied: {detail}"))
                }
                (429 | 500..=599, _)
                | (_, Some("SlowDown" | "Throttling" | "ThrottlingException")) => {
                    StoreError::Unavailable(detail)
                }
                _ => StoreError::Failed(detail),
            }
        }
        _ => StoreError::Failed(detail),
    }
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
