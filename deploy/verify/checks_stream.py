"""Long streams: the 190 MiB object and its rate, and a stream cut mid-body."""

from .judge import exact_whole
from .limits import CAP
from .patterns import pattern_sha256
from .report import describe, mbps, secs, verdict


def check_big_stream(v):
    """190 MiB through the RESPONSE_STREAM Function URL: every byte (sha256), the duration and
    the rate past the first 6 MB, which Lambda caps at 2 MB/s (about 92 s for the whole). The
    largest whole answer the stream function gives (a larger object is 501). Check 10."""
    ep = v.stream
    if ep is None:
        v.r.add("SKIP", "stream", "stream.190MiB", "(no --stream-url)")
        v.r.add("SKIP", "stream", "stream.rate-cap", "(no --stream-url)", aws_only=True)
        return
    if "big" not in v.fx:
        v.r.add("SKIP", ep, "stream.190MiB", "(--quick)")
        v.r.add("SKIP", ep, "stream.rate-cap", "(--quick)", aws_only=True)
        return
    f = v.fx["big"]
    a = ep.fetch("GET", v.url_for(ep, f), keep=0, timeout=120)
    p = exact_whole(a, f)
    rate = ""
    capped = None
    if a.past_uncapped and a.total_s and a.length > a.past_uncapped[0]:
        b0, t0 = a.past_uncapped
        capped = (a.length - b0) / max(a.total_s - t0, 1e-9)
        rate = f", first 6 MB in {secs(t0)}, then {capped / 1e6:.2f} MB/s"
    v.r.add(verdict(p), ep, "stream.190MiB",
            describe(a, "; ".join(p) or f"sha256 exact, {mbps(a.length, a.total_s)} overall{rate}"), check=10)
    if not ep.function_url_on_aws:
        v.r.add("SKIP", ep, "stream.rate-cap", "(not an AWS Function URL: the emulator applies no cap"
                + (f"; here {capped / 1e6:.1f} MB/s past 6 MB" if capped else "") + ")", aws_only=True)
    elif capped is None:
        v.r.add("FAIL", ep, "stream.rate-cap", "no rate measured (the stream did not pass 6 MB)",
                required=False, aws_only=True)
    else:
        held = 0.5 * CAP <= capped <= 1.25 * CAP
        v.r.add("PASS" if held else "FAIL", ep, "stream.rate-cap",
                f"{capped / 1e6:.2f} MB/s past the first 6 MB (documented: 2 MB/s); 190 MiB in "
                f"{secs(a.total_s)}", required=False, aws_only=True, check=10)


def check_cut_stream(v):
    """A stream failed mid-body: the viewer must see an incomplete transfer (a chunked body that
    breaks off, or fewer bytes than Content-Length), after an exact prefix, never a clean end
    that a cache would keep; and CloudFront must not then serve the truncated copy as a Hit.
    Locally with --faulty-store (the store breaks every read of keys under cut/ after 1 MiB).
    On AWS only with --break-stream, which lowers the stream function's timeout for a minute so
    that the function cuts a 190 MiB stream at its deadline (check 8)."""
    targets = v.endpoints("cloudfront", "stream")
    if not targets:
        return
    if "cut" not in v.fx:
        why = ("(AWS: pass --break-stream, or see check 8 for the manual way)" if v.aws()
               else "(no --faulty-store: the store cannot fail mid-body)")
        if v.args.break_stream and v.args.quick:
            why = "(--break-stream needs the 190 MiB object: leave out --quick)"
        for ep in targets:
            v.r.add("SKIP", ep, "stream.cut", why, check=8)
        return
    f = v.fx["cut"]
    for ep in targets:
        if ep.role == "cloudfront" and ep.cloudfront and v.args.raw_origin == "s3":
            v.r.add("SKIP", ep, "stream.cut", "(RawOrigin=s3: CloudFront reads stored bytes from S3)", check=8)
            continue
        a = ep.fetch("GET", v.url_for(ep, f), keep=0, timeout=90)
        p = []
        if a.status != 200:
            p.append(f"status {a.summary()}")
        if a.complete() and a.length == f.size:
            p.append("the stream was not cut (every byte arrived)")
        elif a.complete():
            p.append(f"a clean end after {a.length} of {f.size} bytes: a cache would keep it")
        if a.length and a.sha256 != pattern_sha256(f.name, f.size, a.length):
            p.append("the bytes received are not a prefix of the object")
        detail = f"{a.ended}; {a.length} of {f.size} bytes, prefix exact" if not p else "; ".join(p)
        if ep.role == "cloudfront":
            h = ep.fetch("HEAD", v.url_for(ep, f))
            if "hit" in h.xcache().lower() and h.declared_length() != f.size:
                p.append(f"then HEAD: {h.xcache()} with length {h.declared_length()}: the cut copy was cached")
            detail += f"; then HEAD {h.status} length {h.declared_length()} {h.xcache()}"
        v.r.add(verdict(p), ep, "stream.cut", describe(a, detail), check=8)
