"""The iiif-tiles scenarios (issue 19): random 512 px tiles at random levels, as a zoom viewer
asks for them, from a tiled pyramidal TIFF and from a baseline JPEG, against imgorigin (IIIF
Image API 3) and IIPImage (Debian's iipimage-server 1.1, the reference C++ IIIF server, which
speaks Image API 2.1: same region and size, the 2.x URL shape). IIPImage reads the same files
from local disk; imgorigin once through the S3 API (the run's backend) and once from disk
(--root). IIPImage 1.1 reads TIFF and JPEG 2000 only (a JPEG source is a 400 there), so the
JPEG scenario has no peer."""

import hashlib
import os
import random
import subprocess
import tempfile
from pathlib import Path

import procs
from drive import Load, Measured, run_one, warm_up

TILE = 512
# The pyramid: the transform photo (6000 x 4000) at twice its size, 12000 x 8000 (96 MP), in
# 512 px JPEG tiles at quality 90, every level down to one tile: what `vips tiffsave --tile
# --pyramid` makes for a zoom viewer. About 57 MiB, written in about 6 s.
PYRAMID = "pyramid-96mp.tif"
PYRAMID_SIZE = (12000, 8000)
JPEG_SIZE = (6000, 4000)  # procs.PHOTO
URLS = 2000  # tiles drawn per scenario, seeded; oha picks among them at random


def make_pyramid(folder: Path) -> None:
    """Writes folder/PYRAMID from folder/PHOTO with vips unless the one there came from the
    same photo and settings (a stamp outside the bucket holds their hash)."""
    photo = folder / procs.PHOTO
    digest = hashlib.sha256(photo.read_bytes())
    digest.update(f"{PYRAMID_SIZE} {TILE} Q90".encode())
    stamp, path = folder.parent.parent / f".{PYRAMID}.stamp", folder / PYRAMID
    if path.exists() and stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    vips = os.environ.get("VIPS", "vips")
    with tempfile.TemporaryDirectory() as tmp:
        big, part = Path(tmp) / "big.v", Path(tmp) / "pyramid.tif"
        steps = [[vips, "resize", str(photo), str(big), "2"],
                 [vips, "tiffsave", str(big), str(part), "--tile", "--pyramid", "--compression",
                  "jpeg", "--Q", "90", "--tile-width", str(TILE), "--tile-height", str(TILE)]]
        for argv in steps:
            out = subprocess.run(argv, capture_output=True, text=True)
            if out.returncode != 0:
                raise RuntimeError(f"{' '.join(argv[:2])} failed ({out.returncode}): "
                                   f"{out.stderr.strip()[-500:]} (apt-get install libvips-tools)")
        os.replace(part, path)
    stamp.write_text(digest.hexdigest())


def tiles(size: tuple, seed: int) -> list[str]:
    """`{region}/{size}/0/default.jpg` of URLS tiles: a level drawn at random among those of a
    halving pyramid down to one tile, then a tile of it; the region in full-resolution pixels,
    the size as OpenSeadragon computes it (edge tiles rounded up), so that a stored level's
    tile is asked exactly as stored."""
    rng = random.Random(seed)
    w, h = size
    levels = 1
    while max(w, h) > TILE << (levels - 1):
        levels += 1
    out = []
    for _ in range(URLS):
        s = 1 << rng.randrange(levels)
        span = TILE * s
        x = rng.randrange((w + span - 1) // span) * span
        y = rng.randrange((h + span - 1) // span) * span
        rw, rh = min(span, w - x), min(span, h - y)
        out.append(f"{x},{y},{rw},{rh}/{(rw + s - 1) // s},/0/default.jpg")
    return out


def iiif_base(target, name: str) -> str:
    """Where the identifier of `name` starts: imgorigin's IIIF prefix and the object's key
    (its `/` percent-encoded, as Image API 3 asks), or IIPImage's location, whose
    FILESYSTEM_PREFIX is the objects' folder."""
    if target.name.startswith("iipimage"):
        return f"{target.base}{name}"
    return f"{target.base}iiif/3/{procs.PREFIX.replace('/', '%2F')}{name}"


def tile_load(name: str, size: tuple, seed: int, conns: int):
    def run(target, t, _ranges) -> Measured:
        with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
            f.write("".join(f"{iiif_base(target, name)}/{tile}\n" for tile in tiles(size, seed)))
        try:
            return run_one(Load(f.name, conns, t.seconds, urls_from_file=True))
        finally:
            os.unlink(f.name)

    def warm(target) -> None:
        # First use: the TIFF's layout read and cached, the decoders' tables, the page cache.
        warm_up(f"{iiif_base(target, name)}/info.json", 1)
        for tile in tiles(size, seed)[:conns]:
            warm_up(f"{iiif_base(target, name)}/{tile}", 1)

    return run, warm


IIPIMAGE_NGINX = """
  upstream iipsrv {{ {servers} }}
  server {{
    listen 127.0.0.1:{port};
    location ~ ^/iiif2/(.*)$ {{
      fastcgi_pass iipsrv;
      fastcgi_param QUERY_STRING IIIF=/$1;
      fastcgi_param REQUEST_METHOD $request_method;
      fastcgi_param REQUEST_URI $request_uri;
      fastcgi_param SERVER_NAME $host;
      fastcgi_param SERVER_PORT $server_port;
      fastcgi_param HTTP_HOST $host;
    }}
  }}
"""


def start_iipimage(name: str, folder: Path, work: Path, cache_mb: int | None) -> tuple[dict, str]:
    """IIPImage as it is deployed: iipsrv.fcgi processes behind nginx (FastCGI). One process
    answers one request at a time, so one per usable core, as spawn-fcgi or mod_fcgid would
    run them; its own defaults otherwise (quality 75). `cache_mb`: MAX_IMAGE_CACHE_SIZE, its
    in-memory cache of encoded tiles (None: its default, 10 MB). Returns the services and the
    base URL of its IIIF location."""
    exe = os.environ.get("IIPSRV", "/usr/lib/iipimage-server/iipsrv.fcgi")
    if not os.access(exe, os.X_OK):
        raise RuntimeError(f"{exe} not found: apt-get install iipimage-server (loadtest/run.sh "
                           "installs it), or set IIPSRV")
    env = {**os.environ, "FILESYSTEM_PREFIX": f"{folder}/", "LOGFILE": str(work / f"{name}.log"),
           "VERBOSITY": "0"}
    if cache_mb is not None:
        env["MAX_IMAGE_CACHE_SIZE"] = str(cache_mb)
    services, servers = {}, []
    for i in range(len(os.sched_getaffinity(0))):
        port = procs.free_port()
        services[f"{name}-{i}"] = procs.Service(f"{name} iipsrv {i}", [exe, "--bind", f"127.0.0.1:{port}"],
                                                port, work / f"{name}-{i}.out", env=env)
        servers.append(f"server 127.0.0.1:{port};")
    port = procs.free_port()
    services[f"nginx-{name}"] = procs.start_nginx(
        f"nginx-{name}", IIPIMAGE_NGINX.format(port=port, servers=" ".join(servers)), work, port)
    return services, f"http://127.0.0.1:{port}/iiif2/"
