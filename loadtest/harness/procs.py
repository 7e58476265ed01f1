"""The processes a run starts (nginx, s3s-fs, imgorigin, cargo lambda watch, the sharp server)
and what /proc says about them: peak RSS and CPU seconds, so every scenario reports what it
cost each side."""

import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from memory import make_png16

BUCKET = "bench"
PREFIX = "loadtest/"
# name -> size; deterministic content (seeded by name), so every run moves the same bytes.
OBJECTS = {
    "64k.bin": 64 << 10,
    "1m.bin": 1 << 20,
    "8m.bin": 8 << 20,
    "64m.bin": 64 << 20,
    "190m.bin": 190 << 20,
}
# The transform scenarios' source: a 6000 x 4000 photo-like JPEG (q90, about 4.9 MB) made by
# loadtest/sharp/make-photo.mjs from seeded pixels; remade when the script or the lock changes.
PHOTO = "photo-24mp.jpg"
SHARP_DIR = Path(__file__).resolve().parents[1] / "sharp"
# The sharp server's libuv pool (its images at once, with sharp.concurrency(1)): the cores.
SHARP_THREADS = 2
CLK_TCK = os.sysconf("SC_CLK_TCK")


def node_ready() -> str:
    """The node binary, once loadtest/sharp's dependencies are installed; else a clear error."""
    node = os.environ.get("NODE", "node")
    if not shutil.which(node):
        raise RuntimeError(f"node ({node}) not found: the transform scenarios need node >= 20.9 "
                           "(loadtest/run.sh installs it, or set NODE)")
    if not (SHARP_DIR / "node_modules" / "sharp" / "package.json").exists():
        raise RuntimeError(f"{SHARP_DIR}/node_modules has no sharp: run `npm ci` there "
                           "(loadtest/run.sh does, with node >= 20.9)")
    return node


def make_photo(folder: Path) -> None:
    """Writes folder/PHOTO with make-photo.mjs unless the one there came from the same script
    and lock (a stamp two levels up, outside the bucket and what --make-objects uploads,
    holds their hash)."""
    digest = hashlib.sha256()
    for name in ("make-photo.mjs", "package-lock.json"):
        digest.update((SHARP_DIR / name).read_bytes())
    stamp, path = folder.parent.parent / f".{PHOTO}.stamp", folder / PHOTO
    if path.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    tmp = folder / f"{PHOTO}.part"
    out = subprocess.run([node_ready(), str(SHARP_DIR / "make-photo.mjs"), str(tmp)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"make-photo.mjs failed ({out.returncode}): {out.stderr.strip()[-500:]}")
    tmp.rename(path)
    stamp.write_text(digest.hexdigest())


def make_objects(data_dir: Path, photo: bool = True, png16: bool = True) -> Path:
    """Writes the objects under data_dir/BUCKET/PREFIX (skipping ones already complete), the
    transform source when `photo`, the 16-bit PNG of the transform-memory scenario when
    `png16`."""
    folder = data_dir / BUCKET / PREFIX
    folder.mkdir(parents=True, exist_ok=True)
    for name, size in OBJECTS.items():
        path = folder / name
        if path.exists() and path.stat().st_size == size:
            continue
        rng = random.Random(name)
        tmp = path.with_suffix(".part")
        with open(tmp, "wb") as out:
            left = size
            while left:
                n = min(left, 8 << 20)
                out.write(rng.randbytes(n))
                left -= n
        tmp.rename(path)
    if photo:
        make_photo(folder)
    if png16:
        make_png16(folder)
    return folder


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, what: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with status {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def process_tree(pid: int) -> list[int]:
    """pid and its descendants (nginx's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop()
        tree.append(p)
        todo.extend(children.get(p, []))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def peak_rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def reset_peak_rss(pids: list[int]) -> None:
    """Writing 5 to clear_refs resets VmHWM to the current RSS (Linux >= 4.0), so each
    scenario reports its own peak rather than the process's lifetime peak."""
    for pid in pids:
        try:
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        except OSError:
            pass


def imgorigin_env(extra: dict) -> dict:
    """The environment imgorigin runs with here: none of the caller's IMGORIGIN_/AWS_
    settings, test credentials, no instance metadata lookups, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("IMGORIGIN_", "AWS_"))}
    env.update({"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
    env.update(extra)
    return env


class Service:
    """One started server. `pids()` includes workers, so nginx is measured as a whole."""

    def __init__(self, name: str, argv: list[str], port: int, log: Path, env=None, cwd=None):
        self.name, self.port = name, port
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            argv,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=True,  # Ctrl-C at the terminal reaches us, and we stop it
        )
        wait_for_port(port, name, self.proc)

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait()
        self.log.close()


class Helper:
    """A process that is not measured and may not listen (the Lambda function)."""

    def __init__(self, name: str, argv: list[str], log: Path, env=None):
        self.name = name
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, start_new_session=True,
        )

    pids = Service.pids
    alive = Service.alive
    stop = Service.stop


NGINX_COMMON = """
worker_processes auto;
pid {work}/{name}.pid;
error_log {work}/{name}.error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path {work}/{name}.tmp/body;
  proxy_temp_path {work}/{name}.tmp/proxy;
  fastcgi_temp_path {work}/{name}.tmp/fastcgi;
  uwsgi_temp_path {work}/{name}.tmp/uwsgi;
  scgi_temp_path {work}/{name}.tmp/scgi;
  {body}
}}
"""

# The backend: a read-only S3 GetObject stand-in at /BUCKET/KEY (GET, HEAD, Range, ETag,
# If-None-Match, If-Range; request signatures ignored), as fast as static serving gets.
# No tcp_nopush: with it, nginx turns TCP_NODELAY off to cork each response, and a body of
# one full loopback segment (64 KiB) plus a remainder waited out the reader's delayed ACK,
# 44 ms per ranged GET of 64-130 KiB on a kept-alive connection (measured with oha -c 1:
# 0.13 ms without it). S3 has no such stall; the stand-in must not add one.
NGINX_STATIC = """
  sendfile on;
  open_file_cache max=64 inactive=60s;
  default_type application/octet-stream;
  server {{ listen 127.0.0.1:{port}; root {data}; }}
"""

# The peer: nginx as the plain reverse proxy an operations team would put in front of the
# bucket. Upstream keep-alive and no temp-file spooling (proxy_max_temp_file_size 0) make it
# stream like imgorigin does: the strongest plain configuration, not a strawman.
NGINX_PROXY = """
  upstream backend {{ server 127.0.0.1:{backend_port}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_max_temp_file_size 0;
    }}
  }}
"""


def start_lambda_watch(port: int, log: Path, root: Path) -> "Service":
    """`cargo lambda watch` with only the Runtime API and Function URLs (functions are started
    by the caller). It reads the project's Cargo.toml even so, hence `root` as its cwd."""
    return Service("cargo lambda watch",
                   [os.environ.get("CARGO_LAMBDA", "cargo-lambda"), "lambda", "watch",
                    "--only-lambda-apis", "--disable-cors", "-A", "127.0.0.1", "-P", str(port)],
                   port, log, cwd=root)


def start_nginx(name: str, body: str, work: Path, port: int) -> Service:
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (work / f"{name}.tmp" / sub).mkdir(parents=True, exist_ok=True)
    conf = work / f"{name}.conf"
    conf.write_text(NGINX_COMMON.format(work=work, name=name, body=body))
    argv = [os.environ.get("NGINX_BIN", "nginx"), "-c", str(conf), "-p", str(work), "-g", "daemon off;"]
    return Service(name, argv, port, work / f"{name}.log")


def start_sharp(source_base: str, work: Path) -> Service:
    """The sharp server (loadtest/sharp/server.mjs) reading sources from source_base."""
    port = free_port()
    env = {**os.environ, "UV_THREADPOOL_SIZE": str(SHARP_THREADS)}
    return Service("sharp server", [node_ready(), str(SHARP_DIR / "server.mjs"), str(port), source_base],
                   port, work / "sharp.log", env=env, cwd=SHARP_DIR)


def sharp_versions(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_versions", timeout=10) as r:
        return json.load(r)
