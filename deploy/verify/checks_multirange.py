"""Several ranges in one request (check 11): multipart/byteranges or the whole object."""

import re

from .judge import exact_range, exact_whole
from .limits import MIB
from .report import describe, verdict


def check_multi_range(v):
    """Several ranges (check 11), on a key CloudFront has not seen. With MultiRange=multipart an
    ascending, non-overlapping pair goes to the buffered function: 206 multipart/byteranges with
    exact parts (a 200 with the whole object is right too: the line says which CloudFront gave),
    on the miss, on a hit, and after a full GET; a descending pair: 200 whole (the stream
    function, as CloudFront answers such requests); an adjacent pair: one plain 206 (merged); two
    3 MiB ranges: a plain 206 of the first (the 4 MiB budget). MultiRange=whole or RawOrigin=s3:
    200 whole each time. Straight to the functions: the stream function answers several ranges
    whole, the buffered one multipart; `serve` answers multipart (descending in the order asked)."""
    f = v.fx["multi"]
    asc = [(0, 99), (1000, 1099)]
    for ep in v.endpoints("cloudfront", "stream", "buffered"):
        url = v.url_for(ep, f)
        real_cf = ep.role == "cloudfront" and ep.cloudfront
        whole_mode = real_cf and (v.args.multi_range == "whole" or v.args.raw_origin == "s3")
        if ep.role == "stream" or whole_mode:
            allowed = {"whole"}
        elif real_cf:
            allowed = {"multipart", "whole"}
        else:
            allowed = {"multipart"}

        def one(fact, label, rng, judge):
            a = ep.fetch("GET", url, {"Range": rng}, keep=16 * MIB)
            p, form = judge(a)
            v.r.add(verdict(p), ep, fact, f"{label}{rng}: {form}; " + describe(a, "; ".join(p)), check=11)

        ascending = lambda a: judge_multi(a, f, asc, allowed)  # noqa: E731
        one("multi-range.ascending", "first (a miss) " if real_cf else "", "bytes=0-99,1000-1099", ascending)
        if real_cf:
            one("multi-range.ascending", "again (a hit) ", "bytes=0-99,1000-1099", ascending)
        if ep.role != "cloudfront":
            continue
        if real_cf:
            descending = lambda a: judge_multi(a, f, [], {"whole"})  # noqa: E731
        else:
            descending = lambda a: judge_multi(a, f, [(1000, 1099), (0, 99)], {"multipart"})  # noqa: E731
        one("multi-range.descending", "", "bytes=1000-1099,0-99", descending)
        if whole_mode:
            adjacent = lambda a: judge_multi(a, f, [], {"whole"})  # noqa: E731
        else:
            adjacent = lambda a: (exact_range(a, f, 100, 299), "one plain 206")  # noqa: E731
        one("multi-range.adjacent", "", "bytes=100-199,200-299", adjacent)
        if real_cf:
            if whole_mode:
                budget = lambda a: judge_multi(a, f, [], {"whole"})  # noqa: E731
            else:
                budget = lambda a: (exact_range(a, f, 0, 3145727), "a plain 206 of the first (4 MiB budget)")  # noqa: E731
            one("multi-range.over-budget", "", "bytes=0-3145727,8388608-11534335", budget)
            ep.fetch("GET", url, keep=0)
            one("multi-range.ascending", "after a full GET ", "bytes=0-99,1000-1099", ascending)
    if v.cf is not None and v.cf.cloudfront and v.args.multi_range == "multipart":
        print("      (check 11: if multi-range.ascending FAILs through CloudFront, redeploy with "
              "MultiRange=whole and run this again)", flush=True)


def judge_multi(a, f, spans, allowed):
    """Which right answer to several ranges this is ('multipart' or 'whole'), and problems."""
    if a.status == 200 and "whole" in allowed:
        return exact_whole(a, f), "200 whole object"
    if a.status == 206 and "multipart" in allowed:
        return multipart_problems(a, f, spans), "206 multipart/byteranges"
    want = " or ".join(sorted(allowed))
    return [f"status {a.summary()} ({a.header('content-type')}), want {want}"], "wrong answer"


def multipart_problems(a, f, spans):
    p = []
    if a.status != 206:
        return [f"status {a.summary()}"]
    if a.header("content-range"):
        p.append(f"Content-Range {a.header('content-range')} on a multipart answer")
    if a.body is None or not a.complete():
        return p + [f"body {a.ended}, {a.length} bytes"]
    try:
        parts = parse_multipart(a.header("content-type"), a.body)
    except ValueError as e:
        return p + [str(e)]
    got = [(x, y) for x, y, _, _, _ in parts]
    if got != list(spans):
        p.append(f"parts {got} != {list(spans)}")
    for x, y, total, data, _ in parts:
        if total != f.size or data != f.slice(x, y):
            p.append(f"part {x}-{y}/{total}: bytes differ")
    declared = a.declared_length()
    if declared is not None and declared != a.length:
        p.append(f"declared length {declared} != {a.length} bytes received")
    return p


def parse_multipart(ctype, body):
    """Parts (first, last, total, bytes, content-type) of a multipart/byteranges body, read by
    each part's Content-Range as range readers do; raises ValueError on any defect."""
    m = re.fullmatch(r'multipart/byteranges;\s*boundary="?([^";]+)"?', (ctype or "").strip())
    if not m:
        raise ValueError(f"Content-Type {ctype!r} is not multipart/byteranges")
    delim = b"--" + m.group(1).encode()
    pos = 2 if body.startswith(b"\r\n") else 0
    parts = []
    while True:
        if not body.startswith(delim, pos):
            raise ValueError(f"no boundary at byte {pos}")
        pos += len(delim)
        if body.startswith(b"--", pos):
            if body[pos + 2:] not in (b"", b"\r\n"):
                raise ValueError("bytes after the closing boundary")
            return parts
        if not body.startswith(b"\r\n", pos):
            raise ValueError(f"no CRLF after the boundary at byte {pos}")
        end = body.find(b"\r\n\r\n", pos + 2)
        if end < 0:
            raise ValueError("a part's headers do not end")
        fields = {}
        for line in body[pos + 2:end].decode("latin-1").split("\r\n"):
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        cr = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", fields.get("content-range", ""))
        if not cr:
            raise ValueError(f"part without a Content-Range: {fields}")
        a, b, total = (int(x) for x in cr.groups())
        data = body[end + 4:end + 4 + (b - a + 1)]
        parts.append((a, b, total, data, fields.get("content-type")))
        pos = end + 4 + (b - a + 1)
        if not body.startswith(b"\r\n", pos):
            raise ValueError(f"part {a}-{b}: no CRLF before the next boundary")
        pos += 2
