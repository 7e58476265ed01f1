#!/usr/bin/env bash
# deploy/verify.sh, the command a user points at a deployed stack, run here against local
# stand-ins, so that it is known to work before anyone points it at AWS:
#  (a) `imgorigin serve` over s3s-fs in the CloudFront slot, signed links under private/,
#      --quick: every fact that serve can show PASSes, the CloudFront-only ones SKIP;
#  (b) the stream-mode function under `cargo lambda watch` as the stream Function URL, its
#      requests SigV4-signed as for AWS (the emulator ignores the signature), the 190 MiB
#      stream included (left out with `tests/verify.sh --quick`);
#  (c) the stream emulator put in the CloudFront slot, where several ranges must come back
#      multipart: the command must print FAIL and exit 1;
#  (d) `--stack`: the stack's outputs and parameters read from CloudFormation (moto, with a
#      stand-in stack whose outputs name the local targets) and `--break-stream`, which lowers
#      the stream function's timeout (moto's function) for the cut check and restores it.
# The store is s3s-fs behind tests/verify_faults.py, which breaks every read of keys under
# cut/ after 1 MiB, so --faulty-store shows what a viewer sees of a stream failed mid-body.
# Each run uploads its fixtures through the S3 API and removes them (--cleanup).
#
# The binary is target/release/imgorigin as `cargo test --release` builds it (IMGORIGIN_BIN
# overrides); S3S_FS, CARGO_LAMBDA, MOTO_SERVER and VERIFY_PYTHON override the tools, which
# tests/run.sh installs. A missing tool is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=tests/tools.sh
source tests/tools.sh

quick=()
[ "${1:-}" = --quick ] && quick=(--quick)

fail() { echo "tests/verify.sh: $*" >&2; exit 1; }
bin=${IMGORIGIN_BIN:-${CARGO_TARGET_DIR:-target}/release/imgorigin}
[ -x "$bin" ] || fail "$bin is missing: build it with 'cargo test --release --no-run' (tests/run.sh does)"
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
s3s_fs=${S3S_FS:-$(find_bin s3s-fs)}
[ -n "$s3s_fs" ] || fail "s3s-fs not found: cargo install --locked s3s-fs --version 0.14.1 --features binary (tests/run.sh installs it)"
cargo_lambda=${CARGO_LAMBDA:-$(find_bin cargo-lambda)}
[ -n "$cargo_lambda" ] || fail "cargo-lambda not found: cargo install --locked cargo-lambda --version 1.9.2 (tests/run.sh installs it)"
moto_server=${MOTO_SERVER:-$(find_bin moto_server)}
[ -n "$moto_server" ] || { [ -x .venv/bin/moto_server ] && moto_server=$PWD/.venv/bin/moto_server; }
[ -n "$moto_server" ] || fail "moto_server not found: .venv/bin/pip install 'moto[server]==5.2.1' (tests/run.sh installs it)"
command -v curl >/dev/null || fail "curl not found: apt-get install curl"
export VERIFY_PYTHON=${VERIFY_PYTHON:-$(boto3_python)}

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  fail "nothing listens on port $1 ($2)"
}
# The binary and the script in a hermetic AWS environment: test credentials, no profile, no
# endpoint or proxy from the caller's shell, no instance metadata. An array, not a function:
# `"${hermetic[@]}" CMD &` makes $! the command's own PID (env execs it), so it can be stopped.
hermetic=(env -u AWS_PROFILE -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_S3 -u AWS_SESSION_TOKEN
  -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u http_proxy -u https_proxy -u all_proxy
  -u IMGORIGIN_ROOT -u IMGORIGIN_BUCKET
  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
  AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true)

mkdir -p "$work/s3/images"
s3_port=$(free_port)
"$s3s_fs" --host 127.0.0.1 --port "$s3_port" --access-key test --secret-key test "$work/s3" \
  >"$work/s3s-fs.log" 2>&1 &
pids+=($!)
wait_port "$s3_port" s3s-fs
proxy_port=$(free_port)
python3 tests/verify_faults.py "$proxy_port" "$s3_port" >"$work/proxy.log" 2>&1 &
pids+=($!)
wait_port "$proxy_port" "tests/verify_faults.py"
store=(--bucket images --endpoint-url "http://127.0.0.1:$s3_port")

echo "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" >"$work/keys"
serve_port=$(free_port)
"${hermetic[@]}" "$bin" serve --listen "127.0.0.1:$serve_port" --bucket images \
  --endpoint "http://127.0.0.1:$proxy_port" --signing-keys-file "$work/keys" --signed-prefix private/ \
  >"$work/serve.log" 2>&1 &
pids+=($!)
wait_port "$serve_port" "imgorigin serve"

watch_port=$(free_port)
"${hermetic[@]}" "$cargo_lambda" lambda watch --only-lambda-apis --disable-cors -A 127.0.0.1 -P "$watch_port" \
  >"$work/watch.log" 2>&1 &
pids+=($!)
wait_port "$watch_port" "cargo lambda watch"
"${hermetic[@]}" AWS_LAMBDA_RUNTIME_API="http://127.0.0.1:$watch_port/.rt" AWS_LAMBDA_FUNCTION_NAME=_ \
  IMGORIGIN_BUCKET=images IMGORIGIN_ENDPOINT="http://127.0.0.1:$proxy_port" IMGORIGIN_INVOKE_MODE=stream \
  "$bin" >"$work/function.log" 2>&1 &
function_pid=$!
pids+=($!)
stream_url=http://127.0.0.1:$watch_port/lambda-url/_
# Ready when the emulator hands the function an invocation (any answer; a missing key is 404).
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$stream_url/warm-up")" = 404 ] && break
  sleep 0.1
done

# run NAME EXPECTED_EXIT ARGS...: deploy/verify.sh with ARGS (and the variables in run_env);
# its output in $work/NAME.out.
run_env=()
run() {
  local name=$1 want=$2 start status=0
  shift 2
  say "verify ($name): deploy/verify.sh $*"
  start=$(date +%s.%N)
  "${hermetic[@]}" "${run_env[@]}" deploy/verify.sh "$@" >"$work/$name.out" 2>&1 &
  local verify_pid=$!
  # Nothing restarts the function under the emulator: once it has exited, every request
  # would wait out its timeout (minutes per run), so stop at once and show why.
  while kill -0 "$verify_pid" 2>/dev/null; do
    if ! kill -0 "$function_pid" 2>/dev/null; then
      kill "$verify_pid" 2>/dev/null || true
      sed 's/^/    /' "$work/$name.out" >&2
      grep -v '^[ {]' "$work/function.log" | tail -20 | sed 's/^/    function: /' >&2
      fail "($name) the function under cargo lambda watch exited (its log's last lines above)"
    fi
    sleep 0.5
  done
  wait "$verify_pid" || status=$?
  sed 's/^/    /' "$work/$name.out" >&2
  [ "$status" = "$want" ] || fail "($name) exit $status, expected $want"
  say "verify ($name): exit $status in $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)") s"
}
# expect NAME STATUS ENDPOINT FACT [COUNT]: that many lines (default 1 or more) say so.
expect() {
  local n
  n=$(grep -cE "^$2 +$3 +$4 " "$work/$1.out" || true)
  if [ -n "${5:-}" ]; then
    [ "$n" = "$5" ] || fail "($1) $n lines '$2 $3 $4', expected $5"
  else
    [ "$n" -ge 1 ] || fail "($1) no line '$2 $3 $4'"
  fi
}
no_fail() { ! grep -qE '^FAIL ' "$work/$1.out" || fail "($1) has FAIL lines"; }
cleaned() {
  grep -q '^cleanup: ' "$work/$1.out" || fail "($1) no cleanup line"
  [ -z "$(find "$work/s3/images" -type f | head -1)" ] || fail "($1) fixtures left: $(find "$work/s3/images" -type f | head -3)"
}

# (a) serve in the CloudFront slot.
run a 0 --cloudfront "http://127.0.0.1:$serve_port" "${store[@]}" --no-sign \
  --signed-prefixes private/ --signing-keys-file "$work/keys" --imgorigin "$bin" \
  --faulty-store --quick --cleanup
no_fail a
for fact in get.whole.small get.whole.medium get.empty range.single range.single.mid range.suffix \
  range.open range.416 range.after-full head.small head.headonly inm.304 if-match.412 \
  multi-range.ascending multi-range.descending multi-range.adjacent signed.unsigned-403 \
  signed.link-200 signed.second-link signed.tampered-403 signed.unsigned-after stream.cut; do
  expect a PASS cloudfront "$fact" 1
done
expect a PASS cloudfront get.special-key 2
grep -qE '^SKIP +cloudfront +revalidate\.304 +\(not a CloudFront target\)' "$work/a.out" || fail "(a) revalidate.304 not skipped as not CloudFront"
grep -qE '^SKIP +cloudfront +cache\.key +\(not a CloudFront target\)' "$work/a.out" || fail "(a) cache.key not skipped as not CloudFront"
grep -qE '^PASS +cloudfront +stream\.cut .*incomplete: the connection closed [0-9]+ bytes short of Content-Length' "$work/a.out" \
  || fail "(a) the cut stream was not seen short of its Content-Length"
cleaned a

# (b) the stream function under the emulator, requests signed.
run b 0 --stream-url "$stream_url" "${store[@]}" --faulty-store --cleanup "${quick[@]}"
no_fail b
for fact in get.whole.small get.whole.medium get.empty get.special-key range.single range.single.mid \
  range.suffix range.open range.416 head.small head.headonly inm.304 if-match.412 \
  multi-range.ascending stream.cut; do
  expect b PASS stream "$fact" 1
done
grep -qE '^PASS +stream +multi-range\.ascending +bytes=0-99,1000-1099: 200 whole object' "$work/b.out" \
  || fail "(b) several ranges were not answered whole by the stream function"
grep -qE '^PASS +stream +stream\.cut .*IncompleteRead' "$work/b.out" || fail "(b) the cut stream did not break off"
grep -qE '^SKIP +stream +direct\.unsigned-403 +\(not an AWS Function URL' "$work/b.out" || fail "(b) direct.unsigned-403 not skipped"
if [ ${#quick[@]} -eq 0 ]; then
  expect b PASS stream stream.190MiB 1
  grep -qE '^SKIP +stream +stream\.rate-cap +\(not an AWS Function URL' "$work/b.out" || fail "(b) rate cap not skipped"
else
  grep -qE '^SKIP +stream +stream\.190MiB +\(--quick\)' "$work/b.out" || fail "(b) stream.190MiB not skipped with --quick"
fi
cleaned b

# (c) a broken fact makes the command fail.
run c 1 --cloudfront "$stream_url" "${store[@]}" --no-sign --quick --cleanup
expect c FAIL cloudfront multi-range.ascending 1
grep -qE '^summary: [0-9]+ PASS, [1-9][0-9]* FAIL \([1-9][0-9]* required\)' "$work/c.out" || fail "(c) no summary of required FAILs"
cleaned c

# (d) --stack and --break-stream against moto's CloudFormation and Lambda.
moto_port=$(free_port)
"$moto_server" -H 127.0.0.1 -p "$moto_port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_port "$moto_port" moto_server
moto=http://127.0.0.1:$moto_port
"${hermetic[@]}" AWS_ENDPOINT_URL="$moto" "$VERIFY_PYTHON" - "$stream_url" <<'PY' || fail "(d) could not create the stand-in stack in moto"
import json, sys
import boto3
role = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": {
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": "lambda.amazonaws.com"}}]}}}
function = {"Type": "AWS::Lambda::Function", "Properties": {
    "FunctionName": {"Fn::Sub": "${AWS::StackName}-stream"}, "Runtime": "provided.al2023",
    "Handler": "bootstrap", "Timeout": 180, "Code": {"ZipFile": "stand-in"},
    "Role": {"Fn::GetAtt": ["FunctionRole", "Arn"]}}}
template = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {k: {"Type": "String", "Default": ""}
                   for k in ("Prefix", "SignedPrefixes", "MultiRange", "RawOrigin")},
    "Resources": {"FunctionRole": role, "StreamFunction": function},
    "Outputs": {"DistributionDomainName": {"Value": "d111111abcdef8.cloudfront.net"},
                "BucketName": {"Value": "images"},
                "StreamFunctionUrl": {"Value": sys.argv[1] + "/"}},
}
params = {"Prefix": "", "SignedPrefixes": "private/", "MultiRange": "multipart", "RawOrigin": "lambda"}
boto3.client("cloudformation").create_stack(
    StackName="verify", TemplateBody=json.dumps(template),
    Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
PY
# The distribution's domain is overridden by the local serve; everything else comes from the stack.
run_env=(AWS_ENDPOINT_URL="$moto")
run d 0 --stack verify --cloudfront "http://127.0.0.1:$serve_port" \
  --endpoint-url "http://127.0.0.1:$s3_port" --no-sign --signing-keys-file "$work/keys" \
  --imgorigin "$bin" --break-stream --cleanup "${quick[@]}"
no_fail d
grep -qE "^stack verify: CloudFront http://127.0.0.1:$serve_port, bucket images, Prefix '', SignedPrefixes 'private/', MultiRange multipart, RawOrigin lambda$" "$work/d.out" \
  || fail "(d) the stack's outputs and parameters were not read"
expect d PASS stream get.whole.small 1
expect d PASS cloudfront signed.link-200 1
if [ ${#quick[@]} -eq 0 ]; then
  grep -q '^break-stream: verify-stream timeout 180 s -> 10 s$' "$work/d.out" || fail "(d) the timeout was not lowered"
  grep -q '^break-stream: verify-stream timeout restored to 180 s$' "$work/d.out" || fail "(d) the timeout was not restored"
  expect d PASS cloudfront stream.cut 1
  expect d PASS stream stream.cut 1
else
  expect d SKIP cloudfront stream.cut 1
fi
timeout=$("${hermetic[@]}" AWS_ENDPOINT_URL="$moto" "$VERIFY_PYTHON" -c \
  'import boto3; print(boto3.client("lambda").get_function_configuration(FunctionName="verify-stream")["Timeout"])')
[ "$timeout" = 180 ] || fail "(d) the stream function's timeout is $timeout after the run, not 180"
cleaned d
say "verify: deploy/verify.sh ran against serve, the stream emulator, a broken target and a stack as expected"
