//! Every signature is checked against aws-sigv4 (the SDK's signer) with S3's settings.

use super::*;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    sign, PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode,
};
use aws_smithy_runtime_api::client::identity::Identity;
use proptest::prelude::*;
use std::time::Duration;

/// The reference: what aws-sigv4 puts in `authorization` and `x-amz-date`.
fn reference(
    method: &str,
    host: &str,
    path: &str,
    secret: &Secret,
    region: &str,
    time: SystemTime,
) -> (String, String) {
    reference_for("s3", method, host, path, secret, region, time)
}

/// [`reference`] for another signing name.
fn reference_for(
    name: &str,
    method: &str,
    host: &str,
    path: &str,
    secret: &Secret,
    region: &str,
    time: SystemTime,
) -> (String, String) {
    let identity = Identity::from(Credentials::new(
        &secret.access_key_id,
        &secret.secret_access_key,
        secret.session_token.clone(),
        None,
        "test",
    ));
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(name)
        .time(time)
        .settings(settings)
        .build()
        .expect("params")
        .into();
    let uri = format!("http://{host}{path}");
    let headers = [("host", host), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")];
    let signable = SignableRequest::new(
        method,
        &uri,
        headers.into_iter(),
        SignableBody::UnsignedPayload,
    )
    .expect("signable");
    let (instructions, _) = sign(signable, &params).expect("sign").into_parts();
    let mut req = http::Request::builder()
        .method(method)
        .uri(&uri)
        .header("host", host)
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .body(())
        .expect("request");
    instructions.apply_to_request_http1x(&mut req);
    let get = |n: &str| req.headers()[n].to_str().expect("ascii").to_owned();
    (get("authorization"), get("x-amz-date"))
}

fn secret(token: Option<&str>) -> Secret {
    Secret {
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
        session_token: token.map(str::to_owned),
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[test]
fn matches_aws_sigv4_for_every_request_shape() {
    // (method, host, path, session token, region)
    let cases = [
        (
            "GET",
            "127.0.0.1:9000",
            "/bucket/photos/a.jpg",
            None,
            "us-east-1",
        ),
        (
            "HEAD",
            "127.0.0.1:9000",
            "/bucket/photos/a.jpg",
            None,
            "us-east-1",
        ),
        (
            "GET",
            "b.s3.eu-west-1.amazonaws.com",
            "/a%20b/%C3%A9t%C3%A9.tif",
            None,
            "eu-west-1",
        ),
        (
            "GET",
            "b.s3.amazonaws.com",
            "/x/..//y~z_-.",
            Some("FQoGZXIvYXdzEJr//token=="),
            "us-east-1",
        ),
        (
            "HEAD",
            "localhost",
            "/bucket/%2B%26%3D",
            Some("tok"),
            "ap-southeast-2",
        ),
    ];
    let signer = Signer::new("unused", "s3");
    for (method, host, path, token, region) in cases {
        let signer_for_region = Signer::new(region, "s3");
        let s = secret(token);
        let time = at(1_764_355_200 + 12_345); // 2025-11-28T03:25:45Z
        let ours = signer_for_region.sign(method, host, path, &s, time);
        let (auth, date) = reference(method, host, path, &s, region, time);
        assert_eq!(ours.authorization, auth, "{method} {host}{path} {token:?}");
        assert_eq!(ours.amz_date, date);
        assert_eq!(ours.security_token, token);
    }
    // The region is part of the signature.
    let s = secret(None);
    let other = signer.sign("GET", "h", "/k", &s, at(0));
    assert_ne!(
        other.authorization,
        reference("GET", "h", "/k", &s, "us-east-1", at(0)).0
    );
}

// The endpoint rules' signing name (S3 on Outposts, Object Lambda) is part of the scope.
#[test]
fn signs_for_the_endpoints_signing_name() {
    let s = secret(Some("tok"));
    let time = at(1_764_355_200);
    for name in ["s3-outposts", "s3-object-lambda"] {
        let ours = Signer::new("eu-west-1", name).sign("GET", "h", "/k", &s, time);
        let want = reference_for(name, "GET", "h", "/k", &s, "eu-west-1", time).0;
        assert_eq!(ours.authorization, want, "{name}");
        assert!(want.contains(&format!("/eu-west-1/{name}/aws4_request")));
    }
}

#[test]
fn cached_key_follows_the_day_and_the_secret() {
    let signer = Signer::new("us-east-1", "s3");
    let mut s = secret(None);
    let day1 = at(1_764_374_399); // 23:59:59
    let day2 = at(1_764_374_400); // next day, 00:00:00
    for time in [day1, day2, day1] {
        let ours = signer.sign("GET", "h", "/b/k", &s, time);
        assert_eq!(
            ours.authorization,
            reference("GET", "h", "/b/k", &s, "us-east-1", time).0
        );
    }
    s.secret_access_key = "rotated-secret".into();
    let ours = signer.sign("GET", "h", "/b/k", &s, day2);
    assert_eq!(
        ours.authorization,
        reference("GET", "h", "/b/k", &s, "us-east-1", day2).0
    );
}

#[test]
fn amz_date_known_values() {
    assert_eq!(amz_date(at(0)), "19700101T000000Z");
    assert_eq!(amz_date(at(951_782_400)), "20000229T000000Z"); // leap day, century rule
    assert_eq!(amz_date(at(4_102_444_799)), "20991231T235959Z");
    assert_eq!(amz_date(at(4_107_542_399)), "21000228T235959Z"); // 2100 is no leap year
}

proptest! {
    #[test]
    fn matches_aws_sigv4_at_any_time(secs in 0u64..4_102_444_800, path in "/[a-zA-Z0-9/._~-]{0,40}") {
        let signer = Signer::new("us-west-2", "s3");
        let s = secret(Some("session"));
        let ours = signer.sign("GET", "example.com", &path, &s, at(secs));
        let (auth, date) = reference("GET", "example.com", &path, &s, "us-west-2", at(secs));
        prop_assert_eq!(ours.authorization, auth);
        prop_assert_eq!(ours.amz_date, date);
    }
}

/// The `Display` of the canonical request is what is hashed and signed (checked by signing
/// its bytes the way aws-sigv4's signature comes out), with the session token masked.
#[test]
fn canonical_request_display_is_what_is_signed_with_the_token_masked() {
    let time = at(1_700_000_000);
    let signer = Signer::new("eu-west-1", "s3");
    for token in [None, Some("FQoGZXIvYXdzEJr//token==")] {
        let secret = secret(token);
        let (host, path) = ("b.s3.eu-west-1.amazonaws.com", "/a%20b/%C3%A9.tif");
        let (want, amz_date) = reference("GET", host, path, &secret, "eu-west-1", time);
        let request = CanonicalRequest {
            method: "GET",
            path,
            host,
            amz_date: &amz_date,
            token,
        };
        let shown = request.to_string();
        let unmasked = match token {
            Some(t) => {
                assert!(!shown.contains(t), "the token is shown: {shown}");
                shown.replace(TOKEN_SHOWN_AS, t)
            }
            None => shown.clone(),
        };
        assert_eq!(request.hash(), hex::encode(Sha256::digest(&unmasked)));
        let key = signer.day_key(&amz_date[..8], &secret.secret_access_key);
        let mut mac = key.mac.clone();
        let to_sign = format!(
            "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
            key.scope,
            request.hash()
        );
        mac.update(to_sign.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        assert!(
            want.ends_with(&format!("Signature={signature}")),
            "{shown}\n{want}"
        );
        assert_eq!(
            signer.sign("GET", host, path, &secret, time).authorization,
            want
        );
    }
}
