//! Cross-origin access for browser viewers (Fetch standard, CORS protocol). Zoom viewers and
//! PMTiles/COG readers issue Range requests from another origin and must read ETag and
//! Content-Range, so those are exposed.

use http::header::{
    ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN,
    ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE, ACCESS_CONTROL_REQUEST_METHOD, ORIGIN,
    VARY,
};
use http::{HeaderMap, HeaderValue};

/// Which origins may read responses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cors {
    /// No CORS headers; OPTIONS is not allowed.
    Off,
    /// `*`: any origin.
    Any,
    /// Exactly these origins (`https://viewer.example`).
    Origins(Vec<HeaderValue>),
}

const EXPOSE: &str = "ETag, Content-Range, Content-Length, Accept-Ranges, Last-Modified";
const ALLOW_HEADERS: &str =
    "Range, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, If-Range";

impl Cors {
    /// Builds from `--cors-origin` values; `*` anywhere means any origin.
    pub fn from_origins(origins: &[String]) -> Result<Cors, http::header::InvalidHeaderValue> {
        if origins.is_empty() {
            return Ok(Cors::Off);
        }
        if origins.iter().any(|o| o == "*") {
            return Ok(Cors::Any);
        }
        let values = origins
            .iter()
            .map(|o| HeaderValue::from_str(o.trim_end_matches('/')));
        Ok(Cors::Origins(values.collect::<Result<_, _>>()?))
    }

    /// Whether OPTIONS is served.
    pub fn enabled(&self) -> bool {
        !matches!(self, Cors::Off)
    }

    /// The Access-Control-Allow-Origin value for a request, if it may read the response.
    fn allow(&self, request: &HeaderMap) -> Option<HeaderValue> {
        match self {
            Cors::Off => None,
            Cors::Any => Some(HeaderValue::from_static("*")),
            Cors::Origins(list) => {
                let origin = request.get(ORIGIN)?;
                list.iter().any(|o| o == origin).then(|| origin.clone())
            }
        }
    }

    /// Adds the CORS headers of an actual (non-preflight) response.
    pub fn decorate(&self, request: &HeaderMap, response: &mut HeaderMap) {
        if let Cors::Origins(_) = self {
            // The answer depends on Origin, so caches must key on it.
            response.append(VARY, HeaderValue::from_static("Origin"));
        }
        if let Some(allow) = self.allow(request) {
            response.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
            response.insert(
                ACCESS_CONTROL_EXPOSE_HEADERS,
                HeaderValue::from_static(EXPOSE),
            );
        }
    }

    /// Headers of a preflight answer, or `None` when the origin or method is not allowed.
    pub fn preflight(&self, request: &HeaderMap) -> Option<HeaderMap> {
        let method = request.get(ACCESS_CONTROL_REQUEST_METHOD)?;
        if method != "GET" && method != "HEAD" {
            return None;
        }
        let allow = self.allow(request)?;
        let mut headers = HeaderMap::new();
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, allow);
        headers.insert(
            ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, HEAD"),
        );
        headers.insert(
            ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(ALLOW_HEADERS),
        );
        headers.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("86400"));
        if let Cors::Origins(_) = self {
            headers.insert(VARY, HeaderValue::from_static("Origin"));
        }
        Some(headers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn listed_origin_is_echoed_and_others_are_not() {
        let cors = Cors::from_origins(&["https://a.example".into()]).unwrap();
        let mut resp = HeaderMap::new();
        cors.decorate(&req(&[("origin", "https://a.example")]), &mut resp);
        assert_eq!(resp[ACCESS_CONTROL_ALLOW_ORIGIN], "https://a.example");
        assert_eq!(resp[VARY], "Origin");
        let mut resp = HeaderMap::new();
        cors.decorate(&req(&[("origin", "https://evil.example")]), &mut resp);
        assert!(!resp.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN));
    }

    #[test]
    fn preflight_only_for_get_and_head() {
        let cors = Cors::Any;
        let ok = cors.preflight(&req(&[
            ("origin", "x"),
            ("access-control-request-method", "GET"),
        ]));
        assert_eq!(ok.unwrap()[ACCESS_CONTROL_ALLOW_METHODS], "GET, HEAD");
        assert!(cors
            .preflight(&req(&[
                ("origin", "x"),
                ("access-control-request-method", "PUT")
            ]))
            .is_none());
        assert!(Cors::Off
            .preflight(&req(&[("access-control-request-method", "GET")]))
            .is_none());
    }
}
