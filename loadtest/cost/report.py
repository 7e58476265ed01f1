"""The Markdown report (loadtest/results/cost.md) from what pricing.build_results returns."""

import statistics

from .constants import MONTH_S
from .functions import IMGORIGIN_FUNCTIONS


def money(x, digits=2):
    if x is None:
        return "-"
    if x == 0:
        return "$0"
    if abs(x) < 0.01:
        return f"${x:.4f}"
    if abs(x) >= 1000:
        return f"${x:,.0f}"
    return f"${x:,.{digits}f}"


def fmt_rate(per_month):
    if per_month is None:
        return "never"
    s = per_month / MONTH_S
    if per_month >= 1e9:
        m = f"{per_month / 1e9:.1f} G"
    elif per_month >= 1e6:
        m = f"{per_month / 1e6:.1f} M"
    else:
        m = f"{per_month / 1e3:.0f} k"
    return f"{m}/month ({s:.1f}/s)"


def summary_markdown(res: dict, scs, kinds) -> str:
    """The short table (README): per scenario, the function the template's router sends it to
    at 128 MB and at the template's MemorySize, and the recipe at 128 MB and at what it needs."""
    titles = {s.id: s.title for s in scs}
    lines = ["| scenario | function, memory | billed ms p50 / p99 | Lambda $ per 1M requests | Lambda $ per TB | CloudFront $ per TB |",
             "|---|---|---:|---:|---:|---:|"]
    for sc in scs:
        for fid in (sc.routed, sc.recipe):
            rs = [r for r in res["rows"] if r.get("scenario") == sc.id and r.get("function") == fid]
            if not rs:
                continue
            if rs[0].get("failed"):
                lines.append(f"| {titles[sc.id]} | {kinds[fid].label} | fails | - | - | - |")
                continue
            arch = kinds[fid].arch
            mems = sorted({128, rs[0]["needed_mb"]} if fid.startswith("recipe")
                          else {128, res["meta"]["template_mb"]})
            for r in rs:
                if r["arch"] != arch or r["memory_mb"] not in mems:
                    continue
                mem = f"{r['memory_mb']} MB {arch}"
                if not r["fits_memory"]:
                    mem += " (OOM: peak above it)"
                lines.append(f"| {titles[sc.id]} | {kinds[fid].label}, {mem} | {r['p50_ms']} / {r['p99_ms']} | "
                             f"{money(r['lambda_per_million'])} | {money(r['lambda_per_tb'])} | "
                             f"{money(r['cloudfront_per_tb'])} |")
    return "\n".join(lines)



def markdown(res: dict, scs, kinds, args) -> str:
    titles = {s.id: s.title for s in scs}
    out = header_markdown(res["meta"], args)
    out += ["## Summary", "", summary_markdown(res, scs, kinds), ""]
    out += every_row_markdown(res, scs, kinds, titles)
    out += measurements_markdown(res)
    out += cold_starts_markdown(res, kinds)
    out += recipe_month_markdown(res, kinds)
    out += crossover_markdown(res, kinds, titles)
    out += watch_markdown(res.get("watch") or [], kinds, titles)
    cap = res["capacity"]
    if any("error" in v for v in cap.values()):
        out += ["", "Capacity errors: " + "; ".join(f"{k}: {v['error']}" for k, v in cap.items() if "error" in v)]
    return "\n".join(out) + "\n"


def header_markdown(m: dict, args) -> list[str]:
    return [f"# imgorigin cost model ({'quick' if args.quick else 'full'} run)", "",
            f"{m['when']} on {m['machine']}; backend {m['backend']}; {m['n']} warm invocations "
            f"per scenario and function after {m['warmups']} warm-ups, {m['colds']} cold starts "
            f"per function. Prices: loadtest/prices.json (us-east-1, read {m['prices_read']}). "
            "Lambda columns: compute (modeled at that memory) + requests + S3 GETs + logs "
            "(+ streamed bytes past 6 MB); CloudFront share separate. imgorigin priced arm64 "
            "(its template), the recipe x86_64 (its `create-function` default); JSON has both.", ""]


def every_row_markdown(res: dict, scs, kinds, titles) -> list[str]:
    out = ["## Every function at 128 MB, the template's MemorySize and the memory it needs", "",
           "| scenario | function | memory | p50 / p99 billed ms | GB-s per request | Lambda $ per 1M requests | of which compute / logs | Lambda $ per TB | CloudFront $ per 1M | CloudFront $ per TB |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for sc in scs:
        for fid in (*IMGORIGIN_FUNCTIONS, sc.recipe):
            rs = [r for r in res["rows"] if r.get("scenario") == sc.id and r.get("function") == fid]
            if not rs:
                continue
            label = kinds[fid].label + (" (routed)" if fid == sc.routed else "")
            if rs[0].get("failed"):
                out.append(f"| {titles[sc.id]} | {label} | - | fails: {rs[0]['failed']} | - | - | - | - | - | - |")
                continue
            arch = kinds[fid].arch
            for r in rs:
                if r["arch"] != arch:
                    continue
                mem = f"{r['memory_mb']} MB" + (" (needs)" if r["memory_mb"] == r["needed_mb"] else "")
                if not r["fits_memory"]:
                    mem += f" (peak {r['peak_rss_mib']:.0f} MiB: OOM)"
                out.append(
                    f"| {titles[sc.id]} | {label} | {mem} | {r['p50_ms']} / {r['p99_ms']} | "
                    f"{r['gb_s_per_request']:.5f} | {money(r['lambda_per_million'])} | "
                    f"{money(r['per_million']['compute'])} / {money(r['per_million']['logs'])} | "
                    f"{money(r['lambda_per_tb'])} | {money(r['cloudfront_per_million'])} | "
                    f"{money(r['cloudfront_per_tb'])} |")
    return out


def measurements_markdown(res: dict) -> list[str]:
    out = ["", "## Measurements", "", "Measured on an unthrottled core (no CPU scaling, local S3 stand-in):", "",
           "| scenario | function | measured p50 / p99 ms | CPU ms per request | log bytes per request | S3 requests per request | peak RSS MiB | errors |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for key, r in res["runs"].items():
        sid, fid = key.split("/")
        if r["failed"]:
            out.append(f"| {sid} | {fid} | - | - | - | - | {r['peak_rss_mib']:.0f} | failed: {r['failed']} |")
            continue
        s3r = "-" if r["s3_requests"] is None else f"{r['s3_requests']:.2f}"
        out.append(f"| {sid} | {fid} | {r['measured_p50_ms']} / {r['measured_p99_ms']} | "
                   f"{r['cpu_ms']:.1f} | {r['log_bytes']:.0f} | {s3r} | {r['peak_rss_mib']:.1f} | "
                   f"{len(r['errors'])} of {r['n']} |")
    return out


def cold_starts_markdown(res: dict, kinds) -> list[str]:
    out = ["", "Cold starts (process start to first `next`, then the first invocation; billed for "
           "every runtime since 2025-08-01):", "",
           "| function | init ms (each) | first invocation ms (each) | RSS after init MiB | init $ per 1M cold starts, 128 / 256 MB (its arch) |",
           "|---|---|---|---:|---:|"]
    for fid, c in res["cold"].items():
        out.append(f"| {kinds[fid].label} | {', '.join(f'{x:.0f}' for x in c['init_ms'])} | "
                   f"{', '.join(str(x) for x in c['first_invoke_ms'])} | "
                   f"{statistics.fmean(c['rss_after_init_mib']):.1f} | "
                   f"{money(c['init_per_million'][128])} / {money(c['init_per_million'][256])} |")
    return out


def recipe_month_markdown(res: dict, kinds) -> list[str]:
    out = ["", "## The recipe's month", "", "The recipe's own month (its assumptions: 50,000 requests, 500 KB images, 5,000 "
           "cache misses reach Lambda, 25 GB delivered), list prices before free tiers:", "",
           "| function | memory | Lambda, all warm | Lambda, every miss cold | CloudFront | total (all cold) | after the always-free tiers |",
           "|---|---:|---:|---:|---:|---:|---:|"]
    for r in res["recipe_month"]:
        out.append(f"| {kinds[r['function']].label} | {r['memory_mb']} MB {r['arch']} | "
                   f"{money(r['lambda_warm'], 4)} | {money(r['lambda_all_cold'], 4)} | "
                   f"{money(r['cloudfront'])} | {money(r['total_list_all_cold'])} | $0 |")
    return out


def crossover_markdown(res: dict, kinds, titles) -> list[str]:
    cr = res["crossover"]
    if not cr:
        return []
    out = ["", "## Fargate crossover", "", f"One always-on task, 0.5 vCPU / 1 GB arm64 = "
           f"{money(cr[0]['task_month'])}/month, plus a public IPv4 address "
           f"({money(cr[0]['with_public_ip_month'])}) or an ALB "
           f"({money(cr[0]['with_alb_month'])} plus $0.008 per GB processed). Above the "
           "request rate shown, the task is cheaper than Lambda (S3 and CloudFront cost the "
           "same either way and are left out). Task capacity: CPU per request measured with "
           "oha against `imgorigin serve --workers 1` on this machine's core, scaled to 0.5 vCPU.", "",
           "| scenario | Lambda function | Lambda $ per 1M (no S3) | crossover, task + public IP | crossover, task + ALB | one task serves (req/s) |",
           "|---|---|---:|---:|---:|---:|"]
    for r in cr:
        capv = r["task_capacity_rps"]
        out.append(f"| {titles[r['scenario']]} | {kinds[r['function']].label}, {r['memory_mb']} MB {r['arch']} | "
                   f"{money(r['lambda_per_request'] * 1e6)} | "
                   f"{fmt_rate(r['crossover_requests_month_public_ip'])} | "
                   f"{fmt_rate(r['crossover_requests_month_alb'])} | "
                   f"{'-' if not capv else f'{capv:,.0f}'} |")
    return out


def watch_markdown(rows: list, kinds, titles) -> list[str]:
    """The check under `cargo lambda watch` (cost/watch.py): the viewer's time through the
    emulator beside the billed time the fake Runtime API measured."""
    if not rows:
        return []
    out = ["", "## The same invocations under `cargo lambda watch`", "",
           "The viewer's time through the emulator's Function URL (request to last body byte: the "
           "billed time plus the emulator's relay) beside the fake Runtime API's billed p50; the "
           "cold row is process start to the first answer. Lost: no answer within the timeout "
           "(the emulator loses some buffered answers).", "",
           "| function | scenario | n | lost | status | viewer p50 / p99 ms | billed p50 ms (fake Runtime API) |",
           "|---|---|---:|---:|---|---:|---:|"]
    for r in rows:
        status = ", ".join(str(s) for s in r["status"]) or "-"
        if r.get("expected") is False:
            status += " (unexpected)"
        p99 = "-" if r["p99_ms"] is None else r["p99_ms"]
        out.append(f"| {kinds[r['function']].label} | {titles.get(r['scenario'], r['scenario'])} "
                   f"| {r['n']} | {r['lost']} | {status} | {r['p50_ms'] if r['p50_ms'] is not None else '-'} / {p99} "
                   f"| {r['fake_billed_p50_ms'] if r['fake_billed_p50_ms'] is not None else '-'} |")
    return out
