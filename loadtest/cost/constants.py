"""Paths, the bucket, sizes and Lambda limits shared by the cost model's modules."""

from pathlib import Path

LOADTEST = Path(__file__).resolve().parents[1]
ROOT = LOADTEST.parent
WORK = LOADTEST / "work" / "cost"
RESULTS = LOADTEST / "results"
RECIPE_DIR = LOADTEST / "recipe"
PRICES = LOADTEST / "prices.json"
BUCKET = "my-images-bucket"  # the recipe's hard-coded bucket; imgorigin reads the same one

MiB = 1 << 20
GiB = 1 << 30
TB = 10 ** 12
LAMBDA_BUFFERED_LIMIT = 6 * MiB  # a buffered (RequestResponse) answer over 6 MB fails
MONTH_S = 730 * 3600

OBJECTS = {
    # key: (size, sparse). Sparse files keep disk use small; the bytes do not matter here.
    "images/photo-500k.jpg": (500_000, False),
    "originals/scan-200m.tif": (200_000_000, True),
    "video/movie-512m.mp4": (512 * MiB, True),
}
PHOTO_KEY = "photos/large.jpg"  # `imgorigin samples` writes a 24 MP JPEG
