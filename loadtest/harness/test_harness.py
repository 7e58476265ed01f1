"""Unit tests of the harness's arithmetic: percentiles, ratios, thresholds, drawn ranges.
Run by tests/run.sh: python3 -m unittest discover -s loadtest/harness"""

import unittest

import report
from drive import Measured
from procs import OBJECTS
from scenarios import FULL, QUICK, draw_ranges

SCEN = [{"id": "small", "title": "", "kind": "requests"}, {"id": "large", "title": "", "kind": "bytes"}]


def row(scenario, target, rps, mib_s, p50=1.0, p99=2.0, errors=0, rss=None):
    return {"scenario": scenario, "target": target, "rps": rps, "mib_s": mib_s, "p50_ms": p50,
            "p90_ms": p50, "p99_ms": p99, "max_ms": p99, "errors": errors, "error_kinds": {},
            "server_rss_mib": rss}


LIMITS = {"max_errors": 0, "max_rss_mib": 64, "min_proxy_ratio": 0.8, "small_p99_factor": 2.0,
          "small_p99_slack_ms": 2.0, "compare": True, "gate_ratios": True}


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

    def test_quick_mode_reports_ratios_without_gating(self):
        v = self.verdicts(self.rows(ours_rps=100.0), gate_ratios=False)
        miss = v["small: throughput / nginx-proxy"]
        self.assertEqual((miss[0], miss[4]), (False, False))
        self.assertTrue(v["small imgorigin: errors"][4])

    def test_markdown_and_svg_render_every_row(self):
        rows = self.rows()
        meta = {"mode": "serve", "date": "d", "machine": "m", "backend": "nginx", "timing": "t"}
        md = report.markdown(meta, SCEN, rows, report.ratios(rows, SCEN), [])
        for line in ("| small | imgorigin | 900.0 |", "| small | nginx-proxy | 1,000.0 |",
                     "| small | direct | 2,000.0 |", "| large | imgorigin / nginx-proxy | 3.00 |"):
            self.assertIn(line, md)
        svg = report.svg_chart(SCEN, rows)
        self.assertTrue(svg.startswith("<svg") and svg.endswith("</svg>"))


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

    def test_ranges_are_the_same_for_every_target_of_a_run(self):
        self.assertEqual(draw_ranges(FULL), draw_ranges(FULL))


if __name__ == "__main__":
    unittest.main()
