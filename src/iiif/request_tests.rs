use super::*;
use proptest::prelude::*;
use IiifError as E;

/// What `s` reads as: the value printed back, or the error's name.
fn read<T: FromStr<Err = IiifError> + fmt::Display>(s: &str) -> String {
    match s.parse::<T>() {
        Ok(v) => v.to_string(),
        Err(e) => format!("{e:?}"),
    }
}

/// (input, what it reads as, the spec's section)
type Row = (&'static str, &'static str, &'static str);

fn check(f: fn(&str) -> String, table: &[Row]) {
    for (input, want, section) in table {
        assert_eq!(f(input), *want, "{input:?} {section}");
    }
}

#[rustfmt::skip]
const REGIONS: &[Row] = &[
    ("full", "full", "§4.1"),
    ("square", "square", "§4.1"),
    ("125,15,120,140", "125,15,120,140", "§4.1 example 3"),
    ("0,0,1,1", "0,0,1,1", "§4.1"),
    ("007,0,010,1", "7,0,10,1", "§4 leading zeros (module doc)"),
    ("4294967295,0,4294967295,1", "4294967295,0,4294967295,1", "§4"),
    ("pct:41.6,7.5,40,70", "pct:41.6,7.5,40,70", "§4.1 example 4"),
    ("pct:41.6,7.5,66.6,100", "pct:41.6,7.5,66.6,100", "§4.1 example 6"),
    ("pct:0,0,0.5,250", "pct:0,0,0.5,250", "§4.1"),
    // A leading zero and no trailing zeros are SHOULDs, not MUSTs.
    ("pct:.5,5.,0.50,1", "pct:0.5,5,0.5,1", "§4.7"),
    ("125,15,0,140", "ZeroRegion", "§4.1 zero width"),
    ("125,15,120,0", "ZeroRegion", "§4.1 zero height"),
    ("pct:1,1,0,5", "ZeroRegion", "§4.1 zero width"),
    ("pct:1,1,5,0.0", "ZeroRegion", "§4.1 zero height"),
    ("4294967296,0,1,1", "Region", "§4 over u32"),
    ("1,2,3", "Region", "§4.1 three numbers"),
    ("1,2,3,4,5", "Region", "§4.1 five numbers"),
    ("1,2,3,4,", "Region", "§4.1 trailing comma"),
    (",1,2,3", "Region", "§4.1 empty part"),
    ("1,,2,3", "Region", "§4.1 empty part"),
    ("+1,2,3,4", "Region", "§4 sign"),
    ("-1,2,3,4", "Region", "§4 sign"),
    (" 1,2,3,4", "Region", "§4 whitespace"),
    ("1,2,3,4 ", "Region", "§4 whitespace"),
    ("1.5,2,3,4", "Region", "§4 pixels are integers"),
    ("pct:1e1,2,3,4", "Region", "§4.7 exponent"),
    ("pct:+1,2,3,4", "Region", "§4.7 sign"),
    ("pct:-1,2,3,4", "Region", "§4.7 sign"),
    ("pct:inf,2,3,4", "Region", "§4.7 inf"),
    ("pct:NaN,2,3,4", "Region", "§4.7 NaN"),
    ("pct:1..2,2,3,4", "Region", "§4.7 two dots"),
    ("pct:.,2,3,4", "Region", "§4.7 no digit"),
    ("pct:1,2,3", "Region", "§4.1 three numbers"),
    ("pct:", "Region", "§4.1"),
    ("PCT:1,2,3,4", "Region", "§4.1 lowercase"),
    ("Full", "Region", "§4.1 lowercase"),
    ("max", "Region", "§4.1"),
    ("", "Region", "§4.1 empty"),
];

const SIZES: &[Row] = &[
    ("max", "max", "§4.2"),
    ("^max", "^max", "§4.2"),
    ("150,", "150,", "§4.2 example 2"),
    ("^360,", "^360,", "§4.2 example 2"),
    (",150", ",150", "§4.2 example 3"),
    ("^,240", "^,240", "§4.2 example 3"),
    ("pct:50", "pct:50", "§4.2 example 4"),
    ("pct:100", "pct:100", "§4.2"),
    ("pct:0.5", "pct:0.5", "§4.2"),
    ("^pct:120", "^pct:120", "§4.2"),
    ("225,100", "225,100", "§4.2 example 5"),
    ("^360,360", "^360,360", "§4.2 example 5"),
    ("!225,100", "!225,100", "§4.2 example 6"),
    ("^!360,360", "^!360,360", "§4.2 example 6"),
    ("0150,", "150,", "§4 leading zero"),
    // §4.2: pct:n "MUST NOT be greater than 100" without ^.
    ("pct:120", "Upscale", "§4.2"),
    ("pct:100.5", "Upscale", "§4.2"),
    ("pct:0", "ZeroSize", "§4.2 under one pixel"),
    ("^pct:0.0", "ZeroSize", "§4.2"),
    ("0,", "ZeroSize", "§4.2"),
    (",0", "ZeroSize", "§4.2"),
    ("0,5", "ZeroSize", "§4.2"),
    ("!5,0", "ZeroSize", "§4.2"),
    // The spec's example 3 prints ",^240"; its table's form is "^,h".
    (",^240", "Size", "§4.2"),
    ("!^360,360", "Size", "§4.2 caret first"),
    ("^^max", "Size", "§4.2"),
    ("full", "Size", "§4.2 (2.x only)"),
    ("MAX", "Size", "§4.2 lowercase"),
    (",", "Size", "§4.2 empty parts"),
    ("!,5", "Size", "§4.2"),
    ("!5,", "Size", "§4.2"),
    ("!5", "Size", "§4.2"),
    ("150", "Size", "§4.2 no comma"),
    ("1,2,", "Size", "§4.2 extra comma"),
    ("1,2,3", "Size", "§4.2 extra comma"),
    ("+1,", "Size", "§4 sign"),
    ("1.5,", "Size", "§4 integers"),
    ("4294967296,", "Size", "§4 over u32"),
    ("pct:-5", "Size", "§4.7 sign"),
    ("pct:5e1", "Size", "§4.7 exponent"),
    ("pct:", "Size", "§4.2"),
    ("pct:nan", "Size", "§4.7"),
    ("^", "Size", "§4.2"),
    ("", "Size", "§4.2"),
];

const ROTATIONS: &[Row] = &[
    ("0", "0", "§4.3 example 1"),
    ("180", "180", "§4.3 example 2"),
    ("90", "90", "§4.3 example 3"),
    ("22.5", "22.5", "§4.3 example 4"),
    ("!0", "!0", "§4.3 example 5"),
    ("!180", "!180", "§4.3 example 6"),
    ("!345", "!345", "§4.6"),
    ("360", "360", "§4.3 inclusive"),
    ("360.0", "360", "§4.3"),
    ("090", "90", "§4 leading zero"),
    ("22.50", "22.5", "§4.7"),
    ("360.0001", "Rotation", "§4.3 out of range"),
    ("361", "Rotation", "§4.3 out of range"),
    ("-90", "Rotation", "§4.7 sign"),
    ("+90", "Rotation", "§4.7 sign"),
    ("9e1", "Rotation", "§4.7 exponent"),
    ("inf", "Rotation", "§4.7"),
    ("NaN", "Rotation", "§4.7"),
    ("!", "Rotation", "§4.3"),
    ("!!90", "Rotation", "§4.3"),
    ("90!", "Rotation", "§4.3"),
    (" 90", "Rotation", "§4.3 whitespace"),
    ("", "Rotation", "§4.3 empty"),
];

const QUALITIES: &[Row] = &[
    ("default", "default", "§4.4"),
    ("color", "color", "§4.4"),
    ("gray", "gray", "§4.4"),
    ("bitonal", "bitonal", "§4.4"),
    ("grey", "Quality", "§4.4"),
    ("Color", "Quality", "§4.4 lowercase"),
    ("native", "Quality", "§4.4 (1.x only)"),
    ("", "Quality", "§4.4"),
];

const FORMATS: &[Row] = &[
    ("jpg", "jpg image/jpeg", "§4.5"),
    ("tif", "tif image/tiff", "§4.5"),
    ("png", "png image/png", "§4.5"),
    ("gif", "gif image/gif", "§4.5"),
    ("jp2", "jp2 image/jp2", "§4.5"),
    ("pdf", "pdf application/pdf", "§4.5"),
    ("webp", "webp image/webp", "§4.5"),
    ("avif", "avif image/avif", "§4.9 extension"),
    ("jpeg", "Format", "§4.5"),
    ("JPG", "Format", "§4.5 lowercase"),
    ("tiff", "Format", "§4.5"),
    ("", "Format", "§4.5"),
];

#[test]
fn reads_each_parameter() {
    check(read::<Region>, REGIONS);
    check(read::<Size>, SIZES);
    check(read::<Rotation>, ROTATIONS);
    check(read::<Quality>, QUALITIES);
    check(
        |s| match s.parse::<Format>() {
            Ok(f) => format!("{f} {}", f.media_type()),
            Err(e) => format!("{e:?}"),
        },
        FORMATS,
    );
    // Hundreds of digits overflow f64 to infinity: not a finite number (§4.7).
    let huge = format!("pct:{},0,1,1", "9".repeat(400));
    assert_eq!(read::<Region>(&huge), "Region", "§4.7");
}

#[test]
fn reads_into_the_forms() {
    let size = |s: &str| s.parse::<Size>().map(|s| (s.upscale, s.form));
    assert_eq!(size("^,240"), Ok((true, SizeForm::Height(240))), "§4.2");
    assert_eq!(size("150,"), Ok((false, SizeForm::Width(150))), "§4.2");
    assert_eq!(size("pct:50"), Ok((false, SizeForm::Percent(50.0))), "§4.2");
    assert_eq!(
        size("225,100"),
        Ok((false, SizeForm::Exact(225, 100))),
        "§4.2"
    );
    assert_eq!(size("^!3,2"), Ok((true, SizeForm::Confined(3, 2))), "§4.2");
    assert_eq!(size("max"), Ok((false, SizeForm::Max)), "§4.2");
    let region = "125,15,120,140".parse::<Region>();
    assert_eq!(region, Ok(Region::Pixels(Rect::new(125, 15, 120, 140))));
    let region = "pct:41.6,7.5,40,70".parse::<Region>();
    assert_eq!(
        region,
        Ok(Region::Percent(Rect::new(41.6, 7.5, 40.0, 70.0)))
    );
    let rotation = "!22.5".parse::<Rotation>();
    let want = Rotation {
        mirror: true,
        degrees: 22.5,
    };
    assert_eq!(rotation, Ok(want), "§4.3");
}

/// A whole request: the identifier and the parameters printed back, or the error's name.
fn request(path: &str) -> String {
    match ImageRequest::parse(path) {
        Ok(r) => format!("{} {}", r.identifier, r.params),
        Err(e) => format!("{e:?}"),
    }
}

#[rustfmt::skip]
const REQUESTS: &[Row] = &[
    ("id/full/max/0/default.jpg", "id full/max/0/default.jpg", "§2.1"),
    ("abcd1234/125,15,120,140/90,/!345/gray.jpg", "abcd1234 125,15,120,140/90,/!345/gray.jpg", "§4.6"),
    ("id1/0,10,100,200/pct:50/90/default.png", "id1 0,10,100,200/pct:50/90/default.png", "§9"),
    ("ark:%2F12025%2F654xz321/full/max/0/default.jpg", "ark:%2F12025%2F654xz321 full/max/0/default.jpg", "§9"),
    // Read from the right: an identifier whose %2F was decoded before us still reads.
    ("ark:/12025/654xz321/full/max/0/default.jpg", "ark:/12025/654xz321 full/max/0/default.jpg", "§9"),
    ("/full/max/0/default.jpg", "Path", "§2.1 empty identifier"),
    ("full/max/0/default.jpg", "Path", "§2.1 four segments"),
    ("id/full/max/0/default", "Format", "§4.5 no extension"),
    ("id/full/max/0/default.", "Format", "§4.5 empty extension"),
    ("id/full/max/0/default.jpg.png", "Format", "§4.5"),
    ("id/full/max/0/.jpg", "Quality", "§4.4 empty quality"),
    ("id/full/max/0/default.jpg/", "Region", "§2.1 trailing slash: a shifted request"),
    ("id/nope/max/0/default.jpg", "Region", "§4.1"),
    ("id/full/nope/0/default.jpg", "Size", "§4.2"),
    ("id/full/max/nope/default.jpg", "Rotation", "§4.3"),
    ("id/full/max/0/nope.jpg", "Quality", "§4.4"),
    ("id/full/max/0/default.nope", "Format", "§4.5"),
    ("id/info.json", "Path", "§5.1 is not an image request"),
    ("", "Path", "§2.1"),
    // Parameters escaped on the way (a Function URL sends `^` as %5E) read decoded once.
    ("id/full/%5E1500,/%2190/default.jpg", "id full/^1500,/!90/default.jpg", "RFC 3986 §2.4"),
    ("id/full/%5E1500%2C/0/default.jpg", "id full/^1500,/0/default.jpg", "RFC 3986 §2.4"),
    ("id/full/max/0/default%2Ejpg", "id full/max/0/default.jpg", "RFC 3986 §2.4"),
    ("id/full/max%2F0/0/default.jpg", "Path", "a decoded / shifts the segments"),
    ("id/full/max/0/default.jp%", "Path", "RFC 3986 §2.1 stray %"),
    ("id/full/max/0/default.jp%FF", "Path", "not UTF-8"),
];

#[test]
fn reads_whole_requests() {
    check(request, REQUESTS);
    let params = "125,15,120,140/90,/!345/gray.jpg".parse::<Params>();
    let want = Params {
        region: Region::Pixels(Rect::new(125, 15, 120, 140)),
        size: Size {
            upscale: false,
            form: SizeForm::Width(90),
        },
        rotation: Rotation {
            mirror: true,
            degrees: 345.0,
        },
        quality: Quality::Gray,
        format: Format::Jpg,
    };
    assert_eq!(params, Ok(want), "§4.6");
    assert_eq!(read::<Params>("full/max/0"), "Path", "§2.1");
    assert_eq!(read::<Params>("full/max/0/a/default.jpg"), "Path", "§2.1");
}

#[test]
fn prints_without_an_exponent() {
    // Large and small values print in full, so they read back (§4.7).
    let region = Region::Percent(Rect::new(1e300, 1e-300, 1e20, 1e-20));
    assert!(!region.to_string().contains('e'));
    assert_eq!(region.to_string().parse::<Region>(), Ok(region));
}

#[test]
fn statuses() {
    // §7.3 and §4.2: 400 for what the client must fix, 501 for upscaling not offered.
    for e in [
        E::Path,
        E::Region,
        E::ZeroRegion,
        E::RegionOutside,
        E::Size,
        E::ZeroSize,
        E::Upscale,
        E::OverLimits,
        E::Rotation,
        E::Quality,
        E::Format,
    ] {
        assert_eq!(e.status(), http::StatusCode::BAD_REQUEST, "{e:?}");
    }
    let e = E::UpscaleUnsupported;
    assert_eq!(e.status(), http::StatusCode::NOT_IMPLEMENTED);
}

/// Whatever parses prints back to the same value.
fn round_trips<T>(s: &str) -> Result<(), TestCaseError>
where
    T: FromStr + fmt::Display + PartialEq + fmt::Debug,
{
    if let Ok(v) = s.parse::<T>() {
        prop_assert_eq!(v.to_string().parse::<T>().ok(), Some(v));
    }
    Ok(())
}

fn all_round_trip(s: &str) -> Result<(), TestCaseError> {
    round_trips::<Region>(s)?;
    round_trips::<Size>(s)?;
    round_trips::<Rotation>(s)?;
    round_trips::<Quality>(s)?;
    round_trips::<Format>(s)?;
    round_trips::<Params>(s)
}

/// The grammar's alphabet.
const ALPHABET: &str = "[0-9.,:!^a-z]{0,24}";

proptest! {
    #[test]
    fn never_panics(s in any::<String>()) {
        all_round_trip(&s)?;
        let _ = ImageRequest::parse(&s);
    }

    #[test]
    fn never_panics_on_the_alphabet(s in ALPHABET) {
        all_round_trip(&s)?;
    }

    #[test]
    fn never_panics_on_near_forms(
        prefix in "(pct:|\\^|\\^pct:|!|\\^!|)",
        body in "[0-9.,]{0,30}",
        tail in "[0-9.,!^a-z]{0,3}",
    ) {
        all_round_trip(&format!("{prefix}{body}{tail}"))?;
    }

    #[test]
    fn never_panics_on_paths(
        segments in proptest::collection::vec(ALPHABET, 0..7),
        format in "(jpg|png|webp|avif|[a-z]{0,4})",
    ) {
        let path = format!("{}.{format}", segments.join("/"));
        if let Ok(request) = ImageRequest::parse(&path) {
            let again = format!("{}/{}", request.identifier, request.params);
            prop_assert_eq!(ImageRequest::parse(&again), Ok(request));
        }
    }
}
