"""Measuring one function on one scenario: warm invocations in one process, and cold starts
each in a fresh one."""

import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

from .backend import Backend
from .functions import Function, FunctionKind
from .scenarios import Scenario, event


@dataclass
class Run:
    scenario: str
    function: str
    n: int = 0
    billed: list = field(default_factory=list)  # ms, measured, per invocation
    body_bytes: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    cpu_ms: float = 0.0  # per invocation, all threads
    log_bytes: float = 0.0  # per invocation, stdout + stderr
    s3_requests: float | None = None  # per invocation
    peak_rss_mib: float = 0.0
    failed: str = ""


def pct(values, q):
    if not values:
        return 0
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))]


def measure(fn: Function, sc: Scenario, n: int, warmups: int, backend: Backend, seed: int) -> Run:
    run = Run(sc.id, fn.name)
    rng = random.Random(seed)
    for _ in range(warmups):
        fn.invoke(event(*sc.make(rng)))
    fn.reset_peak()
    cpu0, log0, s3_0 = fn.cpu_s(), fn.log_bytes(), backend.requests()
    for _ in range(n):
        inv = fn.invoke(event(*sc.make(rng)))
        run.n += 1
        run.billed.append(inv.billed_ms)
        run.body_bytes.append(inv.body_bytes)
        if inv.failure or not inv.ended or inv.status not in sc.expect:
            run.errors.append(inv.failure or f"status {inv.status}")
    run.cpu_ms = (fn.cpu_s() - cpu0) * 1000 / n
    run.log_bytes = (fn.log_bytes() - log0) / n
    s3_1 = backend.requests()
    if s3_0 is not None:
        time.sleep(0.05)  # nginx writes its access log line after the response
        s3_1 = backend.requests()
        run.s3_requests = (s3_1 - s3_0) / n
    run.peak_rss_mib = fn.peak_kib() / 1024
    return run


def cold_starts(kind: FunctionKind, sc: Scenario, times: int, work: Path, seed: int) -> dict:
    inits, firsts, rss_after_init, failures = [], [], [], []
    rng = random.Random(seed)
    for i in range(times):
        fn = Function(kind.id, kind.argv, kind.env, work / f"{kind.id}-cold.log", kind.cwd)
        try:
            inits.append(fn.init_ms)
            rss_after_init.append(fn.rss_kib() / 1024)
            inv = fn.invoke(event(*sc.make(rng)))
            firsts.append(inv.billed_ms)
            if inv.failure:
                failures.append(inv.failure)
        finally:
            fn.stop()
    return {"init_ms": inits, "first_invoke_ms": firsts, "rss_after_init_mib": rss_after_init,
            "failures": failures}

