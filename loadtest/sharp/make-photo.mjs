// The transform scenario's source: a deterministic 24 MP (6000 x 4000) photo-like JPEG at
// quality 90. Gradients, soft-edged shapes, texture and mild noise, so that it compresses like a
// photograph (a few MB) rather than like a flat test card. The pixels are computed here from
// a seeded generator; only the JPEG encoding is sharp's (libvips / mozjpeg).
//
//   node make-photo.mjs OUT [WIDTH HEIGHT]

import sharp from 'sharp';

const [out, widthArg = '6000', heightArg = '4000'] = process.argv.slice(2);
const W = Number(widthArg);
const H = Number(heightArg);
if (!out || !Number.isInteger(W) || !Number.isInteger(H) || W < 16 || H < 16) {
  console.error('usage: node make-photo.mjs OUT [WIDTH HEIGHT]');
  process.exit(2);
}

// mulberry32: a small seeded PRNG, the same sequence on every machine and node version.
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = rng(24_000_000);
const NOISE = 16; // +-16 levels (triangular): about 4.9 MB at 6000 x 4000

// Shapes: discs and rectangles with soft edges, in coordinates relative to the image.
const shapes = [];
for (let i = 0; i < 60; i++) {
  shapes.push({
    disc: rand() < 0.5,
    cx: rand() * W,
    cy: rand() * H,
    r: (0.02 + rand() * 0.12) * Math.min(W, H),
    rx: (0.02 + rand() * 0.15) * W,
    ry: (0.02 + rand() * 0.15) * H,
    color: [rand() * 255, rand() * 255, rand() * 255],
    alpha: 0.35 + rand() * 0.5,
    soft: 4 + rand() * 40,
  });
}

const buf = Buffer.alloc(W * H * 3);
const row = new Float64Array(W * 3);
for (let y = 0; y < H; y++) {
  const v = y / H;
  for (let x = 0; x < W; x++) {
    const u = x / W;
    // Sky-to-ground gradient, a horizontal light falloff and a low-frequency texture.
    const tex = 18 * Math.sin(u * 37 + Math.sin(v * 11) * 3) * Math.cos(v * 23 + u * 5);
    row[x * 3] = 70 + 120 * (1 - v) + 40 * u + tex;
    row[x * 3 + 1] = 90 + 100 * (1 - v) * (1 - 0.5 * u) + tex * 0.8;
    row[x * 3 + 2] = 150 * (1 - v) + 60 * v * u + 40 + tex * 0.6;
  }
  for (const s of shapes) {
    // Rows this shape can touch; each pixel's coverage fades over `soft` pixels at the edge.
    const reach = (s.disc ? s.r : s.ry) + s.soft;
    if (Math.abs(y - s.cy) > reach) continue;
    const x0 = Math.max(0, Math.floor(s.cx - (s.disc ? s.r : s.rx) - s.soft));
    const x1 = Math.min(W - 1, Math.ceil(s.cx + (s.disc ? s.r : s.rx) + s.soft));
    for (let x = x0; x <= x1; x++) {
      const d = s.disc
        ? Math.hypot(x - s.cx, y - s.cy) - s.r
        : Math.max(Math.abs(x - s.cx) - s.rx, Math.abs(y - s.cy) - s.ry);
      const cover = Math.min(1, Math.max(0, 0.5 - d / s.soft)) * s.alpha;
      if (cover <= 0) continue;
      const shade = 1 - 0.25 * ((y - s.cy) / reach);
      for (let c = 0; c < 3; c++) {
        row[x * 3 + c] += (s.color[c] * shade - row[x * 3 + c]) * cover;
      }
    }
  }
  const base = y * W * 3;
  for (let i = 0; i < W * 3; i++) {
    // Mild sensor-like noise.
    const n = (rand() + rand() - 1) * NOISE;
    const val = row[i] + n;
    buf[base + i] = val < 0 ? 0 : val > 255 ? 255 : val;
  }
}

const info = await sharp(buf, { raw: { width: W, height: H, channels: 3 } })
  .jpeg({ quality: 90 })
  .toFile(out);
console.log(JSON.stringify({ out, width: info.width, height: info.height, bytes: info.size }));
