//! The image information document, `info.json` (§5), of a level 2 service, and the media
//! type it is sent with (§5.1).
//!
//! What the spec leaves to the server, decided here:
//! - `sizes` (§5.3): the full image halved again and again, as Cantaloupe lists them, while
//!   the shorter side stays at least [`MIN_SIZE`]; the smallest first, as in the spec's
//!   examples. Each width is rounded to nearest and the height is what a `w,` request for
//!   it gives ([`resolve`]), so a listed `w,h` is exactly what the resolver makes of `w,`.
//!   Sizes over the limits are left out (§5.2: "Servers MUST ensure that sizes specified by
//!   any sizes or tiles properties are within any size limits expressed"); when none above
//!   [`MIN_SIZE`] is within them, the largest that is.
//! - `tiles` (§5.4): a tiled source's own tile, one scale factor per pyramid level; else
//!   [`DEFAULT_TILE`] square with scale factors until the whole image fits one tile. A tile
//!   over the limits is halved until within them, which keeps it aligned with the source's.
//! - `extraQualities` (§5.7): §4.4 "services that make additional qualities beyond
//!   `default` available MUST list those qualities", and the level 2 profile
//!   (`http://iiif.io/api/image/3/level2.json`) lists only `default`. So `color` and
//!   `gray`, which compliance §3.4 requires at level 2 "(if applicable)", are listed, except
//!   `color` for a grayscale image (§4.4: "SHOULD NOT include `color` ... in such cases").
//! - `extraFormats` and `extraFeatures` never repeat what the level 2 profile names (its
//!   formats `jpg` and `png`, its twelve features: [`Feature::in_level2`]).
//! - `maxHeight` alone: §5.2 says "`maxWidth` MUST be specified if `maxHeight` is", so
//!   `maxWidth` is then `u32::MAX`, the widest size the request grammar reads (and what
//!   [`resolve`] admits there).

use super::request::{Format, Params, Quality, Region, Rotation, Size, SizeForm};
use super::resolve::{resolve, Limits, Source};
use serde_json::{json, Map, Value};

/// The `@context` of an Image API 3 document, and the `profile` of its JSON-LD media type.
pub const CONTEXT: &str = "http://iiif.io/api/image/3/context.json";

/// The level 2 profile document (§6), for a `Link: <...>;rel="profile"` header.
pub const LEVEL2_PROFILE: &str = "http://iiif.io/api/image/3/level2.json";

/// The JSON-LD media type of info.json (§5.1).
pub const JSON_LD: &str = "application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\"";

/// The regular JSON media type of info.json (§5.1).
pub const JSON: &str = "application/json";

/// The tile side for a source without tiles of its own: OpenSeadragon's and Cantaloupe's
/// default, a few JPEG MCU rows per tile with few requests per screen.
pub const DEFAULT_TILE: u32 = 512;

/// `sizes` stops before the shorter side falls under this (Cantaloupe's default): smaller
/// thumbnails are cheap to ask for by `w,` and only lengthen the document.
pub const MIN_SIZE: u32 = 64;

/// Pyramid levels beyond this would need scale factors over `u32`.
const MAX_LEVELS: u32 = 32;

/// A source stored in tiles (a tiled pyramidal TIFF): its tile and its levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tiling {
    /// Tile width in pixels (after EXIF orientation).
    pub width: u32,
    /// Tile height in pixels (after EXIF orientation).
    pub height: u32,
    /// Levels of the pyramid, full resolution included, each half the one before: the
    /// scale factors are 1, 2, 4 ... 2^(levels - 1). 0 is read as 1, more than 32 as 32.
    pub levels: u32,
}

/// The image an info.json describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageInfo {
    /// Width in pixels as the client sees it (after EXIF orientation).
    pub width: u32,
    /// Height in pixels as the client sees it.
    pub height: u32,
    /// The source's own tiles, `None` for a source read whole (JPEG, PNG, a strip TIFF).
    pub tiling: Option<Tiling>,
    /// The image has no colour: `color` is not listed for it (§4.4).
    pub grayscale: bool,
}

/// What the service offers, the same for every image but `id`.
#[derive(Debug, Clone, Copy)]
pub struct ServiceInfo<'a> {
    /// The image's base URI (§5.2 `id`): scheme, server, prefix and the encoded identifier,
    /// no trailing slash ([`super::ident`] builds both halves).
    pub id: &'a str,
    /// The size limits, the ones [`resolve`] applies.
    pub limits: Limits,
    /// Formats served; `jpg` and `png` (level 2's own) are not repeated in `extraFormats`.
    pub formats: &'a [Format],
    /// Qualities served beyond level 2's: only `bitonal` changes the document, since
    /// `color` and `gray` are always listed (level 2 requires them) and `default` never.
    pub qualities: &'a [Quality],
    /// Features served; those of level 2 are not repeated, and `sizeUpscaling` is left out
    /// when no limit is set (§5.7: such a server "MUST specify `maxWidth` or `maxArea`").
    pub features: &'a [Feature],
}

/// Defines [`Feature`] with its names, so that a variant and its spelling stay together.
macro_rules! features {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal,)*) => {
        /// The feature names of §5.7's table, in its (alphabetical) order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Feature {
            $($(#[doc = $doc])* $variant,)*
        }

        impl Feature {
            /// Every feature, in the table's order.
            pub const ALL: &'static [Feature] = &[$(Feature::$variant,)*];

            /// The name as info.json spells it.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Feature::$variant => $name,)*
                }
            }
        }
    };
}

features! {
    /// The base URI redirects to info.json.
    BaseUriRedirect = "baseUriRedirect",
    /// `Link: <...>;rel="canonical"` on image responses.
    CanonicalLinkHeader = "canonicalLinkHeader",
    /// CORS headers on all responses.
    Cors = "cors",
    /// The JSON-LD media type when asked for.
    JsonldMediaType = "jsonldMediaType",
    /// `!n` rotations.
    Mirroring = "mirroring",
    /// `Link: <...>;rel="profile"` on image responses.
    ProfileLinkHeader = "profileLinkHeader",
    /// `pct:x,y,w,h` regions.
    RegionByPct = "regionByPct",
    /// `x,y,w,h` regions.
    RegionByPx = "regionByPx",
    /// The `square` region.
    RegionSquare = "regionSquare",
    /// Rotations other than multiples of 90.
    RotationArbitrary = "rotationArbitrary",
    /// Rotations by multiples of 90.
    RotationBy90s = "rotationBy90s",
    /// `!w,h` sizes.
    SizeByConfinedWh = "sizeByConfinedWh",
    /// `,h` sizes.
    SizeByH = "sizeByH",
    /// `pct:n` sizes.
    SizeByPct = "sizeByPct",
    /// `w,` sizes.
    SizeByW = "sizeByW",
    /// `w,h` sizes.
    SizeByWh = "sizeByWh",
    /// `^` sizes.
    SizeUpscaling = "sizeUpscaling",
}

impl Feature {
    /// The feature of this name, exactly as spelled in §5.7.
    pub fn from_name(name: &str) -> Option<Feature> {
        Feature::ALL.iter().copied().find(|f| f.as_str() == name)
    }

    /// The level 2 profile names it (compliance §3-§4): everything but
    /// `canonicalLinkHeader`, `mirroring`, `profileLinkHeader`, `rotationArbitrary` and
    /// `sizeUpscaling`, which are optional at every level.
    pub fn in_level2(self) -> bool {
        use Feature::*;
        !matches!(
            self,
            CanonicalLinkHeader | Mirroring | ProfileLinkHeader | RotationArbitrary | SizeUpscaling
        )
    }
}

/// The info.json of `image` as `service` serves it (§5.2-§5.7). Optional properties are
/// left out rather than empty.
pub fn info_json(image: &ImageInfo, service: &ServiceInfo<'_>) -> Value {
    let mut doc = Map::new();
    // §5.2: "The @context property SHOULD appear as the very first key-value pair": first
    // in insertion order, and first in serde_json's default sorted map as `@` sorts before
    // every letter.
    doc.insert("@context".into(), json!(CONTEXT));
    doc.insert("id".into(), json!(service.id));
    doc.insert("type".into(), json!("ImageService3"));
    doc.insert("protocol".into(), json!("http://iiif.io/api/image"));
    doc.insert("profile".into(), json!("level2"));
    doc.insert("width".into(), json!(image.width));
    doc.insert("height".into(), json!(image.height));
    let limits = &service.limits;
    let max_width = limits.max_width.or(limits.max_height.map(|_| u32::MAX));
    let optional = [
        ("maxWidth", max_width.map(|w| json!(w))),
        ("maxHeight", limits.max_height.map(|h| json!(h))),
        ("maxArea", limits.max_area.map(|a| json!(a))),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            doc.insert(key.into(), value);
        }
    }
    let sizes: Vec<Value> = sizes(image, limits)
        .into_iter()
        .map(|(width, height)| json!({ "width": width, "height": height }))
        .collect();
    let (tile_width, tile_height, factors) = tiles(image, limits);
    let tile = json!({ "width": tile_width, "height": tile_height, "scaleFactors": factors });
    let extras = [
        ("sizes", sizes),
        ("tiles", vec![tile]),
        ("extraFormats", names(extra_formats(service))),
        ("extraQualities", names(extra_qualities(image, service))),
        ("extraFeatures", names(extra_features(service))),
    ];
    for (key, list) in extras {
        if !list.is_empty() {
            doc.insert(key.into(), Value::Array(list));
        }
    }
    Value::Object(doc)
}

/// The media type to send info.json with, given the request's `Accept` (§5.1).
///
/// §5.1 (3.0) asks for conneg and, without `Accept`, says the type "SHOULD have the value
/// `application/ld+json`" with the context as `profile`: so no `Accept` (or an empty one)
/// gives [`JSON_LD`]. With one, [`JSON_LD`] only when it names `application/ld+json` with a
/// q above 0 and not below that of a named `application/json`; wildcards and everything
/// else give [`JSON`], which every client parses and browsers display. Parameters
/// (§5.1: "MAY include parameters", e.g. `profile`) other than `q` are ignored.
pub fn media_type(accept: Option<&str>) -> &'static str {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return JSON_LD;
    };
    let (mut ld, mut plain) = (None::<f32>, None::<f32>);
    for range in split_unquoted(accept, ',') {
        let mut parts = split_unquoted(range, ';').into_iter();
        let essence = parts.next().unwrap_or("").trim();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .map_or(Some(1.0), |(_, v)| qvalue(v.trim()));
        // A malformed q says nothing reliable about the client's wish: the range is ignored.
        let Some(q) = q else { continue };
        let slot = if essence.eq_ignore_ascii_case("application/ld+json") {
            &mut ld
        } else if essence.eq_ignore_ascii_case("application/json") {
            &mut plain
        } else {
            continue;
        };
        *slot = Some(slot.map_or(q, |old: f32| old.max(q)));
    }
    match ld {
        Some(q) if q > 0.0 && q >= plain.unwrap_or(0.0) => JSON_LD,
        _ => JSON,
    }
}

/// An RFC 9110 §12.4.2 weight: digits and a dot, from 0 to 1.
fn qvalue(v: &str) -> Option<f32> {
    let plain = !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    let q = v.parse::<f32>().ok().filter(|_| plain)?;
    (0.0..=1.0).contains(&q).then_some(q)
}

/// `s` cut at every `sep` outside a quoted string (RFC 9110 §5.6.4), so that a parameter
/// such as `profile="a,b"` stays whole.
fn split_unquoted(s: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == sep && !quoted {
            parts.push(s.get(start..i).unwrap_or(""));
            start = i + c.len_utf8();
        }
    }
    parts.push(s.get(start..).unwrap_or(""));
    parts
}

/// The `sizes` (§5.3), smallest first: see the module documentation.
fn sizes(image: &ImageInfo, limits: &Limits) -> Vec<(u32, u32)> {
    let source = Source {
        width: image.width,
        height: image.height,
        default_quality: Quality::Color,
    };
    let mut out: Vec<(u32, u32)> = Vec::new();
    for halvings in 0..=MAX_LEVELS {
        let half = (1u64 << halvings) >> 1;
        let width = (u64::from(image.width) + half) >> halvings;
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        if width == 0 {
            break;
        }
        // The resolver's own `w,`, so that the listed height is the one it derives.
        let Ok(r) = resolve(&width_request(width), &source, limits) else {
            continue;
        };
        if r.width.min(r.height) < MIN_SIZE && !out.is_empty() {
            break;
        }
        out.push((r.width, r.height));
    }
    out.reverse();
    out
}

/// `full/{width},/0/default.jpg`.
fn width_request(width: u32) -> Params {
    Params {
        region: Region::Full,
        size: Size {
            upscale: false,
            form: SizeForm::Width(width),
        },
        rotation: Rotation {
            mirror: false,
            degrees: 0.0,
        },
        quality: Quality::Default,
        format: Format::Jpg,
    }
}

/// The one `tiles` entry (§5.4): width, height and scale factors.
fn tiles(image: &ImageInfo, limits: &Limits) -> (u32, u32, Vec<u32>) {
    let (width, height, levels) = match image.tiling {
        Some(t) => (t.width, t.height, Some(t.levels.clamp(1, MAX_LEVELS))),
        None => (DEFAULT_TILE, DEFAULT_TILE, None),
    };
    let (width, height) = within_limits(width.max(1), height.max(1), limits);
    let levels = levels.unwrap_or_else(|| {
        // Until one tile holds the whole image: the level clients start from.
        let fits = |n: u32| {
            image.width.div_ceil(1 << n) <= width && image.height.div_ceil(1 << n) <= height
        };
        (0..MAX_LEVELS - 1)
            .find(|&n| fits(n))
            .unwrap_or(MAX_LEVELS - 1)
            + 1
    });
    (width, height, (0..levels).map(|n| 1u32 << n).collect())
}

/// `width` × `height` halved until within the limits (1 × 1 at least).
fn within_limits(mut width: u32, mut height: u32, limits: &Limits) -> (u32, u32) {
    let max_width = limits.max_width.unwrap_or(u32::MAX);
    let max_height = limits.max_height.or(limits.max_width).unwrap_or(u32::MAX);
    let max_area = limits.max_area.unwrap_or(u64::MAX);
    let fits = |w: u32, h: u32| {
        w <= max_width && h <= max_height && u64::from(w) * u64::from(h) <= max_area
    };
    while !fits(width, height) && (width > 1 || height > 1) {
        width = width.div_ceil(2);
        height = height.div_ceil(2);
    }
    (width, height)
}

fn extra_formats(service: &ServiceInfo<'_>) -> Vec<&'static str> {
    use Format::*;
    [Tif, Gif, Jp2, Pdf, Webp, Avif]
        .into_iter()
        .filter(|f| service.formats.contains(f))
        .map(Format::as_str)
        .collect()
}

fn extra_qualities(image: &ImageInfo, service: &ServiceInfo<'_>) -> Vec<&'static str> {
    let listed = |q: Quality| match q {
        Quality::Color => !image.grayscale,
        Quality::Gray => true,
        Quality::Bitonal => service.qualities.contains(&Quality::Bitonal),
        Quality::Default => false,
    };
    [Quality::Color, Quality::Gray, Quality::Bitonal]
        .into_iter()
        .filter(|&q| listed(q))
        .map(Quality::as_str)
        .collect()
}

fn extra_features(service: &ServiceInfo<'_>) -> Vec<&'static str> {
    let l = &service.limits;
    let bounded = l.max_width.is_some() || l.max_height.is_some() || l.max_area.is_some();
    Feature::ALL
        .iter()
        .copied()
        .filter(|f| service.features.contains(f) && !f.in_level2())
        .filter(|&f| f != Feature::SizeUpscaling || bounded)
        .map(Feature::as_str)
        .collect()
}

fn names(list: Vec<&'static str>) -> Vec<Value> {
    list.into_iter().map(Value::from).collect()
}

#[cfg(test)]
#[path = "info_tests.rs"]
mod tests;
