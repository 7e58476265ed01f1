"""The S3 stand-in both origins read (nginx serving the bucket directory, or s3s-fs) and the
objects in it."""

import os
import random
import subprocess
from pathlib import Path

import procs

from .constants import BUCKET, OBJECTS, PHOTO_KEY


def make_objects(data: Path, imgorigin: str) -> None:
    bucket = data / BUCKET
    for key, (size, sparse) in OBJECTS.items():
        path = bucket / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists() and path.stat().st_size == size:
            continue
        with open(path, "wb") as f:
            if sparse:
                f.truncate(size)
            else:
                f.write(random.Random(key).randbytes(size))
    photo = bucket / PHOTO_KEY
    if not photo.exists():
        photo.parent.mkdir(parents=True, exist_ok=True)
        out = subprocess.run([imgorigin, "samples", str(photo.parent)], capture_output=True,
                             text=True)
        if out.returncode != 0 or not photo.exists():
            raise RuntimeError(f"imgorigin samples failed: {out.stderr[-400:]}")


NGINX_S3 = """
  sendfile on;
  tcp_nopush on;
  open_file_cache max=64 inactive=60s;
  default_type application/octet-stream;
  types {{ image/jpeg jpg; image/tiff tif; video/mp4 mp4; }}
  server {{ listen 127.0.0.1:{port}; root {data}; access_log {log}; }}
"""


class Backend:
    def __init__(self, kind: str, data: Path, work: Path):
        self.kind = kind
        port = procs.free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        if kind == "nginx":
            self.access_log = work / "s3-access.log"
            self.access_log.write_text("")
            self.service = procs.start_nginx(
                "cost-s3", NGINX_S3.format(port=port, data=data, log=self.access_log), work, port)
        else:
            self.access_log = None
            self.service = procs.Service(
                "s3s-fs", [os.environ.get("S3S_FS", "s3s-fs"), "--host", "127.0.0.1", "--port",
                           str(port), "--access-key", "test", "--secret-key", "test", str(data)],
                port, work / "s3s-fs.log")

    def requests(self) -> int | None:
        """GETs and HEADs the backend has answered so far (nginx only)."""
        if self.access_log is None:
            return None
        with open(self.access_log, "rb") as f:
            return sum(1 for _ in f)

    def stop(self):
        self.service.stop()

