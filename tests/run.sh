#!/usr/bin/env bash
# Runs every test: the one command in the README, and what .ci/run calls.
#
# Installs the S3-protocol servers the tests start when they are missing:
#   s3s-fs       (cargo install --locked, pinned; ~5 min to build on 2 cores, once)
#   cargo-lambda (cargo install --locked, pinned; ~17 min to build on 2 cores, once)
#   moto, cfn-lint (pip into .venv, pinned)
#   node         (apt-get nodejs) for the CloudFront Function tests
#   nasm         (apt-get) for the JPEG codec's SIMD and rav1e's (AVIF) assembly
#   avifdec      (apt-get libavif-bin) to decode the AVIF answers in tests/transforms.rs
#   cargo-fuzz   (cargo install --locked, pinned in tests/fuzz.sh; ~3 min to build, once) for
#                the fuzzing step, which also builds the fuzz targets (fuzz/) every run
#   podman, binutils (apt-get) to build the container image that tests/container.sh runs
#   gdal_translate (apt-get gdal-bin) for GDAL's multi-range reads in tests/gdal_multirange.rs
#   chromium (apt-get) and playwright (pip into .venv, pinned) for tests/browser_cors.rs
#   promtool     (apt-get prometheus) to check the admin listener's /metrics in tests/observe.rs
#   iiif-validator (pip into .venv, pinned): the official IIIF Image API validator, in
#                tests/iiif_validator.rs
#   vips, vipsheader (apt-get libvips-tools) to write the pyramidal TIFFs the IIIF tests read
#   OpenSeadragon (npm ci in tests/viewer, pinned by its package-lock.json; npm from apt-get)
#                for tests/iiif_viewer.rs, which drives it in chromium with playwright
#   boto3 (pip into .venv, pinned in tests/tools.sh) for deploy/verify/, which
#                tests/verify.sh runs against serve, cargo lambda watch and moto
# tests/quickstart.sh hides nasm from the README's quick start, as on a machine without it.
# Extra arguments go to `cargo test` (e.g. `tests/run.sh --test conformance`).
set -euo pipefail
cd "$(dirname "$0")/.."

S3S_FS_VERSION=0.14.1
CARGO_LAMBDA_VERSION=1.9.2
MOTO_VERSION=5.2.1
CFN_LINT_VERSION=1.51.0
PLAYWRIGHT_VERSION=1.65.2
IIIF_VALIDATOR_VERSION=1.0.5

# shellcheck source=tests/tools.sh
source tests/tools.sh

S3S_FS=${S3S_FS:-$(cargo_tool s3s-fs s3s-fs "$S3S_FS_VERSION" 5 binary)}
CARGO_LAMBDA=${CARGO_LAMBDA:-$(cargo_tool cargo-lambda cargo-lambda "$CARGO_LAMBDA_VERSION" 17)}

MOTO_SERVER=${MOTO_SERVER:-$(python_tool moto_server "moto[server]==$MOTO_VERSION")}
CFN_LINT=${CFN_LINT:-$(python_tool cfn-lint "cfn-lint==$CFN_LINT_VERSION")}

NODE=$(apt_tool node nodejs)
# mozjpeg-sys assembles libjpeg-turbo's SIMD with nasm; without it the build only warns and
# the transforms run several times slower. rav1e's build fails without it.
apt_tool nasm nasm >/dev/null
clean_codecs_built_without_nasm
# libavif's decoder (dav1d), independent of the rav1e encoder under test.
AVIFDEC=${AVIFDEC:-$(apt_tool avifdec libavif-bin)}
# GDAL reading a COG window over HTTP with multi-range GETs (tests/gdal_multirange.rs).
GDAL_TRANSLATE=${GDAL_TRANSLATE:-$(apt_tool gdal_translate gdal-bin)}
# Headless Chromium for tests/browser_cors.rs: Debian's build, driven by Playwright for Python
# (tests/browser_cors.py); Playwright's own browser download is never used.
CHROMIUM=${CHROMIUM:-$(apt_tool chromium chromium)}
# `promtool check metrics` on the admin listener's exposition (tests/observe.rs).
PROMTOOL=${PROMTOOL:-$(apt_tool promtool prometheus)}
# libvips writing tiled pyramidal TIFFs, and decoding them for comparison (tests/iiif_tiff.rs).
VIPS=${VIPS:-$(apt_tool vips libvips-tools)}
if [ -z "${PLAYWRIGHT_PYTHON:-}" ]; then
  .venv/bin/python -c "import sys; from importlib.metadata import version; sys.exit(version('playwright') != '$PLAYWRIGHT_VERSION')" 2>/dev/null \
    || venv_pip "playwright==$PLAYWRIGHT_VERSION" >&2
  PLAYWRIGHT_PYTHON=$PWD/.venv/bin/python
fi
if [ -z "${IIIF_VALIDATOR:-}" ]; then
  .venv/bin/python -c "import sys; from importlib.metadata import version; sys.exit(version('iiif-validator') != '$IIIF_VALIDATOR_VERSION')" 2>/dev/null \
    || venv_pip "iiif-validator==$IIIF_VALIDATOR_VERSION" >&2
  IIIF_VALIDATOR=$PWD/.venv/bin/iiif-validate.py
fi
OSD_VERSION=$(sed -n 's/.*"openseadragon": "\(.*\)".*/\1/p' tests/viewer/package.json)
if ! grep -qs "\"version\": \"$OSD_VERSION\"" tests/viewer/node_modules/openseadragon/package.json; then
  NPM=${NPM:-$(apt_tool npm npm)}
  say "npm ci in tests/viewer (OpenSeadragon $OSD_VERSION)"
  (cd tests/viewer && "$NPM" ci --no-audit --no-fund >&2) \
    || { echo "npm ci in tests/viewer failed: tests/iiif_viewer.rs needs OpenSeadragon" >&2; exit 1; }
fi
if [ -z "${VERIFY_PYTHON:-}" ]; then
  .venv/bin/python -c "import sys; from importlib.metadata import version; sys.exit(version('boto3') != '$BOTO3_VERSION')" 2>/dev/null \
    || venv_pip "boto3==$BOTO3_VERSION" >&2
  VERIFY_PYTHON=$PWD/.venv/bin/python
fi

say "deploy/: cfn-lint $("$CFN_LINT" --version) and the CloudFront Function's node tests"
deploy/test/lint.sh "$CFN_LINT"
"$NODE" --test deploy/

say "loadtest/harness: unit tests of the load test's arithmetic"
python3 -m unittest discover -s loadtest/harness

say "links in README.md and docs/"
python3 tests/links.py

# Builds the fuzz targets and runs each for FUZZ_SECONDS (default 30); fails on any finding.
tests/fuzz.sh

# Only for the whole run, not for `tests/run.sh --test X`: the README's quick start from a clean
# checkout without nasm (its own build, about 3 minutes), then the container image
# (deploy/container/build.sh, which builds what cargo test runs below, and links it back into
# target/release), mounted and run under chroot.
if [ $# -eq 0 ]; then
  tests/quickstart.sh
  tests/container.sh "$S3S_FS"
fi

export S3S_FS MOTO_SERVER CARGO_LAMBDA AVIFDEC GDAL_TRANSLATE CHROMIUM PLAYWRIGHT_PYTHON VERIFY_PYTHON PROMTOOL IIIF_VALIDATOR VIPS
say "s3s-fs: $S3S_FS; cargo-lambda: $CARGO_LAMBDA; moto: $MOTO_SERVER; avifdec: $AVIFDEC; gdal_translate: $GDAL_TRANSLATE; chromium: $CHROMIUM; playwright: $PLAYWRIGHT_PYTHON; boto3: $VERIFY_PYTHON; promtool: $PROMTOOL; iiif-validator: $IIIF_VALIDATOR; vips: $VIPS"

# Only for the whole run: deploy/verify.sh, the command users point at a deployed stack, run
# against serve, cargo lambda watch and moto with the binary that cargo test runs (about a
# minute, the 190 MiB stream included).
if [ $# -eq 0 ]; then
  say "cargo test --release --no-run (builds target/release/imgorigin for tests/verify.sh)"
  cargo test --release --no-run
  tests/verify.sh
fi
# Release profile: the tests measure memory and move GiBs, and the dependencies are then
# shared with `cargo build --release`.
exec cargo test --release "$@"
