"""Unit tests of the harness's arithmetic: percentiles, ratios, thresholds, drawn ranges, and
the transform responses' checks (image headers).
Run by tests/run.sh: python3 -m unittest discover -s loadtest/harness"""

import struct
import unittest

import logcost
import report
from drive import Measured, check_transform, image_size
from procs import OBJECTS
from main import measure
from scenarios import FULL, QUICK, Scenario, Target, draw_ranges

SCEN = [{"id": "small", "title": "", "kind": "requests"}, {"id": "large", "title": "", "kind": "bytes"}]


def row(scenario, target, rps, mib_s, p50=1.0, p99=2.0, errors=0, rss=None):
    return {"scenario": scenario, "target": target, "rps": rps, "mib_s": mib_s, "p50_ms": p50,
            "p90_ms": p50, "p99_ms": p99, "max_ms": p99, "errors": errors, "error_kinds": {},
            "server_rss_mib": rss}


LIMITS = {"max_errors": 0, "max_rss_mib": 64, "min_proxy_ratio": 0.8, "small_p99_factor": 2.0,
          "small_p99_slack_ms": 2.0, "large_p99_factor": 2.0, "compare": True, "gate_ratios": True,
          "max_transform_rss_mib": 256, "min_sharp_ratio": 1.0, "min_iip_ratio": 1.0}


class Percentiles(unittest.TestCase):
    def test_exact_ranks_of_a_known_sample(self):
        m = Measured(requests=100, seconds=2.0, bytes=100 << 20, latencies=[i / 1000 for i in range(1, 101)])
        s = m.summary()
        self.assertEqual((s["p50_ms"], s["p90_ms"], s["p99_ms"], s["max_ms"]), (51.0, 91.0, 100.0, 100.0))
        self.assertEqual((s["rps"], s["mib_s"]), (50.0, 50.0))

    def test_merge_adds_counts_and_errors(self):
        a, b = Measured(requests=1, bytes=5, latencies=[0.1]), Measured(requests=2, bytes=7, latencies=[0.2, 0.3])
        a.add_error("status 500")
        b.add_error("status 500", 2)
        a.merge(b)
        self.assertEqual((a.requests, a.bytes, a.errors), (3, 12, {"status 500": 3}))

    def test_no_request_gives_no_percentile(self):
        self.assertIsNone(Measured(seconds=1.0).summary()["p99_ms"])


class Thresholds(unittest.TestCase):
    def rows(self, ours_rps=900.0, ours_p99=5.0, errors=0, rss=20.0):
        return [row("small", "imgorigin", ours_rps, 1.0, p99=ours_p99, errors=errors, rss=rss),
                row("small", "nginx-proxy", 1000.0, 1.0), row("small", "direct", 2000.0, 1.0, p99=1.5),
                row("large", "imgorigin", 1.0, 300.0, rss=rss), row("large", "nginx-proxy", 1.0, 100.0)]

    def verdicts(self, rows, **limits):
        r = report.ratios(rows, SCEN)
        return {c[1]: c for c in report.verdicts(rows, SCEN, r, {**LIMITS, **limits})}

    def test_ratio_uses_req_per_s_or_mib_per_s_by_scenario_kind(self):
        r = {(q["scenario"], q["peer"]): q for q in report.ratios(self.rows(), SCEN)}
        self.assertEqual(r[("small", "nginx-proxy")]["throughput"], 0.9)
        self.assertEqual(r[("large", "nginx-proxy")]["throughput"], 3.0)

    def test_every_threshold_holds_and_fails_at_its_edge(self):
        v = self.verdicts(self.rows())
        self.assertTrue(all(c[0] for c in v.values()), v)
        self.assertEqual(v["small: p99 ms (<= factor x direct + slack)"][3], 5.0)
        v = self.verdicts(self.rows(ours_rps=790.0, ours_p99=5.01, errors=1, rss=64.1))
        for what in ("small: throughput / nginx-proxy", "small: p99 ms (<= factor x direct + slack)",
                     "small imgorigin: errors", "small imgorigin: peak RSS MiB"):
            self.assertFalse(v[what][0], what)

    def test_large_rows_need_p99_within_twice_their_own_p50(self):
        rows = self.rows()
        rows[3] = row("large", "imgorigin", 1.0, 300.0, p50=100.0, p99=200.0, rss=20.0)
        rows.append(row("large", "imgorigin-root", 1.0, 300.0, p50=100.0, p99=200.1))
        rows.append(row("large", "nginx-proxy", 1.0, 100.0, p50=100.0, p99=900.0))
        v = self.verdicts(rows)
        self.assertTrue(v["large imgorigin: p99 ms (<= factor x p50)"][0])
        self.assertFalse(v["large imgorigin-root: p99 ms (<= factor x p50)"][0])
        self.assertNotIn("large nginx-proxy: p99 ms (<= factor x p50)", v)

    def test_a_scenario_can_report_its_proxy_ratio_without_gating(self):
        scen = [{**SCEN[0], "peer_ungated": "the peer's backend does it itself"}, SCEN[1]]
        rows = self.rows(ours_rps=100.0)
        v = {c[1]: c for c in report.verdicts(rows, scen, report.ratios(rows, scen), LIMITS)}
        miss = v["small: throughput / nginx-proxy"]
        self.assertEqual((miss[0], miss[4]), (False, False))
        self.assertTrue(v["large: throughput / nginx-proxy"][4])

    def test_quick_mode_reports_ratios_without_gating(self):
        v = self.verdicts(self.rows(ours_rps=100.0), gate_ratios=False)
        miss = v["small: throughput / nginx-proxy"]
        self.assertEqual((miss[0], miss[4]), (False, False))
        self.assertTrue(v["small imgorigin: errors"][4])

    def test_log_instruction_share_gates_even_in_quick_runs(self):
        logs = [{"scenario": "small", "instructions_on": 100_000, "instructions_off": 95_000,
                 "share": logcost.share(100_000, 95_000)},
                {"scenario": "head", "instructions_on": 100_000, "instructions_off": 94_990,
                 "share": logcost.share(100_000, 94_990)}]
        r = report.ratios(self.rows(), SCEN)
        v = {c[1]: c for c in report.verdicts(self.rows(), SCEN, r,
                                                {**LIMITS, "gate_ratios": False, "max_log_cpu_share": 0.05},
                                                logs)}
        self.assertEqual(v["small: access log's share of instructions per request"][:3],
                         (True, "small: access log's share of instructions per request", 0.05))
        head = v["head: access log's share of instructions per request"]
        self.assertEqual((head[0], head[2], head[4]), (False, 0.0501, True))

    def test_log_cpu_seconds_share_is_reported_not_gated(self):
        rows = self.rows() + [
            {**row("small", "imgorigin-nolog", 900.0, 1.0), "requests": 1000, "server_cpu_s": 1.0}]
        rows[0] = {**rows[0], "requests": 1000, "server_cpu_s": 1.2}
        v = self.verdicts(rows, max_log_cpu_share=0.05)
        miss = v["small: access log's share of CPU seconds per request at saturation"]
        self.assertEqual((miss[0], miss[2], miss[4]), (False, 0.167, False))

    def test_markdown_and_svg_render_every_row(self):
        rows = self.rows()
        meta = {"mode": "serve", "date": "d", "machine": "m", "backend": "nginx", "timing": "t"}
        md = report.markdown(meta, SCEN, rows, report.ratios(rows, SCEN), [])
        for line in ("| small | imgorigin | 900.0 |", "| small | nginx-proxy | 1,000.0 |",
                     "| small | direct | 2,000.0 |", "| large | imgorigin / nginx-proxy | 3.00 |"):
            self.assertIn(line, md)
        svg = report.svg_chart(SCEN, rows)
        self.assertTrue(svg.startswith("<svg") and svg.endswith("</svg>"))


TSCEN = [{"id": "transform-400-webp", "title": "", "kind": "thumbs"}]


class TransformThresholds(unittest.TestCase):
    def rows(self, ours_rps=10.0, rss=200.0, errors=0):
        return [row("transform-400-webp", "imgorigin", ours_rps, 0.1, errors=errors, rss=rss),
                row("transform-400-webp", "imgorigin-root", 12.0, 0.1, rss=rss),
                row("transform-400-webp", "sharp", 8.0, 0.1, rss=300.0)]

    def verdicts(self, rows, **limits):
        r = report.ratios(rows, TSCEN)
        return {c[1]: c for c in report.verdicts(rows, TSCEN, r, {**LIMITS, **limits})}

    def test_thumbs_per_s_against_the_sharp_server(self):
        r = {(q["ours"], q["peer"]): q for q in report.ratios(self.rows(), TSCEN)}
        self.assertEqual(r[("imgorigin", "sharp")]["throughput"], 1.25)
        self.assertEqual(r[("imgorigin-root", "sharp")]["throughput"], 1.5)
        self.assertNotIn(("imgorigin", "nginx-proxy"), r)

    def test_transform_rows_have_their_own_memory_limit(self):
        v = self.verdicts(self.rows(rss=256.0))
        rss = v["transform-400-webp imgorigin: peak RSS MiB"]
        self.assertEqual((rss[0], rss[3], rss[4]), (True, 256, True))
        self.assertFalse(self.verdicts(self.rows(rss=256.1))["transform-400-webp imgorigin: peak RSS MiB"][0])
        # the sharp server is the peer: its memory is reported, not judged
        self.assertFalse(any("sharp:" in what or what.startswith("transform-400-webp sharp") for what in v))

    def test_sharp_ratio_gates_full_runs_only_and_errors_always(self):
        what = "transform-400-webp: thumbs/s / sharp server"
        self.assertTrue(self.verdicts(self.rows(ours_rps=8.0))[what][0])
        full = self.verdicts(self.rows(ours_rps=7.9, errors=1))
        self.assertEqual((full[what][0], full[what][4]), (False, True))
        quick = self.verdicts(self.rows(ours_rps=7.9, errors=1), gate_ratios=False)
        self.assertEqual((quick[what][0], quick[what][4]), (False, False))
        err = quick["transform-400-webp imgorigin: errors"]
        self.assertEqual((err[0], err[4]), (False, True))

    def test_cpu_per_thumbnail(self):
        self.assertEqual(report.per_request_ms(3.3, 22), 150.0)
        self.assertIsNone(report.per_request_ms(1.0, 0))
        self.assertIsNone(report.per_request_ms(None, 5))
        rows = self.rows()
        rows[0]["cpu_ms_per_thumb"], rows[2]["cpu_ms_per_thumb"] = 120.0, 160.0
        r = {(q["ours"], q["peer"]): q for q in report.ratios(rows, TSCEN)}
        self.assertEqual(r[("imgorigin", "sharp")]["cpu_per_thumb"], 0.75)
        self.assertIsNone(r[("imgorigin-root", "sharp")]["cpu_per_thumb"])
        meta = {"mode": "serve", "date": "d", "machine": "m", "backend": "nginx", "timing": "t"}
        md = report.markdown(meta, TSCEN, rows, report.ratios(rows, TSCEN), [])
        self.assertIn("| transform-400-webp | imgorigin | 10.0 | 120.0 | 0.75 | 200.0 |", md)
        self.assertIn("| transform-400-webp | sharp | 8.0 | 160.0 | - | 300.0 |", md)

    def test_svg_labels_thumbnails(self):
        self.assertIn("thumbs/s", report.svg_chart(TSCEN, self.rows()))


def jpeg(width, height, sof=0xC0):
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00" + bytes(9)
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + bytes(65)
    frame = b"\xff" + bytes([sof]) + struct.pack(">HBHHB", 17, 8, height, width, 3) + bytes(9)
    return b"\xff\xd8" + app0 + dqt + frame + b"\xff\xda" + bytes(40)


def riff(chunk, data):
    body = b"WEBP" + chunk + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


class ImageHeaders(unittest.TestCase):
    def test_jpeg_baseline_and_progressive_frames(self):
        self.assertEqual(image_size(jpeg(400, 267)), ("jpeg", 400, 267))
        self.assertEqual(image_size(jpeg(1280, 853, sof=0xC2)), ("jpeg", 1280, 853))

    def test_jpeg_without_frame_header_or_truncated(self):
        self.assertIsNone(image_size(b"\xff\xd8\xff\xda" + bytes(40)))
        self.assertIsNone(image_size(jpeg(400, 267)[:30]))

    def test_webp_lossy_lossless_extended(self):
        vp8 = b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", 400, 267) + bytes(20)
        self.assertEqual(image_size(riff(b"VP8 ", vp8)), ("webp", 400, 267))
        bits = (400 - 1) | ((267 - 1) << 14)
        self.assertEqual(image_size(riff(b"VP8L", b"\x2f" + struct.pack("<I", bits) + bytes(20))),
                         ("webp", 400, 267))
        vp8x = bytes(4) + (400 - 1).to_bytes(3, "little") + (267 - 1).to_bytes(3, "little") + bytes(20)
        self.assertEqual(image_size(riff(b"VP8X", vp8x)), ("webp", 400, 267))

    def test_other_bytes_are_no_image(self):
        for body in (b"", b"<html>error</html>", bytes(100), b"\x89PNG\r\n\x1a\n" + bytes(40)):
            self.assertIsNone(image_size(body))

    def test_check_transform_names_what_is_wrong(self):
        body = jpeg(400, 267)
        n = str(len(body))
        self.assertIsNone(check_transform(200, "image/jpeg", n, body, "jpeg", 400))
        self.assertEqual(check_transform(503, "image/jpeg", n, body, "jpeg", 400), "status 503")
        self.assertIn("Content-Type", check_transform(200, "image/webp", n, body, "jpeg", 400))
        self.assertIn("Content-Type", check_transform(200, None, n, body, "jpeg", 400))
        self.assertIn("Content-Length", check_transform(200, "image/jpeg", None, body, "jpeg", 400))
        self.assertIn("Content-Length", check_transform(200, "image/jpeg", "1", body, "jpeg", 400))
        self.assertEqual(check_transform(200, "image/webp", n, body, "webp", 400), "body is not a webp image")
        self.assertEqual(check_transform(200, "image/jpeg", n, body, "jpeg", 401), "image 400 px wide, not 401")


class Ranges(unittest.TestCase):
    def test_ranges_are_inside_the_object_and_of_the_right_length(self):
        size = OBJECTS["190m.bin"]
        for t in (FULL, QUICK):
            r = draw_ranges(t)
            self.assertEqual(len(r["zoom"]), t.waves)
            for wave in r["zoom"]:
                self.assertEqual(len(wave), 32)
                self.assertTrue(all(0 <= a and b < size and b - a + 1 == 64 << 10 for a, b in wave))
            for w, wave in enumerate(r["video"]):
                self.assertEqual(len(wave), 4)
                self.assertTrue(all(b < size and b - a + 1 == 1 << 20 for a, b in wave))
                if w:
                    prev = r["video"][w - 1]
                    self.assertEqual([a for a, _ in wave], [a + (1 << 20) for a, _ in prev])
            self.assertEqual(len(r["multirange"]), t.waves)
            for wave in r["multirange"]:
                self.assertEqual(len(wave), 16)
                for request in wave:
                    self.assertEqual(len(request), 8)
                    self.assertTrue(all(b < size and b - a + 1 == 16 << 10 for a, b in request))
                    self.assertTrue(all(n[0] - p[1] > 5 << 10 for p, n in zip(request, request[1:])))

    def test_ranges_are_the_same_for_every_target_of_a_run(self):
        self.assertEqual(draw_ranges(FULL), draw_ranges(FULL))


if __name__ == "__main__":
    unittest.main()


class Rounds(unittest.TestCase):
    def test_interleaved_scenarios_alternate_targets_and_sum_their_rounds(self):
        calls = []

        def run(target, t, _ranges):
            calls.append((target.name, t.seconds))
            return Measured(requests=10, seconds=t.seconds, latencies=[0.001] * 10)

        targets = [Target(n, "", [], None) for n in ("a", "b", "c")]
        scenario = Scenario("small", "", "requests", run, interleaved=True)
        rows = measure(scenario, targets, {}, FULL, None)
        each = FULL.seconds / FULL.rounds
        self.assertEqual([n for n, _ in calls][:6], ["a", "b", "c", "b", "c", "a"])
        self.assertEqual(len(calls), 3 * FULL.rounds)
        self.assertTrue(all(s == each for _, s in calls))
        self.assertEqual([(r["target"], r["requests"]) for r in rows],
                         [(n, 10 * FULL.rounds) for n in ("a", "b", "c")])
        self.assertEqual(rows[0]["rps"], round(10 * FULL.rounds / FULL.seconds, 1))

    def test_other_scenarios_run_once_per_target_for_the_whole_time(self):
        calls = []

        def run(target, t, _ranges):
            calls.append((target.name, t.seconds))
            return Measured(requests=1, seconds=t.seconds, latencies=[0.001])

        targets = [Target(n, "", [], None) for n in ("a", "b")]
        measure(Scenario("large", "", "bytes", run), targets, {}, FULL, None)
        self.assertEqual(calls, [("a", FULL.seconds), ("b", FULL.seconds)])


class LogCost(unittest.TestCase):
    def test_reads_callgrind_totals(self):
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as d:
            f = Path(d, "callgrind.out")
            f.write_text("version: 1\ncmd: imgorigin serve\nevents: Ir\nfl=(1)\n0 5\ntotals: 123456789\n")
            self.assertEqual(logcost.total_instructions(f), 123456789)
            f.write_text("events: Ir\nsummary: 42\n")
            self.assertEqual(logcost.total_instructions(f), 42)
            f.write_text("events: Ir\n")
            with self.assertRaises(RuntimeError):
                logcost.total_instructions(f)

    def test_share_is_what_the_log_adds(self):
        self.assertEqual(logcost.share(200.0, 190.0), 0.05)
        self.assertEqual(logcost.share(200.0, 210.0), -0.05)
        self.assertIsNone(logcost.share(0.0, 10.0))


class IiifTiles(unittest.TestCase):
    def test_tiles_are_a_viewers_requests_inside_the_image(self):
        import iiif
        w, h = iiif.PYRAMID_SIZE
        tiles = iiif.tiles((w, h), 19)
        self.assertEqual(tiles, iiif.tiles((w, h), 19))  # the same requests for every target
        self.assertEqual(len(tiles), iiif.URLS)
        scales = set()
        for t in tiles:
            region, size, rotation, quality = t.split("/")
            x, y, rw, rh = map(int, region.split(","))
            self.assertEqual((rotation, quality), ("0", "default.jpg"))
            # The level: the smallest power of two whose tile span holds the region.
            s = 1
            while iiif.TILE * s < max(rw, rh) or x % (iiif.TILE * s) or y % (iiif.TILE * s):
                s *= 2
            scales.add(s)
            self.assertTrue(x + rw <= w and y + rh <= h, t)
            self.assertTrue(rw == iiif.TILE * s or x + rw == w, t)  # whole, or the edge tile
            self.assertTrue(rh == iiif.TILE * s or y + rh == h, t)
            self.assertEqual(size, f"{-(-rw // s)},", t)
        # 12000 x 8000 halves to one 512 px tile in 5 steps: levels 1 to 32 all drawn.
        self.assertEqual(scales, {1, 2, 4, 8, 16, 32})
