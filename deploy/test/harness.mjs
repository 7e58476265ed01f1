// Runs the CloudFront Function of deploy/template.yaml (viewer request, cloudfront-js-2.0)
// under node for routing.test.mjs, multirange.test.mjs and router.test.mjs. The code is taken
// from the template itself, so what is tested is what is deployed. (node --test also loads
// this file as a test file, with no tests in it.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import crypto from 'node:crypto';
import vm from 'node:vm';

export const read = (path) => readFileSync(new URL(path, import.meta.url), 'utf8');
export const template = read('../template.yaml');
export const vectors = JSON.parse(read('./signing-vectors.json'));
export const rangeVectors = JSON.parse(read('./range-vectors.json'));
export const corsRs = read('../../src/cors.rs');

// ---------------------------------------------------------------------------------------------
// Running the function

export function functionCode() {
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

// The stack parameters the code holds, in order of appearance, with the template's defaults.
export const DEFAULTS = {
  SignedPrefixes: '',
  Avif: 'false',
  RawOrigin: 'lambda',
  Prefix: '',
  CorsOrigins: '',
  MultiRange: 'multipart',
};

// As CloudFormation's !Sub: every ${Name} replaced by the parameter's value. A function
// replacement, so that a '$' in a value would not be read as a replacement pattern.
export function substitute(code, params) {
  const placeholders = code.match(/\$\{[^}]*\}/g);
  assert.deepEqual(placeholders, Object.keys(DEFAULTS).map((n) => `\${${n}}`),
    'the only !Sub placeholders');
  const values = { ...DEFAULTS, ...params };
  return code.replace(/\$\{([^}]*)\}/g, (_, name) => values[name]);
}

// cloudfront-js-2.0 gives `import cf from 'cloudfront'` and `import crypto from 'crypto'`;
// node has no 'cloudfront' module, so the imports are replaced by a stub that records the
// origin selection and serves the KeyValueStore from `kvs`, and by node's crypto (Buffer is a
// global in both runtimes). `nowSeconds` fixes Date.now(). `context` holds the function's
// top-level functions and variables, for tests of one of them.
export function load({ signedPrefixes, avif, rawOrigin, prefix, corsOrigins, multiRange, kvs = {},
  nowSeconds } = {}) {
  const code = functionCode();
  assert.match(code, /^import cf from 'cloudfront';$/m);
  assert.match(code, /^import crypto from 'crypto';$/m);
  const params = { SignedPrefixes: signedPrefixes, Avif: avif, RawOrigin: rawOrigin,
    Prefix: prefix, CorsOrigins: corsOrigins, MultiRange: multiRange };
  for (const k of Object.keys(params)) if (params[k] === undefined) delete params[k];
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
  const source = substitute(code, params)
    .replace(/^import cf from 'cloudfront';$/m, '')
    .replace(/^import crypto from 'crypto';$/m, '');
  vm.runInContext(source, context);
  return { handler: context.handler, calls, context };
}

// The querystring object CloudFront hands the function: raw names and values, repeated names
// as multiValue.
export function cfQuerystring(raw) {
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

// Headers as { name: value }; an array value is a header line repeated, which CloudFront
// passes as the first value plus multiValue.
export function event(method, headers = {}, uri = '/photos/cat.jpg', query = '') {
  const h = {};
  for (const [k, v] of Object.entries(headers)) {
    h[k] = Array.isArray(v) ? { value: v[0], multiValue: v.map((value) => ({ value })) } : { value: v };
  }
  return {
    version: '1.0',
    context: { eventType: 'viewer-request', distributionId: 'E123' },
    viewer: { ip: '192.0.2.1' },
    request: { method, uri, querystring: cfQuerystring(query), headers: h, cookies: {} },
  };
}

// Runs one request through a fresh function: the origin it goes to (no
// selectRequestOriginById call is the default behaviour's origin, stream) and the request as
// forwarded.
export async function route(opts, method, headers = {}, uri = '/photos/cat.jpg', query = '') {
  const { handler, calls } = load(opts);
  const ev = event(method, headers, uri, query);
  const got = await handler(ev);
  assert.equal(got, ev.request, 'the request goes on to an origin');
  assert.ok(calls.length <= 1, 'one origin selection at most');
  return { origin: calls.length === 0 ? 'stream' : calls[0], calls, request: got };
}

// What lambdaUri must send for a path that is not plain: /~/ + base64url (RFC 4648 §5, no
// padding) of the decoded key, as src/key.rs reads it back.
export const encodedKey = (path) => '/~/' + Buffer.from(decodeURIComponent(path.slice(1))).toString('base64url');

// The text of one resource under Resources (to the next line indented two spaces or less).
export function resource(name) {
  const lines = template.split('\n');
  const start = lines.indexOf(`  ${name}:`);
  assert.ok(start > 0, `resource ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() !== '' && l.search(/\S/) <= 2);
  return lines.slice(start, end).join('\n');
}

// The text of the list item `- Id: <id>` in a block (to the next line indented no deeper than
// its dash).
export function listItem(text, id) {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `- Id: ${id}`);
  assert.ok(start >= 0, `item ${id}`);
  const dash = lines[start].indexOf('-');
  const end = lines.findIndex((l, i) => i > start && l.trim() !== '' && l.search(/\S/) <= dash);
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

