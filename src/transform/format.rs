//! Image formats: recognised from magic bytes, named in queries, negotiated from `Accept`.

use http::HeaderMap;

/// An image format we read or write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// JPEG (read and write).
    Jpeg,
    /// PNG (read and write).
    Png,
    /// WebP (read and write).
    Webp,
    /// AVIF (write only, when enabled and built).
    Avif,
    /// GIF (read only: the first frame).
    Gif,
}

/// What the query asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatChoice {
    /// Negotiate from `Accept`; the response varies on it.
    Auto,
    /// This format, whatever the client accepts.
    Fixed(Format),
}

impl Format {
    /// The `format=` name.
    pub fn name(self) -> &'static str {
        match self {
            Format::Jpeg => "jpeg",
            Format::Png => "png",
            Format::Webp => "webp",
            Format::Avif => "avif",
            Format::Gif => "gif",
        }
    }

    /// A format the query may name as output (`jpg` is accepted for `jpeg`).
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "jpeg" | "jpg" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            "webp" => Some(Format::Webp),
            "avif" => Some(Format::Avif),
            _ => None,
        }
    }

    /// The Content-Type of an encoded image.
    pub fn mime(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
            Format::Avif => "image/avif",
            Format::Gif => "image/gif",
        }
    }

    /// Recognises a source by its first bytes.
    pub fn sniff(bytes: &[u8]) -> Option<Format> {
        match bytes {
            [0xFF, 0xD8, 0xFF, ..] => Some(Format::Jpeg),
            [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Some(Format::Png),
            [b'G', b'I', b'F', b'8', b'7' | b'9', b'a', ..] => Some(Format::Gif),
            [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Some(Format::Webp),
            _ => None,
        }
    }
}

/// The output format for `choice` from a `source` image, given the request headers and the
/// formats the operator enabled. `auto` prefers AVIF (when enabled) then WebP when the client
/// accepts them, else the source's own format when we can write it, else PNG for images with
/// transparency and JPEG otherwise.
pub fn negotiate(
    choice: FormatChoice,
    headers: &HeaderMap,
    source: Format,
    alpha: bool,
    enabled: &[Format],
) -> Format {
    if let FormatChoice::Fixed(f) = choice {
        return f;
    }
    if let Some(f) = auto_preference(headers, enabled) {
        return f;
    }
    let on = |f: Format| enabled.contains(&f);
    match source {
        Format::Jpeg if on(Format::Jpeg) => Format::Jpeg,
        Format::Png if on(Format::Png) => Format::Png,
        _ if alpha && on(Format::Png) => Format::Png,
        _ if on(Format::Jpeg) => Format::Jpeg,
        _ => Format::Png,
    }
}

/// The modern format `auto` picks for this client whatever the source (AVIF, then WebP), if
/// any: what the response varies on, and so what the CDN's normalised Accept must keep.
pub fn auto_preference(headers: &HeaderMap, enabled: &[Format]) -> Option<Format> {
    [Format::Avif, Format::Webp]
        .into_iter()
        .find(|f| enabled.contains(f) && accepts(headers, f.mime()))
}

/// Whether any `Accept` line lists `mime` explicitly with a non-zero weight. Wildcards do not
/// count: browsers send `*/*` without being able to show every format.
fn accepts(headers: &HeaderMap, mime: &str) -> bool {
    headers
        .get_all(http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim();
            media.eq_ignore_ascii_case(mime) && parts.all(|p| !zero_weight(p))
        })
}

fn zero_weight(param: &str) -> bool {
    let Some((name, value)) = param.split_once('=') else {
        return false;
    };
    name.trim().eq_ignore_ascii_case("q") && value.trim().parse::<f32>().is_ok_and(|q| q <= 0.0)
}
