"""OpenSeadragon in headless Chromium opens an IIIF image and zooms to full resolution at
several points, as a person with a zoom viewer does; run by tests/iiif_viewer.rs, which
judges what this reports.

    python tests/iiif_viewer.py --chromium BIN --osd FILE --info URL --point X,Y [--point ...]

Loads a blank page with OpenSeadragon (FILE: openseadragon.min.js from tests/viewer, npm,
pinned) and the canvas drawer, opens the info.json at URL (another origin: the IIIF answers'
Access-Control-Allow-Origin is what lets it read), then for each point: zooms to 1 image
pixel per screen pixel with the point at the centre, shifted so that the canvas's top-left
corner falls on a whole image pixel, waits until every tile in view is drawn, and takes a
screenshot of the canvas.

Prints one JSON line: {"chromium": VERSION, "views": [{"x": X0, "y": Y0, "png": BASE64}...],
"responses": [[status, url]...]} where X0, Y0 are the image coordinates of the canvas's
top-left pixel, and responses lists every answer from the IIIF origin. Exits 0 when it could
report, non-zero when the browser or OpenSeadragon could not be driven. Every step has a
timeout, so a hung browser or a tile that never arrives fails within about two minutes.
"""

import argparse
import base64
import json
import sys

from playwright.sync_api import sync_playwright

STEP_TIMEOUT_MS = 30_000  # launch, open, one view's tiles (a full-resolution JPEG tile ~0.6 s)
WIDTH, HEIGHT = 800, 600

PAGE = """<!doctype html><html><head><style>
html, body { margin: 0; background: #000; }
#viewer { width: %dpx; height: %dpx; }
</style></head><body><div id="viewer"></div></body></html>""" % (WIDTH, HEIGHT)

OPEN_JS = r"""
(info) => new Promise((resolve, reject) => {
  const viewer = OpenSeadragon({
    id: 'viewer', tileSources: info, drawer: 'canvas', animationTime: 0,
    immediateRender: true, showNavigationControl: false, blendTime: 0,
    imageSmoothingEnabled: false, crossOriginPolicy: 'Anonymous',
  });
  window.viewer = viewer;
  viewer.addHandler('open', () => resolve(viewer.world.getItemAt(0).getContentSize()));
  viewer.addHandler('open-failed', (e) => reject(new Error('open failed: ' + e.message)));
})
"""

# Zooms to 1:1 with (x, y) near the centre and the top-left on a whole pixel; resolves when
# the view is fully loaded, with the image coordinates of the canvas's top-left pixel.
VIEW_JS = r"""
([x, y]) => new Promise((resolve) => {
  const vp = viewer.viewport, item = viewer.world.getItemAt(0);
  vp.zoomTo(item.imageToViewportZoom(1), null, true);
  const left = Math.round(x - %d / 2), top = Math.round(y - %d / 2);
  const centre = item.imageToViewportCoordinates(left + %d / 2, top + %d / 2);
  vp.panTo(centre, true);
  viewer.forceRedraw();
  const done = () => {
    const at = vp.viewerElementToImageCoordinates(new OpenSeadragon.Point(0, 0));
    resolve({x: at.x, y: at.y});
  };
  const check = () => item.getFullyLoaded() ? setTimeout(done, 200) : setTimeout(check, 50);
  setTimeout(check, 50);
})
""" % (WIDTH, HEIGHT, WIDTH, HEIGHT)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--chromium", required=True)
    ap.add_argument("--osd", required=True, help="openseadragon.min.js")
    ap.add_argument("--info", required=True, help="the info.json URL")
    ap.add_argument("--point", action="append", required=True, help="X,Y in image pixels")
    args = ap.parse_args()
    origin = args.info.split("/iiif/")[0]
    responses = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=args.chromium,
            args=["--no-sandbox", "--disable-dev-shm-usage"],
            timeout=STEP_TIMEOUT_MS,
        )
        try:
            page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT},
                                    device_scale_factor=1)
            page.set_default_timeout(STEP_TIMEOUT_MS)
            page.on("response", lambda r: responses.append([r.status, r.url])
                    if r.url.startswith(origin) else None)
            page.set_content(PAGE)
            page.add_script_tag(path=args.osd)
            size = page.evaluate(OPEN_JS, args.info)
            views = []
            canvas = page.locator("#viewer canvas").first
            for point in args.point:
                x, y = (float(v) for v in point.split(","))
                at = page.evaluate(VIEW_JS, [x, y])
                png = canvas.screenshot(timeout=STEP_TIMEOUT_MS)
                views.append({"x": at["x"], "y": at["y"],
                              "png": base64.b64encode(png).decode()})
            out = {"chromium": browser.version, "size": size, "views": views,
                   "responses": responses}
        finally:
            browser.close()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
