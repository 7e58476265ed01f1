#!/usr/bin/env bash
# Verifies a deployed stack in minutes (docs/lambda.md, "Verify a deployed stack"):
#   deploy/verify.sh --stack NAME [--region R] [--quick] [--cleanup]
#   deploy/verify.sh --cloudfront URL --stream-url URL --buffered-url URL --bucket NAME ...
# Uploads fixtures under imgorigin-verify/ in the stack's bucket, runs the checks through
# CloudFront and both Function URLs, prints PASS/FAIL/SKIP per platform fact, exits 1 if a
# required check failed. `deploy/verify.sh --help` lists every option.
#
# Runs the package deploy/verify/ (its __init__.py lists the modules) with a Python that has
# boto3: the repository's .venv, else python3, else it installs the pinned boto3
# (tests/tools.sh) into .venv first. AWS credentials and region come from the usual places
# (AWS_PROFILE, environment, ~/.aws).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
python=${VERIFY_PYTHON:-$(cd "$repo" && source tests/tools.sh && boto3_python)}
exec "$python" "$repo/deploy/verify" "$@"
