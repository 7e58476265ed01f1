//! The request's query, read once (`Query::parse`), then by both of its readers: the
//! signature's (`signature::from_query`) and the transforms' (`params::from_query`).
#![no_main]

use imgorigin::access::signature;
use imgorigin::query::{Query, RESERVED};
use imgorigin::transform::format::{Format, FormatChoice};
use imgorigin::transform::{params, Limits};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

/// The defaults, and an operator's narrower settings (a width list, AVIF on).
fn limits() -> &'static [Limits; 2] {
    static LIMITS: OnceLock<[Limits; 2]> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let narrow = Limits {
            max_dimension: 2000,
            widths: Some(vec![100, 400, 1600]),
            formats: vec![Format::Avif, Format::Webp, Format::Jpeg],
            ..Limits::default()
        };
        [Limits::default(), narrow]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(raw) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(query) = Query::parse(Some(raw)) else {
        return;
    };
    // A name of ours read back was written literally: `%77=1` never becomes `w`.
    for (name, _) in query.pairs() {
        if RESERVED.contains(&name) {
            assert!(
                raw.split('&').any(|p| p.split('=').next() == Some(name)),
                "reserved name {name:?} read from a query that does not spell it: {raw:?}"
            );
        }
    }
    if let Ok(signed) = signature::from_query(&query) {
        assert_eq!(signed.sig.len(), 32, "{raw:?}");
        assert!(signed.exp > 0, "{raw:?}");
    }
    for limits in limits() {
        if let Ok(Some(p)) = params::from_query(&query, limits) {
            let side_ok =
                |s: Option<u32>| s.is_none_or(|s| (1..=limits.max_dimension).contains(&s));
            assert!(side_ok(p.width) && side_ok(p.height), "{p:?} from {raw:?}");
            assert!(
                p.quality.is_none_or(|q| (1..=100).contains(&q)),
                "{p:?} from {raw:?}"
            );
            if let (Some(w), Some(widths)) = (p.width, &limits.widths) {
                assert!(widths.contains(&w), "{p:?} from {raw:?}");
            }
            if let FormatChoice::Fixed(f) = p.format {
                assert!(limits.formats.contains(&f), "{p:?} from {raw:?}");
            }
            let _ = p.canonical(None);
        }
    }
});
