"""The model: measured durations to dollars per request and per TB (Lambda compute at each
memory size and architecture, requests, S3 GETs, CloudWatch Logs, streamed bytes past 6 MB,
CloudFront), the recipe's own month, and where one always-on Fargate task becomes cheaper.
Prices come from loadtest/prices.json."""

import math
import statistics

from .constants import MONTH_S, TB, GiB
from .functions import IMGORIGIN_FUNCTIONS, FunctionKind
from .measure import Run, pct
from .scenarios import Scenario

MEMORY_SIZES_WITH_PLATFORM_LOGS = (128, 256, 512, 1024, 2048)


def lambda_mb_for(peak_mib: float) -> int:
    """The smallest Lambda memory size (64 MB steps, 128 at least) that holds the measured peak
    with 10% headroom."""
    return max(128, math.ceil(peak_mib * 1.1 / 64) * 64)


def modeled_ms(run: Run, mb: int, prices: dict, streaming: bool) -> list[float]:
    """Per-invocation billed ms at `mb`: the measured duration (an unthrottled core here), plus
    the CPU time stretched by Lambda's CPU share below 1,769 MB, plus, for streamed answers
    over 6 MB, the 2 MB/s cap on the rest; each rounded up to 1 ms."""
    full = prices["lambda"]["cpu_full_vcpu_at_mb"]
    share = mb / full
    cpu = run.cpu_ms
    cap_free = prices["lambda"]["streaming_free_bytes_per_response"]
    rate = prices["lambda"]["streaming_bandwidth_after_6mb_bytes_per_s"]
    out = []
    for ms, body in zip(run.billed, run.body_bytes):
        m = max(ms, max(0.0, ms - cpu) + cpu / share) if share < 1 else ms
        if streaming and body > cap_free:
            m = max(m, (body - cap_free) / rate * 1000)
        out.append(math.ceil(m))
    return out


def price_row(run: Run, kind: FunctionKind, sc: Scenario, mb: int, arch: str, prices: dict,
              platform_log_bytes: int) -> dict:
    lam, s3, cf, logs = prices["lambda"], prices["s3"], prices["cloudfront"], prices["cloudwatch_logs"]
    streaming = kind.mode == "stream"
    ms = modeled_ms(run, mb, prices, streaming)
    mean_ms = statistics.fmean(ms)
    gbs = mean_ms / 1000 * mb / 1024
    body = statistics.fmean(run.body_bytes)
    delivered = min(body, sc.delivered_cap) if sc.delivered_cap else body
    s3_reqs = run.s3_requests if run.s3_requests is not None else 1.0
    streamed_extra = (statistics.fmean(max(0, b - lam["streaming_free_bytes_per_response"])
                                       for b in run.body_bytes) if streaming else 0)
    parts = {
        "compute": gbs * lam["gb_second"][arch],
        "requests": lam["per_request"],
        "s3": s3_reqs * s3["get_per_request"],
        "logs": (run.log_bytes + platform_log_bytes) / GiB * logs["ingest_per_gb"],
        "streaming": streamed_extra / GiB * lam["streaming_per_gb_past_6mb"],
    }
    per_req = sum(parts.values())
    cf_per_req = (cf["https_per_request_us"] + delivered / GiB * cf["transfer_out_per_gb_first_10tb_us"]
                  + (cf["function_per_invocation"] if kind.id.startswith("imgorigin") else 0))
    return {
        "scenario": sc.id, "function": kind.id, "memory_mb": mb, "arch": arch,
        "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "mean_ms": mean_ms,
        "gb_s_per_request": gbs, "delivered_bytes": delivered,
        "per_million": {k: v * 1e6 for k, v in parts.items()},
        "lambda_per_million": per_req * 1e6,
        "lambda_per_tb": per_req / delivered * TB if delivered else None,
        "cloudfront_per_million": cf_per_req * 1e6,
        "cloudfront_per_tb": cf_per_req / delivered * TB if delivered else None,
        "fits_memory": run.peak_rss_mib <= mb,
    }


def platform_log_line_bytes(mb: int) -> int:
    rid = "8f507cfc-1a2b-4697-b07a-ac58fc914c95"
    lines = (f"START RequestId: {rid} Version: $LATEST\n"
             f"END RequestId: {rid}\n"
             f"REPORT RequestId: {rid}\tDuration: 12.34 ms\tBilled Duration: 13 ms\t"
             f"Memory Size: {mb} MB\tMax Memory Used: 27 MB\t\n")
    return len(lines.encode())



def build_results(args, prices, runs, colds, capacity, kinds, scs, meta) -> dict:
    """Everything cost.json holds: a priced row per scenario, function, memory size and
    architecture, plus cold starts, the Fargate crossover and the recipe's month."""
    price_cold_starts(colds, kinds, prices)
    needed = needed_memory(runs, colds)
    rows = price_rows(args, prices, runs, kinds, scs, needed)
    return {"meta": meta, "rows": rows, "cold": colds, "capacity": capacity,
            "crossover": fargate_crossover(args, prices, rows, capacity, scs),
            "recipe_month": recipe_month(args, prices, rows, colds),
            "needed_mb": {f"{k[0]}/{k[1]}": v for k, v in needed.items()},
            "runs": {f"{k[0]}/{k[1]}": run_summary(r) for k, r in runs.items()}}


def price_cold_starts(colds: dict, kinds: dict, prices: dict) -> None:
    """Adds to each function's cold starts what its init costs per 1M cold starts."""
    for fid, c in colds.items():
        arch = kinds[fid].arch
        init = math.ceil(statistics.median(c["init_ms"])) if c.get("init_ms") else 0
        c["init_per_million"] = {mb: init / 1000 * mb / 1024 * prices["lambda"]["gb_second"][arch] * 1e6
                                 for mb in (128, 256)}


def needed_memory(runs: dict, colds: dict) -> dict:
    """(scenario, function) -> the memory size its peak RSS (warm or after init) needs."""
    needed = {}
    for key, run in runs.items():
        sid, fid = key
        cold = colds.get(fid, {})
        peak = max([run.peak_rss_mib] + cold.get("rss_after_init_mib", [0]))
        needed[key] = lambda_mb_for(peak)
    return needed


def price_rows(args, prices, runs, kinds, scs, needed) -> list[dict]:
    plat = {mb: platform_log_line_bytes(mb) for mb in MEMORY_SIZES_WITH_PLATFORM_LOGS}
    rows = []
    for sc in scs:
        for fid in (*IMGORIGIN_FUNCTIONS, sc.recipe):
            run = runs.get((sc.id, fid))
            if run is None:
                continue
            kind = kinds[fid]
            if run.failed:
                rows.append({"scenario": sc.id, "function": fid, "failed": run.failed,
                             "peak_rss_mib": run.peak_rss_mib, "billed_ms": run.billed})
                continue
            mems = sorted({128, args.template_memory, needed[(sc.id, fid)]})
            for mb in mems:
                for arch in ("arm64", "x86_64"):
                    r = price_row(run, kind, sc, mb, arch, prices, plat.get(mb, plat[128]))
                    r.update({"measured_p50_ms": pct(run.billed, 50),
                              "measured_p99_ms": pct(run.billed, 99),
                              "cpu_ms": run.cpu_ms, "log_bytes": run.log_bytes,
                              "s3_requests": run.s3_requests, "peak_rss_mib": run.peak_rss_mib,
                              "needed_mb": needed[(sc.id, fid)], "errors": len(run.errors),
                              "n": run.n, "routed": sc.routed == fid})
                    rows.append(r)
    return rows


def find_row(rows, sid, fid, mb, arch) -> dict | None:
    return next((r for r in rows if r.get("scenario") == sid and r.get("function") == fid
                 and r.get("memory_mb") == mb and r.get("arch") == arch), None)


def fargate_crossover(args, prices, rows, capacity, scs) -> list[dict]:
    """One always-on task (0.5 vCPU, 1 GB, arm64) against Lambda's per-request cost (S3 and
    CloudFront are the same on both sides and left out)."""
    fg = prices["fargate"]
    task_month = (0.5 * fg["vcpu_hour"]["arm64"] + 1 * fg["gb_hour"]["arm64"]) * fg["hours_per_month"]
    net = prices["networking_for_fargate"]
    ip_month = net["public_ipv4_hour"] * fg["hours_per_month"]
    alb_month = net["alb_hour"] * fg["hours_per_month"]
    crossover = []
    for sc in scs:
        for fid, mb, arch in (((sc.routed, args.template_memory, "arm64")),
                              (sc.recipe, 128, "x86_64")):
            row = find_row(rows, sc.id, fid, mb, arch)
            if row is None:
                continue
            c = (row["lambda_per_million"] - row["per_million"]["s3"]) / 1e6
            alb_per_req = row["delivered_bytes"] / GiB * net["alb_lcu_hour"]
            cap = capacity.get(sc.id, {}).get("rps_per_half_vcpu")
            x_ip = (task_month + ip_month) / c if c > 0 else None
            x_alb = (task_month + alb_month) / (c - alb_per_req) if c > alb_per_req else None
            crossover.append({
                "scenario": sc.id, "function": fid, "memory_mb": mb, "arch": arch,
                "lambda_per_request": c, "task_month": task_month,
                "with_public_ip_month": task_month + ip_month,
                "with_alb_month": task_month + alb_month,
                "crossover_requests_month_public_ip": x_ip,
                "crossover_requests_month_alb": x_alb,
                "task_capacity_rps": cap,
                "one_task_enough": (x_ip / MONTH_S <= cap) if (x_ip and cap) else None,
            })
    return crossover


def recipe_month(args, prices, rows, colds) -> list[dict]:
    """The recipe's month on its own assumptions (50,000 requests, 500 KB, 5,000 reaching
    Lambda), for the recipe and for imgorigin."""
    month = []
    for fid, mb, arch in (("recipe", 128, "x86_64"), ("imgorigin-stream", args.template_memory, "arm64"),
                          ("imgorigin-stream", 128, "arm64")):
        row = find_row(rows, "recipe-500k", fid, mb, arch)
        if row is None:
            continue
        cold = colds.get(fid, {})
        init_ms = statistics.median(cold["init_ms"]) if cold.get("init_ms") else 0
        init_cost = math.ceil(init_ms) / 1000 * mb / 1024 * prices["lambda"]["gb_second"][arch]
        misses, reqs, gb = 5000, 50000, 50000 * 500_000 / GiB
        lam_warm = misses * row["lambda_per_million"] / 1e6
        lam_cold = lam_warm + misses * init_cost
        cf = prices["cloudfront"]
        cf_cost = reqs * cf["https_per_request_us"] + gb * cf["transfer_out_per_gb_first_10tb_us"] + (
            reqs * cf["function_per_invocation"] if fid.startswith("imgorigin") else 0)
        month.append({"function": fid, "memory_mb": mb, "arch": arch, "lambda_misses": misses,
                      "lambda_warm": lam_warm, "lambda_all_cold": lam_cold,
                      "cloudfront": cf_cost, "delivered_gib": gb,
                      "total_list_all_cold": lam_cold + cf_cost,
                      "after_free_tiers": 0.0})
    return month


def run_summary(r: Run) -> dict:
    return {"n": r.n, "errors": r.errors[:5], "cpu_ms": r.cpu_ms,
            "log_bytes": r.log_bytes, "s3_requests": r.s3_requests,
            "peak_rss_mib": r.peak_rss_mib, "failed": r.failed,
            "measured_p50_ms": pct(r.billed, 50),
            "measured_p99_ms": pct(r.billed, 99),
            "mean_body_bytes": statistics.fmean(r.body_bytes) if r.body_bytes else 0}
