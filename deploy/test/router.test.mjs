// Unit tests of the CloudFront Function in deploy/template.yaml (viewer request,
// cloudfront-js-2.0), run with `node --test deploy/`. The code is taken from the template
// itself, so what is tested is what is deployed: routing of Range and HEAD, and the signed-URL
// check against the vectors the Rust verifier passes too (signing-vectors.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import crypto from 'node:crypto';
import vm from 'node:vm';

const template = readFileSync(new URL('../template.yaml', import.meta.url), 'utf8');
const vectors = JSON.parse(readFileSync(new URL('./signing-vectors.json', import.meta.url), 'utf8'));

function functionCode() {
  const lines = template.split('\n');
  const start = lines.findIndex((l) => /^\s+FunctionCode: !Sub \|\s*$/.test(l));
  assert.ok(start > 0, 'FunctionCode block in the template');
  const indent = lines[start].search(/\S/) + 2;
  const body = [];
  for (const line of lines.slice(start + 1)) {
    if (line.trim() !== '' && line.search(/\S/) < indent) break;
    body.push(line.slice(indent));
  }
  return body.join('\n');
}

// cloudfront-js-2.0 gives `import cf from 'cloudfront'` and `import crypto from 'crypto'`;
// node has no 'cloudfront' module, so the imports are replaced by a stub that records the
// origin selection and serves the KeyValueStore from `kvs`, and by node's crypto. The stack
// parameters are substituted as CloudFormation's !Sub would. `nowSeconds` fixes Date.now().
function load({ signedPrefixes = '', avif = 'false', kvs = {}, nowSeconds } = {}) {
  const code = functionCode();
  assert.match(code, /^import cf from 'cloudfront';$/m);
  assert.match(code, /^import crypto from 'crypto';$/m);
  const placeholders = code.match(/\$\{[^}]*\}/g);
  assert.deepEqual(placeholders, ['${SignedPrefixes}', '${Avif}'], 'the only !Sub placeholders');
  const calls = [];
  const cf = {
    selectRequestOriginById: (id) => calls.push(id),
    kvs: () => ({
      get: async (key) => {
        if (!Object.hasOwn(kvs, key)) throw new Error('key not found');
        return kvs[key];
      },
    }),
  };
  const context = vm.createContext({ cf, crypto, Buffer });
  if (nowSeconds !== undefined) {
    vm.runInContext(`Date.now = function () { return ${nowSeconds * 1000}; };`, context);
  }
  const source = code
    .replace(/^import cf from 'cloudfront';$/m, '')
    .replace(/^import crypto from 'crypto';$/m, '')
    .replace('${SignedPrefixes}', signedPrefixes)
    .replace('${Avif}', avif);
  vm.runInContext(source, context);
  return { handler: context.handler, calls };
}

// The querystring object CloudFront hands the function: raw names and values, repeated names
// as multiValue.
function cfQuerystring(raw) {
  const qs = {};
  for (const pair of raw.split('&')) {
    if (pair === '') continue;
    const i = pair.indexOf('=');
    const [name, value] = i < 0 ? [pair, ''] : [pair.slice(0, i), pair.slice(i + 1)];
    if (qs[name] === undefined) {
      qs[name] = { value };
    } else {
      const prev = qs[name].multiValue ?? [{ value: qs[name].value }];
      qs[name] = { value: qs[name].value, multiValue: [...prev, { value }] };
    }
  }
  return qs;
}

function event(method, headers = {}, uri = '/photos/cat.jpg', query = '') {
  const h = {};
  for (const [k, v] of Object.entries(headers)) h[k] = { value: v };
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionId: 'E123' },
    viewer: { ip: '192.0.2.1' },
    request: { method, uri, querystring: cfQuerystring(query), headers: h, cookies: {} },
  };
}

test('GET without Range stays on the streaming origin', async () => {
  const { handler, calls } = load();
  const ev = event('GET', { accept: 'image/webp' });
  assert.equal(await handler(ev), ev.request);
  assert.deepEqual(calls, []);
});

test('Range goes to the buffered origin (real Content-Length for CloudFront range caching)', async () => {
  const { handler, calls } = load();
  const ev = event('GET', { range: 'bytes=0-16383' });
  assert.equal(await handler(ev), ev.request);
  assert.deepEqual(calls, ['buffered']);
  assert.deepEqual(ev.request.headers.range, { value: 'bytes=0-16383' }, 'Range is passed on untouched');
});

test('HEAD goes to the buffered origin (no empty stream)', async () => {
  const { handler, calls } = load();
  await handler(event('HEAD'));
  assert.deepEqual(calls, ['buffered']);
});

test('the selected origin id exists in the distribution', () => {
  assert.match(template, /^\s+- Id: buffered$/m);
  assert.match(template, /^\s+- Id: stream$/m);
  assert.match(template, /TargetOriginId: stream$/m);
});

test('the KeyValueStore is associated with the function', () => {
  assert.match(template, /KeyValueStoreAssociations:\n\s+- KeyValueStoreARN: !GetAtt SigningKeys.Arn/);
});

// The shared vectors: the same verdict as the origin for every case.
test('shared signing vectors', async () => {
  const kvs = vectors.keys;
  const signedPrefixes = vectors.signed_prefixes.join(',');
  assert.ok(vectors.cases.length >= 40);
  for (const c of vectors.cases) {
    const { handler } = load({ signedPrefixes, kvs, nowSeconds: vectors.now });
    const ev = event(c.method, {}, c.path, c.query);
    const got = await handler(ev);
    if (c.verdict === 'ok') {
      assert.equal(got, ev.request, c.name);
    } else {
      assert.equal(got.statusCode, c.verdict === 'bad-query' ? 400 : 403, c.name);
      assert.equal(got.body.data, `${c.verdict}\n`, c.name);
      assert.equal(got.headers['cache-control'].value, 'no-store', c.name);
    }
  }
});

test('a valid link loses sig/exp/kid and keeps its transform parameters', async () => {
  const c = vectors.cases.find((v) => v.name === 'transform parameters are signed');
  const { handler, calls } = load({ signedPrefixes: 'private/', kvs: vectors.keys, nowSeconds: vectors.now });
  const ev = event('GET', { range: 'bytes=0-9' }, c.path, c.query);
  const got = await handler(ev);
  assert.equal(got, ev.request);
  assert.deepEqual(Object.keys(got.querystring).sort(), ['fit', 'w']);
  assert.deepEqual(calls, ['buffered'], 'routing still applies to a signed request');
});

test('two valid links for one object leave the same request for the cache', async () => {
  const { handler } = load({ signedPrefixes: 'private/', kvs: vectors.keys, nowSeconds: vectors.now });
  const byKey = (name) => vectors.cases.find((v) => v.name === name);
  const a = event('GET', {}, '/private/cat.jpg', byKey('valid link').query);
  const b = event('GET', {}, '/private/cat.jpg', byKey('second active key (rotation)').query);
  assert.deepEqual(await handler(a), await handler(b));
});

test('"*" signs every key; empty signs none', async () => {
  const all = load({ signedPrefixes: '*', kvs: vectors.keys, nowSeconds: vectors.now });
  const got = await all.handler(event('GET', {}, '/public/cat.jpg'));
  assert.equal(got.statusCode, 403);
  const none = load({ signedPrefixes: '', kvs: {} });
  const ev = event('GET', {}, '/private/cat.jpg');
  assert.equal(await none.handler(ev), ev.request);
});

test('a key missing from the KeyValueStore, or too short there, is forbidden', async () => {
  const valid = vectors.cases.find((v) => v.name === 'valid link');
  for (const kvs of [{}, { k1: '00ff' }, { k1: 'not hex' }]) {
    const { handler } = load({ signedPrefixes: 'private/', kvs, nowSeconds: vectors.now });
    const got = await handler(event('GET', {}, valid.path, valid.query));
    assert.equal(got.statusCode, 403, JSON.stringify(kvs));
  }
});

test('an undecodable path under signing is forbidden, not passed on', async () => {
  const { handler } = load({ signedPrefixes: 'private/', kvs: vectors.keys, nowSeconds: vectors.now });
  const got = await handler(event('GET', {}, '/private/%zz.jpg'));
  assert.equal(got.statusCode, 403);
});

test('the docs/access-control.md example signature is what node computes', () => {
  const ex = vectors.example;
  const sig = crypto
    .createHmac('sha256', Buffer.from(vectors.keys[ex.key], 'hex'))
    .update(ex.canonical)
    .digest('base64url');
  assert.equal(sig, ex.sig);
});

// format=auto answers vary on Accept, which is in the cache key: the router reduces it to the
// origin's one distinction.
test('Accept is normalised for the cache key', async () => {
  const { handler } = load();
  const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
  const cases = [
    // [accept, query, normalised]
    [chrome, 'w=400', 'image/webp'],
    [chrome, 'w=400&format=auto', 'image/webp'],
    ['image/webp;q=0', 'w=400', '*/*'],
    ['IMAGE/WEBP ; q=0.5', 'h=10', 'image/webp'],
    ['image/*,*/*', 'w=400', '*/*'],
    [undefined, 'w=400', '*/*'],
    // An explicit format does not vary; raw objects do not either.
    [chrome, 'w=400&format=jpeg', '*/*'],
    [chrome, '', '*/*'],
    [chrome, 'v=3', '*/*'],
  ];
  for (const [accept, query, expect] of cases) {
    const ev = event('GET', accept === undefined ? {} : { accept }, '/a.jpg', query);
    await handler(ev);
    assert.equal(ev.request.headers.accept.value, expect, `${accept} ${query}`);
  }
});

// With the Avif parameter on, AVIF is a third class ahead of WebP, exactly as the origin's
// negotiation with IMGORIGIN_FORMATS=avif,... picks it; off, an AVIF Accept is WebP or nothing.
test('Accept is normalised to image/avif only when Avif is on', async () => {
  const chrome = 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8';
  const cases = [
    // [accept, query, with Avif=true, with Avif=false]
    [chrome, 'w=400', 'image/avif', 'image/webp'],
    ['image/avif', 'w=400&format=auto', 'image/avif', '*/*'],
    ['Image/AVIF;q=0.1', 'h=10', 'image/avif', '*/*'],
    ['image/avif;q=0,image/webp', 'w=400', 'image/webp', 'image/webp'],
    ['image/webp', 'w=400', 'image/webp', 'image/webp'],
    ['image/*,*/*', 'w=400', '*/*', '*/*'],
    [chrome, 'w=400&format=avif', '*/*', '*/*'],
    [chrome, 'w=400&format=webp', '*/*', '*/*'],
    [chrome, '', '*/*', '*/*'],
  ];
  for (const avif of ['true', 'false']) {
    const { handler } = load({ avif });
    for (const [accept, query, on, off] of cases) {
      const ev = event('GET', { accept }, '/a.jpg', query);
      await handler(ev);
      const expect = avif === 'true' ? on : off;
      assert.equal(ev.request.headers.accept.value, expect, `Avif=${avif} ${accept} ${query}`);
    }
  }
});

// One switch for the edge and the origin: the functions offer AVIF exactly when the router
// keys on it.
test('the Avif parameter sets both functions\' formats', () => {
  assert.match(template, /^  Avif:\n    Type: String\n    Default: "false"\n    AllowedValues: \["false", "true"\]$/m);
  assert.match(template, /^  AvifEnabled: !Equals \[!Ref Avif, "true"\]$/m);
  const formats = template.match(/^ {10}IMGORIGIN_FORMATS: .*$/gm);
  assert.deepEqual(formats, Array(2).fill(
    '          IMGORIGIN_FORMATS: !If [AvifEnabled, "avif,webp,jpeg,png", "webp,jpeg,png"]'));
});

test('the cache policy keys on the transform parameters and Accept only', () => {
  assert.match(template, /CachePolicyId: !Ref ImageCachePolicy/);
  assert.match(template, /HeaderBehavior: whitelist\n\s+Headers: \[Accept\]/);
  assert.match(template, /QueryStringBehavior: whitelist\n\s+QueryStrings: \[w, h, fit, format, q\]/);
  assert.match(template, /CookieBehavior: none/);
});
