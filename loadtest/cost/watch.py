"""The same invocations under `cargo lambda watch`, cargo-lambda's Lambda emulator: a check of
the fake Runtime API's timings against the emulator users run locally.

The emulator reports no billed duration, so what is measured here is the viewer's time through
its Function URL: request sent to last body byte, which holds the function's billed time plus
the emulator's relay. Each function runs as one process polling the emulator; its cold row is
process start to the first answer's last byte (init plus the first invocation, as a viewer
waiting on a cold start sees it). The emulator answers a buffered response POST before reading
its body and has been seen to lose multi-hundred-KB buffered answers (session 12, docs/cost.md):
an answer that does not come within the timeout is counted as lost, not timed. The viewer of
the video-open scenario leaves after 2 MB, so the viewer's time says nothing of the billed one
there: that scenario is not run here."""

import http.client
import random
import subprocess
import sys
import time
from pathlib import Path

import procs

from .constants import ROOT
from .functions import FunctionKind
from .measure import pct
from .scenarios import Scenario

TIMEOUT_S = 20
SKIPPED = {"video-open": "the viewer leaves after 2 MB: its time is not the billed time"}


def viewer_get(port: int, path: str, query: str, headers: dict) -> tuple[int, int, float]:
    """(status, body bytes, ms) of one GET through the emulator's Function URL."""
    url = f"/lambda-url/_{path}" + (f"?{query}" if query else "")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_S)
    try:
        start = time.perf_counter()
        conn.request("GET", url, headers=headers)
        resp = conn.getresponse()
        size = 0
        while chunk := resp.read(1 << 20):
            size += len(chunk)
        return resp.status, size, (time.perf_counter() - start) * 1000
    finally:
        conn.close()


def run_function(kind: FunctionKind, cold: Scenario, scs: list[Scenario], n: int, warmups: int,
                 work: Path) -> list[dict]:
    """One emulator and one process of `kind`; a cold row (serving `cold`), then each
    scenario warm."""
    port = procs.free_port()
    watch = procs.start_lambda_watch(port, work / f"watch-{kind.id}.log", ROOT)
    env = {**kind.env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}/.rt",
           "AWS_LAMBDA_FUNCTION_NAME": "_",
           # The emulator refuses a Function URL answer without `cookies`; Lambda does not
           # (loadtest/recipe/runtime.mjs adds an empty list, nothing else).
           "RECIPE_EMPTY_COOKIES": "1"}
    log = open(work / f"watch-{kind.id}-function.log", "wb")
    started = time.perf_counter()
    proc = subprocess.Popen(kind.argv, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, env=env, cwd=kind.cwd, start_new_session=True)
    rows = []
    try:
        rng = random.Random(11)
        path, query, headers = cold.make(rng)
        status, _, _ = viewer_get(port, path, query, headers)
        rows.append({"function": kind.id, "scenario": "cold start", "n": 1, "lost": 0,
                     "status": [status],
                     "p50_ms": round((time.perf_counter() - started) * 1000, 1), "p99_ms": None})
        for sc in scs:
            rows.append(warm_row(port, kind, sc, n, warmups, rng))
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        watch.stop()
    return rows


def warm_row(port: int, kind: FunctionKind, sc: Scenario, n: int, warmups: int, rng) -> dict:
    times, statuses, lost = [], set(), 0
    for i in range(warmups + n):
        path, query, headers = sc.make(rng)
        try:
            status, _, ms = viewer_get(port, path, query, headers)
        except (TimeoutError, OSError, http.client.HTTPException):
            lost += 1
            continue
        statuses.add(status)
        if i >= warmups:
            times.append(ms)
    return {"function": kind.id, "scenario": sc.id, "n": len(times), "lost": lost,
            "status": sorted(statuses), "expected": all(s in sc.expect for s in statuses),
            "p50_ms": round(pct(times, 50), 1) if times else None,
            "p99_ms": round(pct(times, 99), 1) if times else None}


def watch_check(kinds: dict, scs: list[Scenario], runs: dict, colds: dict, cold_scenario: dict,
                n: int, warmups: int, work: Path) -> list[dict]:
    """Rows per (function, scenario) that the fake Runtime API also measured, with its p50
    billed time (for the cold row: init plus first invocation) beside the viewer's p50 under
    the emulator."""
    rows = []
    by_id = {sc.id: sc for sc in scs}
    for fid, kind in kinds.items():
        mine = [sc for sc in scs if sc.id not in SKIPPED and (sc.id, fid) in runs
                and not runs[(sc.id, fid)].failed]
        if not mine or fid not in colds:
            continue
        cold = by_id.get(cold_scenario.get(fid), mine[0])
        print(f"under cargo lambda watch: {fid}", flush=True, file=sys.stderr)
        for r in run_function(kind, cold, mine, n, warmups, work):
            if r["scenario"] == "cold start":
                c = colds[fid]
                r["fake_billed_p50_ms"] = round(pct(c["init_ms"], 50) + pct(c["first_invoke_ms"], 50), 1)
            else:
                fake = runs.get((r["scenario"], fid))
                r["fake_billed_p50_ms"] = pct(fake.billed, 50) if fake else None
            rows.append(r)
    return rows
