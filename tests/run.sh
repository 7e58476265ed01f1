#!/usr/bin/env bash
# Runs every test: the one command in the README, and what .ci/run calls.
#
# Installs the S3-protocol servers the tests start when they are missing:
#   s3s-fs       (cargo install --locked, pinned; ~5 min to build on 2 cores, once)
#   cargo-lambda (cargo install --locked, pinned; ~17 min to build on 2 cores, once)
#   moto, cfn-lint (pip into .venv, pinned)
#   node         (apt-get nodejs) for the CloudFront Function tests
# Extra arguments go to `cargo test` (e.g. `tests/run.sh --test conformance`).
set -euo pipefail
cd "$(dirname "$0")/.."

S3S_FS_VERSION=0.14.1
CARGO_LAMBDA_VERSION=1.9.2
MOTO_VERSION=5.2.1
CFN_LINT_VERSION=1.51.0

say() { printf '==> %s\n' "$*" >&2; }

find_bin() {
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"
  elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/$1" ]; then echo "${CARGO_HOME:-$HOME/.cargo}/bin/$1"
  fi
}

# cargo_tool BIN CRATE VERSION MINUTES [FEATURES]: prints the path, installing when missing.
cargo_tool() {
  local path
  path=$(find_bin "$1")
  if [ -z "$path" ]; then
    say "installing $2 $3 (cargo install --locked; about $4 minutes on 2 cores, once)"
    cargo install --locked "$2" --version "$3" ${5:+--features "$5"} >&2
    path=$(find_bin "$1")
  fi
  [ -x "$path" ] || { echo "$1 could not be installed: cargo install --locked $2 --version $3 ${5:+--features $5}" >&2; exit 1; }
  echo "$path"
}

S3S_FS=${S3S_FS:-$(cargo_tool s3s-fs s3s-fs "$S3S_FS_VERSION" 5 binary)}
CARGO_LAMBDA=${CARGO_LAMBDA:-$(cargo_tool cargo-lambda cargo-lambda "$CARGO_LAMBDA_VERSION" 17)}

venv_pip() {
  if [ ! -x .venv/bin/pip ]; then
    python3 -m venv .venv || { echo "python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
  fi
  say "pip install $* into .venv"
  .venv/bin/pip install --quiet "$@"
}

# python_tool BIN SPEC: prints a working BIN, installing SPEC into .venv when none runs.
python_tool() {
  if [ -x ".venv/bin/$1" ] && ".venv/bin/$1" --help >/dev/null 2>&1; then echo "$PWD/.venv/bin/$1"; return; fi
  if command -v "$1" >/dev/null 2>&1 && "$1" --help >/dev/null 2>&1; then command -v "$1"; return; fi
  venv_pip "$2" >&2
  ".venv/bin/$1" --help >/dev/null 2>&1 || { echo "$1 does not run after pip install '$2'" >&2; exit 1; }
  echo "$PWD/.venv/bin/$1"
}

MOTO_SERVER=${MOTO_SERVER:-$(python_tool moto_server "moto[server]==$MOTO_VERSION")}
CFN_LINT=${CFN_LINT:-$(python_tool cfn-lint "cfn-lint==$CFN_LINT_VERSION")}

if ! command -v node >/dev/null 2>&1; then
  say "installing nodejs (apt-get)"
  { apt-get update -qq && apt-get install -y -qq nodejs; } >&2 || { echo "node is missing: apt-get install nodejs" >&2; exit 1; }
fi

say "deploy/: cfn-lint $("$CFN_LINT" --version) and the CloudFront Function's node tests"
"$CFN_LINT" deploy/template.yaml
node --test deploy/

export S3S_FS MOTO_SERVER CARGO_LAMBDA
say "s3s-fs: $S3S_FS; cargo-lambda: $CARGO_LAMBDA; moto: $MOTO_SERVER"
# Release profile: the tests measure memory and move GiBs, and the dependencies are then
# shared with `cargo build --release`.
exec cargo test --release "$@"
