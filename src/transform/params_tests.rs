use super::*;
use crate::transform::format::{Format, FormatChoice};
use proptest::prelude::*;

fn p(
    w: Option<u32>,
    h: Option<u32>,
    fit: Fit,
    format: FormatChoice,
    quality: Option<u8>,
) -> Params {
    Params {
        width: w,
        height: h,
        fit,
        format,
        quality,
    }
}

#[test]
fn parses_the_query() {
    let auto = FormatChoice::Auto;
    let l = Limits::default();
    let ok = [
        ("", None),
        ("v=3&sig=abc", None),
        ("w=400", Some(p(Some(400), None, Fit::Inside, auto, None))),
        // Values are decoded once, as the signature check reads them (crate::query).
        ("w=%34", Some(p(Some(4), None, Fit::Inside, auto, None))),
        (
            "h=300&q=55",
            Some(p(None, Some(300), Fit::Inside, auto, Some(55))),
        ),
        (
            "w=10&h=20&fit=cover",
            Some(p(Some(10), Some(20), Fit::Cover, auto, None)),
        ),
        // One side: every fit is the same image, named once.
        (
            "w=10&fit=fill",
            Some(p(Some(10), None, Fit::Inside, auto, None)),
        ),
        (
            "format=jpg",
            Some(p(
                None,
                None,
                Fit::Inside,
                FormatChoice::Fixed(Format::Jpeg),
                None,
            )),
        ),
        (
            "format=auto&w=4096",
            Some(p(Some(4096), None, Fit::Inside, auto, None)),
        ),
        (
            "q=100&q2=7",
            Some(p(None, None, Fit::Inside, auto, Some(100))),
        ),
    ];
    for (query, expect) in ok {
        assert_eq!(parse(Some(query), &l), Ok(expect), "{query}");
    }
    let bad = [
        "w=0",
        "w=-1",
        "w=+5",
        "w=05",
        "w=4097",
        "w=1e3",
        "w=",
        "w=%2D1",
        "w=abc",
        "q=0",
        "q=101",
        "fit=crop",
        "format=gif",
        "format=avif",
        "format=WEBP",
        "w=1&w=1",
        "fit=cover&fit=cover",
    ];
    for query in bad {
        assert!(parse(Some(query), &l).is_err(), "{query}");
    }
}

#[test]
fn operator_limits() {
    let l = Limits {
        widths: Some(vec![160, 320]),
        heights: Some(vec![100]),
        qualities: Some(vec![50, 90]),
        formats: vec![Format::Jpeg],
        ..Limits::default()
    };
    assert!(parse(Some("w=320"), &l).is_ok());
    assert!(parse(Some("w=160&h=100&q=90"), &l).is_ok());
    let not_listed = |name, list: &str| {
        Err(ParamError::NotListed {
            name,
            list: list.into(),
        })
    };
    assert_eq!(parse(Some("w=321"), &l), not_listed("w", "160, 320"));
    assert_eq!(parse(Some("h=101"), &l), not_listed("h", "100"));
    assert_eq!(parse(Some("w=160&q=80"), &l), not_listed("q", "50, 90"));
    assert!(parse(Some("format=webp"), &l).is_err());
    assert!(parse(Some("format=jpeg"), &l).is_ok());
    assert_eq!(
        parse(Some("format=avif"), &l),
        Err(ParamError::Format("auto, jpeg".into())),
        "AVIF not enabled"
    );
    let avif = Limits {
        formats: vec![Format::Avif, Format::Webp],
        ..Limits::default()
    };
    let got = parse(Some("format=avif"), &avif).unwrap().unwrap();
    assert_eq!(got.format, FormatChoice::Fixed(Format::Avif));
    // AVIF outputs stop at AVIF_MAX_DIMENSION.
    for ok in [
        "w=2048&format=avif",
        "h=2048&format=avif",
        "w=4096",
        "w=4096&format=webp",
    ] {
        assert!(parse(Some(ok), &avif).is_ok(), "{ok}");
    }
    for bad in ["w=2049&format=avif", "w=10&h=2049&format=avif"] {
        assert_eq!(
            parse(Some(bad), &avif),
            Err(ParamError::AvifSize(2048)),
            "{bad}"
        );
    }
}

#[test]
fn canonical_form_ignores_order_and_defaults() {
    let l = Limits::default();
    let a = parse(Some("q=80&w=10&fit=inside"), &l).unwrap().unwrap();
    let b = parse(Some("w=10"), &l).unwrap().unwrap();
    let webp = Some(Format::Webp);
    assert_eq!(a.canonical(webp), b.canonical(webp));
    assert_eq!(a.canonical(webp), "w=10&h=&fit=inside&format=webp&q=80");
    assert_ne!(a.canonical(webp), a.canonical(Some(Format::Jpeg)));
    assert_eq!(b.canonical(None), "w=10&h=&fit=inside&format=auto&q=80");
}

// AVIF's default quality is its own: the canonical form names the quality the encoder gets,
// so `q` left out and `q` = that default are one variant, and `q=80` another.
#[test]
fn canonical_quality_is_the_output_formats_default() {
    let l = Limits::default();
    let parsed = |q: &str| parse(Some(q), &l).unwrap().unwrap();
    let avif = Some(Format::Avif);
    let default = parsed("w=10");
    let same = parsed(&format!("w=10&q={DEFAULT_AVIF_QUALITY}"));
    assert_eq!(default.canonical(avif), same.canonical(avif));
    assert_eq!(
        default.canonical(avif),
        format!("w=10&h=&fit=inside&format=avif&q={DEFAULT_AVIF_QUALITY}")
    );
    assert_ne!(parsed("w=10&q=80").canonical(avif), default.canonical(avif));
    assert_eq!(default.quality_for(Format::Avif), DEFAULT_AVIF_QUALITY);
    assert_eq!(default.quality_for(Format::Webp), DEFAULT_QUALITY);
    assert_eq!(parsed("w=10&q=33").quality_for(Format::Avif), 33);
}

proptest! {
    #[test]
    fn never_panics(query in ".{0,64}") {
        let _ = parse(Some(&query), &Limits::default());
    }

    #[test]
    fn never_panics_on_our_names(parts in proptest::collection::vec(("(w|h|q|fit|format)", "[0-9a-z%+-]{0,6}"), 0..6)) {
        let query: Vec<String> = parts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let _ = parse(Some(&query.join("&")), &Limits::default());
    }
}
