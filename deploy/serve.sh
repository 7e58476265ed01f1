#!/usr/bin/env bash
# The README's quick start: builds imgorigin for this machine, makes the large sample on first
# run, and runs `imgorigin serve` with the arguments given (e.g. --root samples --listen ADDR).
#
# Needs only the Rust toolchain. On x86_64 the codecs' fast paths are assembled with nasm:
# rav1e's (AVIF) does not build without it, and libjpeg-turbo's SIMD is left out. Without nasm
# this builds without both (`--no-default-features`, the `asm` feature off) and says so; the
# server's start-up log says which paths are active. Measured cost: docs/transforms.md.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/tools.sh
source tests/tools.sh

features=()
if [ "$(uname -m)" = x86_64 ] && ! command -v nasm >/dev/null 2>&1; then
  say "nasm not found: building without the codecs' assembly (JPEG and AVIF transforms slower;"
  say "stored bytes, ranges and HEAD are unaffected). For the fast build: apt-get install nasm,"
  say "then run this again."
  features=(--no-default-features)
else
  clean_codecs_built_without_nasm
fi
cargo build --release --locked --bin imgorigin "${features[@]}"
bin=${CARGO_TARGET_DIR:-target}/release/imgorigin
[ -e samples/large.jpg ] || "$bin" samples samples
exec "$bin" serve "$@"
