"""Who may fetch what, and what CloudFront caches: the cache key, signed links, unsigned
requests to the Function URLs."""

import re
import time
import uuid

from .judge import exact_whole
from .report import describe, verdict
from .wire import Endpoint


def check_cache_key(v):
    """The cache key (ImageCachePolicy): the path, the transform parameters w, h, fit, format,
    q and the Accept header the router normalises. The same URL twice: the second is a Hit; a
    query parameter outside the key (a cache buster) and an Accept that only matters to
    transforms do not split the cache: Hits too. Check 2. Only CloudFront shows this."""
    ep = v.cf
    if ep is None:
        return
    if not ep.cloudfront:
        v.r.add("SKIP", ep, "cache.key", "(not a CloudFront target)", aws_only=True)
        return
    f = v.fx["small"]
    url = v.url_for(ep, f)
    sep = "&" if "?" in url else "?"
    ep.fetch("GET", url)
    for fact, path, hdrs in (
        ("cache.hit", url, {}),
        ("cache.query-ignored", f"{url}{sep}verify={uuid.uuid4().hex[:8]}", {}),
        ("cache.accept-ignored", url, {"Accept": "image/avif,image/webp,*/*"}),
    ):
        if "verify=" in path and v.signed(f.key):
            v.r.add("SKIP", ep, fact, "(every key is signed here: a parameter outside the link makes it invalid)",
                    aws_only=True)
            continue
        a = None
        for _ in range(3):
            a = ep.fetch("GET", path, hdrs)
            if "hit from cloudfront" in a.xcache().lower():
                break
            time.sleep(1)
        p = exact_whole(a, f)
        if "hit from cloudfront" not in a.xcache().lower():
            p.append(f"X-Cache {a.xcache()!r}, want 'Hit from cloudfront'")
        v.r.add(verdict(p), ep, fact, describe(a, "; ".join(p)), aws_only=True, check=2)


def check_signed_links(v):
    """Signed links at the edge (SignedPrefixes): the router checks them before the cache, so an
    unsigned request is 403 even after a signed one filled the cache; a link minted with
    `imgorigin sign` passes and loses sig/exp/kid, so a second link for the same object is a
    Hit; a tampered signature is 403. Check 9 tests the function alone."""
    ep = v.cf
    if ep is None:
        return
    if "signed" not in v.fx:
        v.r.add("SKIP", ep, "signed.*", "(the stack has no SignedPrefixes)")
        return
    f = v.fx["signed"]
    path = v.path(f.key)

    def refused(fact, a, detail=""):
        p = []
        if a.status != 403:
            p.append(f"status {a.summary()}")
        if a.header("cache-control") != "no-store":
            p.append(f"Cache-Control {a.header('cache-control')!r}")
        v.r.add(verdict(p), ep, fact, detail + describe(a, "; ".join(p)), check=9)

    refused("signed.unsigned-403", ep.fetch("GET", path))
    try:
        link = v.link(f.key)
        link2 = v.link(f.key, fresh=True)
    except LookupError as e:
        v.r.add("SKIP", ep, "signed.link-200", f"({e})")
        return
    a = ep.fetch("GET", link)
    v.r.add(verdict(exact_whole(a, f)), ep, "signed.link-200",
            describe(a, "; ".join(exact_whole(a, f)) or "minted by imgorigin sign"), check=9)
    for _ in range(3 if ep.cloudfront else 1):
        a = ep.fetch("GET", link2)
        if "hit" in a.xcache().lower():
            break
        time.sleep(1)
    p = exact_whole(a, f)
    if ep.cloudfront and "hit" not in a.xcache().lower():
        p.append(f"X-Cache {a.xcache()!r}: sig/exp/kid split the cache")
    v.r.add(verdict(p), ep, "signed.second-link", describe(a, "; ".join(p)), check=9)
    sig = re.search(r"sig=([A-Za-z0-9_-]+)", link).group(1)
    tampered = link.replace(f"sig={sig}", "sig=" + ("A" if sig[0] != "A" else "B") + sig[1:])
    refused("signed.tampered-403", ep.fetch("GET", tampered))
    refused("signed.unsigned-after", ep.fetch("GET", path), "after the signed link was served: ")


def check_direct_unsigned(v):
    """The Function URLs refuse requests that are not SigV4-signed (AuthType AWS_IAM: only
    CloudFront, through OAC, may call them). Check 2."""
    for ep in v.endpoints("stream", "buffered"):
        if not ep.function_url_on_aws:
            v.r.add("SKIP", ep, "direct.unsigned-403",
                    "(not an AWS Function URL: the emulator checks no signature)", aws_only=True)
            continue
        if ep.signer is None:
            v.r.add("SKIP", ep, "direct.unsigned-403", "(--no-sign)", aws_only=True)
            continue
        plain = Endpoint(ep.role, f"{ep.scheme}://{ep.netloc}{ep.base}")
        a = plain.fetch("HEAD", v.url_for(ep, v.fx["small"]))
        p = [] if a.status == 403 else [f"status {a.summary()}"]
        v.r.add(verdict(p), ep, "direct.unsigned-403", describe(a, "; ".join(p)), aws_only=True, check=2)
