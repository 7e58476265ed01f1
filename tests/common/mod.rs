//! Test harness shared by the integration tests: finds or reports the external servers
//! (s3s-fs, moto), starts them and the real `imgorigin` binary on loopback, seeds fixtures,
//! and speaks HTTP/1.1 with a real client (hyper).
#![allow(dead_code)]

pub mod client;
pub mod fixtures;
pub mod procs;

#[allow(unused_imports)]
pub use client::fetch;
#[allow(unused_imports)]
pub use fixtures::fixtures;
#[allow(unused_imports)]
pub use procs::{Backend, Imgorigin};

use sha2::{Digest, Sha256};

/// Hex SHA-256, how tests compare bodies.
pub fn sha256(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic bytes: splitmix64 over the word index, so any slice can be recomputed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut i = 0u64;
    while out.len() < len {
        out.extend_from_slice(&splitmix(seed ^ i).to_le_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// One step of splitmix64.
pub fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}
