//! The SDK's endpoint rules as the reads use them: URL, signing name and region, or a
//! refusal. Host names as AWS documents them: "Dual-stack endpoints" and "FIPS endpoints"
//! (S3 user guide), "Using access points" (`name-account.s3-accesspoint.region`), "Regional
//! and zonal endpoints for directory buckets" (`s3express-zone.region`).

use super::*;

fn settings(bucket: &str, region: &str) -> Settings {
    Settings {
        bucket: bucket.into(),
        region: region.into(),
        ..Settings::default()
    }
}

fn ok(url: &str, name: &str, region: &str) -> Result<Resolved, &'static str> {
    Ok(Resolved {
        url: url.into(),
        signing_name: name.into(),
        signing_region: region.into(),
    })
}

const AP_ARN: &str = "arn:aws:s3:us-west-2:123456789012:accesspoint/myap";
const OLAP_ARN: &str = "arn:aws:s3-object-lambda:us-east-2:123456789012:accesspoint/banner";
const MRAP_ARN: &str = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap";
const EXPRESS: &str = "photos--usw2-az1--x-s3";

#[tokio::test]
async fn resolver_table() {
    let fips = |mut s: Settings| {
        s.use_fips = true;
        s
    };
    let dual = |mut s: Settings| {
        s.use_dual_stack = true;
        s
    };
    let custom = |mut s: Settings| {
        s.endpoint_url = Some("http://127.0.0.1:9000".into());
        s
    };
    let no_session = |mut s: Settings| {
        s.disable_express_session_auth = Some(true);
        s
    };
    // (settings, Ok(url, signing name, signing region) or Err(a word of the refusal))
    let cases = [
        (
            settings("photos", "eu-west-1"),
            ok(
                "https://photos.s3.eu-west-1.amazonaws.com",
                "s3",
                "eu-west-1",
            ),
        ),
        (
            fips(settings("photos", "us-east-1")),
            ok(
                "https://photos.s3-fips.us-east-1.amazonaws.com",
                "s3",
                "us-east-1",
            ),
        ),
        (
            dual(settings("photos", "eu-west-1")),
            ok(
                "https://photos.s3.dualstack.eu-west-1.amazonaws.com",
                "s3",
                "eu-west-1",
            ),
        ),
        (
            fips(dual(settings("photos", "us-gov-west-1"))),
            ok(
                "https://photos.s3-fips.dualstack.us-gov-west-1.amazonaws.com",
                "s3",
                "us-gov-west-1",
            ),
        ),
        (
            settings("photos", "us-east-1"),
            ok(
                "https://photos.s3.us-east-1.amazonaws.com",
                "s3",
                "us-east-1",
            ),
        ),
        // A dotted name would break TLS on the wildcard certificate: path-style.
        (
            settings("my.images", "eu-west-1"),
            ok(
                "https://s3.eu-west-1.amazonaws.com/my.images",
                "s3",
                "eu-west-1",
            ),
        ),
        // Not DNS-compatible: path-style, as the SDK sends it.
        (
            settings("Photos_2024", "eu-west-1"),
            ok(
                "https://s3.eu-west-1.amazonaws.com/Photos_2024",
                "s3",
                "eu-west-1",
            ),
        ),
        // An access point in another region than configured is signed for its own region.
        (
            settings(AP_ARN, "us-east-1"),
            ok(
                "https://myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com",
                "s3",
                "us-west-2",
            ),
        ),
        (
            fips(settings(AP_ARN, "us-west-2")),
            ok(
                "https://myap-123456789012.s3-accesspoint-fips.us-west-2.amazonaws.com",
                "s3",
                "us-west-2",
            ),
        ),
        (
            settings(OLAP_ARN, "us-east-2"),
            ok(
                "https://banner-123456789012.s3-object-lambda.us-east-2.amazonaws.com",
                "s3-object-lambda",
                "us-east-2",
            ),
        ),
        (
            custom(settings("images", "us-east-1")),
            ok("http://127.0.0.1:9000/images", "s3", "us-east-1"),
        ),
        (custom(fips(settings("images", "us-east-1"))), Err("FIPS")),
        (settings(MRAP_ARN, "us-east-1"), Err("SigV4a")),
        (
            settings(EXPRESS, "us-west-2"),
            Err("AWS_S3_DISABLE_EXPRESS_SESSION_AUTH"),
        ),
        (
            no_session(settings(EXPRESS, "us-west-2")),
            ok(
                "https://photos--usw2-az1--x-s3.s3express-usw2-az1.us-west-2.amazonaws.com",
                "s3express",
                "us-west-2",
            ),
        ),
    ];
    for (settings, want) in cases {
        let got = resolve(&settings).await;
        match (&got, &want) {
            (Ok(got), Ok(want)) => assert_eq!(got, want, "{settings:?}"),
            (Err(e), Err(word)) => assert!(e.contains(word), "{settings:?}: {e}"),
            _ => panic!("{settings:?}: got {got:?}, want {want:?}"),
        }
    }
}
