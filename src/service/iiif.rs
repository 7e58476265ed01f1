//! The IIIF Image API 3.0 service below its prefix ([`crate::iiif`]): what a path asks for,
//! the base URI's redirect (§2.2), info.json (§5), and the headers every IIIF answer
//! carries. Image requests go on in `iiif_image.rs`.
//!
//! Every answer about an image starts from one HeadObject (its ETag pins everything after)
//! and what the image is ([`Described`]): its header facts, or a tiled TIFF's layout
//! (`iiif_tiff.rs`), read once per (key, ETag) from the first bytes and kept in bounded
//! caches, so that a viewer's hundreds of tile requests cost one small read.

use super::Origin;
use crate::body::ObjectBody;
use crate::iiif::ident::{decode_identifier, encode_identifier, public_base};
use crate::iiif::info::{self, Feature, ImageInfo, ServiceInfo};
use crate::iiif::{IiifError, ImageRequest, Quality, Settings};
use crate::meta::ObjectMeta;
use crate::plan::{decide, Ask, Decision};
use crate::query::Query;
use crate::range::{ByteSpan, RangeRequest};
use crate::response::{self, RequestError};
use crate::transform::extract::{self, Facts};
use crate::transform::TransformError;
use crate::validators::{Conditions, EntityTag};
use http::header::{ACCEPT_RANGES, ACCESS_CONTROL_ALLOW_ORIGIN, CONTENT_TYPE, LOCATION, VARY};
use http::{HeaderValue, Response, StatusCode};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// What a path below the prefix asks for; each holds the identifier as sent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Target<'a> {
    /// `{id}`: the base URI, redirected to its info.json.
    Base(&'a str),
    /// `{id}/info.json`.
    Info(&'a str),
    /// `{id}/{region}/{size}/{rotation}/{quality}.{format}`.
    Image(ImageRequest<'a>),
}

/// The path after the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Rest<'a> {
    /// As sent: the identifier still percent-encoded (§9).
    Sent(&'a str),
    /// Decoded once already (the `/~/` spelling): the identifier is taken as it is.
    Decoded(String),
}

/// Reads the path after the prefix.
pub(super) fn target(rest: &str) -> Result<Target<'_>, IiifError> {
    if let Some(id) = rest.strip_suffix("/info.json").filter(|id| !id.is_empty()) {
        return Ok(Target::Info(id));
    }
    if rest.is_empty() {
        return Err(IiifError::Path);
    }
    if !rest.contains('/') {
        return Ok(Target::Base(rest));
    }
    ImageRequest::parse(rest).map(Target::Image)
}

/// Reads a path after the prefix that was decoded already: its identifier may hold `/`, so
/// what does not read as info.json or an image request is a base URI (a 303 to an info.json
/// that is then found or not) rather than a malformed image request.
pub(super) fn decoded_target(rest: &str) -> Target<'_> {
    if let Some(id) = rest.strip_suffix("/info.json").filter(|id| !id.is_empty()) {
        return Target::Info(id);
    }
    match ImageRequest::parse(rest) {
        Ok(request) => Target::Image(request),
        Err(_) => Target::Base(rest),
    }
}

/// What an image is, as far as IIIF needs to know.
#[derive(Debug, Clone)]
pub(super) enum Described {
    /// A source decoded whole or as a stream (JPEG, PNG, WebP, GIF): its header.
    Image(Facts),
    /// A tiled TIFF: its levels and tiles.
    Tiff(Arc<crate::iiif::tiff::Layout>),
}

impl Described {
    /// The image as info.json describes it: size as shown, tiles, colour.
    pub(super) fn info(&self) -> ImageInfo {
        match self {
            Described::Image(facts) => {
                let (width, height) = facts.shown();
                ImageInfo {
                    width,
                    height,
                    tiling: None,
                    grayscale: facts.gray,
                }
            }
            Described::Tiff(layout) => super::iiif_tiff::info(layout),
        }
    }
}

/// Image header facts per (key, ETag), shared by every worker's [`Origin`] (a clone is a
/// handle on the same cache). Entries are a few dozen bytes; past the cap the cache starts
/// over rather than tracking use, which costs one small read per image again.
#[derive(Clone, Default)]
pub struct IiifCache(Arc<Mutex<HashMap<(String, String), Facts>>>);

impl std::fmt::Debug for IiifCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IiifCache")
    }
}

const FACTS_CACHE_ENTRIES: usize = 16_384;

impl IiifCache {
    fn get(&self, key: &str, etag: &str) -> Option<Facts> {
        let map = self.0.lock().ok()?;
        map.get(&(key.to_owned(), etag.to_owned())).copied()
    }

    fn insert(&self, key: &str, etag: &str, facts: Facts) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= FACTS_CACHE_ENTRIES {
                map.clear();
            }
            map.insert((key.to_owned(), etag.to_owned()), facts);
        }
    }
}

/// Bytes first read for a header; JPEG markers before the first scan (EXIF, ICC) rarely
/// pass it. A header that does not read from them is read again from 8 times as many.
const HEAD_BYTES: u64 = 64 << 10;
/// Past this a header is refused as malformed: a camera's EXIF and ICC are under 1 MiB.
const MAX_HEAD_BYTES: u64 = 4 << 20;

/// One IIIF request, as routing found it.
pub(super) struct Call<'a> {
    pub(super) rid: u64,
    pub(super) parts: &'a http::request::Parts,
    pub(super) head: bool,
    pub(super) settings: &'a Settings,
    pub(super) max_body: Option<u64>,
}

impl Origin {
    /// Answers a request below the IIIF prefix: `rest` is the path after it.
    pub(super) async fn iiif(
        &self,
        call: Call<'_>,
        rest: Rest<'_>,
    ) -> Result<Response<ObjectBody>, RequestError> {
        let (text, decoded) = match &rest {
            Rest::Sent(text) => (*text, false),
            Rest::Decoded(text) => (text.as_str(), true),
        };
        let (token, text) = crate::iiif::token::split_token(text);
        let target = match decoded {
            true => decoded_target(text),
            false => target(text)?,
        };
        let segment = match target {
            Target::Base(id) | Target::Info(id) => id,
            Target::Image(r) => r.identifier,
        };
        let identifier = match decoded {
            true => segment.to_owned(),
            false => decode_identifier(segment, call.settings.slash_substitute)?,
        };
        let key = crate::key::key_of(identifier, &self.config.prefix)?;
        let request_key = key.as_str().get(self.config.prefix.len()..).unwrap_or("");
        let now = (self.config.clock)();
        // A token stands for a signed link to the object (iiif::token); without one, the
        // query may still sign this one URL.
        let token_query = token.map(|t| t.query());
        let query = match &token_query {
            Some(q) => Query::parse(Some(q))?,
            None => Query::parse(call.parts.uri.query())?,
        };
        (self.config.access).check_key(request_key, &query, super::unix_seconds(now))?;
        let base = public_base(&call.parts.headers, call.settings.public_url.as_deref())
            .ok_or(IiifError::Host)?;
        let subst = call.settings.slash_substitute;
        // The token goes on in `id`, so that every tile URL a viewer builds carries it.
        let token = token.map_or(String::new(), |t| format!("{}/", t.segment));
        let id = format!(
            "{base}{}{token}{}",
            call.settings.prefix,
            encode_identifier(request_key, subst)
        );
        match target {
            Target::Base(_) => Ok(redirect(&format!("{id}/info.json"))),
            Target::Info(_) => self.info(&call, key.as_str(), &id).await,
            Target::Image(r) => {
                let image = super::iiif_image::ImageCall {
                    key: key.as_str(),
                    id: &id,
                    params: r.params,
                };
                self.iiif_image(&call, image).await
            }
        }
    }

    /// What `key` at the version `meta` names is: a tiled TIFF's layout or another image's
    /// header facts, from the caches or from the first bytes of the object.
    pub(super) async fn describe(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
    ) -> Result<Described, RequestError> {
        let etag = meta.etag.to_header_string();
        if let Some(layout) = self.config.iiif_layouts.get(key, &etag) {
            return Ok(Described::Tiff(layout));
        }
        if let Some(facts) = self.config.iiif_cache.get(key, &etag) {
            return Ok(Described::Image(facts));
        }
        let limits = &self.config.transforms;
        let mut want = HEAD_BYTES.min(meta.len);
        loop {
            let span = ByteSpan::whole(want).ok_or(TransformError::Unsupported("empty".into()))?;
            let head = self.read_span(rid, key, meta, span).await?;
            if crate::iiif::tiff::is_tiff(&head) {
                let layout = self.tiff_layout(rid, key, meta, head.into()).await?;
                return Ok(Described::Tiff(layout));
            }
            match extract::facts(&head, u64::MAX) {
                Ok(facts) => {
                    let pixels = u64::from(facts.width) * u64::from(facts.height);
                    // Only a JPEG is decoded a region at a time; every other source whole.
                    if facts.kind != crate::transform::format::Format::Jpeg
                        && pixels > limits.max_pixels
                    {
                        let max_pixels = limits.max_pixels;
                        Err(TransformError::TooManyPixels { pixels, max_pixels })?;
                    }
                    self.config.iiif_cache.insert(key, &etag, facts);
                    return Ok(Described::Image(facts));
                }
                Err(TransformError::Malformed(_)) if want < meta.len && want < MAX_HEAD_BYTES => {
                    want = (want * 8).min(meta.len).min(MAX_HEAD_BYTES);
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn info(
        &self,
        call: &Call<'_>,
        key: &str,
        id: &str,
    ) -> Result<Response<ObjectBody>, RequestError> {
        let source = self.store.head(key).await?;
        let accept = call.parts.headers.get(http::header::ACCEPT);
        let media_type = info::media_type(accept.and_then(|v| v.to_str().ok()));
        let etag = derived_etag(&["info", &source.etag.to_header_string(), id, media_type]);
        let meta = derived_meta(&source, etag, media_type);
        if let Some(r) = self.not_modified(call, &meta) {
            return Ok(r);
        }
        let image = self.describe(call.rid, key, &source).await?.info();
        let formats = self.iiif_formats();
        let service = ServiceInfo {
            id,
            limits: self.iiif_limits(),
            formats: &formats,
            qualities: &[Quality::Bitonal],
            features: FEATURES,
        };
        let body = info::info_json(&image, &service).to_string();
        let mut meta = meta;
        meta.len = body.len() as u64;
        let body = match call.head {
            true => ObjectBody::empty(),
            false => ObjectBody::bytes(body.into()),
        };
        let mut r = response::object(&meta, None, &self.config, body);
        let h = r.headers_mut();
        h.insert(VARY, HeaderValue::from_static("Accept"));
        h.insert(ACCEPT_RANGES, HeaderValue::from_static("none"));
        Ok(r)
    }

    /// 304 or 412 for `meta` when the request's conditions say so (RFC 9110 §13.2.2).
    pub(super) fn not_modified(
        &self,
        call: &Call<'_>,
        meta: &ObjectMeta,
    ) -> Option<Response<ObjectBody>> {
        let conditions = Conditions::from_headers(&call.parts.headers);
        let ask = Ask {
            head: call.head,
            conditions: &conditions,
            range: RangeRequest::None,
            now: (self.config.clock)(),
            max_body: None,
            max_ranges: 0,
        };
        match decide(&ask, meta) {
            Decision::PreconditionFailed => Some(response::precondition_failed()),
            Decision::NotModified => Some(response::not_modified(
                Some(&meta.etag),
                meta.last_modified,
                meta.cache_control.as_deref(),
                None,
                &self.config,
            )),
            _ => None,
        }
    }

    /// Output formats offered: the transform's (`--formats`) that IIIF names.
    pub(super) fn iiif_formats(&self) -> Vec<crate::iiif::Format> {
        use crate::iiif::Format as F;
        use crate::transform::format::Format as T;
        (self.config.transforms.formats.iter())
            .filter_map(|f| match f {
                T::Jpeg => Some(F::Jpg),
                T::Png => Some(F::Png),
                T::Webp => Some(F::Webp),
                T::Avif => Some(F::Avif),
                T::Gif => None,
            })
            .collect()
    }

    /// The size limits info.json declares and requests are held to: `--max-dimension` on
    /// each side.
    pub(super) fn iiif_limits(&self) -> crate::iiif::Limits {
        let side = self.config.transforms.max_dimension;
        crate::iiif::Limits {
            max_width: Some(side),
            max_height: Some(side),
            max_area: None,
        }
    }
}

/// Features served beyond level 2's (info.rs leaves level 2's own out of the document).
pub(super) const FEATURES: &[Feature] = &[
    Feature::CanonicalLinkHeader,
    Feature::Mirroring,
    Feature::ProfileLinkHeader,
    Feature::SizeUpscaling,
];

/// A strong ETag from its parts, each ended by a NUL so that no two lists hash alike.
pub(super) fn derived_etag(parts: &[&str]) -> EntityTag {
    let mut h = Sha256::new();
    h.update(super::transformed::RENDER_VERSION.as_bytes());
    h.update([0]);
    for part in parts {
        h.update(part.as_bytes());
        h.update([0]);
    }
    EntityTag::strong(format!("\"{}\"", hex::encode(&h.finalize()[..16])))
}

/// The metadata of a representation derived from `source`: its validators, none of its
/// stored headers.
pub(super) fn derived_meta(source: &ObjectMeta, etag: EntityTag, media_type: &str) -> ObjectMeta {
    ObjectMeta {
        len: 0,
        etag,
        last_modified: source.last_modified,
        content_type: Some(media_type.to_owned()),
        cache_control: source.cache_control.clone(),
        stored: Default::default(),
    }
}

/// 303 See Other to `location` (§2.2: "the server SHOULD ... a 303 status response").
fn redirect(location: &str) -> Response<ObjectBody> {
    let mut r = Response::new(ObjectBody::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// `Access-Control-Allow-Origin: *` on an IIIF answer when no CORS rule of the operator's
/// applies (§7.1: servers SHOULD, and viewers on other origins need it).
pub(super) fn allow_any_origin(response: &mut Response<ObjectBody>) {
    let h = response.headers_mut();
    if !h.contains_key(ACCESS_CONTROL_ALLOW_ORIGIN) {
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    }
}

#[cfg(test)]
#[path = "iiif_tests.rs"]
mod tests;
