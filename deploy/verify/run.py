"""One run's state, which every check reads: the targets, the S3 client, the run's keys and
how a viewer or the router spells them, signed links, and the results so far."""

import base64
import os
import re
import shutil
import subprocess
import time
import urllib.parse
import uuid

from .fixtures import ROOT
from .report import Results
from .wire import Endpoint, sigv4_signer

# deploy/verify/ -> the repository's target/release/imgorigin, when the binary is not on PATH.
REPO_BINARY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "target", "release",
                           "imgorigin")


class Verify:
    """The run: `args` as parsed (and filled from the stack), the endpoints that were given
    (cf, stream, buffered; None when not), `fx` the fixtures by name once uploaded, `r` the
    results."""

    def __init__(self, args, session):
        self.args = args
        self.session = session
        self.r = Results()
        self.run_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
        self.prefix = args.prefix or ""
        self.signed_prefixes = [p for p in (args.signed_prefixes or "").split(",") if p]
        self.run_key = f"{ROOT}{self.run_id}/"
        self.link_cache = {}
        direct = args.stream_url or args.buffered_url
        signer = None if args.no_sign or not direct else sigv4_signer(session, args.region)
        self.cf = Endpoint("cloudfront", args.cloudfront) if args.cloudfront else None
        self.stream = Endpoint("stream", args.stream_url, signer) if args.stream_url else None
        self.buffered = Endpoint("buffered", args.buffered_url, signer) if args.buffered_url else None
        self.s3 = s3_client(session, args)
        self.fx = {}

    # -- keys and links

    def signed(self, key):
        return any(p == "*" or key.startswith(p) for p in self.signed_prefixes)

    def path(self, key):
        """The viewer's path for a key: every byte but unreserved ones and '/' escaped."""
        return "/" + urllib.parse.quote(key, safe="/-._~")

    def link(self, key, fresh=False, raw_path=None):
        """The CloudFront path for a key, minted with `imgorigin sign` when the key is signed."""
        path = raw_path or self.path(key)
        if not self.signed(key):
            return path
        if (path, fresh) in self.link_cache:
            return self.link_cache[(path, fresh)]
        link = mint(self.args, path, "2h" if fresh else "1h")
        self.link_cache[(path, fresh)] = link
        return link

    def routed_path(self, key):
        """The path the router sends a Function URL for this key (Note 3 in the template)."""
        if re.fullmatch(r"[A-Za-z0-9._~/-]*", key) and not key.startswith("~/"):
            return "/" + key
        return "/~/" + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")

    # -- helpers for checks

    def endpoints(self, *roles):
        return [e for e in (self.cf, self.stream, self.buffered) if e is not None and e.role in roles]

    def url_for(self, ep, f):
        if ep.role == "cloudfront":
            return self.link(f.key)
        return self.routed_path(f.key)

    def aws(self):
        """Whether any target is on AWS (then some facts can only be checked by hand)."""
        return any(e is not None and (e.cloudfront or e.function_url_on_aws)
                   for e in (self.cf, self.stream, self.buffered))

    def etag(self, ep, f):
        a = ep.fetch("HEAD", self.url_for(ep, f))
        return a.header("etag")


def s3_client(session, args):
    """The client for uploads and cleanup: --endpoint-url (a local S3 server) path-style."""
    s3_args = {"region_name": args.region}
    if args.endpoint_url:
        s3_args["endpoint_url"] = args.endpoint_url
        from botocore.config import Config
        s3_args["config"] = Config(s3={"addressing_style": "path"})
    s3 = session.client("s3", **s3_args)
    # Keys come back as stored, not URL-encoded: s3s-fs encodes '+' in a way boto3 reads as
    # a space, and the cleanup would miss "a b+c.bin".
    from botocore.handlers import set_list_objects_encoding_type_url
    for op in ("ListObjectsV2", "ListObjectVersions"):
        s3.meta.events.unregister(f"before-parameter-build.s3.{op}",
                                  set_list_objects_encoding_type_url)
    return s3


def mint(args, path, expires):
    """A signed link from `imgorigin sign` (the same code the origin and the edge verify)."""
    if not args.signing_keys_file:
        raise LookupError("no --signing-keys-file to mint a link with")
    exe = args.imgorigin or shutil.which("imgorigin")
    if not exe:
        exe = REPO_BINARY if os.path.exists(REPO_BINARY) else None
    if not exe:
        raise LookupError("no imgorigin binary to mint a link with (--imgorigin PATH)")
    out = subprocess.run([exe, "sign", "--signing-keys-file", args.signing_keys_file,
                          "--expires-in", expires, path],
                         capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise LookupError(f"imgorigin sign failed: {out.stderr.strip()}")
    return out.stdout.strip()
