//! What an S3 error answer says, read from its head and a bounded read of its body.

use super::StoreError;
use crate::http1;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use http::{Response, StatusCode};
use std::time::Duration;

/// How long an error answer's body is read for its `<Code>`; a stalled one is classified
/// without it.
const ERROR_BODY_TIMEOUT: Duration = Duration::from_secs(5);

/// What an S3 error answer says: its status, `<Code>`, S3's request id (for AWS support),
/// and the bucket's region when S3 names it (a bucket in another region than configured
/// answers 301 or 400, a HEAD without a code).
#[derive(Debug)]
pub(super) struct ErrorAnswer {
    pub(super) status: StatusCode,
    /// `None` when absent or empty.
    pub(super) code: Option<String>,
    pub(super) request_id: Option<String>,
    pub(super) bucket_region: Option<String>,
    /// What S3 signed, from a `SignatureDoesNotMatch` answer: `<StringToSign>` (whose last
    /// line is the hash of S3's canonical request) and `<CanonicalRequest>`.
    pub(super) s3_signed: Option<(String, String)>,
}

impl ErrorAnswer {
    /// Reads the answer's body for its code (bounded: an error body is a few hundred bytes;
    /// a stalled one is classified without it). The request id and region come from the
    /// headers, else from the body's `<RequestId>` and `<Region>`.
    pub(super) async fn read<E>(
        resp: Response<BoxStream<'static, Result<Bytes, E>>>,
    ) -> ErrorAnswer {
        let status = resp.status();
        let header_id = super::header(resp.headers(), "x-amz-request-id").map(str::to_owned);
        let header_region = super::header(resp.headers(), "x-amz-bucket-region").map(str::to_owned);
        let body = http1::read_bounded(resp.into_body(), 64 * 1024, ERROR_BODY_TIMEOUT).await;
        let text = String::from_utf8_lossy(&body);
        let element = |name: &str| {
            let (open, close) = (format!("<{name}>"), format!("</{name}>"));
            let start = text.find(&open)? + open.len();
            let end = start + text[start..].find(&close)?;
            Some(text[start..end].to_owned()).filter(|v| !v.is_empty())
        };
        ErrorAnswer {
            status,
            code: element("Code"),
            request_id: header_id.or_else(|| element("RequestId")),
            bucket_region: header_region.or_else(|| element("Region")),
            s3_signed: element("StringToSign").zip(element("CanonicalRequest")),
        }
    }

    /// The store error it means ([`super::error_for`]), described for the log.
    pub(super) fn into_error(self, key: &str) -> StoreError {
        let mut detail = format!(
            "S3 answered {} {} (request id {}",
            self.status.as_u16(),
            self.code.as_deref().unwrap_or("(no code)"),
            self.request_id.as_deref().unwrap_or("none")
        );
        if let Some(region) = &self.bucket_region {
            detail.push_str(&format!("; the bucket is in region {region}"));
        }
        detail.push(')');
        super::error_for(self.status.as_u16(), self.code.as_deref(), key, detail)
    }
}
