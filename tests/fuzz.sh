#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers (fuzz/: cargo-fuzz, libFuzzer). Builds every target
# once, then runs each for FUZZ_SECONDS from its committed seeds (fuzz/corpus/TARGET, read
# only: new inputs go to a scratch directory, so this never grows the committed corpus).
# Fails on any crash, panic, overflow, timeout (-timeout=5) or out-of-memory (-rss_limit_mb=512)
# and prints the reproducer's path.
#
# Called by tests/run.sh; alone: `tests/fuzz.sh [TARGET...]`. Environment:
#   FUZZ_SECONDS     seconds per target (default 30)
#   FUZZ_TARGET_DIR  cargo's target directory for the fuzz build (default below)
#   CARGO_FUZZ       the cargo-fuzz binary (else found, or installed pinned with cargo install)
# Reproduce a finding: `RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a --sanitizer none TARGET FILE`.
#
# The build goes outside the work tree, to ~/.cache/imgorigin-fuzz-target: every crate is
# built instrumented with its own flags, so nothing is shared with target/, and the dependency
# tree (the AWS SDK, rustls and aws-lc, the codecs) costs about 18 CPU minutes from cold. Kept
# there it is built once per machine rather than once per clone; a run then rebuilds imgorigin
# and the targets only.
#
# Built as `cargo fuzz build` does by default, release with debug assertions and overflow
# checks (`-O -a`; `-O` alone turns them off), without AddressSanitizer (`--sanitizer none`):
# the code is safe Rust, the findings looked for are panics, overflows, hangs and OOMs, and
# ASan instruments every crate once more and slows every execution. cargo-fuzz asks for
# nightly features; RUSTC_BOOTSTRAP=1 lets the stable toolchain accept them.
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_FUZZ_VERSION=0.13.2
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imgorigin-fuzz-target}
BUILD_FLAGS=(-O -a --sanitizer none --target-dir "$FUZZ_TARGET_DIR")
TRIPLE=$(rustc -vV | sed -n 's/^host: //p')
case "$FUZZ_SECONDS" in
  '' | *[!0-9]* | 0) echo "FUZZ_SECONDS must be a positive whole number of seconds, not '$FUZZ_SECONDS'" >&2; exit 1 ;;
esac

# shellcheck source=tests/tools.sh
source tests/tools.sh

CARGO_FUZZ=${CARGO_FUZZ:-$(cargo_tool cargo-fuzz cargo-fuzz "$CARGO_FUZZ_VERSION" 3)}
# libfuzzer-sys compiles libFuzzer (C++).
apt_tool c++ g++ >/dev/null

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <("$CARGO_FUZZ" fuzz list)
fi
[ ${#targets[@]} -gt 0 ] || { echo "cargo fuzz list found no fuzz target in fuzz/" >&2; exit 1; }

say "fuzz: building the targets (cargo fuzz build ${BUILD_FLAGS[*]})"
start=$SECONDS
RUSTC_BOOTSTRAP=1 "$CARGO_FUZZ" fuzz build "${BUILD_FLAGS[@]}" >&2
say "fuzz: built in $((SECONDS - start)) s; running each target ${FUZZ_SECONDS} s"

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
failed=()
for target in "${targets[@]}"; do
  bin=$FUZZ_TARGET_DIR/$TRIPLE/release/$target
  seeds=fuzz/corpus/$target
  [ -x "$bin" ] || { echo "fuzz target $target was not built ($bin)" >&2; exit 1; }
  [ -d "$seeds" ] || { echo "fuzz target $target has no seed corpus ($seeds)" >&2; exit 1; }
  artifacts=fuzz/artifacts/$target
  mkdir -p "$scratch/$target" "$artifacts"
  log=$scratch/$target.log
  rc=0
  "$bin" "$scratch/$target" "$seeds" \
    -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=512 -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  new=$(find "$scratch/$target" -type f | wc -l)
  cov=$(sed -n 's/.*DONE *cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
  if [ "$rc" -ne 0 ]; then
    reproducer=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
    echo "==> fuzz: FAILED: $target (exit $rc after ${execs:-?} executions); reproducer: ${reproducer:-none written}" >&2
    grep -a -m1 -A12 -E "panicked at|ERROR: libFuzzer" "$log" >&2 || tail -n 30 "$log" >&2
    failed+=("$target: ${reproducer:-see the log above}")
  elif [ -z "$execs" ] || [ "$execs" -eq 0 ]; then
    tail -n 30 "$log" >&2
    echo "==> fuzz: FAILED: $target ran no input" >&2
    failed+=("$target: ran no input")
  else
    say "fuzz: $target: $execs executions in ${FUZZ_SECONDS} s, coverage ${cov:-?} edges, $new new inputs (not kept), no finding"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found ${#failed[@]} failing target(s):" >&2
  printf '  %s\n' "${failed[@]}" >&2
  echo "reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run ${BUILD_FLAGS[*]} TARGET REPRODUCER" >&2
  exit 1
fi
say "fuzz: ${#targets[@]} targets, no finding"
