"""Unit tests of the cost model's arithmetic (loadtest/cost/pricing.py) and of its fake Runtime
API (loadtest/cost/runtime_api.py): no function process, no backend. Run by tests/run.sh:
python3 -m unittest discover -s loadtest/harness"""

import base64
import http.client
import json
import sys
import threading
import time
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cost import constants, functions, measure, pricing, runtime_api, scenarios  # noqa: E402

PRICES = json.loads(constants.PRICES.read_text())


class Modeled(unittest.TestCase):
    def run_of(self, billed, cpu_ms, body=1000):
        return measure.Run("s", "f", n=len(billed), billed=billed, body_bytes=[body] * len(billed),
                        cpu_ms=cpu_ms)

    def test_cpu_share_below_one_vcpu(self):
        # 10 ms measured, 5 of them CPU: at 128 MB the CPU part takes 1769/128 times longer.
        self.assertEqual(pricing.modeled_ms(self.run_of([10], 5), 128, PRICES, False), [75])
        self.assertEqual(pricing.modeled_ms(self.run_of([10], 5), 1769, PRICES, False), [10])
        self.assertEqual(pricing.modeled_ms(self.run_of([10], 5), 4096, PRICES, False), [10])

    def test_never_below_measured(self):
        # More CPU than wall time (threads): never modeled faster than measured.
        self.assertEqual(pricing.modeled_ms(self.run_of([100], 150), 3538, PRICES, False), [100])

    def test_stream_rate_cap_past_6_mb(self):
        run = self.run_of([300], 0, body=16_000_000)
        self.assertEqual(pricing.modeled_ms(run, 256, PRICES, True), [5000])
        self.assertEqual(pricing.modeled_ms(run, 256, PRICES, False), [300])

    def test_memory_needed(self):
        self.assertEqual(pricing.lambda_mb_for(20), 128)
        self.assertEqual(pricing.lambda_mb_for(136.6), 192)

    def test_price_row_parts(self):
        run = measure.Run("s", "f", n=2, billed=[100, 100], body_bytes=[10 ** 6] * 2, cpu_ms=0,
                       log_bytes=1000, s3_requests=1.0)
        kind = functions.FunctionKind("recipe", "r", "x86_64", "buffered", [], {})
        sc = scenarios.Scenario("s", "t", None, "imgorigin-stream", "recipe")
        r = pricing.price_row(run, kind, sc, 1024, "x86_64", PRICES, 0)
        self.assertAlmostEqual(r["gb_s_per_request"], 0.1)
        self.assertAlmostEqual(r["per_million"]["compute"], 0.1 * 0.0000166667 * 1e6)
        self.assertAlmostEqual(r["per_million"]["requests"], 0.2)
        self.assertAlmostEqual(r["per_million"]["s3"], 0.4)
        self.assertAlmostEqual(r["per_million"]["logs"], 1000 / 2 ** 30 * 0.5 * 1e6)
        self.assertEqual(r["per_million"]["streaming"], 0)


class Answers(unittest.TestCase):
    def test_streamed_prelude(self):
        inv = runtime_api.Invocation("1", "response", streaming=True)
        head = b'{"statusCode":206,"headers":{}}' + b"\0" * 8 + b"abc"
        runtime_api.parse_answer(inv, head, len(head))
        self.assertEqual((inv.status, inv.body_bytes, inv.failure), (206, 3, ""))

    def test_buffered_base64(self):
        inv = runtime_api.Invocation("1", "response")
        head = json.dumps({"statusCode": 200, "isBase64Encoded": True,
                           "body": base64.b64encode(b"x" * 10).decode()}).encode()
        runtime_api.parse_answer(inv, head, len(head))
        self.assertEqual((inv.status, inv.body_bytes), (200, 10))

    def test_buffered_over_6_mb_fails(self):
        inv = runtime_api.Invocation("1", "response")
        runtime_api.parse_answer(inv, b"{", 7 << 20)
        self.assertFalse(inv.ended)
        self.assertIn("6 MB", inv.failure)


class FakeRuntimeApi(unittest.TestCase):
    def test_times_to_the_end_of_the_post(self):
        api = runtime_api.RuntimeApi()

        def function():
            conn = http.client.HTTPConnection("127.0.0.1", api.port)
            conn.request("GET", "/2018-06-01/runtime/invocation/next")
            r = conn.getresponse()
            rid = r.getheader("Lambda-Runtime-Aws-Request-Id")
            r.read()
            time.sleep(0.02)
            conn.putrequest("POST", f"/2018-06-01/runtime/invocation/{rid}/response")
            conn.putheader("Lambda-Runtime-Function-Response-Mode", "streaming")
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            for part in (b'{"statusCode":200}', b"\0" * 8, b"x" * 5000):
                conn.send(b"%x\r\n%s\r\n" % (len(part), part))
            time.sleep(0.02)
            conn.send(b"0\r\n\r\n")
            conn.getresponse().read()
            conn.close()

        t = threading.Thread(target=function)
        t.start()
        inv = api.invoke(b"{}", timeout=10)
        t.join()
        api.close()
        self.assertEqual((inv.status, inv.body_bytes, inv.ended, inv.failure), (200, 5000, True, ""))
        self.assertGreaterEqual(inv.billed_ms, 40)
        self.assertLess(inv.billed_ms, 1000)


class Prices(unittest.TestCase):
    def test_every_section_cites_a_source(self):
        for name, section in PRICES.items():
            if isinstance(section, dict):
                self.assertTrue(any(k.endswith("source") for k in section), name)


if __name__ == "__main__":
    unittest.main()
