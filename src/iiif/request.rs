//! The IIIF Image API 3.0 request grammar (§2.1, §4.1-§4.5): the path below the service
//! prefix, `{identifier}/{region}/{size}/{rotation}/{quality}.{format}`, read into typed
//! values and printed back.
//!
//! Syntax only: whether a region meets the image, or a size needs upscaling, depends on the
//! image and is decided by [`resolve`](mod@super::resolve). Numbers are read strictly, so
//! that anything a cache or an ETag keys on has one reading:
//! - whole numbers: ASCII digits only, at most `u32::MAX`. Leading zeros are accepted
//!   (`007` is 7): §4 does not forbid them, and the canonical form (§4.8) prints the
//!   resolved pixels, not the spelling.
//! - decimals (§4.7): digits and at most one `.`, at least one digit. No sign, exponent,
//!   `inf` or `NaN` (§4.7: "MUST consist only of decimal digits and `.`"). `.5`, `5.` and
//!   `0.50` are accepted: the leading zero and the absence of trailing zeros are SHOULDs.
//! - keywords and extensions are lowercase, as the spec spells them.

use super::{IiifError, Rect};
use std::fmt;
use std::str::FromStr;

/// The region parameter (§4.1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Region {
    /// The whole image.
    Full,
    /// A square as wide as the image's shorter side.
    Square,
    /// `x,y,w,h` in pixels; width and height at least 1.
    Pixels(Rect<u32>),
    /// `pct:x,y,w,h`: percent of the image's width (x, width) and height (y, height);
    /// finite, non-negative, width and height above 0.
    Percent(Rect<f64>),
}

/// The size parameter (§4.2): a form and whether `^` allows upscaling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Size {
    /// `^` was given: the output may be larger than the region.
    pub upscale: bool,
    /// The form after the `^`.
    pub form: SizeForm,
}

/// The forms of the size parameter (§4.2); sides are at least 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeForm {
    /// `max`: the region's size, or the largest within the service's limits.
    Max,
    /// `w,`: this width, the height keeping the aspect ratio.
    Width(u32),
    /// `,h`: this height, the width keeping the aspect ratio.
    Height(u32),
    /// `pct:n`: this percent of the region, finite, above 0 (at most 100 without `^`).
    Percent(f64),
    /// `w,h`: exactly this width and height.
    Exact(u32, u32),
    /// `!w,h`: the largest size within this width and height keeping the aspect ratio.
    Confined(u32, u32),
}

/// The rotation parameter (§4.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rotation {
    /// `!`: mirrored on the vertical axis before rotating.
    pub mirror: bool,
    /// Clockwise degrees, 0 to 360 inclusive.
    pub degrees: f64,
}

/// The quality parameter (§4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quality {
    /// The server's default for the image.
    Default,
    /// All of the image's colour.
    Color,
    /// Grayscale.
    Gray,
    /// Black and white only.
    Bitonal,
}

/// The format parameter (§4.5), and AVIF as an extension (§4.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `jpg`.
    Jpg,
    /// `tif`.
    Tif,
    /// `png`.
    Png,
    /// `gif`.
    Gif,
    /// `jp2`.
    Jp2,
    /// `pdf`.
    Pdf,
    /// `webp`.
    Webp,
    /// `avif` (not in §4.5's table; an extension value as §4.9 allows).
    Avif,
}

/// The image request parameters after the identifier.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Params {
    /// What part of the image (§4.1).
    pub region: Region,
    /// How large (§4.2).
    pub size: Size,
    /// Mirroring and rotation (§4.3).
    pub rotation: Rotation,
    /// Colour (§4.4).
    pub quality: Quality,
    /// Output encoding (§4.5).
    pub format: Format,
}

/// A whole image request below the service prefix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ImageRequest<'a> {
    /// The identifier as written (still percent-encoded, §9); may contain `/` when a
    /// framework decoded `%2F` before us, since the parameters are read from the right
    /// (implementation notes §1).
    pub identifier: &'a str,
    /// The parameters.
    pub params: Params,
}

impl<'a> ImageRequest<'a> {
    /// Reads `{identifier}/{region}/{size}/{rotation}/{quality}.{format}` (no leading `/`).
    ///
    /// # Errors
    /// [`IiifError::Path`] for missing segments or an empty identifier, else the first
    /// failing parameter's error, in URI order.
    pub fn parse(path: &'a str) -> Result<Self, IiifError> {
        // The fourth `/` from the right ends the identifier (implementation notes §1).
        let (slash, _) = path.rmatch_indices('/').nth(3).ok_or(IiifError::Path)?;
        let (identifier, params) = path.split_at_checked(slash).ok_or(IiifError::Path)?;
        if identifier.is_empty() {
            return Err(IiifError::Path);
        }
        let params = params.strip_prefix('/').ok_or(IiifError::Path)?;
        // A proxy or Function URL may send `^` or `!` escaped (`%5E`): the parameters mean
        // the same decoded once (RFC 3986 §2.4). Only the identifier keeps its escapes.
        let decoded = crate::key::percent_decode_strict(params.as_bytes())
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(IiifError::Path)?;
        let params = decoded.parse()?;
        Ok(ImageRequest { identifier, params })
    }
}

impl FromStr for Params {
    type Err = IiifError;

    /// Reads `{region}/{size}/{rotation}/{quality}.{format}`.
    fn from_str(s: &str) -> Result<Self, IiifError> {
        let [region, size, rotation, last] = split_exact(s, '/').ok_or(IiifError::Path)?;
        let (region, size, rotation) = (region.parse()?, size.parse()?, rotation.parse()?);
        let (quality, format) = last.split_once('.').ok_or(IiifError::Format)?;
        Ok(Params {
            region,
            size,
            rotation,
            quality: quality.parse()?,
            format: format.parse()?,
        })
    }
}

impl FromStr for Region {
    type Err = IiifError;

    fn from_str(s: &str) -> Result<Self, IiifError> {
        match s {
            "full" => return Ok(Region::Full),
            "square" => return Ok(Region::Square),
            _ => {}
        }
        if let Some(pct) = s.strip_prefix("pct:") {
            let r = four(pct, decimal).ok_or(IiifError::Region)?;
            if r.width <= 0.0 || r.height <= 0.0 {
                return Err(IiifError::ZeroRegion);
            }
            return Ok(Region::Percent(r));
        }
        let r = four(s, integer).ok_or(IiifError::Region)?;
        if r.width == 0 || r.height == 0 {
            return Err(IiifError::ZeroRegion);
        }
        Ok(Region::Pixels(r))
    }
}

impl FromStr for Size {
    type Err = IiifError;

    fn from_str(s: &str) -> Result<Self, IiifError> {
        let (upscale, rest) = match s.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let form = if rest == "max" {
            SizeForm::Max
        } else if let Some(n) = rest.strip_prefix("pct:") {
            let n = decimal(n).ok_or(IiifError::Size)?;
            if n <= 0.0 {
                return Err(IiifError::ZeroSize);
            }
            // §4.2: "The value of n MUST NOT be greater than 100" without `^`.
            if n > 100.0 && !upscale {
                return Err(IiifError::Upscale);
            }
            SizeForm::Percent(n)
        } else if let Some(wh) = rest.strip_prefix('!') {
            let (w, h) = wh.split_once(',').ok_or(IiifError::Size)?;
            SizeForm::Confined(side(w)?, side(h)?)
        } else {
            match rest.split_once(',').ok_or(IiifError::Size)? {
                ("", h) => SizeForm::Height(side(h)?),
                (w, "") => SizeForm::Width(side(w)?),
                (w, h) => SizeForm::Exact(side(w)?, side(h)?),
            }
        };
        Ok(Size { upscale, form })
    }
}

impl FromStr for Rotation {
    type Err = IiifError;

    fn from_str(s: &str) -> Result<Self, IiifError> {
        let (mirror, n) = match s.strip_prefix('!') {
            Some(n) => (true, n),
            None => (false, s),
        };
        let degrees = decimal(n)
            .filter(|d| *d <= 360.0)
            .ok_or(IiifError::Rotation)?;
        Ok(Rotation { mirror, degrees })
    }
}

impl FromStr for Quality {
    type Err = IiifError;

    fn from_str(s: &str) -> Result<Self, IiifError> {
        use Quality::*;
        [Default, Color, Gray, Bitonal]
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or(IiifError::Quality)
    }
}

impl FromStr for Format {
    type Err = IiifError;

    fn from_str(s: &str) -> Result<Self, IiifError> {
        use Format::*;
        [Jpg, Tif, Png, Gif, Jp2, Pdf, Webp, Avif]
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or(IiifError::Format)
    }
}

impl Quality {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Quality::Default => "default",
            Quality::Color => "color",
            Quality::Gray => "gray",
            Quality::Bitonal => "bitonal",
        }
    }
}

impl Format {
    /// The extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Jpg => "jpg",
            Format::Tif => "tif",
            Format::Png => "png",
            Format::Gif => "gif",
            Format::Jp2 => "jp2",
            Format::Pdf => "pdf",
            Format::Webp => "webp",
            Format::Avif => "avif",
        }
    }

    /// The media type §4.5 pairs with the extension (`image/avif` for AVIF).
    pub fn media_type(self) -> &'static str {
        match self {
            Format::Jpg => "image/jpeg",
            Format::Tif => "image/tiff",
            Format::Png => "image/png",
            Format::Gif => "image/gif",
            Format::Jp2 => "image/jp2",
            Format::Pdf => "application/pdf",
            Format::Webp => "image/webp",
            Format::Avif => "image/avif",
        }
    }
}

// Display prints the request as parsed, one spelling per value (floats in Rust's shortest
// round-trip form, never with an exponent), so that parsing it again gives the same value.
// The canonical form of §4.8 needs the image and is `Params::canonical` (resolve.rs).

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Region::Full => f.write_str("full"),
            Region::Square => f.write_str("square"),
            Region::Pixels(r) => r.fmt(f),
            Region::Percent(r) => write!(f, "pct:{r}"),
        }
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.upscale {
            f.write_str("^")?;
        }
        match self.form {
            SizeForm::Max => f.write_str("max"),
            SizeForm::Width(w) => write!(f, "{w},"),
            SizeForm::Height(h) => write!(f, ",{h}"),
            SizeForm::Percent(n) => write!(f, "pct:{n}"),
            SizeForm::Exact(w, h) => write!(f, "{w},{h}"),
            SizeForm::Confined(w, h) => write!(f, "!{w},{h}"),
        }
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bang = if self.mirror { "!" } else { "" };
        write!(f, "{bang}{}", self.degrees)
    }
}

impl fmt::Display for Quality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self;
        write!(f, "{}/{}/{}/", p.region, p.size, p.rotation)?;
        write!(f, "{}.{}", p.quality, p.format)
    }
}

/// Exactly `N` parts separated by `sep`.
fn split_exact<const N: usize>(s: &str, sep: char) -> Option<[&str; N]> {
    let mut parts = s.split(sep);
    let mut out = [""; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    parts.next().is_none().then_some(out)
}

/// Exactly four comma-separated numbers.
fn four<T>(s: &str, number: fn(&str) -> Option<T>) -> Option<Rect<T>> {
    let [x, y, w, h] = split_exact(s, ',')?;
    Some(Rect::new(number(x)?, number(y)?, number(w)?, number(h)?))
}

/// A size side: a whole number of at least 1.
fn side(s: &str) -> Result<u32, IiifError> {
    match integer(s) {
        Some(0) => Err(IiifError::ZeroSize),
        Some(n) => Ok(n),
        None => Err(IiifError::Size),
    }
}

/// ASCII digits only (`u32::from_str` would take a leading `+`), within `u32`.
fn integer(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    s.chars()
        .try_fold(0u32, |n, c| n.checked_mul(10)?.checked_add(c.to_digit(10)?))
}

/// Digits with at most one `.` (§4.7); `f64::from_str` alone would take signs, exponents,
/// `inf` and `NaN`. Finite: hundreds of digits parse to infinity.
fn decimal(s: &str) -> Option<f64> {
    let digits = s.bytes().filter(u8::is_ascii_digit).count();
    let dots = s.bytes().filter(|&b| b == b'.').count();
    if digits == 0 || dots > 1 || digits + dots != s.len() {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
