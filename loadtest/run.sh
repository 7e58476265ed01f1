#!/usr/bin/env bash
# Load test: imgorigin against the backend it reads from (the limit) and against nginx as a
# plain reverse proxy (the peer), with identical requests, in one run. README "Performance".
#
#   loadtest/run.sh                   every scenario, nginx as the S3 GetObject stand-in
#   loadtest/run.sh --quick           reduced run for CI (under 2 minutes once built)
#   loadtest/run.sh --backend s3s     s3s-fs as the backend (a real S3 protocol server)
#   loadtest/run.sh --lambda          imgorigin's Lambda path under `cargo lambda watch`
#   loadtest/run.sh --target URL      the scenarios against an origin already running
#   loadtest/run.sh --help            every flag, thresholds included
#
# Installs what it needs when missing: oha (cargo install --locked, pinned; ~5 min on 2 cores,
# once), nginx and curl (apt-get), s3s-fs and cargo-lambda only for the modes that use them.
# Results: loadtest/results/latest.{md,json,svg}; exit 1 when a threshold is missed.
set -euo pipefail
cd "$(dirname "$0")/.."

OHA_VERSION=1.16.0
S3S_FS_VERSION=0.14.1
CARGO_LAMBDA_VERSION=1.9.2

# shellcheck source=tests/tools.sh
source tests/tools.sh

for arg in "$@"; do
  case "$arg" in -h|--help) exec python3 loadtest/harness/main.py --help ;; esac
done

export OHA=${OHA:-$(cargo_tool oha oha "$OHA_VERSION" 5)}
export NGINX_BIN=${NGINX_BIN:-$(apt_tool nginx nginx)}
export CURL=${CURL:-$(apt_tool curl curl)}
case " $* " in
  *" --backend s3s "*|*" --backend=s3s "*)
    export S3S_FS=${S3S_FS:-$(cargo_tool s3s-fs s3s-fs "$S3S_FS_VERSION" 5 binary)} ;;
esac
case " $* " in
  *" --lambda "*) export CARGO_LAMBDA=${CARGO_LAMBDA:-$(cargo_tool cargo-lambda cargo-lambda "$CARGO_LAMBDA_VERSION" 17)} ;;
esac
case " $* " in
  *" --target "*|*" --target="*) ;;
  *)
    # `cargo test --release` builds target/release/imgorigin with the features the test
    # dependencies unify in; `cargo build --release` would rebuild most of the tree with fewer
    # (minutes on 2 cores) right after tests/run.sh. Same code, one build.
    say "cargo test --release --no-run (builds target/release/imgorigin)"
    cargo test --release --no-run --quiet
    export IMGORIGIN=${IMGORIGIN:-$PWD/target/release/imgorigin} ;;
esac

exec python3 loadtest/harness/main.py "$@"
