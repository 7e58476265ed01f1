// The sharp side of benches/transform.rs: the same thumbnail, made `count` times with
// `concurrency` in flight, timed; one output written for SSIM; JSON on stdout.
//
//   node thumbs.mjs SOURCE WIDTH webp|jpeg QUALITY COUNT CONCURRENCY [OUT]
//
// sharp.concurrency(1) (one libvips thread per image) and UV_THREADPOOL_SIZE = CONCURRENCY,
// so that CONCURRENCY images run at once on CONCURRENCY threads, like imgorigin's
// CONCURRENCY threads each rendering on their own. libuv reads UV_THREADPOOL_SIZE when it
// starts its pool, which may be before this module runs: when it is not set to CONCURRENCY
// the script runs itself again with it set.
//
// sharp's operation cache is off: it would otherwise answer the repeated identical request
// from memory, which no origin serving distinct images gets.

import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const usage = 'usage: node thumbs.mjs SOURCE WIDTH webp|jpeg QUALITY COUNT CONCURRENCY [OUT]';
const [source, widthArg, format, qualityArg, countArg, concurrencyArg, out] = process.argv.slice(2);
const width = Number(widthArg);
const quality = Number(qualityArg);
const count = Number(countArg);
const concurrency = Number(concurrencyArg);
const whole = (n) => Number.isInteger(n) && n >= 1;
if (!source || !['webp', 'jpeg'].includes(format) || ![width, quality, count, concurrency].every(whole)) {
  console.error(usage);
  process.exit(2);
}

if (process.env.UV_THREADPOOL_SIZE !== String(concurrency)) {
  const again = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, UV_THREADPOOL_SIZE: String(concurrency) },
  });
  process.exit(again.status ?? 1);
}

const { default: sharp } = await import('sharp');
sharp.concurrency(1);
sharp.cache(false);

const input = readFileSync(source);

function thumbnail() {
  const pipeline = sharp(input).rotate().resize({ width });
  const encoded = format === 'webp' ? pipeline.webp({ quality }) : pipeline.jpeg({ quality });
  return encoded.toBuffer({ resolveWithObject: true });
}

// Warm up: library initialisation, first-touch page faults, one per worker.
await Promise.all(Array.from({ length: concurrency }, thumbnail));

let started = 0;
let last;
async function worker() {
  while (started < count) {
    started += 1;
    last = await thumbnail();
  }
}
const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await Promise.all(Array.from({ length: concurrency }, worker));
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
const cpu = process.cpuUsage(cpu0);

if (out) {
  writeFileSync(out, last.data);
}
console.log(
  JSON.stringify({
    thumbs_per_s: count / seconds,
    seconds,
    // CPU time of the whole process (all threads) over the timed part, user + system.
    cpu_seconds: (cpu.user + cpu.system) / 1e6,
    count,
    concurrency,
    uv_threadpool_size: Number(process.env.UV_THREADPOOL_SIZE),
    sharp_concurrency: sharp.concurrency(),
    cache: false,
    bytes: last.data.length,
    width: last.info.width,
    height: last.info.height,
    format: last.info.format,
    source_bytes: input.length,
    sharp: sharp.versions.sharp,
    libvips: sharp.versions.vips,
    mozjpeg: sharp.versions.mozjpeg,
    libwebp: sharp.versions.webp,
    highway: sharp.versions.highway,
  }),
);
