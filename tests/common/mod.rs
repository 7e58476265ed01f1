//! Test harness shared by the integration tests: finds or reports the external servers
//! (s3s-fs, moto), starts them and the real `imgorigin` binary on loopback, seeds fixtures,
//! and speaks HTTP/1.1 with a real client (hyper).
#![allow(dead_code)]

pub mod access_log;
pub mod client;
pub mod fake_s3;
pub mod fixtures;
pub mod forward_proxy;
pub mod function_url;
pub mod lambda_watch;
pub mod multipart;
pub mod procs;
pub mod proxy;
pub mod runtime_api;
pub mod wire_observer;

#[allow(unused_imports)]
pub use client::fetch;
#[allow(unused_imports)]
pub use fixtures::fixtures;
#[allow(unused_imports)]
pub use procs::{Backend, Imgorigin};

use sha2::{Digest, Sha256};

/// Hex SHA-256, how tests compare bodies.
pub fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Deterministic bytes: splitmix64 over the word index, so any prefix can be recomputed.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    pattern_words(0, len, seed)
}

fn pattern_words(first_word: u64, len: usize, seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    let mut i = first_word;
    while out.len() < len {
        out.extend_from_slice(&splitmix(seed ^ i).to_le_bytes());
        i += 1;
    }
    out.truncate(len);
    out
}

/// Writes `pattern(len, seed)` to `path` in blocks and returns the SHA-256 of its first
/// `prefix` bytes (or of all of it) without holding the file in memory.
pub fn write_pattern_file(path: &std::path::Path, len: u64, seed: u64) -> String {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    let mut hasher = Sha256::new();
    for_pattern_blocks(len, seed, |block| {
        hasher.update(block);
        file.write_all(block).expect("write");
    });
    file.flush().expect("flush");
    hex(&hasher.finalize())
}

/// SHA-256 of `pattern(len, seed)`, computed in blocks.
pub fn pattern_sha256(len: u64, seed: u64) -> String {
    let mut hasher = Sha256::new();
    for_pattern_blocks(len, seed, |block| hasher.update(block));
    hex(&hasher.finalize())
}

fn for_pattern_blocks(len: u64, seed: u64, mut f: impl FnMut(&[u8])) {
    const BLOCK: u64 = 1 << 20;
    let mut done = 0;
    while done < len {
        let n = (len - done).min(BLOCK);
        f(&pattern_words(done / 8, n as usize, seed));
        done += n;
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One step of splitmix64.
pub fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E3779B97F4A7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D049BB133111EB);
    z ^ (z >> 31)
}
