// Unit tests of the CloudFront Function in deploy/template.yaml (viewer request,
// cloudfront-js-2.0), run with `node --test deploy/`. The code is taken from the template
// itself, so what is tested is what is deployed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import vm from 'node:vm';

const template = readFileSync(new URL('../template.yaml', import.meta.url), 'utf8');

function functionCode() {
  const lines = template.split('\n');
  const start = lines.findIndex((l) => /^\s+FunctionCode: \|\s*$/.test(l));
  assert.ok(start > 0, 'FunctionCode block in the template');
  const indent = lines[start].search(/\S/) + 2;
  const body = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && line.search(/\S/) < indent) break;
    body.push(line.slice(indent));
  }
  return body.join('\n');
}

// cloudfront-js-2.0 gives `import cf from 'cloudfront'`; node has no such module, so the
// import is replaced by a stub that records the origin selection.
function load() {
  const code = functionCode();
  assert.match(code, /^import cf from 'cloudfront';$/m);
  const calls = [];
  const cf = { selectRequestOriginById: (id) => calls.push(id) };
  const context = vm.createContext({ cf });
  vm.runInContext(code.replace(/^import cf from 'cloudfront';$/m, ''), context);
  return { handler: context.handler, calls };
}

function event(method, headers = {}) {
  const h = {};
  for (const [k, v] of Object.entries(headers)) h[k] = { value: v };
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionId: 'E123' },
    viewer: { ip: '192.0.2.1' },
    request: { method, uri: '/photos/cat.jpg', querystring: {}, headers: h, cookies: {} },
  };
}

test('GET without Range stays on the streaming origin', () => {
  const { handler, calls } = load();
  const ev = event('GET', { accept: 'image/webp' });
  assert.equal(handler(ev), ev.request);
  assert.deepEqual(calls, []);
});

test('Range goes to the buffered origin (real Content-Length for CloudFront range caching)', () => {
  const { handler, calls } = load();
  const ev = event('GET', { range: 'bytes=0-16383' });
  assert.equal(handler(ev), ev.request);
  assert.deepEqual(calls, ['buffered']);
  assert.deepEqual(ev.request.headers.range, { value: 'bytes=0-16383' }, 'Range is passed on untouched');
});

test('HEAD goes to the buffered origin (no empty stream)', () => {
  const { handler, calls } = load();
  handler(event('HEAD'));
  assert.deepEqual(calls, ['buffered']);
});

test('the selected origin id exists in the distribution', () => {
  assert.match(template, /^\s+- Id: buffered$/m);
  assert.match(template, /^\s+- Id: stream$/m);
  assert.match(template, /TargetOriginId: stream$/m);
});
