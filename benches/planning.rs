//! Per-request cost of the pure decisions: path-to-key, Range parsing, conditional headers, the
//! RFC 9110 plan, and the signed-URL check. `cargo bench --bench planning`.

use criterion::{criterion_group, criterion_main, Criterion};
use http::header::{IF_NONE_MATCH, IF_RANGE, RANGE};
use http::{HeaderMap, HeaderValue};
use imgorigin::access::{signature, KeyRing};
use imgorigin::key::object_key;
use imgorigin::meta::ObjectMeta;
use imgorigin::plan::{decide, Ask};
use imgorigin::query::Query;
use imgorigin::range::RangeRequest;
use imgorigin::validators::{Conditions, EntityTag};
use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn headers(pairs: &[(http::HeaderName, &'static str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(k.clone(), HeaderValue::from_static(v));
    }
    h
}

fn bench(c: &mut Criterion) {
    c.bench_function("path_to_key/nested_encoded", |b| {
        b.iter(|| {
            object_key(
                black_box("/maps/z12/tile%20set%20%C3%BC/1234-5678.png"),
                black_box("public/"),
            )
        })
    });
    let zoom = headers(&[(RANGE, "bytes=1048576-1114111")]);
    c.bench_function("range/parse_single", |b| {
        b.iter(|| RangeRequest::from_headers(black_box(&zoom)))
    });
    let reval = headers(&[
        (
            IF_NONE_MATCH,
            "\"5d41402abc4b2a76b9719d911017c592\", W/\"x\"",
        ),
        (IF_RANGE, "\"abc\""),
    ]);
    c.bench_function("conditions/parse", |b| {
        b.iter(|| Conditions::from_headers(black_box(&reval)))
    });
    let meta = ObjectMeta::new(
        190 << 20,
        EntityTag::strong("\"5d41402abc4b2a76b9719d911017c592\"".into()),
        Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
    );
    let both = headers(&[
        (RANGE, "bytes=1048576-1114111"),
        (IF_NONE_MATCH, "\"other\""),
    ]);
    c.bench_function("plan/range_with_if_none_match", |b| {
        b.iter(|| {
            let h = black_box(&both);
            let conditions = Conditions::from_headers(h);
            let ask = Ask {
                head: false,
                conditions: &conditions,
                range: RangeRequest::from_headers(h),
                now: SystemTime::now(),
                max_body: None,
                max_ranges: imgorigin::plan::multipart::DEFAULT_MAX_RANGES,
            };
            decide(&ask, black_box(&meta))
        })
    });
    let keys =
        KeyRing::parse_list("k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .expect("keys");
    let query = "w=200&exp=1767225600&kid=k1&sig=M47cd3XvdjFDhWZ0ofA69bzw_X5NZSW0Mm2nDNwvA3M";
    c.bench_function("signature/verify", |b| {
        b.iter(|| {
            // As the pipeline does: the query read once, then verified.
            let query = Query::parse(Some(black_box(query))).expect("query");
            signature::verify(&keys, black_box("/private/cat.jpg"), &query, 1_767_225_000)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
