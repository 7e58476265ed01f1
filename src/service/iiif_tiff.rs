//! IIIF from a tiled pyramidal TIFF ([`crate::iiif::tiff`]): the layout read once per
//! (key, ETag) from the first 64 KiB and a few more range reads, info.json's `tiles` from the
//! source's own tiling, a request for exactly one stored JPEG tile answered with that tile's
//! bytes (the shared tables spliced in, never decoded; an edge tile's part inside the image
//! cut from them in the DCT domain), any other request from the tiles of
//! the smallest level that still holds the asked size, decoded and composed on the blocking
//! pool under a transform slot and the memory budget.

use super::Origin;
use crate::iiif::info::{ImageInfo, Tiling};
use crate::iiif::tiff::{self, Compression, Layout, Level, RangeRead};
use crate::iiif::Rect;
use crate::meta::ObjectMeta;
use crate::range::ByteSpan;
use crate::response::RequestError;
use crate::store::StoreError;
use crate::transform::extract::Extraction;
use crate::transform::format::Format;
use crate::transform::TransformError;
use bytes::Bytes;
use std::sync::Arc;

/// Tiles read at once for one composed region.
const TILE_READS_AT_ONCE: usize = 8;

/// The image info.json describes for a layout: the full level's size, the source's tile,
/// the levels that halve (scale factors 1, 2, 4, ...).
pub(super) fn info(layout: &Layout) -> ImageInfo {
    let full = layout.levels.first();
    let levels = u32::try_from(tiff::pyramid_levels(layout)).unwrap_or(1);
    ImageInfo {
        width: full.map_or(0, |l| l.width),
        height: full.map_or(0, |l| l.height),
        tiling: full.map(|l| Tiling {
            width: l.tile_width,
            height: l.tile_height,
            levels,
        }),
        grayscale: full.is_some_and(|l| l.samples_per_pixel <= 2),
    }
}

/// One version of one object, as byte ranges for the layout reader; the first bytes, read
/// already to tell the format, are not read again.
struct Ranges<'a> {
    origin: &'a Origin,
    rid: u64,
    key: &'a str,
    meta: &'a ObjectMeta,
    head: Bytes,
}

impl RangeRead for Ranges<'_> {
    async fn read(&self, offset: u64, len: u64) -> Result<Bytes, StoreError> {
        let end = offset.saturating_add(len).min(self.meta.len);
        if end <= self.head.len() as u64 {
            return Ok(self.head.slice(offset.min(end) as usize..end as usize));
        }
        let len = end.saturating_sub(offset);
        (self.origin)
            .read_range(self.rid, self.key, self.meta, offset, len)
            .await
    }
}

impl Origin {
    /// The layout of the TIFF `key` at `meta`'s version, whose first bytes are `head`; kept
    /// for the next request.
    pub(super) async fn tiff_layout(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
        head: Bytes,
    ) -> Result<Arc<Layout>, RequestError> {
        let ranges = Ranges {
            origin: self,
            rid,
            key,
            meta,
            head,
        };
        let layout = Arc::new(tiff::read_layout(&ranges, meta.len).await?);
        let etag = meta.etag.to_header_string();
        self.config.iiif_layouts.insert(key, &etag, layout.clone());
        Ok(layout)
    }

    /// `len` bytes at `offset` of `key` at `meta`'s version (none past its end).
    async fn read_range(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
        offset: u64,
        len: u64,
    ) -> Result<Bytes, StoreError> {
        let Some(last) = len.checked_sub(1).and_then(|l| offset.checked_add(l)) else {
            return Ok(Bytes::new());
        };
        let span = ByteSpan {
            first: offset,
            last,
        };
        match self.read_span(rid, key, meta, span).await {
            Ok(bytes) => Ok(bytes.into()),
            Err(RequestError::Store(e)) => Err(e),
            Err(other) => Err(StoreError::Failed(other.to_string())),
        }
    }

    /// The stored bytes of tile `index` of `level`.
    async fn tile(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
        level: &Level,
        index: usize,
    ) -> Result<Bytes, RequestError> {
        let (offset, len) = level.tile_range(index).ok_or_else(|| {
            TransformError::Malformed(format!("TIFF tile {index}: no valid byte range"))
        })?;
        Ok(self.read_range(rid, key, meta, offset, len).await?)
    }

    /// Renders `job` from the TIFF `layout`: the stored tile when the request names one and
    /// asks for it as stored (`as_stored`: the default quality, JPEG, no rotation or
    /// mirroring), else the composed tiles of the right level.
    pub(super) async fn render_tiff(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
        layout: Arc<Layout>,
        job: Extraction,
        as_stored: bool,
    ) -> Result<Bytes, RequestError> {
        let levels = tiff::pyramid_levels(&layout);
        let plain = as_stored && job.format == Format::Jpeg && !job.mirror && job.turns == 0;
        let stored = tiff::stored_tile(&layout, levels, job.region, job.size)
            .filter(|_| plain)
            .and_then(|(l, index)| Some((layout.levels.get(l)?, index)))
            .filter(|(level, _)| level.compression == Compression::Jpeg);
        if let Some((level, index)) = stored {
            let tile = self.tile(rid, key, meta, level, index).await?;
            let stream = tiff::jpeg_tile_stream(level, &tile)?;
            // A tile whose header disagrees with the layout is decoded instead, and fails
            // there if it is broken: never sent as the asked size when it is not.
            let whole = (level.tile_width, level.tile_height);
            let probed = crate::transform::probe::jpeg(&stream);
            if probed.is_ok_and(|i| (i.width, i.height) == whole) {
                if job.size == whole {
                    return Ok(stream.into());
                }
                if let Some(cut) = self.cut_edge_tile(rid, stream, whole, job.size).await? {
                    return Ok(cut);
                }
            }
        }
        self.compose_tiff(rid, key, meta, layout, levels, job).await
    }

    /// An edge tile's part inside its level (`size`), cut from the stored JPEG `stream` of
    /// `whole` pixels without decoding ([`tiff::crop_jpeg`]), on the blocking pool under a
    /// transform slot and the memory budget. `None` when libjpeg cannot cut it: the caller
    /// decodes instead.
    async fn cut_edge_tile(
        &self,
        rid: u64,
        stream: Vec<u8>,
        whole: (u32, u32),
        size: (u32, u32),
    ) -> Result<Option<Bytes>, RequestError> {
        // The stream, the stored tile's coefficients (2 bytes each, up to 3 components at
        // full resolution) and the output.
        let coefficients = u64::from(whole.0) * u64::from(whole.1) * 3 * 2;
        let need = 2 * stream.len() as u64 + coefficients + (1 << 20);
        let queue = self.enter_queue(need).await?;
        let (slot, mut admitted) = (queue.slot, queue.admitted);
        let cut = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            tiff::crop_jpeg(&stream, size.0, size.1).map(|out| admitted.charge(out))
        })
        .await
        .map_err(|e| TransformError::Encode(format!("IIIF task: {e}")))?;
        Ok(cut
            .inspect_err(|cause| tracing::warn!(rid, %cause, "edge tile not cut; decoding it"))
            .ok())
    }

    /// Decodes and composes the tiles of `job`'s region from the smallest level holding its
    /// size, then resizes, turns, tones and encodes.
    async fn compose_tiff(
        &self,
        rid: u64,
        key: &str,
        meta: &ObjectMeta,
        layout: Arc<Layout>,
        levels: usize,
        job: Extraction,
    ) -> Result<Bytes, RequestError> {
        let (li, rect) = tiff::level_for(&layout, levels, job.region, job.size)
            .ok_or_else(|| TransformError::Malformed("TIFF without levels".into()))?;
        let level = layout.levels.get(li).ok_or(StoreError::Changed)?;
        let indices: Vec<usize> = level.tiles_covering(rect).collect();
        let tile_bytes: u64 = indices
            .iter()
            .map(|&i| level.tile_range(i).map_or(0, |(_, len)| len))
            .sum();
        let need = compose_estimate(level, rect, &job) + tile_bytes;
        let queue = self.enter_queue(need).await?;
        let (slot, mut admitted) = (queue.slot, queue.admitted);
        let mut tiles = Vec::with_capacity(indices.len());
        for chunk in indices.chunks(TILE_READS_AT_ONCE) {
            let reads = chunk
                .iter()
                .map(|&i| async move { self.tile(rid, key, meta, level, i).await.map(|b| (i, b)) });
            tiles.extend(futures_util::future::try_join_all(reads).await?);
        }
        let failed = |e: tokio::task::JoinError| TransformError::Encode(format!("IIIF task: {e}"));
        let layout = layout.clone();
        let rendered = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            let level = layout.levels.get(li).ok_or(StoreError::Changed)?;
            let px = compose(level, rect, tiles)?;
            let rendered = job.render_region(px)?;
            Ok::<_, RequestError>(admitted.charge(rendered.bytes))
        })
        .await
        .map_err(failed)??;
        Ok(rendered)
    }
}

/// Decodes `tiles` of `level` one at a time into the pixels of `rect`; the first tile that
/// does not decode fails the whole.
fn compose(
    level: &Level,
    rect: Rect<u32>,
    tiles: Vec<(usize, Bytes)>,
) -> Result<crate::transform::decode::Pixels, RequestError> {
    let mut failure = None;
    let decoded =
        tiles
            .into_iter()
            .map_while(|(i, bytes)| match tiff::decode_tile(level, &bytes) {
                Ok(px) => Some((i, px)),
                Err(e) => {
                    failure = Some(e);
                    None
                }
            });
    let px = tiff::compose(level, rect, decoded);
    match failure {
        Some(e) => Err(e.into()),
        None => Ok(px),
    }
}

/// Peak bytes of a composed render besides the tiles' stored bytes: the region's pixels,
/// one decoded tile and the decoder's own buffers, the resized and turned outputs and the
/// encoder's.
fn compose_estimate(level: &Level, rect: Rect<u32>, job: &Extraction) -> u64 {
    let ch = u64::from(level.channels());
    let region = u64::from(rect.width) * u64::from(rect.height) * ch;
    let tile = u64::from(level.tile_width) * u64::from(level.tile_height) * ch;
    let out = u64::from(job.size.0) * u64::from(job.size.1) * ch;
    region + 2 * tile + 3 * out + (1 << 20)
}
