//! Transform flags: what `?w=&h=&fit=&format=&q=` may ask for and cost.

use crate::transform::format::Format;
use crate::transform::host_memory::LimitSource;
use crate::transform::limits::{default_concurrency, default_formats};
use crate::transform::{Limits, MemoryBudget};
use clap::Args;
use std::time::Duration;

/// Limits of on-the-fly transforms.
#[derive(Debug, Clone, Args)]
pub struct TransformArgs {
    /// Ignore transform parameters: every request gets the stored bytes.
    #[arg(long, env = "IMGORIGIN_NO_TRANSFORMS")]
    pub no_transforms: bool,
    /// The only widths `w` may take (`160,320,640,1280,2560`); others get 400.
    #[arg(long, env = "IMGORIGIN_WIDTHS", value_delimiter = ',')]
    pub widths: Vec<u32>,
    /// The only heights `h` may take; others get 400.
    #[arg(long, env = "IMGORIGIN_HEIGHTS", value_delimiter = ',')]
    pub heights: Vec<u32>,
    /// The only qualities `q` may take (`50,75,90`); others get 400.
    #[arg(long, env = "IMGORIGIN_QUALITIES", value_delimiter = ',')]
    pub qualities: Vec<u32>,
    /// Largest source (width x height, from its header) to decode; larger gets 422.
    #[arg(long, env = "IMGORIGIN_MAX_PIXELS", default_value_t = 120_000_000)]
    pub max_pixels: u64,
    /// Largest source object in bytes (it is read whole); larger gets 422.
    #[arg(long, env = "IMGORIGIN_MAX_SOURCE_BYTES", default_value_t = 128 << 20)]
    pub max_source_bytes: u64,
    /// Largest `w` or `h` a client may ask for.
    #[arg(long, env = "IMGORIGIN_MAX_DIMENSION", default_value_t = 4096,
          value_parser = clap::value_parser!(u32).range(1..=16383))]
    pub max_dimension: u32,
    /// Output formats offered to `format=` and `auto` (avif, webp, jpeg, png); default
    /// webp,jpeg,png: AVIF encodes several times slower, so the operator opts in.
    #[arg(long, env = "IMGORIGIN_FORMATS", value_delimiter = ',', value_parser = parse_format)]
    pub formats: Vec<Format>,
    /// Transforms at once (each holds a source and its pixels); default: usable CPUs.
    #[arg(long, env = "IMGORIGIN_TRANSFORM_CONCURRENCY",
          value_parser = clap::value_parser!(u16).range(1..=256))]
    pub transform_concurrency: Option<u16>,
    /// Seconds a transform waits for a free slot and for its memory before 503 with
    /// Retry-After.
    #[arg(long, env = "IMGORIGIN_TRANSFORM_QUEUE_TIMEOUT", default_value_t = 10)]
    pub transform_queue_timeout: u64,
    /// MiB that all transforms may hold at once (each is admitted on an estimate of its peak
    /// made from the header); default: half the memory limit (Lambda size, cgroup, or
    /// MemTotal), at most 1024.
    #[arg(long, env = "IMGORIGIN_TRANSFORM_MEMORY",
          value_parser = clap::value_parser!(u64).range(1..=1 << 22))]
    pub transform_memory: Option<u64>,
}

fn parse_format(name: &str) -> Result<Format, String> {
    Format::from_name(name).ok_or_else(|| format!("{name}: not one of avif, webp, jpeg, png"))
}

impl TransformArgs {
    /// The limits these flags set; logs the memory budget and where its size came from.
    pub fn limits(&self) -> Limits {
        let memory = match self.transform_memory {
            Some(mib) => MemoryBudget::new(mib, LimitSource::Flag),
            None => MemoryBudget::from_host(),
        };
        if !self.no_transforms {
            let jpeg_simd = crate::transform::simd::jpeg_simd();
            // Half the limit, within 16 and 1024 MiB, unless the flag gave it.
            tracing::info!(
                mib = memory.mib(),
                from = memory.source().describe(),
                limit_mib = memory.limit().map(|b| b >> 20),
                jpeg_simd,
                webp_simd = crate::transform::simd::webp_simd(),
                av1_asm = crate::transform::simd::av1_asm(),
                "transform memory budget"
            );
            if !jpeg_simd {
                tracing::warn!(
                    fix = crate::transform::simd::REBUILD,
                    "JPEG transforms run without SIMD: this build has no libjpeg-turbo SIMD code"
                );
            }
            if crate::transform::simd::AV1_ASM_EXISTS && !crate::transform::simd::av1_asm() {
                tracing::warn!(
                    fix = crate::transform::simd::REBUILD_AV1,
                    "AVIF encodes without rav1e's assembly: this build was made without the asm feature"
                );
            }
        }
        Limits {
            enabled: !self.no_transforms,
            max_pixels: self.max_pixels,
            max_source_bytes: self.max_source_bytes,
            max_dimension: self.max_dimension,
            widths: (!self.widths.is_empty()).then(|| self.widths.clone()),
            heights: (!self.heights.is_empty()).then(|| self.heights.clone()),
            qualities: (!self.qualities.is_empty()).then(|| self.qualities.clone()),
            formats: match self.formats.is_empty() {
                true => default_formats(),
                false => self.formats.clone(),
            },
            concurrency: self
                .transform_concurrency
                .map_or_else(default_concurrency, usize::from),
            queue_timeout: Duration::from_secs(self.transform_queue_timeout),
            memory,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use crate::transform::format::Format;
    use clap::Parser;

    fn limits(extra: &[&str]) -> Result<crate::transform::Limits, String> {
        let mut args = vec!["imgorigin", "serve", "--root", "."];
        args.extend_from_slice(extra);
        let cli = Cli::try_parse_from(args).map_err(|e| e.to_string())?;
        match cli.command {
            Some(Command::Serve(s)) => Ok(s.pipeline.transform.limits()),
            _ => unreachable!("serve was given"),
        }
    }

    fn formats(extra: &[&str]) -> Result<Vec<Format>, String> {
        limits(extra).map(|l| l.formats)
    }

    // The flag sets the budget in MiB; without it the host decides (host_memory's tests);
    // 0 and non-numbers are refused.
    #[test]
    fn transform_memory_flag() {
        use crate::transform::host_memory::LimitSource;
        // (flags) -> (MiB, source), or refused
        type Case<'a> = (&'a [&'a str], Option<(u64, LimitSource)>);
        let cases: [Case; 5] = [
            (
                &["--transform-memory", "128"],
                Some((128, LimitSource::Flag)),
            ),
            (
                &["--transform-memory", "4096"],
                Some((4096, LimitSource::Flag)),
            ),
            (&["--transform-memory", "0"], None),
            (&["--transform-memory", "1g"], None),
            (&["--transform-memory", "-5"], None),
        ];
        for (args, want) in cases {
            let got = limits(args)
                .ok()
                .map(|l| (l.memory.mib(), l.memory.source()));
            assert_eq!(got, want, "{args:?}");
        }
        let host = limits(&[]).expect("no flag").memory;
        assert_ne!(host.source(), LimitSource::Flag);
        assert!((16..=1024).contains(&host.mib()), "{}", host.mib());
    }

    // AVIF is opt-in: off unless listed, on when listed, in any position.
    #[test]
    fn formats_flag_enables_avif_only_when_listed() {
        use Format::{Avif, Jpeg, Png, Webp};
        assert_eq!(formats(&[]), Ok(vec![Webp, Jpeg, Png]));
        assert_eq!(
            formats(&["--formats", "avif,webp,jpeg,png"]),
            Ok(vec![Avif, Webp, Jpeg, Png])
        );
        assert_eq!(formats(&["--formats", "webp,avif"]), Ok(vec![Webp, Avif]));
        let err = formats(&["--formats", "webp,gif"]).expect_err("gif is not an output");
        assert!(
            err.contains("gif: not one of avif, webp, jpeg, png"),
            "{err}"
        );
    }
}
