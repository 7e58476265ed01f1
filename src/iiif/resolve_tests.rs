use super::*;
use crate::iiif::request::{Format, Rotation};
use proptest::prelude::*;
use IiifError as E;

const NONE: Limits = Limits {
    max_width: None,
    max_height: None,
    max_area: None,
};

const fn width(w: u32) -> Limits {
    Limits {
        max_width: Some(w),
        ..NONE
    }
}

const fn area(a: u64) -> Limits {
    Limits {
        max_area: Some(a),
        ..NONE
    }
}

const W150: Limits = width(150);
const W200: Limits = width(200);
const W360: Limits = width(360);
const W400: Limits = width(400);
const H100: Limits = Limits {
    max_height: Some(100),
    ..NONE
};
/// §5.2's example service: maxWidth 3000, maxHeight 2000, maxArea 4000000.
const INFO: Limits = Limits {
    max_width: Some(3000),
    max_height: Some(2000),
    max_area: Some(4_000_000),
};

/// The spec's examples are drawn on a 300 × 200 image (§4.1 example 5: 125,15,200,200
/// returns 175 × 185).
const SPEC: (u32, u32) = (300, 200);
/// §5.2's example image.
const BIG: (u32, u32) = (6000, 4000);

fn color(width: u32, height: u32) -> Source {
    Source {
        width,
        height,
        default_quality: Quality::Color,
    }
}

fn resolved(request: &str, (w, h): (u32, u32), limits: Limits) -> Result<(Params, Resolved), E> {
    let params: Params = request.parse()?;
    let r = resolve(&params, &color(w, h), &limits)?;
    Ok((params, r))
}

/// `{region}/{size}` on a colour image: "x,y,w,h w,h" (region, output size), or the error's
/// name.
fn outcome(request: &str, image: (u32, u32), limits: Limits) -> String {
    match resolved(&format!("{request}/0/default.jpg"), image, limits) {
        Ok((_, r)) => format!("{} {},{}", r.region, r.width, r.height),
        Err(e) => format!("{e:?}"),
    }
}

/// The canonical form of a whole request, or the error's name.
fn canonical(request: &str, image: (u32, u32), limits: Limits) -> String {
    match resolved(request, image, limits) {
        Ok((params, r)) => params.canonical(&r),
        Err(e) => format!("{e:?}"),
    }
}

/// (request, image, limits, outcome, the spec's section)
type Row = (&'static str, (u32, u32), Limits, &'static str, &'static str);

fn check(f: fn(&str, (u32, u32), Limits) -> String, table: &[Row]) {
    for (request, image, limits, want, section) in table {
        let got = f(request, *image, *limits);
        assert_eq!(got, *want, "{request} on {image:?} {limits:?} {section}");
    }
}

#[rustfmt::skip]
const REGIONS: &[Row] = &[
    ("full/max", SPEC, NONE, "0,0,300,200 300,200", "§4.1 example 1"),
    ("square/max", SPEC, NONE, "50,0,200,200 200,200", "§4.1 example 2, centred"),
    ("square/max", (200, 300), NONE, "0,50,200,200 200,200", "§4.1 portrait"),
    ("square/max", (301, 200), NONE, "50,0,200,200 200,200", "§4.1 odd margin"),
    ("square/max", (100, 100), NONE, "0,0,100,100 100,100", "§4.1 square image"),
    ("125,15,120,140/max", SPEC, NONE, "125,15,120,140 120,140", "§4.1 example 3"),
    ("pct:41.6,7.5,40,70/max", SPEC, NONE, "125,15,120,140 120,140", "§4.1 example 4"),
    ("125,15,200,200/max", SPEC, NONE, "125,15,175,185 175,185", "§4.1 example 5"),
    ("pct:41.6,7.5,66.6,100/max", SPEC, NONE, "125,15,175,185 175,185", "§4.1 example 6"),
    ("0,0,4294967295,4294967295/max", SPEC, NONE, "0,0,300,200 300,200", "§4.1 cropped"),
    ("299,199,10,10/max", SPEC, NONE, "299,199,1,1 1,1", "§4.1 last pixel"),
    ("300,0,10,10/max", SPEC, NONE, "RegionOutside", "§4.1 starts at the right edge"),
    ("0,200,10,10/max", SPEC, NONE, "RegionOutside", "§4.1 starts at the bottom edge"),
    ("4294967295,0,1,1/max", SPEC, NONE, "RegionOutside", "§4.1"),
    ("pct:100,0,10,10/max", SPEC, NONE, "RegionOutside", "§4.1 starts at 100%"),
    ("pct:0,100.5,10,10/max", SPEC, NONE, "RegionOutside", "§4.1"),
    ("full/max", (0, 0), NONE, "RegionOutside", "§4.1 empty image"),
    ("full/max", (0, 5), NONE, "RegionOutside", "§4.1 empty image"),
    // pct: each edge rounds to the nearest pixel, halves up; at least one pixel.
    ("pct:0,0,50,50/max", (3, 3), NONE, "0,0,2,2 2,2", "§4.7 rounding"),
    ("pct:50,50,50,50/max", (3, 3), NONE, "2,2,1,1 1,1", "§4.7 rounding"),
    ("pct:99.9,0,10,10/max", SPEC, NONE, "299,0,1,20 1,20", "§4.1 starts inside"),
    ("pct:0,0,0.01,0.01/max", SPEC, NONE, "0,0,1,1 1,1", "§4.1 under a pixel"),
    ("pct:0,0,1e2,5/max", SPEC, NONE, "Region", "§4.7 no exponent"),
];

#[test]
fn regions() {
    check(outcome, REGIONS);
    // Thirds of 100 px as a viewer writes them: edges shared, nothing lost or doubled.
    let thirds = [
        "pct:0,0,33.3333,100/max",
        "pct:33.3333,0,33.3333,100/max",
        "pct:66.6666,0,33.3334,100/max",
    ];
    let spans = thirds.map(|t| outcome(t, (100, 10), NONE));
    let want = ["0,0,33,10 33,10", "33,0,34,10 34,10", "67,0,33,10 33,10"];
    assert_eq!(spans, want, "§4.1");
}

#[rustfmt::skip]
const SIZES: &[Row] = &[
    ("full/max", SPEC, W200, "0,0,300,200 200,133", "§4.2 example 1, maxWidth 200"),
    ("full/^max", SPEC, W360, "0,0,300,200 360,240", "§4.2 example 1, maxWidth 360"),
    ("full/^max", SPEC, NONE, "0,0,300,200 300,200", "§4.2 no limits: as max"),
    ("full/^max", SPEC, W200, "0,0,300,200 200,133", "§4.2"),
    ("full/150,", SPEC, NONE, "0,0,300,200 150,100", "§4.2 example 2"),
    ("full/^360,", SPEC, W360, "0,0,300,200 360,240", "§4.2 example 2"),
    ("full/,150", SPEC, NONE, "0,0,300,200 225,150", "§4.2 example 3"),
    ("full/^,240", SPEC, W400, "0,0,300,200 360,240", "§4.2 example 3"),
    ("full/pct:50", SPEC, NONE, "0,0,300,200 150,100", "§4.2 example 4"),
    ("full/^pct:120", SPEC, W400, "0,0,300,200 360,240", "§4.2 example 4"),
    ("full/225,100", SPEC, NONE, "0,0,300,200 225,100", "§4.2 example 5"),
    ("full/^360,360", SPEC, W400, "0,0,300,200 360,360", "§4.2 example 5"),
    ("full/!225,100", SPEC, NONE, "0,0,300,200 150,100", "§4.2 example 6"),
    ("full/^!360,360", SPEC, W400, "0,0,300,200 360,240", "§4.2 example 6"),
    ("full/!400,400", SPEC, NONE, "0,0,300,200 300,200", "§4.2 not past the region"),
    ("full/!400,400", SPEC, W150, "0,0,300,200 150,100", "§4.2 confined by limits"),
    // Derived sides round to nearest, halves up.
    ("full/1,", SPEC, NONE, "0,0,300,200 1,1", "§4.2"),
    ("full/,1", SPEC, NONE, "0,0,300,200 2,1", "§4.2"),
    ("full/pct:50", (175, 185), NONE, "0,0,175,185 88,93", "§4.2"),
    ("125,15,120,140/90,", SPEC, NONE, "125,15,120,140 90,105", "§4.6"),
    // Upscaling without ^ is a 400; with ^ where no limit is declared a 501 (§4.2, §5.7).
    ("full/301,", SPEC, NONE, "Upscale", "§4.2"),
    ("full/,201", SPEC, NONE, "Upscale", "§4.2"),
    ("full/300,201", SPEC, NONE, "Upscale", "§4.2"),
    ("125,15,120,140/121,", SPEC, NONE, "Upscale", "§4.2 the region's size counts"),
    ("full/^301,", SPEC, NONE, "UpscaleUnsupported", "§4.2"),
    ("full/^!400,400", SPEC, NONE, "UpscaleUnsupported", "§4.2"),
    ("full/^300,", SPEC, NONE, "0,0,300,200 300,200", "§4.2 ^ allowed, not needed"),
    // Under one pixel: an error for the explicit forms, one pixel for the fits.
    ("full/pct:0.1", SPEC, NONE, "ZeroSize", "§4.2"),
    ("full/10,", (1000, 1), NONE, "ZeroSize", "§4.2"),
    ("full/!10,10", (1000, 1), NONE, "0,0,1000,1 10,1", "§4.2"),
    ("full/max", (1000, 1), width(10), "0,0,1000,1 10,1", "§4.2"),
];

#[test]
fn sizes() {
    check(outcome, SIZES);
}

#[rustfmt::skip]
const LIMITS: &[Row] = &[
    // 3000 × 2000 is over the area: the largest width whose height keeps within it.
    ("full/max", BIG, INFO, "0,0,6000,4000 2449,1633", "§4.2, §5.2"),
    ("full/^max", BIG, INFO, "0,0,6000,4000 2449,1633", "§4.2"),
    ("full/!6000,6000", BIG, INFO, "0,0,6000,4000 2449,1633", "§4.2 confined"),
    ("full/2449,", BIG, INFO, "0,0,6000,4000 2449,1633", "§4.2"),
    ("full/2450,", BIG, INFO, "OverLimits", "§4.2 area"),
    ("full/3000,2000", BIG, INFO, "OverLimits", "§4.2 area"),
    ("full/3001,1", BIG, INFO, "OverLimits", "§4.2 width"),
    ("full/1,2001", BIG, INFO, "OverLimits", "§4.2 height"),
    ("0,0,1500,1000/max", BIG, INFO, "0,0,1500,1000 1500,1000", "§4.2 within"),
    ("full/max", SPEC, area(15_000), "0,0,300,200 150,100", "§4.2 maxArea"),
    ("full/max", SPEC, area(15_250), "0,0,300,200 150,100", "§4.2 maxArea, rounded"),
    ("full/^max", SPEC, area(240_000), "0,0,300,200 600,400", "§4.2 ^max by area"),
    ("full/^pct:201", SPEC, area(240_000), "OverLimits", "§4.2"),
    ("full/^pct:1000000000000", SPEC, area(u64::MAX), "OverLimits", "§4.2 over u32"),
    // maxHeight defaults to maxWidth (§5.2); maxHeight alone still bounds.
    ("full/max", (200, 300), width(100), "0,0,200,300 67,100", "§5.2"),
    ("full/max", SPEC, H100, "0,0,300,200 150,100", "§5.2"),
    ("full/max", SPEC, width(0), "OverLimits", "§4.2 nothing fits"),
    ("full/max", SPEC, area(0), "OverLimits", "§4.2 nothing fits"),
];

#[test]
fn limits() {
    check(outcome, LIMITS);
}

#[rustfmt::skip]
const CANONICAL: &[Row] = &[
    ("full/max/0/default.jpg", SPEC, NONE, "full/max/0/default.jpg", "§4.8"),
    ("square/max/0/default.jpg", SPEC, NONE, "50,0,200,200/max/0/default.jpg", "§4.8"),
    ("square/max/0/default.jpg", (9, 9), NONE, "full/max/0/default.jpg", "§4.8"),
    ("125,15,200,200/max/0/default.jpg", SPEC, NONE, "125,15,175,185/max/0/default.jpg", "§4.8"),
    ("full/max/0/default.jpg", SPEC, W200, "full/max/0/default.jpg", "§4.8 max, limited"),
    ("full/200,133/0/default.jpg", SPEC, W200, "full/max/0/default.jpg", "§4.8"),
    ("full/^max/0/default.jpg", SPEC, W360, "full/^max/0/default.jpg", "§4.8"),
    ("full/^360,/0/default.jpg", SPEC, W360, "full/^max/0/default.jpg", "§4.8"),
    ("full/^360,/0/default.jpg", SPEC, W400, "full/^360,240/0/default.jpg", "§4.8"),
    ("full/^360,200/0/default.jpg", SPEC, W400, "full/^360,200/0/default.jpg", "§4.8"),
    ("full/^max/0/default.jpg", SPEC, NONE, "full/max/0/default.jpg", "§4.8"),
    ("full/^pct:200/0/default.jpg", SPEC, area(240_000), "full/^max/0/default.jpg", "§4.8"),
    ("full/150,/0/default.jpg", SPEC, NONE, "full/150,100/0/default.jpg", "§4.8"),
    ("full/!225,100/0/default.jpg", SPEC, NONE, "full/150,100/0/default.jpg", "§4.8"),
    ("full/!10,10/0/default.jpg", (1000, 1), NONE, "full/10,1/0/default.jpg", "§4.8"),
    ("125,15,120,140/90,/!345/gray.jpg", SPEC, NONE, "125,15,120,140/90,105/!345/gray.jpg", "§4.6"),
    ("full/max/360/default.jpg", SPEC, NONE, "full/max/0/default.jpg", "§4.3 360 is 0"),
    ("full/max/!360/default.jpg", SPEC, NONE, "full/max/!0/default.jpg", "§4.3"),
    ("full/max/180.0/default.jpg", SPEC, NONE, "full/max/180/default.jpg", "§4.8 integer"),
    ("full/max/22.50/default.png", SPEC, NONE, "full/max/22.5/default.png", "§4.7"),
    ("full/max/.5/default.png", SPEC, NONE, "full/max/0.5/default.png", "§4.7"),
    ("full/max/0/color.jpg", SPEC, NONE, "full/max/0/default.jpg", "§4.8 default by name"),
    ("full/max/0/gray.jpg", SPEC, NONE, "full/max/0/gray.jpg", "§4.8"),
    ("full/max/0/bitonal.avif", SPEC, NONE, "full/max/0/bitonal.avif", "§4.8"),
    ("full/301,/0/default.jpg", SPEC, NONE, "Upscale", "§4.2"),
];

#[test]
fn canonical_forms() {
    check(canonical, CANONICAL);
    // §4.8: one URI for one image, so one ETag.
    for request in [
        "0,0,300,200/300,/0.0/color.webp",
        "pct:0,0,100,100/pct:100/360/default.webp",
        "0,0,900,900/!300,300/0/default.webp",
        "full/,200/000/color.webp",
        "full/^!300,300/0/default.webp",
    ] {
        let got = canonical(request, SPEC, NONE);
        assert_eq!(got, "full/max/0/default.webp", "{request}");
    }
}

#[test]
fn rotation_and_quality() {
    let rows = [
        (
            "full/max/360/default.jpg",
            Quality::Color,
            0.0,
            Some(0),
            "§4.3 360 is 0",
        ),
        (
            "full/max/!90/default.jpg",
            Quality::Color,
            90.0,
            Some(1),
            "§4.3",
        ),
        (
            "full/max/180/gray.jpg",
            Quality::Gray,
            180.0,
            Some(2),
            "§4.3, §4.4",
        ),
        (
            "full/max/!270/bitonal.jpg",
            Quality::Bitonal,
            270.0,
            Some(3),
            "§4.3, §4.4",
        ),
        (
            "full/max/22.5/color.png",
            Quality::Color,
            22.5,
            None,
            "§4.3, §4.4",
        ),
    ];
    for (request, quality, degrees, turns, section) in rows {
        let (_, r) = resolved(request, SPEC, NONE).expect(request);
        let got = (r.quality, r.degrees, r.quarter_turns);
        assert_eq!(got, (quality, degrees, turns), "{section}");
    }
    // A grayscale image's default is gray; color is another quality (§4.4).
    let gray = Source {
        default_quality: Quality::Gray,
        ..color(300, 200)
    };
    for (request, quality, canonical) in [
        (
            "full/max/0/default.jpg",
            Quality::Gray,
            "full/max/0/default.jpg",
        ),
        (
            "full/max/0/gray.jpg",
            Quality::Gray,
            "full/max/0/default.jpg",
        ),
        (
            "full/max/0/color.jpg",
            Quality::Color,
            "full/max/0/color.jpg",
        ),
    ] {
        let params: Params = request.parse().expect(request);
        let r = resolve(&params, &gray, &NONE).expect(request);
        let got = (r.quality, params.canonical(&r));
        assert_eq!(got, (quality, canonical.to_owned()), "§4.4");
    }
}

fn side() -> impl Strategy<Value = u32> {
    prop_oneof![1u32..5000, 1..=u32::MAX]
}

fn start() -> impl Strategy<Value = u32> {
    prop_oneof![0u32..5000, any::<u32>()]
}

fn any_region() -> impl Strategy<Value = Region> {
    let pct_start = || prop_oneof![0.0..120.0, 0.0..f64::MAX];
    let pct_len = || prop_oneof![1e-9..120.0, 1e-300..f64::MAX];
    prop_oneof![
        Just(Region::Full),
        Just(Region::Square),
        (start(), start(), side(), side())
            .prop_map(|(x, y, w, h)| Region::Pixels(Rect::new(x, y, w, h))),
        (pct_start(), pct_start(), pct_len(), pct_len())
            .prop_map(|(x, y, w, h)| Region::Percent(Rect::new(x, y, w, h))),
    ]
}

fn any_size() -> impl Strategy<Value = Size> {
    let form = prop_oneof![
        Just(SizeForm::Max),
        side().prop_map(SizeForm::Width),
        side().prop_map(SizeForm::Height),
        prop_oneof![1e-9..=100.0, 1e-9..1e12, 1e-9..f64::MAX].prop_map(SizeForm::Percent),
        (side(), side()).prop_map(|(w, h)| SizeForm::Exact(w, h)),
        (side(), side()).prop_map(|(w, h)| SizeForm::Confined(w, h)),
    ];
    (any::<bool>(), form).prop_map(|(upscale, form)| {
        let form = match form {
            // The grammar's bound: pct:n is at most 100 without ^ (§4.2).
            SizeForm::Percent(n) if !upscale => SizeForm::Percent(n.min(100.0)),
            form => form,
        };
        Size { upscale, form }
    })
}

fn any_params() -> impl Strategy<Value = Params> {
    let quality = proptest::sample::select(vec![
        Quality::Default,
        Quality::Color,
        Quality::Gray,
        Quality::Bitonal,
    ]);
    let rotation =
        (any::<bool>(), 0.0..=360.0f64).prop_map(|(mirror, degrees)| Rotation { mirror, degrees });
    (any_region(), any_size(), rotation, quality).prop_map(|(region, size, rotation, quality)| {
        Params {
            region,
            size,
            rotation,
            quality,
            format: Format::Png,
        }
    })
}

fn any_limits() -> impl Strategy<Value = Limits> {
    let side = || proptest::option::of(prop_oneof![0u32..5000, any::<u32>()]);
    let area = proptest::option::of(prop_oneof![0u64..25_000_000, any::<u64>()]);
    (side(), side(), area).prop_map(|(max_width, max_height, max_area)| Limits {
        max_width,
        max_height,
        max_area,
    })
}

/// Resolves, or an error that fails the case.
fn must_resolve(
    params: &Params,
    source: &Source,
    limits: &Limits,
) -> Result<Resolved, TestCaseError> {
    resolve(params, source, limits).map_err(|e| TestCaseError::fail(format!("{params}: {e}")))
}

proptest! {
    #[test]
    fn never_panics(params in any_params(), w in side(), h in side(), limits in any_limits()) {
        // What the strategies build is a request the grammar reads.
        prop_assert_eq!(params.to_string().parse::<Params>(), Ok(params));
        let source = color(w, h);
        let Ok(r) = resolve(&params, &source, &limits) else { return Ok(()) };
        let region = r.region;
        prop_assert!(region.width >= 1 && region.height >= 1);
        prop_assert!(u64::from(region.x) + u64::from(region.width) <= u64::from(w));
        prop_assert!(u64::from(region.y) + u64::from(region.height) <= u64::from(h));
        prop_assert!(r.width >= 1 && r.height >= 1);
        prop_assert!(r.width <= limits.max_width.unwrap_or(u32::MAX));
        prop_assert!(r.height <= limits.max_height.or(limits.max_width).unwrap_or(u32::MAX));
        let area = u64::from(r.width) * u64::from(r.height);
        prop_assert!(area <= limits.max_area.unwrap_or(u64::MAX));
        prop_assert!(r.upscaled || (r.width <= region.width && r.height <= region.height));
        prop_assert!(!r.upscaled || params.size.upscale);
        prop_assert!((0.0..360.0).contains(&r.degrees));
        // The canonical form reads and is its own canonical form, for the same pixels.
        let canonical = params.canonical(&r);
        let again: Params = canonical.parse()?;
        let r2 = must_resolve(&again, &source, &limits)?;
        prop_assert_eq!((r2.region, r2.width, r2.height), (r.region, r.width, r.height));
        prop_assert_eq!(again.canonical(&r2), canonical);
    }

    #[test]
    fn never_panics_on_read_requests(
        region in "(full|square|[0-9]{1,4}(,[0-9]{1,4}){3}|pct:[0-9.]{1,5}(,[0-9.]{1,5}){3})",
        size in "\\^?(max|[0-9]{1,4},|,[0-9]{1,4}|pct:[0-9.]{1,5}|!?[0-9]{1,4},[0-9]{1,4})",
        rotation in "!?[0-9.]{1,5}",
        w in 1u32..3000, h in 1u32..3000, limits in any_limits(),
    ) {
        let Ok(params) = format!("{region}/{size}/{rotation}/default.png").parse::<Params>() else {
            return Ok(());
        };
        if let Ok(r) = resolve(&params, &color(w, h), &limits) {
            prop_assert!(u64::from(r.region.x) + u64::from(r.region.width) <= u64::from(w));
            prop_assert!(u64::from(r.region.y) + u64::from(r.region.height) <= u64::from(h));
            prop_assert!(r.width >= 1 && r.height >= 1);
            let canonical = params.canonical(&r);
            let again = must_resolve(&canonical.parse()?, &color(w, h), &limits)?;
            prop_assert_eq!(again.canonical_size, r.canonical_size);
        }
    }
}
