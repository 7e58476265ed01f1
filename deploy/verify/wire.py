"""One HTTP request as the wire carried it (http.client: no retries, redirects or
decompression), and SigV4 signing of requests to Function URLs."""

import hashlib
import http.client
import re
import socket
import time
import urllib.parse

from .limits import MIB, UNCAPPED

UA = "imgorigin-verify/1"
READ_SIZE = 256 * 1024


class Answer:
    """One request as the wire carried it."""

    def __init__(self):
        self.status = None
        self.headers = []
        self.body = None  # kept when small
        self.length = 0
        self.sha256 = None
        self.ended = "complete"
        self.error = None
        self.head_s = None
        self.total_s = None
        self.chunked = False
        self.extra = None  # bytes seen after a bodyless head (HEAD, 304), None if not probed
        self.past_uncapped = None  # (bytes, seconds) when the body passed UNCAPPED bytes

    def header(self, name):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None

    def declared_length(self):
        """Content-Length, or the one a streaming Function URL renames."""
        v = self.header("content-length") or self.header("x-amzn-remapped-content-length")
        return int(v) if v is not None and v.isdigit() else None

    def complete(self):
        return self.error is None and self.ended == "complete"

    def xcache(self):
        return self.header("x-cache") or "-"

    def summary(self):
        if self.error:
            return f"error: {self.error}"
        return f"{self.status}"


class Endpoint:
    """A target by its role (cloudfront, stream, buffered): where requests go, and how they are
    signed (`signer`, None for CloudFront and with --no-sign)."""

    def __init__(self, role, url, signer=None):
        u = urllib.parse.urlsplit(url)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise SystemExit(f"--{role}: not an http(s) URL: {url!r}")
        self.role = role
        self.scheme = u.scheme
        self.host = u.hostname
        self.port = u.port
        self.netloc = u.netloc
        self.base = u.path.rstrip("/")
        self.signer = signer
        # Facts only AWS can show are checked only against AWS hosts; `cloudfront` is confirmed
        # by the answers (X-Amz-Cf-Id), so that a custom domain counts too.
        self.function_url_on_aws = self.host.endswith(".on.aws")
        self.cloudfront = self.host.endswith(".cloudfront.net")

    def __str__(self):
        return self.role


    def fetch(self, method, path, headers=None, keep=8 * MIB, timeout=60, probe=0.5):
        """Sends one request on a new connection and reads the whole answer, hashing it."""
        target = self.base + path
        hdrs = {"User-Agent": UA}
        hdrs.update(headers or {})
        if self.signer is not None:
            hdrs = self.signer(self, method, target, hdrs)
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=timeout)
        a = Answer()
        body = Body(keep)
        t0 = time.monotonic()
        try:
            conn.request(method, target, headers=hdrs)
            sock = conn.sock
            resp = conn.getresponse()
            a.head_s = time.monotonic() - t0
            a.status = resp.status
            a.headers = resp.getheaders()
            if self.cloudfront is False and a.header("x-amz-cf-id"):
                self.cloudfront = True
            a.chunked = bool(resp.chunked)
            bodyless = method == "HEAD" or resp.status in (204, 304) or resp.status < 200
            if bodyless:
                # http.client reads nothing after such a head; look at the wire for bytes
                # that should not be there (a body, or chunked framing).
                a.total_s = a.head_s
                a.extra = trailing_bytes(resp, sock, probe)
            else:
                read_body(resp, a, body, t0)
        except (ConnectionResetError, BrokenPipeError) as e:
            a.ended = f"incomplete: connection reset ({e.__class__.__name__})"
            a.error = None if a.status else str(e)
        except (socket.timeout, TimeoutError):
            a.ended = f"incomplete: no data for {timeout} s"
            a.error = None if a.status else f"timed out after {timeout} s"
        except (OSError, http.client.HTTPException) as e:
            if a.status is None:
                a.error = f"{e.__class__.__name__}: {e}"
            else:
                a.ended = f"incomplete: {e.__class__.__name__}: {e}"
        finally:
            conn.close()
        if a.total_s is None:
            a.total_s = time.monotonic() - t0
        a.sha256 = body.hash.hexdigest()
        a.body = bytes(body.kept) if a.length <= keep else None
        return a


class Body:
    """What is kept of a body while it is read: its hash, and its first `keep` bytes."""

    def __init__(self, keep):
        self.keep = keep
        self.hash = hashlib.sha256()
        self.kept = bytearray()

    def add(self, data):
        self.hash.update(data)
        if len(self.kept) + len(data) <= self.keep:
            self.kept += data


def read_body(resp, a, body, t0):
    """Reads the body to its end or until it breaks off, noting in `a` its length, how it
    ended, and when it passed the first UNCAPPED bytes."""
    while True:
        try:
            data = resp.read(READ_SIZE)
        except http.client.IncompleteRead as e:
            data = e.partial
            a.ended = "incomplete: the chunked body broke off (IncompleteRead)"
        if data:
            body.add(data)
            before = a.length
            a.length += len(data)
            if before < UNCAPPED <= a.length:
                a.past_uncapped = (a.length, time.monotonic() - t0)
        if not data or a.ended != "complete":
            break
    if a.ended == "complete" and resp.length:
        a.ended = f"incomplete: the connection closed {resp.length} bytes short of Content-Length"


def trailing_bytes(resp, sock, wait):
    """Bytes that follow a bodyless head on the wire within `wait` seconds (0 = none)."""
    try:
        raw = sock if sock is not None else resp.fp.raw._sock
        raw.settimeout(wait)
        return len(resp.fp.peek(1))
    except (socket.timeout, TimeoutError):
        return 0
    except (OSError, ValueError, AttributeError):
        return 0


def sigv4_signer(session, region_default):
    """Signs requests to a Function URL with AWS_IAM auth as CloudFront's OAC does."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    creds = session.get_credentials()
    if creds is None:
        raise SystemExit("no AWS credentials for signing Function URL requests (or pass --no-sign)")
    frozen = creds.get_frozen_credentials()

    def sign(ep, method, target, headers):
        m = re.match(r"^[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws$", ep.host)
        region = m.group(1) if m else region_default
        req = AWSRequest(method=method, url=f"{ep.scheme}://{ep.netloc}{target}", headers=headers)
        SigV4Auth(frozen, "lambda", region).add_auth(req)
        return dict(req.headers.items())

    return sign
