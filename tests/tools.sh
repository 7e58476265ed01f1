# Sourced by tests/run.sh, loadtest/run.sh and deploy/serve.sh: find a tool, or install it at
# a pinned version. Each *_tool function prints the tool's path on stdout; progress goes to
# stderr.

say() { printf '==> %s\n' "$*" >&2; }

find_bin() {
  if command -v "$1" >/dev/null 2>&1; then command -v "$1"
  elif [ -x "${CARGO_HOME:-$HOME/.cargo}/bin/$1" ]; then echo "${CARGO_HOME:-$HOME/.cargo}/bin/$1"
  elif [ -x "/usr/sbin/$1" ]; then echo "/usr/sbin/$1"
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

# apt_tool BIN PACKAGE: prints the path, installing the Debian package when missing.
apt_tool() {
  local path
  path=$(find_bin "$1")
  if [ -z "$path" ]; then
    say "installing $2 (apt-get)"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2"; } >&2 \
      || { echo "$1 is missing and apt-get install $2 failed" >&2; exit 1; }
    path=$(find_bin "$1")
  fi
  [ -x "$path" ] || { echo "$1 is missing after apt-get install $2" >&2; exit 1; }
  echo "$path"
}

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

# boto3 for deploy/verify/ (S3 uploads, the stack's outputs, SigV4 for Function URLs); the
# pin tests/run.sh installs into .venv.
BOTO3_VERSION=1.43.11

# boto3_python: prints a Python that imports boto3: .venv's, else python3 on PATH, else .venv
# after installing the pinned boto3 into it.
boto3_python() {
  if [ -x .venv/bin/python ] && .venv/bin/python -c 'import boto3' 2>/dev/null; then echo "$PWD/.venv/bin/python"; return; fi
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import boto3' 2>/dev/null; then command -v python3; return; fi
  venv_pip "boto3==$BOTO3_VERSION" >&2
  .venv/bin/python -c 'import boto3' || { echo "boto3 does not import after pip install boto3==$BOTO3_VERSION" >&2; exit 1; }
  echo "$PWD/.venv/bin/python"
}

# mozjpeg-sys leaves libjpeg-turbo's SIMD out, with a build warning only, when nasm is missing,
# and cargo keeps that build after nasm is installed: rebuild it (src/transform/simd.rs). The
# build without the `asm` feature never asks for nasm, so this finds only the default build.
clean_codecs_built_without_nasm() {
  if grep -qs "NASM not installed" "${CARGO_TARGET_DIR:-target}"/*/build/mozjpeg-sys-*/output; then
    say "mozjpeg-sys was built without nasm: rebuilding it with libjpeg-turbo's SIMD"
    cargo clean -p mozjpeg-sys
    cargo clean --release -p mozjpeg-sys
  fi
}
