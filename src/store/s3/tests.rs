//! S3 error classification and Content-Range parsing.
use super::*;
// How S3 answers map to store errors (and so, in response.rs, to statuses).
#[test]
fn s3_error_table() {
    let cases: &[(u16, Option<&str>, &str)] = &[
        (404, Some("NoSuchKey"), "NotFound"),
        (404, None, "NotFound"), // HeadObject: no body, no code
        (403, Some("AccessDenied"), "NotFound"), // missing key without s3:ListBucket
        // Nothing says the key is missing: not a cacheable 404 (a HEAD's 403 is first asked
        // again as a 1-byte GET for its code, S3Store::head_after_403).
        (403, None, "Failed"),
        (403, Some("InvalidAccessKeyId"), "Failed"), // misconfiguration, not a missing key
        (403, Some("SignatureDoesNotMatch"), "Failed"),
        (403, Some("RequestTimeTooSkewed"), "Failed"),
        (403, Some("KMS.AccessDeniedException"), "Failed"),
        (403, Some("InvalidObjectState"), "Failed"),
        (503, Some("SlowDown"), "Unavailable"),
        (500, Some("InternalError"), "Unavailable"),
        (429, None, "Unavailable"),
        (400, Some("InvalidArgument"), "Failed"),
    ];
    for (status, code, want) in cases {
        let got = error_for(*status, *code, "k", String::new());
        let name = format!("{got:?}");
        assert!(name.starts_with(want), "{status} {code:?}: {name}");
    }
}

// What the log says of an S3 error: status, code, request id, and the bucket's region when S3
// names it (a bucket in another region: 301 without a code for a HEAD).
#[test]
fn error_details_name_the_request_id_and_region() {
    let answer = |status, code: Option<&str>, region: Option<&str>| error_answer::ErrorAnswer {
        status: http::StatusCode::from_u16(status).expect("status"),
        code: code.map(str::to_owned),
        request_id: Some("4442587FB7D0A2F9".into()),
        bucket_region: region.map(str::to_owned),
        s3_signed: None,
    };
    let cases = [
        (
            answer(301, None, Some("eu-west-1")),
            "S3 answered 301 (no code) (request id 4442587FB7D0A2F9; the bucket is in region eu-west-1)",
        ),
        (
            answer(403, Some("SignatureDoesNotMatch"), None),
            "S3 answered 403 SignatureDoesNotMatch (request id 4442587FB7D0A2F9)",
        ),
    ];
    for (answer, want) in cases {
        let got = format!("{:?}", answer.into_error("k"));
        assert!(got.contains(want), "{got}");
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

// S3's URI encoding of a key: unreserved characters and `/` stay, every other byte is %XX.
// S3 consumes `aws-chunked` (an upload framing) and never returns it; servers that keep it
// must not make clients decode plain bytes (ceph/ceph#65219).
#[test]
fn aws_chunked_is_not_a_stored_encoding() {
    let cases = [
        ("aws-chunked", None),
        ("AWS-Chunked", None),
        ("aws-chunked, gzip", Some("gzip")),
        ("gzip,aws-chunked", Some("gzip")),
        ("gzip", Some("gzip")),
        (" , ", None),
    ];
    for (value, want) in cases {
        assert_eq!(stored_encoding(value).as_deref(), want, "{value:?}");
    }
}

#[test]
fn key_encoding() {
    let cases = [
        ("a/b c.jpg", "a/b%20c.jpg"),
        ("ü+x~y_z-1", "%C3%BC%2Bx~y_z-1"),
        ("100%/a?b#c", "100%25/a%3Fb%23c"),
        ("*'()!", "%2A%27%28%29%21"),
    ];
    for (key, want) in cases {
        assert_eq!(rest::encode_key(key), want, "{key}");
    }
}

// `{:?}` of the store (a panic message, a debug log) shows neither the secret key nor the
// session token, with credentials loaded.
#[tokio::test]
async fn debug_shows_no_secret() {
    use aws_credential_types::provider::SharedCredentialsProvider;
    use aws_credential_types::Credentials;
    let creds = Credentials::new(
        "AKIDVISIBLE",
        "SECRETVALUE",
        Some("TOKENVALUE".into()),
        None,
        "t",
    );
    let cache = Arc::new(credentials::CredentialCache::new(
        SharedCredentialsProvider::new(creds),
    ));
    cache.get().await.expect("static credentials");
    let signing = rest::Signing {
        name: "s3".into(),
        region: "eu-west-1".into(),
        credentials: Some(cache),
    };
    let rest = rest::Rest::new(
        "https://b.s3.eu-west-1.amazonaws.com".into(),
        signing,
        retry::Policy::STANDARD,
        "ua".into(),
        None,
    );
    let store = S3Store {
        rest: Arc::new(rest),
    };
    let shown = format!("{store:?} {:?}", store.with_own_pool());
    assert!(shown.contains("AKIDVISIBLE"), "{shown}");
    assert!(
        !shown.contains("SECRETVALUE") && !shown.contains("TOKENVALUE"),
        "{shown}"
    );
}
