"""The scenarios of the issues, as functions of a target's base URL. Every target gets the
identical requests: the ranges are drawn once per run from a seeded generator. Byte scenarios
run against every target that serves stored bytes; transform scenarios against every target
that makes thumbnails (imgorigin and the sharp server)."""

import os
import random
import subprocess
from dataclasses import dataclass, replace

import iiif
from drive import SIGV4_CURL, Load, Measured, run_one, run_waves, slow_clients, transform_load, warm_up
from memory import PNG16, budget_burst, noread
from procs import OBJECTS, PHOTO, PREFIX

KIB, MIB = 1 << 10, 1 << 20


@dataclass
class Timing:
    seconds: float  # one oha run
    waves: int  # range scenarios: this many waves ...
    wave_seconds: float  # ... of this length each
    slow_seconds: float  # slow clients read for this long
    transform_seconds: float  # one transform run (about 10 thumbnails/s here: longer than 1.5 s)
    # Interleaved scenarios split `seconds` into this many rounds, every target once per round,
    # so that a drift in the machine's speed (a shared host: two runs of one target a minute
    # apart differed by 25%) falls on every target alike instead of on whichever ran then.
    rounds: int = 1
    # The access log's CPU seconds at a fixed rate (logcost.cpu_at_rate): runs per server.
    log_rate_rounds: int = 2
    log_rate_seconds: float = 2

    def round(self) -> "Timing":
        """The timing of one round of an interleaved scenario."""
        return replace(self, seconds=self.seconds / self.rounds, rounds=1)


FULL = Timing(seconds=10, waves=5, wave_seconds=2, slow_seconds=20, transform_seconds=10, rounds=5,
              log_rate_rounds=6, log_rate_seconds=4)
QUICK = Timing(seconds=1.5, waves=2, wave_seconds=0.75, slow_seconds=4, transform_seconds=3)


@dataclass
class Target:
    name: str
    base: str  # URL the object paths are appended to
    measured: list  # services whose peak RSS and CPU are this target's
    backend: str | None  # the service this target reads from, for its CPU
    sign: bool = False  # SigV4-sign requests (s3s-fs, directly or through the proxy)
    # scenario kinds it runs: "bytes" (stored objects), "transform", "noread" (clients that
    # never read; not through a signing peer), "budget" (the imgorigin with a memory budget)
    serves: tuple = ("bytes",)


@dataclass
class Scenario:
    id: str
    title: str
    kind: str  # how throughput reads: "requests" (req/s), "bytes" (MiB/s), "thumbs" (thumbs/s)
    run: object  # (Target, Timing, ranges) -> Measured
    needs: str = "bytes"  # what a target must serve to run it (Target.serves)
    warm: object = None  # (Target) -> None, run before the measurement (CPU and peak RSS) starts
    # Run in Timing.rounds rounds interleaved across targets: the short, CPU-bound request
    # scenarios, whose ratios a drift in machine speed moves most.
    interleaved: bool = False
    # The server's peak RSS must stay within this budget + its RSS before the run + slack
    # (MiB), instead of the scenario kind's fixed limit.
    budget_mib: float | None = None
    slack_mib: float = 0.0
    # Why the ratio to the nginx proxy is reported but not gated, if it is not.
    peer_ungated: str | None = None


def url(target: Target, name: str) -> str:
    return f"{target.base}{PREFIX}{name}"


def etag_of(target: Target, name: str) -> str:
    argv = [os.environ.get("CURL", "curl"), "-sS", "-I", "--max-time", "30", url(target, name)]
    if target.sign:
        argv += SIGV4_CURL
    out = subprocess.run(argv, capture_output=True, text=True).stdout
    for line in out.splitlines():
        k, _, v = line.partition(":")
        if k.strip().lower() == "etag":
            return v.strip()
    raise RuntimeError(f"HEAD {url(target, name)} returned no ETag: {out[:200]!r}")


def full_get(name: str, conns: int):
    def run(target, t: Timing, _ranges) -> Measured:
        return run_one(Load(url(target, name), conns, t.seconds, expect_len=OBJECTS[name],
                            sign=target.sign))

    return run


def range_waves(name: str, key: str, conns: int):
    def run(target, t: Timing, ranges) -> Measured:
        waves = [
            [
                Load(url(target, name), 1, t.wave_seconds, headers=(f"Range: bytes={a}-{b}",),
                     expect_status=206, expect_len=b - a + 1, sign=target.sign)
                for a, b in wave
            ]
            for wave in ranges[key]
        ]
        return run_waves(waves)

    return run


def multi_range_waves(name: str, key: str):
    """Each request asks several ranges in one header (206 multipart/byteranges from every
    target: imgorigin, nginx serving the file, and the nginx proxy, which sends the Range on
    and passes the backend's multipart answer through; a 200 or a single-part 206 would count
    as an error by status). Lengths differ by boundary, so only the status is checked."""
    def run(target, t: Timing, ranges) -> Measured:
        waves = [
            [
                Load(url(target, name), 1, t.wave_seconds, expect_status=206, sign=target.sign,
                     headers=("Range: bytes=" + ",".join(f"{a}-{b}" for a, b in request),))
                for request in wave
            ]
            for wave in ranges[key]
        ]
        return run_waves(waves)

    return run


def head(name: str, conns: int):
    def run(target, t: Timing, _ranges) -> Measured:
        return run_one(Load(url(target, name), conns, t.seconds, method="HEAD", expect_len=0,
                            sign=target.sign))

    return run


def revalidate(name: str, conns: int):
    def run(target, t: Timing, _ranges) -> Measured:
        try:
            etag = etag_of(target, name)
        except RuntimeError as e:
            failed = Measured()
            failed.add_error(str(e)[:200])
            return failed
        return run_one(Load(url(target, name), conns, t.seconds, headers=(f"If-None-Match: {etag}",),
                            expect_status=304, expect_len=0, sign=target.sign))

    return run


def slow(name: str, clients: int, rate: int):
    def run(target, t: Timing, _ranges) -> Measured:
        return slow_clients(url(target, name), clients, rate, t.slow_seconds, target.sign)

    return run


def transform(id: str, title: str, name: str, width: int, fmt: str, conns: int) -> Scenario:
    def query(target):
        return f"{url(target, name)}?w={width}&format={fmt}"

    def run(target, t: Timing, _ranges) -> Measured:
        return transform_load(query(target), conns, t.transform_seconds, fmt, width)

    return Scenario(id, title, "thumbs", run, needs="transform",
                    warm=lambda target: warm_up(query(target), conns))


# The transform-memory scenario's imgorigin: `--transform-memory BUDGET_MIB`. Each worst case
# fits alone (about 150 and 195 MiB estimated), two never do.
BUDGET_MIB = 256
# Beyond budget + base: 20 clients' connections and HTTP buffers, the S3 client's, thread
# stacks, allocator rounding (the sources' bytes are in the budget).
BUDGET_SLACK_MIB = 32
BUDGET_QUEUE_TIMEOUT = 4
NOREAD_CLIENTS = 300


def never_reading(name: str, clients: int, probe: str):
    def run(target, t: Timing, _ranges) -> Measured:
        return noread(url(target, name), clients, t.slow_seconds, url(target, probe), OBJECTS[probe])

    return Scenario("noread", f"{clients} clients ask for {OBJECTS[name] >> 20} MiB and never read; "
                    f"one {OBJECTS[probe] >> 10} KiB GET at a time meanwhile", "probe", run, needs="noread")


def transform_memory(clients: int) -> Scenario:
    cases = [(PHOTO, 4096), (PNG16, 400)]

    def run(target, t: Timing, _ranges) -> Measured:
        urls = [(f"{url(target, name)}?w={w}&format=webp", "webp", w) for name, w in cases]
        return budget_burst(urls, clients, t.transform_seconds)

    return Scenario("transform-memory",
                    f"{clients} clients: 24 MP JPEG -> 4096 px WebP, 16-bit 4090 px PNG -> 400 px WebP; "
                    f"--transform-memory {BUDGET_MIB}", "budget", run, needs="budget",
                    warm=lambda target: warm_up(f"{url(target, PHOTO)}?w=64&format=webp", 1),
                    budget_mib=BUDGET_MIB, slack_mib=BUDGET_SLACK_MIB)


def iiif_tiles(id: str, title: str, name: str, size: tuple, needs: str) -> Scenario:
    run, warm = iiif.tile_load(name, size, seed=19, conns=8)
    # Interleaved: CPU-bound like the small requests, so a drift in the machine's speed must
    # fall on every server alike.
    return Scenario(id, title, "tiles", run, needs=needs, warm=warm, interleaved=True)


SCENARIOS = [
    Scenario("small", "64 KiB GET, 64 conns", "requests", full_get("64k.bin", 64), interleaved=True),
    Scenario("large-64m", "64 MiB GET, 8 conns", "bytes", full_get("64m.bin", 8)),
    Scenario("large-190m", "190 MiB GET, 8 conns", "bytes", full_get("190m.bin", 8)),
    Scenario("zoom", "random 64 KiB ranges of 190 MiB, 32 conns", "requests",
             range_waves("190m.bin", "zoom", 32)),
    Scenario("video", "sequential 1 MiB ranges, 4 conns", "bytes",
             range_waves("190m.bin", "video", 4)),
    Scenario("multirange", "8 random 16 KiB ranges per request of 190 MiB, 16 conns", "requests",
             multi_range_waves("190m.bin", "multirange"),
             peer_ungated="the proxy hands the whole Range to its backend, and the nginx stand-in "
                          "answers several ranges in one request; S3 does not (GetObject: \"Amazon S3 "
                          "doesn't support retrieving multiple ranges of data per GET request\"), so "
                          "in front of S3 the proxy would send the whole object"),
    Scenario("head", "HEAD, 64 conns", "requests", head("8m.bin", 64), interleaved=True),
    Scenario("revalidate", "If-None-Match -> 304, 64 conns", "requests", revalidate("1m.bin", 64),
             interleaved=True),
    Scenario("slow", "16 clients at 1 MiB/s on 190 MiB", "bytes", slow("190m.bin", 16, MIB)),
    never_reading("8m.bin", NOREAD_CLIENTS, "64k.bin"),
    # Last: a transform holds tens of MiB, which the allocator may keep, and the byte
    # scenarios' peak RSS (VmHWM is reset to the current RSS, not below) must not inherit it.
    transform("transform-400-webp", "24 MP JPEG -> 400 px WebP, 4 conns", PHOTO, 400, "webp", 4),
    transform("transform-1280-jpeg", "24 MP JPEG -> 1280 px JPEG, 4 conns", PHOTO, 1280, "jpeg", 4),
    # Its own imgorigin process (with the budget), so its memory is its own.
    transform_memory(20),
    iiif_tiles("iiif-tiles", f"random {iiif.TILE} px IIIF tiles, random levels, 96 MP pyramidal "
               "JPEG TIFF, 8 conns", iiif.PYRAMID, iiif.PYRAMID_SIZE, "iiif"),
    iiif_tiles("iiif-tiles-jpeg", f"random {iiif.TILE} px IIIF tiles, random levels, 24 MP baseline "
               "JPEG, 8 conns", PHOTO, iiif.JPEG_SIZE, "iiif-jpeg"),
]


def draw_ranges(t: Timing, seed: int = 4) -> dict:
    """zoom: each wave 32 random 64 KiB tiles; video: 4 players starting at random points, each
    wave moving every player to its next 1 MiB; multirange: each wave 16 requests of 8 random
    16 KiB ranges, ascending and at least 64 KiB apart (a reader's scattered tiles, never merged)."""
    rng = random.Random(seed)
    size = OBJECTS["190m.bin"]
    zoom = []
    for _ in range(t.waves):
        starts = [rng.randrange(0, size - 64 * KIB) for _ in range(32)]
        zoom.append([(a, a + 64 * KIB - 1) for a in starts])
    players = [rng.randrange(0, size // MIB - t.waves) * MIB for _ in range(4)]
    video = [[(p + w * MIB, p + (w + 1) * MIB - 1) for p in players] for w in range(t.waves)]
    multirange = []
    for _ in range(t.waves):
        wave = []
        for _ in range(16):
            slots = sorted(rng.sample(range(size // (64 * KIB)), 8))
            wave.append([(s * 64 * KIB, s * 64 * KIB + 16 * KIB - 1) for s in slots])
        multirange.append(wave)
    return {"zoom": zoom, "video": video, "multirange": multirange}
