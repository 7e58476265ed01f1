"""Drives load: oha for request scenarios, curl for slow clients, a checking client for
transforms. Returns one `Measured` per
run, built from oha's per-request records (its --db-url SQLite output), so latency percentiles
are exact even when a scenario is several oha processes merged."""

import http.client
import json
import os
import sqlite3
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


# s3s-fs checks SigV4 (the test credentials of every imgorigin test); the proxy passes the
# path and Host through unchanged, so a signature made for the proxy verifies at s3s-fs.
# oha's signer (aws-sign-v4 0.3) hashes the actual (empty) body rather than reading this
# header, so the header must carry that same hash: SHA-256 of nothing.
UNSIGNED = "x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
SIGV4_OHA = ["-a", "test:test", "--aws-sigv4", "aws:amz:us-east-1:s3", "-H", UNSIGNED]
SIGV4_CURL = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user", "test:test", "-H", UNSIGNED]


@dataclass
class Measured:
    requests: int = 0
    seconds: float = 0.0  # wall time of the load, the denominator of every rate
    bytes: int = 0
    latencies: list = field(default_factory=list)  # seconds, one per completed request
    errors: dict = field(default_factory=dict)  # what went wrong -> count
    busy: int = 0  # 503s where they are an expected answer (a full memory budget)

    def add_error(self, what: str, n: int = 1) -> None:
        if n:
            self.errors[what] = self.errors.get(what, 0) + n

    def merge(self, other: "Measured") -> None:
        self.requests += other.requests
        self.bytes += other.bytes
        self.latencies.extend(other.latencies)
        self.busy += other.busy
        for k, v in other.errors.items():
            self.add_error(k, v)

    def summary(self) -> dict:
        lat = sorted(self.latencies)

        def pct(p: float):
            if not lat:
                return None
            return round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 3)

        secs = self.seconds or float("nan")
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.requests / secs, 1),
            "mib_s": round(self.bytes / secs / (1 << 20), 1),
            "p50_ms": pct(0.50),
            "p90_ms": pct(0.90),
            "p99_ms": pct(0.99),
            "max_ms": round(lat[-1] * 1000, 3) if lat else None,
            "errors": sum(self.errors.values()),
            "error_kinds": dict(self.errors),
            "busy": self.busy,
        }


@dataclass
class Load:
    """One oha invocation's request: every request of it is identical (or drawn from a file
    of URLs)."""

    url: str
    conns: int
    seconds: float
    method: str = "GET"
    headers: tuple = ()
    expect_status: int = 200
    expect_len: int | None = None  # body bytes each response must carry
    sign: bool = False
    rate: int | None = None  # requests per second in all (oha -q); None: as fast as it goes
    # `url` is a file of URLs, one per line, of which oha picks one at random per request.
    urls_from_file: bool = False


def oha(load: Load, threads: int | None = None) -> subprocess.Popen:
    tmp = tempfile.mkdtemp(prefix="oha-")
    argv = [
        os.environ.get("OHA", "oha"), load.url,
        "-c", str(load.conns), "-z", f"{load.seconds}s", "-w",
        "-m", load.method, "--no-tui", "--disable-compression",
        "--output-format", "json", "-o", f"{tmp}/out.json", "--db-url", f"{tmp}/out.db",
    ]
    for h in load.headers:
        argv += ["-H", h]
    if load.sign:
        argv += SIGV4_OHA
    if load.rate:
        argv += ["-q", str(load.rate)]
    if load.urls_from_file:
        argv.append("--urls-from-file")
    if threads:
        argv += ["--worker-threads", str(threads)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proc.tmp = tmp
    proc.load = load
    return proc


def collect(proc: subprocess.Popen) -> Measured:
    _, stderr = proc.communicate()
    m = Measured()
    if proc.returncode != 0:
        m.add_error(f"oha exited {proc.returncode}: {stderr.decode(errors='replace')[:200]}")
        return m
    with open(f"{proc.tmp}/out.json") as f:
        report = json.load(f)
    m.seconds = report["summary"]["total"]
    for what, n in report.get("errorDistribution", {}).items():
        m.add_error(what, n)
    load = proc.load
    db = f"{proc.tmp}/out.db"
    if os.path.exists(db):
        with sqlite3.connect(db) as conn:
            for status, length, duration in conn.execute("SELECT status, len_bytes, duration FROM oha"):
                m.requests += 1
                m.bytes += length
                m.latencies.append(duration)
                if status != load.expect_status:
                    m.add_error(f"status {status}")
                elif load.expect_len is not None and length != load.expect_len:
                    m.add_error(f"{length} body bytes, not {load.expect_len}")
    for name in ("out.json", "out.db"):
        Path(proc.tmp, name).unlink(missing_ok=True)
    os.rmdir(proc.tmp)
    if m.requests == 0:
        m.add_error("no request completed")
    return m


def run_one(load: Load) -> Measured:
    return collect(oha(load))


def run_waves(waves: list[list[Load]]) -> Measured:
    """Each wave runs its loads at once, one single-connection oha process each: oha repeats a
    fixed request, so per-request variation (a new Range) comes from wave to wave and process
    to process. The rate's denominator is the sum of the waves' wall times."""
    total = Measured()
    for wave in waves:
        procs = [oha(load, threads=1) for load in wave]
        parts = [collect(p) for p in procs]
        for part in parts:
            total.merge(part)
        total.seconds += max((p.seconds for p in parts), default=0.0)
    return total


def slow_clients(url: str, clients: int, rate_bytes: int, seconds: float, sign: bool) -> Measured:
    """`clients` curl processes each reading url at rate_bytes/s until `seconds` pass (the
    object is larger than that, so each is cut by --max-time, curl's exit 28 by design). The
    latency column is time to first byte; a client that got under 80% of its rate is an error."""
    curl = os.environ.get("CURL", "curl")
    fmt = "%{http_code} %{size_download} %{time_starttransfer}"
    procs = []
    for _ in range(clients):
        argv = [curl, "-s", "-o", "/dev/null", "--limit-rate", str(rate_bytes),
                "--max-time", str(seconds), "-w", fmt, url]
        if sign:
            argv += SIGV4_CURL
        procs.append(subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL))
    m = Measured(seconds=seconds)
    for p in procs:
        out, _ = p.communicate()
        try:
            status, size, ttfb = out.decode().split()
            status, size, ttfb = int(status), int(size), float(ttfb)
        except ValueError:
            m.add_error(f"curl exited {p.returncode} without a report")
            continue
        if p.returncode not in (0, 28):
            m.add_error(f"curl exited {p.returncode}")
        m.requests += 1
        m.bytes += size
        m.latencies.append(ttfb)
        if status != 200:
            m.add_error(f"status {status}")
        elif size < 0.8 * rate_bytes * (seconds - ttfb):
            m.add_error("client starved (< 80% of its rate)")
    return m


def image_size(body: bytes):
    """(format, width, height) of an encoded JPEG or WebP from its header, or None: what a
    transform response must be, checked on every response. JPEG: the first SOFn frame header;
    WebP: the VP8 (lossy), VP8L (lossless) or VP8X (extended) chunk."""
    if body[:3] == b"\xff\xd8\xff":
        i = 2
        while i + 9 <= len(body):
            if body[i] != 0xFF:
                return None
            marker = body[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # no length field
                i += 2
                continue
            length = int.from_bytes(body[i + 2:i + 4], "big")
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height = int.from_bytes(body[i + 5:i + 7], "big")
                width = int.from_bytes(body[i + 7:i + 9], "big")
                return ("jpeg", width, height)
            if marker == 0xDA or length < 2:  # start of scan before any frame header
                return None
            i += 2 + length
        return None
    if len(body) >= 30 and body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        chunk, data = body[12:16], body[20:]
        if chunk == b"VP8 " and data[3:6] == b"\x9d\x01\x2a":
            return ("webp", int.from_bytes(data[6:8], "little") & 0x3FFF,
                    int.from_bytes(data[8:10], "little") & 0x3FFF)
        if chunk == b"VP8L" and data[0] == 0x2F:
            bits = int.from_bytes(data[1:5], "little")
            return ("webp", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        if chunk == b"VP8X":
            return ("webp", int.from_bytes(data[4:7], "little") + 1,
                    int.from_bytes(data[7:10], "little") + 1)
    return None


def check_transform(status: int, content_type: str | None, content_length: str | None, body: bytes,
                    fmt: str, width: int) -> str | None:
    """What is wrong with one transform response, or None: status 200, Content-Type
    image/FMT, Content-Length equal to the body, and a body that decodes as a FMT image
    `width` pixels wide."""
    if status != 200:
        return f"status {status}"
    ctype = (content_type or "").split(";")[0].strip().lower()
    if ctype != f"image/{fmt}":
        return f"Content-Type {content_type!r}, not image/{fmt}"
    if content_length is None or not content_length.isdigit() or int(content_length) != len(body):
        return f"Content-Length {content_length!r} for {len(body)} body bytes"
    size = image_size(body)
    if size is None or size[0] != fmt:
        return f"body is not a {fmt} image"
    if size[1] != width:
        return f"image {size[1]} px wide, not {width}"
    return None


def warm_up(url: str, conns: int) -> None:
    """`conns` requests at once, unchecked and untimed: first-use costs (thread pools, library
    initialisation, the source in the page cache) stay out of the measured window and its CPU
    seconds. A target that fails here fails the measured requests too, where it counts."""
    def one():
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                r.read()
        except (OSError, http.client.HTTPException):
            pass
    threads = [threading.Thread(target=one, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def transform_load(url: str, conns: int, seconds: float, fmt: str, width: int) -> Measured:
    """`conns` keep-alive connections, each sending GET url back to back for `seconds`, every
    response checked by check_transform. oha cannot see a response's headers or body, hence
    this client: at tens of thumbnails per second its own cost is small. Latency is request
    sent to last body byte; the rate's denominator is the wall time until the last request
    in flight completes, as with oha -w."""
    u = urllib.parse.urlsplit(url)
    path = u.path + (f"?{u.query}" if u.query else "")
    lock = threading.Lock()
    m = Measured()
    start = threading.Barrier(conns + 1)
    ends = []

    def one(conn):
        t0 = time.perf_counter()
        conn.request("GET", path, headers={"Accept-Encoding": "identity"})
        r = conn.getresponse()
        body = r.read()
        lat = time.perf_counter() - t0
        problem = check_transform(r.status, r.getheader("Content-Type"), r.getheader("Content-Length"),
                                  body, fmt, width)
        if r.getheader("Connection", "").lower() == "close":
            conn.close()
        return lat, len(body), problem

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=60)
        start.wait()
        deadline = time.perf_counter() + seconds
        lats, size, errors = [], 0, {}
        while time.perf_counter() < deadline:
            try:
                lat, n, problem = one(conn)
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                problem, lat, n = f"connection: {type(e).__name__}: {e}"[:200], None, 0
            if lat is not None:
                lats.append(lat)
                size += n
            if problem:
                errors[problem] = errors.get(problem, 0) + 1
        conn.close()
        with lock:
            ends.append(time.perf_counter())
            m.requests += len(lats)
            m.bytes += size
            m.latencies.extend(lats)
            for k, v in errors.items():
                m.add_error(k, v)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    m.seconds = max(ends, default=t0) - t0
    if m.requests == 0:
        m.add_error("no request completed")
    return m
