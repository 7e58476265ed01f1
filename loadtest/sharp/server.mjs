// The transform scenario's peer, "the classic recipe": node's http server and sharp. Per
// request it GETs the source from the backend (keep-alive), then
// sharp(buf).rotate().resize({ width }).webp({ quality: 80 }) (or .jpeg({ quality: 80 })), and answers with
// Content-Type and Content-Length. Started by loadtest/harness (procs.py) as
//
//   UV_THREADPOOL_SIZE=2 node server.mjs PORT SOURCE_BASE_URL
//
// GET /KEY?w=400&format=webp  -> SOURCE_BASE_URL + KEY, resized; format webp (default) or jpeg
// GET /_versions              -> JSON: node, sharp, libvips, UV_THREADPOOL_SIZE, concurrency
//
// sharp.concurrency(1): one libvips thread per image, so UV_THREADPOOL_SIZE images run at once
// on as many threads (2 on the 2-core load test machine), as imgorigin runs one transform per
// CPU. sharp's operation cache is off: every request brings a fresh source buffer, and a hit
// on a recycled buffer address would answer from memory what no origin gets for free.

import http from 'node:http';
import sharp from 'sharp';

const [portArg, sourceBase] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || !sourceBase) {
  console.error('usage: UV_THREADPOOL_SIZE=N node server.mjs PORT SOURCE_BASE_URL');
  process.exit(2);
}
sharp.concurrency(1);
sharp.cache(false);

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

function fetchSource(key) {
  return new Promise((resolve, reject) => {
    const req = http.get(sourceBase + key, { agent }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`backend answered ${res.statusCode} for ${key}`));
        return;
      }
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

function answer(res, status, type, body) {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': body.length });
  res.end(body);
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/_versions') {
    answer(res, 200, 'application/json', Buffer.from(JSON.stringify({
      node: process.versions.node, sharp: sharp.versions.sharp, libvips: sharp.versions.vips,
      uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE) || 4,
      sharp_concurrency: sharp.concurrency(), cache: false,
    })));
    return;
  }
  const width = Number(url.searchParams.get('w'));
  const format = url.searchParams.get('format') || 'webp';
  if (!Number.isInteger(width) || width < 1 || !['webp', 'jpeg'].includes(format)) {
    answer(res, 400, 'text/plain', Buffer.from('w=WIDTH&format=webp|jpeg\n'));
    return;
  }
  try {
    const source = await fetchSource(decodeURIComponent(url.pathname.slice(1)));
    const pipeline = sharp(source).rotate().resize({ width });
    const out = await (format === 'webp' ? pipeline.webp({ quality: 80 }) : pipeline.jpeg({ quality: 80 })).toBuffer();
    answer(res, 200, `image/${format}`, out);
  } catch (e) {
    answer(res, 500, 'text/plain', Buffer.from(`${e.message}\n`));
  }
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1');
