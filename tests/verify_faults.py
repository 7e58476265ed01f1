#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of an S3-protocol server, for tests/verify.sh.

    python3 tests/verify_faults.py LISTEN_PORT UPSTREAM_PORT

Forwards every request to 127.0.0.1:UPSTREAM_PORT unchanged (method, target and headers, Host
included, so SigV4 signatures still match) and the answers back, except GETs of keys with a
`/cut/` path segment: a read without Range is cut (the connection reset) after its first MiB,
a read with Range (imgorigin resuming) right after the head. So every read of such a key
fails mid-body and cannot be resumed, which is what deploy/verify.sh --faulty-store expects.
Prints `listening on PORT` once ready; runs until killed.
"""

import http.client
import http.server
import socket
import struct
import sys

CUT_AFTER = 1024 * 1024
HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    upstream = None

    def log_message(self, *args):
        pass

    def forward(self):
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        up = http.client.HTTPConnection("127.0.0.1", self.upstream, timeout=60)
        up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
        for k, v in self.headers.items():
            if k.lower() not in HOP:
                up.putheader(k, v)
        up.endheaders(body)
        resp = up.getresponse()
        cut = None
        if self.command == "GET" and "/cut/" in self.path.split("?")[0] and resp.status in (200, 206):
            cut = 0 if self.headers.get("range") else CUT_AFTER
        length = resp.getheader("content-length")
        streamed = length is not None and not resp.chunked
        data = b"" if self.command == "HEAD" or streamed else resp.read()
        self.send_response_only(resp.status, resp.reason)
        for k, v in resp.getheaders():
            if k.lower() not in HOP and k.lower() != "content-length":
                self.send_header(k, v)
        self.send_header("Content-Length", (length or "0") if streamed or self.command == "HEAD" else str(len(data)))
        self.end_headers()
        sent = 0
        while True:
            if cut is not None and sent >= cut:
                # An abortive close (RST), as a failing S3 connection ends.
                self.wfile.flush()
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                self.close_connection = True
                break
            chunk = resp.read(64 * 1024) if streamed and self.command != "HEAD" else data
            data = b""
            if not chunk:
                break
            if cut is not None:
                chunk = chunk[:cut - sent]
            self.wfile.write(chunk)
            sent += len(chunk)
        up.close()

    do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = forward


def main():
    port, upstream = int(sys.argv[1]), int(sys.argv[2])
    Proxy.upstream = upstream
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Proxy)
    server.daemon_threads = True
    print(f"listening on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
