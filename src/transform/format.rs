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

#[cfg(test)]
mod tests {
    use super::*;
    use Format::{Avif, Gif, Jpeg, Png, Webp};

    const CHROME: &str = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8";
    const ALL: [Format; 4] = [Avif, Webp, Jpeg, Png];
    const NO_AVIF: [Format; 3] = [Webp, Jpeg, Png];

    fn accept(value: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(v) = value {
            headers.insert(http::header::ACCEPT, v.parse().expect("header value"));
        }
        headers
    }

    #[test]
    fn auto_picks_avif_only_when_enabled_and_accepted() {
        // (Accept, enabled, source, alpha) -> output
        type Case<'a> = (Option<&'a str>, &'a [Format], Format, bool, Format);
        let cases: [Case; 14] = [
            (Some(CHROME), &ALL, Jpeg, false, Avif),
            (Some(CHROME), &NO_AVIF, Jpeg, false, Webp),
            (Some("image/avif"), &ALL, Png, true, Avif),
            (Some("image/avif"), &NO_AVIF, Jpeg, false, Jpeg),
            (Some("IMAGE/AVIF ; q=0.5"), &ALL, Jpeg, false, Avif),
            // Refused, or only through wildcards: the next choice.
            (Some("image/avif;q=0,image/webp"), &ALL, Jpeg, false, Webp),
            (Some("image/avif;q=0.0"), &ALL, Png, false, Png),
            (Some("image/*,*/*"), &ALL, Jpeg, false, Jpeg),
            (None, &ALL, Gif, true, Png),
            (None, &ALL, Gif, false, Jpeg),
            (Some("text/html"), &ALL, Webp, false, Jpeg),
            (Some("image/webp"), &[Avif, Jpeg], Jpeg, false, Jpeg),
            (Some("image/avif"), &[Avif], Jpeg, false, Avif),
            (Some("image/webp,image/avif;q=0.1"), &ALL, Jpeg, false, Avif),
        ];
        for (value, enabled, source, alpha, want) in cases {
            let got = negotiate(FormatChoice::Auto, &accept(value), source, alpha, enabled);
            assert_eq!(
                got, want,
                "Accept {value:?}, enabled {enabled:?}, {source:?}"
            );
        }
        // Accept split over two lines counts as one list.
        let mut two = accept(Some("text/html"));
        two.append(http::header::ACCEPT, "image/avif".parse().expect("value"));
        assert_eq!(
            auto_preference(&two, &ALL),
            Some(Avif),
            "second Accept line"
        );
    }

    #[test]
    fn a_fixed_format_ignores_accept() {
        for f in [Avif, Webp, Jpeg, Png] {
            let got = negotiate(
                FormatChoice::Fixed(f),
                &accept(Some(CHROME)),
                Jpeg,
                false,
                &ALL,
            );
            assert_eq!(got, f);
        }
    }
}
