"""Headless Chromium reads one object cross-origin with Range, as a zoom viewer does; run by
tests/browser_cors.rs, which counts the requests that reach the origin.

    python tests/browser_cors.py --chromium BIN --page URL --url URL --object FILE

Opens PAGE (a blank page on one origin), then from it fetches URL (another origin) 100 times:
    preflighted: 50 reads whose Range is not CORS-safelisted (suffix ranges `bytes=-N`, two
                 ranges): the browser must preflight the first and then use its preflight
                 cache. After read 25 it waits PAUSE seconds, past Chromium's 5 s default
                 for an answer without Access-Control-Max-Age. (No If-Range / If-Match:
                 Chromium bypasses its preflight cache for any request with a conditional
                 header, so each of those is preflighted whatever the server answers.)
    simple:      50 single ranges `bytes=N-M` / `bytes=N-`, safelisted: never preflighted.
Each answer is checked in the page: status 206, ETag and Content-Range readable (exposed
headers), and every byte against FILE (the object on disk), multipart/byteranges answers
parsed part by part.
Prints one JSON line on stdout: {"chromium": VERSION, "reads": [...]} (each read: phase,
range, extra headers, status, ok, why). Exits 0 when it could report, whatever the reads
were (the Rust test judges); non-zero when the browser could not be driven at all.

Uses the system's Chromium (Playwright's browser download is never used) and gives every
step a timeout, so a hung browser fails within about a minute.
"""

import argparse
import base64
import json
import sys
import time

from playwright.sync_api import sync_playwright

FETCH_TIMEOUT_MS = 10_000  # one read
STEP_TIMEOUT_MS = 20_000  # launch, page load

# Runs in the page: the reads in `specs` one after another; resolves to one result per read.
READS_JS = r"""
async ({url, specs, objectB64}) => {
  if (!window.__object) {
    const bin = atob(objectB64);
    const a = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) a[i] = bin.charCodeAt(i);
    window.__object = a;
  }
  const object = window.__object;
  const total = object.length;
  const enc = new TextEncoder(), dec = new TextDecoder("latin1");
  const find = (hay, needle, from) => {
    outer: for (let i = from; i + needle.length <= hay.length; i++) {
      for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
      return i;
    }
    return -1;
  };
  const same = (got, first, last) => {
    if (got.length !== last - first + 1) return `${got.length} bytes for ${first}-${last}`;
    for (let i = 0; i < got.length; i++)
      if (got[i] !== object[first + i]) return `byte ${first + i} differs`;
    return null;
  };
  const contentRange = (value) => {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(value || "");
    if (!m) return null;
    return {first: +m[1], last: +m[2], total: +m[3]};
  };
  // The parts of a multipart/byteranges body, each checked against the object.
  const parts = (body, boundary) => {
    const out = [];
    const delim = enc.encode("--" + boundary);
    let pos = find(body, delim, 0);
    if (pos < 0) throw new Error("no boundary in the body");
    for (;;) {
      pos += delim.length;
      if (body[pos] === 45 && body[pos + 1] === 45) return out;  // "--": the end
      if (body[pos] !== 13 || body[pos + 1] !== 10) throw new Error("no CRLF after boundary");
      const headEnd = find(body, enc.encode("\r\n\r\n"), pos);
      if (headEnd < 0) throw new Error("part head not ended");
      const head = dec.decode(body.subarray(pos + 2, headEnd));
      const line = head.split("\r\n").find((l) => /^content-range:/i.test(l));
      const cr = contentRange(line && line.replace(/^content-range:\s*/i, "").trim());
      if (!cr || cr.total !== total) throw new Error(`part Content-Range ${line}`);
      const start = headEnd + 4, end = start + (cr.last - cr.first + 1);
      const bad = same(body.subarray(start, end), cr.first, cr.last);
      if (bad) throw new Error(`part ${cr.first}-${cr.last}: ${bad}`);
      out.push([cr.first, cr.last]);
      if (body[end] !== 13 || body[end + 1] !== 10) throw new Error("no CRLF after part");
      pos = find(body, delim, end);
      if (pos !== end + 2) throw new Error("part not followed by the boundary");
    }
  };
  const results = [];
  for (const spec of specs) {
    const headers = Object.assign({Range: spec.range}, spec.headers);
    const r = {phase: spec.phase, range: spec.range, headers, status: 0, ok: false, why: ""};
    try {
      const resp = await fetch(url, {headers, signal: AbortSignal.timeout(%FETCH_TIMEOUT%)});
      r.status = resp.status;
      const body = new Uint8Array(await resp.arrayBuffer());
      const etag = resp.headers.get("etag");
      if (!etag) throw new Error("ETag not readable (not exposed?)");
      if (resp.status !== 206) throw new Error(`status ${resp.status}`);
      const type = resp.headers.get("content-type") || "";
      let got;
      if (spec.expect.length > 1) {
        const m = /^multipart\/byteranges;\s*boundary=("?)([^";]+)\1/i.exec(type);
        if (!m) throw new Error(`Content-Type ${type} for several ranges`);
        got = parts(body, m[2]);
      } else {
        const cr = contentRange(resp.headers.get("content-range"));
        if (!cr) throw new Error(`Content-Range ${resp.headers.get("content-range")} (exposed?)`);
        if (cr.total !== total) throw new Error(`Content-Range total ${cr.total}`);
        const bad = same(body, cr.first, cr.last);
        if (bad) throw new Error(bad);
        got = [[cr.first, cr.last]];
      }
      if (JSON.stringify(got) !== JSON.stringify(spec.expect))
        throw new Error(`ranges ${JSON.stringify(got)}, expected ${JSON.stringify(spec.expect)}`);
      r.ok = true;
    } catch (e) {
      r.why = String(e && e.message || e);
    }
    results.push(r);
  }
  return results;
}
""".replace("%FETCH_TIMEOUT%", str(FETCH_TIMEOUT_MS))


def preflighted_specs(total):
    """50 reads whose Range is not CORS-safelisted: suffix ranges and two ranges."""
    specs = []
    for i in range(50):
        kind = i % 3
        if kind == 1:  # two ranges: multipart/byteranges
            a, b = 1000 * i, 500_000 + 7919 * i
            specs.append(("bytes=%d-%d,%d-%d" % (a, a + 99, b, b + 4095),
                          [[a, a + 99], [b, b + 4095]]))
        else:  # a suffix range, small or large
            n = 1000 + 37 * i if kind == 0 else 65_536 + 1111 * i
            specs.append(("bytes=-%d" % n, [[total - n, total - 1]]))
    return [{"phase": "preflighted", "range": r, "headers": {}, "expect": e} for r, e in specs]


def simple_specs(total):
    """50 single ranges that are CORS-safelisted: `bytes=N-M` and `bytes=N-`."""
    specs = []
    for i in range(50):
        if i % 2 == 0:
            a = (20_971 * i) % (total - 10_000)
            b = a + 100 + 37 * i
            specs.append(("bytes=%d-%d" % (a, b), [[a, b]]))
        else:
            a = total - 1000 - i
            specs.append(("bytes=%d-" % a, [[a, total - 1]]))
    return [{"phase": "simple", "range": r, "headers": {}, "expect": e} for r, e in specs]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--page", required=True, help="the page's URL (one origin)")
    ap.add_argument("--url", required=True, help="the object's URL (another origin)")
    ap.add_argument("--object", required=True, help="the object's bytes, to check against")
    ap.add_argument("--pause", type=float, default=6.0,
                    help="seconds between read 25 and 26 of the preflighted ones")
    args = ap.parse_args()
    with open(args.object, "rb") as f:
        obj = f.read()
    b64 = base64.b64encode(obj).decode()
    pre, simple = preflighted_specs(len(obj)), simple_specs(len(obj))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
            timeout=STEP_TIMEOUT_MS,
        )
        try:
            page = browser.new_page()
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.goto(args.page)

            def run(specs):
                return page.evaluate(READS_JS, {"url": args.url, "specs": specs,
                                                "objectB64": b64})
            reads = run(pre[:25])
            time.sleep(args.pause)
            reads += run(pre[25:])
            reads += run(simple)
            out = {"chromium": browser.version, "reads": reads}
        finally:
            browser.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
