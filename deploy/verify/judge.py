"""What is wrong with an answer that should be the whole object or one range: a list of
problems, empty when the answer is right."""


def exact_whole(a, f):
    """Problems of an answer that should be the whole object, 200."""
    p = []
    if a.status != 200:
        p.append(f"status {a.summary()}")
    if not a.complete():
        p.append(a.ended if a.error is None else a.error)
    if a.length != f.size or a.sha256 != f.sha256:
        p.append(f"{a.length} of {f.size} bytes, sha256 {'ok' if a.sha256 == f.sha256 else 'differs'}")
    declared = a.declared_length()
    if declared is not None and declared != f.size:
        p.append(f"declared length {declared} != {f.size}")
    if a.header("content-range"):
        p.append(f"Content-Range {a.header('content-range')} on a 200")
    return p


def exact_range(a, f, first, last):
    """Problems of an answer that should be one range, 206."""
    p = []
    want_cr = f"bytes {first}-{last}/{f.size}"
    if a.status != 206:
        p.append(f"status {a.summary()}")
    if a.header("content-range") != want_cr:
        p.append(f"Content-Range {a.header('content-range')!r} != {want_cr!r}")
    n = last - first + 1
    if not a.complete():
        p.append(a.ended if a.error is None else a.error)
    if a.length != n or a.body is None or a.body != f.slice(first, last):
        p.append(f"{a.length} bytes, want {n} exact bytes")
    declared = a.declared_length()
    if declared != n:
        p.append(f"declared length {declared} != {n}")
    return p


def real_length(a):
    """A Content-Length CloudFront can compare: present and not a chunked answer."""
    p = []
    if a.header("content-length") is None:
        p.append("no Content-Length" + (" (chunked)" if a.chunked else ""))
    elif a.chunked:
        p.append("chunked with a Content-Length")
    return p
