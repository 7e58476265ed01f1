"""Drives load: oha for request scenarios, curl for slow clients. Returns one `Measured` per
run, built from oha's per-request records (its --db-url SQLite output), so latency percentiles
are exact even when a scenario is several oha processes merged."""

import json
import os
import sqlite3
import subprocess
import tempfile
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

    def add_error(self, what: str, n: int = 1) -> None:
        if n:
            self.errors[what] = self.errors.get(what, 0) + n

    def merge(self, other: "Measured") -> None:
        self.requests += other.requests
        self.bytes += other.bytes
        self.latencies.extend(other.latencies)
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
        }


@dataclass
class Load:
    """One oha invocation's request: every request of it is identical."""

    url: str
    conns: int
    seconds: float
    method: str = "GET"
    headers: tuple = ()
    expect_status: int = 200
    expect_len: int | None = None  # body bytes each response must carry
    sign: bool = False


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
