// The function keeps to cloudfront-js-2.0: the lint passes on the source and
// on every build, the lint and the restricted runtime both catch what the
// runtime lacks, and the build stays under the 10 KB limit.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { lint } from '../lint.mjs';
import { buildFunction, MAX_BYTES, SOURCE_PATH, KVS_PLACEHOLDER, functionSettings } from '../build.mjs';
import { KeyValueStore, loadFunction } from './runtime.mjs';

const FRAME = (body) => `import cf from 'cloudfront';\nconst crypto = require('crypto');\n${body}\nasync function handler(event) { return probe(event); }\n`;

test('verify.js passes the lint as written', () => {
  assert.deepEqual(lint(readFileSync(SOURCE_PATH, 'utf8')), []);
});

for (const mode of ['only', 'prefilter']) {
  test(`the ${mode} build is under ${MAX_BYTES} bytes and passes the lint`, () => {
    const { code, bytes } = buildFunction({ mode, kvs: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111' });
    assert.ok(bytes <= MAX_BYTES, `${bytes} bytes`);
    assert.equal(bytes, Buffer.byteLength(code));
    assert.deepEqual(lint(code), []);
    assert.ok(code.startsWith("import cf from 'cloudfront';"));
    assert.match(code, /async function handler\(/, 'CloudFront calls a top-level handler');
    assert.match(code, /kvs:"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"/);
    assert.ok(!code.includes('${'), 'no ${ left for Fn::Sub to expand');
  });
}

test('the default build carries the Fn::Sub placeholder for the KeyValueStore id, once', () => {
  const { code } = buildFunction({ mode: 'only' });
  assert.equal(code.split(KVS_PLACEHOLDER).length - 1, 1);
});

test('the build refuses settings the core would refuse, and origin grants on a function-only behavior', () => {
  assert.throws(() => functionSettings({ mode: 'both' }), /mode must be/);
  assert.throws(() => functionSettings({ config: { skew: 3601 } }), /skew/);
  assert.throws(() => functionSettings({ config: { token_param: 'a b' } }), /token_param/);
  assert.throws(() => functionSettings({ config: { origin: 'ftp' } }), /origin/);
  assert.throws(() => functionSettings({ kvs: "x'y" }), /KeyValueStore id/);
  assert.throws(() => functionSettings({ mode: 'only', config: { grant_keys: { active: 'g', keys: [] } } }), /grant/);
  assert.equal(functionSettings({ mode: 'prefilter', config: { grant_keys: { active: 'g', keys: [] } } }).mode, 'prefilter');
});

// Each snippet uses one thing the runtime documentation does not list.
const FORBIDDEN = {
  'for-of': 'function probe(e) { for (const x of [1]) { return x; } }',
  destructuring: 'function probe(e) { const { request } = e; return request; }',
  spread: 'function probe(e) { return [...e.list]; }',
  class: 'class Probe {}\nfunction probe(e) { return e; }',
  'optional chaining': 'function probe(e) { return e?.request; }',
  'nullish coalescing': 'function probe(e) { return e.x ?? 1; }',
  'default parameter': 'function probe(e = 1) { return e; }',
  'async closure': 'function probe(e) { const f = async () => e; return f(); }',
  'Array.from': 'function probe(e) { return Array.from(e); }',
  'a Map': 'function probe(e) { return new Map(); }',
  WebAssembly: 'function probe(e) { return WebAssembly.validate(e); }',
  eval: 'function probe(e) { return eval("1"); }',
  '.at()': 'function probe(e) { return e.list.at(-1); }',
  'unicode regex': 'function probe(e) { return /x/u.test(e); }',
  "require('fs')": "function probe(e) { return require('fs'); }",
  fetch: 'function probe(e) { return fetch(e); }',
  setTimeout: 'function probe(e) { return setTimeout(e, 1); }',
  'Object.fromEntries': 'function probe(e) { return Object.fromEntries(e); }',
  'shorthand property': 'function probe(e) { return { e }; }',
  'a surrogate in a regular expression': 'function probe(e) { return /[\\ud800-\\udbff]/.test(e); }',
};

for (const [what, body] of Object.entries(FORBIDDEN)) {
  test(`the lint refuses ${what}`, () => {
    assert.notDeepEqual(lint(FRAME(body)), [], body);
  });
}

test('the lint refuses a file without a top-level handler, or with another import', () => {
  assert.ok(lint("import cf from 'cloudfront';\nfunction main(e) { return e; }\n").some((p) => /handler/.test(p)));
  assert.ok(lint("import x from 'fs';\nfunction handler(e) { return e; }\n").some((p) => /import/.test(p)));
});

test('the lint accepts the documented features the function relies on', () => {
  const body = `function probe(e) {
    const b = Buffer.from('AQ', 'base64url');
    const mac = crypto.createHmac('sha256', b).update('x').digest();
    let s = 'a'.padStart(2, ' ').trim();
    for (const k in e) { s = s + k; }
    return [mac.length, /y/y.test(s), Object.keys(e).map(function (k) { return k; }), decodeURIComponent('%41')];
  }`;
  assert.deepEqual(lint(FRAME(body)), []);
});

// The restricted runtime: what the documentation lists works, the rest throws.
async function probe(body) {
  const run = loadFunction(FRAME(body), { kvsId: 'id', store: new KeyValueStore() });
  return run({ request: { list: [1, 2] } }, 0);
}

test('the restricted runtime runs documented features', async () => {
  const result = await probe(`function probe(e) {
    const mac = crypto.createHmac('sha256', Buffer.from('AQ', 'base64url')).update('ol1').digest();
    return { n: mac.length, hex: crypto.createHmac('sha256', 'k').update('m').digest('hex').length,
      s: 'x'.repeat(3).padEnd(4, '!'), keys: Object.keys(e.request), d: decodeURIComponent('%C3%A9'),
      now: Date.now(), eq: Buffer.from('a', 'utf8').equals(Buffer.from('YQ', 'base64url')) };
  }`);
  assert.deepEqual(result, { n: 32, hex: 64, s: 'xxx!', keys: ['list'], d: '\u00e9', now: 0, eq: true });
});

const RUNTIME_REFUSES = {
  'Array.from': 'function probe(e) { return Array.from(e.request.list); }',
  'Array.prototype.at': 'function probe(e) { return e.request.list.at(0); }',
  'String.prototype.at': "function probe(e) { return 'ab'.at(0); }",
  'for-of over an array': 'function probe(e) { for (const x of e.request.list) { return x; } }',
  'spread of an array': 'function probe(e) { return [...e.request.list]; }',
  'a Map': 'function probe(e) { return new Map(); }',
  WebAssembly: 'function probe(e) { return WebAssembly.validate(new Uint8Array(8)); }',
  eval: 'function probe(e) { return eval("1"); }',
  'the Function constructor': "function probe(e) { return new (function () {}).constructor('return 1')(); }",
  'Buffer latin1': "function probe(e) { return Buffer.from('a', 'latin1'); }",
  'Buffer toString latin1': "function probe(e) { return Buffer.from('a').toString('latin1'); }",
  'Buffer readBigInt64BE': 'function probe(e) { return Buffer.alloc(8).readBigInt64BE(0); }',
  'crypto sha512': "function probe(e) { return crypto.createHmac('sha512', 'k'); }",
  'digest latin1': "function probe(e) { return crypto.createHash('sha256').update('x').digest('latin1'); }",
  "require('fs')": "function probe(e) { return require('fs'); }",
  'console.log with two arguments': "function probe(e) { console.log('a', 'b'); return 1; }",
  process: 'function probe(e) { return process.env; }',
  setTimeout: 'function probe(e) { return setTimeout(function () {}, 1); }',
};

for (const [what, body] of Object.entries(RUNTIME_REFUSES)) {
  test(`the restricted runtime refuses ${what}`, async () => {
    await assert.rejects(probe(body));
  });
}
