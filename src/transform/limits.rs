//! What an operator allows transforms to cost.

use super::admit::MemoryBudget;
use super::format::Format;
use std::time::Duration;

/// Limits and switches of the transform feature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Transforms answer at all; off = the query is ignored and the raw object served.
    pub enabled: bool,
    /// Largest source, width x height, read from the header before decoding.
    pub max_pixels: u64,
    /// Largest source object in bytes (it is read whole).
    pub max_source_bytes: u64,
    /// Largest `w` or `h` a client may ask for.
    pub max_dimension: u32,
    /// The only widths allowed, if restricted (stops cache busting with `w=401`, `w=402`...).
    pub widths: Option<Vec<u32>>,
    /// The only heights allowed, if restricted.
    pub heights: Option<Vec<u32>>,
    /// The only qualities allowed, if restricted.
    pub qualities: Option<Vec<u32>>,
    /// Output formats offered (`format=` and `auto`).
    pub formats: Vec<Format>,
    /// Transforms running at once; each holds one source and its decoded pixels.
    pub concurrency: usize,
    /// How long a request waits for a free slot, then for its memory, before 503 with
    /// Retry-After (one deadline for both).
    pub queue_timeout: Duration,
    /// Bytes all transforms may hold at once, shared by every worker (clones share it).
    pub memory: MemoryBudget,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            enabled: true,
            max_pixels: 120_000_000,
            max_source_bytes: 128 << 20,
            max_dimension: 4096,
            widths: None,
            heights: None,
            qualities: None,
            formats: default_formats(),
            concurrency: default_concurrency(),
            queue_timeout: Duration::from_secs(10),
            memory: MemoryBudget::from_host(),
        }
    }
}

/// Transforms at once unless the operator says: the usable CPUs (they are CPU-bound).
pub fn default_concurrency() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// Largest side of an AVIF output, below `--max-dimension`: rav1e's time and frame memory
/// grow with the pixels. From a 24 MP JPEG, a 4096 px AVIF took 9 s and a peak RSS of
/// 277 MiB (more than a 256 MB Lambda has), 2048 px 2.8 s and 91 MiB (docs/transforms.md).
pub const AVIF_MAX_DIMENSION: u32 = 2048;

/// The output formats offered unless the operator lists them: all but AVIF, whose encoder
/// takes several times longer than WebP's (docs/transforms.md).
pub fn default_formats() -> Vec<Format> {
    vec![Format::Webp, Format::Jpeg, Format::Png]
}

impl Limits {
    /// The enabled format names, for error texts.
    pub fn format_list(&self) -> String {
        let mut names: Vec<&str> = vec!["auto"];
        names.extend(self.formats.iter().map(|f| f.name()));
        names.join(", ")
    }
}
