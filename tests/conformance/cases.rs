//! The conformance cases: one table of requests with the status, headers and body every
//! store and transport must answer.

use crate::common::fixtures;
use crate::common::fixtures::{key_path, special_keys, PCHAR_RAW};
use std::time::{Duration, SystemTime};

pub const ORIGIN: &str = "https://viewer.example";

/// What a case expects.
pub struct Case {
    pub name: String,
    pub method: &'static str,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub status: u16,
    /// `Some(v)`: header equals v; `None`: header absent.
    pub expect_headers: Vec<(&'static str, Option<String>)>,
    /// Expected body bytes (compared by hash), unless `parts` is not empty.
    pub body: Vec<u8>,
    /// A 206 multipart/byteranges: each part's Content-Range and bytes, in order.
    pub parts: Vec<(String, Vec<u8>)>,
}

pub fn case(name: &str, method: &'static str, path: &str, status: u16, body: &[u8]) -> Case {
    Case {
        name: name.to_owned(),
        method,
        path: path.to_owned(),
        headers: Vec::new(),
        status,
        expect_headers: Vec::new(),
        body: body.to_vec(),
        parts: Vec::new(),
    }
}

impl Case {
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.headers.push((name, value.into()));
        self
    }

    pub fn expect(mut self, name: &'static str, value: impl Into<String>) -> Case {
        self.expect_headers.push((name, Some(value.into())));
        self
    }

    pub fn absent(mut self, name: &'static str) -> Case {
        self.expect_headers.push((name, None));
        self
    }

    /// Expects a multipart/byteranges body with these inclusive spans of `object`, in order.
    pub fn parts(mut self, object: &[u8], spans: &[(usize, usize)]) -> Case {
        let len = object.len();
        self.parts = spans
            .iter()
            .map(|&(a, b)| (format!("bytes {a}-{b}/{len}"), object[a..=b].to_vec()))
            .collect();
        self
    }
}

/// Validators of the photo as this store reports them.
pub struct Seen {
    pub etag: String,
    pub last_modified: String,
    pub lm_time: SystemTime,
}

fn date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

pub fn cases(seen: &Seen) -> Vec<Case> {
    let all = fixtures();
    let photo = &all[0].bytes;
    let len = photo.len();
    let (etag, lm) = (seen.etag.clone(), seen.last_modified.clone());
    let weak = format!("W/{etag}");
    let day = Duration::from_secs(86400);
    let before = date(seen.lm_time - day);
    let later = date(seen.lm_time + Duration::from_secs(1));
    let p = "/photo.jpg";
    let full = |name: &str| {
        case(name, "GET", p, 200, photo)
            .expect("content-length", len.to_string())
            .expect("etag", &etag)
            .absent("content-range")
    };
    let part = |name: &str, range: &str, a: usize, b: usize| {
        case(name, "GET", p, 206, &photo[a..=b])
            .with("range", range)
            .expect("content-range", format!("bytes {a}-{b}/{len}"))
            .expect("content-length", (b - a + 1).to_string())
            .expect("etag", &etag)
    };
    let not_modified = |name: &str| {
        case(name, "GET", p, 304, b"")
            .expect("etag", &etag)
            .expect("last-modified", &lm)
            .expect("cache-control", "public, max-age=31536000")
            .absent("content-range")
    };
    let failed = |name: &str| case(name, "GET", p, 412, b"");
    let mut v = vec![
        full("GET full object")
            .expect("content-type", "image/jpeg")
            .expect("last-modified", &lm)
            .expect("accept-ranges", "bytes")
            .expect("cache-control", "public, max-age=31536000")
            .absent("content-encoding"),
        case("HEAD has GET's headers and no body", "HEAD", p, 200, b"")
            .expect("content-length", len.to_string())
            .expect("content-type", "image/jpeg")
            .expect("etag", &etag)
            .expect("last-modified", &lm)
            .expect("accept-ranges", "bytes")
            .expect("cache-control", "public, max-age=31536000"),
        case("HEAD ignores Range (§14.2)", "HEAD", p, 200, b"")
            .with("range", "bytes=0-9")
            .expect("content-length", len.to_string())
            .absent("content-range"),
        part("range a-b", "bytes=0-99", 0, 99),
        part("range a-", "bytes=100-", 100, len - 1),
        part("range -n", "bytes=-500", len - 500, len - 1),
        part("range one byte", "bytes=0-0", 0, 0),
        part(
            "range last byte",
            &format!("bytes={}-{}", len - 1, len - 1),
            len - 1,
            len - 1,
        ),
        part("range end clamped", "bytes=1000-99999999", 1000, len - 1),
        part(
            "suffix longer than object selects it all",
            "bytes=-99999999",
            0,
            len - 1,
        ),
        part("PMTiles first probe", "bytes=0-16383", 0, 16383),
        part("range unit case-insensitive", "Bytes=5-9", 5, 9),
        case("range past end -> 416", "GET", p, 416, b"")
            .with("range", format!("bytes={len}-"))
            .expect("content-range", format!("bytes */{len}")),
        case("suffix of zero -> 416", "GET", p, 416, b"")
            .with("range", "bytes=-0")
            .expect("content-range", format!("bytes */{len}")),
        full("unparsable range ignored").with("range", "bytes=abc"),
        full("reversed range ignored").with("range", "bytes=9-5"),
        full("other range unit ignored").with("range", "items=0-5"),
        full("several ranges with one invalid: all ignored (§14.1.1)")
            .with("range", "bytes=0-0,19-10"),
        not_modified("If-None-Match current -> 304").with("if-none-match", &etag),
        not_modified("If-None-Match weak comparison -> 304").with("if-none-match", &weak),
        not_modified("If-None-Match list -> 304")
            .with("if-none-match", format!("\"nope\", {etag}")),
        not_modified("If-None-Match over two lines -> 304")
            .with("if-none-match", "\"nope\"")
            .with("if-none-match", &etag),
        not_modified("If-None-Match * -> 304").with("if-none-match", "*"),
        not_modified("If-None-Match beats Range")
            .with("if-none-match", &etag)
            .with("range", "bytes=0-9"),
        full("If-None-Match other -> 200").with("if-none-match", "\"nope\""),
        case("HEAD If-None-Match -> 304", "HEAD", p, 304, b"")
            .with("if-none-match", &etag)
            .expect("etag", &etag),
        full("If-Match current -> 200").with("if-match", &etag),
        full("If-Match * -> 200").with("if-match", "*"),
        failed("If-Match other -> 412").with("if-match", "\"nope\""),
        failed("If-Match weak never matches -> 412").with("if-match", &weak),
        failed("If-Match before If-None-Match")
            .with("if-match", "\"nope\"")
            .with("if-none-match", &etag),
        failed("If-Match before Range")
            .with("if-match", "\"nope\"")
            .with("range", "bytes=0-9"),
        not_modified("If-Modified-Since = Last-Modified -> 304").with("if-modified-since", &lm),
        full("If-Modified-Since earlier -> 200").with("if-modified-since", &before),
        full("If-None-Match takes precedence over If-Modified-Since")
            .with("if-none-match", "\"nope\"")
            .with("if-modified-since", &lm),
        failed("If-Unmodified-Since earlier -> 412").with("if-unmodified-since", &before),
        full("If-Unmodified-Since = Last-Modified -> 200").with("if-unmodified-since", &lm),
        full("If-Match takes precedence over If-Unmodified-Since")
            .with("if-match", &etag)
            .with("if-unmodified-since", &before),
        part("If-Range ETag match -> 206", "bytes=0-99", 0, 99).with("if-range", &etag),
        full("If-Range ETag mismatch -> 200")
            .with("range", "bytes=0-99")
            .with("if-range", "\"nope\""),
        full("If-Range weak ETag -> 200")
            .with("range", "bytes=0-99")
            .with("if-range", &weak),
        part("If-Range exact date -> 206", "bytes=10-19", 10, 19).with("if-range", &lm),
        full("If-Range other date -> 200")
            .with("range", "bytes=0-99")
            .with("if-range", &later),
        full("If-Range mismatch skips 416")
            .with("range", format!("bytes={len}-"))
            .with("if-range", "\"nope\""),
    ];
    v.extend(multi_range_cases(photo, &etag, &lm));
    v.extend(other_objects());
    v.extend(errors_and_cors());
    v.extend(special_key_cases());
    v
}

fn other_objects() -> Vec<Case> {
    let all = fixtures();
    let (nested, big) = (&all[2], &all[3]);
    let mid = 1_000_000..=2_500_000;
    vec![
        case("zero-length object", "GET", "/empty.bin", 200, b"")
            .expect("content-length", "0")
            .expect("content-type", "application/octet-stream"),
        case(
            "zero-length: suffix range -> 200 empty",
            "GET",
            "/empty.bin",
            200,
            b"",
        )
        .with("range", "bytes=-5")
        .expect("content-length", "0")
        .absent("content-range"),
        case(
            "zero-length: int range -> 416",
            "GET",
            "/empty.bin",
            416,
            b"",
        )
        .with("range", "bytes=0-")
        .expect("content-range", "bytes */0"),
        case(
            "percent-encoded unicode key",
            "GET",
            nested.path,
            200,
            &nested.bytes,
        )
        .expect("content-type", "image/png"),
        case(
            "several chunks, exact bytes",
            "GET",
            "/big.bin",
            200,
            &big.bytes,
        ),
        case(
            "range across chunk boundaries",
            "GET",
            "/big.bin",
            206,
            &big.bytes[mid.clone()],
        )
        .with("range", format!("bytes={}-{}", mid.start(), mid.end())),
    ]
}

/// Every special key by its fully encoded path and with pchars raw; a HEAD and a range too.
fn special_key_cases() -> Vec<Case> {
    let mut v = Vec::new();
    for (key, bytes) in special_keys() {
        for (how, raw) in [("encoded", ""), ("pchars raw", PCHAR_RAW)] {
            let name = format!("special key {key:?}, {how}");
            v.push(case(&name, "GET", &key_path(key, raw), 200, &bytes));
        }
        let path = key_path(key, PCHAR_RAW);
        let length = bytes.len().to_string();
        v.push(
            case(
                &format!("special key {key:?}, HEAD"),
                "HEAD",
                &path,
                200,
                b"",
            )
            .expect("content-length", length),
        );
        v.push(
            case(
                &format!("special key {key:?}, range"),
                "GET",
                &path,
                206,
                &bytes[100..=199],
            )
            .with("range", "bytes=100-199")
            .expect("content-range", format!("bytes 100-199/{}", bytes.len())),
        );
    }
    v
}

fn errors_and_cors() -> Vec<Case> {
    let mut v = vec![case(
        "missing object -> 404",
        "GET",
        "/nope.jpg",
        404,
        b"not found\n",
    )
    .expect("cache-control", "public, max-age=60")
    .expect("content-type", "text/plain; charset=utf-8")];
    for (name, path) in [
        ("dot-dot segment", "/../photo.jpg"),
        ("encoded dot-dot", "/a/%2e%2e/photo.jpg"),
        ("empty segment", "/a//photo.jpg"),
        ("NUL byte", "/photo%00.jpg"),
        ("control byte", "/photo%0d.jpg"),
        ("backslash", "/a%5Cphoto.jpg"),
        ("invalid UTF-8", "/photo%ff.jpg"),
        ("bad escape", "/photo%zz.jpg"),
        ("root", "/"),
    ] {
        v.push(case(
            &format!("400 for {name}"),
            "GET",
            path,
            400,
            b"bad request: invalid object path\n",
        ));
    }
    let long = format!("/{}", "k".repeat(1025));
    v.push(case(
        "400 for a key over 1024 bytes",
        "GET",
        &long,
        400,
        b"bad request: invalid object path\n",
    ));
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        v.push(
            case(
                &format!("{method} -> 405"),
                method,
                "/photo.jpg",
                405,
                b"method not allowed\n",
            )
            .expect("allow", "GET, HEAD, OPTIONS"),
        );
    }
    v.push(
        case(
            "CORS: allowed origin sees validators",
            "GET",
            "/photo.jpg",
            200,
            &fixtures()[0].bytes,
        )
        .with("origin", ORIGIN)
        .expect("access-control-allow-origin", ORIGIN)
        .expect(
            "access-control-expose-headers",
            "ETag, Content-Range, Content-Length, Accept-Ranges, Last-Modified",
        )
        .expect("vary", "Origin"),
    );
    v.push(
        case(
            "CORS: other origin gets no grant",
            "GET",
            "/empty.bin",
            200,
            b"",
        )
        .with("origin", "https://evil.example")
        .absent("access-control-allow-origin"),
    );
    v.push(
        case(
            "OPTIONS without a preflight: 204 with Allow (RFC 9110 §9.3.7)",
            "OPTIONS",
            "/photo.jpg",
            204,
            b"",
        )
        .expect("allow", "GET, HEAD, OPTIONS")
        .absent("access-control-allow-origin"),
    );
    v.push(
        case("CORS preflight", "OPTIONS", "/photo.jpg", 204, b"")
            .with("origin", ORIGIN)
            .with("access-control-request-method", "GET")
            .with("access-control-request-headers", "range")
            .expect("access-control-allow-origin", ORIGIN)
            .expect("access-control-allow-methods", "GET, HEAD"),
    );
    v.push(
        case(
            "CORS preflight for PUT refused",
            "OPTIONS",
            "/photo.jpg",
            403,
            b"cross-origin request not allowed\n",
        )
        .with("origin", ORIGIN)
        .with("access-control-request-method", "PUT"),
    );
    v
}

/// Several ranges in one header (RFC 9110 §14.2, §14.6, §15.3.7.2, §17.15).
fn multi_range_cases(photo: &[u8], etag: &str, lm: &str) -> Vec<Case> {
    let len = photo.len();
    let p = "/photo.jpg";
    let multi = |name: &str, range: &str, spans: &[(usize, usize)]| {
        case(name, "GET", p, 206, b"")
            .with("range", range)
            .expect("etag", etag)
            .expect("accept-ranges", "bytes")
            .absent("content-range")
            .parts(photo, spans)
    };
    let single = |name: &str, range: &str, a: usize, b: usize| {
        case(name, "GET", p, 206, &photo[a..=b])
            .with("range", range)
            .expect("content-range", format!("bytes {a}-{b}/{len}"))
            .expect("content-type", "image/jpeg")
    };
    let whole = |name: &str, range: &str| {
        case(name, "GET", p, 200, photo)
            .with("range", range)
            .absent("content-range")
            .expect("content-length", len.to_string())
    };
    let many: Vec<String> = (0..65).map(|i| format!("{0}-{0}", i * 3000)).collect();
    vec![
        multi(
            "two disjoint ranges: multipart",
            "bytes=0-99,100000-100099",
            &[(0, 99), (100_000, 100_099)],
        ),
        multi(
            "descending: parts in the order asked",
            "bytes=100000-100099,0-99",
            &[(100_000, 100_099), (0, 99)],
        ),
        multi(
            "suffix and first bytes",
            "bytes=-100,0-99",
            &[(len - 100, len - 1), (0, 99)],
        ),
        multi(
            "three parts, one clamped",
            "bytes=0-9,50000-50009,200000-999999",
            &[(0, 9), (50_000, 50_009), (200_000, len - 1)],
        ),
        single(
            "overlapping ranges coalesced into one 206",
            "bytes=0-999,500-1499",
            0,
            1499,
        ),
        single("adjacent ranges coalesced", "bytes=0-99,100-199", 0, 199),
        multi(
            "ranges 4 KiB apart: a part each, as asked",
            "bytes=0-99,4000-4099",
            &[(0, 99), (4000, 4099)],
        ),
        single(
            "one satisfiable range left: a plain 206",
            "bytes=0-99,999999999-",
            0,
            99,
        ),
        case("no satisfiable range -> 416", "GET", p, 416, b"")
            .with("range", "bytes=999999-,9999999-99999999")
            .expect("content-range", format!("bytes */{len}")),
        whole(
            "more than 64 ranges: the whole object",
            &format!("bytes={}", many.join(",")),
        ),
        whole(
            "three overlapping ranges: the whole object (§17.15)",
            "bytes=0-99,10-109,20-119",
        ),
        multi(
            "If-Range matching: multipart",
            "bytes=0-99,100000-100099",
            &[(0, 99), (100_000, 100_099)],
        )
        .with("if-range", etag),
        whole(
            "If-Range stale: the whole object",
            "bytes=0-99,100000-100099",
        )
        .with("if-range", "\"stale\""),
        multi(
            "If-Range date matching: multipart",
            "bytes=0-99,100000-100099",
            &[(0, 99), (100_000, 100_099)],
        )
        .with("if-range", lm),
        case(
            "HEAD with several ranges: GET's 200 headers",
            "HEAD",
            p,
            200,
            b"",
        )
        .with("range", "bytes=0-99,100000-100099")
        .expect("content-length", len.to_string())
        .absent("content-range"),
    ]
}
