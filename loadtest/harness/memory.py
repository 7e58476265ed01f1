"""The memory scenarios of issue 13: clients that never read (the server must not buffer
for them), and worst-case transforms against a memory budget (only 200 or 503, peak RSS
within the budget). Also the 16-bit PNG those transforms decode."""

import http.client
import socket
import struct
import threading
import time
import urllib.parse
import zlib
from pathlib import Path

from drive import Measured, check_transform

# The 16-bit RGBA PNG: 4090 x 4090, a gradient (well under a MB as a file), whose
# decode needs 8 bytes a pixel and then an RGBA8 copy: about 200 MiB for any output size.
PNG16 = "deep-16bit.png"
PNG16_SIZE = 4090


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png16_bytes(width: int, height: int) -> bytes:
    """A 16-bit RGBA PNG whose every row is the same gradient (x drives red and blue): the
    first row unfiltered, the others with the Up filter, so all zeros (a second to write)."""
    row = bytearray([0])  # filter: none
    for x in range(width):
        v = (x * 16) & 0xFFFF
        row += struct.pack(">HHHH", v, 30000, 0xFFFF - v, 50000)
    same = b"\x02" + bytes(width * 8)  # filter: Up, no difference
    z = zlib.compressobj(9)
    idat = z.compress(bytes(row)) + b"".join(z.compress(same) for _ in range(height - 1)) + z.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 16, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b"")


def make_png16(folder: Path) -> None:
    """Writes folder/PNG16 unless it is there (deterministic, so its size tells)."""
    path = folder / PNG16
    if path.exists() and path.stat().st_size > 0:
        return
    tmp = path.with_suffix(".part")
    tmp.write_bytes(png16_bytes(PNG16_SIZE, PNG16_SIZE))
    tmp.rename(path)


def classify(status: int, ctype, clen, body: bytes, fmt: str, width: int) -> str | None:
    """'ok', 'busy' (503 with Retry-After: what the budget answers when full) or what is
    wrong: any other status (a 5xx above all) or a 200 that is not the image asked for."""
    if status == 503:
        return "busy"
    problem = check_transform(status, ctype, clen, body, fmt, width)
    return problem or "ok"


def budget_burst(cases: list, clients: int, seconds: float) -> Measured:
    """`clients` connections, each sending the (url, fmt, width) cases in turn (client i
    starting at case i) until `seconds` pass. 200s and 503s are answers (503s counted as
    busy); anything else is an error, and so is a run where nothing was admitted."""
    lock = threading.Lock()
    m = Measured()
    start = threading.Barrier(clients + 1)

    def worker(i):
        start.wait()
        deadline = time.perf_counter() + seconds
        k = i
        while time.perf_counter() < deadline:
            url, fmt, width = cases[k % len(cases)]
            k += 1
            u = urllib.parse.urlsplit(url)
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=120)
            t0 = time.perf_counter()
            try:
                conn.request("GET", f"{u.path}?{u.query}")
                r = conn.getresponse()
                body = r.read()
                verdict = classify(r.status, r.getheader("Content-Type"),
                                   r.getheader("Content-Length"), body, fmt, width)
            except (OSError, http.client.HTTPException) as e:
                verdict, body = f"connection: {type(e).__name__}"[:200], b""
            finally:
                conn.close()
            with lock:
                m.requests += 1
                m.latencies.append(time.perf_counter() - t0)
                m.bytes += len(body)
                if verdict == "busy":
                    m.busy += 1
                elif verdict != "ok":
                    m.add_error(verdict)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    m.seconds = time.perf_counter() - t0
    if m.requests - m.busy - sum(m.errors.values()) < 1:
        m.add_error("no transform admitted")
    return m


def hang(url: str, clients: int) -> list:
    """`clients` connections that send GET url and never read: a 4 KiB receive buffer, so
    the server's writes block after a few KiB."""
    u = urllib.parse.urlsplit(url)
    request = f"GET {u.path} HTTP/1.1\r\nHost: {u.netloc}\r\n\r\n".encode()
    socks = []
    for _ in range(clients):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect((u.hostname, u.port or 80))
        s.sendall(request)
        socks.append(s)
    return socks


def noread(url: str, clients: int, seconds: float, probe: str, probe_len: int) -> Measured:
    """`clients` that ask for `url` and never read, held for `seconds`, while one client
    GETs `probe` back to back: the probe's answers are the row (latency, errors), the
    server's peak RSS is the point."""
    m = Measured()
    try:
        socks = hang(url, clients)
    except OSError as e:
        m.add_error(f"could not open the idle clients: {e}"[:200])
        return m
    u = urllib.parse.urlsplit(probe)
    t0 = time.perf_counter()
    try:
        while time.perf_counter() - t0 < seconds:
            start = time.perf_counter()
            conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=10)
            try:
                conn.request("GET", u.path)
                r = conn.getresponse()
                body = r.read()
                if r.status != 200 or len(body) != probe_len:
                    m.add_error(f"probe: status {r.status}, {len(body)} bytes")
            except (OSError, http.client.HTTPException) as e:
                m.add_error(f"probe: {type(e).__name__}: {e}"[:200])
                body = b""
            finally:
                conn.close()
            m.requests += 1
            m.bytes += len(body)
            m.latencies.append(time.perf_counter() - start)
            time.sleep(0.05)
    finally:
        m.seconds = time.perf_counter() - t0
        for s in socks:
            s.close()
    return m
