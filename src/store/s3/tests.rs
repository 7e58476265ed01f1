//! S3 error classification and Content-Range parsing.
use super::*;
use aws_sdk_s3::error::ErrorMetadata;
use aws_sdk_s3::operation::get_object::GetObjectError;
use aws_smithy_types::body::SdkBody;

fn service_error(status: u16, code: Option<&str>) -> SdkError<GetObjectError, HttpResponse> {
    let mut meta = ErrorMetadata::builder();
    if let Some(code) = code {
        meta = meta.code(code);
    }
    let raw = HttpResponse::new(status.try_into().expect("status"), SdkBody::empty());
    SdkError::service_error(GetObjectError::generic(meta.build()), raw)
}

// How S3 answers map to store errors (and so, in response.rs, to statuses).
#[test]
fn s3_error_table() {
    let cases: &[(u16, Option<&str>, &str)] = &[
        (404, Some("NoSuchKey"), "NotFound"),
        (404, None, "NotFound"), // HeadObject: no body, no code
        (403, Some("AccessDenied"), "NotFound"), // missing key without s3:ListBucket
        (403, None, "NotFound"),
        (403, Some("InvalidAccessKeyId"), "Failed"), // misconfiguration, not a missing key
        (403, Some("SignatureDoesNotMatch"), "Failed"),
        (503, Some("SlowDown"), "Unavailable"),
        (500, Some("InternalError"), "Unavailable"),
        (429, None, "Unavailable"),
        (400, Some("InvalidArgument"), "Failed"),
    ];
    for (status, code, want) in cases {
        let got = classify(service_error(*status, *code), "k");
        let name = format!("{got:?}");
        assert!(name.starts_with(want), "{status} {code:?}: {name}");
    }
}

#[test]
fn content_range_parsing() {
    let span = |first, last| ByteSpan { first, last };
    assert_eq!(
        parse_content_range("bytes 0-99/1000"),
        Some((span(0, 99), 1000))
    );
    assert_eq!(parse_content_range("bytes 5-4/1000"), None);
    assert_eq!(parse_content_range("bytes 0-1000/1000"), None);
    assert_eq!(parse_content_range("bytes */1000"), None);
}
