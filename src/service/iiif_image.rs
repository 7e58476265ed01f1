//! An IIIF image request (§4) once routed: resolve against what the image is, answer 304 on
//! the derived ETag without reading pixels, else wait for a transform slot and the memory
//! the render needs, read the source pinned to the ETag, and render on the blocking pool
//! ([`crate::transform::extract`]); tiled TIFF sources go on in `iiif_tiff.rs`.

use super::body_reader::body_reader;
use super::iiif::{derived_etag, derived_meta, Call, Described};
use super::Origin;
use crate::body::ObjectBody;
use crate::iiif::{resolve, IiifError, Params, Quality, Resolved, Source};
use crate::meta::ObjectMeta;
use crate::range::ByteSpan;
use crate::response::{self, RequestError};
use crate::store::StoreError;
use crate::transform::extract::{self, Extraction, Facts, Tone};
use crate::transform::format::Format;
use crate::transform::params::default_quality;
use crate::transform::TransformError;
use http::header::{ACCEPT_RANGES, LINK};
use http::{HeaderValue, Response};

/// The image half of an IIIF call.
pub(super) struct ImageCall<'a> {
    /// Store key, prefix included.
    pub(super) key: &'a str,
    /// The image's base URI (info.json's `id`).
    pub(super) id: &'a str,
    /// What was asked.
    pub(super) params: Params,
}

impl Origin {
    pub(super) async fn iiif_image(
        &self,
        call: &Call<'_>,
        image: ImageCall<'_>,
    ) -> Result<Response<ObjectBody>, RequestError> {
        let params = image.params;
        if !self.iiif_formats().contains(&params.format) {
            Err(IiifError::NotOffered(params.format.as_str()))?;
        }
        let source = self.store.head(image.key).await?;
        let described = self.describe(call.rid, image.key, &source).await?;
        let info = described.info();
        let resolved = resolve(
            &params,
            &Source {
                width: info.width,
                height: info.height,
                default_quality: if info.grayscale {
                    Quality::Gray
                } else {
                    Quality::Color
                },
            },
            &self.iiif_limits(),
        )?;
        let canonical = params.canonical(&resolved);
        crate::observe::note_transform(canonical.clone());
        let etag = derived_etag(&["image", &source.etag.to_header_string(), &canonical]);
        let mut meta = derived_meta(&source, etag, params.format.media_type());
        let links = link_header(image.id, &canonical);
        if let Some(mut r) = self.not_modified(call, &meta) {
            r.headers_mut().insert(LINK, links);
            return Ok(r);
        }
        let job = extraction(&params, &resolved)?;
        let bytes = match described {
            Described::Image(facts) => {
                self.render_extraction(call.rid, image.key, &source, facts, job)
                    .await?
            }
            Described::Tiff(layout) => {
                let as_stored = resolved.default_quality;
                self.render_tiff(call.rid, image.key, &source, layout, job, as_stored)
                    .await?
            }
        };
        meta.len = bytes.len() as u64;
        if call.max_body.is_some_and(|max| meta.len > max) {
            return Err(RequestError::TooLarge(meta.len));
        }
        let body = match call.head {
            true => ObjectBody::empty(),
            false => ObjectBody::bytes(bytes),
        };
        let mut r = response::object(&meta, None, &self.config, body);
        let h = r.headers_mut();
        h.insert(ACCEPT_RANGES, HeaderValue::from_static("none"));
        h.insert(LINK, links);
        Ok(r)
    }

    /// Admits, reads and renders `job` on `source`: the slot and the memory first (the
    /// estimate is known from the header), then the render on the blocking pool, fed as
    /// the source arrives ([`extract::streams`]: JPEG) or after it is read whole.
    async fn render_extraction(
        &self,
        rid: u64,
        key: &str,
        source: &ObjectMeta,
        facts: Facts,
        job: Extraction,
    ) -> Result<bytes::Bytes, RequestError> {
        let limits = &self.config.transforms;
        let streamed = extract::streams(&facts);
        if !streamed && source.len > limits.max_source_bytes {
            Err(TransformError::TooLarge {
                size: source.len,
                max: limits.max_source_bytes,
            })?;
        }
        let mut need = job.estimate(&facts, source.len);
        if !streamed {
            need += source.len;
        }
        let queue = self.enter_queue(need).await?;
        let (slot, mut admitted) = (queue.slot, queue.admitted);
        let failed = |e: tokio::task::JoinError| TransformError::Encode(format!("IIIF task: {e}"));
        if streamed {
            let span = ByteSpan::whole(source.len).ok_or(StoreError::Changed)?;
            let body = self.body(rid, key, source, span, None).await?;
            let (reader, failure) = body_reader(body, self.config.store_timeout);
            let rendered = tokio::task::spawn_blocking(move || {
                let _slot = slot;
                let rendered = job.render_stream(reader, &facts)?;
                Ok::<_, TransformError>(admitted.charge(rendered.bytes))
            })
            .await
            .map_err(failed)?;
            // A source that ended short because the store failed is the store's error.
            return match (rendered, failure.take()) {
                (Err(_), Some(store)) => Err(store.into()),
                (rendered, _) => Ok(rendered?),
            };
        }
        let bytes = self.read_whole(rid, key, source).await?;
        let out = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let rendered = job.render(&bytes, &facts)?;
            drop(bytes);
            Ok::<_, TransformError>(admitted.charge(rendered.bytes))
        })
        .await
        .map_err(failed)??;
        Ok(out)
    }
}

/// The render plan for a resolved request.
fn extraction(params: &Params, r: &Resolved) -> Result<Extraction, IiifError> {
    use crate::iiif::Format as F;
    let turns = r.quarter_turns.ok_or(IiifError::NotOffered(
        "rotation by other than multiples of 90",
    ))?;
    let format = match params.format {
        F::Jpg => Format::Jpeg,
        F::Png => Format::Png,
        F::Webp => Format::Webp,
        F::Avif => Format::Avif,
        other => return Err(IiifError::NotOffered(other.as_str())),
    };
    let tone = match r.quality {
        Quality::Gray => Tone::Gray,
        Quality::Bitonal => Tone::Bitonal,
        Quality::Color | Quality::Default => Tone::Color,
    };
    Ok(Extraction {
        region: r.region,
        size: (r.width, r.height),
        mirror: r.mirror,
        turns,
        tone,
        format,
        quality: default_quality(format),
    })
}

/// `Link` with the canonical URI (§4.8, `canonicalLinkHeader`) and the compliance profile
/// (§6.2, `profileLinkHeader`).
fn link_header(id: &str, canonical: &str) -> HeaderValue {
    let text = format!(
        "<{id}/{canonical}>;rel=\"canonical\", <{}>;rel=\"profile\"",
        crate::iiif::info::LEVEL2_PROFILE
    );
    HeaderValue::from_str(&text).unwrap_or_else(|_| {
        HeaderValue::from_static("<http://iiif.io/api/image/3/level2.json>;rel=\"profile\"")
    })
}
