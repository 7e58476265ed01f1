// The CloudFront Function's signed-URL check against the vectors the Rust verifier passes too
// (signing-vectors.json), its Accept normalisation, its size, and the template settings the
// routing relies on, run with `node --test deploy/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { template, vectors, functionCode, substitute, load, event, resource, listItem } from './harness.mjs';
// ---------------------------------------------------------------------------------------------
// Signed URLs

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

// Note 10: a private image in IIIF opens from a token segment, the signed link's kid, exp and
// sig (the shared example); a verified token leaves tile URIs (one cache entry per tile) and
// stays in info.json's (its id repeats it).
test('IIIF tokens: the signed link of the object, verified, and dropped from tile URIs', async () => {
  const ex = vectors.example;
  const token = `t.${ex.key}.${ex.exp}.${ex.sig}`;
  const id = 'private%2Fcat.jpg';
  const tile = '0,0,256,256/256,/0/default.jpg';
  const run = async (uri, now = vectors.now) => {
    const { handler } = load({ signedPrefixes: 'private/', kvs: vectors.keys, nowSeconds: now });
    const ev = event('GET', {}, uri);
    const got = await handler(ev);
    return got === ev.request ? decodeURIComponent(Buffer.from(got.uri.slice(3), 'base64url')
      .toString().replace(/^/, '/')) : got.statusCode;
  };
  assert.equal(await run(`/iiif/3/${token}/${id}/info.json`), `/iiif/3/${token}/private/cat.jpg/info.json`);
  assert.equal(await run(`/iiif/3/${token}/${id}/${tile}`), `/iiif/3/private/cat.jpg/${tile}`);
  assert.equal(await run(`/iiif/3/${token}/${id}`), '/iiif/3/private/cat.jpg');
  const tampered = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
  for (const uri of [
    `/iiif/3/${id}/info.json`, `/iiif/3/${id}/${tile}`, `/iiif/3/${id}`,
    `/iiif/3/${tampered}/${id}/info.json`, `/iiif/3/${token}/private%2Fdog.jpg/info.json`,
    // A slash the origin would read as part of the identifier: still the private key.
    '/iiif/3/private/cat.jpg/info.json',
  ]) {
    assert.equal(await run(uri), 403, uri);
  }
  assert.equal(await run(`/iiif/3/${token}/${id}/${tile}`, ex.exp), 403, 'expired');
  // Keys outside SignedPrefixes need no token.
  assert.equal(await run('/iiif/3/public%2Fcat.jpg/info.json'), '/iiif/3/public/cat.jpg/info.json');
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

test('the KeyValueStore is associated with the function', () => {
  assert.match(template, /KeyValueStoreAssociations:\n\s+- KeyValueStoreARN: !GetAtt SigningKeys.Arn/);
});

// ---------------------------------------------------------------------------------------------
// Accept (Note 6)

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

// ---------------------------------------------------------------------------------------------
// Size

// CloudFront Functions hold at most 10 KB of code; the parameters are part of it once
// substituted, so the check uses long but realistic values.
test('the function code stays under CloudFront\'s 10 KB', () => {
  const code = substitute(functionCode(), {
    SignedPrefixes: 'private/,members/,paid/',
    Avif: 'true',
    RawOrigin: 'lambda',
    Prefix: 'public/images/',
    CorsOrigins: 'https://viewer.example,https://maps.example.org',
    MultiRange: 'multipart',
  });
  const bytes = Buffer.byteLength(code, 'utf8');
  assert.ok(bytes < 10240, `${bytes} bytes`);
});

// ---------------------------------------------------------------------------------------------
// The template around the function

// A retried GET is a second invocation billed in full.
test('the Lambda origins are tried once', () => {
  const distribution = resource('Distribution');
  for (const id of ['stream', 'buffered']) {
    assert.match(listItem(distribution, id), /^\s+ConnectionAttempts: 1$/m, id);
  }
});

test('the S3 origin exists only with RawOrigin=s3', () => {
  assert.match(resource('Distribution'), /- !If\n\s+- RawFromS3\n\s+- Id: s3\n/);
  assert.match(template, /^  RawFromS3: !Equals \[!Ref RawOrigin, s3\]$/m);
});

// Range is not in the cache key: a cached 5xx for one range would fail every viewer of the URL.
test('5xx answers are not cached beyond their own Cache-Control', () => {
  const distribution = resource('Distribution');
  assert.match(distribution, /CustomErrorResponses:\n\s+- ErrorCode:/);
  const entries = distribution.matchAll(/- ErrorCode: (\d+)\n\s+ErrorCachingMinTTL: (\d+)\n/g);
  const ttl = Object.fromEntries([...entries].map((m) => [m[1], m[2]]));
  for (const code of ['500', '501', '502', '503', '504']) {
    assert.equal(ttl[code], '0', `ErrorCachingMinTTL for ${code}`);
  }
});

// The distribution may invoke each function only through its Function URL.
test('lambda:InvokeFunction is granted only via the Function URLs', () => {
  const names = [...template.matchAll(/^  (\w+):\n    Type: AWS::Lambda::Permission$/gm)].map((m) => m[1]);
  const invoke = names.map(resource).filter((r) => /^\s+Action: lambda:InvokeFunction$/m.test(r));
  assert.equal(invoke.length, 2);
  const functions = invoke.map((r) => r.match(/FunctionName: !Ref (\w+)/)[1]).sort();
  assert.deepEqual(functions, ['BufferedFunction', 'StreamFunction']);
  for (const r of invoke) assert.match(r, /^\s+InvokedViaFunctionUrl: true$/m);
});

test('the cache policy keys on the transform parameters and Accept only', () => {
  assert.match(template, /CachePolicyId: !Ref ImageCachePolicy/);
  assert.match(template, /HeaderBehavior: whitelist\n\s+Headers: \[Accept\]/);
  assert.match(template, /QueryStringBehavior: whitelist\n\s+QueryStrings: \[w, h, fit, format, q\]/);
  assert.match(template, /CookieBehavior: none/);
});

// Actual answers get their CORS headers from the response headers policy alone, for each
// viewer request, from the cache too ("CloudFront modifies the headers in the responses that it
// serves from the cache and the ones that it forwards from the origin", Developer Guide): no
// origin sees the viewer's Origin (not in the cache key, no origin request policy) or is
// configured for CORS, and OriginOverride would replace any CORS header one sent. So a cached
// answer carries no other viewer's Access-Control-Allow-Origin, and the cache is not split.
test('CORS on answers comes from the response headers policy only', () => {
  const policy = resource('CorsPolicy');
  assert.match(policy, /^ +OriginOverride: true$/m);
  assert.match(policy, /AccessControlAllowOrigins:\n +Items: !Split \[",", !Ref CorsOrigins\]/);
  assert.match(resource('ImageCachePolicy'), /HeaderBehavior: whitelist\n +Headers: \[Accept\]\n/);
  assert.doesNotMatch(template, /OriginRequestPolicy/);
  assert.doesNotMatch(template, /IMGORIGIN_CORS_ORIGIN/);
  assert.match(resource('Distribution'), /ResponseHeadersPolicyId: !If \[CorsEnabled, !Ref CorsPolicy, !Ref AWS::NoValue\]/);
});
