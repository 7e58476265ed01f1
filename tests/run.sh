#!/usr/bin/env bash
# Runs every test: the one command in the README, and what .ci/run calls.
#
# Installs the S3-protocol servers the tests start when they are missing:
#   s3s-fs       (cargo install --locked, pinned; ~5 min to build on 2 cores, once)
#   cargo-lambda (cargo install --locked, pinned; ~17 min to build on 2 cores, once)
#   moto         (pip into .venv, pinned)
# Extra arguments go to `cargo test` (e.g. `tests/run.sh --test conformance`).
set -euo pipefail
cd "$(dirname "$0")/.."

S3S_FS_VERSION=0.14.1
CARGO_LAMBDA_VERSION=1.9.2
MOTO_VERSION=5.2.1

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

if [ -z "${MOTO_SERVER:-}" ]; then
  if [ -x .venv/bin/moto_server ]; then
    MOTO_SERVER=$PWD/.venv/bin/moto_server
  elif command -v moto_server >/dev/null 2>&1 && moto_server --help >/dev/null 2>&1; then
    MOTO_SERVER=$(command -v moto_server)
  else
    say "installing moto[server]==$MOTO_VERSION into .venv"
    python3 -m venv .venv || { echo "python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
    .venv/bin/pip install --quiet "moto[server]==$MOTO_VERSION"
    MOTO_SERVER=$PWD/.venv/bin/moto_server
  fi
fi
"$MOTO_SERVER" --help >/dev/null 2>&1 || { echo "moto_server at $MOTO_SERVER does not run: pip install 'moto[server]==$MOTO_VERSION'" >&2; exit 1; }

export S3S_FS MOTO_SERVER CARGO_LAMBDA
say "s3s-fs: $S3S_FS; cargo-lambda: $CARGO_LAMBDA; moto: $MOTO_SERVER"
# Release profile: the tests measure memory and move GiBs, and the dependencies are then
# shared with `cargo build --release`.
exec cargo test --release "$@"
