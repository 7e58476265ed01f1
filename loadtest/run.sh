#!/usr/bin/env bash
# Load test: imgorigin against the backend it reads from (the limit) and against nginx as a
# plain reverse proxy (the peer), with identical requests, in one run. docs/performance.md.
#
#   loadtest/run.sh                   every scenario, nginx as the S3 GetObject stand-in
#   loadtest/run.sh --quick           reduced run for CI (under 2 minutes once built)
#   loadtest/run.sh --backend s3s     s3s-fs as the backend (a real S3 protocol server)
#   loadtest/run.sh --lambda          imgorigin's Lambda path under `cargo lambda watch`
#   loadtest/run.sh --target URL      the scenarios against an origin already running
#   loadtest/run.sh --help            every flag, thresholds included
#
# Installs what it needs when missing: oha (cargo install --locked, pinned; ~5 min on 2 cores,
# once), nginx, curl and valgrind (apt-get), s3s-fs and cargo-lambda only for the modes that use them, and
# for the transform scenarios node (apt-get nodejs; sharp 0.35.5 needs node >= 20.9) with
# `npm ci` in loadtest/sharp (sharp 0.35.5, pinned by its package-lock.json), for the IIIF
# scenarios the same (the photo they start from) plus vips (apt-get libvips-tools) and
# IIPImage (apt-get iipimage-server).
# Results: loadtest/results/latest.{md,json,svg}; exit 1 when a threshold is missed.
set -euo pipefail
cd "$(dirname "$0")/.."

OHA_VERSION=1.16.0
NODE_MIN=20.9.0
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
# callgrind counts the access log's instructions per request (loadtest/harness/logcost.py).
export VALGRIND=${VALGRIND:-$(apt_tool valgrind valgrind)}
case " $* " in
  *" --backend s3s "*|*" --backend=s3s "*)
    export S3S_FS=${S3S_FS:-$(cargo_tool s3s-fs s3s-fs "$S3S_FS_VERSION" 5 binary)} ;;
esac
case " $* " in
  *" --lambda "*) export CARGO_LAMBDA=${CARGO_LAMBDA:-$(cargo_tool cargo-lambda cargo-lambda "$CARGO_LAMBDA_VERSION" 17)} ;;
esac
# The transform and IIIF scenarios need node and sharp (the photo): every run, unless --only
# names none of them, --lambda (both are measured with `imgorigin serve`) or --target (the
# photo is uploaded with the other objects, from --make-objects; IIIF is not run there).
needs_node=1
needs_iiif=1
case " $* " in
  *" --lambda "*|*" --target "*|*" --target="*) needs_node=0 needs_iiif=0 ;;
  *" --only "*|*" --only="*)
    case "$*" in *transform*|*iiif*) ;; *) needs_node=0 ;; esac
    case "$*" in *iiif*) ;; *) needs_iiif=0 ;; esac ;;
esac
if [ "$needs_iiif" = 1 ]; then
  export VIPS=${VIPS:-$(apt_tool vips libvips-tools)}
  IIPSRV=${IIPSRV:-/usr/lib/iipimage-server/iipsrv.fcgi}
  if [ ! -x "$IIPSRV" ]; then
    say "installing iipimage-server (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends iipimage-server; } >&2 \
      || { echo "iipimage-server is missing and apt-get install failed" >&2; exit 1; }
    [ -x "$IIPSRV" ] || { echo "$IIPSRV is missing after apt-get install iipimage-server" >&2; exit 1; }
  fi
  export IIPSRV
fi
if [ "$needs_node" = 1 ]; then
  export NODE=${NODE:-$(apt_tool node nodejs)}
  node_version=$("$NODE" -p process.versions.node) || { echo "$NODE does not run" >&2; exit 1; }
  if [ "$(printf '%s\n' "$NODE_MIN" "$node_version" | sort -V | head -n1)" != "$NODE_MIN" ]; then
    echo "node $node_version at $NODE is older than $NODE_MIN, which sharp 0.35.5 (the transform" \
      "scenarios' peer) needs; Debian 12's nodejs is 18. Install node >= 20.9 (e.g. NodeSource)" \
      "and set NODE=/path/to/node, or leave the transform scenarios out with --only." >&2
    exit 1
  fi
  if ! (cd loadtest/sharp && "$NODE" -e "require('sharp')" 2>/dev/null); then
    NPM=${NPM:-$(apt_tool npm npm)}
    say "npm ci in loadtest/sharp (sharp 0.35.5 and its prebuilt libvips)"
    (cd loadtest/sharp && "$NPM" ci --no-audit --no-fund >&2) \
      || { echo "npm ci in loadtest/sharp failed: the transform scenarios need sharp" >&2; exit 1; }
    (cd loadtest/sharp && "$NODE" -e "require('sharp')") \
      || { echo "sharp does not load after npm ci in loadtest/sharp (see the error above)" >&2; exit 1; }
  fi
fi
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
