#!/usr/bin/env bash
# Runs every test: the one command in the README, and what .ci/run calls.
#
# Installs the S3-protocol servers the tests start when they are missing:
#   s3s-fs (cargo install --locked, pinned; ~5 min to build on 2 cores, once)
#   moto   (pip into .venv, pinned)
# Extra arguments go to `cargo test` (e.g. `tests/run.sh --test conformance`).
set -euo pipefail
cd "$(dirname "$0")/.."

S3S_FS_VERSION=0.14.1
MOTO_VERSION=5.2.1

say() { printf '==> %s\n' "$*" >&2; }

find_s3s_fs() {
  if command -v s3s-fs >/dev/null 2>&1; then command -v s3s-fs
  elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs" ]; then echo "${CARGO_HOME:-$HOME/.cargo}/bin/s3s-fs"
  fi
}

if [ -z "${S3S_FS:-}" ]; then
  S3S_FS=$(find_s3s_fs)
  if [ -z "$S3S_FS" ]; then
    say "installing s3s-fs $S3S_FS_VERSION (cargo install --locked; about 5 minutes on 2 cores)"
    cargo install --locked s3s-fs --version "$S3S_FS_VERSION" --features binary
    S3S_FS=$(find_s3s_fs)
  fi
fi
[ -x "$S3S_FS" ] || { echo "s3s-fs could not be installed: cargo install --locked s3s-fs --version $S3S_FS_VERSION --features binary" >&2; exit 1; }

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

export S3S_FS MOTO_SERVER
say "s3s-fs: $S3S_FS; moto: $MOTO_SERVER"
# Release profile: the tests measure memory and move GiBs, and the dependencies are then
# shared with `cargo build --release`.
exec cargo test --release "$@"
