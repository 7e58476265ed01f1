"""Whole objects: streamed GETs, the empty object, a key a viewer must escape."""

from .judge import exact_range, exact_whole
from .limits import PROMPT
from .report import describe, mbps, secs, verdict


def check_whole_get(v):
    """Whole objects, streamed: the stream function answers a GET without Range (the router's
    default route) with every byte, and CloudFront passes it on; no Content-Encoding (the
    distribution does not compress, and streamed bodies were damaged by it elsewhere).
    Probes the RESPONSE_STREAM Function URL and, through CloudFront, its OAC signing."""
    for ep in v.endpoints("cloudfront", "stream"):
        for name in ("small", "medium"):
            f = v.fx[name]
            a = ep.fetch("GET", v.url_for(ep, f))
            p = exact_whole(a, f)
            if a.header("content-encoding"):
                p.append(f"Content-Encoding {a.header('content-encoding')}")
            v.r.add(verdict(p), ep, f"get.whole.{name}",
                    describe(a, "; ".join(p) or f"sha256 exact, {mbps(a.length, a.total_s)}"))


def check_empty_object(v):
    """A zero-length object through the stream function: a streamed answer with an empty body,
    the trouble spot of Function URLs in other runtimes (the stream must close at once: the
    prelude, the delimiter and the terminating chunk)."""
    f = v.fx["empty"]
    for ep in v.endpoints("cloudfront", "stream"):
        a = ep.fetch("GET", v.url_for(ep, f))
        p = exact_whole(a, f)
        if a.total_s is not None and a.total_s > PROMPT:
            p.append(f"took {secs(a.total_s)} (over {PROMPT} s: a hang?)")
        v.r.add(verdict(p), ep, "get.empty", describe(a, "; ".join(p)), check=6)


def check_special_key(v):
    """A key with a space and a '+': through CloudFront as the viewer spells it (%20, %2B and a
    raw '+'), which the router re-spells /~/base64url because OAC's signature for a Function
    URL does not match such a path; straight to the Function URLs in that /~/ spelling."""
    f = v.fx["special"]
    for ep in v.endpoints("cloudfront", "stream", "buffered"):
        if ep.role == "cloudfront":
            quoted = v.path(f.key)
            spellings = [quoted, quoted.replace("%2B", "+")]
        else:
            spellings = [v.routed_path(f.key)]
        for spelling in spellings:
            path = v.link(f.key, raw_path=spelling) if ep.role == "cloudfront" else spelling
            if ep.role == "buffered":
                a = ep.fetch("GET", path, {"Range": f"bytes=0-{f.size - 1}"})
                p = exact_range(a, f, 0, f.size - 1)
            else:
                a = ep.fetch("GET", path)
                p = exact_whole(a, f)
            shown = "/~/<base64url>" if spelling.startswith("/~/") else spelling.rsplit("/", 1)[-1]
            v.r.add(verdict(p), ep, "get.special-key", f"{shown}: " + describe(a, "; ".join(p)), check=3)
