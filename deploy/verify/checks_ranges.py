"""One range, HEAD and conditional requests (If-None-Match, If-Match, revalidation)."""

import re
import time

from .judge import exact_range, exact_whole, real_length
from .limits import BUFFERED_BUDGET, MIB, PROMPT
from .report import describe, secs, verdict


def check_single_ranges(v):
    """One byte range: through CloudFront the router sends it to the BUFFERED Function URL,
    whose answer has a real Content-Length (CloudFront answers a Range with the whole object
    when the origin's answer is chunked, as every streamed one is). On a cold key (a miss), then
    inside and past the 4 MiB budget; suffix range; 416 with `bytes */N`."""
    f = v.fx["ranges"]
    n = f.size
    for ep in v.endpoints("cloudfront", "stream", "buffered"):
        url = v.url_for(ep, f)
        for fact, rng, first, last in (
            ("range.single", "bytes=0-1023", 0, 1023),
            ("range.single.mid", "bytes=5000000-5001000", 5_000_000, 5_001_000),
            ("range.suffix", "bytes=-500", n - 500, n - 1),
        ):
            a = ep.fetch("GET", url, {"Range": rng})
            p = exact_range(a, f, first, last)
            if ep.role in ("cloudfront", "buffered"):
                p += real_length(a)
            v.r.add(verdict(p), ep, fact, f"{rng}: " + describe(a, "; ".join(p)), check=4)

        # bytes=0- of 12 MiB: the whole rest, or (buffered) its first 4 MiB, Content-Range
        # saying what was sent; a 200 with the whole object is a right answer too.
        a = ep.fetch("GET", url, {"Range": "bytes=0-"}, keep=16 * MIB)
        cr = re.fullmatch(r"bytes 0-(\d+)/(\d+)", a.header("content-range") or "")
        if a.status == 200:
            p = exact_whole(a, f)
        elif cr:
            last = int(cr.group(1))
            p = exact_range(a, f, 0, last)
            if ep.role == "buffered" and last + 1 > BUFFERED_BUDGET:
                p.append(f"{last + 1} bytes from the buffered function, over its 4 MiB budget")
        else:
            p = [f"status {a.summary()}, Content-Range {a.header('content-range')!r}"]
        if ep.role in ("cloudfront", "buffered"):
            p += real_length(a)
        v.r.add(verdict(p), ep, "range.open", "bytes=0-: " + describe(a, "; ".join(p)), check=4)

        a = ep.fetch("GET", url, {"Range": f"bytes={n}-"})
        p = []
        if a.status != 416:
            p.append(f"status {a.summary()}")
        if a.header("content-range") != f"bytes */{n}":
            p.append(f"Content-Range {a.header('content-range')!r} != 'bytes */{n}'")
        if a.total_s is not None and a.total_s > PROMPT:
            p.append(f"took {secs(a.total_s)}")
        v.r.add(verdict(p), ep, "range.416", f"bytes={n}-: " + describe(a, "; ".join(p)))


def check_range_after_full(v):
    """A range of an object CloudFront already holds whole (after a full GET): 206 with the
    exact bytes, served from the cache or the buffered function."""
    f = v.fx["small"]
    for ep in v.endpoints("cloudfront"):
        url = v.url_for(ep, f)
        ep.fetch("GET", url)
        a = ep.fetch("GET", url, {"Range": "bytes=100-199"})
        p = exact_range(a, f, 100, 199) + real_length(a)
        v.r.add(verdict(p), ep, "range.after-full", "bytes=100-199: " + describe(a, "; ".join(p)), check=5)


def check_head(v):
    """HEAD: through CloudFront the router sends it to the BUFFERED function, so the viewer gets
    the object's true Content-Length and no body; straight to the stream function the bodyless
    streamed answer must end at once (the hang reported in other runtimes), Content-Length
    renamed x-amzn-remapped-content-length. `small` was fetched whole before (through CloudFront
    a Hit); `headonly` only ever gets HEADs (through CloudFront a miss, so the buffered
    function's answer)."""
    for ep in v.endpoints("cloudfront", "stream", "buffered"):
        for name in ("small", "headonly"):
            f = v.fx[name]
            a = ep.fetch("HEAD", v.url_for(ep, f))
            p = []
            if a.status != 200:
                p.append(f"status {a.summary()}")
            if a.declared_length() != f.size:
                p.append(f"length {a.declared_length()} != {f.size}")
            if ep.role in ("cloudfront", "buffered") and a.header("content-length") != str(f.size):
                p.append(f"Content-Length {a.header('content-length')!r} != {f.size}")
            if a.extra:
                p.append(f"{a.extra} bytes followed the head on the wire")
            if a.total_s is not None and a.total_s > PROMPT:
                p.append(f"took {secs(a.total_s)}")
            v.r.add(verdict(p), ep, f"head.{name}",
                    describe(a, "; ".join(p) or "no body on the wire"), check=7 if ep.role == "cloudfront" else 6)


def check_if_none_match(v):
    """If-None-Match with the current ETag: 304 with the ETag, no body, at once, from each
    endpoint. Through CloudFront a conditional GET without Range goes to the stream function;
    straight to it, the 304 is a bodyless streamed answer (check 6)."""
    f = v.fx["small"]
    for ep in v.endpoints("cloudfront", "stream", "buffered"):
        url = v.url_for(ep, f)
        etag = v.etag(ep, f)
        if not etag:
            v.r.add("FAIL", ep, "inm.304", "no ETag on HEAD")
            continue
        a = ep.fetch("GET", url, {"If-None-Match": etag})
        p = []
        if a.status != 304:
            p.append(f"status {a.summary()}")
        if a.header("etag") != etag:
            p.append(f"ETag {a.header('etag')!r} != {etag!r}")
        if a.extra:
            p.append(f"{a.extra} bytes followed the 304 head on the wire")
        if a.total_s is not None and a.total_s > PROMPT:
            p.append(f"took {secs(a.total_s)} (a hang?)")
        v.r.add(verdict(p), ep, "inm.304", describe(a, "; ".join(p) or "no body on the wire"), check=6)


def check_revalidation(v):
    """CloudFront's own revalidation: an object whose Cache-Control is max-age=1, fetched, then
    fetched again after it expired. CloudFront sends the origin the viewer's request chose (the
    stream function: no Range) a conditional GET with If-None-Match; its 304 must end at once
    (the empty-stream hang would show as a slow answer, a 504 or a stale copy) and CloudFront
    serves the copy it has ('RefreshHit'). Only CloudFront shows this."""
    f = v.fx["reval"]
    ep = v.cf
    if ep is None:
        return
    if not ep.cloudfront:
        v.r.add("SKIP", ep, "revalidate.304", "(not a CloudFront target)", aws_only=True)
        return
    url = v.url_for(ep, f)
    first = ep.fetch("GET", url)
    time.sleep(2.5)
    a = ep.fetch("GET", url)
    p = exact_whole(a, f)
    if a.total_s is not None and a.total_s > PROMPT:
        p.append(f"took {secs(a.total_s)} (the origin's 304 hung?)")
    note = f"first {first.xcache()}, then {a.xcache()}"
    if v.args.raw_origin == "s3":
        note += " (RawOrigin=s3: S3 answered the revalidation, not the stream function)"
    if not p and "refreshhit" not in a.xcache().lower():
        note += " (not a RefreshHit: CloudFront fetched the object again instead of revalidating)"
    v.r.add(verdict(p), ep, "revalidate.304", describe(a, "; ".join(p + [note])), aws_only=True)


def check_if_match(v):
    """If-Match with another ETag: 412 at once. Through CloudFront the router sends it to the
    stream function; what CloudFront does with If-Match for an object it holds is not
    documented, so that line is informational."""
    f = v.fx["small"]
    for ep in v.endpoints("cloudfront", "stream", "buffered"):
        a = ep.fetch("GET", v.url_for(ep, f), {"If-Match": '"imgorigin-verify-mismatch"'})
        p = []
        if a.status != 412:
            p.append(f"status {a.summary()}")
        if a.total_s is not None and a.total_s > PROMPT:
            p.append(f"took {secs(a.total_s)}")
        v.r.add(verdict(p), ep, "if-match.412", describe(a, "; ".join(p)),
                required=not (ep.role == "cloudfront" and ep.cloudfront))
