//! The request pipeline, independent of transport: `http::Request` in, `http::Response` with a
//! streaming [`ObjectBody`] out. The hyper server and the Lambda adapter both call
//! [`Origin::handle`].

mod body_reader;
mod iiif;
mod iiif_image;
mod iiif_tiff;
pub use iiif::IiifCache;
mod transformed;

use crate::body::{ObjectBody, Source};
use crate::config::Config;
use crate::key::object_key;
use crate::meta::ObjectMeta;
use crate::plan::{decide, multipart, Ask, Decision};
use crate::query::Query;
use crate::range::{ByteSpan, RangeRequest};
use crate::response::{self, RequestError};
use crate::store::{Deadline, Fetched, GetRequest, Store};
use crate::transform::params::from_query;
use crate::validators::Conditions;
use http::{Method, Request, Response, StatusCode};
use std::sync::Arc;
use std::time::SystemTime;

/// The application: a store plus configuration. Cheap to clone (state behind `Arc`).
#[derive(Clone)]
pub struct Origin {
    store: Arc<dyn Store>,
    config: Arc<Config>,
}

impl Origin {
    /// An origin serving `store`, every call to it bounded by `config.store_timeout`.
    pub fn new(store: Arc<dyn Store>, config: Config) -> Origin {
        Origin {
            store: Arc::new(Deadline::new(store, config.store_timeout)),
            config: Arc::new(config),
        }
    }

    /// Where the transports report each request ([`crate::observe`]).
    pub fn observer(&self) -> &crate::observe::Observer {
        &self.config.observer
    }

    /// Answers one request. Never fails: every error becomes a response, and is logged with
    /// the request id, key and cause.
    pub async fn handle<B>(&self, request: Request<B>) -> Response<ObjectBody> {
        self.handle_limited(request, None).await
    }

    /// [`Origin::handle`] for a transport that carries at most `max_body` bytes per response
    /// (see [`crate::plan::Decision::TooLarge`]).
    pub async fn handle_limited<B>(
        &self,
        request: Request<B>,
        max_body: Option<u64>,
    ) -> Response<ObjectBody> {
        let rid = crate::observe::Exchange::current_or_new_id();
        let (parts, _body) = request.into_parts();
        let iiif = self.iiif_prefix(parts.uri.path());
        let is_iiif = iiif.is_some();
        let result = self.route(rid, &parts, max_body, iiif).await;
        let mut response = result.unwrap_or_else(|err| {
            crate::observe::note_error(err.class());
            let key = object_key(parts.uri.path(), &self.config.prefix).map(|k| k.to_string());
            let key = key.unwrap_or_else(|_| format!("(path {:?})", parts.uri.path()));
            match &err {
                RequestError::Store(e) if e.is_transient() => {
                    tracing::error!(rid, key, cause = %err, "request failed")
                }
                _ => tracing::info!(rid, key, cause = %err, "request refused"),
            }
            response::error(&err, &self.config)
        });
        if parts.method != Method::OPTIONS {
            self.config
                .cors
                .decorate(&parts.headers, response.headers_mut());
            if is_iiif && !self.config.cors.enabled() {
                iiif::allow_any_origin(&mut response);
            }
        }
        response
    }

    async fn route(
        &self,
        rid: u64,
        parts: &http::request::Parts,
        max_body: Option<u64>,
        iiif: Option<(&crate::iiif::Settings, iiif::Rest<'_>)>,
    ) -> Result<Response<ObjectBody>, RequestError> {
        self.config.access.check_origin(&parts.headers)?;
        let head = match parts.method {
            Method::GET => false,
            Method::HEAD => true,
            Method::OPTIONS => return self.options(parts),
            _ => return Err(RequestError::MethodNotAllowed),
        };
        if let Some((settings, rest)) = iiif {
            let call = iiif::Call {
                rid,
                parts,
                head,
                settings,
                max_body,
            };
            return self.iiif(call, rest).await;
        }
        let key = object_key(parts.uri.path(), &self.config.prefix)?;
        let now = (self.config.clock)();
        let request_key = key
            .as_str()
            .get(self.config.prefix.len()..)
            .unwrap_or_default();
        // One reading of the query for every parser below (crate::query).
        let query = Query::parse(parts.uri.query())?;
        self.config
            .access
            .check_key(request_key, &query, unix_seconds(now))?;
        let conditions = Conditions::from_headers(&parts.headers);
        if self.config.transforms.enabled {
            if let Some(params) = from_query(&query, &self.config.transforms)
                .map_err(crate::transform::TransformError::from)?
            {
                return self
                    .transformed(transformed::Transform {
                        rid,
                        key: key.as_str(),
                        head,
                        headers: &parts.headers,
                        conditions: &conditions,
                        params,
                        now,
                        max_body,
                    })
                    .await;
            }
        }
        let ask = Ask {
            head,
            conditions: &conditions,
            range: match RangeRequest::from_headers(&parts.headers) {
                _ if head => RangeRequest::None,
                // Ignored before any store call (the plan's rule 1 too): one lookup, not two.
                RangeRequest::Multiple(specs) if specs.len() > self.config.max_ranges => {
                    RangeRequest::None
                }
                range => range,
            },
            now,
            max_body,
            max_ranges: self.config.max_ranges,
        };
        let (meta, prefetched) = match self.fetch(key.as_str(), &ask).await? {
            Fetched::Object { meta, body } => (meta, body),
            Fetched::NotModified {
                etag,
                last_modified,
                cache_control,
                expires,
            } => {
                return Ok(response::not_modified(
                    etag.as_ref(),
                    last_modified,
                    cache_control.as_deref(),
                    expires.as_deref(),
                    &self.config,
                ));
            }
        };
        let (span, partial) = match decide(&ask, &meta) {
            Decision::PreconditionFailed => return Ok(response::precondition_failed()),
            Decision::NotModified => {
                return Ok(response::not_modified(
                    Some(&meta.etag),
                    meta.last_modified,
                    meta.cache_control.as_deref(),
                    meta.stored.expires.as_deref(),
                    &self.config,
                ));
            }
            Decision::Unsatisfiable => return Ok(response::unsatisfiable(&meta)),
            Decision::TooLarge => return Err(RequestError::TooLarge(meta.len)),
            Decision::Full(span) => (span, None),
            Decision::Partial(span) => (Some(span), Some(span)),
            Decision::Multipart(spans) => {
                return Ok(self.multipart(rid, key.as_str(), &meta, &spans))
            }
        };
        let body = match span {
            Some(span) if !head => {
                self.body(rid, key.as_str(), &meta, span, prefetched)
                    .await?
            }
            _ => ObjectBody::empty(),
        };
        Ok(response::object(&meta, partial, &self.config, body))
    }

    /// The IIIF settings and the rest of `path` when it is below the IIIF prefix, as sent
    /// or spelled `/~/` + base64url (the deploy's CloudFront Function sends every path with
    /// other than unreserved characters so, decoded once: [`iiif::Rest::Decoded`]).
    fn iiif_prefix<'p>(&self, path: &'p str) -> Option<(&crate::iiif::Settings, iiif::Rest<'p>)> {
        let settings = self.config.iiif.as_ref()?;
        if let Some(rest) = path.strip_prefix(settings.prefix.as_str()) {
            return Some((settings, iiif::Rest::Sent(rest)));
        }
        let key = crate::key::encoded_key(path)?.ok()?;
        let rest = key.strip_prefix(settings.prefix.get(1..)?)?;
        Some((settings, iiif::Rest::Decoded(rest.to_owned())))
    }

    /// The one store call of a request: HeadObject-like for HEAD and for a GET with several
    /// ranges (its spans are read once planned, [`Origin::multipart`]), a lookup that may
    /// start the read for any other GET.
    async fn fetch(&self, key: &str, ask: &Ask<'_>) -> Result<Fetched, RequestError> {
        if ask.head || matches!(ask.range, RangeRequest::Multiple(_)) {
            let meta = self.store.head(key).await?;
            return Ok(Fetched::Object { meta, body: None });
        }
        let req = GetRequest {
            key,
            // Ask the store only for what the budget lets us send: one round trip still.
            range: ask.range.single().map(|spec| spec.limited(ask.max_body)),
            conditions: ask.conditions,
        };
        Ok(self.store.get(req).await?)
    }

    /// The streamed body for `span`: the store's started read when it covers exactly that
    /// span, else a new read of the same version.
    async fn body(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
        span: ByteSpan,
        prefetched: Option<crate::store::Prefetched>,
    ) -> Result<ObjectBody, RequestError> {
        let chunks = match prefetched {
            Some(p) if p.span == span => p.chunks,
            _ => self.store.read(key, span, &meta.etag).await?,
        };
        let source = Source {
            store: self.store.clone(),
            key: Arc::from(key),
            etag: meta.etag.clone(),
            request_id: rid,
        };
        Ok(ObjectBody::stream(source, span, chunks, self.config.resume))
    }

    /// A 206 multipart/byteranges of `spans`: framing laid out (and so Content-Length known)
    /// before the first byte; nearby spans share a store read, every read pinned to `meta`'s
    /// ETag.
    fn multipart(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
        spans: &[ByteSpan],
    ) -> Response<ObjectBody> {
        let boundary = multipart::boundary();
        let part_type = meta.sent_content_type();
        let layout = multipart::layout(spans, meta.len, Some(part_type), &boundary);
        let source = Source {
            store: self.store.clone(),
            key: Arc::from(key),
            etag: meta.etag.clone(),
            request_id: rid,
        };
        let (content_type, content_length) = (layout.content_type.clone(), layout.content_length);
        let reads = multipart::reads(spans, multipart::READ_GAP);
        let body = ObjectBody::multipart(source, layout, reads, self.config.resume);
        response::multipart(meta, &content_type, content_length, &self.config, body)
    }

    /// A CORS preflight (Origin and Access-Control-Request-Method, Fetch standard) when CORS
    /// is on; any other OPTIONS asks what the resource allows (RFC 9110 §9.3.7): 204 and Allow.
    fn options(&self, parts: &http::request::Parts) -> Result<Response<ObjectBody>, RequestError> {
        let h = &parts.headers;
        let preflight = h.contains_key(http::header::ORIGIN)
            && h.contains_key(http::header::ACCESS_CONTROL_REQUEST_METHOD);
        if !(preflight && self.config.cors.enabled()) {
            return Ok(response::options());
        }
        let headers = self
            .config
            .cors
            .preflight(&parts.headers)
            .ok_or(RequestError::PreflightRefused)?;
        let mut response = Response::new(ObjectBody::empty());
        *response.status_mut() = StatusCode::NO_CONTENT;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

/// Seconds since the Unix epoch; a clock before 1970 (no real host has one) reads as 0.
fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
