//! The objects every store is seeded with, identically.

use super::pattern;

pub struct Fixture {
    pub key: &'static str,
    /// Percent-encoded request path.
    pub path: &'static str,
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

pub fn fixtures() -> Vec<Fixture> {
    vec![
        Fixture {
            key: "photo.jpg",
            path: "/photo.jpg",
            bytes: pattern(200 * 1024 + 17, 1),
            content_type: "image/jpeg",
        },
        Fixture {
            key: "empty.bin",
            path: "/empty.bin",
            bytes: Vec::new(),
            content_type: "application/octet-stream",
        },
        Fixture {
            key: "maps/tile set ü.png",
            path: "/maps/tile%20set%20%C3%BC.png",
            bytes: pattern(1000, 2),
            content_type: "image/png",
        },
        Fixture {
            key: "big.bin",
            path: "/big.bin",
            bytes: pattern(3 * 1024 * 1024 + 5, 3),
            content_type: "application/octet-stream",
        },
    ]
}
