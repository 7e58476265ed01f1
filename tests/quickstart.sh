#!/usr/bin/env bash
# The README's quick start on a machine without nasm, as a new user meets it: a clean checkout
# of HEAD, a PATH without nasm, and the first line of the first `sh` block under the README's
# `## Quick start` heading, with `--listen ADDR` appended (the contract scripts rely on). It
# must build, make the large sample, say at start-up that the codecs run without their
# assembly, and serve the samples with the right bytes.
#
# The checkout builds into this tree's target directory: its build has its own feature set (no
# `asm`), so it replaces none of the default build's artifacts; cargo links the default binary
# back into target/release the next time it builds.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/tools.sh
source tests/tools.sh

here=$PWD
target=${CARGO_TARGET_DIR:-$here/target}
work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill -- "-$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "quickstart: $*" >&2
  [ -f "$work/serve.log" ] && tail -n 40 "$work/serve.log" >&2
  exit 1
}

[ -z "$(git status --porcelain --untracked-files=no)" ] \
  || say "quickstart: uncommitted changes are not in the clean checkout; it tests HEAD"
git clone --quiet --no-hardlinks "$here" "$work/checkout"

# Every command on PATH but nasm, as on a machine that never installed it.
mkdir "$work/bin"
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  for tool in "$dir"/*; do
    name=${tool##*/}
    [ "$name" = nasm ] || [ -e "$work/bin/$name" ] || ln -s "$tool" "$work/bin/$name"
  done
done
PATH=$work/bin command -v nasm >/dev/null && fail "nasm is still on the shadow PATH"

command=$(awk '/^## Quick start/ { q = 1 } q && /^```sh/ { getline; print; exit }' README.md)
[ -n "$command" ] || fail "no sh block under '## Quick start' in README.md"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
say "quickstart: '$command --listen 127.0.0.1:$port' in a clean checkout, without nasm"
(
  cd "$work/checkout"
  PATH=$work/bin CARGO_TARGET_DIR=$target exec setsid bash -c "$command --listen 127.0.0.1:$port"
) >"$work/serve.log" 2>&1 &
pid=$!

# The build takes minutes on 2 cores; the deadline is generous, not a measurement.
for _ in $(seq 1800); do
  grep -q "listening on http://127.0.0.1:$port" "$work/serve.log" && break
  kill -0 "$pid" 2>/dev/null || fail "the command ended before listening"
  sleep 0.5
done
grep -q "listening on" "$work/serve.log" || fail "not listening after 15 minutes"

base=http://127.0.0.1:$port
grep -q "nasm not found" "$work/serve.log" || fail "the script did not say it builds without nasm"
grep -q "JPEG transforms run without SIMD" "$work/serve.log" || fail "start-up did not say JPEG runs without SIMD"
grep -q "jpeg simd: off" <("$target/release/imgorigin" --version) || fail "--version does not say jpeg simd: off"

want=$(sha256sum <samples/waves.jpg | cut -d' ' -f1)
got=$(curl -sf "$base/waves.jpg" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "waves.jpg: sha256 $got, want $want"
[ -s "$work/checkout/samples/large.jpg" ] || fail "samples/large.jpg was not made on first run"
want=$(dd if="$work/checkout/samples/large.jpg" bs=1000 skip=2000 count=1 status=none | sha256sum | cut -d' ' -f1)
got=$(curl -sf -r 2000000-2000999 "$base/large.jpg" | sha256sum | cut -d' ' -f1)
[ "$got" = "$want" ] || fail "large.jpg range: sha256 $got, want $want"
status=$(curl -s -o "$work/out.webp" -w '%{http_code} %{content_type}' "$base/large.jpg?w=800&format=webp")
[ "$status" = "200 image/webp" ] || fail "resize of large.jpg: $status"
say "quickstart: built and served without nasm (waves.jpg and a range of large.jpg byte-exact, a resize to WebP)"
