"""The access log's share of imgorigin's work per request, counted in instructions.

CPU seconds per request (the load test's other measure) move by more than the log's cost from
one short run to the next on a shared 2-core machine: past runs of the same tree gave -0.12 and
0.16. Instructions do not: valgrind's callgrind counts every user-space instruction of the
server, whatever else the machine is doing. Each scenario's request is sent n1 and then n2 times
to a fresh server with the access log on and off; the difference of the totals divided by
n2 - n1 is the work of one request without the start-up, and the share is
1 - per_request(off) / per_request(on). Under valgrind the log writer's 20 ms poll wakes far more
often per request than at full speed, so the share counted here is an upper bound. Kernel time
(the log's write(2), a batch per 20 ms) is not counted.

CPU seconds are also measured, at a fixed request rate (oha -q) below what either server can
do, alternating the two servers: at saturation CPU per request follows throughput (fewer
requests per wakeup when slower), which mixes the log's cost with scheduling on a shared
machine. Reported, not gated."""

import http.client
import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import drive
import procs

# Requests per measurement: the difference (N2 - N1) is what counts. Under callgrind a 64 KiB
# GET costs a few milliseconds, so one scenario takes about 20 s.
N1, N2 = 100, 500


@dataclass
class Request:
    scenario: str
    method: str
    key: str
    expect_status: int
    expect_len: int


REQUESTS = (Request("small", "GET", "64k.bin", 200, 64 * 1024),
            Request("head", "HEAD", "8m.bin", 200, 0))


def total_instructions(out_file: Path) -> int:
    """The `totals:` (or `summary:`) line of a callgrind output file: instructions executed."""
    text = out_file.read_text(errors="replace")
    m = re.search(r"^(?:totals|summary):\s+(\d+)", text, re.M)
    if not m:
        raise RuntimeError(f"no totals line in {out_file}")
    return int(m.group(1))


def send(port: int, req: Request, n: int) -> None:
    """n requests in turn on one keep-alive connection, each checked."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for _ in range(n):
            conn.request(req.method, f"/{procs.PREFIX}{req.key}")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != req.expect_status or len(body) != req.expect_len:
                raise RuntimeError(f"{req.scenario}: {resp.status} with {len(body)} bytes, "
                                   f"expected {req.expect_status} with {req.expect_len}")
    finally:
        conn.close()


def counted_run(valgrind: str, exe: str, endpoint: str, req: Request, n: int, log_on: bool,
                work: Path) -> int:
    """Instructions of one server life: start under callgrind, n requests, SIGTERM."""
    tag = f"{req.scenario}-{'on' if log_on else 'off'}-{n}"
    out = work / f"callgrind.{tag}.out"
    out.unlink(missing_ok=True)
    port = procs.free_port()
    argv = [valgrind, "--tool=callgrind", f"--callgrind-out-file={out}",
            exe, "serve", "--listen", f"127.0.0.1:{port}", "--bucket", procs.BUCKET,
            "--endpoint", endpoint, "--access-log", "on" if log_on else "off"]
    env = procs.imgorigin_env({})
    with open(work / f"callgrind.{tag}.log", "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, env=env)
        try:
            procs.wait_for_port(port, f"imgorigin under callgrind ({tag})", proc, timeout=120)
            send(port, req, n)
            proc.terminate()
            if proc.wait(timeout=120) != 0:
                raise RuntimeError(f"imgorigin under callgrind ({tag}) exited {proc.returncode}")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return total_instructions(out)


def per_request(valgrind, exe, endpoint, req, log_on, work) -> float:
    a = counted_run(valgrind, exe, endpoint, req, N1, log_on, work)
    b = counted_run(valgrind, exe, endpoint, req, N2, log_on, work)
    return (b - a) / (N2 - N1)


def share(on: float, off: float) -> float | None:
    """1 - off/on: the part of a request's instructions that the access log adds."""
    if on <= 0:
        return None
    return round(1 - off / on, 4)


def measure(valgrind: str, exe: str, endpoint: str, scenarios: list[str], work: Path) -> list[dict]:
    """One row per scenario: instructions per request with the log on and off, and the share."""
    rows = []
    for req in REQUESTS:
        if req.scenario not in scenarios:
            continue
        started = time.monotonic()
        on = per_request(valgrind, exe, endpoint, req, True, work)
        off = per_request(valgrind, exe, endpoint, req, False, work)
        rows.append({"scenario": req.scenario, "instructions_on": round(on),
                     "instructions_off": round(off), "share": share(on, off),
                     "seconds": round(time.monotonic() - started, 1)})
    return rows


def cpu_at_rate(on_port: int, on_pids, off_port: int, off_pids, req: Request, rate: int,
                seconds: float, rounds: int) -> dict:
    """CPU seconds per request of the two servers under the same fixed rate, `rounds`
    alternating runs each (the order flips every round); every answer checked."""
    totals = {"on": [0.0, 0], "off": [0.0, 0]}
    ports = {"on": (on_port, on_pids), "off": (off_port, off_pids)}
    for r in range(rounds):
        for mode in (("on", "off") if r % 2 == 0 else ("off", "on")):
            port, pids = ports[mode]
            before = procs.cpu_seconds(pids)
            m = drive.run_one(drive.Load(f"http://127.0.0.1:{port}/{procs.PREFIX}{req.key}", 16,
                                         seconds, method=req.method, expect_status=req.expect_status,
                                         expect_len=req.expect_len, rate=rate))
            if m.errors:
                raise RuntimeError(f"{req.scenario} at {rate}/s ({mode}): {m.errors}")
            totals[mode][0] += procs.cpu_seconds(pids) - before
            totals[mode][1] += m.requests
    per = {m: (cpu / n if n else 0.0) for m, (cpu, n) in totals.items()}
    return {"rate": rate, "cpu_us_on": round(per["on"] * 1e6, 1),
            "cpu_us_off": round(per["off"] * 1e6, 1), "cpu_share": share(per["on"], per["off"])}
