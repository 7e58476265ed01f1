//! Reaching the endpoint through an HTTP proxy: `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and
//! `NO_PROXY` (either case), read as curl reads them by hyper-util's `Matcher`, as the SDK's
//! own clients and credential providers honour them. An `https` endpoint is reached through a
//! `CONNECT` tunnel (RFC 9110 §9.3.6) with TLS to the endpoint inside it; a plain
//! `http` one by requests in absolute form (RFC 9112 §3.2.2). User and password in
//! the proxy URL become `Proxy-Authorization: Basic`.
//!
//! Refused at start-up: proxies other than `http://` (TLS to the proxy itself, SOCKS).

use super::Error;
use http::HeaderValue;
use hyper_util::client::proxy::matcher::Matcher;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The proxy a pool's connections go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxy {
    pub(super) host: String,
    pub(super) port: u16,
    /// Marked sensitive: `Debug` does not show it.
    auth: Option<HeaderValue>,
}

/// The proxy the environment names for `target`, if any.
///
/// # Errors
/// A proxy URL that is not `http://host[:port]`, with what to do.
pub fn from_env(target: &http::Uri) -> Result<Option<Proxy>, String> {
    from_matcher(&Matcher::from_env(), target)
}

fn from_matcher(matcher: &Matcher, target: &http::Uri) -> Result<Option<Proxy>, String> {
    let Some(intercept) = matcher.intercept(target) else {
        return Ok(None);
    };
    let uri = intercept.uri();
    let host = uri.host().unwrap_or_default();
    if uri.scheme_str() != Some("http") || host.is_empty() {
        return Err(format!(
            "the proxy for {target} ({}://{host}) is not an http:// proxy, the only kind \
             imgorigin's HTTP/1.1 client supports: set HTTPS_PROXY to http://host:port, or \
             add the host to NO_PROXY",
            uri.scheme_str().unwrap_or("?")
        ));
    }
    let auth = intercept.basic_auth().cloned().map(|mut v| {
        v.set_sensitive(true);
        v
    });
    Ok(Some(Proxy {
        host: host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
        port: uri.port_u16().unwrap_or(80),
        auth,
    }))
}

impl Proxy {
    /// `head` (origin form, `GET /path HTTP/1.1`) in absolute form for `authority`, with the
    /// proxy's credentials.
    pub(super) fn absolute_form(&self, head: &[u8], authority: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(head.len() + authority.len() + 64);
        let space = head.iter().position(|&b| b == b' ').unwrap_or(0);
        let line_end = head
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(head.len(), |i| i + 2);
        out.extend_from_slice(&head[..=space.min(head.len().saturating_sub(1))]);
        out.extend_from_slice(b"http://");
        out.extend_from_slice(authority.as_bytes());
        out.extend_from_slice(&head[space + 1..line_end]);
        self.push_auth(&mut out);
        out.extend_from_slice(&head[line_end..]);
        out
    }

    /// Opens a tunnel to `host:port` on `tcp`, a connection to the proxy.
    pub(super) async fn tunnel(
        &self,
        tcp: &mut TcpStream,
        host: &str,
        port: u16,
    ) -> Result<(), Error> {
        let authority = match host.contains(':') {
            true => format!("[{host}]:{port}"),
            false => format!("{host}:{port}"),
        };
        let mut head =
            format!("CONNECT {authority} HTTP/1.1\r\nhost: {authority}\r\n").into_bytes();
        self.push_auth(&mut head);
        head.extend_from_slice(b"\r\n");
        tcp.write_all(&head).await.map_err(refused)?;
        // The proxy says nothing after its answer until the TLS handshake starts, so reading
        // in blocks cannot take bytes of the tunnel.
        let mut buf = Vec::with_capacity(1024);
        loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                return connect_answer(&buf[..end + 4], buf.len() > end + 4);
            }
            if buf.len() > 16 * 1024 {
                return Err(Error::Proxy("answer to CONNECT over 16 KiB".into()));
            }
            let mut block = [0u8; 1024];
            match tcp.read(&mut block).await.map_err(refused)? {
                0 => return Err(Error::Proxy("closed the connection after CONNECT".into())),
                n => buf.extend_from_slice(&block[..n]),
            }
        }
    }

    fn push_auth(&self, out: &mut Vec<u8>) {
        if let Some(auth) = &self.auth {
            out.extend_from_slice(b"proxy-authorization: ");
            out.extend_from_slice(auth.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
}

fn refused(e: std::io::Error) -> Error {
    Error::Proxy(format!("CONNECT: {e}"))
}

/// Whether the proxy's answer head to CONNECT opened the tunnel.
fn connect_answer(head: &[u8], extra: bool) -> Result<(), Error> {
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut parsed = httparse::Response::new(&mut slots);
    let status = match parsed.parse(head) {
        Ok(httparse::Status::Complete(_)) => parsed.code.unwrap_or(0),
        _ => return Err(Error::Proxy("malformed answer to CONNECT".into())),
    };
    match (status, extra) {
        (200..=299, false) => Ok(()),
        (200..=299, true) => Err(Error::Proxy(
            "bytes after the answer that opened the tunnel".into(),
        )),
        _ => Err(Error::Proxy(format!("answered CONNECT with {status}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(all: &str, no: &str) -> Matcher {
        Matcher::builder()
            .all(all.to_owned())
            .no(no.to_owned())
            .build()
    }

    // As curl: NO_PROXY wins; credentials become Basic; only http:// proxies.
    #[test]
    fn proxy_table() {
        let s3 = http::Uri::from_static("https://b.s3.eu-west-1.amazonaws.com");
        let local = http::Uri::from_static("http://127.0.0.1:9000/images");
        let p = from_matcher(&matcher("http://u:p@proxy:3128", ""), &s3).expect("ok");
        let p = p.expect("proxied");
        assert_eq!((p.host.as_str(), p.port), ("proxy", 3128));
        assert_eq!(
            p.auth.as_ref().map(|a| a.to_str().ok()),
            Some(Some("Basic dTpw"))
        );
        assert!(!format!("{p:?}").contains("dTpw"), "credentials in Debug");
        let none = from_matcher(&matcher("http://proxy:3128", "127.0.0.1"), &local);
        assert_eq!(none, Ok(None));
        let bypass = from_matcher(&matcher("http://proxy", ".amazonaws.com"), &s3);
        assert_eq!(bypass, Ok(None));
        for refused in ["https://proxy:443", "socks5://proxy:1080"] {
            let got = from_matcher(&matcher(refused, ""), &s3);
            assert!(
                got.as_ref().is_err_and(|e| e.contains("NO_PROXY")),
                "{refused}: {got:?}"
            );
        }
    }

    #[test]
    fn absolute_form_keeps_the_request_and_adds_credentials() {
        let p = from_matcher(
            &matcher("http://u:p@proxy", ""),
            &"http://h:9/".parse().expect("uri"),
        )
        .expect("ok")
        .expect("proxied");
        let head = b"GET /images/a%20b HTTP/1.1\r\nhost: h:9\r\n\r\n";
        let out = p.absolute_form(head, "h:9");
        assert_eq!(
            String::from_utf8_lossy(&out),
            "GET http://h:9/images/a%20b HTTP/1.1\r\nproxy-authorization: Basic dTpw\r\n\
             host: h:9\r\n\r\n"
        );
    }

    #[test]
    fn connect_answers() {
        assert!(connect_answer(b"HTTP/1.1 200 Connection established\r\n\r\n", false).is_ok());
        assert!(connect_answer(b"HTTP/1.1 200 OK\r\n\r\n", true).is_err());
        let refused = connect_answer(b"HTTP/1.1 407 Proxy Auth\r\n\r\n", false);
        assert!(matches!(refused, Err(Error::Proxy(m)) if m.contains("407")));
    }
}
