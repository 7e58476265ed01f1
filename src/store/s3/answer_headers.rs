//! Which fields of S3's answers the store reads: the list the HTTP/1.1 client
//! ([`crate::http1`]) keeps beside its own framing fields. Anything else (Server,
//! `x-amz-id-2`, user metadata) is dropped while parsing, which is cheaper than a map entry.

use http::{header, HeaderName};

/// What becomes [`crate::meta::ObjectMeta`] or a 206 (s3.rs), what errors are logged with
/// (error_answer.rs), and S3's clock (skew.rs). A field read anywhere in the store must be listed
/// here (and in [`kept`]): the test `every_header_the_store_reads_is_kept` fails otherwise.
pub(crate) static KEPT: [HeaderName; 13] = [
    header::ETAG,
    header::LAST_MODIFIED,
    header::CONTENT_RANGE,
    header::CONTENT_TYPE,
    header::CACHE_CONTROL,
    header::CONTENT_ENCODING,
    header::CONTENT_DISPOSITION,
    header::CONTENT_LANGUAGE,
    header::EXPIRES,
    HeaderName::from_static(X_AMZ_REQUEST_ID),
    HeaderName::from_static(X_AMZ_BUCKET_REGION),
    // S3's clock and a cache's age: clock-skew correction (skew.rs).
    header::DATE,
    header::AGE,
];

/// S3's id of the request, logged with its errors (for AWS support).
const X_AMZ_REQUEST_ID: &str = "x-amz-request-id";
/// The bucket's region, named in the error of a request sent to another region.
const X_AMZ_BUCKET_REGION: &str = "x-amz-bucket-region";

/// The [`KEPT`] name that `name` is, in any case (a [`crate::http1::KeepHeader`]). Picked by
/// length and first letter, then compared once: scanning the names per field cost about
/// 1,500 instructions per answer (callgrind).
pub(crate) fn kept(name: &str) -> Option<HeaderName> {
    let bytes = name.as_bytes();
    let candidate = match (bytes.len(), bytes.first()?.to_ascii_lowercase()) {
        (3, b'a') => header::AGE,
        (4, b'd') => header::DATE,
        (4, b'e') => header::ETAG,
        (7, b'e') => header::EXPIRES,
        (12, b'c') => header::CONTENT_TYPE,
        (13, b'l') => header::LAST_MODIFIED,
        // content-range and cache-control first differ at index 8: 'r' against 'n'.
        (13, b'c') if bytes[8].eq_ignore_ascii_case(&b'r') => header::CONTENT_RANGE,
        (13, b'c') => header::CACHE_CONTROL,
        (16, b'x') => HeaderName::from_static(X_AMZ_REQUEST_ID),
        (19, b'x') => HeaderName::from_static(X_AMZ_BUCKET_REGION),
        // content-encoding and content-language first differ at index 8: 'e' against 'l'.
        (16, b'c') if bytes[8].eq_ignore_ascii_case(&b'e') => header::CONTENT_ENCODING,
        (16, b'c') => header::CONTENT_LANGUAGE,
        (19, b'c') => header::CONTENT_DISPOSITION,
        _ => return None,
    };
    candidate
        .as_str()
        .eq_ignore_ascii_case(name)
        .then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http1::FRAMING;

    #[test]
    fn kept_names_in_any_case_and_nothing_else() {
        for name in &KEPT {
            let lower = name.as_str();
            assert_eq!(kept(lower).as_ref(), Some(name));
            assert_eq!(kept(&lower.to_ascii_uppercase()).as_ref(), Some(name));
        }
        for other in [
            "dates",
            "server",
            "content-md5",
            "x-amz-id-2",
            "cache-contro1",
            "content-location",
            "expirez",
            "e",
            "",
            "etags",
            // The client keeps these itself.
            "content-length",
            "connection",
        ] {
            assert_eq!(kept(other), None, "{other}");
        }
    }

    /// The S3 store's modules that read answer fields.
    const READERS: [(&str, &str); 4] = [
        ("s3.rs", include_str!("../s3.rs")),
        ("rest.rs", include_str!("rest.rs")),
        ("error_answer.rs", include_str!("error_answer.rs")),
        ("skew.rs", include_str!("skew.rs")),
    ];

    // A field read but not kept would silently be `None` on every answer: every literal name
    // the readers pass to `header(..)`, `.get(..)` or `.contains_key(..)` must be kept, by
    // this list or by the client's framing list.
    #[test]
    fn every_header_the_store_reads_is_kept() {
        let mut seen = 0;
        for (file, source) in READERS {
            for line in source.lines() {
                let reads = ["header(", ".get(\"", ".contains_key(\""];
                if !reads.iter().any(|r| line.contains(r)) {
                    continue;
                }
                for name in line.split('"').skip(1).step_by(2) {
                    let is_name = !name.is_empty()
                        && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
                    if is_name && !name.starts_with("bytes") {
                        seen += 1;
                        let framing = FRAMING.iter().any(|f| f.as_str() == name);
                        assert!(
                            kept(name).is_some() || framing,
                            "{file} reads {name:?}, not kept"
                        );
                    }
                }
            }
        }
        assert!(seen >= 12, "the scan found only {seen} header reads");
    }
}
