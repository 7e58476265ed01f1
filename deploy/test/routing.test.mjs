// The CloudFront Function's routing (Note 2 in the template), the path each origin receives
// (Notes 3 and 4), the Range reading it shares with the origin (Note 5, range-vectors.json)
// and CORS preflights, run with `node --test deploy/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { template, vectors, rangeVectors, corsRs, encodedKey, load, event, route, read, resource } from './harness.mjs';
// ---------------------------------------------------------------------------------------------
// Routing (Note 2 in the template)

// RawOrigin=lambda: the buffered origin for what needs a real Content-Length (HEAD, exactly one
// range, several ranges CloudFront honours); the streaming origin for whatever may have to be
// answered whole. multirange.test.mjs has several ranges in detail, for both MultiRange values.
test('routing with RawOrigin=lambda', async () => {
  const cases = [
    // [what, method, headers, query, origin]
    ['GET without Range', 'GET', { accept: 'image/webp' }, '', 'stream'],
    ['HEAD', 'HEAD', {}, '', 'buffered'],
    ['one range', 'GET', { range: 'bytes=0-16383' }, '', 'buffered'],
    ['one range far in', 'GET', { range: 'bytes=5000000-5001000' }, '', 'buffered'],
    ['open range', 'GET', { range: 'bytes=0-' }, '', 'buffered'],
    ['suffix range', 'GET', { range: 'bytes=-500' }, '', 'buffered'],
    ['unit in another case', 'GET', { range: 'Bytes=0-1' }, '', 'buffered'],
    // Several ranges, ascending (MultiRange=multipart, the default): 206 multipart.
    ['several ranges', 'GET', { range: 'bytes=0-1,5-9' }, '', 'buffered'],
    // Answered whole (200), possibly past the buffered origin's 4 MiB.
    ['several ranges, descending', 'GET', { range: 'bytes=5-9,0-1' }, '', 'stream'],
    ['unparsable range', 'GET', { range: 'bytes=abc' }, '', 'stream'],
    ['reversed range', 'GET', { range: 'bytes=5-1' }, '', 'stream'],
    ['another unit', 'GET', { range: 'items=0-1' }, '', 'stream'],
    ['Range repeated', 'GET', { range: ['bytes=0-1', 'bytes=2-3'] }, '', 'stream'],
    ['If-Range with one range', 'GET', { range: 'bytes=0-99', 'if-range': '"e1"' }, '', 'buffered'],
    // A conditional may fail and then be answered whole.
    ['If-None-Match', 'GET', { 'if-none-match': '"e1"' }, '', 'stream'],
    ['If-Modified-Since', 'GET', { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' }, '', 'stream'],
    ['If-Match', 'GET', { 'if-match': '"e1"' }, '', 'stream'],
    // HEAD has no body to stream, whatever its conditionals.
    ['HEAD with If-None-Match', 'HEAD', { 'if-none-match': '"e1"' }, '', 'buffered'],
    ['HEAD with If-Match', 'HEAD', { 'if-match': '"e1"' }, '', 'buffered'],
    ['transform', 'GET', {}, 'w=400', 'stream'],
    ['transform with one range', 'GET', { range: 'bytes=0-99' }, 'w=400', 'buffered'],
    ['transform with several ranges', 'GET', { range: 'bytes=0-1,5-9' }, 'w=400', 'buffered'],
    ['transform with overlapping ranges', 'GET', { range: 'bytes=0-5,5-9' }, 'w=400', 'stream'],
  ];
  for (const [what, method, headers, query, origin] of cases) {
    const got = await route({}, method, headers, '/photos/cat.jpg', query);
    assert.equal(got.origin, origin, what);
    assert.equal(got.request.uri, '/photos/cat.jpg', what);
    if (headers.range !== undefined && !Array.isArray(headers.range)) {
      assert.deepEqual(got.request.headers.range, { value: headers.range }, `${what}: Range untouched`);
    }
  }
});

// RawOrigin=s3: stored bytes come from the bucket, which has its own ranges and validators, so
// every method and header goes there; the path becomes the prefixed key, encoded as S3 reads
// it.
test('routing with RawOrigin=s3: stored bytes from the bucket', async () => {
  const opts = { rawOrigin: 's3', prefix: 'public/' };
  const cases = [
    // [method, headers, uri, uri sent to S3]
    ['GET', {}, '/photos/cat.jpg', '/public/photos/cat.jpg'],
    ['HEAD', {}, '/photos/cat.jpg', '/public/photos/cat.jpg'],
    ['GET', { range: 'bytes=0-16383' }, '/a.jpg', '/public/a.jpg'],
    ['GET', { range: 'bytes=0-1,5-9' }, '/a.jpg', '/public/a.jpg'],
    ['GET', { 'if-none-match': '"e1"' }, '/a.jpg', '/public/a.jpg'],
    ['GET', { 'if-modified-since': 'Thu, 01 Jan 2026 00:00:00 GMT' }, '/a.jpg', '/public/a.jpg'],
    ['HEAD', { 'if-match': '"e1"' }, '/a.jpg', '/public/a.jpg'],
    // Decoded once, then only RFC 3986 unreserved characters bare in each segment.
    ['GET', {}, '/a%20b.jpg', '/public/a%20b.jpg'],
    ['GET', {}, '/a+b.jpg', '/public/a%2Bb.jpg'],
    ['GET', {}, '/caf%C3%A9/x.jpg', '/public/caf%C3%A9/x.jpg'],
    ['GET', {}, '/a%2Fb.jpg', '/public/a/b.jpg'],
    ['GET', {}, '/%41(1)!.jpg', '/public/A%281%29%21.jpg'],
    ['GET', {}, '/a%2520b.jpg', '/public/a%2520b.jpg'],
    ['GET', {}, '/a-b_c.d~e/F9.jpg', '/public/a-b_c.d~e/F9.jpg'],
    // The marker means nothing to S3: no base64 there.
    ['GET', {}, '/~/x.jpg', '/public/~/x.jpg'],
  ];
  for (const [method, headers, uri, s3] of cases) {
    const got = await route(opts, method, headers, uri);
    assert.deepEqual(got.calls, ['s3'], `${method} ${uri}`);
    assert.equal(got.request.uri, s3, `${method} ${uri}`);
  }
  // Other query parameters (cache busters) do not make a transform.
  const buster = await route(opts, 'GET', {}, '/a.jpg', 'v=3');
  assert.deepEqual(buster.calls, ['s3']);
  const bare = await route({ rawOrigin: 's3' }, 'GET', {}, '/a b.jpg');
  assert.equal(bare.request.uri, '/a%20b.jpg', 'no prefix');
});

test('with RawOrigin=s3, "/" and undecodable paths stay on the Lambda origins', async () => {
  const opts = { rawOrigin: 's3', prefix: 'public/' };
  // "/" would be the bucket's listing (CloudFront may list it, for S3's 404s).
  let got = await route(opts, 'GET', {}, '/');
  assert.deepEqual(got.calls, []);
  assert.equal(got.request.uri, '/');
  got = await route(opts, 'HEAD', {}, '/');
  assert.deepEqual(got.calls, ['buffered']);
  // The functions answer it 400, as they would any path that does not decode.
  got = await route(opts, 'GET', {}, '/%zz.jpg');
  assert.deepEqual(got.calls, []);
  assert.equal(got.request.uri, '/%zz.jpg');
  got = await route(opts, 'GET', { range: 'bytes=0-1' }, '/%zz.jpg');
  assert.deepEqual(got.calls, ['buffered']);
});

test('with RawOrigin=s3, transforms are routed as with RawOrigin=lambda', async () => {
  const opts = { rawOrigin: 's3', prefix: 'public/' };
  const cases = [
    // [method, headers, query, origin]
    ['GET', {}, 'w=400', 'stream'],
    ['GET', {}, 'format=webp', 'stream'],
    ['HEAD', {}, 'h=160', 'buffered'],
    ['GET', { range: 'bytes=0-99' }, 'w=400', 'buffered'],
    ['GET', { range: 'bytes=0-1,5-9' }, 'q=75', 'buffered'],
    ['GET', { range: 'bytes=5-9,0-1' }, 'q=75', 'stream'],
    ['GET', { 'if-none-match': '"e1"' }, 'fit=cover&w=400', 'stream'],
  ];
  for (const [method, headers, query, origin] of cases) {
    const got = await route(opts, method, headers, '/a b.jpg', query);
    assert.equal(got.origin, origin, `${method} ${query}`);
    // The Lambda spelling, without the prefix (the functions add it).
    assert.equal(got.request.uri, encodedKey('/a b.jpg'), `${method} ${query}`);
  }
});

// A signed link is checked on the viewer's path, then routed like any other request.
test('a valid signed link goes to S3 without sig/exp/kid', async () => {
  const valid = vectors.cases.find((v) => v.name === 'valid link');
  const got = await route({ rawOrigin: 's3', prefix: 'public/', signedPrefixes: 'private/',
    kvs: vectors.keys, nowSeconds: vectors.now }, 'GET', {}, valid.path, valid.query);
  assert.deepEqual(got.calls, ['s3']);
  assert.equal(got.request.uri, `/public${valid.path}`);
  assert.deepEqual(got.request.querystring, {});
});

test('the selected origin ids exist in the distribution', () => {
  assert.match(template, /^\s+- Id: buffered$/m);
  assert.match(template, /^\s+- Id: stream$/m);
  assert.match(template, /^\s+- Id: s3$/m);
  assert.match(template, /TargetOriginId: stream$/m);
});

// ---------------------------------------------------------------------------------------------
// Paths to the Function URLs (Note 3)

// OAC's signature fails for a Function URL path with a space or '+': such keys travel as
// /~/ + base64url of the key. The expected values are src/key.rs's table, so both ends agree.
test('lambdaUri: plain paths unchanged, others as /~/ + base64url of the key', async () => {
  const cases = [
    // [viewer path, path sent to the functions]
    ['/photos/cat.jpg', '/photos/cat.jpg'],
    ['/a-b_c.d~e/F9.jpg', '/a-b_c.d~e/F9.jpg'],
    ['/~x.jpg', '/~x.jpg'],
    ['/', '/'],
    ['/a%20b.jpg', '/~/YSBiLmpwZw'],
    ['/a+b.jpg', '/~/YStiLmpwZw'],
    ['/caf%C3%A9.jpg', '/~/Y2Fmw6kuanBn'],
    // Starts with the marker, so it cannot be read as an encoded key.
    ['/~/x.jpg', '/~/fi94LmpwZw'],
    ['/a%2Fb.jpg', encodedKey('/a%2Fb.jpg')],
    ['/%41.jpg', encodedKey('/%41.jpg')],
    // Long enough for '-' and '_' in base64url, and every padding length.
    ['/%3E%3E%3F%3F.jpg', encodedKey('/%3E%3E%3F%3F.jpg')],
    ['/a%20', encodedKey('/a%20')],
    ['/ab%20', encodedKey('/ab%20')],
    // Does not decode: left for the functions to refuse (400).
    ['/%zz', '/%zz'],
  ];
  for (const [path, expect] of cases) {
    if (expect.startsWith('/~/')) assert.equal(expect, encodedKey(path), `${path}: base64url of the key`);
    for (const opts of [{}, { rawOrigin: 's3' }]) {
      // With RawOrigin=s3 only transforms reach the functions.
      const query = opts.rawOrigin === 's3' ? 'w=400' : '';
      for (const [headers, origin] of [[{}, 'stream'], [{ range: 'bytes=0-9' }, 'buffered']]) {
        const got = await route(opts, 'GET', headers, path, query);
        assert.equal(got.origin, origin, `${path} ${query}`);
        assert.equal(got.request.uri, expect, `${path} ${query} via ${origin}`);
      }
    }
  }
  // '-' and '_' really occur above, and no padding.
  assert.match(encodedKey('/%3E%3E%3F%3F.jpg'), /[-_]/);
  assert.doesNotMatch(encodedKey('/a%20') + encodedKey('/ab%20'), /=/);
});

// ---------------------------------------------------------------------------------------------
// Range (Note 5): the edge must read Range exactly as the origin does, or a request it thinks
// is one range reaches the buffered origin as several (answered whole, maybe past 4 MiB), or
// one range is streamed (answered whole by CloudFront). src/range.rs's tests read the same file
// with the crate the origin uses. With MultiRange=whole exactly the single ranges go to the
// buffered origin; with multipart also the vectors' several ranges that CloudFront honours
// (Note 8), listed here.
test('shared range vectors: buffered iff the origin reads exactly one range', async () => {
  assert.ok(rangeVectors.cases.length >= 40);
  const honoured = ['bytes=0-1,2-3', 'bytes=0-1 , 2-3', 'bytes=0-1,2-3,4-5', 'bytes=0-99,1000-',
    'bytes=0-1,,2-3', 'bytes=0-1, 2-3 ,4-5', 'bytes=100-199,200-299'];
  for (const r of honoured) assert.ok(rangeVectors.cases.some((c) => c.range === r), r);
  const { context } = load({});
  for (const c of rangeVectors.cases) {
    const specs = context.specs({ value: c.range });
    assert.equal(specs === null ? 0 : specs.length, c.ranges, `specs of ${JSON.stringify(c.range)}`);
    const whole = await route({ multiRange: 'whole' }, 'GET', { range: c.range });
    assert.equal(whole.origin, c.single ? 'buffered' : 'stream', JSON.stringify(c.range));
    const multipart = await route({ multiRange: 'multipart' }, 'GET', { range: c.range });
    const buffered = c.single || honoured.includes(c.range);
    assert.equal(multipart.origin, buffered ? 'buffered' : 'stream', `multipart ${JSON.stringify(c.range)}`);
  }
});

// ---------------------------------------------------------------------------------------------
// CORS preflights (Note 1 in the header comment): the same answer as src/cors.rs.

function rustConst(name) {
  const m = corsRs.match(new RegExp(`const ${name}: &str =\\s*"([^"]*)";`));
  assert.ok(m, `${name} in src/cors.rs`);
  return m[1];
}

async function preflight(corsOrigins, headers, extra = {}) {
  const { handler, calls } = load({ corsOrigins, ...extra });
  const got = await handler(event('OPTIONS', headers));
  assert.deepEqual(calls, [], 'a preflight reaches no origin');
  return got;
}

const header = (res, name) => res.headers[name]?.value;

test('CORS preflight: allowed origins and methods get 204, the rest 403', async () => {
  const ask = (origin, method = 'GET') => ({ origin, 'access-control-request-method': method });
  const listed = 'https://viewer.example,https://maps.example.org';

  const off = await preflight('', ask('https://viewer.example'));
  assert.equal(off.statusCode, 403, 'CorsOrigins empty');
  assert.equal(header(off, 'cache-control'), 'no-store');

  const any = await preflight('*', ask('https://viewer.example'));
  assert.equal(any.statusCode, 204);
  assert.equal(header(any, 'access-control-allow-origin'), '*');
  assert.equal(header(any, 'access-control-allow-methods'), 'GET, HEAD');
  assert.equal(header(any, 'access-control-allow-headers'), rustConst('ALLOW_HEADERS'));
  assert.equal(header(any, 'access-control-max-age'), '86400');
  assert.equal((await preflight('*', ask('https://a.example', 'HEAD'))).statusCode, 204);

  const echoed = await preflight(listed, ask('https://maps.example.org'));
  assert.equal(echoed.statusCode, 204);
  assert.equal(header(echoed, 'access-control-allow-origin'), 'https://maps.example.org');

  const refused = [
    [listed, ask('https://evil.example')],
    [listed, ask('https://viewer.example.evil')],
    [listed, ask('https://viewer.example,https://maps.example.org')],
    ['*', ask('https://viewer.example', 'PUT')],
    [listed, ask('https://viewer.example', 'POST')],
  ];
  for (const [cors, headers] of refused) {
    const got = await preflight(cors, headers);
    assert.equal(got.statusCode, 403, `${cors} ${JSON.stringify(headers)}`);
    assert.equal(header(got, 'cache-control'), 'no-store');
  }
});

// An OPTIONS without Origin or Access-Control-Request-Method is no preflight: it asks what the
// resource allows (RFC 9110 §9.3.7), and gets what the origin answers (src/service.rs).
test('OPTIONS that is not a preflight: 204 with Allow', async () => {
  for (const headers of [{}, { 'access-control-request-method': 'GET' }, { origin: 'https://viewer.example' }]) {
    const got = await preflight('https://viewer.example', headers);
    assert.equal(got.statusCode, 204, JSON.stringify(headers));
    assert.equal(header(got, 'allow'), 'GET, HEAD, OPTIONS');
    assert.equal(header(got, 'cache-control'), 'no-store');
    assert.equal(header(got, 'access-control-allow-origin'), undefined);
  }
});

// Preflights carry no credentials (no query either), so signing must not refuse them.
test('CORS preflight is answered before the signed-URL check', async () => {
  const got = await preflight('*', { origin: 'https://a.example', 'access-control-request-method': 'GET' },
    { signedPrefixes: '*', kvs: vectors.keys, nowSeconds: vectors.now });
  assert.equal(got.statusCode, 204);
});

// Actual answers get their CORS headers from the response headers policy, preflights from the
// router, the Lambda origins from src/cors.rs: one list for all three.
test('the CORS response headers policy has src/cors.rs\'s lists', () => {
  const policy = resource('CorsPolicy');
  const items = (name) => {
    const m = policy.match(new RegExp(`${name}:\\n\\s+Items: \\[([^\\]]*)\\]`));
    assert.ok(m, name);
    return m[1].split(', ');
  };
  assert.deepEqual(items('AccessControlAllowHeaders'), rustConst('ALLOW_HEADERS').split(', '));
  assert.deepEqual(items('AccessControlExposeHeaders'), rustConst('EXPOSE').split(', '));
  assert.deepEqual(items('AccessControlAllowMethods'), ['GET', 'HEAD', 'OPTIONS']);
  assert.match(policy, /AccessControlMaxAgeSec: 86400$/m);
});

// ---------------------------------------------------------------------------------------------
// IIIF (Note 9): the buffered function for every IIIF path, whatever RawOrigin, method and
// headers; the path as Note 3 sends it; the behaviour keyed on the path alone.

test('IIIF paths go to the buffered function, encoded as Note 3 says', async () => {
  const cases = [
    // [uri, uri the function receives]
    ['/iiif/3/cat.jpg/info.json', '/iiif/3/cat.jpg/info.json'],
    ['/iiif/3/cat.jpg', '/iiif/3/cat.jpg'],
    ['/iiif/3/maps%2Fsheet.tif/0,0,256,256/256,/0/default.jpg',
      encodedKey('/iiif/3/maps%2Fsheet.tif/0,0,256,256/256,/0/default.jpg')],
    ['/iiif/3/a.tif/full/!200,200/!90/gray.png', encodedKey('/iiif/3/a.tif/full/!200,200/!90/gray.png')],
    ['/iiif/3/a.tif/full/%5Emax/0/default.jpg', encodedKey('/iiif/3/a.tif/full/%5Emax/0/default.jpg')],
  ];
  for (const rawOrigin of ['lambda', 's3']) {
    for (const [method, headers] of [['GET', {}], ['HEAD', {}], ['GET', { 'if-none-match': '"e1"' }],
      ['GET', { range: 'bytes=5-9,0-1' }]]) {
      for (const [uri, sent] of cases) {
        const got = await route({ rawOrigin, prefix: 'public/' }, method, headers, uri);
        const what = `${rawOrigin} ${method} ${JSON.stringify(headers)} ${uri}`;
        assert.equal(got.origin, 'buffered', what);
        assert.equal(got.request.uri, sent, what);
      }
    }
  }
  // Only below the prefix: a key that merely starts with "iiif" is an ordinary object.
  assert.equal((await route({}, 'GET', {}, '/iiif/30.jpg')).origin, 'stream');
  assert.equal((await route({}, 'GET', {}, '/iiif3/x.jpg')).origin, 'stream');
});

test('the IIIF behaviour: buffered origin, path-only cache key, the router attached', () => {
  const dist = resource('Distribution');
  const behaviour = dist.slice(dist.indexOf('CacheBehaviors:'));
  assert.match(behaviour, /- PathPattern: \/iiif\/3\/\*\n\s+TargetOriginId: buffered\n/);
  assert.match(behaviour, /CachePolicyId: !Ref IiifCachePolicy/);
  assert.match(behaviour, /FunctionARN: !GetAtt Router\.FunctionMetadata\.FunctionARN/);
  const policy = resource('IiifCachePolicy');
  for (const part of ['CookieBehavior: none', 'HeaderBehavior: none', 'QueryStringBehavior: none']) {
    assert.ok(policy.includes(part), part);
  }
  // The prefix the router and the behaviour use is the functions' default.
  const rs = read('../../src/iiif.rs');
  assert.match(rs, /pub const DEFAULT_PREFIX: &str = "\/iiif\/3\/";/);
  assert.match(template, /var IIIF = '\/iiif\/3\/';/);
});
