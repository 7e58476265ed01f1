#!/usr/bin/env bash
# The image as users get it (deploy/container/build.sh): podman run needs cgroups this machine
# lacks, so the image's root filesystem is mounted (podman image mount) and its entrypoint and
# user, read from the image, run under chroot, against s3s-fs on the host's loopback. Checks:
# a sample object's exact bytes (SHA-256), the origin lock, and the health probe that
# deploy/container.yaml's load balancer uses (GET / without the header: 403).
# Usage: tests/container.sh S3S_FS
set -euo pipefail
cd "$(dirname "$0")/.."
s3s_fs=$1
[ "$(id -u)" = 0 ] || { echo "tests/container.sh needs root: podman builds with --isolation chroot here, and the entrypoint runs under chroot" >&2; exit 1; }
# shellcheck source=tests/tools.sh
source tests/tools.sh
tag=imgorigin:test
deploy/container/build.sh "$tag"
podman=$(apt_tool podman podman)
p() { "$podman" --storage-driver vfs "$@"; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  p image unmount "$tag" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2; exit 1
}

mkdir -p "$work/s3/images"
cp samples/waves.jpg "$work/s3/images/waves.jpg"
s3_port=$(free_port)
"$s3s_fs" --host 127.0.0.1 --port "$s3_port" --access-key test --secret-key test "$work/s3" \
  >/dev/null 2>&1 &
pids+=($!)
wait_port "$s3_port"

root=$(p image mount "$tag")
chroot_bin=$(command -v chroot)
entrypoint=$(p image inspect --format '{{join .Config.Entrypoint " "}}' "$tag")
user=$(p image inspect --format '{{.Config.User}}' "$tag")
port=$(free_port)
say "image $tag: entrypoint '$entrypoint', user $user, under chroot"
# shellcheck disable=SC2086 # the entrypoint is words
env -i IMGORIGIN_LISTEN="127.0.0.1:$port" IMGORIGIN_BUCKET=images \
  IMGORIGIN_ENDPOINT="http://127.0.0.1:$s3_port" IMGORIGIN_REGION=us-east-1 \
  IMGORIGIN_REQUIRE_HEADER=X-Origin-Verify:container-test-secret \
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_EC2_METADATA_DISABLED=true \
  "$chroot_bin" --userspec="$user" "$root" $entrypoint >"$work/log" 2>&1 &
pids+=($!)
wait_port "$port"

probe=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")
[ "$probe" = 403 ] || { echo "health probe: $probe, expected 403" >&2; cat "$work/log" >&2; exit 1; }
got=$(curl -sf -H 'X-Origin-Verify: container-test-secret' "http://127.0.0.1:$port/waves.jpg" | sha256sum)
want=$(sha256sum <samples/waves.jpg)
[ "$got" = "$want" ] || { echo "waves.jpg from the image: $got, expected $want" >&2; cat "$work/log" >&2; exit 1; }
say "container: health probe 403, waves.jpg exact (${want%% *}), image $(p image inspect --format '{{.Size}}' "$tag") bytes"
