"""The command line (deploy/verify.sh), the order of the checks, and the run from upload to
summary."""

import argparse
import time

from .checks_access import check_cache_key, check_direct_unsigned, check_signed_links
from .checks_multirange import check_multi_range
from .checks_ranges import (check_head, check_if_match, check_if_none_match, check_range_after_full,
                            check_revalidation, check_single_ranges)
from .checks_stream import check_big_stream, check_cut_stream
from .checks_whole import check_empty_object, check_special_key, check_whole_get
from .fixtures import ROOT, cleanup, upload
from .limits import BREAK_TIMEOUT
from .run import Verify
from .stack import from_stack, run_cut_on_aws

# In this order: some checks count on what earlier ones left in CloudFront's cache (check_head
# on `small`, fetched whole before), others on keys no check has fetched yet.
CHECKS = [
    check_direct_unsigned,
    check_whole_get,
    check_empty_object,
    check_special_key,
    check_single_ranges,
    check_range_after_full,
    check_head,
    check_if_none_match,
    check_if_match,
    check_revalidation,
    check_multi_range,
    check_cache_key,
    check_signed_links,
    check_big_stream,
    check_cut_stream,
]


def build_parser():
    ap = argparse.ArgumentParser(
        prog="deploy/verify.sh",
        description="Verify a deployed imgorigin stack: upload fixtures, run the checks through "
                    "CloudFront and both Function URLs, print one line per platform fact.")
    ap.add_argument("--stack", help="CloudFormation stack name (reads its outputs and parameters)")
    ap.add_argument("--region", default=None, help="AWS region of the stack (default: the SDK's)")
    ap.add_argument("--cloudfront", help="https://DOMAIN of the distribution (or a local `imgorigin serve`)")
    ap.add_argument("--stream-url", help="the RESPONSE_STREAM Function URL")
    ap.add_argument("--buffered-url", help="the BUFFERED Function URL")
    ap.add_argument("--bucket", help="the stack's bucket (BucketName output)")
    ap.add_argument("--endpoint-url", help="S3 endpoint for the uploads (a local S3 server)")
    ap.add_argument("--prefix", default=None, help="the stack's Prefix parameter (keys are uploaded under it)")
    ap.add_argument("--signed-prefixes", default=None, help="the stack's SignedPrefixes parameter")
    ap.add_argument("--multi-range", default=None, choices=["multipart", "whole"],
                    help="the stack's MultiRange parameter (default multipart)")
    ap.add_argument("--raw-origin", default=None, choices=["lambda", "s3"],
                    help="the stack's RawOrigin parameter (default lambda)")
    ap.add_argument("--signing-keys-file", help="KID:HEX lines, the keys in the SigningKeys store, to mint links")
    ap.add_argument("--imgorigin", help="the imgorigin binary for `imgorigin sign` (default: PATH, target/release)")
    ap.add_argument("--no-sign", action="store_true", help="do not SigV4-sign Function URL requests (local emulators)")
    ap.add_argument("--quick", action="store_true", help="leave out the 190 MiB stream")
    ap.add_argument("--faulty-store", action="store_true",
                    help="the store behind the targets breaks reads of keys under cut/ after 1 MiB "
                         "(tests/verify_faults.py): run the mid-body failure check")
    ap.add_argument("--break-stream", action="store_true",
                    help=f"AWS: lower the stream function's timeout to {BREAK_TIMEOUT} s for a minute to cut a "
                         "190 MiB stream mid-body, then restore it (cuts other viewers' long streams meanwhile)")
    ap.add_argument("--stream-function", help="the stream function's name, for --break-stream without --stack")
    ap.add_argument("--cleanup", action="store_true", help=f"delete everything under {ROOT} afterwards")
    ap.add_argument("--cleanup-only", action="store_true", help=f"only delete everything under {ROOT}")
    return ap


def main(argv=None):
    ap = build_parser()
    args = ap.parse_args(argv)

    import boto3
    session = boto3.Session(region_name=args.region)
    complete_args(ap, args, session)
    v = Verify(args, session)
    if args.cleanup_only:
        cleanup(v)
        return 0
    check_targets(ap, v)
    t0 = time.monotonic()
    upload(v)
    if v.cf is not None:
        identify_cloudfront(v)
    try:
        run_checks(v, session)
    finally:
        if args.cleanup:
            cleanup(v)
        else:
            print(f"fixtures kept under {v.prefix}{v.run_key}: `deploy/verify.sh ... --cleanup-only` "
                  f"removes everything under {v.prefix}{ROOT}", flush=True)
    v.r.print_summary(time.monotonic() - t0)
    return 1 if v.r.failed() else 0


def complete_args(ap, args, session):
    """The region, the stack's outputs and parameters, and the defaults that depend on them."""
    args.region = args.region or session.region_name or "us-east-1"
    if args.stack:
        from_stack(args, session)
    args.multi_range = args.multi_range or "multipart"
    args.raw_origin = args.raw_origin or "lambda"
    if not args.bucket:
        ap.error("--bucket (or --stack) is needed for the fixtures")
    if args.break_stream and not args.stream_function:
        ap.error("--break-stream needs --stack or --stream-function")


def check_targets(ap, v):
    """Something to verify, and links for it when SignedPrefixes covers the fixtures."""
    if not (v.cf or v.stream or v.buffered):
        ap.error("nothing to verify: give --stack, or --cloudfront, --stream-url, --buffered-url")
    if v.cf is not None and v.signed(v.run_key):
        try:
            v.link(v.run_key + "probe")
        except LookupError as e:
            ap.error(f"SignedPrefixes {v.args.signed_prefixes!r} covers {ROOT}, so every request "
                     f"must be signed, and {e}")


def identify_cloudfront(v):
    # A key that does not exist, so that no fixture meets CloudFront before its check; the
    # answer's headers tell whether this is CloudFront.
    v.cf.fetch("HEAD", v.link(v.run_key + "absent"))
    kind = "CloudFront" if v.cf.cloudfront else "not CloudFront (no X-Amz-Cf-Id): AWS-only facts SKIP"
    print(f"cloudfront target {v.args.cloudfront}: {kind}", flush=True)


def run_checks(v, session):
    for check in CHECKS:
        if check is check_cut_stream and v.args.break_stream and "big" in v.fx:
            run_cut_on_aws(v, session)
            continue
        check(v)
