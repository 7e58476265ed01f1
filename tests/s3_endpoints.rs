//! Where the S3 reads go (issue 14, items 4-6), through the real binary:
//! - through an HTTP proxy as the SDK's clients go: the proxy environment (`HTTPS_PROXY`,
//!   `HTTP_PROXY`, `NO_PROXY`) read as curl reads it, `CONNECT` for an https endpoint,
//!   absolute form for an http one, `Proxy-Authorization` from the proxy URL's user and
//!   password (before, the reads ignored the proxy: its listener got no connection);
//! - to the host the SDK's endpoint rules name for FIPS, dual-stack and access point ARNs,
//!   seen in the `CONNECT` a recording proxy receives (before: the plain endpoint);
//! - refused at start-up with what to do: Multi-Region Access Points (SigV4a), S3 Express
//!   session auth, FIPS with a custom endpoint (before: started, then signed wrongly).

mod common;

use common::fake_s3::FakeS3;
use common::forward_proxy::ForwardProxy;
use common::{fetch, pattern, sha256, Imgorigin};
use tokio::io::AsyncReadExt;

const BASIC: &str = "Basic dXNlcjpwYXNz"; // user:pass

#[tokio::test(flavor = "multi_thread")]
async fn http_endpoints_are_read_through_the_proxy_in_absolute_form() {
    let fake = FakeS3::start();
    let body = pattern(70_000, 61);
    fake.put("a.bin", body.clone(), "application/octet-stream");
    let proxy = ForwardProxy::start(200).await;
    let url = proxy.url();
    let server = Imgorigin::start_with_env(&fake.serve_args(), &[("HTTP_PROXY", &url)]);
    for method in ["GET", "HEAD"] {
        let got = fetch(server.addr, method, "/a.bin", &[]).await;
        assert_eq!(got.status, 200, "{method}");
        assert_eq!(got.header("content-length"), Some("70000"));
    }
    let got = fetch(server.addr, "GET", "/a.bin", &[("range", "bytes=100-199")]).await;
    assert_eq!(got.status, 206);
    assert_eq!(sha256(got.bytes()), sha256(&body[100..200]));
    let asked = proxy.asked();
    let want = format!("GET http://{}/images/a.bin HTTP/1.1", fake.addr);
    assert!(asked.iter().any(|a| a.line == want), "{asked:?}");
    assert_eq!(
        asked.len(),
        fake.requests().len(),
        "every read went through the proxy"
    );
    assert!(
        asked.iter().all(|a| a.auth.as_deref() == Some(BASIC)),
        "{asked:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_proxy_sends_the_reads_straight_to_s3() {
    let fake = FakeS3::start();
    fake.put("a.bin", pattern(1000, 62), "application/octet-stream");
    let proxy = ForwardProxy::start(200).await;
    let url = proxy.url();
    let env = [("HTTP_PROXY", url.as_str()), ("NO_PROXY", "127.0.0.1")];
    let server = Imgorigin::start_with_env(&fake.serve_args(), &env);
    let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
    assert_eq!(got.status, 200);
    assert!(proxy.asked().is_empty(), "{:?}", proxy.asked());
}

/// A listener standing in for an https S3 endpoint: reports the first byte each connection
/// sends (0x16 opens a TLS handshake).
async fn first_bytes() -> (u16, tokio::sync::mpsc::UnboundedReceiver<u8>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut byte = [0u8; 1];
            if conn.read_exact(&mut byte).await.is_ok() {
                let _ = tx.send(byte[0]);
            }
        }
    });
    (port, rx)
}

#[tokio::test(flavor = "multi_thread")]
async fn https_endpoints_are_reached_through_a_connect_tunnel() {
    let (port, mut first) = first_bytes().await;
    let proxy = ForwardProxy::start(200).await;
    let url = proxy.url();
    let args = [
        "--bucket".to_owned(),
        "images".to_owned(),
        "--endpoint".to_owned(),
        format!("https://127.0.0.1:{port}"),
    ];
    let server = Imgorigin::start_with_env(&args, &[("HTTPS_PROXY", &url)]);
    let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
    // No certificate for 127.0.0.1 here: the handshake fails, as a 502 that no cache keeps.
    assert_eq!(got.status, 502);
    assert_eq!(got.header("cache-control"), Some("no-store"));
    let asked = proxy.asked();
    let want = format!("CONNECT 127.0.0.1:{port} HTTP/1.1");
    assert_eq!(
        asked.first().map(|a| a.line.as_str()),
        Some(want.as_str()),
        "{asked:?}"
    );
    assert_eq!(asked[0].auth.as_deref(), Some(BASIC));
    assert_eq!(first.recv().await, Some(0x16), "TLS inside the tunnel");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_refusing_the_tunnel_is_a_502_and_an_https_proxy_is_refused_at_start() {
    let proxy = ForwardProxy::start(407).await;
    let url = proxy.url();
    let args = [
        "--bucket".to_owned(),
        "images".to_owned(),
        "--endpoint".to_owned(),
        "https://127.0.0.1:9".to_owned(),
    ];
    let server = Imgorigin::start_with_env(&args, &[("HTTPS_PROXY", &url)]);
    let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
    assert_eq!(got.status, 502);
    // A failed connection is retried as the SDK retries it: one CONNECT per attempt.
    let asked = proxy.asked();
    assert!((1..=3).contains(&asked.len()), "{asked:?}");
    assert!(asked
        .iter()
        .all(|a| a.line.starts_with("CONNECT 127.0.0.1:9 ")));
    let out = common::procs::imgorigin_command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(&args)
        .env("HTTPS_PROXY", "https://proxy.example:443")
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("not an http:// proxy"), "stderr: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn fips_dual_stack_and_access_points_reach_the_hosts_the_sdk_names() {
    // The proxy refuses every tunnel: nothing leaves this machine, and the CONNECT names the
    // host the read was for.
    let proxy = ForwardProxy::start(407).await;
    let url = proxy.url();
    let ap = "arn:aws:s3:us-west-2:123456789012:accesspoint/myap";
    type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 4] = [
        ("images", &[], "images.s3.us-east-1.amazonaws.com"),
        (
            "images",
            &[("AWS_USE_FIPS_ENDPOINT", "true")],
            "images.s3-fips.us-east-1.amazonaws.com",
        ),
        (
            "images",
            &[("AWS_USE_DUALSTACK_ENDPOINT", "true")],
            "images.s3.dualstack.us-east-1.amazonaws.com",
        ),
        (
            ap,
            &[],
            "myap-123456789012.s3-accesspoint.us-west-2.amazonaws.com",
        ),
    ];
    for (bucket, extra, host) in cases {
        let mut env = vec![("HTTPS_PROXY", url.as_str()), ("AWS_MAX_ATTEMPTS", "1")];
        env.extend_from_slice(extra);
        let args = ["--bucket".to_owned(), bucket.to_owned()];
        let server = Imgorigin::start_with_env(&args, &env);
        let got = fetch(server.addr, "GET", "/a.bin", &[]).await;
        assert_eq!(got.status, 502, "{extra:?}");
        let asked = proxy.asked();
        let want = format!("CONNECT {host}:443 HTTP/1.1");
        assert_eq!(
            asked.last().map(|a| a.line.as_str()),
            Some(want.as_str()),
            "{extra:?}"
        );
    }
}

#[test]
fn unsupported_endpoints_are_refused_at_start_up() {
    let mrap = "arn:aws:s3::123456789012:accesspoint/mfzwi23gnjvgw.mrap";
    // (bucket, extra arguments, environment, a phrase of the message)
    type Case<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, &'a str)], &'a str);
    let cases: [Case; 3] = [
        (mrap, &[], &[], "SigV4a"),
        (
            "photos--usw2-az1--x-s3",
            &[],
            &[],
            "AWS_S3_DISABLE_EXPRESS_SESSION_AUTH",
        ),
        (
            "images",
            &["--endpoint", "http://127.0.0.1:9"],
            &[("AWS_USE_FIPS_ENDPOINT", "true")],
            "FIPS",
        ),
    ];
    for (bucket, args, env, phrase) in cases {
        let out = common::procs::imgorigin_command()
            .args(["serve", "--listen", "127.0.0.1:0", "--bucket", bucket])
            .args(args)
            .envs(env.iter().copied())
            .stderr(std::process::Stdio::piped())
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{bucket} started");
        assert!(err.contains(phrase), "{bucket}: stderr: {err}");
    }
}
