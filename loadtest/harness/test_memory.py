"""Unit tests of the memory scenarios: the 16-bit PNG, answer classification, the burst and
never-reading drivers against a local stub server, and the budget's RSS threshold.
Run by tests/run.sh: python3 -m unittest discover -s loadtest/harness"""

import http.server
import struct
import threading
import time
import unittest
import zlib

import report
from main import budget_row
from memory import budget_burst, classify, noread, png16_bytes
from scenarios import SCENARIOS, Scenario
from test_harness import LIMITS, jpeg, riff, row


class Png16(unittest.TestCase):
    def test_header_crc_and_pixels(self):
        png = png16_bytes(20, 3)
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        length, kind = struct.unpack(">I4s", png[8:16])
        ihdr = png[16:16 + length]
        self.assertEqual((kind, struct.unpack(">IIBBBBB", ihdr)), (b"IHDR", (20, 3, 16, 6, 0, 0, 0)))
        crc = struct.unpack(">I", png[16 + length:20 + length])[0]
        self.assertEqual(crc, zlib.crc32(b"IHDR" + ihdr))
        at = 20 + length
        length, kind = struct.unpack(">I4s", png[at:at + 8])
        raw = zlib.decompress(png[at + 8:at + 8 + length])
        self.assertEqual((kind, len(raw)), (b"IDAT", 3 * (1 + 20 * 8)))
        # row 0, pixel 3: filter byte, then 8 bytes a pixel; later rows repeat it (Up, zeros)
        self.assertEqual(struct.unpack(">HHHH", raw[1 + 3 * 8:][:8]), (48, 30000, 65535 - 48, 50000))
        self.assertEqual(raw[161:2 * 161], b"\x02" + bytes(160))
        self.assertTrue(png.endswith(struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))))


class Classify(unittest.TestCase):
    def test_busy_ok_and_everything_else(self):
        webp = riff(b"VP8 ", b"\x00\x00\x00\x9d\x01\x2a" + struct.pack("<HH", 400, 300) + bytes(20))
        n = str(len(webp))
        self.assertEqual(classify(503, "text/plain", "5", b"busy\n", "webp", 400), "busy")
        self.assertEqual(classify(200, "image/webp", n, webp, "webp", 400), "ok")
        self.assertEqual(classify(500, "text/plain", "6", b"error\n", "webp", 400), "status 500")
        self.assertEqual(classify(422, "text/plain", "1", b"x", "webp", 400), "status 422")
        self.assertEqual(classify(200, "image/webp", n, webp, "webp", 4096), "image 400 px wide, not 4096")


class Stub(http.server.BaseHTTPRequestHandler):
    """/ok: a 400 px JPEG; /busy: 503; /obj: 64 KiB; /big: 8 MiB."""
    body = jpeg(400, 300)

    def do_GET(self):
        path = self.path.split("?")[0]
        status, ctype, body = {
            "/ok": (200, "image/jpeg", self.body), "/busy": (503, "text/plain", b"busy\n"),
            "/obj": (200, "application/octet-stream", bytes(64 << 10)),
            "/big": (200, "application/octet-stream", bytes(8 << 20)),
        }.get(path, (404, "text/plain", b"no\n"))
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    def log_message(self, *_):
        pass


class Drivers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
        cls.server.daemon_threads = True
        threading.Thread(target=cls.server.serve_forever, daemon=True).start()
        cls.base = f"http://127.0.0.1:{cls.server.server_address[1]}"

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()

    def test_burst_counts_503_as_busy_not_error(self):
        m = budget_burst([(f"{self.base}/ok?w=400", "jpeg", 400), (f"{self.base}/busy", "jpeg", 400)], 2, 0.3)
        self.assertGreater(m.busy, 0)
        self.assertEqual(m.errors, {})
        self.assertEqual(m.requests, len(m.latencies))

    def test_burst_without_any_200_fails(self):
        m = budget_burst([(f"{self.base}/busy", "jpeg", 400)], 2, 0.2)
        self.assertIn("no transform admitted", m.errors)
        m = budget_burst([(f"{self.base}/missing", "jpeg", 400)], 1, 0.1)
        self.assertIn("status 404", m.errors)

    def test_noread_probes_while_clients_hang(self):
        started = time.perf_counter()
        m = noread(f"{self.base}/big", 20, 0.5, f"{self.base}/obj", 64 << 10)
        self.assertGreaterEqual(time.perf_counter() - started, 0.5)
        self.assertEqual(m.errors, {})
        self.assertGreater(m.requests, 0)
        bad = noread(f"{self.base}/big", 2, 0.2, f"{self.base}/obj", 1)
        self.assertTrue(any(k.startswith("probe: status 200") for k in bad.errors), bad.errors)


class BudgetThreshold(unittest.TestCase):
    SCEN = [{"id": "transform-memory", "title": "", "kind": "budget"},
            {"id": "noread", "title": "", "kind": "probe"}]

    def test_limit_is_budget_plus_base_plus_slack(self):
        r = row("transform-memory", "imgorigin-budget", 1.0, 0.1, rss=200.0)
        budget_row(Scenario("transform-memory", "", "budget", None, budget_mib=256, slack_mib=32), r, 12 * 1024)
        self.assertEqual((r["base_rss_mib"], r["rss_limit_mib"]), (12.0, 300.0))
        plain = row("noread", "imgorigin", 1.0, 0.1, rss=40.0)
        budget_row(Scenario("noread", "", "probe", None), plain, 10 * 1024)
        self.assertNotIn("rss_limit_mib", plain)

    def test_verdicts_use_the_limit_and_no_ratios(self):
        rows = [row("transform-memory", "imgorigin-budget", 1.0, 0.1, rss=300.0),
                row("noread", "imgorigin", 20.0, 1.0, rss=64.1), row("noread", "nginx-proxy", 40.0, 1.0)]
        rows[0]["rss_limit_mib"] = 300.0
        ratios = report.ratios(rows, self.SCEN)
        self.assertEqual(ratios, [])
        v = {c[1]: c for c in report.verdicts(rows, self.SCEN, ratios, LIMITS)}
        self.assertEqual(v["transform-memory imgorigin-budget: peak RSS MiB"][:4],
                         (True, "transform-memory imgorigin-budget: peak RSS MiB", 300.0, 300.0))
        self.assertFalse(v["noread imgorigin: peak RSS MiB"][0])
        rows[0]["server_rss_mib"] = 300.1
        v = {c[1]: c for c in report.verdicts(rows, self.SCEN, ratios, LIMITS)}
        self.assertFalse(v["transform-memory imgorigin-budget: peak RSS MiB"][0])

    def test_markdown_lists_the_budget_rows(self):
        r = row("transform-memory", "imgorigin-budget", 1.0, 0.1, rss=210.0)
        r.update(busy=13, base_rss_mib=11.0, rss_limit_mib=299.0, requests=20)
        meta = {"mode": "serve", "date": "d", "machine": "m", "backend": "nginx", "timing": "t"}
        md = report.markdown(meta, self.SCEN, [r], [], [])
        self.assertIn("| transform-memory | imgorigin-budget | 20 | 13 | 0 | 11.0 | 210.0 | 299.0 |", md)

    def test_scenarios_are_listed(self):
        ids = {s.id: s for s in SCENARIOS}
        self.assertEqual((ids["noread"].needs, ids["transform-memory"].needs), ("noread", "budget"))
        self.assertEqual(ids["transform-memory"].budget_mib, 256)


if __name__ == "__main__":
    unittest.main()
