"""The scenarios: what CloudFront asks the function for in each, as Function URL events."""

import json
import urllib.parse
from dataclasses import dataclass

from .constants import OBJECTS, PHOTO_KEY, MiB


def event(path: str, query: str = "", headers: dict | None = None) -> bytes:
    """A Function URL event, payload format 2.0, as CloudFront's origin request makes it."""
    h = {"host": "abcdefghij.lambda-url.us-east-1.on.aws", "user-agent": "Amazon CloudFront",
         "via": "2.0 0123456789abcdef.cloudfront.net (CloudFront)",
         "x-amz-cf-id": "Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4Zm9vYmFyYmF6cXV4MDA=",
         "x-forwarded-for": "203.0.113.7", "x-forwarded-proto": "https",
         "accept-encoding": "gzip", **(headers or {})}
    ev = {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "headers": h,
        "requestContext": {
            "accountId": "anonymous", "apiId": "abcdefghij",
            "domainName": "abcdefghij.lambda-url.us-east-1.on.aws", "domainPrefix": "abcdefghij",
            "requestId": "cost", "routeKey": "$default", "stage": "$default",
            "time": "03/Dec/2026:16:00:00 +0000", "timeEpoch": 1796313600000,
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "203.0.113.7", "userAgent": "Amazon CloudFront"},
        },
        "isBase64Encoded": False,
    }
    if query:
        ev["queryStringParameters"] = dict(urllib.parse.parse_qsl(query))
    return json.dumps(ev).encode()


@dataclass
class Scenario:
    id: str
    title: str
    make: object  # rng -> (path, query, headers)
    routed: str  # the imgorigin function the template's router sends it to
    recipe: str  # recipe function kind
    delivered_cap: int | None = None  # the viewer leaves after this many bytes
    recipe_fails: str = ""  # when the recipe cannot serve it: try once, say why
    expect: tuple = (200, 206)


def scenarios() -> list[Scenario]:
    big = OBJECTS["originals/scan-200m.tif"][0]
    vid = OBJECTS["video/movie-512m.mp4"][0]

    def rng_range(size, length, align):
        def make(rng):
            start = rng.randrange(0, (size - length) // align) * align
            return "/originals/scan-200m.tif" if size == big else "/video/movie-512m.mp4", "", {
                "range": f"bytes={start}-{start + length - 1}"}
        return make

    def open_from(rng):
        start = rng.randrange(0, vid - 8 * MiB)
        return "/video/movie-512m.mp4", "", {"range": f"bytes={start}-"}

    return [
        Scenario("recipe-500k", "(a) the recipe's case: 500 KB image, whole GET",
                 lambda rng: ("/images/photo-500k.jpg", "", {}), "imgorigin-stream", "recipe",
                 expect=(200,)),
        Scenario("range-200m", "(b) large original: 256 KiB ranges of a 200 MB object",
                 rng_range(big, 256 * 1024, 4096), "imgorigin-buffered", "recipe",
                 recipe_fails="reads the whole 200 MB object and answers it base64 in one JSON: "
                              "over the 6 MB payload limit (and 128 MB of memory)",
                 expect=(206,)),
        Scenario("video-open", "(c1) video seek: `bytes=N-` of a 512 MiB video, viewer leaves after 2 MB",
                 open_from, "imgorigin-buffered", "recipe", delivered_cap=2 * 10 ** 6,
                 recipe_fails="ignores Range; the 512 MiB object cannot be buffered and "
                              "base64-encoded within Lambda's limits",
                 expect=(206,)),
        Scenario("video-1m", "(c2) video: 1 MiB ranges of a 512 MiB video",
                 rng_range(vid, MiB, MiB), "imgorigin-buffered", "recipe",
                 recipe_fails="ignores Range: same as (c1)", expect=(206,)),
        Scenario("thumb", "(d) thumbnail: `?w=256&format=webp` of a 24 MP JPEG",
                 lambda rng: ("/" + PHOTO_KEY, "w=256&format=webp", {"accept": "image/webp,*/*"}),
                 "imgorigin-stream", "recipe-sharp", expect=(200,)),
    ]

