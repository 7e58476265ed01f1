//! A pyramid's levels as tile grids over byte ranges of the object.

use crate::iiif::Rect;
use bytes::Bytes;

/// Every level of one TIFF that can be served, largest first.
#[derive(Debug, Clone)]
pub struct Layout {
    /// The full-resolution image first, then each reduced level, by decreasing width.
    pub levels: Vec<Level>,
}

impl Layout {
    /// An estimate of the heap this layout holds: the tile arrays, the JPEG tables and the
    /// levels themselves. [`super::LayoutCache`] weighs entries by it.
    pub fn memory_bytes(&self) -> u64 {
        let own =
            std::mem::size_of::<Layout>() + self.levels.capacity() * std::mem::size_of::<Level>();
        let levels: u64 = self.levels.iter().map(Level::heap_bytes).sum();
        own as u64 + levels
    }
}

/// How a level's tiles are compressed (Compression, tag 259).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// 1: stored as is.
    None,
    /// 7: JPEG (TIFF Technical Note 2), tables shared in JPEGTables.
    Jpeg,
    /// 8 (Adobe Deflate) or 32946 (the older Deflate code): zlib streams.
    Deflate,
}

/// How samples map to colour (PhotometricInterpretation, tag 262).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Photometric {
    /// 0: grey, 0 is white.
    WhiteIsZero,
    /// 1: grey, 0 is black.
    BlackIsZero,
    /// 2: RGB; with JPEG, the JPEG data holds RGB with no colour transform.
    Rgb,
    /// 6: YCbCr, only with JPEG compression (the JPEG data is the usual YCbCr).
    YCbCr,
}

/// One tiled image of the pyramid. Tiles are numbered row by row from the top left
/// (TIFF 6.0 §15, TileOffsets); tiles at the right and bottom edges are stored at the full
/// tile size, padded beyond the image.
#[derive(Debug, Clone)]
pub struct Level {
    /// Width in pixels (ImageWidth).
    pub width: u32,
    /// Height in pixels (ImageLength).
    pub height: u32,
    /// Tile width, a multiple of 16 up to [`super::MAX_TILE_SIDE`] (TileWidth).
    pub tile_width: u32,
    /// Tile height, a multiple of 16 up to [`super::MAX_TILE_SIDE`] (TileLength).
    pub tile_height: u32,
    /// How tiles are compressed.
    pub compression: Compression,
    /// How samples map to colour.
    pub photometric: Photometric,
    /// Samples per pixel: 1 grey, 2 grey and alpha, 3 colour, 4 colour and alpha; 8 bits each.
    pub samples_per_pixel: u8,
    /// Horizontal differencing (Predictor 2, TIFF 6.0 §14) to undo after inflating.
    pub horizontal_predictor: bool,
    /// The JPEGTables value: an abbreviated JPEG stream (SOI, tables, EOI) the tiles share.
    pub jpeg_tables: Option<Bytes>,
    pub(super) offsets: TileArray,
    pub(super) byte_counts: TileArray,
    /// The object's length: no tile range may pass it.
    pub(super) object_len: u64,
}

/// TileOffsets or TileByteCounts, in 4 bytes a tile when every value fits.
#[derive(Debug, Clone)]
pub(super) enum TileArray {
    /// All values under 2^32.
    U32(Box<[u32]>),
    /// Some value at or over 2^32 (BigTIFF over 4 GiB).
    U64(Box<[u64]>),
}

impl TileArray {
    /// Stores `values` compactly.
    pub fn new(values: Vec<u64>) -> TileArray {
        let narrow: Option<Box<[u32]>> = values.iter().map(|&v| u32::try_from(v).ok()).collect();
        match narrow {
            Some(n) => TileArray::U32(n),
            None => TileArray::U64(values.into_boxed_slice()),
        }
    }

    /// The value for one tile.
    pub fn get(&self, i: usize) -> Option<u64> {
        match self {
            TileArray::U32(v) => v.get(i).map(|&x| u64::from(x)),
            TileArray::U64(v) => v.get(i).copied(),
        }
    }

    fn heap_bytes(&self) -> u64 {
        match self {
            TileArray::U32(v) => v.len() as u64 * 4,
            TileArray::U64(v) => v.len() as u64 * 8,
        }
    }
}

impl Level {
    /// Columns of tiles.
    pub fn tiles_across(&self) -> u32 {
        self.width.div_ceil(self.tile_width.max(1))
    }

    /// Rows of tiles.
    pub fn tiles_down(&self) -> u32 {
        self.height.div_ceil(self.tile_height.max(1))
    }

    /// The index of the tile at column `col` and row `row`, if there is one.
    pub fn tile_index(&self, col: u32, row: u32) -> Option<usize> {
        if col >= self.tiles_across() || row >= self.tiles_down() {
            return None;
        }
        let i = u64::from(row) * u64::from(self.tiles_across()) + u64::from(col);
        usize::try_from(i).ok()
    }

    /// The pixels tile `index` covers within the level: the full tile size except at the
    /// right and bottom edges.
    pub fn tile_rect(&self, index: usize) -> Option<Rect<u32>> {
        let across = usize::try_from(self.tiles_across()).ok()?.max(1);
        let (col, row) = (
            u32::try_from(index % across).ok()?,
            u32::try_from(index / across).ok()?,
        );
        self.tile_index(col, row)?;
        let (x, y) = (
            col.checked_mul(self.tile_width)?,
            row.checked_mul(self.tile_height)?,
        );
        Some(Rect::new(
            x,
            y,
            self.tile_width.min(self.width.checked_sub(x)?),
            self.tile_height.min(self.height.checked_sub(y)?),
        ))
    }

    /// Where tile `index`'s bytes are: `(offset, length)`. `None` for no such tile, an
    /// empty (sparse) tile, a range that passes the end of the object, or a length over
    /// [`Level::max_tile_bytes`].
    pub fn tile_range(&self, index: usize) -> Option<(u64, u64)> {
        let offset = self.offsets.get(index)?;
        let len = self.byte_counts.get(index)?;
        let end = offset.checked_add(len)?;
        (len > 0 && end <= self.object_len && len <= self.max_tile_bytes()).then_some((offset, len))
    }

    /// The most bytes a tile of this level may take: twice its decoded size and 64 KiB, as
    /// no codec here grows data that much (Deflate's worst case is 0.1%, JPEG at quality 100
    /// on noise stays under its raw size).
    pub fn max_tile_bytes(&self) -> u64 {
        self.tile_samples() * 2 + (64 << 10)
    }

    /// Samples of one stored tile: tile width x height x samples per pixel.
    pub fn tile_samples(&self) -> u64 {
        u64::from(self.tile_width) * u64::from(self.tile_height) * u64::from(self.samples_per_pixel)
    }

    /// Channels of decoded pixels: 4 with alpha, else 3 (grey is expanded to RGB).
    pub fn channels(&self) -> u8 {
        if matches!(self.samples_per_pixel, 2 | 4) {
            4
        } else {
            3
        }
    }

    /// The indices of the tiles `rect` meets, row by row; none when it lies outside.
    pub fn tiles_covering(&self, rect: Rect<u32>) -> impl Iterator<Item = usize> + '_ {
        let right = rect.x.saturating_add(rect.width).min(self.width);
        let bottom = rect.y.saturating_add(rect.height).min(self.height);
        let (tw, th) = (self.tile_width.max(1), self.tile_height.max(1));
        let cols = if rect.x < right {
            rect.x / tw..right.div_ceil(tw)
        } else {
            0..0
        };
        let rows = if rect.y < bottom {
            rect.y / th..bottom.div_ceil(th)
        } else {
            0..0
        };
        rows.flat_map(move |row| {
            cols.clone()
                .filter_map(move |col| self.tile_index(col, row))
        })
    }

    fn heap_bytes(&self) -> u64 {
        let tables = self.jpeg_tables.as_ref().map_or(0, |t| t.len() as u64);
        self.offsets.heap_bytes() + self.byte_counts.heap_bytes() + tables
    }
}

#[cfg(test)]
#[path = "layout_tests.rs"]
mod tests;
