"""The objects of a run: which keys, their upload to the stack's bucket, and --cleanup."""

import hashlib
import time

from .limits import MIB
from .patterns import PatternReader, pattern, pattern_sha256

ROOT = "imgorigin-verify/"
# Sizes: the small image and the medium object of the conformance fixtures' kind; the medium
# one is over the buffered function's 4 MiB budget and over 8 MiB (checks 4 and 11), the big
# one the stream function's largest whole answer (190 MiB, docs/lambda.md).
SMALL = 200 * 1024 + 17
MEDIUM = 12 * MIB + 5
BIG = 190 * MIB
SPECIAL = 1000
CUT = 4 * MIB + 3
# Objects up to this size go up in one PUT, larger ones in parts of this size.
ONE_PUT = 16 * MIB


class Fixture:
    """One object of the run: its key (after the stack's Prefix), size, headers and hash; the
    bytes themselves only when `keep` (the big ones are made again from the pattern)."""

    def __init__(self, name, key, size, content_type, cache_control=None, keep=True):
        self.name, self.key, self.size = name, key, size
        self.content_type, self.cache_control = content_type, cache_control
        self.bytes = pattern(name, size) if keep else None
        self.sha256 = hashlib.sha256(self.bytes).hexdigest() if keep else pattern_sha256(name, size)

    def slice(self, a, b):
        """Bytes a..=b."""
        return self.bytes[a:b + 1] if self.bytes is not None else pattern(self.name, self.size, a, b + 1)


def fixture_set(v):
    """The objects of this run, each under a new key (a cold cache); `medium` bytes are
    uploaded once and copied in S3 for the keys that must each meet CloudFront first."""
    k = v.run_key
    fx = {
        "small": Fixture("small", k + "small.jpg", SMALL, "image/jpeg"),
        "medium": Fixture("medium", k + "medium.bin", MEDIUM, "application/octet-stream"),
        "ranges": Fixture("medium", k + "ranges.bin", MEDIUM, "application/octet-stream"),
        "multi": Fixture("medium", k + "multi.bin", MEDIUM, "application/octet-stream"),
        "headonly": Fixture("headonly", k + "head-only.bin", MIB + 7, "application/octet-stream",
                            keep=False),
        "empty": Fixture("empty", k + "empty.bin", 0, "application/octet-stream"),
        "special": Fixture("special", k + "a b+c.bin", SPECIAL, "application/octet-stream"),
        "reval": Fixture("reval", k + "revalidate.bin", 4096, "application/octet-stream",
                         cache_control="public, max-age=1"),
    }
    if not v.args.quick:
        fx["big"] = Fixture("big", f"{ROOT}big-190MiB.bin", BIG, "application/octet-stream", keep=False)
    if v.signed_prefixes:
        first = v.signed_prefixes[0]
        base = "" if first == "*" else first
        fx["signed"] = Fixture("signed", base + k + "signed.jpg", SMALL, "image/jpeg")
    if v.args.faulty_store:
        fx["cut"] = Fixture("cut", k + "cut/cut.bin", CUT, "application/octet-stream")
    return fx


def upload(v):
    """Puts this run's fixtures into the bucket (v.fx); the 190 MiB object, shared by every run
    under ROOT, only when the bucket does not hold it already."""
    v.fx = fixture_set(v)
    t0 = time.monotonic()
    total = 0
    uploaded = {}  # fixture name -> the S3 key its bytes went to first
    for f in v.fx.values():
        s3key = v.prefix + f.key
        if f.name == "big" and already_uploaded(v, s3key, f):
            continue
        if f.name in uploaded:
            v.s3.copy_object(Bucket=v.args.bucket, Key=s3key, MetadataDirective="COPY",
                             CopySource={"Bucket": v.args.bucket, "Key": uploaded[f.name]})
            continue
        put_fixture(v, s3key, f)
        uploaded[f.name] = s3key
        total += f.size
    took = time.monotonic() - t0
    print(f"fixtures: {len(v.fx)} under s3://{v.args.bucket}/{v.prefix}{v.run_key} "
          f"({total} bytes uploaded in {took:.1f} s)", flush=True)


def put_fixture(v, s3key, f):
    extra = {"ContentType": f.content_type, "Metadata": {"sha256": f.sha256}}
    if f.cache_control:
        extra["CacheControl"] = f.cache_control
    if f.size == 0:
        # No Body at all: s3s-fs leaves the connection unusable after an empty one.
        v.s3.put_object(Bucket=v.args.bucket, Key=s3key, **extra)
    elif f.size <= ONE_PUT:
        body = f.bytes if f.bytes is not None else pattern(f.name, f.size)
        v.s3.put_object(Bucket=v.args.bucket, Key=s3key, Body=body, **extra)
    else:
        from boto3.s3.transfer import TransferConfig
        v.s3.upload_fileobj(PatternReader(f.name, f.size), v.args.bucket, s3key,
                            ExtraArgs=extra,
                            Config=TransferConfig(multipart_chunksize=ONE_PUT, max_concurrency=4))


def already_uploaded(v, s3key, f):
    try:
        h = v.s3.head_object(Bucket=v.args.bucket, Key=s3key)
    except Exception:
        return False
    return h.get("ContentLength") == f.size and h.get("Metadata", {}).get("sha256") == f.sha256


def cleanup(v):
    """Deletes everything under ROOT (and ROOT under each signed prefix), every version."""
    bucket = v.args.bucket
    roots = [v.prefix + ROOT] + [v.prefix + p + ROOT for p in v.signed_prefixes if p != "*"]
    n = 0
    for root in roots:
        batch = objects_under(v.s3, bucket, root)
        for i in range(0, len(batch), 1000):
            part = batch[i:i + 1000]
            try:
                v.s3.delete_objects(Bucket=bucket, Delete={"Objects": part, "Quiet": True})
            except Exception:
                for o in part:
                    v.s3.delete_object(Bucket=bucket, **o)
            n += len(part)
    print(f"cleanup: {n} objects (and versions) deleted under {', '.join(roots)}", flush=True)


def objects_under(s3, bucket, root):
    """Every version and delete marker under `root`, or every object where the store lists
    no versions; as delete_objects takes them."""
    batch = []
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=root):
            for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                batch.append({"Key": version["Key"], "VersionId": version["VersionId"]})
    except Exception:
        batch = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=root):
            batch += [{"Key": o["Key"]} for o in page.get("Contents", [])]
    return batch
