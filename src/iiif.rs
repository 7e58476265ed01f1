//! The IIIF Image API 3.0 (<https://iiif.io/api/image/3.0/>), compliance level 2: the pure
//! part that decides before any byte is read.
//!
//! A IIIF image request names everything in its path,
//! `{identifier}/{region}/{size}/{rotation}/{quality}.{format}`. Serving one takes two
//! decisions, kept apart because only the second needs the image:
//! - [`request`]: the grammar (§4.1-§4.5). Reads the segments into typed values, answers
//!   400 for anything that does not read, and prints them back.
//! - [`resolve`](mod@resolve): the same request against one image's size and the service's
//!   limits (§5.2): the exact source pixels to extract, the output size, the rotation and
//!   quality to apply, and the canonical form (§4.8), which keys caches and ETags.
//!
//! Both halves report one [`IiifError`] ([`IiifError::status`]: the status the spec assigns,
//! §7.3) and measure in [`Rect`]s, so those two live here. No I/O, routing or pixels.
//!
//! Around them, for the image information request (§5):
//! - [`ident`]: identifiers to and from their percent-encoded path segment (§9), and the
//!   public base URI from configuration or request headers.
//! - [`info`]: the info.json document (§5) and its media type.
//! - [`token`]: the access token segment that opens a private image from one signed link.
//!
//! And for the pixels, the one part here that reads bytes (through a trait it is given):
//! - [`tiff`]: tiled pyramidal TIFF and BigTIFF sources read by ranges: their layout in a
//!   few small reads, JPEG tiles passed through, other tiles decoded and joined.
//!
//! [`Settings`] say where the service lives; `crate::service`'s IIIF branch routes to it.

pub mod ident;
pub mod info;
pub mod request;
pub mod resolve;
pub mod tiff;
pub mod token;

pub use request::{Format, ImageRequest, Params, Quality, Region, Rotation, Size, SizeForm};
pub use resolve::{resolve, CanonicalSize, Limits, Resolved, Source};

/// Why an image request cannot be served; [`IiifError::status`] gives the spec's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IiifError {
    /// Fewer than five segments, or an empty identifier (§2.1).
    #[error("an image request is {{id}}/{{region}}/{{size}}/{{rotation}}/{{quality}}.{{format}}")]
    Path,
    /// The identifier is empty, not valid percent-encoding or UTF-8, or holds a control
    /// character once decoded (§9).
    #[error("identifier must be percent-encoded UTF-8 without control characters")]
    Identifier,
    /// The region does not read (§4.1).
    #[error("region must be full, square, x,y,w,h or pct:x,y,w,h")]
    Region,
    /// A region of zero width or height (§4.1).
    #[error("region width and height must be greater than zero")]
    ZeroRegion,
    /// The region starts at or beyond the image's right or bottom edge (§4.1).
    #[error("region lies outside the image")]
    RegionOutside,
    /// The size does not read (§4.2).
    #[error("size must be max, w,, ,h, pct:n, w,h or !w,h, optionally prefixed with ^")]
    Size,
    /// A size, given or derived, under one pixel on a side (§4.2).
    #[error("size must be at least one pixel wide and high")]
    ZeroSize,
    /// A size larger than the region without the `^` prefix (§4.2).
    #[error("a size larger than the region needs the ^ prefix")]
    Upscale,
    /// Upscaling asked for while the service sets no maxWidth, maxHeight or maxArea: a
    /// service that upscales must declare a bound (§5.7), so it does not upscale (§4.2: 501).
    #[error("upscaling is not supported")]
    UpscaleUnsupported,
    /// A size over maxWidth, maxHeight or maxArea (§4.2, §5.2).
    #[error("size is over the limits of this service")]
    OverLimits,
    /// The rotation does not read or is outside 0 to 360 (§4.3).
    #[error("rotation must be a number from 0 to 360, optionally prefixed with !")]
    Rotation,
    /// Not one of the qualities (§4.4).
    #[error("quality must be default, color, gray or bitonal")]
    Quality,
    /// A missing or unknown format extension (§4.5).
    #[error("format must be one of jpg, tif, png, gif, jp2, pdf, webp, avif")]
    Format,
    /// A format or rotation this service does not produce (§4.3, §4.5: 400).
    #[error(
        "{0} is not offered by this service (see extraFormats and extraFeatures in info.json)"
    )]
    NotOffered(&'static str),
    /// No valid host to build info.json's `id` from: `Host`, `X-Forwarded-Host` or
    /// `X-Forwarded-Proto` missing or not a plain value (ident::public_base).
    #[error("Host, X-Forwarded-Host or X-Forwarded-Proto is not valid")]
    Host,
    /// A valid TIFF in a layout the service does not read (strips, LZW, 16-bit samples...):
    /// 501 (§7.3: "the server does not support the requested operation"). The reason goes
    /// to the log only.
    #[error("this TIFF is not one the service reads: tiled, with JPEG, Deflate or no compression, 8-bit samples")]
    TiffUnsupported,
}

/// Where and how the IIIF service answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The path the service lives under, starting and ending with `/` (`/iiif/3/`).
    pub prefix: String,
    /// A character that stands for `/` in identifiers ([`ident`]), if any.
    pub slash_substitute: Option<char>,
    /// The public address info.json's `id` starts with ([`ident::public_base`]); else taken
    /// from the request's headers.
    pub public_url: Option<String>,
}

/// The default service prefix.
pub const DEFAULT_PREFIX: &str = "/iiif/3/";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            prefix: DEFAULT_PREFIX.to_owned(),
            slash_substitute: None,
            public_url: None,
        }
    }
}

impl IiifError {
    /// The status the spec gives this error: 501 for [`IiifError::UpscaleUnsupported`]
    /// (§4.2) and [`IiifError::TiffUnsupported`], 400 for every other (§4.1-§4.5, §9; §7.3 also lists 404 for sizes over the
    /// limits, §4.2 says 400 and is followed).
    pub fn status(&self) -> http::StatusCode {
        match self {
            IiifError::UpscaleUnsupported | IiifError::TiffUnsupported => {
                http::StatusCode::NOT_IMPLEMENTED
            }
            _ => http::StatusCode::BAD_REQUEST,
        }
    }
}

/// A rectangle: left and top edges, width and height; pixels or percent in a request
/// ([`Region`]), pixels once resolved ([`Resolved::region`]). Prints as `x,y,w,h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rect<T> {
    /// Left edge.
    pub x: T,
    /// Top edge.
    pub y: T,
    /// Width.
    pub width: T,
    /// Height.
    pub height: T,
}

impl<T> Rect<T> {
    /// A rectangle from its left and top edges, width and height.
    pub const fn new(x: T, y: T, width: T, height: T) -> Self {
        Rect {
            x,
            y,
            width,
            height,
        }
    }
}

impl<T: std::fmt::Display> std::fmt::Display for Rect<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{},{},{},{}", self.x, self.y, self.width, self.height)
    }
}
