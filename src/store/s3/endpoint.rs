//! Where the reads go and how they are signed, decided once at start-up by aws-sdk-s3's own
//! endpoint rules (`config::endpoint::DefaultResolver`, the rules the SDK runs per request),
//! from the same settings the SDK's client would take from the AWS configuration: FIPS and
//! dual-stack (`AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`, the profile), an
//! endpoint URL (`--endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile's
//! `endpoint_url` or its `services` section, all ignored under
//! `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS`), access point ARNs as the bucket.
//!
//! The rules also name the auth scheme: the reads sign SigV4 with the scheme's signing name
//! and region (an access point ARN in another region is signed for that region). SigV4a
//! (Multi-Region Access Points) and S3 Express session auth (directory buckets) are not
//! implemented: such a configuration is refused at start-up, with what to do.

use aws_sdk_s3::config::endpoint::{DefaultResolver, Endpoint, Params, ResolveEndpoint};

/// What the AWS configuration says about the endpoint, as the SDK's client would read it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Settings {
    pub(super) bucket: String,
    pub(super) region: String,
    /// A custom endpoint URL; it implies path-style addressing (S3-compatible servers).
    pub(super) endpoint_url: Option<String>,
    pub(super) use_fips: bool,
    pub(super) use_dual_stack: bool,
    /// `AWS_S3_DISABLE_EXPRESS_SESSION_AUTH` / `s3_disable_express_session_auth`.
    pub(super) disable_express_session_auth: Option<bool>,
}

/// The bucket's URL and how to sign for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Resolved {
    /// Without a trailing slash: `https://bucket.s3.region.amazonaws.com` or
    /// `http://host:port/bucket`.
    pub(super) url: String,
    pub(super) signing_name: String,
    pub(super) signing_region: String,
}

/// Runs the SDK's endpoint rules for `settings`.
///
/// # Errors
/// What the rules refuse (FIPS with a custom endpoint, an ARN in another partition, ...) and
/// the auth schemes the reads do not implement, each with what to do.
pub(super) async fn resolve(settings: &Settings) -> Result<Resolved, String> {
    let mut params = Params::builder()
        .bucket(&settings.bucket)
        .region(&settings.region)
        .use_fips(settings.use_fips)
        .use_dual_stack(settings.use_dual_stack)
        .force_path_style(settings.endpoint_url.is_some())
        .set_endpoint(settings.endpoint_url.clone());
    if let Some(disable) = settings.disable_express_session_auth {
        params = params.disable_s3_express_session_auth(disable);
    }
    let params = params
        .build()
        .map_err(|e| format!("S3 endpoint parameters: {e}"))?;
    let endpoint = DefaultResolver::new()
        .resolve_endpoint(&params)
        .await
        .map_err(|e| format!("the S3 endpoint rules refuse this configuration: {e}"))?;
    let (signing_name, signing_region) = signing(&endpoint, &settings.region)?;
    Ok(Resolved {
        url: endpoint.url().trim_end_matches('/').to_owned(),
        signing_name,
        signing_region,
    })
}

/// The signing name and region of the endpoint's first auth scheme (the SDK's preference
/// order), which must be SigV4.
fn signing(endpoint: &Endpoint, region: &str) -> Result<(String, String), String> {
    let Some(scheme) = endpoint.auth_schemes().first() else {
        return Ok(("s3".into(), region.into())); // custom endpoints name none
    };
    let text = |key: &str| scheme.get(key).and_then(|v| v.as_string());
    match scheme.name() {
        "sigv4" => {}
        "sigv4a" => {
            return Err(
                "this bucket needs SigV4a signing (a Multi-Region Access Point), \
                        which imgorigin's S3 reads do not implement: use a regional \
                        access point or the bucket itself"
                    .into(),
            )
        }
        "sigv4-s3express" => {
            return Err(
                "this is an S3 Express One Zone directory bucket, whose session \
                        authentication (CreateSession) imgorigin's S3 reads do not implement: \
                        set AWS_S3_DISABLE_EXPRESS_SESSION_AUTH=true to sign every read with \
                        SigV4, or use a general purpose bucket"
                    .into(),
            )
        }
        other => {
            return Err(format!(
                "the S3 endpoint asks for the auth scheme {other:?}, which imgorigin's S3 \
                 reads do not implement"
            ))
        }
    }
    // S3 signs the path as sent; the reads never encode it twice (sigv4.rs).
    if scheme
        .get("disableDoubleEncoding")
        .and_then(|v| v.as_bool())
        == Some(false)
    {
        return Err(
            "the S3 endpoint asks for double URI encoding in signatures, which \
                    imgorigin's S3 reads do not implement"
                .into(),
        );
    }
    Ok((
        text("signingName").unwrap_or("s3").to_owned(),
        text("signingRegion").unwrap_or(region).to_owned(),
    ))
}

#[cfg(test)]
#[path = "endpoint_tests.rs"]
mod tests;
