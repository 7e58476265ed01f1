use super::*;
use proptest::prelude::*;
use serde_json::json;

/// Limits, the maxWidth/maxHeight/maxArea info.json shows, section.
type LimitRow = (
    Limits,
    (Option<u64>, Option<u64>, Option<u64>),
    &'static str,
);
/// Image width and height, limits, the sizes listed, section.
type SizesRow = (u32, u32, Limits, &'static [(u64, u64)], &'static str);

const NONE: Limits = Limits {
    max_width: None,
    max_height: None,
    max_area: None,
};
/// §5.2's example service: maxWidth 3000, maxHeight 2000, maxArea 4000000.
const SPEC_LIMITS: Limits = Limits {
    max_width: Some(3000),
    max_height: Some(2000),
    max_area: Some(4_000_000),
};
const ID: &str = "https://example.org/image-service/abcd1234";

const fn width(w: u32) -> Limits {
    Limits {
        max_width: Some(w),
        ..NONE
    }
}

const fn height(h: u32) -> Limits {
    Limits {
        max_height: Some(h),
        ..NONE
    }
}

const fn area(a: u64) -> Limits {
    Limits {
        max_area: Some(a),
        ..NONE
    }
}

fn image(width: u32, height: u32) -> ImageInfo {
    ImageInfo {
        width,
        height,
        tiling: None,
        grayscale: false,
    }
}

fn service(limits: Limits) -> ServiceInfo<'static> {
    ServiceInfo {
        id: ID,
        limits,
        formats: &[Format::Jpg, Format::Png],
        qualities: &[],
        features: &[],
    }
}

fn sizes_of(doc: &Value) -> Vec<(u64, u64)> {
    let list = doc["sizes"].as_array().cloned().unwrap_or_default();
    let side = |v: &Value, k: &str| v[k].as_u64().unwrap_or(0);
    list.iter()
        .map(|s| (side(s, "width"), side(s, "height")))
        .collect()
}

#[test]
fn spec_example_with_the_required_properties() {
    // §5.2 (the required properties) and §5.4's example: 6000 × 4000 in 512 px tiles at
    // scale factors 1 to 16, the same numbers as the spec's.
    let doc = info_json(&image(6000, 4000), &service(NONE));
    let want = json!({
        "@context": "http://iiif.io/api/image/3/context.json",
        "id": ID,
        "type": "ImageService3",
        "protocol": "http://iiif.io/api/image",
        "profile": "level2",
        "width": 6000,
        "height": 4000,
        "sizes": [
            { "width": 188, "height": 125 },
            { "width": 375, "height": 250 },
            { "width": 750, "height": 500 },
            { "width": 1500, "height": 1000 },
            { "width": 3000, "height": 2000 },
            { "width": 6000, "height": 4000 },
        ],
        "tiles": [{ "width": 512, "height": 512, "scaleFactors": [1, 2, 4, 8, 16] }],
        "extraQualities": ["color", "gray"],
    });
    assert_eq!(doc, want);
    // §5.2: "@context SHOULD appear as the very first key-value pair".
    let text = doc.to_string();
    assert!(text.starts_with("{\"@context\":"), "{text}");
}

#[test]
fn limits_appear_only_when_set() {
    // §5.2: each of maxWidth, maxHeight, maxArea is optional; "maxWidth MUST be specified
    // if maxHeight is specified".
    let keys = |limits: Limits| {
        let doc = info_json(&image(6000, 4000), &service(limits));
        let get = |k: &str| doc.get(k).and_then(Value::as_u64);
        (get("maxWidth"), get("maxHeight"), get("maxArea"))
    };
    let max = u64::from(u32::MAX);
    #[rustfmt::skip]
    let rows: &[LimitRow] = &[
        (NONE, (None, None, None), "§5.2"),
        (SPEC_LIMITS, (Some(3000), Some(2000), Some(4_000_000)), "§5.2 example"),
        (width(800), (Some(800), None, None), "§5.2"),
        (area(10), (None, None, Some(10)), "§5.2"),
        (height(900), (Some(max), Some(900), None), "§5.2 MUST"),
    ];
    for (limits, want, section) in rows {
        assert_eq!(keys(*limits), *want, "{limits:?} {section}");
    }
}

#[test]
fn sizes_halve_down_to_the_minimum() {
    // §5.3; the module's rounding: width to nearest, height as `w,` derives it.
    #[rustfmt::skip]
    let rows: &[SizesRow] = &[
        (1001, 667, NONE, &[(125, 83), (250, 167), (501, 334), (1001, 667)], "§5.3"),
        // §5.2: 3000 × 2000 is 6 000 000 pixels, over the example's maxArea.
        (6000, 4000, SPEC_LIMITS, &[(188, 125), (375, 250), (750, 500), (1500, 1000)], "§5.2"),
        (40, 30, NONE, &[(40, 30)], "§5.3 small image: itself"),
        (100_000, 100, NONE, &[(100_000, 100)], "§5.3 no halving keeps 64 px"),
        // Nothing of 64 px or more within 4000 px wide: the largest size that is.
        (100_000, 100, width(4000), &[(3125, 3)], "§5.2"),
        (0, 0, NONE, &[], "empty image: no sizes"),
    ];
    for (w, h, limits, want, section) in rows {
        let doc = info_json(&image(*w, *h), &service(*limits));
        assert_eq!(sizes_of(&doc), want.to_vec(), "{w}x{h} {section}");
    }
}

#[test]
fn tiles_follow_the_source_or_the_default() {
    let tiled = |width, height, levels| ImageInfo {
        tiling: Some(Tiling {
            width,
            height,
            levels,
        }),
        ..image(10_000, 8_000)
    };
    #[rustfmt::skip]
    let rows: &[(ImageInfo, Limits, Value, &str)] = &[
        (tiled(256, 256, 6), NONE, json!([256, 256, [1, 2, 4, 8, 16, 32]]), "§5.4 own tiles"),
        (tiled(256, 128, 1), NONE, json!([256, 128, [1]]), "§5.4 non-square"),
        (tiled(256, 256, 0), NONE, json!([256, 256, [1]]), "§5.4 no level: full only"),
        (tiled(512, 512, 3), width(300), json!([256, 256, [1, 2, 4]]), "§5.2 within limits"),
        (image(6000, 4000), width(300), json!([256, 256, [1, 2, 4, 8, 16, 32]]), "§5.2"),
        (image(6000, 4000), area(100_000), json!([256, 256, [1, 2, 4, 8, 16, 32]]), "§5.2"),
        (image(512, 512), NONE, json!([512, 512, [1]]), "§5.4 one tile"),
        (image(513, 10), NONE, json!([512, 512, [1, 2]]), "§5.4"),
        (image(1, 1), NONE, json!([512, 512, [1]]), "§5.4"),
    ];
    for (img, limits, want, section) in rows {
        let doc = info_json(img, &service(*limits));
        let tile = &doc["tiles"][0];
        let got = json!([tile["width"], tile["height"], tile["scaleFactors"]]);
        assert_eq!(&got, want, "{img:?} {section}");
        assert_eq!(doc["tiles"].as_array().map(Vec::len), Some(1));
    }
}

#[test]
fn extra_qualities_formats_and_features() {
    use Feature::*;
    let all = ServiceInfo {
        formats: &[Format::Jpg, Format::Png, Format::Webp, Format::Avif],
        qualities: &[Quality::Bitonal, Quality::Default, Quality::Color],
        features: Feature::ALL,
        ..service(SPEC_LIMITS)
    };
    let gray = ImageInfo {
        grayscale: true,
        ..image(10, 10)
    };
    // §4.4: qualities beyond `default` MUST be listed; `color` SHOULD NOT be for an image
    // without colour. Compliance §3.5 and level2.json: jpg and png are level 2's; §5.7: only
    // features beyond the profile's.
    let beyond = [
        "canonicalLinkHeader",
        "mirroring",
        "profileLinkHeader",
        "rotationArbitrary",
        "sizeUpscaling",
    ];
    let upscaling = |limits| ServiceInfo {
        features: &[SizeUpscaling, Cors, Mirroring, Mirroring],
        ..service(limits)
    };
    #[rustfmt::skip]
    let rows: &[(ImageInfo, ServiceInfo<'_>, Value, &str)] = &[
        (image(10, 10), service(NONE), json!([["color", "gray"], null, null]), "§4.4"),
        (gray, service(NONE), json!([["gray"], null, null]), "§4.4 grayscale"),
        (image(10, 10), all, json!([["color", "gray", "bitonal"], ["webp", "avif"], beyond]), "§5.7"),
        (gray, upscaling(NONE), json!([["gray"], null, ["mirroring"]]), "§5.7: sizeUpscaling needs maxWidth or maxArea"),
        (gray, upscaling(area(9)), json!([["gray"], null, ["mirroring", "sizeUpscaling"]]), "§5.7"),
        (gray, upscaling(height(9)), json!([["gray"], null, ["mirroring", "sizeUpscaling"]]), "§5.2 maxWidth implied"),
    ];
    for (img, s, want, section) in rows {
        let doc = info_json(img, s);
        let get = |k: &str| doc.get(k).cloned().unwrap_or(Value::Null);
        let got = json!([
            get("extraQualities"),
            get("extraFormats"),
            get("extraFeatures")
        ]);
        assert_eq!(got, *want, "{section}");
    }
}

#[test]
fn feature_names() {
    // §5.7's table; the level 2 profile document (http://iiif.io/api/image/3/level2.json).
    let level2 = [
        "baseUriRedirect",
        "cors",
        "jsonldMediaType",
        "regionByPct",
        "regionByPx",
        "regionSquare",
        "rotationBy90s",
        "sizeByConfinedWh",
        "sizeByH",
        "sizeByPct",
        "sizeByW",
        "sizeByWh",
    ];
    assert_eq!(Feature::ALL.len(), 17, "§5.7");
    for &f in Feature::ALL {
        assert_eq!(Feature::from_name(f.as_str()), Some(f), "§5.7");
        assert_eq!(
            f.in_level2(),
            level2.contains(&f.as_str()),
            "{f:?} compliance §3-§4"
        );
    }
    let mut names: Vec<_> = Feature::ALL.iter().map(|f| f.as_str()).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        Feature::ALL.iter().map(|f| f.as_str()).collect::<Vec<_>>()
    );
    assert_eq!(Feature::from_name("Mirroring"), None, "§5.7 spelling");
    assert_eq!(Feature::from_name("sizeAboveFull"), None, "2.x only");
}

#[test]
fn media_types() {
    let ld = JSON_LD;
    let rows: &[(Option<&str>, &str, &str)] = &[
        (None, ld, "§5.1 no Accept: SHOULD be application/ld+json"),
        (Some(""), ld, "§5.1 an empty Accept is none"),
        (Some("application/ld+json"), ld, "§5.1"),
        (
            Some("application/ld+json;profile=\"http://iiif.io/api/image/3/context.json\""),
            ld,
            "§5.1 parameters",
        ),
        (
            Some("Application/LD+JSON ; q=0.9"),
            ld,
            "RFC 9110 §8.3.1 case-insensitive",
        ),
        (
            Some("application/ld+json, application/json"),
            ld,
            "§5.1 conneg: a tie goes to JSON-LD",
        ),
        (
            Some("application/json;q=0.5, application/ld+json;q=0.8"),
            ld,
            "RFC 9110 §12.5.1",
        ),
        (
            Some("application/ld+json;profile=\"a,b\";q=1, text/html"),
            ld,
            "RFC 9110 §5.6.4 quoted comma",
        ),
        (Some("application/json"), JSON, "§5.1"),
        (
            Some("application/json, application/ld+json;q=0.5"),
            JSON,
            "RFC 9110 §12.5.1",
        ),
        (
            Some("application/ld+json;q=0"),
            JSON,
            "RFC 9110 §12.4.2 q=0: not acceptable",
        ),
        (
            Some("application/ld+json;q=2"),
            JSON,
            "RFC 9110 §12.4.2 malformed q",
        ),
        (
            Some("application/ld+json;q=-1"),
            JSON,
            "RFC 9110 §12.4.2 malformed q",
        ),
        (Some("*/*"), JSON, "§5.1 wildcards: regular JSON"),
        (
            Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
            JSON,
            "a browser",
        ),
        (Some("application/*"), JSON, "§5.1"),
        (Some("application/ld+jsonx"), JSON, "§5.1"),
    ];
    for (accept, want, section) in rows {
        assert_eq!(media_type(*accept), *want, "{accept:?} {section}");
    }
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

fn any_image() -> impl Strategy<Value = ImageInfo> {
    let side = || prop_oneof![0u32..20_000, any::<u32>()];
    let tiling = (side(), side(), 0u32..40).prop_map(|(width, height, levels)| Tiling {
        width,
        height,
        levels,
    });
    let tiling = proptest::option::of(tiling);
    (side(), side(), tiling, any::<bool>()).prop_map(|(width, height, tiling, grayscale)| {
        ImageInfo {
            width,
            height,
            tiling,
            grayscale,
        }
    })
}

/// What `w,h` (`exact`) or `w,` gives for the full image, if it resolves.
fn served(img: &ImageInfo, limits: &Limits, size: SizeForm) -> Option<(u32, u32)> {
    let mut params = width_request(1);
    params.size.form = size;
    let source = Source {
        width: img.width,
        height: img.height,
        default_quality: Quality::Color,
    };
    resolve(&params, &source, limits)
        .ok()
        .map(|r| (r.width, r.height))
}

proptest! {
    #[test]
    fn never_panics(img in any_image(), limits in any_limits(), accept in any::<String>()) {
        let doc = info_json(&img, &service(limits));
        prop_assert!(doc.get("tiles").is_some());
        let _ = media_type(Some(&accept));
    }

    // §5.3: "A request constructed with the w,h syntax using these sizes MUST be supported";
    // §5.2: sizes and tiles "within any size limits expressed".
    #[test]
    fn listed_sizes_and_tiles_are_served(img in any_image(), limits in any_limits()) {
        let doc = info_json(&img, &service(limits));
        let sizes = sizes_of(&doc);
        for pair in sizes.windows(2) {
            prop_assert!(pair[0].0 < pair[1].0, "ascending {sizes:?}");
        }
        for (w, h) in sizes {
            let (w, h) = (u32::try_from(w)?, u32::try_from(h)?);
            prop_assert_eq!(served(&img, &limits, SizeForm::Exact(w, h)), Some((w, h)));
            prop_assert_eq!(served(&img, &limits, SizeForm::Width(w)), Some((w, h)));
        }
        let tile = &doc["tiles"][0];
        let side = |k: &str| u32::try_from(tile[k].as_u64().unwrap_or(0));
        let (tw, th) = (side("width")?, side("height")?);
        prop_assert!(tw >= 1 && th >= 1);
        let within = tw <= limits.max_width.unwrap_or(u32::MAX)
            && th <= limits.max_height.or(limits.max_width).unwrap_or(u32::MAX)
            && u64::from(tw) * u64::from(th) <= limits.max_area.unwrap_or(u64::MAX);
        prop_assert!(within || (tw, th) == (1, 1), "{tw}x{th} {limits:?}");
        let factors = tile["scaleFactors"].as_array().map(Vec::len).unwrap_or(0);
        prop_assert!((1..=32).contains(&factors));
    }
}
