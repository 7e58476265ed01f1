//! Which of the codecs' fast paths this build has, said at start-up and by `--version`.
//!
//! - JPEG: libjpeg-turbo's SIMD, assembled by mozjpeg-sys with nasm on x86 (NEON on aarch64).
//!   When nasm is missing it leaves the SIMD out with only a build warning, and cargo keeps
//!   that build after nasm is installed. Such a binary transforms JPEG markedly slower
//!   (transform-1280-jpeg measured 0.86x sharp against 1.19x with SIMD), so the tests fail on
//!   x86_64 without it and tests/run.sh and deploy/serve.sh rebuild it.
//! - AV1 (rav1e, AVIF output): its assembly, with the `asm` feature (nasm on x86_64); the
//!   quick start builds without it where nasm is missing.
//! - WebP: C intrinsics, always built for the target's baseline (SSE2 on x86_64, NEON on
//!   aarch64); libwebp-sys adds SSE4.1 and AVX2 only for a target that has them
//!   (`-C target-cpu`), and libwebp picks among those built at run time.

use std::os::raw::c_int;

extern "C" {
    // libjpeg-turbo's SIMD dispatch (simd/x86_64/jsimd.c): whether the accelerated inverse
    // DCT is usable on this CPU; always 0 from jsimd_none.c, built in place of the SIMD code.
    fn jsimd_can_idct_islow() -> c_int;
}

/// Whether JPEG uses libjpeg-turbo's SIMD code: built in and supported by this CPU.
pub fn jpeg_simd() -> bool {
    // SAFETY: no arguments; it reads CPU features into a thread-local once and returns a flag.
    unsafe { jsimd_can_idct_islow() != 0 }
}

/// Whether AVIF encodes with rav1e's assembly (picked per CPU at run time by rav1e).
pub fn av1_asm() -> bool {
    cfg!(feature = "asm") && AV1_ASM_EXISTS
}

/// libwebp's SIMD instruction sets built into this binary.
pub fn webp_simd() -> &'static str {
    if cfg!(all(target_arch = "x86_64", target_feature = "avx2")) {
        "sse2+sse4.1+avx2"
    } else if cfg!(all(target_arch = "x86_64", target_feature = "sse4.1")) {
        "sse2+sse4.1"
    } else if cfg!(target_arch = "x86_64") {
        "sse2"
    } else if cfg!(all(target_arch = "aarch64", target_feature = "neon")) {
        "neon"
    } else {
        "none"
    }
}

/// One line for `--version`: the version and the codecs' fast paths.
pub static LONG_VERSION: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "{} (jpeg simd: {}, webp simd: {}, av1 asm: {})",
        env!("CARGO_PKG_VERSION"),
        on_off(jpeg_simd()),
        webp_simd(),
        on_off(av1_asm()),
    )
});

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

/// What gives a build rav1e's assembly back.
pub const REBUILD_AV1: &str =
    "install nasm (apt-get install nasm) and build with the default features (deploy/serve.sh does)";

/// Whether this target has rav1e assembly that a build can leave out.
pub const AV1_ASM_EXISTS: bool = cfg!(any(target_arch = "x86_64", target_arch = "aarch64"));

/// The command that rebuilds the JPEG codec with SIMD.
pub const REBUILD: &str =
    "install nasm (apt-get install nasm), then cargo clean -p mozjpeg-sys and build again with the default features (deploy/serve.sh does both)";

#[cfg(test)]
mod tests {
    // The build CI and the load test measure must be the fast one.
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    #[test]
    fn av1_asm_is_built_in() {
        assert!(
            super::av1_asm(),
            "rav1e's assembly is not built in: {}",
            super::REBUILD_AV1
        );
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn jpeg_simd_is_built_in() {
        assert!(
            super::jpeg_simd(),
            "JPEG SIMD is not built in: {}",
            super::REBUILD
        );
    }
}
