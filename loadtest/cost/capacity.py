"""Fargate capacity: oha against `imgorigin serve`, one worker (a 0.5 vCPU task has less than a
core), CPU seconds per request -> requests/s per 0.5 vCPU."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import procs

from .backend import Backend
from .constants import BUCKET, PHOTO_KEY
from .functions import base_env


def fargate_capacity(args, backend: Backend, work: Path, seconds: float) -> dict:
    oha = os.environ.get("OHA") or shutil.which("oha")
    if not oha:
        return {"error": "oha not found (loadtest/run.sh installs it)"}
    port = procs.free_port()
    env = base_env()
    svc = procs.Service("imgorigin serve", [
        args.imgorigin, "serve", "--listen", f"127.0.0.1:{port}", "--bucket", BUCKET,
        "--endpoint", backend.endpoint, "--region", "us-east-1", "--workers", "1",
        "--transform-concurrency", "1", "--access-log", "on"], port, work / "serve.log", env=env)
    base = f"http://127.0.0.1:{port}"
    loads = {
        "recipe-500k": (f"{base}/images/photo-500k.jpg", [], 8),
        "range-200m": (f"{base}/originals/scan-200m.tif", ["Range: bytes=104857600-105119743"], 8),
        "video-1m": (f"{base}/video/movie-512m.mp4", ["Range: bytes=268435456-269484031"], 8),
        "thumb": (f"{base}/{PHOTO_KEY}?w=256&format=webp", ["Accept: image/webp"], 2),
    }
    out = {}
    try:
        for sid, (url, headers, conns) in loads.items():
            cpu0 = procs.cpu_seconds(svc.pids())
            argv = [oha, url, "-c", str(conns), "-z", f"{seconds}s", "--no-tui",
                    "--disable-compression", "--output-format", "json"]
            for h in headers:
                argv += ["-H", h]
            res = subprocess.run(argv, capture_output=True, text=True)
            cpu = procs.cpu_seconds(svc.pids()) - cpu0
            try:
                summary = json.loads(res.stdout)
                status = summary.get("statusCodeDistribution", {})
                ok = sum(int(v) for k, v in status.items() if k in ("200", "206"))
            except ValueError:
                out[sid] = {"error": res.stderr[-300:]}
                continue
            if not ok:
                out[sid] = {"error": f"no 200/206 answers: {status}"}
                continue
            cpu_per_req = cpu / ok
            out[sid] = {"requests": ok, "rps_one_core": ok / seconds,
                        "cpu_ms_per_request": cpu_per_req * 1000,
                        "rps_per_half_vcpu": 0.5 / cpu_per_req if cpu_per_req else None}
        # (c1): an open the viewer leaves after 2 MB moves about 2 MB plus what is in flight:
        # estimated as twice the 1 MiB range's CPU (oha cannot leave mid-body).
        if "video-1m" in out and "cpu_ms_per_request" in out["video-1m"]:
            c = out["video-1m"]["cpu_ms_per_request"] * 2
            out["video-open"] = {"estimated_from": "video-1m x 2", "cpu_ms_per_request": c,
                                 "rps_per_half_vcpu": 0.5 / (c / 1000)}
    finally:
        svc.stop()
    return out

