#!/usr/bin/env bash
# Builds the imgorigin image, the one command users and CI share:
#   deploy/container/build.sh [TAG]          (default imgorigin:latest)
# The binary is target/release/imgorigin as `cargo test --release` builds it (one build for the
# tests, the load test and the image), stripped, with the shared libraries `ldd` lists and
# Debian's CA bundle under a root filesystem in target/container/rootfs; the Containerfile
# copies that FROM scratch. podman is installed with apt-get when missing; on this kind of
# machine it builds as root with --isolation chroot --storage-driver vfs (docs/container.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
tag=${1:-imgorigin:latest}
# shellcheck source=tests/tools.sh
source tests/tools.sh
podman=$(apt_tool podman podman)
objcopy=$(apt_tool objcopy binutils)
[ -f /etc/ssl/certs/ca-certificates.crt ] || apt_tool update-ca-certificates ca-certificates >/dev/null

say "cargo test --release --no-run (builds target/release/imgorigin)"
cargo test --release --no-run >&2
binary=target/release/imgorigin
# The image ships the fast codecs, never a build made without nasm (deploy/serve.sh's).
"$binary" --version | grep -q "jpeg simd: on, .*av1 asm: on" \
  || { echo "$binary lacks the codecs' assembly ($("$binary" --version)): install nasm and run tests/run.sh" >&2; exit 1; }

rootfs=target/container/rootfs
rm -rf "$rootfs"
mkdir -p "$rootfs/etc/ssl/certs"
"$objcopy" --strip-all "$binary" "$rootfs/imgorigin"
# The dynamic loader must be executable; the libraries too, as Debian ships them.
for lib in $(ldd "$binary" | grep -o '/[^ ]*'); do
  install -D -m 0755 "$lib" "$rootfs$lib"
done
cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"

say "podman build -t $tag"
"$podman" --storage-driver vfs build --isolation chroot -q \
  -f deploy/container/Containerfile -t "$tag" "$rootfs" >&2
size=$("$podman" --storage-driver vfs image inspect --format '{{.Size}}' "$tag")
say "built $tag: $((size / 1024 / 1024)) MiB"
