"""The fake Lambda Runtime API (the protocol of tests/common/runtime_api.rs), one per function
process. An invocation is timed from the moment its event has been handed out (the `next`
answer flushed) to the last byte of the function's response POST, rounded up to 1 ms, which is
what Lambda bills; the answer is parsed for its status and the bytes the viewer gets."""

import base64
import http.server
import json
import math
import queue
import socket
import socketserver
import threading
import time
from dataclasses import dataclass

from .constants import LAMBDA_BUFFERED_LIMIT, MiB

STREAM_HEAD_KEPT = 65536  # a streamed answer's prelude is in its first bytes; the rest is counted


@dataclass
class Invocation:
    request_id: str
    kind: str = ""  # "response", "error", "init-error"
    streaming: bool = False
    billed_ms: int = 0
    exact_ms: float = 0.0
    status: int = 0
    body_bytes: int = 0  # the HTTP answer's body (decoded for buffered), as the viewer gets it
    posted_bytes: int = 0  # what the function POSTed (JSON with base64 for buffered)
    ended: bool = True  # False: the POST broke off (a stream cut), or a buffered answer > 6 MB
    failure: str = ""


class RuntimeApi:
    """Hands out queued events on `next`, times each invocation to the end of its response
    POST, parses the answer."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        self.results: queue.Queue = queue.Queue()
        self.first_next: float | None = None
        self.delivered: dict[str, float] = {}
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.api = self
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.counter = 0

    def invoke(self, payload: bytes, timeout: float = 300) -> Invocation:
        self.counter += 1
        rid = f"{self.counter:08d}-cost-0000-0000-000000000000"
        self.events.put((rid, payload))
        inv = self.results.get(timeout=timeout)
        if inv.request_id != rid:
            inv.failure = inv.failure or f"answer for {inv.request_id}, expected {rid}"
        return inv

    def close(self):
        self.events.put((None, b""))
        self.server.shutdown()
        self.server.server_close()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    api: RuntimeApi


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def setup(self):
        super().setup()
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self):
        api = self.server.api
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        if api.first_next is None:
            api.first_next = time.perf_counter()
        rid, payload = api.events.get()
        if rid is None:
            self.close_connection = True
            return
        deadline = int(time.time() * 1000) + 900_000
        # Head and body in one write, on a TCP_NODELAY socket (setup): two small writes would
        # meet Nagle and the client's delayed ACK, a 40 ms stall that is the fake's, not the
        # function's.
        head = ("HTTP/1.1 200 OK\r\n"
                f"Lambda-Runtime-Aws-Request-Id: {rid}\r\n"
                f"Lambda-Runtime-Deadline-Ms: {deadline}\r\n"
                "Lambda-Runtime-Invoked-Function-Arn: "
                "arn:aws:lambda:us-east-1:123456789012:function:cost\r\n"
                "Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\n\r\n").encode()
        self.wfile.write(head + payload)
        self.wfile.flush()
        api.delivered[rid] = time.perf_counter()

    def do_POST(self):
        api = self.server.api
        if self.path.endswith("/init/error"):
            rid, kind = "init", "init-error"
        else:
            rid, kind = self.path.split("/")[-2:]
        inv = Invocation(rid, kind)
        inv.streaming = (self.headers.get("Lambda-Runtime-Function-Response-Mode", "")
                         .lower() == "streaming")
        head = bytearray()
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self._read_chunked(inv, head)
            else:
                self._read_sized(inv, head)
        except (ConnectionError, ValueError) as e:
            inv.ended, inv.failure = False, f"POST broke: {e}"
        end = time.perf_counter()
        start = api.delivered.pop(rid, None)
        if start is not None:
            inv.exact_ms = (end - start) * 1000
            inv.billed_ms = max(1, math.ceil(inv.exact_ms))
        parse_answer(inv, bytes(head), inv.posted_bytes)
        if inv.ended:
            self.wfile.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
            self.wfile.flush()
        else:
            self.close_connection = True
        api.results.put(inv)

    def _read_chunked(self, inv: Invocation, head: bytearray) -> None:
        """Reads a chunked POST body, counting it into inv.posted_bytes and keeping what
        parse_answer needs in `head` (a buffered answer whole, up to just past the limit)."""
        keep_all = not inv.streaming
        while True:
            line = self.rfile.readline()
            if not line:
                inv.ended = False
                return
            size = int(line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return
            data = self.rfile.read(size)
            self.rfile.readline()
            if len(data) < size:
                inv.ended = False
                inv.posted_bytes += len(data)
                return
            inv.posted_bytes += size
            if keep_all and len(head) <= LAMBDA_BUFFERED_LIMIT + MiB:
                head += data
            elif not keep_all and len(head) < STREAM_HEAD_KEPT:
                head += data[:STREAM_HEAD_KEPT]

    def _read_sized(self, inv: Invocation, head: bytearray) -> None:
        left = int(self.headers.get("Content-Length", "0"))
        while left:
            data = self.rfile.read(min(left, MiB))
            if not data:
                inv.ended = False
                return
            left -= len(data)
            inv.posted_bytes += len(data)
            if len(head) <= LAMBDA_BUFFERED_LIMIT + MiB:
                head += data


def parse_answer(inv: Invocation, head: bytes, total: int) -> None:
    """Sets inv's status, body_bytes and failure from the first bytes of its response POST
    (`head`) and the POST's length (`total`)."""
    if inv.kind != "response":
        inv.ended = False
        inv.failure = inv.failure or f"{inv.kind}: {head[:200]!r}"
        return
    if inv.streaming:
        at = head.find(b"\0" * 8)
        if at < 0:
            inv.failure = "no prelude delimiter"
            return
        try:
            inv.status = int(json.loads(head[:at]).get("statusCode", 200))
        except ValueError:
            inv.failure = "prelude is not JSON"
        inv.body_bytes = total - at - 8
        if not inv.ended:
            inv.failure = inv.failure or "stream broke off"
        return
    if total > LAMBDA_BUFFERED_LIMIT:
        inv.ended = False
        inv.failure = (f"buffered answer of {total / MiB:.0f} MiB: over Lambda's 6 MB payload "
                       "limit (the Function URL answers 502)")
        return
    try:
        answer = json.loads(head)
    except ValueError:
        inv.failure = "buffered answer is not JSON"
        return
    inv.status = int(answer.get("statusCode", 200))
    body = answer.get("body") or ""
    inv.body_bytes = (len(base64.b64decode(body)) if answer.get("isBase64Encoded")
                      else len(body.encode()))
