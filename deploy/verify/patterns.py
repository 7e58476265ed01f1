"""The fixtures' bytes: made again from their name, never stored, never held whole when big."""

import hashlib

from .limits import MIB

BLOCK = MIB


def block(name, i):
    """Block i (1 MiB) of fixture `name`: SHAKE-128 of the name and the block number, so any
    block can be made again without the others, on any machine, with the standard library."""
    return hashlib.shake_128(f"imgorigin-verify:{name}:{i}".encode()).digest(BLOCK)


def pattern(name, size, start=0, end=None):
    """Bytes [start, end) of fixture `name` of `size` bytes."""
    end = size if end is None else min(end, size)
    out = bytearray()
    i = start // BLOCK
    while i * BLOCK < end:
        b = block(name, i)
        lo = max(start - i * BLOCK, 0)
        hi = min(end - i * BLOCK, BLOCK)
        out += b[lo:hi]
        i += 1
    return bytes(out)


def pattern_sha256(name, size, n=None):
    """SHA-256 of the first n (default all) bytes, computed block by block."""
    n = size if n is None else n
    h = hashlib.sha256()
    done = 0
    while done < n:
        take = min(BLOCK, n - done)
        h.update(block(name, done // BLOCK)[:take])
        done += take
    return h.hexdigest()


class PatternReader:
    """A file-like reader of a fixture that is never held whole in memory (for uploads)."""

    def __init__(self, name, size):
        self.name, self.size, self.pos = name, size, 0

    def read(self, n=-1):
        if n is None or n < 0:
            n = self.size - self.pos
        data = pattern(self.name, self.size, self.pos, self.pos + n)
        self.pos += len(data)
        return data

    def seek(self, pos, whence=0):
        self.pos = {0: pos, 1: self.pos + pos, 2: self.size + pos}[whence]
        return self.pos

    def tell(self):
        return self.pos

    def seekable(self):
        return True

    def readable(self):
        return True
