"""Verify a deployed imgorigin stack (deploy/template.yaml), or a local stand-in for one.

    deploy/verify.sh --stack NAME [--region R] [--quick] [--cleanup]
    deploy/verify.sh --cloudfront URL [--stream-url URL] [--buffered-url URL] \\
        --bucket NAME [--endpoint-url URL] [--no-sign] ...

Uploads its fixtures to the stack's bucket under `imgorigin-verify/` (after the stack's
Prefix), requests them through CloudFront and straight from both Function URLs (SigV4-signed,
service "lambda", as CloudFront's Origin Access Control signs them), and prints one line per
platform fact: PASS, FAIL or SKIP, the endpoint, and what was measured. Exits 1 when a
required check fails. docs/lambda.md ("Verify a deployed stack") explains every line; the
numbers in brackets are its post-deploy checks ("The first hour on AWS").

HTTP goes through the standard library's http.client, so status, headers and bytes are what
the wire carried (no retries, redirects or decompression); boto3 is used for S3 uploads, the
stack's outputs, SigV4 signing and (--break-stream only) the stream function's timeout.
tests/verify.sh runs this package against `imgorigin serve` and `cargo lambda watch`.

The modules, in the order a run uses them:
    cli        the command line, the order of the checks, the summary
    stack      --stack (outputs and parameters) and --break-stream (the lowered timeout)
    run        one run's state: targets, S3 client, keys and signed links
    fixtures   the objects' bytes, their upload and --cleanup
    wire       one HTTP request as the wire carried it; SigV4 for Function URLs
    judge      what is wrong with an answer (whole object, one range)
    report     the PASS/FAIL/SKIP lines and their counts
    checks_*   the checks, by subject; each docstring names the platform fact it probes
"""
