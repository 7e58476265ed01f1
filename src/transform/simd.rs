//! Whether this build decodes and encodes JPEG with libjpeg-turbo's SIMD code. mozjpeg-sys
//! assembles it with nasm on x86 and, when nasm is missing, leaves it out with only a build
//! warning; cargo then keeps that build after nasm is installed. Such a binary transforms JPEG
//! markedly slower (transform-1280-jpeg measured 0.86x sharp against 1.19x with SIMD), so
//! start-up says which build it is and the tests fail on x86_64 without it. (WebP's SIMD is C
//! intrinsics, always built; rav1e's build fails without nasm rather than leaving it out.)

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

/// The command that rebuilds the JPEG codec with SIMD.
pub const REBUILD: &str =
    "install nasm (apt-get install nasm), then cargo clean -p mozjpeg-sys and build again";

#[cfg(test)]
mod tests {
    // The build CI and the load test measure must be the fast one.
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
