//! Function URL events (payload format 2.0) to `http::Request`, so the Lambda path runs the
//! same [`crate::Origin`] as the HTTP server.

use http::header::COOKIE;
use http::{HeaderName, HeaderValue, Method, Request, Uri};
use serde_json::Value;

/// Why an event cannot be turned into a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// Not a Function URL event (or not JSON).
    #[error("not a Function URL event: {0}")]
    Json(#[from] serde_json::Error),
    /// The event has no HTTP method.
    #[error("event has no HTTP method")]
    NoMethod,
    /// Method, path or query are not valid HTTP.
    #[error("invalid request line in event: {0}")]
    Invalid(String),
}

fn text(v: &Value) -> Option<&str> {
    v.as_str().filter(|s| !s.is_empty())
}

/// `raw` with every byte a request target cannot hold percent-encoded, so that the origin's
/// parsers (which decode once) give the same key and parameters and a 400 where they refuse,
/// rather than the whole invocation failing (a 502, which CloudFront caches).
///
/// The caller turns spaces in `rawQueryString` into `+` first: Function URLs hand on a `+`
/// in the query as a space (aws-lambda-web-adapter#491: `?q=a+b` made the request invalid,
/// `?q=a%20b` did not), and a client cannot have sent a bare space.
fn as_sent(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for &b in raw.as_bytes() {
        let kept = b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&b);
        match kept {
            true => out.push(char::from(b)),
            false => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Parses an event payload into a request without body (GET and HEAD carry none; bodies of
/// other methods are not needed to refuse them).
///
/// # Errors
/// When the payload is not a Function URL event or holds an invalid request line.
pub fn to_request(payload: &[u8]) -> Result<Request<()>, EventError> {
    // Only the fields a GET/HEAD needs are read, so that events from emulators or newer
    // payload versions with fields added or left out still work.
    let event: Value = serde_json::from_slice(payload)?;
    let method = text(&event["requestContext"]["http"]["method"]).ok_or(EventError::NoMethod)?;
    let method =
        Method::from_bytes(method.as_bytes()).map_err(|e| EventError::Invalid(e.to_string()))?;
    // rawPath is the path as the client sent it (still percent-encoded): the origin decodes
    // it exactly once, as for the HTTP server.
    let path = as_sent(text(&event["rawPath"]).unwrap_or("/"));
    let uri = match text(&event["rawQueryString"]) {
        Some(q) => format!("{path}?{}", as_sent(&q.replace(' ', "+"))),
        None => path,
    };
    let uri: Uri = uri
        .parse()
        .map_err(|e: http::uri::InvalidUri| EventError::Invalid(e.to_string()))?;
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    if let Some(headers) = event["headers"].as_object() {
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes());
            let value = value.as_str().map(HeaderValue::from_str);
            if let (Ok(name), Some(Ok(value))) = (name, value) {
                request.headers_mut().append(name, value);
            }
        }
    }
    // Function URLs move cookies out of the headers; put them back for completeness.
    if let Some(cookies) = event["cookies"].as_array().filter(|c| !c.is_empty()) {
        let joined = cookies
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; ");
        if let Ok(v) = HeaderValue::from_str(&joined) {
            request.headers_mut().insert(COOKIE, v);
        }
    }
    Ok(request)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn event(method: &str, raw_path: &str, query: &str, headers: &str) -> Vec<u8> {
        format!(
            r#"{{"version":"2.0","rawPath":"{raw_path}","rawQueryString":"{query}","headers":{{{headers}}},
            "requestContext":{{"http":{{"method":"{method}","path":"{raw_path}"}}}},"isBase64Encoded":false}}"#
        )
        .into_bytes()
    }

    #[test]
    fn function_url_event_to_request() {
        let payload = event(
            "GET",
            "/maps/tile%20a.png",
            "w=1",
            r#""range":"bytes=0-9","if-none-match":"\"a\", \"b\"""#,
        );
        let req = to_request(&payload).unwrap();
        assert_eq!(req.method(), Method::GET);
        assert_eq!(req.uri().path(), "/maps/tile%20a.png");
        assert_eq!(req.uri().query(), Some("w=1"));
        assert_eq!(req.headers()["range"], "bytes=0-9");
        assert_eq!(req.headers()["if-none-match"], r#""a", "b""#);
    }

    #[test]
    fn bad_events() {
        assert!(matches!(to_request(b"not json"), Err(EventError::Json(_))));
        assert!(matches!(
            to_request(br#"{"requestContext":{"http":{}},"isBase64Encoded":false}"#),
            Err(EventError::NoMethod)
        ));
        assert!(matches!(to_request(b"[1, 2]"), Err(EventError::NoMethod)));
        assert!(matches!(
            to_request(&event("G(T", "/a", "", "")),
            Err(EventError::Invalid(_))
        ));
    }

    // What a Function URL may hand on that a request target cannot hold.
    #[test]
    fn raw_fields_are_read_as_the_client_sent_them() {
        let cases = [
            // (rawPath, rawQueryString, path, query)
            ("/a b", "", "/a%20b", None),
            ("/a%20b", "w=1", "/a%20b", Some("w=1")),
            ("/café", "", "/caf%C3%A9", None),
            ("/x", "q=a b", "/x", Some("q=a+b")), // aws-lambda-web-adapter#491
            ("/x", "q=a+b&f=%2B", "/x", Some("q=a+b&f=%2B")),
            ("/x", "a=\"<>\"", "/x", Some("a=%22%3C%3E%22")),
            ("/x%zz", "", "/x%zz", None), // the origin's 400, not the event's
        ];
        for (raw_path, raw_query, path, query) in cases {
            let json = serde_json::json!({
                "rawPath": raw_path, "rawQueryString": raw_query, "headers": {},
                "requestContext": {"http": {"method": "GET"}},
            });
            let req = to_request(json.to_string().as_bytes()).unwrap();
            assert_eq!(req.uri().path(), path, "{raw_path}");
            assert_eq!(req.uri().query(), query, "{raw_query}");
        }
    }

    proptest! {
        // Whatever the path and query hold, a GET is a request: the origin decides.
        #[test]
        fn any_path_and_query_make_a_request(path in "/\\PC{0,40}", query in "\\PC{0,20}") {
            let json = serde_json::json!({
                "rawPath": path, "rawQueryString": query, "headers": {},
                "requestContext": {"http": {"method": "GET"}}, "isBase64Encoded": false
            });
            prop_assert!(to_request(json.to_string().as_bytes()).is_ok());
        }

        #[test]
        fn never_panics(path in "[ -~]{0,40}", method in "[A-Z]{0,8}", query in "[ -~]{0,20}") {
            let json = serde_json::json!({
                "rawPath": path, "rawQueryString": query, "headers": {},
                "requestContext": {"http": {"method": method}}, "isBase64Encoded": false
            });
            let _ = to_request(json.to_string().as_bytes());
        }

        #[test]
        fn never_panics_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = to_request(&bytes);
        }
    }
}
