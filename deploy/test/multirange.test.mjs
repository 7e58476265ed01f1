// Several byte ranges in one Range (Note 8 in the template, the MultiRange parameter): which go
// to the buffered function (206 multipart/byteranges) and which to the stream function (200
// whole), for both MultiRange values; the range-specs the router reads, which must be the
// origin's; and the limit both ends share. Run with `node --test deploy/`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { template, load, route, read, resource } from './harness.mjs';

const U64_MAX = '18446744073709551615';
// `n` ascending ranges of 10 bytes, 100 apart.
const ascending = (n) => 'bytes=' + Array.from({ length: n }, (_, i) => `${i * 100}-${i * 100 + 9}`).join(',');

// [what, Range, specs the origin reads (0: it ignores the header), origin with
// MultiRange=multipart, with MultiRange=whole]. The counts are http-range-header 1.0's reading
// as src/range.rs calls it (checked against the crate when this table was written; the Rust
// tests read only range-vectors.json).
const CASES = [
  // CloudFront honours these (RangeGETs): ascending, not overlapping, all valid.
  ['ascending pair', 'bytes=0-99,1000-1099', 2, 'buffered', 'stream'],
  ['ascending pair far apart', 'bytes=0-99,5000000-5000099', 2, 'buffered', 'stream'],
  ['adjacent: they touch, they do not overlap', 'bytes=100-199,200-299', 2, 'buffered', 'stream'],
  ['AWS\'s valid example', 'bytes=100-200,300-400', 2, 'buffered', 'stream'],
  ['three ascending', 'bytes=0-0,2-2,4-4', 3, 'buffered', 'stream'],
  ['open range last', 'bytes=0-99,1000-', 2, 'buffered', 'stream'],
  ['one-byte ranges', 'bytes=0-0,1-1', 2, 'buffered', 'stream'],
  ['leading zeros', 'bytes=000-99,0100-199', 2, 'buffered', 'stream'],
  ['up to the u64 maximum', `bytes=0-18446744073709551614,${U64_MAX}-`, 2, 'buffered', 'stream'],
  ['64 ranges', ascending(64), 64, 'buffered', 'stream'],
  // Spaces, tabs and empty elements as the origin's parser takes them.
  ['spaces after commas', 'bytes=0-99, 1000-1099', 2, 'buffered', 'stream'],
  ['spaces and tabs around elements', 'bytes= 0-99 ,\t1000-1099', 2, 'buffered', 'stream'],
  ['empty elements', 'bytes=,0-99,,1000-1099,', 2, 'buffered', 'stream'],
  ['a final empty element with a space', 'bytes=0-99,1000-1099, ', 2, 'buffered', 'stream'],
  ['14 empty elements', 'bytes=,,,,,,,,,,,,,,0-1,5-9', 2, 'buffered', 'stream'],
  ['15 empty elements: ignored', 'bytes=,,,,,,,,,,,,,,,0-1,5-9', 0, 'stream', 'stream'],
  ['trailing space: ignored', 'bytes=0-1,5-9 ', 0, 'stream', 'stream'],
  ['unit in capitals', 'BYTES=0-1,5-9', 2, 'buffered', 'stream'],
  // CloudFront answers these 200 with the whole object itself; so does the stream function.
  ['AWS\'s descending example', 'bytes=300-400,100-200', 2, 'stream', 'stream'],
  ['descending pair', 'bytes=1000-1099,0-99', 2, 'stream', 'stream'],
  ['AWS\'s overlapping example', 'bytes=100-200,150-250', 2, 'stream', 'stream'],
  ['sharing one byte', 'bytes=0-100,100-200', 2, 'stream', 'stream'],
  ['the same range twice', 'bytes=0-1,0-1', 2, 'stream', 'stream'],
  ['contained range', 'bytes=0-999,10-20', 2, 'stream', 'stream'],
  ['ascending then descending', 'bytes=0-9,20-29,10-19', 3, 'stream', 'stream'],
  ['suffix range last', 'bytes=0-99,-100', 2, 'stream', 'stream'],
  ['suffix range first', 'bytes=-100,0-99', 2, 'stream', 'stream'],
  ['suffix range first, then one past its length', 'bytes=-100,200-300', 2, 'stream', 'stream'],
  ['two suffix ranges', 'bytes=-200,-100', 2, 'stream', 'stream'],
  ['open range not last', 'bytes=0-,1000-1099', 2, 'stream', 'stream'],
  ['open range first, then a lower one', 'bytes=1000-,0-99', 2, 'stream', 'stream'],
  ['two open ranges', 'bytes=0-,5-', 2, 'stream', 'stream'],
  ['saturated numbers overlap', `bytes=0-99999999999999999999,${U64_MAX}-`, 2, 'stream', 'stream'],
  ['65 ranges: over the limit', ascending(65), 65, 'stream', 'stream'],
  ['100 ranges', ascending(100), 100, 'stream', 'stream'],
  ['101 ranges: the origin\'s parser refuses them', ascending(101), 0, 'stream', 'stream'],
  // Not read as ranges at all: the origin ignores the header.
  ['invalid spec in a list', 'bytes=0-1,abc', 0, 'stream', 'stream'],
  ['reversed spec in a list', 'bytes=0-1,9-5', 0, 'stream', 'stream'],
  ['bare dash in a list', 'bytes=0-1,-', 0, 'stream', 'stream'],
  ['negative number', 'bytes=0-1,-5-9', 0, 'stream', 'stream'],
  ['space inside a spec', 'bytes=0-1,5 - 9', 0, 'stream', 'stream'],
  ['another unit', 'items=0-1,5-9', 0, 'stream', 'stream'],
  ['space before the unit', ' bytes=0-1,5-9', 0, 'stream', 'stream'],
  // One range is one range whatever MultiRange says.
  ['one range', 'bytes=0-99', 1, 'buffered', 'buffered'],
  ['one range among empty elements', 'bytes=,0-99,', 1, 'buffered', 'buffered'],
  ['one suffix range', 'bytes=-100', 1, 'buffered', 'buffered'],
];

test('the router reads the range-specs the origin reads', () => {
  const { context } = load();
  for (const [what, range, count] of CASES) {
    const specs = context.specs({ value: range });
    assert.equal(specs === null ? 0 : specs.length, count, `${what}: ${range}`);
  }
  assert.equal(context.specs({ value: 'bytes=0-1', multiValue: [{ value: 'bytes=0-1' }, { value: 'bytes=5-9' }] }),
    null, 'a repeated Range line');
});

test('several ranges: buffered when CloudFront honours them (MultiRange=multipart)', async () => {
  for (const [what, range, , multipart, whole] of CASES) {
    for (const [multiRange, want] of [['multipart', multipart], ['whole', whole]]) {
      const got = await route({ multiRange }, 'GET', { range });
      assert.equal(got.origin, want, `MultiRange=${multiRange}, ${what}: ${range}`);
      assert.deepEqual(got.request.headers.range, { value: range }, `${what}: Range untouched`);
      assert.equal(got.request.uri, '/photos/cat.jpg');
    }
  }
});

test('several ranges with other headers, on transforms, repeated, and with HEAD', async () => {
  const cases = [
    // [what, method, headers, query, origin with multipart, with whole]
    ['If-Range', 'GET', { range: 'bytes=0-99,1000-1099', 'if-range': '"e1"' }, '', 'buffered', 'stream'],
    ['If-Range, descending', 'GET', { range: 'bytes=1000-1099,0-99', 'if-range': '"e1"' }, '', 'stream', 'stream'],
    ['transform', 'GET', { range: 'bytes=0-99,1000-1099' }, 'w=400', 'buffered', 'stream'],
    ['transform, overlapping', 'GET', { range: 'bytes=0-99,50-150' }, 'w=400', 'stream', 'stream'],
    ['Range repeated', 'GET', { range: ['bytes=0-99', 'bytes=1000-1099'] }, '', 'stream', 'stream'],
    ['Range repeated, one per line', 'GET', { range: ['bytes=0-99,1000-1099', 'bytes=2000-2099'] }, '', 'stream', 'stream'],
    // HEAD ignores Range at the origin and always has a real Content-Length there.
    ['HEAD, ascending', 'HEAD', { range: 'bytes=0-99,1000-1099' }, '', 'buffered', 'buffered'],
    ['HEAD, descending', 'HEAD', { range: 'bytes=1000-1099,0-99' }, '', 'buffered', 'buffered'],
    ['HEAD, 65 ranges', 'HEAD', { range: ascending(65) }, '', 'buffered', 'buffered'],
    ['HEAD, unparsable', 'HEAD', { range: 'bytes=abc,0-1' }, '', 'buffered', 'buffered'],
  ];
  for (const [what, method, headers, query, multipart, whole] of cases) {
    for (const [multiRange, want] of [['multipart', multipart], ['whole', whole]]) {
      const got = await route({ multiRange }, method, headers, '/photos/cat.jpg', query);
      assert.equal(got.origin, want, `MultiRange=${multiRange}, ${what}`);
    }
  }
});

// RawOrigin=s3: S3 answers several ranges 200 whole and CloudFront then serves the entire
// object; MultiRange changes nothing there.
test('several ranges with RawOrigin=s3 go to S3 for both MultiRange values', async () => {
  for (const multiRange of ['multipart', 'whole']) {
    const opts = { rawOrigin: 's3', prefix: 'public/', multiRange };
    for (const [what, range] of CASES.map((c) => [c[0], c[1]])) {
      for (const method of ['GET', 'HEAD']) {
        const got = await route(opts, method, { range }, '/a b.jpg');
        assert.deepEqual(got.calls, ['s3'], `MultiRange=${multiRange} ${method} ${what}`);
        assert.equal(got.request.uri, '/public/a%20b.jpg');
        assert.deepEqual(got.request.headers.range, { value: range });
      }
    }
    // Transforms reach the functions and are routed as with RawOrigin=lambda.
    const transform = await route(opts, 'GET', { range: 'bytes=0-99,1000-1099' }, '/a.jpg', 'w=400');
    assert.equal(transform.origin, multiRange === 'multipart' ? 'buffered' : 'stream');
  }
});

// ---------------------------------------------------------------------------------------------
// The parameter and the limit

test('MultiRange: multipart by default, or whole; nothing else', () => {
  assert.match(template, /^  MultiRange:\n    Type: String\n    Default: multipart\n    AllowedValues: \[multipart, whole\]$/m);
  assert.equal(load({ multiRange: 'multipart' }).context.MULTIPART, true);
  assert.equal(load({ multiRange: 'whole' }).context.MULTIPART, false);
  assert.equal(load().context.MULTIPART, true, 'the default');
});

// The router sends at most MAX_RANGES ranges to the buffered function. There, more than
// --max-ranges are ignored and answered 200 whole, which past 4 MiB the buffered function
// cannot send: so the function's limit is pinned in the template and equals the origin's
// defaults (the constant, and the CLI default the Lambda reads through IMGORIGIN_MAX_RANGES).
test('the router\'s MAX_RANGES is the origin\'s limit', () => {
  const max = load().context.MAX_RANGES;
  assert.equal(max, 64);
  const multipartRs = read('../../src/plan/multipart.rs');
  const constant = multipartRs.match(/^pub const DEFAULT_MAX_RANGES: usize = (\d+);$/m);
  assert.ok(constant, 'DEFAULT_MAX_RANGES in src/plan/multipart.rs');
  assert.equal(Number(constant[1]), max, 'DEFAULT_MAX_RANGES');
  const cliRs = read('../../src/cli.rs');
  const cli = cliRs.match(/env = "IMGORIGIN_MAX_RANGES", default_value_t = (\d+)/);
  assert.ok(cli, '--max-ranges in src/cli.rs');
  assert.equal(Number(cli[1]), max, '--max-ranges default');
  const buffered = resource('BufferedFunction');
  assert.match(buffered, new RegExp(`^ {10}IMGORIGIN_MAX_RANGES: "${max}"$`, 'm'), 'the buffered function\'s limit');
  assert.match(buffered, /^ {10}IMGORIGIN_INVOKE_MODE: buffered$/m);
});
