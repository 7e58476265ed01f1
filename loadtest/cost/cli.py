"""Cost model: what a request and a TB delivered cost on Lambda, for imgorigin (stream and
buffered invoke modes) and for the classic recipe's Node handler (../shared/seed/), from
durations measured in this run, and where one always-on Fargate task becomes cheaper.

Each function runs as a real process against a fake Lambda Runtime API (cost/runtime_api.py,
the protocol of tests/common/runtime_api.rs): an invocation is timed from the moment its event
has been handed out (the `next` answer flushed) to the last byte of the function's response
POST, rounded up to 1 ms, which is what Lambda bills; init is process start to the first `next`.
The recipe's handler (loadtest/recipe/index.mjs, verbatim) runs under a minimal Node Runtime
API loop (loadtest/recipe/runtime.mjs), with @aws-sdk/client-s3 pinned in
loadtest/recipe/package-lock.json. Both read the same local S3 stand-in. Prices come from
loadtest/prices.json. Method, assumptions and limits: docs/cost.md.

    python3 loadtest/cost.py            # full run, a few minutes
    python3 loadtest/cost.py --quick    # fewer invocations, about a minute

Writes loadtest/results/cost.{md,json} (and --reference copies them to loadtest/reference/).
"""

import argparse
import datetime
import json
import os
import platform
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

from .backend import Backend, make_objects
from .capacity import fargate_capacity
from .constants import PRICES, RECIPE_DIR, RESULTS, ROOT, LOADTEST, WORK
from .functions import IMGORIGIN_FUNCTIONS, RECIPE_FUNCTIONS, Function, FunctionKind, function_kinds
from .measure import Run, cold_starts, measure
from .pricing import build_results
from .report import markdown
from .scenarios import Scenario, event, scenarios
from .watch import watch_check

# The scenario each function's cold starts serve: the first one it meets in the warm runs.
COLD_START_SCENARIO = {"imgorigin-stream": "recipe-500k", "imgorigin-buffered": "range-200m",
                       "recipe": "recipe-500k", "recipe-sharp": "thumb"}
SDK_PACKAGE = RECIPE_DIR / "node_modules" / "@aws-sdk" / "client-s3"
SHARP_PACKAGE = LOADTEST / "sharp" / "node_modules" / "sharp"


def parse_args(argv):
    p = argparse.ArgumentParser(prog="loadtest/cost.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="fewer invocations (about a minute)")
    p.add_argument("-n", type=int, help="warm invocations per scenario and function (100; quick 20)")
    p.add_argument("--warmups", type=int, default=3)
    p.add_argument("--colds", type=int, default=3, help="cold starts per function")
    p.add_argument("--backend", choices=["nginx", "s3s"], default="nginx",
                   help="the S3 stand-in: nginx serving the bucket directory (default) or s3s-fs, "
                        "which hashes the whole object on every GET (a 256 KiB range of a "
                        "200 MB object takes it about 0.4 s), so large-object rows would "
                        "measure s3s-fs rather than the function")
    p.add_argument("--imgorigin", default=os.environ.get("IMGORIGIN") or str(ROOT / "target" / "release" / "imgorigin"))
    p.add_argument("--template-memory", type=int, default=256,
                   help="deploy/template.yaml's MemorySize default")
    p.add_argument("--capacity-seconds", type=float, help="oha seconds per scenario (4; quick 2)")
    p.add_argument("--only", help="comma-separated scenario ids")
    p.add_argument("--results", default=str(RESULTS))
    p.add_argument("--no-watch", action="store_true",
                   help="skip the check under `cargo lambda watch` (the emulator's viewer times "
                        "beside the fake Runtime API's billed times)")
    p.add_argument("--reference", action="store_true",
                   help="also copy the results to loadtest/reference/cost-DATE.{md,json}")
    return p.parse_args(argv)


def check_prerequisites(args) -> None:
    """Exits with what to do when the binary or the recipe's SDK is missing."""
    if not Path(args.imgorigin).exists():
        sys.exit(f"{args.imgorigin} not found: build it (cargo test --release --no-run, as "
                 "loadtest/run.sh does) or pass --imgorigin / set IMGORIGIN")
    if not SDK_PACKAGE.exists() and shutil.which("npm"):
        print("npm ci in loadtest/recipe (@aws-sdk/client-s3, pinned)", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=RECIPE_DIR, check=False)
    if not args.no_watch and not shutil.which(os.environ.get("CARGO_LAMBDA", "cargo-lambda")):
        sys.exit("cargo-lambda not found (set CARGO_LAMBDA, or `cargo install --locked "
                 "cargo-lambda --version 1.9.2`, as tests/run.sh does), or pass --no-watch to "
                 "skip the check under `cargo lambda watch`")
    # recipe-sharp loads sharp from the load test's sharp server directory (pinned there).
    if not SHARP_PACKAGE.exists() and shutil.which("npm"):
        print("npm ci in loadtest/sharp (sharp, pinned)", file=sys.stderr)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=SHARP_PACKAGE.parents[1], check=False)
    if not SHARP_PACKAGE.exists():
        sys.exit("loadtest/sharp has no node_modules: run `npm ci` in loadtest/sharp (sharp, "
                 "pinned by its package-lock.json; the recipe-sharp function needs it)")
    if not SDK_PACKAGE.exists():
        sys.exit("loadtest/recipe has no node_modules: run `npm ci` in loadtest/recipe "
                 "(@aws-sdk/client-s3, pinned by its package-lock.json)")


def measure_functions(args, scs, kinds, backend, n) -> tuple[dict, dict]:
    """Cold starts first, each in a fresh process, then every scenario warm, one process per
    function. Returns (runs by (scenario, function), cold starts by function)."""
    runs, colds = {}, {}
    by_id = {s.id: s for s in scenarios()}
    needed_kinds = set(IMGORIGIN_FUNCTIONS) | {s.recipe for s in scs}
    order = [fid for fid in (*IMGORIGIN_FUNCTIONS, *RECIPE_FUNCTIONS) if fid in needed_kinds]
    for fid in order:
        print(f"cold starts: {fid}", file=sys.stderr)
        colds[fid] = cold_starts(kinds[fid], by_id[COLD_START_SCENARIO[fid]], args.colds, WORK, 1)
    for fid in order:
        kind = kinds[fid]
        fn = Function(fid, kind.argv, kind.env, WORK / f"{fid}.log", kind.cwd)
        try:
            for i, sc in enumerate(scs):
                if fid.startswith("recipe") and fid != sc.recipe:
                    continue
                print(f"warm: {sc.id} / {fid}", file=sys.stderr)
                if fid.startswith("recipe") and sc.recipe_fails:
                    runs[(sc.id, fid)] = recipe_failure(kind, sc)
                    continue
                heavy = sc.id == "video-open" and kind.mode == "stream"
                runs[(sc.id, fid)] = measure(fn, sc, max(5, n // 5) if heavy else n,
                                             args.warmups, backend, seed=100 + i)
        finally:
            fn.stop()
    return runs, colds


def recipe_failure(kind: FunctionKind, sc: Scenario) -> Run:
    """One attempt, to show how the recipe fails; in its own process (it may take gigabytes),
    so the warm process's numbers stay its own."""
    solo = Function(kind.id, kind.argv, kind.env, WORK / f"{kind.id}-{sc.id}.log", kind.cwd)
    try:
        inv = solo.invoke(event(*sc.make(random.Random(7))))
        peak = solo.peak_kib() / 1024
    finally:
        solo.stop()
    why = inv.failure or (f"status {inv.status}" if inv.status not in sc.expect else "")
    return Run(sc.id, kind.id, n=1, billed=[inv.billed_ms], peak_rss_mib=peak,
               failed=f"{why or 'served'} after {inv.billed_ms} ms, "
                      f"peak RSS {peak:.0f} MiB; {sc.recipe_fails}")


def run_metadata(args, prices: dict, n: int, seconds: float) -> dict:
    return {
        "when": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.platform()}",
        "backend": "nginx serving the bucket directory (S3 GetObject stand-in)" if args.backend == "nginx" else "s3s-fs",
        "n": n, "warmups": args.warmups, "colds": args.colds, "template_mb": args.template_memory,
        "prices_read": prices["read_on"], "seconds": round(seconds, 1),
        "node": subprocess.run([os.environ.get("NODE", "node"), "-v"], capture_output=True, text=True).stdout.strip(),
        "sdk": json.loads((SDK_PACKAGE / "package.json").read_text())["version"],
    }


def write_results(args, res: dict, md: str) -> None:
    out = Path(args.results)
    out.mkdir(parents=True, exist_ok=True)
    (out / "cost.md").write_text(md)
    (out / "cost.json").write_text(json.dumps(res, indent=1, default=str))
    if args.reference:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d-%H%M")
        ref = LOADTEST / "reference"
        shutil.copy(out / "cost.md", ref / f"cost-{stamp}.md")
        shutil.copy(out / "cost.json", ref / f"cost-{stamp}.json")


def main(argv=None):
    args = parse_args(argv)
    n = args.n or (20 if args.quick else 100)
    cap_s = args.capacity_seconds or (2 if args.quick else 4)
    prices = json.loads(PRICES.read_text())
    check_prerequisites(args)
    WORK.mkdir(parents=True, exist_ok=True)
    data = WORK / "data"
    make_objects(data, args.imgorigin)
    scs = scenarios()
    if args.only:
        keep = set(args.only.split(","))
        scs = [s for s in scs if s.id in keep]
    backend = Backend(args.backend, data, WORK)
    kinds = function_kinds(args, backend.endpoint)
    t0 = time.monotonic()
    try:
        runs, colds = measure_functions(args, scs, kinds, backend, n)
        watched = [] if args.no_watch else watch_check(
            kinds, scs, runs, colds, COLD_START_SCENARIO, min(n, 20), args.warmups, WORK)
        print("fargate capacity (oha against imgorigin serve)", file=sys.stderr)
        capacity = fargate_capacity(args, backend, WORK, cap_s)
    finally:
        backend.stop()
    meta = run_metadata(args, prices, n, time.monotonic() - t0)
    res = build_results(args, prices, runs, colds, capacity, kinds, scs, meta)
    res["watch"] = watched
    md = markdown(res, scs, kinds, args)
    md += f"\nRun took {meta['seconds']} s; node {meta['node']}, @aws-sdk/client-s3 {meta['sdk']}.\n"
    write_results(args, res, md)
    print(md)
