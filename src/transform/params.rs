//! The transform query (`w`, `h`, `fit`, `format`, `q`): parsed, validated against the
//! operator's limits, and put in a canonical form for the output's ETag and the cache key.
//!
//! Other query parameters (`sig`, `exp`, `kid`, cache busters) are not ours and are ignored
//! here; the access rules decide about them.

use super::format::{Format, FormatChoice};
use super::limits::{Limits, AVIF_MAX_DIMENSION};
use crate::query::{Query, QueryError};

/// How the image fits the `w` x `h` box (the CSS `object-fit` / sharp names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Within the box, aspect kept: one side may be shorter. The default.
    Inside,
    /// Covers the box, aspect kept, the overflow cropped around the centre.
    Cover,
    /// Within the box, aspect kept, padded to exactly `w` x `h`.
    Contain,
    /// Stretched to exactly `w` x `h`.
    Fill,
}

impl Fit {
    fn as_str(self) -> &'static str {
        match self {
            Fit::Inside => "inside",
            Fit::Cover => "cover",
            Fit::Contain => "contain",
            Fit::Fill => "fill",
        }
    }
}

/// A validated transform request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Target width in pixels, if given.
    pub width: Option<u32>,
    /// Target height in pixels, if given.
    pub height: Option<u32>,
    /// How to fit the box; only matters when both sides are given.
    pub fit: Fit,
    /// Output format, or `auto` (Accept negotiation).
    pub format: FormatChoice,
    /// Encoder quality 1-100 (lossy formats) as given; `None` takes the output format's
    /// default ([`default_quality`]).
    pub quality: Option<u8>,
}

/// A transform parameter the client must fix: answered 400 with this text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// The query itself does not read (crate::query).
    #[error(transparent)]
    Query(#[from] QueryError),
    /// A parameter given twice: which one would count is ambiguous.
    #[error("{0} given more than once")]
    Repeated(&'static str),
    /// Not a number in range.
    #[error("{name} must be a whole number from 1 to {max}")]
    Number {
        /// Parameter name.
        name: &'static str,
        /// Its largest allowed value.
        max: u32,
    },
    /// A value the operator did not list (`--widths`, `--heights`, `--qualities`).
    #[error("{name} must be one of {list}")]
    NotListed {
        /// Parameter name.
        name: &'static str,
        /// The listed values, comma-separated.
        list: String,
    },
    /// Unknown `fit` value.
    #[error("fit must be inside, cover, contain or fill")]
    Fit,
    /// Unknown or disabled `format` value.
    #[error("format must be one of {0}")]
    Format(String),
    /// A side over the AVIF cap with `format=avif` (`auto` picks another format instead).
    #[error("w and h must be at most {0} with format=avif")]
    AvifSize(u32),
}

/// The names this module owns; the signing code lists them too.
pub const NAMES: [&str; 5] = ["w", "h", "fit", "format", "q"];

/// Default encoder quality of JPEG and WebP, as sharp's.
pub const DEFAULT_QUALITY: u8 = 80;

/// Default AVIF quality on ravif's scale: AV1 quantizer index 128, the one sharp's AVIF
/// default (q50, libheif's cq-level 32) gives, and about the SSIM of WebP at
/// [`DEFAULT_QUALITY`] (docs/transforms.md). The scales of the formats do not line up.
pub const DEFAULT_AVIF_QUALITY: u8 = 75;

/// The quality an encoder of `format` uses when the query gives none.
pub fn default_quality(format: Format) -> u8 {
    match format {
        Format::Avif => DEFAULT_AVIF_QUALITY,
        _ => DEFAULT_QUALITY,
    }
}

/// Parses the transform parameters of a raw query (tests, tools): [`Query::parse`], then
/// [`from_query`]; a query that does not read is a `Query` error.
///
/// # Errors
/// A [`ParamError`] for a bad, repeated or disallowed value.
pub fn parse(query: Option<&str>, limits: &Limits) -> Result<Option<Params>, ParamError> {
    from_query(&Query::parse(query)?, limits)
}

/// The transform parameters of the request's one decoded [`Query`]. `None` when it holds
/// none of them: the object is served as is.
///
/// # Errors
/// A [`ParamError`] for a bad, repeated or disallowed value.
pub fn from_query(query: &Query<'_>, limits: &Limits) -> Result<Option<Params>, ParamError> {
    let mut raw: [Option<&str>; 5] = [None; 5];
    for (name, value) in query.pairs() {
        if let Some(i) = NAMES.iter().position(|n| *n == name) {
            if raw[i].replace(value).is_some() {
                return Err(ParamError::Repeated(NAMES[i]));
            }
        }
    }
    if raw.iter().all(Option::is_none) {
        return Ok(None);
    }
    let [w, h, fit, format, q] = raw;
    let width = w
        .map(|v| number(v, "w", limits.max_dimension))
        .transpose()?;
    let height = h
        .map(|v| number(v, "h", limits.max_dimension))
        .transpose()?;
    listed("w", width, &limits.widths)?;
    listed("h", height, &limits.heights)?;
    let fit = match fit {
        None | Some("inside") => Fit::Inside,
        Some("cover") => Fit::Cover,
        Some("contain") => Fit::Contain,
        Some("fill") => Fit::Fill,
        Some(_) => return Err(ParamError::Fit),
    };
    // With one side given every fit gives the same image: name it once, for one cache entry.
    let fit = match (width, height) {
        (Some(_), Some(_)) => fit,
        _ => Fit::Inside,
    };
    let format = output_format(format, [width, height], limits)?;
    let quality = q.map(|v| number(v, "q", 100)).transpose()?;
    listed("q", quality, &limits.qualities)?;
    let quality = quality.map(|n| n as u8);
    Ok(Some(Params {
        width,
        height,
        fit,
        format,
        quality,
    }))
}

/// The `format` value: `auto`, or an enabled output format; `avif` with no side over
/// [`AVIF_MAX_DIMENSION`].
fn output_format(
    value: Option<&str>,
    sides: [Option<u32>; 2],
    limits: &Limits,
) -> Result<FormatChoice, ParamError> {
    let name = match value {
        None | Some("auto") => return Ok(FormatChoice::Auto),
        Some(name) => name,
    };
    let format = Format::from_name(name)
        .filter(|f| limits.formats.contains(f))
        .ok_or_else(|| ParamError::Format(limits.format_list()))?;
    let too_big = sides
        .into_iter()
        .flatten()
        .any(|side| side > AVIF_MAX_DIMENSION);
    if format == Format::Avif && too_big {
        return Err(ParamError::AvifSize(AVIF_MAX_DIMENSION));
    }
    Ok(FormatChoice::Fixed(format))
}

/// 1..=max, digits only (no sign, no leading zero, no spaces).
/// Each value of a listed parameter is a paid transform and a cache entry: only the
/// operator's values pass.
fn listed(
    name: &'static str,
    value: Option<u32>,
    list: &Option<Vec<u32>>,
) -> Result<(), ParamError> {
    match (value, list) {
        (Some(v), Some(list)) if !list.contains(&v) => Err(ParamError::NotListed {
            name,
            list: list
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        }),
        _ => Ok(()),
    }
}

fn number(v: &str, name: &'static str, max: u32) -> Result<u32, ParamError> {
    let err = ParamError::Number { name, max };
    if v.is_empty() || v.len() > 9 || v.starts_with('0') || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err);
    }
    v.parse::<u32>()
        .ok()
        .filter(|n| (1..=max).contains(n))
        .ok_or(err)
}

impl Params {
    /// The encoder quality for output in `format`.
    pub fn quality_for(&self, format: Format) -> u8 {
        self.quality.unwrap_or_else(|| default_quality(format))
    }

    /// The canonical form once the output format is known: the same image always gets the
    /// same string, whatever order or defaults the query used. `format` is the output
    /// format, or `None` for an `auto` that falls back to the source's format (JPEG or PNG,
    /// whose default quality is the same).
    pub fn canonical(&self, format: Option<Format>) -> String {
        let side = |v: Option<u32>| v.map_or_else(String::new, |n| n.to_string());
        let quality = match format {
            Some(f) => self.quality_for(f),
            None => self.quality.unwrap_or(DEFAULT_QUALITY),
        };
        format!(
            "w={}&h={}&fit={}&format={}&q={}",
            side(self.width),
            side(self.height),
            self.fit.as_str(),
            format.map_or("auto", Format::name),
            quality
        )
    }
}

#[cfg(test)]
#[path = "params_tests.rs"]
mod tests;
