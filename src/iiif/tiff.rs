//! Tiled pyramidal TIFF and BigTIFF sources read by byte ranges, for IIIF tile serving
//! (issue 19): the header and IFDs in a few small reads, then only the tiles a request needs.
//!
//! What is read is what `vips tiffsave --tile --pyramid` writes (JPEG or Deflate tiles,
//! classic or `--bigtiff`, levels as pages of the main chain or as `--subifd` SubIFDs), and
//! Cloud-Optimized GeoTIFF, which has the same shape. Anything else is refused with a reason.
//!
//! 1. [`read_layout`] (`read.rs`): the async driver. It asks a [`RangeRead`] for the first
//!    64 KiB, then in rounds for every IFD and out-of-line array it does not hold yet
//!    (nearby ranges coalesced, one round's reads sent together), and hands the bytes to the
//!    pure parsers:
//!    - `ifd.rs`: the header and IFD entries (TIFF 6.0 §2, BigTIFF), no I/O;
//!    - `level.rs`: one IFD's entries to a [`Level`], or why it cannot be one.
//! 2. [`Layout`] (`layout.rs`): the levels, largest first, each a tile grid whose tiles are
//!    byte ranges of the object ([`Level::tile_range`], [`Level::tiles_covering`]).
//!    [`LayoutCache`] (`cache.rs`) keeps layouts by key and ETag within a byte budget.
//! 3. `pick.rs`: the level and tiles that answer a request, from the layout alone:
//!    the pyramid a client is told about ([`pyramid_levels`]), the one stored tile a
//!    viewer's tile request names ([`stored_tile`]), else the level to decode
//!    ([`level_for`]).
//! 4. A tile's bytes, read by the caller, become either a JPEG stream sent as it is
//!    ([`jpeg_tile_stream`], `jpeg.rs`), an edge tile's part inside the image cut from that
//!    stream without decoding ([`crop_jpeg`], `crop.rs`), or pixels ([`decode_tile`],
//!    `decode.rs`), which [`compose`] crops and joins into the region a request asked for.
//!
//! Errors say which response the caller should give: [`TiffError::Malformed`] (the source is
//! broken: 422-like, a problem of the object, not of the request), [`TiffError::Unsupported`]
//! (a valid TIFF this reader does not serve, such as strips or LZW: the service answers 501), and
//! [`TiffError::Store`] (the store's own error and status).
//!
//! Every size read from the file is checked against a named limit before it is used to
//! allocate or to read: [`MAX_IFDS`], [`MAX_IFD_ENTRIES`], [`MAX_TILES_PER_LEVEL`],
//! [`MAX_ARRAY_BYTES`], [`MAX_JPEG_TABLES`], [`MAX_DIMENSION`], [`MAX_TILE_SIDE`]; no
//! read is longer than [`MAX_READ`].

mod cache;
mod crop;
mod decode;
mod ifd;
mod jpeg;
mod layout;
mod level;
mod pick;
mod read;

#[cfg(test)]
mod testing;

pub use cache::LayoutCache;
pub use crop::crop_jpeg;
pub use decode::{compose, decode_tile};
pub use jpeg::jpeg_tile_stream;
pub use layout::{Compression, Layout, Level, Photometric};
pub use pick::{is_tiff, level_for, pyramid_levels, stored_tile};
pub use read::{read_layout, MAX_READ};

use crate::store::StoreError;

/// IFDs visited in one file, SubIFDs and masks included; a pyramid has one per level (a
/// 1M-pixel-wide image halved down to one 256-pixel tile has 13).
pub const MAX_IFDS: usize = 64;
/// Entries in one IFD; vips writes about 20, GeoTIFF about 30.
pub const MAX_IFD_ENTRIES: u64 = 512;
/// Tiles in one level: 2^21, a 370,000-pixel square in 256-pixel tiles.
pub const MAX_TILES_PER_LEVEL: u64 = 1 << 21;
/// Bytes of out-of-line values (tile offsets and byte counts, tables) read for all levels.
pub const MAX_ARRAY_BYTES: u64 = 32 << 20;
/// Bytes of a JPEGTables value (quantisation and Huffman tables take under 1 KiB).
pub const MAX_JPEG_TABLES: u64 = 64 << 10;
/// Width or height of a level, in pixels.
pub const MAX_DIMENSION: u32 = 1 << 20;
/// Tile width or height, in pixels. TIFF 6.0 §15 asks for multiples of 16.
pub const MAX_TILE_SIDE: u32 = 4096;

/// Byte ranges of one object: the seam between the TIFF reader and a store.
pub trait RangeRead: Send + Sync {
    /// Exactly `len` bytes at `offset` (fewer only at the end of the object).
    fn read(
        &self,
        offset: u64,
        len: u64,
    ) -> impl std::future::Future<Output = Result<bytes::Bytes, StoreError>> + Send;
}

/// Why a TIFF source cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TiffError {
    /// Not a TIFF at all (no `II*\0`, `MM\0*` or BigTIFF header): like
    /// [`TiffError::Malformed`], the object is at fault.
    #[error("not a TIFF file")]
    NotTiff,
    /// A TIFF whose structure is broken or over a limit: offsets outside the object, loops,
    /// counts that disagree, a tile that does not decode. The object is at fault: 422.
    #[error("malformed TIFF: {0}")]
    Malformed(String),
    /// A valid TIFF this reader does not serve (strips, LZW, 16-bit samples, planar
    /// separation, ...): 501 from the service.
    #[error("unsupported TIFF: {0}")]
    Unsupported(String),
    /// The store failed to give the bytes.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl TiffError {
    fn malformed(what: impl Into<String>) -> Self {
        TiffError::Malformed(what.into())
    }

    fn unsupported(what: impl Into<String>) -> Self {
        TiffError::Unsupported(what.into())
    }
}
